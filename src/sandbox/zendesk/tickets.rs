//! Tickets: create (201 with the ticket, its first audit and `Location`),
//! show, update (with the audit of the change), delete (204; kept for the
//! incremental exports as `deleted`), the lists of tickets with both paging
//! styles and side-loads, and the ticket's comments and audits.
//!
//! A ticket needs a first comment (`comment.body`, `comment.html_body`, or
//! `description` as zenpy sends it): 422 `RecordInvalid` on `description`
//! without one. `status`, `priority` and `type` take Zendesk's values
//! (422 `InvalidValue` otherwise); requester, assignee, group and
//! organization must exist (422). `requester: {name, email}` finds the user
//! by email or creates an end user. A closed ticket cannot be updated (422).
//! Solving an unassigned ticket assigns it to the agent solving it. Each
//! create and update records an audit (`Create`/`Change` events per field,
//! a `Comment` event per comment) and queues the webhook events.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok, record_invalid};
use super::paging;
use super::store::{Caller, Ctx, Store, now, stamp, ticket_record, user_record, via};

const STATUSES: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];
const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];
const TYPES: [&str; 4] = ["problem", "incident", "question", "task"];

/// The ticket fields whose changes an audit records.
const AUDITED: [&str; 11] = [
    "subject",
    "status",
    "priority",
    "type",
    "assignee_id",
    "group_id",
    "requester_id",
    "organization_id",
    "tags",
    "due_at",
    "external_id",
];

/// Fields taken from the input as they are.
const PLAIN: [&str; 12] = [
    "external_id",
    "due_at",
    "custom_fields",
    "brand_id",
    "ticket_form_id",
    "problem_id",
    "recipient",
    "sharing_agreement_ids",
    "custom_status_id",
    "collaborator_ids",
    "email_cc_ids",
    "follower_ids",
];

impl Store {
    /// Creates a ticket from `input` (the `ticket` object), with `id` when
    /// one was reserved; returns (ticket, audit).
    pub(super) fn create_ticket_record(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        input: &Value,
        id: Option<u64>,
    ) -> Result<(Value, Value), ZdErr> {
        let input = input.as_object().cloned().unwrap_or_default();
        let comment = comment_text(&input).ok_or_else(|| {
            record_invalid("description", "BlankValue", "Description: cannot be blank")
        })?;
        let at = now();
        let requester = self.requester_of(ctx, &input, caller.user_id)?;
        let submitter = input
            .get("submitter_id")
            .and_then(Value::as_u64)
            .unwrap_or(caller.user_id);
        let mut ticket = ticket_record(ctx.root, 0, requester, submitter, at);
        ticket["description"] = json!(comment.0);
        ticket["organization_id"] = self
            .users
            .get(&requester)
            .map_or(Value::Null, |u| u["organization_id"].clone());
        self.apply(caller, &mut ticket, &input)?;
        let id = match id {
            Some(id) => id,
            None => self.next_ticket_id(),
        };
        ticket["id"] = json!(id);
        ticket["url"] = json!(super::store::record_url(ctx.root, "tickets", id));
        let before = Value::Null;
        let audit = self.audit(
            caller.user_id,
            &before,
            &ticket,
            Some((comment.0, comment.1)),
            at,
        );
        self.tickets.insert(id, ticket.clone());
        self.queue_ticket_events(&before, &ticket, true);
        Ok((ticket, audit))
    }

    /// Applies `input` to ticket `id`; returns (ticket, audit).
    pub(super) fn update_ticket_record(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        id: u64,
        input: &Value,
    ) -> Result<(Value, Value), ZdErr> {
        let input = input.as_object().cloned().unwrap_or_default();
        let before = self
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(ZdErr::not_found)?;
        if before["status"] == "closed" {
            return Err(record_invalid(
                "status",
                "InvalidValue",
                "Status: closed prevents ticket update",
            ));
        }
        if input.get("safe_update") == Some(&json!(true))
            && input.get("updated_stamp").and_then(Value::as_str) != before["updated_at"].as_str()
        {
            return Err(ZdErr::new(
                http::StatusCode::CONFLICT,
                "UpdateConflict",
                "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
            ));
        }
        let mut ticket = before.clone();
        if let Some(requester) = input.get("requester") {
            let mut only = Map::new();
            only.insert("requester".into(), requester.clone());
            ticket["requester_id"] = json!(self.requester_of(ctx, &only, caller.user_id)?);
        }
        self.apply(caller, &mut ticket, &input)?;
        let at = now();
        ticket["updated_at"] = json!(stamp(at));
        ticket["generated_timestamp"] = json!(at.timestamp());
        let comment = comment_text(&input).filter(|_| input.contains_key("comment"));
        let audit = self.audit(caller.user_id, &before, &ticket, comment, at);
        self.tickets.insert(id, ticket.clone());
        self.queue_ticket_events(&before, &ticket, false);
        Ok((ticket, audit))
    }

