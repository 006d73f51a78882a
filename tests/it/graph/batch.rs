//! JSON batching on the wire: batches of the spec's 20 with unique ids,
//! dependency groups kept whole, throttled items sent again alone, 424 as
//! a typed error, the Outlook mailbox rule, results in input order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use specbound::graph::{BatchError, BatchItem, Mailbox, prelude::*, types};
use specbound::runtime::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{Fixture, Waits, received};

/// Answers every `$batch` with `answer(round, item)` for each of its
/// items, in reverse order (Graph answers in any order); `round` counts
/// the batches answered before this one.
async fn answer_batches<F>(server: &MockServer, answer: F)
where
    F: Fn(usize, &Value) -> Value + Send + Sync + 'static,
{
    let rounds = AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(move |request: &Request| {
            let round = rounds.fetch_add(1, Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let mut responses: Vec<Value> = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| {
                    let mut r = answer(round, item);
                    r["id"] = item["id"].clone();
                    r
                })
                .collect();
            responses.reverse();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(server)
        .await;
}

/// The requests of each batch the server received, in order.
async fn sent_batches(server: &MockServer) -> Vec<Vec<Value>> {
    received(server)
        .await
        .iter()
        .map(|r| {
            assert_eq!(r.url.path(), "/v1.0/$batch");
            assert_eq!(r.headers["authorization"], "Bearer at-1");
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["requests"].as_array().unwrap().clone()
        })
        .collect()
}

fn ok(body: Value) -> Value {
    json!({"status": 200, "headers": {"Content-Type": "application/json"}, "body": body})
}

/// A `get_user` of `id`, built by its generated builder and not sent.
fn get_user(graph: &specbound::graph::Client, id: &str) -> BatchItem {
    let built = graph
        .get_user()
        .mailbox(Mailbox::user(id).unwrap())
        .build_request()
        .unwrap();
    BatchItem::from_built(built).unwrap()
}

/// The user a batch item's URL names (`/users/{id}`), as Graph would answer.
fn user_of(item: &Value) -> Value {
    let id = item["url"].as_str().unwrap().trim_start_matches("/users/");
    ok(json!({"id": id, "displayName": format!("User {id}")}))
}

#[tokio::test]
async fn forty_five_requests_go_in_batches_of_20_20_and_5_with_unique_ids_and_come_back_in_order() {
    let server = MockServer::start().await;
    answer_batches(&server, |_, item| user_of(item)).await;
    let graph = super::client(&server);
    let items = (0..45)
        .map(|i| get_user(&graph, &format!("u{i}")))
        .collect();
    let outcomes = graph.batch_all(items).await.unwrap();

    let batches = sent_batches(&server).await;
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [20, 20, 5]
    );
    let sent: Vec<&Value> = batches.iter().flatten().collect();
    let ids: Vec<&str> = sent.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let want: Vec<String> = (1..=45).map(|i| i.to_string()).collect();
    assert_eq!(ids, want);
    for (i, r) in sent.iter().enumerate() {
        assert_eq!(r["method"], "GET");
        assert_eq!(r["url"], format!("/users/u{i}"));
        assert_eq!(r["headers"], json!({"accept": "application/json"}));
        assert!(r.get("dependsOn").is_none() && r.get("body").is_none());
    }
    // Answered in reverse, returned in the order given.
    assert_eq!(outcomes.len(), 45);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!((outcome.index, outcome.id.as_str()), (i, want[i].as_str()));
        assert_eq!(outcome.status, Some(http::StatusCode::OK));
        assert_eq!(outcome.attempts, 1);
        let user: types::User = outcome.json().unwrap();
        assert_eq!(user.id.as_deref(), Some(format!("u{i}").as_str()));
    }
}

