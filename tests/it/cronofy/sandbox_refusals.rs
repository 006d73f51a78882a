//! What the sandbox refuses as Cronofy does, on raw requests (byte for byte
//! what any client may send): times with a non-zero fraction of a second,
//! Bookable Event capacities outside 1 to 256 and ids with other characters
//! than letters, digits, `_` and `-`, `event.attendees` in a Real-Time
//! Scheduling link, and an empty `calendar_ids` where the docs want at least
//! one. Each is Cronofy's 422 naming the field.
use super::sandbox_support::*;

/// The `errors` keys of a 422 answer.
#[track_caller]
fn refused(answer: (u16, Value)) -> Vec<String> {
    assert_eq!(answer.0, 422, "{}", answer.1);
    answer.1["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors in {}", answer.1))
        .keys()
        .cloned()
        .collect()
}

/// POSTs the JSON `body` to `path` as the application (with the client
/// secret); the status and the JSON answer.
async fn post_as_app(server: &Cronofy, path: &str, body: Value) -> (u16, Value) {
    raw(
        server,
        reqwest::Method::POST,
        path,
        CLIENT_SECRET,
        Some(body),
    )
    .await
}

/// A started sandbox, Alice's access token, and her primary calendar.
async fn alice() -> (Cronofy, String, String) {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let access = access_token(&cronofy).await;
    (server, access, calendar)
}