    /// Deletes ticket `id` (kept as `deleted` for the exports).
    pub(super) fn delete_ticket_record(&mut self, id: u64) -> Result<(), ZdErr> {
        let mut ticket = self.tickets.remove(&id).ok_or_else(ZdErr::not_found)?;
        let at = now();
        ticket["status"] = json!("deleted");
        ticket["updated_at"] = json!(stamp(at));
        ticket["generated_timestamp"] = json!(at.timestamp());
        self.deleted_tickets.insert(id, ticket);
        Ok(())
    }

    /// The requester: `requester_id`, or `requester: {email, name}` found
    /// or created, or the caller.
    fn requester_of(
        &mut self,
        ctx: &Ctx<'_>,
        input: &Map<String, Value>,
        caller: u64,
    ) -> Result<u64, ZdErr> {
        if let Some(id) = input.get("requester_id").and_then(Value::as_u64) {
            return self.users.contains_key(&id).then_some(id).ok_or_else(|| {
                record_invalid(
                    "requester",
                    "InvalidValue",
                    format!("Requester: {id} is not a user"),
                )
            });
        }
        let Some(requester) = input.get("requester").and_then(Value::as_object) else {
            return Ok(caller);
        };
        let email = requester
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !email.contains('@') {
            return Err(record_invalid(
                "requester",
                "InvalidValue",
                format!("Requester: Email:  {email} is not properly formatted"),
            ));
        }
        if let Some(id) = self.user_by_email(email) {
            return Ok(id);
        }
        let id = self.next_id();
        let name = requester
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(email);
        self.users.insert(
            id,
            user_record(ctx.root, id, name, Some(email), "end-user", now()),
        );
        Ok(id)
    }

