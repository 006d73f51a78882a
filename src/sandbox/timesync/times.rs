//! Time entries (`times.js`): list, get, create, update (a new revision)
//! and soft delete, with the server's visibility rules and filters.

use std::collections::BTreeSet;

use serde_json::Value;
use uuid::Uuid;

use super::super::engine::Call;
use super::checks::{Fields, path_refused, valid_slug, valid_uuid};
use super::errors::{
    Answer, ApiErr, Outcome, authorization_failure, bad_query_value, created, invalid_field,
    invalid_foreign_key, invalid_identifier, json, missing_field, not_found, unknown_field,
};
use super::js::{
    ExpressQuery, QueryValue, date_ms, has_iso_date, js_number, now_ms, parse_date_worked,
    parse_js_date, str_array, str_field,
};
use super::store::{Me, Store, TimeRow};

/// The fields `create_time` checks for presence and type, in its order.
const CREATE_ORDER: &[&str] = &[
    "duration",
    "project",
    "user",
    "issue_uri",
    "activities",
    "date_worked",
];
/// The fields `update_time` checks for type, in its order.
const UPDATE_ORDER: &[&str] = &[
    "duration",
    "project",
    "activities",
    "user",
    "issue_uri",
    "date_worked",
    "notes",
];

impl Store {
    fn visible(&self, me: &Me, t: &TimeRow) -> bool {
        me.site_spectator
            || me.site_admin
            || t.user == me.username
            || self.roles_of(t.project, &me.username).spectator
    }

