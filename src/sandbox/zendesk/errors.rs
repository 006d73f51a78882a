//! Zendesk's answers: successes, the `{error, description, details}` bodies
//! of the Support API, the `{"errors": [{code, title, detail}]}` bodies of
//! its pagination checks, the RFC 6749 bodies of `/oauth/tokens`, and 429s
//! with or without `Retry-After`.

use http::StatusCode;
use serde_json::{Value, json};

use crate::runtime::validate::{Problem, Violation};
use crate::sandbox::engine::Response;

/// A successful answer.
#[derive(Debug)]
pub(super) enum Answer {
    /// 200 with a JSON body.
    Ok(Value),
    /// 201 with a JSON body and `Location: <url>` when one is given.
    Created(Value, Option<String>),
    /// 202 with a JSON body (asynchronous creates).
    Accepted(Value),
    /// 204 without a body.
    NoContent,
    /// 200 with an empty body (mark as spam).
    Empty,
}

/// An operation's answer.
pub(super) type Outcome = Result<Answer, ZdErr>;

/// An error answer: a status, a JSON body (or a plain-text one), maybe
/// `Retry-After`.
#[derive(Debug, Clone)]
pub(super) struct ZdErr {
    pub(super) status: StatusCode,
    pub(super) body: Value,
    pub(super) retry_after: Option<u64>,
}

impl ZdErr {
    /// `status` with `{"error": error, "description": description}`.
    pub(super) fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        let description: String = description.into();
        ZdErr {
            status,
            body: json!({"error": error, "description": description}),
            retry_after: None,
        }
    }

    /// 401 `{"error": "Couldn't authenticate you"}`, Zendesk's answer to a
    /// missing, unknown or expired credential.
    pub(super) fn unauthorized() -> Self {
        ZdErr {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"error": "Couldn't authenticate you"}),
            retry_after: None,
        }
    }

    /// 403 in the object form, as Zendesk answers a missing scope or role.
    pub(super) fn forbidden() -> Self {
        ZdErr {
            status: StatusCode::FORBIDDEN,
            body: json!({"error": {"title": "Forbidden", "message":
                "You do not have access to this page. Please contact the account owner of this help desk for further help."}}),
            retry_after: None,
        }
    }

    /// 404 `RecordNotFound`.
    pub(super) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "RecordNotFound", "Not found")
    }

    /// 404 `InvalidEndpoint`: no such route.
    pub(super) fn invalid_endpoint() -> Self {
        Self::new(StatusCode::NOT_FOUND, "InvalidEndpoint", "Not found")
    }

    /// 429 `APIRateLimitExceeded`, with `Retry-After` when `retry_after` is set.
    pub(super) fn rate_limited(description: &str, retry_after: Option<u64>) -> Self {
        ZdErr {
            retry_after,
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "APIRateLimitExceeded",
                description,
            )
        }
    }

    /// The HTTP answer.
    pub(super) fn into_response(self) -> Response {
        let mut response = Response::json(self.status, &self.body);
        if let Some(secs) = self.retry_after {
            response = response.with_header("retry-after", &secs.to_string());
        }
        response
    }
}

/// 422 `RecordInvalid` with one problem of one field.
pub(super) fn record_invalid(field: &str, error: &str, description: impl Into<String>) -> ZdErr {
    let description: String = description.into();
    ZdErr {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": error}]},
        }),
        retry_after: None,
    }
}

/// 400 `TooManyValues`: "Maximum 100 <things> may be <verb> per call".
pub(super) fn too_many_values(what: &str, verb: &str, max: usize) -> ZdErr {
    ZdErr::new(
        StatusCode::BAD_REQUEST,
        "TooManyValues",
        format!("Maximum {max} {what} may be {verb} per call"),
    )
}

/// 400 in the `{"errors": [...]}` form of the pagination checks.
fn pagination_error(code: &str, title: &str, detail: Option<&str>) -> ZdErr {
    let mut error = json!({"code": code, "title": title});
    if let Some(detail) = detail {
        error["detail"] = json!(detail);
    }
    ZdErr {
        status: StatusCode::BAD_REQUEST,
        body: json!({"errors": [error]}),
        retry_after: None,
    }
}

/// 400 `InvalidPaginationDepth`: offset paging past page 100 or 10,000
/// records (the body recorded by users of the API since August 2023).
pub(super) fn pagination_too_deep() -> ZdErr {
    pagination_error(
        "InvalidPaginationDepth",
        "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)",
        Some(
            "There are limits to the page depth in Offset Pagination. Offset Pagination will be deprecated fully in the near future.\nPlease switch to Cursor Pagination at the earliest. Cursor Pagination does not have any limits.\nSee https://developer.zendesk.com/documentation/api-basics/pagination/comparing-cursor-pagination-and-offset-pagination\n",
        ),
    )
}

