//! The sandbox's calendars and events driven by the client: pages,
//! managed and deleted events, elevated permissions, free busy.
use super::sandbox_support::*;

/// Every event of `client`'s calendars from `from` to `to` (dates, read in
/// `Etc/UTC`), managed ones included.
async fn events_between(client: &Client, from: &str, to: &str) -> Vec<types::Event> {
    client
        .read_events()
        .tzid("Etc/UTC")
        .from(date(from))
        .to(date(to))
        .include_managed(true)
        .stream()
        .try_collect()
        .await
        .unwrap()
}

// ------------------------------------------------------------------ calendars and events

#[tokio::test]
async fn calendars_are_listed_and_created_once_per_name() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let listed = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(listed.sub.as_deref(), Some(ALICE));
    let primary = &listed.calendars[0];
    assert_eq!(
        Some(&primary.calendar_id),
        server.primary_calendar_id(ALICE).as_ref()
    );
    assert_eq!(primary.calendar_primary, Some(true));
    assert_eq!(primary.permission_level.as_deref(), Some("sandbox"));

    let profile_id = primary.profile_id.clone().unwrap();
    let new = types::CalendarCreate {
        profile_id: profile_id.clone(),
        name: "Work".into(),
        color: Some("#49BED8".into()),
    };
    let created = cronofy
        .create_calendar()
        .body(new.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .calendar;
    assert_eq!(created.calendar_name.as_deref(), Some("Work"));
    assert_eq!(created.profile_id.as_deref(), Some(profile_id.as_str()));
    assert_eq!(
        server.calendar_id(ALICE, "Work"),
        Some(created.calendar_id.clone())
    );
    let listed = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(listed.calendars.len(), 2);

    let duplicate = cronofy.create_calendar().body(new).send().await;
    let err = duplicate.expect_err("a second Work");
    let body = err.api().unwrap().body::<types::Error>().unwrap();
    assert_eq!(
        body.errors["name"][0].key.as_deref(),
        Some("errors.duplicate_calendar_name")
    );
}

#[tokio::test]
async fn a_recurring_event_reads_back_as_recurring_until_its_rules_are_removed() {
    let (_server, alice, calendar) = alice_signed_in().await;
    let mut event = event(
        "weekly-sync",
        "Weekly sync",
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:30:00Z",
    );
    event.recurrence = Some(typed(json!({
        "rules": [{"frequency": "weekly", "by_day": ["tuesday", "thursday"]}]
    })));
    upsert(&alice, &calendar, event.clone()).await;
    let read = |alice: &Client| {
        let alice = alice.clone();
        async move {
            let events = events_between(&alice, "2026-11-23", "2026-11-30").await;
            let e = events
                .into_iter()
                .find(|e| e.event_id.as_deref() == Some("weekly-sync"))
                .unwrap();
            (e.recurring, e.series_identifier.is_some())
        }
    };
    assert_eq!(read(&alice).await, (Some(true), true));

    // A bad rule is the API's 422, named by field (sent raw, past the
    // client's check).
    let mut bad = serde_json::to_value(&event).unwrap();
    bad["recurrence"] = json!({"rules": [{"frequency": "daily", "by_day": ["monday"]}]});
    assert_eq!(
        fields(
            alice
                .raw_request(
                    reqwest::Method::POST,
                    &format!("/v1/calendars/{calendar}/events"),
                )
                .operation("upsert_event")
                .json(&bad)
                .send()
                .await
        ),
        pairs(&[(
            "recurrence.rules.0.by_day",
            "by_day is only valid in a weekly rule"
        )])
    );

    event.recurrence = Some(types::EventRecurrence { rules: vec![] });
    upsert(&alice, &calendar, event.clone()).await;
    assert_eq!(read(&alice).await, (Some(false), false));
}

