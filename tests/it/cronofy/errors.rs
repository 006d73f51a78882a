//! Errors on the wire: typed 422s, 401/403/404, 429 and Retry-After,
//! malformed JSON, and bodies cut off midway.
use super::*;

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn a_422_has_typed_field_errors() {
    let server = MockServer::start().await;
    let (cronofy, waits) = cronofy(&server);
    let fixture = Fixture::load("cronofy/error_422_unprocessable.json");
    let docs = Fixture::load("cronofy/events_upsert.json");
    let upsert = with_json(
        on("POST", "/v1/calendars/cal_1/events", Some(ACCESS)),
        docs.request_body(),
    );
    upsert.answer_once(fixture.response(), &server).await;

    let err = cronofy
        .upsert_event()
        .calendar_id("cal_1")
        .body(typed::<types::EventUpsert>(docs.request_body()))
        .send()
        .await
        .unwrap_err();

    let api = err.api().expect("an API error");
    assert_eq!(api.status, 422);
    assert_eq!(api.code.as_deref(), Some("unprocessable"));
    let want = &fixture.body()["errors"]["event_id"][0];
    assert_eq!(
        api.fields,
        [specbound::FieldError {
            field: "event_id".into(),
            message: want["description"].as_str().unwrap().into()
        }]
    );
    assert_eq!(api.message, "event_id: required");
    let body = api.body::<types::Error>().expect("the typed body");
    assert_eq!(
        body.errors["event_id"][0].key.as_deref(),
        want["key"].as_str()
    );
    assert!(waits.recorded().is_empty(), "a 422 is not retried");
}

#[tokio::test]
async fn a_422_is_displayed_with_each_field_error_once() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = Fixture::load("cronofy/error_422_unprocessable.json");
    on("POST", "/v1/calendars/cal_1/events", Some(ACCESS))
        .answer_once(fixture.response(), &server)
        .await;
    let docs = Fixture::load("cronofy/events_upsert.json");
    let err = cronofy
        .upsert_event()
        .calendar_id("cal_1")
        .body(typed::<types::EventUpsert>(docs.request_body()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string().matches("event_id: required").count(),
        1,
        "{err}"
    );
}

#[tokio::test]
async fn a_422_on_deleting_an_external_event_names_event_uid() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = Fixture::load("cronofy/events_delete_external_error_422.json");
    expect_exchange(
        &server,
        on("DELETE", "/v1/calendars/cal_1/events", Some(ACCESS)),
        &fixture,
    )
    .await;
    let err = cronofy
        .delete_event()
        .calendar_id("cal_1")
        .body(types::ExternalEventDelete {
            event_uid: fixture.request_body()["event_uid"].as_str().unwrap().into(),
        })
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    let want = &fixture.body()["errors"]["event_uid"][0];
    assert_eq!(api.status, 422);
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].field, "event_uid");
    assert_eq!(api.fields[0].message, want["description"]);
    assert_eq!(
        api.body::<types::Error>().unwrap().errors["event_uid"][0]
            .key
            .as_deref(),
        Some("errors.must_be_external_event_uid")
    );
}

