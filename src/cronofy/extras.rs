//! What Cronofy's spec cannot say: building a client (data center, token
//! store), the OAuth dance (links, code exchange, refresh, revoke),
//! application calendars, batches of any size and notification signatures.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::credentials::{App, Credentials, Refresh, token_from};
use super::data_center::DataCenter;
use super::generated::{Client, prelude::*, spec::API, types};
use crate::error::AuthErrorKind;
use crate::runtime::{
    Config, CredentialCore, MemoryTokenStore, OAuthToken, Runtime, Secret, TokenStore,
    common_builder_methods,
};
use crate::{Error, Result};

/// Builds a Cronofy [`Client`].
///
/// ```no_run
/// # async fn run(code: &str) -> specbound::Result<()> {
/// use futures::TryStreamExt;
/// use specbound::cronofy::{Client, DataCenter, prelude::*};
/// use specbound::runtime::FileTokenStore;
/// let cronofy = Client::builder()
///     .client_id("my-client-id")
///     .client_secret("my-client-secret")
///     .data_center(DataCenter::De)
///     .token_store(FileTokenStore::new("cronofy-token.json"))
///     .build()?;
/// let url = cronofy
///     .user_auth_link("https://example.com/callback")
///     .scope(["read_write"])
///     .state("csrf-token")
///     .build()?;
/// // ...the user comes back to the callback with `code`:
/// cronofy.get_authorization_from_code(code, "https://example.com/callback").await?; // stored first
/// let from = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let mut events = cronofy.read_events().from(from).tzid("Europe/London").stream();
/// while let Some(event) = events.try_next().await? {
///     println!("{:?}", event.summary);
/// }
/// # let _ = url;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    data_center: std::result::Result<DataCenter, Error>,
    api_url: Option<String>,
    app_url: Option<String>,
    store: Option<Arc<dyn TokenStore>>,
    token: Option<OAuthToken>,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("client_id", &self.client_id)
            .field("data_center", &self.data_center.as_ref().ok())
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder: client credentials, data center, token store.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            client_id: None,
            client_secret: None,
            data_center: Ok(DataCenter::default()),
            api_url: None,
            app_url: None,
            store: None,
            token: None,
            config: Config::default(),
        }
    }
}

impl ClientBuilder {
    /// The application's client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The application's client secret (token calls, application-level calls
    /// such as real-time scheduling, and push notification signatures).
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The data center of the accounts (default [`DataCenter::Us`]).
    pub fn data_center(mut self, dc: DataCenter) -> Self {
        self.data_center = Ok(dc);
        self
    }

    /// The data center by its id (`"de"`); an unknown id fails `build()`
    /// with [`Error::Invalid`] naming `data_center`.
    pub fn data_center_id(mut self, id: &str) -> Self {
        self.data_center = id.parse();
        self
    }

    /// Overrides the API host root (tests, sandboxes, proxies).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Overrides the app host root used in authorization links.
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = Some(url.into());
        self
    }

    /// Where tokens are kept (default: in memory). The store is read on the
    /// first call and again before each renewal, and written before a new
    /// token is used; clients (and processes) sharing a store renew once.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Starts from tokens obtained elsewhere (they take the place of what the
    /// store holds; the store is written at the next refresh).
    pub fn token(mut self, token: OAuthToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Starts from an access token (and optionally a refresh token), as
    /// pycronofy's `Client(access_token=..., refresh_token=...)`.
    pub fn access_token(
        mut self,
        access_token: impl Into<Secret>,
        refresh_token: Option<Secret>,
    ) -> Self {
        self.token = Some(OAuthToken::new(access_token, refresh_token, None));
        self
    }

    /// Uses a personal access token (made in the Cronofy developer
    /// dashboard for your own calendars, as pycronofy's
    /// `Client(access_token=...)` "for testing"): sent as the bearer token
    /// and never refreshed, so a 401 is returned as it comes.
    pub fn personal_access_token(self, token: impl Into<Secret>) -> Self {
        self.access_token(token, None)
    }

    common_builder_methods!();

    /// The client, or [`Error::Config`] / [`Error::Invalid`] naming what is wrong.
    pub fn build(self) -> Result<Client> {
        let dc = self.data_center?;
        let api = self.api_url.as_deref().unwrap_or(dc.api_url());
        let app_url = crate::runtime::parse_base_url(
            "cronofy",
            "app_url",
            self.app_url.as_deref().unwrap_or(dc.app_url()),
        )?;
        let plain_rt = Runtime::new(&super::PROFILE, api, &self.config)?;
        let (base, http) = (plain_rt.base_url().to_string(), plain_rt.http().clone());
        let plain = Client::new_with_client(&base, http.clone(), plain_rt.clone());
        let store: Arc<dyn TokenStore> = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let grant = Refresh {
            plain: plain.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        };
        let core = Arc::new(CredentialCore::new(store, Some(Arc::new(grant))));
        if let Some(token) = self.token {
            core.start_with(token);
        }
        let credentials = Arc::new(Credentials {
            core: core.clone(),
            client_secret: self.client_secret.clone(),
        });
        let app = Arc::new(App {
            client_id: self.client_id,
            client_secret: self.client_secret,
            core,
            plain,
            app_url,
        });
        let runtime = plain_rt.with_authorizer(credentials).with_state(app);
        Ok(Client::new_with_client(&base, http, runtime))
    }
}

