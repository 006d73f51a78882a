//! The one error type of every client.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::runtime::hooks::HookError;
use crate::runtime::json_path;

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call, for every API.
///
/// Messages say what was wrong in words a user can act on, and never contain
/// a token, password, client secret or a URL's query string.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status; the body is kept, typed.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The API kept answering 429 or 503 and the retry budget is spent.
    #[error("rate limited by the API{}", fmt_retry_after(*retry_after))]
    RateLimited {
        /// How long the API asked us to wait, when it said.
        retry_after: Option<Duration>,
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
    #[error("request to {endpoint} failed: {}", transport_reason(source))]
    Transport {
        /// Path of the request (never its query string).
        endpoint: String,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The response body did not have the shape the spec describes.
    #[error("cannot decode the response body at {path}: {source}")]
    Decode {
        /// JSON path of the value that failed, like `$[3].duration`.
        path: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The API answered something its protocol rules out (a list repeated a
    /// cursor, a batch answer has the wrong number of results); the call
    /// stopped rather than loop or guess.
    #[error("unexpected answer from the API: {0}")]
    Protocol(String),
    /// The client was configured with something unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
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
    /// The HTTP status of an API error.
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

    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
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

    /// A transport error, with the URL (and its query string) removed.
    pub(crate) fn transport(source: reqwest::Error) -> Self {
        let endpoint = source
            .url()
            .map(|u| u.path().to_string())
            .unwrap_or_else(|| "the API".into());
        Error::Transport {
            endpoint,
            source: source.without_url(),
        }
    }

    /// Decodes a JSON body, naming the path that failed.
    ///
    /// The body is checked as UTF-8 once, as a whole, and then read as a
    /// `str`: serde_json then skips its per-string UTF-8 check, which is the
    /// largest single cost of decoding a page of short strings.
    pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Self> {
        match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            // Let serde_json say where the bad byte is.
            Err(_) => serde_json::from_slice(body),
        }
        .map_err(|e| Error::decode(body, e))
    }

    /// A decode error on `body`, naming the JSON path where it failed.
    pub(crate) fn decode(body: &[u8], source: serde_json::Error) -> Self {
        Error::Decode {
            path: json_path::at_error(body, &source),
            source,
        }
    }
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
/// API's own typed error body.
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The API's short error name or code (TimeSync `error`, Cronofy and
    /// Zendesk `error`, Graph `error.code`).
    pub code: Option<String>,
    /// The API's human-readable message.
    pub message: String,
    /// Field-level problems, where the API lists them.
    pub fields: Vec<FieldError>,
    /// `Retry-After`, when the API sent one.
    pub retry_after: Option<Duration>,
    body: Option<Box<dyn Any + Send + Sync>>,
}

impl ApiError {
    /// An error with only a status and message (no typed body).
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: None,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            body: None,
        }
    }

    /// The API's typed error body, e.g. `specbound::timesync::types::Error`.
    pub fn body<T: Any>(&self) -> Option<&T> {
        self.body.as_ref().and_then(|b| b.downcast_ref())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("fields", &self.fields)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            // Each API's message already says what its field errors say.
            return write!(f, ": {}", self.message);
        }
        for (i, fe) in self.fields.iter().enumerate() {
            write!(
                f,
                "{} {}: {}",
                if i == 0 { ":" } else { ";" },
                fe.field,
                fe.message
            )?;
        }
        Ok(())
    }
}

/// An API's error body, as its spec types it. Each API module implements
/// this for its error schema, so `?` turns a generated call's error into
/// [`Error`].
pub trait ErrorBody: Send + Sync + 'static {
    /// The short error name or code.
    fn code(&self) -> Option<String>;
    /// The human-readable message.
    fn message(&self) -> String;
    /// Field-level problems.
    fn fields(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Operations whose errors have no body.
impl ErrorBody for () {
    fn code(&self) -> Option<String> {
        None
    }
    fn message(&self) -> String {
        String::new()
    }
}

impl<E: ErrorBody> From<progenitor_client::Error<E>> for Error {
    fn from(e: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as P;
        match e {
            P::InvalidRequest(reason) => Error::invalid("request", reason),
            P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => {
                Error::transport(e)
            }
            P::ErrorResponse(rv) => {
                let status = rv.status();
                let retry_after = crate::runtime::retry::retry_after(rv.headers());
                let body = rv.into_inner();
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return Error::RateLimited { retry_after };
                }
                let has_body = std::any::TypeId::of::<E>() != std::any::TypeId::of::<()>();
                Error::Api(Box::new(ApiError {
                    status,
                    code: body.code(),
                    message: body.message(),
                    fields: body.fields(),
                    retry_after,
                    body: has_body.then(|| Box::new(body) as Box<dyn Any + Send + Sync>),
                }))
            }
            P::InvalidResponsePayload(bytes, source) => Error::decode(&bytes, source),
            P::UnexpectedResponse(response) => {
                let status = response.status();
                let retry_after = crate::runtime::retry::retry_after(response.headers());
                if status == StatusCode::TOO_MANY_REQUESTS {
                    return Error::RateLimited { retry_after };
                }
                let mut api = ApiError::new(status, "a status the spec does not declare");
                api.retry_after = retry_after;
                Error::Api(Box::new(api))
            }
            P::Custom(text) => HookError::decode(&text).into(),
        }
    }
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
        let ok: Vec<Item> = Error::decode_json(br#"[{"name":"caf\u00e9 \"x\"","n":1}]"#).unwrap();
        assert_eq!(ok[0].name, "café \"x\"");
        match Error::decode_json::<Vec<Item>>(br#"[{"name":"a","n":1},{"name":"b","n":"two"}]"#) {
            Err(Error::Decode { path, .. }) => assert_eq!(path, "$[1].n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_json_refuses_a_body_that_is_not_utf8() {
        let body = b"[{\"name\":\"\xff\",\"n\":1}]";
        match Error::decode_json::<Vec<Item>>(body) {
            Err(Error::Decode { path, source }) => {
                assert_eq!(path, "$[0].name");
                assert!(source.to_string().contains("invalid unicode"), "{source}")
            }
            other => panic!("{other:?}"),
        }
    }
}
