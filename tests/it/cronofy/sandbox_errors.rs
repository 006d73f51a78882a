//! The sandbox's errors: typed 422s, unknown page tokens, batches and
//! rate limits.
use super::sandbox_support::*;

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn a_422_comes_back_typed_with_its_per_field_errors() {
    let (server, cronofy, calendar) = alice_signed_in().await;

    // A hand-written check: a filter on a calendar the account does not have.
    let refused = cronofy
        .create_channel()
        .body(types::ChannelCreate {
            callback_url: "https://example.com/hooks/cronofy".into(),
            filters: Some(types::ChannelFilters {
                calendar_ids: vec!["cal_nope".into()],
                only_managed: None,
            }),
        })
        .send()
        .await;
    let err = refused.expect_err("an unknown calendar");
    let api = err.api().unwrap();
    assert_eq!(api.status.as_u16(), 422);
    assert_eq!(api.code.as_deref(), Some("unprocessable"));
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].field, "filters.calendar_ids");
    assert_eq!(
        api.fields[0].message,
        "cal_nope is not a calendar of this account"
    );
    let body = api.body::<types::Error>().unwrap();
    assert_eq!(
        body.errors["filters.calendar_ids"][0].key.as_deref(),
        Some("errors.invalid")
    );

    // A JSON Schema check: what the typed client cannot send, sent by hand.
    let answer = raw(
        &server,
        reqwest::Method::POST,
        &format!("/v1/calendars/{calendar}/events"),
        &access_token(&cronofy).await,
        Some(json!({"event_id": "x", "start": "2026-11-25T09:00:00Z", "end": 42})),
    )
    .await;
    let summary = first_error(answer, "summary");
    assert_eq!(summary.key.as_deref(), Some("errors.required"));
    assert_eq!(
        summary.description.as_deref(),
        Some("summary must be specified")
    );

    // Availability: more members required than the group has.
    let query: types::AvailabilityQuery = typed(json!({
        "participants": [{"members": [{"sub": ALICE}], "required": 2}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
    }));
    let refused = fields(cronofy.query_availability().body(query).send().await);
    assert_eq!(
        refused,
        pairs(&[(
            "participants.0.required",
            "required is more than the number of members"
        )])
    );
}

#[tokio::test]
async fn an_unknown_page_token_is_a_404() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let err = cronofy
        .read_events_page()
        .page_token("0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

// ------------------------------------------------------------------ batch and rate limits

#[tokio::test]
async fn a_batch_of_sixty_entries_goes_out_as_two_requests_with_results_in_order() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let mut entries: Vec<types::BatchEntry> = (0..60)
        .map(|i| {
            let ev = event(
                &format!("b-{i:02}"),
                &format!("Batch {i:02}"),
                &format!("2026-11-26T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10),
                &format!("2026-11-26T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10 + 5),
            );
            types::BatchEntry::upsert_event(&calendar, &ev).unwrap()
        })
        .collect();
    // Entry 55 lacks its summary; entry 57 deletes an event.
    entries[55].data.remove("summary");
    entries[57] = types::BatchEntry::delete_event(&calendar, "b-00").unwrap();

    let before = server.requests();
    let results = cronofy.send_batch(entries).await.unwrap();
    assert_eq!(server.requests() - before, 2);
    assert_eq!(results.len(), 60);
    for (i, result) in results.iter().enumerate() {
        let expected = if i == 55 { 422 } else { 202 };
        assert_eq!(result.status, expected, "entry {i}");
    }
    let errors = results[55].data.as_ref().unwrap();
    assert_eq!(
        errors.errors["summary"][0].key.as_deref(),
        Some("errors.required")
    );

    let stored = managed_events(&cronofy).await;
    // 60 upserts, minus the refused one, minus the deleted one, minus the
    // one entry 57 replaced.
    assert_eq!(stored.len(), 57);
    assert_eq!(stored[0].event_id.as_deref(), Some("b-01"));
}

#[tokio::test]
async fn a_rate_limited_call_waits_for_retry_after_and_then_succeeds() {
    let server = sandbox()
        .rate_limit_after(2)
        .rate_limit_window(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let sleep = {
        let (server, waits) = (server.clone(), waits.clone());
        // Waiting is instant; the window passes when the client waits.
        Sleep::new(move |d| {
            waits.lock().unwrap().push(d);
            server.reset_rate_limit();
            Box::pin(async {})
        })
    };
    let cronofy = app_builder(&server).sleep(sleep).build().unwrap();
    sign_in(&server, &cronofy, ALICE).await;
    cronofy.list_calendars().send().await.unwrap();
    let before = server.requests();
    let profiles = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(profiles.profiles.len(), 1);
    assert_eq!(server.requests() - before, 2);
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_ends_as_rate_limited() {
    let server = sandbox()
        .rate_limit_after(1)
        .rate_limit_window(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    let waits = Waits::default();
    let cronofy = app_builder(&server)
        .sleep(waits.sleep())
        .retry(RetryPolicy::standard().max_wait(Duration::from_secs(60)))
        .build()
        .unwrap();
    sign_in(&server, &cronofy, ALICE).await;
    let err = cronofy.list_calendars().send().await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            let secs = retry_after.unwrap().as_secs();
            assert!((119..=120).contains(&secs), "{secs}");
        }
        other => panic!("not rate limited: {other:?}"),
    }
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn an_application_calendar_keeps_its_id_and_gets_fresh_tokens() {
    let server = sandbox().start().await.unwrap();
    let (cronofy, _) = client(&server, MemoryTokenStore::new());
    let first = cronofy.application_calendar("room-42").await.unwrap();
    let sub = first.subject.clone().unwrap();
    assert!(sub.starts_with("apc_"), "{sub}");
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(
        calendars.calendars[0].provider_name.as_deref(),
        Some("cronofy")
    );
    let second = cronofy.application_calendar("room-42").await.unwrap();
    assert_eq!(second.subject, Some(sub));
    assert_ne!(second.access_token, first.access_token);
}

#[tokio::test]
async fn injected_faults_are_a_503_retried_and_a_cut_body_fetched_again() {
    let server = sandbox().start().await.unwrap();
    let (cronofy, waits) = client(&server, MemoryTokenStore::new());
    sign_in(&server, &cronofy, ALICE).await;
    let faults = server.faults();
    faults.inject(
        Some("list_calendars"),
        specbound::sandbox::Fault::Status(503),
        1,
    );
    faults.inject(
        Some("list_calendars"),
        specbound::sandbox::Fault::CutBody { keep: 10 },
        1,
    );

    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();

    assert_eq!(calendars.calendars.len(), 1);
    assert_eq!(waits.recorded().len(), 2, "one backoff before each retry");
    // The 503 never reached the sandbox's code; the cut answer did.
    assert_eq!(
        server.operations_served(),
        ["request_token", "list_calendars", "list_calendars"]
    );
}
