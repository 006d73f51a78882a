//! Request bodies form-encoded, which Cronofy accepts on every endpoint as
//! it accepts JSON: the sandbox reads `a[b]=x`, `a[]=x`, indexed lists
//! (`a[0][x]=1`) and Rack's lists of objects (`a[][x]=1&a[][y]=2`), and
//! gives each value the type the spec's schema wants, so a form body and its
//! JSON twin get the same answer.
use super::sandbox_support::*;

/// Sends `method path` with `bearer` and `pairs` form-encoded; the status
/// and the JSON answer (`null` when there is none).
async fn form(
    server: &Cronofy,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    pairs: &[(&str, &str)],
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .bearer_auth(bearer)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    status_and_json(answer).await
}

#[tokio::test]
async fn events_and_channels_can_be_written_form_encoded() {
    use reqwest::Method;
    let (server, cronofy, calendar) = alice_signed_in().await;
    let access = access_token(&cronofy).await;
    let access = access.as_str();
    let events = format!("/v1/calendars/{calendar}/events");
    let answer = form(
        &server,
        Method::POST,
        &events,
        access,
        &[
            ("event_id", "f1"),
            ("summary", "Made in a form"),
            ("start", "2026-11-25T09:00:00Z"),
            ("end", "2026-11-25T10:00:00Z"),
            ("location[description]", "Room 1"),
            ("event_private", "true"),
            ("attendees[invite][][email]", "bob@example.com"),
            ("attendees[invite][][display_name]", "Bob"),
            ("attendees[invite][][email]", "carol@example.com"),
        ],
    )
    .await;
    assert_eq!(answer.0, 202, "{}", answer.1);
    let read = managed_events(&cronofy).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].summary.as_deref(), Some("Made in a form"));
    assert_eq!(read[0].event_private, Some(true));
    assert_eq!(
        read[0]
            .location
            .as_ref()
            .and_then(|l| l.description.as_deref()),
        Some("Room 1")
    );
    let attendees: Vec<_> = read[0]
        .attendees
        .iter()
        .map(|a| (a.email.as_deref().unwrap_or(""), a.display_name.as_deref()))
        .collect();
    assert_eq!(
        attendees,
        [
            ("bob@example.com", Some("Bob")),
            ("carol@example.com", None)
        ]
    );

    // The userinfo flag, as text.
    let (status, deleted) = form(
        &server,
        Method::DELETE,
        &events,
        access,
        &[("event_id", "f1"), ("include_userinfo", "true")],
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(deleted["userinfo"]["sub"], ALICE);

    let mut hooks = Hooks::start().await;
    let hook = hooks.url();
    let (status, channel) = form(
        &server,
        Method::POST,
        "/v1/channels",
        access,
        &[
            ("callback_url", hook.as_str()),
            ("filters[calendar_ids][]", calendar.as_str()),
            ("filters[only_managed]", "true"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{channel}");
    assert_eq!(
        channel["channel"]["filters"],
        json!({"calendar_ids": [calendar], "only_managed": true})
    );
    let verification: Value = serde_json::from_slice(&hooks.next().await.body).unwrap();
    assert_eq!(verification["channel"], channel["channel"]);

    let (status, _) = form(
        &server,
        Method::DELETE,
        "/v1/events",
        access,
        &[("delete_all", "true")],
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn numbers_and_lists_of_objects_read_as_their_json_twin() {
    use reqwest::Method;
    let server = sandbox().start().await.unwrap();
    let (status, created) = form(
        &server,
        Method::POST,
        "/v1/bookable_events",
        CLIENT_SECRET,
        &[
            ("bookable_event_id", "form-1"),
            ("start", "2026-11-25T09:00:00Z"),
            ("end", "2026-11-25T10:00:00Z"),
            ("status", "confirmed"),
            ("registration[capacity]", "3"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["registration"]["capacity"], 3);
    let (status, refused) = form(
        &server,
        Method::POST,
        "/v1/bookable_events",
        CLIENT_SECRET,
        &[
            ("bookable_event_id", "form-2"),
            ("start", "2026-11-25T09:00:00Z"),
            ("end", "2026-11-25T10:00:00Z"),
            ("status", "confirmed"),
            ("registration[capacity]", "three"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused["errors"]["registration.capacity"][0]["description"],
        "registration.capacity must be of type integer"
    );

    // An availability query: two participant groups (indexed, as Rails
    // writes nested lists), two periods (Rack's `[]` lists of objects).
    let calendar = server.add_calendar(BOB, "Busy").unwrap();
    server
        .add_event(
            &calendar,
            "Busy",
            utc("2026-11-23T09:00:00Z"),
            utc("2026-11-23T10:00:00Z"),
        )
        .unwrap();
    let json_query = json!({
        "participants": [
            {"members": [{"sub": ALICE}], "required": "all"},
            {"members": [{"sub": BOB}], "required": 1},
        ],
        "required_duration": {"minutes": 60},
        "query_periods": [
            {"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T11:00:00Z"},
            {"start": "2026-11-24T08:00:00Z", "end": "2026-11-24T09:00:00Z"},
        ],
    });
    let (status, by_form) = form(
        &server,
        Method::POST,
        "/v1/availability",
        CLIENT_SECRET,
        &[
            ("participants[0][members][0][sub]", ALICE),
            ("participants[0][required]", "all"),
            ("participants[1][members][0][sub]", BOB),
            ("participants[1][required]", "1"),
            ("required_duration[minutes]", "60"),
            ("query_periods[][start]", "2026-11-23T08:00:00Z"),
            ("query_periods[][end]", "2026-11-23T11:00:00Z"),
            ("query_periods[][start]", "2026-11-24T08:00:00Z"),
            ("query_periods[][end]", "2026-11-24T09:00:00Z"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{by_form}");
    let (_, by_json) = raw(
        &server,
        Method::POST,
        "/v1/availability",
        CLIENT_SECRET,
        Some(json_query),
    )
    .await;
    assert_eq!(by_form, by_json);
    assert_eq!(
        by_form["available_periods"].as_array().unwrap().len(),
        3,
        "{by_form}"
    );
}
