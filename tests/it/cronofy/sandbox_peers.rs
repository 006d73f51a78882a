//! The sandbox reads requests as the official SDKs send them, as Cronofy
//! does: booleans written by Python (`True`, in Read Events and Free Busy),
//! form-encoded token requests,
//! `delete_all` in the query (pycronofy's `delete_all_events`), `null` for an
//! absent property (pycronofy's Real-Time Scheduling), and next links
//! followed with the first query sent again (cronofy-node). Each request is
//! sent raw, byte for byte as the peer sends it.
use super::sandbox_support::*;

/// A signed-in sandbox with 30 unmanaged events on 2026-11-23 and the
/// access token of Alice.
async fn with_events() -> (Cronofy, String, String) {
    let server = sandbox().start().await.unwrap();
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let first = utc("2026-11-23T08:00:00Z");
    for i in 0..30 {
        let start = first + chrono::Duration::minutes(30 * i);
        server
            .add_event(
                &calendar,
                &format!("Event {i:02}"),
                start,
                start + chrono::Duration::minutes(30),
            )
            .unwrap();
    }
    let access = access_token(&signed_in(&server, ALICE).await).await;
    (server, calendar, access)
}

/// Sends `request`; its JSON answer, which must be a success.
async fn ok_json(request: reqwest::RequestBuilder) -> Value {
    let answer = request.send().await.unwrap().error_for_status().unwrap();
    answer.json().await.unwrap()
}

/// Sends `request`; the first error its answer, a 422, has for `field`.
async fn refusal(request: reqwest::RequestBuilder, field: &str) -> types::FieldError {
    first_error(status_and_json(request.send().await.unwrap()).await, field)
}

#[tokio::test]
async fn pythons_true_and_false_are_booleans_and_a_get_body_of_braces_is_ignored() {
    let (server, _, access) = with_events().await;
    let http = reqwest::Client::new();
    // What pycronofy's read_events() sends: every flag, Python-spelt, and `{}`.
    let events = format!("{}/v1/events", server.base_url());
    let first = ok_json(
        http.get(&events)
            .bearer_auth(&access)
            .query(&[
                ("tzid", "Etc/UTC"),
                ("from", "2026-11-23"),
                ("to", "2026-11-24"),
                ("only_managed", "False"),
                ("include_managed", "True"),
                ("include_deleted", "False"),
                ("include_moved", "False"),
                ("include_geo", "False"),
                ("localized_times", "False"),
            ])
            .json(&json!({})),
    )
    .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 25);
    assert_eq!(first["pages"]["total"], 2);
    // cronofy-node follows next_page with the caller's options as a query.
    let next = first["pages"]["next_page"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/v1/events/pages/", server.base_url())));
    let again = format!("{next}?from=2026-11-23&to=2026-11-24&tzid=Etc%2FUTC");
    let second = ok_json(http.get(again).bearer_auth(&access)).await;
    assert_eq!(second["events"].as_array().unwrap().len(), 5);
    assert_eq!(second["pages"], json!({"current": 2, "total": 2}));
    // Neither spelling of a boolean: a 422 naming the parameter.
    let neither = http
        .get(&events)
        .bearer_auth(&access)
        .query(&[("tzid", "Etc/UTC"), ("include_deleted", "yes")]);
    assert_eq!(
        refusal(neither, "include_deleted")
            .await
            .description
            .as_deref(),
        Some("include_deleted must be true or false")
    );
}

#[tokio::test]
async fn free_busy_reads_pythons_true_and_false_as_booleans() {
    let (server, _, access) = with_events().await;
    let http = reqwest::Client::new();
    // What pycronofy's read_free_busy() sends: its two flags, Python-spelt.
    let read = |localized: &'static str| {
        http.get(format!("{}/v1/free_busy", server.base_url()))
            .bearer_auth(&access)
            .query(&[
                ("from", "2026-11-23"),
                ("to", "2026-11-24"),
                ("tzid", "Etc/UTC"),
                ("include_managed", "True"),
                ("localized_times", localized),
            ])
    };
    let plain = ok_json(read("False")).await;
    assert_eq!(plain["free_busy"].as_array().unwrap().len(), 25);
    assert_eq!(plain["free_busy"][0]["start"], "2026-11-23T08:00:00Z");
    // `True` is read as true, not merely accepted: times come localized.
    let localized = ok_json(read("True")).await;
    assert_eq!(
        localized["free_busy"][0]["start"],
        json!({"time": "2026-11-23T08:00:00+00:00", "tzid": "Etc/UTC"})
    );
    assert_eq!(
        refusal(read("maybe"), "localized_times")
            .await
            .description
            .as_deref(),
        Some("localized_times must be true or false")
    );
}

#[tokio::test]
async fn a_form_encoded_refresh_is_a_refresh() {
    let (server, _, _) = with_events().await;
    let cronofy = signed_in(&server, BOB).await;
    let refresh = refresh_token(&cronofy).await;
    let answer = ok_json(
        reqwest::Client::new()
            .post(format!("{}/oauth/token", server.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", CLIENT_ID)
                    .append_pair("client_secret", CLIENT_SECRET)
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh.expose())
                    .finish(),
            ),
    )
    .await;
    assert_eq!(answer["token_type"], "bearer");
    assert_ne!(answer["refresh_token"], refresh.expose(), "rotated");
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn delete_all_in_the_query_deletes_every_managed_event() {
    let (server, calendar, access) = with_events().await;
    let cronofy = signed_in(&server, ALICE).await;
    for (id, start, end) in [
        ("m-1", "2026-11-25T09:00:00Z", "2026-11-25T10:00:00Z"),
        ("m-2", "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"),
    ] {
        upsert(&cronofy, &calendar, event(id, id, start, end)).await;
    }
    // pycronofy's delete_all_events(): the flag as a query parameter, `{}` as the body.
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v1/events?delete_all=True", server.base_url()))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    let events = managed_events_and_deleted(&cronofy).await;
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_id.as_deref(), e.deleted))
            .collect::<Vec<_>>(),
        [(Some("m-1"), Some(true)), (Some("m-2"), Some(true))]
    );
}

#[tokio::test]
async fn a_null_property_reads_as_absent() {
    let (server, calendar, _) = with_events().await;
    // pycronofy's real_time_scheduling() without a start interval.
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/real_time_scheduling", server.base_url()))
        .bearer_auth(CLIENT_SECRET)
        .json(&json!({
            "oauth": {"redirect_uri": "https://example.com/done"},
            "event": {"event_id": "rts", "summary": "RTS"},
            "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
            "availability": {
                "participants": [{"members": [{"sub": ALICE}], "required": "all"}],
                "required_duration": {"minutes": 60},
                "start_interval": null,
                "buffer": {},
                "available_periods": [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-24T18:00:00Z"}]
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let link: Value = answer.json().await.unwrap();
    let id = link["real_time_scheduling"]["real_time_scheduling_id"]
        .as_str()
        .unwrap();
    // The invitee gets the first free hour: after the 30 events of 2026-11-23.
    let (start, end) = server.complete_real_time_scheduling(id).unwrap();
    assert_eq!(
        (start, end),
        (utc("2026-11-23T23:00:00Z"), utc("2026-11-24T00:00:00Z"))
    );
}
