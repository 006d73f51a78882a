//! What a hostile or broken server can do to the response path, which every
//! request takes (generated or raw): no panic whatever the status, headers,
//! body or token answer; memory bounded on huge bodies; the status kept
//! whatever the body; deadlines and idle timeouts as documented.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt as _;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::paginate::{Page, Paginated};
use super::spec::{ApiSpec, Operation, PageStyle, Pagination};
use super::{ApiProfile, Config, Runtime, retry};
use crate::Error;

#[derive(serde::Deserialize)]
struct ItemsPage {
    items: Vec<u32>,
}

impl Page for ItemsPage {
    type Item = u32;
    fn take_items(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.items)
    }
}

const PAGED: Pagination = Pagination {
    next: &["next"],
    ..Pagination::for_tests(PageStyle::NextLink, "items")
};

static OPERATIONS: &[Operation] = &[
    Operation {
        pagination: Some(PAGED),
        ..Operation::get_for_tests("list_items", "/items")
    },
    Operation {
        pagination: Some(Pagination {
            style: PageStyle::Array,
            ..PAGED
        }),
        ..Operation::get_for_tests("list_array", "/array")
    },
];

static SPEC: ApiSpec = ApiSpec {
    request_id_header: Some("x-request-id"),
    ..ApiSpec::for_tests("hostile", OPERATIONS, &[])
};

/// The API's error body, `{"error": code, "message": text}`.
#[derive(serde::Deserialize)]
struct ApiErrorBody {
    error: String,
    message: String,
}

impl crate::ErrorBody for ApiErrorBody {
    fn code(&self) -> Option<String> {
        Some(self.error.clone())
    }
    fn message(&self) -> String {
        self.message.clone()
    }
}

static PROFILE: ApiProfile = ApiProfile {
    spec: &SPEC,
    error_body: crate::error::error_details::<ApiErrorBody>,
    formats: &[],
    check: |_, _, _| Ok(()),
    classify: retry::standard,
};

fn runtime(base: &str, config: Config) -> Runtime {
    Runtime::new(&PROFILE, base, &config).unwrap()
}

fn quick() -> Config {
    Config {
        sleep: super::Sleep::new(|_| Box::pin(async {})),
        ..Config::default()
    }
}

/// A response with `status`, `headers` and `body`, as the server sent it.
fn response(status: u16, headers: &[(String, Vec<u8>)], body: Vec<u8>) -> reqwest::Response {
    let mut r = http::Response::new(body);
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    reqwest::Response::from(r)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any error status with any headers and any body becomes a typed error
    /// with that status (429 always rate limited), a short message, no panic.
    #[test]
    fn any_error_answer_keeps_its_status_and_never_panics(
        status in 400u16..=599,
        names in proptest::collection::vec("(retry-after|x-request-id|content-type|[a-z-]{1,12})", 0..4),
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let headers: Vec<(String, Vec<u8>)> = names.into_iter().zip(values).collect();
        let rt = runtime("http://127.0.0.1:9", quick());
        let err = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
            .block_on(rt.error_answer(response(status, &headers, body), "get_thing"));
        prop_assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        prop_assert_eq!(err.is_rate_limited(), status == 429);
        prop_assert!(err.to_string().len() < 2_000, "{}", err);
    }

    /// Any `Retry-After` bytes and any status go through the retry decision.
    #[test]
    fn any_retry_after_and_status_decide_without_panicking(
        value in proptest::collection::vec(any::<u8>(), 0..40),
        status in 100u16..=999,
        attempt in 1u32..10,
    ) {
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&value) {
            h.insert(http::header::RETRY_AFTER, v);
        }
        let wait = retry::retry_after(&h);
        prop_assert!(wait.is_none_or(|w| w <= retry::MAX_RETRY_AFTER));
        let outcome = retry::Outcome::Status(http::StatusCode::from_u16(status).unwrap());
        let _ = retry::decide(&retry::RetryPolicy::standard(), attempt, retry::standard(outcome), wait, true, Duration::ZERO, 0.5);
    }

    /// Any number as `expires_in`, and any JSON, in a token answer.
    #[test]
    fn any_token_answer_is_read_or_refused_never_a_panic(
        expires in prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| if n.is_finite() { format!("{n:e}") } else { "1e999".into() }),
            "[0-9]{1,40}",
            Just("-1e308".to_string()),
        ],
        junk in "[ -~]{0,30}",
    ) {
        let body = format!(r#"{{"access_token":"a","refresh_token":"r","expires_in":{expires},"scope":"x"}}"#);
        if let Ok(token) = super::oauth::token_answer("request_token", body.as_bytes()) {
            let at = token.expires_at.unwrap();
            prop_assert!(at <= chrono::Utc::now() + chrono::Duration::days(3651));
        }
        let _ = super::oauth::token_answer("request_token", junk.as_bytes());
    }
}

