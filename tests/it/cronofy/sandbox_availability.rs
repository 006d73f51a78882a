//! The sandbox's availability: slots around events, rules and periods,
//! sequenced availability.
use super::sandbox_support::*;

/// What the sandbox answers `client`'s availability `query`.
async fn available(client: &Client, query: types::AvailabilityQuery) -> types::AvailabilityResult {
    let answer = client.query_availability().body(query).send().await;
    answer.unwrap().into_inner()
}

// ------------------------------------------------------------------ availability

#[tokio::test]
async fn availability_around_two_events_yields_the_expected_slots() {
    let (server, alice, calendar) = alice_signed_in().await;
    let review = event(
        "a",
        "Review",
        "2026-11-25T10:00:00Z",
        "2026-11-25T11:00:00Z",
    );
    upsert(&alice, &calendar, review).await;
    let lunch = event("b", "Lunch", "2026-11-25T12:30:00Z", "2026-11-25T13:00:00Z");
    upsert(&alice, &calendar, lunch).await;
    let query = |extra: Value| -> types::AvailabilityQuery {
        let mut q = json!({
            "participants": [{"members": [{"sub": ALICE}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
            "response_format": "slots",
        });
        for (k, v) in extra.as_object().unwrap() {
            q[k] = v.clone();
        }
        typed(q)
    };
    // The client sends the client secret (the spec's first scheme).
    let result = available(&alice, query(json!({}))).await;
    assert_eq!(
        slots(&result),
        pairs(&[
            ("09:00", "10:00"),
            ("11:00", "12:00"),
            ("13:00", "14:00"),
            ("14:00", "15:00"),
            ("15:00", "16:00"),
            ("16:00", "17:00")
        ])
    );
    assert_eq!(result.available_slots[0].participants[0].sub, ALICE);

    // 15-minute buffers rule out 09:00, 11:00 (too close to 12:30) and 13:00;
    // the 30-minute grid offers 13:30; three results at most.
    let buffered = available(
        &alice,
        query(json!({
            "buffer": {"before": {"minutes": 15}, "after": {"minutes": 15}},
            "start_interval": {"minutes": 30},
            "max_results": 3,
        })),
    )
    .await;
    assert_eq!(
        slots(&buffered),
        pairs(&[("13:30", "14:30"), ("14:30", "15:30"), ("15:30", "16:30")])
    );

    // Periods: the free stretches of at least an hour.
    let periods = available(&alice, query(json!({"response_format": "periods"}))).await;
    let stretches: Vec<(String, String)> = periods
        .available_periods
        .iter()
        .map(|p| {
            (
                p.start.0.format("%H:%M").to_string(),
                p.end.0.format("%H:%M").to_string(),
            )
        })
        .collect();
    assert_eq!(
        stretches,
        pairs(&[("09:00", "10:00"), ("11:00", "12:30"), ("13:00", "17:00")])
    );

    // Two people, both required: Bob is away in the afternoon.
    let bob_calendar = server.primary_calendar_id(BOB).unwrap();
    server
        .add_event(
            &bob_calendar,
            "Away",
            utc("2026-11-25T13:00:00Z"),
            utc("2026-11-25T17:00:00Z"),
        )
        .unwrap();
    let both = available(
        &alice,
        query(json!({"participants": [{"members": [{"sub": ALICE}, {"sub": BOB}], "required": "all"}]})),
    )
    .await;
    assert_eq!(
        slots(&both),
        pairs(&[("09:00", "10:00"), ("11:00", "12:00")])
    );
    let one_of = available(
        &alice,
        query(
            json!({"participants": [{"members": [{"sub": ALICE}, {"sub": BOB}], "required": 1}]}),
        ),
    )
    .await;
    assert_eq!(one_of.available_slots.len(), 8);
    let subs: Vec<&str> = one_of.available_slots[1]
        .participants
        .iter()
        .map(|p| p.sub.as_str())
        .collect();
    assert_eq!(subs, [BOB], "10:00-11:00 is Bob's alone");
}

#[tokio::test]
async fn availability_rules_and_available_periods_shape_managed_availability() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    // 2026-11-25 is a Wednesday.
    let rule: types::AvailabilityRule = typed(json!({
        "availability_rule_id": "work-hours",
        "tzid": "Europe/Paris",
        "weekly_periods": [{"day": "wednesday", "start_time": "10:00", "end_time": "12:00"}],
    }));
    let saved = alice
        .upsert_availability_rule()
        .body(rule.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.availability_rule, rule);
    let listed = alice
        .list_availability_rules()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.availability_rules, std::slice::from_ref(&rule));
    let one = alice
        .get_availability_rule()
        .availability_rule_id("work-hours")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.availability_rule, rule);

    let query: types::AvailabilityQuery = typed(json!({
        "participants": [{"members": [{"sub": ALICE, "managed_availability": true}]}],
        "required_duration": {"minutes": 60},
        "query_periods": [{"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}],
        "response_format": "slots",
    }));
    let result = available(&alice, query.clone()).await;
    // 10:00-12:00 in Paris is 09:00-11:00 UTC.
    assert_eq!(
        slots(&result),
        pairs(&[("09:00", "10:00"), ("10:00", "11:00")])
    );

    // An available period adds to the rule.
    let add_period = |id: &str, start: &str, end: &str| {
        let period: types::AvailablePeriodUpsert =
            typed(json!({"available_period_id": id, "start": start, "end": end}));
        alice.upsert_available_period().body(period).send()
    };
    add_period("evening", "2026-11-25T18:00:00Z", "2026-11-25T19:00:00Z")
        .await
        .unwrap();
    let listed = alice
        .list_available_periods()
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].available_period_id, "evening");
    // Thirty more in December make two pages.
    for day in 1..=30 {
        add_period(
            &format!("dec-{day:02}"),
            &format!("2026-12-{day:02}T09:00:00Z"),
            &format!("2026-12-{day:02}T10:00:00Z"),
        )
        .await
        .unwrap();
    }
    let mut pages = alice
        .list_available_periods()
        .from(date("2026-12-01"))
        .stream();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.available_period_id, "dec-01");
    assert_eq!(
        pages
            .current_page()
            .map(|p| (p.pages.current, p.pages.total)),
        Some((1, 2))
    );
    let rest = pages.try_collect::<Vec<_>>().await.unwrap();
    assert_eq!(rest.len(), 29);
    alice
        .delete_available_period()
        .body(types::AvailablePeriodDeleteOne {
            available_period_id: "dec-01".into(),
        })
        .send()
        .await
        .unwrap();
    let left = alice
        .list_available_periods()
        .from(date("2026-12-01"))
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(left.len(), 29);
    let result = available(&alice, query.clone()).await;
    assert_eq!(result.available_slots.len(), 3);

    alice
        .delete_available_period()
        .body(types::AvailablePeriodDeleteAll { delete_all: true })
        .send()
        .await
        .unwrap();
    alice
        .delete_availability_rule()
        .availability_rule_id("work-hours")
        .send()
        .await
        .unwrap();
    let err = alice
        .get_availability_rule()
        .availability_rule_id("work-hours")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    // Without rules or periods the member is not restricted.
    let result = available(&alice, query).await;
    assert_eq!(result.available_slots.len(), 24);
}

