//! TimeSync: the client on the wire against recorded fixtures (`wire`,
//! `failures`), what the spec says of the reference server (`spec_text`),
//! and the sandbox driven by the client over real HTTP (`sandbox`).

mod failures;
mod spec_text;
mod wire;

#[cfg(feature = "sandbox")]
mod sandbox;

use chrono::NaiveDate;
use serde_json::{Value, json};
use specbound::timesync::{Client, prelude::*, types};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::support::{AnswerOnce, received};

const UUID: &str = "aa800862-e852-4a40-8882-9b4a79aa3015";

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Owned strings, for the list filters of the builders.
fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// The JSON body of the `n`th request the server received.
async fn sent_body(server: &MockServer, n: usize) -> Value {
    serde_json::from_slice(&received(server).await[n].body).unwrap()
}

/// The body a POST carries: the payload in `object`, the session token in `auth`.
fn envelope(object: &Value, token: &str) -> Value {
    json!({ "auth": { "type": "token", "token": token }, "object": object })
}

// ------------------------------------------------------------------ mocks

/// A GET of `route` (below `/v0`).
fn get(route: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(format!("/v0{route}")))
}

/// A POST of JSON to `route` (below `/v0`), as the client sends every POST.
fn json_post(route: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/v0{route}")))
        .and(header("content-type", "application/json"))
}

/// A JSON POST to `route` whose body is `object` in the auth [`envelope`]
/// of `token`.
fn enveloped_post(route: &str, object: &Value, token: &str) -> MockBuilder {
    json_post(route).and(body_json(envelope(object, token)))
}

/// A DELETE of `route` (below `/v0`) with `token` in the query.
fn delete_with_token(route: &str, token: &str) -> MockBuilder {
    Mock::given(method("DELETE"))
        .and(path(format!("/v0{route}")))
        .and(query_param("token", token))
}

/// `answer` as a 200 JSON body.
fn ok_json(answer: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(answer)
}

// ------------------------------------------------------------------ calls

/// `update_time` of the entry `uuid` as `ts`.
async fn update_time(
    ts: &Client,
    uuid: impl TryInto<uuid::Uuid>,
    update: types::TimeUpdate,
) -> specbound::Result<types::Time> {
    let answer = ts.update_time().uuid(uuid).body(update).send().await?;
    Ok(answer.into_inner())
}

/// `update_project` of `slug` as `ts`.
async fn update_project(
    ts: &Client,
    slug: impl TryInto<types::Slug>,
    update: types::ProjectUpdate,
) -> specbound::Result<types::Project> {
    let answer = ts.update_project().slug(slug).body(update).send().await?;
    Ok(answer.into_inner())
}

/// `update_activity` of `slug` as `ts`.
async fn update_activity(
    ts: &Client,
    slug: impl TryInto<types::Slug>,
    update: types::ActivityUpdate,
) -> specbound::Result<types::ActivityUpdated> {
    let answer = ts.update_activity().slug(slug).body(update).send().await?;
    Ok(answer.into_inner())
}

/// `update_user` of `username` as `ts`.
async fn update_user(
    ts: &Client,
    username: impl TryInto<types::Username>,
    update: types::UserUpdate,
) -> specbound::Result<types::User> {
    let answer = ts
        .update_user()
        .username(username)
        .body(update)
        .send()
        .await?;
    Ok(answer.into_inner())
}
