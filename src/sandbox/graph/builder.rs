//! [`GraphBuilder`]: the users, the registered application and the
//! server's settings; starting seeds each user's mailbox, calendar,
//! contacts and OneDrive, and the tenant's sites.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;

use super::assertion::AppCertificate;
use super::dispatch::Shared;
use super::store::{Config, Store, URL_SAFE, UserRow, guid, random_text};
use super::{Graph, config};
use crate::Result;
use crate::runtime::Secret;
use crate::sandbox::engine::{self, AppRateLimit, PageTokens};

/// Registers users and the application, then starts a [`Graph`].
pub struct GraphBuilder {
    users: Vec<(String, String)>,
    client: Option<(String, Secret)>,
    certificates: Vec<(String, Vec<u8>)>,
    redirect_uris: Vec<String>,
    inbox_messages: usize,
    page_size: usize,
    access_token_ttl: Duration,
    rotate_refresh_tokens: bool,
    upload_session_ttl: Duration,
    copy_polls: u32,
    validation_timeout: Duration,
    rate_limit: Option<u64>,
    rate_window: Duration,
}

impl fmt::Debug for GraphBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphBuilder")
            .field("users", &self.users)
            .field("client_id", &self.client.as_ref().map(|c| &c.0))
            .field(
                "certificates_of",
                &self.certificates.iter().map(|c| &c.0).collect::<Vec<_>>(),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("inbox_messages", &self.inbox_messages)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl GraphBuilder {
    pub(super) fn new() -> Self {
        GraphBuilder {
            users: Vec::new(),
            client: None,
            certificates: Vec::new(),
            redirect_uris: Vec::new(),
            inbox_messages: 3,
            page_size: 10,
            access_token_ttl: Duration::from_secs(3600),
            rotate_refresh_tokens: true,
            upload_session_ttl: Duration::from_secs(3600),
            copy_polls: 1,
            validation_timeout: Duration::from_secs(10),
            rate_limit: None,
            rate_window: Duration::from_secs(60),
        }
    }

    /// A user of the directory by user principal name (`adele@contoso.com`,
    /// also their mail address) and display name, with a mailbox (the
    /// well-known folders and [`inbox_messages`](Self::inbox_messages)
    /// messages), a calendar (one meeting they were invited to, tomorrow at
    /// 10:00 UTC), a contact folder and a OneDrive (`Documents`,
    /// `Welcome.txt`). The first user is the one signed in at the
    /// authorization page. At least one is required.
    pub fn user(mut self, principal_name: &str, display_name: &str) -> Self {
        self.users
            .push((principal_name.to_string(), display_name.to_string()));
        self
    }

    /// The registered application. Without one, any client id is accepted
    /// (and any secret for client credentials; assertions are always
    /// checked against [`app_certificate`](Self::app_certificate)).
    pub fn client(mut self, client_id: &str, client_secret: &str) -> Self {
        self.client = Some((client_id.to_string(), Secret::new(client_secret)));
        self
    }

    /// A certificate (the first `CERTIFICATE` block of `cert_pem`, RSA)
    /// registered with the application `client_id`; repeat for several.
    /// Client credentials may then prove themselves with a `client_assertion`
    /// signed by its key instead of a secret. An assertion whose certificate
    /// is not registered for its client is refused (`invalid_client`,
    /// AADSTS700027), even when no application is registered with
    /// [`client`](Self::client). A PEM that cannot be read makes
    /// [`start`](Self::start) fail.
    pub fn app_certificate(mut self, client_id: &str, cert_pem: impl AsRef<[u8]>) -> Self {
        self.certificates
            .push((client_id.to_string(), cert_pem.as_ref().to_vec()));
        self
    }

    /// A registered redirect URI; repeat for several. Without any, every
    /// http or https URI is accepted.
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uris.push(uri.to_string());
        self
    }

    /// Messages seeded in each inbox (default 3), a minute apart, the newest
    /// first, every second one read.
    pub fn inbox_messages(mut self, n: usize) -> Self {
        self.inbox_messages = n;
        self
    }

    /// Items per page when neither `$top` nor `Prefer: odata.maxpagesize`
    /// says (default 10; at least 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size;
        self
    }

    /// How long access tokens live (default 3600 s).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Whether each refresh issues a new refresh token and refuses the old
    /// one from then on (default `true`).
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// How long an upload session lives (default one hour); then its URL
    /// answers 404. See also [`Graph::expire_upload_sessions`].
    pub fn upload_session_ttl(mut self, ttl: Duration) -> Self {
        self.upload_session_ttl = ttl;
        self
    }

    /// How many polls of a copy's monitor answer `inProgress` before it
    /// answers `completed` (default 1).
    pub fn copy_polls(mut self, polls: u32) -> Self {
        self.copy_polls = polls;
        self
    }

    /// How long a subscriber has to echo a validation token (default 10 s).
    pub fn validation_timeout(mut self, timeout: Duration) -> Self {
        self.validation_timeout = timeout;
        self
    }

    /// Answers 429 `TooManyRequests` with `Retry-After` (the whole seconds
    /// left in the window, at least 1) to requests beyond `limit` in one
    /// window of [`rate_limit_window`](Self::rate_limit_window) (token
    /// requests count too). For one-off 429s, see [`Graph::faults`].
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
    /// seeded: no user, a user name that is not an address or is repeated,
    /// a page size of 0.
    pub async fn start(self) -> Result<Graph> {
        if self.users.is_empty() {
            return Err(config("no user (GraphBuilder::user)"));
        }
        if self.page_size == 0 {
            return Err(config("the page size must be at least 1"));
        }
        let store = self.seed()?;
        let certificates = self
            .certificates
            .iter()
            .map(|(client, pem)| AppCertificate::from_pem(client, pem).map_err(|e| config(&e)))
            .collect::<Result<Vec<_>>>()?;
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
                client: self.client,
                certificates,
                redirect_uris: self.redirect_uris,
                tenant_id: guid(),
                page_size: self.page_size,
                access_token_ttl: self.access_token_ttl,
                rotate_refresh_tokens: self.rotate_refresh_tokens,
                upload_session_ttl: self.upload_session_ttl,
                copy_polls: self.copy_polls,
                validation_timeout: self.validation_timeout,
            },
            root: OnceLock::new(),
            faults: OnceLock::new(),
            pages: PageTokens::default(),
            rate: AppRateLimit::new(rate_limit),
            requests: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            delivered: Arc::new(AtomicU64::new(0)),
            runtime: tokio::runtime::Handle::current(),
            http,
        });
        let server = engine::start(shared.clone()).await?;
        let _ = shared.root.set(server.root_url());
        let _ = shared.faults.set(server.shared_faults());
        tracing::debug!(url = %server.root_url(), "graph sandbox started");
        Ok(Graph {
            server: Arc::new(server),
            shared,
        })
    }

    fn seed(&self) -> Result<Store> {
        let mut store = Store::default();
        for (principal, name) in &self.users {
            let plausible = principal
                .split_once('@')
                .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
            if !plausible {
                return Err(config(&format!(
                    "user `{principal}` is not an address such as adele@contoso.com"
                )));
            }
            if store.user(principal).is_some() {
                return Err(config(&format!("user `{principal}` is seeded twice")));
            }
            let user = UserRow {
                id: guid(),
                principal: principal.clone(),
                name: name.clone(),
                drive_id: format!("b!{}", random_text(40, URL_SAFE)),
            };
            store.users.push(user.clone());
            store.seed_mailbox(&user, self.inbox_messages);
            store.seed_calendar(&user);
            store.seed_contacts(&user);
            let by =
                json!({"user": {"displayName": user.name, "id": user.id, "email": user.principal}});
            store.seed_drive(&user.id, &user.drive_id, "OneDrive", by);
        }
        let (team, drive) = store.seed_sites();
        store.seed_drive(
            &team,
            &drive,
            "Documents",
            json!({"application": {"displayName": "SharePoint"}}),
        );
        store.signed_in = store.users.first().map(|u| u.id.clone());
        Ok(store)
    }
}