fn app(client: &Client) -> Result<&App> {
    use progenitor_client::ClientInfo as _;
    client.inner().state::<App>().ok_or_else(|| {
        Error::Config("cronofy: this client was not built with Client::builder()".into())
    })
}

/// An authorization link, built with [`CronofyExt::user_auth_link`].
#[derive(Debug)]
pub struct AuthLink<'a> {
    client: &'a Client,
    template: &'static str,
    redirect_uri: String,
    scope: Vec<String>,
    params: Vec<(&'static str, String)>,
    link_token: Option<Secret>,
}

impl AuthLink<'_> {
    fn new<'a>(client: &'a Client, name: &str, redirect_uri: String) -> AuthLink<'a> {
        let (template, scope) = API.authorization_url(name).unwrap_or_default();
        AuthLink {
            client,
            template,
            redirect_uri,
            scope: scope.split_whitespace().map(String::from).collect(),
            params: Vec::new(),
            link_token: None,
        }
    }

    /// Scopes to ask for (default: the spec's default scope of the link).
    pub fn scope<S: Into<String>>(mut self, scope: impl IntoIterator<Item = S>) -> Self {
        self.scope = scope.into_iter().map(Into::into).collect();
        self
    }

    /// Returned unaltered with the decision (use it against CSRF).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.params.push(("state", state.into()));
        self
    }

    /// Keeps the calendar account out of an existing Cronofy account.
    pub fn avoid_linking(mut self, avoid: bool) -> Self {
        self.params.push(("avoid_linking", avoid.to_string()));
        self
    }

    /// Pre-selects a provider (`google`, `office365`, `apple`, ...).
    pub fn provider_name(mut self, provider: impl Into<String>) -> Self {
        self.params.push(("provider_name", provider.into()));
        self
    }

    /// Links explicitly to the account of a `create_link_token` answer.
    pub fn link_token(mut self, token: impl Into<Secret>) -> Self {
        self.link_token = Some(token.into());
        self
    }

    /// Business Connect's delegated scope.
    pub fn delegated_scope(mut self, scope: impl Into<String>) -> Self {
        self.params.push(("delegated_scope", scope.into()));
        self
    }

    /// The language of Cronofy's pages.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.params.push(("locale", locale.into()));
        self
    }

    /// The URL to send the user to: the spec's template on the client's app host.
    pub fn build(self) -> Result<String> {
        let app = app(self.client)?;
        let client_id = app.client_id.clone().ok_or_else(|| {
            Error::Config("cronofy: an authorization link needs client_id".into())
        })?;
        super::checks::web_url(&self.redirect_uri)
            .map_err(|r| Error::invalid("redirect_uri", r))?;
        if self.scope.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::invalid("scope", "at least one scope is needed"));
        }
        let root = app.app_url.as_str().trim_end_matches('/');
        let mut url = url::Url::parse(&self.template.replace("{app}", root))
            .map_err(|e| Error::Config(format!("cronofy: authorization URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scope.join(" "));
            for (k, v) in &self.params {
                q.append_pair(k, v);
            }
            if let Some(t) = &self.link_token {
                q.append_pair("link_token", t.expose());
            }
        }
        Ok(url.into())
    }
}

/// Cronofy's calls beyond single operations: OAuth, application calendars,
/// batches of any size, notification signatures. In scope with
/// `use specbound::cronofy::prelude::*`.
pub trait CronofyExt {
    /// The authorization link for an individual calendar account (the
    /// spec's `account` authorization URL), as pycronofy's `user_auth_link`.
    fn user_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_>;

    /// The authorization link an Enterprise Connect administrator follows.
    fn enterprise_connect_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_>;

