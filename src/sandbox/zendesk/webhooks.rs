//! Webhooks: create, list (cursor paging, `filter[name_contains]`,
//! `filter[status]`, `sort`), show, replace, patch, delete, the signing
//! secret (show, reset), the test request; and the deliveries.
//!
//! When a ticket is created or changed, each active webhook subscribed to
//! the event (`zen:event-type:ticket.created`, `...ticket.status_changed`,
//! `...priority_changed`, `...subject_changed`, `...tags_changed`,
//! `...comment_added`, `...agent_assignment_changed`,
//! `...group_assignment_changed`), or to `conditional_ticket_events` (as if
//! a trigger notified it of every change), gets the event in Zendesk's
//! event format, sent with the webhook's method, its authentication and
//! custom headers, and signed as Zendesk signs: `X-Zendesk-Webhook-Signature`
//! is the base64 HMAC-SHA256, keyed with the signing secret, of
//! `X-Zendesk-Webhook-Signature-Timestamp` followed by the body.
//! Deliveries leave from a task of the server's runtime once the operation
//! has been answered; failures are not retried.
//!
//! Credentials sent in `authentication.data` are kept for the deliveries and
//! never answered. Missing or invalid properties are 400 in the webhooks
//! API's `{"errors": [{code, title, source}]}` form (*unverified* codes).

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok};
use super::paging;
use super::store::{ACCOUNT_ID, Ctx, Store, now, stamp};

/// How long an endpoint may take to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const FORMATS: [&str; 3] = ["json", "xml", "form_encoded"];
const STATUSES: [&str; 2] = ["active", "inactive"];

/// A webhook: what the API answers, and what it keeps to itself.
#[derive(Clone, Debug)]
pub(super) struct WebhookRow {
    id: String,
    record: Value,
    /// `authentication` as sent, credentials included.
    authentication: Option<Value>,
    secret: String,
}