#[tokio::test]
async fn sixty_upserted_events_come_back_over_three_pages_of_twenty_five() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let start = utc("2026-11-24T08:00:00Z");
    for i in 0..60 {
        let s = start + chrono::Duration::minutes(30 * i);
        let e = s + chrono::Duration::minutes(30);
        let ev = event(
            &format!("e-{i:02}"),
            &format!("Event {i:02}"),
            &s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            &e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        upsert(&cronofy, &calendar, ev).await;
    }

    let before = server.requests();
    let mut events = cronofy
        .read_events()
        .from(date("2026-11-23"))
        .to(date("2026-11-30"))
        .tzid("Etc/UTC")
        .include_managed(true)
        .stream();
    let mut seen = Vec::new();
    while let Some(event) = events.try_next().await.unwrap() {
        let pages = &events.current_page().unwrap().pages;
        let n = seen.len();
        assert_eq!(pages.current as usize, n / 25 + 1, "item {n}");
        assert_eq!(pages.total, 3);
        assert_eq!(pages.next_page.is_some(), n < 50, "item {n}");
        if let Some(next) = &pages.next_page {
            assert!(next.starts_with(&format!("{}/v1/events/pages/", server.base_url())));
        }
        assert_eq!(
            event.event_id.as_deref(),
            Some(format!("e-{n:02}").as_str())
        );
        assert_eq!(event.calendar_id, calendar);
        assert_eq!(event.options.as_ref().and_then(|o| o.update), Some(true));
        seen.push(event.summary.unwrap_or_default());
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(seen[59], "Event 59");
    assert_eq!(server.requests() - before, 3);

    // Managed events are left out unless asked for.
    let unmanaged: Vec<_> = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .from(date("2026-11-23"))
        .to(date("2026-11-30"))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(unmanaged.is_empty());

    // Free busy pages the same way, on its own page route.
    let before = server.requests();
    let blocks = cronofy
        .read_free_busy()
        .tzid("Etc/UTC")
        .from(date("2026-11-23"))
        .to(date("2026-11-30"))
        .include_managed(true)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(blocks.len(), 60);
    assert_eq!(server.requests() - before, 3);
}

#[tokio::test]
async fn only_managed_and_include_deleted_show_what_was_deleted() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let external = server
        .add_event(
            &calendar,
            "Dentist",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T10:00:00Z"),
        )
        .unwrap();
    for (id, s, e) in [
        ("keep", "2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"),
        ("drop", "2026-11-25T13:00:00Z", "2026-11-25T14:00:00Z"),
    ] {
        upsert(&cronofy, &calendar, event(id, id, s, e)).await;
    }
    cronofy
        .delete_event()
        .calendar_id(&calendar)
        .body(types::EventDelete {
            event_id: "drop".to_string(),
            include_userinfo: None,
        })
        .send()
        .await
        .unwrap();

    let ids = |events: Vec<types::Event>| -> Vec<(Option<String>, bool)> {
        events
            .into_iter()
            .map(|e| (e.event_id, e.deleted.unwrap_or(false)))
            .collect()
    };
    let managed = managed_events(&cronofy).await;
    assert_eq!(ids(managed), [(Some("keep".to_string()), false)]);
    let with_deleted = managed_events_and_deleted(&cronofy).await;
    assert_eq!(
        ids(with_deleted),
        [
            (Some("keep".to_string()), false),
            (Some("drop".to_string()), true)
        ]
    );
    let everything = events_between(&cronofy, "2026-11-25", "2026-11-26").await;
    assert_eq!(everything.len(), 2);
    assert_eq!(everything[0].event_uid.as_deref(), Some(external.as_str()));
    assert_eq!(everything[0].event_id, None);

    // An external event is not deleted by event_uid without elevated permissions.
    let err = cronofy
        .delete_event()
        .calendar_id(&calendar)
        .body(types::ExternalEventDelete {
            event_uid: external.to_string(),
        })
        .send()
        .await
        .expect_err("sandbox permission level");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    // A managed event's uid is not an external uid.
    let keep_uid = managed_events(&cronofy).await[0].event_uid.clone().unwrap();
    let refused = fields(
        cronofy
            .delete_event()
            .calendar_id(&calendar)
            .body(types::ExternalEventDelete {
                event_uid: keep_uid.to_string(),
            })
            .send()
            .await,
    );
    assert_eq!(refused[0].0, "event_uid");

    // Bulk delete removes the remaining managed event only.
    cronofy
        .bulk_delete_events()
        .body(types::BulkDeleteEvents {
            delete_all: Some(true),
            calendar_ids: Vec::new(),
        })
        .send()
        .await
        .unwrap();
    let left = events_between(&cronofy, "2026-11-25", "2026-11-26").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].summary.as_deref(), Some("Dentist"));
}

