//! Users, organizations and groups: create, show, update, delete, the
//! lists (both paging styles), show many, search by name or external id,
//! the current user; and the single-record code every bulk job runs
//! ([`Store::create_any`], [`Store::update_any`], [`Store::delete_any`]).
//!
//! A user needs a `name` (422 `BlankValue`), an email used by no other user
//! (422 `DuplicateValue`) and a role of `end-user`, `agent` or `admin`; an
//! organization a `name` no other has. Deleting a user keeps it inactive
//! (200 with the user, as Zendesk answers); organizations and groups go
//! (204).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok, record_invalid};
use super::paging;
use super::store::{
    Caller, Ctx, Kind, Store, group_record, merge, now, organization_record, stamp, user_record,
};

/// User fields taken from the input as they are.
const USER_FIELDS: [&str; 18] = [
    "alias",
    "details",
    "notes",
    "phone",
    "external_id",
    "organization_id",
    "time_zone",
    "locale",
    "locale_id",
    "verified",
    "signature",
    "moderator",
    "ticket_restriction",
    "only_private_comments",
    "restricted_agent",
    "suspended",
    "default_group_id",
    "user_fields",
];

/// Organization fields taken from the input as they are.
const ORGANIZATION_FIELDS: [&str; 8] = [
    "details",
    "notes",
    "external_id",
    "group_id",
    "shared_tickets",
    "shared_comments",
    "domain_names",
    "organization_fields",
];

/// Group fields taken from the input as they are.
const GROUP_FIELDS: [&str; 3] = ["description", "is_public", "default"];

const ROLES: [&str; 3] = ["end-user", "agent", "admin"];

