//! [`ZendeskBuilder`]: the account's agents and OAuth client, the seeded
//! records, and the server's settings.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::dispatch::Shared;
use super::limits::{LimitConfig, Limits};
use super::store::{AgentConfig, Config, Store, now};
use super::{Zendesk, config};
use crate::Result;
use crate::runtime::Secret;
use crate::sandbox::engine::{self, PageTokens};

/// Sets up the account, then starts a [`Zendesk`].
pub struct ZendeskBuilder {
    agents: Vec<AgentConfig>,
    oauth_client: Option<(String, Secret)>,
    redirect_uris: Vec<String>,
    counts: [usize; 4],
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
    export_cursor_ttl: Duration,
    rejected_bulk_item: Option<usize>,
    limits: LimitConfig,
}

impl fmt::Debug for ZendeskBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let emails: Vec<&str> = self.agents.iter().map(|a| a.email.as_str()).collect();
        f.debug_struct("ZendeskBuilder")
            .field("agents", &emails)
            .field("client_id", &self.oauth_client.as_ref().map(|c| &c.0))
            .field("organizations_groups_users_tickets", &self.counts)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ZendeskBuilder {
    pub(super) fn new() -> Self {
        ZendeskBuilder {
            agents: Vec::new(),
            oauth_client: None,
            redirect_uris: Vec::new(),
            counts: [0, 1, 0, 0],
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            export_cursor_ttl: Duration::from_secs(3600),
            rejected_bulk_item: None,
            limits: LimitConfig::default(),
        }
    }

    /// An agent of the account with their API token (`{email}/token:{api_token}`).
    /// The first is the account owner, an admin: OAuth sign-ins and client
    /// credentials act as them. At least one is required.
    pub fn agent(mut self, email: &str, api_token: &str) -> Self {
        let name = email.split('@').next().unwrap_or(email).to_string();
        self.agents.push(AgentConfig {
            email: email.to_string(),
            name,
            api_token: Secret::new(api_token),
        });
        self
    }

    /// The OAuth client (confidential: id and secret; public clients of the
    /// same id redeem codes with PKCE alone).
    pub fn oauth_client(mut self, client_id: &str, client_secret: &str) -> Self {
        self.oauth_client = Some((client_id.to_string(), Secret::new(client_secret)));
        self
    }

    /// A registered redirect URI; repeat for several. Without any, every
    /// http or https URI is accepted.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_string());
        self
    }

    /// Seeds `n` tickets (ids 1 to `n`), asked by the seeded end users in
    /// turn (or the owner), assigned to the owner, with statuses, priorities
    /// and types in turn, one second apart, about a day old.
    pub fn tickets(mut self, n: usize) -> Self {
        self.counts[3] = n;
        self
    }

    /// Seeds `n` end users (`User 1`, `user1@example.com`...), each in a
    /// seeded organization in turn.
    pub fn users(mut self, n: usize) -> Self {
        self.counts[2] = n;
        self
    }

    /// Seeds `n` organizations (`Organization 1`, domain `org1.example.com`...).
    pub fn organizations(mut self, n: usize) -> Self {
        self.counts[0] = n;
        self
    }

    /// Seeds `n` groups (default 1: the default group `Support`).
    pub fn groups(mut self, n: usize) -> Self {
        self.counts[1] = n;
        self
    }

    /// How long access tokens live unless a token request asks otherwise
    /// (default 30 minutes, Zendesk's default).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// How long refresh tokens live unless asked otherwise (default 30 days).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// How long a Search Export cursor can be used (default one hour, as
    /// Zendesk's); an older one answers 400 `InvalidPaginationParameter`.
    pub fn export_cursor_ttl(mut self, ttl: Duration) -> Self {
        self.export_cursor_ttl = ttl;
        self
    }

    /// Makes every bulk job refuse its item at `index` (0-based) with
    /// `RecordInvalid`, as Zendesk reports a failed item in the results.
    pub fn reject_bulk_item(mut self, index: usize) -> Self {
        self.rejected_bulk_item = Some(index);
        self
    }

    /// Requests per window for the whole account (default 700, Suite
    /// Enterprise's per minute); past them 429 `APIRateLimitExceeded`.
    pub fn rate_limit(mut self, limit: usize) -> Self {
        self.limits.account = limit;
        self
    }

    /// The length of the rate-limit windows (default one minute).
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.limits.window = window;
        self
    }

    /// Whether a 429 carries `Retry-After` (default `true`).
    pub fn rate_limit_retry_after(mut self, send: bool) -> Self {
        self.limits.retry_after = send;
        self
    }

    /// Requests per window of the incremental exports together (Zendesk:
    /// 10 a minute, 30 with High Volume; default: not counted).
    pub fn incremental_rate_limit(mut self, limit: usize) -> Self {
        self.limits.incremental = Some(limit);
        self
    }

    /// Requests per window of one operation (by operationId), with its
    /// `zendesk-ratelimit-<endpoint>` header (`list_tickets` is
    /// `tickets-index`, `update_ticket` `tickets-update`).
    pub fn endpoint_rate_limit(mut self, operation_id: &str, limit: usize) -> Self {
        self.limits
            .endpoints
            .push((operation_id.to_string(), limit));
        self
    }

    /// Starts the server on a free port of 127.0.0.1 on the current tokio
    /// runtime. [`Error::Config`](crate::Error::Config) names what cannot be
    /// set up: no agent, an agent without email or token, a repeated email,
    /// an empty OAuth client, a limit of 0.
    pub async fn start(self) -> Result<Zendesk> {
        if self.agents.is_empty() {
            return Err(config("no agent (ZendeskBuilder::agent)"));
        }
        for (i, agent) in self.agents.iter().enumerate() {
            if !agent.email.contains('@') || agent.api_token.expose().is_empty() {
                return Err(config(&format!(
                    "agent `{}` needs an email and an API token",
                    agent.email
                )));
            }
            if self.agents[..i]
                .iter()
                .any(|a| a.email.eq_ignore_ascii_case(&agent.email))
            {
                return Err(config(&format!("agent `{}` is set up twice", agent.email)));
            }
        }
        if self
            .oauth_client
            .as_ref()
            .is_some_and(|(id, secret)| id.is_empty() || secret.expose().is_empty())
        {
            return Err(config("the OAuth client id and secret must not be empty"));
        }
        if self.limits.account == 0
            || self.limits.incremental == Some(0)
            || self.limits.endpoints.iter().any(|(_, n)| *n == 0)
        {
            return Err(config("a rate limit must allow at least one request"));
        }
        let http = crate::runtime::Config::default().http_client()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(Store::default()),
            config: Config {
                agents: self.agents,
                oauth_client: self.oauth_client,
                redirect_uris: self.redirect_uris,
                access_token_ttl: self.access_token_ttl,
                refresh_token_ttl: self.refresh_token_ttl,
                export_cursor_ttl: self.export_cursor_ttl,
                rejected_bulk_item: self.rejected_bulk_item,
            },
            root: OnceLock::new(),
            exports: PageTokens::default(),
            limits: Limits::new(self.limits),
            replays: Default::default(),
            requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            delivered: Arc::new(AtomicU64::new(0)),
            runtime: tokio::runtime::Handle::current(),
            http,
        });
        let server = engine::start(shared.clone()).await?;
        let root = server.root_url();
        let _ = shared.root.set(root.clone());
        let counts = self.counts;
        let seeded: usize = counts.iter().sum();
        let start =
            now() - chrono::Duration::seconds(86_400 + i64::try_from(seeded).unwrap_or(0) + 60);
        shared.with_state(|store| {
            let ids: Vec<u64> = shared
                .config
                .agents
                .iter()
                .map(|a| store.seed_agent(&root, a, start))
                .collect();
            let owner = ids[0];
            store.signed_in = owner;
            store.seed_collections(&root);
            store.seed(&root, counts, owner, start);
            store.seed_memberships(&root, &ids);
        });
        tracing::debug!(url = %root, "zendesk sandbox started");
        Ok(Zendesk {
            server: Arc::new(server),
            shared,
        })
    }
}
