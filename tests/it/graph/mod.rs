//! Microsoft Graph against wiremock: what goes on the wire and what comes back.

mod auth;
mod batch;
mod certificate;
mod delta;
#[cfg(feature = "sandbox")]
mod every_operation;
mod notifications;
mod paging;
mod queries;
#[cfg(feature = "sandbox")]
mod sandbox_auth;
#[cfg(feature = "sandbox")]
mod sandbox_batch;
#[cfg(feature = "sandbox")]
mod sandbox_calendar;
#[cfg(feature = "sandbox")]
mod sandbox_drive;
#[cfg(feature = "sandbox")]
mod sandbox_every_operation;
#[cfg(feature = "sandbox")]
mod sandbox_mail;
#[cfg(feature = "sandbox")]
mod sandbox_subscriptions;
#[cfg(feature = "sandbox")]
mod sandbox_support;
mod throttling;
mod times;
mod upload_host;
mod uploads;

use specbound::graph::{Client, ClientBuilder, Cloud, Scopes};
use specbound::runtime::{MemoryTokenStore, OAuthToken, Secret};
use wiremock::MockServer;

use crate::support::Waits;

/// The cloud of a mock server: Graph and the login host on it.
pub(super) fn cloud(server: &MockServer) -> Cloud {
    Cloud::Custom {
        graph: server.uri(),
        login: server.uri(),
    }
}

/// A token valid for an hour, with a refresh token.
pub(super) fn token(access: &str, refresh: Option<&str>, expires_in_secs: u64) -> OAuthToken {
    OAuthToken::new(
        access,
        refresh.map(|r| Secret::from(r.to_string())),
        Some(std::time::Duration::from_secs(expires_in_secs)),
    )
}

/// A client of `server` for client `app-1` in tenant `contoso`, starting
/// from `token`, whose waits are recorded.
pub(super) fn client_with(server: &MockServer, token: Option<OAuthToken>) -> (Client, Waits) {
    let waits = Waits::default();
    let mut builder = Client::builder()
        .cloud(cloud(server))
        .tenant("contoso")
        .client_id("app-1")
        .scopes(Scopes::helper(["basic", "message_all"]))
        .token_store(MemoryTokenStore::new())
        .sleep(waits.sleep());
    if let Some(t) = token {
        builder = builder.token(t);
    }
    (builder.build().expect("client"), waits)
}

/// A signed-in client of `server` (token `at-1`, refresh token `rt-1`).
pub(super) fn client(server: &MockServer) -> Client {
    client_with(server, Some(token("at-1", Some("rt-1"), 3600))).0
}

/// A signed-in client of `server` whose builder `configure` sets further.
pub(super) fn client_configured(
    server: &MockServer,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client {
    let builder = Client::builder()
        .cloud(cloud(server))
        .tenant("contoso")
        .client_id("app-1")
        .token(token("at-1", Some("rt-1"), 3600));
    configure(builder).build().expect("client")
}
