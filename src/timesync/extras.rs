//! What TimeSync's spec cannot say: building a client, pymesync's session
//! calls (`authenticate`, `token_expiration_time`, `project_users`), the
//! checks that involve two fields, and constructors of the request types.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::Duration;
use super::generated::{Client, prelude::*, types};
use super::session::{AuthType, Session};
use crate::error::AuthErrorKind;
use crate::runtime::spec::Operation;
use crate::runtime::validate::query_date;
use crate::runtime::{
    Config, MemoryTokenStore, Runtime, Secret, TokenStore, common_builder_methods,
};
use crate::{Error, Result};

/// Builds a TimeSync [`Client`].
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use futures::TryStreamExt;
/// use specbound::timesync::{AuthType, Client, prelude::*, types::TimeCreate};
/// let ts = Client::builder().base_url("https://timesync.example.edu/v0").build()?;
/// ts.authenticate("alice", "correct horse", AuthType::Password).await?;
/// println!("token valid until {}", ts.token_expiration_time()?);
/// let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let created = ts.create_time().body(TimeCreate::new("3h30m".parse()?, "gwm", "alice", date)).send().await?;
/// let mut times = ts.list_times().user(vec!["alice".into()]).start(date).stream();
/// while let Some(t) = times.try_next().await? {
///     println!("{} {}s on {:?}", t.uuid, t.duration, t.project);
/// }
/// # let _ = created;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    base_url: Option<String>,
    token: Option<Secret>,
    keep_credentials: bool,
    bcrypt_cost: u32,
    store: Option<Arc<dyn TokenStore>>,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder, for retries, timeouts, a token or an HTTP client of your own.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            base_url: None,
            token: None,
            keep_credentials: true,
            bcrypt_cost: 10,
            store: None,
            config: Config::default(),
        }
    }

    /// A client for the server at `base_url` (version prefix included).
    pub fn connect(base_url: &str) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }
}

impl ClientBuilder {
    /// The server's base URL, version prefix included: `https://timesync.example.edu/v0`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Starts with a token obtained elsewhere, as pymesync's `TimeSync(token=..)`.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Whether [`TimeSyncExt::authenticate`] keeps the credentials (in
    /// memory, as a [`Secret`]) to log in again before the token expires.
    /// Default: yes.
    pub fn keep_credentials(mut self, keep: bool) -> Self {
        self.keep_credentials = keep;
        self
    }

    /// bcrypt cost for the passwords of users created or updated (default
    /// 10, as pymesync; lower it only in tests).
    pub fn bcrypt_cost(mut self, cost: u32) -> Self {
        self.bcrypt_cost = cost;
        self
    }

    /// Where the session token is kept (default: in memory). With a
    /// [`FileTokenStore`](crate::runtime::FileTokenStore), processes of one
    /// user share one login.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    common_builder_methods!();

    /// The client; [`Error::Config`] if the base URL is not an http(s) URL.
    pub fn build(self) -> Result<Client> {
        let raw = self.base_url.ok_or_else(|| {
            Error::Config(
                "timesync: base_url is required (like https://timesync.example.edu/v0)".into(),
            )
        })?;
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(Error::Config(format!(
                "timesync: bcrypt cost {} is outside 4..=31",
                self.bcrypt_cost
            )));
        }
        // Logging in goes through a client without the session, so that a
        // login never waits on the renewal it is part of.
        let plain = Runtime::new(&super::PROFILE, &raw, &self.config)?;
        let (base, http) = (plain.base_url().to_string(), plain.http().clone());
        let login = Client::new_with_client(&base, http.clone(), plain.clone());
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let session = Arc::new(Session::new(login, store, self.keep_credentials));
        if let Some(token) = self.token {
            session.start_with(token);
        }
        let runtime = plain
            .with_authorizer(session.clone())
            .with_prepare(Arc::new(super::session::HashPasswords {
                cost: self.bcrypt_cost,
            }))
            .with_state(session);
        Ok(Client::new_with_client(&base, http, runtime))
    }
}

