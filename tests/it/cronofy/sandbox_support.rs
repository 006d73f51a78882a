//! Helpers of the sandbox tests: the Cronofy sandbox driven by the real client over real HTTP: OAuth with a
//! file token store, rotation and revocation, calendars, events over pages,
//! free busy, channels, availability, real-time scheduling and sequencing,
//! smart invites, bookable events, add to calendar, batches, typed
//! 422s and rate limits.

pub(super) use std::path::PathBuf;
pub(super) use std::sync::{Arc, Mutex};
pub(super) use std::time::Duration;

pub(super) use chrono::{DateTime, Utc};
pub(super) use futures::TryStreamExt;
pub(super) use serde_json::{Value, json};
pub(super) use specbound::cronofy::{Client, prelude::*, types, verify_hmac};
pub(super) use specbound::runtime::{
    FileTokenStore, MemoryTokenStore, OAuthToken, RetryPolicy, Secret, Sleep, TokenStore,
};
pub(super) use specbound::sandbox::cronofy::{Cronofy, CronofyBuilder};
pub(super) use specbound::{AuthErrorKind, Error};
pub(super) use wiremock::matchers::{method, path};
pub(super) use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub(super) use super::pairs;
pub(super) use crate::support::{Waits, assert_auth_error};

pub(super) const ALICE: &str = "acc_5ba21743f408617d1269ea1e";
pub(super) const BOB: &str = "acc_64b17d868090ea21640c914c";
pub(super) const CLIENT_ID: &str = "client-id";
pub(super) const CLIENT_SECRET: &str = "client-secret";
pub(super) const REDIRECT: &str = "https://example.com/callback";

// ------------------------------------------------------------------ helpers

/// The registered application with Alice (and Bob) seeded.
pub(super) fn sandbox() -> CronofyBuilder {
    Cronofy::builder()
        .client(CLIENT_ID, CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .account(ALICE, "alice@example.com")
        .account(BOB, "bob@example.com")
        .page_size(25)
}

/// A client builder of the application on `server` (API and app hosts).
pub(super) fn app_builder(server: &Cronofy) -> specbound::cronofy::ClientBuilder {
    Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .base_url(server.base_url())
        .app_url(server.app_url())
}

/// A client of the application on `server`, with recorded waits.
pub(super) fn client(server: &Cronofy, store: impl TokenStore + 'static) -> (Client, Waits) {
    let waits = Waits::default();
    let client = app_builder(server)
        .token_store(store)
        .sleep(waits.sleep())
        .build()
        .unwrap();
    (client, waits)
}

/// Exchanges a code `account` granted (issued by `server`) for the tokens
/// `client` then holds.
pub(super) async fn sign_in(server: &Cronofy, client: &Client, account: &str) -> OAuthToken {
    let code = server.issue_code(account, REDIRECT);
    client
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap()
}

/// A client holding the tokens of a code `account` granted.
pub(super) async fn signed_in(server: &Cronofy, account: &str) -> Client {
    let (client, _) = client(server, MemoryTokenStore::new());
    sign_in(server, &client, account).await;
    client
}

/// A started sandbox, a client signed in as Alice, and her primary calendar.
pub(super) async fn alice_signed_in() -> (Cronofy, Client, String) {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    (server, alice, calendar)
}

/// The access token `client` holds.
pub(super) async fn access_token(client: &Client) -> String {
    let token = client.token().await.unwrap().unwrap();
    token.access_token.expose().to_string()
}

/// The refresh token `client` holds.
pub(super) async fn refresh_token(client: &Client) -> Secret {
    client
        .token()
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap()
}

/// Upserts `event` into `calendar`; the sandbox must accept it.
pub(super) async fn upsert(
    client: &Client,
    calendar: &str,
    event: impl Into<types::EventUpsertRequest>,
) {
    client
        .upsert_event()
        .calendar_id(calendar)
        .body(event.into())
        .send()
        .await
        .unwrap();
}

/// Every managed event of `client`'s calendars (read in `Etc/UTC`).
pub(super) async fn managed_events(client: &Client) -> Vec<types::Event> {
    client
        .read_events()
        .tzid("Etc/UTC")
        .only_managed(true)
        .stream()
        .try_collect()
        .await
        .unwrap()
}

/// Every managed event of `client`'s calendars, deleted ones included.
pub(super) async fn managed_events_and_deleted(client: &Client) -> Vec<types::Event> {
    client
        .read_events()
        .tzid("Etc/UTC")
        .only_managed(true)
        .include_deleted(true)
        .stream()
        .try_collect()
        .await
        .unwrap()
}

/// An HTTP client that does not follow redirects, to see where a page sends
/// the browser.
pub(super) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The status of `answer` and its JSON body (`null` when there is none).
pub(super) async fn status_and_json(answer: reqwest::Response) -> (u16, Value) {
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// Sends `method path` with `bearer` and a JSON `body` (if any); the status
/// and the JSON answer (`null` when there is none).
pub(super) async fn raw(
    server: &Cronofy,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.unwrap()).await
}

/// The first error that a 422 answer (status and JSON body, as [`raw`]
/// gives them) has for `field`, read as the typed `Error`.
#[track_caller]
pub(super) fn first_error(answer: (u16, Value), field: &str) -> types::FieldError {
    let (status, body) = answer;
    assert_eq!(status, 422, "{body}");
    let body: types::Error = typed(body);
    body.errors[field][0].clone()
}

/// A temporary directory, removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "specbound-cronofy-sandbox-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `yyyy-mm-dd` as a date.
pub(super) fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) fn event(id: &str, summary: &str, start: &str, end: &str) -> types::EventUpsert {
    serde_json::from_value(json!({
        "event_id": id,
        "summary": summary,
        "start": start,
        "end": end,
    }))
    .unwrap()
}

