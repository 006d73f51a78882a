//! The sandbox's Smart Invites, Bookable Events, Add to Calendar,
//! Real-Time Sequencing and Scheduling.
use super::sandbox_support::*;

// ------------------------------------------------------------------ smart invites, bookable events

#[tokio::test]
async fn a_smart_invite_is_created_replied_to_updated_and_cancelled() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let invite = |summary: &str| -> types::SmartInviteRequest {
        typed(json!({
            "method": "request",
            "smart_invite_id": "board-2026-11",
            "callback_url": "https://example.com/smart_invite/notifications",
            "recipient": {"email": "cronofy@example.com"},
            "event": {
                "summary": summary,
                "start": "2026-11-25T09:30:00Z",
                "end": "2026-11-25T10:00:00Z",
                "tzid": "Europe/London",
                "location": {"description": "Board room"},
            },
            "organizer": {"name": "Smart invite application", "email": "organizer@example.com"},
        }))
    };
    let created = app
        .upsert_smart_invite()
        .body(invite("Board meeting"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.smart_invite_id, "board-2026-11");
    let recipient = created.recipient.as_ref().unwrap();
    assert_eq!(recipient.email, "cronofy@example.com");
    assert_eq!(recipient.status.as_deref(), Some("pending"));
    let answered = serde_json::to_value(&created.event).unwrap();
    assert_eq!(
        answered["start"],
        json!({"time": "2026-11-25T09:30:00Z", "tzid": "Europe/London"})
    );
    let ics = created.attachments.unwrap().icalendar.unwrap();
    for line in [
        "METHOD:REQUEST",
        "UID:board-2026-11",
        "SEQUENCE:0",
        "DTSTART:20261125T093000Z",
        "DTEND:20261125T100000Z",
        "SUMMARY:Board meeting",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:cronofy@example.com",
    ] {
        assert!(ics.contains(&format!("{line}\r\n")), "{line} not in {ics}");
    }

    server
        .reply_to_smart_invite("board-2026-11", "cronofy@example.com", "accepted")
        .unwrap();
    let got = app
        .get_smart_invite()
        .smart_invite_id("board-2026-11")
        .recipient_email("cronofy@example.com")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.recipient.unwrap().status.as_deref(), Some("accepted"));
    assert!(got.attachments.is_none(), "ICS only with include_ics");

    // An update keeps the reply and raises the sequence.
    let updated = app
        .upsert_smart_invite()
        .body(invite("Board meeting (moved room)"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated.recipient.unwrap().status.as_deref(),
        Some("accepted")
    );
    let ics = updated.attachments.unwrap().icalendar.unwrap();
    assert!(ics.contains("SEQUENCE:1\r\n"), "{ics}");
    assert!(
        ics.contains("SUMMARY:Board meeting (moved room)\r\n"),
        "{ics}"
    );

    let cancelled = app
        .upsert_smart_invite()
        .body(typed::<types::SmartInviteRequest>(json!({
            "method": "cancel",
            "smart_invite_id": "board-2026-11",
            "recipient": {"email": "cronofy@example.com"},
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.method.as_deref(), Some("cancel"));
    let ics = cancelled.attachments.unwrap().icalendar.unwrap();
    assert!(
        ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"),
        "{ics}"
    );

    // Unknown invite or recipient: 404; bad input: 422 naming the field.
    let missing = app
        .get_smart_invite()
        .smart_invite_id("board-2026-11")
        .recipient_email("someone.else@example.com")
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    let mut backwards = serde_json::to_value(invite("x")).unwrap();
    backwards["event"]["end"] = json!("2026-11-25T09:00:00Z");
    assert_eq!(
        fields(
            app.upsert_smart_invite()
                .body(typed::<types::SmartInviteRequest>(backwards))
                .send()
                .await
        ),
        pairs(&[("event.end", "end must be after start")])
    );
    let mut no_recipient = serde_json::to_value(invite("x")).unwrap();
    no_recipient.as_object_mut().unwrap().remove("recipient");
    assert_eq!(
        fields(
            app.upsert_smart_invite()
                .body(typed::<types::SmartInviteRequest>(no_recipient))
                .send()
                .await
        ),
        pairs(&[("recipient", "recipient must be specified")])
    );
}

#[tokio::test]
async fn a_bookable_event_takes_registrations_up_to_its_capacity() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let created = app
        .create_bookable_event()
        .body(typed::<types::BookableEventCreate>(json!({
            "bookable_event_id": "83hi8qhfiaif",
            "start": "2026-11-24T12:30:00Z",
            "end": "2026-11-24T17:00:00Z",
            "status": "confirmed",
            "registration": {"capacity": 2},
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    let registration = created.registration.unwrap();
    assert_eq!(
        (registration.capacity, registration.registered_count),
        (Some(2), Some(0))
    );

    let register = |id: &str, status: &str| -> types::RegistrationUpsert {
        typed(json!({
            "registration_id": id,
            "status": status,
            "metadata": {"email": format!("{id}@example.com")},
        }))
    };
    for id in ["r1", "r2"] {
        app.upsert_bookable_event_registration()
            .bookable_event_id("83hi8qhfiaif")
            .body(register(id, "accepted"))
            .send()
            .await
            .unwrap();
    }
    let full = app
        .upsert_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .body(register("r3", "accepted"))
        .send()
        .await
        .unwrap_err();
    let api = full.api().unwrap();
    assert_eq!(api.status.as_u16(), 422);
    assert_eq!(api.fields[0].field, "registration_id");
    // A pending registration does not take a place.
    let event = app
        .upsert_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .body(register("r3", "pending"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let registration = event.registration.unwrap();
    assert_eq!(
        (registration.registered_count, registration.total_count),
        (Some(2), Some(3))
    );

    let event = app
        .delete_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .registration_id("r1")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = event
        .registration
        .unwrap()
        .registrations
        .into_iter()
        .map(|r| r.registration_id)
        .collect();
    assert_eq!(ids, ["r2", "r3"]);
    let got = app
        .get_bookable_event()
        .bookable_event_id("83hi8qhfiaif")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.registration.unwrap().registered_count, Some(1));
    let unknown = app
        .get_bookable_event()
        .bookable_event_id("nope")
        .send()
        .await
        .unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");
}

#[tokio::test]
async fn add_to_calendar_and_real_time_sequencing_check_the_request_and_answer_a_link() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let add = |secret: &str, end: &str| -> types::AddToCalendarRequest {
        typed(json!({
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "oauth": {"redirect_uri": REDIRECT, "scope": "read_events create_event"},
            "event": {
                "event_id": "board", "summary": "Board meeting",
                "start": "2026-11-25T15:30:00Z", "end": end,
            },
            "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
        }))
    };
    let answer = app
        .add_to_calendar()
        .body(add(CLIENT_SECRET, "2026-11-25T17:00:00Z"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let url = answer.url.unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/add_to_calendar/",
            server.base_url().trim_end_matches('/')
        )),
        "{url}"
    );
    assert_eq!(
        fields(
            app.add_to_calendar()
                .body(add(CLIENT_SECRET, "2026-11-25T15:00:00Z"))
                .send()
                .await
        ),
        pairs(&[("event.end", "end must be after start")])
    );
    let refused = app
        .add_to_calendar()
        .body(add("wrong-secret", "2026-11-25T17:00:00Z"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.api().unwrap().code.as_deref(),
        Some("invalid_client")
    );

    let sequencing: types::RealTimeSequencingRequest = typed(json!({
        "oauth": {"redirect_uri": REDIRECT},
        "event": {"event_id": "interview", "summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T14:00:00Z"}],
            "sequence": [
                {"sequence_id": "screen", "ordinal": 1, "participants": [{"members": [{"sub": ALICE}]}], "required_duration": {"minutes": 60}},
                {"sequence_id": "onsite", "ordinal": 2, "participants": [{"members": [{"sub": BOB}]}], "required_duration": {"minutes": 60}},
            ],
        },
        "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
    }));
    let link = app
        .create_real_time_sequencing()
        .body(sequencing.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_sequencing
        .unwrap();
    assert!(link.real_time_sequencing_id.starts_with("seq_"), "{link:?}");
    let mut bad = serde_json::to_value(&sequencing).unwrap();
    bad["availability"]["sequence"][1]["required_duration"] = json!({"minutes": 0});
    assert_eq!(
        fields(
            app.create_real_time_sequencing()
                .body(typed::<types::RealTimeSequencingRequest>(bad))
                .send()
                .await
        )[0]
        .0,
        "availability.sequence.1.required_duration"
    );
}

// ------------------------------------------------------------------ scheduling

#[tokio::test]
async fn real_time_scheduling_links_are_managed_with_the_client_secret() {
    let server = sandbox().start().await.unwrap();
    // No OAuth token at all: the client secret is enough.
    let (app, _) = client(&server, MemoryTokenStore::new());
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let request: types::RealTimeSchedulingRequest = typed(json!({
        "oauth": {"redirect_uri": REDIRECT},
        "event": {"event_id": "interview", "summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "participants": [{"members": [{"sub": ALICE, "calendar_ids": [calendar]}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T18:00:00Z"}],
        },
        "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
    }));
    let created = app
        .create_real_time_scheduling()
        .body(request.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert!(created.real_time_scheduling_id.starts_with("sch_"));
    let token = created.url.rsplit('/').next().unwrap().to_string();
    let by_token = app
        .get_real_time_scheduling_by_token()
        .token(&token)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(by_token.status.as_deref(), Some("open"));
    assert_eq!(
        by_token.real_time_scheduling_id,
        created.real_time_scheduling_id
    );

    let (start, end) = server
        .complete_real_time_scheduling(&created.real_time_scheduling_id)
        .unwrap();
    assert_eq!(
        (start, end),
        (utc("2026-11-25T09:00:00Z"), utc("2026-11-25T10:00:00Z"))
    );
    let done = app
        .get_real_time_scheduling()
        .real_time_scheduling_id(&created.real_time_scheduling_id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(done.status.as_deref(), Some("completed"));
    let event = done.event.unwrap();
    assert_eq!(
        event.start,
        Some(types::EventTime::UtcDateTime(start.into()))
    );
    // The event is now in Alice's calendar.
    let alice = signed_in(&server, ALICE).await;
    let events = managed_events(&alice).await;
    assert_eq!(events[0].event_id.as_deref(), Some("interview"));

    // A second link is disabled with a message.
    let second = app
        .create_real_time_scheduling()
        .body(request)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    let disabled = app
        .disable_real_time_scheduling()
        .real_time_scheduling_id(&second.real_time_scheduling_id)
        .body(types::RealTimeSchedulingDisable {
            display_message: "Let's hold off until next month.".into(),
        })
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(disabled.status.as_deref(), Some("disabled"));

    // An access token is not the client secret: the server refuses it.
    let refused = reqwest::Client::new()
        .get(format!(
            "{}/v1/real_time_scheduling/{}",
            server.base_url(),
            second.real_time_scheduling_id
        ))
        .bearer_auth(access_token(&alice).await)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}
