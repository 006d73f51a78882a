//! A stateful in-memory TimeSync server, for tours and tests.
//!
//! [`TimeSync`] answers the 21 operations of `spec/timesync.yaml` the way the
//! reference server `osuosl/timesync-node` does: the same routes under `/v0`,
//! the same check order, the same error bodies
//! (`{"status", "error", "text"[, "values"]}`), roles, soft deletion and
//! revisions. It is pymesync's "test mode that needs no server", done through
//! the real client over real HTTP.
//!
//! Where the reference server has a bug, the sandbox does what the code meant
//! (each case is marked `Server bug:` below); the differences are:
//!
//! - `GET /times/{uuid}?include_revisions=true` on an entry with one revision
//!   answers it with empty `parents` (the server never answers).
//! - The single-object GETs with `include_revisions` answer 404 for an unknown
//!   slug (the server answers 200 with an empty body).
//! - `POST /times/{uuid}` answers the entry as `GET` would, with its
//!   activities and new owner (the server answers `activities: []` and the
//!   previous owner).
//! - `POST /projects/{slug}` answers the project as `GET` would (the server
//!   echoes the sent `users` and shows a cleared default activity).
//! - `POST /users` answers the stored `active` flag (the server answers `true`
//!   when `false` was sent) and refuses unknown fields with 400 (the server
//!   fails with 500).
//! - `DELETE /projects/{slug}` lets the project's managers delete it (the
//!   server looks their role up by the wrong id); `DELETE /activities/{slug}`
//!   refuses (405) only when a current time entry uses the activity, and
//!   deletes every revision of it.
//! - `POST /activities/{slug}` revises the newest revision of the activity
//!   named by its current slug.
//! - An empty `activities` array (time entries) or `slugs` array (new
//!   projects) is refused with 400 (the server stores objects no GET shows).
//! - An unknown login `type` is always refused (the server may reuse the
//!   strategy of an earlier request).
//!
//! Request bodies are checked against the JSON Schema of the generated
//! request types first, so the types the spec declares are enforced as the
//! spec says (for example, durations must be whole seconds); what the schema
//! cannot say (slug rules, URIs, uniqueness, permissions, foreign keys) is
//! checked by hand with the server's own texts. JSON answers have the keys of
//! the spec's schemas (their order is not kept for echoed objects).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Server, schema_violation};
use crate::runtime::Secret;
use crate::timesync::types;
use crate::{Error, Result};

/// The default lifetime of a token, as on the reference server.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// bcrypt cost for the passwords of seeded users (fast; the hashes are only
/// ever checked by this sandbox).
const SEED_BCRYPT_COST: u32 = 4;

/// The `iss` of the sandbox's tokens.
const INSTANCE_NAME: &str = "specbound-sandbox";

// ------------------------------------------------------------------------------------------
// Public API
// ------------------------------------------------------------------------------------------

/// A user's site-wide role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `site_admin` and `site_manager`: may do everything, including creating
    /// users (which needs both flags).
    Admin,
    /// `site_manager`: manages projects, activities and users, deletes any
    /// time entry; sees only the time entries a member would.
    Manager,
    /// `site_spectator`: sees every time entry.
    Spectator,
    /// No site role: works on the projects they are a member of.
    Member,
}

impl Role {
    /// `(site_spectator, site_manager, site_admin)`.
    fn flags(self) -> (bool, bool, bool) {
        match self {
            Role::Admin => (false, true, true),
            Role::Manager => (false, true, false),
            Role::Spectator => (true, false, false),
            Role::Member => (false, false, false),
        }
    }
}

/// A user's role on one project, for [`TimeSyncBuilder::project`]. Giving a
/// user several roles on a project combines them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectRole {
    /// Manager, member and spectator: may change the project, log time on
    /// it and see everyone's time on it.
    Manager,
    /// Member: may log time on the project.
    Member,
    /// Spectator: sees everyone's time on the project.
    Spectator,
}

/// A running in-memory TimeSync server on 127.0.0.1; it stops when dropped.
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use specbound::sandbox::timesync::{ProjectRole, Role, TimeSync};
/// use specbound::timesync::{AuthType, Client, types::TimeCreate};
/// let server = TimeSync::builder()
///     .user("alice", "secret", Role::Admin)
///     .ldap_user("bob", "ldap-pw", Role::Member)
///     .activity("dev", "Development")
///     .project("gwm", "Ganeti Web Manager", &[("alice", ProjectRole::Manager)])
///     .start()
///     .await?;
/// let ts = Client::builder().base_url(server.base_url()).bcrypt_cost(4).build()?;
/// ts.authenticate("alice", "secret", AuthType::Password).await?;
/// let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
/// let mut time = TimeCreate::new("1h30m".parse()?, "gwm", "alice", date);
/// time.activities = vec!["dev".into()];
/// let created = ts.create_time(&time).await?;
/// assert_eq!(ts.times().user("alice").send().await?.len(), 1);
/// assert_eq!(server.login_count(), 1);
/// # let _ = created;
/// # Ok(()) }
/// ```
pub struct TimeSync {
    server: Server,
    shared: Arc<Shared>,
}

impl fmt::Debug for TimeSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeSync")
            .field("base_url", &self.base_url())
            .field("login_count", &self.login_count())
            .finish_non_exhaustive()
    }
}

impl TimeSync {
    /// A builder to seed users, projects and activities, then start.
    pub fn builder() -> TimeSyncBuilder {
        TimeSyncBuilder {
            users: Vec::new(),
            projects: Vec::new(),
            activities: Vec::new(),
            token_ttl: DEFAULT_TOKEN_TTL,
        }
    }

    /// The base URL to give the client: `http://127.0.0.1:<port>/v0`.
    pub fn base_url(&self) -> String {
        format!("{}/v0", self.server.root_url())
    }

    /// How many logins succeeded (`POST /login` answered with a token).
    pub fn login_count(&self) -> u64 {
        self.shared.logins.load(Ordering::Relaxed)
    }

    /// How many requests reached the sandbox, unknown routes included.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }
}

/// Seeds a [`TimeSync`] sandbox, then starts it. Seeded passwords are stored
/// bcrypt-hashed (cost 4), as the real server stores them.
pub struct TimeSyncBuilder {
    users: Vec<SeedUser>,
    projects: Vec<SeedProject>,
    activities: Vec<(String, String)>,
    token_ttl: Duration,
}

struct SeedUser {
    username: String,
    password: Secret,
    role: Role,
    ldap: bool,
}

struct SeedProject {
    slug: String,
    name: String,
    users: Vec<(String, ProjectRole)>,
}

impl fmt::Debug for TimeSyncBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<_> = self
            .users
            .iter()
            .map(|u| (&u.username, u.role, u.ldap))
            .collect();
        let projects: Vec<_> = self.projects.iter().map(|p| &p.slug).collect();
        f.debug_struct("TimeSyncBuilder")
            .field("users", &users)
            .field("projects", &projects)
            .field("activities", &self.activities)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

impl TimeSyncBuilder {
    /// A user who logs in with the `password` strategy.
    pub fn user(mut self, username: &str, password: &str, role: Role) -> Self {
        self.users.push(SeedUser {
            username: username.to_string(),
            password: Secret::new(password),
            role,
            ldap: false,
        });
        self
    }

    /// A user whose password is checked by the `ldap` strategy (a fake
    /// directory inside the sandbox); enables that strategy. The user has no
    /// local password, so a `password` login fails for them.
    pub fn ldap_user(mut self, username: &str, password: &str, role: Role) -> Self {
        self.users.push(SeedUser {
            username: username.to_string(),
            password: Secret::new(password),
            role,
            ldap: true,
        });
        self
    }

    /// A project with one slug, and roles for seeded users.
    pub fn project(mut self, slug: &str, name: &str, users: &[(&str, ProjectRole)]) -> Self {
        self.projects.push(SeedProject {
            slug: slug.to_string(),
            name: name.to_string(),
            users: users.iter().map(|(u, r)| (u.to_string(), *r)).collect(),
        });
        self
    }

    /// An activity.
    pub fn activity(mut self, slug: &str, name: &str) -> Self {
        self.activities.push((slug.to_string(), name.to_string()));
        self
    }

    /// How long a token stays valid (default 30 minutes, as on the server).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Starts the server on a free port of 127.0.0.1 on the current tokio
    /// runtime. [`Error::Config`] names a seed the real server would refuse
    /// (a bad or repeated username, slug or name, a role for an unknown user).
    pub async fn start(self) -> Result<TimeSync> {
        let token_ttl_ms = i64::try_from(self.token_ttl.as_millis()).unwrap_or(i64::MAX);
        let state = self.seed()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            logins: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            token_ttl_ms,
        });
        let server = Server::start(router(shared.clone())).await?;
        tracing::debug!(url = %server.root_url(), "timesync sandbox started");
        Ok(TimeSync { server, shared })
    }

    fn seed(self) -> Result<Store> {
        let config = |what: String| Error::Config(format!("timesync sandbox: {what}"));
        let now = now_ms();
        let mut state = Store::default();
        for seed in self.users {
            if !valid_username(&seed.username) {
                return Err(config(format!(
                    "`{}` is not a valid username",
                    seed.username
                )));
            }
            if state.user(&seed.username).is_some() {
                return Err(config(format!("user `{}` is seeded twice", seed.username)));
            }
            let password = if seed.ldap {
                state.ldap_enabled = true;
                state
                    .ldap
                    .insert(seed.username.clone(), seed.password.expose().to_string());
                None
            } else {
                let hash = bcrypt::hash(seed.password.expose(), SEED_BCRYPT_COST)
                    .map_err(|e| config(format!("cannot hash a password: {e}")))?;
                Some(hash)
            };
            let (site_spectator, site_manager, site_admin) = seed.role.flags();
            state.users.push(UserRow {
                username: seed.username,
                password,
                display_name: None,
                email: None,
                meta: None,
                site_spectator,
                site_manager,
                site_admin,
                active: true,
                created_at: now,
                updated_at: None,
                deleted_at: None,
            });
        }
        for (slug, name) in self.activities {
            if !valid_slug(&slug) {
                return Err(config(format!("`{slug}` is not a valid activity slug")));
            }
            if state
                .activities
                .iter()
                .any(|a| a.slug.as_deref() == Some(&slug) || a.name == name)
            {
                return Err(config(format!(
                    "activity `{slug}` ({name}) is seeded twice"
                )));
            }
            state.activities.push(ActivityRow {
                name,
                slug: Some(slug),
                uuid: Uuid::new_v4(),
                revision: 1,
                newest: true,
                created_at: now,
                updated_at: None,
                deleted_at: None,
            });
        }
        for seed in self.projects {
            if !valid_slug(&seed.slug) {
                return Err(config(format!(
                    "`{}` is not a valid project slug",
                    seed.slug
                )));
            }
            if state.slugs.contains_key(&seed.slug)
                || state.projects.iter().any(|p| p.name == seed.name)
            {
                return Err(config(format!(
                    "project `{}` ({}) is seeded twice",
                    seed.slug, seed.name
                )));
            }
            let uuid = Uuid::new_v4();
            let mut roles = BTreeMap::new();
            for (username, role) in seed.users {
                if state.user(&username).is_none() {
                    return Err(config(format!(
                        "project `{}` gives a role to `{username}`, who is not seeded",
                        seed.slug
                    )));
                }
                let r: &mut Roles = roles.entry(username).or_default();
                match role {
                    ProjectRole::Manager => {
                        r.manager = true;
                        r.member = true;
                        r.spectator = true;
                    }
                    ProjectRole::Member => r.member = true,
                    ProjectRole::Spectator => r.spectator = true,
                }
            }
            state.projects.push(ProjectRow {
                name: seed.name,
                uri: None,
                default_activity: None,
                uuid,
                revision: 1,
                newest: true,
                created_at: now,
                updated_at: None,
                deleted_at: None,
            });
            state.slugs.insert(seed.slug, uuid);
            if !roles.is_empty() {
                state.roles.insert(uuid, roles);
            }
        }
        Ok(state)
    }
}

