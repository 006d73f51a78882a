//! Batches: the documented request, the helpers, splitting by the spec's
//! limit, and the coverage of every operation of the spec.
use super::*;

// ------------------------------------------------------------------ operations: batch

#[tokio::test]
async fn batch_sends_the_documented_request_and_reads_the_207_per_entry() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = Fixture::load("cronofy/batch.json");
    with_json(
        on("POST", "/v1/batch", Some(ACCESS)),
        fixture.request_body(),
    )
    .respond_with(fixture.response())
    .expect(2)
    .mount(&server)
    .await;
    let request: types::BatchRequest = typed(fixture.request_body());

    // The generated operation, and send_batch with the same entries (the
    // documented upsert lacks a summary, which send_batch's helpers would
    // refuse; the server's 422 entry says so).
    let answer = cronofy.batch().body(request.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 207);
    assert_keeps(&answer.into_inner(), fixture.body());
    let results = cronofy.send_batch(request.batch).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.status).collect::<Vec<_>>(),
        [202, 422]
    );
    let errors = &results[1].data.as_ref().unwrap().errors["summary"];
    assert_eq!(errors[0].key.as_deref(), Some("errors.required"));
    assert_eq!(
        errors[0].description.as_deref(),
        Some("summary must be specified")
    );
}

#[tokio::test]
async fn batch_entries_built_by_the_helpers_are_pycronofys_batch() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = Fixture::load("cronofy/batch_all_success_pycronofy.json");
    expect_exchange(&server, on("POST", "/v1/batch", Some(ACCESS)), &fixture).await;
    let upsert = &fixture.request_body()["batch"][2]["data"];
    let entries = vec![
        types::BatchEntry::delete_event("cal_123", "example_event_id").unwrap(),
        types::BatchEntry::delete_external_event("cal_123", "external_event_id").unwrap(),
        types::BatchEntry::upsert_event("cal_123", &typed(upsert)).unwrap(),
    ];
    let results = cronofy.send_batch(entries).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.status).collect::<Vec<_>>(),
        [202, 202, 202]
    );
    assert!(results.iter().all(|r| r.data.is_none()));
}

#[tokio::test]
async fn a_batch_of_120_entries_goes_out_as_50_50_and_20_with_results_in_input_order() {
    let (server, cronofy) = mock_cronofy().await;
    // Answers each entry in the shape of batch.json: 202, or 422 with the
    // event id as the error description for every 7th.
    on("POST", "/v1/batch", Some(ACCESS))
        .and(header("content-type", "application/json"))
        .respond_with(|request: &Request| {
            let body: Value = request.body_json().unwrap();
            let answers: Vec<Value> = body["batch"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| {
                    let id = entry["data"]["event_id"].as_str().unwrap();
                    let n: usize = id.trim_start_matches("evt-").parse().unwrap();
                    if n.is_multiple_of(7) {
                        json!({"status": 422, "data": {"errors": {"event_id": [
                            {"key": "errors.test", "description": id}
                        ]}}})
                    } else {
                        json!({"status": 202})
                    }
                })
                .collect();
            ResponseTemplate::new(207).set_body_json(json!({ "batch": answers }))
        })
        .expect(3)
        .mount(&server)
        .await;
    let entries: Vec<_> = (0..120)
        .map(|i| types::BatchEntry::delete_event("cal_1", &format!("evt-{i}")).unwrap())
        .collect();

    let results = cronofy.send_batch(entries).await.unwrap();

    let requests = received(&server).await;
    let sent: Vec<Vec<String>> = requests
        .iter()
        .map(|r| {
            let body: Value = r.body_json().unwrap();
            body["batch"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    assert_eq!(e["method"], "DELETE");
                    assert_eq!(e["relative_url"], "/v1/calendars/cal_1/events");
                    e["data"]["event_id"].as_str().unwrap().to_string()
                })
                .collect()
        })
        .collect();
    assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    assert_eq!(
        sent.concat(),
        (0..120).map(|i| format!("evt-{i}")).collect::<Vec<_>>(),
        "entries in order"
    );
    assert_eq!(results.len(), 120);
    for (i, result) in results.iter().enumerate() {
        if i.is_multiple_of(7) {
            assert_eq!(result.status, 422, "entry {i}");
            let errors = &result.data.as_ref().unwrap().errors["event_id"];
            assert_eq!(
                errors[0].description.as_deref(),
                Some(format!("evt-{i}").as_str())
            );
        } else {
            assert_eq!(
                (result.status, result.data.is_none()),
                (202, true),
                "entry {i}"
            );
        }
    }
}

#[tokio::test]
async fn a_batch_answer_with_the_wrong_number_of_results_is_a_protocol_error() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = Fixture::load("cronofy/batch.json");
    on("POST", "/v1/batch", Some(ACCESS))
        .answer_once(fixture.response(), &server)
        .await;
    let entries: Vec<_> = (0..3)
        .map(|i| types::BatchEntry::delete_event("cal_1", &format!("evt-{i}")).unwrap())
        .collect();
    let err = cronofy.send_batch(entries).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
}

#[test]
fn every_operation_of_the_spec_has_a_stored_example() {
    // That every operation is sent by some test is checked from the requests
    // the tests really send (`cargo xtask coverage`, SPECBOUND_OPERATION_LOG).
    assert_eq!(spec::API.operations.len(), 51);
    // Every operation has a stored spec example (tests/fixtures/cronofy/spec_examples).
    for op in spec::API.operations {
        let fixture = example(op.id);
        assert!(
            fixture.status() >= 200 && fixture.status() < 300,
            "{}",
            op.id
        );
    }
}
