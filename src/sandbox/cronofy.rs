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
//! - **Credentials per operation** follow the spec's `security`
//!   ([`spec::SECURITY`]): an access token for account calls, the client
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
//! - **Push notification channels** (create, list, close); notifications are
//!   delivered only when asked with [`Cronofy::notify_change`], signed with
//!   `Cronofy-HMAC-SHA256` as Cronofy signs them.
//! - **Availability**: `query_availability` and
//!   `query_sequenced_availability` are computed over the stored events,
//!   availability rules and available periods (see "Availability" below);
//!   rules and available periods have their CRUD operations.
//! - **Real-Time Scheduling** links (create, status by id or token, disable)
//!   with the client secret; [`Cronofy::complete_real_time_scheduling`] plays
//!   the invitee who picks the first slot (`minimum_notice`, callback and
//!   redirect URLs are stored but not used).
//! - **Batch**: each entry runs through the same code as its own endpoint,
//!   answered 207 with one `{status, data}` per entry, in order.
//! - **Smart Invites** (create, update, cancel, remove recipients, get by
//!   recipient, with the invite as iCalendar text in
//!   `attachments.icalendar`); replies are played with
//!   [`Cronofy::reply_to_smart_invite`].
//! - **Bookable Events** (create or update, get) and their registrations
//!   (upsert, delete), with `capacity`, `registered_count` (accepted) and
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
//!
//! Validation errors are 422 `{"errors": {"<field>": [{"key", "description"}]}}`.
//! A request body is checked first against the JSON Schema of the generated
//! request type (a missing property is `errors.required` "`<field>` must be
//! specified", a wrong type or value `errors.invalid`), then by hand for what
//! the schema cannot say (time zones, end after start, lengths, unknown
//! calendars, uniqueness). Writes answer 202 with an empty body. Unknown JSON
//! fields are ignored.
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

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{Server, schema_violation};
use crate::cronofy::{HMAC_HEADER, spec, types};
use crate::runtime::Secret;
use crate::{Error, Result};

/// How long an access token lives unless told otherwise (Cronofy's 3600 s).
const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Items per page of Read Events, Free Busy and Available Periods unless told
/// otherwise (Cronofy does not document its page size).
const DEFAULT_PAGE_SIZE: usize = 25;

/// How long an authorization code can be exchanged (*unverified*).
const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// The default rate-limit window.
const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);

/// The most characters of a channel's `callback_url`.
const CALLBACK_URL_MAX: usize = 128;

/// The most options a sequenced availability query answers (*unverified*).
const MAX_SEQUENCES: usize = 20;

/// Limits of availability queries, modelled on Cronofy's (*unverified*): at
/// most 50 query periods (or query slots) of at most 35 days each, and
/// durations, intervals and buffers of at most a week.
const MAX_QUERY_PERIODS: usize = 50;
const MAX_PERIOD_DAYS: i64 = 35;
const MAX_DURATION_MINUTES: u64 = 7 * 24 * 60;

/// Lifetime of element tokens, as in the docs' example.
const ELEMENT_TOKEN_TTL: i64 = 64_800;

/// The largest `expires_in` Cronofy answers (a positive 32-bit integer).
const MAX_EXPIRES_IN: u64 = 2_147_483_647;

/// The scope of [`Cronofy::issue_code`]: everything.
const FULL_SCOPE: &str = "read_write";

/// Where the default read_events window starts and ends, in days from today,
/// for events the application does not manage (Cronofy's documented defaults).
const DEFAULT_FROM_DAYS: i64 = 16;
const DEFAULT_TO_DAYS: i64 = 201;

// ------------------------------------------------------------------------------------------
// Public API
// ------------------------------------------------------------------------------------------

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
        CronofyBuilder {
            client: None,
            redirect_uris: Vec::new(),
            accounts: Vec::new(),
            calendars: Vec::new(),
            resources: Vec::new(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            rotate_refresh_tokens: true,
            page_size: DEFAULT_PAGE_SIZE,
            rate_limit: None,
            rate_window: DEFAULT_RATE_WINDOW,
        }
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
        self.shared
            .with_state(|state| state.rate = RateWindow::new());
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
            return Err(Error::Config(format!(
                "cronofy sandbox: event `{summary}` ends before it starts"
            )));
        }
        self.shared.with_state(|state| {
            let calendar = state
                .calendars
                .iter()
                .find(|c| c.id == calendar_id)
                .ok_or_else(|| unknown("calendar", calendar_id))?;
            let account_id = calendar.account_id.clone();
            let now = Utc::now();
            let uid = format!("evt_external_{}", hex_id(24));
            state.events.push(EventRow {
                calendar_id: calendar_id.to_string(),
                account_id,
                event_id: None,
                event_uid: uid.clone(),
                summary: summary.to_string(),
                description: String::new(),
                start: When::Instant(start),
                end: When::Instant(end),
                tzid: "Etc/UTC".into(),
                location: None,
                url: None,
                transparency: "opaque".into(),
                status: "confirmed".into(),
                participation_status: "needs_action".into(),
                attendees: Vec::new(),
                organizer: json!({"email": "organizer@example.com", "display_name": "Organizer"}),
                deleted: false,
                created: now,
                updated: now,
                event_private: false,
                recurrence: None,
            });
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Config(format!("cronofy sandbox: http client: {e}")))?;
        let mut delivered = 0;
        for channel in channels {
            let body = json!({
                "notification": {"type": "change", "changes_since": fmt_utc(since)},
                "channel": channel.to_json(),
            });
            let bytes = serde_json::to_vec(&body)
                .map_err(|e| Error::Config(format!("cronofy sandbox: {e}")))?;
            let signature = sign(&self.shared.config.client_secret, &bytes);
            let answer = http
                .post(&channel.callback_url)
                .header(header::CONTENT_TYPE, JSON)
                .header(HMAC_HEADER, signature)
                .body(bytes)
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => delivered += 1,
                Ok(r) => tracing::debug!(status = %r.status(), "cronofy sandbox: callback refused"),
                Err(e) => {
                    tracing::debug!(error = %e.without_url(), "cronofy sandbox: callback failed")
                }
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
    /// token endpoints and unknown routes included; a batch is one).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// Registers the application, seeds accounts, then starts a [`Cronofy`].
pub struct CronofyBuilder {
    client: Option<(String, Secret)>,
    redirect_uris: Vec<String>,
    accounts: Vec<(String, String)>,
    calendars: Vec<(String, String)>,
    resources: Vec<(String, String)>,
    access_token_ttl: Duration,
    rotate_refresh_tokens: bool,
    page_size: usize,
    rate_limit: Option<u64>,
    rate_window: Duration,
}

impl fmt::Debug for CronofyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronofyBuilder")
            .field("client_id", &self.client.as_ref().map(|c| &c.0))
            .field("redirect_uris", &self.redirect_uris)
            .field("accounts", &self.accounts)
            .field("calendars", &self.calendars)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("page_size", &self.page_size)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

impl CronofyBuilder {
    /// The registered application: its client id and client secret (the
    /// secret is also the bearer token of application calls and the key of
    /// notification signatures). Required.
    pub fn client(mut self, client_id: &str, client_secret: &str) -> Self {
        self.client = Some((client_id.to_string(), Secret::new(client_secret)));
        self
    }

    /// A registered redirect URI; repeat for several. Without any, every
    /// http or https URI is accepted (as for development applications).
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_string());
        self
    }

    /// A calendar account with one profile (`google`, named `email`) and a
    /// primary calendar named `email`. The first account is the one signed
    /// in at the authorization page.
    pub fn account(mut self, account_id: &str, email: &str) -> Self {
        self.accounts
            .push((account_id.to_string(), email.to_string()));
        self
    }

    /// A resource (a room, say) with its calendar's `email` and a `name`:
    /// listed by `list_resources` and `list_accessible_calendars` to the
    /// accounts of the same email domain.
    pub fn resource(mut self, email: &str, name: &str) -> Self {
        self.resources.push((email.to_string(), name.to_string()));
        self
    }

    /// Another calendar named `name` in the profile of a seeded account.
    pub fn calendar(mut self, account_id: &str, name: &str) -> Self {
        self.calendars
            .push((account_id.to_string(), name.to_string()));
        self
    }

    /// How long access tokens live (default 3600 s). Short values let tests
    /// force refreshes: the client refreshes a token with under 60 s left
    /// before using it.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Whether each refresh issues a new refresh token and makes the old one
    /// stop working (default `true`); with `false` the refresh token stays.
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// Items per page of Read Events, Free Busy and Available Periods
    /// (default 25; at least 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size;
        self
    }

    /// Answers 429 with `Retry-After` (the whole seconds left in the window,
    /// at least 1) to requests beyond `limit` in one window (see
    /// [`rate_limit_window`](Self::rate_limit_window)). Token requests count;
    /// 401 answers do not, as on Cronofy. [`Cronofy::reset_rate_limit`]
    /// starts a new window at once.
    pub fn rate_limit_after(mut self, limit: u64) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// The length of a rate-limit window (default 60 s).
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.rate_window = window;
        self
    }

    /// Starts the server on a free port of 127.0.0.1 on the current tokio
    /// runtime. [`Error::Config`] names what cannot be seeded: no client, an
    /// empty or repeated id, a calendar for an unknown account, a page size of 0.
    pub async fn start(self) -> Result<Cronofy> {
        let (client_id, client_secret) = self
            .client
            .clone()
            .ok_or_else(|| config("no application registered (CronofyBuilder::client)"))?;
        if client_id.is_empty() || client_secret.expose().is_empty() {
            return Err(config("the client id and secret must not be empty"));
        }
        if self.page_size == 0 {
            return Err(config("the page size must be at least 1"));
        }
        for uri in &self.redirect_uris {
            if !web_url(uri) {
                return Err(config(&format!(
                    "redirect URI `{uri}` is not an http or https URL"
                )));
            }
        }
        let store = self.seed()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(store),
            config: Config {
                client_id,
                client_secret,
                redirect_uris: self.redirect_uris,
                access_token_ttl: self.access_token_ttl,
                rotate_refresh_tokens: self.rotate_refresh_tokens,
                page_size: self.page_size,
                rate_limit: self.rate_limit,
                rate_window: self.rate_window,
            },
            root: OnceLock::new(),
            requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
        });
        let server = Server::start(router(shared.clone())).await?;
        let _ = shared.root.set(server.root_url());
        tracing::debug!(url = %server.root_url(), "cronofy sandbox started");
        Ok(Cronofy {
            server: Arc::new(server),
            shared,
        })
    }

    fn seed(&self) -> Result<Store> {
        let mut store = Store::new();
        for (id, email) in &self.accounts {
            if id.trim().is_empty() || email.trim().is_empty() {
                return Err(config("an account id and email must not be empty"));
            }
            if store.account(id).is_some() {
                return Err(config(&format!("account `{id}` is seeded twice")));
            }
            store.add_account(id, email, AccountKind::Account);
        }
        store.signed_in = self.accounts.first().map(|(id, _)| id.clone());
        for (account_id, name) in &self.calendars {
            store.seed_calendar(account_id, name)?;
        }
        for (email, _) in &self.resources {
            if !plausible_email(email) {
                return Err(config(&format!(
                    "resource `{email}` is not an email address"
                )));
            }
        }
        store.resources = self.resources.clone();
        Ok(store)
    }
}

fn config(what: &str) -> Error {
    Error::Config(format!("cronofy sandbox: {what}"))
}

fn unknown(what: &str, id: &str) -> Error {
    config(&format!("no {what} `{id}`"))
}

// ------------------------------------------------------------------------------------------
// Store
// ------------------------------------------------------------------------------------------

struct Config {
    client_id: String,
    client_secret: Secret,
    redirect_uris: Vec<String>,
    access_token_ttl: Duration,
    rotate_refresh_tokens: bool,
    page_size: usize,
    rate_limit: Option<u64>,
    rate_window: Duration,
}

struct Shared {
    state: Mutex<Store>,
    config: Config,
    /// `http://127.0.0.1:<port>`, set once the server listens.
    root: OnceLock<String>,
    requests: AtomicU64,
    token_requests: AtomicU64,
    refreshes: AtomicU64,
}

impl Shared {
    /// Runs `f` on the state; the lock is never held across an `.await`.
    fn with_state<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            config: &self.config,
            root: self.root.get().map_or("http://127.0.0.1", String::as_str),
        }
    }
}

/// What a handler needs besides the state.
struct Ctx<'a> {
    config: &'a Config,
    root: &'a str,
}

struct Store {
    accounts: Vec<AccountRow>,
    profiles: Vec<ProfileRow>,
    calendars: Vec<CalendarRow>,
    events: Vec<EventRow>,
    codes: HashMap<String, CodeRow>,
    /// Authorizations by id.
    authorizations: HashMap<u64, AuthorizationRow>,
    access_tokens: HashMap<String, AccessRow>,
    /// Refresh token → authorization id.
    refresh_tokens: HashMap<String, u64>,
    channels: Vec<ChannelRow>,
    rules: Vec<(String, types::AvailabilityRule)>,
    periods: Vec<PeriodRow>,
    rts: Vec<RtsRow>,
    smart_invites: Vec<SmartInviteRow>,
    bookable_events: Vec<BookableEventRow>,
    /// Seeded resources: (email, name).
    resources: Vec<(String, String)>,
    /// Elevated-permission pages by token.
    permission_requests: HashMap<String, PermissionRequest>,
    /// Result lists being paged, by id.
    page_sets: HashMap<u64, PageSet>,
    /// Page token → (page set, page index from 0).
    page_tokens: HashMap<String, (u64, usize)>,
    signed_in: Option<String>,
    rate: RateWindow,
    next_id: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AccountKind {
    Account,
    ApplicationCalendar,
}

struct AccountRow {
    id: String,
    email: String,
    name: String,
    kind: AccountKind,
    /// The application's id of an application calendar.
    application_calendar_id: Option<String>,
}

struct ProfileRow {
    id: String,
    account_id: String,
    name: String,
    provider_name: &'static str,
    provider_service: &'static str,
    /// Access revoked with `revoke_profile`: hidden with its calendars.
    revoked: bool,
}

struct CalendarRow {
    id: String,
    profile_id: String,
    account_id: String,
    name: String,
    readonly: bool,
    deleted: bool,
    primary: bool,
    permission_level: String,
}

/// An event boundary: a UTC instant, or a date (all-day).
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Instant(DateTime<Utc>),
    Day(NaiveDate),
}

struct EventRow {
    calendar_id: String,
    account_id: String,
    /// The application's id: `Some` for managed events.
    event_id: Option<String>,
    event_uid: String,
    summary: String,
    description: String,
    start: When,
    end: When,
    tzid: String,
    location: Option<Value>,
    url: Option<String>,
    transparency: String,
    status: String,
    participation_status: String,
    attendees: Vec<Value>,
    organizer: Value,
    deleted: bool,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    event_private: bool,
    /// The recurrence rules of a managed event; its instances are not expanded.
    recurrence: Option<Value>,
}

struct CodeRow {
    account_id: String,
    redirect_uri: String,
    scope: String,
    expires_at: DateTime<Utc>,
}

struct AuthorizationRow {
    account_id: String,
    scope: String,
}

struct AccessRow {
    authorization: u64,
    expires_at: DateTime<Utc>,
}

#[derive(Clone)]
struct ChannelRow {
    channel_id: String,
    account_id: String,
    callback_url: String,
    filters: Value,
}

impl ChannelRow {
    fn to_json(&self) -> Value {
        json!({
            "channel_id": self.channel_id,
            "callback_url": self.callback_url,
            "filters": self.filters,
        })
    }
}

struct PeriodRow {
    account_id: String,
    available_period_id: String,
    start: When,
    end: When,
    tzid: String,
}

struct RtsRow {
    id: String,
    /// The last segment of `url`.
    token: String,
    url: String,
    status: String,
    event: Value,
    availability: types::AvailabilityQuery,
    target_calendars: Vec<types::TargetCalendar>,
    display_message: Option<String>,
}

struct PermissionRequest {
    account_id: String,
    calendar_ids: Vec<(String, String)>,
    redirect_uri: Option<String>,
}

struct PageSet {
    account_id: String,
    /// `events`, `free_busy` or `available_periods`.
    list: &'static str,
    items: Vec<Value>,
    /// The token of each page after the first.
    tokens: Vec<String>,
}

struct RateWindow {
    started: Instant,
    count: u64,
}

impl RateWindow {
    fn new() -> Self {
        RateWindow {
            started: Instant::now(),
            count: 0,
        }
    }
}

/// Who is calling.
enum Caller {
    /// An account's access token, with its granted scope.
    Account { account_id: String, scope: String },
    /// The client secret.
    App,
    /// Credentials in the body, or none needed.
    Anonymous,
}

impl Caller {
    /// The account of an access token (every oauth2-only operation has one).
    fn account(&self) -> std::result::Result<&str, ApiErr> {
        match self {
            Caller::Account { account_id, .. } => Ok(account_id),
            _ => Err(ApiErr::unauthorized()),
        }
    }

    /// 403 unless the token grants `scope` (the client secret grants all).
    fn need(&self, scope: &str) -> std::result::Result<(), ApiErr> {
        match self {
            Caller::Account { scope: granted, .. } if !grants(granted, scope) => {
                Err(ApiErr::status(StatusCode::FORBIDDEN))
            }
            _ => Ok(()),
        }
    }
}

/// Whether a granted scope string covers `wanted`.
fn grants(granted: &str, wanted: &str) -> bool {
    granted.split_whitespace().any(|s| {
        s == wanted
            || s == "read_write"
            || (s == "read_only"
                && matches!(
                    wanted,
                    "read_events" | "read_free_busy" | "read_account" | "list_calendars"
                ))
            || (s == "read_events" && wanted == "read_free_busy")
    })
}

