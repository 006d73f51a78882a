//! The smaller ticket and people operations: comments and audits, spam,
//! merges, related counts, the ticket lists of a user or organization,
//! tags of tickets, users and organizations, uploads and attachments,
//! identities, memberships' views of users and groups, satisfaction
//! ratings. What remains goes to the collections ([`super::collections`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok, record_invalid};
use super::jobs::{Work, queued};
use super::paging;
use super::people::identities;
use super::store::{Ctx, Kind, Store, now, record_url, stamp};

/// How long an upload token can be used.
const UPLOAD_TTL_MINUTES: i64 = 60;

impl Store {
    /// Every operation [`Store::run`] does not name.
    pub(super) fn more(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        match req.op.id {
            "mark_ticket_as_spam" => {
                let id = req.id("ticket_id")?;
                let requester =
                    self.tickets.get(&id).ok_or_else(ZdErr::not_found)?["requester_id"].as_u64();
                self.delete_ticket_record(id)?;
                if let Some(user) = requester.and_then(|r| self.users.get_mut(&r)) {
                    user["suspended"] = json!(true);
                }
                Ok(Answer::Empty)
            }
            "merge_tickets" => {
                let target = req.id("ticket_id")?;
                if !self.tickets.contains_key(&target) {
                    return Err(ZdErr::not_found());
                }
                let sources: Vec<u64> = req.body["ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                let work = Work::Merge {
                    target,
                    sources,
                    request: req.body.clone(),
                };
                queued(self.queue_job(ctx, &req.caller, "merge_tickets", work))
            }
            "get_ticket_related" => {
                let id = req.id("ticket_id")?;
                self.tickets.get(&id).ok_or_else(ZdErr::not_found)?;
                let incidents = self
                    .tickets
                    .values()
                    .filter(|t| t["problem_id"] == id)
                    .count();
                ok(
                    json!({"ticket_related": {"topic_id": null, "jira_issue_ids": [], "followup_source_ids": [],
                    "from_archive": false, "incidents": incidents}}),
                )
            }
            "list_ticket_collaborators" => {
                let ticket = self
                    .tickets
                    .get(&req.id("ticket_id")?)
                    .ok_or_else(ZdErr::not_found)?;
                let users: Vec<Value> = ticket["collaborator_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|id| id.as_u64().and_then(|id| self.users.get(&id)).cloned())
                    .collect();
                ok(json!({"users": users}))
            }
            "list_ticket_incidents" => {
                let id = req.id("ticket_id")?;
                self.tickets.get(&id).ok_or_else(ZdErr::not_found)?;
                let tickets = self
                    .tickets
                    .values()
                    .filter(|t| t["problem_id"] == id)
                    .cloned()
                    .collect();
                self.ticket_page(ctx, req, tickets)
            }
            "list_recent_tickets" => {
                let mut tickets: Vec<Value> = self.tickets.values().cloned().collect();
                tickets.sort_by(|a, b| paging::compare(&b["updated_at"], &a["updated_at"]));
                self.ticket_page(ctx, req, tickets)
            }
            "list_user_requested_tickets"
            | "list_user_ccd_tickets"
            | "list_user_assigned_tickets" => {
                let user = req.id("user_id")?;
                self.users.get(&user).ok_or_else(ZdErr::not_found)?;
                let holds = |t: &Value| match req.op.id {
                    "list_user_requested_tickets" => t["requester_id"] == user,
                    "list_user_assigned_tickets" => t["assignee_id"] == user,
                    _ => t["collaborator_ids"]
                        .as_array()
                        .is_some_and(|c| c.contains(&json!(user))),
                };
                let tickets = self
                    .tickets
                    .values()
                    .filter(|t| holds(t))
                    .cloned()
                    .collect();
                self.ticket_page(ctx, req, tickets)
            }
            "list_organization_tickets" => {
                let org = req.id("organization_id")?;
                self.organizations.get(&org).ok_or_else(ZdErr::not_found)?;
                let tickets = self
                    .tickets
                    .values()
                    .filter(|t| t["organization_id"] == org)
                    .cloned()
                    .collect();
                self.ticket_page(ctx, req, tickets)
            }
            "list_ticket_comments" => {
                let id = req.id("ticket_id")?;
                self.tickets
                    .get(&id)
                    .or_else(|| self.deleted_tickets.get(&id))
                    .ok_or_else(ZdErr::not_found)?;
                let comments = self.comments(id);
                let mut page = paging::page(ctx.root, req, comments)?;
                if req.includes().iter().any(|i| i == "users") {
                    let authors: std::collections::BTreeSet<u64> = page["comments"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c["author_id"].as_u64())
                        .collect();
                    page.insert(
                        "users".into(),
                        json!(
                            authors
                                .iter()
                                .filter_map(|a| self.users.get(a))
                                .collect::<Vec<_>>()
                        ),
                    );
                }
                ok(Value::Object(page))
            }
            "make_comment_private" => {
                let (ticket, comment) = (req.id("ticket_id")?, req.id("comment_id")?);
                let event = self
                    .comment_mut(ticket, comment)
                    .ok_or_else(ZdErr::not_found)?;
                event["public"] = json!(false);
                Ok(Answer::Empty)
            }
            "redact_comment" => {
                let comment = req.id("comment_id")?;
                let ticket = req.body["ticket_id"].as_u64().ok_or_else(|| {
                    record_invalid("ticket_id", "BlankValue", "Ticket: is required")
                })?;
                let html = req.body["html_body"].as_str().map(str::to_string);
                let event = self
                    .comment_mut(ticket, comment)
                    .ok_or_else(ZdErr::not_found)?;
                if let Some(html) = html {
                    // Text inside <redact> tags is replaced by a block character per letter.
                    let redacted = redact(&html);
                    event["html_body"] = json!(redacted);
                    event["body"] = json!(strip_tags(&redacted));
                    event["plain_body"] = event["body"].clone();
                }
                ok(json!({"comment": event.clone()}))
            }
            "list_ticket_audits" => {
                let id = req.id("ticket_id")?;
                self.tickets
                    .get(&id)
                    .or_else(|| self.deleted_tickets.get(&id))
                    .ok_or_else(ZdErr::not_found)?;
                let audits = self
                    .audits
                    .iter()
                    .filter(|a| a["ticket_id"] == id)
                    .cloned()
                    .collect();
                ok(Value::Object(paging::page(ctx.root, req, audits)?))
            }
            "list_audits" => {
                let audits: Vec<Value> = self.audits.iter().rev().cloned().collect();
                ok(Value::Object(paging::page(ctx.root, req, audits)?))
            }
            "upload_attachment" => self.upload(ctx, req),
            "delete_upload" => {
                let token = req.param("token");
                let attachments = self.collections.entry("attachments".into()).or_default();
                let before = attachments.len();
                attachments.retain(|_, a| a["upload_token"] != token);
                if attachments.len() == before {
                    return Err(ZdErr::not_found());
                }
                Ok(Answer::NoContent)
            }
            "get_attachment" => {
                let id = req.id("attachment_id")?;
                let mut attachment = self
                    .collections
                    .get("attachments")
                    .and_then(|a| a.get(&id))
                    .cloned()
                    .ok_or_else(ZdErr::not_found)?;
                if let Some(map) = attachment.as_object_mut() {
                    map.remove("upload_token");
                }
                ok(json!({"attachment": attachment}))
            }
            "get_user_related" => {
                let id = req.id("user_id")?;
                self.users.get(&id).ok_or_else(ZdErr::not_found)?;
                let count =
                    |f: &dyn Fn(&Value) -> bool| self.tickets.values().filter(|t| f(t)).count();
                ok(json!({"user_related": {
                    "assigned_tickets": count(&|t| t["assignee_id"] == id),
                    "requested_tickets": count(&|t| t["requester_id"] == id),
                    "ccd_tickets": count(&|t| t["collaborator_ids"].as_array().is_some_and(|c| c.contains(&json!(id)))),
                    "followed_tickets": count(&|t| t["follower_ids"].as_array().is_some_and(|c| c.contains(&json!(id)))),
                    "organization_subscriptions": 0,
                }}))
            }
            "list_user_identities" => {
                let user = self
                    .users
                    .get(&req.id("user_id")?)
                    .ok_or_else(ZdErr::not_found)?;
                let mut all = identities(user);
                let id = user["id"].clone();
                all.extend(self.collection("identities").filter(|i| i["user_id"] == id));
                ok(Value::Object(paging::page(ctx.root, req, all)?))
            }
            "create_user_identity" => {
                let user = req.id("user_id")?;
                self.users.get(&user).ok_or_else(ZdErr::not_found)?;
                let input = &req.body["identity"];
                let kind = input["type"].as_str().unwrap_or_default();
                let value = input["value"].as_str().unwrap_or_default();
                if kind.is_empty() || value.is_empty() {
                    return Err(record_invalid(
                        "value",
                        "BlankValue",
                        "Value: cannot be blank",
                    ));
                }
                let id = self.next_id();
                let at = stamp(now());
                let identity = json!({"id": id, "url": format!("{}/api/v2/users/{user}/identities/{id}.json", ctx.root),
                    "user_id": user, "type": kind, "value": value, "verified": false, "primary": false,
                    "created_at": at, "updated_at": at});
                self.collections
                    .entry("identities".into())
                    .or_default()
                    .insert(id, identity.clone());
                Ok(Answer::Created(json!({"identity": identity}), None))
            }
            "list_user_organizations" => {
                let user = self
                    .users
                    .get(&req.id("user_id")?)
                    .ok_or_else(ZdErr::not_found)?
                    .clone();
                let orgs: Vec<Value> = user["organization_id"]
                    .as_u64()
                    .and_then(|o| self.organizations.get(&o))
                    .cloned()
                    .into_iter()
                    .collect();
                ok(Value::Object(paging::page(ctx.root, req, orgs)?))
            }
            "list_user_groups" => {
                let user = req.id("user_id")?;
                self.users.get(&user).ok_or_else(ZdErr::not_found)?;
                let groups = self.groups_of(user);
                ok(Value::Object(paging::page(ctx.root, req, groups)?))
            }
            "autocomplete_organizations" => {
                let name = req.query.get("name").unwrap_or_default().to_lowercase();
                if name.chars().count() < 2 {
                    return Err(ZdErr::new(
                        http::StatusCode::BAD_REQUEST,
                        "InvalidValue",
                        "name must be at least 2 characters",
                    ));
                }
                let orgs = self
                    .organizations
                    .values()
                    .filter(|o| {
                        o["name"]
                            .as_str()
                            .is_some_and(|n| n.to_lowercase().starts_with(&name))
                    })
                    .cloned()
                    .collect();
                ok(Value::Object(paging::page(ctx.root, req, orgs)?))
            }
            "list_organization_users" => {
                let org = req.id("organization_id")?;
                self.organizations.get(&org).ok_or_else(ZdErr::not_found)?;
                let users = self
                    .users
                    .values()
                    .filter(|u| u["organization_id"] == org && u["active"] == true)
                    .cloned()
                    .collect();
                self.people_page(ctx, req, Kind::User, users)
            }
            "list_assignable_groups" => {
                let groups = self
                    .groups
                    .values()
                    .filter(|g| g["deleted"] != true)
                    .cloned()
                    .collect();
                ok(Value::Object(paging::page(ctx.root, req, groups)?))
            }
            "list_group_users" => {
                let group = req.id("group_id")?;
                self.groups.get(&group).ok_or_else(ZdErr::not_found)?;
                let members: Vec<u64> = self
                    .collection("group_memberships")
                    .filter(|m| m["group_id"] == group)
                    .filter_map(|m| m["user_id"].as_u64())
                    .collect();
                let users = members
                    .iter()
                    .filter_map(|u| self.users.get(u))
                    .cloned()
                    .collect();
                self.people_page(ctx, req, Kind::User, users)
            }
            "list_tags" => {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for t in self.tickets.values() {
                    for tag in t["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        *counts.entry(tag.to_string()).or_default() += 1;
                    }
                }
                let mut tags: Vec<Value> = counts
                    .into_iter()
                    .map(|(name, count)| json!({"name": name, "count": count}))
                    .collect();
                tags.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
                ok(Value::Object(paging::page(ctx.root, req, tags)?))
            }
            id if id.ends_with("_tags") => self.tags(req),
            "create_satisfaction_rating" => self.rate(ctx, req),
            _ => self.collection_op(ctx, req),
        }
    }

    /// The records of a collection.
    pub(super) fn collection(&self, name: &str) -> impl Iterator<Item = Value> + '_ {
        self.collections
            .get(name)
            .into_iter()
            .flat_map(|c| c.values().cloned())
    }

