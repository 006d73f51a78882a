//! A stateful in-memory Cronofy, for tours and tests.
//!
//! [`Cronofy`] is one registered application (a client id, a client secret
//! and its redirect URIs) and the calendar accounts that authorized it, each
//! with a profile and calendars. It answers the operations of
//! `spec/cronofy.yaml` on `http://127.0.0.1:<port>` with the real API's
//! paths, shapes and errors, and serves the authorization page of the app host
//! on the same port:
//!
//! - **OAuth**: `GET /oauth/authorize` redirects to the registered
//!   `redirect_uri` with a single-use `code` (for the signed-in account, see
//!   [`Cronofy::sign_in`]); `POST /oauth/token` exchanges codes (the
//!   `redirect_uri` must match) and refresh tokens, rotating the refresh token
//!   unless told not to; `POST /oauth/token/revoke` revokes by token or `sub`.
//!   Token answers carry `Cache-Control: no-store`. OAuth errors are 400
//!   `{"error": "invalid_grant" | "invalid_client" | "invalid_request" |
//!   "unsupported_grant_type"}`.
//! - **Credentials per operation** follow the spec's `security` (the
//!   operation table of [`spec::API`](crate::cronofy::spec::API)): an
//!   access token for account calls, the client
//!   secret for application calls, either for the availability queries. A
//!   missing, unknown, revoked or expired bearer token is a 401 with an empty
//!   body and `WWW-Authenticate: Bearer error="invalid_token"`. Scopes are
//!   enforced where the docs name one (`create_calendar`, `read_events`,
//!   `read_free_busy`, `create_event`, `delete_event`,
//!   `change_participation_status`; the group scope `read_write` grants them
//!   all, `read_only` the reading ones): a missing scope is a 403.
//! - **Calendars and events**: profiles, calendars (a duplicate name is 422
//!   `errors.duplicate_calendar_name`), managed events by `event_id`, external
//!   events by `event_uid` (seeded with [`Cronofy::add_event`]; editing or
//!   deleting them needs the `unrestricted` permission level, granted through
//!   `request_elevated_permissions` and its page), deletes (kept for
//!   `include_deleted`), bulk deletes and participation status. A managed
//!   event's recurrence rules are checked and kept (it reads back
//!   `recurring` with a `series_identifier`); its instances are not
//!   expanded.
//! - **Lists**: Read Events, Free Busy and Available Periods are cut into
//!   pages of [`CronofyBuilder::page_size`] with `pages {current, total,
//!   next_page}`; `next_page` is an absolute URL on the sandbox's own host
//!   (`/v1/events/pages/<token>`) served by the page route; the token carries
//!   the query, an unknown token is a 404.
//! - **Push notification channels** (create, list, close). A new channel's
//!   callback URL gets Cronofy's `verification` notification right after the
//!   channel is created (sent from a task of the server's runtime, whatever
//!   the URL's host); `change` notifications are sent when asked with
//!   [`Cronofy::notify_change`]. Both are signed with `Cronofy-HMAC-SHA256`
//!   as Cronofy signs them.
//! - **Availability**: `query_availability` and
//!   `query_sequenced_availability` are computed over the stored events,
//!   availability rules and available periods (see "Availability" below);
//!   rules and available periods have their CRUD operations.
//! - **Real-Time Scheduling** links (create, status by id or token, disable)
//!   with the client secret (an event template with `attendees` is a 422 on
//!   `event.attendees`); [`Cronofy::complete_real_time_scheduling`] plays
//!   the invitee who picks the first slot (`minimum_notice`, callback and
//!   redirect URLs are stored but not used).
//! - **Batch**: each entry runs through the same code as its own endpoint,
//!   answered 207 with one `{status, data}` per entry, in order.
//! - **Smart Invites** (create, update, cancel, remove recipients, get by
//!   recipient, with the invite as iCalendar text in
//!   `attachments.icalendar`); replies are played with
//!   [`Cronofy::reply_to_smart_invite`].
//! - **Bookable Events** (create or update, get) and their registrations
//!   (upsert, delete; ids of letters, digits, `_` and `-`), with `capacity`
//!   (1 to 256), `registered_count` (accepted) and
//!   `total_count` (all but `removed`); an accepted registration beyond the
//!   capacity is 422 `errors.capacity_reached` (*unverified* key).
//! - **Add to Calendar** and **Real-Time Sequencing** check the request (the
//!   body's client credentials, the event, the (sequenced) availability, the
//!   target calendars) and answer the URL to send the user to; that page is
//!   not served.
//! - **Application calendars**, link tokens, elevated permissions, profile
//!   revocation and element tokens.
//! - **Enterprise and Business Connect**: service-account and delegated
//!   authorization requests are checked and accepted (202; the callbacks
//!   Cronofy then makes are not played); `list_resources` and
//!   `list_accessible_calendars` show the seeded resources
//!   ([`CronofyBuilder::resource`]) and the other accounts of the caller's
//!   email domain; a conferencing service authorization answers its URL.
//! - **Rate limit**: with [`CronofyBuilder::rate_limit_after`], requests
//!   beyond the limit in one window answer 429 with `Retry-After`.
//! - **Faults**: [`Cronofy::faults`] injects delays, error statuses, 429s
//!   and bodies cut off midway into the next requests (the engine's).
//!
//! Routing, credentials and the checks of the spec's constraints are the
//! sandbox [`engine`](crate::sandbox::engine)'s, from the generated operation
//! and schema tables; this module holds only Cronofy's behaviour.
//! Validation errors are 422 `{"errors": {"<field>": [{"key", "description"}]}}`.
//! A request body is checked first against the spec's schema of what it
//! stands for (a missing property is `errors.required` "`<field>` must be
//! specified", a string over its length `errors.too_long`, a wrong type or
//! value `errors.invalid`), then by hand for what the schema cannot say (end
//! after start, unknown calendars, uniqueness). Times with a non-zero
//! fraction of a second are refused, as Cronofy refuses them. Requests are
//! read as Cronofy (a Rails application) reads what the SDKs send: bodies
//! may be JSON or form-encoded on every operation (`a[b]=x` nests, `a[]=x`
//! and `a[0]=x` are lists, `a[][x]=1&a[][y]=2` one object of a list, as Rack
//! reads it), form values taking the type the spec's schema wants
//! (`registration[capacity]=5` is the number 5); query booleans may be
//! written as Python does (`True`); a `null` property reads as absent (pycronofy's
//! Real-Time Scheduling sends `"start_interval": null`); `DELETE /v1/events`
//! takes `delete_all` / `calendar_ids[]` from the query too (pycronofy's
//! `delete_all_events`); page routes ignore the query cronofy-node sends
//! again. Writes answer 202 with an empty body (`delete_event` with
//! `include_userinfo` embeds the caller's userinfo). Unknown JSON fields are
//! ignored.
//!
//! # Availability
//!
//! Cronofy documents what a query means, not how it is computed; the sandbox
//! does this (choices the docs do not settle are marked *unverified*):
//!
//! 1. A member is busy during the non-deleted, non-cancelled, opaque events of
//!    their calendars (only `calendar_ids` when given) that they have not
//!    declined; tentative events count as busy (*unverified*). Each busy
//!    event is widened by the buffers: `after` before it, `before` after it
//!    (a buffer range uses its `minimum`).
//! 2. A member is free in the query periods minus busy time, intersected with
//!    their `available_periods`. With `managed_availability` (or
//!    `availability_rule_ids`) it is also intersected with their availability
//!    rules (weekly periods in the rule's time zone) united with their stored
//!    available periods; a member who has neither is not restricted
//!    (*unverified*).
//! 3. A candidate is available when every group has at least `required`
//!    members (`all`: every member) free throughout it; its `participants`
//!    are all the members free throughout it.
//! 4. `periods` (the default): the maximal stretches where step 3 holds with
//!    the same participants, at least `required_duration` long. `slots`:
//!    non-overlapping slots of `required_duration` whose starts lie on the
//!    `start_interval` grid (default: the duration itself, *unverified*),
//!    counted from the Unix epoch, so a 30-minute interval starts on the hour
//!    and the half hour. `overlapping_slots`: every start on that grid.
//!    `query_slots` check the given starts only. Sorted by start, cut at
//!    `max_results`.
//! 5. Sequenced availability: the slots of each step as above (by
//!    `ordinal`); an option takes, for each slot of the first step in turn,
//!    the earliest slot of every next step that starts when the previous one
//!    has ended (*unverified*); at most 20 options.
//!
//! ```no_run
//! # async fn run() -> specbound::Result<()> {
//! use std::time::Duration;
//! use specbound::cronofy::{Client, prelude::*};
//! use specbound::sandbox::cronofy::Cronofy;
//! let server = Cronofy::builder()
//!     .client("client-id", "client-secret")
//!     .redirect_uri("https://example.com/callback")
//!     .account("acc_5ba21743f408617d1269ea1e", "alice@example.com")
//!     .access_token_ttl(Duration::from_secs(3600))
//!     .page_size(25)
//!     .start()
//!     .await?;
//! let cronofy = Client::builder()
//!     .client_id("client-id")
//!     .client_secret("client-secret")
//!     .base_url(server.base_url())
//!     .app_url(server.app_url())
//!     .build()?;
//! let code = server.issue_code("acc_5ba21743f408617d1269ea1e", "https://example.com/callback");
//! cronofy.get_authorization_from_code(&code, "https://example.com/callback").await?;
//! let calendars = cronofy.list_calendars().send().await?.into_inner().calendars;
//! assert_eq!(calendars[0].calendar_name.as_deref(), Some("alice@example.com"));
//! assert_eq!(server.token_requests(), 1);
//! # Ok(()) }
//! ```
mod accounts;
mod availability;
mod batch;
mod bookable;
mod builder;
mod calendars;
mod channels;
mod dispatch;
mod errors;
mod events;
mod form;
mod notify;
mod oauth;
mod pages;
mod reading;
mod rules;
mod scheduling;
mod smart_invites;
mod spans;
mod store;
mod times;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde_json::json;