#[tokio::test]
async fn elevated_permissions_let_the_application_edit_external_events() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let uid = server
        .add_event(
            &calendar,
            "Standup",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T09:15:00Z"),
        )
        .unwrap();
    let request = cronofy
        .request_elevated_permissions()
        .body(types::ElevatedPermissionsRequest {
            permissions: vec![types::CalendarPermission {
                calendar_id: calendar.clone(),
                permission_level: "unrestricted".into(),
            }],
            redirect_uri: Some(REDIRECT.into()),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let url = request.permissions_request.url.unwrap();
    let answer = browser().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(answer.headers()["location"], REDIRECT);

    let update: types::ExternalEventUpdate =
        typed(json!({"event_uid": uid, "summary": "Daily standup"}));
    upsert(&cronofy, &calendar, update).await;
    cronofy
        .change_participation_status()
        .calendar_id(&calendar)
        .event_uid(&uid)
        .body(types::ParticipationStatusChange {
            status: types::ParticipationStatusChangeStatus::Accepted,
        })
        .send()
        .await
        .unwrap();
    let events = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .from(date("2026-11-25"))
        .to(date("2026-11-26"))
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(events[0].summary.as_deref(), Some("Daily standup"));
    assert_eq!(events[0].participation_status.as_deref(), Some("accepted"));
    assert_eq!(
        events[0].options.as_ref().and_then(|o| o.delete),
        Some(true)
    );
    cronofy
        .delete_event()
        .calendar_id(&calendar)
        .body(types::ExternalEventDelete {
            event_uid: uid.to_string(),
        })
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn free_busy_shows_busy_and_tentative_blocks_and_free_ones_when_asked() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let busy = server
        .add_event(
            &calendar,
            "Busy",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T10:00:00Z"),
        )
        .unwrap();
    let maybe = server
        .add_event(
            &calendar,
            "Maybe",
            utc("2026-11-25T11:00:00Z"),
            utc("2026-11-25T12:00:00Z"),
        )
        .unwrap();
    cronofy
        .change_participation_status()
        .calendar_id(&calendar)
        .event_uid(&maybe)
        .body(types::ParticipationStatusChange {
            status: types::ParticipationStatusChangeStatus::Tentative,
        })
        .send()
        .await
        .unwrap();
    let free: types::EventUpsert = typed(json!({
        "event_id": "lunch",
        "summary": "Lunch (free)",
        "start": "2026-11-25T12:00:00Z",
        "end": "2026-11-25T13:00:00Z",
        "transparency": "transparent",
    }));
    upsert(&cronofy, &calendar, free).await;

    let blocks = cronofy
        .read_free_busy()
        .from(date("2026-11-25"))
        .to(date("2026-11-26"))
        .tzid("Europe/London")
        .include_managed(true)
        .include_ids(true)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let seen: Vec<(Option<String>, Option<String>)> = blocks
        .iter()
        .map(|b| (b.event_uid.clone(), b.free_busy_status.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(busy.clone()), Some("busy".to_string())),
            (Some(maybe), Some("tentative".to_string())),
        ]
    );
    let with_free = cronofy
        .read_free_busy()
        .tzid("Etc/UTC")
        .from(date("2026-11-25"))
        .to(date("2026-11-26"))
        .include_managed(true)
        .include_free(true)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(with_free.len(), 3);
    assert_eq!(with_free[2].free_busy_status.as_deref(), Some("free"));

    // Localized times carry the event's zone.
    let localized = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .from(date("2026-11-25"))
        .to(date("2026-11-26"))
        .localized_times(true)
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let types::EventTime::LocalizedTime(start) = &localized[0].start else {
        panic!("not localized: {:?}", localized[0].start);
    };
    assert_eq!(start.tzid, "Etc/UTC");
    assert_eq!(
        start.time,
        types::DateOrDateTime::UtcDateTime(utc("2026-11-25T09:00:00Z").into())
    );
}

