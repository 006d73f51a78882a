//! The Cronofy client: OAuth (links, code exchange, refresh, revoke) with a
//! token store, data centers, and the calls that need more than the spec.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::data_center::DataCenter;
use super::generated::{Client as Api, prelude::*, spec, types};
use super::paging::{AvailablePeriodsQuery, FreeBusyQuery, ReadEventsQuery};
use super::validate;
use crate::error::AuthErrorKind;
use crate::runtime::auth::set_bearer;
use crate::runtime::{
    Authorizer, Config, MemoryTokenStore, OAuthSession, OAuthToken, Refresher, Runtime, Secret,
    TokenStore, common_builder_methods,
};
use crate::{Error, Result};

/// A Cronofy client. Cheap to clone; clones share the OAuth session.
///
/// It derefs to the generated [`Api`], so every operation of the spec is a
/// method (`cronofy.list_calendars().send().await?`, with
/// `use specbound::cronofy::prelude::*`); the methods here add what the spec
/// cannot say: OAuth, pagination as streams, local validation, batching.
///
/// ```no_run
/// # async fn run(code: &str) -> specbound::Result<()> {
/// use futures::TryStreamExt;
/// use specbound::cronofy::{Client, DataCenter};
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
/// let mut events = cronofy.read_events().from("2026-11-23").to("2026-11-30").tzid("Europe/London").stream();
/// while let Some(event) = events.try_next().await? {
///     println!("{:?}", event.summary);
/// }
/// # let _ = url;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) api: Api,
    /// Without credentials, for the token endpoints.
    plain: Api,
    pub(crate) session: Arc<OAuthSession>,
    client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) api_url: url::Url,
    app_url: url::Url,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("cronofy::Client")
            .field("api_url", &self.api_url.as_str())
            .field("app_url", &self.app_url.as_str())
            .field("client_id", &self.client_id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Deref for Client {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Builds a [`Client`].
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
    /// first call and written before a new token is used.
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
        let api_url = parse_root("base_url", self.api_url.as_deref().unwrap_or(dc.api_url()))?;
        let app_url = parse_root("app_url", self.app_url.as_deref().unwrap_or(dc.app_url()))?;
        let http = self.config.http_client()?;
        let base = api_url.as_str().trim_end_matches('/').to_string();
        let plain = Api::new_with_client(
            &base,
            http.clone(),
            Runtime::new("cronofy", &self.config, None),
        );
        let store: Arc<dyn TokenStore> = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let refresher = CronofyRefresher {
            plain: plain.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        };
        let session = Arc::new(match self.token {
            Some(token) => OAuthSession::with_token(store, refresher, token),
            None => OAuthSession::new(store, refresher),
        });
        let credentials = Arc::new(Credentials {
            session: session.clone(),
            client_secret: self.client_secret.clone(),
        });
        let api = Api::new_with_client(
            &base,
            http,
            Runtime::new("cronofy", &self.config, Some(credentials)),
        );
        Ok(Client {
            api,
            plain,
            session,
            client_id: self.client_id,
            client_secret: self.client_secret,
            api_url,
            app_url,
        })
    }
}

fn parse_root(field: &str, raw: &str) -> Result<url::Url> {
    url::Url::parse(raw)
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none()
        })
        .ok_or_else(|| {
            Error::Config(format!(
                "cronofy: {field} `{raw}` is not an http or https URL"
            ))
        })
}

/// Adds the credential each operation's `security` names in the spec: the
/// OAuth access token (refreshed as needed) or the client secret.
struct Credentials {
    session: Arc<OAuthSession>,
    client_secret: Option<Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("session", &self.session)
            .field("has_client_secret", &self.client_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// The schemes of `operation_id` in the spec's order of preference.
fn schemes(operation_id: &str) -> &'static [&'static str] {
    spec::SECURITY
        .iter()
        .find(|(op, _)| *op == operation_id)
        .map_or(&["oauth2"][..], |(_, s)| s)
}

impl Credentials {
    /// The scheme `authorize` picks for `operation_id`: the first of the
    /// spec's list whose credential this client has.
    async fn scheme_used(&self, operation_id: &str) -> Result<Option<&'static str>> {
        for scheme in schemes(operation_id) {
            let available = match *scheme {
                "oauth2" => self.session.token().await?.is_some(),
                "client_secret" => self.client_secret.is_some(),
                _ => false,
            };
            if available {
                return Ok(Some(scheme));
            }
        }
        Ok(None)
    }
}

