//! The sandbox behind the engine: the request's ids, who is calling (the
//! bearer token the spec's security scheme points at, checked against the
//! store), the rate limit, the parameters and the body against the spec,
//! then the operation's own code. URLs that are no operation of the spec
//! (upload sessions, copy monitors, downloads, the authorization page) are
//! answered from [`Api::unrouted`]; any other is Graph's 400.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::errors::{GraphErr, Outcome, access_denied, bad_request, unauthenticated, violation};
use super::notify;
use super::pages::Cursor;
use super::store::{Caller, Config, Store, guid};
use super::{batch, oauth, subscriptions, upload};
use crate::graph::spec::API;
use crate::runtime::spec::{ApiSpec, Operation};
use crate::runtime::validate::{self, Problem};
use crate::sandbox::engine::{
    Api, AppRateLimit, Call, Faults, PageTokens, Query, Request, Response,
};

/// The server's state, shared by every request.
pub(super) struct Shared {
    pub(super) state: Mutex<Store>,
    pub(super) config: Config,
    /// `http://127.0.0.1:<port>`, set once the server listens.
    pub(super) root: OnceLock<String>,
    /// The engine's faults, also applied to the items of a batch.
    pub(super) faults: OnceLock<Arc<Faults>>,
    /// The page and delta tokens handed out in next and delta links.
    pub(super) pages: PageTokens<Cursor>,
    /// Requests beyond `limit` per window answer 429: (limit, window).
    pub(super) rate: AppRateLimit,
    pub(super) requests: AtomicU64,
    pub(super) token_requests: AtomicU64,
    pub(super) refreshes: AtomicU64,
    /// Change notifications the subscribers answered with 2xx.
    pub(super) delivered: Arc<AtomicU64>,
    /// The runtime the server was started on (validation requests and
    /// notifications are sent on it).
    pub(super) runtime: tokio::runtime::Handle,
    /// The HTTP client of validation requests and notifications.
    pub(super) http: reqwest::Client,
}

/// What an operation needs besides the state.
pub(super) struct Ctx<'a> {
    pub(super) config: &'a Config,
    /// `http://127.0.0.1:<port>`.
    pub(super) root: &'a str,
    pub(super) pages: &'a PageTokens<Cursor>,
}