    /// Exchanges an authorization code (`request_token`); the token is saved
    /// to the store before it is returned.
    fn get_authorization_from_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// Refreshes the access token now (the client also does it by itself
    /// before expiry and once after a 401). The new token, with a rotated
    /// refresh token, is saved before it is returned.
    fn refresh_authorization(&self) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// Revokes the stored authorization (`revoke_authorization` with the
    /// refresh token, as Cronofy recommends, else the access token) and
    /// clears the store, as pycronofy's `revoke_authorization()`.
    fn revoke_stored_token(&self) -> impl Future<Output = Result<()>> + Send;

    /// True when there is no token or its access token has expired.
    fn is_authorization_expired(&self) -> impl Future<Output = Result<bool>> + Send;

    /// The current token (from the store on first use).
    fn token(&self) -> impl Future<Output = Result<Option<OAuthToken>>> + Send;

    /// Gets the tokens of an application calendar (`create_application_calendar`)
    /// and uses them from now on (saved to the store first).
    fn application_calendar(
        &self,
        application_calendar_id: &str,
    ) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// Sends `entries` as batches of at most the spec's limit, one after the
    /// other, and returns every entry's result in the order given.
    fn send_batch(
        &self,
        entries: Vec<types::BatchEntry>,
    ) -> impl Future<Output = Result<Vec<types::BatchEntryResult>>> + Send;

    /// Checks a notification's `Cronofy-HMAC-SHA256` header against the raw
    /// body with this client's secret (see [`verify_hmac`](super::verify_hmac)).
    fn hmac_valid(&self, header: &str, body: &[u8]) -> Result<bool>;
}

impl CronofyExt for Client {
    fn user_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_> {
        AuthLink::new(self, "account", redirect_uri.into())
    }

    fn enterprise_connect_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_> {
        AuthLink::new(self, "enterprise_connect", redirect_uri.into())
    }

    async fn get_authorization_from_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthToken> {
        let app = app(self)?;
        let (client_id, client_secret) = app.credentials("exchange a code")?;
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "must not be empty"));
        }
        let body = types::AuthorizationCodeGrant {
            client_id,
            client_secret,
            code: Secret::new(code),
            grant_type: types::AuthorizationCodeGrantGrantType::AuthorizationCode,
            redirect_uri: redirect_uri.to_string(),
        };
        let answer = app
            .plain
            .request_token()
            .body(body)
            .send()
            .await?
            .into_inner();
        let token = token_from(answer);
        app.core.set(token.clone()).await?;
        Ok(token)
    }

    async fn refresh_authorization(&self) -> Result<OAuthToken> {
        let app = app(self)?;
        app.core.token().await?;
        app.core.renew(app.core.stamp()).await
    }

    async fn revoke_stored_token(&self) -> Result<()> {
        let app = app(self)?;
        let (client_id, client_secret) = app.credentials("revoke a token")?;
        let token =
            app.core.token().await?.ok_or_else(|| {
                Error::auth(AuthErrorKind::Missing, "there is no token to revoke")
            })?;
        let body = types::TokenRevocation {
            client_id,
            client_secret,
            sub: None,
            token: Some(token.refresh_token.unwrap_or(token.access_token)),
        };
        app.plain.revoke_authorization().body(body).send().await?;
        app.core.clear().await
    }

    async fn is_authorization_expired(&self) -> Result<bool> {
        app(self)?.core.is_expired().await
    }

    async fn token(&self) -> Result<Option<OAuthToken>> {
        app(self)?.core.token().await
    }

    async fn application_calendar(&self, application_calendar_id: &str) -> Result<OAuthToken> {
        let app = app(self)?;
        let (client_id, client_secret) = app.credentials("create an application calendar")?;
        let body = types::ApplicationCalendarRequest {
            application_calendar_id: application_calendar_id.to_string(),
            client_id,
            client_secret,
        };
        let answer = app
            .plain
            .create_application_calendar()
            .body(body)
            .send()
            .await?
            .into_inner();
        let token = token_from(answer);
        app.core.set(token.clone()).await?;
        Ok(token)
    }

    async fn send_batch(
        &self,
        entries: Vec<types::BatchEntry>,
    ) -> Result<Vec<types::BatchEntryResult>> {
        super::batch::send(self, entries).await
    }

    fn hmac_valid(&self, header: &str, body: &[u8]) -> Result<bool> {
        let secret = app(self)?.client_secret.as_ref().ok_or_else(|| {
            Error::Config("cronofy: verifying notifications needs client_secret".into())
        })?;
        Ok(super::verify_hmac(&[secret], header, body))
    }
}
