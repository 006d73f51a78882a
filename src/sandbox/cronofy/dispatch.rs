//! The sandbox behind the engine: who is calling (the bearer token the
//! spec's security schemes point at, checked against the store), the rate
//! limit, the body, then the operation's own code. Pages that are not
//! operations of the spec (the authorization page, elevated permissions,
//! scheduling links) are answered from [`Api::unrouted`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::accounts;
use super::errors::{
    ApiErr, NOT_A_TIME_ZONE, NOT_A_WEB_URL, Outcome, bad_json, invalid, ok, respond, server_error,
    violation,
};
use super::form;
use super::notify;
use super::store::{Caller, Config, Ctx, Store};
use crate::cronofy::checks;
use crate::cronofy::spec::API;
use crate::runtime::spec::{ApiSpec, Kind, Location, Operation};
use crate::runtime::validate::{self, FormatCheck, Problem, Violation};
use crate::sandbox::engine::{Api, AppRateLimit, Call, PageTokens, Query, Request, Response};

/// The spec's custom formats, in the sandbox's words (see [`violation`]).
static FORMATS: &[(&str, FormatCheck)] = &[("tzid", tzid_format), ("uri", uri_format)];

/// The client's `tzid` check, in the server's words.
fn tzid_format(value: &str) -> Result<(), String> {
    checks::tzid(value).map_err(|_| NOT_A_TIME_ZONE.to_string())
}

/// The client's `uri` check, in the server's words.
fn uri_format(value: &str) -> Result<(), String> {
    checks::web_url(value).map_err(|_| NOT_A_WEB_URL.to_string())
}

/// The server's state, shared by every request.
pub(super) struct Shared {
    pub(super) state: Mutex<Store>,
    pub(super) config: Config,
    /// `http://127.0.0.1:<port>`, set once the server listens.
    pub(super) root: OnceLock<String>,
    /// The page tokens of every list answered, as (page set, page index).
    pub(super) pages: PageTokens<(u64, usize)>,
    /// Requests beyond `limit` per window answer 429: (limit, window).
    pub(super) rate: AppRateLimit,
    pub(super) requests: AtomicU64,
    pub(super) token_requests: AtomicU64,
    pub(super) refreshes: AtomicU64,
    /// The runtime the server was started on, for sending notifications.
    pub(super) runtime: tokio::runtime::Handle,
    /// The HTTP client notifications are sent with.
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
            pages: &self.pages,
        }
    }

    /// A new rate-limit window, starting now.
    pub(super) fn reset_rate_limit(&self) {
        self.rate.reset();
    }

    /// Counts a request against the rate limit: 429 beyond it, with the
    /// whole seconds left in the window (at least 1) in `Retry-After`.
    fn rate_check(&self) -> Result<(), ApiErr> {
        self.rate.check().map_err(ApiErr::rate_limited)
    }

    /// An operation with its credentials in the body (the token endpoints).
    fn token_endpoint(
        &self,
        call: &Call,
        run: impl FnOnce(&mut Store, &Ctx<'_>, &Value) -> Outcome,
    ) -> Outcome {
        let body = body_of(call)?;
        self.rate_check()?;
        let ctx = self.ctx();
        self.with_state(|state| run(state, &ctx, &body))
    }
}

impl Api for Shared {
    fn spec(&self) -> &'static ApiSpec {
        &API
    }

    fn formats(&self) -> &'static [(&'static str, FormatCheck)] {
        FORMATS
    }

    fn handle(&self, call: Call) -> Response {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = self.answer(call);
        self.send_outbox();
        answer
    }

    fn unrouted(&self, request: &Request) -> Option<Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        Some(self.page(request))
    }
}

