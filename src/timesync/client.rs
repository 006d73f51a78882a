//! The TimeSync client: pymesync's calls, typed and async, over the
//! generated operations.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::Duration;
use super::generated::{Client as Api, prelude::*, types};
use super::query::{ActivitiesQuery, ProjectsQuery, TimesQuery, UsersQuery};
use super::session::{AuthType, Session};
use super::validate::{self, IntoUuid};
use crate::error::AuthErrorKind;
use crate::runtime::{Config, Runtime, Secret, common_builder_methods};
use crate::{Error, Result};

/// A TimeSync client. Cheap to clone; clones share the session.
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use futures::TryStreamExt;
/// use specbound::timesync::{AuthType, Client, types::TimeCreate};
/// let ts = Client::new("https://timesync.example.edu/v0")?;
/// ts.authenticate("alice", "correct horse", AuthType::Password).await?;
/// println!("token valid until {}", ts.token_expiration_time()?);
/// let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let created = ts.create_time(&TimeCreate::new("3h30m".parse()?, "gwm", "alice", date)).await?;
/// let mut times = ts.times().user("alice").start(date).include_revisions(true).stream();
/// while let Some(t) = times.try_next().await? {
///     println!("{} {}s on {:?}", t.uuid, t.duration, t.project);
/// }
/// # let _ = created;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    api: Api,
    session: Arc<Session>,
    bcrypt_cost: u32,
    keep_credentials: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use progenitor_client::ClientInfo as _;
        f.debug_struct("timesync::Client")
            .field("base_url", &self.api.baseurl())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    base_url: Option<String>,
    token: Option<Secret>,
    keep_credentials: bool,
    bcrypt_cost: u32,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
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

    /// Whether [`Client::authenticate`] keeps the credentials (in memory, as
    /// a [`Secret`]) to log in again before the token expires. Default: yes.
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

    common_builder_methods!();

    /// The client; [`Error::Config`] if the base URL is not an http(s) URL.
    pub fn build(self) -> Result<Client> {
        let raw = self.base_url.ok_or_else(|| {
            Error::Config(
                "timesync: base_url is required (like https://timesync.example.edu/v0)".into(),
            )
        })?;
        let url = url::Url::parse(&raw)
            .ok()
            .filter(|u| {
                matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none()
            })
            .ok_or_else(|| {
                Error::Config(format!(
                    "timesync: base_url `{raw}` is not an http or https URL"
                ))
            })?;
        let base = url.as_str().trim_end_matches('/').to_string();
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(Error::Config(format!(
                "timesync: bcrypt cost {} is outside 4..=31",
                self.bcrypt_cost
            )));
        }
        let http = self.config.http_client()?;
        let login = Api::new_with_client(
            &base,
            http.clone(),
            Runtime::new("timesync", &self.config, None),
        );
        let session = Arc::new(Session::new(login));
        if let Some(token) = self.token {
            session.set_token(token);
        }
        let runtime = Runtime::new("timesync", &self.config, Some(session.clone()));
        Ok(Client {
            api: Api::new_with_client(&base, http, runtime),
            session,
            bcrypt_cost: self.bcrypt_cost,
            keep_credentials: self.keep_credentials,
        })
    }
}

