//! The one error type of every client.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::runtime::json_path;

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call, for every API.
///
/// Messages say what was wrong in words a user can act on, and never contain
/// a token, password, client secret or a URL's query string. A message
/// quotes at most a short excerpt of what the server sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status (any 4xx or 5xx but 429).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The API answered 429 (or kept answering 503) and the retry budget is
    /// spent, or a rate limiter's budget would be exceeded.
    #[error("rate limited{}{}", fmt_code(code.as_deref()), fmt_retry_after(*retry_after))]
    RateLimited {
        /// How long the API asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// The API's error code, when its answer had one.
        code: Option<String>,
        /// The API's request id, when it sent one.
        request_id: Option<String>,
        /// The 429 answer itself (code, message, headers such as the API's
        /// throttling headers, typed error body), when the API sent one
        /// rather than the client's own limits refusing to wait.
        answer: Option<Box<ApiError>>,
    },
    /// Input rejected before anything was sent.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, parameter or value at fault.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The client could not authenticate.
    #[error("authentication: {reason}")]
    Auth {
        /// What kind of failure it was.
        kind: AuthErrorKind,
        /// What happened, without any secret.
        reason: String,
    },
    /// The request could not be sent, or its response not read.
    #[error(
        "{operation}: request to {endpoint} failed: {}",
        transport_reason(source)
    )]
    Transport {
        /// The operation (its operationId).
        operation: &'static str,
        /// Path of the request (never its query string).
        endpoint: String,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The call took longer than its deadline (all attempts and waits).
    #[error("{operation}: no answer within the deadline of {}s", deadline.as_secs_f64())]
    Timeout {
        /// The operation.
        operation: &'static str,
        /// The deadline that passed.
        deadline: Duration,
    },
    /// The response body did not have the shape the spec describes.
    #[error("{operation}: cannot decode the answer at {path}: {reason}")]
    Decode {
        /// The operation whose answer it was.
        operation: &'static str,
        /// JSON path of the value that failed, like `$[3].duration`.
        path: String,
        /// The decoder's message (values in it cut to a short excerpt).
        reason: String,
    },
    /// An answer (or one item of it) is larger than the client accepts.
    #[error("{operation}: the answer is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The operation.
        operation: &'static str,
        /// The limit that was passed (`ClientBuilder::max_response_size`).
        limit: usize,
    },
    /// The API answered something its protocol rules out (a list repeated a
    /// cursor, a batch answer has the wrong number of results); the call
    /// stopped rather than loop or guess.
    #[error("unexpected answer from the API: {0}")]
    Protocol(String),
    /// The client was configured with something unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A list cannot be paged further the way it was asked: the API pages
    /// no deeper this way, or an export stopped moving forward. The message
    /// says what to do instead; nothing is dropped silently.
    #[error("{operation}: {reason}")]
    Paging {
        /// The list operation.
        operation: &'static str,
        /// What stopped it.
        kind: PagingErrorKind,
        /// What happened and what to do instead.
        reason: String,
    },
}

/// What stopped a list, in an [`Error::Paging`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagingErrorKind {
    /// The API pages no deeper than `records` this way (Zendesk's offset
    /// paging stops at 10,000 records, its search at 1,000 results).
    DepthLimit {
        /// Records that can be paged through.
        records: u64,
    },
    /// An export's position stopped moving: page after page resumes from
    /// `at` (more records share that position than a page holds).
    Stalled {
        /// The position it is stuck at, as the API writes it (Zendesk's
        /// `end_time`, Unix seconds).
        at: String,
    },
}

/// What kind of authentication failure an [`Error::Auth`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials or token: authenticate first.
    Missing,
    /// The token expired and there are no stored credentials to renew it.
    Expired,
    /// Renewing the token (logging in again, or an OAuth refresh) failed.
    RefreshFailed,
}

fn fmt_code(code: Option<&str>) -> String {
    code.map(|c| format!(" ({c})")).unwrap_or_default()
}

fn fmt_retry_after(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("; it asked to retry after {}s", d.as_secs_f64()),
        None => String::new(),
    }
}

fn transport_reason(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "could not connect to the server"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the response body could not be read"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_builder() {
        "the request could not be built"
    } else {
        "the connection failed"
    }
}

