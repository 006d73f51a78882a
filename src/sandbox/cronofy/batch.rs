//! `POST /v1/batch`: each entry (an event or available-period write) runs
//! through its own operation's code, and the batch is answered 207 with one
//! `{status, data}` per entry, in order.

use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, ApiErr, Outcome, invalid};
use super::store::{Ctx, Store};
use crate::cronofy::{spec::API, types};
use crate::sandbox::engine::Query;

/// The operations a batch entry may stand for.
const BATCHABLE: &[&str] = &[
    "upsert_event",
    "delete_event",
    "upsert_available_period",
    "delete_available_period",
];

/// The spec's limit of entries per batch (`x-specbound-batch-limit`).
fn batch_limit() -> usize {
    API.operation("batch")
        .and_then(|op| op.batch_limit)
        .map_or(50, |n| n as usize)
}

impl Store {
    /// `POST /v1/batch`.
    pub(super) fn batch(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        req.caller.account()?;
        let request: types::BatchRequest = req.decode("BatchRequest")?;
        let limit = batch_limit();
        if request.batch.len() > limit {
            return Err(invalid(
                "batch",
                format!("batch must have at most {limit} entries"),
            ));
        }
        let no_query = Query::default();
        let mut results = Vec::with_capacity(request.batch.len());
        for entry in request.batch {
            let method = entry.method.to_string();
            let path = entry.relative_url.split('?').next().unwrap_or_default();
            let routed = API
                .operations
                .iter()
                .filter(|op| op.method == method && BATCHABLE.contains(&op.id))
                .find_map(|op| op.match_path(path).map(|values| (op, values)));
            let outcome = match routed {
                Some((op, values)) => self.run(
                    ctx,
                    &Req {
                        op,
                        path: values,
                        query: &no_query,
                        body: Value::Object(entry.data),
                        caller: req.caller.clone(),
                        check: None,
                    },
                ),
                None => Err(ApiErr::not_found()),
            };
            results.push(match outcome {
                Ok(Answer::Accepted) => types::BatchEntryResult {
                    status: 202,
                    data: None,
                },
                Ok(Answer::Json(status, _)) => types::BatchEntryResult {
                    status: i64::from(status.as_u16()),
                    data: None,
                },
                Ok(Answer::Empty) => types::BatchEntryResult {
                    status: 200,
                    data: None,
                },
                Err(e) => types::BatchEntryResult {
                    status: i64::from(e.status.as_u16()),
                    data: e.errors(),
                },
            });
        }
        Ok(Answer::Json(
            StatusCode::MULTI_STATUS,
            json!({ "batch": results }),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_limit_comes_from_the_spec() {
        assert_eq!(super::batch_limit(), 50);
    }
}
