//! Throttling on the wire: Retry-After in every form Graph sends, backoff
//! without it, the wait budget and fail-fast, Outlook's limits kept by the
//! client, and what an error carries (x-ms-throttle-*, innerError).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use specbound::graph::{ClientBuilder, Mailbox, outlook_limits, prelude::*, types};
use specbound::runtime::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{Fixture, Waits, received};

/// A signed-in client of `server` as `tune` makes it, with recorded waits.
fn client(
    server: &MockServer,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (specbound::graph::Client, Waits) {
    let waits = Waits::default();
    let builder = specbound::graph::Client::builder()
        .cloud(super::cloud(server))
        .token(super::token("at-1", None, 3600))
        .sleep(waits.sleep());
    (tune(builder).build().unwrap(), waits)
}

/// `/v1.0/users/a` answers `first` once, then the user.
async fn first_then_user(server: &MockServer, first: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v1.0/users/a"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "a"})))
        .mount(server)
        .await;
}

async fn get_a(graph: &specbound::graph::Client) -> specbound::Result<types::User> {
    let a = Mailbox::user("a")?;
    Ok(graph.get_user().mailbox(a).send().await?.into_inner())
}

#[tokio::test]
async fn retry_after_in_seconds_decimals_and_http_dates_is_waited_as_said() {
    let in_30s = (chrono::Utc::now() + chrono::Duration::seconds(30))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let cases = [
        (
            Fixture::load("graph/error_429_throttled.json").response(),
            10_000,
            10_000,
        ),
        (
            Fixture::load("graph/error_429_throttled_fractional_retry_after.json").response(),
            2_128,
            2_128,
        ),
        (
            Fixture::load("graph/error_429_throttled.json")
                .response()
                .insert_header("Retry-After", in_30s.as_str()),
            28_000,
            30_000,
        ),
        // A 503 of a GET with Retry-After is waited as said too.
        (
            ResponseTemplate::new(503).insert_header("Retry-After", "3"),
            3_000,
            3_000,
        ),
    ];
    for (first, low_ms, high_ms) in cases {
        let server = MockServer::start().await;
        first_then_user(&server, first).await;
        let (graph, waits) = client(&server, |b| b);
        assert_eq!(get_a(&graph).await.unwrap().id.as_deref(), Some("a"));
        let waited = waits.recorded();
        assert_eq!(waited.len(), 1);
        let ms = waited[0].as_millis();
        assert!(
            (low_ms..=high_ms).contains(&ms),
            "{ms} ms, not {low_ms}..={high_ms}"
        );
        let sent = received(&server).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].url, sent[1].url);
    }
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off() {
    let server = MockServer::start().await;
    first_then_user(&server, ResponseTemplate::new(429)).await;
    let (graph, waits) = client(&server, |b| b);
    get_a(&graph).await.unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1);
    // The standard policy: 250 ms with equal jitter.
    assert!(
        (Duration::from_millis(125)..=Duration::from_millis(250)).contains(&waited[0]),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_spent_wait_budget_ends_the_call_with_rate_limited_and_what_graph_said() {
    let server = MockServer::start().await;
    first_then_user(
        &server,
        Fixture::load("graph/error_429_throttled.json").response(),
    )
    .await;
    let (graph, waits) = client(&server, |b| {
        b.retry(RetryPolicy::standard().max_wait(Duration::from_secs(5)))
    });
    let err = get_a(&graph).await.unwrap_err();
    match &err {
        specbound::Error::RateLimited {
            retry_after,
            code,
            request_id,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(10)));
            assert_eq!(code.as_deref(), Some("TooManyRequests"));
            // No request-id header: the body's innerError says it.
            assert_eq!(
                request_id.as_deref(),
                Some("94fb3b52-452a-4535-a601-69e0a90e3aa2")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.error_date(), Some("2020-08-18T12:51:51"));
    // The message keeps the diagnostics Graph support asks for.
    assert_eq!(
        err.api().unwrap().message,
        "Please retry again later. (date 2020-08-18T12:51:51)"
    );
    assert!(waits.recorded().is_empty());
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn fail_fast_returns_the_wait_without_sleeping() {
    for (first, want) in [
        (
            Fixture::load("graph/error_429_throttled_fractional_retry_after.json").response(),
            Some(Duration::from_millis(2128)),
        ),
        // Without Retry-After: the backoff it would have slept.
        (ResponseTemplate::new(429), None),
    ] {
        let server = MockServer::start().await;
        first_then_user(&server, first).await;
        let (graph, waits) = client(&server, |b| b.retry(RetryPolicy::fail_fast()));
        let err = get_a(&graph).await.unwrap_err();
        assert!(err.is_rate_limited(), "{err:?}");
        let wait = err.retry_after().unwrap();
        match want {
            Some(w) => assert_eq!(wait, w),
            None => assert!(
                (Duration::from_millis(125)..=Duration::from_millis(250)).contains(&wait),
                "{wait:?}"
            ),
        }
        assert!(waits.recorded().is_empty());
        assert_eq!(received(&server).await.len(), 1);
    }
}

/// Answers after `delay`, recording when each request arrived.
struct Slow {
    delay: Duration,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Slow {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200)
            .set_body_json(json!({"value": []}))
            .set_delay(self.delay)
    }
}

/// The most requests that were at the server at once: a request is there
/// from its arrival until `delay` later, when its answer leaves.
fn most_in_flight(arrivals: &[Instant], delay: Duration) -> usize {
    arrivals
        .iter()
        .map(|&t| {
            arrivals
                .iter()
                .filter(|&&a| a <= t && t.duration_since(a) < delay)
                .count()
        })
        .max()
        .unwrap_or(0)
}

async fn five_at_once(keep_outlook_limits: bool) -> usize {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(500);
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages"))
        .respond_with(Slow {
            delay,
            arrivals: arrivals.clone(),
        })
        .expect(5)
        .mount(&server)
        .await;
    let (graph, _) = client(&server, |b| b.outlook_limits(keep_outlook_limits));
    let calls = (0..5).map(|_| graph.list_messages().mailbox(Mailbox::me()).send());
    for answer in futures::future::join_all(calls).await {
        answer.unwrap();
    }
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 5);
    most_in_flight(&arrivals, delay)
}

