//! The engine every sandbox runs on: an HTTP/1.1 server on 127.0.0.1 that
//! routes each request to an operation of the API's generated table,
//! finds its credential by the spec's security schemes, checks its
//! parameters and body against the spec's schema table, and hands it to
//! the API's own behaviour ([`Api::handle`]). It also keeps what every
//! sandbox needs: page tokens, rate-limit windows, and injected faults
//! (delays, error statuses, 429 with `Retry-After`, bodies cut off midway).
//!
//! Only API behaviour is written per API (`src/sandbox/<api>/`).

mod body;
mod faults;
mod serve;
#[cfg(test)]
mod tests;
mod tools;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::runtime::spec::{ApiSpec, Location, Operation, Scheme};
use crate::runtime::validate::{self, FormatCheck, Violation};

#[cfg(test)]
pub(crate) use self::body::parse_form;
pub(crate) use self::body::{BodyError, parse_body};
pub use self::faults::{Fault, Faults};
pub use self::serve::Server;
pub(crate) use self::tools::{AppRateLimit, PageTokens, Query, RateWindow, whole_seconds};

/// One API's behaviour behind the engine.
pub(crate) trait Api: Send + Sync + 'static {
    /// The generated tables.
    fn spec(&self) -> &'static ApiSpec;

    /// The path the operations' paths are below (`/v0`, or empty).
    fn base_path(&self) -> &str {
        ""
    }

    /// The path operation `op`'s path is below: [`base_path`](Api::base_path)
    /// unless the API serves some operations on another host's paths (the
    /// identity platform's beside Graph's `/v1.0`).
    fn base_path_of(&self, _op: &'static Operation) -> &str {
        self.base_path()
    }

    /// Other paths operation `op` is served below as well, answered as
    /// below [`base_path_of`](Api::base_path_of) (a preview version root
    /// beside the stable one); none by default.
    fn other_base_paths_of(&self, _op: &'static Operation) -> &[&str] {
        &[]
    }

    /// The answer of an injected fault that replaces the operation's answer
    /// (`status`, with `Retry-After` when given), in the API's words; by
    /// default a plain-text body.
    fn fault_answer(&self, status: StatusCode, retry_after: Option<u64>) -> Response {
        let text = if status == StatusCode::TOO_MANY_REQUESTS {
            "slow down"
        } else {
            "injected fault"
        };
        let answer = Response::new(status, "text/plain", text);
        match retry_after {
            Some(secs) => answer.with_header("retry-after", &secs.to_string()),
            None => answer,
        }
    }

    /// Checks of the spec's custom formats.
    fn formats(&self) -> &'static [(&'static str, FormatCheck)] {
        &[]
    }

    /// Answers a request routed to `call.op`, whose credential and
    /// parameters are in `call`. `check` holds the first violation of the
    /// spec's constraints, if any: the API answers it in its own words, in
    /// its own order of checks.
    fn handle(&self, call: Call) -> Response;

    /// Answers a request that no operation's route matches (`None`: the
    /// engine's plain 404).
    fn unrouted(&self, _request: &Request) -> Option<Response> {
        None
    }
}

/// A request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The path, percent-encoded as sent.
    pub(crate) path: String,
    /// The query pairs, decoded, in order.
    pub(crate) query: Query,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) body: Bytes,
}