#[tokio::test]
async fn a_401_without_a_refresh_token_a_403_and_a_404_are_typed_api_errors() {
    let server = MockServer::start().await;
    let waits = Waits::default();
    // A personal access token: no refresh token, no expiry.
    let cronofy = cronofy_builder(&server, &waits)
        .personal_access_token(ACCESS)
        .build()
        .unwrap();
    assert!(!cronofy.is_authorization_expired().await.unwrap());
    // Cronofy documents no body for these; a 401 carries WWW-Authenticate.
    let access = Some(ACCESS);
    on("GET", "/v1/account", access)
        .answer_once(invalid_token(), &server)
        .await;
    on("POST", "/oauth/token", None)
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    on("POST", "/v1/calendars", access)
        .answer_once(ResponseTemplate::new(403), &server)
        .await;
    on("GET", "/v1/availability_rules/missing", access)
        .answer_once(ResponseTemplate::new(404), &server)
        .await;
    // A 404 with a JSON body keeps it typed.
    on("DELETE", "/v1/channels/chn_gone", access)
        .answer_once(
            ResponseTemplate::new(404).set_body_json(json!({
                "error": "not_found", "error_description": "No channel chn_gone"
            })),
            &server,
        )
        .await;

    let unauthorized: Error = cronofy.get_account().send().await.unwrap_err();
    assert!(unauthorized.is_unauthorized());
    assert_eq!(unauthorized.api().unwrap().status, 401);
    let forbidden: Error = cronofy
        .create_calendar()
        .body(typed::<types::CalendarCreate>(
            example("create_calendar").request_body(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(forbidden.status(), Some(reqwest::StatusCode::FORBIDDEN));
    assert!(!forbidden.is_unauthorized());
    let missing: Error = cronofy
        .get_availability_rule()
        .availability_rule_id("missing")
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_not_found());
    assert!(missing.api().unwrap().body::<types::Error>().is_none());
    let gone: Error = cronofy
        .close_channel()
        .channel_id("chn_gone")
        .send()
        .await
        .unwrap_err();
    let api = gone.api().unwrap();
    assert!(gone.is_not_found());
    assert_eq!(api.code.as_deref(), Some("not_found"));
    assert_eq!(api.message, "No channel chn_gone");
    assert_eq!(
        api.body::<types::Error>().unwrap().error.as_deref(),
        Some("not_found")
    );
    assert!(waits.recorded().is_empty(), "none of these is retried");
}

#[tokio::test]
async fn a_429_with_retry_after_two_then_200_succeeds_after_waiting_two_seconds() {
    let server = MockServer::start().await;
    let (cronofy, waits) = cronofy(&server);
    // Cronofy documents no body and no Retry-After for 429; both are honoured.
    on("GET", "/v1/calendars", Some(ACCESS))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    on("GET", "/v1/calendars", Some(ACCESS))
        .answer_once(
            Fixture::load("cronofy/calendars_list.json").response(),
            &server,
        )
        .await;
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(calendars.calendars.len(), 3);
    assert_eq!(waits.recorded(), [Duration::from_secs(2)]);
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].url, requests[1].url,
        "the retry is the same request"
    );
    assert_eq!(requests[0].headers, requests[1].headers);
}