#[tokio::test]
async fn five_concurrent_calls_to_one_mailbox_never_have_more_than_four_in_flight() {
    let most = five_at_once(true).await;
    assert!(most <= 4, "{most} in flight");
    // Without the limits all five are there at once: the count can fail.
    assert_eq!(five_at_once(false).await, 5);
}

#[tokio::test]
async fn a_busy_mailbox_waits_for_its_window_before_graph_throttles_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/b/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let window = Duration::from_secs(600);
    let (graph, waits) = client(&server, |b| {
        b.keyed_limits(outlook_limits().requests_per(2, window))
    });
    for _ in 0..2 {
        graph
            .list_messages()
            .mailbox(Mailbox::me())
            .send()
            .await
            .unwrap();
    }
    assert!(waits.recorded().is_empty());
    // Another mailbox has its own window.
    let b = Mailbox::user("b").unwrap();
    graph.list_messages().mailbox(b).send().await.unwrap();
    assert!(waits.recorded().is_empty());
    // The third to `me` would pass 2 in 10 minutes: over the wait budget
    // (60 s), the call ends before sending, with the wait.
    let err = graph
        .list_messages()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap_err();
    match &err {
        specbound::Error::RateLimited {
            retry_after: Some(wait),
            code,
            answer: None,
            ..
        } => {
            assert!(
                *wait > window - Duration::from_secs(5) && *wait <= window,
                "{wait:?}"
            );
            assert_eq!(code.as_deref(), Some("client_window"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(received(&server).await.len(), 3);
    // With a budget that allows it, the call waits (recorded) and goes.
    let (graph, waits) = client(&server, |b| {
        b.keyed_limits(outlook_limits().requests_per(2, Duration::from_secs(30)))
    });
    for _ in 0..3 {
        graph
            .list_messages()
            .mailbox(Mailbox::me())
            .send()
            .await
            .unwrap();
    }
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1);
    assert!(waited[0] > Duration::from_secs(25), "{waited:?}");
    assert_eq!(received(&server).await.len(), 6);
}

#[tokio::test]
async fn uploads_to_one_mailbox_past_the_byte_budget_wait() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/me/messages"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "m1"})))
        .mount(&server)
        .await;
    let (graph, waits) = client(&server, |b| {
        b.keyed_limits(outlook_limits().upload_bytes_per(100, Duration::from_secs(40)))
    });
    let draft = types::MessageInput {
        subject: Some("x".repeat(60)),
        ..Default::default()
    };
    for _ in 0..2 {
        let sent = graph
            .create_message()
            .mailbox(Mailbox::me())
            .body(draft.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(sent.into_inner().id, "m1");
    }
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "the second upload passes 100 bytes");
    assert!(waited[0] > Duration::from_secs(35), "{waited:?}");
}

#[tokio::test]
async fn x_ms_throttle_headers_are_reachable_on_the_error() {
    let server = MockServer::start().await;
    let scope = "Tenant_Application/ReadWrite/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b";
    first_then_user(
        &server,
        Fixture::load("graph/error_429_throttled.json")
            .response()
            .insert_header("x-ms-throttle-scope", scope)
            .insert_header("x-ms-throttle-information", "ResourceUnitLimitExceeded")
            .insert_header("x-ms-throttle-limit-percentage", "1.2")
            .insert_header("request-id", "from-the-header"),
    )
    .await;
    let (graph, _) = client(&server, |b| b.retry(RetryPolicy::disabled()));
    let err = get_a(&graph).await.unwrap_err();
    let throttle = err.throttle().unwrap();
    assert_eq!(throttle.scope.as_deref(), Some(scope));
    assert_eq!(
        throttle.information.as_deref(),
        Some("ResourceUnitLimitExceeded")
    );
    assert_eq!(throttle.limit_percentage, Some(1.2));
    // The header's request id wins over the body's.
    assert_eq!(err.request_id(), Some("from-the-header"));
    assert_eq!(
        err.api().unwrap().header("x-ms-throttle-information"),
        Some("ResourceUnitLimitExceeded")
    );
}

#[tokio::test]
async fn an_errors_inner_error_fields_are_reachable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/a"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": "Request_ResourceNotFound",
            "message": "Resource 'a' does not exist.",
            "innerError": {
                "date": "2025-02-13T10:17:05",
                "request-id": "93b6f17e-c05d-4f45-ad2a-6665c708d8a0",
                "client-request-id": "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"
            }
        }})))
        .mount(&server)
        .await;
    let (graph, _) = client(&server, |b| b);
    let err = get_a(&graph).await.unwrap_err();
    assert!(err.is_not_found());
    let api = err.api().unwrap();
    assert_eq!(api.code.as_deref(), Some("Request_ResourceNotFound"));
    assert_eq!(
        api.request_id.as_deref(),
        Some("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
    );
    assert_eq!(
        err.client_request_id(),
        Some("e70c5c1b-8b47-68c0-3171-3d22f5e0bd54")
    );
    assert_eq!(err.error_date(), Some("2025-02-13T10:17:05"));
    assert_eq!(
        err.inner_error().and_then(|i| i.request_id.as_deref()),
        Some("93b6f17e-c05d-4f45-ad2a-6665c708d8a0")
    );
    let text = err.to_string();
    assert!(text.contains("Resource 'a' does not exist."), "{text}");
    assert!(
        text.contains("[request id 93b6f17e-c05d-4f45-ad2a-6665c708d8a0]"),
        "{text}"
    );
    assert!(text.contains("date 2025-02-13T10:17:05"), "{text}");
    assert_eq!(err.throttle(), None);
}
