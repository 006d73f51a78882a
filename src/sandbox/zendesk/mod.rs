//! A stateful in-memory Zendesk Support account, for tours and tests.
//!
//! [`Zendesk`] answers the operations of `spec/zendesk.yaml` on
//! `http://127.0.0.1:<port>` (the account root: give it to
//! `ClientBuilder::base_url`, or to zenpy as `ZENPY_FORCE_NETLOC` with
//! `ZENPY_FORCE_SCHEME=http`) with Zendesk's paths, shapes and errors:
//!
//! - **Credentials** by the spec's security schemes: `Bearer` OAuth access
//!   tokens, or `Basic` `{email}/token:{api_token}` of a seeded agent (an
//!   email + password is refused, as since January 2026). Anything else is
//!   401 `{"error": "Couldn't authenticate you"}`. An OAuth token's scopes
//!   are enforced (`read` for GETs, `write`, or a resource's own
//!   `tickets:read`...): 403 otherwise.
//! - **OAuth**: the authorization page `/oauth/authorizations/new` signs
//!   in the account owner (see [`Zendesk::sign_in`]) and redirects with a
//!   code (PKCE S256 checked when the code is redeemed); `POST
//!   /oauth/tokens` redeems codes, rotates refresh tokens (the old one is
//!   refused afterwards with `invalid_grant`) and grants client credentials.
//! - **Records**: tickets (with audits and comments), users, organizations,
//!   groups, and the other collections; both paging styles on every list
//!   that has them (cursor: `page[size]` up to 100, opaque cursors,
//!   `meta.has_more`, absolute `links`; offset: `page`, `per_page`,
//!   `next_page`/`previous_page`/`count`, and 400 `InvalidPaginationDepth`
//!   past 10,000 records); side-loads (`include=users,organizations,groups`).
//! - **Search** over the stored records in a small query language (words,
//!   `"phrases"`, `type:`, `status:`/`<`/`>`, `created>`, `-negation`...;
//!   see `search.rs`), offset paged and limited to 1,000 results (422
//!   `invalid` past them), its count, and Search Export with cursors that
//!   expire ([`ZendeskBuilder::export_cursor_ttl`]).
//! - **Bulk jobs** (`create_many`, `update_many`, `destroy_many`,
//!   `create_or_update_many`, merges, async creates): job statuses go
//!   `queued`, `working`, `completed` over the following reads, with a
//!   result per item ([`ZendeskBuilder::reject_bulk_item`] makes one fail).
//! - **Incremental exports**, time based and cursor based, ending on
//!   `end_of_stream`.
//! - **Webhooks** and their signing secrets; ticket events are delivered,
//!   signed as Zendesk signs them (`X-Zendesk-Webhook-Signature`,
//!   `X-Zendesk-Webhook-Signature-Timestamp`).
//! - **Rate limits** with Zendesk's headers, 429 with or without
//!   `Retry-After`; **faults** ([`Zendesk::faults`]) from the engine.
//! - `Idempotency-Key` on ticket creation replays the first answer for two
//!   hours (`x-idempotency-lookup: hit`); another body with the same key is
//!   400 `IdempotentRequestError`.
//! - Every answer carries `X-Zendesk-Request-Id`; paths are answered with
//!   and without `.json`; unknown routes are 404 `InvalidEndpoint`.
//!
//! Errors have Zendesk's shapes: `{"error", "description"}` (404
//! `RecordNotFound`, 400 `TooManyValues`, 409 `UpdateConflict`, 429
//! `APIRateLimitExceeded`), 422 `RecordInvalid` with `details` per field,
//! the `{"errors": [{code, title, detail}]}` of the pagination checks, the
//! object form for 403, RFC 6749 bodies from `/oauth/tokens`. Where Zendesk's
//! exact words could not be found, the sandbox's are marked *unverified* in
//! the area's docs (the webhooks API's 400 codes, an expired export cursor,
//! which answers as an invalid one, job results' `status` words).
//!
//! ```no_run
//! # async fn run() -> specbound::Result<()> {
//! use specbound::sandbox::zendesk::Zendesk;
//! use specbound::zendesk::{Client, prelude::*};
//! let server = Zendesk::builder()
//!     .agent("admin@example.com", "api-token")
//!     .oauth_client("client-id", "client-secret")
//!     .tickets(250)
//!     .start()
//!     .await?;
//! let zd = Client::builder()
//!     .base_url(server.base_url())
//!     .api_token("admin@example.com", "api-token")
//!     .build()?;
//! let page = zd.list_tickets().page_size(100).send().await?.into_inner();
//! assert_eq!(page.tickets.len(), 100);
//! # Ok(()) }
//! ```