#[tokio::test]
async fn times_with_milliseconds_are_refused_and_a_zero_fraction_is_a_whole_second() {
    use reqwest::Method;
    let (server, access, calendar) = alice().await;
    let events = format!("/v1/calendars/{calendar}/events");
    let event = |start: &str| json!({"event_id": "ms", "summary": "Milliseconds", "start": start, "end": "2026-11-25T10:00:00Z"});
    for start in ["2026-11-25T09:00:00.500Z", "2026-11-25T09:00:00.001Z"] {
        let answer = raw(&server, Method::POST, &events, &access, Some(event(start))).await;
        assert_eq!(refused(answer), ["start"]);
    }
    let localized = json!({"event_id": "ms", "summary": "s", "end": "2026-11-25T10:00:00Z",
        "start": {"time": "2026-11-25T09:00:00.5Z", "tzid": "Europe/Paris"}});
    let answer = raw(&server, Method::POST, &events, &access, Some(localized)).await;
    assert_eq!(refused(answer), ["start.time"]);
    let query = "/v1/events?tzid=Etc/UTC&last_modified=2026-11-25T09:00:00.250Z";
    assert_eq!(
        refused(raw(&server, Method::GET, query, &access, None).await),
        ["last_modified"]
    );
    // A UTC time where a date is documented (as the SDKs send) is read as its
    // date, but not with a fraction of a second.
    let query = "/v1/free_busy?tzid=Etc/UTC&from=2026-11-23T00:00:00.500Z";
    assert_eq!(
        refused(raw(&server, Method::GET, query, &access, None).await),
        ["from"]
    );
    let query = "/v1/free_busy?tzid=Etc/UTC&from=2026-11-23T00:00:00Z";
    assert_eq!(raw(&server, Method::GET, query, &access, None).await.0, 200);
    let bookable = json!({"bookable_event_id": "b1", "start": "2026-11-25T09:00:00.100Z",
        "end": "2026-11-25T10:00:00Z", "status": "confirmed", "registration": {"capacity": 2}});
    let answer = post_as_app(&server, "/v1/bookable_events", bookable).await;
    assert_eq!(refused(answer), ["start"]);
    let availability = json!({
        "participants": [{"members": [{"sub": ALICE}], "required": "all"}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2026-11-25T09:00:00.750Z", "end": "2026-11-25T17:00:00Z"}],
    });
    let answer = post_as_app(&server, "/v1/availability", availability).await;
    assert_eq!(refused(answer), ["query_periods.0.start"]);

    // `.000Z` is accepted, and read back as the whole second it is.
    let answer = raw(
        &server,
        Method::POST,
        &events,
        &access,
        Some(event("2026-11-25T09:00:00.000Z")),
    )
    .await;
    assert_eq!(answer.0, 202, "{}", answer.1);
    let query = "/v1/events?tzid=Etc/UTC&only_managed=true";
    let (status, read) = raw(&server, Method::GET, query, &access, None).await;
    assert_eq!(status, 200);
    assert_eq!(read["events"][0]["start"], "2026-11-25T09:00:00Z");
}

#[tokio::test]
async fn bookable_events_refuse_capacities_and_ids_out_of_bounds() {
    use reqwest::Method;
    let server = sandbox().start().await.unwrap();
    let create = |id: &str, capacity: Value| {
        json!({"bookable_event_id": id, "start": "2026-11-25T09:00:00Z",
            "end": "2026-11-25T10:00:00Z", "status": "confirmed", "registration": {"capacity": capacity}})
    };
    let post = |body: Value| post_as_app(&server, "/v1/bookable_events", body);
    for capacity in [json!(0), json!(257)] {
        let answer = post(create("b1", capacity)).await;
        assert_eq!(
            answer.1["errors"]["registration.capacity"][0]["key"],
            "errors.invalid"
        );
        assert_eq!(refused(answer), ["registration.capacity"]);
    }
    for id in ["has space", "dot.ted", "semi;colon"] {
        assert_eq!(
            refused(post(create(id, json!(5))).await),
            ["bookable_event_id"]
        );
    }
    // The bounds and every allowed character are accepted.
    assert_eq!(post(create("Az09_-", json!(256))).await.0, 200);
    assert_eq!(post(create("b1", json!(1))).await.0, 200);

    let get = raw(
        &server,
        Method::GET,
        "/v1/bookable_events/dot.ted",
        CLIENT_SECRET,
        None,
    )
    .await;
    assert_eq!(refused(get), ["bookable_event_id"]);
    let registrations = "/v1/bookable_events/b1/registrations";
    let answer = post_as_app(
        &server,
        registrations,
        json!({"registration_id": "r 1", "status": "accepted"}),
    )
    .await;
    assert_eq!(refused(answer), ["registration_id"]);
    let answer = post_as_app(
        &server,
        "/v1/bookable_events/b%201/registrations",
        json!({"registration_id": "r1", "status": "accepted"}),
    )
    .await;
    assert_eq!(refused(answer), ["bookable_event_id"]);
    let answer = post_as_app(
        &server,
        registrations,
        json!({"registration_id": "r-1_A", "status": "accepted"}),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = raw(
        &server,
        Method::DELETE,
        "/v1/bookable_events/b1/registrations/r.1",
        CLIENT_SECRET,
        None,
    )
    .await;
    assert_eq!(refused(answer), ["registration_id"]);
}

#[tokio::test]
async fn real_time_scheduling_refuses_attendees_in_its_event() {
    let server = sandbox().start().await.unwrap();
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let link = |event: Value| {
        json!({
            "oauth": {"redirect_uri": "https://example.com/done"},
            "event": event,
            "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
            "availability": {
                "participants": [{"members": [{"sub": ALICE}], "required": "all"}],
                "required_duration": {"minutes": 60},
                "query_periods": [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-24T18:00:00Z"}],
            },
        })
    };
    let with_attendees = json!({"event_id": "rts", "summary": "RTS",
        "attendees": {"invite": [{"email": "bob@example.com"}]}});
    let answer = post_as_app(&server, "/v1/real_time_scheduling", link(with_attendees)).await;
    assert_eq!(
        answer.1["errors"]["event.attendees"][0]["key"],
        "errors.invalid"
    );
    assert_eq!(refused(answer), ["event.attendees"]);
    // The generated request type has no attendees to send.
    let typed_request: types::RealTimeSchedulingRequest =
        typed(link(json!({"event_id": "rts", "summary": "RTS"})));
    let sent = serde_json::to_value(&typed_request).unwrap();
    assert_eq!(sent["event"], json!({"event_id": "rts", "summary": "RTS"}));
    let answer = post_as_app(&server, "/v1/real_time_scheduling", sent).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
}

#[tokio::test]
async fn availability_rules_refuse_an_empty_list_of_calendar_ids() {
    use reqwest::Method;
    let (server, access, calendar) = alice().await;
    let rule = |ids: Value| {
        json!({"availability_rule_id": "work", "tzid": "Europe/London", "calendar_ids": ids,
            "weekly_periods": [{"day": "monday", "start_time": "09:00", "end_time": "17:00"}]})
    };
    let answer = raw(
        &server,
        Method::POST,
        "/v1/availability_rules",
        &access,
        Some(rule(json!([]))),
    )
    .await;
    assert_eq!(refused(answer), ["calendar_ids"]);
    let answer = raw(
        &server,
        Method::POST,
        "/v1/availability_rules",
        &access,
        Some(rule(json!([calendar]))),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
}
