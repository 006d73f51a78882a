//! Activities (`activities.js`): list, get, create, update (a new
//! revision) and soft delete.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::super::engine::Call;
use super::checks::{Fields, lax_slug, path_refused};
use super::errors::{
    Answer, Outcome, authorization_failure, created, invalid_field, invalid_identifier, json,
    method_not_allowed, missing_field, not_found, slugs_exist, unknown_field,
};
use super::js::{ExpressQuery, now_ms, opt_day, str_field, truthy};
use super::store::{ActivityOut, ActivityRow, Me, Store, compile_activity};

/// The answer of `update_activity` (no `deleted_at`).
#[derive(Serialize)]
struct ActivityUpdatedOut {
    name: String,
    slug: Option<String>,
    uuid: Uuid,
    revision: i64,
    updated_at: Option<String>,
    created_at: Option<String>,
}

impl Store {
    fn activity_parents(&self, a: &ActivityRow) -> Vec<ActivityOut> {
        self.activities
            .iter()
            .filter(|p| p.uuid == a.uuid && p.revision != a.revision)
            .map(compile_activity)
            .collect()
    }

    pub(super) fn list_activities(&self, query: &ExpressQuery) -> Outcome {
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

    pub(super) fn get_activity(&self, slug: &str, query: &ExpressQuery) -> Outcome {
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

    pub(super) fn create_activity(&mut self, me: &Me, call: &Call, object: &Value) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(&me.username, "create activities"));
        }
        let fields = Fields::check(call, "ActivityCreate", object);
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("activity", key));
        }
        for field in ["name", "slug"] {
            if !truthy(object.get(field)) {
                return Err(missing_field("activity", field));
            }
        }
        if let Some(e) = fields.shape_error("activity", &["name", "slug"]) {
            return Err(e);
        }
        if fields.flaw("slug").is_some() {
            return Err(invalid_field("activity", "slug", "slug", "non-slug string"));
        }
        let name = str_field(object, "name").unwrap_or_default().to_string();
        let slug = str_field(object, "slug").unwrap_or_default().to_string();
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
        created(object.as_object().cloned().unwrap_or_default(), uuid, now)
    }

    pub(super) fn update_activity(
        &mut self,
        me: &Me,
        call: &Call,
        slug: &str,
        object: &Value,
    ) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(&me.username, "update activities"));
        }
        let fields = Fields::check(call, "ActivityUpdate", object);
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("activity", key));
        }
        if let Some(e) = fields.shape_error("activity", &["name", "slug"]) {
            return Err(e);
        }
        let name = str_field(object, "name");
        let new_slug = str_field(object, "slug");
        // The spec's `minLength` on the name; an empty slug breaks its pattern.
        if fields.flaw("name").is_some() {
            return Err(invalid_field("activity", "name", "string", "empty string"));
        }
        if new_slug == Some("") {
            return Err(invalid_field("activity", "slug", "slug", "empty string"));
        }
        if path_refused(call, "slug") {
            return Err(invalid_identifier("slug", slug));
        }
        if let Some(s) = new_slug {
            if fields.flaw("slug").is_some() {
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

    pub(super) fn delete_activity(&mut self, me: &Me, call: &Call, slug: &str) -> Outcome {
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(&me.username, "delete activities"));
        }
        if path_refused(call, "slug") {
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