impl Error {
    /// The HTTP status of an API error (429 for [`Error::RateLimited`]).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// The API answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The API answered 401, or the client could not authenticate.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Auth { .. }) || self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// Rate limited, with the retry budget spent.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }

    /// Input rejected before sending.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Error::Invalid { .. })
    }

    /// The deadline of the call passed, or a request timed out.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// What stopped a list, if this is an [`Error::Paging`].
    pub fn paging(&self) -> Option<&PagingErrorKind> {
        match self {
            Error::Paging { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The API's error answer: of an [`Error::Api`], or the 429 answer of
    /// an [`Error::RateLimited`].
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::RateLimited {
                answer: Some(e), ..
            } => Some(e),
            _ => None,
        }
    }

    /// How long the API (or the client's own limits) asked to wait before
    /// sending again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The request id the API gave its answer, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::RateLimited { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The operation the error belongs to, where it is known.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api(e) => Some(e.operation),
            Error::Transport { operation, .. }
            | Error::Timeout { operation, .. }
            | Error::Decode { operation, .. }
            | Error::TooLarge { operation, .. }
            | Error::Paging { operation, .. } => Some(operation),
            _ => None,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Auth`].
    pub(crate) fn auth(kind: AuthErrorKind, reason: impl Into<String>) -> Self {
        Error::Auth {
            kind,
            reason: reason.into(),
        }
    }

    /// A transport error of `operation`, with the URL (and its query
    /// string) removed.
    pub(crate) fn transport(operation: &'static str, source: reqwest::Error) -> Self {
        let endpoint = source
            .url()
            .map(|u| u.path().to_string())
            .unwrap_or_else(|| "the API".into());
        Error::Transport {
            operation,
            endpoint,
            source: source.without_url(),
        }
    }

    /// Decodes the JSON answer of `operation`, naming the path that failed.
    ///
    /// The body is checked as UTF-8 once, as a whole, and then read as a
    /// `str`: serde_json then skips its per-string UTF-8 check, which is the
    /// largest single cost of decoding a page of short strings.
    pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
        operation: &'static str,
        body: &[u8],
    ) -> Result<T, Self> {
        match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            // Let serde_json say where the bad byte is.
            Err(_) => serde_json::from_slice(body),
        }
        .map_err(|e| Error::decode(operation, body, &e))
    }

    /// A decode error of `operation` on `body`, naming the JSON path where
    /// it failed; the decoder's message is cut to a short excerpt (it may
    /// quote a whole value).
    pub(crate) fn decode(operation: &'static str, body: &[u8], source: &serde_json::Error) -> Self {
        Error::Decode {
            operation,
            path: json_path::at_error(body, source),
            reason: excerpt(&source.to_string(), MESSAGE_EXCERPT),
        }
    }
}

/// The most characters of server text an error message quotes.
pub(crate) const MESSAGE_EXCERPT: usize = 200;

/// `text` with its runs of white space made single spaces, cut to at most
/// `max` characters (with `…` when cut). Reads no more of `text` than it needs.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(max.min(text.len()) + 3);
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if count + needed > max {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// One field-level problem reported by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the API names it.
    pub field: String,
    /// The API's description of the problem.
    pub message: String,
}

/// An error answer from the API: status, a normalised summary, and the
/// API's own typed error body when the answer had one.
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The operation that was answered.
    pub operation: &'static str,
    /// The API's short error name or code (TimeSync `error`, Cronofy and
    /// Zendesk `error`, Graph `error.code`).
    pub code: Option<String>,
    /// The API's human-readable message, or an excerpt of the answer's text
    /// when it was not the API's error shape.
    pub message: String,
    /// Field-level problems, where the API lists them.
    pub fields: Vec<FieldError>,
    /// `Retry-After`, when the API sent one.
    pub retry_after: Option<Duration>,
    /// The API's request id for this answer: from the response header the
    /// spec names, else from the error body (Graph's `innerError`).
    pub request_id: Option<String>,
    /// The answer's headers (throttling and diagnostic headers such as
    /// Graph's `x-ms-throttle-*` and `client-request-id`). Not shown by
    /// `Debug`, which lists their names only.
    pub headers: http::HeaderMap,
    /// The answer's `Location` header, when it sent one (Graph's 410 to a
    /// delta link names where a new round starts). Never in messages: it
    /// may carry a query string.
    pub location: Option<String>,
    body: Option<Box<dyn Any + Send + Sync>>,
}

impl ApiError {
    /// An error with only a status and message (no typed body).
    pub(crate) fn new(
        status: StatusCode,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            operation,
            code: None,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            request_id: None,
            headers: http::HeaderMap::new(),
            location: None,
            body: None,
        }
    }

    /// Sets what an API's error body says.
    pub(crate) fn with_details(mut self, details: ErrorDetails) -> Self {
        self.code = details.code;
        self.message = details.message;
        self.fields = details.fields;
        self.request_id = self.request_id.or(details.request_id);
        self.body = Some(details.body);
        self
    }

    /// The API's typed error body, e.g. `specbound::timesync::types::Error`.
    pub fn body<T: Any>(&self) -> Option<&T> {
        self.body.as_ref().and_then(|b| b.downcast_ref())
    }

    /// The value of the answer's header `name`, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("operation", &self.operation)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("fields", &self.fields)
            .field("retry_after", &self.retry_after)
            .field("request_id", &self.request_id)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("location", &self.location.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: the API answered {}", self.operation, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            // Each API's message already says what its field errors say.
            write!(f, ": {}", self.message)?;
        } else {
            for (i, fe) in self.fields.iter().enumerate() {
                write!(
                    f,
                    "{} {}: {}",
                    if i == 0 { ":" } else { ";" },
                    fe.field,
                    fe.message
                )?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// What an API's error body says, normalised (see [`ErrorBody`]).
pub(crate) struct ErrorDetails {
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) fields: Vec<FieldError>,
    pub(crate) request_id: Option<String>,
    pub(crate) body: Box<dyn Any + Send + Sync>,
}

/// An API's error body, as its spec types it. Each API module implements
/// this for its error schema, so that the runtime can fill [`ApiError`].
pub trait ErrorBody: Send + Sync + 'static {
    /// The short error name or code.
    fn code(&self) -> Option<String>;
    /// The human-readable message.
    fn message(&self) -> String;
    /// Field-level problems.
    fn fields(&self) -> Vec<FieldError> {
        Vec::new()
    }
    /// The request id the body carries, for an answer without the request
    /// id header.
    fn request_id(&self) -> Option<String> {
        None
    }
}

/// Reads `body` as the API's error schema `E`, if it is one.
pub(crate) fn error_details<E>(body: &[u8]) -> Option<ErrorDetails>
where
    E: ErrorBody + serde::de::DeserializeOwned,
{
    let parsed: E = serde_json::from_slice(body).ok()?;
    Some(ErrorDetails {
        code: parsed.code(),
        message: excerpt(&parsed.message(), MESSAGE_EXCERPT * 5),
        fields: parsed.fields(),
        request_id: parsed.request_id().map(|id| excerpt(&id, 100)),
        body: Box::new(parsed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        name: String,
        n: u32,
    }

    #[test]
    fn decode_json_reads_escapes_and_names_the_failing_path() {
        let ok: Vec<Item> =
            Error::decode_json("op", br#"[{"name":"caf\u00e9 \"x\"","n":1}]"#).unwrap();
        assert_eq!(ok[0].name, "café \"x\"");
        match Error::decode_json::<Vec<Item>>(
            "op",
            br#"[{"name":"a","n":1},{"name":"b","n":"two"}]"#,
        ) {
            Err(Error::Decode {
                path, operation, ..
            }) => assert_eq!((path.as_str(), operation), ("$[1].n", "op")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_json_refuses_a_body_that_is_not_utf8() {
        let body = b"[{\"name\":\"\xff\",\"n\":1}]";
        match Error::decode_json::<Vec<Item>>("op", body) {
            Err(Error::Decode { path, reason, .. }) => {
                assert_eq!(path, "$[0].name");
                assert!(reason.contains("invalid unicode"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_huge_wrongly_typed_value_gives_a_short_message() {
        let huge = "x".repeat(5_000_000);
        let body = format!(r#"[{{"name":"a","n":"{huge}"}}]"#);
        let err = Error::decode_json::<Vec<Item>>("op", body.as_bytes()).unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 400, "{} characters", text.len());
        assert!(text.contains("$[0].n"), "{text}");
    }

    #[test]
    fn excerpts_fold_white_space_and_stop_early() {
        assert_eq!(excerpt("  a \n\t b  ", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt(&"é".repeat(1000), 4), "éééé…");
    }
}
