//! The account's other collections, answered by shape: brands, ticket,
//! user and organization fields, custom statuses, satisfaction ratings,
//! views, macros, triggers, automations, organization and group
//! memberships. `GET /api/v2/<things>.json` lists them (both paging
//! styles where the list has them, `active=` filters), `POST` creates one
//! from `{"<thing>": {...}}` (201), and `/api/v2/<things>/{id}.json` shows,
//! replaces the sent fields of, or deletes one (204). The collection and
//! its record key come from the operation's path in the spec.
//!
//! Views and macros also run: a view's `conditions` (`all`/`any` of
//! `{field, operator, value}` on status, priority, type, group, assignee,
//! requester, organization and tags) select its tickets for
//! `execute_view`, `list_view_tickets` and the counts; a macro's `actions`
//! become the ticket changes `apply_macro` answers (nothing is saved).

use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok, record_invalid};
use super::paging;
use super::store::{Ctx, Store, now, record_url, stamp};

/// Collections whose records are `active` unless told otherwise.
const ACTIVE_BY_DEFAULT: [&str; 9] = [
    "brands",
    "ticket_fields",
    "user_fields",
    "organization_fields",
    "custom_statuses",
    "views",
    "macros",
    "triggers",
    "automations",
];

/// `custom_statuses` → `custom_status`, `macros` → `macro`.
pub(super) fn singular(plural: &str) -> String {
    match plural.strip_suffix("statuses") {
        Some(stem) => format!("{stem}status"),
        None => plural.strip_suffix('s').unwrap_or(plural).to_string(),
    }
}

/// The collection an operation's path names, and whether it names one record.
fn shape(path: &str) -> Option<(&str, bool)> {
    let rest = path.strip_prefix("/api/v2/")?.strip_suffix(".json")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [name] => Some((name, false)),
        [name, id] if id.starts_with('{') => Some((name, true)),
        _ => None,
    }
}

impl Store {
    /// Seeds what every account has: a default brand, the five system
    /// custom statuses, the system ticket fields and an "Unsolved tickets" view.
    pub(super) fn seed_collections(&mut self, root: &str) {
        let at = stamp(now());
        let add = |store: &mut Store, name: &str, mut record: Value| {
            let id = store.next_id();
            record["id"] = json!(id);
            record["url"] = json!(record_url(root, name, id));
            record["created_at"] = json!(at);
            record["updated_at"] = json!(at);
            record["active"] = json!(true);
            store
                .collections
                .entry(name.to_string())
                .or_default()
                .insert(id, record);
        };
        add(
            self,
            "brands",
            json!({"name": "Sandbox", "brand_url": root, "subdomain": "sandbox", "default": true,
            "has_help_center": false, "is_deleted": false, "ticket_form_ids": []}),
        );
        for category in ["new", "open", "pending", "hold", "solved"] {
            let label = format!("{}{}", category[..1].to_uppercase(), &category[1..]);
            add(
                self,
                "custom_statuses",
                json!({"status_category": category, "agent_label": label, "raw_agent_label": label,
                "end_user_label": label, "default": true, "description": ""}),
            );
        }
        for (position, (kind, title)) in [
            ("subject", "Subject"),
            ("description", "Description"),
            ("status", "Status"),
            ("tickettype", "Type"),
            ("priority", "Priority"),
            ("group", "Group"),
            ("assignee", "Assignee"),
        ]
        .into_iter()
        .enumerate()
        {
            add(
                self,
                "ticket_fields",
                json!({"type": kind, "title": title, "raw_title": title, "position": position,
                "required": kind == "subject", "removable": false, "visible_in_portal": true}),
            );
        }
        add(
            self,
            "views",
            json!({"title": "Unsolved tickets", "raw_title": "Unsolved tickets", "position": 0, "default": true,
            "conditions": {"all": [{"field": "status", "operator": "less_than", "value": "solved"}], "any": []},
            "execution": {"columns": [{"id": "subject", "title": "Subject"}, {"id": "requester", "title": "Requester"},
                {"id": "status", "title": "Status"}], "sort_by": "id", "sort_order": "asc"}, "restriction": null}),
        );
    }

