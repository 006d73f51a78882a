//! A stateful in-memory TimeSync server, for tours and tests.
//!
//! [`TimeSync`] answers the 21 operations of `spec/timesync.yaml` the way the
//! reference server `osuosl/timesync-node` does: the same routes under `/v0`,
//! the same check order, the same error bodies
//! (`{"status", "error", "text"[, "values"]}`), roles, soft deletion and
//! revisions. It is pymesync's "test mode that needs no server", done through
//! the real client over real HTTP. It runs on the sandbox
//! [`engine`]: routing comes from the spec's operation table,
//! and request objects are checked against the spec's schemas, each problem
//! answered in the server's own words and order (see `checks.rs`). Bodies
//! may be JSON or form-encoded (`auth[type]=password&...`), read as the
//! server's body parsers read them (form fields as Express's `qs` reads them:
//! `a[0]=x` and repeated keys make arrays; a body of any other type reads as
//! empty); a route the server does not have is answered with Express's own
//! 404 page. Durations are numbers of seconds, a fraction included, stored
//! and answered as sent. A project whose `users` name no existing user (or
//! none) fails with 500 and stores nothing, as on the server. A seeded
//! [`Role::Admin`] looks like the user the server's `create-account` script
//! makes.
//!
//! Where the reference server has a bug, the sandbox does what the code meant
//! (each case is marked `Server bug:` in the source); the differences are:
//!
//! - `GET /times/{uuid}?include_revisions=true` on an entry with one revision
//!   answers it with empty `parents` (on the server the request throws; on
//!   the Node.js versions in use today that ends the server process, so the
//!   connection closes without an answer and later requests are refused).
//! - The single-object GETs with `include_revisions` answer 404 for an unknown
//!   slug (the server answers 200 with an empty body).
//! - `POST /times/{uuid}` answers the entry as `GET` would, with its
//!   activities and new owner (the server answers `activities: []` and the
//!   previous owner).
//! - `POST /projects/{slug}` answers the project as `GET` would (the server
//!   echoes the sent `users` and, when the update cleared the default
//!   activity, still names the previous one). As on the server, an update
//!   that does not name a default activity clears it.
//! - `POST /users` answers the stored `active` flag (the server answers `true`
//!   when `false` was sent). It and `POST /users/{username}` refuse unknown
//!   fields with 400 where the server fails with 500: after every other
//!   check, as the server's failing database write comes last.
//! - `DELETE /projects/{slug}` lets the project's managers delete it (the
//!   server looks their role up by the wrong id); `DELETE /activities/{slug}`
//!   refuses (405) only when a current time entry uses the activity, and
//!   deletes every revision of it.
//! - `POST /activities/{slug}` revises the newest revision of the activity
//!   named by its current slug.
//! - An empty `activities` array (time entries) or `slugs` array (new
//!   projects) is refused with 400, as the spec's `minItems` says (creating
//!   with one, the server fails with 500 and stores nothing; updating a time
//!   entry with `activities: []`, it stores a revision without activities,
//!   which no GET shows, and answers its raw database row).
//! - An unknown login `type` is always refused (the server may reuse the
//!   strategy of an earlier request).
//! - A value the spec's schema refuses where the server has no check of its
//!   own (`notes` that are not a string on creation, roles in a project's
//!   `users` that are not booleans) is refused with the server's
//!   `Field .. should be ..` text.
//! - An update of a time entry ignores an infinite `duration` (`"Infinity"`),
//!   which the server would store and answer as `null`.
//!
//! Where the spec is stricter than the server, the sandbox takes what the
//! server takes, so that other clients (pymesync) see the server's answers:
//! query flags are read as the server reads them (`include_deleted` is true
//! for anything but `false`, `include_revisions` only for `true` or an empty
//! value; neither is ever refused), dates are found inside longer texts, an
//! empty project name or issue URI on creation is accepted, unknown fields of
//! a new time entry are echoed, an update's `duration` is whatever
//! JavaScript's `Number(..)` reads (`"2.5"`, `true`), and the slug GETs
//! check only for characters other than letters, digits, `-` and `_`.
//!
//! JSON answers have the keys of the spec's schemas (their order is not kept
//! for echoed objects).

