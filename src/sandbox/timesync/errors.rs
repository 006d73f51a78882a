//! The reference server's answers: its error bodies (`errors.js`, with the
//! exact texts), its successful answers (JSON sent as `application/json` or,
//! where the server calls `res.send(JSON.stringify(..))`, as `text/html`),
//! and Express's own 404 page.

use std::fmt;

use http::StatusCode;
use serde::Serialize;

use super::super::engine::{Request, Response};

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// A successful answer.
pub(super) enum Answer {
    /// JSON sent as `application/json`.
    Json(Vec<u8>),
    /// JSON sent as `text/html`, as the server's `res.send(JSON.stringify(..))`.
    Html(Vec<u8>),
    /// 200 with an empty body (a DELETE).
    Empty,
}

/// What a handler answers.
pub(super) type Outcome = Result<Answer, ApiErr>;

/// An error answer: `{"status", "error", "text"[, "values"]}`.
#[derive(Debug)]
pub(super) struct ApiErr {
    pub(super) status: StatusCode,
    pub(super) error: &'static str,
    pub(super) text: String,
    values: Option<Vec<String>>,
    allow: bool,
}

impl ApiErr {
    fn new(status: StatusCode, error: &'static str, text: impl Into<String>) -> Self {
        ApiErr {
            status,
            error,
            text: text.into(),
            values: None,
            allow: false,
        }
    }

    fn with_values(mut self, values: Vec<String>) -> Self {
        self.values = Some(values);
        self
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: u16,
    error: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<&'a [String]>,
}

/// The HTTP answer of `outcome`.
pub(super) fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(Answer::Json(body)) => Response::new(StatusCode::OK, JSON, body),
        Ok(Answer::Html(body)) => Response::new(StatusCode::OK, HTML, body),
        Ok(Answer::Empty) => Response::empty(StatusCode::OK),
        Err(e) => {
            tracing::debug!(status = %e.status, error = e.error, text = %e.text, "timesync sandbox refused a request");
            let body = ErrorBody {
                status: e.status.as_u16(),
                error: e.error,
                text: &e.text,
                values: e.values.as_deref(),
            };
            let answer = Response::json(e.status, &body);
            if e.allow {
                answer.with_header("allow", "GET, POST")
            } else {
                answer
            }
        }
    }
}

/// `value` as JSON sent with `application/json`.
pub(super) fn json(value: &impl Serialize) -> Outcome {
    serde_json::to_vec(value)
        .map(Answer::Json)
        .map_err(server_error)
}

/// `value` as JSON sent with `text/html`.
pub(super) fn html(value: &impl Serialize) -> Outcome {
    serde_json::to_vec(value)
        .map(Answer::Html)
        .map_err(server_error)
}

/// The answer to a create: the sent object with the new row's `uuid`,
/// revision 1 and dates (`created_at` today), as text/html like the server.
pub(super) fn created(
    mut answer: serde_json::Map<String, serde_json::Value>,
    uuid: uuid::Uuid,
    now_ms: i64,
) -> Outcome {
    use serde_json::Value;
    answer.insert("uuid".into(), Value::String(uuid.to_string()));
    answer.insert("revision".into(), Value::from(1));
    answer.insert("created_at".into(), Value::String(super::js::day(now_ms)));
    answer.insert("updated_at".into(), Value::Null);
    answer.insert("deleted_at".into(), Value::Null);
    html(&answer)
}

/// Express's own 404 page for a route it does not know.
pub(super) fn express_not_found(request: &Request) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot {} {}</pre>\n</body>\n</html>\n",
        request.method, request.path
    );
    Response::new(StatusCode::NOT_FOUND, HTML, page)
}

// The constructors of the server's errors.js, with its exact texts.

pub(super) fn server_error(e: impl fmt::Display) -> ApiErr {
    tracing::warn!(error = %e, "timesync sandbox failed");
    ApiErr::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Server error",
        "Unexpected server error.",
    )
}

pub(super) fn not_found(what: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::NOT_FOUND,
        "Object not found",
        format!("Nonexistent {what}"),
    )
}

pub(super) fn invalid_foreign_key(object: &str, key: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::CONFLICT,
        "Invalid foreign key",
        format!("The {object} does not contain a valid {key} reference."),
    )
}

pub(super) fn unknown_field(object: &str, field: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("{object} does not have a {field} field"),
    )
}

pub(super) fn missing_field(object: &str, field: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("The {object} is missing a {field}"),
    )
}

pub(super) fn invalid_field(object: &str, field: &str, expected: &str, actual: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        format!("Field {field} of {object} should be {expected} but was sent as {actual}"),
    )
}

pub(super) fn bad_json() -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad object",
        "The request body could not be parsed as valid JSON",
    )
}

pub(super) fn invalid_identifier(expected: &str, id: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "The provided identifier was invalid",
        format!("Expected {expected} but received {id}"),
    )
    .with_values(vec![id.to_string()])
}

pub(super) fn authentication_failure(text: &str) -> ApiErr {
    ApiErr::new(StatusCode::UNAUTHORIZED, "Authentication failure", text)
}

pub(super) fn slugs_exist(mut slugs: Vec<String>) -> ApiErr {
    slugs.sort();
    slugs.dedup();
    let text = match slugs.as_slice() {
        [one] => format!("slug {one} already exists"),
        many => format!("slugs {} already exist", many.join(", ")),
    };
    ApiErr::new(
        StatusCode::CONFLICT,
        "The slug provided already exists",
        text,
    )
    .with_values(slugs)
}

pub(super) fn authorization_failure(username: &str, what: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "Authorization failure",
        format!("{username} is not authorized to {what}"),
    )
}

pub(super) fn method_not_allowed(object: &str) -> ApiErr {
    let mut e = ApiErr::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        format!("The method specified is not allowed for the {object} identified"),
    );
    e.allow = true;
    e
}

pub(super) fn authentication_type_failure(kind: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "Bad query value",
        format!("{kind} is not a valid authentication type"),
    )
}

pub(super) fn bad_query_value(key: &str, raw: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::BAD_REQUEST,
        "Bad query value",
        format!("Parameter {key} contained invalid value {raw}"),
    )
}

pub(super) fn username_exists(username: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::CONFLICT,
        "Username already exists",
        format!("username {username} already exists"),
    )
    .with_values(vec![username.to_string()])
}
