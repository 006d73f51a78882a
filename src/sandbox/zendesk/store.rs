//! The sandbox's state: the account's records (tickets, users,
//! organizations, groups and the other collections), ticket audits, bulk
//! jobs, webhooks and OAuth grants; the settings; who is calling.
//!
//! Records are kept as the JSON objects the API answers, so that what is
//! stored is what is read back.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::jobs::JobRow;
use super::oauth::{AccessRow, CodeRow, RefreshRow};
use super::webhooks::{Delivery, WebhookRow};
use crate::runtime::Secret;
use crate::sandbox::engine::PageTokens;

/// The account's id, in records that name it.
pub(super) const ACCOUNT_ID: u64 = 18_525_119;

/// Where non-ticket ids start (tickets count from 1, as nice ids do).
const FIRST_ID: u64 = 360_000_000_001;

/// An agent of the account: email and API token.
pub(super) struct AgentConfig {
    pub(super) email: String,
    pub(super) name: String,
    pub(super) api_token: Secret,
}

/// The settings the builder chose.
pub(super) struct Config {
    pub(super) agents: Vec<AgentConfig>,
    /// The OAuth client: id, secret.
    pub(super) oauth_client: Option<(String, Secret)>,
    /// Registered redirect URIs (empty: any http or https URI).
    pub(super) redirect_uris: Vec<String>,
    pub(super) access_token_ttl: Duration,
    pub(super) refresh_token_ttl: Duration,
    pub(super) export_cursor_ttl: Duration,
    /// The index of the item every bulk job refuses, if any.
    pub(super) rejected_bulk_item: Option<usize>,
}

#[cfg(test)]
impl Config {
    /// One admin `admin@example.com` / `token`, client `id`/`secret`.
    pub(super) fn for_tests() -> Config {
        Config {
            agents: vec![AgentConfig {
                email: "admin@example.com".into(),
                name: "Admin".into(),
                api_token: Secret::new("token"),
            }],
            oauth_client: Some(("id".into(), Secret::new("secret"))),
            redirect_uris: Vec::new(),
            access_token_ttl: Duration::from_secs(1800),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            export_cursor_ttl: Duration::from_secs(3600),
            rejected_bulk_item: None,
        }
    }
}

/// A cursor of Search Export: the query it continues, where, and when it
/// was issued.
#[derive(Clone, Debug)]
pub(super) struct ExportCursor {
    pub(super) query: String,
    pub(super) kind: String,
    /// The (created_at, id) of the last result answered.
    pub(super) after: (i64, u64),
    pub(super) issued: std::time::Instant,
}

/// What a handler needs besides the state.
pub(super) struct Ctx<'a> {
    pub(super) config: &'a Config,
    /// `http://127.0.0.1:<port>`.
    pub(super) root: &'a str,
    pub(super) exports: &'a PageTokens<ExportCursor>,
}

/// Who is calling: a user of the account, and what their token grants
/// (`None`: everything, as an API token).
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub(super) user_id: u64,
    pub(super) scopes: Option<Vec<String>>,
}

/// The record kinds with their own behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Ticket,
    User,
    Organization,
    Group,
}

impl Kind {
    /// `tickets`, `users`, `organizations`, `groups`.
    pub(super) fn plural(self) -> &'static str {
        match self {
            Kind::Ticket => "tickets",
            Kind::User => "users",
            Kind::Organization => "organizations",
            Kind::Group => "groups",
        }
    }

    /// `ticket`, `user`, `organization`, `group`.
    pub(super) fn singular(self) -> &'static str {
        match self {
            Kind::Ticket => "ticket",
            Kind::User => "user",
            Kind::Organization => "organization",
            Kind::Group => "group",
        }
    }

    /// The kind named `ticket` (or `tickets`), as search's `type:` says it.
    pub(super) fn parse(name: &str) -> Option<Kind> {
        [Kind::Ticket, Kind::User, Kind::Organization, Kind::Group]
            .into_iter()
            .find(|k| name == k.singular() || name == k.plural())
    }
}

/// Everything the sandbox knows.
#[derive(Default)]
pub(super) struct Store {
    pub(super) tickets: BTreeMap<u64, Value>,
    /// Deleted tickets, kept for the incremental exports (status `deleted`).
    pub(super) deleted_tickets: BTreeMap<u64, Value>,
    pub(super) users: BTreeMap<u64, Value>,
    pub(super) organizations: BTreeMap<u64, Value>,
    pub(super) groups: BTreeMap<u64, Value>,
    /// The other collections (brands, macros, triggers...), by their plural.
    pub(super) collections: HashMap<String, BTreeMap<u64, Value>>,
    /// Every ticket audit, oldest first.
    pub(super) audits: Vec<Value>,
    pub(super) jobs: Vec<JobRow>,
    pub(super) webhooks: Vec<WebhookRow>,
    pub(super) codes: HashMap<String, CodeRow>,
    pub(super) access_tokens: HashMap<String, AccessRow>,
    pub(super) refresh_tokens: HashMap<String, RefreshRow>,
    /// Webhook requests to send once the current operation is answered.
    pub(super) outbox: Vec<Delivery>,
    /// The signed-in user of the authorization page.
    pub(super) signed_in: u64,
    next_id: u64,
    next_ticket: u64,
}

