//! Webhook signatures: base64(HMAC-SHA256(secret, timestamp + raw body)),
//! checked in constant time on the bytes as received, with a replay window.
//!
//! The vectors were computed outside this crate (Python's `hmac` module)
//! with the signing secret of Zendesk's verification guide
//! (developer.zendesk.com/documentation/webhooks/verifying/) and the event
//! payload of its webhook event types reference (user.active_changed).

use std::time::Duration;

use chrono::{DateTime, Utc};
use specbound::zendesk::webhooks::{
    EventDetail, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookEvent, WebhookVerifier,
};

const SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
const TIMESTAMP: &str = "2099-07-04T05:33:20Z";
const BODY: &str = r#"{"type":"zen:event-type:user.active_changed","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2099-07-04T05:33:18Z","zendesk_event_version":"2022-06-20","subject":"zen:user:6596848315901","detail":{"created_at":"2099-07-04T05:27:58Z","email":"jdoe@example.com","external_id":"","default_group_id":"0","id":"6596848315901","organization_id":"0","role":"end-user","updated_at":"2099-07-04T05:33:18Z"},"event":{"current":false,"previous":true}}"#;
/// base64(HMAC-SHA256(SECRET, TIMESTAMP + BODY)).
const SIGNATURE: &str = "3y8xLWxcHrLz+HpwxwYEM6IpQal2uuMbJoQI0m7m1ts=";
/// base64(HMAC-SHA256(SECRET, TIMESTAMP)): a request without a body.
const EMPTY_BODY_SIGNATURE: &str = "5tkAaYJNBHcNjQPTaySigVg/U6CkPtmrOGTzrSDZIRI=";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn refused_header(result: specbound::Result<()>) -> String {
    match result {
        Err(specbound::Error::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_signature_over_the_timestamp_and_the_raw_body_is_accepted() {
    let verifier = WebhookVerifier::new(SECRET);
    verifier
        .verify_at(SIGNATURE, TIMESTAMP, BODY.as_bytes(), at(TIMESTAMP))
        .unwrap();
    // The same bytes through `verify` (no window: any time is fine).
    verifier
        .verify(SIGNATURE, TIMESTAMP, BODY.as_bytes())
        .unwrap();
}

#[test]
fn another_secret_a_changed_byte_or_a_changed_timestamp_is_refused() {
    let good = WebhookVerifier::new(SECRET);
    let other = WebhookVerifier::new("another secret");
    assert_eq!(
        refused_header(other.verify(SIGNATURE, TIMESTAMP, BODY.as_bytes())),
        SIGNATURE_HEADER
    );
    // The body re-serialised (a space added) is no longer the signed bytes.
    let reparsed = BODY.replacen(r#""account_id":"#, r#""account_id": "#, 1);
    assert_eq!(
        refused_header(good.verify(SIGNATURE, TIMESTAMP, reparsed.as_bytes())),
        SIGNATURE_HEADER
    );
    assert_eq!(
        refused_header(good.verify(SIGNATURE, "2099-07-04T05:33:21Z", BODY.as_bytes())),
        SIGNATURE_HEADER
    );
    assert_eq!(
        refused_header(good.verify("not base64!", TIMESTAMP, BODY.as_bytes())),
        SIGNATURE_HEADER
    );
}

#[test]
fn a_request_without_a_body_is_signed_over_the_timestamp_alone() {
    let verifier = WebhookVerifier::new(SECRET);
    verifier
        .verify(EMPTY_BODY_SIGNATURE, TIMESTAMP, b"")
        .unwrap();
    assert_eq!(
        refused_header(verifier.verify(SIGNATURE, TIMESTAMP, b"")),
        SIGNATURE_HEADER
    );
    assert_eq!(
        refused_header(verifier.verify(EMPTY_BODY_SIGNATURE, TIMESTAMP, b"{}")),
        SIGNATURE_HEADER
    );
}

#[test]
fn a_signed_request_replayed_outside_the_window_is_refused() {
    let verifier = WebhookVerifier::new(SECRET).max_age(Duration::from_secs(300));
    let body = BODY.as_bytes();
    verifier
        .verify_at(SIGNATURE, TIMESTAMP, body, at("2099-07-04T05:38:00Z"))
        .unwrap();
    let late = verifier.verify_at(SIGNATURE, TIMESTAMP, body, at("2099-07-04T05:38:21Z"));
    let reason = late.as_ref().unwrap_err().to_string();
    assert_eq!(refused_header(late), TIMESTAMP_HEADER);
    assert!(reason.contains("301s"), "{reason}");
    // A clock ahead of ours by more than the window is refused too.
    let early = verifier.verify_at(SIGNATURE, TIMESTAMP, body, at("2099-07-04T05:20:00Z"));
    assert_eq!(refused_header(early), TIMESTAMP_HEADER);
    // Moving the timestamp to now breaks the signature.
    let moved = verifier.verify_at(
        SIGNATURE,
        "2099-07-04T05:40:00Z",
        body,
        at("2099-07-04T05:40:00Z"),
    );
    assert_eq!(refused_header(moved), SIGNATURE_HEADER);
}

#[test]
fn a_verified_event_is_read_into_its_typed_envelope() {
    let mut headers = http::HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, SIGNATURE.parse().unwrap());
    headers.insert(TIMESTAMP_HEADER, TIMESTAMP.parse().unwrap());
    let event = WebhookVerifier::new(SECRET)
        .verify_event(&headers, BODY.as_bytes())
        .unwrap();
    assert_eq!(event.event_type, "zen:event-type:user.active_changed");
    assert_eq!(
        (event.domain(), event.action()),
        (Some("user"), Some("active_changed"))
    );
    assert_eq!(event.account_id, 12_514_403);
    assert_eq!(event.subject_id(), Some(("user", "6596848315901")));
    assert_eq!(event.time, Some(at("2099-07-04T05:33:18Z")));
    let EventDetail::User(user) = event.detail().unwrap() else {
        panic!("a user event has a user detail");
    };
    assert_eq!(user.id, Some(6_596_848_315_901));
    assert_eq!(user.organization_id, None); // "0"
    assert_eq!(user.role.as_deref(), Some("end-user"));
    let change = event.change::<bool>().unwrap();
    assert_eq!((change.previous, change.current), (Some(true), Some(false)));

    headers.remove(TIMESTAMP_HEADER);
    let missing = WebhookVerifier::new(SECRET).verify_event(&headers, BODY.as_bytes());
    assert!(
        matches!(missing, Err(specbound::Error::Invalid { field, .. }) if field == TIMESTAMP_HEADER)
    );
}

#[test]
fn an_event_of_another_domain_keeps_its_detail_as_sent() {
    let body = br#"{"type":"zen:event-type:article.published","account_id":1,"id":"e1","subject":"zen:article:9","detail":{"brand_id":"3"},"event":{}}"#;
    let event = WebhookEvent::from_slice(body).unwrap();
    assert_eq!(
        event.detail().unwrap(),
        EventDetail::Other(serde_json::json!({"brand_id": "3"}))
    );
    let bad = WebhookEvent::from_slice(br#"{"type": 1}"#).unwrap_err();
    assert!(matches!(bad, specbound::Error::Decode { .. }), "{bad:?}");
}

#[test]
fn the_verifier_never_shows_its_secret() {
    let verifier = WebhookVerifier::new(SECRET).max_age(Duration::from_secs(60));
    let shown = format!("{verifier:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let err = verifier.verify("AAAA", TIMESTAMP, b"").unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
}