impl Request {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type` without its parameters, lower case.
    pub(crate) fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }
}

/// A request routed to an operation.
#[derive(Debug)]
pub(crate) struct Call {
    /// The operation of the spec whose method and path matched.
    pub(crate) op: &'static Operation,
    /// The request.
    pub(crate) request: Request,
    /// The path parameters, decoded.
    pub(crate) path: Vec<(&'static str, String)>,
    /// The credential the spec's security schemes point at, if the request
    /// carries one: (scheme name, value).
    pub(crate) credential: Option<(&'static str, String)>,
    /// The first violation of the spec's constraints by the path and query
    /// parameters, if any (the body is checked with [`Call::check_body`]).
    pub(crate) check: Option<Violation>,
    formats: &'static [(&'static str, FormatCheck)],
    spec: &'static ApiSpec,
}

impl Call {
    /// A path parameter.
    pub(crate) fn param(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The body as JSON (or form fields as JSON), refused as the API
    /// refuses a body it cannot read.
    pub(crate) fn body(&self) -> Result<serde_json::Value, BodyError> {
        parse_body(&self.request.media_type(), &self.request.body)
    }

    /// Checks `value` against schema `schema` of the spec (for one part of a body).
    pub(crate) fn check_value(
        &self,
        schema: u32,
        value: &serde_json::Value,
    ) -> Result<(), Violation> {
        validate::value(self.spec, schema, value, self.formats)
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// The status.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) body: Bytes,
}

impl Response {
    /// An answer with `status`, `content_type` and `body`.
    pub(crate) fn new(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(content_type) {
            headers.insert(http::header::CONTENT_TYPE, v);
        }
        Response {
            status,
            headers,
            body: body.into(),
        }
    }

    /// A JSON answer.
    pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Response::new(status, "application/json; charset=utf-8", body)
    }

    /// An answer without a body.
    pub(crate) fn empty(status: StatusCode) -> Self {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

/// The operation whose method and path (below its base path) `request`
/// matches, with its path parameters.
pub(crate) fn route(
    api: &dyn Api,
    request: &Request,
) -> Option<(&'static Operation, Vec<(&'static str, String)>)> {
    api.spec()
        .operations
        .iter()
        .filter(|op| op.method == request.method.as_str())
        .find_map(|op| {
            std::iter::once(api.base_path_of(op))
                .chain(api.other_base_paths_of(op).iter().copied())
                .find_map(|base| {
                    let path = request
                        .path
                        .strip_prefix(base)
                        .filter(|p| p.starts_with('/'))?;
                    op.match_path(path)
                })
                .map(|values| (op, values))
        })
}

/// Routes and answers one request (all but the faults, applied around it).
pub(crate) fn dispatch(api: &dyn Api, request: Request) -> (Option<&'static str>, Response) {
    let spec = api.spec();
    let Some((op, path)) = route(api, &request) else {
        let answer = api
            .unrouted(&request)
            .unwrap_or_else(|| Response::new(StatusCode::NOT_FOUND, "text/plain", "not found"));
        return (None, answer);
    };
    let credential = credential(spec, op, &request);
    let check = check_parameters(spec, op, &path, &request.query, api.formats());
    let call = Call {
        op,
        request,
        path,
        credential,
        check,
        formats: api.formats(),
        spec,
    };
    (Some(op.id), api.handle(call))
}

/// The credential of the first of `op`'s security schemes the request carries.
fn credential(spec: &ApiSpec, op: &Operation, request: &Request) -> Option<(&'static str, String)> {
    op.security.iter().find_map(|name| {
        let value = match spec.scheme(name)? {
            Scheme::Bearer => request
                .header("authorization")
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::to_string),
            Scheme::Basic => request
                .header("authorization")
                .and_then(|v| v.strip_prefix("Basic "))
                .map(str::to_string),
            Scheme::QueryKey(key) => request.query.get(key).map(str::to_string),
            Scheme::HeaderKey(key) => request.header(key).map(str::to_string),
        };
        value.map(|v| (*name, v))
    })
}

/// The first violation of `op`'s path and query parameter constraints.
fn check_parameters(
    spec: &ApiSpec,
    op: &Operation,
    path: &[(&'static str, String)],
    query: &Query,
    formats: &[(&str, FormatCheck)],
) -> Option<Violation> {
    let rendered: Vec<(&str, &str)> = path.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let path = op.render_path(&rendered);
    let declared: Vec<(String, String)> = query
        .pairs()
        .iter()
        .filter(|(k, _)| op.parameter(Location::Query, k).is_some())
        .cloned()
        .collect();
    validate::request(spec, op, Some(&path), &declared, None, formats).err()
}

/// Starts `api` on a free port of 127.0.0.1 on the current tokio runtime.
pub(crate) async fn start(api: Arc<dyn Api>) -> crate::Result<Server> {
    Server::start(api).await
}