// ------------------------------------------------------------------------------------------
// Store
// ------------------------------------------------------------------------------------------

struct Shared {
    state: Mutex<Store>,
    logins: AtomicU64,
    requests: AtomicU64,
    token_ttl_ms: i64,
}

impl Shared {
    /// Runs `f` on the state; the lock is never held across an `.await`.
    fn with_state<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// A GET or DELETE: the token from `?token=`, then `f`.
    fn query_request(
        &self,
        raw_query: Option<String>,
        f: impl FnOnce(&mut Store, &Me, &Query) -> Outcome,
    ) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let query = Query::parse(raw_query.as_deref());
        let outcome = self.with_state(|state| {
            let me = state.authenticate_query(&query)?;
            f(state, &me, &query)
        });
        respond(outcome)
    }

    /// A POST: the token from the body's `auth` block, then `f` on `object`.
    fn body_request(
        &self,
        body: &[u8],
        f: impl FnOnce(&mut Store, &Me, &Value) -> Outcome,
    ) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = parse_body(body).and_then(|body| {
            self.with_state(|state| {
                let me = state.authenticate_body(&body)?;
                // Without `object` the server's handler throws inside the token
                // check and answers 401 with `text: {}`; a plain 400 says more.
                let object = body.get("object").ok_or_else(|| {
                    ApiErr::new(
                        StatusCode::BAD_REQUEST,
                        "Bad object",
                        "The request is missing a object",
                    )
                })?;
                f(state, &me, object)
            })
        });
        respond(outcome)
    }
}

#[derive(Default)]
struct Store {
    users: Vec<UserRow>,
    /// The fake LDAP directory: username → clear-text password.
    ldap: HashMap<String, String>,
    ldap_enabled: bool,
    /// Every revision of every activity; the index is the row id.
    activities: Vec<ActivityRow>,
    /// Every revision of every project.
    projects: Vec<ProjectRow>,
    /// Project slugs; they always belong to the project's newest revision.
    slugs: BTreeMap<String, Uuid>,
    /// Project roles by project UUID, then username (they move to each new
    /// revision, as on the server).
    roles: HashMap<Uuid, BTreeMap<String, Roles>>,
    /// Every revision of every time entry.
    times: Vec<TimeRow>,
    tokens: HashMap<String, IssuedToken>,
}

struct IssuedToken {
    sub: String,
    exp: i64,
}

#[derive(Clone)]
struct UserRow {
    username: String,
    /// The bcrypt hash; `None` for LDAP users.
    password: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    meta: Option<String>,
    site_spectator: bool,
    site_manager: bool,
    site_admin: bool,
    active: bool,
    created_at: i64,
    updated_at: Option<i64>,
    deleted_at: Option<i64>,
}

#[derive(Clone)]
struct ActivityRow {
    name: String,
    /// `None` once deleted.
    slug: Option<String>,
    uuid: Uuid,
    revision: i64,
    newest: bool,
    created_at: i64,
    updated_at: Option<i64>,
    deleted_at: Option<i64>,
}

#[derive(Clone)]
struct ProjectRow {
    name: String,
    uri: Option<String>,
    /// The default activity's UUID.
    default_activity: Option<Uuid>,
    uuid: Uuid,
    revision: i64,
    newest: bool,
    created_at: i64,
    updated_at: Option<i64>,
    deleted_at: Option<i64>,
}

#[derive(Clone)]
struct TimeRow {
    duration: u64,
    /// The username (usernames never change).
    user: String,
    /// The project's UUID.
    project: Uuid,
    notes: Option<String>,
    issue_uri: Option<String>,
    date_worked: NaiveDate,
    created_at: i64,
    updated_at: Option<i64>,
    deleted_at: Option<i64>,
    uuid: Uuid,
    revision: i64,
    newest: bool,
    /// Activity row ids (`timesactivities`).
    activities: Vec<usize>,
}

#[derive(Clone, Copy, Default, Serialize)]
struct Roles {
    member: bool,
    spectator: bool,
    manager: bool,
}

/// The authenticated user.
struct Me {
    username: String,
    site_spectator: bool,
    site_manager: bool,
    site_admin: bool,
}

// ------------------------------------------------------------------------------------------
// Answers and errors
// ------------------------------------------------------------------------------------------

/// A successful answer.
enum Answer {
    /// JSON sent as `application/json`.
    Json(Vec<u8>),
    /// JSON sent as `text/html`, as the server's `res.send(JSON.stringify(..))`.
    Html(Vec<u8>),
    /// 200 with an empty body.
    Empty,
}

type Outcome = std::result::Result<Answer, ApiErr>;

/// An error answer: `{"status", "error", "text"[, "values"]}`.
#[derive(Debug)]
struct ApiErr {
    status: StatusCode,
    error: &'static str,
    text: String,
    values: Option<Vec<String>>,
    allow: bool,
}

impl ApiErr {
    fn new(status: StatusCode, error: &'static str, text: impl Into<String>) -> Self {
        ApiErr {
            status,
            error,
            text: text.into(),
            values: None,
            allow: false,
        }
    }

    fn with_values(mut self, values: Vec<String>) -> Self {
        self.values = Some(values);
        self
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: u16,
    error: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<&'a [String]>,
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: self.status.as_u16(),
            error: self.error,
            text: &self.text,
            values: self.values.as_deref(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        if self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        response
    }
}

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(Answer::Json(body)) => ([(header::CONTENT_TYPE, JSON)], body).into_response(),
        Ok(Answer::Html(body)) => ([(header::CONTENT_TYPE, HTML)], body).into_response(),
        Ok(Answer::Empty) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::debug!(status = %e.status, error = e.error, text = %e.text, "timesync sandbox refused a request");
            e.into_response()
        }
    }
}

fn json(value: &impl Serialize) -> Outcome {
    serde_json::to_vec(value)
        .map(Answer::Json)
        .map_err(server_error)
}

fn html(value: &impl Serialize) -> Outcome {
    serde_json::to_vec(value)
        .map(Answer::Html)
        .map_err(server_error)
}

// The constructors of the server's errors.js, with its exact texts.

fn server_error(e: impl fmt::Display) -> ApiErr {
    tracing::warn!(error = %e, "timesync sandbox failed");
    ApiErr::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Server error",
        "Unexpected server error.",
    )
}

fn not_found(what: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::NOT_FOUND,
        "Object not found",
        format!("Nonexistent {what}"),
    )
}

fn invalid_foreign_key(object: &str, key: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::CONFLICT,
        "Invalid foreign key",
        format!("The {object} does not contain a valid {key} reference."),
    )
}

fn unknown_field(object: &str, field: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("{object} does not have a {field} field"),
    )
}

fn missing_field(object: &str, field: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("The {object} is missing a {field}"),
    )
}

fn invalid_field(object: &str, field: &str, expected: &str, actual: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("Field {field} of {object} should be {expected} but was sent as {actual}"),
    )
}

fn bad_json() -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        "The request body could not be parsed as valid JSON",
    )
}

fn invalid_identifier(expected: &str, id: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "The provided identifier was invalid",
        format!("Expected {expected} but received {id}"),
    )
    .with_values(vec![id.to_string()])
}

fn authentication_failure(text: &str) -> ApiErr {
    ApiErr::new(StatusCode::UNAUTHORIZED, "Authentication failure", text)
}

fn slugs_exist(mut slugs: Vec<String>) -> ApiErr {
    slugs.sort();
    slugs.dedup();
    let text = match slugs.as_slice() {
        [one] => format!("slug {one} already exists"),
        many => format!("slugs {} already exist", many.join(", ")),
    };
    ApiErr::new(
        StatusCode::CONFLICT,
        "The slug provided already exists",
        text,
    )
    .with_values(slugs)
}

fn authorization_failure(me: &Me, what: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "Authorization failure",
        format!("{} is not authorized to {what}", me.username),
    )
}

fn method_not_allowed(object: &str) -> ApiErr {
    let mut e = ApiErr::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        format!("The method specified is not allowed for the {object} identified"),
    );
    e.allow = true;
    e
}

fn authentication_type_failure(kind: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "Bad query value",
        format!("{kind} is not a valid authentication type"),
    )
}

fn bad_query_value(key: &str, raw: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad query value",
        format!("Parameter {key} contained invalid value {raw}"),
    )
}

fn username_exists(username: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::CONFLICT,
        "Username already exists",
        format!("username {username} already exists"),
    )
    .with_values(vec![username.to_string()])
}

// ------------------------------------------------------------------------------------------
// Request parsing
// ------------------------------------------------------------------------------------------

/// The body as the server's `bodyParser.json()` reads it: an object or an
/// array; nothing at all reads as `{}`.
fn parse_body(bytes: &[u8]) -> std::result::Result<Value, ApiErr> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(v),
        _ => Err(bad_json()),
    }
}

/// A query string as Express's `qs` reads it: a repeated key is an array,
/// `key[]` is an array, `key[x]` is an object, `?key` is `""`.
#[derive(Default)]
struct Query {
    pairs: Vec<(String, String)>,
    arrays: BTreeSet<String>,
    objects: BTreeSet<String>,
}

/// One query parameter's value.
enum QueryValue<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
    Object,
}