impl Client {
    /// A client for the server at `base_url` (version prefix included).
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }

    /// A builder, for retries, timeouts, a token or an HTTP client of your own.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            base_url: None,
            token: None,
            keep_credentials: true,
            bcrypt_cost: 10,
            config: Config::default(),
        }
    }

    /// The generated client: every operation of the spec as a builder, with
    /// the session's token added but no local validation.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Logs in (`POST /login`) and keeps the token for every later call.
    /// Unless the builder said [`keep_credentials(false)`](ClientBuilder::keep_credentials),
    /// the client logs in again by itself before the token expires.
    pub async fn authenticate(
        &self,
        username: &str,
        password: impl Into<Secret>,
        auth_type: AuthType,
    ) -> Result<()> {
        let password = password.into();
        validate::non_empty("username", username)?;
        validate::non_empty("password", password.expose())?;
        self.session
            .log_in(username, password, auth_type, self.keep_credentials)
            .await
    }

    /// Uses `token` from now on (for a token obtained elsewhere).
    pub fn set_token(&self, token: impl Into<Secret>) {
        self.session.set_token(token.into());
    }

    /// When the current token expires, read from its payload (`exp`, epoch ms).
    pub fn token_expiration_time(&self) -> Result<DateTime<Utc>> {
        let token = self.session.token().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Missing,
                "not authenticated with TimeSync: call authenticate() first",
            )
        })?;
        token.expires_at.ok_or_else(|| {
            Error::invalid("token", "is not a TimeSync token: its payload has no `exp`")
        })
    }

    /// Creates a time entry (`POST /times`). The answer echoes the entry
    /// with its new `uuid` (and `project` as the one slug that was sent).
    pub async fn create_time(&self, time: &types::TimeCreate) -> Result<types::TimeCreated> {
        validate::time_create(time)?;
        let body = types::TimeCreateRequest {
            auth: None,
            object: time.clone(),
        };
        Ok(self.api.create_time().body(body).send().await?.into_inner())
    }

    /// Updates a time entry (`POST /times/{uuid}`), sending only the fields set.
    pub async fn update_time(
        &self,
        uuid: impl IntoUuid,
        update: &types::TimeUpdate,
    ) -> Result<types::Time> {
        let uuid = uuid.into_uuid()?;
        validate::time_update(update)?;
        let body = types::TimeUpdateRequest {
            auth: None,
            object: update.clone(),
        };
        Ok(self
            .api
            .update_time()
            .uuid(uuid)
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Soft-deletes a time entry (`DELETE /times/{uuid}`).
    pub async fn delete_time(&self, uuid: impl IntoUuid) -> Result<()> {
        let uuid = uuid.into_uuid()?;
        self.api.delete_time().uuid(uuid).send().await?;
        Ok(())
    }

    /// Time entries: add filters, then `.stream()` or `.send()`.
    pub fn times(&self) -> TimesQuery<'_> {
        TimesQuery::new(&self.api)
    }

    /// Creates a project (`POST /projects`); needs a site admin or manager.
    pub async fn create_project(
        &self,
        project: &types::ProjectCreate,
    ) -> Result<types::ProjectCreated> {
        validate::project_create(project)?;
        let body = types::ProjectCreateRequest {
            auth: None,
            object: project.clone(),
        };
        Ok(self
            .api
            .create_project()
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Updates a project (`POST /projects/{slug}`), sending only the fields set.
    pub async fn update_project(
        &self,
        slug: &str,
        update: &types::ProjectUpdate,
    ) -> Result<types::Project> {
        let slug = validate::slug("slug", slug)?;
        validate::project_update(update)?;
        let body = types::ProjectUpdateRequest {
            auth: None,
            object: update.clone(),
        };
        Ok(self
            .api
            .update_project()
            .slug(slug)
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Soft-deletes a project (`DELETE /projects/{slug}`).
    pub async fn delete_project(&self, slug: &str) -> Result<()> {
        let slug = validate::slug("slug", slug)?;
        self.api.delete_project().slug(slug).send().await?;
        Ok(())
    }

    /// Projects: add filters, then `.stream()` or `.send()`.
    pub fn projects(&self) -> ProjectsQuery<'_> {
        ProjectsQuery::new(&self.api)
    }

    /// The users of a project and their roles, by username (from
    /// `GET /projects/{slug}`), as pymesync's `project_users`.
    pub async fn project_users(
        &self,
        slug: &str,
    ) -> Result<BTreeMap<String, types::ProjectUserRoles>> {
        let slug = validate::slug("slug", slug)?;
        Ok(self
            .api
            .get_project()
            .slug(slug)
            .send()
            .await?
            .into_inner()
            .users)
    }

    /// Creates an activity (`POST /activities`).
    pub async fn create_activity(
        &self,
        activity: &types::ActivityCreate,
    ) -> Result<types::Activity> {
        validate::activity_create(activity)?;
        let body = types::ActivityCreateRequest {
            auth: None,
            object: activity.clone(),
        };
        Ok(self
            .api
            .create_activity()
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Updates an activity (`POST /activities/{slug}`).
    pub async fn update_activity(
        &self,
        slug: &str,
        update: &types::ActivityUpdate,
    ) -> Result<types::ActivityUpdated> {
        let slug = validate::slug("slug", slug)?;
        validate::activity_update(update)?;
        let body = types::ActivityUpdateRequest {
            auth: None,
            object: update.clone(),
        };
        Ok(self
            .api
            .update_activity()
            .slug(slug)
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Soft-deletes an activity (`DELETE /activities/{slug}`).
    pub async fn delete_activity(&self, slug: &str) -> Result<()> {
        let slug = validate::slug("slug", slug)?;
        self.api.delete_activity().slug(slug).send().await?;
        Ok(())
    }

    /// Activities: add filters, then `.stream()` or `.send()`.
    pub fn activities(&self) -> ActivitiesQuery<'_> {
        ActivitiesQuery::new(&self.api)
    }

    /// Creates a user (`POST /users`). The password is sent bcrypt-hashed,
    /// as pymesync does.
    pub async fn create_user(&self, user: &types::UserCreate) -> Result<types::UserCreated> {
        validate::user_create(user)?;
        let mut object = user.clone();
        object.password = self.hash(&object.password).await?;
        let body = types::UserCreateRequest { auth: None, object };
        Ok(self.api.create_user().body(body).send().await?.into_inner())
    }

    /// Updates a user (`POST /users/{username}`); a new password is sent
    /// bcrypt-hashed.
    pub async fn update_user(
        &self,
        username: &str,
        update: &types::UserUpdate,
    ) -> Result<types::User> {
        let username = validate::username("username", username)?;
        let mut object = update.clone();
        if let Some(password) = &object.password {
            validate::non_empty("password", password.expose())?;
            object.password = Some(self.hash(password).await?);
        }
        let body = types::UserUpdateRequest { auth: None, object };
        Ok(self
            .api
            .update_user()
            .username(username)
            .body(body)
            .send()
            .await?
            .into_inner())
    }

    /// Soft-deletes a user (`DELETE /users/{username}`).
    pub async fn delete_user(&self, username: &str) -> Result<()> {
        let username = validate::username("username", username)?;
        self.api.delete_user().username(username).send().await?;
        Ok(())
    }

    /// Users: add filters, then `.stream()` or `.send()`.
    pub fn users(&self) -> UsersQuery<'_> {
        UsersQuery::new(&self.api)
    }

    /// bcrypt (prefix `$2a$`, as pymesync), off the async threads.
    async fn hash(&self, password: &Secret) -> Result<Secret> {
        let password = password.clone();
        let cost = self.bcrypt_cost;
        let hashed = tokio::task::spawn_blocking(move || {
            bcrypt::hash_with_result(password.expose(), cost)
                .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        })
        .await
        .map_err(|e| Error::Config(format!("password hashing stopped: {e}")))?
        .map_err(|e| Error::invalid("password", format!("cannot be hashed: {e}")))?;
        Ok(Secret::new(hashed))
    }
}

impl types::TimeCreate {
    /// A time entry with its required fields: `duration` worked by `user` on
    /// `project` (a slug) on `date_worked`. Add notes, an issue URI or
    /// activities with the struct's fields or [`types::TimeCreate::builder`].
    pub fn new(duration: Duration, project: &str, user: &str, date_worked: NaiveDate) -> Self {
        types::TimeCreate {
            activities: Vec::new(),
            date_worked,
            duration: duration.as_secs(),
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
    /// bcrypt-hashed by [`Client::create_user`]).
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
