//! [`CronofyBuilder`]: the registered application, the seeded accounts,
//! calendars and resources, and the server's settings.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::dispatch::Shared;
use super::store::{AccountKind, Config, Store};
use super::times::{plausible_email, web_url};
use super::{Cronofy, config};
use crate::Result;
use crate::runtime::Secret;
use crate::sandbox::engine::{self, AppRateLimit, PageTokens};

/// How long an access token lives unless told otherwise (Cronofy's 3600 s).
const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Items per page of Read Events, Free Busy and Available Periods unless told
/// otherwise (Cronofy does not document its page size).
const DEFAULT_PAGE_SIZE: usize = 25;

/// The default rate-limit window.
const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);

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
    pub(super) fn new() -> Self {
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
    /// runtime. [`Error::Config`](crate::Error::Config) names what cannot be
    /// seeded: no client, an empty or repeated id, a calendar for an unknown
    /// account, a page size of 0.
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
        // The library's HTTP client (rustls with the enabled provider).
        let http = crate::runtime::Config::default().http_client()?;
        let rate_limit = self.rate_limit.map(|limit| {
            (
                usize::try_from(limit).unwrap_or(usize::MAX),
                self.rate_window,
            )
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(store),
            config: Config {
                client_id,
                client_secret,
                redirect_uris: self.redirect_uris,
                access_token_ttl: self.access_token_ttl,
                rotate_refresh_tokens: self.rotate_refresh_tokens,
                page_size: self.page_size,
            },
            root: OnceLock::new(),
            pages: PageTokens::default(),
            rate: AppRateLimit::new(rate_limit),
            requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            runtime: tokio::runtime::Handle::current(),
            http,
        });
        let server = engine::start(shared.clone()).await?;
        let _ = shared.root.set(server.root_url());
        tracing::debug!(url = %server.root_url(), "cronofy sandbox started");
        Ok(Cronofy {
            server: Arc::new(server),
            shared,
        })
    }

    fn seed(&self) -> Result<Store> {
        let mut store = Store::default();
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