    /// Makes each of `agents` a member of the first group (their default).
    pub(super) fn seed_memberships(&mut self, root: &str, agents: &[u64]) {
        let Some(group) = self.groups.keys().next().copied() else {
            return;
        };
        let at = stamp(now());
        for agent in agents {
            let id = self.next_id();
            let membership = json!({"id": id, "url": record_url(root, "group_memberships", id), "user_id": agent,
                "group_id": group, "default": true, "created_at": at, "updated_at": at});
            self.collections
                .entry("group_memberships".into())
                .or_default()
                .insert(id, membership);
            if let Some(user) = self.users.get_mut(agent) {
                user["default_group_id"] = json!(group);
            }
        }
    }

    /// The collection operations, and the views' and macros' own.
    pub(super) fn collection_op(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        match req.op.id {
            "execute_view" | "list_view_tickets" => {
                let view = self.view(req.id("view_id")?)?;
                let tickets = self.view_tickets(&view);
                if req.op.id == "list_view_tickets" {
                    return self.ticket_page(ctx, req, tickets);
                }
                let columns = view["execution"]["columns"].clone();
                let rows: Vec<Value> = tickets
                    .iter()
                    .map(|t| {
                        let mut row = json!({"ticket": {"id": t["id"], "subject": t["subject"], "status": t["status"],
                            "url": t["url"], "priority": t["priority"], "type": t["type"]}});
                        for column in columns.as_array().into_iter().flatten() {
                            if let Some(id) = column["id"].as_str() {
                                row[id] = t.get(id).or_else(|| t.get(format!("{id}_id").as_str())).cloned().unwrap_or(Value::Null);
                            }
                        }
                        row
                    })
                    .collect();
                let mut page = paging::page(ctx.root, req, rows)?;
                page.insert("view".into(), view);
                page.insert("columns".into(), columns);
                ok(Value::Object(page))
            }
            "count_view" => {
                let view = self.view(req.id("view_id")?)?;
                ok(json!({"view_count": self.view_count(ctx, &view)}))
            }
            "count_many_views" => {
                let ids: Vec<u64> = req
                    .list("ids")
                    .iter()
                    .filter_map(|i| i.parse().ok())
                    .collect();
                let counts: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| self.view(*id).ok())
                    .map(|v| self.view_count(ctx, &v))
                    .collect();
                ok(json!({"view_counts": counts}))
            }
            "apply_macro" | "apply_macro_to_ticket" => {
                let id = req.id("macro_id")?;
                let found = self
                    .collections
                    .get("macros")
                    .and_then(|m| m.get(&id))
                    .cloned()
                    .ok_or_else(ZdErr::not_found)?;
                let mut ticket = match req.op.id {
                    "apply_macro" => json!({}),
                    _ => {
                        let t = self
                            .tickets
                            .get(&req.id("ticket_id")?)
                            .ok_or_else(ZdErr::not_found)?;
                        json!({"id": t["id"], "url": t["url"], "tags": t["tags"]})
                    }
                };
                apply_actions(&mut ticket, &found["actions"]);
                ok(json!({"result": {"ticket": ticket}}))
            }
            _ => self.crud(ctx, req),
        }
    }

    fn crud(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let Some((name, one)) = shape(req.op.path) else {
            tracing::warn!(
                operation = req.op.id,
                "the zendesk sandbox does not answer this operation"
            );
            return Err(ZdErr::new(
                http::StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "The sandbox does not answer this operation",
            ));
        };
        let key = singular(name);
        let id_param = req
            .op
            .parameters
            .iter()
            .find(|p| p.location == crate::runtime::spec::Location::Path)
            .map(|p| p.name);
        match (req.op.method, one) {
            ("GET", false) => {
                let active = req.query.flag("active").ok().flatten();
                let items: Vec<Value> = self
                    .collection(name)
                    .filter(|r| active.is_none_or(|a| r["active"] == a))
                    .collect();
                ok(Value::Object(paging::page(ctx.root, req, items)?))
            }
            ("POST", false) => {
                let input = req.body[key.as_str()].as_object().cloned().ok_or_else(|| {
                    record_invalid("base", "BlankValue", format!("{key} is required"))
                })?;
                self.check_membership(name, &input)?;
                let id = self.next_id();
                let at = stamp(now());
                let mut record = json!({"id": id, "url": record_url(ctx.root, name, id), "created_at": at, "updated_at": at});
                if ACTIVE_BY_DEFAULT.contains(&name) {
                    record["active"] = json!(true);
                }
                put(&mut record, &input);
                if let Some(org) = record["organization_id"]
                    .as_u64()
                    .and_then(|o| self.organizations.get(&o))
                {
                    record["organization_name"] = org["name"].clone();
                }
                self.collections
                    .entry(name.to_string())
                    .or_default()
                    .insert(id, record.clone());
                Ok(Answer::Created(json!({key: record}), None))
            }
            (method, true) => {
                let id = req.id(id_param.unwrap_or_default())?;
                let records = self.collections.entry(name.to_string()).or_default();
                match method {
                    "GET" => ok(json!({key: records.get(&id).ok_or_else(ZdErr::not_found)?})),
                    "PUT" => {
                        let record = records.get_mut(&id).ok_or_else(ZdErr::not_found)?;
                        let input = req.body[key.as_str()]
                            .as_object()
                            .cloned()
                            .unwrap_or_default();
                        put(record, &input);
                        record["updated_at"] = json!(stamp(now()));
                        ok(json!({key: record}))
                    }
                    "DELETE" => records
                        .remove(&id)
                        .map(|_| Answer::NoContent)
                        .ok_or_else(ZdErr::not_found),
                    _ => Err(ZdErr::invalid_endpoint()),
                }
            }
            _ => Err(ZdErr::invalid_endpoint()),
        }
    }

    /// A membership names an existing user and group (or organization),
    /// once.
    fn check_membership(&self, name: &str, input: &Map<String, Value>) -> Result<(), ZdErr> {
        let (other, exists) = match name {
            "group_memberships" => ("group_id", &self.groups),
            "organization_memberships" => ("organization_id", &self.organizations),
            _ => return Ok(()),
        };
        let user = input
            .get("user_id")
            .and_then(Value::as_u64)
            .filter(|u| self.users.contains_key(u));
        let target = input
            .get(other)
            .and_then(Value::as_u64)
            .filter(|t| exists.contains_key(t));
        let (Some(user), Some(target)) = (user, target) else {
            return Err(record_invalid(
                "base",
                "InvalidValue",
                format!("user_id and {other} must name existing records"),
            ));
        };
        if self
            .collection(name)
            .any(|m| m["user_id"] == user && m[other] == target)
        {
            return Err(record_invalid(
                "user_id",
                "DuplicateValue",
                "User: is already a member",
            ));
        }
        Ok(())
    }

    fn view(&self, id: u64) -> Result<Value, ZdErr> {
        self.collections
            .get("views")
            .and_then(|v| v.get(&id))
            .cloned()
            .ok_or_else(ZdErr::not_found)
    }

    /// The tickets a view's conditions select.
    fn view_tickets(&self, view: &Value) -> Vec<Value> {
        let all: Vec<Value> = view["conditions"]["all"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let any: Vec<Value> = view["conditions"]["any"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        self.tickets
            .values()
            .filter(|t| {
                all.iter().all(|c| condition(t, c))
                    && (any.is_empty() || any.iter().any(|c| condition(t, c)))
            })
            .cloned()
            .collect()
    }

    fn view_count(&self, ctx: &Ctx<'_>, view: &Value) -> Value {
        let n = self.view_tickets(view).len();
        json!({"view_id": view["id"], "url": format!("{}/api/v2/views/{}/count.json", ctx.root, view["id"]),
            "value": n, "pretty": n.to_string(), "fresh": true, "active": view["active"]})
    }
}

/// Copies `input` over `record`, but never its id, url or timestamps.
fn put(record: &mut Value, input: &Map<String, Value>) {
    for (k, v) in input {
        if !["id", "url", "created_at", "updated_at"].contains(&k.as_str()) {
            record[k.as_str()] = v.clone();
        }
    }
}

/// Whether ticket `t` meets a view condition.
fn condition(t: &Value, c: &Value) -> bool {
    const ORDER: [&str; 10] = [
        "new", "open", "pending", "hold", "solved", "closed", "low", "normal", "high", "urgent",
    ];
    let field = c["field"].as_str().unwrap_or_default();
    let wanted = match &c["value"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let actual = match field {
        "current_tags" => {
            let tags: Vec<&str> = t["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let has = wanted.split_whitespace().any(|w| tags.contains(&w));
            return match c["operator"].as_str() {
                Some("not_includes") => !has,
                _ => has,
            };
        }
        "ticket_type_id" | "type" => t["type"].clone(),
        other => t[other].clone(),
    };
    let actual = match actual {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let rank = |v: &str| ORDER.iter().position(|o| *o == v);
    match c["operator"].as_str().unwrap_or("is") {
        "is" => actual == wanted,
        "is_not" => actual != wanted,
        "less_than" => rank(&actual).zip(rank(&wanted)).is_some_and(|(a, w)| a < w),
        "greater_than" => rank(&actual).zip(rank(&wanted)).is_some_and(|(a, w)| a > w),
        _ => false,
    }
}

/// A macro's actions as ticket changes.
fn apply_actions(ticket: &mut Value, actions: &Value) {
    for action in actions.as_array().into_iter().flatten() {
        let value = action["value"].clone();
        match action["field"].as_str().unwrap_or_default() {
            "comment_value" | "comment_value_html" => {
                let body = match &value {
                    Value::Array(parts) => parts.last().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                };
                ticket["comment"] = json!({"body": body, "public": true});
            }
            "comment_mode_is_public" => {
                ticket["comment"]["public"] = json!(value == "true" || value == true)
            }
            "current_tags" => {
                let mut tags: Vec<Value> = ticket["tags"].as_array().cloned().unwrap_or_default();
                tags.extend(
                    value
                        .as_str()
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(|t| json!(t)),
                );
                ticket["tags"] = json!(tags);
            }
            "set_tags" => {
                ticket["tags"] = json!(
                    value
                        .as_str()
                        .unwrap_or_default()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                )
            }
            field @ ("status" | "priority" | "type" | "subject" | "assignee_id" | "group_id") => {
                ticket[field] = value
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_named_by_their_path() {
        assert_eq!(singular("custom_statuses"), "custom_status");
        assert_eq!(singular("macros"), "macro");
        assert_eq!(
            shape("/api/v2/brands/{brand_id}.json"),
            Some(("brands", true))
        );
        assert_eq!(shape("/api/v2/views/{view_id}/count.json"), None);
        let t = json!({"status": "open", "tags": ["a", "b"]});
        assert!(condition(
            &t,
            &json!({"field": "status", "operator": "less_than", "value": "solved"})
        ));
        assert!(condition(
            &t,
            &json!({"field": "current_tags", "operator": "includes", "value": "b c"})
        ));
        let mut changed = json!({});
        apply_actions(
            &mut changed,
            &json!([{"field": "status", "value": "solved"}, {"field": "comment_value", "value": "Done"}]),
        );
        assert_eq!(
            changed,
            json!({"status": "solved", "comment": {"body": "Done", "public": true}})
        );
    }
}
