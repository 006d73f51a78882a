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
use wiremock::MockServer;

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
    let requests = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests[n].body).unwrap()
}

/// The query pairs of the `n`th request, in order.
async fn sent_query(server: &MockServer, n: usize) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    requests[n]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The body a POST carries: the payload in `object`, the session token in `auth`.
fn envelope(object: &Value, token: &str) -> Value {
    json!({ "auth": { "type": "token", "token": token }, "object": object })
}