impl Store {
    fn new() -> Self {
        Store {
            accounts: Vec::new(),
            profiles: Vec::new(),
            calendars: Vec::new(),
            events: Vec::new(),
            codes: HashMap::new(),
            authorizations: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            channels: Vec::new(),
            rules: Vec::new(),
            periods: Vec::new(),
            rts: Vec::new(),
            smart_invites: Vec::new(),
            bookable_events: Vec::new(),
            resources: Vec::new(),
            permission_requests: HashMap::new(),
            page_sets: HashMap::new(),
            page_tokens: HashMap::new(),
            signed_in: None,
            rate: RateWindow::new(),
            next_id: 1,
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn account(&self, id: &str) -> Option<&AccountRow> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Adds an account with its profile and primary calendar.
    fn add_account(&mut self, id: &str, email: &str, kind: AccountKind) {
        let name = email.split('@').next().unwrap_or(email).to_string();
        self.accounts.push(AccountRow {
            id: id.to_string(),
            email: email.to_string(),
            name,
            kind,
            application_calendar_id: None,
        });
        let (provider_name, provider_service) = match kind {
            AccountKind::Account => ("google", "gsuite"),
            AccountKind::ApplicationCalendar => ("cronofy", "cronofy"),
        };
        let profile_id = format!("pro_{}", alnum_id(10));
        self.profiles.push(ProfileRow {
            id: profile_id.clone(),
            account_id: id.to_string(),
            name: email.to_string(),
            provider_name,
            provider_service,
            revoked: false,
        });
        self.calendars.push(CalendarRow {
            id: format!("cal_{}_{}", &profile_id[4..], alnum_id(11)),
            profile_id,
            account_id: id.to_string(),
            name: email.to_string(),
            readonly: false,
            deleted: false,
            primary: true,
            permission_level: "sandbox".into(),
        });
    }

    /// Adds a (non-primary) calendar to the first profile of an account.
    fn seed_calendar(&mut self, account_id: &str, name: &str) -> Result<String> {
        let profile_id = self
            .profiles
            .iter()
            .find(|p| p.account_id == account_id)
            .map(|p| p.id.clone())
            .ok_or_else(|| unknown("account", account_id))?;
        if self
            .calendars
            .iter()
            .any(|c| c.profile_id == profile_id && c.name == name && !c.deleted)
        {
            return Err(config(&format!(
                "account `{account_id}` already has a calendar named `{name}`"
            )));
        }
        let id = format!("cal_{}_{}", &profile_id[4..], alnum_id(11));
        self.calendars.push(CalendarRow {
            id: id.clone(),
            profile_id,
            account_id: account_id.to_string(),
            name: name.to_string(),
            readonly: false,
            deleted: false,
            primary: false,
            permission_level: "sandbox".into(),
        });
        Ok(id)
    }

    fn profile_visible(&self, profile_id: &str) -> bool {
        self.profiles
            .iter()
            .any(|p| p.id == profile_id && !p.revoked)
    }

    /// The calendars of an account the application can see.
    fn visible_calendars(&self, account_id: &str) -> Vec<&CalendarRow> {
        self.calendars
            .iter()
            .filter(|c| c.account_id == account_id && self.profile_visible(&c.profile_id))
            .collect()
    }

    /// A calendar of the account, else 404.
    fn own_calendar(
        &self,
        account_id: &str,
        calendar_id: &str,
    ) -> std::result::Result<&CalendarRow, ApiErr> {
        self.visible_calendars(account_id)
            .into_iter()
            .find(|c| c.id == calendar_id)
            .ok_or_else(ApiErr::not_found)
    }

    /// A calendar the account can write to: 404 unknown, 403 read-only, 422 deleted.
    fn writable_calendar(
        &self,
        account_id: &str,
        calendar_id: &str,
    ) -> std::result::Result<&CalendarRow, ApiErr> {
        let calendar = self.own_calendar(account_id, calendar_id)?;
        if calendar.deleted {
            return Err(unprocessable(
                "calendar_id",
                "errors.calendar_deleted",
                "calendar_id refers to a deleted calendar",
            ));
        }
        if calendar.readonly {
            return Err(ApiErr::status(StatusCode::FORBIDDEN));
        }
        Ok(calendar)
    }

    fn issue_code(&mut self, account_id: &str, redirect_uri: &str, scope: &str) -> String {
        let code = alnum_id(32);
        self.codes.insert(
            code.clone(),
            CodeRow {
                account_id: account_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                scope: scope.to_string(),
                expires_at: from_now(CODE_TTL),
            },
        );
        code
    }

    /// Counts a request against the rate limit: 429 beyond it.
    fn rate_check(&mut self, config: &Config) -> std::result::Result<(), ApiErr> {
        let Some(limit) = config.rate_limit else {
            return Ok(());
        };
        let elapsed = self.rate.started.elapsed();
        if elapsed >= config.rate_window {
            self.rate = RateWindow::new();
        }
        self.rate.count += 1;
        if self.rate.count <= limit {
            return Ok(());
        }
        let left = config
            .rate_window
            .saturating_sub(self.rate.started.elapsed());
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Err(ApiErr::rate_limited(secs.max(1)))
    }
}

// ------------------------------------------------------------------------------------------
// Answers and errors
// ------------------------------------------------------------------------------------------

/// A successful answer.
enum Answer {
    /// JSON with a status (200, or 207 for batches).
    Json(StatusCode, Value),
    /// 202 with an empty body (writes).
    Accepted,
    /// 200 with an empty body (revocation).
    Empty,
}

type Outcome = std::result::Result<Answer, ApiErr>;

/// An error answer: a status, maybe a JSON body, maybe headers.
#[derive(Debug)]
struct ApiErr {
    status: StatusCode,
    body: Option<Value>,
    retry_after: Option<u64>,
}

impl ApiErr {
    /// A status with an empty body (Cronofy documents no body for 401, 403,
    /// 404 and 429).
    fn status(status: StatusCode) -> Self {
        ApiErr {
            status,
            body: None,
            retry_after: None,
        }
    }

    fn unauthorized() -> Self {
        Self::status(StatusCode::UNAUTHORIZED)
    }

    fn not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND)
    }

    fn rate_limited(retry_after: u64) -> Self {
        ApiErr {
            retry_after: Some(retry_after),
            ..Self::status(StatusCode::TOO_MANY_REQUESTS)
        }
    }

    /// The body of a 422, for batch entries.
    fn errors(&self) -> Option<types::Error> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::from_value(b.clone()).ok())
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => (
                self.status,
                [(header::CONTENT_TYPE, JSON)],
                serde_json::to_vec(body).unwrap_or_default(),
            )
                .into_response(),
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

const JSON: &str = "application/json; charset=utf-8";

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(Answer::Json(status, body)) => (
            status,
            [(header::CONTENT_TYPE, JSON)],
            serde_json::to_vec(&body).unwrap_or_default(),
        )
            .into_response(),
        Ok(Answer::Accepted) => StatusCode::ACCEPTED.into_response(),
        Ok(Answer::Empty) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::debug!(status = %e.status, body = ?e.body, "cronofy sandbox refused a request");
            e.into_response()
        }
    }
}

fn ok(body: Value) -> Outcome {
    Ok(Answer::Json(StatusCode::OK, body))
}

/// A 422 with one error on one field.
fn unprocessable(field: &str, key: &str, description: impl Into<String>) -> ApiErr {
    let description: String = description.into();
    ApiErr {
        body: Some(json!({"errors": {field: [{"key": key, "description": description}]}})),
        ..ApiErr::status(StatusCode::UNPROCESSABLE_ENTITY)
    }
}

/// 422 `errors.required`: "`<field>` must be specified".
fn required(field: &str) -> ApiErr {
    unprocessable(
        field,
        "errors.required",
        format!("{field} must be specified"),
    )
}

/// 422 `errors.invalid`.
fn invalid(field: &str, description: impl Into<String>) -> ApiErr {
    unprocessable(field, "errors.invalid", description)
}

/// 400 with an RFC 6749 error code, as the OAuth endpoints answer.
fn oauth_error(code: &str, description: &str) -> ApiErr {
    ApiErr {
        body: Some(json!({"error": code, "error_description": description})),
        ..ApiErr::status(StatusCode::BAD_REQUEST)
    }
}

fn bad_json() -> ApiErr {
    oauth_error("invalid_request", "the request body is not valid JSON")
}

fn server_error(e: impl fmt::Display) -> ApiErr {
    tracing::warn!(error = %e, "cronofy sandbox failed");
    ApiErr::status(StatusCode::INTERNAL_SERVER_ERROR)
}

// ------------------------------------------------------------------------------------------
// Request parsing
// ------------------------------------------------------------------------------------------

/// A JSON body; nothing at all reads as `{}`.
fn parse_body(bytes: &[u8]) -> std::result::Result<Value, ApiErr> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|_| bad_json())
}