impl QueryValue<'_> {
    /// The value as the server prints it in `Parameter .. contained invalid value ..`.
    fn raw(&self) -> String {
        match self {
            QueryValue::One(s) => (*s).to_string(),
            QueryValue::Many(v) => v.join(","),
            QueryValue::Object => "[object Object]".to_string(),
        }
    }

    /// JavaScript truthiness of the value.
    fn truthy(&self) -> bool {
        !matches!(self, QueryValue::One(""))
    }
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        let mut query = Query::default();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if let Some(base) = key.strip_suffix("[]") {
                query.arrays.insert(base.to_string());
                query.pairs.push((base.to_string(), value.into_owned()));
            } else if let Some(i) = key.find('[') {
                query.objects.insert(key[..i].to_string());
            } else {
                query.pairs.push((key.into_owned(), value.into_owned()));
            }
        }
        query
    }

    fn get(&self, key: &str) -> Option<QueryValue<'_>> {
        if self.objects.contains(key) {
            return Some(QueryValue::Object);
        }
        let values: Vec<&str> = self
            .pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        match values.as_slice() {
            [] => None,
            [one] if !self.arrays.contains(key) => Some(QueryValue::One(one)),
            _ => Some(QueryValue::Many(values)),
        }
    }

    /// `include_deleted` on times, projects and users: anything but absent
    /// or `false`.
    fn loose_flag(&self, key: &str) -> bool {
        !matches!(self.get(key), None | Some(QueryValue::One("false")))
    }

    /// `include_revisions` everywhere, `include_deleted` on activities:
    /// only `true` or an empty value.
    fn strict_flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(QueryValue::One("true" | "")))
    }

    /// The values of a filter (`user`, `project`, `activity`); `Ok(None)`
    /// when absent or empty.
    fn filter(&self, key: &str) -> std::result::Result<Option<(Vec<String>, String)>, ApiErr> {
        match self.get(key) {
            None | Some(QueryValue::One("")) => Ok(None),
            // The server never answers such a request; a 400 is kinder.
            Some(v @ QueryValue::Object) => Err(bad_query_value(key, &v.raw())),
            Some(QueryValue::One(s)) => Ok(Some((vec![s.to_string()], s.to_string()))),
            Some(v @ QueryValue::Many(_)) => {
                let raw = v.raw();
                let QueryValue::Many(values) = v else {
                    return Ok(None);
                };
                Ok(Some((
                    values.into_iter().map(str::to_string).collect(),
                    raw,
                )))
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Small JavaScript-alike helpers and the server's validators
// ------------------------------------------------------------------------------------------

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `new Date(ms).toISOString().substring(0, 10)`.
fn day(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

fn opt_day(ms: Option<i64>) -> Option<String> {
    ms.filter(|m| *m != 0).map(day)
}

/// JavaScript truthiness.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// The server's `helpers.getType`.
fn js_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JavaScript's `typeof`.
fn js_typeof(value: &Value) -> &'static str {
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
        other => js_type(other),
    }
}

/// JavaScript's `String(value)`.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_string(),
        other => other.to_string(),
    }
}

fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// A present, non-null string array field.
fn str_array(object: &Value, key: &str) -> Option<Vec<String>> {
    object.get(key).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

/// `helpers.validateSlug`: lower-case letters and digits in groups joined by
/// single hyphens, with at least one letter.
fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split('-').all(|group| {
            !group.is_empty()
                && group
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && slug.bytes().any(|b| b.is_ascii_lowercase())
}

/// `errors.isInvalidSlug`, the lax check of the slug GETs.
fn lax_slug(slug: &str) -> bool {
    slug.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `helpers.validateUUID` (which lower-cases first).
fn valid_uuid(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `helpers.validateUsername` (which lower-cases first).
fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'-'))
}

/// `helpers.validateEmail`, the server's own pattern (JavaScript syntax).
fn valid_email(email: &str) -> bool {
    static EMAIL: LazyLock<Option<regress::Regex>> = LazyLock::new(|| {
        regress::Regex::new(
            r"^([A-Z|a-z|0-9](\.|_){0,1})+[A-Z|a-z|0-9]*(\+){0,1}[A-Z|a-z|0-9]+\@([A-Z|a-z|0-9])+((\.){0,1}[A-Z|a-z|0-9]){2}\.[a-z]{2,3}$",
        )
        .ok()
    });
    EMAIL.as_ref().is_some_and(|re| re.find(email).is_some())
}

/// `valid-url`'s `isWebUri`: an http or https URI with a host.
fn web_uri(uri: &str) -> bool {
    !uri.chars().any(char::is_whitespace)
        && url::Url::parse(uri)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// The unanchored `/\d{4}-\d{2}-\d{2}/` test of the server.
fn has_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    })
}

/// `new Date(text).getTime()` for the forms the sandbox understands
/// (`yyyy-mm-dd` and RFC 3339); `None` stands for `NaN`.
fn parse_js_date(text: &str) -> Option<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// A `date_worked` as the server accepts it (unanchored date pattern and
/// `Date.parse`), as the UTC day.
fn parse_date_worked(text: &str) -> Option<NaiveDate> {
    if !has_iso_date(text) {
        return None;
    }
    parse_js_date(text)
        .and_then(DateTime::from_timestamp_millis)
        .map(|d| d.date_naive())
}

fn date_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

// ------------------------------------------------------------------------------------------
// Schema checks
// ------------------------------------------------------------------------------------------

/// The first problem found in a request object.
enum Problem {
    /// A required property is absent (a dotted path for nested ones).
    Missing(String),
    /// A property has the wrong type; `expected` and `actual` are the
    /// server's type words.
    Invalid {
        field: String,
        expected: String,
        actual: &'static str,
    },
    /// A number under the schema's minimum (0).
    Negative(String),
}

/// Checks `object` against the JSON Schema of the generated type `T`, then
/// refuses `null` for every optional field not listed in `nullable` (the
/// generated types accept `null` for optional fields, the server does not).
fn schema_problem<T: schemars::JsonSchema>(object: &Value, nullable: &[&str]) -> Option<Problem> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Some((path, message)) = schema_violation::<T>(object) {
        let segments: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        if let Some(property) = message.strip_suffix(" is a required property") {
            let mut field = segments;
            field.push(property.trim_matches('"').to_string());
            return Some(Problem::Missing(field.join(".")));
        }
        let field = if segments.is_empty() {
            "object".to_string()
        } else {
            segments.join(".")
        };
        if message.contains(" is less than the minimum of ") {
            return Some(Problem::Negative(field));
        }
        let actual = object.pointer(&path).map_or("undefined", js_type);
        let expected =
            expected_type(&schema, &segments, actual).unwrap_or_else(|| "valid value".into());
        return Some(Problem::Invalid {
            field,
            expected,
            actual,
        });
    }
    let map = object.as_object()?;
    map.iter()
        .filter(|(key, value)| value.is_null() && !nullable.contains(&key.as_str()))
        .find_map(|(key, _)| {
            let expected = expected_type(&schema, std::slice::from_ref(key), "null")?;
            Some(Problem::Invalid {
                field: key.clone(),
                expected,
                actual: "null",
            })
        })
}

/// The server's type word for the schema at `segments` (the first non-null
/// type; `integer` is a `number` to JavaScript, unless a fraction was sent).
fn expected_type(schema: &Value, segments: &[String], actual: &str) -> Option<String> {
    fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
        for _ in 0..8 {
            if let Some(name) = node
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            {
                match root.get("$defs").and_then(|d| d.get(name)) {
                    Some(next) => node = next,
                    None => return node,
                }
            } else if let Some(branches) = node
                .get("anyOf")
                .or_else(|| node.get("oneOf"))
                .and_then(Value::as_array)
            {
                let non_null = branches
                    .iter()
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                match non_null {
                    Some(next) => node = next,
                    None => return node,
                }
            } else {
                return node;
            }
        }
        node
    }
    let mut node = resolve(schema, schema);
    for segment in segments {
        let next = node
            .get("properties")
            .and_then(|p| p.get(segment))
            .or_else(|| node.get("items"))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
        node = resolve(schema, next);
    }
    let word = match node.get("type")? {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")?
            .to_string(),
        _ => return None,
    };
    Some(match word.as_str() {
        "integer" if actual == "number" => "integer".to_string(),
        "integer" => "number".to_string(),
        _ => word,
    })
}

/// The server's error for a problem in `object_name`; `number` is the word
/// of the server's negative-number text (`number` or `integer`).
fn problem_error(object_name: &str, problem: Problem, number: &str) -> ApiErr {
    match problem {
        Problem::Missing(field) => missing_field(object_name, &field),
        Problem::Invalid {
            field,
            expected,
            actual,
        } => invalid_field(object_name, &field, &expected, actual),
        Problem::Negative(field) => invalid_field(
            object_name,
            &field,
            &format!("positive {number}"),
            &format!("negative {number}"),
        ),
    }
}

/// Time entries name a wrongly typed activity in their own words.
fn time_problem_error(problem: Problem, number: &str) -> ApiErr {
    match problem {
        Problem::Invalid { field, actual, .. } if field.starts_with("activities.") => {
            invalid_field(
                "time",
                "activities",
                "slugs",
                &format!("array containing at least 1 {actual}"),
            )
        }
        other => problem_error("time", other, number),
    }
}

/// The first key of `object` that the schema of `T` does not declare.
fn unknown_key<T: schemars::JsonSchema>(object: &Value) -> Option<String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).ok()?;
    let known = schema.get("properties")?.as_object()?;
    object
        .as_object()?
        .keys()
        .find(|k| !known.contains_key(k.as_str()))
        .cloned()
}

// ------------------------------------------------------------------------------------------
// Answer shapes (key order of the server's compile functions)
// ------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct TimeOut {
    duration: u64,
    user: String,
    notes: Option<String>,
    issue_uri: Option<String>,
    uuid: Uuid,
    revision: i64,
    project: Vec<String>,
    activities: Vec<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    date_worked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parents: Option<Vec<TimeOut>>,
}

#[derive(Serialize)]
struct ProjectOut {
    name: String,
    uri: Option<String>,
    uuid: Uuid,
    default_activity: Option<String>,
    revision: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    slugs: Option<Vec<String>>,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<BTreeMap<String, Roles>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parents: Option<Vec<ProjectOut>>,
}

#[derive(Serialize)]
struct ActivityOut {
    name: String,
    slug: Option<String>,
    uuid: Uuid,
    revision: i64,
    created_at: Option<String>,
    deleted_at: Option<String>,
    updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parents: Option<Vec<ActivityOut>>,
}

#[derive(Serialize)]
struct ActivityUpdatedOut {
    name: String,
    slug: Option<String>,
    uuid: Uuid,
    revision: i64,
    updated_at: Option<String>,
    created_at: Option<String>,
}

#[derive(Serialize)]
struct UserOut {
    display_name: Option<String>,
    username: String,
    email: Option<String>,
    meta: Option<String>,
    site_spectator: bool,
    site_manager: bool,
    site_admin: bool,
    active: bool,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    created_at: Option<String>,
}

fn compile_user(u: &UserRow) -> UserOut {
    UserOut {
        display_name: u.display_name.clone(),
        username: u.username.clone(),
        email: u.email.clone(),
        meta: u.meta.clone(),
        site_spectator: u.site_spectator,
        site_manager: u.site_manager,
        site_admin: u.site_admin,
        active: u.active,
        updated_at: opt_day(u.updated_at),
        deleted_at: opt_day(u.deleted_at),
        created_at: opt_day(Some(u.created_at)),
    }
}

