//! What Graph's spec cannot say: building a client for a cloud (hosts,
//! version, scopes, token store keyed by cloud, tenant, client, account
//! and scopes) and signing in (authorization code with PKCE, device code).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::certificate::ClientCertificate;
use super::cloud::Cloud;
use super::credentials::{Credentials, Login};
use super::generated::{Client, prelude::*, types};
use super::immutable_ids::ImmutableIds;
use super::scopes::Scopes;
use super::spec::API;
use crate::error::AuthErrorKind;
use crate::runtime::oauth::AuthorizationRequest;
use crate::runtime::{
    Config, CredentialCore, KeyedTokenStore, MemoryTokenStore, OAuthToken, Runtime, Secret,
    TokenStore, common_builder_methods,
};
use crate::{Error, Result};

/// Which Graph API version the client calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// `v1.0`: the generally available API.
    #[default]
    V1,
    /// `beta`: preview APIs, which may change.
    Beta,
}

impl ApiVersion {
    fn path(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

/// Builds a Graph [`Client`].
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use specbound::graph::{Client, Cloud, Mailbox, Scopes, prelude::*};
/// use specbound::runtime::FileTokenStore;
/// let graph = Client::builder()
///     .cloud(Cloud::Global)
///     .tenant("common")
///     .client_id("my-client-id")
///     .scopes(Scopes::helper(["basic", "message_all", "onedrive_all"]))
///     .token_store(FileTokenStore::new("graph-token.json"))
///     .build()?;
/// let device = graph.start_device_code().await?;
/// println!("{}", device.message);
/// graph.finish_device_code(&device).await?; // the token is stored first
/// let inbox = graph.list_folder_messages().mailbox(Mailbox::me()).mail_folder_id("inbox");
/// # let _ = inbox;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    cloud: Cloud,
    version: ApiVersion,
    base_url: Option<String>,
    login_url: Option<String>,
    tenant: String,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    client_certificate: Option<ClientCertificate>,
    scopes: Scopes,
    app_only: bool,
    account: String,
    store: Option<Arc<dyn TokenStore>>,
    token: Option<OAuthToken>,
    outlook_limits: bool,
    immutable_ids: Option<bool>,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("cloud", &self.cloud)
            .field("version", &self.version)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_certificate", &self.client_certificate)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder: cloud, tenant, application, scopes, token store.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            cloud: Cloud::Global,
            version: ApiVersion::V1,
            base_url: None,
            login_url: None,
            tenant: "common".into(),
            client_id: None,
            client_secret: None,
            client_certificate: None,
            scopes: Scopes::helper(["basic"]),
            app_only: false,
            account: String::new(),
            store: None,
            token: None,
            outlook_limits: true,
            immutable_ids: None,
            config: Config::default(),
        }
    }
}

