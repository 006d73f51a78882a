//! Change notification subscriptions: a new subscription (or one whose
//! `notificationUrl` changes) is validated first, as Graph validates it: the
//! sandbox POSTs `{notificationUrl}?validationToken=...` and wants the token
//! echoed (200, `text/plain`) within the builder's validation timeout
//! (10 s), else the request is 400 `ValidationError`. Then every change to
//! the watched messages, events, contacts (`created`, `updated`, `deleted`,
//! as the subscription's `changeType` asks) or drive is POSTed to the
//! subscriber as `{"value": [{"subscriptionId", "clientState", "changeType",
//! "resource", "resourceData", ...}]}`, until the subscription expires.
//!
//! Resources read: `me/messages`, `me/mailFolders('{id}')/messages` (or
//! `/mailFolders/{id}/messages`), `me/events`, `me/contacts`,
//! `me/drive/root`, each also as `users/{id}/...`. Notification URLs must be
//! https, or http on the loopback host.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, Shared, not_implemented};
use super::errors::{GraphErr, Outcome, bad_request, created, no_content, not_found, ok};
use super::notify::{Outgoing, validate};
use super::store::{Caller, Row, Store, URL_SAFE, guid, random_text};
use super::times::fmt_utc;

/// What a subscription watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Watch {
    Messages,
    Events,
    Contacts,
    Drive,
}

impl Watch {
    fn name(self) -> &'static str {
        match self {
            Watch::Messages => "messages",
            Watch::Events => "events",
            Watch::Contacts => "contacts",
            Watch::Drive => "drive",
        }
    }

    /// The longest a subscription of this kind may last (Graph's limits).
    fn max_minutes(self) -> i64 {
        match self {
            Watch::Drive => 42_300,
            _ => 10_080,
        }
    }
}

/// A subscription's resource read: (kind, owner: user or drive id, scope).
fn read_resource(
    store: &Store,
    caller: &Caller,
    resource: &str,
) -> Result<(Watch, String, Option<String>), GraphErr> {
    let unsupported = || {
        bad_request(
            "ExtensionError",
            format!(
                "Operation: Create; Exception: [Status Code: BadRequest; Reason: The resource '{resource}' is not supported]"
            ),
        )
    };
    let path = resource.trim().trim_start_matches('/');
    let (user, rest) = if let Some(rest) = path.strip_prefix("me/") {
        match caller {
            Caller::User(id) => (id.clone(), rest),
            Caller::App => {
                return Err(bad_request(
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                ));
            }
        }
    } else if let Some(rest) = path
        .strip_prefix("users/")
        .or_else(|| path.strip_prefix("Users/"))
    {
        let (key, rest) = rest.split_once('/').ok_or_else(unsupported)?;
        let key = key.trim_start_matches("('").trim_end_matches("')");
        (store.user(key).ok_or_else(unsupported)?.id.clone(), rest)
    } else if let Some(rest) = path.strip_prefix("drives/") {
        let (drive, rest) = rest.split_once('/').ok_or_else(unsupported)?;
        if rest.eq_ignore_ascii_case("root") && store.drives.rows.iter().any(|d| d.id() == drive) {
            return Ok((Watch::Drive, drive.to_string(), None));
        }
        return Err(unsupported());
    } else {
        return Err(unsupported());
    };
    let lower = rest.to_ascii_lowercase();
    match lower.as_str() {
        "messages" => return Ok((Watch::Messages, user, None)),
        "events" | "calendar/events" => return Ok((Watch::Events, user, None)),
        "contacts" => return Ok((Watch::Contacts, user, None)),
        "drive/root" => {
            let drive = store.user_by_id(&user)?.drive_id.clone();
            return Ok((Watch::Drive, drive, None));
        }
        _ => {}
    }
    // mailFolders('{id}')/messages or mailFolders/{id}/messages
    let folder = lower
        .strip_prefix("mailfolders")
        .and_then(|_| rest.get("mailFolders".len()..))
        .and_then(|r| {
            r.strip_suffix("/messages")
                .or_else(|| r.strip_suffix("/Messages"))
        })
        .map(|f| {
            f.trim_start_matches('/')
                .trim_start_matches("('")
                .trim_end_matches("')")
                .to_string()
        });
    match folder {
        Some(f) if !f.is_empty() => {
            let id = store.folder_id(&user, &f).map_err(|_| unsupported())?;
            Ok((Watch::Messages, user, Some(id)))
        }
        _ => Err(unsupported()),
    }
}

