//! Every operation of the spec, sent with the spec's examples through the
//! generated dispatcher to a seeded sandbox: each is routed and answered
//! (never 5xx or 501), and each success decodes into the spec's types.
//! Creations go first and the ids they answer replace the examples' ids, so
//! that most operations reach a record; deletions go last.

use std::collections::HashMap;

use serde_json::{Map, Value};

use specbound::zendesk::spec::API;

use super::sandbox_setup::{agent, sandbox};
use crate::spec_examples::{Case, cases, load};

/// Points every `endpoint` of a body at `local`: the sandbox calls
/// webhook endpoints, and tests talk only to 127.0.0.1.
fn localized(body: &mut Value, local: &str) {
    match body {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "endpoint" {
                    *v = Value::String(local.to_string());
                } else {
                    localized(v, local);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| localized(v, local)),
        _ => {}
    }
}

/// Creations first, deletions (and what deletes, spams or merges) last.
fn rank(case: &Case) -> u8 {
    let destroys = [
        "delete",
        "destroy",
        "remove",
        "mark_ticket_as_spam",
        "merge",
    ];
    match case.method.as_str() {
        "POST" if case.id.starts_with("create_") || case.id == "upload_attachment" => 0,
        _ if destroys.iter().any(|d| case.id.contains(d)) => 2,
        _ => 1,
    }
}

/// The ids an answer names, by the parameter names that take them:
/// `{"ticket": {"id": 7}}` gives `ticket_id`, a job status `job_status_id`.
fn ids_in(answer: &Value, into: &mut HashMap<String, Value>) {
    let Some(map) = answer.as_object() else {
        return;
    };
    if map.contains_key("job_status") {
        // An asynchronous create: the record exists once the job has run.
        return;
    }
    for (key, value) in map {
        // A record, or the first of a list (`views` gives `view_id`).
        let (name, first) = match value {
            Value::Array(items) => (key.trim_end_matches('s'), items.first()),
            one => (key.as_str(), Some(one)),
        };
        if let Some(id) = first.and_then(|v| v.get("id")).filter(|id| !id.is_null()) {
            into.entry(format!("{name}_id"))
                .or_insert_with(|| id.clone());
        }
    }
    let comment = answer
        .pointer("/audit/events/0")
        .filter(|e| e["type"] == "Comment");
    if let Some(id) = comment.and_then(|e| e.get("id")) {
        into.entry("comment_id".into())
            .or_insert_with(|| id.clone());
    }
    if let Some(token) = answer.pointer("/upload/token") {
        into.entry("token".into()).or_insert_with(|| token.clone());
    }
    if let Some(id) = answer.pointer("/upload/attachment/id") {
        into.entry("attachment_id".into())
            .or_insert_with(|| id.clone());
    }
}

#[tokio::test]
async fn every_operation_is_routed_answered_and_decoded() {
    let server = sandbox()
        .tickets(10)
        .users(5)
        .organizations(3)
        .groups(2)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    let local = format!("{}/webhook-sink", server.base_url());
    let spec = load("zendesk");
    let mut all = cases(&spec);
    all.sort_by_key(rank);
    let mut known: HashMap<String, Value> = HashMap::new();
    let (mut answered, mut refused, mut failures) = (0, Vec::new(), Vec::new());
    for case in &all {
        let mut params: Map<String, Value> = Map::new();
        for (name, value) in &case.params {
            // Made-up values (`sort-1`, a cursor) are refused as they should
            // be: leave them out, and use the ids of real records.
            let required = API
                .operation(&case.id)
                .and_then(|op| op.parameters.iter().find(|p| p.name == name))
                .is_some_and(|p| p.required);
            let made_up = !required && value.as_str().is_some_and(|v| v == format!("{name}-1"));
            if let Some(real) = known.get(name) {
                params.insert(name.clone(), real.clone());
            } else if !made_up
                && !["page[after]", "page[before]", "cursor"].contains(&name.as_str())
            {
                params.insert(name.clone(), value.clone());
            }
        }
        let mut body = case.body.clone();
        if let Some(b) = body.as_mut() {
            localized(b, &local);
        }
        let outcome =
            specbound::zendesk::examples::send(&zd, &case.id, &params, body.as_ref()).await;
        match outcome {
            Ok(answer) => {
                answered += 1;
                ids_in(&answer, &mut known);
            }
            Err(e) => match (e.status().map(|s| s.as_u16()), case.id.as_str()) {
                (Some(400 | 403 | 404 | 409 | 422), _) => refused.push(format!("{}: {e}", case.id)),
                // The docs' placeholder client id is not the sandbox's.
                (Some(401), "request_token") => {}
                _ => failures.push(format!("{}: {e}", case.id)),
            },
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let served = server.operations_served();
    let missing: Vec<&str> = all
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !served.contains(id))
        .collect();
    assert!(missing.is_empty(), "never routed: {missing:?}");
    assert!(
        answered * 10 >= all.len() * 9,
        "only {answered} of {} succeeded; refused:\n{}",
        all.len(),
        refused.join("\n")
    );
}
