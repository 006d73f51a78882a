//! What Zendesk's spec cannot say: building a client for an account
//! (subdomain, custom domain, zenpy's netloc and scheme overrides) with its
//! credentials (OAuth first; the legacy API token; never a password), the
//! OAuth authorization code flow with PKCE, and searches past 1,000 results.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::cache::{CacheConfig, Caches};
use super::credentials::{ApiToken, Credentials, OAuthApp};
use super::generated::Client;
use super::rate_limits::RateLimit;
use super::search::Search;
use super::search_all::SearchAll;
use super::spec::API;
use crate::error::AuthErrorKind;
use crate::runtime::oauth::AuthorizationRequest;
use crate::runtime::{
    Config, CredentialCore, MemoryTokenStore, OAuthToken, Runtime, Secret, TokenStore,
    common_builder_methods,
};
use crate::{Error, Result};

/// Builds a Zendesk [`Client`].
///
/// ```no_run
/// # fn run() -> specbound::Result<()> {
/// use specbound::zendesk::Client;
/// use specbound::runtime::FileTokenStore;
/// let zd = Client::builder()
///     .subdomain("acme")
///     .oauth("my-client-id", "my-client-secret")
///     .token_store(FileTokenStore::new("zendesk-token.json"))
///     .build()?;
/// # let _ = zd;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    host: Result<String>,
    netloc: Option<String>,
    scheme: Option<String>,
    oauth: Option<(String, Option<Secret>)>,
    scope: String,
    client_credentials: bool,
    expires_in: Option<i64>,
    refresh_token_expires_in: Option<i64>,
    api_token: Option<ApiToken>,
    password_given: bool,
    store: Option<Arc<dyn TokenStore>>,
    token: Option<OAuthToken>,
    cache: CacheConfig,
    rate_limit: RateLimit,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("host", &self.host.as_ref().ok())
            .field("client_id", &self.oauth.as_ref().map(|(id, _)| id))
            .field("api_token_of", &self.api_token.as_ref().map(|t| &t.email))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder: account host, credentials, token store.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            host: Err(Error::Config(
                "a Zendesk client needs subdomain(), domain() or base_url()".into(),
            )),
            netloc: None,
            scheme: None,
            oauth: None,
            scope: "read write".into(),
            client_credentials: false,
            expires_in: None,
            refresh_token_expires_in: None,
            api_token: None,
            password_given: false,
            store: None,
            token: None,
            cache: CacheConfig::standard(),
            rate_limit: RateLimit::default(),
            config: Config::default(),
        }
    }
}

impl ClientBuilder {
    /// The account's subdomain: `acme` for `https://acme.zendesk.com`.
    pub fn subdomain(mut self, subdomain: &str) -> Self {
        let valid = !subdomain.is_empty()
            && subdomain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        self.host = if valid {
            let template = API
                .host("zendesk", "api")
                .unwrap_or("https://{subdomain}.zendesk.com");
            Ok(template.replace("{subdomain}", subdomain))
        } else {
            Err(Error::invalid(
                "subdomain",
                format!("`{subdomain}` is not a subdomain (letters, digits and `-`)"),
            ))
        };
        self
    }

    /// A host-mapped custom domain: `support.acme.com`.
    pub fn domain(mut self, domain: &str) -> Self {
        self.host = Ok(format!("https://{domain}"));
        self
    }