impl Store {
    /// Lists, reads and deletes subscriptions (creation and renewal need
    /// the network: see [`write`]).
    pub(super) fn subscriptions(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        let mine = |r: &Row| match &req.caller {
            Caller::App => true,
            Caller::User(id) => r.text("creatorId") == id,
        };
        match req.op.id {
            "list_subscriptions" => {
                let items = self
                    .subscriptions
                    .rows
                    .iter()
                    .filter(|r| mine(r))
                    .map(Row::value)
                    .collect();
                ctx.list(req, "Subscription", items)
            }
            "get_subscription" => {
                let row = self.subscription(req.param("subscription_id"))?;
                if !mine(row) {
                    return Err(not_found(row.id()));
                }
                ok(row.value())
            }
            "delete_subscription" => {
                let id = req.param("subscription_id");
                if !mine(self.subscription(id)?) {
                    return Err(not_found(id));
                }
                self.subscriptions.remove("", id)?;
                no_content()
            }
            other => Err(not_implemented("subscriptions", other)),
        }
    }

    fn subscription(&self, id: &str) -> Result<&Row, GraphErr> {
        self.subscriptions.get("", id).ok_or_else(|| {
            GraphErr::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("The object was not found: subscription {id}."),
            )
        })
    }

    /// Queues a notification for each live subscription that watches this
    /// change: `kind` of `owner` (user or drive id) in `parent`.
    pub(super) fn changed(
        &mut self,
        kind: Watch,
        owner: &str,
        parent: &str,
        id: &str,
        change: &'static str,
    ) {
        let now = Utc::now();
        for sub in &self.subscriptions.rows {
            let scope = sub.text("_scope");
            let watches = sub.text("_watch") == kind.name()
                && sub.text("_owner") == owner
                && (scope.is_empty() || scope == parent || kind == Watch::Drive)
                && sub
                    .text("changeType")
                    .split(',')
                    .any(|c| c.trim() == change)
                && expiry(sub).is_some_and(|t| t > now);
            if !watches {
                continue;
            }
            let (resource, data) = match kind {
                Watch::Drive => (sub.text("resource").to_string(), Value::Null),
                _ => {
                    let (segment, odata) = match kind {
                        Watch::Messages => ("Messages", "#Microsoft.Graph.Message"),
                        Watch::Events => ("Events", "#Microsoft.Graph.Event"),
                        _ => ("Contacts", "#Microsoft.Graph.Contact"),
                    };
                    let path = format!("Users/{owner}/{segment}/{id}");
                    (
                        path.clone(),
                        json!({"@odata.type": odata, "@odata.id": path, "id": id}),
                    )
                }
            };
            let mut note = json!({
                "id": random_text(16, URL_SAFE),
                "subscriptionId": sub.id(),
                "subscriptionExpirationDateTime": sub.text("expirationDateTime"),
                "clientState": sub.json.get("clientState").cloned().unwrap_or(Value::Null),
                "changeType": if kind == Watch::Drive { "updated" } else { change },
                "resource": resource,
                "tenantId": sub.text("_tenant"),
            });
            if !data.is_null() {
                note["resourceData"] = data;
            }
            self.outbox.push(Outgoing {
                url: sub.text("notificationUrl").to_string(),
                body: json!({"value": [note]}),
            });
        }
    }
}

fn expiry(row: &Row) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(row.text("expirationDateTime"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether `url` may receive notifications: https, or http on the loopback host.
fn acceptable_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => true,
        "http" => matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

/// A subscription's expiry read and checked for `kind`.
fn read_expiry(value: &Value, kind: Watch) -> Result<String, GraphErr> {
    let raw = value.as_str().unwrap_or("");
    let t = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            bad_request(
                "BadRequest",
                "expirationDateTime must be a date and time such as 2024-05-01T10:00:00Z.",
            )
        })?;
    let now = Utc::now();
    if t <= now {
        return Err(bad_request(
            "ExtensionError",
            "Subscription expiration must be in the future.",
        ));
    }
    if t > now + chrono::Duration::minutes(kind.max_minutes()) {
        return Err(bad_request(
            "ExtensionError",
            format!(
                "Subscription expiration can only be {} minutes in the future.",
                kind.max_minutes()
            ),
        ));
    }
    Ok(fmt_utc(t))
}

