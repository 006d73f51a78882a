//! Event writes: upserts of managed and external events, recurrence,
//! deletes, bulk deletes and participation status.
use super::*;

// ------------------------------------------------------------------ operations: events

#[tokio::test]
async fn upsert_event_sends_the_documented_body_for_managed_and_external_events() {
    let (server, cronofy) = mock_cronofy().await;
    let docs = Fixture::load("cronofy/events_upsert.json");
    let pycronofy = Fixture::load("cronofy/events_upsert_pycronofy_tzid.json");
    let documented = on(
        "POST",
        "/v1/calendars/cal_n23kjnwrw2_jsdfjksn234/events",
        Some(ACCESS),
    );
    expect_exchange(&server, documented, &docs).await;
    let with_tzid = on("POST", "/v1/calendars/cal_123/events", Some(ACCESS));
    expect_exchange(&server, with_tzid, &pycronofy).await;
    // Edit External Event: the event_uid of an event read from the calendar;
    // a calendar id with `@` (as in events_read_page1.json) stays as is.
    let read = Fixture::load("cronofy/events_read_page1.json");
    let event = &read.body()["events"][0];
    let external = json!({
        "event_uid": event["event_uid"],
        "summary": "Company Retreat (moved)",
        "start": "2014-09-13",
        "end": "2014-09-15",
        "tzid": "Europe/London",
        "transparency": "transparent"
    });
    let route = format!(
        "/v1/calendars/{}/events",
        event["calendar_id"].as_str().unwrap()
    );
    let edit = with_json(on("POST", &route, Some(ACCESS)), &external);
    edit.answer_once(ResponseTemplate::new(202), &server).await;

    let accepted = cronofy
        .upsert_event()
        .calendar_id("cal_n23kjnwrw2_jsdfjksn234")
        .body(typed::<types::EventUpsert>(docs.request_body()))
        .send()
        .await
        .unwrap();
    // The generated operation answers the status.
    assert_eq!(accepted.status(), 202);
    cronofy
        .upsert_event()
        .calendar_id("cal_123")
        .body(typed::<types::EventUpsert>(pycronofy.request_body()))
        .send()
        .await
        .unwrap();
    cronofy
        .upsert_event()
        .calendar_id(event["calendar_id"].as_str().unwrap())
        .body(typed::<types::ExternalEventUpdate>(&external))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_recurring_event_sends_its_rules_and_empty_rules_are_sent_to_remove_them() {
    let (server, cronofy) = mock_cronofy().await;
    // The example request of docs api-alpha/recurring-events.
    let recurring = json!({
        "event_id": "recurrence-example",
        "summary": "Example",
        "start": "2025-01-20T15:30:00Z",
        "end": "2025-01-20T17:00:00Z",
        "tzid": "Europe/Berlin",
        "recurrence": {"rules": [{"frequency": "weekly", "interval": 2}]}
    });
    let mut removed = recurring.clone();
    removed["recurrence"] = json!({"rules": []});
    for body in [&recurring, &removed] {
        let upsert = with_json(on("POST", "/v1/calendars/cal_1/events", Some(ACCESS)), body);
        upsert
            .answer_once(ResponseTemplate::new(202), &server)
            .await;
    }
    let mut event: types::EventUpsert = typed(&recurring);
    let rule = &event.recurrence.as_ref().unwrap().rules[0];
    assert_eq!(rule.frequency, types::RecurrenceRuleFrequency::Weekly);
    assert_eq!(rule.interval.map(|n| n.get()), Some(2));
    let upsert = |event: types::EventUpsert| {
        cronofy
            .upsert_event()
            .calendar_id("cal_1")
            .body(event)
            .send()
    };
    upsert(event.clone()).await.unwrap();
    event.recurrence = Some(types::EventRecurrence { rules: vec![] });
    upsert(event).await.unwrap();

    // by_day belongs to weekly rules: refused before sending.
    let mut monthly = recurring.clone();
    monthly["recurrence"] = json!({"rules": [{"frequency": "monthly", "by_day": ["friday"]}]});
    assert_invalid(
        upsert(typed(&monthly)).await,
        "body.recurrence.rules[0].by_day",
    );
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn an_event_url_set_to_null_is_sent_as_null_and_an_untouched_one_is_left_out() {
    let (server, cronofy) = mock_cronofy().await;
    let docs = Fixture::load("cronofy/events_upsert.json");
    let mut cleared = docs.request_body().clone();
    cleared["url"] = Value::Null;
    let upsert = with_json(
        on("POST", "/v1/calendars/cal_1/events", Some(ACCESS)),
        &cleared,
    );
    upsert
        .answer_once(ResponseTemplate::new(202), &server)
        .await;
    let mut event: types::EventUpsert = typed(docs.request_body());
    assert!(event.url.is_absent());
    event.url = specbound::runtime::Patch::Null;
    cronofy
        .upsert_event()
        .calendar_id("cal_1")
        .body(event)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_event_by_event_id_and_by_event_uid_send_a_json_body_with_delete() {
    let (server, cronofy) = mock_cronofy().await;
    let managed = example("delete_event");
    // The shape of events_delete_external_error_422.json's request.
    let external = Fixture::load("cronofy/events_delete_external_error_422.json");
    for body in [managed.request_body(), external.request_body()] {
        let delete = with_json(
            on("DELETE", "/v1/calendars/cal_123_abc/events", Some(ACCESS)),
            body,
        );
        delete
            .answer_once(ResponseTemplate::new(202), &server)
            .await;
    }

    let deleted = cronofy
        .delete_event()
        .calendar_id("cal_123_abc")
        .body(types::EventDelete {
            event_id: managed.request_body()["event_id"].as_str().unwrap().into(),
            include_userinfo: None,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    // 202 without a body: the nullable answer reads as None.
    assert_eq!(deleted.into_inner().0, None);
    let deleted = cronofy
        .delete_event()
        .calendar_id("cal_123_abc")
        .body(types::ExternalEventDelete {
            event_uid: external.request_body()["event_uid"]
                .as_str()
                .unwrap()
                .into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.into_inner().0, None);
}

#[tokio::test]
async fn delete_event_with_include_userinfo_reads_the_embedded_userinfo() {
    let (server, cronofy) = mock_cronofy().await;
    let answer = example("delete_event");
    let mut request = answer.request_body().clone();
    request["include_userinfo"] = json!(true);
    let delete = with_json(
        on("DELETE", "/v1/calendars/cal_123_abc/events", Some(ACCESS)),
        &request,
    );
    delete.answer_once(answer.response(), &server).await;
    let deleted = cronofy
        .delete_event()
        .calendar_id("cal_123_abc")
        .body(types::EventDelete {
            event_id: request["event_id"].as_str().unwrap().into(),
            include_userinfo: Some(true),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    let body = deleted
        .into_inner()
        .0
        .expect("the answer embeds the userinfo");
    assert_eq!(body.userinfo.sub, "acc_5700a00eb0ccd07000000000");
    assert_eq!(body.userinfo.cronofy_type.as_deref(), Some("account"));
    assert_keeps(&body, answer.body());
}

#[tokio::test]
async fn bulk_delete_events_and_change_participation_status() {
    let (server, cronofy) = mock_cronofy().await;
    let bulk = example("bulk_delete_events");
    expect_exchange(&server, on("DELETE", "/v1/events", Some(ACCESS)), &bulk).await;
    let delete_all = with_json(
        on("DELETE", "/v1/events", Some(ACCESS)),
        &json!({"delete_all": true}),
    );
    delete_all
        .answer_once(ResponseTemplate::new(202), &server)
        .await;
    let status = example("change_participation_status");
    let change = on(
        "POST",
        "/v1/calendars/cal_n23kjnwrw2_jsdfjksn234/events/evt_external_54008b1a4a41730f8d5c6037/participation_status",
        Some(ACCESS),
    );
    expect_exchange(&server, change, &status).await;

    let done = cronofy
        .bulk_delete_events()
        .body(typed::<types::BulkDeleteEvents>(bulk.request_body()))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 202);
    cronofy
        .bulk_delete_events()
        .body(types::BulkDeleteEvents {
            calendar_ids: vec![],
            delete_all: Some(true),
        })
        .send()
        .await
        .unwrap();
    let done = cronofy
        .change_participation_status()
        .calendar_id("cal_n23kjnwrw2_jsdfjksn234")
        .event_uid("evt_external_54008b1a4a41730f8d5c6037")
        .body(types::ParticipationStatusChange {
            status: types::ParticipationStatusChangeStatus::Accepted,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 202);
}