fn compile_activity(a: &ActivityRow) -> ActivityOut {
    ActivityOut {
        name: a.name.clone(),
        slug: a.slug.clone(),
        uuid: a.uuid,
        revision: a.revision,
        created_at: opt_day(Some(a.created_at)),
        deleted_at: opt_day(a.deleted_at),
        updated_at: opt_day(a.updated_at),
        parents: None,
    }
}

// ------------------------------------------------------------------------------------------
// Lookups
// ------------------------------------------------------------------------------------------

impl Store {
    fn user(&self, username: &str) -> Option<&UserRow> {
        self.users.iter().find(|u| u.username == username)
    }

    fn user_mut(&mut self, username: &str) -> Option<&mut UserRow> {
        self.users.iter_mut().find(|u| u.username == username)
    }

    /// The sorted slugs of a project (none once it is deleted).
    fn project_slugs(&self, uuid: Uuid) -> Vec<String> {
        self.slugs
            .iter()
            .filter(|(_, u)| **u == uuid)
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn newest_project(&self, uuid: Uuid) -> Option<usize> {
        self.projects
            .iter()
            .rposition(|p| p.uuid == uuid && p.newest)
    }

    /// The newest row of an activity.
    fn newest_activity(&self, uuid: Uuid) -> Option<usize> {
        self.activities
            .iter()
            .rposition(|a| a.uuid == uuid && a.newest)
    }

    /// Ids of every activity row with one of `slugs`; `None` if one of the
    /// slugs has no row (`helpers.checkActivities`).
    fn activity_ids(&self, slugs: &[String]) -> Option<Vec<usize>> {
        let mut ids = Vec::new();
        for slug in slugs {
            let before = ids.len();
            ids.extend(
                self.activities
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.slug.as_deref() == Some(slug.as_str()))
                    .map(|(i, _)| i),
            );
            if ids.len() == before {
                return None;
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }

    /// The UUID of the activity with `slug` in any revision.
    fn activity_uuid(&self, slug: &str) -> Option<Uuid> {
        self.activities
            .iter()
            .find(|a| a.slug.as_deref() == Some(slug))
            .map(|a| a.uuid)
    }

    /// The slug a project shows as its default activity: the activity's
    /// current slug. (Server bug: it joins every revision row of the
    /// activity, so a project shows up once per slug the activity ever had.)
    fn default_activity_slug(&self, uuid: Option<Uuid>) -> Option<String> {
        let i = self.newest_activity(uuid?)?;
        self.activities[i].slug.clone()
    }

    fn roles_of(&self, project: Uuid, username: &str) -> Roles {
        self.roles
            .get(&project)
            .and_then(|r| r.get(username))
            .copied()
            .unwrap_or_default()
    }

    fn compile_project(&self, p: &ProjectRow, current: bool) -> ProjectOut {
        let (slugs, users) = if current {
            let users = self.roles.get(&p.uuid).filter(|r| !r.is_empty()).cloned();
            (Some(self.project_slugs(p.uuid)), users)
        } else {
            (None, None)
        };
        ProjectOut {
            name: p.name.clone(),
            uri: p.uri.clone(),
            uuid: p.uuid,
            default_activity: self.default_activity_slug(p.default_activity),
            revision: p.revision,
            slugs,
            updated_at: opt_day(p.updated_at),
            deleted_at: opt_day(p.deleted_at),
            created_at: opt_day(Some(p.created_at)),
            users,
            parents: None,
        }
    }

    /// A time row's project slugs and activity slugs (`timesMetadata`).
    fn time_metadata(&self, rows: &[&TimeRow]) -> (Vec<String>, Vec<String>) {
        let mut projects = BTreeSet::new();
        let mut activities = BTreeSet::new();
        for row in rows {
            projects.extend(self.project_slugs(row.project));
            activities.extend(
                row.activities
                    .iter()
                    .filter_map(|&i| self.activities.get(i).and_then(|a| a.slug.clone())),
            );
        }
        (
            projects.into_iter().collect(),
            activities.into_iter().collect(),
        )
    }

    fn compile_time(
        &self,
        t: &TimeRow,
        (project, activities): (Vec<String>, Vec<String>),
    ) -> TimeOut {
        TimeOut {
            duration: t.duration,
            user: t.user.clone(),
            notes: t.notes.clone(),
            issue_uri: t.issue_uri.clone(),
            uuid: t.uuid,
            revision: t.revision,
            project,
            activities,
            created_at: opt_day(Some(t.created_at)),
            updated_at: opt_day(t.updated_at),
            deleted_at: opt_day(t.deleted_at),
            date_worked: Some(t.date_worked.to_string()),
            parents: None,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

/// What a login needs checked outside the lock.
enum LoginCheck {
    /// Compare `password` with the stored bcrypt `hash` (`None`: no such user
    /// or no local password).
    Password {
        username: String,
        password: String,
        hash: Option<String>,
    },
    /// The LDAP bind has been decided; the user may log in.
    Ldap { username: String },
}

impl Store {
    /// `POST /login` up to the password comparison (`login.js`, in order).
    fn login_check(&self, body: &Value) -> std::result::Result<LoginCheck, ApiErr> {
        let auth = body.get("auth");
        if !truthy(auth) {
            return Err(authentication_failure("Missing credentials"));
        }
        let auth = auth.unwrap_or(&Value::Null);
        let kind = auth.get("type");
        if !truthy(kind) {
            return Err(authentication_failure("Authentication type required"));
        }
        let kind = kind.unwrap_or(&Value::Null);
        // Server bug: the chosen strategy lives in a variable shared by all
        // requests, so an unknown type may reuse an earlier request's one.
        let ldap = match kind.as_str() {
            Some("password") => false,
            Some("ldap") if self.ldap_enabled => true,
            _ => return Err(authentication_type_failure(&js_string(kind))),
        };
        if !truthy(auth.get("username")) || !truthy(auth.get("password")) {
            return Err(authentication_failure("Missing credentials"));
        }
        if let Some(problem) = schema_problem::<types::LoginRequest>(body, &[]) {
            return Err(problem_error("login", problem, "number"));
        }
        let username = str_field(auth, "username").unwrap_or_default().to_string();
        let password = str_field(auth, "password").unwrap_or_default().to_string();
        if ldap {
            if self.ldap.get(&username) != Some(&password) {
                // passport-ldapauth's message for a failed bind.
                return Err(authentication_failure("Invalid username/password"));
            }
            if self.user(&username).is_none() {
                return Err(authentication_failure("Incorrect username."));
            }
            return Ok(LoginCheck::Ldap { username });
        }
        let hash = self.user(&username).and_then(|u| u.password.clone());
        Ok(LoginCheck::Password {
            username,
            password,
            hash,
        })
    }

    /// A token like the server's: `base64(header).base64(payload).base64(signature)`,
    /// standard base64 with padding; the signature is random.
    fn issue_token(&mut self, sub: &str, ttl_ms: i64) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let iat = now_ms();
        let exp = iat.saturating_add(ttl_ms);
        let sub_json = serde_json::to_string(sub).unwrap_or_else(|_| "\"\"".into());
        let header = b64.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#);
        let payload = b64.encode(format!(
            r#"{{"iss":"{INSTANCE_NAME}","sub":{sub_json},"exp":{exp},"iat":{iat}}}"#
        ));
        let signature: Vec<u8> = std::iter::repeat_with(|| fastrand::u8(..))
            .take(64)
            .collect();
        let token = format!("{header}.{payload}.{}", b64.encode(signature));
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                sub: sub.to_string(),
                exp,
            },
        );
        token
    }

    /// The token check (`login.js` `authToken`, `auth/token.js`).
    fn check_token(&mut self, token: &str) -> std::result::Result<Me, ApiErr> {
        // The query parser turns `+` into spaces; the server turns them back.
        let token: String = token
            .chars()
            .map(|c| if c.is_whitespace() { '+' } else { c })
            .collect();
        let bad = || authentication_failure("Bad API token");
        let issued = self.tokens.get(&token).ok_or_else(bad)?;
        if issued.exp < now_ms() {
            self.tokens.remove(&token);
            return Err(bad());
        }
        let user = self.user(&issued.sub).ok_or_else(bad)?;
        Ok(Me {
            username: user.username.clone(),
            site_spectator: user.site_spectator,
            site_manager: user.site_manager,
            site_admin: user.site_admin,
        })
    }

    /// GET and DELETE: `?token=`.
    fn authenticate_query(&mut self, query: &Query) -> std::result::Result<Me, ApiErr> {
        match query.get("token") {
            None | Some(QueryValue::One("")) => Err(authentication_failure("Missing credentials")),
            Some(QueryValue::One(token)) => self.check_token(token),
            Some(_) => Err(authentication_failure("Bad API token")),
        }
    }

    /// POST: the body's `auth` block (`authenticatedRequest.js`, in order).
    fn authenticate_body(&mut self, body: &Value) -> std::result::Result<Me, ApiErr> {
        let auth = body.get("auth");
        if !truthy(auth) {
            return Err(authentication_failure("Missing credentials"));
        }
        let auth = auth.unwrap_or(&Value::Null);
        let kind = auth.get("type");
        if !truthy(kind) {
            return Err(authentication_failure("Authentication type required"));
        }
        let kind = kind.unwrap_or(&Value::Null);
        if kind.as_str() != Some("token") {
            return Err(authentication_type_failure(&js_string(kind)));
        }
        if !truthy(auth.get("token")) {
            return Err(authentication_failure("Missing credentials"));
        }
        match str_field(auth, "token") {
            Some(token) => self.check_token(token),
            None => Err(authentication_failure("Bad API token")),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Times
// ------------------------------------------------------------------------------------------

impl Store {
    fn visible(&self, me: &Me, t: &TimeRow) -> bool {
        me.site_spectator
            || me.site_admin
            || t.user == me.username
            || self.roles_of(t.project, &me.username).spectator
    }

    /// `start`/`end` (`times.js:99-172`), the first error wins. Answers the
    /// inclusive range in epoch ms (`None`: open).
    fn date_range(query: &Query) -> std::result::Result<(Option<i64>, Option<i64>), ApiErr> {
        let start = query.get("start");
        let end = query.get("end");
        let present = |v: &Option<QueryValue<'_>>| v.as_ref().is_some_and(QueryValue::truthy);
        if !present(&start) && !present(&end) {
            return Ok((None, None));
        }
        let first = |v: &Option<QueryValue<'_>>| -> Option<String> {
            match v {
                Some(QueryValue::One(s)) if !s.is_empty() => Some((*s).to_string()),
                Some(QueryValue::Many(values)) => values.first().map(|s| (*s).to_string()),
                _ => None,
            }
        };
        let raw = |v: &Option<QueryValue<'_>>| v.as_ref().map(QueryValue::raw).unwrap_or_default();
        let (s, e) = (first(&start), first(&end));
        if s.as_deref().is_some_and(|s| !has_iso_date(s)) {
            return Err(bad_query_value("start", &raw(&start)));
        }
        if e.as_deref().is_some_and(|e| !has_iso_date(e)) {
            return Err(bad_query_value("end", &raw(&end)));
        }
        let s_ms = s.as_deref().and_then(parse_js_date);
        let e_ms = e.as_deref().and_then(parse_js_date);
        if let (Some(s), Some(e)) = (s_ms, e_ms)
            && s > e
        {
            return Err(bad_query_value("start", &raw(&start)));
        }
        if s_ms.is_some_and(|s| s > now_ms()) {
            return Err(bad_query_value("start", &raw(&start)));
        }
        // Server bug: with both dates, a start of 1970-01-01 (0 ms, falsy)
        // is refused; the sandbox accepts it.
        Ok((s_ms, e_ms))
    }

    /// `GET /times` and `GET /times/{uuid}`: the rows that pass every filter.
    fn matching_times(
        &self,
        me: &Me,
        query: &Query,
        uuid: Option<&str>,
        revisions: bool,
    ) -> std::result::Result<Vec<&TimeRow>, ApiErr> {
        let deleted = query.loose_flag("include_deleted");
        let (start, end) = Self::date_range(query)?;
        let users = match query.filter("user")? {
            Some((names, raw)) => {
                if !names.iter().any(|n| self.user(n).is_some()) {
                    return Err(bad_query_value("user", &raw));
                }
                Some(names)
            }
            None => None,
        };
        let projects = match query.filter("project")? {
            Some((slugs, raw)) => {
                let uuids: BTreeSet<Uuid> = slugs
                    .iter()
                    .filter_map(|s| self.slugs.get(s).copied())
                    .collect();
                if uuids.is_empty() {
                    return Err(bad_query_value("project", &raw));
                }
                Some(uuids)
            }
            None => None,
        };
        let activities = match query.filter("activity")? {
            Some((slugs, raw)) => {
                let ids: BTreeSet<usize> = self
                    .activities
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.slug.as_ref().is_some_and(|s| slugs.contains(s)))
                    .map(|(i, _)| i)
                    .collect();
                if ids.is_empty() {
                    return Err(bad_query_value("activity", &raw));
                }
                Some(ids)
            }
            None => None,
        };
        Ok(self
            .times
            .iter()
            .filter(|t| revisions || t.newest)
            .filter(|t| uuid.is_none_or(|u| t.uuid.to_string() == u))
            .filter(|t| self.visible(me, t))
            .filter(|t| deleted || t.deleted_at.is_none())
            .filter(|t| {
                let worked = date_ms(t.date_worked);
                start.is_none_or(|s| worked >= s) && end.is_none_or(|e| worked <= e)
            })
            .filter(|t| users.as_ref().is_none_or(|u| u.contains(&t.user)))
            .filter(|t| projects.as_ref().is_none_or(|p| p.contains(&t.project)))
            .filter(|t| {
                activities
                    .as_ref()
                    .is_none_or(|a| t.activities.iter().any(|i| a.contains(i)))
            })
            // The server's inner joins: a time whose project lost its slugs
            // (deleted) or that has no activities is never answered.
            .filter(|t| self.slugs.values().any(|u| *u == t.project) && !t.activities.is_empty())
            .collect())
    }

    fn list_times(&self, me: &Me, query: &Query) -> Outcome {
        let revisions = query.strict_flag("include_revisions");
        let rows = self.matching_times(me, query, None, revisions)?;
        let mut out = Vec::new();
        for newest in rows.iter().filter(|t| t.newest) {
            if !revisions {
                out.push(self.compile_time(newest, self.time_metadata(&[newest])));
                continue;
            }
            // In the list, an entry and its parents carry the union of the
            // metadata of all its revisions; parents are newest first.
            let mut same: Vec<&TimeRow> = rows
                .iter()
                .copied()
                .filter(|t| t.uuid == newest.uuid)
                .collect();
            same.sort_by_key(|t| std::cmp::Reverse(t.revision));
            let metadata = self.time_metadata(&same);
            let parents = same
                .iter()
                .filter(|t| !t.newest)
                .map(|t| self.compile_time(t, metadata.clone()))
                .collect();
            let mut entry = self.compile_time(newest, metadata);
            entry.parents = Some(parents);
            out.push(entry);
        }
        json(&out)
    }

    fn get_time(&self, me: &Me, id: &str, query: &Query) -> Outcome {
        if !valid_uuid(id) {
            return Err(invalid_identifier("UUID", id));
        }
        let revisions = query.strict_flag("include_revisions");
        let rows = self.matching_times(me, query, Some(id), revisions)?;
        let newest = rows
            .iter()
            .find(|t| t.newest)
            .ok_or_else(|| not_found("time"))?;
        let mut entry = self.compile_time(newest, self.time_metadata(&[newest]));
        if revisions {
            // Server bug: with a single revision the server crashes and never
            // answers; the sandbox answers an empty `parents`. Parents are
            // oldest first here, each with its own metadata.
            let mut older: Vec<&TimeRow> = rows.iter().copied().filter(|t| !t.newest).collect();
            older.sort_by_key(|t| t.revision);
            entry.parents = Some(
                older
                    .iter()
                    .map(|t| self.compile_time(t, self.time_metadata(&[t])))
                    .collect(),
            );
        }
        json(&entry)
    }

    /// The checks on `activities` shared by create and update (after the
    /// schema check, which makes it an array of strings).
    fn check_time_activities(object: &Value) -> std::result::Result<Option<Vec<String>>, ApiErr> {
        let Some(activities) = str_array(object, "activities") else {
            return Ok(None);
        };
        if activities.iter().any(|a| !valid_slug(a)) {
            return Err(invalid_field(
                "time",
                "activities",
                "slugs",
                "array containing at least 1 invalid slug",
            ));
        }
        if activities.is_empty() {
            // Server bug: an empty array stores an entry without activities,
            // which no GET answers; the spec declares minItems 1.
            return Err(invalid_field(
                "time",
                "activities",
                "array of slugs",
                "empty array",
            ));
        }
        Ok(Some(activities))
    }

    fn create_time(&mut self, me: &Me, object: &Value) -> Outcome {
        // `notes` is not checked by the server on creation.
        if let Some(problem) = schema_problem::<types::TimeCreate>(object, &["notes"]) {
            return Err(time_problem_error(problem, "number"));
        }
        let duration = object
            .get("duration")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        let project = str_field(object, "project").unwrap_or_default().to_string();
        let user = str_field(object, "user").unwrap_or_default().to_string();
        if !valid_slug(&project) {
            return Err(invalid_field(
                "time",
                "project",
                "slug",
                &format!("invalid slug {project}"),
            ));
        }
        let activities = Self::check_time_activities(object)?;
        let issue_uri = str_field(object, "issue_uri").map(str::to_string);
        if let Some(uri) = issue_uri
            .as_deref()
            .filter(|u| !u.is_empty() && !web_uri(u))
        {
            return Err(invalid_field(
                "time",
                "issue_uri",
                "URI",
                &format!("invalid URI {uri}"),
            ));
        }
        let raw_date = str_field(object, "date_worked").unwrap_or_default();
        let date_worked = parse_date_worked(raw_date)
            .ok_or_else(|| invalid_field("time", "date_worked", "ISO-8601 date", raw_date))?;
        if user != me.username {
            return Err(authorization_failure(
                me,
                &format!("create time entries for {user}"),
            ));
        }
        let project_uuid = self
            .slugs
            .get(&project)
            .copied()
            .ok_or_else(|| invalid_foreign_key("time", "project"))?;
        let activity_ids = match &activities {
            Some(slugs) => self
                .activity_ids(slugs)
                .ok_or_else(|| invalid_foreign_key("time", "activities"))?,
            None => {
                let default = self
                    .newest_project(project_uuid)
                    .and_then(|i| self.projects[i].default_activity)
                    .and_then(|u| self.newest_activity(u));
                vec![default.ok_or_else(|| missing_field("time", "activities"))?]
            }
        };
        if !me.site_admin && !self.roles_of(project_uuid, &me.username).member {
            return Err(authorization_failure(
                me,
                &format!("create time entries for project {project}."),
            ));
        }
        let now = now_ms();
        let uuid = Uuid::new_v4();
        self.times.push(TimeRow {
            duration,
            user,
            project: project_uuid,
            notes: str_field(object, "notes").map(str::to_string),
            issue_uri,
            date_worked,
            created_at: now,
            updated_at: None,
            deleted_at: None,
            uuid,
            revision: 1,
            newest: true,
            activities: activity_ids,
        });
        let mut answer = object.as_object().cloned().unwrap_or_default();
        answer.insert("uuid".into(), Value::String(uuid.to_string()));
        answer.insert("revision".into(), Value::from(1));
        answer.insert("created_at".into(), Value::String(day(now)));
        answer.insert("updated_at".into(), Value::Null);
        answer.insert("deleted_at".into(), Value::Null);
        html(&answer)
    }

    fn update_time(&mut self, me: &Me, id: &str, object: &Value) -> Outcome {
        if !valid_uuid(id) {
            return Err(invalid_identifier("UUID", id));
        }
        if let Some(key) = unknown_key::<types::TimeUpdate>(object) {
            return Err(unknown_field("time", &key));
        }
        // `duration: null` is read as 0, which keeps the old duration.
        if let Some(problem) = schema_problem::<types::TimeUpdate>(object, &["duration"]) {
            return Err(time_problem_error(problem, "integer"));
        }
        let activities = Self::check_time_activities(object)?;
        if let Some(uri) = str_field(object, "issue_uri").filter(|u| !web_uri(u)) {
            return Err(invalid_field(
                "time",
                "issue_uri",
                "URI",
                &format!("invalid URI {uri}"),
            ));
        }
        let date_worked = match str_field(object, "date_worked") {
            Some(raw) => Some(
                parse_date_worked(raw)
                    .ok_or_else(|| invalid_field("time", "date_worked", "ISO-8601 date", raw))?,
            ),
            None => None,
        };
        // The newest revision, deleted or not, whose project still has a slug.
        let index = self
            .times
            .iter()
            .rposition(|t| {
                t.newest && t.uuid.to_string() == id && self.slugs.values().any(|u| *u == t.project)
            })
            .ok_or_else(|| not_found("time"))?;
        let old = self.times[index].clone();
        if old.user != me.username && !me.site_admin {
            return Err(authorization_failure(
                me,
                &format!("create objects for {}", old.user),
            ));
        }
        let user = str_field(object, "user")
            .filter(|u| !u.is_empty())
            .unwrap_or(&old.user)
            .to_string();
        if self.user(&user).is_none() {
            return Err(invalid_foreign_key("time", "user"));
        }
        let project = match str_field(object, "project").filter(|p| !p.is_empty()) {
            Some(slug) if valid_slug(slug) => self.slugs.get(slug).copied(),
            Some(_) => None,
            None => Some(old.project),
        }
        .ok_or_else(|| invalid_foreign_key("time", "project"))?;
        let activity_ids = match &activities {
            Some(slugs) => self
                .activity_ids(slugs)
                .ok_or_else(|| invalid_foreign_key("time", "activities"))?,
            None => old.activities.clone(),
        };
        let keep = |key: &str, old: &Option<String>| {
            str_field(object, key)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| old.clone())
        };
        let new = TimeRow {
            duration: object
                .get("duration")
                .and_then(Value::as_u64)
                .filter(|d| *d != 0)
                .unwrap_or(old.duration),
            user,
            project,
            notes: keep("notes", &old.notes),
            issue_uri: keep("issue_uri", &old.issue_uri),
            date_worked: date_worked.unwrap_or(old.date_worked),
            created_at: old.created_at,
            updated_at: Some(now_ms()),
            // The new revision is not deleted (an update undeletes).
            deleted_at: None,
            uuid: old.uuid,
            revision: old.revision + 1,
            newest: true,
            activities: activity_ids,
        };
        for t in self.times.iter_mut().filter(|t| t.uuid == old.uuid) {
            t.newest = false;
        }
        // Server bug: the answer has `activities: []` unless activities were
        // sent, and names the previous owner; the sandbox answers the entry as
        // a GET would.
        let answer = self.compile_time(&new, self.time_metadata(&[&new]));
        self.times.push(new);
        json(&answer)
    }

    fn delete_time(&mut self, me: &Me, id: &str) -> Outcome {
        if !valid_uuid(id) {
            return Err(invalid_identifier("uuid", id));
        }
        let owner = self
            .times
            .iter()
            .rev()
            .find(|t| t.uuid.to_string() == id)
            .map(|t| t.user.clone())
            .ok_or_else(|| not_found("uuid"))?;
        if owner != me.username && !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, &format!("delete time {id}")));
        }
        let now = now_ms();
        // As on the server (its ORDER BY/LIMIT is dropped), every revision
        // gets the deletion date.
        for t in self.times.iter_mut().filter(|t| t.uuid.to_string() == id) {
            t.deleted_at = Some(now);
        }
        Ok(Answer::Empty)
    }
}

