//! Shared test helpers: fixtures, a recording `Sleep`, clients on a mock server.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use specbound::runtime::Sleep;
use wiremock::{MockServer, ResponseTemplate};

/// A recorded payload from `tests/fixtures/`: either `{request, response}`,
/// a bare response `{status, headers, body}`, or a bare body.
pub(crate) struct Fixture {
    value: Value,
}

impl Fixture {
    /// Loads `tests/fixtures/<name>`.
    pub(crate) fn load(name: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Fixture {
            value: serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    fn response_part(&self) -> Option<&Value> {
        if let Some(r) = self.value.get("response") {
            return Some(r);
        }
        let bare = self.value.get("status").is_some() && self.value.get("body").is_some();
        bare.then_some(&self.value)
    }

    /// Adds `key: value` to the body's object (or to each object of a body
    /// array) where it is missing: for documentation examples that lack a key
    /// the reference server always sends.
    #[cfg(feature = "timesync")]
    pub(crate) fn fill_missing(mut self, key: &str, value: Value) -> Self {
        let body = match self.value.get_mut("response") {
            Some(r) => &mut r["body"],
            None => &mut self.value,
        };
        let objects: Vec<&mut Value> = match body {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for o in objects {
            if let Some(map) = o.as_object_mut() {
                map.entry(key).or_insert_with(|| value.clone());
            }
        }
        self
    }

    /// The response body.
    pub(crate) fn body(&self) -> &Value {
        match self.response_part() {
            Some(r) => &r["body"],
            None => &self.value,
        }
    }

    /// The recorded request's JSON body.
    pub(crate) fn request_body(&self) -> &Value {
        &self.value["request"]["body"]
    }

    /// The recorded response status (200 for bare bodies).
    pub(crate) fn status(&self) -> u16 {
        self.response_part()
            .and_then(|r| r["status"].as_u64())
            .map_or(200, |s| s as u16)
    }

    /// Replays status, headers and body. A recorded `Content-Length` is
    /// left out: the body is serialised again, and its length is the server's.
    pub(crate) fn response(&self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status());
        if let Some(headers) = self.response_part().and_then(|r| r["headers"].as_object()) {
            for (k, v) in headers {
                if k.eq_ignore_ascii_case("content-length") {
                    continue;
                }
                if let Some(v) = v.as_str() {
                    t = t.insert_header(k.as_str(), v);
                }
            }
        }
        match self.body() {
            Value::Null => t,
            body => t.set_body_raw(serde_json::to_vec(body).unwrap(), "application/json"),
        }
    }
}

/// Mounting a mock that must be matched exactly once.
pub(crate) trait AnswerOnce {
    /// Mounts the mock on `server`, answering `answer`; `server` checks when
    /// it is dropped that the mock was matched exactly once.
    async fn answer_once(self, answer: ResponseTemplate, server: &MockServer);
}

impl AnswerOnce for wiremock::MockBuilder {
    async fn answer_once(self, answer: ResponseTemplate, server: &MockServer) {
        self.respond_with(answer).expect(1).mount(server).await;
    }
}

/// Every request `server` received, in order.
pub(crate) async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap()
}

/// The query pairs of the `n`th request the server received, in order.
pub(crate) async fn sent_query(server: &MockServer, n: usize) -> Vec<(String, String)> {
    received(server).await[n]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Asserts that `err` is an `Error::Auth` of `kind`; its reason.
#[track_caller]
pub(crate) fn assert_auth_error(err: &specbound::Error, kind: specbound::AuthErrorKind) -> &str {
    match err {
        specbound::Error::Auth { kind: k, reason } if *k == kind => reason,
        other => panic!("expected an auth error of kind {kind:?}, got {other:?}"),
    }
}

/// Waits asked for by the runtime, recorded instead of slept.
#[derive(Clone, Default)]
pub(crate) struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    pub(crate) fn sleep(&self) -> Sleep {
        let waits = self.0.clone();
        Sleep::new(move |d| {
            waits.lock().unwrap().push(d);
            Box::pin(async {})
        })
    }

    /// Records each wait, then runs `passed` as if the wait had passed (a
    /// sandbox starts its rate-limit windows again).
    #[cfg(feature = "sandbox")]
    pub(crate) fn sleep_then(&self, passed: impl Fn() + Send + Sync + 'static) -> Sleep {
        let waits = self.0.clone();
        Sleep::new(move |d| {
            waits.lock().unwrap().push(d);
            passed();
            Box::pin(async {})
        })
    }

    pub(crate) fn recorded(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// A TimeSync token whose payload expires `expires_in_ms` from now. Its
/// base64 has `+`, `/` and `=` so that query encoding is exercised.
#[cfg(feature = "timesync")]
pub(crate) fn timesync_token(sub: &str, expires_in_ms: i64) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD;
    let now = chrono::Utc::now().timestamp_millis();
    let payload = format!(
        r#"{{"iss":"ts","sub":"{sub}","exp":{},"iat":{now}}}"#,
        now + expires_in_ms
    );
    format!(
        "{}.{}.Zm9v+/ba==",
        b.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#),
        b.encode(payload)
    )
}

/// A token valid for the next hour.
#[cfg(feature = "timesync")]
pub(crate) fn fresh_token() -> String {
    timesync_token("example-user", 3_600_000)
}

#[cfg(feature = "timesync")]
/// A TimeSync client on `server` (base URL `<server>/v0`) holding `token`,
/// with recorded waits and fast password hashing.
pub(crate) fn timesync_with(
    server: &MockServer,
    token: Option<&str>,
) -> (specbound::timesync::Client, Waits) {
    let waits = Waits::default();
    let mut builder = specbound::timesync::Client::builder()
        .base_url(format!("{}/v0", server.uri()))
        .sleep(waits.sleep())
        .retry(specbound::runtime::RetryPolicy::standard())
        .bcrypt_cost(4);
    if let Some(t) = token {
        builder = builder.token(t);
    }
    (builder.build().unwrap(), waits)
}

#[cfg(feature = "timesync")]
/// A TimeSync client on `server` holding [`fresh_token`].
pub(crate) fn timesync(server: &MockServer) -> (specbound::timesync::Client, Waits, String) {
    let token = fresh_token();
    let (client, waits) = timesync_with(server, Some(&token));
    (client, waits, token)
}

/// Everything traced by this test binary (DEBUG and up), captured by a global
/// subscriber installed on first use. Tests that check what is logged read it.
pub(crate) fn traces() -> String {
    use std::sync::OnceLock;
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only this function installs a subscriber");
        buffer
    });
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Cronofy client builder on `server` (API and app host) with the test
/// application's credentials (`CLIENT_ID` / `CLIENT_SECRET`) and recorded
/// waits; add a token or a token store.
#[cfg(feature = "cronofy")]
pub(crate) fn cronofy_builder(
    server: &MockServer,
    waits: &Waits,
) -> specbound::cronofy::ClientBuilder {
    specbound::cronofy::Client::builder()
        .client_id("CLIENT_ID")
        .client_secret("CLIENT_SECRET")
        .base_url(server.uri())
        .app_url(server.uri())
        .sleep(waits.sleep())
}

/// A Cronofy client on `server` holding the access token `ACCESS` (no
/// expiry, so it is used as is) and the refresh token `REFRESH`.
#[cfg(feature = "cronofy")]
pub(crate) fn cronofy(server: &MockServer) -> (specbound::cronofy::Client, Waits) {
    let waits = Waits::default();
    let client = cronofy_builder(server, &waits)
        .access_token("ACCESS", Some("REFRESH".into()))
        .build()
        .unwrap();
    (client, waits)
}

// The cut-off server serves whichever APIs' tests are built.
#[allow(dead_code)]
/// One answer of a [`CutServer`]: a full JSON body, or its first `keep`
/// bytes under a `Content-Length` of the whole, then the connection closed.
pub(crate) enum Answer {
    Whole(String),
    CutAfter(String, usize),
}

/// A server on 127.0.0.1 that answers each connection with the next
/// [`Answer`] and closes it: a body cut off midway, as a reset connection
/// leaves it, which wiremock cannot send. Records each request line.
#[allow(dead_code)]
pub(crate) struct CutServer {
    pub(crate) uri: String,
    requests: Arc<Mutex<Vec<String>>>,
}

#[allow(dead_code)]
impl CutServer {
    pub(crate) async fn start(answers: Vec<Answer>) -> Self {
        Self::start_with(|_| answers).await
    }

    /// As [`CutServer::start`], with answers that may name the server's URI.
    pub(crate) async fn start_with(answers: impl FnOnce(&str) -> Vec<Answer>) -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let answers = answers(&uri);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            for answer in answers {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                // The request head (and a small body) arrive in one read on loopback.
                let mut head = Vec::new();
                let mut buf = [0u8; 8192];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                seen.lock().unwrap().push(line);
                let (body, keep) = match &answer {
                    Answer::Whole(b) => (b.as_str(), b.len()),
                    Answer::CutAfter(b, keep) => (b.as_str(), *keep),
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    &body[..keep]
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        CutServer { uri, requests }
    }

    /// The request lines received, in order (`GET /v1/account HTTP/1.1`).
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}