impl Shared {
    /// The answer of a routed request.
    fn answer(&self, call: Call) -> Response {
        match call.op.id {
            "request_token" => {
                self.token_requests.fetch_add(1, Ordering::Relaxed);
                let outcome = self.token_endpoint(&call, |state, ctx, body| {
                    state.token(ctx, body, &self.refreshes)
                });
                // Token answers are never cached.
                respond(outcome)
                    .with_header("cache-control", "no-store")
                    .with_header("pragma", "no-cache")
            }
            "revoke_authorization" => respond(self.token_endpoint(&call, |state, ctx, body| {
                state.revoke_authorization(ctx.config, body)
            })),
            _ => respond(self.operation(call)),
        }
    }

    /// Sends the notifications the last operation queued, each from a task
    /// of its own on the server's runtime.
    fn send_outbox(&self) {
        let outgoing = self.with_state(|state| std::mem::take(&mut state.outbox));
        for note in outgoing {
            let (http, secret) = (self.http.clone(), self.config.client_secret.clone());
            self.runtime.spawn(async move {
                notify::deliver(&http, &secret, &note.url, &note.body).await;
            });
        }
    }

    /// Every `/v1` operation: credentials, rate limit, body, then the operation.
    fn operation(&self, call: Call) -> Outcome {
        let ctx = self.ctx();
        let caller = self.with_state(|state| {
            state.authenticate(&self.config, call.op, call.credential.as_ref())
        })?;
        self.rate_check()?;
        let body = body_of(&call)?;
        let req = Req {
            op: call.op,
            path: call.path,
            query: &call.request.query,
            body,
            caller,
            check: call.check,
        };
        self.with_state(|state| state.run(&ctx, &req))
    }
}

/// The body as JSON; form fields typed by the operation's body schema (see
/// [`form`]); nothing at all reads as `{}`.
fn body_of(call: &Call) -> Result<Value, ApiErr> {
    match call.body() {
        Ok(Value::Null) => Ok(Value::Object(Map::new())),
        Ok(body) => match call.op.body {
            Some(spec) if call.request.media_type() == FORM => {
                Ok(form::typed(&API, spec.schema, body))
            }
            _ => Ok(body),
        },
        Err(_) => Err(bad_json()),
    }
}

/// The media type of form-encoded bodies.
const FORM: &str = "application/x-www-form-urlencoded";

/// One operation's request as its code reads it (a batch entry is one too).
pub(super) struct Req<'a> {
    /// The operation.
    pub(super) op: &'static Operation,
    /// Its path parameters, decoded.
    pub(super) path: Vec<(&'static str, String)>,
    /// Its query.
    pub(super) query: &'a Query,
    /// Its body (`{}` when there was none).
    pub(super) body: Value,
    /// Who is calling.
    pub(super) caller: Caller,
    /// The engine's first violation of the parameters' constraints.
    pub(super) check: Option<Violation>,
}