/// Validates `url` (and says so in Graph's words when it fails).
fn validated(shared: &Shared, url: &str, timeout: Duration) -> Result<(), GraphErr> {
    if !acceptable_url(url) {
        return Err(bad_request(
            "ValidationError",
            "The notification URL must be an https URL.",
        ));
    }
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        guid()
    );
    let http = shared.http.clone();
    let echoed = shared
        .runtime
        .block_on(validate(&http, url, &token, timeout));
    if echoed {
        Ok(())
    } else {
        Err(bad_request(
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
        ))
    }
}

/// `create_subscription` and `update_subscription`: checked, the
/// notification URL validated (without the store locked), then stored.
pub(super) fn write(shared: &Shared, req: &Req) -> Outcome {
    let timeout = shared.config.validation_timeout;
    if req.op.id == "update_subscription" {
        let id = req.param("subscription_id").to_string();
        let (kind, old_url) = shared.with_state(|s| {
            let row = s.subscription(&id)?;
            let kind = [
                Watch::Messages,
                Watch::Events,
                Watch::Contacts,
                Watch::Drive,
            ]
            .into_iter()
            .find(|k| k.name() == row.text("_watch"))
            .unwrap_or(Watch::Messages);
            let mine = match &req.caller {
                Caller::App => true,
                Caller::User(u) => row.text("creatorId") == u,
            };
            if mine {
                Ok((kind, row.text("notificationUrl").to_string()))
            } else {
                Err(not_found(&id))
            }
        })?;
        let expiry = match req.body.get("expirationDateTime") {
            Some(v) => Some(read_expiry(v, kind)?),
            None => None,
        };
        let url = req.field("notificationUrl").as_str().map(str::to_string);
        if let Some(url) = url.as_ref().filter(|u| **u != old_url) {
            validated(shared, url, timeout)?;
        }
        return shared.with_state(|s| {
            ok(s.subscriptions.update("", &id, |r| {
                if let Some(e) = expiry {
                    r.json.insert("expirationDateTime".into(), json!(e));
                }
                if let Some(u) = url {
                    r.json.insert("notificationUrl".into(), json!(u));
                }
            })?)
        });
    }
    let resource = req.text("resource").to_string();
    let (kind, owner, scope) = shared.with_state(|s| read_resource(s, &req.caller, &resource))?;
    let change_type = req.text("changeType").to_string();
    if change_type.is_empty()
        || !change_type
            .split(',')
            .all(|c| ["created", "updated", "deleted"].contains(&c.trim()))
    {
        return Err(bad_request(
            "ExtensionError",
            format!("'{change_type}' is not a change type (created, updated, deleted)."),
        ));
    }
    if kind == Watch::Drive && change_type.trim() != "updated" {
        return Err(bad_request(
            "ExtensionError",
            "Drive subscriptions only support the 'updated' change type.",
        ));
    }
    let expiry = read_expiry(req.field("expirationDateTime"), kind)?;
    let client_state = req.field("clientState").as_str().map(str::to_string);
    if client_state
        .as_ref()
        .is_some_and(|c| c.chars().count() > 128)
    {
        return Err(bad_request(
            "ExtensionError",
            "clientState must be at most 128 characters long.",
        ));
    }
    let url = req.text("notificationUrl").to_string();
    validated(shared, &url, timeout)?;
    let lifecycle = req
        .field("lifecycleNotificationUrl")
        .as_str()
        .map(str::to_string);
    if let Some(l) = &lifecycle {
        validated(shared, l, timeout)?;
    }
    let creator = match &req.caller {
        Caller::User(id) => id.clone(),
        Caller::App => String::new(),
    };
    let client_id = shared
        .config
        .client
        .as_ref()
        .map_or("sandbox-client", |c| c.0.as_str());
    let json = json!({
        "id": guid(),
        "resource": resource,
        "applicationId": client_id,
        "changeType": change_type,
        "clientState": client_state,
        "notificationUrl": url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": lifecycle,
        "expirationDateTime": expiry,
        "creatorId": creator,
        "includeResourceData": req.field("includeResourceData").as_bool().unwrap_or(false),
        "latestSupportedTlsVersion": req.field("latestSupportedTlsVersion").as_str().unwrap_or("v1_2"),
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
        "_watch": kind.name(),
        "_owner": owner,
        "_scope": scope.unwrap_or_default(),
        "_tenant": shared.config.tenant_id,
    });
    let stored = shared.with_state(|s| {
        s.subscriptions
            .insert("", "", json.as_object().cloned().unwrap_or_else(Map::new))
    });
    created(stored)
}