impl ClientBuilder {
    /// The national cloud (default [`Cloud::Global`]): Graph host, login
    /// host and scope prefix together.
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = cloud;
        self
    }

    /// `v1.0` (default) or `beta`.
    pub fn version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    /// Overrides the Graph host root (tests, sandboxes, proxies); the
    /// version is appended (`{url}/v1.0`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Overrides the login host root.
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = Some(url.into());
        self
    }

    /// `common` (default), `organizations`, `consumers`, a tenant id or domain.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The application (client) id of the app registration.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret of a confidential application.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Authenticates the application with a certificate instead of a
    /// secret: each token request (client credentials, and the code and
    /// refresh grants of a confidential web app) carries a fresh assertion
    /// signed with the certificate's key, whose `aud` is the cloud's token
    /// endpoint for the tenant. The certificate must be registered with the
    /// application (Entra admin center, App registrations, Certificates &
    /// secrets). Not with [`client_secret`](Self::client_secret).
    ///
    /// ```no_run
    /// # fn run() -> specbound::Result<()> {
    /// use specbound::graph::{Client, ClientCertificate, Cloud};
    /// let certificate = ClientCertificate::from_pem_files("app-cert.pem", "app-key.pem")?;
    /// let graph = Client::builder()
    ///     .cloud(Cloud::UsGovL4)
    ///     .tenant("contoso.onmicrosoft.us")
    ///     .client_id("11112222-bbbb-3333-cccc-4444dddd5555")
    ///     .client_certificate(certificate)
    ///     .client_credentials()
    ///     .build()?;
    /// # let _ = graph;
    /// # Ok(()) }
    /// ```
    pub fn client_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.client_certificate = Some(certificate);
        self
    }

    /// The delegated permissions to ask for (default `Scopes::helper(["basic"])`).
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Acts as the application itself (client credentials grant with the
    /// `.default` scope): tokens are obtained without a user.
    pub fn client_credentials(mut self) -> Self {
        self.app_only = true;
        self
    }

    /// The account the tokens belong to (part of the token store key, so
    /// that one store can hold several users' tokens apart).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// Where tokens are kept (default: in memory). Entries are keyed by
    /// cloud, tenant, client, account and scopes: a token of another cloud
    /// or scope set in the same store is never used.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Starts from a token obtained elsewhere.
    pub fn token(mut self, token: OAuthToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Starts from an access token (and optionally a refresh token).
    pub fn access_token(mut self, access: impl Into<Secret>, refresh: Option<Secret>) -> Self {
        self.token = Some(OAuthToken::new(access, refresh, None));
        self
    }

    /// Keeps Outlook's limits per mailbox (default on; see
    /// [`outlook_limits`](super::outlook_limits)): at most 4 requests of
    /// one mailbox in flight, 10,000 in any 10 minutes, 150 MB uploaded in
    /// any 5 minutes, so that a busy program slows down before Graph
    /// throttles it. Limits set with `keyed_limits` replace them.
    pub fn outlook_limits(mut self, keep: bool) -> Self {
        self.outlook_limits = keep;
        self
    }

    /// Asks Graph for immutable Outlook ids (`Prefer: IdType="ImmutableId"`,
    /// merged with any `Prefer` a call sets): `true` on every request,
    /// `false` on none. Unset, delta queries and the creation of
    /// subscriptions ask for them, so that saved delta state and change
    /// notifications name items by ids that survive moves between folders.
    pub fn immutable_ids(mut self, on: bool) -> Self {
        self.immutable_ids = Some(on);
        self
    }

    common_builder_methods!();

    /// The token store key of this configuration.
    fn key(&self, scope: &str) -> String {
        let cloud = match &self.cloud {
            Cloud::Custom { graph, .. } => format!("custom:{graph}"),
            named => named.name().to_string(),
        };
        let mut scopes: Vec<&str> = scope.split(' ').collect();
        scopes.sort_unstable();
        format!(
            "graph|{cloud}|{}|{}|{}|{}",
            self.tenant,
            self.client_id.as_deref().unwrap_or_default(),
            self.account,
            scopes.join(" ")
        )
    }

    /// The client, or [`Error::Config`] / [`Error::Invalid`] naming what is wrong.
    pub fn build(self) -> Result<Client> {
        if self.client_secret.is_some() && self.client_certificate.is_some() {
            return Err(Error::Config(
                "client_secret and client_certificate are both set: an application proves itself with one".into(),
            ));
        }
        let graph_root = self
            .base_url
            .clone()
            .unwrap_or_else(|| self.cloud.graph_host().to_string());
        let login_root = self
            .login_url
            .clone()
            .unwrap_or_else(|| self.cloud.login_host().to_string());
        let base = format!(
            "{}/{}",
            graph_root.trim_end_matches('/'),
            self.version.path()
        );
        let mut config = self.config.clone();
        config
            .trusted_origins
            .push(crate::runtime::parse_base_url("graph", "login_url", &login_root)?.origin());
        let login_rt = Runtime::new(&super::PROFILE, &login_root, &config)?;
        let http = login_rt.http().clone();
        let login_client =
            Client::new_with_client(login_rt.base_url(), http.clone(), login_rt.clone());
        let scope = self.scopes.for_cloud(&self.cloud);
        let app_scope = self.app_only.then(|| self.cloud.scope(".default"));
        let key = self.key(app_scope.as_deref().unwrap_or(&scope));
        let store: Arc<dyn TokenStore> = Arc::new(KeyedTokenStore::new(
            self.store
                .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            key,
        ));
        let login = Arc::new(Login {
            client: login_client,
            tenant: self.tenant,
            client_id: self.client_id.unwrap_or_default(),
            client_secret: self.client_secret,
            client_certificate: self.client_certificate,
            scope,
            app_scope,
        });
        let core = Arc::new(CredentialCore::new(store, Some(login.clone())));
        if let Some(token) = self.token {
            core.start_with(token);
        }
        let state = Arc::new(State {
            core: core.clone(),
            login,
            cloud: self.cloud,
            login_root,
        });
        if self.outlook_limits && config.keyed_limits.is_none() {
            config.keyed_limits = Some(Arc::new(super::outlook_limits()));
        }
        let runtime = Runtime::new(&super::PROFILE, &base, &config)?
            .with_authorizer(Arc::new(Credentials { core }))
            .with_prepare(Arc::new(ImmutableIds::from_setting(self.immutable_ids)))
            .with_state(state);
        let base = runtime.base_url().to_string();
        Ok(Client::new_with_client(&base, http, runtime))
    }
}

/// What the sign-in calls need, kept in the runtime.
pub(crate) struct State {
    core: Arc<CredentialCore>,
    pub(super) login: Arc<Login>,
    cloud: Cloud,
    login_root: String,
}

pub(super) fn state(client: &Client) -> Result<&State> {
    use progenitor_client::ClientInfo as _;
    client
        .inner()
        .state::<State>()
        .ok_or_else(|| Error::Config("this Graph client was not made by Client::builder()".into()))
}

/// A started device code sign-in: show [`message`](Self::message) to the user.
#[derive(Debug)]
pub struct DeviceCode {
    /// The code the user enters.
    pub user_code: String,
    /// Where the user enters it.
    pub verification_uri: String,
    /// The identity platform's instructions, ready to show.
    pub message: String,
    /// How long between polls.
    pub interval: Duration,
    /// When the code expires (from its start).
    pub expires_in: Duration,
    device_code: Secret,
}

/// Sign-in calls of a Graph [`Client`] (`use specbound::graph::prelude::*`).
pub trait GraphExt {
    /// The authorization URL of the cloud's login host with a PKCE
    /// challenge (S256) and a random state.
    fn authorization_url(&self, redirect_uri: &str) -> Result<AuthorizationRequest>;

    /// Redeems the `code` the user came back with; the token is stored
    /// before it is used or returned.
    fn exchange_code(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// Starts a device code sign-in (RFC 8628).
    fn start_device_code(&self) -> impl Future<Output = Result<DeviceCode>> + Send;

    /// Polls until the user has signed in (or the code expires); the token
    /// is stored before it is returned.
    fn finish_device_code(
        &self,
        device: &DeviceCode,
    ) -> impl Future<Output = Result<OAuthToken>> + Send;

    /// The current token (from the store on first use).
    fn token(&self) -> impl Future<Output = Result<Option<OAuthToken>>> + Send;

    /// The cloud this client talks to.
    fn cloud(&self) -> Result<Cloud>;

    /// A client of the cloud's login host, for the identity operations
    /// (`request_token`, `request_device_code`: `x-specbound-host: login`
    /// in the spec); it sends no credentials.
    fn login_client(&self) -> Result<Client>;
}

impl GraphExt for Client {
    fn authorization_url(&self, redirect_uri: &str) -> Result<AuthorizationRequest> {
        let st = state(self)?;
        let (template, _) = API
            .authorization_url("authorize")
            .ok_or_else(|| Error::Config("the spec names no authorization URL".into()))?;
        let raw = template
            .replace("{login}", st.login_root.trim_end_matches('/'))
            .replace("{tenant}", &st.login.tenant);
        let url = url::Url::parse(&raw)
            .map_err(|e| Error::invalid("login_url", format!("`{raw}`: {e}")))?;
        Ok(AuthorizationRequest::new(
            url,
            &st.login.client_id,
            redirect_uri,
            &st.login.scope,
            &[("response_mode", "query")],
        ))
    }

    async fn exchange_code(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<OAuthToken> {
        let st = state(self)?;
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "is empty"));
        }
        let mut form = st.login.form("authorization_code")?;
        form.code = Some(Secret::from(code.to_string()));
        form.redirect_uri = Some(request.redirect_uri.clone());
        form.code_verifier = Some(request.verifier.clone());
        form.scope = Some(st.login.scope.clone());
        let token = st.login.request(form).await?;
        st.core.set(token.clone()).await?;
        Ok(token)
    }

    async fn start_device_code(&self) -> Result<DeviceCode> {
        let st = state(self)?;
        let answer = st
            .login
            .client
            .request_device_code()
            .tenant(st.login.tenant.clone())
            .body(types::DeviceCodeRequest {
                client_id: st.login.client_id.clone(),
                scope: st.login.scope.clone(),
            })
            .send()
            .await?
            .into_inner();
        let secs = |n: Option<i64>, default: u64| {
            Duration::from_secs(n.map_or(default, |n| n.clamp(1, 3600) as u64))
        };
        Ok(DeviceCode {
            user_code: answer.user_code,
            verification_uri: answer.verification_uri,
            message: answer.message.unwrap_or_default(),
            interval: secs(answer.interval, 5),
            expires_in: secs(Some(answer.expires_in), 900),
            device_code: answer.device_code,
        })
    }

    async fn finish_device_code(&self, device: &DeviceCode) -> Result<OAuthToken> {
        use progenitor_client::ClientInfo as _;
        let st = state(self)?;
        let mut interval = device.interval;
        let mut waited = Duration::ZERO;
        loop {
            let mut form = st
                .login
                .public_form("urn:ietf:params:oauth:grant-type:device_code");
            form.device_code = Some(device.device_code.clone());
            match st.login.request(form).await {
                Ok(token) => {
                    st.core.set(token.clone()).await?;
                    return Ok(token);
                }
                Err(e) => {
                    let code = e.api().and_then(|a| a.code.clone());
                    match code.as_deref() {
                        Some("authorization_pending") => {}
                        Some("slow_down") => interval += Duration::from_secs(5),
                        _ => return Err(e),
                    }
                }
            }
            waited += interval;
            if waited > device.expires_in {
                return Err(Error::auth(
                    AuthErrorKind::Expired,
                    "the device code expired before the user signed in",
                ));
            }
            // The client's sleep: tests record the waits instead of waiting.
            self.inner().sleep().sleep(interval).await;
        }
    }

    async fn token(&self) -> Result<Option<OAuthToken>> {
        state(self)?.core.token().await
    }

    fn cloud(&self) -> Result<Cloud> {
        Ok(state(self)?.cloud.clone())
    }

    fn login_client(&self) -> Result<Client> {
        Ok(state(self)?.login.client.clone())
    }
}

/// A Graph [`Query`](super::Query) for any operation with OData options:
/// checked by the rules of the operation's `x-specbound-query-target`
/// (`messages`, `directory`, or none).
impl crate::runtime::QueryOptions for super::Query {
    fn options(
        self,
        op: &'static crate::runtime::spec::Operation,
    ) -> Result<Vec<(String, String)>> {
        let target = match op.extension("x-specbound-query-target") {
            Some("\"messages\"") => super::QueryTarget::Messages,
            Some("\"directory\"") => super::QueryTarget::Directory,
            _ => super::QueryTarget::Other,
        };
        let built = self.build(target)?;
        let mut pairs: Vec<(String, String)> = built
            .params
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        if let Some(level) = built.consistency_level {
            pairs.push(("ConsistencyLevel".into(), level.into()));
        }
        Ok(pairs)
    }
}
