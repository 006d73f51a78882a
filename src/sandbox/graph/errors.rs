//! Graph's answers: successes, errors in Graph's shape (`{"error": {"code",
//! "message", "innerError": {"request-id", "client-request-id", "date"}}}`)
//! and the identity platform's (`{"error": "invalid_grant",
//! "error_description": "AADSTS...", "error_codes": [...]}`).

use http::StatusCode;
use serde_json::{Value, json};

use super::times::fmt_utc;
use crate::runtime::validate::{Problem, Violation};
use crate::sandbox::engine::Response;

/// An operation's answer.
pub(super) type Outcome = Result<Response, GraphErr>;

/// An error answer.
#[derive(Debug, Clone)]
pub(super) struct GraphErr {
    pub(super) status: StatusCode,
    pub(super) code: String,
    pub(super) message: String,
    /// Seconds for `Retry-After`.
    pub(super) retry_after: Option<u64>,
    /// The identity platform's shape: its `AADSTS` number.
    pub(super) aadsts: Option<u32>,
}

impl GraphErr {
    /// `status` with Graph's `code` and `message`.
    pub(super) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        GraphErr {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
            aadsts: None,
        }
    }

    /// 429 `TooManyRequests` with `Retry-After: secs`.
    pub(super) fn throttled(secs: u64) -> Self {
        GraphErr {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Please retry again later.",
            )
        }
    }

    /// The body, with the request's ids.
    pub(super) fn body(&self, request_id: &str, client_request_id: Option<&str>) -> Value {
        let now = fmt_utc(chrono::Utc::now());
        if let Some(number) = self.aadsts {
            let description = format!(
                "AADSTS{number}: {}\r\nTrace ID: {request_id}\r\nCorrelation ID: {}\r\nTimestamp: {now}",
                self.message,
                client_request_id.unwrap_or(request_id),
            );
            return json!({
                "error": self.code,
                "error_description": description,
                "error_codes": [number],
                "timestamp": now,
                "trace_id": request_id,
                "correlation_id": client_request_id.unwrap_or(request_id),
            });
        }
        let mut inner = json!({"date": now.trim_end_matches('Z'), "request-id": request_id});
        if let Some(c) = client_request_id {
            inner["client-request-id"] = json!(c);
        }
        json!({"error": {"code": self.code, "message": self.message, "innerError": inner}})
    }

    /// The HTTP answer.
    pub(super) fn into_response(
        self,
        request_id: &str,
        client_request_id: Option<&str>,
    ) -> Response {
        let mut answer = Response::json(self.status, &self.body(request_id, client_request_id));
        if self.status == StatusCode::UNAUTHORIZED && self.aadsts.is_none() {
            answer = answer.with_header(
                "www-authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"",
            );
        }
        if let Some(secs) = self.retry_after {
            answer = answer.with_header("retry-after", &secs.to_string());
        }
        answer
    }
}

/// 200 with `body`.
pub(super) fn ok(body: Value) -> Outcome {
    Ok(Response::json(StatusCode::OK, &body))
}

/// 201 with `body`.
pub(super) fn created(body: Value) -> Outcome {
    Ok(Response::json(StatusCode::CREATED, &body))
}

/// 204.
pub(super) fn no_content() -> Outcome {
    Ok(Response::empty(StatusCode::NO_CONTENT))
}

/// 202 with no body.
pub(super) fn accepted() -> Outcome {
    Ok(Response::empty(StatusCode::ACCEPTED))
}

/// 400 `code` (Graph's generic `BadRequest` or a specific one).
pub(super) fn bad_request(code: &str, message: impl Into<String>) -> GraphErr {
    GraphErr::new(StatusCode::BAD_REQUEST, code, message)
}

/// 400 `ErrorInvalidRequest`: something the request says cannot be done.
pub(super) fn invalid(message: impl Into<String>) -> GraphErr {
    bad_request("ErrorInvalidRequest", message)
}

/// 404 `ErrorItemNotFound`.
pub(super) fn not_found(_id: &str) -> GraphErr {
    GraphErr::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// 404 `itemNotFound` (drives and sites say it so).
pub(super) fn item_not_found() -> GraphErr {
    GraphErr::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The resource could not be found.",
    )
}

/// 401 `InvalidAuthenticationToken`.
pub(super) fn unauthenticated(message: &str) -> GraphErr {
    GraphErr::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    )
}

/// 403 `ErrorAccessDenied`.
pub(super) fn access_denied() -> GraphErr {
    GraphErr::new(
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied. Check credentials and try again.",
    )
}

/// 409 `nameAlreadyExists`.
pub(super) fn name_exists(name: &str) -> GraphErr {
    GraphErr::new(
        StatusCode::CONFLICT,
        "nameAlreadyExists",
        format!("An item named '{name}' already exists in this folder."),
    )
}

/// The identity platform's 400 (401 for `invalid_client`) with an `AADSTS` number.
pub(super) fn oauth(code: &str, aadsts: u32, message: &str) -> GraphErr {
    let status = if code == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    GraphErr {
        aadsts: Some(aadsts),
        ..GraphErr::new(status, code, message)
    }
}

/// The 400 of a violation of the spec's constraints, in Graph's words: a
/// query option Graph cannot read, a missing or mistyped property of a body.
pub(super) fn violation(v: &Violation) -> GraphErr {
    let at = if v.path.is_empty() {
        v.at.clone()
    } else {
        v.path.join(".")
    };
    match &v.problem {
        Problem::Missing => bad_request(
            "ErrorInvalidRequest",
            format!("The property '{at}' is required."),
        ),
        Problem::WrongType { expected, actual } => bad_request(
            "RequestBodyRead",
            format!(
                "Cannot convert the literal '{actual}' of '{at}' to the expected type '{expected}'."
            ),
        ),
        Problem::Unknown => bad_request(
            "RequestBodyRead",
            format!("The property '{at}' does not exist on this type."),
        ),
        Problem::Constraint(text) => {
            bad_request("BadRequest", format!("Invalid value for '{at}': {text}."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_take_graphs_shape_or_the_identity_platforms() {
        let e = not_found("x").body("rid-1", Some("crid-1"));
        assert_eq!(e["error"]["code"], "ErrorItemNotFound");
        assert_eq!(e["error"]["innerError"]["request-id"], "rid-1");
        assert_eq!(e["error"]["innerError"]["client-request-id"], "crid-1");
        let e = oauth("invalid_grant", 70008, "The refresh token has expired.");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let body = e.body("rid-2", None);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_codes"], json!([70008]));
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS70008: ")
        );
        let r = GraphErr::throttled(7).into_response("rid", None);
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers["retry-after"], "7");
        assert_eq!(
            oauth("invalid_client", 7000215, "x").status,
            StatusCode::UNAUTHORIZED
        );
    }
}