#[tokio::test]
async fn a_dependency_chain_of_three_is_kept_in_one_batch() {
    let server = MockServer::start().await;
    answer_batches(&server, |_, item| user_of(item)).await;
    let graph = super::client(&server);
    // 18 alone, a chain 18 <- 19 <- 20, then 4 alone.
    let items = (0..25)
        .map(|i| {
            let item = get_user(&graph, &format!("u{i}"));
            if i == 19 || i == 20 {
                item.depends_on(i - 1)
            } else {
                item
            }
        })
        .collect();
    let outcomes = graph.batch_all(items).await.unwrap();

    let batches = sent_batches(&server).await;
    let ids = |batch: &[Value]| -> Vec<String> {
        batch
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The chain does not fit after the first 18: it goes whole into the
    // second batch, and the next two fill the first.
    let mut first: Vec<String> = (1..=18).map(|i| i.to_string()).collect();
    first.extend(["22".to_string(), "23".to_string()]);
    assert_eq!(ids(&batches[0]), first);
    assert_eq!(ids(&batches[1]), ["19", "20", "21", "24", "25"]);
    let depends = |id: &str| {
        batches[1]
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["dependsOn"].clone())
            .unwrap()
    };
    assert_eq!(depends("19"), Value::Null);
    assert_eq!(depends("20"), json!(["19"]));
    assert_eq!(depends("21"), json!(["20"]));
    assert!(outcomes.iter().all(|o| o.is_success()));
}