/// 400 `InvalidPaginationParameter`: "`<param>` is not valid" (an unknown,
/// foreign or expired cursor, a page size past the limit, a sort field the
/// list cannot be paged by).
pub(super) fn invalid_pagination(param: &str) -> ZdErr {
    pagination_error(
        "InvalidPaginationParameter",
        &format!("{param} is not valid"),
        None,
    )
}

/// 422 `invalid`: a search asked past its 1,000 results.
pub(super) fn search_limit() -> ZdErr {
    ZdErr::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        "Invalid search: Requested response size was greater than Search Response Limits",
    )
}

/// 400 with an RFC 6749 error, as `/oauth/tokens` answers.
pub(super) fn oauth_error(error: &str, description: &str) -> ZdErr {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    ZdErr {
        status,
        body: json!({"error": error, "error_description": description}),
        retry_after: None,
    }
}

/// The `invalid_grant` of a code or refresh token that is unknown, used,
/// expired, revoked, or for another client or redirect URI.
pub(super) fn invalid_grant() -> ZdErr {
    oauth_error(
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
    )
}

/// 400 for a body that is not JSON.
pub(super) fn bad_json() -> ZdErr {
    ZdErr::new(
        StatusCode::BAD_REQUEST,
        "InvalidValue",
        "The request body is not valid JSON",
    )
}

/// A violation of the spec's constraints: a path parameter that cannot be
/// what it names is no route at all (404 `InvalidEndpoint`, as Rails routes
/// it); a query parameter is 400 `InvalidValue`; a body 422 `RecordInvalid`
/// on the field (the dotted path below the root object).
pub(super) fn violation(v: &Violation, in_path: bool) -> ZdErr {
    if in_path {
        return ZdErr::invalid_endpoint();
    }
    let words = match &v.problem {
        Problem::Missing => "is required".to_string(),
        Problem::WrongType { expected, .. } => format!("must be of type {expected}"),
        Problem::Unknown => "is not a known field".to_string(),
        Problem::Constraint(text) => text.clone(),
    };
    match v.at.strip_prefix("body") {
        Some(_) => {
            let field = match v.path.split_first() {
                Some((_, rest)) if !rest.is_empty() => rest.join("."),
                Some((root, _)) => root.clone(),
                None => "base".to_string(),
            };
            let error = match v.problem {
                Problem::Missing => "BlankValue",
                _ => "InvalidValue",
            };
            record_invalid(&field, error, format!("{field} {words}"))
        }
        None => ZdErr::new(
            StatusCode::BAD_REQUEST,
            "InvalidValue",
            format!("{} {words}", v.at),
        ),
    }
}

/// The HTTP answer of an outcome.
pub(super) fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(Answer::Ok(body)) => Response::json(StatusCode::OK, &body),
        Ok(Answer::Created(body, location)) => {
            let response = Response::json(StatusCode::CREATED, &body);
            match location {
                Some(url) => response.with_header("location", &url),
                None => response,
            }
        }
        Ok(Answer::Accepted(body)) => Response::json(StatusCode::ACCEPTED, &body),
        Ok(Answer::NoContent) => Response::empty(StatusCode::NO_CONTENT),
        Ok(Answer::Empty) => Response::empty(StatusCode::OK),
        Err(e) => {
            tracing::debug!(status = %e.status, body = %e.body, "zendesk sandbox refused a request");
            e.into_response()
        }
    }
}

/// 200 with `body`.
pub(super) fn ok(body: Value) -> Outcome {
    Ok(Answer::Ok(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_answered_where_zendesk_would() {
        let body = Violation {
            at: "body.ticket.priority".into(),
            path: vec!["ticket".into(), "priority".into()],
            problem: Problem::WrongType {
                expected: "string",
                actual: "integer",
            },
        };
        let e = violation(&body, false);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.body["details"]["priority"][0]["description"],
            "priority must be of type string"
        );
        let query = Violation {
            at: "per_page".into(),
            path: Vec::new(),
            problem: Problem::Constraint("must be at least 1".into()),
        };
        assert_eq!(violation(&query, false).status, StatusCode::BAD_REQUEST);
        assert_eq!(violation(&query, true).body["error"], "InvalidEndpoint");
        let deep = pagination_too_deep();
        assert_eq!(deep.body["errors"][0]["code"], "InvalidPaginationDepth");
        assert_eq!(
            oauth_error("invalid_client", "x").status,
            StatusCode::UNAUTHORIZED
        );
    }
}
