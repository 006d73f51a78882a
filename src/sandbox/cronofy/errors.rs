//! Cronofy's answers: successes, 422 `{"errors": {...}}` bodies, the OAuth
//! endpoints' 400 `{"error": ...}`, and bare statuses (401, 403, 404, 429
//! have no documented body). Spec violations found by the engine become
//! 422s in Cronofy's words.

use std::fmt;

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::cronofy::types;
use crate::runtime::validate::{Problem, Violation};
use crate::sandbox::engine::Response;

/// What the `uri` format check says of a value that is not a web URL.
pub(super) const NOT_A_WEB_URL: &str = "must be an http or https URL";

/// What the `tzid` format check says of an unknown time zone.
pub(super) const NOT_A_TIME_ZONE: &str = "is not a known time zone";

/// A successful answer.
#[derive(Debug)]
pub(super) enum Answer {
    /// JSON with a status (200, or 207 for batches).
    Json(StatusCode, Value),
    /// 202 with an empty body (writes).
    Accepted,
    /// 200 with an empty body (revocation).
    Empty,
}

/// An operation's answer.
pub(super) type Outcome = Result<Answer, ApiErr>;

/// An error answer: a status, maybe a JSON body, maybe `Retry-After`.
#[derive(Debug)]
pub(super) struct ApiErr {
    pub(super) status: StatusCode,
    pub(super) body: Option<Value>,
    pub(super) retry_after: Option<u64>,
}

impl ApiErr {
    /// A status with an empty body.
    pub(super) fn status(status: StatusCode) -> Self {
        ApiErr {
            status,
            body: None,
            retry_after: None,
        }
    }

    /// 401 (with `WWW-Authenticate`).
    pub(super) fn unauthorized() -> Self {
        Self::status(StatusCode::UNAUTHORIZED)
    }

    /// 403: a scope or permission is missing.
    pub(super) fn forbidden() -> Self {
        Self::status(StatusCode::FORBIDDEN)
    }

    /// 404.
    pub(super) fn not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND)
    }

    /// 429 with `Retry-After: secs`.
    pub(super) fn rate_limited(secs: u64) -> Self {
        ApiErr {
            retry_after: Some(secs),
            ..Self::status(StatusCode::TOO_MANY_REQUESTS)
        }
    }

    /// The body of a 422, for batch entries.
    pub(super) fn errors(&self) -> Option<types::Error> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::from_value(b.clone()).ok())
    }

    /// The HTTP answer.
    pub(super) fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => Response::json(self.status, body),
            None => Response::empty(self.status),
        };
        if self.status == StatusCode::UNAUTHORIZED {
            response = response.with_header("www-authenticate", "Bearer error=\"invalid_token\"");
        }
        if let Some(secs) = self.retry_after {
            response = response.with_header("retry-after", &secs.to_string());
        }
        response
    }
}

/// The HTTP answer of an outcome.
pub(super) fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(Answer::Json(status, body)) => Response::json(status, &body),
        Ok(Answer::Accepted) => Response::empty(StatusCode::ACCEPTED),
        Ok(Answer::Empty) => Response::empty(StatusCode::OK),
        Err(e) => {
            tracing::debug!(status = %e.status, body = ?e.body, "cronofy sandbox refused a request");
            e.into_response()
        }
    }
}

/// 200 with `body`.
pub(super) fn ok(body: Value) -> Outcome {
    Ok(Answer::Json(StatusCode::OK, body))
}

/// A 422 with one error on one field.
pub(super) fn unprocessable(field: &str, key: &str, description: impl Into<String>) -> ApiErr {
    let description: String = description.into();
    ApiErr {
        body: Some(json!({"errors": {field: [{"key": key, "description": description}]}})),
        ..ApiErr::status(StatusCode::UNPROCESSABLE_ENTITY)
    }
}

/// 422 `errors.required`: "`<field>` must be specified".
pub(super) fn required(field: &str) -> ApiErr {
    unprocessable(
        field,
        "errors.required",
        format!("{field} must be specified"),
    )
}

/// 422 `errors.invalid`.
pub(super) fn invalid(field: &str, description: impl Into<String>) -> ApiErr {
    unprocessable(field, "errors.invalid", description)
}

/// 400 with an RFC 6749 error code, as the OAuth endpoints answer.
pub(super) fn oauth_error(code: &str, description: &str) -> ApiErr {
    ApiErr {
        body: Some(json!({"error": code, "error_description": description})),
        ..ApiErr::status(StatusCode::BAD_REQUEST)
    }
}

