//! JSON batching: `POST /$batch` with up to 20 requests (URLs relative to
//! the version root), each run through the same router and operations as a
//! request of its own, with the batch's `Authorization`. A request whose
//! `dependsOn` names a request that failed is answered 424
//! `FailedDependency` without running; faults injected for an operation
//! (see [`Graph::faults`](super::Graph::faults)) hit its batch items too, so
//! a throttled item answers 429 with `Retry-After` inside a 200 batch.
//! Answers come in the order of the requests; JSON bodies stay JSON, other
//! bodies are Base64.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::dispatch::{Req, Shared};
use super::errors::{GraphErr, Outcome, bad_request, ok};
use super::store::guid;
use crate::sandbox::engine::{self, Api as _, Fault, Query, Request, Response};

/// One item's answer.
struct Answered {
    id: String,
    status: u16,
    headers: Map<String, Value>,
    body: Value,
}

/// `POST /$batch`.
pub(super) fn run(shared: &Shared, req: &Req) -> Outcome {
    let items = req
        .field("requests")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap_or("").to_string())
        .collect();
    for (n, id) in ids.iter().enumerate() {
        if ids[..n].contains(id) {
            return Err(bad_request(
                "BadRequest",
                format!("Batch request contains duplicate id '{id}'."),
            ));
        }
    }
    for item in &items {
        for dep in item["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !ids.iter().any(|i| i == dep) {
                return Err(bad_request(
                    "BadRequest",
                    format!("The dependsOn id '{dep}' is not in the batch."),
                ));
            }
        }
    }
    let mut done: Vec<Answered> = Vec::new();
    while done.len() < items.len() {
        let ready = items.iter().find(|item| {
            let id = item["id"].as_str().unwrap_or("");
            !done.iter().any(|d| d.id == id)
                && item["dependsOn"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .all(|dep| done.iter().any(|d| d.id == dep))
        });
        let Some(item) = ready else {
            return Err(bad_request(
                "BadRequest",
                "The batch's dependsOn form a cycle.",
            ));
        };
        let failed_dependency = item["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|dep| {
                done.iter()
                    .any(|d| d.id == *dep && !(200..300).contains(&d.status))
            });
        let id = item["id"].as_str().unwrap_or("").to_string();
        let answer = match failed_dependency {
            Some(dep) => error_item(
                &id,
                GraphErr::new(
                    StatusCode::FAILED_DEPENDENCY,
                    "FailedDependency",
                    format!("The request depends on request '{dep}', which failed."),
                ),
            ),
            None => run_item(shared, req, item),
        };
        done.push(answer);
    }
    let responses: Vec<Value> = ids
        .iter()
        .filter_map(|id| done.iter().find(|d| d.id == *id))
        .map(|d| json!({"id": d.id, "status": d.status, "headers": d.headers, "body": d.body}))
        .collect();
    ok(json!({"responses": responses}))
}

/// Runs one item through the router, its injected faults first.
fn run_item(shared: &Shared, batch: &Req, item: &Value) -> Answered {
    let id = item["id"].as_str().unwrap_or("").to_string();
    let request = match item_request(batch, item) {
        Ok(r) => r,
        Err(e) => return error_item(&id, e),
    };
    let route = engine::route(shared, &request).map(|(op, _)| op.id);
    if route == Some("batch") {
        return error_item(
            &id,
            bad_request("BadRequest", "A batch cannot contain a batch."),
        );
    }
    let fault = route.and_then(|op| shared.faults.get().and_then(|f| f.take(Some(op))));
    let response = match fault {
        Some(Fault::RateLimited { retry_after }) => {
            shared.fault_answer(StatusCode::TOO_MANY_REQUESTS, Some(retry_after))
        }
        Some(Fault::Status(code)) => shared.fault_answer(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            None,
        ),
        _ => engine::dispatch(shared, request).1,
    };
    answered(&id, response)
}

/// The HTTP request an item stands for.
fn item_request(batch: &Req, item: &Value) -> Result<Request, GraphErr> {
    let url = item["url"].as_str().unwrap_or("");
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(bad_request(
            "BadRequest",
            "Batch request URLs are relative to the version root.",
        ));
    }
    let method = Method::from_bytes(
        item["method"]
            .as_str()
            .unwrap_or("")
            .to_ascii_uppercase()
            .as_bytes(),
    )
    .map_err(|_| {
        bad_request(
            "BadRequest",
            "The batch request's method is not an HTTP method.",
        )
    })?;
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut headers = HeaderMap::new();
    for name in ["authorization", "client-request-id"] {
        if let Some(v) = batch.headers.get(name) {
            headers.insert(name, v.clone());
        }
    }
    for (k, v) in item["headers"].as_object().into_iter().flatten() {
        let name = http::HeaderName::from_bytes(k.as_bytes());
        let value = HeaderValue::from_str(v.as_str().unwrap_or(""));
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.insert(name, value);
        }
    }
    let body = match &item["body"] {
        Value::Null => Bytes::new(),
        Value::String(text) if !is_json(&headers) => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|_| text.clone().into_bytes()),
        ),
        json_body => {
            if !headers.contains_key(http::header::CONTENT_TYPE) {
                return Err(bad_request(
                    "BadRequest",
                    "A batch request with a JSON body needs a Content-Type header.",
                ));
            }
            Bytes::from(serde_json::to_vec(json_body).unwrap_or_default())
        }
    };
    Ok(Request {
        method,
        path: format!("/v1.0/{}", path.trim_start_matches('/')),
        query: Query::parse(query),
        headers,
        body,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// An item's answer from an HTTP answer.
fn answered(id: &str, response: Response) -> Answered {
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let shown = match name.as_str() {
            "content-type" => "Content-Type",
            "retry-after" => "Retry-After",
            "location" => "Location",
            other => other,
        };
        headers.insert(shown.to_string(), json!(value.to_str().unwrap_or("")));
    }
    let json_answer = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let body = if response.body.is_empty() {
        Value::Null
    } else if json_answer {
        serde_json::from_slice(&response.body).unwrap_or(Value::Null)
    } else {
        json!(base64::engine::general_purpose::STANDARD.encode(&response.body))
    };
    Answered {
        id: id.to_string(),
        status: response.status.as_u16(),
        headers,
        body,
    }
}

/// An item's answer from an error.
fn error_item(id: &str, e: GraphErr) -> Answered {
    answered(id, e.into_response(&guid(), None))
}
