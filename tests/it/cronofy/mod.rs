//! The Cronofy client on the wire: every operation of `spec/cronofy.yaml`
//! (method, path, query, credential, body and typed result), OAuth with its
//! token store, data centers, pagination, errors, local checks, batches and
//! notification signatures.
//!
//! Fixtures are recorded payloads copied from `../shared/fixtures/cronofy/`.
//! Operations with no recording use the example of that operation in
//! `spec/cronofy.yaml` (taken from Cronofy's docs or SDK test data, as the
//! spec notes beside each example), stored as
//! `tests/fixtures/cronofy/spec_examples/<operation>.json`. Hand-written JSON
//! is used only for error answers nothing documents.

pub(super) use std::path::PathBuf;
pub(super) use std::sync::atomic::{AtomicUsize, Ordering};
pub(super) use std::sync::{Arc, Mutex};
pub(super) use std::time::Duration;

pub(super) use futures::TryStreamExt;
pub(super) use futures::future::BoxFuture;
pub(super) use serde::Serialize;
pub(super) use serde_json::{Value, json};
pub(super) use specbound::cronofy::{Client, DataCenter, prelude::*, spec, types, verify_hmac};
pub(super) use specbound::runtime::token_store::{SaveOutcome, StoreLock};
pub(super) use specbound::runtime::{
    FileTokenStore, MemoryTokenStore, OAuthToken, Position, RetryPolicy, Secret, StoredToken,
    TokenStore,
};
pub(super) use specbound::{AuthErrorKind, Error};
pub(super) use wiremock::matchers::{body_json, header, method, path};
pub(super) use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

pub(super) use crate::support::{
    Answer, AnswerOnce, CutServer, Fixture, Waits, assert_auth_error, cronofy, cronofy_builder,
    received, sent_query,
};

pub(super) const ACCESS: &str = "ACCESS";
pub(super) const REFRESH: &str = "REFRESH";
pub(super) const CLIENT_ID: &str = "CLIENT_ID";
pub(super) const CLIENT_SECRET: &str = "CLIENT_SECRET";
pub(super) const REDIRECT_URI: &str = "https://example.com/cronofy/callback";
/// What the docs' `{CALLBACK_URL}` placeholder becomes (the spec's `format:
/// uri` refuses the placeholder itself before sending).
pub(super) const CALLBACK_URL: &str = "https://example.com/cronofy/notify";

// ------------------------------------------------------------------ helpers

/// Matches a request that lacks header `0`.
pub(super) struct Without(&'static str);

impl Match for Without {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key(self.0)
    }
}

/// A mock of `verb path` that never sees progenitor's `api-version` header,
/// with `Authorization: Bearer <bearer>`, or no `Authorization` at all when
/// `bearer` is `None` (the token endpoints, add_to_calendar).
pub(super) fn on(verb: &str, route: &str, bearer: Option<&str>) -> MockBuilder {
    let mock = Mock::given(method(verb))
        .and(path(route))
        .and(Without("api-version"));
    match bearer {
        Some(token) => mock.and(header("authorization", format!("Bearer {token}"))),
        None => mock.and(Without("authorization")),
    }
}

/// A mock server, and a client of it holding `ACCESS` and `REFRESH` (see
/// [`cronofy`]).
pub(super) async fn mock_cronofy() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let (client, _) = cronofy(&server);
    (server, client)
}

/// Also matches a JSON body equal to `body`.
pub(super) fn with_json(mock: MockBuilder, body: &Value) -> MockBuilder {
    mock.and(header("content-type", "application/json"))
        .and(body_json(body))
}

/// Mounts `mock` for `fixture`'s recorded exchange, called exactly once:
/// it also matches the recorded JSON request body (with the test
/// credentials for the docs' placeholders) and answers the recorded
/// response.
pub(super) async fn expect_exchange(server: &MockServer, mock: MockBuilder, fixture: &Fixture) {
    let sent = with_test_credentials(fixture.request_body());
    with_json(mock, &sent)
        .answer_once(fixture.response(), server)
        .await;
}