impl Req<'_> {
    /// A path parameter.
    pub(super) fn param(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The engine's parameter check as a 422, except for values the
    /// operation reads more leniently itself (booleans as pycronofy sends
    /// them, `True`; UTC times where a date is documented, as the SDKs send).
    pub(super) fn check_params(&self) -> Result<(), ApiErr> {
        let Some(v) = &self.check else { return Ok(()) };
        let lenient = self.op.parameter(Location::Query, &v.at).is_some_and(|p| {
            match &API.schema(p.schema).kind {
                Kind::Boolean => self.query.flag(&v.at).is_ok(),
                Kind::String(text) if text.format == Some("date") => {
                    self.query.get(&v.at).and_then(lenient_date).is_some()
                }
                _ => false,
            }
        });
        if lenient { Ok(()) } else { Err(violation(v)) }
    }

    /// A boolean query flag (`true`, `True`, `1`, ...), default false; 422 otherwise.
    pub(super) fn flag(&self, key: &str) -> Result<bool, ApiErr> {
        self.query
            .flag(key)
            .map(|f| f.unwrap_or(false))
            .map_err(|_| invalid(key, format!("{key} must be true or false")))
    }

    /// A date (`2025-01-20`; a UTC time is accepted, as the SDKs send one).
    pub(super) fn date(&self, key: &str) -> Result<Option<NaiveDate>, ApiErr> {
        match self.query.get(key) {
            None => Ok(None),
            Some(raw) => lenient_date(raw)
                .map(Some)
                .ok_or_else(|| invalid(key, format!("{key} must be a date such as 2025-01-20"))),
        }
    }

    /// Every value of `key[]` (or of a repeated `key`).
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        let bracketed = format!("{key}[]");
        self.query
            .pairs()
            .iter()
            .filter(|(k, _)| *k == bracketed || k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The body, checked against the spec's schema `name` and decoded.
    pub(super) fn decode<T: DeserializeOwned>(&self, name: &str) -> Result<T, ApiErr> {
        decode(name, &self.body)
    }
}

impl Store {
    /// Runs operation `req.op` (a batch entry runs through here too).
    pub(super) fn run(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let caller = &req.caller;
        match req.op.id {
            "get_account" => self.get_account(caller),
            "get_userinfo" => self.userinfo(caller),
            "list_profiles" => self.list_profiles(caller),
            "revoke_profile" => self.revoke_profile(caller, req.param("profile_id")),
            "request_elevated_permissions" => self.request_permissions(ctx, req),
            "create_link_token" => accounts::link_token(caller),
            "create_application_calendar" => self.application_calendar(ctx.config, &req.body),
            "list_calendars" => self.list_calendars(caller),
            "create_calendar" => self.create_calendar(req),
            "read_events" => self.read_events(ctx, req),
            "bulk_delete_events" => self.bulk_delete_events(req),
            "read_events_page" => self.page(ctx, caller, "events", req.param("page_token")),
            "read_free_busy" => self.read_free_busy(ctx, req),
            "read_free_busy_page" => self.page(ctx, caller, "free_busy", req.param("page_token")),
            "upsert_event" => self.upsert_event(req),
            "delete_event" => self.delete_event(req),
            "change_participation_status" => self.participation_status(req),
            "create_channel" => self.create_channel(req),
            "list_channels" => self.list_channels(caller),
            "close_channel" => self.close_channel(caller, req.param("channel_id")),
            "query_availability" => self.query_availability(caller, &req.body),
            "query_sequenced_availability" => self.query_sequenced_availability(caller, &req.body),
            "list_availability_rules" => self.list_rules(caller),
            "upsert_availability_rule" => self.upsert_rule(req),
            "get_availability_rule" => self.get_rule(caller, req.param("availability_rule_id")),
            "delete_availability_rule" => {
                self.delete_rule(caller, req.param("availability_rule_id"))
            }
            "upsert_available_period" => self.upsert_period(req),
            "list_available_periods" => self.list_periods(ctx, req),
            "delete_available_period" => self.delete_period(req),
            "list_available_periods_page" => {
                self.page(ctx, caller, "available_periods", req.param("page_token"))
            }
            "create_real_time_scheduling" => self.create_rts(ctx, req),
            "get_real_time_scheduling_by_token" => self.rts_by_token(req),
            "get_real_time_scheduling" => self.get_rts(req.param("real_time_scheduling_id")),
            "disable_real_time_scheduling" => self.disable_rts(req),
            "create_element_token" => accounts::element_token(req),
            "batch" => self.batch(ctx, req),
            "create_real_time_sequencing" => self.create_real_time_sequencing(ctx, req),
            "add_to_calendar" => self.add_to_calendar(ctx, req),
            "upsert_smart_invite" => self.upsert_smart_invite(req),
            "get_smart_invite" => self.get_smart_invite(req),
            "create_bookable_event" => self.create_bookable_event(req),
            "get_bookable_event" => {
                req.check_params()?;
                ok(self
                    .bookable_event(req.param("bookable_event_id"))?
                    .to_json())
            }
            "upsert_bookable_event_registration" => self.upsert_registration(req),
            "delete_bookable_event_registration" => {
                req.check_params()?;
                self.delete_registration(
                    req.param("bookable_event_id"),
                    req.param("registration_id"),
                )
            }
            "authorize_with_service_account" => accounts::service_account_authorization(req),
            "create_delegated_authorization" => self.delegated_authorization(req),
            "create_conferencing_service_authorization" => {
                accounts::conferencing_authorization(ctx, req)
            }
            "list_resources" => self.list_resources(caller),
            "list_accessible_calendars" => self.list_accessible_calendars(req),
            other => {
                tracing::warn!(
                    operation = other,
                    "the cronofy sandbox does not answer this operation"
                );
                Err(ApiErr::status(http::StatusCode::NOT_IMPLEMENTED))
            }
        }
    }
}

/// `2025-01-20`, or the date of a UTC time whose fraction of a second, if
/// it has one, is zero (Cronofy refuses non-zero milliseconds).
fn lenient_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .filter(|t| t.timestamp_subsec_nanos() == 0)
            .map(|t| t.with_timezone(&Utc).date_naive())
    })
}