impl Store {
    /// A new id for anything but a ticket.
    pub(super) fn next_id(&mut self) -> u64 {
        if self.next_id < FIRST_ID {
            self.next_id = FIRST_ID;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The next ticket id.
    pub(super) fn next_ticket_id(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    /// The map of `kind`.
    pub(super) fn records(&self, kind: Kind) -> &BTreeMap<u64, Value> {
        match kind {
            Kind::Ticket => &self.tickets,
            Kind::User => &self.users,
            Kind::Organization => &self.organizations,
            Kind::Group => &self.groups,
        }
    }

    /// The map of `kind`, to change.
    pub(super) fn records_mut(&mut self, kind: Kind) -> &mut BTreeMap<u64, Value> {
        match kind {
            Kind::Ticket => &mut self.tickets,
            Kind::User => &mut self.users,
            Kind::Organization => &mut self.organizations,
            Kind::Group => &mut self.groups,
        }
    }

    /// The user with `email` (case-insensitive).
    pub(super) fn user_by_email(&self, email: &str) -> Option<u64> {
        self.users
            .values()
            .find(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .and_then(|u| u["id"].as_u64())
    }

    /// Seeds an agent (the first is the account owner, an admin).
    pub(super) fn seed_agent(&mut self, root: &str, agent: &AgentConfig, at: DateTime<Utc>) -> u64 {
        let id = self.next_id();
        let role = if self.users.is_empty() {
            "admin"
        } else {
            "agent"
        };
        let user = user_record(root, id, &agent.name, Some(&agent.email), role, at);
        self.users.insert(id, user);
        id
    }

    /// Seeds `counts` (organizations, groups, end users, tickets) one second
    /// apart from `start`: organizations, groups, end users (each in an
    /// organization, round robin), then tickets asked by the end users (or
    /// the owner), assigned to the owner, with statuses, priorities and
    /// types in turn, each with its creation audit.
    pub(super) fn seed(
        &mut self,
        root: &str,
        counts: [usize; 4],
        owner: u64,
        start: DateTime<Utc>,
    ) {
        let [organizations, groups, users, tickets] = counts;
        let mut at = start;
        let mut tick = || {
            at += chrono::Duration::seconds(1);
            at
        };
        let mut org_ids = Vec::new();
        for i in 1..=organizations {
            let id = self.next_id();
            let name = format!("Organization {i}");
            let org =
                organization_record(root, id, &name, &[format!("org{i}.example.com")], tick());
            self.organizations.insert(id, org);
            org_ids.push(id);
        }
        let mut group_ids = Vec::new();
        for i in 1..=groups {
            let id = self.next_id();
            let name = if i == 1 {
                "Support".to_string()
            } else {
                format!("Group {i}")
            };
            let mut group = group_record(root, id, &name, tick());
            group["default"] = json!(i == 1);
            self.groups.insert(id, group);
            group_ids.push(id);
        }
        let mut user_ids = Vec::new();
        for i in 1..=users {
            let id = self.next_id();
            let email = format!("user{i}@example.com");
            let mut user = user_record(
                root,
                id,
                &format!("User {i}"),
                Some(&email),
                "end-user",
                tick(),
            );
            if !org_ids.is_empty() {
                user["organization_id"] = json!(org_ids[(i - 1) % org_ids.len()]);
            }
            self.users.insert(id, user);
            user_ids.push(id);
        }
        const STATUSES: [&str; 5] = ["new", "open", "pending", "hold", "solved"];
        const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
        const TYPES: [&str; 4] = ["question", "incident", "problem", "task"];
        for i in 1..=tickets {
            let id = self.next_ticket_id();
            let requester = if user_ids.is_empty() {
                owner
            } else {
                user_ids[(i - 1) % user_ids.len()]
            };
            let at = tick();
            let status = STATUSES[(i - 1) % STATUSES.len()];
            let mut ticket = ticket_record(root, id, requester, owner, at);
            ticket["subject"] = json!(format!("Ticket {i}"));
            ticket["raw_subject"] = ticket["subject"].clone();
            ticket["description"] = json!(format!("Seeded ticket number {i}"));
            ticket["status"] = json!(status);
            ticket["priority"] = json!(PRIORITIES[(i - 1) % PRIORITIES.len()]);
            ticket["type"] = json!(TYPES[(i - 1) % TYPES.len()]);
            ticket["tags"] = json!(["seeded", status]);
            ticket["assignee_id"] = json!(owner);
            ticket["group_id"] = json!(group_ids.first());
            ticket["organization_id"] = self
                .users
                .get(&requester)
                .map_or(Value::Null, |u| u["organization_id"].clone());
            let audit = self.seed_audit(id, requester, &ticket, at);
            self.audits.push(audit);
            self.tickets.insert(id, ticket);
        }
    }

    /// The creation audit of a seeded ticket.
    fn seed_audit(
        &mut self,
        ticket_id: u64,
        author: u64,
        ticket: &Value,
        at: DateTime<Utc>,
    ) -> Value {
        let audit_id = self.next_id();
        let mut events = vec![json!({
            "id": self.next_id(), "type": "Comment", "author_id": author,
            "body": ticket["description"], "plain_body": ticket["description"],
            "html_body": format!("<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">{}</p></div>",
                ticket["description"].as_str().unwrap_or_default()),
            "public": true, "attachments": [], "audit_id": audit_id,
        })];
        for field in ["subject", "status", "priority", "type"] {
            events.push(json!({"id": self.next_id(), "type": "Create", "field_name": field, "value": ticket[field]}));
        }
        json!({
            "id": audit_id, "ticket_id": ticket_id, "created_at": stamp(at), "author_id": author,
            "metadata": {"system": {}, "custom": {}}, "via": via("web"), "events": events,
        })
    }
}

/// `2023-09-18T23:25:58Z`.
pub(super) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Now, to the second.
pub(super) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// The Unix time of a record's timestamp `field` (0 when it has none).
pub(super) fn unix_of(record: &Value, field: &str) -> i64 {
    record[field]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(0, |t| t.timestamp())
}

/// The API URL of record `id` of `plural`.
pub(super) fn record_url(root: &str, plural: &str, id: u64) -> String {
    format!("{root}/api/v2/{plural}/{id}.json")
}

/// A `via` object of `channel`.
pub(super) fn via(channel: &str) -> Value {
    json!({"channel": channel, "source": {"from": {}, "to": {}, "rel": null}})
}

/// A new user record with Zendesk's defaults.
pub(super) fn user_record(
    root: &str,
    id: u64,
    name: &str,
    email: Option<&str>,
    role: &str,
    at: DateTime<Utc>,
) -> Value {
    let role_type = match role {
        "admin" => json!(4),
        "agent" => json!(0),
        _ => Value::Null,
    };
    json!({
        "id": id, "url": record_url(root, "users", id), "name": name, "email": email,
        "created_at": stamp(at), "updated_at": stamp(at), "time_zone": "Etc/UTC", "iana_time_zone": "Etc/UTC",
        "phone": null, "shared_phone_number": null, "photo": null, "locale_id": 1, "locale": "en-US",
        "organization_id": null, "role": role, "role_type": role_type, "custom_role_id": null,
        "default_group_id": null, "verified": role != "end-user", "external_id": null, "tags": [], "alias": null,
        "active": true, "shared": false, "shared_agent": false, "last_login_at": null,
        "two_factor_auth_enabled": null, "signature": null, "details": null, "notes": null,
        "moderator": role == "admin", "ticket_restriction": if role == "end-user" { json!("requested") } else { Value::Null },
        "only_private_comments": false, "restricted_agent": role == "agent", "suspended": false,
        "report_csv": role == "admin", "user_fields": {},
    })
}

/// A new organization record.
pub(super) fn organization_record(
    root: &str,
    id: u64,
    name: &str,
    domains: &[String],
    at: DateTime<Utc>,
) -> Value {
    json!({
        "id": id, "url": record_url(root, "organizations", id), "name": name, "shared_tickets": false,
        "shared_comments": false, "external_id": null, "created_at": stamp(at), "updated_at": stamp(at),
        "domain_names": domains, "details": null, "notes": null, "group_id": null, "tags": [],
        "organization_fields": {},
    })
}

/// A new group record.
pub(super) fn group_record(root: &str, id: u64, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "url": record_url(root, "groups", id), "name": name, "description": "",
        "default": false, "deleted": false, "is_public": true,
        "created_at": stamp(at), "updated_at": stamp(at),
    })
}

/// A new ticket record with Zendesk's defaults (status `new`).
pub(super) fn ticket_record(
    root: &str,
    id: u64,
    requester: u64,
    submitter: u64,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "url": record_url(root, "tickets", id), "id": id, "external_id": null, "via": via("api"),
        "created_at": stamp(at), "updated_at": stamp(at), "generated_timestamp": at.timestamp(),
        "type": null, "subject": null, "raw_subject": null, "description": "", "priority": null,
        "status": "new", "recipient": null, "requester_id": requester, "submitter_id": submitter,
        "assignee_id": null, "organization_id": null, "group_id": null, "collaborator_ids": [],
        "follower_ids": [], "email_cc_ids": [], "forum_topic_id": null, "problem_id": null,
        "has_incidents": false, "is_public": true, "due_at": null, "tags": [], "custom_fields": [],
        "satisfaction_rating": null, "sharing_agreement_ids": [], "custom_status_id": null, "fields": [],
        "followup_ids": [], "ticket_form_id": null, "brand_id": null, "allow_channelback": false,
        "allow_attachments": true, "from_messaging_channel": false,
    })
}

/// Copies the keys of `input` that `allowed` names into `record`
/// (`updated_at` is the caller's business).
pub(super) fn merge(record: &mut Value, input: &Map<String, Value>, allowed: &[&str]) {
    for (k, v) in input {
        if allowed.contains(&k.as_str()) {
            record[k.as_str()] = v.clone();
        }
    }
}