// ------------------------------------------------------------------------------------------
// Projects
// ------------------------------------------------------------------------------------------

impl Store {
    fn list_projects(&self, query: &Query) -> Outcome {
        let deleted = query.loose_flag("include_deleted");
        let revisions = query.strict_flag("include_revisions");
        let users = match query.filter("user")? {
            Some((names, raw)) => {
                if !names.iter().any(|n| self.user(n).is_some()) {
                    return Err(bad_query_value("user", &raw));
                }
                Some(names)
            }
            None => None,
        };
        let out: Vec<ProjectOut> = self
            .projects
            .iter()
            .filter(|p| p.newest && (deleted || p.deleted_at.is_none()))
            .filter(|p| {
                users.as_ref().is_none_or(|names| {
                    self.roles
                        .get(&p.uuid)
                        .is_some_and(|r| names.iter().any(|n| r.contains_key(n)))
                })
            })
            .map(|p| {
                let mut out = self.compile_project(p, true);
                if revisions {
                    out.parents = Some(self.project_parents(p.uuid, deleted));
                }
                out
            })
            .collect();
        json(&out)
    }

    /// Older revisions, newest first.
    fn project_parents(&self, uuid: Uuid, deleted: bool) -> Vec<ProjectOut> {
        let mut older: Vec<&ProjectRow> = self
            .projects
            .iter()
            .filter(|p| p.uuid == uuid && !p.newest && (deleted || p.deleted_at.is_none()))
            .collect();
        older.sort_by_key(|p| std::cmp::Reverse(p.revision));
        older
            .iter()
            .map(|p| self.compile_project(p, false))
            .collect()
    }