#[tokio::test]
async fn sequenced_availability_chains_one_slot_per_step() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    let bob_calendar = server.primary_calendar_id(BOB).unwrap();
    server
        .add_event(
            &bob_calendar,
            "Busy",
            utc("2026-11-25T10:00:00Z"),
            utc("2026-11-25T12:00:00Z"),
        )
        .unwrap();
    let query: types::SequencedAvailabilityQuery = typed(json!({
        "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T14:00:00Z"}],
        "sequence": [
            {"sequence_id": "screen", "ordinal": 1, "participants": [{"members": [{"sub": ALICE}]}], "required_duration": {"minutes": 60}},
            {"sequence_id": "onsite", "ordinal": 2, "participants": [{"members": [{"sub": BOB}]}], "required_duration": {"minutes": 60}},
        ],
    }));
    let result = alice
        .query_sequenced_availability()
        .body(query)
        .send()
        .await
        .unwrap()
        .into_inner();
    let first: Vec<(String, String)> = result.sequences[0]
        .sequence
        .iter()
        .map(|s| (s.sequence_id.clone(), s.start.0.format("%H:%M").to_string()))
        .collect();
    assert_eq!(first, pairs(&[("screen", "09:00"), ("onsite", "12:00")]));
    assert_eq!(result.sequences.len(), 4);
}