    /// The account root as a full URL (tests, sandboxes, proxies).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.host = Ok(url.into());
        self
    }

    /// zenpy's `ZENPY_FORCE_NETLOC`: send every request to this
    /// `host[:port]` instead of the account's.
    pub fn force_netloc(mut self, netloc: impl Into<String>) -> Self {
        self.netloc = Some(netloc.into());
        self
    }

    /// zenpy's `ZENPY_FORCE_SCHEME`: `http` or `https`.
    pub fn force_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// OAuth with a confidential client: its id and secret (the code
    /// exchange, refreshes, client credentials).
    pub fn oauth(mut self, client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        self.oauth = Some((client_id.into(), Some(client_secret.into())));
        self
    }

    /// OAuth with a public client (PKCE only, no secret).
    pub fn oauth_public(mut self, client_id: impl Into<String>) -> Self {
        self.oauth = Some((client_id.into(), None));
        self
    }

    /// Scopes asked for (default `read write`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Gets tokens with the client credentials grant (no user; the token
    /// acts as the admin who made the OAuth client).
    pub fn client_credentials(mut self) -> Self {
        self.client_credentials = true;
        self
    }

    /// Asks for tokens that expire (`expires_in` seconds, 300 to 172,800),
    /// and with them a refresh token (`refresh_token_expires_in`, 7 to 90
    /// days): Zendesk issues refresh tokens only to clients that ask for
    /// expiring access tokens, until expiry is mandatory for all (2027-04-01).
    pub fn token_lifetimes(mut self, expires_in_secs: i64, refresh_expires_in_secs: i64) -> Self {
        self.expires_in = Some(expires_in_secs);
        self.refresh_token_expires_in = Some(refresh_expires_in_secs);
        self
    }

    /// An OAuth access token given as it is (never refreshed).
    pub fn oauth_token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(OAuthToken::new(token, None, None));
        self
    }

    /// Starts from tokens obtained elsewhere (with a refresh token, they
    /// are refreshed and rotated).
    pub fn token(mut self, token: OAuthToken) -> Self {
        self.token = Some(token);
        self
    }

    /// The legacy email + API token (`{email}/token:{api_token}`). Zendesk
    /// retires API tokens: none can be created after 2026-10-27 and every
    /// one stops working on 2027-04-30. Move to OAuth before then.
    pub fn api_token(mut self, email: impl Into<String>, token: impl Into<Secret>) -> Self {
        self.api_token = Some(ApiToken {
            email: email.into(),
            token: token.into(),
        });
        self
    }

    /// Email and password: refused by `build()`, because Zendesk switched
    /// password access to the API off in January 2026 (kept so that code
    /// moving from zenpy's `Zenpy(email=..., password=...)` gets a clear error).
    pub fn password(mut self, _email: impl Into<String>, _password: impl Into<Secret>) -> Self {
        self.password_given = true;
        self
    }

    /// Where OAuth tokens are kept (default: in memory); read again and
    /// written under a lock at each refresh, so that rotation never locks
    /// out a program running in several processes.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Size and time to live of the cache behind
    /// [`cached_user`](super::ZendeskCacheExt::cached_user) and its siblings
    /// (default [`CacheConfig::standard`]; [`CacheConfig::off`] for none).
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// How the client keeps Zendesk's rate limits before they bite
    /// (default [`RateLimit::default`]: a tenth of each limit left to other
    /// programs). A limiter given with `rate_limiter()` replaces it; a
    /// budget or fail-fast set here wins over the retry policy's.
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    common_builder_methods!();

    /// The client, or [`Error::Config`] / [`Error::Invalid`] / [`Error::Auth`]
    /// naming what is wrong.
    pub fn build(self) -> Result<Client> {
        if self.password_given {
            return Err(Error::auth(
                AuthErrorKind::Missing,
                "Zendesk switched off email + password access to the API in January 2026: \
                 use OAuth (oauth(), oauth_token()) or, until 2027-04-30, an API token",
            ));
        }
        let mut root =
            url::Url::parse(&self.host?).map_err(|e| Error::invalid("base_url", e.to_string()))?;
        if let Some(netloc) = &self.netloc {
            let forced = format!("{}://{netloc}", root.scheme());
            let parsed = url::Url::parse(&forced)
                .map_err(|e| Error::invalid("force_netloc", e.to_string()))?;
            root.set_host(parsed.host_str())
                .map_err(|e| Error::invalid("force_netloc", e.to_string()))?;
            root.set_port(parsed.port())
                .map_err(|()| Error::invalid("force_netloc", "cannot carry a port"))?;
        }
        if let Some(scheme) = &self.scheme {
            if !matches!(scheme.as_str(), "http" | "https") {
                return Err(Error::invalid(
                    "force_scheme",
                    format!("`{scheme}` is not http or https"),
                ));
            }
            // `Url::set_scheme` refuses nothing between http and https.
            let text = format!("{scheme}{}", &root.as_str()[root.scheme().len()..]);
            root = url::Url::parse(&text)
                .map_err(|e| Error::invalid("force_scheme", e.to_string()))?;
        }
        let base = root.as_str().trim_end_matches('/').to_string();
        let mut config = self.config;
        if config.rate_limiter.is_none() {
            config.rate_limiter = self
                .rate_limit
                .limiter()
                .map(|l| Arc::new(l) as Arc<dyn crate::runtime::RateLimiter>);
        }
        config.retry = self.rate_limit.retry(config.retry);
        let plain_rt = Runtime::new(&super::PROFILE, &base, &config)?;
        let http = plain_rt.http().clone();
        let plain = Client::new_with_client(plain_rt.base_url(), http.clone(), plain_rt.clone());
        let store: Arc<dyn TokenStore> = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let app = self.oauth.map(|(client_id, client_secret)| {
            Arc::new(OAuthApp {
                plain,
                client_id,
                client_secret,
                scope: self.scope.clone(),
                expires_in: self.expires_in,
                refresh_token_expires_in: self.refresh_token_expires_in,
                client_credentials: self.client_credentials,
            })
        });
        let grant = app.clone().map(|a| a as Arc<dyn crate::runtime::Grant>);
        let core = Arc::new(CredentialCore::new(store, grant));
        if let Some(token) = self.token {
            core.start_with(token);
        }
        if app.is_none() && self.api_token.is_none() && core.current().is_none() {
            return Err(Error::auth(
                AuthErrorKind::Missing,
                "a Zendesk client needs credentials: oauth(), oauth_token() or api_token()",
            ));
        }
        let credentials = Arc::new(Credentials {
            core: core.clone(),
            api_token: self.api_token,
        });
        let state = Arc::new(State {
            core,
            app,
            root: base.clone(),
            caches: Caches::new(&self.cache),
        });
        // Ticket creates get an Idempotency-Key once per call, before the
        // runtime's retries, so that a retried create cannot make a second
        // ticket (see crate::runtime::idempotency).
        let runtime = plain_rt
            .with_authorizer(credentials)
            .with_state(state)
            .with_prepare(Arc::new(crate::runtime::idempotency::DefaultKeys));
        Ok(Client::new_with_client(&base, http, runtime))
    }
}