#[tokio::test]
async fn delete_event_answers_the_userinfo_only_when_asked() {
    let (_server, cronofy, calendar) = alice_signed_in().await;
    for id in ["quiet", "told"] {
        let ev = event(id, id, "2026-11-25T09:00:00Z", "2026-11-25T10:00:00Z");
        upsert(&cronofy, &calendar, ev).await;
    }
    let delete = |id: &str, include_userinfo| {
        cronofy
            .delete_event()
            .calendar_id(&calendar)
            .body(types::EventDelete {
                event_id: id.into(),
                include_userinfo,
            })
            .send()
    };
    let quiet = delete("quiet", None).await.unwrap();
    assert_eq!(quiet.status(), 202);
    assert_eq!(quiet.into_inner().0, None);
    let unasked = delete("quiet", Some(false)).await.unwrap();
    assert_eq!(unasked.into_inner().0, None);

    let told = delete("told", Some(true)).await.unwrap();
    assert_eq!(told.status(), 202);
    let userinfo = told.into_inner().0.expect("the userinfo").userinfo;
    let direct = cronofy.get_userinfo().send().await.unwrap().into_inner();
    assert_eq!(userinfo, direct);
    assert_eq!(userinfo.sub, ALICE);
    assert_eq!(userinfo.email.as_deref(), Some("alice@example.com"));
    let profiles = userinfo.cronofy_data.unwrap().profiles;
    assert_eq!(profiles[0].profile_calendars[0].calendar_id, calendar);

    let deleted = managed_events_and_deleted(&cronofy).await;
    assert!(
        deleted.iter().all(|e| e.deleted == Some(true)),
        "{deleted:?}"
    );
}

#[tokio::test]
async fn attendees_are_invited_and_rejected_and_the_key_remove_is_not_read() {
    let (server, cronofy, calendar) = alice_signed_in().await;
    let access = access_token(&cronofy).await;
    let meeting = |attendees: Value| -> types::EventUpsert {
        typed(
            json!({"event_id": "m", "summary": "Meeting", "start": "2026-11-25T09:00:00Z",
            "end": "2026-11-25T10:00:00Z", "attendees": attendees}),
        )
    };
    let upsert = |body: types::EventUpsert| {
        cronofy
            .upsert_event()
            .calendar_id(&calendar)
            .body(body)
            .send()
    };
    let emails = || async {
        let events = managed_events(&cronofy).await;
        events[0]
            .attendees
            .iter()
            .map(|a| a.email.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    upsert(meeting(
        json!({"invite": [{"email": "bob@example.com"}, {"email": "carol@example.com"}]}),
    ))
    .await
    .unwrap();
    assert_eq!(emails().await, ["bob@example.com", "carol@example.com"]);
    upsert(meeting(json!({"reject": [{"email": "bob@example.com"}]})))
        .await
        .unwrap();
    assert_eq!(emails().await, ["carol@example.com"]);
    // cronofy-csharp's `remove` is no key of the docs: not read.
    let removal = json!({"event_id": "m", "summary": "Meeting", "start": "2026-11-25T09:00:00Z",
        "end": "2026-11-25T10:00:00Z", "attendees": {"remove": [{"email": "carol@example.com"}]}});
    let events = format!("/v1/calendars/{calendar}/events");
    let answer = raw(
        &server,
        reqwest::Method::POST,
        &events,
        &access,
        Some(removal),
    )
    .await;
    assert_eq!(answer.0, 202);
    assert_eq!(emails().await, ["carol@example.com"]);
}