#[tokio::test]
async fn a_gateways_json_error_keeps_its_status_and_429_is_rate_limited() {
    let server = MockServer::start().await;
    for (status, n) in [(502u16, 1u64), (404, 1), (429, 1)] {
        Mock::given(method("GET"))
            .and(wiremock::matchers::path(format!("/s{status}")))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("x-request-id", "req-77")
                    .set_body_json(serde_json::json!({"message": "upstream said no"})),
            )
            .expect(n..)
            .mount(&server)
            .await;
    }
    let rt = runtime(
        &server.uri(),
        Config {
            retry: retry::RetryPolicy::disabled(),
            ..quick()
        },
    );
    for status in [502u16, 404] {
        let err = rt
            .request(http::Method::GET, &format!("/s{status}"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err:?}");
        assert!(err.to_string().contains("upstream said no"), "{err}");
        assert_eq!(err.request_id(), Some("req-77"));
    }
    let err = rt
        .request(http::Method::GET, "/s429")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(err.request_id(), Some("req-77"));
}

/// A server that answers `status` with a `Content-Length` of `total` bytes
/// and writes them until the client hangs up; returns how many it wrote.
async fn huge_body_server(status: u16, total: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 4096];
        let _ = socket.read(&mut head).await;
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/html\r\ncontent-length: {total}\r\n\r\n"
        );
        if socket.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        while count.load(Ordering::SeqCst) < total {
            match socket.write_all(&chunk).await {
                Ok(()) => {
                    count.fetch_add(chunk.len(), Ordering::SeqCst);
                }
                Err(_) => return,
            }
        }
    });
    (uri, written)
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_for_its_message() {
    let total = 200 * 1024 * 1024;
    let (uri, written) = huge_body_server(500, total).await;
    let rt = runtime(
        &uri,
        Config {
            retry: retry::RetryPolicy::disabled(),
            ..quick()
        },
    );
    let err = rt
        .request(http::Method::POST, "/x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert!(err.to_string().len() < 400, "{err}");
    // Give the server a moment to see the hang-up, then count: socket
    // buffers hold a few MiB, the rest was never read.
    drop(rt);
    tokio::task::yield_now().await;
    assert!(
        written.load(Ordering::SeqCst) < 32 * 1024 * 1024,
        "{} bytes sent",
        written.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_success_body_over_the_limit_is_an_error_not_an_out_of_memory() {
    let (uri, _) = huge_body_server(200, 50 * 1024 * 1024).await;
    let rt = runtime(
        &uri,
        Config {
            retry: retry::RetryPolicy::disabled(),
            max_response_size: 1024 * 1024,
            ..quick()
        },
    );
    let err = rt
        .request(http::Method::GET, "/big")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_call_ends_at_its_deadline_whatever_the_retries() {
    // A server that reads requests and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let rt = runtime(
        &uri,
        Config {
            retry: retry::RetryPolicy::standard().max_attempts(5),
            timeout: Duration::from_secs(30),
            deadline: Some(Duration::from_millis(300)),
            ..quick()
        },
    );
    let err = rt
        .request(http::Method::GET, "/slow")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { deadline, .. } if deadline == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.is_timeout());
}

#[tokio::test]
async fn a_long_list_read_slower_than_the_timeout_does_not_fail() {
    let server = MockServer::start().await;
    // Far more than one read of the transport.
    let items: Vec<u32> = (0..400_000).collect();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&items))
        .expect(1)
        .mount(&server)
        .await;
    let rt = runtime(
        &server.uri(),
        Config {
            timeout: Duration::from_millis(200),
            ..quick()
        },
    );
    let request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{}/array", server.uri()).parse().unwrap(),
    );
    let mut stream: Paginated<Vec<u32>> =
        Paginated::start(rt, request, &OPERATIONS[1], Default::default());
    let mut got = Vec::new();
    while let Some(item) = stream.try_next().await.unwrap() {
        got.push(item);
        if got.len() == 1 {
            // The caller's own pace: a pause longer than the timeout.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert_eq!(got, items);
}

#[tokio::test]
async fn a_page_fetched_ahead_is_read_at_once_and_never_fetched_twice() {
    let server = MockServer::start().await;
    let uri = server.uri();
    // Pages large enough that a page left unread stalls in the transport.
    let padding = "p".repeat(16 * 1024 * 1024);
    for page in 0..3u32 {
        let next = (page < 2).then(|| format!("{uri}/items?page={}", page + 1));
        let template = ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"next": next, "items": [page * 2, page * 2 + 1], "padding": padding}),
        );
        let mock = Mock::given(method("GET")).and(wiremock::matchers::path("/items"));
        let mock = if page == 0 {
            mock.and(wiremock::matchers::query_param_is_missing("page"))
        } else {
            mock.and(wiremock::matchers::query_param("page", page.to_string()))
        };
        mock.respond_with(template).expect(1).mount(&server).await;
    }
    let rt = runtime(
        &uri,
        Config {
            deadline: Some(Duration::from_millis(250)),
            ..quick()
        },
    );
    let request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{uri}/items").parse().unwrap(),
    );
    let mut stream: Paginated<ItemsPage> =
        Paginated::start(rt, request, &OPERATIONS[0], Default::default()).prefetch(true);
    let mut got = Vec::new();
    while let Some(item) = stream.try_next().await.unwrap() {
        got.push(item);
        // Slower than the deadline of each page's request.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(got, [0, 1, 2, 3, 4, 5]);
    // `expect(1)` on each page: verified when the server drops.
}
