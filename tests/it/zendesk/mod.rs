//! Zendesk Support against wiremock: what goes on the wire and what comes back.

mod auth;
#[cfg(feature = "sandbox")]
mod every_operation;
#[cfg(feature = "sandbox")]
mod sandbox_every_operation;
#[cfg(feature = "sandbox")]
mod sandbox_jobs;
#[cfg(feature = "sandbox")]
mod sandbox_limits;
#[cfg(feature = "sandbox")]
mod sandbox_oauth;
#[cfg(feature = "sandbox")]
mod sandbox_paging;
#[cfg(feature = "sandbox")]
mod sandbox_search;
#[cfg(feature = "sandbox")]
mod sandbox_setup;
#[cfg(feature = "sandbox")]
mod sandbox_tickets;
#[cfg(feature = "sandbox")]
mod sandbox_webhooks;

use specbound::zendesk::Client;
use wiremock::MockServer;

/// A client of `server` with the OAuth token `tok-1`.
pub(super) fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .oauth_token("tok-1")
        .build()
        .expect("client")
}
