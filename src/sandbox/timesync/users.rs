//! Users (`users.js`): list, get, create, update in place and soft delete,
//! with the server's permission rules for each field.

use serde_json::Value;

use super::super::engine::Call;
use super::checks::{Fields, path_refused, valid_email};
use super::errors::{
    Answer, Outcome, authorization_failure, html, invalid_field, invalid_identifier, json,
    missing_field, not_found, unknown_field, username_exists,
};
use super::js::{ExpressQuery, js_typeof, now_ms, str_field, truthy};
use super::store::{Me, Store, UserOut, UserRow, compile_user};

/// The fields `create_user` checks for presence and type, in its order.
const CREATE_ORDER: &[&str] = &[
    "username",
    "display_name",
    "password",
    "email",
    "site_spectator",
    "site_manager",
    "site_admin",
    "active",
    "meta",
];
/// The fields `update_user` checks for type, in its order.
const UPDATE_ORDER: &[&str] = &[
    "display_name",
    "password",
    "site_spectator",
    "site_manager",
    "site_admin",
    "active",
    "meta",
];

impl Store {
    pub(super) fn list_users(&self, query: &ExpressQuery) -> Outcome {
        let deleted = query.loose_flag("include_deleted");
        let out: Vec<UserOut> = self
            .users
            .iter()
            .filter(|u| deleted || u.deleted_at.is_none())
            .map(compile_user)
            .collect();
        json(&out)
    }

    pub(super) fn get_user(&self, call: &Call, username: &str, query: &ExpressQuery) -> Outcome {
        if path_refused(call, "username") {
            return Err(invalid_identifier("username", username));
        }
        let deleted = query.loose_flag("include_deleted");
        let user = self
            .user(username)
            .filter(|u| deleted || u.deleted_at.is_none())
            .ok_or_else(|| not_found("user"))?;
        json(&compile_user(user))
    }

    pub(super) fn create_user(&mut self, me: &Me, call: &Call, object: &Value) -> Outcome {
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
        let fields = Fields::check(call, "UserCreate", object);
        if let Some(e) = fields.shape_error("user", CREATE_ORDER) {
            return Err(e);
        }
        if fields.flaw("username").is_some() {
            return Err(invalid_field(
                "user",
                "username",
                "valid username",
                "string",
            ));
        }
        let username = str_field(object, "username")
            .unwrap_or_default()
            .to_string();
        let email = str_field(object, "email").filter(|e| !e.is_empty());
        if email.is_some_and(|e| !valid_email(e)) {
            return Err(invalid_field("user", "email", "valid email", "string"));
        }
        if !(me.site_admin && me.site_manager) {
            return Err(authorization_failure(&me.username, "create users"));
        }
        if self.user(&username).is_some() {
            return Err(username_exists(&username));
        }
        // Server bug: other unknown fields make its insert fail with 500,
        // after every check above; the sandbox refuses them there with 400.
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("user", key));
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

    pub(super) fn update_user(
        &mut self,
        me: &Me,
        call: &Call,
        username: &str,
        object: &Value,
    ) -> Outcome {
        for field in ["created_at", "updated_at", "deleted_at", "username"] {
            if truthy(object.get(field)) {
                return Err(unknown_field("user", field));
            }
        }
        let fields = Fields::check(call, "UserUpdate", object);
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
                &me.username,
                &format!("modify user {username}"),
            ));
        }
        let sent = |key: &str| truthy(object.get(key));
        let others = [
            "display_name",
            "password",
            "site_manager",
            "site_admin",
            "active",
            "meta",
        ];
        if !me.site_admin && me.site_manager && others.iter().any(|k| sent(k)) {
            return Err(authorization_failure(
                &me.username,
                &format!("modify fields of user {username} other than site_spectator"),
            ));
        }
        if !me.site_admin && (sent("site_manager") || sent("site_admin")) {
            return Err(authorization_failure(
                &me.username,
                &format!("set permissions of user {username}"),
            ));
        }
        if let Some(e) = fields.shape_error("user", UPDATE_ORDER) {
            return Err(e);
        }
        if self.user(username).is_none() {
            return Err(not_found("user"));
        }
        // Server bug: other unknown fields make its update fail with 500,
        // after every check above; the sandbox refuses them there with 400.
        if let Some(key) = fields.unknown() {
            return Err(unknown_field("user", key));
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

    pub(super) fn delete_user(&mut self, me: &Me, call: &Call, username: &str) -> Outcome {
        if path_refused(call, "username") {
            return Err(invalid_identifier("username", username));
        }
        if !me.site_manager && !me.site_admin {
            return Err(authorization_failure(&me.username, "delete users"));
        }
        let user = self.user_mut(username).ok_or_else(|| not_found("user"))?;
        let now = now_ms();
        user.updated_at = Some(now);
        user.deleted_at = Some(now);
        Ok(Answer::Empty)
    }
}