#[tokio::test]
async fn a_429_over_the_wait_budget_is_rate_limited_at_once() {
    let server = MockServer::start().await;
    let waits = Waits::default();
    let cronofy = cronofy_builder(&server, &waits)
        .access_token(ACCESS, None)
        .retry(RetryPolicy::standard().max_wait(Duration::from_secs(30)))
        .build()
        .unwrap();
    on("POST", "/v1/availability", Some(CLIENT_SECRET))
        .answer_once(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "93")
                .set_body_raw("<html>slow down</html>", "text/html"),
            &server,
        )
        .await;
    let err: Error = cronofy
        .query_availability()
        .body(typed::<types::AvailabilityQuery>(
            Fixture::load("cronofy/availability_query_slots.json").request_body(),
        ))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(93)),
        "{err:?}"
    );
    assert!(err.is_rate_limited());
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_json_path() {
    let (server, cronofy) = mock_cronofy().await;
    let mut calendars = Fixture::load("cronofy/calendars_list.json").body().clone();
    calendars["calendars"][1]["calendar_readonly"] = json!("yes");
    on("GET", "/v1/calendars", Some(ACCESS))
        .respond_with(ResponseTemplate::new(200).set_body_json(&calendars))
        .mount(&server)
        .await;
    on("GET", "/v1/account", Some(ACCESS))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"account": {"account_id": "acc_1", "#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut events = Fixture::load("cronofy/events_read_page1.json")
        .body()
        .clone();
    events["pages"]["next_page"] = json!("");
    events["events"][0]["deleted"] = json!("no");
    on("GET", "/v1/events", Some(ACCESS))
        .respond_with(ResponseTemplate::new(200).set_body_json(&events))
        .mount(&server)
        .await;

    match cronofy.list_calendars().send().await {
        Err(Error::Decode { path, .. }) => assert_eq!(path, "$.calendars[1].calendar_readonly"),
        other => panic!("{other:?}"),
    }
    match cronofy.get_account().send().await {
        Err(Error::Decode {
            operation,
            path,
            reason,
        }) => {
            assert_eq!(operation, "get_account");
            assert_eq!(path, "$.account");
            assert!(reason.contains("EOF"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    match cronofy
        .read_events()
        .tzid("Etc/UTC")
        .stream()
        .try_next()
        .await
    {
        Err(Error::Decode { path, .. }) => assert_eq!(path, "$.events[0].deleted"),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ bodies cut off

/// A client of `server` with recorded waits.
fn cut_client(server: &CutServer) -> (Client, Waits) {
    let waits = Waits::default();
    let client = Client::builder()
        .base_url(&server.uri)
        .personal_access_token(ACCESS)
        .sleep(waits.sleep())
        .build()
        .unwrap();
    (client, waits)
}

#[tokio::test]
async fn a_get_whose_body_is_cut_off_midway_is_sent_again() {
    let body = json!({"account": {
        "account_id": "acc_5ba21743f408617d1269ea1e",
        "email": "janed@company.com",
        "name": "Jane Doe",
        "scope": "read_write",
        "default_tzid": "Europe/London"
    }})
    .to_string();
    let server = CutServer::start(vec![
        Answer::CutAfter(body.clone(), 20),
        Answer::Whole(body),
    ])
    .await;
    let (cronofy, waits) = cut_client(&server);
    let account = cronofy
        .get_account()
        .send()
        .await
        .unwrap()
        .into_inner()
        .account;
    assert_eq!(account.account_id, "acc_5ba21743f408617d1269ea1e");
    assert_eq!(server.requests(), ["GET /v1/account HTTP/1.1"; 2]);
    assert_eq!(
        waits.recorded().len(),
        1,
        "one backoff before the second try"
    );
}

#[tokio::test]
async fn a_post_whose_answer_is_cut_off_is_not_sent_again() {
    let body = json!({"calendar": {"calendar_id": "cal_1"}}).to_string();
    let server = CutServer::start(vec![
        Answer::CutAfter(body.clone(), 10),
        Answer::Whole(body),
    ])
    .await;
    let (cronofy, waits) = cut_client(&server);
    let err: Error = cronofy
        .create_calendar()
        .body(typed::<types::CalendarCreate>(
            example("create_calendar").request_body(),
        ))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. }),
        "a cut-off answer to a POST is a transport error: {err:?}"
    );
    assert_eq!(server.requests(), ["POST /v1/calendars HTTP/1.1"]);
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn a_page_cut_off_midway_is_fetched_again_and_no_event_is_lost_or_repeated() {
    let read = Fixture::load("cronofy/events_read_page1.json");
    let event = |uid: &str| {
        let mut e = read.body()["events"][0].clone();
        e["event_uid"] = json!(uid);
        e
    };
    // The next link names the server's own host, known once it listens.
    let pages = |uri: &str| {
        (
            json!({"pages": {"current": 1, "total": 2, "next_page": format!("{uri}/v1/events/pages/p2")},
                   "events": [event("evt_1"), event("evt_2")]})
            .to_string(),
            json!({"pages": {"current": 2, "total": 2}, "events": [event("evt_3")]}).to_string(),
        )
    };
    let server = CutServer::start_with(|uri| {
        let (first, second) = pages(uri);
        vec![
            Answer::Whole(first),
            Answer::CutAfter(second.clone(), second.len() / 2),
            Answer::Whole(second),
        ]
    })
    .await;
    let (cronofy, _) = cut_client(&server);
    let uids: Vec<String> = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .stream()
        .prefetch(true)
        .map_ok(|e| e.event_uid.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(uids, ["evt_1", "evt_2", "evt_3"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[1], requests[2], "the cut page asked again");
    assert!(
        requests[2].starts_with("GET /v1/events/pages/p2 "),
        "{requests:?}"
    );
}
