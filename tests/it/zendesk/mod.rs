//! Zendesk Support against wiremock: what goes on the wire and what comes back.

mod auth;
mod bulk;
#[cfg(feature = "sandbox")]
mod every_operation;
mod incremental;
mod paging;
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
mod search;
mod sideloads;
mod webhooks;

use specbound::zendesk::Client;
use wiremock::MockServer;

use crate::support::Waits;

/// A client of `server` with the OAuth token `tok-1`.
pub(super) fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .oauth_token("tok-1")
        .build()
        .expect("client")
}

/// A client of `server` with the OAuth token `tok-1` whose waits are
/// recorded, not slept.
pub(super) fn client_with_waits(server: &MockServer) -> (Client, Waits) {
    let waits = Waits::default();
    let client = Client::builder()
        .base_url(server.uri())
        .oauth_token("tok-1")
        .sleep(waits.sleep())
        .build()
        .expect("client");
    (client, waits)
}