pub use self::builder::CronofyBuilder;
use self::dispatch::Shared;
use self::store::{ChannelRow, EventRow};
use self::times::{When, fmt_utc, hex_id};
use crate::sandbox::engine::{Faults, Server};
use crate::{Error, Result};

/// A running in-memory Cronofy on 127.0.0.1; it stops when the last clone is
/// dropped. Clones are cheap and share the server.
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use specbound::sandbox::cronofy::Cronofy;
/// let server = Cronofy::builder()
///     .client("client-id", "client-secret")
///     .account("acc_5ba21743f408617d1269ea1e", "alice@example.com")
///     .calendar("acc_5ba21743f408617d1269ea1e", "Work")
///     .start()
///     .await?;
/// let work = server.calendar_id("acc_5ba21743f408617d1269ea1e", "Work");
/// assert!(work.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cronofy {
    server: Arc<Server>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Cronofy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cronofy")
            .field("base_url", &self.base_url())
            .field("client_id", &self.shared.config.client_id)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Cronofy {
    /// A builder to register the application and seed accounts, then start.
    pub fn builder() -> CronofyBuilder {
        CronofyBuilder::new()
    }

    /// The API root to give the client (`ClientBuilder::base_url`):
    /// `http://127.0.0.1:<port>`, where `/v1/...` and `/oauth/token` live.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The app host root to give the client (`ClientBuilder::app_url`), where
    /// the authorization page `/oauth/authorize` lives (the same server).
    pub fn app_url(&self) -> String {
        self.server.root_url()
    }

    /// The faults to inject into the next requests (delays, error statuses,
    /// 429 with `Retry-After`, bodies cut off midway), by operation id.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The operations answered so far, in order (see [`Server::operations_served`]).
    pub fn operations_served(&self) -> Vec<&'static str> {
        self.server.operations_served()
    }

    /// A code the authorization page would redirect to `redirect_uri` with,
    /// after `account_id` granted every scope (`read_write`). Single use,
    /// valid for ten minutes; exchanging it for an unknown account fails with
    /// `invalid_grant`.
    pub fn issue_code(&self, account_id: &str, redirect_uri: &str) -> String {
        self.issue_code_with_scope(account_id, redirect_uri, FULL_SCOPE)
    }

    /// As [`issue_code`](Self::issue_code), granting only `scope`
    /// (space-separated).
    pub fn issue_code_with_scope(
        &self,
        account_id: &str,
        redirect_uri: &str,
        scope: &str,
    ) -> String {
        self.shared
            .with_state(|state| state.issue_code(account_id, redirect_uri, scope))
    }

    /// Makes `account_id` the user signed in at the authorization page (the
    /// first seeded account until then). [`Error::Config`] for an unknown account.
    pub fn sign_in(&self, account_id: &str) -> Result<()> {
        self.shared.with_state(|state| {
            state
                .account(account_id)
                .ok_or_else(|| unknown("account", account_id))?;
            state.signed_in = Some(account_id.to_string());
            Ok(())
        })
    }

    /// Makes every access token issued so far expire now (their refresh
    /// tokens keep working): the next call with one gets a 401.
    pub fn expire_access_tokens(&self) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        self.shared.with_state(|state| {
            for token in state.access_tokens.values_mut() {
                token.expires_at = past;
            }
        });
    }

    /// Starts a new rate-limit window now (see [`CronofyBuilder::rate_limit_after`]).
    pub fn reset_rate_limit(&self) {
        self.shared.reset_rate_limit();
    }

    /// The id of the profile of a seeded account.
    pub fn profile_id(&self, account_id: &str) -> Option<String> {
        self.shared.with_state(|state| {
            state
                .profiles
                .iter()
                .find(|p| p.account_id == account_id)
                .map(|p| p.id.clone())
        })
    }

    /// The id of an account's primary calendar (named after its email).
    pub fn primary_calendar_id(&self, account_id: &str) -> Option<String> {
        self.shared.with_state(|state| {
            state
                .calendars
                .iter()
                .find(|c| c.account_id == account_id && c.primary)
                .map(|c| c.id.clone())
        })
    }

    /// The id of the calendar named `name` of an account.
    pub fn calendar_id(&self, account_id: &str, name: &str) -> Option<String> {
        self.shared.with_state(|state| {
            state
                .calendars
                .iter()
                .find(|c| c.account_id == account_id && c.name == name && !c.deleted)
                .map(|c| c.id.clone())
        })
    }

    /// Adds a calendar to an account's profile, as if the user created it at
    /// their provider; returns its id.
    pub fn add_calendar(&self, account_id: &str, name: &str) -> Result<String> {
        self.shared
            .with_state(|state| state.seed_calendar(account_id, name))
    }

    /// Adds an event the application does not manage to a calendar, as if
    /// someone invited the account (`organizer@example.com` organizes it; the
    /// account's status is `needs_action`); returns its `event_uid`.
    pub fn add_event(
        &self,
        calendar_id: &str,
        summary: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<String> {
        if end <= start {
            return Err(config(&format!("event `{summary}` ends before it starts")));
        }
        self.shared.with_state(|state| {
            let calendar = state
                .calendars
                .iter()
                .find(|c| c.id == calendar_id)
                .ok_or_else(|| unknown("calendar", calendar_id))?;
            let account_id = calendar.account_id.clone();
            let uid = format!("evt_external_{}", hex_id(24));
            let mut event = EventRow::new(
                calendar_id,
                &account_id,
                uid.clone(),
                When::Instant(start),
                When::Instant(end),
            );
            event.summary = summary.to_string();
            event.participation_status = "needs_action".into();
            event.organizer =
                json!({"email": "organizer@example.com", "display_name": "Organizer"});
            state.events.push(event);
            Ok(uid)
        })
    }

    /// Plays the invitee of a Real-Time Scheduling link who picks its first
    /// available slot: the event is created in the target calendars (a
    /// managed event with the template's `event_id`), the link becomes
    /// `completed` and its `event` gets `start`/`end`, which are returned.
    /// Callback URLs are not called. [`Error::Config`] when the link is
    /// unknown or not open, or no slot is available.
    pub fn complete_real_time_scheduling(
        &self,
        real_time_scheduling_id: &str,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        self.shared
            .with_state(|state| state.complete_rts(real_time_scheduling_id))
    }

    /// Plays a Smart Invite recipient who replies `accepted`, `declined` or
    /// `tentative`: `get_smart_invite` then shows
    /// the reply (the callback URL is not called). [`Error::Config`] when the
    /// invite or recipient is unknown, or the status is another one.
    pub fn reply_to_smart_invite(
        &self,
        smart_invite_id: &str,
        recipient_email: &str,
        status: &str,
    ) -> Result<()> {
        self.shared.with_state(|state| {
            state.reply_to_smart_invite(smart_invite_id, recipient_email, status)
        })
    }

    /// Sends a `change` push notification (`changes_since` = `since`) to every
    /// open channel of `account_id`, signed with the client secret in
    /// `Cronofy-HMAC-SHA256`, and waits for the callbacks' answers. Returns
    /// how many callbacks answered 2xx.
    pub async fn notify_change(&self, account_id: &str, since: DateTime<Utc>) -> Result<usize> {
        let channels: Vec<ChannelRow> = self.shared.with_state(|state| {
            state
                .channels
                .iter()
                .filter(|c| c.account_id == account_id)
                .cloned()
                .collect()
        });
        let secret = &self.shared.config.client_secret;
        let mut delivered = 0;
        for channel in channels {
            let body = json!({
                "notification": {"type": "change", "changes_since": fmt_utc(since)},
                "channel": channel.to_json(),
            });
            if notify::deliver(&self.shared.http, secret, &channel.callback_url, &body).await {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// How many requests reached `POST /oauth/token` (both grants, refused
    /// ones included).
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// How many refresh-token grants issued a token.
    pub fn refreshes(&self) -> u64 {
        self.shared.refreshes.load(Ordering::Relaxed)
    }

    /// How many requests reached the sandbox (the authorization page, the
    /// token endpoints and unknown routes included; a batch is one; requests
    /// answered by an injected fault are not counted).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// The scope of [`Cronofy::issue_code`]: everything.
const FULL_SCOPE: &str = "read_write";

fn config(what: &str) -> Error {
    Error::Config(format!("cronofy sandbox: {what}"))
}

fn unknown(what: &str, id: &str) -> Error {
    config(&format!("no {what} `{id}`"))
}