/// A request to send to a webhook's endpoint.
#[derive(Clone, Debug)]
pub(super) struct Delivery {
    pub(super) url: String,
    pub(super) method: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

/// A new random signing secret (base64 of 32 random bytes).
fn new_secret() -> String {
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A ULID-shaped id (26 characters of Crockford's base32).
fn new_ulid() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..26)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// `HMAC-SHA256(secret, timestamp + body)`, base64.
pub(super) fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A 400 of the webhooks API on `field`.
fn invalid(field: &str, title: &str) -> ZdErr {
    ZdErr {
        status: StatusCode::BAD_REQUEST,
        body: json!({"errors": [{"code": "InvalidInput", "title": title, "source": {"pointer": format!("/webhook/{field}")}}]}),
        retry_after: None,
    }
}

/// Checks the properties of a webhook (all required ones when `whole`).
fn check(input: &Map<String, Value>, whole: bool) -> Result<(), ZdErr> {
    for field in [
        "name",
        "endpoint",
        "http_method",
        "request_format",
        "status",
    ] {
        match input.get(field) {
            None | Some(Value::Null) if whole => {
                return Err(invalid(field, &format!("{field} is required")));
            }
            Some(v) if !v.is_string() && !v.is_null() => {
                return Err(invalid(field, &format!("{field} must be a string")));
            }
            _ => {}
        }
    }
    let text = |k: &str| input.get(k).and_then(Value::as_str);
    if let Some(endpoint) = text("endpoint")
        && !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return Err(invalid("endpoint", "endpoint must be an http or https URL"));
    }
    for (field, allowed) in [
        ("http_method", &METHODS[..]),
        ("request_format", &FORMATS[..]),
        ("status", &STATUSES[..]),
    ] {
        if let Some(v) = text(field)
            && !allowed.contains(&v)
        {
            return Err(invalid(
                field,
                &format!("{field} must be one of {}", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `authentication` without its secrets, as answers show it.
fn redacted(authentication: &Value) -> Value {
    let mut shown = authentication.clone();
    if let Some(data) = shown.get_mut("data").and_then(Value::as_object_mut) {
        for secret in ["password", "token", "value"] {
            data.remove(secret);
        }
    }
    shown
}

impl WebhookRow {
    fn apply(&mut self, input: &Map<String, Value>) {
        for field in [
            "name",
            "description",
            "status",
            "subscriptions",
            "endpoint",
            "http_method",
            "request_format",
            "custom_headers",
        ] {
            if let Some(v) = input.get(field) {
                self.record[field] = v.clone();
            }
        }
        if let Some(auth) = input.get("authentication") {
            self.authentication = (!auth.is_null()).then(|| auth.clone());
            self.record["authentication"] =
                self.authentication.as_ref().map_or(Value::Null, redacted);
        }
    }

    /// The headers of a request to this webhook: authentication, custom headers.
    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        if let Some(auth) = &self.authentication {
            let data = &auth["data"];
            match auth["type"].as_str() {
                Some("basic_auth") => {
                    let pair = format!(
                        "{}:{}",
                        data["username"].as_str().unwrap_or_default(),
                        data["password"].as_str().unwrap_or_default()
                    );
                    headers.push((
                        "authorization".into(),
                        format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(pair)
                        ),
                    ));
                }
                Some("bearer_token") => headers.push((
                    "authorization".into(),
                    format!("Bearer {}", data["token"].as_str().unwrap_or_default()),
                )),
                Some("api_key") => {
                    if let (Some(name), Some(value)) =
                        (data["name"].as_str(), data["value"].as_str())
                    {
                        headers.push((name.to_string(), value.to_string()));
                    }
                }
                _ => {}
            }
        }
        for (k, v) in self.record["custom_headers"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(v) = v.as_str() {
                headers.push((k.clone(), v.to_string()));
            }
        }
        headers
    }

    /// A signed request of `body` to this webhook.
    fn delivery(&self, body: &Value) -> Delivery {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let timestamp = stamp(now());
        let mut headers = self.headers();
        headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
        headers.push(("user-agent".into(), "Zendesk Webhook".into()));
        headers.push(("x-zendesk-webhook-id".into(), self.id.clone()));
        headers.push((
            "x-zendesk-webhook-invocation-id".into(),
            fastrand::u64(..).to_string(),
        ));
        headers.push((
            "x-zendesk-webhook-signature".into(),
            signature(&self.secret, &timestamp, &bytes),
        ));
        headers.push(("x-zendesk-webhook-signature-timestamp".into(), timestamp));
        Delivery {
            url: self.record["endpoint"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            method: self.record["http_method"]
                .as_str()
                .unwrap_or("POST")
                .to_string(),
            headers,
            body: bytes,
        }
    }
}

impl Store {
    fn webhook(&self, id: &str) -> Result<usize, ZdErr> {
        self.webhooks
            .iter()
            .position(|w| w.id == id)
            .ok_or_else(ZdErr::not_found)
    }

    /// `list_webhooks`.
    pub(super) fn list_webhooks(&self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let contains = req
            .query
            .get("filter[name_contains]")
            .map(str::to_lowercase);
        let status = req.query.get("filter[status]");
        let items: Vec<Value> = self
            .webhooks
            .iter()
            .map(|w| w.record.clone())
            .filter(|r| {
                contains.as_ref().is_none_or(|c| {
                    r["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(c.as_str()))
                })
            })
            .filter(|r| status.is_none_or(|s| r["status"] == s))
            .collect();
        ok(Value::Object(paging::page(ctx.root, req, items)?))
    }

    /// `create_webhook`: 201.
    pub(super) fn create_webhook(&mut self, req: &Req<'_>) -> Outcome {
        let input = req.body["webhook"].as_object().cloned().unwrap_or_default();
        check(&input, true)?;
        let id = new_ulid();
        let mut row = WebhookRow {
            id: id.clone(),
            record: json!({"id": id, "description": "", "subscriptions": [], "created_at": stamp(now()),
                "created_by": req.caller.user_id.to_string()}),
            authentication: None,
            secret: input
                .get("signing_secret")
                .and_then(|s| s["secret"].as_str())
                .map_or_else(new_secret, str::to_string),
        };
        row.apply(&input);
        let record = row.record.clone();
        self.webhooks.push(row);
        Ok(Answer::Created(json!({"webhook": record}), None))
    }

    /// `get_webhook`.
    pub(super) fn get_webhook(&self, req: &Req<'_>) -> Outcome {
        let i = self.webhook(req.param("webhook_id"))?;
        ok(json!({"webhook": self.webhooks[i].record}))
    }

    /// `update_webhook` (every required property) and `patch_webhook` (some): 204.
    pub(super) fn change_webhook(&mut self, req: &Req<'_>, whole: bool) -> Outcome {
        let i = self.webhook(req.param("webhook_id"))?;
        let input = req.body["webhook"].as_object().cloned().unwrap_or_default();
        check(&input, whole)?;
        let row = &mut self.webhooks[i];
        row.apply(&input);
        row.record["updated_at"] = json!(stamp(now()));
        row.record["updated_by"] = json!(req.caller.user_id.to_string());
        Ok(Answer::NoContent)
    }

    /// `delete_webhook`: 204.
    pub(super) fn delete_webhook(&mut self, req: &Req<'_>) -> Outcome {
        let i = self.webhook(req.param("webhook_id"))?;
        self.webhooks.remove(i);
        Ok(Answer::NoContent)
    }

    /// `get_webhook_signing_secret`, and `reset_webhook_signing_secret` (201).
    pub(super) fn signing_secret(&mut self, req: &Req<'_>, reset: bool) -> Outcome {
        let i = self.webhook(req.param("webhook_id"))?;
        if reset {
            self.webhooks[i].secret = new_secret();
        }
        let body =
            json!({"signing_secret": {"secret": self.webhooks[i].secret, "algorithm": "SHA256"}});
        Ok(if reset {
            Answer::Created(body, None)
        } else {
            Answer::Ok(body)
        })
    }

    /// The request `test_webhook` sends: the stored webhook (`?webhook_id=`)
    /// with the body's `request` fields over it.
    pub(super) fn test_delivery(&self, req: &Req<'_>) -> Result<Delivery, ZdErr> {
        let request = req.body["request"].as_object().cloned().unwrap_or_default();
        let mut row = match req.query.get("webhook_id") {
            Some(id) => self.webhooks[self.webhook(id)?].clone(),
            None => WebhookRow {
                id: "test".into(),
                record: json!({"http_method": "POST"}),
                authentication: None,
                secret: new_secret(),
            },
        };
        row.apply(&request);
        if row.record["endpoint"].as_str().is_none() {
            return Err(invalid("endpoint", "endpoint is required"));
        }
        let payload = request.get("payload").and_then(Value::as_str).map_or_else(
            || json!({"type": "zen:event-type:webhook.test", "time": stamp(now())}),
            |p| serde_json::from_str(p).unwrap_or_else(|_| json!(p)),
        );
        let mut delivery = row.delivery(&payload);
        for h in request
            .get("headers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(k), Some(v)) = (h["key"].as_str(), h["value"].as_str()) {
                delivery.headers.push((k.to_string(), v.to_string()));
            }
        }
        Ok(delivery)
    }

    /// Queues the events of a ticket change (`before` is null for a
    /// creation) for the webhooks subscribed to them.
    pub(super) fn queue_ticket_events(&mut self, before: &Value, after: &Value, created: bool) {
        if !self.webhooks.iter().any(|w| w.record["status"] == "active") {
            return;
        }
        let mut events: Vec<(&str, Value)> = Vec::new();
        if created {
            events.push(("ticket.created", json!({"meta": {"sequence": {"id": fastrand::u64(..).to_string(), "position": 1, "total": 1}}})));
        } else {
            let upper = |v: &Value| v.as_str().map_or(Value::Null, |s| json!(s.to_uppercase()));
            for (field, kind, shape) in [
                ("status", "ticket.status_changed", true),
                ("priority", "ticket.priority_changed", true),
                ("subject", "ticket.subject_changed", false),
                ("assignee_id", "ticket.agent_assignment_changed", false),
                ("group_id", "ticket.group_assignment_changed", false),
            ] {
                if before[field] != after[field] {
                    let (current, previous) = if shape {
                        (upper(&after[field]), upper(&before[field]))
                    } else {
                        (id_text(&after[field]), id_text(&before[field]))
                    };
                    events.push((kind, json!({"current": current, "previous": previous})));
                }
            }
            if before["tags"] != after["tags"] {
                let set = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                };
                let (old, new) = (set(&before["tags"]), set(&after["tags"]));
                let added: Vec<&String> = new.iter().filter(|t| !old.contains(t)).collect();
                let removed: Vec<&String> = old.iter().filter(|t| !new.contains(t)).collect();
                events.push((
                    "ticket.tags_changed",
                    json!({"tags_added": added, "tags_removed": removed}),
                ));
            }
            let id = after["id"].as_u64().unwrap_or(0);
            if let Some(comment) = self
                .audits
                .last()
                .filter(|a| a["ticket_id"] == id)
                .and_then(|a| {
                    a["events"]
                        .as_array()
                        .and_then(|e| e.iter().find(|e| e["type"] == "Comment").cloned())
                })
            {
                events.push(("ticket.comment_added", json!({"comment": {"id": id_text(&comment["id"]), "body": comment["body"],
                    "is_public": comment["public"], "author": {"id": id_text(&comment["author_id"])}}})));
            }
        }
        let detail = ticket_detail(after);
        for (kind, event) in events {
            let full = format!("zen:event-type:{kind}");
            let body = json!({
                "account_id": ACCOUNT_ID, "detail": detail, "event": event,
                "id": format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
                "subject": format!("zen:ticket:{}", after["id"]), "time": stamp(now()), "type": full,
                "zendesk_event_version": "2022-11-06",
            });
            let targets: Vec<Delivery> = self
                .webhooks
                .iter()
                .filter(|w| w.record["status"] == "active")
                .filter(|w| {
                    w.record["subscriptions"].as_array().is_some_and(|s| {
                        s.iter()
                            .any(|x| x == full.as_str() || x == "conditional_ticket_events")
                    })
                })
                .map(|w| w.delivery(&body))
                .collect();
            self.outbox.extend(targets);
        }
    }
}

/// An id as the event format writes it (text), or null.
fn id_text(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// A ticket as the event format's `detail` shows it.
fn ticket_detail(ticket: &Value) -> Value {
    let upper = |k: &str| {
        ticket[k]
            .as_str()
            .map_or(Value::Null, |s| json!(s.to_uppercase()))
    };
    json!({
        "id": id_text(&ticket["id"]), "subject": ticket["subject"], "description": ticket["description"],
        "status": upper("status"), "priority": upper("priority"), "type": upper("type"),
        "requester_id": id_text(&ticket["requester_id"]), "submitter_id": id_text(&ticket["submitter_id"]),
        "assignee_id": id_text(&ticket["assignee_id"]), "organization_id": id_text(&ticket["organization_id"]),
        "group_id": id_text(&ticket["group_id"]), "brand_id": id_text(&ticket["brand_id"]),
        "created_at": ticket["created_at"], "updated_at": ticket["updated_at"], "tags": ticket["tags"],
        "via": {"channel": ticket["via"]["channel"]}, "is_public": ticket["is_public"],
        "external_id": ticket["external_id"],
    })
}

/// Sends `delivery`; the endpoint's answer (status, headers, body), or
/// `None` when it could not be reached. Failures are logged without the URL.
pub(super) async fn deliver(
    http: &reqwest::Client,
    delivery: &Delivery,
) -> Option<(u16, Vec<(String, String)>, String)> {
    let method =
        reqwest::Method::from_bytes(delivery.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = http
        .request(method.clone(), &delivery.url)
        .timeout(DELIVERY_TIMEOUT);
    for (k, v) in &delivery.headers {
        request = request.header(k.as_str(), v.as_str());
    }
    if method != reqwest::Method::GET {
        request = request.body(delivery.body.clone());
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let headers = answer
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let mut body = answer.text().await.unwrap_or_default();
            body.truncate(16 * 1024);
            Some((status, headers, body))
        }
        Err(e) => {
            tracing::debug!(error = %e.without_url(), "zendesk sandbox: webhook delivery failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_then_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature("Jefe", "what do ya want ", b"for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        let mut input = Map::new();
        input.insert("name".into(), json!("n"));
        assert_eq!(
            check(&input, true).unwrap_err().body["errors"][0]["source"]["pointer"],
            "/webhook/endpoint"
        );
        assert!(check(&input, false).is_ok());
        let shown =
            redacted(&json!({"type": "basic_auth", "data": {"username": "u", "password": "p"}}));
        assert_eq!(
            shown,
            json!({"type": "basic_auth", "data": {"username": "u"}})
        );
    }
}