/// pymesync's session calls and helpers over several operations. In scope
/// with `use specbound::timesync::prelude::*`.
pub trait TimeSyncExt {
    /// Logs in (`login`) and keeps the token for every later call. Unless
    /// the builder said [`keep_credentials(false)`](ClientBuilder::keep_credentials),
    /// the client logs in again by itself before the token expires and once
    /// after a 401.
    fn authenticate(
        &self,
        username: &str,
        password: impl Into<Secret> + Send,
        auth_type: AuthType,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Uses `token` from now on (for a token obtained elsewhere).
    fn set_token(&self, token: impl Into<Secret>);

    /// When the current token expires, read from its payload (`exp`, epoch ms).
    fn token_expiration_time(&self) -> Result<DateTime<Utc>>;

    /// The users of a project and their roles, by username (from
    /// `get_project`), as pymesync's `project_users`.
    fn project_users(
        &self,
        slug: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, types::ProjectUserRoles>>> + Send;
}

fn session(client: &Client) -> Result<&Session> {
    use progenitor_client::ClientInfo as _;
    client.inner().state::<Session>().ok_or_else(|| {
        Error::Config("timesync: this client was not built with Client::builder()".into())
    })
}

impl TimeSyncExt for Client {
    async fn authenticate(
        &self,
        username: &str,
        password: impl Into<Secret> + Send,
        auth_type: AuthType,
    ) -> Result<()> {
        session(self)?
            .log_in(username, password.into(), auth_type)
            .await
    }

    fn set_token(&self, token: impl Into<Secret>) {
        if let Ok(s) = session(self) {
            s.start_with(token.into());
        }
    }

    fn token_expiration_time(&self) -> Result<DateTime<Utc>> {
        let token = session(self)?.current().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Missing,
                "not authenticated with TimeSync: call authenticate() first",
            )
        })?;
        token.expires_at.ok_or_else(|| {
            Error::invalid("token", "is not a TimeSync token: its payload has no `exp`")
        })
    }

    async fn project_users(&self, slug: &str) -> Result<BTreeMap<String, types::ProjectUserRoles>> {
        Ok(self
            .get_project()
            .slug(types::Slug::try_from(slug).map_err(|e| Error::invalid("slug", e.to_string()))?)
            .send()
            .await?
            .into_inner()
            .users)
    }
}

/// The check of TimeSync's rules that no schema states: a query's `start`
/// not after its `end`.
pub(crate) fn check(
    _op: &Operation,
    query: &[(String, String)],
    _body: Option<&serde_json::Value>,
) -> Result<()> {
    let date = |key| query_date(query, key);
    if let (Some(s), Some(e)) = (date("start"), date("end"))
        && s > e
    {
        return Err(Error::invalid("start", format!("{s} is after end {e}")));
    }
    Ok(())
}

impl types::TimeCreate {
    /// A time entry with its required fields: `duration` worked by `user` on
    /// `project` (a slug) on `date_worked`, the duration sent as seconds with
    /// their fraction ([`Duration::as_secs_f64`]). Add notes, an issue URI or
    /// activities with the struct's fields or [`types::TimeCreate::builder`].
    pub fn new(duration: Duration, project: &str, user: &str, date_worked: NaiveDate) -> Self {
        types::TimeCreate {
            activities: Vec::new(),
            date_worked,
            duration: duration.as_secs_f64(),
            issue_uri: None,
            notes: None,
            project: project.to_string(),
            user: user.to_string(),
        }
    }
}

impl types::ProjectCreate {
    /// A project with its required fields: a name and its slugs.
    pub fn new(name: &str, slugs: &[&str]) -> Self {
        types::ProjectCreate {
            default_activity: None,
            name: name.to_string(),
            slugs: slugs.iter().map(|s| s.to_string()).collect(),
            uri: None,
            users: BTreeMap::new(),
        }
    }
}

impl types::ActivityCreate {
    /// An activity: its name and slug.
    pub fn new(name: &str, slug: &str) -> Self {
        types::ActivityCreate {
            name: name.to_string(),
            slug: slug.to_string(),
        }
    }
}

impl types::UserCreate {
    /// A user with its required fields: username and password (sent
    /// bcrypt-hashed, as pymesync does).
    pub fn new(username: &str, password: impl Into<Secret>) -> Self {
        types::UserCreate {
            active: None,
            display_name: None,
            email: None,
            meta: None,
            password: password.into(),
            site_admin: None,
            site_manager: None,
            site_spectator: None,
            username: username.to_string(),
        }
    }
}