    /// `start`/`end` (`times.js:99-172`), the first error wins. Answers the
    /// inclusive range in epoch ms (`None`: open).
    fn date_range(query: &ExpressQuery) -> Result<(Option<i64>, Option<i64>), ApiErr> {
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

    /// The values of a filter (`user`, `project`, `activity`) and how the
    /// server prints them; `Ok(None)` when absent or empty.
    fn filter(query: &ExpressQuery, key: &str) -> Result<Option<(Vec<String>, String)>, ApiErr> {
        match query.get(key) {
            None | Some(QueryValue::One("")) => Ok(None),
            // The server never answers such a request; a 400 is kinder.
            Some(v @ QueryValue::Object) => Err(bad_query_value(key, &v.raw())),
            Some(QueryValue::One(s)) => Ok(Some((vec![s.to_string()], s.to_string()))),
            Some(QueryValue::Many(values)) => {
                let raw = values.join(",");
                Ok(Some((
                    values.into_iter().map(str::to_string).collect(),
                    raw,
                )))
            }
        }
    }

    /// `user` filter values, refused when none of them exists.
    pub(super) fn user_filter(&self, query: &ExpressQuery) -> Result<Option<Vec<String>>, ApiErr> {
        match Self::filter(query, "user")? {
            Some((names, raw)) => {
                if !names.iter().any(|n| self.user(n).is_some()) {
                    return Err(bad_query_value("user", &raw));
                }
                Ok(Some(names))
            }
            None => Ok(None),
        }
    }

    /// `GET /times` and `GET /times/{uuid}`: the rows that pass every filter.
    fn matching_times(
        &self,
        me: &Me,
        query: &ExpressQuery,
        uuid: Option<&str>,
        revisions: bool,
    ) -> Result<Vec<&TimeRow>, ApiErr> {
        let deleted = query.loose_flag("include_deleted");
        let (start, end) = Self::date_range(query)?;
        let users = self.user_filter(query)?;
        let projects = match Self::filter(query, "project")? {
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
        let activities = match Self::filter(query, "activity")? {
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
            .filter(|t| self.has_slug(t.project) && !t.activities.is_empty())
            .collect())
    }

    pub(super) fn list_times(&self, me: &Me, query: &ExpressQuery) -> Outcome {
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

    pub(super) fn get_time(&self, me: &Me, call: &Call, id: &str, query: &ExpressQuery) -> Outcome {
        if path_refused(call, "uuid") || !valid_uuid(id) {
            return Err(invalid_identifier("UUID", id));
        }
        let revisions = query.strict_flag("include_revisions");
        let rows = self.matching_times(me, query, Some(&id.to_ascii_lowercase()), revisions)?;
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

    pub(super) fn create_time(&mut self, me: &Me, call: &Call, object: &Value) -> Outcome {
        let fields = Fields::check(call, "TimeCreate", object);
        if let Some(e) = fields.shape_error("time", CREATE_ORDER) {
            return Err(e);
        }
        if fields.flaw("duration").is_some() {
            return Err(invalid_field(
                "time",
                "duration",
                "positive number",
                "negative number",
            ));
        }
        // Any number of seconds, a fraction included: the server stores it as sent.
        let duration = object
            .get("duration")
            .and_then(Value::as_f64)
            .unwrap_or_default();
        let project = str_field(object, "project").unwrap_or_default().to_string();
        let user = str_field(object, "user").unwrap_or_default().to_string();
        if fields.flaw("project").is_some() {
            return Err(invalid_field(
                "time",
                "project",
                "slug",
                &format!("invalid slug {project}"),
            ));
        }
        let activities = activities_check(&fields, object)?;
        // An empty URI is falsy: not checked, as on the server.
        let issue_uri = str_field(object, "issue_uri").map(str::to_string);
        if let Some(uri) = issue_uri.as_deref().filter(|u| !u.is_empty())
            && fields.flaw("issue_uri").is_some()
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
                &me.username,
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
                &me.username,
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
        created(object.as_object().cloned().unwrap_or_default(), uuid, now)
    }

    pub(super) fn update_time(
        &mut self,
        me: &Me,
        call: &Call,
        id: &str,
        object: &Value,
    ) -> Outcome {
        if path_refused(call, "uuid") || !valid_uuid(id) {
            return Err(invalid_identifier("UUID", id));
        }
        let mut object = object.clone();
        if let Some(duration) = object.get_mut("duration") {
            if duration.is_object() {
                return Err(invalid_field("time", "duration", "number", "object"));
            }
            // "Duration always ends up a string for some reason": the server
            // reads it with `Number(..)` ("90", "2.5", true, ["4"]). NaN, which
            // it then ignores as falsy, is 0 here; so is an infinite number
            // (the server would store it and answer `null`).
            let n = js_number(duration).filter(|n| n.is_finite()).unwrap_or(0.0);
            *duration = serde_json::Number::from_f64(n).map_or(Value::from(0), Value::Number);
        }
        let object = &object;
        let fields = Fields::check(call, "TimeUpdate", object);
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("time", key));
        }
        if let Some(e) = fields.shape_error("time", UPDATE_ORDER) {
            return Err(e);
        }
        if fields.flaw("duration").is_some() {
            return Err(invalid_field(
                "time",
                "duration",
                "positive integer",
                "negative integer",
            ));
        }
        let activities = activities_check(&fields, object)?;
        if let Some(uri) = str_field(object, "issue_uri")
            && fields.flaw("issue_uri").is_some()
        {
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
        let id = id.to_ascii_lowercase();
        // The newest revision, deleted or not, whose project still has a slug.
        let index = self
            .times
            .iter()
            .rposition(|t| t.newest && t.uuid.to_string() == id && self.has_slug(t.project))
            .ok_or_else(|| not_found("time"))?;
        let old = self.times[index].clone();
        if old.user != me.username && !me.site_admin {
            return Err(authorization_failure(
                &me.username,
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
                .and_then(Value::as_f64)
                .filter(|d| *d != 0.0)
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

    pub(super) fn delete_time(&mut self, me: &Me, call: &Call, id: &str) -> Outcome {
        if path_refused(call, "uuid") || !valid_uuid(id) {
            return Err(invalid_identifier("uuid", id));
        }
        let id = id.to_ascii_lowercase();
        let owner = self
            .times
            .iter()
            .rev()
            .find(|t| t.uuid.to_string() == id)
            .map(|t| t.user.clone())
            .ok_or_else(|| not_found("uuid"))?;
        if owner != me.username && !me.site_manager && !me.site_admin {
            return Err(authorization_failure(
                &me.username,
                &format!("delete time {id}"),
            ));
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

/// The checks of `activities` shared by create and update, after the type
/// checks: each item a string and a slug (the spec's item pattern), then
/// not empty (the spec's `minItems`; server bug: the server stores an entry
/// without activities, which no GET shows).
fn activities_check(fields: &Fields<'_>, object: &Value) -> Result<Option<Vec<String>>, ApiErr> {
    if let Some(v) = fields.flaw("activities") {
        let (expected, actual) = if v.path.is_empty() {
            ("array of slugs", "empty array".to_string())
        } else if matches!(
            v.problem,
            crate::runtime::validate::Problem::WrongType { .. }
        ) {
            (
                "slugs",
                format!(
                    "array containing at least 1 {}",
                    fields.type_at("activities", v)
                ),
            )
        } else {
            (
                "slugs",
                "array containing at least 1 invalid slug".to_string(),
            )
        };
        return Err(invalid_field("time", "activities", expected, &actual));
    }
    Ok(str_array(object, "activities"))
}
