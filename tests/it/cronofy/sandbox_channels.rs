//! The sandbox's push notification channels: created, listed, notified and
//! closed; each new channel's callback gets Cronofy's signed `verification`
//! notification, which the tests wait for on a channel (never by sleeping).
use super::sandbox_support::*;

/// Alice's client and a channel on her primary calendar, called back at `hooks`.
async fn channel_of_alice(server: &Cronofy, hooks: &Hooks) -> (Client, types::Channel) {
    let cronofy = signed_in(server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let channel = cronofy
        .create_channel()
        .body(types::ChannelCreate {
            callback_url: hooks.url(),
            filters: Some(types::ChannelFilters {
                calendar_ids: vec![calendar],
                only_managed: Some(false),
            }),
        })
        .send()
        .await
        .unwrap()
        .into_inner()
        .channel;
    (cronofy, channel)
}

/// The channels `cronofy` lists.
async fn channels(cronofy: &Client) -> Vec<types::Channel> {
    let listed = cronofy.list_channels().send().await.unwrap();
    listed.into_inner().channels
}

/// Asserts that `request` carries the `Cronofy-HMAC-SHA256` of its body under
/// the application's client secret (and not under another secret).
fn assert_signed(cronofy: &Client, request: &wiremock::Request) {
    let signature = request.headers["cronofy-hmac-sha256"].to_str().unwrap();
    assert!(cronofy.hmac_valid(signature, &request.body).unwrap());
    assert!(verify_hmac(
        &[&Secret::new(CLIENT_SECRET)],
        signature,
        &request.body
    ));
    assert!(!verify_hmac(
        &[&Secret::new("another secret")],
        signature,
        &request.body
    ));
}

#[tokio::test]
async fn a_new_channel_gets_a_signed_verification_notification() {
    let server = sandbox().start().await.unwrap();
    let mut hooks = Hooks::start().await;
    let (cronofy, channel) = channel_of_alice(&server, &hooks).await;

    let verification = hooks.next().await;
    assert_eq!(verification.method.as_str(), "POST");
    assert_eq!(
        verification.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_signed(&cronofy, &verification);
    let body: Value = serde_json::from_slice(&verification.body).unwrap();
    assert_eq!(
        body,
        json!({
            "notification": {"type": "verification"},
            "channel": {
                "channel_id": channel.channel_id,
                "callback_url": hooks.url(),
                "filters": {
                    "calendar_ids": [server.primary_calendar_id(ALICE).unwrap()],
                    "only_managed": false,
                },
            },
        })
    );
    let note: types::PushNotification = serde_json::from_slice(&verification.body).unwrap();
    assert_eq!(note.notification.type_, "verification");
    assert_eq!(note.notification.changes_since, None);
}

#[tokio::test]
async fn channels_are_created_listed_notified_and_closed() {
    let server = sandbox().start().await.unwrap();
    let mut hooks = Hooks::start().await;
    let (cronofy, channel) = channel_of_alice(&server, &hooks).await;
    assert!(channel.channel_id.starts_with("chn_"));
    assert_eq!(channel.callback_url, hooks.url());
    assert_eq!(channels(&cronofy).await, std::slice::from_ref(&channel));
    let verification = hooks.next_notification().await;
    assert_eq!(verification.notification.type_, "verification");

    let delivered = server
        .notify_change(ALICE, utc("2026-11-25T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(delivered, 1);
    let change = hooks.next().await;
    assert_signed(&cronofy, &change);
    let note: types::PushNotification = serde_json::from_slice(&change.body).unwrap();
    assert_eq!(note.notification.type_, "change");
    assert_eq!(
        note.notification.changes_since.map(|t| t.0),
        Some(utc("2026-11-25T09:00:00Z"))
    );
    assert_eq!(
        note.channel.map(|c| c.channel_id),
        Some(channel.channel_id.clone())
    );

    cronofy
        .close_channel()
        .channel_id(&channel.channel_id)
        .send()
        .await
        .unwrap();
    assert!(channels(&cronofy).await.is_empty());
    assert_eq!(
        server
            .notify_change(ALICE, utc("2026-11-25T10:00:00Z"))
            .await
            .unwrap(),
        0
    );
    let again = cronofy
        .close_channel()
        .channel_id(&channel.channel_id)
        .send()
        .await
        .unwrap_err();
    assert!(again.is_not_found());
}

#[tokio::test]
async fn filters_with_no_calendar_ids_are_refused_and_verify_nothing() {
    let server = sandbox().start().await.unwrap();
    let mut hooks = Hooks::start().await;
    let cronofy = signed_in(&server, ALICE).await;
    // The docs: "When specified, at least one calendar_id must be provided."
    let refused = raw(
        &server,
        reqwest::Method::POST,
        "/v1/channels",
        &access_token(&cronofy).await,
        Some(json!({"callback_url": hooks.url(), "filters": {"calendar_ids": []}})),
    )
    .await;
    assert_eq!(
        first_error(refused, "filters.calendar_ids").key.as_deref(),
        Some("errors.invalid")
    );
    assert!(channels(&cronofy).await.is_empty());
    // The first notification the callback gets is the next channel's.
    let (_, channel) = channel_of_alice(&server, &hooks).await;
    let first = hooks.next_notification().await;
    assert_eq!(
        first.channel.map(|c| c.channel_id),
        Some(channel.channel_id)
    );
}
