//! The sandbox's state: the rows the reference server keeps in its
//! database (every revision of times, projects and activities; users;
//! project slugs and roles; issued tokens), the lookups over them, and the
//! answer shapes the server compiles from them (its key order).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::js::{opt_day, serialize_js_number};

/// Everything the sandbox stores.
#[derive(Default)]
pub(super) struct Store {
    pub(super) users: Vec<UserRow>,
    /// The fake LDAP directory: username → clear-text password.
    pub(super) ldap: HashMap<String, String>,
    pub(super) ldap_enabled: bool,
    /// Every revision of every activity; the index is the row id.
    pub(super) activities: Vec<ActivityRow>,
    /// Every revision of every project.
    pub(super) projects: Vec<ProjectRow>,
    /// Project slugs; they always belong to the project's newest revision.
    pub(super) slugs: BTreeMap<String, Uuid>,
    /// Project roles by project UUID, then username (they move to each new
    /// revision, as on the server).
    pub(super) roles: HashMap<Uuid, BTreeMap<String, Roles>>,
    /// Every revision of every time entry.
    pub(super) times: Vec<TimeRow>,
    pub(super) tokens: HashMap<String, IssuedToken>,
}

/// A token the sandbox issued.
pub(super) struct IssuedToken {
    pub(super) sub: String,
    pub(super) exp: i64,
}

#[derive(Clone)]
pub(super) struct UserRow {
    pub(super) username: String,
    /// The bcrypt hash; `None` for LDAP users.
    pub(super) password: Option<String>,
    pub(super) display_name: Option<String>,
    pub(super) email: Option<String>,
    pub(super) meta: Option<String>,
    pub(super) site_spectator: bool,
    pub(super) site_manager: bool,
    pub(super) site_admin: bool,
    pub(super) active: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: Option<i64>,
    pub(super) deleted_at: Option<i64>,
}

#[derive(Clone)]
pub(super) struct ActivityRow {
    pub(super) name: String,
    /// `None` once deleted.
    pub(super) slug: Option<String>,
    pub(super) uuid: Uuid,
    pub(super) revision: i64,
    pub(super) newest: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: Option<i64>,
    pub(super) deleted_at: Option<i64>,
}

#[derive(Clone)]
pub(super) struct ProjectRow {
    pub(super) name: String,
    pub(super) uri: Option<String>,
    /// The default activity's UUID.
    pub(super) default_activity: Option<Uuid>,
    pub(super) uuid: Uuid,
    pub(super) revision: i64,
    pub(super) newest: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: Option<i64>,
    pub(super) deleted_at: Option<i64>,
}

#[derive(Clone)]
pub(super) struct TimeRow {
    /// Seconds, as sent (a fraction included).
    pub(super) duration: f64,
    /// The username (usernames never change).
    pub(super) user: String,
    /// The project's UUID.
    pub(super) project: Uuid,
    pub(super) notes: Option<String>,
    pub(super) issue_uri: Option<String>,
    pub(super) date_worked: NaiveDate,
    pub(super) created_at: i64,
    pub(super) updated_at: Option<i64>,
    pub(super) deleted_at: Option<i64>,
    pub(super) uuid: Uuid,
    pub(super) revision: i64,
    pub(super) newest: bool,
    /// Activity row ids (`timesactivities`).
    pub(super) activities: Vec<usize>,
}

/// One user's roles on a project.
#[derive(Clone, Copy, Default, Serialize)]
pub(super) struct Roles {
    pub(super) member: bool,
    pub(super) spectator: bool,
    pub(super) manager: bool,
}

/// The authenticated user.
pub(super) struct Me {
    pub(super) username: String,
    pub(super) site_spectator: bool,
    pub(super) site_manager: bool,
    pub(super) site_admin: bool,
}

// ------------------------------------------------------------------ answer shapes

/// A time entry (`compileTime`).
#[derive(Serialize)]
pub(super) struct TimeOut {
    #[serde(serialize_with = "serialize_js_number")]
    duration: f64,
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
    pub(super) parents: Option<Vec<TimeOut>>,
}

/// A project (`constructProject`).
#[derive(Serialize)]
pub(super) struct ProjectOut {
    pub(super) name: String,
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
    pub(super) parents: Option<Vec<ProjectOut>>,
}

/// An activity.
#[derive(Serialize)]
pub(super) struct ActivityOut {
    name: String,
    slug: Option<String>,
    uuid: Uuid,
    revision: i64,
    created_at: Option<String>,
    deleted_at: Option<String>,
    updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) parents: Option<Vec<ActivityOut>>,
}

/// A user, without the password.
#[derive(Serialize)]
pub(super) struct UserOut {
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

pub(super) fn compile_user(u: &UserRow) -> UserOut {
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

pub(super) fn compile_activity(a: &ActivityRow) -> ActivityOut {
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

// ------------------------------------------------------------------ lookups

impl Store {
    pub(super) fn user(&self, username: &str) -> Option<&UserRow> {
        self.users.iter().find(|u| u.username == username)
    }

    pub(super) fn user_mut(&mut self, username: &str) -> Option<&mut UserRow> {
        self.users.iter_mut().find(|u| u.username == username)
    }

    /// The sorted slugs of a project (none once it is deleted).
    pub(super) fn project_slugs(&self, uuid: Uuid) -> Vec<String> {
        self.slugs
            .iter()
            .filter(|(_, u)| **u == uuid)
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Whether the project still has a slug (is not deleted).
    pub(super) fn has_slug(&self, uuid: Uuid) -> bool {
        self.slugs.values().any(|u| *u == uuid)
    }

    pub(super) fn newest_project(&self, uuid: Uuid) -> Option<usize> {
        self.projects
            .iter()
            .rposition(|p| p.uuid == uuid && p.newest)
    }

    /// The newest row of an activity.
    pub(super) fn newest_activity(&self, uuid: Uuid) -> Option<usize> {
        self.activities
            .iter()
            .rposition(|a| a.uuid == uuid && a.newest)
    }

    /// Ids of every activity row with one of `slugs`; `None` if one of the
    /// slugs has no row (`helpers.checkActivities`).
    pub(super) fn activity_ids(&self, slugs: &[String]) -> Option<Vec<usize>> {
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
    pub(super) fn activity_uuid(&self, slug: &str) -> Option<Uuid> {
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

    pub(super) fn roles_of(&self, project: Uuid, username: &str) -> Roles {
        self.roles
            .get(&project)
            .and_then(|r| r.get(username))
            .copied()
            .unwrap_or_default()
    }

    /// A project as answered; `current` adds its slugs and users (older
    /// revisions have neither).
    pub(super) fn compile_project(&self, p: &ProjectRow, current: bool) -> ProjectOut {
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

    /// The project slugs and activity slugs of time rows (`timesMetadata`).
    pub(super) fn time_metadata(&self, rows: &[&TimeRow]) -> (Vec<String>, Vec<String>) {
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

    /// A time entry as answered, with the given project and activity slugs.
    pub(super) fn compile_time(
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