impl Authorizer for Credentials {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let schemes = schemes(operation_id);
            if schemes.is_empty() {
                return Ok(());
            }
            let bearer = match self.scheme_used(operation_id).await? {
                Some("oauth2") => Some(self.session.access_token().await?),
                Some(_) => self.client_secret.clone(),
                None => None,
            };
            if let Some(bearer) = bearer {
                return set_bearer(request, &bearer);
            }
            let wanted: Vec<&str> = schemes
                .iter()
                .map(|s| match *s {
                    "oauth2" => "an OAuth access token (exchange a code or give a token)",
                    "client_secret" => "the client secret (ClientBuilder::client_secret)",
                    other => other,
                })
                .collect();
            Err(Error::auth(
                AuthErrorKind::Missing,
                format!("`{operation_id}` needs {}", wanted.join(" or ")),
            ))
        })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        operation_id: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            // Only a rejected access token is mended by a refresh: a 401 to a
            // call made with the client secret means the secret is wrong.
            if self.scheme_used(operation_id).await? != Some("oauth2") {
                return Ok(false);
            }
            self.session
                .renew_after_unauthorized(operation_id, body)
                .await
        })
    }
}

/// Refreshes with `request_token` (grant_type `refresh_token`).
struct CronofyRefresher {
    plain: Api,
    client_id: Option<String>,
    client_secret: Option<Secret>,
}

impl Refresher for CronofyRefresher {
    fn refresh<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<OAuthToken>> {
        Box::pin(async move {
            let (client_id, client_secret) =
                app_credentials(&self.client_id, &self.client_secret, "refresh a token")?;
            let body = types::RefreshTokenGrant {
                client_id,
                client_secret,
                grant_type: types::RefreshTokenGrantGrantType::RefreshToken,
                refresh_token: refresh_token.clone(),
            };
            let answer = self
                .plain
                .request_token()
                .body(body)
                .send()
                .await?
                .into_inner();
            Ok(token_from(answer))
        })
    }
}

