//! Batches of event writes: any number of entries, sent in requests of the
//! API's limit (`x-specbound-batch-limit` of `batch` in the spec, 50), with
//! the results joined in input order.

use super::client::Client;
use super::generated::{prelude::*, spec, types};
use super::validate;
use crate::{Error, Result};

/// The spec's limit of entries per batch request.
fn limit() -> usize {
    spec::EXTENSIONS
        .iter()
        .find(|(op, ext, _)| *op == "batch" && *ext == "x-specbound-batch-limit")
        .and_then(|(_, _, v)| v.parse().ok())
        .unwrap_or(50)
}

/// The path the `upsert_event` and `delete_event` operations have, with the
/// calendar id encoded as progenitor encodes path parameters.
fn events_url(calendar_id: &str) -> String {
    format!(
        "/v1/calendars/{}/events",
        progenitor_client::encode_path(calendar_id)
    )
}

fn entry(
    method: types::BatchEntryMethod,
    calendar_id: &str,
    data: impl serde::Serialize,
) -> Result<types::BatchEntry> {
    let data = match serde_json::to_value(data) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => {
            return Err(Error::invalid(
                "data",
                "a batch entry's data must be a JSON object",
            ));
        }
    };
    Ok(types::BatchEntry {
        data,
        method,
        relative_url: events_url(calendar_id),
    })
}

impl types::BatchEntry {
    /// An entry that upserts `event` into `calendar_id` (checked as
    /// [`Client::upsert_event`] checks it).
    pub fn upsert_event(calendar_id: &str, event: &types::EventUpsert) -> Result<Self> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::event(event)?;
        entry(types::BatchEntryMethod::Post, calendar_id, event)
    }

    /// An entry that deletes the managed event `event_id`.
    pub fn delete_event(calendar_id: &str, event_id: &str) -> Result<Self> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::non_empty("event_id", event_id)?;
        entry(
            types::BatchEntryMethod::Delete,
            calendar_id,
            types::EventDelete {
                event_id: event_id.into(),
            },
        )
    }

    /// An entry that deletes the external event `event_uid`.
    pub fn delete_external_event(calendar_id: &str, event_uid: &str) -> Result<Self> {
        validate::non_empty("calendar_id", calendar_id)?;
        validate::non_empty("event_uid", event_uid)?;
        entry(
            types::BatchEntryMethod::Delete,
            calendar_id,
            types::ExternalEventDelete {
                event_uid: event_uid.into(),
            },
        )
    }
}

impl Client {
    /// Sends `entries` as batches of at most the API's limit (50), one after
    /// the other, and returns every entry's result in the order given. An
    /// entry that failed has a non-2xx `status` and its errors in `data`.
    pub async fn send_batch(
        &self,
        entries: Vec<types::BatchEntry>,
    ) -> Result<Vec<types::BatchEntryResult>> {
        let mut results = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(limit()) {
            let body = types::BatchRequest {
                batch: chunk.to_vec(),
            };
            let answer = self.api.batch().body(body).send().await?.into_inner();
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_limit_comes_from_the_spec() {
        assert_eq!(super::limit(), 50);
    }
}
