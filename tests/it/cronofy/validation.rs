//! Local checks: what the spec and `src/cronofy/checks.rs` refuse before
//! anything is sent.
use super::*;

// ------------------------------------------------------------------ local validation

#[tokio::test]
async fn every_local_check_refuses_before_anything_is_sent() {
    let (server, cronofy) = mock_cronofy().await;
    let event = |changes: Value| -> types::EventUpsert {
        let mut base = Fixture::load("cronofy/events_upsert.json")
            .request_body()
            .clone();
        for (k, v) in changes.as_object().unwrap() {
            base[k] = v.clone();
        }
        typed(&base)
    };

    // Read windows: time zones (`format: tzid`), the required tzid, `to`
    // after `from` (checks.rs). Dates are `NaiveDate`s: a 13th month cannot
    // be written.
    assert_invalid(
        cronofy
            .read_events()
            .tzid("Mars/Olympus")
            .stream()
            .try_next()
            .await,
        "tzid",
    );
    assert_invalid(
        cronofy
            .read_events()
            .from(date("2014-09-10"))
            .stream()
            .try_next()
            .await,
        "tzid",
    );
    assert_invalid(
        cronofy
            .read_events()
            .tzid("Etc/UTC")
            .from(date("2014-09-10"))
            .to(date("2014-09-10"))
            .stream()
            .try_next()
            .await,
        "to",
    );
    assert_invalid(
        cronofy
            .read_free_busy()
            .tzid("Etc/UTC")
            .from(date("2024-12-20"))
            .to(date("2024-12-19"))
            .stream()
            .try_next()
            .await,
        "to",
    );
    assert_invalid(
        cronofy
            .read_free_busy()
            .tzid("Europe/Londres")
            .stream()
            .try_next()
            .await,
        "tzid",
    );
    assert_invalid(
        cronofy
            .list_available_periods()
            .from(date("2025-01-27"))
            .to(date("2025-01-20"))
            .stream()
            .try_next()
            .await,
        "to",
    );
    assert_invalid(
        cronofy
            .list_available_periods()
            .tzid("GMT+1")
            .stream()
            .try_next()
            .await,
        "tzid",
    );

    // Events: time zones, lengths and required fields from the spec (named
    // `body.<path>`), periods and recurrence from checks.rs.
    for (changes, field) in [
        (json!({"tzid": "Europe/Londres"}), "body.tzid"),
        (
            json!({"start": "2024-10-31T17:00:00Z", "end": "2024-10-31T15:30:00Z"}),
            "body.end",
        ),
        (
            json!({"start": "2024-10-31T15:30:00Z", "end": "2024-10-31T15:30:00Z"}),
            "body.end",
        ),
        (
            json!({"start": "2024-10-31", "end": "2024-10-31"}),
            "body.end",
        ),
        (
            json!({"start": "2024-10-31", "end": "2024-10-31T17:00:00Z"}),
            "body.end",
        ),
        (
            json!({"start": {"time": "2024-10-31T15:30:00Z", "tzid": "Mars/Olympus"}}),
            "body.start.tzid",
        ),
        (json!({"event_id": ""}), "body.event_id"),
        (json!({"summary": ""}), "body.summary"),
        (json!({"summary": "s".repeat(1025)}), "body.summary"),
        (json!({"description": "d".repeat(4097)}), "body.description"),
    ] {
        let bad = event(changes);
        assert_invalid(
            cronofy
                .upsert_event()
                .calendar_id("cal_1")
                .body(bad.clone())
                .send()
                .await,
            field,
        );
        assert_invalid(types::BatchEntry::upsert_event("cal_1", &bad), field);
    }
    assert_invalid(
        cronofy
            .upsert_event()
            .calendar_id("")
            .body(event(json!({})))
            .send()
            .await,
        "calendar_id",
    );
    let external = |v: Value| -> types::ExternalEventUpdate { typed(&v) };
    let upsert_external = |update: types::ExternalEventUpdate| {
        cronofy
            .upsert_event()
            .calendar_id("cal_1")
            .body(update)
            .send()
    };
    assert_invalid(
        upsert_external(external(json!({"event_uid": ""}))).await,
        "body.event_uid",
    );
    assert_invalid(
        upsert_external(external(
            json!({"event_uid": "evt_external_1", "tzid": "Nowhere/Special"}),
        ))
        .await,
        "body.tzid",
    );
    assert_invalid(
        upsert_external(external(json!({
            "event_uid": "evt_external_1",
            "start": "2024-10-31T15:30:00Z", "end": "2024-11-01"
        })))
        .await,
        "body.end",
    );
    let delete = |calendar_id: &str, body: types::EventDeleteRequest| {
        cronofy
            .delete_event()
            .calendar_id(calendar_id)
            .body(body)
            .send()
    };
    assert_invalid(
        delete(
            "cal_1",
            types::EventDelete {
                event_id: "".into(),
                include_userinfo: None,
            }
            .into(),
        )
        .await,
        "body.event_id",
    );
    assert_invalid(
        delete(
            "",
            types::EventDelete {
                event_id: "evt".into(),
                include_userinfo: None,
            }
            .into(),
        )
        .await,
        "calendar_id",
    );
    assert_invalid(
        delete(
            "cal_1",
            types::ExternalEventDelete {
                event_uid: "".into(),
            }
            .into(),
        )
        .await,
        "body.event_uid",
    );
    assert_invalid(
        types::BatchEntry::delete_event("cal_1", ""),
        "body.event_id",
    );
    assert_invalid(
        types::BatchEntry::delete_external_event("", "evt"),
        "calendar_id",
    );

    // Push notification callbacks: http(s) (`format: uri`), at most 128
    // characters.
    let channel = |url: &str| {
        cronofy
            .create_channel()
            .body(types::ChannelCreate {
                callback_url: url.into(),
                filters: None,
            })
            .send()
    };
    let long = format!("https://example.com/{}", "n".repeat(109));
    assert_eq!(long.len(), 129);
    assert_invalid(channel(&long).await, "body.callback_url");
    for bad in [
        "ftp://example.com/notify",
        "example.com/notify",
        "not a url",
    ] {
        assert_invalid(channel(bad).await, "body.callback_url");
    }

    // OAuth: the code exchange needs the client credentials, a code and an
    // http(s) redirect URI.
    let waits = Waits::default();
    let without_credentials = Client::builder()
        .base_url(server.uri())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let err = without_credentials
        .get_authorization_from_code("CODE", REDIRECT_URI)
        .await
        .unwrap_err();
    let reason = assert_auth_error(&err, AuthErrorKind::Missing);
    assert!(reason.contains("client_id and client_secret"), "{err:?}");
    let id_only = Client::builder()
        .client_id(CLIENT_ID)
        .base_url(server.uri())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let err = id_only
        .get_authorization_from_code("CODE", REDIRECT_URI)
        .await
        .unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);
    assert_invalid(
        cronofy.get_authorization_from_code(" ", REDIRECT_URI).await,
        "code",
    );
    assert_invalid(
        cronofy
            .get_authorization_from_code("CODE", "example.com/callback")
            .await,
        "body.redirect_uri",
    );
    assert_invalid(
        cronofy.application_calendar("").await,
        "body.application_calendar_id",
    );
    let err = without_credentials.revoke_stored_token().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);

    assert_eq!(
        request_count(&server).await,
        0,
        "a refused call reached the server"
    );
}

#[test]
fn a_base_url_or_app_url_that_is_not_http_is_a_config_error() {
    for bad in [
        "api.cronofy.com",
        "ftp://api.cronofy.com",
        "https://api.cronofy.com/?x=1",
    ] {
        let err = Client::builder().base_url(bad).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
        let err = Client::builder().app_url(bad).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
    }
}