impl Store {
    /// Creates a record of `kind` from `input`; its id.
    pub(super) fn create_any(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        kind: Kind,
        input: &Value,
        id: Option<u64>,
    ) -> Result<u64, ZdErr> {
        if kind == Kind::Ticket {
            let (ticket, _) = self.create_ticket_record(ctx, caller, input, id)?;
            return Ok(ticket["id"].as_u64().unwrap_or(0));
        }
        let fields = input.as_object().cloned().unwrap_or_default();
        let name = fields
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(record_invalid(
                "name",
                "BlankValue",
                "Name: is too short (minimum one character)",
            ));
        }
        let at = now();
        let id = self.next_id();
        let record = match kind {
            Kind::User => {
                let email = fields.get("email").and_then(Value::as_str);
                self.check_user(None, &fields)?;
                let role = fields
                    .get("role")
                    .and_then(Value::as_str)
                    .unwrap_or("end-user");
                let mut user = user_record(ctx.root, id, &name, email, role, at);
                merge(&mut user, &fields, &USER_FIELDS);
                set_tags(&mut user, &fields);
                user
            }
            Kind::Organization => {
                self.check_organization(None, &name)?;
                let mut org = organization_record(ctx.root, id, &name, &[], at);
                merge(&mut org, &fields, &ORGANIZATION_FIELDS);
                set_tags(&mut org, &fields);
                org
            }
            Kind::Group | Kind::Ticket => {
                let mut group = group_record(ctx.root, id, &name, at);
                merge(&mut group, &fields, &GROUP_FIELDS);
                group
            }
        };
        self.records_mut(kind).insert(id, record);
        Ok(id)
    }

    /// Applies `input` to record `id` of `kind`.
    pub(super) fn update_any(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        kind: Kind,
        id: u64,
        input: &Value,
    ) -> Result<(), ZdErr> {
        if kind == Kind::Ticket {
            return self
                .update_ticket_record(ctx, caller, id, input)
                .map(|_| ());
        }
        let fields = input.as_object().cloned().unwrap_or_default();
        if !self.records(kind).contains_key(&id) {
            return Err(ZdErr::not_found());
        }
        match kind {
            Kind::User => self.check_user(Some(id), &fields)?,
            Kind::Organization => {
                if let Some(name) = fields.get("name").and_then(Value::as_str) {
                    self.check_organization(Some(id), name)?;
                }
            }
            _ => {}
        }
        let allowed: Vec<&str> = match kind {
            Kind::User => USER_FIELDS
                .iter()
                .chain(&["name", "email", "role"])
                .copied()
                .collect(),
            Kind::Organization => ORGANIZATION_FIELDS
                .iter()
                .chain(&["name"])
                .copied()
                .collect(),
            _ => GROUP_FIELDS.iter().chain(&["name"]).copied().collect(),
        };
        let record = self
            .records_mut(kind)
            .get_mut(&id)
            .ok_or_else(ZdErr::not_found)?;
        merge(record, &fields, &allowed);
        set_tags(record, &fields);
        record["updated_at"] = json!(stamp(now()));
        Ok(())
    }

    /// Deletes record `id` of `kind` (a user stays, inactive).
    pub(super) fn delete_any(
        &mut self,
        _ctx: &Ctx<'_>,
        _caller: &Caller,
        kind: Kind,
        id: u64,
    ) -> Result<(), ZdErr> {
        match kind {
            Kind::Ticket => self.delete_ticket_record(id),
            Kind::User => {
                let user = self
                    .users
                    .get_mut(&id)
                    .filter(|u| u["active"] == true)
                    .ok_or_else(ZdErr::not_found)?;
                user["active"] = json!(false);
                user["updated_at"] = json!(stamp(now()));
                Ok(())
            }
            _ => self
                .records_mut(kind)
                .remove(&id)
                .map(|_| ())
                .ok_or_else(ZdErr::not_found),
        }
    }

    /// Creates the user, or updates the one with the same email or external
    /// id: (id, whether it was created).
    pub(super) fn create_or_update_user(
        &mut self,
        ctx: &Ctx<'_>,
        input: &Value,
    ) -> Result<(u64, bool), ZdErr> {
        let caller = Caller {
            user_id: self.signed_in,
            scopes: None,
        };
        let email = input["email"].as_str();
        let external = input["external_id"].as_str();
        let existing = email.and_then(|e| self.user_by_email(e)).or_else(|| {
            external.and_then(|x| {
                self.users
                    .values()
                    .find(|u| {
                        u["external_id"]
                            .as_str()
                            .is_some_and(|e| e.eq_ignore_ascii_case(x))
                    })
                    .and_then(|u| u["id"].as_u64())
            })
        });
        match existing {
            Some(id) => self
                .update_any(ctx, &caller, Kind::User, id, input)
                .map(|()| (id, false)),
            None => self
                .create_any(ctx, &caller, Kind::User, input, None)
                .map(|id| (id, true)),
        }
    }

    fn check_user(&self, id: Option<u64>, fields: &Map<String, Value>) -> Result<(), ZdErr> {
        if let Some(role) = fields.get("role")
            && !role.as_str().is_some_and(|r| ROLES.contains(&r))
        {
            return Err(record_invalid(
                "role",
                "InvalidValue",
                format!("Role: {role} is not valid"),
            ));
        }
        if let Some(email) = fields.get("email").and_then(Value::as_str) {
            if !email.contains('@') || email.contains(' ') {
                return Err(record_invalid(
                    "email",
                    "InvalidFormat",
                    format!("Email: {email} is not properly formatted"),
                ));
            }
            if self
                .user_by_email(email)
                .is_some_and(|other| Some(other) != id)
            {
                return Err(record_invalid(
                    "email",
                    "DuplicateValue",
                    format!("Email: {email} is already being used by another user"),
                ));
            }
        }
        if let Some(org) = fields.get("organization_id").and_then(Value::as_u64)
            && !self.organizations.contains_key(&org)
        {
            return Err(record_invalid(
                "organization_id",
                "InvalidValue",
                format!("Organization: {org} is not valid"),
            ));
        }
        Ok(())
    }

    fn check_organization(&self, id: Option<u64>, name: &str) -> Result<(), ZdErr> {
        let taken = self.organizations.values().any(|o| {
            o["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && o["id"].as_u64() != id
        });
        if taken {
            return Err(record_invalid(
                "name",
                "DuplicateValue",
                "Name: has already been taken",
            ));
        }
        Ok(())
    }

    /// A page of `records` of `kind` with the side-loads asked for
    /// (`organizations` and `groups` of users).
    pub(super) fn people_page(
        &self,
        ctx: &Ctx<'_>,
        req: &Req<'_>,
        kind: Kind,
        records: Vec<impl std::borrow::Borrow<Value> + Clone>,
    ) -> Outcome {
        let mut page = paging::page(ctx.root, req, records)?;
        if kind == Kind::User {
            let items = page
                .get(paging::items_key(req))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            self.user_side_loads(req, &items, &mut page);
        }
        ok(Value::Object(page))
    }

    fn user_side_loads(&self, req: &Req<'_>, users: &[Value], into: &mut Map<String, Value>) {
        let include = req.includes();
        if include.iter().any(|i| i == "organizations") {
            let ids: BTreeSet<u64> = users
                .iter()
                .filter_map(|u| u["organization_id"].as_u64())
                .collect();
            into.insert(
                "organizations".into(),
                json!(
                    ids.iter()
                        .filter_map(|id| self.organizations.get(id))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if include.iter().any(|i| i == "identities") {
            into.insert(
                "identities".into(),
                json!(users.iter().flat_map(identities).collect::<Vec<_>>()),
            );
        }
    }

    /// `list_users`, `list_organizations`, `list_groups`.
    pub(super) fn list_people(&self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let records = self.listed(req, kind);
        self.people_page(ctx, req, kind, records)
    }

    /// `create_user`, `create_organization`, `create_group`: 201 with
    /// the record and `Location`.
    pub(super) fn create_person(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let key = kind.singular();
        let id = self.create_any(ctx, &req.caller, kind, &req.body[key], None)?;
        let record = self.records(kind)[&id].clone();
        let url = record["url"].as_str().map(str::to_string);
        Ok(Answer::Created(json!({key: record}), url))
    }

    /// `get_user`, `get_organization`, `get_group` (users with side-loads).
    pub(super) fn show_person(&self, req: &Req<'_>, kind: Kind) -> Outcome {
        let key = kind.singular();
        let id = req.id(&format!("{key}_id"))?;
        let record = self
            .records(kind)
            .get(&id)
            .cloned()
            .ok_or_else(ZdErr::not_found)?;
        let mut answer = Map::new();
        if kind == Kind::User {
            self.user_side_loads(req, std::slice::from_ref(&record), &mut answer);
        }
        answer.insert(key.into(), record);
        ok(Value::Object(answer))
    }

    /// `update_user`, `update_organization`, `update_group`.
    pub(super) fn update_person(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let key = kind.singular();
        let id = req.id(&format!("{key}_id"))?;
        self.update_any(ctx, &req.caller, kind, id, &req.body[key])?;
        ok(json!({key: self.records(kind)[&id]}))
    }

    /// `delete_user` (200 with the now inactive user), `delete_organization`
    /// and `delete_group` (204).
    pub(super) fn delete_person(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let key = kind.singular();
        let id = req.id(&format!("{key}_id"))?;
        self.delete_any(ctx, &req.caller, kind, id)?;
        match self.records(kind).get(&id) {
            Some(record) if req.op.success == 200 => ok(json!({key: record})),
            _ => Ok(Answer::NoContent),
        }
    }

    /// The records a list shows: active users (filtered by `role`/`role[]`
    /// and `external_id`), groups not deleted, every organization.
    fn listed(&self, req: &Req<'_>, kind: Kind) -> Vec<Value> {
        let roles = req.list("role");
        let external = req.query.get("external_id");
        self.records(kind)
            .values()
            .filter(|r| kind != Kind::User || r["active"] == true)
            .filter(|r| {
                roles.is_empty()
                    || r["role"]
                        .as_str()
                        .is_some_and(|x| roles.iter().any(|w| w == x))
            })
            .filter(|r| external.is_none_or(|x| r["external_id"].as_str() == Some(x)))
            .filter(|r| kind != Kind::Group || r["deleted"] != true)
            .cloned()
            .collect()
    }

    /// `show_many_*`: the records with the listed `ids` (or `external_ids`),
    /// unknown ones left out.
    pub(super) fn show_many(&self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let ids: Vec<u64> = req
            .list("ids")
            .iter()
            .filter_map(|i| i.trim().parse().ok())
            .collect();
        let externals = req.list("external_ids");
        let records: Vec<Value> = self
            .records(kind)
            .values()
            .filter(|r| {
                r["id"].as_u64().is_some_and(|id| ids.contains(&id))
                    || r["external_id"]
                        .as_str()
                        .is_some_and(|x| externals.iter().any(|e| e == x))
            })
            .cloned()
            .collect();
        if kind == Kind::Ticket {
            return self.ticket_page(ctx, req, records);
        }
        self.people_page(ctx, req, kind, records)
    }

    /// `get_current_user`: the caller, with an `authenticity_token`.
    pub(super) fn current_user(&self, caller: &Caller) -> Outcome {
        let mut user = self
            .users
            .get(&caller.user_id)
            .cloned()
            .ok_or_else(ZdErr::unauthorized)?;
        user["authenticity_token"] = json!(format!(
            "{:032x}",
            caller.user_id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ));
        ok(json!({"user": user}))
    }

    /// `search_users` (`query` matches name or email, `external_id`
    /// exactly) and `search_organizations` (`name`, `external_id`).
    pub(super) fn search_people(&self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let query = req
            .query
            .get("query")
            .or_else(|| req.query.get("name"))
            .map(str::to_lowercase);
        let external = req.query.get("external_id");
        let records: Vec<Value> = self
            .records(kind)
            .values()
            .filter(|r| kind != Kind::User || r["active"] == true)
            .filter(|r| {
                query.as_ref().is_none_or(|q| {
                    ["name", "email"].iter().any(|f| {
                        r[*f].as_str().is_some_and(|v| {
                            let v = v.to_lowercase();
                            if kind == Kind::User {
                                v.contains(q.as_str())
                            } else {
                                v == *q
                            }
                        })
                    })
                })
            })
            .filter(|r| external.is_none_or(|x| r["external_id"].as_str() == Some(x)))
            .cloned()
            .collect();
        self.people_page(ctx, req, kind, records)
    }
}

/// `tags` of the input, lower case, each once.
fn set_tags(record: &mut Value, fields: &Map<String, Value>) {
    if let Some(tags) = fields.get("tags").and_then(Value::as_array) {
        let set: BTreeSet<String> = tags
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect();
        record["tags"] = json!(set);
    }
}

/// The identities of a user: their email, primary and verified as the user is.
pub(super) fn identities(user: &Value) -> Vec<Value> {
    let Some(email) = user["email"].as_str() else {
        return Vec::new();
    };
    let id = user["id"].as_u64().unwrap_or(0);
    vec![json!({
        "id": id.wrapping_add(7), "user_id": id, "type": "email", "value": email,
        "verified": user["verified"], "primary": true, "created_at": user["created_at"],
        "updated_at": user["updated_at"], "url": format!("{}/identities/{}.json",
            user["url"].as_str().unwrap_or_default().trim_end_matches(".json"), id.wrapping_add(7)),
    })]
}