/// The index of the spec's schema `name`.
fn schema_index(name: &str) -> Option<u32> {
    API.schemas
        .iter()
        .position(|s| s.name == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// Checks `value` against the spec's schema `name`.
pub(super) fn check_schema(name: &str, value: &Value) -> Result<Result<(), Violation>, ApiErr> {
    let schema =
        schema_index(name).ok_or_else(|| server_error(format!("the spec has no schema {name}")))?;
    Ok(validate::value(&API, schema, value, FORMATS))
}

/// Checks `value` against the spec's schema `name` (a 422 naming the field,
/// in Cronofy's words), then decodes it. A `null` where the schema wants
/// something else reads as absent, as Cronofy (a Rails application) reads
/// it: pycronofy sends `"start_interval": null` in every Real-Time
/// Scheduling request that has none.
pub(super) fn decode<T: DeserializeOwned>(name: &str, value: &Value) -> Result<T, ApiErr> {
    let mut value = value.clone();
    loop {
        match check_schema(name, &value)? {
            Ok(()) => break,
            Err(v) if null_property(&v) && remove(&mut value, &v.path) => {}
            Err(v) => return Err(violation(&v)),
        }
    }
    let bytes = serde_json::to_vec(&value).map_err(server_error)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let path = crate::runtime::json_path::at_error(&bytes, &e);
        let field = path
            .trim_start_matches('$')
            .replace('[', ".")
            .replace(']', "");
        let field = match field.trim_matches('.') {
            "" => "request".to_string(),
            f => f.to_string(),
        };
        invalid(&field, format!("{field} is invalid"))
    })
}