mod builder;
mod collections;
mod dispatch;
mod errors;
mod extras;
mod idempotency;
mod incremental;
mod jobs;
mod limits;
mod oauth;
mod paging;
mod people;
mod search;
mod store;
mod tickets;
mod webhooks;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use self::builder::ZendeskBuilder;
use self::dispatch::Shared;
use crate::sandbox::engine::{Faults, Server};
use crate::{Error, Result};

/// A running in-memory Zendesk on 127.0.0.1; it stops when the last clone
/// is dropped. Clones are cheap and share the server.
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use specbound::sandbox::zendesk::Zendesk;
/// let server = Zendesk::builder()
///     .agent("admin@example.com", "api-token")
///     .users(20)
///     .tickets(100)
///     .start()
///     .await?;
/// // For zenpy: ZENPY_FORCE_NETLOC=<netloc> ZENPY_FORCE_SCHEME=http
/// println!("{} {}", server.base_url(), server.netloc());
/// assert!(server.user_id("user1@example.com").is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Zendesk {
    server: Arc<Server>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Zendesk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zendesk")
            .field("base_url", &self.base_url())
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Zendesk {
    /// A builder to set up the account, then start.
    pub fn builder() -> ZendeskBuilder {
        ZendeskBuilder::new()
    }

    /// The account root, `http://127.0.0.1:<port>` (where `/api/v2/...`,
    /// `/oauth/tokens` and `/oauth/authorizations/new` are), for
    /// `ClientBuilder::base_url`.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// `127.0.0.1:<port>`, for zenpy's `ZENPY_FORCE_NETLOC` (with
    /// `ZENPY_FORCE_SCHEME=http`) and `ClientBuilder::force_netloc`.
    pub fn netloc(&self) -> String {
        self.server.addr().to_string()
    }

    /// The faults to inject into the next requests (delays, error
    /// statuses, 429 with `Retry-After`, bodies cut off midway), by
    /// operation id; `Fault::Status(429)` is a 429 without `Retry-After`.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The operations answered so far, in order (see [`Server::operations_served`]).
    pub fn operations_served(&self) -> Vec<&'static str> {
        self.server.operations_served()
    }

    /// The id of the user with `email`, if there is one.
    pub fn user_id(&self, email: &str) -> Option<u64> {
        self.shared.with_state(|s| s.user_by_email(email))
    }

    /// Makes the user with `email` the one signed in at the authorization
    /// page (the first agent until then). [`Error::Config`] for an unknown email.
    pub fn sign_in(&self, email: &str) -> Result<()> {
        self.shared.with_state(|s| {
            let id = s
                .user_by_email(email)
                .ok_or_else(|| config(&format!("no user `{email}`")))?;
            s.signed_in = id;
            Ok(())
        })
    }

    /// Makes every access token issued so far expire now (refresh tokens
    /// keep working): the next call with one is a 401.
    pub fn expire_access_tokens(&self) {
        self.shared.with_state(store::Store::expire_access_tokens);
    }

    /// Starts every rate-limit window again.
    pub fn reset_rate_limits(&self) {
        self.shared.limits.reset();
    }

    /// How many requests reached the sandbox (the authorization page,
    /// `/oauth/tokens` and unknown routes included; requests answered by an
    /// injected fault are not counted).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// How many requests reached `POST /oauth/tokens`, refused ones included.
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// How many webhook deliveries the endpoints answered with 2xx.
    pub fn webhook_deliveries(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }
}

fn config(what: &str) -> Error {
    Error::Config(format!("zendesk sandbox: {what}"))
}