pub(super) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// The per-field errors of a refused call, as `(field, message)`.
#[track_caller]
pub(super) fn fields<T: std::fmt::Debug>(result: specbound::Result<T>) -> Vec<(String, String)> {
    let err = result.expect_err("the sandbox should refuse this call");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"));
    assert_eq!(api.status.as_u16(), 422, "{err:?}");
    api.fields
        .iter()
        .map(|f| (f.field.clone(), f.message.clone()))
        .collect()
}

pub(super) fn slots(result: &types::AvailabilityResult) -> Vec<(String, String)> {
    result
        .available_slots
        .iter()
        .map(|s| {
            (
                s.start.0.format("%H:%M").to_string(),
                s.end.0.format("%H:%M").to_string(),
            )
        })
        .collect()
}

/// A callback receiver for push notifications: every POST to
/// `/hooks/cronofy` is answered 200 and handed to the test, which waits
/// for it on a channel (never by sleeping).
pub(super) struct Hooks {
    server: MockServer,
    received: tokio::sync::mpsc::UnboundedReceiver<wiremock::Request>,
}

/// Answers 200 and passes the request on.
struct Forward(tokio::sync::mpsc::UnboundedSender<wiremock::Request>);

impl Respond for Forward {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let _ = self.0.send(request.clone());
        ResponseTemplate::new(200)
    }
}

impl Hooks {
    pub(super) async fn start() -> Self {
        let server = MockServer::start().await;
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        Mock::given(method("POST"))
            .and(path("/hooks/cronofy"))
            .respond_with(Forward(tx))
            .mount(&server)
            .await;
        Hooks { server, received }
    }

    /// The callback URL to give a channel.
    pub(super) fn url(&self) -> String {
        format!("{}/hooks/cronofy", self.server.uri())
    }

    /// The body of the next notification received, as its typed form.
    pub(super) async fn next_notification(&mut self) -> types::PushNotification {
        serde_json::from_slice(&self.next().await.body).unwrap()
    }

    /// The next notification received, waiting at most ten seconds.
    pub(super) async fn next(&mut self) -> wiremock::Request {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("no notification within ten seconds")
            .expect("the receiver stopped")
    }
}