/// What the sign-in calls need, kept in the runtime.
pub(crate) struct State {
    core: Arc<CredentialCore>,
    app: Option<Arc<OAuthApp>>,
    root: String,
    caches: Caches,
}

fn state(client: &Client) -> Result<&State> {
    use progenitor_client::ClientInfo as _;
    client.inner().state::<State>().ok_or_else(|| {
        Error::Config("this Zendesk client was not made by Client::builder()".into())
    })
}

/// The client's record caches (none for a client not made by the builder).
pub(crate) fn caches(client: &Client) -> Option<&Caches> {
    state(client).ok().map(|s| &s.caches)
}

fn app(client: &Client) -> Result<&OAuthApp> {
    state(client)?.app.as_deref().ok_or_else(|| {
        Error::auth(
            AuthErrorKind::Missing,
            "OAuth needs the client's oauth() credentials",
        )
    })
}

/// OAuth calls of a Zendesk [`Client`] (`use specbound::zendesk::prelude::*`).
pub trait ZendeskExt {
    /// The authorization URL (`/oauth/authorizations/new`) with a PKCE
    /// challenge (S256) and a random state.
    fn authorization_url(&self, redirect_uri: &str) -> Result<AuthorizationRequest>;

    /// Redeems the `code` the user came back with (within 120 seconds);
    /// the token is stored before it is used or returned.
    fn exchange_code(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// The current OAuth token (from the store on first use).
    fn token(&self) -> impl Future<Output = Result<Option<OAuthToken>>> + Send;

    /// Every result of `query`, past the 1,000 Zendesk's search pages to:
    /// `search_all(q).stream()` carries on through the search export when
    /// the search's `count` says there are more (see [`SearchAll`]). Named
    /// so beside the generated `search()`, whose stream stops at 1,000 with
    /// an [`Error::Paging`].
    ///
    /// ```no_run
    /// # async fn run(zd: specbound::zendesk::Client) -> specbound::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use specbound::zendesk::{Search, prelude::*};
    /// let q = Search::users().created_after(chrono::NaiveDate::from_ymd_opt(2023, 9, 14).unwrap());
    /// let users: Vec<_> = zd.search_all(q).stream().try_collect().await?;
    /// # let _ = users; Ok(()) }
    /// ```
    fn search_all(&self, query: Search) -> SearchAll;
}

impl ZendeskExt for Client {
    fn authorization_url(&self, redirect_uri: &str) -> Result<AuthorizationRequest> {
        let st = state(self)?;
        let app = app(self)?;
        let (template, _) = API
            .authorization_url("authorization_code")
            .ok_or_else(|| Error::Config("the spec names no authorization URL".into()))?;
        let raw = template.replace("{api}", &st.root);
        let url = url::Url::parse(&raw)
            .map_err(|e| Error::invalid("base_url", format!("`{raw}`: {e}")))?;
        Ok(AuthorizationRequest::new(
            url,
            &app.client_id,
            redirect_uri,
            &app.scope,
            &[],
        ))
    }

    async fn exchange_code(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<OAuthToken> {
        let st = state(self)?;
        let app = app(self)?;
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "is empty"));
        }
        let mut form = app.form("authorization_code");
        form.code = Some(Secret::from(code.to_string()));
        form.redirect_uri = Some(request.redirect_uri.clone());
        form.code_verifier = Some(request.verifier.clone());
        form.scope = Some(app.scope.clone());
        let token = app.request(form).await?;
        st.core.set(token.clone()).await?;
        Ok(token)
    }

    async fn token(&self) -> Result<Option<OAuthToken>> {
        state(self)?.core.token().await
    }

    fn search_all(&self, query: Search) -> SearchAll {
        SearchAll::new(self, query)
    }
}