/// The 401 of an access token the server no longer accepts: no body (Cronofy
/// documents none), and `WWW-Authenticate` naming `invalid_token`.
pub(super) fn invalid_token() -> ResponseTemplate {
    ResponseTemplate::new(401).insert_header("www-authenticate", r#"Bearer error="invalid_token""#)
}

/// The refresh grant of a client holding `REFRESH`.
pub(super) fn refresh_grant() -> Value {
    json!({
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token", "refresh_token": REFRESH
    })
}

/// A client of the test application on `server` whose tokens are in `store`.
pub(super) fn cronofy_with_store(server: &MockServer, store: impl TokenStore + 'static) -> Client {
    let waits = Waits::default();
    cronofy_builder(server, &waits)
        .token_store(store)
        .build()
        .unwrap()
}

/// A spec example of `operation` (see the module docs).
pub(super) fn example(operation: &str) -> Fixture {
    Fixture::load(&format!("cronofy/spec_examples/{operation}.json"))
}

/// `value` with each string equal to a placeholder replaced.
pub(super) fn filled(value: &Value, pairs: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) => pairs
            .iter()
            .find(|(p, _)| p == s)
            .map_or_else(|| value.clone(), |(_, v)| json!(v)),
        Value::Array(items) => Value::Array(items.iter().map(|v| filled(v, pairs)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), filled(v, pairs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The docs' `{CLIENT_ID}`-style placeholders (credentials and URLs)
/// replaced by the test values.
pub(super) fn with_test_credentials(value: &Value) -> Value {
    filled(
        value,
        &[
            ("{CLIENT_ID}", CLIENT_ID),
            ("{CLIENT_SECRET}", CLIENT_SECRET),
            ("{REFRESH_TOKEN}", REFRESH),
            ("{REDIRECT_URI}", REDIRECT_URI),
            ("{CALLBACK_URL}", CALLBACK_URL),
        ],
    )
}

pub(super) fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"))
}

/// Asserts that `got`, serialized again, still holds every value of
/// `example`: the typed result dropped nothing the API sent. Empty arrays
/// and nulls may be left out; date-times compare as instants.
pub(super) fn assert_keeps<T: Serialize>(got: &T, example: &Value) {
    let got = serde_json::to_value(got).unwrap();
    keeps(&got, example, "$");
}

pub(super) fn keeps(got: &Value, want: &Value, at: &str) {
    match want {
        Value::Null => assert!(got.is_null(), "{at}: expected null, got {got}"),
        Value::Array(items) if items.is_empty() => assert!(
            got.is_null() || got.as_array().is_some_and(Vec::is_empty),
            "{at}: expected [], got {got}"
        ),
        Value::Array(items) => {
            let got_items = got
                .as_array()
                .unwrap_or_else(|| panic!("{at}: expected an array, got {got}"));
            assert_eq!(got_items.len(), items.len(), "{at}: length");
            for (i, (g, w)) in got_items.iter().zip(items).enumerate() {
                keeps(g, w, &format!("{at}[{i}]"));
            }
        }
        Value::Object(map) => {
            for (k, w) in map {
                keeps(got.get(k).unwrap_or(&Value::Null), w, &format!("{at}.{k}"));
            }
        }
        Value::String(w) => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            match (got.as_str(), instant(w)) {
                (Some(g), Some(wi)) => assert_eq!(instant(g), Some(wi), "{at}: {g} vs {w}"),
                _ => assert_eq!(got, want, "{at}"),
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `yyyy-mm-dd` as a date.
pub(super) fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// How many requests the server received.
pub(super) async fn request_count(server: &MockServer) -> usize {
    received(server).await.len()
}

/// The paths of every request the server received, in order.
pub(super) async fn sent_paths(server: &MockServer) -> Vec<String> {
    received(server)
        .await
        .iter()
        .map(|r| r.url.path().to_string())
        .collect()
}

/// Asserts that `result` is `Error::Invalid` for `field`.
#[track_caller]
pub(super) fn assert_invalid<T: std::fmt::Debug>(result: specbound::Result<T>, field: &str) {
    match result {
        Err(Error::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "reason: {reason}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

/// A token whose access token expires `in_secs` from now (negative: expired).
pub(super) fn token_expiring(access: &str, refresh: Option<&str>, in_secs: i64) -> OAuthToken {
    let mut token = OAuthToken::new(access, refresh.map(Secret::new), None);
    token.expires_at = Some(chrono::Utc::now() + chrono::Duration::seconds(in_secs));
    token
}

/// A token store that keeps the token in memory and logs each call.
#[derive(Clone, Debug, Default)]
pub(super) struct RecordingStore {
    token: Arc<Mutex<Option<StoredToken>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl RecordingStore {
    pub(super) fn holding(token: OAuthToken) -> Self {
        let store = Self::default();
        *store.token.lock().unwrap() = Some(StoredToken { token, version: 1 });
        store
    }

    pub(super) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub(super) fn stored(&self) -> Option<OAuthToken> {
        self.token.lock().unwrap().as_ref().map(|s| s.token.clone())
    }
}

impl TokenStore for RecordingStore {
    fn load(&self) -> BoxFuture<'_, specbound::Result<Option<StoredToken>>> {
        self.log.lock().unwrap().push("load".into());
        let token = self.token.lock().unwrap().clone();
        Box::pin(async move { Ok(token) })
    }

    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, specbound::Result<SaveOutcome>> {
        self.log.lock().unwrap().push(format!(
            "save {} {}",
            token.access_token.expose(),
            token.refresh_token.as_ref().map_or("-", |r| r.expose())
        ));
        let mut slot = self.token.lock().unwrap();
        let have = slot.as_ref().map(|s| s.version);
        let outcome = match expected {
            Some(want) if have != Some(want) => SaveOutcome::Conflict(slot.clone()),
            _ => {
                let version = have.unwrap_or(0) + 1;
                *slot = Some(StoredToken {
                    token: token.clone(),
                    version,
                });
                SaveOutcome::Saved { version }
            }
        };
        Box::pin(async move { Ok(outcome) })
    }

    fn clear(&self) -> BoxFuture<'_, specbound::Result<()>> {
        self.log.lock().unwrap().push("clear".into());
        *self.token.lock().unwrap() = None;
        Box::pin(async { Ok(()) })
    }

    fn lock(&self) -> BoxFuture<'_, specbound::Result<StoreLock>> {
        Box::pin(async { Ok(StoreLock::none()) })
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "specbound-cronofy-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

mod authorization;
mod availability;
mod batch;
mod calendars;
mod channels;
mod errors;
mod events;
mod local_refusals;
mod oauth;
mod pagination;
mod scheduling;
mod secrets;
mod smart_invites;
mod spec_tables;
mod validation;

#[cfg(feature = "sandbox")]
mod sandbox_accounts;
#[cfg(feature = "sandbox")]
mod sandbox_availability;
#[cfg(feature = "sandbox")]
mod sandbox_channels;
#[cfg(feature = "sandbox")]
mod sandbox_errors;
#[cfg(feature = "sandbox")]
mod sandbox_events;
#[cfg(feature = "sandbox")]
mod sandbox_forms;
#[cfg(feature = "sandbox")]
mod sandbox_oauth;
#[cfg(feature = "sandbox")]
mod sandbox_peers;
#[cfg(feature = "sandbox")]
mod sandbox_refusals;
#[cfg(feature = "sandbox")]
mod sandbox_scheduling;
#[cfg(feature = "sandbox")]
mod sandbox_support;