    fn get_project(&self, slug: &str, query: &Query) -> Outcome {
        if !lax_slug(slug) {
            return Err(invalid_identifier("slug", slug));
        }
        // Server bug: with include_revisions an unknown slug is answered 200
        // with an empty body; the sandbox answers 404 either way.
        let uuid = self
            .slugs
            .get(slug)
            .copied()
            .ok_or_else(|| not_found("project"))?;
        let index = self
            .newest_project(uuid)
            .ok_or_else(|| not_found("project"))?;
        let mut out = self.compile_project(&self.projects[index], true);
        if query.strict_flag("include_revisions") {
            out.parents = Some(self.project_parents(uuid, true));
        }
        json(&out)
    }

    fn create_project(&mut self, me: &Me, object: &Value) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, "create projects"));
        }
        if let Some(key) = unknown_key::<types::ProjectCreate>(object) {
            return Err(unknown_field("project", &key));
        }
        if let Some(problem) = schema_problem::<types::ProjectCreate>(object, &["default_activity"])
        {
            return Err(problem_error("project", problem, "number"));
        }
        let uri = str_field(object, "uri").filter(|u| !u.is_empty());
        if uri.is_some_and(|u| !web_uri(u)) {
            return Err(invalid_field("project", "uri", "uri", "non-uri string"));
        }
        let mut slugs = str_array(object, "slugs").unwrap_or_default();
        if slugs.iter().any(|s| !valid_slug(s)) {
            return Err(invalid_field(
                "project",
                "slugs",
                "slugs",
                "non-slug strings",
            ));
        }
        if slugs.is_empty() {
            // Server bug: an empty list creates a project no slug reaches.
            return Err(invalid_field(
                "project",
                "slugs",
                "array of slugs",
                "empty array",
            ));
        }
        let taken: Vec<String> = slugs
            .iter()
            .filter(|s| self.slugs.contains_key(*s))
            .cloned()
            .collect();
        if !taken.is_empty() {
            return Err(slugs_exist(taken));
        }
        let default_activity = match str_field(object, "default_activity").filter(|s| !s.is_empty())
        {
            Some(slug) => Some(
                self.activity_uuid(slug)
                    .ok_or_else(|| invalid_foreign_key("project", "activity"))?,
            ),
            None => None,
        };
        let name = str_field(object, "name").unwrap_or_default().to_string();
        if self.projects.iter().any(|p| p.name == name) {
            return Err(invalid_field(
                "project",
                "name",
                "unique name",
                "name which already exists",
            ));
        }
        let now = now_ms();
        let uuid = Uuid::new_v4();
        self.projects.push(ProjectRow {
            name,
            uri: uri.map(str::to_string),
            default_activity,
            uuid,
            revision: 1,
            newest: true,
            created_at: now,
            updated_at: None,
            deleted_at: None,
        });
        slugs.dedup();
        for slug in slugs {
            self.slugs.insert(slug, uuid);
        }
        let mut answer = object.as_object().cloned().unwrap_or_default();
        if let Some(users) = object.get("users").and_then(Value::as_object) {
            let kept = self.set_roles(uuid, users);
            answer.insert("users".into(), Value::Object(kept));
        }
        answer.insert("uuid".into(), Value::String(uuid.to_string()));
        answer.insert("created_at".into(), Value::String(day(now)));
        answer.insert("revision".into(), Value::from(1));
        answer.insert("updated_at".into(), Value::Null);
        answer.insert("deleted_at".into(), Value::Null);
        html(&answer)
    }

    /// Replaces a project's roles with `users` (after the schema check),
    /// skipping usernames that do not exist; answers the roles kept.
    fn set_roles(&mut self, uuid: Uuid, users: &Map<String, Value>) -> Map<String, Value> {
        let mut roles = BTreeMap::new();
        let mut kept = Map::new();
        for (username, value) in users {
            if self.user(username).is_none() {
                continue;
            }
            let flag = |k: &str| value.get(k).and_then(Value::as_bool).unwrap_or(false);
            roles.insert(
                username.clone(),
                Roles {
                    member: flag("member"),
                    spectator: flag("spectator"),
                    manager: flag("manager"),
                },
            );
            kept.insert(username.clone(), value.clone());
        }
        if roles.is_empty() {
            self.roles.remove(&uuid);
        } else {
            self.roles.insert(uuid, roles);
        }
        kept
    }

    fn update_project(&mut self, me: &Me, slug: &str, object: &Value) -> Outcome {
        if let Some(key) = unknown_key::<types::ProjectUpdate>(object) {
            return Err(unknown_field("project", &key));
        }
        if let Some(problem) = schema_problem::<types::ProjectUpdate>(object, &["default_activity"])
        {
            return Err(problem_error("project", problem, "number"));
        }
        let uri = str_field(object, "uri").filter(|u| !u.is_empty());
        if uri.is_some_and(|u| !web_uri(u)) {
            return Err(invalid_field("project", "uri", "uri", "string"));
        }
        let slugs = str_array(object, "slugs");
        if let Some(slugs) = &slugs {
            if slugs.iter().any(|s| !valid_slug(s)) {
                return Err(invalid_field(
                    "project",
                    "slugs",
                    "slugs",
                    "non-slug strings",
                ));
            }
            if slugs.is_empty() {
                return Err(invalid_field(
                    "project",
                    "slugs",
                    "array of slugs",
                    "empty array",
                ));
            }
        }
        let uuid = self
            .slugs
            .get(slug)
            .copied()
            .ok_or_else(|| not_found("project"))?;
        let index = self
            .newest_project(uuid)
            .ok_or_else(|| not_found("project"))?;
        let old = self.projects[index].clone();
        if !self.roles_of(uuid, &me.username).manager && !me.site_manager && !me.site_admin {
            return Err(authorization_failure(
                me,
                &format!("make changes to {}", old.name),
            ));
        }
        let default_activity = match object.get("default_activity") {
            Some(Value::Null) => None,
            Some(v) if truthy(Some(v)) => Some(
                v.as_str()
                    .and_then(|s| self.activity_uuid(s))
                    .ok_or_else(|| invalid_foreign_key("project", "activity"))?,
            ),
            _ => old.default_activity,
        };
        let name = str_field(object, "name").filter(|n| !n.is_empty());
        if let Some(name) = name.filter(|n| *n != old.name)
            && self.projects.iter().any(|p| p.name == name)
        {
            return Err(invalid_field(
                "project",
                "name",
                "unique name",
                "name which already exists",
            ));
        }
        if let Some(slugs) = &slugs {
            let taken: Vec<String> = slugs
                .iter()
                .filter(|s| self.slugs.get(*s).is_some_and(|u| *u != uuid))
                .cloned()
                .collect();
            if !taken.is_empty() {
                return Err(slugs_exist(taken));
            }
        }
        let new = ProjectRow {
            name: name.map_or(old.name.clone(), str::to_string),
            uri: uri.map(str::to_string).or(old.uri.clone()),
            default_activity,
            uuid,
            revision: old.revision + 1,
            newest: true,
            created_at: old.created_at,
            updated_at: Some(now_ms()),
            deleted_at: None,
        };
        self.projects[index].newest = false;
        self.projects.push(new);
        if let Some(users) = object.get("users").and_then(Value::as_object) {
            self.set_roles(uuid, users);
        }
        if let Some(slugs) = &slugs {
            self.slugs.retain(|_, u| *u != uuid);
            for s in slugs {
                self.slugs.insert(s.clone(), uuid);
            }
        }
        // Server bug: the answer echoes the sent `users` (unknown usernames
        // included) and shows the old default activity after `null`; the
        // sandbox answers the project as a GET would.
        let last = self.projects.len() - 1;
        let answer = self.compile_project(&self.projects[last], true);
        if slugs.is_some() {
            html(&answer)
        } else {
            json(&answer)
        }
    }

    fn delete_project(&mut self, me: &Me, slug: &str) -> Outcome {
        let uuid = self.slugs.get(slug).copied();
        // Server bug: it looks the caller's role up by the slug row's id
        // instead of the project's, so project managers are usually refused;
        // the sandbox lets them delete, as meant.
        let manager = uuid.is_some_and(|u| self.roles_of(u, &me.username).manager);
        if !manager && !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, &format!("delete project {slug}")));
        }
        if !valid_slug(slug) {
            return Err(invalid_identifier("slug", slug));
        }
        let uuid = uuid.ok_or_else(|| not_found("slug"))?;
        if self
            .times
            .iter()
            .any(|t| t.project == uuid && t.newest && t.deleted_at.is_none())
        {
            return Err(method_not_allowed("project"));
        }
        if let Some(i) = self.newest_project(uuid) {
            self.projects[i].deleted_at = Some(now_ms());
        }
        self.slugs.retain(|_, u| *u != uuid);
        self.roles.remove(&uuid);
        Ok(Answer::Empty)
    }
}

