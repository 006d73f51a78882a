//! The sandbox behind the engine: who is calling (the credential the spec's
//! security schemes point at, checked against the store), whether their
//! token's scopes allow the operation, the rate limits, the parameters and
//! body against the spec, then the operation's own code, chosen by its
//! operationId. Every answer carries `X-Zendesk-Request-Id`. Pages that
//! are not operations (the authorization page) and paths written without
//! (or with) the `.json` the spec's route has are answered from
//! [`Api::unrouted`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::errors::{Answer, Outcome, ZdErr, bad_json, ok, respond, violation};
use super::idempotency::{Lookup, Replays};
use super::jobs::{Work, bulk_items, queued};
use super::limits::Limits;
use super::oauth::permits;
use super::store::{Caller, Config, Ctx, ExportCursor, Kind, Store};
use super::webhooks::{Delivery, deliver};
use crate::runtime::spec::{ApiSpec, Location, Operation};
use crate::runtime::validate::Problem;
use crate::sandbox::engine::{self, Api, Call, PageTokens, Query, Request, Response};
use crate::zendesk::spec::API;

/// The server's state, shared by every request.
pub(super) struct Shared {
    pub(super) state: Mutex<Store>,
    pub(super) config: Config,
    /// `http://127.0.0.1:<port>`, set once the server listens.
    pub(super) root: OnceLock<String>,
    pub(super) exports: PageTokens<ExportCursor>,
    pub(super) limits: Limits,
    /// The answers of requests with an `Idempotency-Key`.
    pub(super) replays: Replays,
    pub(super) requests: AtomicU64,
    pub(super) token_requests: AtomicU64,
    /// Webhook requests whose endpoint answered 2xx.
    pub(super) delivered: Arc<AtomicU64>,
    /// The runtime the server was started on, for the webhook deliveries.
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) http: reqwest::Client,
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
            exports: &self.exports,
        }
    }

    /// Sends what the last operation queued, each from a task of its own.
    fn send_outbox(&self) {
        let outgoing = self.with_state(|s| std::mem::take(&mut s.outbox));
        for delivery in outgoing {
            let http = self.http.clone();
            let delivered = self.delivered.clone();
            self.runtime.spawn(async move {
                if deliver(&http, &delivery)
                    .await
                    .is_some_and(|(status, _, _)| (200..300).contains(&status))
                {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }
}

impl Api for Shared {
    fn spec(&self) -> &'static ApiSpec {
        &API
    }

    fn handle(&self, call: Call) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("{:016x}{:04x}", fastrand::u64(..), fastrand::u16(..));
        let response = if call.op.id == "request_token" {
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            let config = &self.config;
            let outcome =
                body_of(&call).and_then(|body| self.with_state(|s| s.token(config, &body)));
            respond(outcome)
                .with_header("cache-control", "no-store")
                .with_header("pragma", "no-cache")
        } else {
            self.operation(call)
        };
        self.send_outbox();
        response
            .with_header("x-zendesk-request-id", &request_id)
            .with_header("x-zendesk-api-version", "v2")
    }

    fn unrouted(&self, request: &Request) -> Option<Response> {
        if request.method == http::Method::GET && request.path == "/oauth/authorizations/new" {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let config = &self.config;
            return Some(self.with_state(|s| s.authorization_page(config, request)));
        }
        // Zendesk answers each path with or without `.json`.
        let other = match request.path.strip_suffix(".json") {
            Some(bare) => bare.to_string(),
            None => format!("{}.json", request.path),
        };
        let routed = API
            .operations
            .iter()
            .any(|op| op.method == request.method.as_str() && op.match_path(&other).is_some());
        if routed {
            let mut again = request.clone();
            again.path = other;
            return Some(engine::dispatch(self, again).1);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        Some(ZdErr::invalid_endpoint().into_response())
    }
}

impl Shared {
    /// Every `/api/v2` operation: credentials, scopes, limits, checks, then
    /// the operation; the rate-limit headers on whatever it answers.
    fn operation(&self, call: Call) -> Response {
        let config = &self.config;
        let caller = match self.with_state(|s| s.authenticate(config, call.credential.as_ref())) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        if !permits(&caller, call.op.tag, call.op.method) {
            return ZdErr::forbidden().into_response();
        }
        let counted = match self.limits.admit(call.op) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        let key = match self.replays.lookup(&call) {
            Lookup::Run(key) => key,
            Lookup::Replay(answer) => return counted.headers(answer),
            Lookup::Conflict(e) => return counted.headers(e.into_response()),
        };
        let (op, body) = (call.op.id, call.request.body.to_vec());
        let answer = respond(self.checked(call, caller));
        let answer = match key {
            Some(key) => self.replays.remember(op, key, body, answer),
            None => answer,
        };
        counted.headers(answer)
    }

    fn checked(&self, call: Call, caller: Caller) -> Outcome {
        if let Some(v) = &call.check {
            let in_path = call.op.parameter(Location::Path, &v.at).is_some();
            // Page sizes and numbers are read by the paging code, in its words.
            let lenient =
                !in_path && matches!(v.at.as_str(), "per_page" | "page[size]" | "page" | "limit");
            if !lenient {
                return Err(violation(v, in_path));
            }
        }
        let mut body = body_of(&call)?;
        let json_body = call.op.body.filter(|b| b.media == "application/json");
        if let (Some(spec), false) = (json_body, body.as_object().is_some_and(Map::is_empty)) {
            checked_body(&call, spec.schema, &mut body)?;
        }
        let req = Req {
            op: call.op,
            path: &call.request.path,
            params: call.path.clone(),
            query: &call.request.query,
            body,
            caller,
        };
        if req.op.id == "test_webhook" {
            return self.test_webhook(&req);
        }
        let ctx = self.ctx();
        self.with_state(|s| s.run(&ctx, &req))
    }

    /// `test_webhook`: sends the test request (outside the lock) and
    /// answers the endpoint's answer.
    fn test_webhook(&self, req: &Req<'_>) -> Outcome {
        let delivery: Delivery = self.with_state(|s| s.test_delivery(req))?;
        let answer = self.runtime.block_on(deliver(&self.http, &delivery));
        let (status, headers, payload) = answer.unwrap_or((0, Vec::new(), String::new()));
        let headers: Vec<Value> = headers
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        ok(json!({"response": {"status_code": status, "headers": headers, "payload": payload}}))
    }
}

/// Checks `body` against the spec's schema `schema`. A `null` where the
/// schema wants a value reads as absent (zenpy sends `"source_comment":
/// null` to merges), and is removed before the operation reads the body.
fn checked_body(call: &Call, schema: u32, body: &mut Value) -> Result<(), ZdErr> {
    for _ in 0..64 {
        match call.check_value(schema, body) {
            Ok(()) => return Ok(()),
            Err(v)
                if matches!(v.problem, Problem::WrongType { actual: "null", .. })
                    && remove(body, &v.path) => {}
            Err(v) => return Err(violation(&v, false)),
        }
    }
    Err(violation_of_nulls())
}

/// Too many nulls to read: refused as the body it is.
fn violation_of_nulls() -> ZdErr {
    super::errors::record_invalid("base", "InvalidValue", "the body has too many null values")
}

/// Removes the property at `path` from `value`; false if there is none.
fn remove(value: &mut Value, path: &[String]) -> bool {
    let Some((key, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for segment in parents {
        let next = match node {
            Value::Object(map) => map.get_mut(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    node.as_object_mut()
        .and_then(|map| map.remove(key))
        .is_some()
}

/// The body as JSON (form fields as JSON); none at all reads as `{}`.
fn body_of(call: &Call) -> Result<Value, ZdErr> {
    // A file upload: only its size is kept.
    if call
        .op
        .body
        .is_some_and(|b| b.media == "application/octet-stream")
    {
        return Ok(json!({"size": call.request.body.len()}));
    }
    match call.body() {
        Ok(Value::Null) => Ok(Value::Object(Map::new())),
        Ok(body) => Ok(body),
        Err(_) => Err(bad_json()),
    }
}

/// One operation's request as its code reads it.
pub(super) struct Req<'a> {
    /// The operation.
    pub(super) op: &'static Operation,
    /// The path as sent, for links to other pages.
    pub(super) path: &'a str,
    /// The path parameters, decoded.
    pub(super) params: Vec<(&'static str, String)>,
    /// The query.
    pub(super) query: &'a Query,
    /// The body (`{}` when there was none).
    pub(super) body: Value,
    /// Who is calling.
    pub(super) caller: Caller,
}

impl Req<'_> {
    /// A path parameter.
    pub(super) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A path parameter that is an id (404 when it cannot be one).
    pub(super) fn id(&self, name: &str) -> Result<u64, ZdErr> {
        self.param(name).parse().map_err(|_| ZdErr::not_found())
    }

    /// The values of a comma-separated parameter, or of a repeated
    /// `key[]` / `key`.
    pub(super) fn list(&self, key: &str) -> Vec<String> {
        let bracketed = format!("{key}[]");
        self.query
            .pairs()
            .iter()
            .filter(|(k, _)| *k == bracketed || k == key)
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The side-loads asked for: `include=users,groups`, and the
    /// type-scoped form `include=tickets(users,groups)`.
    pub(super) fn includes(&self) -> Vec<String> {
        self.query
            .get("include")
            .unwrap_or_default()
            .split([',', '(', ')'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl Store {
    /// Runs operation `req.op`.
    pub(super) fn run(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let caller = &req.caller;
        match req.op.id {
            "list_tickets" => {
                let external = req.query.get("external_id");
                let tickets: Vec<&Value> = self
                    .tickets
                    .values()
                    .filter(|t| external.is_none_or(|x| t["external_id"] == x))
                    .collect();
                self.ticket_page(ctx, req, tickets)
            }
            "create_ticket" => self.create_ticket(ctx, req),
            "create_ticket_async" => {
                let id = self.next_ticket_id();
                let job = self.queue_job(
                    ctx,
                    caller,
                    "create_ticket",
                    Work::CreateTicket(id, req.body["ticket"].clone()),
                );
                Ok(Answer::Accepted(
                    json!({"ticket": {"id": id}, "job_status": job}),
                ))
            }
            "get_ticket" => self.show_ticket(req, req.id("ticket_id")?),
            "update_ticket" => self.update_ticket(ctx, req),
            "delete_ticket" => self
                .delete_ticket_record(req.id("ticket_id")?)
                .map(|()| Answer::NoContent),
            "show_many_tickets" => self.show_many(ctx, req, Kind::Ticket),
            "create_many_tickets" => self.bulk_create(ctx, req, Kind::Ticket),
            "update_many_tickets" => self.bulk_update(ctx, req, Kind::Ticket),
            "destroy_many_tickets" => self.bulk_destroy(ctx, req, Kind::Ticket),
            "list_users" => self.list_people(ctx, req, Kind::User),
            "create_user" => self.create_person(ctx, req, Kind::User),
            "get_user" => self.show_person(req, Kind::User),
            "update_user" => self.update_person(ctx, req, Kind::User),
            "delete_user" => self.delete_person(ctx, req, Kind::User),
            "show_many_users" => self.show_many(ctx, req, Kind::User),
            "get_current_user" => self.current_user(caller),
            "create_many_users" => self.bulk_create(ctx, req, Kind::User),
            "create_or_update_user" => {
                let (id, created) = self.create_or_update_user(ctx, &req.body["user"])?;
                let user = json!({"user": self.users[&id]});
                Ok(if created {
                    Answer::Created(user, self.users[&id]["url"].as_str().map(str::to_string))
                } else {
                    Answer::Ok(user)
                })
            }
            "create_or_update_many_users" => {
                let items = bulk_items(&req.body, "users", "created or updated")?;
                queued(self.queue_job(
                    ctx,
                    caller,
                    "bulk_create_or_update_users",
                    Work::CreateOrUpdateUsers(items),
                ))
            }
            "update_many_users" => self.bulk_update(ctx, req, Kind::User),
            "destroy_many_users" => self.bulk_destroy(ctx, req, Kind::User),
            "search_users" => self.search_people(ctx, req, Kind::User),
            "list_organizations" => self.list_people(ctx, req, Kind::Organization),
            "create_organization" => self.create_person(ctx, req, Kind::Organization),
            "get_organization" => self.show_person(req, Kind::Organization),
            "update_organization" => self.update_person(ctx, req, Kind::Organization),
            "delete_organization" => self.delete_person(ctx, req, Kind::Organization),
            "show_many_organizations" => self.show_many(ctx, req, Kind::Organization),
            "create_many_organizations" => self.bulk_create(ctx, req, Kind::Organization),
            "update_many_organizations" => self.bulk_update(ctx, req, Kind::Organization),
            "destroy_many_organizations" => self.bulk_destroy(ctx, req, Kind::Organization),
            "search_organizations" => self.search_people(ctx, req, Kind::Organization),
            "list_groups" => self.list_people(ctx, req, Kind::Group),
            "create_group" => self.create_person(ctx, req, Kind::Group),
            "get_group" => self.show_person(req, Kind::Group),
            "update_group" => self.update_person(ctx, req, Kind::Group),
            "delete_group" => self.delete_person(ctx, req, Kind::Group),
            "search" => self.search(ctx, req),
            "count_search_results" => self.count_search(req),
            "export_search_results" => self.export_search(ctx, req),
            "incremental_tickets_cursor" | "incremental_users_cursor" => {
                self.export_by_cursor(ctx, req)
            }
            "incremental_tickets"
            | "incremental_users"
            | "incremental_organizations"
            | "incremental_ticket_events"
            | "incremental_ticket_metric_events" => self.export_by_time(ctx, req),
            "list_job_statuses" => self.list_job_statuses(ctx, req),
            "get_job_status" => self.get_job_status(ctx, req.param("job_status_id")),
            "show_many_job_statuses" => self.show_many_job_statuses(ctx, req),
            "list_webhooks" => self.list_webhooks(ctx, req),
            "create_webhook" => self.create_webhook(req),
            "get_webhook" => self.get_webhook(req),
            "update_webhook" => self.change_webhook(req, true),
            "patch_webhook" => self.change_webhook(req, false),
            "delete_webhook" => self.delete_webhook(req),
            "get_webhook_signing_secret" => self.signing_secret(req, false),
            "reset_webhook_signing_secret" => self.signing_secret(req, true),
            _ => self.more(ctx, req),
        }
    }

    /// `create_many_*`: a job creating each item.
    fn bulk_create(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let items = bulk_items(&req.body, kind.plural(), "created")?;
        let job = self.queue_job(
            ctx,
            &req.caller,
            &format!("bulk_create_{}", kind.plural()),
            Work::Create(kind, items),
        );
        queued(job)
    }

    /// `update_many_*`: `{"<plural>": [{id, ...}]}`, or `?ids=` (or
    /// `external_ids`) with one `{"<singular>": {...}}` for all.
    fn bulk_update(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let items = if req.body.get(kind.plural()).is_some() {
            bulk_items(&req.body, kind.plural(), "updated")?
        } else {
            let change = req.body[kind.singular()].clone();
            let ids = self.ids_of(req, kind);
            if ids.len() > super::jobs::MAX_ITEMS {
                return Err(super::errors::too_many_values(
                    kind.plural(),
                    "updated",
                    super::jobs::MAX_ITEMS,
                ));
            }
            ids.into_iter()
                .map(|id| {
                    let mut item = change.clone();
                    item["id"] = json!(id);
                    item
                })
                .collect()
        };
        let job = self.queue_job(
            ctx,
            &req.caller,
            &format!("bulk_update_{}", kind.plural()),
            Work::Update(kind, items),
        );
        queued(job)
    }

    /// `destroy_many_*`: `?ids=` (or `external_ids`).
    fn bulk_destroy(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, kind: Kind) -> Outcome {
        let ids = self.ids_of(req, kind);
        if ids.is_empty() {
            return Err(ZdErr::new(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                "ids is required",
            ));
        }
        if ids.len() > super::jobs::MAX_ITEMS {
            return Err(super::errors::too_many_values(
                kind.plural(),
                "deleted",
                super::jobs::MAX_ITEMS,
            ));
        }
        let job = self.queue_job(
            ctx,
            &req.caller,
            &format!("bulk_delete_{}", kind.plural()),
            Work::Destroy(kind, ids),
        );
        queued(job)
    }

    /// The ids of `?ids=`, or of the records with `?external_ids=`.
    fn ids_of(&self, req: &Req<'_>, kind: Kind) -> Vec<u64> {
        let mut ids: Vec<u64> = req
            .list("ids")
            .iter()
            .filter_map(|i| i.parse().ok())
            .collect();
        let externals = req.list("external_ids");
        ids.extend(
            self.records(kind)
                .values()
                .filter(|r| {
                    r["external_id"]
                        .as_str()
                        .is_some_and(|x| externals.iter().any(|e| e == x))
                })
                .filter_map(|r| r["id"].as_u64()),
        );
        ids
    }
}
