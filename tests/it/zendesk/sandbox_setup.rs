//! What the tests against the Zendesk sandbox share: the account's agent,
//! clients on a sandbox, and plain HTTP for looking at raw answers.

use std::sync::Arc;

use serde_json::Value;
use specbound::sandbox::zendesk::{Zendesk, ZendeskBuilder};
use specbound::zendesk::{Client, RateLimit};

use crate::support::Waits;

/// The agent every sandbox is set up with.
pub(super) const EMAIL: &str = "admin@example.com";
/// The agent's API token.
pub(super) const API_TOKEN: &str = "api-token-1";
/// The OAuth client.
pub(super) const CLIENT_ID: &str = "client-1";
/// The OAuth client's secret.
pub(super) const CLIENT_SECRET: &str = "client-secret-1";

/// A sandbox builder with the agent and the OAuth client.
pub(super) fn sandbox() -> ZendeskBuilder {
    Zendesk::builder()
        .agent(EMAIL, API_TOKEN)
        .oauth_client(CLIENT_ID, CLIENT_SECRET)
}

/// A client of `server` with the agent's API token and recorded waits.
pub(super) fn agent(server: &Zendesk) -> (Client, Waits) {
    agent_keeping(server, RateLimit::default())
}

/// A client of `server` with the agent's API token, recorded waits, and
/// `rate_limit` kept.
pub(super) fn agent_keeping(server: &Zendesk, rate_limit: RateLimit) -> (Client, Waits) {
    let waits = Waits::default();
    let client = Client::builder()
        .base_url(server.base_url())
        .api_token(EMAIL, API_TOKEN)
        .sleep(waits.sleep())
        .rate_limit(rate_limit)
        .build()
        .expect("client");
    (client, waits)
}

/// A client of `server` keeping `rate_limit`, whose waits are recorded and
/// pass at once: the sandbox's rate-limit windows start again on each.
pub(super) fn agent_in_time(server: &Arc<Zendesk>, rate_limit: RateLimit) -> (Client, Waits) {
    let waits = Waits::default();
    let windows = Arc::clone(server);
    let client = Client::builder()
        .base_url(server.base_url())
        .api_token(EMAIL, API_TOKEN)
        .sleep(waits.sleep_then(move || windows.reset_rate_limits()))
        .rate_limit(rate_limit)
        .build()
        .expect("client");
    (client, waits)
}

/// `GET <root><path_and_query>` with the agent's API token, without the
/// client: (status, headers, JSON body).
pub(super) async fn get_raw(
    server: &Zendesk,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let answer = reqwest::Client::new()
        .get(format!("{}{path_and_query}", server.base_url()))
        .basic_auth(format!("{EMAIL}/token"), Some(API_TOKEN))
        .send()
        .await
        .expect("sandbox answers");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let body = answer.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The API status of an error (panics on any other error).
#[track_caller]
pub(super) fn status_of(err: &specbound::Error) -> u16 {
    err.status()
        .map(|s| s.as_u16())
        .unwrap_or_else(|| panic!("not an API error: {err:?}"))
}