#[tokio::test]
async fn a_dependency_chain_of_21_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let graph = super::client(&server);
    let items = (0..21)
        .map(|i| {
            let item = BatchItem::raw(http::Method::GET, format!("/users/u{i}"));
            if i > 0 { item.depends_on(i - 1) } else { item }
        })
        .collect();
    let err = graph.batch_all(items).await.unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    assert!(err.to_string().contains("group of 21"), "{err}");
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_throttled_item_is_sent_again_alone_after_its_retry_after_and_the_others_are_kept() {
    let server = MockServer::start().await;
    let throttled = Fixture::load("graph/error_429_throttled.json");
    let throttled_body = throttled.body().clone();
    answer_batches(&server, move |round, item| {
        if round == 0 && item["id"] == "2" {
            json!({"status": 429, "headers": {"Retry-After": "7"}, "body": throttled_body})
        } else {
            user_of(item)
        }
    })
    .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let items = ["a", "b", "c"]
        .iter()
        .map(|u| get_user(&graph, u))
        .collect();
    let outcomes = graph.batch_all(items).await.unwrap();

    let batches = sent_batches(&server).await;
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].len(), 3);
    assert_eq!(batches[1].len(), 1);
    assert_eq!(batches[1][0]["id"], "2");
    assert_eq!(batches[1][0]["url"], "/users/b");
    assert_eq!(waits.recorded(), [Duration::from_secs(7)]);
    assert_eq!(
        outcomes.iter().map(|o| o.attempts).collect::<Vec<_>>(),
        [1, 2, 1]
    );
    let names: Vec<String> = outcomes
        .iter()
        .map(|o| o.json::<types::User>().unwrap().id.unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_throttled_item_goes_again_with_the_items_that_failed_because_of_it() {
    let server = MockServer::start().await;
    answer_batches(&server, |round, item| match (round, item["id"].as_str()) {
        (0, Some("1")) => json!({"status": 429, "headers": {"Retry-After": "2.5"}}),
        (0, Some("2")) => json!({"status": 424}),
        _ => user_of(item),
    })
    .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let items = vec![
        get_user(&graph, "a"),
        get_user(&graph, "b").depends_on(0),
        get_user(&graph, "c"),
    ];
    let outcomes = graph.batch_all(items).await.unwrap();
    let batches = sent_batches(&server).await;
    assert_eq!(batches.len(), 2);
    assert_eq!(
        batches[1],
        [
            json!({"id": "1", "method": "GET", "url": "/users/a", "headers": {"accept": "application/json"}}),
            json!({"id": "2", "method": "GET", "url": "/users/b", "headers": {"accept": "application/json"}, "dependsOn": ["1"]}),
        ]
    );
    assert_eq!(waits.recorded(), [Duration::from_millis(2500)]);
    assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
}

#[tokio::test]
async fn a_failed_dependency_is_a_typed_error_and_is_not_sent_again() {
    let server = MockServer::start().await;
    answer_batches(&server, |_, item| match item["id"].as_str() {
        Some("1") => json!({
            "status": 404,
            "headers": {"Content-Type": "application/json"},
            "body": {"error": {"code": "Request_ResourceNotFound", "message": "Resource 'a' does not exist."}},
        }),
        Some("2") => json!({"status": 424, "body": {"error": {"code": "FailedDependency", "message": "dependency failed"}}}),
        _ => user_of(item),
    })
    .await;
    let graph = super::client(&server);
    let items = vec![get_user(&graph, "a"), get_user(&graph, "b").depends_on(0)];
    let outcomes = graph.batch_all(items).await.unwrap();
    assert_eq!(received(&server).await.len(), 1);
    match outcomes[1].error() {
        Some(BatchError::DependencyFailed { index, depends_on }) => {
            assert_eq!((index, depends_on), (1, vec![0]))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        outcomes[1].json::<types::User>(),
        Err(BatchError::DependencyFailed { .. })
    ));
    let err = outcomes[0].error().unwrap();
    let api = err.error().and_then(|e| e.api()).unwrap();
    assert_eq!(api.status, http::StatusCode::NOT_FOUND);
    assert_eq!(api.operation, "get_user");
    assert_eq!(api.code.as_deref(), Some("Request_ResourceNotFound"));
    assert!(err.error().unwrap().is_not_found());
}

#[tokio::test]
async fn at_most_four_outlook_requests_of_one_mailbox_go_in_one_batch() {
    let server = MockServer::start().await;
    answer_batches(&server, |_, _| ok(json!({"id": "m", "subject": "hi"}))).await;
    let graph = super::client(&server);
    let message = |mailbox: Mailbox, id: &str| {
        BatchItem::from_built(
            graph
                .get_message()
                .mailbox(mailbox)
                .message_id(id)
                .build_request()
                .unwrap(),
        )
        .unwrap()
    };
    let mut items: Vec<BatchItem> = (0..6)
        .map(|i| message(Mailbox::me(), &format!("m{i}")))
        .collect();
    items.push(message(Mailbox::user("Bob@contoso.com").unwrap(), "b0"));
    items.push(get_user(&graph, "carol"));
    let outcomes = graph.batch_all(items).await.unwrap();
    let batches = sent_batches(&server).await;
    let urls = |batch: &[Value]| -> Vec<String> {
        batch
            .iter()
            .map(|r| r["url"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        urls(&batches[0]),
        [
            "/me/messages/m0",
            "/me/messages/m1",
            "/me/messages/m2",
            "/me/messages/m3",
            "/users/Bob@contoso.com/messages/b0",
            "/users/carol",
        ]
    );
    assert_eq!(urls(&batches[1]), ["/me/messages/m4", "/me/messages/m5"]);
    // Nothing was chained to get there.
    assert!(
        batches
            .iter()
            .flatten()
            .all(|r| r.get("dependsOn").is_none())
    );
    let subjects: Vec<Option<String>> = outcomes
        .iter()
        .take(6)
        .map(|o| o.json::<types::Message>().unwrap().subject)
        .collect();
    assert_eq!(subjects, vec![Some("hi".to_string()); 6]);
}

#[tokio::test]
async fn fail_fast_keeps_a_throttled_item_as_rate_limited_with_its_wait() {
    let server = MockServer::start().await;
    let fractional = Fixture::load("graph/error_429_throttled_fractional_retry_after.json");
    let body = fractional.body().clone();
    answer_batches(&server, move |_, item| match item["id"].as_str() {
        Some("1") => json!({"status": 429, "headers": {"Retry-After": "2.128"}, "body": body}),
        _ => user_of(item),
    })
    .await;
    let waits = Waits::default();
    let graph = specbound::graph::Client::builder()
        .cloud(super::cloud(&server))
        .token(super::token("at-1", None, 3600))
        .retry(RetryPolicy::fail_fast())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let outcomes = graph
        .batch_all(vec![get_user(&graph, "a"), get_user(&graph, "b")])
        .await
        .unwrap();
    assert_eq!(received(&server).await.len(), 1);
    assert!(waits.recorded().is_empty());
    match outcomes[0].error() {
        Some(BatchError::Item { index: 0, error }) => {
            assert!(error.is_rate_limited(), "{error:?}");
            assert_eq!(error.retry_after(), Some(Duration::from_millis(2128)));
            assert_eq!(
                error.request_id(),
                Some("94fb3b52-452a-4535-a601-69e0a90e3aa2")
            );
            assert_eq!(
                error.api().and_then(|a| a.code.as_deref()),
                Some("TooManyRequests")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(outcomes[1].is_success());
}

#[tokio::test]
async fn the_documented_batch_comes_back_per_item_with_status_headers_and_typed_errors() {
    let server = MockServer::start().await;
    let fixture = Fixture::load("graph/batch_json.json");
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let graph = super::client(&server);
    let items: Vec<BatchItem> = fixture.request_body()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut item = BatchItem::raw(
                r["method"].as_str().unwrap().parse().unwrap(),
                r["url"].as_str().unwrap(),
            );
            for (k, v) in r["headers"].as_object().into_iter().flatten() {
                item = item.header(k, v.as_str().unwrap());
            }
            match r.get("body") {
                Some(body) => item.json(body.clone()),
                None => item,
            }
        })
        .collect();
    let outcomes = graph.batch_all(items).await.unwrap();

    let sent = &sent_batches(&server).await[0];
    for (ours, theirs) in sent
        .iter()
        .zip(fixture.request_body()["requests"].as_array().unwrap())
    {
        assert_eq!(ours["id"], theirs["id"]);
        assert_eq!(ours["method"], theirs["method"]);
        let url = theirs["url"].as_str().unwrap().trim_start_matches('/');
        assert_eq!(ours["url"], format!("/{url}"));
        assert_eq!(ours.get("body"), theirs.get("body"));
    }
    let statuses: Vec<u16> = outcomes
        .iter()
        .map(|o| o.status.unwrap().as_u16())
        .collect();
    assert_eq!(statuses, [200, 403, 403, 405, 200]);
    assert_eq!(outcomes[0].headers["x-ms-resource-unit"], "1");
    let users: Value = outcomes[4].json().unwrap();
    assert_eq!(users["@odata.count"], 36);
    // A 403 keeps Graph's error, its innerError reachable.
    let err = outcomes[2].error().unwrap();
    let api = err.error().and_then(|e| e.api()).unwrap();
    assert_eq!(api.code.as_deref(), Some("Authorization_RequestDenied"));
    assert_eq!(
        api.request_id.as_deref(),
        Some("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
    );
    assert_eq!(
        api.client_request_id(),
        Some("e70c5c1b-8b47-68c0-3171-3d22f5e0bd54")
    );
    assert_eq!(api.error_date(), Some("2025-02-13T10:17:06"));
    // Nothing to retry: one batch, one attempt each.
    assert!(outcomes.iter().all(|o| o.attempts == 1));
}

#[tokio::test]
async fn an_item_missing_from_the_answer_or_with_no_real_status_is_its_own_protocol_error() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(move |_: &Request| {
            seen.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
                {"id": "1", "status": 200, "body": {"id": "a"}},
                {"id": "2", "status": -7},
                {"id": "99", "status": 200},
                {"id": "1", "status": 500},
            ]}))
        })
        .mount(&server)
        .await;
    let graph = super::client(&server);
    let items = ["a", "b", "c"]
        .iter()
        .map(|u| get_user(&graph, u))
        .collect();
    let outcomes = graph.batch_all(items).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The first answer for an id counts; an unknown id is left out.
    assert_eq!(
        outcomes[0].json::<types::User>().unwrap().id.as_deref(),
        Some("a")
    );
    for (i, outcome) in outcomes.iter().enumerate().skip(1) {
        assert_eq!(outcome.status, None);
        match outcome.error() {
            Some(BatchError::Item {
                index,
                error: specbound::Error::Protocol(reason),
            }) => {
                assert_eq!(index, i);
                assert!(reason.contains(&(i + 1).to_string()), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