impl Shared {
    /// Runs `f` on the state; the lock is never held across an `.await`.
    pub(super) fn with_state<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            config: &self.config,
            root: self.root.get().map_or("http://127.0.0.1", String::as_str),
            pages: &self.pages,
        }
    }

    /// A new rate-limit window, starting now.
    pub(super) fn reset_rate_limit(&self) {
        self.rate.reset();
    }

    /// Counts a request against the rate limit: 429 beyond it, with the
    /// whole seconds left in the window (at least 1) in `Retry-After`.
    pub(super) fn rate_check(&self) -> Result<(), GraphErr> {
        self.rate.check().map_err(GraphErr::throttled)
    }

    /// The caller of a request with `credential` (a bearer token).
    pub(super) fn authenticate(&self, credential: Option<&str>) -> Result<Caller, GraphErr> {
        let token = credential
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("Access token is empty."))?;
        self.with_state(|state| {
            let row = state.access_tokens.get(token).ok_or_else(|| {
                unauthenticated("Access token validation failure. Invalid audience.")
            })?;
            if row.expires_at <= chrono::Utc::now() {
                return Err(unauthenticated(
                    "Lifetime validation failed, the token is expired.",
                ));
            }
            Ok(row.caller.clone())
        })
    }

    /// Sends the notifications the last operation queued, each from a task
    /// of its own on the server's runtime.
    pub(super) fn send_outbox(&self) {
        let outgoing = self.with_state(|state| std::mem::take(&mut state.outbox));
        for note in outgoing {
            let (http, delivered) = (self.http.clone(), self.delivered.clone());
            self.runtime.spawn(async move {
                if notify::deliver(&http, &note).await {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }

    /// Stamps the request's ids on an answer, or on the error it became.
    fn finish(&self, outcome: Outcome, headers: &HeaderMap) -> Response {
        let request_id = guid();
        let client_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok());
        let answer = match outcome {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(status = %e.status, code = %e.code, "graph sandbox refused a request");
                e.into_response(&request_id, client_id)
            }
        };
        let mut answer = answer.with_header("request-id", &request_id);
        if let Some(c) = client_id {
            answer = answer.with_header("client-request-id", c);
        }
        answer
    }

    /// The answer of a routed request.
    fn answer(&self, call: Call) -> Outcome {
        match call.op.id {
            "request_token" => {
                self.token_requests.fetch_add(1, Ordering::Relaxed);
                self.rate_check()?;
                let body = call.body().map_err(|_| bad_body())?;
                let ctx = self.ctx();
                let path = &call.request.path;
                let answer =
                    self.with_state(|s| oauth::token(s, &ctx, path, &body, &self.refreshes))?;
                Ok(answer
                    .with_header("cache-control", "no-store")
                    .with_header("pragma", "no-cache"))
            }
            "request_device_code" => {
                let body = call.body().map_err(|_| bad_body())?;
                let ctx = self.ctx();
                self.with_state(|s| oauth::device_code(s, &ctx, &call.request.path, &body))
            }
            _ => {
                let caller = self.authenticate(call.credential.as_ref().map(|c| c.1.as_str()))?;
                self.rate_check()?;
                let req = Req::new(&call, caller)?;
                match call.op.id {
                    "batch" => batch::run(self, &req),
                    "create_subscription" | "update_subscription" => {
                        subscriptions::write(self, &req)
                    }
                    _ => {
                        let ctx = self.ctx();
                        self.with_state(|s| s.run(&ctx, &req))
                    }
                }
            }
        }
    }
}

impl Api for Shared {
    fn spec(&self) -> &'static ApiSpec {
        &API
    }

    fn base_path_of(&self, op: &'static Operation) -> &str {
        if on_login_host(op) { "" } else { "/v1.0" }
    }

    /// Graph's operations answer below `/beta` too, as below `/v1.0` (the
    /// client's `ApiVersion::Beta`): the sandbox models v1.0 only.
    fn other_base_paths_of(&self, op: &'static Operation) -> &[&str] {
        if on_login_host(op) { &[] } else { &["/beta"] }
    }

    fn fault_answer(&self, status: StatusCode, retry_after: Option<u64>) -> Response {
        let e = match retry_after {
            Some(secs) if status == StatusCode::TOO_MANY_REQUESTS => GraphErr::throttled(secs),
            _ => GraphErr {
                retry_after,
                ..GraphErr::new(status, "serviceNotAvailable", "Injected fault.")
            },
        };
        self.finish(Err(e), &HeaderMap::new())
    }

    fn handle(&self, call: Call) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let headers = call.request.headers.clone();
        let answer = self.answer(call);
        let answer = self.finish(answer, &headers);
        self.send_outbox();
        answer
    }

    fn unrouted(&self, request: &Request) -> Option<Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = if request.path.starts_with("/_upload/") {
            upload::session_request(self, request)
        } else if request.path.starts_with("/_monitor/") {
            let ctx = self.ctx();
            self.with_state(|s| s.monitor(&ctx, request))
        } else if request.path.starts_with("/_download/") {
            self.with_state(|s| s.download_by_token(request))
        } else if request.path.ends_with("/oauth2/v2.0/authorize") {
            self.with_state(|s| oauth::authorize_page(s, &self.config, request))
        } else {
            Err(unknown_segment(&request.path))
        };
        let answer = self.finish(outcome, &request.headers);
        self.send_outbox();
        Some(answer)
    }
}

/// Whether `op` is the identity platform's (on the login host's paths).
fn on_login_host(op: &Operation) -> bool {
    op.extension("x-specbound-host") == Some("\"login\"")
}

