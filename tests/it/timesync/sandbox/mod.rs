//! The TimeSync sandbox driven by the real client over real HTTP: typed
//! results, typed errors with the reference server's exact texts, roles,
//! revisions, soft deletion and token renewal.

mod as_on_the_server;
mod bad_objects;
mod login;
mod objects;
mod refusals;
mod serving;
mod times;

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use specbound::sandbox::timesync::{ProjectRole, Role, TimeSync};
use specbound::timesync::{AuthType, Client, prelude::*, types};

use super::date;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A client on the sandbox with fast password hashing, not logged in.
fn client(server: &TimeSync) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .bcrypt_cost(4)
        .build()
        .unwrap()
}

/// A client logged in as `username`.
async fn logged_in(server: &TimeSync, username: &str, password: &str) -> Client {
    let ts = client(server);
    ts.authenticate(username, password, AuthType::Password)
        .await
        .unwrap();
    ts
}

/// A login with `strategy` on a fresh client, for logins that may be refused.
async fn log_in(
    server: &TimeSync,
    username: &str,
    password: &str,
    strategy: AuthType,
) -> specbound::Result<()> {
    client(server)
        .authenticate(username, password, strategy)
        .await
}

/// The typed TimeSync error of a refused call, after checking that the
/// normalised `ApiError` agrees with it.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: specbound::Result<T>) -> types::Error {
    let err = result.expect_err("the sandbox should refuse this call");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"));
    let body = api
        .body::<types::Error>()
        .expect("a typed TimeSync error body")
        .clone();
    assert_eq!(i64::from(api.status.as_u16()), body.status);
    assert_eq!(api.code.as_deref(), Some(body.error.as_str()));
    assert_eq!(api.message, body.text);
    body
}

fn error(status: i64, kind: &str, text: &str) -> types::Error {
    types::Error {
        status,
        error: kind.to_string(),
        text: text.to_string(),
        values: Vec::new(),
    }
}

fn error_with(status: i64, kind: &str, text: &str, values: &[&str]) -> types::Error {
    types::Error {
        values: values.iter().map(|v| v.to_string()).collect(),
        ..error(status, kind, text)
    }
}

/// The server's 404 for an unknown `what`: `Nonexistent <what>`.
fn not_found(what: &str) -> types::Error {
    error(404, "Object not found", &format!("Nonexistent {what}"))
}

/// The server's 401 for a call the user's roles do not allow.
fn denied(text: &str) -> types::Error {
    error(401, "Authorization failure", text)
}

/// The server's 401 for a login or token it does not accept.
fn auth_failure(text: &str) -> types::Error {
    error(401, "Authentication failure", text)
}

/// The server's 400 for a request object it refuses.
fn bad_object(text: &str) -> types::Error {
    error(400, "Bad object", text)
}

/// The server's 400 for a query `parameter` whose `value` it refuses.
fn bad_query(parameter: &str, value: &str) -> types::Error {
    let text = format!("Parameter {parameter} contained invalid value {value}");
    error(400, "Bad query value", &text)
}

/// The server's 405 for deleting a `what` that current entries still use.
fn not_allowed(what: &str) -> types::Error {
    let text = format!("The method specified is not allowed for the {what} identified");
    error(405, "Method not allowed", &text)
}

/// A time entry of `seconds` on `project` with `activities`.
fn time(
    seconds: u64,
    project: &str,
    user: &str,
    worked: &str,
    activities: &[&str],
) -> types::TimeCreate {
    let mut t = types::TimeCreate::new(seconds.into(), project, user, date(worked));
    t.activities = activities.iter().map(|a| a.to_string()).collect();
    t
}

/// Creates a time entry as `ts`.
async fn create_time(ts: &Client, t: types::TimeCreate) -> specbound::Result<types::TimeCreated> {
    ts.create_time()
        .body(t)
        .send()
        .await
        .map(|r| r.into_inner())
}

/// The entry `uuid` with its older revisions in `parents`.
async fn time_with_revisions(ts: &Client, uuid: uuid::Uuid) -> specbound::Result<types::Time> {
    let answer = ts
        .get_time()
        .uuid(uuid)
        .include_revisions(true)
        .send()
        .await?;
    Ok(answer.into_inner())
}

/// The sorted durations of `times`, which the tests use as ids (whole
/// seconds: the tests create whole durations).
fn durations(times: &[types::Time]) -> Vec<u64> {
    let mut d: Vec<u64> = times.iter().map(|t| whole(t.duration)).collect();
    d.sort_unstable();
    d
}

/// A duration the tests created as whole seconds.
#[track_caller]
fn whole(seconds: f64) -> u64 {
    assert!(
        seconds >= 0.0 && seconds.fract() == 0.0,
        "{seconds} is not whole seconds"
    );
    seconds as u64
}

/// Roles on a project.
fn roles(member: bool, spectator: bool, manager: bool) -> types::ProjectUserRoles {
    types::ProjectUserRoles {
        member,
        spectator,
        manager,
    }
}

// ------------------------------------------------------------------ raw HTTP

thread_local! {
    /// One plain HTTP client per test (each test runs on its own thread).
    static HTTP: reqwest::Client = reqwest::Client::new();
}

/// A plain HTTP client, for requests our client would not send.
fn http() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own; the library
    // installs ring when it builds a client, this client may come first.
    #[cfg(feature = "tls-ring")]
    let _ = rustls::crypto::ring::default_provider().install_default();
    HTTP.with(Clone::clone)
}

/// A token from `POST /login`, without the client.
async fn raw_token(server: &TimeSync, username: &str, password: &str) -> String {
    let (status, body) = raw_post(
        server,
        "/login",
        json!({"auth": {"type": "password", "username": username, "password": password}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn raw_post(server: &TimeSync, path: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    decode(response).await
}

async fn raw_get(server: &TimeSync, path_and_query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}{path_and_query}", server.base_url()))
        .send()
        .await
        .unwrap();
    decode(response).await
}

async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A POST body with the token block.
fn envelope(token: &str, object: Value) -> Value {
    json!({"auth": {"type": "token", "token": token}, "object": object})
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// alice (member and manager of gwm), bob (member of gwm and tsync), carol
/// (site spectator), mgr (site manager), admin; activities dev and docs.
async fn team() -> TimeSync {
    TimeSync::builder()
        .user("admin", "admin-pw", Role::Admin)
        .user("mgr", "mgr-pw", Role::Manager)
        .user("carol", "carol-pw", Role::Spectator)
        .user("alice", "alice-pw", Role::Member)
        .user("bob", "bob-pw", Role::Member)
        .activity("dev", "Development")
        .activity("docs", "Documentation")
        .project(
            "gwm",
            "Ganeti Web Manager",
            &[
                ("alice", ProjectRole::Manager),
                ("bob", ProjectRole::Member),
            ],
        )
        .project(
            "tsync",
            "TimeSync",
            &[("alice", ProjectRole::Member), ("bob", ProjectRole::Member)],
        )
        .start()
        .await
        .unwrap()
}