/// A query string; `key[]` and repeated keys are arrays.
#[derive(Default)]
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        Query {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key[]` (or of a repeated `key`).
    fn all(&self, key: &str) -> Vec<String> {
        let bracketed = format!("{key}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| *k == bracketed || k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean flag (`true` or `false`), default false; 422 otherwise.
    fn flag(&self, key: &str) -> std::result::Result<bool, ApiErr> {
        match self.get(key) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid(key, format!("{key} must be true or false"))),
        }
    }

    /// A date (`2025-01-20`; a UTC time is accepted, as the SDKs send one).
    fn date(&self, key: &str) -> std::result::Result<Option<NaiveDate>, ApiErr> {
        let Some(raw) = self.get(key) else {
            return Ok(None);
        };
        if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            return Ok(Some(d));
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Some(t.with_timezone(&Utc).date_naive()))
            .map_err(|_| invalid(key, format!("{key} must be a date such as 2025-01-20")))
    }

    /// A time zone, `None` when absent.
    fn tzid(&self, key: &str) -> std::result::Result<Option<chrono_tz::Tz>, ApiErr> {
        self.get(key).map(|raw| tz(key, raw)).transpose()
    }
}

/// An IANA time zone, else 422 on `field`.
fn tz(field: &str, raw: &str) -> std::result::Result<chrono_tz::Tz, ApiErr> {
    raw.parse::<chrono_tz::Tz>()
        .map_err(|_| invalid(field, format!("{field} is not a known time zone")))
}

/// Percent-decodes one path segment.
fn decode_segment(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks `body` against the JSON Schema of the generated type `T`, then
/// decodes it: the first violation becomes a 422 naming the field.
fn decode<T: schemars::JsonSchema + DeserializeOwned>(
    body: &Value,
) -> std::result::Result<T, ApiErr> {
    if let Some((path, message)) = schema_violation::<T>(body) {
        return Err(schema_error(&path, &message));
    }
    let bytes = serde_json::to_vec(body).map_err(server_error)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let path = crate::runtime::json_path::at_error(&bytes, &e);
        let field = field_of_json_path(&path);
        invalid(&field, format!("{field} is invalid"))
    })
}

/// `$.participants[0].required` → `participants.0.required`.
fn field_of_json_path(path: &str) -> String {
    let field = path
        .trim_start_matches('$')
        .replace('[', ".")
        .replace(']', "");
    let field = field.trim_matches('.');
    if field.is_empty() {
        "request".to_string()
    } else {
        field.to_string()
    }
}

/// The 422 of a JSON Schema violation at `path` (a JSON pointer).
fn schema_error(path: &str, message: &str) -> ApiErr {
    let mut segments: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    if let Some(property) = message.strip_suffix(" is a required property") {
        segments.push(property.trim_matches('"').to_string());
        return required(&segments.join("."));
    }
    let field = if segments.is_empty() {
        "request".to_string()
    } else {
        segments.join(".")
    };
    let description = if let Some((_, kind)) = message.split_once(" is not of type ") {
        format!("{field} must be of type {}", kind.replace('"', ""))
    } else if let Some((_, values)) = message.split_once(" is not one of ") {
        format!("{field} must be one of {}", values.replace('"', ""))
    } else if let Some((_, min)) = message.split_once(" is less than the minimum of ") {
        format!("{field} must be at least {min}")
    } else if let Some((_, rest)) = message.split_once(" has more than ") {
        format!("{field} must have at most {rest}")
    } else if let Some((_, rest)) = message.split_once(" has less than ") {
        format!("{field} must have at least {rest}")
    } else if message.contains("is longer than") {
        let n = message.rsplit(' ').nth(1).unwrap_or("the maximum");
        format!("{field} is too long (at most {n} characters)")
    } else {
        format!("{field} is invalid")
    };
    invalid(&field, description)
}

/// A string field longer than `max` characters: 422 `errors.too_long`.
fn too_long(body: &Value, field: &str, max: usize) -> std::result::Result<(), ApiErr> {
    match body.get(field).and_then(Value::as_str) {
        Some(s) if s.chars().count() > max => Err(unprocessable(
            field,
            "errors.too_long",
            format!("{field} is too long (at most {max} characters)"),
        )),
        _ => Ok(()),
    }
}

fn web_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// 422 on `field` unless `raw` is an http(s) URL.
fn check_web_url(field: &str, raw: &str) -> std::result::Result<(), ApiErr> {
    if web_url(raw) {
        return Ok(());
    }
    let name = field.rsplit('.').next().unwrap_or(field);
    Err(invalid(
        field,
        format!("{name} must be an http or https URL"),
    ))
}

// ------------------------------------------------------------------------------------------
// Times and identifiers
// ------------------------------------------------------------------------------------------

/// Now plus `d`, at the latest the end of time.
fn from_now(d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn minutes(n: u64) -> chrono::Duration {
    chrono::Duration::minutes(i64::try_from(n).unwrap_or(i64::MAX / 60_000))
}

/// `2014-09-08T15:30:00Z`.
fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Midnight of `date` in `tz`, as a UTC instant.
fn day_start(date: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

fn parse_tz(raw: &str) -> chrono_tz::Tz {
    raw.parse().unwrap_or(chrono_tz::UTC)
}

impl When {
    /// The instant this boundary stands for in `tzid` (midnight for dates).
    fn instant(self, tzid: &str) -> DateTime<Utc> {
        match self {
            When::Instant(t) => t,
            When::Day(d) => day_start(d, parse_tz(tzid)),
        }
    }

    /// As Cronofy answers it: a UTC string, a date, or with `localized`
    /// a `{time, tzid}` object in the event's zone.
    fn to_json(self, tzid: &str, localized: bool) -> Value {
        match (self, localized) {
            (When::Instant(t), false) => json!(fmt_utc(t)),
            (When::Day(d), false) => json!(d.to_string()),
            (When::Instant(t), true) => json!({
                "time": t.with_timezone(&parse_tz(tzid)).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                "tzid": tzid,
            }),
            (When::Day(d), true) => json!({"time": d.to_string(), "tzid": tzid}),
        }
    }
}

/// A request's event time with the zone it names, if it names one.
fn when_of(
    field: &str,
    time: &types::EventTime,
) -> std::result::Result<(When, Option<String>), ApiErr> {
    Ok(match time {
        types::EventTime::UtcDateTime(t) => (When::Instant(t.0), None),
        types::EventTime::CalendarDate(d) => (When::Day(d.0), None),
        types::EventTime::LocalizedTime(l) => {
            tz(&format!("{field}.tzid"), &l.tzid)?;
            let when = match &l.time {
                types::DateOrDateTime::UtcDateTime(t) => When::Instant(t.0),
                types::DateOrDateTime::CalendarDate(d) => When::Day(d.0),
            };
            (when, Some(l.tzid.clone()))
        }
    })
}

/// Start and end of one kind, end after start.
fn check_period(start: When, end: When) -> std::result::Result<(), ApiErr> {
    match (start, end) {
        (When::Instant(s), When::Instant(e)) if e > s => Ok(()),
        (When::Day(s), When::Day(e)) if e > s => Ok(()),
        (When::Instant(_), When::Instant(_)) | (When::Day(_), When::Day(_)) => {
            Err(invalid("end", "end must be after start"))
        }
        _ => Err(invalid(
            "end",
            "start and end must both be times or both be dates",
        )),
    }
}

/// Minutes of a `{minutes, hours}` duration.
fn duration_minutes(d: &types::Duration) -> u64 {
    d.hours
        .unwrap_or(0)
        .saturating_mul(60)
        .saturating_add(d.minutes.unwrap_or(0))
}

/// Minutes of a buffer side (the `minimum` of a range).
fn buffer_minutes(side: Option<&types::BufferSide>) -> u64 {
    side.map_or(0, |s| match &s.minimum {
        Some(min) => duration_minutes(min),
        None => s
            .hours
            .unwrap_or(0)
            .saturating_mul(60)
            .saturating_add(s.minutes.unwrap_or(0)),
    })
}

fn hex_id(len: usize) -> String {
    (0..len)
        .map(|_| {
            let n = fastrand::u8(0..16);
            char::from_digit(u32::from(n), 16).unwrap_or('0')
        })
        .collect()
}

fn alnum_id(len: usize) -> String {
    (0..len).map(|_| fastrand::alphanumeric()).collect()
}

/// `Base64(HMAC-SHA256(client secret, body))`.
fn sign(secret: &Secret, body: &[u8]) -> String {
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

// ------------------------------------------------------------------------------------------
// Periods of time
// ------------------------------------------------------------------------------------------

type Span = (DateTime<Utc>, DateTime<Utc>);

/// Sorted, merged, non-empty spans.
fn normalize(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|(s, e)| e > s);
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(s1, e1) in a {
        for &(s2, e2) in b {
            let (s, e) = (s1.max(s2), e1.min(e2));
            if e > s {
                out.push((s, e));
            }
        }
    }
    normalize(out)
}

fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(mut s, e) in a {
        for &(bs, be) in b {
            if be <= s || bs >= e {
                continue;
            }
            if bs > s {
                out.push((s, bs));
            }
            s = s.max(be);
        }
        if e > s {
            out.push((s, e));
        }
    }
    normalize(out)
}

fn covers(spans: &[Span], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    spans.iter().any(|&(s, e)| s <= start && end <= e)
}

/// The first multiple of `step` (from the Unix epoch) at or after `t`.
fn align_up(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    let step_s = step.num_seconds().max(60);
    let secs = t.timestamp();
    let aligned = secs + (step_s - secs.rem_euclid(step_s)) % step_s;
    DateTime::from_timestamp(aligned, 0).unwrap_or(t)
}

// ------------------------------------------------------------------------------------------
// OAuth
// ------------------------------------------------------------------------------------------

impl Store {
    /// The bearer token's caller, checked against the operation's schemes.
    fn authenticate(
        &self,
        config: &Config,
        operation: &str,
        headers: &HeaderMap,
    ) -> std::result::Result<Caller, ApiErr> {
        let schemes = spec::SECURITY
            .iter()
            .find(|(op, _)| *op == operation)
            .map_or(&["oauth2"][..], |(_, s)| s);
        if schemes.is_empty() {
            return Ok(Caller::Anonymous);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(kind, _)| kind.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(ApiErr::unauthorized)?;
        for scheme in schemes {
            match *scheme {
                "client_secret" if bearer == config.client_secret.expose() => {
                    return Ok(Caller::App);
                }
                "oauth2" => {
                    let Some(access) = self.access_tokens.get(bearer) else {
                        continue;
                    };
                    if access.expires_at <= Utc::now() {
                        return Err(ApiErr::unauthorized());
                    }
                    let Some(auth) = self.authorizations.get(&access.authorization) else {
                        continue;
                    };
                    return Ok(Caller::Account {
                        account_id: auth.account_id.clone(),
                        scope: auth.scope.clone(),
                    });
                }
                _ => {}
            }
        }
        Err(ApiErr::unauthorized())
    }

    /// A new authorization of `account_id` with its first tokens.
    fn authorize_account(
        &mut self,
        config: &Config,
        account_id: &str,
        scope: &str,
    ) -> (u64, Value) {
        let id = self.next_id();
        self.authorizations.insert(
            id,
            AuthorizationRow {
                account_id: account_id.to_string(),
                scope: scope.to_string(),
            },
        );
        let refresh = alnum_id(32);
        self.refresh_tokens.insert(refresh.clone(), id);
        let answer = self.issue_access(config, id, &refresh);
        (id, answer)
    }

    /// A new access token of authorization `id`, answered with `refresh`.
    fn issue_access(&mut self, config: &Config, id: u64, refresh: &str) -> Value {
        let access = alnum_id(32);
        self.access_tokens.insert(
            access.clone(),
            AccessRow {
                authorization: id,
                expires_at: from_now(config.access_token_ttl),
            },
        );
        let scope = self
            .authorizations
            .get(&id)
            .map(|a| a.scope.clone())
            .unwrap_or_default();
        json!({
            "token_type": "bearer",
            "access_token": access,
            "expires_in": config.access_token_ttl.as_secs().min(MAX_EXPIRES_IN),
            "refresh_token": refresh,
            "scope": scope,
        })
    }

    /// The `linking_profile` of an account's first profile.
    fn linking_profile(&self, account_id: &str) -> Value {
        self.profiles
            .iter()
            .find(|p| p.account_id == account_id)
            .map_or(Value::Null, |p| {
                json!({
                    "provider_name": p.provider_name,
                    "provider_service": p.provider_service,
                    "profile_id": p.id,
                    "profile_name": p.name,
                })
            })
    }

    /// 400 `invalid_client` unless the body carries the registered credentials.
    fn check_client(config: &Config, body: &Value) -> std::result::Result<(), ApiErr> {
        let id = body.get("client_id").and_then(Value::as_str);
        let secret = body.get("client_secret").and_then(Value::as_str);
        if id == Some(config.client_id.as_str()) && secret == Some(config.client_secret.expose()) {
            Ok(())
        } else {
            Err(oauth_error(
                "invalid_client",
                "the client_id and client_secret are not recognised",
            ))
        }
    }

    /// `POST /oauth/token`.
    fn token(&mut self, ctx: &Ctx<'_>, body: &Value, refreshes: &AtomicU64) -> Outcome {
        let config = ctx.config;
        let grant = body.get("grant_type").and_then(Value::as_str);
        let missing = match grant {
            Some("authorization_code") => schema_violation::<types::AuthorizationCodeGrant>(body),
            Some("refresh_token") => schema_violation::<types::RefreshTokenGrant>(body),
            Some(_) => {
                return Err(oauth_error(
                    "unsupported_grant_type",
                    "grant_type must be authorization_code or refresh_token",
                ));
            }
            None => {
                return Err(oauth_error(
                    "invalid_request",
                    "grant_type must be specified",
                ));
            }
        };
        if let Some((_, message)) = missing {
            let description = match message.strip_suffix(" is a required property") {
                Some(p) => format!("{} must be specified", p.trim_matches('"')),
                None => "the token request is malformed".to_string(),
            };
            return Err(oauth_error("invalid_request", &description));
        }
        Self::check_client(config, body)?;
        let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
        if grant == Some("authorization_code") {
            let code = text("code");
            let now = Utc::now();
            let usable = self.codes.get(code).is_some_and(|c| {
                c.expires_at > now
                    && c.redirect_uri == text("redirect_uri")
                    && self.account(&c.account_id).is_some()
            });
            let row = match self.codes.remove(code) {
                Some(row) if usable => row,
                Some(row) => {
                    // A wrong redirect_uri does not use the code up.
                    if row.expires_at > now {
                        self.codes.insert(code.to_string(), row);
                    }
                    return Err(oauth_error(
                        "invalid_grant",
                        "the code is expired, or the redirect_uri does not match",
                    ));
                }
                None => {
                    return Err(oauth_error(
                        "invalid_grant",
                        "the code is unknown or was already used",
                    ));
                }
            };
            let (_, mut answer) = self.authorize_account(config, &row.account_id, &row.scope);
            answer["account_id"] = json!(row.account_id);
            answer["sub"] = json!(row.account_id);
            answer["linking_profile"] = self.linking_profile(&row.account_id);
            return ok(answer);
        }
        let old = text("refresh_token");
        let Some(&id) = self.refresh_tokens.get(old) else {
            return Err(oauth_error(
                "invalid_grant",
                "the refresh token is unknown, revoked or rotated",
            ));
        };
        let refresh = if config.rotate_refresh_tokens {
            self.refresh_tokens.remove(old);
            let fresh = alnum_id(32);
            self.refresh_tokens.insert(fresh.clone(), id);
            fresh
        } else {
            old.to_string()
        };
        refreshes.fetch_add(1, Ordering::Relaxed);
        ok(self.issue_access(config, id, &refresh))
    }

    /// Removes every token of authorization `id`.
    fn revoke(&mut self, id: u64) {
        self.authorizations.remove(&id);
        self.access_tokens.retain(|_, a| a.authorization != id);
        self.refresh_tokens.retain(|_, a| *a != id);
    }

    /// `POST /oauth/token/revoke`: by token (access or refresh), else by sub.
    fn revoke_authorization(&mut self, config: &Config, body: &Value) -> Outcome {
        Self::check_client(config, body)?;
        if let Some(token) = body.get("token").and_then(Value::as_str) {
            let id = self
                .refresh_tokens
                .get(token)
                .copied()
                .or_else(|| self.access_tokens.get(token).map(|a| a.authorization));
            if let Some(id) = id {
                self.revoke(id);
            }
            return Ok(Answer::Empty);
        }
        let Some(sub) = body.get("sub").and_then(Value::as_str) else {
            return Err(oauth_error(
                "invalid_request",
                "token or sub must be specified",
            ));
        };
        let ids: Vec<u64> = self
            .authorizations
            .iter()
            .filter(|(_, a)| a.account_id == sub)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.revoke(id);
        }
        Ok(Answer::Empty)
    }

    /// `GET /oauth/authorize`: the URL to redirect the browser to, or a page
    /// saying why not (never a redirect to an unregistered URI).
    fn authorize_page(
        &mut self,
        config: &Config,
        query: &Query,
    ) -> std::result::Result<String, (StatusCode, String)> {
        let refuse = |why: &str| Err((StatusCode::BAD_REQUEST, why.to_string()));
        if query.get("client_id") != Some(config.client_id.as_str()) {
            return refuse("Unknown client_id.");
        }
        let Some(redirect_uri) = query.get("redirect_uri") else {
            return refuse("redirect_uri must be given.");
        };
        let registered = if config.redirect_uris.is_empty() {
            web_url(redirect_uri)
        } else {
            config.redirect_uris.iter().any(|u| u == redirect_uri)
        };
        if !registered {
            return refuse("The redirect_uri is not registered for this application.");
        }
        let Ok(mut target) = url::Url::parse(redirect_uri) else {
            return refuse("The redirect_uri is not a URL.");
        };
        let scope = query.get("scope").unwrap_or("").trim().to_string();
        let error = if query.get("response_type") != Some("code") {
            Some("unsupported_response_type")
        } else if scope.is_empty() {
            Some("invalid_scope")
        } else {
            None
        };
        let account = self.signed_in.clone();
        {
            let mut pairs = target.query_pairs_mut();
            match (error, account) {
                (Some(error), _) => {
                    pairs.append_pair("error", error);
                }
                (None, None) => {
                    pairs.append_pair("error", "access_denied");
                }
                (None, Some(account)) => {
                    let code = self.issue_code(&account, redirect_uri, &scope);
                    pairs.append_pair("code", &code);
                }
            }
            if let Some(state) = query.get("state") {
                pairs.append_pair("state", state);
            }
        }
        Ok(target.into())
    }

    /// `POST /v1/application_calendars`: the same calendar for the same id,
    /// with fresh tokens.
    fn application_calendar(&mut self, config: &Config, body: &Value) -> Outcome {
        let request: types::ApplicationCalendarRequest = decode(body)?;
        Self::check_client(config, body)?;
        if request.application_calendar_id.trim().is_empty() {
            return Err(invalid(
                "application_calendar_id",
                "application_calendar_id must not be blank",
            ));
        }
        let existing = self
            .accounts
            .iter()
            .find(|a| {
                a.application_calendar_id.as_deref() == Some(&request.application_calendar_id)
            })
            .map(|a| a.id.clone());
        let sub = match existing {
            Some(sub) => sub,
            None => {
                let sub = format!("apc_{}", hex_id(24));
                let email = format!("{}@application.cronofy.invalid", hex_id(10));
                self.add_account(&sub, &email, AccountKind::ApplicationCalendar);
                if let Some(a) = self.accounts.iter_mut().find(|a| a.id == sub) {
                    a.application_calendar_id = Some(request.application_calendar_id.clone());
                    a.name = request.application_calendar_id.clone();
                }
                sub
            }
        };
        let (_, mut answer) = self.authorize_account(config, &sub, "read_write");
        answer["sub"] = json!(sub);
        answer["application_calendar_id"] = json!(request.application_calendar_id);
        answer["linking_profile"] = self.linking_profile(&sub);
        ok(answer)
    }
}

// ------------------------------------------------------------------------------------------
// Routing
// ------------------------------------------------------------------------------------------

/// An operation of `/v1`, with its path parameters.
enum Route {
    Account,
    Userinfo,
    Profiles,
    RevokeProfile(String),
    Permissions,
    LinkToken,
    ApplicationCalendar,
    Calendars,
    CreateCalendar,
    ReadEvents,
    BulkDeleteEvents,
    EventsPage(String),
    FreeBusy,
    FreeBusyPage(String),
    UpsertEvent(String),
    DeleteEvent(String),
    ParticipationStatus(String, String),
    CreateChannel,
    ListChannels,
    CloseChannel(String),
    Availability,
    SequencedAvailability,
    ListRules,
    UpsertRule,
    GetRule(String),
    DeleteRule(String),
    UpsertPeriod,
    ListPeriods,
    DeletePeriod,
    PeriodsPage(String),
    CreateRts,
    RtsByToken,
    GetRts(String),
    DisableRts(String),
    ElementToken,
    Batch,
    RealTimeSequencing,
    AddToCalendar,
    UpsertSmartInvite,
    GetSmartInvite,
    CreateBookableEvent,
    GetBookableEvent(String),
    UpsertRegistration(String),
    DeleteRegistration(String, String),
    ServiceAccountAuthorization,
    DelegatedAuthorization,
    ConferencingAuthorization,
    Resources,
    AccessibleCalendars,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Option<Route> {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(decode_segment)
            .collect();
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let (get, post, delete) = (
            method == Method::GET,
            method == Method::POST,
            method == Method::DELETE,
        );
        let one = |v: &str| v.to_string();
        Some(match s.as_slice() {
            ["v1", "account"] if get => Route::Account,
            ["v1", "userinfo"] if get => Route::Userinfo,
            ["v1", "profiles"] if get => Route::Profiles,
            ["v1", "profiles", id, "revoke"] if post => Route::RevokeProfile(one(id)),
            ["v1", "permissions"] if post => Route::Permissions,
            ["v1", "link_tokens"] if post => Route::LinkToken,
            ["v1", "application_calendars"] if post => Route::ApplicationCalendar,
            ["v1", "calendars"] if get => Route::Calendars,
            ["v1", "calendars"] if post => Route::CreateCalendar,
            ["v1", "events"] if get => Route::ReadEvents,
            ["v1", "events"] if delete => Route::BulkDeleteEvents,
            ["v1", "events", "pages", t] if get => Route::EventsPage(one(t)),
            ["v1", "free_busy"] if get => Route::FreeBusy,
            ["v1", "free_busy", "pages", t] if get => Route::FreeBusyPage(one(t)),
            ["v1", "calendars", c, "events"] if post => Route::UpsertEvent(one(c)),
            ["v1", "calendars", c, "events"] if delete => Route::DeleteEvent(one(c)),
            ["v1", "calendars", c, "events", u, "participation_status"] if post => {
                Route::ParticipationStatus(one(c), one(u))
            }
            ["v1", "channels"] if post => Route::CreateChannel,
            ["v1", "channels"] if get => Route::ListChannels,
            ["v1", "channels", id] if delete => Route::CloseChannel(one(id)),
            ["v1", "availability"] if post => Route::Availability,
            ["v1", "sequenced_availability"] if post => Route::SequencedAvailability,
            ["v1", "availability_rules"] if get => Route::ListRules,
            ["v1", "availability_rules"] if post => Route::UpsertRule,
            ["v1", "availability_rules", id] if get => Route::GetRule(one(id)),
            ["v1", "availability_rules", id] if delete => Route::DeleteRule(one(id)),
            ["v1", "available_periods"] if post => Route::UpsertPeriod,
            ["v1", "available_periods"] if get => Route::ListPeriods,
            ["v1", "available_periods"] if delete => Route::DeletePeriod,
            ["v1", "available_periods", "pages", t] if get => Route::PeriodsPage(one(t)),
            ["v1", "real_time_scheduling"] if post => Route::CreateRts,
            ["v1", "real_time_scheduling"] if get => Route::RtsByToken,
            ["v1", "real_time_scheduling", id] if get => Route::GetRts(one(id)),
            ["v1", "real_time_scheduling", id, "disable"] if post => Route::DisableRts(one(id)),
            ["v1", "element_tokens"] if post => Route::ElementToken,
            ["v1", "batch"] if post => Route::Batch,
            ["v1", "service_account_authorizations"] if post => Route::ServiceAccountAuthorization,
            ["v1", "delegated_authorizations"] if post => Route::DelegatedAuthorization,
            ["v1", "conferencing_service_authorizations"] if post => {
                Route::ConferencingAuthorization
            }
            ["v1", "resources"] if get => Route::Resources,
            ["v1", "accessible_calendars"] if get => Route::AccessibleCalendars,
            ["v1", "real_time_sequencing"] if post => Route::RealTimeSequencing,
            ["v1", "add_to_calendar"] if post => Route::AddToCalendar,
            ["v1", "smart_invites"] if post => Route::UpsertSmartInvite,
            ["v1", "smart_invites"] if get => Route::GetSmartInvite,
            ["v1", "bookable_events"] if post => Route::CreateBookableEvent,
            ["v1", "bookable_events", id] if get => Route::GetBookableEvent(one(id)),
            ["v1", "bookable_events", id, "registrations"] if post => {
                Route::UpsertRegistration(one(id))
            }
            ["v1", "bookable_events", id, "registrations", r] if delete => {
                Route::DeleteRegistration(one(id), one(r))
            }
            _ => return None,
        })
    }

    /// The operationId, for the spec's security schemes.
    fn operation(&self) -> &'static str {
        match self {
            Route::Account => "get_account",
            Route::Userinfo => "get_userinfo",
            Route::Profiles => "list_profiles",
            Route::RevokeProfile(_) => "revoke_profile",
            Route::Permissions => "request_elevated_permissions",
            Route::LinkToken => "create_link_token",
            Route::ApplicationCalendar => "create_application_calendar",
            Route::Calendars => "list_calendars",
            Route::CreateCalendar => "create_calendar",
            Route::ReadEvents => "read_events",
            Route::BulkDeleteEvents => "bulk_delete_events",
            Route::EventsPage(_) => "read_events_page",
            Route::FreeBusy => "read_free_busy",
            Route::FreeBusyPage(_) => "read_free_busy_page",
            Route::UpsertEvent(_) => "upsert_event",
            Route::DeleteEvent(_) => "delete_event",
            Route::ParticipationStatus(..) => "change_participation_status",
            Route::CreateChannel => "create_channel",
            Route::ListChannels => "list_channels",
            Route::CloseChannel(_) => "close_channel",
            Route::Availability => "query_availability",
            Route::SequencedAvailability => "query_sequenced_availability",
            Route::ListRules => "list_availability_rules",
            Route::UpsertRule => "upsert_availability_rule",
            Route::GetRule(_) => "get_availability_rule",
            Route::DeleteRule(_) => "delete_availability_rule",
            Route::UpsertPeriod => "upsert_available_period",
            Route::ListPeriods => "list_available_periods",
            Route::DeletePeriod => "delete_available_period",
            Route::PeriodsPage(_) => "list_available_periods_page",
            Route::CreateRts => "create_real_time_scheduling",
            Route::RtsByToken => "get_real_time_scheduling_by_token",
            Route::GetRts(_) => "get_real_time_scheduling",
            Route::DisableRts(_) => "disable_real_time_scheduling",
            Route::ElementToken => "create_element_token",
            Route::Batch => "batch",
            Route::RealTimeSequencing => "create_real_time_sequencing",
            Route::AddToCalendar => "add_to_calendar",
            Route::UpsertSmartInvite => "upsert_smart_invite",
            Route::GetSmartInvite => "get_smart_invite",
            Route::CreateBookableEvent => "create_bookable_event",
            Route::GetBookableEvent(_) => "get_bookable_event",
            Route::UpsertRegistration(_) => "upsert_bookable_event_registration",
            Route::DeleteRegistration(..) => "delete_bookable_event_registration",
            Route::ServiceAccountAuthorization => "authorize_with_service_account",
            Route::DelegatedAuthorization => "create_delegated_authorization",
            Route::ConferencingAuthorization => "create_conferencing_service_authorization",
            Route::Resources => "list_resources",
            Route::AccessibleCalendars => "list_accessible_calendars",
        }
    }

    /// Whether a batch entry may be this operation.
    fn batchable(&self) -> bool {
        matches!(
            self,
            Route::UpsertEvent(_)
                | Route::DeleteEvent(_)
                | Route::UpsertPeriod
                | Route::DeletePeriod
        )
    }
}

impl Store {
    /// Runs an authenticated operation.
    fn run(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        route: Route,
        query: &Query,
        body: &Value,
    ) -> Outcome {
        match route {
            Route::Account => self.get_account(caller),
            Route::Userinfo => self.userinfo(caller),
            Route::Profiles => self.list_profiles(caller),
            Route::RevokeProfile(id) => self.revoke_profile(caller, &id),
            Route::Permissions => self.request_permissions(ctx, caller, body),
            Route::LinkToken => {
                caller.account()?;
                ok(json!({"link_token": alnum_id(32)}))
            }
            Route::ApplicationCalendar => self.application_calendar(ctx.config, body),
            Route::Calendars => self.list_calendars(caller),
            Route::CreateCalendar => self.create_calendar(caller, body),
            Route::ReadEvents => self.read_events(ctx, caller, query),
            Route::BulkDeleteEvents => self.bulk_delete_events(caller, body),
            Route::EventsPage(t) => self.page(ctx, caller, "events", &t),
            Route::FreeBusy => self.read_free_busy(ctx, caller, query),
            Route::FreeBusyPage(t) => self.page(ctx, caller, "free_busy", &t),
            Route::UpsertEvent(c) => self.upsert_event(caller, &c, body),
            Route::DeleteEvent(c) => self.delete_event(caller, &c, body),
            Route::ParticipationStatus(c, u) => self.participation_status(caller, &c, &u, body),
            Route::CreateChannel => self.create_channel(caller, body),
            Route::ListChannels => self.list_channels(caller),
            Route::CloseChannel(id) => self.close_channel(caller, &id),
            Route::Availability => self.query_availability(caller, body),
            Route::SequencedAvailability => self.query_sequenced_availability(caller, body),
            Route::ListRules => self.list_rules(caller),
            Route::UpsertRule => self.upsert_rule(caller, body),
            Route::GetRule(id) => self.get_rule(caller, &id),
            Route::DeleteRule(id) => self.delete_rule(caller, &id),
            Route::UpsertPeriod => self.upsert_period(caller, body),
            Route::ListPeriods => self.list_periods(ctx, caller, query),
            Route::DeletePeriod => self.delete_period(caller, body),
            Route::PeriodsPage(t) => self.page(ctx, caller, "available_periods", &t),
            Route::CreateRts => self.create_rts(ctx, body),
            Route::RtsByToken => {
                let token = query.get("token").ok_or_else(|| required("token"))?;
                let rts = self.rts.iter().find(|r| r.token == token);
                ok(rts.ok_or_else(ApiErr::not_found)?.to_json())
            }
            Route::GetRts(id) => {
                let rts = self.rts.iter().find(|r| r.id == id);
                ok(rts.ok_or_else(ApiErr::not_found)?.to_json())
            }
            Route::DisableRts(id) => self.disable_rts(&id, body),
            Route::ElementToken => element_token(body),
            Route::Batch => self.batch(ctx, caller, body),
            Route::RealTimeSequencing => self.create_real_time_sequencing(ctx, body),
            Route::AddToCalendar => self.add_to_calendar(ctx, body),
            Route::UpsertSmartInvite => self.upsert_smart_invite(body),
            Route::GetSmartInvite => self.get_smart_invite(query),
            Route::CreateBookableEvent => self.create_bookable_event(body),
            Route::GetBookableEvent(id) => ok(self.bookable_event(&id)?.to_json()),
            Route::UpsertRegistration(id) => self.upsert_registration(&id, body),
            Route::DeleteRegistration(id, r) => self.delete_registration(&id, &r),
            Route::ServiceAccountAuthorization => service_account_authorization(caller, body),
            Route::DelegatedAuthorization => self.delegated_authorization(caller, body),
            Route::ConferencingAuthorization => conferencing_authorization(ctx, caller, body),
            Route::Resources => self.list_resources(caller),
            Route::AccessibleCalendars => self.list_accessible_calendars(caller, query),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Identity, profiles, calendars, permissions
// ------------------------------------------------------------------------------------------

impl Store {
    fn calendar_json(&self, c: &CalendarRow) -> Value {
        let profile = self.profiles.iter().find(|p| p.id == c.profile_id);
        json!({
            "provider_name": profile.map(|p| p.provider_name),
            "profile_id": c.profile_id,
            "profile_name": profile.map(|p| p.name.clone()),
            "calendar_id": c.id,
            "calendar_name": c.name,
            "calendar_readonly": c.readonly,
            "calendar_deleted": c.deleted,
            "calendar_primary": c.primary,
            "calendar_integrated_conferencing_available": false,
            "calendar_attachments_available": false,
            "permission_level": c.permission_level,
        })
    }

    fn profile_json(p: &ProfileRow) -> Value {
        json!({
            "provider_name": p.provider_name,
            "provider_service": p.provider_service,
            "profile_id": p.id,
            "profile_name": p.name,
            "profile_connected": true,
            "profile_initial_sync_required": false,
        })
    }

    fn get_account(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let Caller::Account { scope, .. } = caller else {
            return Err(ApiErr::unauthorized());
        };
        let account = self.account(id).ok_or_else(ApiErr::unauthorized)?;
        ok(json!({
            "account": {
                "account_id": account.id,
                "email": account.email,
                "name": account.name,
                "scope": scope,
                "default_tzid": "Etc/UTC",
            },
            "sub": account.id,
        }))
    }

    fn userinfo(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let Caller::Account { scope, .. } = caller else {
            return Err(ApiErr::unauthorized());
        };
        let account = self.account(id).ok_or_else(ApiErr::unauthorized)?;
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .filter(|p| p.account_id == id && !p.revoked)
            .map(|p| {
                let mut profile = Self::profile_json(p);
                let calendars: Vec<Value> = self
                    .calendars
                    .iter()
                    .filter(|c| c.profile_id == p.id)
                    .map(|c| {
                        let mut c = self.calendar_json(c);
                        if let Some(map) = c.as_object_mut() {
                            for key in ["provider_name", "profile_id", "profile_name"] {
                                map.remove(key);
                            }
                        }
                        c
                    })
                    .collect();
                profile["profile_calendars"] = json!(calendars);
                profile
            })
            .collect();
        let kind = match account.kind {
            AccountKind::Account => "account",
            AccountKind::ApplicationCalendar => "application_calendar",
        };
        ok(json!({
            "sub": account.id,
            "email": account.email,
            "name": account.name,
            "zoneinfo": "Etc/UTC",
            "cronofy.type": kind,
            "cronofy.data": {
                "authorization": {"scope": scope, "status": "active"},
                "profiles": profiles,
            },
        }))
    }

    fn list_profiles(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .filter(|p| p.account_id == id && !p.revoked)
            .map(Self::profile_json)
            .collect();
        ok(json!({ "profiles": profiles }))
    }

    fn revoke_profile(&mut self, caller: &Caller, profile_id: &str) -> Outcome {
        let id = caller.account()?.to_string();
        let profile = self
            .profiles
            .iter_mut()
            .find(|p| p.id == profile_id && p.account_id == id && !p.revoked)
            .ok_or_else(ApiErr::not_found)?;
        profile.revoked = true;
        Ok(Answer::Accepted)
    }

    fn list_calendars(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let calendars: Vec<Value> = self
            .visible_calendars(id)
            .into_iter()
            .map(|c| self.calendar_json(c))
            .collect();
        ok(json!({ "sub": id, "calendars": calendars }))
    }

    fn create_calendar(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("create_calendar")?;
        let request: types::CalendarCreate = decode(body)?;
        if request.name.trim().is_empty() {
            return Err(invalid("name", "name must not be blank"));
        }
        if !self
            .profiles
            .iter()
            .any(|p| p.id == request.profile_id && p.account_id == account_id && !p.revoked)
        {
            return Err(invalid(
                "profile_id",
                "profile_id is not a profile of this account",
            ));
        }
        if self
            .calendars
            .iter()
            .any(|c| c.profile_id == request.profile_id && c.name == request.name && !c.deleted)
        {
            return Err(unprocessable(
                "name",
                "errors.duplicate_calendar_name",
                "a calendar with this name already exists",
            ));
        }
        let id = self
            .seed_calendar(&account_id, &request.name)
            .map_err(server_error)?;
        let calendar = self
            .calendars
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| server_error("the new calendar is missing"))?;
        ok(json!({ "calendar": self.calendar_json(calendar) }))
    }

    /// `POST /v1/permissions`: a page on the app host that grants the levels.
    fn request_permissions(&mut self, ctx: &Ctx<'_>, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        let request: types::ElevatedPermissionsRequest = decode(body)?;
        if request.permissions.is_empty() {
            return Err(required("permissions"));
        }
        let mut wanted = Vec::new();
        for (i, p) in request.permissions.iter().enumerate() {
            if self.own_calendar(&account_id, &p.calendar_id).is_err() {
                return Err(invalid(
                    &format!("permissions.{i}.calendar_id"),
                    "calendar_id is not a calendar of this account",
                ));
            }
            if !matches!(p.permission_level.as_str(), "unrestricted" | "sandbox") {
                return Err(invalid(
                    &format!("permissions.{i}.permission_level"),
                    "permission_level must be unrestricted or sandbox",
                ));
            }
            wanted.push((p.calendar_id.clone(), p.permission_level.clone()));
        }
        let redirect_uri = request.redirect_uri.clone();
        if let Some(uri) = &redirect_uri
            && !web_url(uri)
        {
            return Err(invalid(
                "redirect_uri",
                "redirect_uri is not an http or https URL",
            ));
        }
        let token = alnum_id(24);
        self.permission_requests.insert(
            token.clone(),
            PermissionRequest {
                account_id,
                calendar_ids: wanted,
                redirect_uri,
            },
        );
        ok(json!({"permissions_request": {"url": format!("{}/permissions/{token}", ctx.root)}}))
    }
}

/// `POST /v1/element_tokens`.
fn element_token(body: &Value) -> Outcome {
    let request: types::ElementTokenRequest = decode(body)?;
    if request.permissions.is_empty() {
        return Err(required("permissions"));
    }
    if !web_url(&request.origin) {
        return Err(invalid("origin", "origin must be an http or https origin"));
    }
    ok(json!({
        "element_token": {
            "permissions": request.permissions,
            "origin": request.origin,
            "token": alnum_id(32),
            "expires_in": ELEMENT_TOKEN_TTL,
        }
    }))
}

// ------------------------------------------------------------------------------------------
// Events
// ------------------------------------------------------------------------------------------

impl EventRow {
    fn managed(&self) -> bool {
        self.event_id.is_some()
    }

    fn start_instant(&self) -> DateTime<Utc> {
        self.start.instant(&self.tzid)
    }

    fn end_instant(&self) -> DateTime<Utc> {
        self.end.instant(&self.tzid)
    }

    /// Whether the event makes its calendar's owner busy.
    fn busy(&self) -> bool {
        !self.deleted
            && self.transparency != "transparent"
            && self.status != "cancelled"
            && self.participation_status != "declined"
    }

    fn free_busy_status(&self) -> &'static str {
        if self.transparency == "transparent" {
            "free"
        } else if self.status == "tentative" || self.participation_status == "tentative" {
            "tentative"
        } else {
            "busy"
        }
    }
}

/// What Read Events and Free Busy select.
struct Selection {
    calendars: BTreeSet<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// From and to of unmanaged events when none were given.
    default_from: DateTime<Utc>,
    default_to: DateTime<Utc>,
    include_managed: bool,
    only_managed: bool,
    include_deleted: bool,
    last_modified: Option<DateTime<Utc>>,
}

impl Selection {
    fn wants(&self, e: &EventRow) -> bool {
        if !self.calendars.contains(&e.calendar_id) || (e.deleted && !self.include_deleted) {
            return false;
        }
        if self.last_modified.is_some_and(|t| e.updated < t) {
            return false;
        }
        if self.only_managed {
            return e.managed();
        }
        if e.managed() && !self.include_managed {
            return false;
        }
        let (from, to) = if e.managed() {
            (self.from, self.to)
        } else {
            (
                Some(self.from.unwrap_or(self.default_from)),
                Some(self.to.unwrap_or(self.default_to)),
            )
        };
        from.is_none_or(|f| e.end_instant() > f) && to.is_none_or(|t| e.start_instant() < t)
    }
}

impl Store {
    fn event_json(&self, e: &EventRow, localized: bool) -> Value {
        let options = if e.managed() {
            json!({"delete": true, "update": true, "change_participation_status": false})
        } else {
            let unrestricted = self.calendars.iter().any(|c| {
                c.id == e.calendar_id && c.permission_level == "unrestricted" && !c.readonly
            });
            json!({
                "delete": unrestricted,
                "update": unrestricted,
                "change_participation_status": true,
            })
        };
        let mut event = json!({
            "calendar_id": e.calendar_id,
            "event_uid": e.event_uid,
            "summary": e.summary,
            "description": e.description,
            "start": e.start.to_json(&e.tzid, localized),
            "end": e.end.to_json(&e.tzid, localized),
            "deleted": e.deleted,
            "created": fmt_utc(e.created),
            "updated": fmt_utc(e.updated),
            "participation_status": e.participation_status,
            "attendees": e.attendees,
            "organizer": e.organizer,
            "transparency": e.transparency,
            "status": e.status,
            "categories": [],
            "recurring": e.recurrence.is_some(),
            "event_private": e.event_private,
            "options": options,
        });
        if e.recurrence.is_some() {
            event["series_identifier"] = json!(format!("ser_{}", e.event_uid));
        }
        if let Some(id) = &e.event_id {
            event["event_id"] = json!(id);
        }
        if let Some(location) = &e.location {
            event["location"] = location.clone();
        }
        if let Some(url) = &e.url {
            event["url"] = json!(url);
        }
        event
    }

    /// `POST /v1/calendars/{calendar_id}/events`.
    fn upsert_event(&mut self, caller: &Caller, calendar_id: &str, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("create_event")?;
        self.writable_calendar(&account_id, calendar_id)?;
        if body.get("event_id").is_none() && body.get("event_uid").is_some() {
            return self.update_external_event(&account_id, calendar_id, body);
        }
        let event: types::EventUpsert = {
            if let Some((path, message)) = schema_violation::<types::EventUpsert>(body) {
                return Err(schema_error(&path, &message));
            }
            too_long(body, "summary", 1024)?;
            too_long(body, "description", 4096)?;
            decode(body)?
        };
        if event.event_id.trim().is_empty() {
            return Err(invalid("event_id", "event_id must not be blank"));
        }
        for (i, rule) in event
            .recurrence
            .iter()
            .flat_map(|r| r.rules.iter())
            .enumerate()
        {
            if !rule.by_day.is_empty() && rule.frequency != types::RecurrenceRuleFrequency::Weekly {
                return Err(invalid(
                    &format!("recurrence.rules.{i}.by_day"),
                    "by_day is only valid in a weekly rule",
                ));
            }
        }
        if let Some(t) = &event.tzid {
            tz("tzid", t)?;
        }
        let (start, start_tz) = when_of("start", &event.start)?;
        let (end, end_tz) = when_of("end", &event.end)?;
        check_period(start, end)?;
        let tzid = event
            .tzid
            .clone()
            .or(start_tz)
            .or(end_tz)
            .unwrap_or_else(|| "Etc/UTC".into());
        let now = Utc::now();
        let email = self
            .account(&account_id)
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let index = self.events.iter().position(|e| {
            e.calendar_id == calendar_id && e.event_id.as_deref() == Some(event.event_id.as_str())
        });
        let index = match index {
            Some(i) => i,
            None => {
                self.events.push(EventRow {
                    calendar_id: calendar_id.to_string(),
                    account_id: account_id.clone(),
                    event_id: Some(event.event_id.clone()),
                    event_uid: format!("evt_{}", hex_id(24)),
                    summary: String::new(),
                    description: String::new(),
                    start,
                    end,
                    tzid: tzid.clone(),
                    location: None,
                    url: None,
                    transparency: "opaque".into(),
                    status: "confirmed".into(),
                    participation_status: "accepted".into(),
                    attendees: Vec::new(),
                    organizer: json!({"email": email, "display_name": Value::Null}),
                    deleted: false,
                    created: now,
                    updated: now,
                    event_private: false,
                    recurrence: None,
                });
                self.events.len() - 1
            }
        };
        let row = &mut self.events[index];
        row.summary = event.summary.to_string();
        row.start = start;
        row.end = end;
        row.tzid = tzid;
        row.deleted = false;
        row.updated = now;
        if let Some(d) = &event.description {
            row.description = d.to_string();
        }
        if let Some(l) = &event.location {
            row.location = serde_json::to_value(l).ok();
        }
        match &event.url {
            crate::runtime::Patch::Absent => {}
            crate::runtime::Patch::Null => row.url = None,
            crate::runtime::Patch::Value(u) => row.url = Some(u.clone()),
        }
        if let Some(t) = &event.transparency {
            row.transparency = t.to_string();
        }
        if let Some(p) = event.event_private {
            row.event_private = p;
        }
        if let Some(r) = &event.recurrence {
            // Empty rules remove the recurrence; omitted keeps it.
            row.recurrence = (!r.rules.is_empty()).then(|| body["recurrence"].clone());
        }
        if let Some(changes) = &event.attendees {
            apply_attendees(&mut row.attendees, changes);
        }
        Ok(Answer::Accepted)
    }

    /// The index of the external (not managed) event `event_uid` of a
    /// calendar, or Cronofy's 422 `errors.must_be_external_event_uid`.
    fn external_event(
        &self,
        calendar_id: &str,
        event_uid: &str,
    ) -> std::result::Result<usize, ApiErr> {
        self.events
            .iter()
            .position(|e| e.calendar_id == calendar_id && e.event_uid == event_uid && !e.managed())
            .ok_or_else(|| {
                unprocessable(
                    "event_uid",
                    "errors.must_be_external_event_uid",
                    "event uid must be a valid external event uid",
                )
            })
    }

    /// An external event edited by its `event_uid`.
    fn update_external_event(
        &mut self,
        account_id: &str,
        calendar_id: &str,
        body: &Value,
    ) -> Outcome {
        let update: types::ExternalEventUpdate = decode(body)?;
        let unrestricted =
            self.own_calendar(account_id, calendar_id)?.permission_level == "unrestricted";
        let index = self.external_event(calendar_id, &update.event_uid)?;
        if !unrestricted {
            return Err(ApiErr::status(StatusCode::FORBIDDEN));
        }
        if let Some(t) = &update.tzid {
            tz("tzid", t)?;
        }
        let start = update
            .start
            .as_ref()
            .map(|s| when_of("start", s))
            .transpose()?;
        let end = update.end.as_ref().map(|e| when_of("end", e)).transpose()?;
        let row = &self.events[index];
        let (new_start, new_end) = (
            start.as_ref().map_or(row.start, |s| s.0),
            end.as_ref().map_or(row.end, |e| e.0),
        );
        check_period(new_start, new_end)?;
        let row = &mut self.events[index];
        row.start = new_start;
        row.end = new_end;
        if let Some(t) = update.tzid.clone().or(start.and_then(|s| s.1)) {
            row.tzid = t;
        }
        if let Some(s) = update.summary {
            row.summary = s;
        }
        if let Some(d) = update.description {
            row.description = d;
        }
        if let Some(l) = &update.location {
            row.location = serde_json::to_value(l).ok();
        }
        if let Some(t) = &update.transparency {
            row.transparency = t.to_string();
        }
        if let Some(changes) = &update.attendees {
            apply_attendees(&mut row.attendees, changes);
        }
        row.updated = Utc::now();
        Ok(Answer::Accepted)
    }

    /// `DELETE /v1/calendars/{calendar_id}/events`.
    fn delete_event(&mut self, caller: &Caller, calendar_id: &str, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("delete_event")?;
        let calendar = self.writable_calendar(&account_id, calendar_id)?;
        let unrestricted = calendar.permission_level == "unrestricted";
        let now = Utc::now();
        if body.get("event_id").is_none() && body.get("event_uid").is_some() {
            let request: types::ExternalEventDelete = decode(body)?;
            let index = self.external_event(calendar_id, &request.event_uid)?;
            if !unrestricted {
                return Err(ApiErr::status(StatusCode::FORBIDDEN));
            }
            let event = &mut self.events[index];
            event.deleted = true;
            event.updated = now;
            return Ok(Answer::Accepted);
        }
        let request: types::EventDelete = decode(body)?;
        // Deleting an unknown event_id is accepted: deletes are idempotent.
        if let Some(event) = self.events.iter_mut().find(|e| {
            e.calendar_id == calendar_id && e.event_id.as_deref() == Some(&request.event_id)
        }) && !event.deleted
        {
            event.deleted = true;
            event.updated = now;
        }
        Ok(Answer::Accepted)
    }

    /// `DELETE /v1/events`: managed events, all or by calendar.
    fn bulk_delete_events(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("delete_event")?;
        let request: types::BulkDeleteEvents = decode(body)?;
        let calendars: Option<BTreeSet<String>> = match (request.delete_all, &request.calendar_ids)
        {
            (Some(_), ids) if !ids.is_empty() => {
                return Err(invalid(
                    "delete_all",
                    "delete_all and calendar_ids cannot be given together",
                ));
            }
            (Some(true), _) => None,
            (Some(false), _) => return Err(invalid("delete_all", "delete_all must be true")),
            (None, ids) if ids.is_empty() => return Err(required("delete_all")),
            (None, ids) => {
                for id in ids {
                    self.own_calendar(&account_id, id).map_err(|_| {
                        invalid(
                            "calendar_ids",
                            format!("{id} is not a calendar of this account"),
                        )
                    })?;
                }
                Some(ids.iter().cloned().collect())
            }
        };
        let now = Utc::now();
        for e in &mut self.events {
            if e.account_id == account_id
                && e.managed()
                && !e.deleted
                && calendars
                    .as_ref()
                    .is_none_or(|c| c.contains(&e.calendar_id))
            {
                e.deleted = true;
                e.updated = now;
            }
        }
        Ok(Answer::Accepted)
    }

    fn participation_status(
        &mut self,
        caller: &Caller,
        calendar_id: &str,
        event_uid: &str,
        body: &Value,
    ) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("change_participation_status")?;
        self.own_calendar(&account_id, calendar_id)?;
        let change: types::ParticipationStatusChange = decode(body)?;
        let event = self
            .events
            .iter_mut()
            .find(|e| e.calendar_id == calendar_id && e.event_uid == event_uid && !e.deleted)
            .ok_or_else(ApiErr::not_found)?;
        if event.managed() {
            return Err(invalid(
                "event_uid",
                "the participation status of an event the application manages cannot be changed",
            ));
        }
        event.participation_status = change.status.to_string();
        event.updated = Utc::now();
        Ok(Answer::Accepted)
    }

    /// The Read Events / Free Busy filters of a query.
    fn selection(
        &self,
        account_id: &str,
        query: &Query,
    ) -> std::result::Result<(Selection, chrono_tz::Tz), ApiErr> {
        let tzid = query.tzid("tzid")?.ok_or_else(|| required("tzid"))?;
        let mut calendars: BTreeSet<String> = self
            .visible_calendars(account_id)
            .into_iter()
            .map(|c| c.id.clone())
            .collect();
        let wanted = query.all("calendar_ids");
        if !wanted.is_empty() {
            if let Some(bad) = wanted.iter().find(|id| !calendars.contains(*id)) {
                return Err(invalid(
                    "calendar_ids",
                    format!("{bad} is not a calendar of this account"),
                ));
            }
            calendars = wanted.into_iter().collect();
        }
        let from = query.date("from")?.map(|d| day_start(d, tzid));
        let to = query.date("to")?.map(|d| day_start(d, tzid));
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            return Err(invalid("to", "to must be after from"));
        }
        let last_modified = match query.get("last_modified") {
            None => None,
            Some(raw) => Some(
                DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| invalid("last_modified", "last_modified must be a UTC time"))?
                    .with_timezone(&Utc),
            ),
        };
        let today = Utc::now().with_timezone(&tzid).date_naive();
        Ok((
            Selection {
                calendars,
                from,
                to,
                default_from: day_start(today - chrono::Days::new(DEFAULT_FROM_DAYS as u64), tzid),
                default_to: day_start(today + chrono::Days::new(DEFAULT_TO_DAYS as u64), tzid),
                include_managed: query.flag("include_managed")?,
                only_managed: query.flag("only_managed")?,
                include_deleted: query.flag("include_deleted")?,
                last_modified,
            },
            tzid,
        ))
    }

    fn selected(&self, account_id: &str, selection: &Selection) -> Vec<&EventRow> {
        let mut events: Vec<&EventRow> = self
            .events
            .iter()
            .filter(|e| e.account_id == account_id && selection.wants(e))
            .collect();
        events.sort_by(|a, b| {
            (a.start_instant(), &a.event_uid).cmp(&(b.start_instant(), &b.event_uid))
        });
        events
    }

    /// `GET /v1/events`.
    fn read_events(&mut self, ctx: &Ctx<'_>, caller: &Caller, query: &Query) -> Outcome {
        let account_id = caller.account()?.to_string();
        let (selection, _) = self.selection(&account_id, query)?;
        if !selection.only_managed {
            caller.need("read_events")?;
        }
        let localized = query.flag("localized_times")?;
        for flag in ["include_moved", "include_geo", "google_event_ids"] {
            query.flag(flag)?;
        }
        let items: Vec<Value> = self
            .selected(&account_id, &selection)
            .into_iter()
            .map(|e| self.event_json(e, localized))
            .collect();
        ok(self.first_page(ctx, &account_id, "events", items))
    }

    /// `GET /v1/free_busy`.
    fn read_free_busy(&mut self, ctx: &Ctx<'_>, caller: &Caller, query: &Query) -> Outcome {
        let account_id = caller.account()?.to_string();
        caller.need("read_free_busy")?;
        let (selection, _) = self.selection(&account_id, query)?;
        let localized = query.flag("localized_times")?;
        let include_free = query.flag("include_free")?;
        let include_ids = query.flag("include_ids")?;
        let items: Vec<Value> = self
            .selected(&account_id, &selection)
            .into_iter()
            .filter(|e| {
                e.status != "cancelled" && (include_free || e.transparency != "transparent")
            })
            .map(|e| {
                let mut block = json!({
                    "calendar_id": e.calendar_id,
                    "start": e.start.to_json(&e.tzid, localized),
                    "end": e.end.to_json(&e.tzid, localized),
                    "free_busy_status": e.free_busy_status(),
                });
                if include_ids {
                    block["event_uid"] = json!(e.event_uid);
                    if let Some(id) = &e.event_id {
                        block["event_id"] = json!(id);
                    }
                }
                if selection.include_deleted {
                    block["deleted"] = json!(e.deleted);
                }
                block
            })
            .collect();
        ok(self.first_page(ctx, &account_id, "free_busy", items))
    }

    /// Stores `items` for paging and answers the first page.
    fn first_page(
        &mut self,
        ctx: &Ctx<'_>,
        account_id: &str,
        list: &'static str,
        items: Vec<Value>,
    ) -> Value {
        let size = ctx.config.page_size;
        let total = items.len().div_ceil(size).max(1);
        let id = self.next_id();
        let tokens: Vec<String> = (1..total).map(|_| hex_id(16)).collect();
        for (i, token) in tokens.iter().enumerate() {
            self.page_tokens.insert(token.clone(), (id, i + 1));
        }
        self.page_sets.insert(
            id,
            PageSet {
                account_id: account_id.to_string(),
                list,
                items,
                tokens,
            },
        );
        self.page_json(ctx, id, 0)
    }

    fn page_json(&self, ctx: &Ctx<'_>, set: u64, index: usize) -> Value {
        let Some(set) = self.page_sets.get(&set) else {
            return Value::Null;
        };
        let size = ctx.config.page_size;
        let total = set.tokens.len() + 1;
        let items: Vec<Value> = set
            .items
            .iter()
            .skip(index * size)
            .take(size)
            .cloned()
            .collect();
        let mut pages = json!({"current": index + 1, "total": total});
        if let Some(next) = set.tokens.get(index) {
            pages["next_page"] = json!(format!("{}/v1/{}/pages/{next}", ctx.root, set.list));
        }
        json!({"pages": pages, (set.list): items})
    }

    /// `GET /v1/<list>/pages/<token>`.
    fn page(&self, ctx: &Ctx<'_>, caller: &Caller, list: &str, token: &str) -> Outcome {
        let account_id = caller.account()?;
        let &(set, index) = self.page_tokens.get(token).ok_or_else(ApiErr::not_found)?;
        let found = self
            .page_sets
            .get(&set)
            .is_some_and(|s| s.list == list && s.account_id == account_id);
        if !found {
            return Err(ApiErr::not_found());
        }
        ok(self.page_json(ctx, set, index))
    }
}

/// Applies `invite` and `remove`/`reject` to an attendee list.
fn apply_attendees(attendees: &mut Vec<Value>, changes: &types::AttendeeChanges) {
    for gone in changes.remove.iter().chain(&changes.reject) {
        attendees.retain(|a| a.get("email").and_then(Value::as_str) != Some(gone.email.as_str()));
    }
    for person in &changes.invite {
        if attendees
            .iter()
            .any(|a| a.get("email").and_then(Value::as_str) == Some(person.email.as_str()))
        {
            continue;
        }
        attendees.push(json!({
            "email": person.email,
            "display_name": person.display_name,
            "status": "needs_action",
        }));
    }
}

// ------------------------------------------------------------------------------------------
// Channels
// ------------------------------------------------------------------------------------------

impl Store {
    fn create_channel(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        if let Some((path, message)) = schema_violation::<types::ChannelCreate>(body) {
            return Err(schema_error(&path, &message));
        }
        too_long(body, "callback_url", CALLBACK_URL_MAX)?;
        let request: types::ChannelCreate = decode(body)?;
        check_web_url("callback_url", &request.callback_url)?;
        if let Some(filters) = &request.filters {
            for id in &filters.calendar_ids {
                if self.own_calendar(&account_id, id).is_err() {
                    return Err(invalid(
                        "filters.calendar_ids",
                        format!("{id} is not a calendar of this account"),
                    ));
                }
            }
        }
        let channel = ChannelRow {
            channel_id: format!("chn_{}", hex_id(24)),
            account_id,
            callback_url: request.callback_url.to_string(),
            filters: body.get("filters").cloned().unwrap_or_else(|| json!({})),
        };
        let answer = json!({"channel": channel.to_json()});
        self.channels.push(channel);
        ok(answer)
    }

    fn list_channels(&self, caller: &Caller) -> Outcome {
        let account_id = caller.account()?;
        let channels: Vec<Value> = self
            .channels
            .iter()
            .filter(|c| c.account_id == account_id)
            .map(ChannelRow::to_json)
            .collect();
        ok(json!({ "channels": channels }))
    }

    fn close_channel(&mut self, caller: &Caller, channel_id: &str) -> Outcome {
        let account_id = caller.account()?.to_string();
        let before = self.channels.len();
        self.channels
            .retain(|c| !(c.channel_id == channel_id && c.account_id == account_id));
        if self.channels.len() == before {
            return Err(ApiErr::not_found());
        }
        Ok(Answer::Accepted)
    }
}

// ------------------------------------------------------------------------------------------
// Availability
// ------------------------------------------------------------------------------------------

/// One member's free time, by sub.
struct MemberFree {
    sub: String,
    free: Vec<Span>,
}

/// A group: its members (indexes into the member list) and how many are needed.
struct Group {
    members: Vec<usize>,
    required: usize,
}

/// A query's participants, resolved.
struct Resolved {
    members: Vec<MemberFree>,
    groups: Vec<Group>,
}

impl Resolved {
    /// The members free throughout `[start, end)`, or `None` when a group
    /// has too few of them.
    fn available(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Vec<usize>> {
        let free: Vec<bool> = self
            .members
            .iter()
            .map(|m| covers(&m.free, start, end))
            .collect();
        let enough = self
            .groups
            .iter()
            .all(|g| g.members.iter().filter(|&&i| free[i]).count() >= g.required);
        enough.then(|| (0..free.len()).filter(|&i| free[i]).collect())
    }

    fn participants(&self, members: &[usize]) -> Value {
        let subs: Vec<Value> = members
            .iter()
            .map(|&i| json!({"sub": self.members[i].sub}))
            .collect();
        json!(subs)
    }
}

/// The parts of an availability query the computation needs.
struct Search<'a> {
    participants: &'a [types::ParticipantGroup],
    duration: u64,
    start_interval: Option<u64>,
    buffer: Option<&'a types::Buffer>,
    periods: Vec<Span>,
    query_slots: Vec<DateTime<Utc>>,
}

impl Store {
    /// 403 when an access token asks about other accounts than its own.
    fn may_query(
        caller: &Caller,
        groups: &[types::ParticipantGroup],
    ) -> std::result::Result<(), ApiErr> {
        if let Caller::Account { account_id, .. } = caller
            && groups
                .iter()
                .flat_map(|g| &g.members)
                .any(|m| &m.sub != account_id)
        {
            return Err(ApiErr::status(StatusCode::FORBIDDEN));
        }
        Ok(())
    }

    /// The periods to search, checked.
    fn periods(
        field: &str,
        periods: &[types::TimePeriod],
    ) -> std::result::Result<Vec<Span>, ApiErr> {
        if periods.len() > MAX_QUERY_PERIODS {
            return Err(invalid(
                field,
                format!("{field} must have at most {MAX_QUERY_PERIODS} periods"),
            ));
        }
        let mut spans = Vec::new();
        for (i, p) in periods.iter().enumerate() {
            if p.end.0 <= p.start.0 {
                return Err(invalid(
                    &format!("{field}.{i}.end"),
                    "end must be after start",
                ));
            }
            if p.end.0 - p.start.0 > chrono::Duration::days(MAX_PERIOD_DAYS) {
                return Err(invalid(
                    &format!("{field}.{i}"),
                    format!("a period must be at most {MAX_PERIOD_DAYS} days long"),
                ));
            }
            spans.push((p.start.0, p.end.0));
        }
        Ok(normalize(spans))
    }

    /// Checks the groups and computes every member's free time.
    fn resolve(&self, q: &Search<'_>, field: &str) -> std::result::Result<Resolved, ApiErr> {
        if q.participants.is_empty() {
            return Err(required(field));
        }
        let prefix = field.strip_suffix("participants").unwrap_or_default();
        let before = buffer_minutes(q.buffer.and_then(|b| b.before.as_ref()));
        let after = buffer_minutes(q.buffer.and_then(|b| b.after.as_ref()));
        for (name, value) in [
            ("required_duration", Some(q.duration)),
            ("start_interval", q.start_interval),
            ("buffer.before", Some(before)),
            ("buffer.after", Some(after)),
        ] {
            if value.is_some_and(|m| m > MAX_DURATION_MINUTES) {
                let name = format!("{prefix}{name}");
                return Err(invalid(
                    &name,
                    format!("{name} must be at most {MAX_DURATION_MINUTES} minutes"),
                ));
            }
        }
        let (before, after) = (minutes(before), minutes(after));
        let mut range = q.periods.clone();
        range.extend(q.query_slots.iter().map(|&s| (s, s + minutes(q.duration))));
        let range = normalize(range);
        let mut resolved = Resolved {
            members: Vec::new(),
            groups: Vec::new(),
        };
        for (g, group) in q.participants.iter().enumerate() {
            if group.members.is_empty() {
                return Err(required(&format!("{field}.{g}.members")));
            }
            let required_n = match &group.required {
                None | Some(types::RequiredParticipants::String(_)) => group.members.len(),
                Some(types::RequiredParticipants::Integer(n)) => {
                    usize::try_from(n.get()).unwrap_or(usize::MAX)
                }
            };
            if required_n > group.members.len() {
                return Err(invalid(
                    &format!("{field}.{g}.required"),
                    "required is more than the number of members",
                ));
            }
            let mut indexes = Vec::new();
            for (m, member) in group.members.iter().enumerate() {
                let at = format!("{field}.{g}.members.{m}");
                let free = self.member_free(member, &range, before, after, &at)?;
                indexes.push(resolved.members.len());
                resolved.members.push(MemberFree {
                    sub: member.sub.clone(),
                    free,
                });
            }
            resolved.groups.push(Group {
                members: indexes,
                required: required_n,
            });
        }
        Ok(resolved)
    }

    /// A member's free time within `range`.
    fn member_free(
        &self,
        member: &types::AvailabilityMember,
        range: &[Span],
        before: chrono::Duration,
        after: chrono::Duration,
        at: &str,
    ) -> std::result::Result<Vec<Span>, ApiErr> {
        let sub = member.sub.as_str();
        if self.account(sub).is_none() {
            return Err(invalid(
                &format!("{at}.sub"),
                format!("{sub} is not an account of this application"),
            ));
        }
        let own: BTreeSet<String> = self
            .visible_calendars(sub)
            .into_iter()
            .map(|c| c.id.clone())
            .collect();
        let managed =
            member.managed_availability == Some(true) || !member.availability_rule_ids.is_empty();
        let rules: Vec<&types::AvailabilityRule> = if managed {
            self.rules
                .iter()
                .filter(|(a, r)| {
                    a == sub
                        && (member.availability_rule_ids.is_empty()
                            || member
                                .availability_rule_ids
                                .contains(&r.availability_rule_id))
                })
                .map(|(_, r)| r)
                .collect()
        } else {
            Vec::new()
        };
        let calendars: BTreeSet<String> = if !member.calendar_ids.is_empty() {
            for id in &member.calendar_ids {
                if !own.contains(id) {
                    return Err(invalid(
                        &format!("{at}.calendar_ids"),
                        format!("{id} is not a calendar of {sub}"),
                    ));
                }
            }
            member.calendar_ids.iter().cloned().collect()
        } else if rules.iter().any(|r| !r.calendar_ids.is_empty()) {
            rules
                .iter()
                .flat_map(|r| r.calendar_ids.iter().cloned())
                .collect()
        } else {
            own
        };
        let busy: Vec<Span> = self
            .events
            .iter()
            .filter(|e| calendars.contains(&e.calendar_id) && e.busy())
            .map(|e| (e.start_instant() - after, e.end_instant() + before))
            .collect();
        let mut free = subtract(range, &normalize(busy));
        if !member.available_periods.is_empty() {
            let allowed = Self::periods(
                &format!("{at}.available_periods"),
                &member.available_periods,
            )?;
            free = intersect(&free, &allowed);
        }
        if managed {
            let mut allowed: Vec<Span> = rules.iter().flat_map(|r| expand_rule(r, range)).collect();
            if member.managed_availability == Some(true) {
                allowed.extend(
                    self.periods
                        .iter()
                        .filter(|p| p.account_id == sub)
                        .map(|p| (p.start.instant(&p.tzid), p.end.instant(&p.tzid))),
                );
            }
            let has_any = !rules.is_empty()
                || !member.availability_rule_ids.is_empty()
                || self.periods.iter().any(|p| p.account_id == sub);
            if has_any {
                free = intersect(&free, &normalize(allowed));
            }
        }
        Ok(free)
    }

    /// The `available_periods` (periods format) or `available_slots`.
    fn compute(
        resolved: &Resolved,
        q: &Search<'_>,
        format: types::AvailabilityQueryResponseFormat,
    ) -> Vec<(Span, Vec<usize>)> {
        use types::AvailabilityQueryResponseFormat as Format;
        let duration = minutes(q.duration);
        if !q.query_slots.is_empty() {
            let mut found: Vec<(Span, Vec<usize>)> = q
                .query_slots
                .iter()
                .filter_map(|&s| {
                    let inside = q.periods.is_empty() || covers(&q.periods, s, s + duration);
                    inside
                        .then(|| resolved.available(s, s + duration))
                        .flatten()
                        .map(|m| ((s, s + duration), m))
                })
                .collect();
            found.sort_by_key(|(span, _)| *span);
            return found;
        }
        match format {
            Format::Periods => {
                let mut bounds: Vec<DateTime<Utc>> = q
                    .periods
                    .iter()
                    .flat_map(|&(s, e)| [s, e])
                    .chain(
                        resolved
                            .members
                            .iter()
                            .flat_map(|m| m.free.iter().flat_map(|&(s, e)| [s, e])),
                    )
                    .collect();
                bounds.sort();
                bounds.dedup();
                let mut merged: Vec<(Span, Vec<usize>)> = Vec::new();
                for pair in bounds.windows(2) {
                    let (s, e) = (pair[0], pair[1]);
                    if !covers(&q.periods, s, e) {
                        continue;
                    }
                    let Some(members) = resolved.available(s, e) else {
                        continue;
                    };
                    match merged.last_mut() {
                        Some(((_, last_end), last)) if *last_end == s && *last == members => {
                            *last_end = e;
                        }
                        _ => merged.push(((s, e), members)),
                    }
                }
                merged.retain(|((s, e), _)| *e - *s >= duration);
                merged
            }
            Format::Slots | Format::OverlappingSlots => {
                let step = minutes(q.start_interval.unwrap_or(q.duration).max(1));
                let mut found: Vec<(Span, Vec<usize>)> = Vec::new();
                for &(ps, pe) in &q.periods {
                    let mut s = align_up(ps, step);
                    let mut last_end: Option<DateTime<Utc>> = None;
                    while s + duration <= pe {
                        let overlaps = format == Format::Slots && last_end.is_some_and(|l| s < l);
                        if !overlaps && let Some(m) = resolved.available(s, s + duration) {
                            found.push(((s, s + duration), m));
                            last_end = Some(s + duration);
                        }
                        s += step;
                    }
                }
                found
            }
        }
    }

    /// `POST /v1/availability`.
    fn query_availability(&self, caller: &Caller, body: &Value) -> Outcome {
        let query: types::AvailabilityQuery = decode(body)?;
        let (format, results) = self.availability(caller, &query)?;
        let key = match format {
            types::AvailabilityQueryResponseFormat::Periods if query.query_slots.is_empty() => {
                "available_periods"
            }
            _ => "available_slots",
        };
        ok(json!({ key: results }))
    }

    /// Runs an availability query; the results as JSON.
    fn availability(
        &self,
        caller: &Caller,
        query: &types::AvailabilityQuery,
    ) -> std::result::Result<(types::AvailabilityQueryResponseFormat, Vec<Value>), ApiErr> {
        Self::may_query(caller, &query.participants)?;
        let duration = duration_minutes(&query.required_duration);
        if duration == 0 {
            return Err(invalid(
                "required_duration",
                "required_duration must be positive",
            ));
        }
        let (field, periods) = if query.query_periods.is_empty() {
            ("available_periods", &query.available_periods)
        } else {
            ("query_periods", &query.query_periods)
        };
        if periods.is_empty() && query.query_slots.is_empty() {
            return Err(required("query_periods"));
        }
        if query.query_slots.len() > MAX_QUERY_PERIODS {
            return Err(invalid(
                "query_slots",
                format!("query_slots must have at most {MAX_QUERY_PERIODS} slots"),
            ));
        }
        let q = Search {
            participants: &query.participants,
            duration,
            start_interval: query.start_interval.as_ref().map(duration_minutes),
            buffer: query.buffer.as_ref(),
            periods: Self::periods(field, periods)?,
            query_slots: query.query_slots.iter().map(|s| s.start.0).collect(),
        };
        let resolved = self.resolve(&q, "participants")?;
        let format = query
            .response_format
            .unwrap_or(types::AvailabilityQueryResponseFormat::Periods);
        let mut results = Self::compute(&resolved, &q, format);
        if let Some(max) = query.max_results {
            results.truncate(usize::try_from(max.get()).unwrap_or(usize::MAX));
        }
        let json = results
            .iter()
            .map(|((s, e), members)| {
                json!({"start": fmt_utc(*s), "end": fmt_utc(*e), "participants": resolved.participants(members)})
            })
            .collect();
        Ok((format, json))
    }

    /// `POST /v1/sequenced_availability`.
    fn query_sequenced_availability(&self, caller: &Caller, body: &Value) -> Outcome {
        let query: types::SequencedAvailabilityQuery = decode(body)?;
        if query.sequence.is_empty() {
            return Err(required("sequence"));
        }
        let global = if query.query_periods.is_empty() {
            Self::periods("available_periods", &query.available_periods)?
        } else {
            Self::periods("query_periods", &query.query_periods)?
        };
        let mut steps: Vec<(usize, &types::SequenceStep)> =
            query.sequence.iter().enumerate().collect();
        steps.sort_by_key(|(i, s)| (s.ordinal.unwrap_or(i64::MAX), *i));
        let mut slots_per_step = Vec::new();
        for (i, step) in &steps {
            Self::may_query(caller, &step.participants)?;
            let at = format!("sequence.{i}");
            let duration = duration_minutes(&step.required_duration);
            if duration == 0 {
                return Err(invalid(
                    &format!("{at}.required_duration"),
                    "required_duration must be positive",
                ));
            }
            let periods = if !step.query_periods.is_empty() {
                Self::periods(&format!("{at}.query_periods"), &step.query_periods)?
            } else if !step.available_periods.is_empty() {
                Self::periods(&format!("{at}.available_periods"), &step.available_periods)?
            } else {
                global.clone()
            };
            if periods.is_empty() {
                return Err(required("query_periods"));
            }
            let q = Search {
                participants: &step.participants,
                duration,
                start_interval: step.start_interval.as_ref().map(duration_minutes),
                buffer: step.buffer.as_ref(),
                periods,
                query_slots: Vec::new(),
            };
            let resolved = self.resolve(&q, &format!("{at}.participants"))?;
            let slots: Vec<(Span, Value)> =
                Self::compute(&resolved, &q, types::AvailabilityQueryResponseFormat::Slots)
                    .into_iter()
                    .map(|(span, m)| (span, resolved.participants(&m)))
                    .collect();
            slots_per_step.push((step.sequence_id.clone(), slots));
        }
        let mut sequences = Vec::new();
        let Some(((_, first_slots), rest)) = slots_per_step.split_first() else {
            return ok(json!({"sequences": []}));
        };
        for first in first_slots {
            let mut chosen = vec![first];
            for (_, slots) in rest {
                let after = chosen.last().map(|((_, e), _)| *e);
                match slots
                    .iter()
                    .find(|((s, _), _)| after.is_none_or(|a| *s >= a))
                {
                    Some(slot) => chosen.push(slot),
                    None => break,
                }
            }
            if chosen.len() != slots_per_step.len() {
                continue;
            }
            let sequence: Vec<Value> = chosen
                .iter()
                .zip(&slots_per_step)
                .map(|(((s, e), participants), (id, _))| {
                    json!({"sequence_id": id, "start": fmt_utc(*s), "end": fmt_utc(*e), "participants": participants})
                })
                .collect();
            sequences.push(json!({ "sequence": sequence }));
            if sequences.len() == MAX_SEQUENCES {
                break;
            }
        }
        ok(json!({ "sequences": sequences }))
    }
}

/// A rule's weekly periods within `range` (a day either side, for zones).
fn expand_rule(rule: &types::AvailabilityRule, range: &[Span]) -> Vec<Span> {
    let (Some(first), Some(last)) = (range.first(), range.last()) else {
        return Vec::new();
    };
    let tz = parse_tz(&rule.tzid);
    let from = first.0.with_timezone(&tz).date_naive() - chrono::Days::new(1);
    let to = last.1.with_timezone(&tz).date_naive() + chrono::Days::new(1);
    let local = |date: NaiveDate, time: NaiveTime| {
        tz.from_local_datetime(&date.and_time(time))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut spans = Vec::new();
    let mut day = from;
    while day <= to {
        let weekday = day.weekday().to_string().to_lowercase();
        for p in &rule.weekly_periods {
            if !weekday_matches(&weekday, &p.day.to_string()) {
                continue;
            }
            let (Some(s), Some(e)) = (hh_mm(&p.start_time), hh_mm(&p.end_time)) else {
                continue;
            };
            if let (Some(s), Some(e)) = (local(day, s), local(day, e)) {
                spans.push((s, e));
            }
        }
        day = day + chrono::Days::new(1);
    }
    normalize(spans)
}

/// `Mon` (chrono's `Display`) against `monday`.
fn weekday_matches(chrono_day: &str, rule_day: &str) -> bool {
    rule_day.starts_with(chrono_day)
}

/// `09:30` → 09:30:00.
fn hh_mm(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

// ------------------------------------------------------------------------------------------
// Availability rules and available periods
// ------------------------------------------------------------------------------------------

impl Store {
    fn list_rules(&self, caller: &Caller) -> Outcome {
        let account_id = caller.account()?;
        let rules: Vec<&types::AvailabilityRule> = self
            .rules
            .iter()
            .filter(|(a, _)| a == account_id)
            .map(|(_, r)| r)
            .collect();
        ok(json!({ "availability_rules": rules }))
    }

    fn upsert_rule(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        let rule: types::AvailabilityRule = decode(body)?;
        let id = &rule.availability_rule_id;
        if id.is_empty() || id.len() > 64 || !id.is_ascii() {
            return Err(invalid(
                "availability_rule_id",
                "availability_rule_id must be 1 to 64 ASCII characters",
            ));
        }
        tz("tzid", &rule.tzid)?;
        for (i, id) in rule.calendar_ids.iter().enumerate() {
            if self.own_calendar(&account_id, id).is_err() {
                return Err(invalid(
                    &format!("calendar_ids.{i}"),
                    format!("{id} is not a calendar of this account"),
                ));
            }
        }
        for (i, p) in rule.weekly_periods.iter().enumerate() {
            let field = format!("weekly_periods.{i}");
            let start = hh_mm(&p.start_time).ok_or_else(|| {
                invalid(&format!("{field}.start_time"), "start_time must be HH:MM")
            })?;
            let end = hh_mm(&p.end_time)
                .ok_or_else(|| invalid(&format!("{field}.end_time"), "end_time must be HH:MM"))?;
            if end <= start {
                return Err(invalid(
                    &format!("{field}.end_time"),
                    "end_time must be after start_time",
                ));
            }
        }
        self.rules.retain(|(a, r)| {
            !(a == &account_id && r.availability_rule_id == rule.availability_rule_id)
        });
        let answer = json!({ "availability_rule": rule });
        self.rules.push((account_id, rule));
        ok(answer)
    }

    fn get_rule(&self, caller: &Caller, id: &str) -> Outcome {
        let account_id = caller.account()?;
        let rule = self
            .rules
            .iter()
            .find(|(a, r)| a == account_id && r.availability_rule_id == id)
            .ok_or_else(ApiErr::not_found)?;
        ok(json!({ "availability_rule": rule.1 }))
    }

    fn delete_rule(&mut self, caller: &Caller, id: &str) -> Outcome {
        let account_id = caller.account()?.to_string();
        let before = self.rules.len();
        self.rules
            .retain(|(a, r)| !(a == &account_id && r.availability_rule_id == id));
        if self.rules.len() == before {
            return Err(ApiErr::not_found());
        }
        Ok(Answer::Accepted)
    }

    fn upsert_period(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        let period: types::AvailablePeriodUpsert = decode(body)?;
        let id = &period.available_period_id;
        if id.is_empty() || id.len() > 64 || !id.is_ascii() {
            return Err(invalid(
                "available_period_id",
                "available_period_id must be 1 to 64 ASCII characters",
            ));
        }
        let (start, start_tz) = when_of("start", &period.start)?;
        let (end, end_tz) = when_of("end", &period.end)?;
        check_period(start, end)?;
        let tzid = start_tz.or(end_tz).unwrap_or_else(|| "Etc/UTC".into());
        self.periods
            .retain(|p| !(p.account_id == account_id && &p.available_period_id == id));
        self.periods.push(PeriodRow {
            account_id,
            available_period_id: id.clone(),
            start,
            end,
            tzid,
        });
        Ok(Answer::Accepted)
    }

    fn list_periods(&mut self, ctx: &Ctx<'_>, caller: &Caller, query: &Query) -> Outcome {
        let account_id = caller.account()?.to_string();
        let tzid = query.tzid("tzid")?.unwrap_or(chrono_tz::UTC);
        let from = query.date("from")?.map(|d| day_start(d, tzid));
        let to = query.date("to")?.map(|d| day_start(d, tzid));
        let localized = query.flag("localized_times")?;
        let mut periods: Vec<&PeriodRow> = self
            .periods
            .iter()
            .filter(|p| {
                p.account_id == account_id
                    && from.is_none_or(|f| p.end.instant(&p.tzid) > f)
                    && to.is_none_or(|t| p.start.instant(&p.tzid) < t)
            })
            .collect();
        periods.sort_by_key(|p| (p.start.instant(&p.tzid), p.available_period_id.clone()));
        let items: Vec<Value> = periods
            .into_iter()
            .map(|p| {
                json!({
                    "available_period_id": p.available_period_id,
                    "start": p.start.to_json(&p.tzid, localized),
                    "end": p.end.to_json(&p.tzid, localized),
                })
            })
            .collect();
        ok(self.first_page(ctx, &account_id, "available_periods", items))
    }

    fn delete_period(&mut self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?.to_string();
        if body.get("delete_all").is_some() {
            let all: types::AvailablePeriodDeleteAll = decode(body)?;
            if !all.delete_all {
                return Err(invalid("delete_all", "delete_all must be true"));
            }
            self.periods.retain(|p| p.account_id != account_id);
            return Ok(Answer::Accepted);
        }
        let one: types::AvailablePeriodDeleteOne = decode(body)?;
        self.periods.retain(|p| {
            !(p.account_id == account_id && p.available_period_id == one.available_period_id)
        });
        Ok(Answer::Accepted)
    }
}

// ------------------------------------------------------------------------------------------
// Real-Time Scheduling
// ------------------------------------------------------------------------------------------

impl RtsRow {
    fn to_json(&self) -> Value {
        let mut link = json!({
            "real_time_scheduling_id": self.id,
            "url": self.url,
            "status": self.status,
            "event": self.event,
        });
        if let Some(m) = &self.display_message {
            link["display_message"] = json!(m);
        }
        json!({ "real_time_scheduling": link })
    }
}

impl Store {
    fn create_rts(&mut self, ctx: &Ctx<'_>, body: &Value) -> Outcome {
        let request: types::RealTimeSchedulingRequest = decode(body)?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        if let Some(t) = &request.event.tzid {
            tz("event.tzid", t)?;
        }
        // The availability must make sense now, as Cronofy checks it on creation.
        self.availability(&Caller::App, &request.availability)
            .map_err(|e| prefix_errors(e, "availability"))?;
        self.check_targets(&request.target_calendars)?;
        let token = alnum_id(20);
        let row = RtsRow {
            id: format!("sch_{}", hex_id(24)),
            url: format!("{}/real_time_scheduling/{token}", ctx.root),
            token,
            status: "open".into(),
            event: body.get("event").cloned().unwrap_or_else(|| json!({})),
            availability: request.availability,
            target_calendars: request.target_calendars,
            display_message: None,
        };
        let answer = json!({
            "real_time_scheduling": {"real_time_scheduling_id": row.id, "url": row.url}
        });
        self.rts.push(row);
        ok(answer)
    }

    fn disable_rts(&mut self, id: &str, body: &Value) -> Outcome {
        if let Some((path, message)) = schema_violation::<types::RealTimeSchedulingDisable>(body) {
            return Err(schema_error(&path, &message));
        }
        too_long(body, "display_message", 500)?;
        let request: types::RealTimeSchedulingDisable = decode(body)?;
        let row = self
            .rts
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(ApiErr::not_found)?;
        if row.status == "completed" {
            return Err(invalid(
                "real_time_scheduling_id",
                "a completed link cannot be disabled",
            ));
        }
        row.status = "disabled".into();
        row.display_message = Some(request.display_message.to_string());
        ok(row.to_json())
    }

    /// The test hook behind [`Cronofy::complete_real_time_scheduling`].
    fn complete_rts(&mut self, id: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let index = self
            .rts
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| unknown("real-time scheduling link", id))?;
        if self.rts[index].status != "open" {
            return Err(config(&format!(
                "real-time scheduling link `{id}` is not open"
            )));
        }
        let mut query = self.rts[index].availability.clone();
        query.response_format = Some(types::AvailabilityQueryResponseFormat::Slots);
        let (_, slots) = self
            .availability(&Caller::App, &query)
            .map_err(|e| config(&format!("availability of `{id}`: {:?}", e.body)))?;
        let slot = slots
            .first()
            .ok_or_else(|| config(&format!("no slot is available for `{id}`")))?;
        let parse = |key: &str| {
            slot.get(key)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| config("a slot without times"))
        };
        let (start, end) = (parse("start")?, parse("end")?);
        let template = self.rts[index].event.clone();
        let text = |key: &str| {
            template
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let now = Utc::now();
        for target in self.rts[index].target_calendars.clone() {
            let email = self
                .account(&target.sub)
                .map(|a| a.email.clone())
                .unwrap_or_default();
            self.events.push(EventRow {
                calendar_id: target.calendar_id.clone(),
                account_id: target.sub.clone(),
                event_id: Some(text("event_id").unwrap_or_else(|| id.to_string())),
                event_uid: format!("evt_{}", hex_id(24)),
                summary: text("summary").unwrap_or_default(),
                description: text("description").unwrap_or_default(),
                start: When::Instant(start),
                end: When::Instant(end),
                tzid: text("tzid").unwrap_or_else(|| "Etc/UTC".into()),
                location: template.get("location").cloned(),
                url: text("url"),
                transparency: "opaque".into(),
                status: "confirmed".into(),
                participation_status: "accepted".into(),
                attendees: Vec::new(),
                organizer: json!({"email": email, "display_name": Value::Null}),
                deleted: false,
                created: now,
                updated: now,
                event_private: false,
                recurrence: None,
            });
        }
        let row = &mut self.rts[index];
        row.status = "completed".into();
        row.event["start"] = json!(fmt_utc(start));
        row.event["end"] = json!(fmt_utc(end));
        Ok((start, end))
    }
}

/// Renames the fields of a 422 as nested under `prefix`.
fn prefix_errors(mut e: ApiErr, prefix: &str) -> ApiErr {
    if let Some(errors) = e
        .body
        .as_mut()
        .and_then(|b| b.get_mut("errors"))
        .and_then(Value::as_object_mut)
    {
        let renamed: Map<String, Value> = std::mem::take(errors)
            .into_iter()
            .map(|(k, v)| (format!("{prefix}.{k}"), v))
            .collect();
        *errors = renamed;
    }
    e
}

// ------------------------------------------------------------------------------------------
// Smart Invites, Bookable Events, Add to Calendar, Real-Time Sequencing
// ------------------------------------------------------------------------------------------

/// A Smart Invite and its recipients' replies.
struct SmartInviteRow {
    id: String,
    /// `request`, or `cancel` once cancelled.
    method: &'static str,
    callback_url: Option<String>,
    /// The event as answered: times as `{time, tzid}`.
    event: Value,
    start: When,
    end: When,
    summary: String,
    organizer: Option<Value>,
    /// Recipient email and reply status, in the order given.
    recipients: Vec<(String, String)>,
    /// Sent as `recipients` (a list) rather than one `recipient`.
    many: bool,
    /// Raised by every update, as the ICS `SEQUENCE`.
    sequence: u32,
}

impl SmartInviteRow {
    /// As Cronofy answers it; `recipient` picks one recipient (Get Smart
    /// Invite), `ics` adds `attachments.icalendar`.
    fn to_json(&self, recipient: Option<&str>, ics: bool) -> Value {
        let reply = |(email, status): &(String, String)| json!({"email": email, "status": status});
        let mut out = json!({
            "smart_invite_id": self.id,
            "method": self.method,
            "event": self.event,
        });
        if let Some(url) = &self.callback_url {
            out["callback_url"] = json!(url);
        }
        match recipient {
            Some(email) => {
                if let Some(r) = self.recipients.iter().find(|(e, _)| e == email) {
                    out["recipient"] = reply(r);
                }
                if self.many {
                    out["replies"] = self.recipients.iter().map(reply).collect();
                }
            }
            None if self.many => out["recipients"] = self.recipients.iter().map(reply).collect(),
            None => {
                if let Some(r) = self.recipients.first() {
                    out["recipient"] = reply(r);
                }
            }
        }
        if ics {
            out["attachments"] = json!({"icalendar": self.ics()});
        }
        out
    }

    /// The invite as an iCalendar text (RFC 5545), as attached to the email.
    fn ics(&self) -> String {
        let when = |name: &str, w: When| match w {
            When::Instant(t) => format!("{name}:{}", t.format("%Y%m%dT%H%M%SZ")),
            When::Day(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
        };
        let cancelled = self.method == "cancel";
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".into(),
            "PRODID:-//specbound//Cronofy sandbox//EN".into(),
            format!("METHOD:{}", if cancelled { "CANCEL" } else { "REQUEST" }),
            "BEGIN:VEVENT".into(),
            format!("UID:{}", ics_text(&self.id)),
            format!("SEQUENCE:{}", self.sequence),
            when("DTSTART", self.start),
            when("DTEND", self.end),
            format!("SUMMARY:{}", ics_text(&self.summary)),
            format!(
                "STATUS:{}",
                if cancelled { "CANCELLED" } else { "CONFIRMED" }
            ),
        ];
        if let Some(email) = self
            .organizer
            .as_ref()
            .and_then(|o| o.get("email"))
            .and_then(Value::as_str)
        {
            lines.push(format!("ORGANIZER:mailto:{email}"));
        }
        for (email, status) in &self.recipients {
            let partstat = match status.as_str() {
                "accepted" => "ACCEPTED",
                "declined" => "DECLINED",
                "tentative" => "TENTATIVE",
                _ => "NEEDS-ACTION",
            };
            lines.push(format!("ATTENDEE;PARTSTAT={partstat}:mailto:{email}"));
        }
        lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".into()]);
        lines.join("\r\n") + "\r\n"
    }
}

/// RFC 5545 TEXT escaping.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn plausible_email(s: &str) -> bool {
    s.split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !s.contains(' '))
}

/// A Bookable Event and its registrations.
struct BookableEventRow {
    id: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    status: String,
    capacity: u64,
    /// `{registration_id, status, metadata}` in the order registered.
    registrations: Vec<Value>,
}

impl BookableEventRow {
    fn count(&self, status: impl Fn(&str) -> bool) -> usize {
        self.registrations
            .iter()
            .filter(|r| status(r["status"].as_str().unwrap_or_default()))
            .count()
    }

    fn to_json(&self) -> Value {
        json!({
            "bookable_event_id": self.id,
            "start": fmt_utc(self.start),
            "end": fmt_utc(self.end),
            "status": self.status,
            "registration": {
                "capacity": self.capacity,
                "registered_count": self.count(|s| s == "accepted"),
                "total_count": self.count(|s| s != "removed"),
                "registrations": self.registrations,
            },
        })
    }
}

impl Store {
    /// The target calendars of a scheduling request: each a calendar of its `sub`.
    fn check_targets(&self, targets: &[types::TargetCalendar]) -> std::result::Result<(), ApiErr> {
        for (i, target) in targets.iter().enumerate() {
            if self.own_calendar(&target.sub, &target.calendar_id).is_err() {
                return Err(invalid(
                    &format!("target_calendars.{i}.calendar_id"),
                    format!("{} is not a calendar of {}", target.calendar_id, target.sub),
                ));
            }
        }
        Ok(())
    }

    /// `POST /v1/smart_invites`: create or update, or (`method` `cancel` /
    /// `remove`) cancel the invite or remove recipients.
    fn upsert_smart_invite(&mut self, body: &Value) -> Outcome {
        if matches!(
            body.get("method").and_then(Value::as_str),
            Some("cancel" | "remove")
        ) {
            return self.cancel_smart_invite(body);
        }
        let request: types::SmartInviteUpsert = decode(body)?;
        let id = request.smart_invite_id.clone();
        if id.trim().is_empty() {
            return Err(invalid(
                "smart_invite_id",
                "smart_invite_id must not be blank",
            ));
        }
        if let Some(url) = &request.callback_url {
            check_web_url("callback_url", url)?;
        }
        let (emails, many) = match (&request.recipient, request.recipients.is_empty()) {
            (Some(r), true) => (vec![r.email.clone()], false),
            (None, false) => (
                request.recipients.iter().map(|r| r.email.clone()).collect(),
                true,
            ),
            (None, true) => return Err(required("recipient")),
            (Some(_), false) => {
                return Err(invalid(
                    "recipients",
                    "give either recipient or recipients, not both",
                ));
            }
        };
        for (i, email) in emails.iter().enumerate() {
            if !plausible_email(email) {
                let field = if many {
                    format!("recipients.{i}.email")
                } else {
                    "recipient.email".into()
                };
                return Err(invalid(&field, format!("{email} is not an email address")));
            }
        }
        let event = &request.event;
        if let Some(t) = &event.tzid {
            tz("event.tzid", t)?;
        }
        let (start, start_tz) = when_of("event.start", &event.start)?;
        let (end, end_tz) = when_of("event.end", &event.end)?;
        check_period(start, end).map_err(|e| prefix_errors(e, "event"))?;
        let tzid = event
            .tzid
            .clone()
            .or(start_tz)
            .or(end_tz)
            .unwrap_or_else(|| "Etc/UTC".into());
        let mut answered = body.get("event").cloned().unwrap_or_else(|| json!({}));
        answered["start"] = start.to_json(&tzid, true);
        answered["end"] = end.to_json(&tzid, true);
        if let Some(map) = answered.as_object_mut() {
            map.remove("tzid");
        }
        let old = self.smart_invites.iter().position(|r| r.id == id);
        // Replies already given are kept; a new recipient is pending.
        let recipients = emails
            .into_iter()
            .map(|email| {
                let status = old
                    .and_then(|i| {
                        self.smart_invites[i]
                            .recipients
                            .iter()
                            .find(|(e, _)| *e == email)
                    })
                    .map_or_else(|| "pending".to_string(), |(_, s)| s.clone());
                (email, status)
            })
            .collect();
        let row = SmartInviteRow {
            id,
            method: "request",
            callback_url: request.callback_url.clone(),
            event: answered,
            start,
            end,
            summary: event.summary.clone(),
            organizer: body.get("organizer").cloned(),
            recipients,
            many,
            sequence: old.map_or(0, |i| self.smart_invites[i].sequence + 1),
        };
        let answer = row.to_json(None, true);
        match old {
            Some(i) => self.smart_invites[i] = row,
            None => self.smart_invites.push(row),
        }
        ok(answer)
    }

    fn cancel_smart_invite(&mut self, body: &Value) -> Outcome {
        let request: types::SmartInviteCancel = decode(body)?;
        let emails: Vec<String> = request
            .recipient
            .iter()
            .chain(&request.recipients)
            .map(|r| r.email.clone())
            .collect();
        let row = self
            .smart_invites
            .iter_mut()
            .find(|r| r.id == request.smart_invite_id)
            .ok_or_else(ApiErr::not_found)?;
        match request.method {
            types::SmartInviteCancelMethod::Cancel => row.method = "cancel",
            types::SmartInviteCancelMethod::Remove => {
                if emails.is_empty() {
                    return Err(required("recipients"));
                }
                row.recipients.retain(|(e, _)| !emails.contains(e));
            }
        }
        row.sequence += 1;
        ok(row.to_json(None, true))
    }

    /// `GET /v1/smart_invites?smart_invite_id=&recipient_email=`.
    fn get_smart_invite(&self, query: &Query) -> Outcome {
        let id = query
            .get("smart_invite_id")
            .ok_or_else(|| required("smart_invite_id"))?;
        let email = query
            .get("recipient_email")
            .ok_or_else(|| required("recipient_email"))?;
        let ics = query.flag("include_ics")?;
        let row = self
            .smart_invites
            .iter()
            .find(|r| r.id == id && r.recipients.iter().any(|(e, _)| e == email))
            .ok_or_else(ApiErr::not_found)?;
        ok(row.to_json(Some(email), ics))
    }

    /// The test hook behind [`Cronofy::reply_to_smart_invite`].
    fn reply_to_smart_invite(&mut self, id: &str, email: &str, status: &str) -> Result<()> {
        if !matches!(status, "accepted" | "declined" | "tentative") {
            return Err(config(&format!(
                "a Smart Invite reply is accepted, declined or tentative, not `{status}`"
            )));
        }
        let row = self
            .smart_invites
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| unknown("smart invite", id))?;
        let recipient = row
            .recipients
            .iter_mut()
            .find(|(e, _)| e == email)
            .ok_or_else(|| unknown("smart invite recipient", email))?;
        recipient.1 = status.to_string();
        Ok(())
    }

    /// `POST /v1/bookable_events`: creates, or updates one with the same id
    /// (its registrations are kept).
    fn create_bookable_event(&mut self, body: &Value) -> Outcome {
        let request: types::BookableEventCreate = decode(body)?;
        if request.bookable_event_id.trim().is_empty() {
            return Err(invalid(
                "bookable_event_id",
                "bookable_event_id must not be blank",
            ));
        }
        let (start, end) = (request.start.0, request.end.0);
        if end <= start {
            return Err(invalid("end", "end must be after start"));
        }
        let status = body["status"].as_str().unwrap_or("confirmed").to_string();
        let capacity = request.registration.capacity.get();
        let existing = self
            .bookable_events
            .iter_mut()
            .find(|b| b.id == request.bookable_event_id);
        let row = match existing {
            Some(row) => {
                let accepted = row.count(|s| s == "accepted") as u64;
                if capacity < accepted {
                    return Err(invalid(
                        "registration.capacity",
                        format!(
                            "capacity {capacity} is below the {accepted} accepted registrations"
                        ),
                    ));
                }
                row.start = start;
                row.end = end;
                row.status = status;
                row.capacity = capacity;
                row
            }
            None => {
                self.bookable_events.push(BookableEventRow {
                    id: request.bookable_event_id.clone(),
                    start,
                    end,
                    status,
                    capacity,
                    registrations: Vec::new(),
                });
                self.bookable_events
                    .last_mut()
                    .ok_or_else(ApiErr::not_found)?
            }
        };
        ok(row.to_json())
    }

    fn bookable_event(&mut self, id: &str) -> std::result::Result<&mut BookableEventRow, ApiErr> {
        self.bookable_events
            .iter_mut()
            .find(|b| b.id == id)
            .ok_or_else(ApiErr::not_found)
    }

    /// `POST /v1/bookable_events/{id}/registrations`.
    fn upsert_registration(&mut self, id: &str, body: &Value) -> Outcome {
        let request: types::RegistrationUpsert = decode(body)?;
        if request.registration_id.trim().is_empty() {
            return Err(invalid(
                "registration_id",
                "registration_id must not be blank",
            ));
        }
        let row = self.bookable_event(id)?;
        if row.status == "cancelled" {
            return Err(invalid(
                "bookable_event_id",
                format!("bookable event {id} is cancelled"),
            ));
        }
        let status = body["status"].as_str().unwrap_or("pending").to_string();
        let index = row
            .registrations
            .iter()
            .position(|r| r["registration_id"] == request.registration_id.as_str());
        let was_accepted = index.is_some_and(|i| row.registrations[i]["status"] == "accepted");
        if status == "accepted"
            && !was_accepted
            && row.count(|s| s == "accepted") as u64 >= row.capacity
        {
            return Err(unprocessable(
                "registration_id",
                "errors.capacity_reached",
                format!("bookable event {id} is full ({} places)", row.capacity),
            ));
        }
        let registration = json!({
            "registration_id": request.registration_id,
            "status": status,
            "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
        });
        match index {
            Some(i) => row.registrations[i] = registration,
            None => row.registrations.push(registration),
        }
        ok(row.to_json())
    }

    /// `DELETE /v1/bookable_events/{id}/registrations/{registration_id}`.
    fn delete_registration(&mut self, id: &str, registration_id: &str) -> Outcome {
        let row = self.bookable_event(id)?;
        let index = row
            .registrations
            .iter()
            .position(|r| r["registration_id"] == registration_id)
            .ok_or_else(ApiErr::not_found)?;
        row.registrations.remove(index);
        ok(row.to_json())
    }

    /// `POST /v1/add_to_calendar`: checks the request (credentials in the
    /// body) and answers the URL to send the user to.
    fn add_to_calendar(&mut self, ctx: &Ctx<'_>, body: &Value) -> Outcome {
        let request: types::AddToCalendarRequest = decode(body)?;
        Self::check_client(ctx.config, body)?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        let event = &request.event;
        if event
            .event_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(required("event.event_id"));
        }
        if event.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(required("event.summary"));
        }
        if let Some(t) = &event.tzid {
            tz("event.tzid", t)?;
        }
        match (&event.start, &event.end, &request.availability) {
            (Some(start), Some(end), _) => {
                let (start, _) = when_of("event.start", start)?;
                let (end, _) = when_of("event.end", end)?;
                check_period(start, end).map_err(|e| prefix_errors(e, "event"))?;
            }
            (None, None, Some(availability)) => {
                self.availability(&Caller::App, availability)
                    .map_err(|e| prefix_errors(e, "availability"))?;
            }
            (None, _, _) => return Err(required("event.start")),
            (Some(_), None, _) => return Err(required("event.end")),
        }
        self.check_targets(&request.target_calendars)?;
        ok(json!({"url": format!("{}/add_to_calendar/{}", ctx.root, alnum_id(20))}))
    }

    /// `POST /v1/real_time_sequencing`: checks the request and its sequenced
    /// availability, and answers the link.
    fn create_real_time_sequencing(&mut self, ctx: &Ctx<'_>, body: &Value) -> Outcome {
        let request: types::RealTimeSequencingRequest = decode(body)?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        if let Some(t) = &request.event.tzid {
            tz("event.tzid", t)?;
        }
        if let Some(t) = &request.tzid {
            tz("tzid", t)?;
        }
        let availability = body.get("availability").cloned().unwrap_or_default();
        self.query_sequenced_availability(&Caller::App, &availability)
            .map_err(|e| prefix_errors(e, "availability"))?;
        self.check_targets(&request.target_calendars)?;
        ok(json!({
            "real_time_sequencing": {
                "real_time_sequencing_id": format!("seq_{}", hex_id(24)),
                "url": format!("{}/real_time_sequencing/{}", ctx.root, alnum_id(20)),
            }
        }))
    }
}

// ------------------------------------------------------------------------------------------
// Enterprise Connect, Business Connect, conferencing
// ------------------------------------------------------------------------------------------

/// The domain of an email address, lower-cased.
fn domain_of(email: &str) -> String {
    email
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// One service-account or delegated authorization request's common fields.
fn check_authorization_request(
    at: &str,
    email: &str,
    scope: &str,
    callback_url: &str,
) -> std::result::Result<(), ApiErr> {
    if !plausible_email(email) {
        return Err(invalid(
            &format!("{at}email"),
            format!("{email} is not an email address"),
        ));
    }
    if scope.trim().is_empty() {
        return Err(required(&format!("{at}scope")));
    }
    check_web_url(&format!("{at}callback_url"), callback_url)?;
    Ok(())
}

/// `POST /v1/service_account_authorizations`, one or a batch: checked and
/// accepted (202); the callbacks Cronofy then makes are not played.
fn service_account_authorization(caller: &Caller, body: &Value) -> Outcome {
    caller.account()?;
    match decode::<types::ServiceAccountAuthorizationRequest>(body)? {
        types::ServiceAccountAuthorizationRequest::One(one) => {
            check_authorization_request("", &one.email, &one.scope, &one.callback_url)?;
        }
        types::ServiceAccountAuthorizationRequest::Batch(batch) => {
            if batch.service_account_authorizations.is_empty() {
                return Err(required("service_account_authorizations"));
            }
            for (i, one) in batch.service_account_authorizations.iter().enumerate() {
                check_authorization_request(
                    &format!("service_account_authorizations.{i}."),
                    &one.email,
                    &one.scope,
                    &one.callback_url,
                )?;
            }
        }
    }
    Ok(Answer::Accepted)
}

/// `POST /v1/conferencing_service_authorizations`: the URL to send the user to.
fn conferencing_authorization(ctx: &Ctx<'_>, caller: &Caller, body: &Value) -> Outcome {
    caller.account()?;
    let request: types::ConferencingServiceAuthorizationRequest = decode(body)?;
    check_web_url("redirect_uri", &request.redirect_uri)?;
    ok(json!({
        "authorization_request": {
            "url": format!("{}/conferencing_service_authorizations/{}", ctx.root, alnum_id(20)),
        }
    }))
}

impl Store {
    /// `POST /v1/delegated_authorizations`: checked (the profile must be
    /// the caller's) and accepted (202).
    fn delegated_authorization(&self, caller: &Caller, body: &Value) -> Outcome {
        let account_id = caller.account()?;
        let request: types::DelegatedAuthorization = decode(body)?;
        self.own_profile(account_id, &request.profile_id)?;
        check_authorization_request("", &request.email, &request.scope, &request.callback_url)?;
        Ok(Answer::Accepted)
    }

    /// 422 on `profile_id` unless it is a live profile of `account_id`.
    fn own_profile(&self, account_id: &str, profile_id: &str) -> std::result::Result<(), ApiErr> {
        if self
            .profiles
            .iter()
            .any(|p| p.id == profile_id && p.account_id == account_id && !p.revoked)
        {
            Ok(())
        } else {
            Err(invalid(
                "profile_id",
                format!("{profile_id} is not a profile of this account"),
            ))
        }
    }

    /// The email domain of the caller's account.
    fn caller_domain(&self, caller: &Caller) -> std::result::Result<String, ApiErr> {
        let account_id = caller.account()?;
        Ok(self
            .account(account_id)
            .map(|a| domain_of(&a.email))
            .unwrap_or_default())
    }

    /// `GET /v1/resources`: the seeded resources of the caller's domain.
    fn list_resources(&self, caller: &Caller) -> Outcome {
        let domain = self.caller_domain(caller)?;
        let resources: Vec<Value> = self
            .resources
            .iter()
            .filter(|(email, _)| domain_of(email) == domain)
            .map(|(email, name)| json!({"email": email, "name": name}))
            .collect();
        ok(json!({"resources": resources}))
    }

    /// `GET /v1/accessible_calendars?profile_id=`: the other accounts
    /// (`user`) and resources (`resource`) of the caller's domain.
    fn list_accessible_calendars(&self, caller: &Caller, query: &Query) -> Outcome {
        let account_id = caller.account()?;
        let profile_id = query
            .get("profile_id")
            .ok_or_else(|| required("profile_id"))?;
        self.own_profile(account_id, profile_id)?;
        let domain = self.caller_domain(caller)?;
        let users = self
            .accounts
            .iter()
            .filter(|a| {
                a.id != account_id
                    && a.kind == AccountKind::Account
                    && domain_of(&a.email) == domain
            })
            .map(|a| json!({"calendar_type": "user", "email": a.email, "name": a.name}));
        let resources = self
            .resources
            .iter()
            .filter(|(email, _)| domain_of(email) == domain)
            .map(
                |(email, name)| json!({"calendar_type": "resource", "email": email, "name": name}),
            );
        let wanted = query.get("calendar_type");
        let calendars: Vec<Value> = users
            .chain(resources)
            .filter(|c| wanted.is_none_or(|t| c["calendar_type"] == t))
            .collect();
        ok(json!({"accessible_calendars": calendars}))
    }
}

// ------------------------------------------------------------------------------------------
// Batch
// ------------------------------------------------------------------------------------------

impl Store {
    /// `POST /v1/batch`: each entry through its own endpoint's code, 207.
    fn batch(&mut self, ctx: &Ctx<'_>, caller: &Caller, body: &Value) -> Outcome {
        caller.account()?;
        let request: types::BatchRequest = decode(body)?;
        let limit = batch_limit();
        if request.batch.len() > limit {
            return Err(invalid(
                "batch",
                format!("batch must have at most {limit} entries"),
            ));
        }
        let mut results = Vec::with_capacity(request.batch.len());
        for entry in request.batch {
            let method =
                Method::from_bytes(entry.method.to_string().as_bytes()).unwrap_or(Method::POST);
            let path = entry
                .relative_url
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string();
            let outcome = match Route::parse(&method, &path) {
                Some(route) if route.batchable() => self.run(
                    ctx,
                    caller,
                    route,
                    &Query::default(),
                    &Value::Object(entry.data),
                ),
                _ => Err(ApiErr::not_found()),
            };
            let result = match outcome {
                Ok(Answer::Accepted) => types::BatchEntryResult {
                    status: 202,
                    data: None,
                },
                Ok(Answer::Json(status, _)) => types::BatchEntryResult {
                    status: i64::from(status.as_u16()),
                    data: None,
                },
                Ok(Answer::Empty) => types::BatchEntryResult {
                    status: 200,
                    data: None,
                },
                Err(e) => types::BatchEntryResult {
                    status: i64::from(e.status.as_u16()),
                    data: e.errors(),
                },
            };
            results.push(result);
        }
        Ok(Answer::Json(
            StatusCode::MULTI_STATUS,
            json!({ "batch": results }),
        ))
    }
}

/// The spec's limit of entries per batch (`x-specbound-batch-limit`).
fn batch_limit() -> usize {
    spec::EXTENSIONS
        .iter()
        .find(|(op, ext, _)| *op == "batch" && *ext == "x-specbound-batch-limit")
        .and_then(|(_, _, v)| v.parse().ok())
        .unwrap_or(50)
}

// ------------------------------------------------------------------------------------------
// Routes
// ------------------------------------------------------------------------------------------

type St = State<Arc<Shared>>;

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/token/revoke", post(revoke))
        .route("/permissions/{token}", get(permissions_page))
        .route("/real_time_scheduling/{token}", get(scheduling_page))
        .fallback(api)
        .method_not_allowed_fallback(api)
        .with_state(shared)
}

/// Every `/v1` operation: route, credentials, rate limit, then the operation.
async fn api(
    State(shared): St,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let ctx = shared.ctx();
    let query = Query::parse(uri.query());
    let outcome = match Route::parse(&method, uri.path()) {
        None => Err(ApiErr::not_found()),
        Some(route) => shared.with_state(|state| {
            let caller = state.authenticate(ctx.config, route.operation(), &headers)?;
            state.rate_check(ctx.config)?;
            let body = parse_body(&body)?;
            state.run(&ctx, &caller, route, &query, &body)
        }),
    };
    respond(outcome)
}

/// A token endpoint's body: JSON, or form-encoded (the docs accept both).
fn token_body(headers: &HeaderMap, body: &[u8]) -> std::result::Result<Value, ApiErr> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return parse_body(body);
    }
    let map: Map<String, Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Ok(Value::Object(map))
}

/// Token answers are never cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn token(State(shared): St, headers: HeaderMap, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    shared.token_requests.fetch_add(1, Ordering::Relaxed);
    let ctx = shared.ctx();
    let outcome = token_body(&headers, &body).and_then(|body| {
        shared.with_state(|state| {
            state.rate_check(ctx.config)?;
            state.token(&ctx, &body, &shared.refreshes)
        })
    });
    no_store(respond(outcome))
}

async fn revoke(State(shared): St, headers: HeaderMap, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let ctx = shared.ctx();
    let outcome = token_body(&headers, &body).and_then(|body| {
        shared.with_state(|state| {
            state.rate_check(ctx.config)?;
            state.revoke_authorization(ctx.config, &body)
        })
    });
    respond(outcome)
}

/// The authorization page of the app host: the signed-in account grants the
/// scope at once and the browser goes back to `redirect_uri`.
async fn authorize(State(shared): St, RawQuery(raw): RawQuery) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let query = Query::parse(raw.as_deref());
    let target = shared.with_state(|state| state.authorize_page(&shared.config, &query));
    match target {
        Ok(location) => redirect(&location),
        Err((status, why)) => page(status, &why),
    }
}

/// The page of an elevated-permissions request: granted at once.
async fn permissions_page(State(shared): St, Path(token): Path<String>) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let redirect_to = shared.with_state(|state| {
        let request = state.permission_requests.remove(&token)?;
        for (calendar_id, level) in &request.calendar_ids {
            if let Some(c) = state
                .calendars
                .iter_mut()
                .find(|c| &c.id == calendar_id && c.account_id == request.account_id)
            {
                c.permission_level.clone_from(level);
            }
        }
        Some(request.redirect_uri)
    });
    match redirect_to {
        None => page(
            StatusCode::NOT_FOUND,
            "This permissions request is unknown or was used.",
        ),
        Some(Some(uri)) => redirect(&uri),
        Some(None) => page(StatusCode::OK, "Permissions granted."),
    }
}

/// The booking page of a Real-Time Scheduling link (a placeholder: complete
/// it with [`Cronofy::complete_real_time_scheduling`]).
async fn scheduling_page(State(shared): St, Path(token): Path<String>) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let status = shared.with_state(|state| {
        state
            .rts
            .iter()
            .find(|r| r.token == token)
            .map(|r| r.status.clone())
    });
    match status {
        Some(status) => page(
            StatusCode::OK,
            &format!("Real-Time Scheduling link: {status}."),
        ),
        None => page(StatusCode::NOT_FOUND, "This scheduling link is unknown."),
    }
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => page(StatusCode::BAD_REQUEST, "The redirect URI cannot be used."),
    }
}

fn page(status: StatusCode, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>Cronofy sandbox</title></head><body><p>{}</p></body></html>\n",
        text.replace('&', "&amp;").replace('<', "&lt;")
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn span(s: &str, e: &str) -> Span {
        (
            t(&format!("2026-11-25T{s}:00Z")),
            t(&format!("2026-11-25T{e}:00Z")),
        )
    }

    #[test]
    fn spans_merge_intersect_and_subtract() {
        let day = vec![span("09:00", "17:00")];
        let busy = normalize(vec![
            span("12:00", "13:00"),
            span("10:00", "11:00"),
            span("10:30", "11:30"),
        ]);
        assert_eq!(busy, [span("10:00", "11:30"), span("12:00", "13:00")]);
        assert_eq!(
            subtract(&day, &busy),
            [
                span("09:00", "10:00"),
                span("11:30", "12:00"),
                span("13:00", "17:00")
            ]
        );
        assert_eq!(
            intersect(&day, &[span("08:00", "09:30"), span("16:00", "18:00")]),
            [span("09:00", "09:30"), span("16:00", "17:00")]
        );
        assert!(covers(
            &day,
            t("2026-11-25T09:00:00Z"),
            t("2026-11-25T17:00:00Z")
        ));
        assert!(!covers(
            &busy,
            t("2026-11-25T11:00:00Z"),
            t("2026-11-25T12:30:00Z")
        ));
    }

    #[test]
    fn slot_starts_align_to_the_grid_from_the_epoch() {
        let half_hour = chrono::Duration::minutes(30);
        assert_eq!(
            align_up(t("2026-11-25T09:10:00Z"), half_hour),
            t("2026-11-25T09:30:00Z")
        );
        assert_eq!(
            align_up(t("2026-11-25T09:30:00Z"), half_hour),
            t("2026-11-25T09:30:00Z")
        );
        assert_eq!(
            align_up(t("2026-11-25T09:10:00Z"), chrono::Duration::hours(1)),
            t("2026-11-25T10:00:00Z")
        );
    }

    #[test]
    fn schema_violations_become_cronofy_field_errors() {
        let missing = json!({"event_id": "x", "start": "2026-11-25T09:00:00Z", "end": "2026-11-25T10:00:00Z"});
        let e = decode::<types::EventUpsert>(&missing).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.body,
            Some(
                json!({"errors": {"summary": [{"key": "errors.required", "description": "summary must be specified"}]}})
            )
        );
        let wrong = json!({"status": "maybe"});
        let e = decode::<types::ParticipationStatusChange>(&wrong).unwrap_err();
        let body = e.errors().unwrap_or_default();
        assert_eq!(
            body.errors["status"][0].key.as_deref(),
            Some("errors.invalid")
        );
        assert_eq!(
            body.errors["status"][0].description.as_deref(),
            Some("status must be one of accepted, tentative or declined")
        );
        let nested =
            json!({"participants": [{"members": [{}]}], "required_duration": {"minutes": 30}});
        let e = decode::<types::AvailabilityQuery>(&nested).unwrap_err();
        let body = e.errors().unwrap_or_default();
        assert!(
            body.errors.contains_key("participants.0.members.0.sub"),
            "{body:?}"
        );
    }

    #[test]
    fn huge_durations_and_periods_are_refused_before_any_arithmetic() {
        let mut store = Store::new();
        store.add_account("acc_1", "a@example.com", AccountKind::Account);
        let query = |extra: Value| -> types::AvailabilityQuery {
            let mut q = json!({
                "participants": [{"members": [{"sub": "acc_1"}]}],
                "required_duration": {"minutes": 60},
                "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
            });
            if let (Some(q), Some(extra)) = (q.as_object_mut(), extra.as_object()) {
                q.extend(extra.clone());
            }
            serde_json::from_value(q).unwrap_or_else(|e| panic!("{e}"))
        };
        let field = |extra: Value| {
            store
                .availability(&Caller::App, &query(extra))
                .err()
                .and_then(|e| e.errors())
                .and_then(|e| e.errors.keys().next().cloned())
        };
        assert_eq!(field(json!({})), None);
        assert_eq!(
            field(json!({"required_duration": {"minutes": u64::MAX}})),
            Some("required_duration".into())
        );
        assert_eq!(
            field(json!({"buffer": {"after": {"hours": 1_000_000}}})),
            Some("buffer.after".into())
        );
        assert_eq!(
            field(
                json!({"query_periods": [{"start": "2026-01-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}]})
            ),
            Some("query_periods.0".into())
        );
    }

    #[test]
    fn scopes_grant_their_operations() {
        assert!(grants("read_write", "create_calendar"));
        assert!(grants("read_only", "read_events"));
        assert!(!grants("read_only", "create_event"));
        assert!(grants("read_events create_event", "read_free_busy"));
        assert!(!grants("read_events create_event", "delete_event"));
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(decode_segment("cal_a%40b%2Fc"), "cal_a@b/c");
        assert_eq!(decode_segment("50%"), "50%");
        assert!(matches!(
            Route::parse(&Method::POST, "/v1/calendars/cal_a%40b/events"),
            Some(Route::UpsertEvent(c)) if c == "cal_a@b"
        ));
        assert!(Route::parse(&Method::PUT, "/v1/calendars").is_none());
    }

    #[test]
    fn every_operation_of_the_spec_has_a_route() {
        let routed: BTreeSet<&str> = [
            (Method::GET, "/v1/account"),
            (Method::GET, "/v1/userinfo"),
            (Method::GET, "/v1/profiles"),
            (Method::POST, "/v1/profiles/p/revoke"),
            (Method::POST, "/v1/permissions"),
            (Method::POST, "/v1/link_tokens"),
            (Method::POST, "/v1/application_calendars"),
            (Method::GET, "/v1/calendars"),
            (Method::POST, "/v1/calendars"),
            (Method::GET, "/v1/events"),
            (Method::DELETE, "/v1/events"),
            (Method::GET, "/v1/events/pages/t"),
            (Method::GET, "/v1/free_busy"),
            (Method::GET, "/v1/free_busy/pages/t"),
            (Method::POST, "/v1/calendars/c/events"),
            (Method::DELETE, "/v1/calendars/c/events"),
            (
                Method::POST,
                "/v1/calendars/c/events/u/participation_status",
            ),
            (Method::POST, "/v1/channels"),
            (Method::GET, "/v1/channels"),
            (Method::DELETE, "/v1/channels/c"),
            (Method::POST, "/v1/availability"),
            (Method::POST, "/v1/sequenced_availability"),
            (Method::GET, "/v1/availability_rules"),
            (Method::POST, "/v1/availability_rules"),
            (Method::GET, "/v1/availability_rules/r"),
            (Method::DELETE, "/v1/availability_rules/r"),
            (Method::POST, "/v1/available_periods"),
            (Method::GET, "/v1/available_periods"),
            (Method::DELETE, "/v1/available_periods"),
            (Method::GET, "/v1/available_periods/pages/t"),
            (Method::POST, "/v1/real_time_scheduling"),
            (Method::GET, "/v1/real_time_scheduling"),
            (Method::GET, "/v1/real_time_scheduling/s"),
            (Method::POST, "/v1/real_time_scheduling/s/disable"),
            (Method::POST, "/v1/element_tokens"),
            (Method::POST, "/v1/batch"),
            (Method::POST, "/v1/service_account_authorizations"),
            (Method::POST, "/v1/delegated_authorizations"),
            (Method::POST, "/v1/conferencing_service_authorizations"),
            (Method::GET, "/v1/resources"),
            (Method::GET, "/v1/accessible_calendars"),
            (Method::POST, "/v1/real_time_sequencing"),
            (Method::POST, "/v1/add_to_calendar"),
            (Method::POST, "/v1/smart_invites"),
            (Method::GET, "/v1/smart_invites"),
            (Method::POST, "/v1/bookable_events"),
            (Method::GET, "/v1/bookable_events/b"),
            (Method::POST, "/v1/bookable_events/b/registrations"),
            (Method::DELETE, "/v1/bookable_events/b/registrations/r"),
        ]
        .iter()
        .filter_map(|(m, p)| Route::parse(m, p).map(|r| r.operation()))
        .collect();
        // The token endpoints have routes of their own.
        let others = ["request_token", "revoke_authorization"];
        for (operation, _) in spec::SECURITY {
            assert!(
                routed.contains(operation) || others.contains(operation),
                "{operation} has no route"
            );
        }
        assert_eq!(routed.len() + others.len(), spec::SECURITY.len());
    }

    #[test]
    fn rules_expand_in_their_time_zone() {
        let rule: types::AvailabilityRule = serde_json::from_value(json!({
            "availability_rule_id": "r",
            "tzid": "America/Chicago",
            "weekly_periods": [{"day": "wednesday", "start_time": "09:30", "end_time": "12:30"}],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let week = [(t("2026-11-23T00:00:00Z"), t("2026-11-30T00:00:00Z"))];
        assert_eq!(
            expand_rule(&rule, &week),
            [(t("2026-11-25T15:30:00Z"), t("2026-11-25T18:30:00Z"))]
        );
    }

    #[test]
    fn signatures_are_those_cronofy_documents() {
        let secret = Secret::new("opposable thumbs");
        assert_eq!(
            sign(&secret, br#"{"example":"well-known"}"#),
            "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk="
        );
    }
}