// ------------------------------------------------------------------------------------------
// Activities
// ------------------------------------------------------------------------------------------

impl Store {
    fn activity_parents(&self, a: &ActivityRow) -> Vec<ActivityOut> {
        self.activities
            .iter()
            .filter(|p| p.uuid == a.uuid && p.revision != a.revision)
            .map(compile_activity)
            .collect()
    }

    fn list_activities(&self, query: &Query) -> Outcome {
        let deleted = query.strict_flag("include_deleted");
        let revisions = query.strict_flag("include_revisions");
        let out: Vec<ActivityOut> = self
            .activities
            .iter()
            .filter(|a| a.newest && (deleted || a.deleted_at.is_none()))
            .map(|a| {
                let mut out = compile_activity(a);
                if revisions {
                    out.parents = Some(self.activity_parents(a));
                }
                out
            })
            .collect();
        json(&out)
    }

    fn get_activity(&self, slug: &str, query: &Query) -> Outcome {
        if !lax_slug(slug) {
            return Err(invalid_identifier("slug", slug));
        }
        // Server bug: with include_revisions an unknown slug is answered 200
        // with an empty body, and only revisions with the same slug are
        // parents; the sandbox answers 404 and every older revision.
        let a = self
            .activities
            .iter()
            .rev()
            .find(|a| a.newest && a.slug.as_deref() == Some(slug))
            .ok_or_else(|| not_found("activity"))?;
        let mut out = compile_activity(a);
        if query.strict_flag("include_revisions") {
            out.parents = Some(self.activity_parents(a));
        }
        json(&out)
    }

    fn create_activity(&mut self, me: &Me, object: &Value) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, "create activities"));
        }
        if let Some(key) = unknown_key::<types::ActivityCreate>(object) {
            return Err(unknown_field("activity", &key));
        }
        for field in ["name", "slug"] {
            if !truthy(object.get(field)) {
                return Err(missing_field("activity", field));
            }
        }
        if let Some(problem) = schema_problem::<types::ActivityCreate>(object, &[]) {
            return Err(problem_error("activity", problem, "number"));
        }
        let name = str_field(object, "name").unwrap_or_default().to_string();
        let slug = str_field(object, "slug").unwrap_or_default().to_string();
        if !valid_slug(&slug) {
            return Err(invalid_field("activity", "slug", "slug", "non-slug string"));
        }
        if self
            .activities
            .iter()
            .any(|a| a.slug.as_deref() == Some(slug.as_str()))
        {
            return Err(slugs_exist(vec![slug]));
        }
        if self.activities.iter().any(|a| a.name == name) {
            return Err(invalid_field(
                "activity",
                "name",
                "unique name",
                "name which already exists",
            ));
        }
        let now = now_ms();
        let uuid = Uuid::new_v4();
        self.activities.push(ActivityRow {
            name,
            slug: Some(slug),
            uuid,
            revision: 1,
            newest: true,
            created_at: now,
            updated_at: None,
            deleted_at: None,
        });
        let mut answer = object.as_object().cloned().unwrap_or_default();
        answer.insert("uuid".into(), Value::String(uuid.to_string()));
        answer.insert("revision".into(), Value::from(1));
        answer.insert("created_at".into(), Value::String(day(now)));
        answer.insert("updated_at".into(), Value::Null);
        answer.insert("deleted_at".into(), Value::Null);
        html(&answer)
    }

    fn update_activity(&mut self, me: &Me, slug: &str, object: &Value) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, "update activities"));
        }
        if let Some(key) = unknown_key::<types::ActivityUpdate>(object) {
            return Err(unknown_field("activity", &key));
        }
        if let Some(problem) = schema_problem::<types::ActivityUpdate>(object, &[]) {
            return Err(problem_error("activity", problem, "number"));
        }
        let name = str_field(object, "name");
        let new_slug = str_field(object, "slug");
        if name == Some("") {
            return Err(invalid_field("activity", "name", "string", "empty string"));
        }
        if new_slug == Some("") {
            return Err(invalid_field("activity", "slug", "slug", "empty string"));
        }
        if !valid_slug(slug) {
            return Err(invalid_identifier("slug", slug));
        }
        if let Some(s) = new_slug {
            if !valid_slug(s) {
                return Err(invalid_field(
                    "activity",
                    "slug",
                    "valid slug",
                    &format!("invalid slug {s}"),
                ));
            }
            if self.activities.iter().any(|a| a.slug.as_deref() == Some(s)) {
                return Err(slugs_exist(vec![s.to_string()]));
            }
        }
        if let Some(n) = name
            && self.activities.iter().any(|a| a.name == n)
        {
            return Err(invalid_field(
                "activity",
                "name",
                "unique name",
                "name which already exists",
            ));
        }
        // Server bug: it revises the first row with the path slug (usually
        // the oldest revision); the sandbox revises the newest one.
        let index = self
            .activities
            .iter()
            .rposition(|a| a.newest && a.slug.as_deref() == Some(slug))
            .ok_or_else(|| not_found("activity"))?;
        let old = self.activities[index].clone();
        let new = ActivityRow {
            name: name.map_or(old.name.clone(), str::to_string),
            slug: new_slug.map(str::to_string).or(old.slug.clone()),
            uuid: old.uuid,
            revision: old.revision + 1,
            newest: true,
            created_at: old.created_at,
            updated_at: Some(now_ms()),
            deleted_at: None,
        };
        self.activities[index].newest = false;
        let answer = ActivityUpdatedOut {
            name: new.name.clone(),
            slug: new.slug.clone(),
            uuid: new.uuid,
            revision: new.revision,
            updated_at: opt_day(new.updated_at),
            created_at: opt_day(Some(new.created_at)),
        };
        self.activities.push(new);
        json(&answer)
    }

    fn delete_activity(&mut self, me: &Me, slug: &str) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, "delete activities"));
        }
        if !valid_slug(slug) {
            return Err(invalid_identifier("slug", slug));
        }
        let uuid = self.activity_uuid(slug).ok_or_else(|| not_found("slug"))?;
        // Server bug: its "in use" query does not join the time, so it
        // answers 405 when any current time exists and any time ever used
        // the activity; the sandbox refuses only if a current time uses it.
        let in_use = self.times.iter().any(|t| {
            t.newest
                && t.deleted_at.is_none()
                && t.activities
                    .iter()
                    .any(|&i| self.activities.get(i).is_some_and(|a| a.uuid == uuid))
        });
        if in_use {
            return Err(method_not_allowed("activity"));
        }
        let now = now_ms();
        // Every revision loses its slug (the server only clears the rows
        // that have the current slug, so renamed revisions keep theirs).
        for a in self.activities.iter_mut().filter(|a| a.uuid == uuid) {
            a.deleted_at = Some(now);
            a.slug = None;
        }
        Ok(Answer::Empty)
    }
}

// ------------------------------------------------------------------------------------------
// Users
// ------------------------------------------------------------------------------------------

impl Store {
    fn list_users(&self, query: &Query) -> Outcome {
        let deleted = query.loose_flag("include_deleted");
        let out: Vec<UserOut> = self
            .users
            .iter()
            .filter(|u| deleted || u.deleted_at.is_none())
            .map(compile_user)
            .collect();
        json(&out)
    }

    fn get_user(&self, username: &str, query: &Query) -> Outcome {
        if !valid_username(username) {
            return Err(invalid_identifier("username", username));
        }
        let deleted = query.loose_flag("include_deleted");
        let user = self
            .user(username)
            .filter(|u| deleted || u.deleted_at.is_none())
            .ok_or_else(|| not_found("user"))?;
        json(&compile_user(user))
    }