/// 400 for a body that is not JSON (or form fields).
pub(super) fn bad_json() -> ApiErr {
    oauth_error("invalid_request", "the request body is not valid JSON")
}

/// 500, logged.
pub(super) fn server_error(e: impl fmt::Display) -> ApiErr {
    tracing::warn!(error = %e, "cronofy sandbox failed");
    ApiErr::status(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The 422 of a violation of the spec's constraints, in Cronofy's words: a
/// missing property is `errors.required` "`<field>` must be specified", a
/// string over its length `errors.too_long`, anything else `errors.invalid`.
/// The field is the dotted path (`participants.0.members.0.sub`), or the
/// parameter's name.
pub(super) fn violation(v: &Violation) -> ApiErr {
    let field = if v.path.is_empty() {
        "request".to_string()
    } else {
        v.path.join(".")
    };
    match &v.problem {
        Problem::Missing => required(&field),
        Problem::WrongType { expected, .. } => {
            invalid(&field, format!("{field} must be of type {expected}"))
        }
        Problem::Unknown => invalid(&field, format!("{field} is not a known field")),
        Problem::Constraint(text) => constraint(&field, text),
    }
}

/// A broken constraint, from the words of the schema check.
fn constraint(field: &str, text: &str) -> ApiErr {
    if let Some((n, _)) = text
        .strip_prefix("must be at most ")
        .and_then(|rest| rest.split_once(" characters long"))
    {
        return unprocessable(
            field,
            "errors.too_long",
            format!("{field} is too long (at most {n} characters)"),
        );
    }
    if let Some(values) = text.strip_prefix("must be one of ") {
        let values: Vec<&str> = values.split(", ").collect();
        let listed = match values.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => values.join(", "),
        };
        return invalid(field, format!("{field} must be one of {listed}"));
    }
    if text == NOT_A_WEB_URL {
        let name = field.rsplit('.').next().unwrap_or(field);
        return invalid(field, format!("{name} {text}"));
    }
    invalid(field, format!("{field} {text}"))
}

/// Renames the fields of a 422 as nested under `prefix`.
pub(super) fn prefix_errors(mut e: ApiErr, prefix: &str) -> ApiErr {
    if let Some(errors) = e
        .body
        .as_mut()
        .and_then(|b| b.get_mut("errors"))
        .and_then(Value::as_object_mut)
    {
        let renamed: Map<String, Value> = std::mem::take(errors)
            .into_iter()
            .map(|(k, v)| (format!("{prefix}.{k}"), v))
            .collect();
        *errors = renamed;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(path: &[&str], problem: Problem) -> Violation {
        Violation {
            at: format!("body.{}", path.join(".")),
            path: path.iter().map(|s| s.to_string()).collect(),
            problem,
        }
    }

    fn body(e: ApiErr) -> Value {
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        e.body.unwrap()
    }

    #[test]
    fn violations_become_cronofy_field_errors() {
        assert_eq!(
            body(violation(&v(&["summary"], Problem::Missing))),
            json!({"errors": {"summary": [{"key": "errors.required", "description": "summary must be specified"}]}})
        );
        let enum_text = Problem::Constraint("must be one of accepted, tentative, declined".into());
        assert_eq!(
            body(violation(&v(&["status"], enum_text)))["errors"]["status"][0]["description"],
            "status must be one of accepted, tentative or declined"
        );
        let long = Problem::Constraint("must be at most 128 characters long (it has 130)".into());
        assert_eq!(
            body(violation(&v(&["callback_url"], long)))["errors"]["callback_url"][0],
            json!({"key": "errors.too_long", "description": "callback_url is too long (at most 128 characters)"})
        );
        let nested = violation(&v(
            &["participants", "0", "members", "0", "sub"],
            Problem::Missing,
        ));
        assert!(
            body(nested)["errors"]
                .get("participants.0.members.0.sub")
                .is_some()
        );
        let url = violation(&v(
            &["oauth", "redirect_uri"],
            Problem::Constraint(NOT_A_WEB_URL.into()),
        ));
        assert_eq!(
            body(url)["errors"]["oauth.redirect_uri"][0]["description"],
            "redirect_uri must be an http or https URL"
        );
        let wrong = Problem::WrongType {
            expected: "string",
            actual: "integer",
        };
        assert_eq!(
            body(violation(&v(&["end"], wrong)))["errors"]["end"][0]["description"],
            "end must be of type string"
        );
    }
}