/// Whether `v` is a property that is `null` where its schema wants a value.
fn null_property(v: &Violation) -> bool {
    matches!(v.problem, Problem::WrongType { actual: "null", .. })
        && v.path
            .last()
            .is_some_and(|key| key.parse::<usize>().is_err())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cronofy::types;
    use serde_json::json;

    #[test]
    fn bodies_are_checked_against_the_spec_then_decoded() {
        let missing = json!({"event_id": "x", "start": "2026-11-25T09:00:00Z", "end": "2026-11-25T10:00:00Z"});
        let e = decode::<types::EventUpsert>("EventUpsert", &missing).unwrap_err();
        assert_eq!(
            e.body,
            Some(
                json!({"errors": {"summary": [{"key": "errors.required", "description": "summary must be specified"}]}})
            )
        );
        let e = decode::<types::ParticipationStatusChange>(
            "ParticipationStatusChange",
            &json!({"status": "maybe"}),
        )
        .unwrap_err();
        let body = e.errors().unwrap_or_default();
        assert_eq!(
            body.errors["status"][0].key.as_deref(),
            Some("errors.invalid")
        );
        assert_eq!(
            body.errors["status"][0].description.as_deref(),
            Some("status must be one of accepted, tentative or declined")
        );
        let nested =
            json!({"participants": [{"members": [{}]}], "required_duration": {"minutes": 30}});
        let body = decode::<types::AvailabilityQuery>("AvailabilityQuery", &nested)
            .unwrap_err()
            .errors()
            .unwrap_or_default();
        assert!(
            body.errors.contains_key("participants.0.members.0.sub"),
            "{body:?}"
        );
        let zone = json!({"event_id": "x", "summary": "s", "start": "2026-11-25T09:00:00Z",
            "end": "2026-11-25T10:00:00Z", "tzid": "Mars/Olympus"});
        let body = decode::<types::EventUpsert>("EventUpsert", &zone)
            .unwrap_err()
            .errors()
            .unwrap_or_default();
        assert_eq!(
            body.errors["tzid"][0].description.as_deref(),
            Some("tzid is not a known time zone")
        );
    }

    #[test]
    fn every_operation_of_the_spec_is_answered() {
        use crate::sandbox::cronofy::store::Config;
        let config = Config::for_tests();
        let pages = PageTokens::default();
        let ctx = Ctx {
            config: &config,
            root: "http://127.0.0.1",
            pages: &pages,
        };
        let query = Query::default();
        let mut store = Store::default();
        for op in API.operations {
            let req = Req {
                op,
                path: Vec::new(),
                query: &query,
                body: json!({}),
                caller: Caller::App,
                check: None,
            };
            let status = match op.id {
                // Their own handlers, outside `run`.
                "request_token" | "revoke_authorization" => continue,
                _ => store.run(&ctx, &req).err().map(|e| e.status),
            };
            assert_ne!(status, Some(http::StatusCode::NOT_IMPLEMENTED), "{}", op.id);
        }
    }

    #[test]
    fn a_null_property_reads_as_absent_and_a_required_one_as_missing() {
        let query = json!({
            "participants": [{"members": [{"sub": "acc_1"}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "start_interval": null,
            "buffer": {},
            "available_periods": [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-24T18:00:00Z"}],
        });
        let decoded = decode::<types::AvailabilityQuery>("AvailabilityQuery", &query).unwrap();
        assert!(decoded.start_interval.is_none());
        let mut missing = query.clone();
        missing["required_duration"] = Value::Null;
        let body = decode::<types::AvailabilityQuery>("AvailabilityQuery", &missing)
            .unwrap_err()
            .errors()
            .unwrap_or_default();
        assert_eq!(
            body.errors["required_duration"][0].key.as_deref(),
            Some("errors.required")
        );
    }

    #[test]
    fn every_schema_the_sandbox_decodes_is_in_the_spec() {
        for name in [
            "AddToCalendarRequest",
            "ApplicationCalendarRequest",
            "AvailabilityQuery",
            "AvailabilityRule",
            "AvailablePeriodDeleteAll",
            "AvailablePeriodDeleteOne",
            "AvailablePeriodUpsert",
            "BatchRequest",
            "BookableEventCreate",
            "BulkDeleteEvents",
            "CalendarCreate",
            "ChannelCreate",
            "ConferencingServiceAuthorizationRequest",
            "DelegatedAuthorization",
            "ElementTokenRequest",
            "ElevatedPermissionsRequest",
            "EventDelete",
            "EventUpsert",
            "ExternalEventDelete",
            "ExternalEventUpdate",
            "ParticipationStatusChange",
            "RealTimeSchedulingDisable",
            "RealTimeSchedulingRequest",
            "RealTimeSequencingRequest",
            "RegistrationUpsert",
            "SequencedAvailabilityQuery",
            "ServiceAccountAuthorizationRequest",
            "SmartInviteCancel",
            "SmartInviteUpsert",
            "AuthorizationCodeGrant",
            "RefreshTokenGrant",
            "TokenRevocation",
        ] {
            assert!(schema_index(name).is_some(), "{name}");
        }
    }
}
