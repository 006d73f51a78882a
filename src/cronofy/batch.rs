//! Batches of event writes: any number of entries, sent in requests of the
//! API's limit (`x-specbound-batch-limit` of `batch` in the spec), with the
//! results joined in input order. Each entry's URL is the path of the
//! operation it stands for, from the spec.

use super::generated::{Client, prelude::*, spec::API, types};
use crate::{Error, Result};

/// The spec's limit of entries per batch request.
fn limit() -> usize {
    API.operation("batch")
        .and_then(|op| op.batch_limit)
        .map_or(1, |n| n as usize)
}

/// The path of the event operations (`upsert_event`, `delete_event`) for
/// `calendar_id`, as the spec gives it.
fn events_url(calendar_id: &str) -> Result<String> {
    if calendar_id.trim().is_empty() {
        return Err(Error::invalid("calendar_id", "must not be empty"));
    }
    let op = API
        .operation("upsert_event")
        .ok_or_else(|| Error::Config("cronofy: the spec has no upsert_event".into()))?;
    Ok(op.render_path(&[("calendar_id", calendar_id)]))
}

/// Checks `data` against the spec's schema of operation `op`'s body.
fn check_body(op: &str, data: &serde_json::Value) -> Result<()> {
    let op = API
        .operation(op)
        .ok_or_else(|| Error::Config(format!("cronofy: the spec has no {op}")))?;
    if let Some(body) = op.body {
        crate::runtime::validate::value(&API, body.schema, data, super::PROFILE.formats)?;
    }
    super::checks::check(op, &[], Some(data))
}

fn entry(
    method: types::BatchEntryMethod,
    op: &str,
    calendar_id: &str,
    data: impl serde::Serialize,
) -> Result<types::BatchEntry> {
    let relative_url = events_url(calendar_id)?;
    let value = serde_json::to_value(data).map_err(|e| Error::invalid("data", e.to_string()))?;
    check_body(op, &value)?;
    let serde_json::Value::Object(data) = value else {
        return Err(Error::invalid(
            "data",
            "a batch entry's data must be a JSON object",
        ));
    };
    Ok(types::BatchEntry {
        data,
        method,
        relative_url,
    })
}

impl types::BatchEntry {
    /// An entry that upserts `event` into `calendar_id` (checked as
    /// `upsert_event` checks it).
    pub fn upsert_event(calendar_id: &str, event: &types::EventUpsert) -> Result<Self> {
        entry(
            types::BatchEntryMethod::Post,
            "upsert_event",
            calendar_id,
            event,
        )
    }

    /// An entry that deletes the managed event `event_id`.
    pub fn delete_event(calendar_id: &str, event_id: &str) -> Result<Self> {
        entry(
            types::BatchEntryMethod::Delete,
            "delete_event",
            calendar_id,
            types::EventDelete {
                event_id: event_id.into(),
                include_userinfo: None,
            },
        )
    }

    /// An entry that deletes the external event `event_uid`.
    pub fn delete_external_event(calendar_id: &str, event_uid: &str) -> Result<Self> {
        entry(
            types::BatchEntryMethod::Delete,
            "delete_event",
            calendar_id,
            types::ExternalEventDelete {
                event_uid: event_uid.into(),
            },
        )
    }
}

/// Sends `entries` as batches of at most the API's limit, one after the
/// other, and returns every entry's result in the order given. An entry
/// that failed has a non-2xx `status` and its errors in `data`.
pub(crate) async fn send(
    client: &Client,
    entries: Vec<types::BatchEntry>,
) -> Result<Vec<types::BatchEntryResult>> {
    let mut results = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(limit()) {
        let body = types::BatchRequest {
            batch: chunk.to_vec(),
        };
        let answer = client.batch().body(body).send().await?.into_inner();
        if answer.batch.len() != chunk.len() {
            return Err(Error::Protocol(format!(
                "a batch of {} entries was answered with {} results",
                chunk.len(),
                answer.batch.len()
            )));
        }
        results.extend(answer.batch);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_limit_comes_from_the_spec() {
        assert_eq!(super::limit(), 50);
    }
}