/// Graph's 400 for a path it has no resource for.
fn unknown_segment(path: &str) -> GraphErr {
    let segment = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
    bad_request(
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

/// 400 for a body that is not JSON.
pub(super) fn bad_body() -> GraphErr {
    bad_request(
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
    )
}

/// One operation's request as its code reads it (a batch item is one too).
pub(super) struct Req {
    pub(super) op: &'static Operation,
    pub(super) path: Vec<(&'static str, String)>,
    pub(super) query: Query,
    pub(super) headers: HeaderMap,
    /// The body as sent.
    pub(super) raw: Bytes,
    /// The JSON body, checked against the spec (`Null` when there is none).
    pub(super) body: Value,
    pub(super) caller: Caller,
    /// The request's path as sent (below the server's root), for next links.
    pub(super) url_path: String,
}

impl Req {
    /// Reads `call` for `caller`: 400 for a parameter the spec refuses, a
    /// body that is not JSON or that the spec's schema refuses.
    pub(super) fn new(call: &Call, caller: Caller) -> Result<Req, GraphErr> {
        if let Some(v) = &call.check {
            return Err(violation(v));
        }
        let body = match call.op.body {
            Some(spec) if spec.media == "application/json" => {
                let mut body = call.body().map_err(|_| bad_body())?;
                if !body.is_null() {
                    check_body(spec.schema, &mut body)?;
                }
                body
            }
            _ => Value::Null,
        };
        Ok(Req {
            op: call.op,
            path: call.path.clone(),
            query: call.request.query.clone(),
            headers: call.request.headers.clone(),
            raw: call.request.body.clone(),
            body,
            caller,
            url_path: call.request.path.clone(),
        })
    }

    /// A path parameter.
    pub(super) fn param(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A header's value as text.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter.
    pub(super) fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// The body's property `key`.
    pub(super) fn field(&self, key: &str) -> &Value {
        self.body.get(key).unwrap_or(&Value::Null)
    }

    /// The body's string property `key`; empty when absent or not a string.
    pub(super) fn text(&self, key: &str) -> &str {
        self.field(key).as_str().unwrap_or("")
    }

    /// The user a `mailbox`, `calendar_owner` or `owner` path value names:
    /// `me` (the signed-in user) or `users/{id or principal name}`. A user
    /// reaches only their own mailbox; the application reaches every one.
    pub(super) fn user(&self, store: &Store, param: &str) -> Result<String, GraphErr> {
        self.user_named(store, self.param(param))
    }

    /// Whether the operation has the path parameter `name`.
    pub(super) fn has_param(&self, name: &str) -> bool {
        self.op
            .parameter(crate::runtime::spec::Location::Path, name)
            .is_some()
    }

    /// The user `raw` names (`me` or `users/{id or principal name}`), as
    /// [`Req::user`] reads a path parameter.
    pub(super) fn user_named(&self, store: &Store, raw: &str) -> Result<String, GraphErr> {
        let id = if raw == "me" {
            match &self.caller {
                Caller::User(id) => id.clone(),
                Caller::App => {
                    return Err(bad_request(
                        "BadRequest",
                        "/me request is only valid with delegated authentication flow.",
                    ));
                }
            }
        } else if let Some(key) = raw.strip_prefix("users/") {
            let key = decode(key);
            store.user(&key).map(|u| u.id.clone()).ok_or_else(|| {
                GraphErr::new(
                    StatusCode::NOT_FOUND,
                    "ErrorInvalidUser",
                    format!("The requested user '{key}' is invalid."),
                )
            })?
        } else {
            return Err(GraphErr::new(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
                    decode(raw.rsplit('/').next().unwrap_or(raw))
                ),
            ));
        };
        match &self.caller {
            Caller::User(me) if *me != id => Err(access_denied()),
            _ => Ok(id),
        }
    }
}

/// `%2F` and friends decoded (a path value spanning segments keeps its
/// encoding through the router).
pub(super) fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Checks a JSON body against the spec's schema `schema`. A boolean
/// written as the string `"true"` or `"false"` is read as the boolean, as
/// Graph reads it (O365 writes `"isOnlineMeeting": "false"`).
pub(super) fn check_body(schema: u32, body: &mut Value) -> Result<(), GraphErr> {
    for _ in 0..64 {
        let v = match validate::value(&API, schema, body, &[]) {
            Ok(()) => return Ok(()),
            Err(v) => v,
        };
        let text_bool = matches!(
            v.problem,
            Problem::WrongType {
                expected: "boolean",
                actual: "string"
            }
        );
        let slot = text_bool.then(|| at_path(body, &v.path)).flatten();
        match slot {
            Some(slot) => {
                let flag = slot.as_str().map(str::to_ascii_lowercase);
                match flag.as_deref() {
                    Some("true") => *slot = Value::Bool(true),
                    Some("false") => *slot = Value::Bool(false),
                    _ => return Err(violation(&v)),
                }
            }
            None => return Err(violation(&v)),
        }
    }
    Err(bad_body())
}

/// The value at `path` (property names and indices) in `value`.
fn at_path<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut node = value;
    for segment in path {
        node = match node {
            Value::Object(map) => map.get_mut(segment)?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

impl Store {
    /// Runs operation `req.op` (a batch item runs through here too).
    pub(super) fn run(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        match req.op.tag {
            "mail" => self.mail(ctx, req),
            "calendar" => self.calendar(ctx, req),
            "contacts" => self.contacts(ctx, req),
            "drive" => self.drive(ctx, req),
            "sites" => self.sites(ctx, req),
            "notifications" => self.subscriptions(ctx, req),
            other => Err(not_implemented(other, req.op.id)),
        }
    }
}

/// 501 for an operation the sandbox does not answer (none, as its tests check).
pub(super) fn not_implemented(area: &str, id: &str) -> GraphErr {
    tracing::warn!(
        area,
        operation = id,
        "the graph sandbox does not answer this operation"
    );
    GraphErr::new(
        StatusCode::NOT_IMPLEMENTED,
        "notSupported",
        format!("The sandbox does not answer `{id}`."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::engine::PageTokens;

    #[test]
    fn every_operation_of_the_spec_is_answered() {
        let config = Config::for_tests();
        let pages = PageTokens::default();
        let ctx = Ctx {
            config: &config,
            root: "http://127.0.0.1",
            pages: &pages,
        };
        let mut store = Store::default();
        let user = super::super::store::UserRow {
            id: "u1".into(),
            principal: "adele@contoso.com".into(),
            name: "Adele Vance".into(),
            drive_id: "b!drive".into(),
        };
        store.users.push(user.clone());
        store.seed_mailbox(&user, 1);
        store.seed_calendar(&user);
        store.seed_contacts(&user);
        store.seed_drive(&user.id, &user.drive_id, "OneDrive", Value::Null);
        store.seed_sites();
        for op in API.operations {
            // Answered outside `run`: they need the network or the whole server.
            if matches!(
                op.id,
                "request_token"
                    | "request_device_code"
                    | "batch"
                    | "create_subscription"
                    | "update_subscription"
            ) {
                continue;
            }
            let path = op
                .parameters
                .iter()
                .filter(|p| p.location == crate::runtime::spec::Location::Path)
                .map(|p| {
                    let value = match p.name {
                        "mailbox" | "calendar_owner" | "owner" => "me",
                        "calendar" => "me/calendar",
                        "drive" => "me/drive",
                        "item" => "root",
                        "site_id" => "root",
                        _ => "x",
                    };
                    (p.name, value.to_string())
                })
                .collect();
            let req = Req {
                op,
                path,
                query: Query::default(),
                headers: HeaderMap::new(),
                raw: Bytes::new(),
                body: Value::Null,
                caller: Caller::User("u1".into()),
                url_path: "/v1.0/x".into(),
            };
            let status = store.run(&ctx, &req).err().map(|e| e.status);
            assert_ne!(status, Some(StatusCode::NOT_IMPLEMENTED), "{}", op.id);
        }
    }
}