mod activities;
mod checks;
mod errors;
mod js;
mod login;
mod projects;
mod store;
mod times;
mod users;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use self::checks::{valid_slug, valid_username};
use self::errors::{Outcome, express_not_found, missing_field, respond, server_error};
use self::js::{ExpressQuery, now_ms};
use self::login::read_body;
use self::store::{ActivityRow, Me, ProjectRow, Roles, Store, UserRow};
use super::engine::{self, Api, Call, Faults, Request, Response, Server};
use crate::runtime::Secret;
use crate::runtime::spec::ApiSpec;
use crate::runtime::validate::FormatCheck;
use crate::{Error, Result};

/// The default lifetime of a token, as on the reference server.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// The display name of the user the server's `create-account` script makes.
const ADMIN_DISPLAY_NAME: &str = "root";

/// The meta text of the user the server's `create-account` script makes.
const ADMIN_META: &str = "Root user. Created automatically. Use to create other users.";

/// bcrypt cost for the passwords of seeded users (fast; the hashes are only
/// ever checked by this sandbox).
const SEED_BCRYPT_COST: u32 = 4;

/// A user's site-wide role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `site_admin`, `site_manager` and `site_spectator`, display name `root`
    /// and the meta text `Root user. Created automatically. Use to create
    /// other users.`, like the first user the server's `create-account`
    /// script makes: may do everything, including creating users (which
    /// needs both `site_admin` and `site_manager`).
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
            Role::Admin => (true, true, true),
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
/// use specbound::timesync::{AuthType, Client, prelude::*, types::TimeCreate};
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
/// let created = ts.create_time().body(time).send().await?.into_inner();
/// let mine = ts.list_times().user(vec!["alice".to_string()]).send().await?;
/// assert_eq!(mine.len(), 1);
/// assert_eq!(server.login_count(), 1);
/// # let _ = created;
/// # Ok(()) }
/// ```
pub struct TimeSync {
    server: Server,
    sandbox: Arc<Sandbox>,
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
        self.sandbox.logins.load(Ordering::Relaxed)
    }

    /// How many requests reached the sandbox, unknown routes included
    /// (injected faults answered before them are not counted).
    pub fn request_count(&self) -> u64 {
        self.sandbox.requests.load(Ordering::Relaxed)
    }

    /// The faults to inject into the next requests (delays, error
    /// statuses, 429s, cut-off bodies), by operation id (`list_times`).
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The operations answered so far, in order.
    pub fn operations_served(&self) -> Vec<&'static str> {
        self.server.operations_served()
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
        let sandbox = Arc::new(Sandbox {
            state: Mutex::new(self.seed()?),
            logins: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            token_ttl_ms,
        });
        let server = engine::start(sandbox.clone()).await?;
        tracing::debug!(url = %server.root_url(), "timesync sandbox started");
        Ok(TimeSync { server, sandbox })
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
            let root = |text: &str| (seed.role == Role::Admin).then(|| text.to_string());
            state.users.push(UserRow {
                username: seed.username,
                password,
                display_name: root(ADMIN_DISPLAY_NAME),
                email: None,
                meta: root(ADMIN_META),
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

/// The sandbox behind the engine: the state and the counters.
struct Sandbox {
    state: Mutex<Store>,
    logins: AtomicU64,
    requests: AtomicU64,
    token_ttl_ms: i64,
}

impl Sandbox {
    /// Runs `f` on the state under its lock.
    fn with_state<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// A GET or DELETE: the caller from `?token=`, then `f`.
    fn query_request(
        &self,
        call: &Call,
        f: impl FnOnce(&mut Store, &Me, &ExpressQuery) -> Outcome,
    ) -> Response {
        let query = ExpressQuery::new(&call.request.query);
        respond(self.with_state(|state| {
            let me = state.authenticate_query(call, &query)?;
            f(state, &me, &query)
        }))
    }

    /// A POST: the caller from the body's `auth` block, then `f` on `object`.
    fn body_request(
        &self,
        call: &Call,
        f: impl FnOnce(&mut Store, &Me, &Value) -> Outcome,
    ) -> Response {
        respond(read_body(call).and_then(|body| {
            self.with_state(|state| {
                let me = state.authenticate_body(&body)?;
                // Without `object` the server's handler throws inside the token
                // check and answers 401 with `text: {}`; a plain 400 says more.
                let object = body
                    .get("object")
                    .ok_or_else(|| missing_field("request", "object"))?;
                f(state, &me, object)
            })
        }))
    }
}

impl Api for Sandbox {
    fn spec(&self) -> &'static ApiSpec {
        &crate::timesync::spec::API
    }

    fn base_path(&self) -> &str {
        "/v0"
    }

    fn formats(&self) -> &'static [(&'static str, FormatCheck)] {
        crate::timesync::PROFILE.formats
    }

    fn handle(&self, call: Call) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let call = &call;
        let (uuid, slug, username) = (
            call.param("uuid"),
            call.param("slug"),
            call.param("username"),
        );
        match call.op.id {
            "login" => self.login(call),
            "list_times" => self.query_request(call, |s, me, q| s.list_times(me, q)),
            "get_time" => self.query_request(call, |s, me, q| s.get_time(me, call, uuid, q)),
            "delete_time" => self.query_request(call, |s, me, _| s.delete_time(me, call, uuid)),
            "create_time" => self.body_request(call, |s, me, o| s.create_time(me, call, o)),
            "update_time" => self.body_request(call, |s, me, o| s.update_time(me, call, uuid, o)),
            "list_projects" => self.query_request(call, |s, _, q| s.list_projects(q)),
            "get_project" => self.query_request(call, |s, _, q| s.get_project(slug, q)),
            "delete_project" => {
                self.query_request(call, |s, me, _| s.delete_project(me, call, slug))
            }
            "create_project" => self.body_request(call, |s, me, o| s.create_project(me, call, o)),
            "update_project" => {
                self.body_request(call, |s, me, o| s.update_project(me, call, slug, o))
            }
            "list_activities" => self.query_request(call, |s, _, q| s.list_activities(q)),
            "get_activity" => self.query_request(call, |s, _, q| s.get_activity(slug, q)),
            "delete_activity" => {
                self.query_request(call, |s, me, _| s.delete_activity(me, call, slug))
            }
            "create_activity" => self.body_request(call, |s, me, o| s.create_activity(me, call, o)),
            "update_activity" => {
                self.body_request(call, |s, me, o| s.update_activity(me, call, slug, o))
            }
            "list_users" => self.query_request(call, |s, _, q| s.list_users(q)),
            "get_user" => self.query_request(call, |s, _, q| s.get_user(call, username, q)),
            "delete_user" => self.query_request(call, |s, me, _| s.delete_user(me, call, username)),
            "create_user" => self.body_request(call, |s, me, o| s.create_user(me, call, o)),
            "update_user" => {
                self.body_request(call, |s, me, o| s.update_user(me, call, username, o))
            }
            other => respond(Err(server_error(format!(
                "no handler for operation {other}"
            )))),
        }
    }

    fn unrouted(&self, request: &Request) -> Option<Response> {
        // Express routes are not strict about a trailing slash.
        let trimmed = request.path.strip_suffix('/').unwrap_or(&request.path);
        let routed = trimmed.strip_prefix(self.base_path()).is_some_and(|path| {
            self.spec()
                .operations
                .iter()
                .any(|op| op.method == request.method.as_str() && op.match_path(path).is_some())
        });
        if routed && trimmed.len() < request.path.len() {
            let mut again = request.clone();
            again.path = trimmed.to_string();
            return Some(engine::dispatch(self, again).1);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        Some(express_not_found(request))
    }
}