    /// The groups `user` is a member of.
    fn groups_of(&self, user: u64) -> Vec<Value> {
        self.collection("group_memberships")
            .filter(|m| m["user_id"] == user)
            .filter_map(|m| {
                m["group_id"]
                    .as_u64()
                    .and_then(|g| self.groups.get(&g))
                    .cloned()
            })
            .collect()
    }

    /// The comment event `comment` of ticket `ticket`.
    fn comment_mut(&mut self, ticket: u64, comment: u64) -> Option<&mut Value> {
        self.audits
            .iter_mut()
            .filter(|a| a["ticket_id"] == ticket)
            .flat_map(|a| a["events"].as_array_mut().into_iter().flatten())
            .find(|e| e["type"] == "Comment" && e["id"] == comment)
    }

    /// `upload_attachment`: 201 with the upload token (the same token again
    /// with `?token=` adds the file to that upload).
    fn upload(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let name = req
            .query
            .get("filename")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| record_invalid("filename", "BlankValue", "Filename: cannot be blank"))?;
        let token = req.query.get("token").map_or_else(
            || format!("{:024x}", fastrand::u128(..) >> 32),
            str::to_string,
        );
        let id = self.next_id();
        let size = req.body["size"].as_u64().unwrap_or(0);
        let content_type = mime_of(name);
        let attachment = json!({
            "id": id, "url": record_url(ctx.root, "attachments", id), "file_name": name,
            "content_url": format!("{}/attachments/token/{token}/?name={name}", ctx.root),
            "mapped_content_url": format!("{}/attachments/token/{token}/?name={name}", ctx.root),
            "content_type": content_type, "size": size, "width": null, "height": null, "inline": false,
            "deleted": false, "malware_access_override": false, "malware_scan_result": "malware_not_found",
            "thumbnails": [], "upload_token": token,
        });
        let attachments = self.collections.entry("attachments".into()).or_default();
        attachments.insert(id, attachment);
        let mut all: Vec<Value> = attachments
            .values()
            .filter(|a| a["upload_token"] == token.as_str())
            .cloned()
            .collect();
        for a in &mut all {
            if let Some(map) = a.as_object_mut() {
                map.remove("upload_token");
            }
        }
        let expires = stamp(now() + chrono::Duration::minutes(UPLOAD_TTL_MINUTES));
        let upload = json!({"token": token, "expires_at": expires, "attachment": all.last(), "attachments": all});
        Ok(Answer::Created(json!({"upload": upload}), None))
    }

    /// The tag operations of tickets, users and organizations: list, set
    /// (POST, 201), add (PUT), remove (DELETE, 204).
    fn tags(&mut self, req: &Req<'_>) -> Outcome {
        let (kind, param) = if req.op.id.contains("ticket") {
            (Kind::Ticket, "ticket_id")
        } else if req.op.id.contains("user") {
            (Kind::User, "user_id")
        } else {
            (Kind::Organization, "organization_id")
        };
        let id = req.id(param)?;
        let record = self
            .records_mut(kind)
            .get_mut(&id)
            .ok_or_else(ZdErr::not_found)?;
        let mut tags: Vec<String> = record["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let given: Vec<String> = req.body["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_lowercase))
            .collect();
        match req.op.method {
            "POST" => tags = given,
            "PUT" => tags.extend(given),
            "DELETE" => tags.retain(|t| !given.contains(t)),
            _ => {}
        }
        tags.sort();
        tags.dedup();
        if req.op.method != "GET" {
            record["tags"] = json!(tags);
            record["updated_at"] = json!(stamp(now()));
        }
        match req.op.method {
            "DELETE" => Ok(Answer::NoContent),
            "POST" => Ok(Answer::Created(json!({"tags": tags}), None)),
            _ => ok(json!({"tags": tags})),
        }
    }

    /// `create_satisfaction_rating`: the requester rates a solved ticket.
    fn rate(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let ticket_id = req.id("ticket_id")?;
        let ticket = self
            .tickets
            .get(&ticket_id)
            .cloned()
            .ok_or_else(ZdErr::not_found)?;
        let input = req.body["satisfaction_rating"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let score = input
            .get("score")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !["good", "bad", "offered", "unoffered"].contains(&score) {
            return Err(record_invalid(
                "score",
                "InvalidValue",
                format!("Score: {score} is not valid"),
            ));
        }
        let id = self.next_id();
        let at = stamp(now());
        let rating = json!({
            "id": id, "url": record_url(ctx.root, "satisfaction_ratings", id), "assignee_id": ticket["assignee_id"],
            "group_id": ticket["group_id"], "requester_id": ticket["requester_id"], "ticket_id": ticket_id,
            "score": score, "comment": input.get("comment"), "reason": input.get("reason"),
            "created_at": at, "updated_at": at,
        });
        self.collections
            .entry("satisfaction_ratings".into())
            .or_default()
            .insert(id, rating.clone());
        if let Some(t) = self.tickets.get_mut(&ticket_id) {
            t["satisfaction_rating"] =
                json!({"id": id, "score": score, "comment": input.get("comment")});
        }
        ok(json!({"satisfaction_rating": rating}))
    }
}

/// A content type from a file name's extension.
fn mime_of(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `<redact>secret</redact>` → `▇▇▇▇▇▇`.
fn redact(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<redact>") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 8..];
        let end = after.find("</redact>").unwrap_or(after.len());
        out.extend(after[..end].chars().map(|_| '▇'));
        rest = after.get(end + 9..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Text without its tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_blocks_out_the_marked_text() {
        assert_eq!(redact("card <redact>4111</redact> ok"), "card ▇▇▇▇ ok");
        assert_eq!(strip_tags("<p>a <b>b</b></p>"), "a b");
        assert_eq!(mime_of("x.PNG"), "image/png");
    }
}