fn app_credentials(
    id: &Option<String>,
    secret: &Option<Secret>,
    to: &str,
) -> Result<(String, Secret)> {
    match (id, secret) {
        (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(Error::auth(
            AuthErrorKind::Missing,
            format!("to {to}, the client needs client_id and client_secret"),
        )),
    }
}

/// An OAuth token from Cronofy's token answer (`expires_in` from now).
fn token_from(answer: types::TokenResponse) -> OAuthToken {
    let expires_in = u64::try_from(answer.expires_in)
        .ok()
        .map(Duration::from_secs);
    let mut token = OAuthToken::new(answer.access_token, answer.refresh_token, expires_in);
    token.scope = answer.scope;
    token.subject = answer.sub.or(answer.account_id);
    token
}

/// An authorization link, built with [`Client::user_auth_link`].
#[derive(Debug)]
pub struct AuthLink<'a> {
    client: &'a Client,
    path: &'static str,
    redirect_uri: String,
    scope: Vec<String>,
    params: Vec<(&'static str, String)>,
    link_token: Option<Secret>,
}

impl AuthLink<'_> {
    /// Scopes to ask for (default: pycronofy's `read_account list_calendars
    /// read_events create_event delete_event`).
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

    /// The URL to send the user to.
    pub fn build(self) -> Result<String> {
        let client_id = self.client.client_id.clone().ok_or_else(|| {
            Error::Config("cronofy: an authorization link needs client_id".into())
        })?;
        validate::redirect_uri(&self.redirect_uri)?;
        if self.scope.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::invalid("scope", "at least one scope is needed"));
        }
        let mut url = self
            .client
            .app_url
            .join(self.path)
            .map_err(|e| Error::Config(format!("cronofy: app_url: {e}")))?;
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

    /// The generated client (also reached through `Deref`).
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The authorization link for an individual calendar account
    /// (`{app}/oauth/authorize`), as pycronofy's `user_auth_link`.
    pub fn user_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_> {
        AuthLink {
            client: self,
            path: "/oauth/authorize",
            redirect_uri: redirect_uri.into(),
            scope: [
                "read_account",
                "list_calendars",
                "read_events",
                "create_event",
                "delete_event",
            ]
            .map(String::from)
            .to_vec(),
            params: Vec::new(),
            link_token: None,
        }
    }

    /// The authorization link an Enterprise Connect administrator follows
    /// (`{app}/enterprise_connect/oauth/authorize`); set its scope.
    pub fn enterprise_connect_auth_link(&self, redirect_uri: impl Into<String>) -> AuthLink<'_> {
        AuthLink {
            client: self,
            path: "/enterprise_connect/oauth/authorize",
            redirect_uri: redirect_uri.into(),
            scope: vec!["service_account/accounts/manage".into()],
            params: Vec::new(),
            link_token: None,
        }
    }

    /// Exchanges an authorization code (`request_token`); the token is saved
    /// to the store before it is returned.
    pub async fn get_authorization_from_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthToken> {
        let (client_id, client_secret) =
            app_credentials(&self.client_id, &self.client_secret, "exchange a code")?;
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "must not be empty"));
        }
        validate::redirect_uri(redirect_uri)?;
        let body = types::AuthorizationCodeGrant {
            client_id,
            client_secret,
            code: Secret::new(code),
            grant_type: types::AuthorizationCodeGrantGrantType::AuthorizationCode,
            redirect_uri: redirect_uri.to_string(),
        };
        let answer = self
            .plain
            .request_token()
            .body(body)
            .send()
            .await?
            .into_inner();
        let token = token_from(answer);
        self.session.set(token.clone()).await?;
        Ok(token)
    }

    /// Refreshes the access token now (the runtime also does it by itself
    /// before expiry and once after a 401). The new token, with a rotated
    /// refresh token, is saved before it is returned.
    pub async fn refresh_authorization(&self) -> Result<OAuthToken> {
        self.session.token().await?;
        self.session.refresh(self.session.generation()).await
    }

    /// Revokes the authorization (`revoke_authorization`, with the refresh
    /// token as Cronofy recommends, else the access token) and clears the store.
    pub async fn revoke_authorization(&self) -> Result<()> {
        let (client_id, client_secret) =
            app_credentials(&self.client_id, &self.client_secret, "revoke a token")?;
        let token =
            self.session.token().await?.ok_or_else(|| {
                Error::auth(AuthErrorKind::Missing, "there is no token to revoke")
            })?;
        let body = types::TokenRevocation {
            client_id,
            client_secret,
            sub: None,
            token: Some(token.refresh_token.unwrap_or(token.access_token)),
        };
        self.plain.revoke_authorization().body(body).send().await?;
        self.session.clear().await
    }

    /// True when there is no token or its access token has expired.
    pub async fn is_authorization_expired(&self) -> Result<bool> {
        self.session.is_expired().await
    }

    /// The current token (from the store on first use).
    pub async fn token(&self) -> Result<Option<OAuthToken>> {
        self.session.token().await
    }

    /// Gets the tokens of an application calendar (`create_application_calendar`)
    /// and uses them from now on (saved to the store first).
    pub async fn application_calendar(&self, application_calendar_id: &str) -> Result<OAuthToken> {
        let (client_id, client_secret) = app_credentials(
            &self.client_id,
            &self.client_secret,
            "create an application calendar",
        )?;
        validate::non_empty("application_calendar_id", application_calendar_id)?;
        let body = types::ApplicationCalendarRequest {
            application_calendar_id: application_calendar_id.to_string(),
            client_id,
            client_secret,
        };
        let answer = self
            .plain
            .create_application_calendar()
            .body(body)
            .send()
            .await?
            .into_inner();
        let token = token_from(answer);
        self.session.set(token.clone()).await?;
        Ok(token)
    }

    /// Events, filtered; `.stream()` follows `pages.next_page`.
    pub fn read_events(&self) -> ReadEventsQuery<'_> {
        ReadEventsQuery::new(self)
    }

    /// Free-busy blocks, filtered; `.stream()` follows `pages.next_page`.
    pub fn read_free_busy(&self) -> FreeBusyQuery<'_> {
        FreeBusyQuery::new(self)
    }

    /// Available periods; `.stream()` follows `pages.next_page`.
    pub fn available_periods(&self) -> AvailablePeriodsQuery<'_> {
        AvailablePeriodsQuery::new(self)
    }

    /// Creates or updates a managed event, checked first: non-empty ids and
    /// summary, known time zones, both times of one kind and end after start.
    pub async fn upsert_event(&self, calendar_id: &str, event: &types::EventUpsert) -> Result<()> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::event(event)?;
        self.api
            .upsert_event()
            .calendar_id(calendar_id)
            .body(types::EventUpsertRequest::EventUpsert(event.clone()))
            .send()
            .await?;
        Ok(())
    }

    /// Updates an event from the user's own calendar (`upsert_event` with `event_uid`).
    pub async fn upsert_external_event(
        &self,
        calendar_id: &str,
        event: &types::ExternalEventUpdate,
    ) -> Result<()> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::non_empty("event_uid", &event.event_uid)?;
        validate::external_event(event)?;
        self.api
            .upsert_event()
            .calendar_id(calendar_id)
            .body(types::EventUpsertRequest::ExternalEventUpdate(
                event.clone(),
            ))
            .send()
            .await?;
        Ok(())
    }

    /// Deletes a managed event by the `event_id` you gave it.
    pub async fn delete_event(&self, calendar_id: &str, event_id: &str) -> Result<()> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::non_empty("event_id", event_id)?;
        let body = types::EventDeleteRequest::EventDelete(types::EventDelete {
            event_id: event_id.to_string(),
        });
        self.api
            .delete_event()
            .calendar_id(calendar_id)
            .body(body)
            .send()
            .await?;
        Ok(())
    }

    /// Deletes an event from the user's own calendar by its `event_uid`.
    pub async fn delete_external_event(&self, calendar_id: &str, event_uid: &str) -> Result<()> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::non_empty("event_uid", event_uid)?;
        let body = types::EventDeleteRequest::ExternalEventDelete(types::ExternalEventDelete {
            event_uid: event_uid.to_string(),
        });
        self.api
            .delete_event()
            .calendar_id(calendar_id)
            .body(body)
            .send()
            .await?;
        Ok(())
    }

    /// Creates a push notification channel; the callback URL is checked
    /// (http or https, at most 128 characters as Cronofy requires).
    pub async fn create_notification_channel(
        &self,
        callback_url: &str,
        filters: Option<types::ChannelFilters>,
    ) -> Result<types::Channel> {
        validate::callback_url(callback_url)?;
        let callback_url = types::ChannelCreateCallbackUrl::try_from(callback_url)
            .map_err(|e| Error::invalid("callback_url", e.to_string()))?;
        let body = types::ChannelCreate {
            callback_url,
            filters,
        };
        Ok(self
            .api
            .create_channel()
            .body(body)
            .send()
            .await?
            .into_inner()
            .channel)
    }

    /// Checks a notification's `Cronofy-HMAC-SHA256` header against the raw
    /// body with this client's secret (see [`verify_hmac`](super::verify_hmac)).
    pub fn hmac_valid(&self, header: &str, body: &[u8]) -> Result<bool> {
        let secret = self.client_secret.as_ref().ok_or_else(|| {
            Error::Config("cronofy: verifying notifications needs client_secret".into())
        })?;
        Ok(super::verify_hmac(&[secret], header, body))
    }
}