    fn create_user(&mut self, me: &Me, object: &Value) -> Outcome {
        for field in ["username", "password"] {
            if !truthy(object.get(field)) {
                return Err(missing_field("user", field));
            }
        }
        for field in ["created_at", "updated_at", "deleted_at"] {
            if truthy(object.get(field)) {
                return Err(unknown_field("user", field));
            }
        }
        // Server bug: other unknown fields make its insert fail with 500.
        if let Some(key) = unknown_key::<types::UserCreate>(object) {
            return Err(unknown_field("user", &key));
        }
        if let Some(problem) = schema_problem::<types::UserCreate>(object, &[]) {
            return Err(problem_error("user", problem, "number"));
        }
        let username = str_field(object, "username")
            .unwrap_or_default()
            .to_string();
        if !valid_username(&username) {
            return Err(invalid_field(
                "user",
                "username",
                "valid username",
                "string",
            ));
        }
        let email = str_field(object, "email").filter(|e| !e.is_empty());
        if email.is_some_and(|e| !valid_email(e)) {
            return Err(invalid_field("user", "email", "valid email", "string"));
        }
        if !(me.site_admin && me.site_manager) {
            return Err(authorization_failure(me, "create users"));
        }
        if self.user(&username).is_some() {
            return Err(username_exists(&username));
        }
        let text = |key: &str| {
            str_field(object, key)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let flag = |key: &str| object.get(key).and_then(Value::as_bool);
        let now = now_ms();
        let row = UserRow {
            username: username.clone(),
            // Stored as sent: the client sends a bcrypt hash.
            password: text("password"),
            display_name: text("display_name"),
            email: text("email"),
            meta: text("meta"),
            site_spectator: flag("site_spectator").unwrap_or(false),
            site_manager: flag("site_manager").unwrap_or(false),
            site_admin: flag("site_admin").unwrap_or(false),
            active: flag("active").unwrap_or(true),
            created_at: now,
            updated_at: None,
            deleted_at: None,
        };
        let mut answer = object.as_object().cloned().unwrap_or_default();
        answer.remove("password");
        answer.insert("created_at".into(), Value::from(now));
        for key in ["display_name", "email", "meta"] {
            answer.insert(key.into(), text(key).map_or(Value::Null, Value::String));
        }
        answer.insert("updated_at".into(), Value::Null);
        answer.insert("deleted_at".into(), Value::Null);
        answer.insert("site_spectator".into(), Value::Bool(row.site_spectator));
        answer.insert("site_manager".into(), Value::Bool(row.site_manager));
        answer.insert("site_admin".into(), Value::Bool(row.site_admin));
        // Server bug: a falsy `active` is answered `true` though `false` is
        // stored; the sandbox answers what it stored.
        answer.insert("active".into(), Value::Bool(row.active));
        self.users.push(row);
        html(&answer)
    }

    fn update_user(&mut self, me: &Me, username: &str, object: &Value) -> Outcome {
        for field in ["created_at", "updated_at", "deleted_at", "username"] {
            if truthy(object.get(field)) {
                return Err(unknown_field("user", field));
            }
        }
        // Server bug: other unknown fields make its update fail with 500.
        if let Some(key) = unknown_key::<types::UserUpdate>(object) {
            return Err(unknown_field("user", &key));
        }
        if let Some(email) = object.get("email").filter(|e| truthy(Some(e)))
            && !email.as_str().is_some_and(valid_email)
        {
            return Err(invalid_field(
                "user",
                "email",
                "valid email",
                js_typeof(email),
            ));
        }
        if !(me.site_admin || me.site_manager || me.username == username) {
            return Err(authorization_failure(
                me,
                &format!("modify user {username}"),
            ));
        }
        let sent = |key: &str| truthy(object.get(key));
        if !me.site_admin
            && me.site_manager
            && [
                "display_name",
                "password",
                "site_manager",
                "site_admin",
                "active",
                "meta",
            ]
            .iter()
            .any(|k| sent(k))
        {
            return Err(authorization_failure(
                me,
                &format!("modify fields of user {username} other than site_spectator"),
            ));
        }
        if !me.site_admin && (sent("site_manager") || sent("site_admin")) {
            return Err(authorization_failure(
                me,
                &format!("set permissions of user {username}"),
            ));
        }
        if let Some(problem) = schema_problem::<types::UserUpdate>(object, &["email"]) {
            return Err(problem_error("user", problem, "number"));
        }
        let user = self.user_mut(username).ok_or_else(|| not_found("user"))?;
        let text = |key: &str| str_field(object, key).map(str::to_string);
        let flag = |key: &str| object.get(key).and_then(Value::as_bool);
        if let Some(v) = text("display_name") {
            user.display_name = Some(v);
        }
        if let Some(v) = text("password") {
            user.password = Some(v);
        }
        match object.get("email") {
            Some(Value::Null) => user.email = None,
            Some(Value::String(e)) => user.email = Some(e.clone()),
            _ => {}
        }
        if let Some(v) = text("meta") {
            user.meta = Some(v);
        }
        if let Some(v) = flag("site_spectator") {
            user.site_spectator = v;
        }
        if let Some(v) = flag("site_manager") {
            user.site_manager = v;
        }
        if let Some(v) = flag("site_admin") {
            user.site_admin = v;
        }
        if let Some(v) = flag("active") {
            user.active = v;
        }
        user.updated_at = Some(now_ms());
        // An update undeletes the user, as on the server.
        user.deleted_at = None;
        html(&compile_user(user))
    }

    fn delete_user(&mut self, me: &Me, username: &str) -> Outcome {
        if !valid_username(username) {
            return Err(invalid_identifier("username", username));
        }
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(me, "delete users"));
        }
        let user = self.user_mut(username).ok_or_else(|| not_found("user"))?;
        let now = now_ms();
        user.updated_at = Some(now);
        user.deleted_at = Some(now);
        Ok(Answer::Empty)
    }
}

// ------------------------------------------------------------------------------------------
// Routes
// ------------------------------------------------------------------------------------------

type St = State<Arc<Shared>>;

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v0/login", post(login))
        .route("/v0/times", get(list_times).post(create_time))
        .route(
            "/v0/times/{uuid}",
            get(get_time).post(update_time).delete(delete_time),
        )
        .route("/v0/projects", get(list_projects).post(create_project))
        .route(
            "/v0/projects/{slug}",
            get(get_project).post(update_project).delete(delete_project),
        )
        .route("/v0/activities", get(list_activities).post(create_activity))
        .route(
            "/v0/activities/{slug}",
            get(get_activity)
                .post(update_activity)
                .delete(delete_activity),
        )
        .route("/v0/users", get(list_users).post(create_user))
        .route(
            "/v0/users/{username}",
            get(get_user).post(update_user).delete(delete_user),
        )
        .fallback(express_not_found)
        .method_not_allowed_fallback(express_not_found)
        .with_state(shared)
}

/// Express's own 404 page for a route it does not know.
async fn express_not_found(shared: St, method: Method, uri: Uri) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot {method} {}</pre>\n</body>\n</html>\n",
        uri.path()
    );
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, HTML)], page).into_response()
}

async fn login(shared: St, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return respond(Err(e)),
    };
    let check = shared.with_state(|state| state.login_check(&body));
    let username = match check {
        Err(e) => return respond(Err(e)),
        Ok(LoginCheck::Ldap { username }) => username,
        Ok(LoginCheck::Password {
            username,
            password,
            hash,
        }) => {
            // bcrypt is slow by design: compare off the async threads and
            // without the lock.
            let matches = match hash {
                Some(hash) => tokio::task::spawn_blocking(move || {
                    bcrypt::verify(password, &hash).unwrap_or(false)
                })
                .await
                .unwrap_or(false),
                None => false,
            };
            if !matches {
                return respond(Err(authentication_failure(
                    "Incorrect username or password",
                )));
            }
            username
        }
    };
    let token = shared.with_state(|state| state.issue_token(&username, shared.token_ttl_ms));
    shared.logins.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%username, "timesync sandbox: logged in");
    let mut response = respond(html(&serde_json::json!({ "token": token })));
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache no-store must-validate max-age=0"),
    );
    headers.insert(
        header::EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:01 GMT"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn list_times(shared: St, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, query| state.list_times(me, query))
}

async fn get_time(shared: St, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, query| state.get_time(me, &id, query))
}

async fn create_time(shared: St, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| state.create_time(me, object))
}

async fn update_time(shared: St, Path(id): Path<String>, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| {
        state.update_time(me, &id, object)
    })
}

async fn delete_time(shared: St, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, _| state.delete_time(me, &id))
}

async fn list_projects(shared: St, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.list_projects(query))
}

async fn get_project(shared: St, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.get_project(&slug, query))
}

async fn create_project(shared: St, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| state.create_project(me, object))
}

async fn update_project(shared: St, Path(slug): Path<String>, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| {
        state.update_project(me, &slug, object)
    })
}

async fn delete_project(shared: St, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, _| state.delete_project(me, &slug))
}

async fn list_activities(shared: St, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.list_activities(query))
}

async fn get_activity(shared: St, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.get_activity(&slug, query))
}

async fn create_activity(shared: St, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| state.create_activity(me, object))
}

async fn update_activity(shared: St, Path(slug): Path<String>, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| {
        state.update_activity(me, &slug, object)
    })
}

async fn delete_activity(shared: St, Path(slug): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, _| state.delete_activity(me, &slug))
}

async fn list_users(shared: St, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.list_users(query))
}

async fn get_user(shared: St, Path(username): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, _, query| state.get_user(&username, query))
}

async fn create_user(shared: St, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| state.create_user(me, object))
}

async fn update_user(shared: St, Path(username): Path<String>, body: Bytes) -> Response {
    shared.body_request(&body, |state, me, object| {
        state.update_user(me, &username, object)
    })
}

async fn delete_user(shared: St, Path(username): Path<String>, RawQuery(q): RawQuery) -> Response {
    shared.query_request(q, |state, me, _| state.delete_user(me, &username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rule_matches_the_server() {
        for ok in ["a", "gwm", "1a", "1-a", "a-1", "web-dev-2", "0-0-x"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["", "1", "1-2", "-a", "a-", "a--b", "A", "a_b", "a b"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn email_rule_is_the_servers_pattern() {
        assert!(valid_email("guyn@example.com"));
        assert!(!valid_email("a@b.co"));
        assert!(!valid_email("not an email"));
    }

    #[test]
    fn query_values_follow_express() {
        let q = Query::parse(Some("user=a&user=b&start=&x[y]=1&p[]=z&token=a+b"));
        assert!(matches!(q.get("user"), Some(QueryValue::Many(v)) if v == ["a", "b"]));
        assert!(matches!(q.get("start"), Some(QueryValue::One(""))));
        assert!(matches!(q.get("x"), Some(QueryValue::Object)));
        assert!(matches!(q.get("p"), Some(QueryValue::Many(v)) if v == ["z"]));
        assert!(matches!(q.get("token"), Some(QueryValue::One("a b"))));
        assert!(q.loose_flag("user"));
        assert!(!q.strict_flag("user"));
    }

    #[test]
    fn schema_problems_use_the_servers_words() {
        let missing = serde_json::json!({"project": "p", "user": "a", "date_worked": "2020-01-01"});
        let text = |v: &Value| {
            schema_problem::<types::TimeCreate>(v, &["notes"])
                .map(|p| time_problem_error(p, "number").text)
        };
        assert_eq!(
            text(&missing).as_deref(),
            Some("The time is missing a duration")
        );
        let string = serde_json::json!({"duration": "3", "project": "p", "user": "a", "date_worked": "2020-01-01"});
        assert_eq!(
            text(&string).as_deref(),
            Some("Field duration of time should be number but was sent as string")
        );
        let negative = serde_json::json!({"duration": -3, "project": "p", "user": "a", "date_worked": "2020-01-01"});
        assert_eq!(
            text(&negative).as_deref(),
            Some(
                "Field duration of time should be positive number but was sent as negative number"
            )
        );
        let item = serde_json::json!({"duration": 3, "project": "p", "user": "a", "date_worked": "2020-01-01", "activities": [1]});
        assert_eq!(
            text(&item).as_deref(),
            Some(
                "Field activities of time should be slugs but was sent as array containing at least 1 number"
            )
        );
        let null = serde_json::json!({"duration": 3, "project": "p", "user": "a", "date_worked": "2020-01-01", "issue_uri": null, "notes": null});
        assert_eq!(
            text(&null).as_deref(),
            Some("Field issue_uri of time should be string but was sent as null")
        );
        let roles = serde_json::json!({"name": "x", "slugs": ["x"], "users": {"a": {"member": 1, "spectator": true, "manager": true}}});
        let p = schema_problem::<types::ProjectCreate>(&roles, &["default_activity"])
            .map(|p| problem_error("project", p, "number").text);
        assert_eq!(
            p.as_deref(),
            Some("Field users.a.member of project should be boolean but was sent as number")
        );
    }
}
