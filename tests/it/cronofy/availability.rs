//! Availability queries, availability rules and available periods.
use super::*;

// ------------------------------------------------------------------ operations: availability

#[tokio::test]
async fn availability_queries_use_the_client_secret_or_else_the_access_token() {
    let (server, cronofy) = mock_cronofy().await;
    let slots = Fixture::load("cronofy/availability_query_slots.json");
    let sequenced = example("query_sequenced_availability");
    let secret = Some(CLIENT_SECRET);
    expect_exchange(&server, on("POST", "/v1/availability", secret), &slots).await;
    let query_sequenced = on("POST", "/v1/sequenced_availability", secret);
    expect_exchange(&server, query_sequenced, &sequenced).await;
    // A client without the secret answers with the account's token.
    expect_exchange(
        &server,
        on("POST", "/v1/availability", Some(ACCESS)),
        &slots,
    )
    .await;

    let found = cronofy
        .query_availability()
        .body(typed::<types::AvailabilityQuery>(slots.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.available_slots.len(), 3);
    assert!(found.available_periods.is_empty());
    assert_eq!(
        found.available_slots[0].participants.len(),
        slots.body()["available_slots"][0]["participants"]
            .as_array()
            .unwrap()
            .len()
    );
    assert_keeps(&found, slots.body());
    let options = cronofy
        .query_sequenced_availability()
        .body(typed::<types::SequencedAvailabilityQuery>(
            sequenced.request_body(),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(options.sequences.len(), 2);
    assert_eq!(options.sequences[1].sequence[1].sequence_id, "456");
    assert_keeps(&options, sequenced.body());

    let waits = Waits::default();
    let account_only = Client::builder()
        .base_url(server.uri())
        .access_token(ACCESS, None)
        .sleep(waits.sleep())
        .build()
        .unwrap();
    account_only
        .query_availability()
        .body(typed::<types::AvailabilityQuery>(slots.request_body()))
        .send()
        .await
        .unwrap();
    // pycronofy's answers in both formats decode too.
    for body in [
        "cronofy/availability_response_periods_pycronofy.json",
        "cronofy/availability_response_slots_pycronofy.json",
    ] {
        let body = Fixture::load(body);
        assert_keeps(
            &typed::<types::AvailabilityResult>(body.body()),
            body.body(),
        );
    }
}

#[tokio::test]
async fn availability_rules_are_listed_upserted_read_and_deleted() {
    let (server, cronofy) = mock_cronofy().await;
    let list = example("list_availability_rules");
    let upsert = example("upsert_availability_rule");
    let get = example("get_availability_rule");
    let (rules_path, rule_path) = ("/v1/availability_rules", "/v1/availability_rules/default");
    let access = Some(ACCESS);
    on("GET", rules_path, access)
        .answer_once(list.response(), &server)
        .await;
    expect_exchange(&server, on("POST", rules_path, access), &upsert).await;
    on("GET", rule_path, access)
        .answer_once(get.response(), &server)
        .await;
    on("DELETE", rule_path, access)
        .and(wiremock::matchers::body_string(""))
        .answer_once(example("delete_availability_rule").response(), &server)
        .await;

    let rules = cronofy
        .list_availability_rules()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rules
            .availability_rules
            .iter()
            .map(|r| r.availability_rule_id.as_str())
            .collect::<Vec<_>>(),
        ["rule-1", "rule-2"]
    );
    assert_eq!(
        rules.availability_rules[1].weekly_periods[0].day,
        types::WeeklyPeriodDay::Tuesday
    );
    assert_keeps(&rules, list.body());
    let saved = cronofy
        .upsert_availability_rule()
        .body(typed::<types::AvailabilityRule>(upsert.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.availability_rule.weekly_periods.len(), 3);
    assert_keeps(&saved, upsert.body());
    let rule = cronofy
        .get_availability_rule()
        .availability_rule_id("default")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rule.availability_rule.tzid, "America/Chicago");
    assert_keeps(&rule, get.body());
    let deleted = cronofy
        .delete_availability_rule()
        .availability_rule_id("default")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
}

#[tokio::test]
async fn available_periods_are_upserted_and_deleted_one_or_all() {
    let (server, cronofy) = mock_cronofy().await;
    let upsert = example("upsert_available_period");
    let delete = example("delete_available_period");
    let (periods, access) = ("/v1/available_periods", Some(ACCESS));
    expect_exchange(&server, on("POST", periods, access), &upsert).await;
    expect_exchange(&server, on("DELETE", periods, access), &delete).await;
    let delete_all = with_json(on("DELETE", periods, access), &json!({"delete_all": true}));
    delete_all
        .answer_once(ResponseTemplate::new(202), &server)
        .await;

    let saved = cronofy
        .upsert_available_period()
        .body(typed::<types::AvailablePeriodUpsert>(upsert.request_body()))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 202);
    cronofy
        .delete_available_period()
        .body(typed::<types::AvailablePeriodDeleteRequest>(
            delete.request_body(),
        ))
        .send()
        .await
        .unwrap();
    cronofy
        .delete_available_period()
        .body(types::AvailablePeriodDeleteRequest::from(
            types::AvailablePeriodDeleteAll { delete_all: true },
        ))
        .send()
        .await
        .unwrap();
}