    /// Sets the fields of `input` on `ticket`, checking their values.
    fn apply(
        &self,
        caller: &Caller,
        ticket: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<(), ZdErr> {
        let choice =
            |field: &str, allowed: &[&str], nullable: bool| -> Result<Option<Value>, ZdErr> {
                match input.get(field) {
                    None => Ok(None),
                    Some(Value::Null) if nullable => Ok(Some(Value::Null)),
                    Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(json!(s))),
                    Some(other) => Err(record_invalid(
                        field,
                        "InvalidValue",
                        format!(
                            "{}: {} is not valid",
                            capitalized(field),
                            other.as_str().unwrap_or(&other.to_string())
                        ),
                    )),
                }
            };
        for (field, allowed, nullable) in [
            ("status", &STATUSES[..], false),
            ("priority", &PRIORITIES[..], true),
            ("type", &TYPES[..], true),
        ] {
            if let Some(v) = choice(field, allowed, nullable)? {
                ticket[field] = v;
            }
        }
        for field in ["assignee_id", "group_id", "organization_id"] {
            let Some(value) = input.get(field) else {
                continue;
            };
            let ok = match value {
                Value::Null => true,
                v => v.as_u64().is_some_and(|id| match field {
                    "assignee_id" => self.users.get(&id).is_some_and(|u| u["role"] != "end-user"),
                    "group_id" => self.groups.contains_key(&id),
                    _ => self.organizations.contains_key(&id),
                }),
            };
            if !ok {
                let name = capitalized(field.trim_end_matches("_id"));
                return Err(record_invalid(
                    field,
                    "InvalidValue",
                    format!("{name}: {value} is not valid"),
                ));
            }
            ticket[field] = value.clone();
        }
        if let Some(email) = input.get("assignee_email").and_then(Value::as_str) {
            let id = self.user_by_email(email).ok_or_else(|| {
                record_invalid(
                    "assignee_email",
                    "InvalidValue",
                    format!("Assignee: {email} is not an agent"),
                )
            })?;
            ticket["assignee_id"] = json!(id);
        }
        if let Some(subject) = input.get("subject").or_else(|| input.get("raw_subject")) {
            ticket["subject"] = subject.clone();
            ticket["raw_subject"] = subject.clone();
        }
        for field in PLAIN {
            if let Some(v) = input.get(field) {
                ticket[field] = v.clone();
            }
        }
        if let Some(tags) = input.get("tags").and_then(Value::as_array) {
            ticket["tags"] = json!(tag_set(tags.iter()));
        }
        let mut tags: BTreeSet<String> = tag_set(ticket["tags"].as_array().into_iter().flatten());
        for t in input
            .get("additional_tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            tags.extend(t.as_str().map(str::to_string));
        }
        for t in input
            .get("remove_tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = t.as_str() {
                tags.remove(t);
            }
        }
        ticket["tags"] = json!(tags);
        if ticket["status"] == "solved" && ticket["assignee_id"].is_null() {
            ticket["assignee_id"] = json!(caller.user_id);
        }
        if ticket["status"] == "new"
            && !ticket["assignee_id"].is_null()
            && input.get("status").is_none()
        {
            ticket["status"] = json!("open");
        }
        Ok(())
    }

    /// Records the audit of a change from `before` (null: a creation).
    fn audit(
        &mut self,
        author: u64,
        before: &Value,
        after: &Value,
        comment: Option<(String, bool)>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Value {
        let audit_id = self.next_id();
        let mut events = Vec::new();
        if let Some((body, public)) = comment {
            events.push(json!({
                "id": self.next_id(), "type": "Comment", "author_id": author, "body": body,
                "html_body": format!("<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">{body}</p></div>"),
                "plain_body": body, "public": public, "attachments": [], "audit_id": audit_id,
                "created_at": stamp(at),
            }));
        }
        for field in AUDITED {
            let (old, new) = (&before[field], &after[field]);
            if before.is_null() {
                if !new.is_null() && *new != json!([]) {
                    events.push(json!({"id": self.next_id(), "type": "Create", "field_name": field, "value": audit_value(new)}));
                }
            } else if old != new {
                events.push(
                    json!({"id": self.next_id(), "type": "Change", "field_name": field,
                    "value": audit_value(new), "previous_value": audit_value(old)}),
                );
            }
        }
        let audit = json!({
            "id": audit_id, "ticket_id": after["id"], "created_at": stamp(at), "author_id": author,
            "metadata": {"system": {"client": "specbound sandbox", "ip_address": "127.0.0.1"}, "custom": {}},
            "via": via("api"), "events": events,
        });
        self.audits.push(audit.clone());
        audit
    }

    /// The comments of ticket `id`, from its audits.
    pub(super) fn comments(&self, id: u64) -> Vec<Value> {
        self.audits
            .iter()
            .filter(|a| a["ticket_id"] == id)
            .flat_map(|a| {
                let created = a["created_at"].clone();
                a["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(move |mut e| {
                        (e["type"] == "Comment").then(|| {
                            e["created_at"] = created.clone();
                            e["via"] = via("api");
                            e
                        })
                    })
            })
            .collect()
    }

    /// The side-loads `req` asks for, for `tickets`: users, organizations,
    /// groups at the top; `comment_count` inside each ticket.
    pub(super) fn ticket_side_loads(
        &self,
        req: &Req<'_>,
        tickets: &mut [Value],
        into: &mut Map<String, Value>,
    ) {
        let include = req.includes();
        let wants = |name: &str| include.iter().any(|i| i == name);
        if wants("comment_count") {
            for t in tickets.iter_mut() {
                let id = t["id"].as_u64().unwrap_or(0);
                t["comment_count"] = json!(self.comments(id).len());
            }
        }
        if wants("users") {
            let mut ids = BTreeSet::new();
            for t in tickets.iter() {
                for f in ["requester_id", "submitter_id", "assignee_id"] {
                    ids.extend(t[f].as_u64());
                }
                for f in ["collaborator_ids", "follower_ids", "email_cc_ids"] {
                    ids.extend(
                        t[f].as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_u64),
                    );
                }
            }
            into.insert(
                "users".into(),
                json!(
                    ids.iter()
                        .filter_map(|id| self.users.get(id))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if wants("organizations") {
            let ids: BTreeSet<u64> = tickets
                .iter()
                .filter_map(|t| t["organization_id"].as_u64())
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
        if wants("groups") {
            let ids: BTreeSet<u64> = tickets
                .iter()
                .filter_map(|t| t["group_id"].as_u64())
                .collect();
            into.insert(
                "groups".into(),
                json!(
                    ids.iter()
                        .filter_map(|id| self.groups.get(id))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if wants("last_audits") {
            let last: Vec<Value> = tickets
                .iter()
                .filter_map(|t| {
                    self.audits
                        .iter()
                        .rev()
                        .find(|a| a["ticket_id"] == t["id"])
                        .cloned()
                })
                .collect();
            into.insert("last_audits".into(), json!(last));
        }
    }

    /// A page of `tickets` with the side-loads asked for.
    pub(super) fn ticket_page<V: std::borrow::Borrow<Value> + Clone>(
        &self,
        ctx: &Ctx<'_>,
        req: &Req<'_>,
        tickets: Vec<V>,
    ) -> Outcome {
        let mut page = paging::page(ctx.root, req, tickets)?;
        let key = paging::items_key(req);
        let mut items = match page.remove(key) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        self.ticket_side_loads(req, &mut items, &mut page);
        page.insert(key.to_string(), json!(items));
        ok(Value::Object(page))
    }

    /// One ticket (`get_ticket`), with side-loads.
    pub(super) fn show_ticket(&self, req: &Req<'_>, id: u64) -> Outcome {
        let ticket = self
            .tickets
            .get(&id)
            .cloned()
            .ok_or_else(ZdErr::not_found)?;
        let mut items = vec![ticket];
        let mut answer = Map::new();
        self.ticket_side_loads(req, &mut items, &mut answer);
        answer.insert("ticket".into(), items.remove(0));
        ok(Value::Object(answer))
    }

    /// `create_ticket`: 201 with the ticket, its audit and `Location`.
    pub(super) fn create_ticket(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let (ticket, audit) =
            self.create_ticket_record(ctx, &req.caller, &req.body["ticket"], None)?;
        let location = ticket["url"].as_str().map(str::to_string);
        Ok(Answer::Created(
            json!({"ticket": ticket, "audit": audit}),
            location,
        ))
    }

    /// `update_ticket`: the ticket and the audit of the change.
    pub(super) fn update_ticket(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let id = req.id("ticket_id")?;
        let (ticket, audit) =
            self.update_ticket_record(ctx, &req.caller, id, &req.body["ticket"])?;
        ok(json!({"ticket": ticket, "audit": audit}))
    }
}

/// The first comment's text and visibility: `comment.body` (or
/// `html_body`, or the older `value`), else `description`.
fn comment_text(input: &Map<String, Value>) -> Option<(String, bool)> {
    let comment = input.get("comment");
    let text = comment
        .and_then(|c| {
            ["body", "html_body", "value"]
                .iter()
                .find_map(|k| c[*k].as_str())
        })
        .or_else(|| input.get("description").and_then(Value::as_str))
        .filter(|t| !t.trim().is_empty())?;
    let public = comment.and_then(|c| c["public"].as_bool()).unwrap_or(true);
    Some((text.to_string(), public))
}

/// Tags as Zendesk keeps them: lower case, no spaces, each once, sorted.
fn tag_set<'a>(tags: impl Iterator<Item = &'a Value>) -> BTreeSet<String> {
    tags.filter_map(Value::as_str)
        .flat_map(str::split_whitespace)
        .map(str::to_lowercase)
        .collect()
}

/// A value as audit events write it: ids as text, tags as a list.
fn audit_value(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// `status` → `Status`, `assignee` → `Assignee`.
fn capitalized(field: &str) -> String {
    let mut chars = field.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
