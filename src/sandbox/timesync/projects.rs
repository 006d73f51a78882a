//! Projects (`projects.js`): list, get, create, update (a new revision)
//! and soft delete, with slugs and per-user roles.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::super::engine::Call;
use super::checks::{Fields, lax_slug, path_refused, valid_slug};
use super::errors::{
    Answer, ApiErr, Outcome, authorization_failure, created, html, invalid_field,
    invalid_foreign_key, invalid_identifier, json, method_not_allowed, not_found, server_error,
    slugs_exist, unknown_field,
};
use super::js::{ExpressQuery, now_ms, str_array, str_field, truthy};
use super::store::{Me, ProjectOut, ProjectRow, Roles, Store};

/// The fields the server checks for presence and type, in its order.
const FIELD_ORDER: &[&str] = &["name", "uri", "slugs", "users", "default_activity"];

impl Store {
    pub(super) fn list_projects(&self, query: &ExpressQuery) -> Outcome {
        let deleted = query.loose_flag("include_deleted");
        let revisions = query.strict_flag("include_revisions");
        let users = self.user_filter(query)?;
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

    pub(super) fn get_project(&self, slug: &str, query: &ExpressQuery) -> Outcome {
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

    /// The checks shared by create and update, after the permission (create)
    /// and in the server's order: unknown fields, types (`default_activity`
    /// may be null), the URI (`uri_sent_as` names it in the error) and the
    /// slugs. Answers the slugs, if sent.
    fn project_checks(
        call: &Call,
        schema: &str,
        object: &Value,
        uri_sent_as: &str,
    ) -> Result<Option<Vec<String>>, ApiErr> {
        let fields = Fields::check(call, schema, object);
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("project", key));
        }
        if let Some(e) = fields.shape_error("project", FIELD_ORDER) {
            return Err(e);
        }
        // An empty URI is falsy: not checked, as on the server.
        if str_field(object, "uri").is_some_and(|u| !u.is_empty()) && fields.flaw("uri").is_some() {
            return Err(invalid_field("project", "uri", "uri", uri_sent_as));
        }
        if let Some(v) = fields.flaw("slugs") {
            // `minItems` (an empty list; server bug on create: it makes a
            // project no slug reaches), else an item that is not a slug.
            return Err(if v.path.is_empty() {
                invalid_field("project", "slugs", "array of slugs", "empty array")
            } else {
                invalid_field("project", "slugs", "slugs", "non-slug strings")
            });
        }
        Ok(str_array(object, "slugs"))
    }

    pub(super) fn create_project(&mut self, me: &Me, call: &Call, object: &Value) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(&me.username, "create projects"));
        }
        let mut slugs = Self::project_checks(call, "ProjectCreate", object, "non-uri string")?
            .unwrap_or_default();
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
        let users = object.get("users").and_then(Value::as_object);
        self.some_user_exists(users)?;
        let uri = str_field(object, "uri").filter(|u| !u.is_empty());
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
        if let Some(users) = users {
            let kept = self.set_roles(uuid, users);
            answer.insert("users".into(), Value::Object(kept));
        }
        created(answer, uuid, now)
    }

    /// The last check of a create or update with `users`: the server skips
    /// usernames that do not exist, but when none exists (or `users` is
    /// empty) its insert of no roles fails, and it answers 500 having stored
    /// nothing (an empty insert is an error on its SQLite database).
    fn some_user_exists(&self, users: Option<&Map<String, Value>>) -> Result<(), ApiErr> {
        match users {
            Some(users) if !users.keys().any(|u| self.user(u).is_some()) => Err(server_error(
                "the project's users name no existing user: the server's empty insert fails",
            )),
            _ => Ok(()),
        }
    }

    /// Replaces a project's roles with `users` (after the type checks and
    /// [`Store::some_user_exists`]), skipping usernames that do not exist;
    /// answers the roles kept.
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
        self.roles.insert(uuid, roles);
        kept
    }

    pub(super) fn update_project(
        &mut self,
        me: &Me,
        call: &Call,
        slug: &str,
        object: &Value,
    ) -> Outcome {
        let slugs = Self::project_checks(call, "ProjectUpdate", object, "string")?;
        // The path slug is not checked here: an unknown one is a 404.
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
                &me.username,
                &format!("make changes to {}", old.name),
            ));
        }
        // As on the server, an update that names no default activity clears
        // it: `null`, and also an absent (or empty) `default_activity`, since
        // the server carries over a column it never read.
        let default_activity = match object.get("default_activity") {
            Some(v) if truthy(Some(v)) => Some(
                v.as_str()
                    .and_then(|s| self.activity_uuid(s))
                    .ok_or_else(|| invalid_foreign_key("project", "activity"))?,
            ),
            _ => None,
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
        let users = object.get("users").and_then(Value::as_object);
        self.some_user_exists(users)?;
        let uri = str_field(object, "uri").filter(|u| !u.is_empty());
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
        if let Some(users) = users {
            self.set_roles(uuid, users);
        }
        if let Some(slugs) = &slugs {
            self.slugs.retain(|_, u| *u != uuid);
            for s in slugs {
                self.slugs.insert(s.clone(), uuid);
            }
        }
        // Server bug: the answer echoes the sent `users` (unknown usernames
        // included) and names the previous default activity when the update
        // cleared it; the sandbox answers the project as a GET would.
        let last = self.projects.len() - 1;
        let answer = self.compile_project(&self.projects[last], true);
        if slugs.is_some() {
            html(&answer)
        } else {
            json(&answer)
        }
    }

    pub(super) fn delete_project(&mut self, me: &Me, call: &Call, slug: &str) -> Outcome {
        let uuid = self.slugs.get(slug).copied();
        // Server bug: it looks the caller's role up by the slug row's id
        // instead of the project's, so project managers are usually refused;
        // the sandbox lets them delete, as meant.
        let manager = uuid.is_some_and(|u| self.roles_of(u, &me.username).manager);
        if !manager && !me.site_manager && !me.site_admin {
            return Err(authorization_failure(
                &me.username,
                &format!("delete project {slug}"),
            ));
        }
        if path_refused(call, "slug") || !valid_slug(slug) {
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
