//! JSON batching of any number of requests (`$batch`, operation `batch`).
//!
//! Requests are made by the generated builders without being sent
//! ([`BatchItem::from_built`] of a `build_request()`), or by hand for a URL
//! the API handed out ([`BatchItem::raw`]). [`GraphBatch::batch_all`] gives
//! them ids (`"1"` for the first), splits them into batches of the spec's
//! `x-specbound-batch-limit` (20) without splitting a group joined by
//! `dependsOn`, sends the batches one after the other with the generated
//! `batch()` builder and returns one [`BatchOutcome`] per request, in the
//! order given.
//!
//! Requests answered 429 (or 503, when they may be sent twice) are sent
//! again, alone in a new batch with the requests that depend on them, after
//! the longest `Retry-After` among them, as the client's
//! [`RetryPolicy`](crate::runtime::RetryPolicy) allows (attempts, wait
//! budget, fail-fast); the others are kept.
//!
//! Outlook runs at most 4 requests of one mailbox at a time. A batch gets
//! at most 4 Outlook requests of one mailbox that may run at once; the
//! others go to a later batch. They are not chained with `dependsOn`
//! instead: a chain runs them one at a time rather than four, and makes a
//! failure of one (a 404) fail every later one with 424.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderMap, Method, StatusCode};
use progenitor_client::ClientInfo as _;
use serde::de::DeserializeOwned;

use super::batch_plan::plan;
use super::generated::{Client, prelude::*, spec::API, types};
use super::throttling::{self, BATCH, OUTLOOK_IN_FLIGHT};
use crate::runtime::Runtime;
use crate::runtime::retry::{self, Decision, Outcome};
use crate::{Error, Result};

/// One request of a JSON batch, not sent yet.
#[derive(Clone, Debug)]
pub struct BatchItem {
    method: Method,
    /// Relative to the version root, with its query (`/me/messages?$top=5`).
    url: String,
    headers: BTreeMap<String, String>,
    body: Option<serde_json::Value>,
    depends_on: Vec<usize>,
}

impl BatchItem {
    /// The request a generated builder built without sending it, checked
    /// against its operation in the spec as `send()` would check it.
    ///
    /// ```no_run
    /// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
    /// use specbound::graph::{BatchItem, Mailbox, prelude::*};
    /// let inbox = BatchItem::from_built(
    ///     graph
    ///         .list_folder_messages()
    ///         .mailbox(Mailbox::me())
    ///         .mail_folder_id("inbox")
    ///         .select("subject")
    ///         .build_request()?,
    /// )?;
    /// # let _ = inbox; Ok(()) }
    /// ```
    pub fn from_built((client, request): (&Client, reqwest::Request)) -> Result<Self> {
        let runtime = client.inner();
        let url = request.url();
        let base = runtime.base_url_parsed();
        let path = (url.origin() == base.origin())
            .then(|| url.path().strip_prefix(runtime.base_path()))
            .flatten()
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| {
                Error::invalid(
                    "request",
                    format!(
                        "{} is not below the Graph version root {}; only Graph requests can be batched",
                        url.path(),
                        runtime.base_url()
                    ),
                )
            })?;
        let (op, _) = API.route(request.method().as_str(), path).ok_or_else(|| {
            Error::invalid("request", format!("{path} is no operation of the spec"))
        })?;
        runtime.check(op, &request)?;
        let mut headers = BTreeMap::new();
        for (name, value) in request.headers() {
            if [
                http::header::CONTENT_LENGTH,
                http::header::HOST,
                http::header::AUTHORIZATION,
            ]
            .contains(name)
            {
                continue;
            }
            let value = value.to_str().map_err(|_| {
                Error::invalid("header", format!("{name} of {} is not text", op.id))
            })?;
            headers
                .entry(name.as_str().to_string())
                .and_modify(|v: &mut String| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_string());
        }
        let body = match request.body() {
            None => None,
            Some(body) => {
                let bytes = body.as_bytes().ok_or_else(|| {
                    Error::invalid(
                        "body",
                        format!("the streamed body of {} cannot be batched", op.id),
                    )
                })?;
                let json = headers
                    .get("content-type")
                    .is_some_and(|t| t.contains("json"));
                Some(if json {
                    serde_json::from_slice(bytes)
                        .map_err(|e| Error::invalid("body", e.to_string()))?
                } else {
                    // Graph takes other bodies base64-encoded.
                    serde_json::Value::String(
                        base64::engine::general_purpose::STANDARD.encode(bytes),
                    )
                })
            }
        };
        let url = match url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        Ok(BatchItem {
            method: request.method().clone(),
            url,
            headers,
            body,
            depends_on: Vec::new(),
        })
    }

    /// A request to `url`: relative to the version root (`/me/messages`),
    /// or an absolute URL below it (a next link).
    pub fn raw(method: Method, url: impl Into<String>) -> Self {
        BatchItem {
            method,
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            depends_on: Vec::new(),
        }
    }

    /// Adds a header (`ConsistencyLevel: eventual`, `Prefer`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), value.to_string());
        self
    }

    /// Sends `body` as its JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.headers
            .insert("content-type".into(), "application/json".into());
        self.body = Some(body);
        self
    }

    /// Runs it only after the request at position `index` of the same
    /// list has succeeded (`dependsOn`; it must come before this one).
    /// If that one fails, this one fails with 424, which
    /// [`BatchError::DependencyFailed`] reports.
    pub fn depends_on(mut self, index: usize) -> Self {
        self.depends_on.push(index);
        self
    }
}

/// JSON batching for the Graph [`Client`] (`use specbound::graph::prelude::*`).
pub trait GraphBatch {
    /// Sends `items` in as many batches as it takes and returns one
    /// outcome per item, in the order given.
    ///
    /// Items get the ids `"1"` to `"n"` and go in batches of the spec's
    /// `x-specbound-batch-limit` (20), one batch after the other; a group
    /// joined by `depends_on` is never split. A batch gets at most 4
    /// Outlook requests of one mailbox that may run at once (Outlook's
    /// limit); the others go to a later batch rather than into a
    /// `dependsOn` chain, which would run them one at a time and turn one
    /// failure into 424 for all after it. Items answered 429 (or 503, when
    /// they may be sent twice) go again in a new batch, with the items
    /// that failed 424 because of them, after the longest `Retry-After`
    /// among them, as the client's retry policy allows (attempts, wait
    /// budget, fail-fast); the others are kept.
    ///
    /// An item's own failure is in its outcome; the call fails only for
    /// bad input, before anything is sent: a `depends_on` that does not
    /// point to an earlier item, a group joined by `depends_on` larger than
    /// one batch, a URL that is not below the version root.
    ///
    /// ```no_run
    /// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
    /// use specbound::graph::{BatchItem, Mailbox, prelude::*, types};
    /// let me = BatchItem::from_built(graph.get_user().mailbox(Mailbox::me()).build_request()?)?;
    /// let inbox = BatchItem::from_built(
    ///     graph.list_messages().mailbox(Mailbox::me()).select("subject").build_request()?,
    /// )?;
    /// let outcomes = graph.batch_all(vec![me, inbox]).await?;
    /// match outcomes[1].json::<types::MessageCollection>() {
    ///     Ok(page) => println!("{} messages", page.value.len()),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # Ok(()) }
    /// ```
    fn batch_all(
        &self,
        items: Vec<BatchItem>,
    ) -> impl Future<Output = Result<Vec<BatchOutcome>>> + Send;
}

/// The answer to one item of [`GraphBatch::batch_all`].
pub struct BatchOutcome {
    /// Its position in the list given.
    pub index: usize,
    /// The id it was sent with.
    pub id: String,
    /// The status of its answer; `None` when there is none (its batch
    /// failed as a whole, or the batch's answer had none for it).
    pub status: Option<StatusCode>,
    /// The headers of its answer.
    pub headers: HeaderMap,
    /// The body of its answer: JSON, a base64 string for a binary answer,
    /// `null` when there was none.
    pub body: serde_json::Value,
    /// How many times it was sent.
    pub attempts: u32,
    operation: &'static str,
    depends_on: Vec<usize>,
    /// The wait the budget refused, when that ended its retries.
    refused: Option<Duration>,
    failure: Option<Failure>,
    runtime: Runtime,
}

/// Why an item has no answer of its own.
#[derive(Clone)]
enum Failure {
    /// Its batch failed as a whole.
    Batch(Arc<Error>),
    /// The batch's answer had none for it, or an unreadable one.
    Protocol(String),
}

impl fmt::Debug for BatchOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchOutcome")
            .field("index", &self.index)
            .field("id", &self.id)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl BatchOutcome {
    /// Whether it succeeded (a 2xx or 3xx answer).
    pub fn is_success(&self) -> bool {
        self.failure.is_none()
            && self
                .status
                .is_some_and(|s| s.is_success() || s.is_redirection())
    }

    /// Why it failed, typed: a failed dependency (424), the API's error
    /// answer ([`Error::Api`], or [`Error::RateLimited`] for a 429 left
    /// after the retries), or the failure of its whole batch.
    pub fn error(&self) -> Option<BatchError> {
        let index = self.index;
        match &self.failure {
            Some(Failure::Batch(error)) => {
                return Some(BatchError::Batch {
                    index,
                    error: error.clone(),
                });
            }
            Some(Failure::Protocol(reason)) => {
                return Some(BatchError::Item {
                    index,
                    error: Error::Protocol(reason.clone()),
                });
            }
            None => {}
        }
        let status = self.status?;
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        if status == StatusCode::FAILED_DEPENDENCY {
            return Some(BatchError::DependencyFailed {
                index,
                depends_on: self.depends_on.clone(),
            });
        }
        let body = match &self.body {
            serde_json::Value::Null => Vec::new(),
            body => serde_json::to_vec(body).unwrap_or_default(),
        };
        let mut error = self
            .runtime
            .error_of(status, &self.headers, &body, self.operation);
        if let Error::RateLimited { retry_after, .. } = &mut error {
            *retry_after = retry_after.or(self.refused);
        }
        Some(BatchError::Item { index, error })
    }

    /// Its body decoded as `T`, or why it failed.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BatchError> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        Error::decode_json(self.operation, &bytes).map_err(|error| BatchError::Item {
            index: self.index,
            error,
        })
    }
}

/// Why one item of a batch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A request it depends on failed, so it was not run (424).
    #[error("batch request {index}: a request it depends on ({depends_on:?}) failed")]
    DependencyFailed {
        /// Its position.
        index: usize,
        /// The positions of the requests it depends on.
        depends_on: Vec<usize>,
    },
    /// Its own answer is an error, or could not be read as asked.
    #[error("batch request {index}: {error}")]
    Item {
        /// Its position.
        index: usize,
        /// The error, as the same request sent alone would give it.
        #[source]
        error: Error,
    },
    /// The batch carrying it failed as a whole (the error is shared by
    /// its requests): it may not have run.
    #[error("batch request {index}: its batch failed: {error}")]
    Batch {
        /// Its position.
        index: usize,
        /// The batch's error.
        #[source]
        error: Arc<Error>,
    },
}

impl BatchError {
    /// The error behind it, except for a failed dependency.
    pub fn error(&self) -> Option<&Error> {
        match self {
            BatchError::Item { error, .. } => Some(error),
            BatchError::Batch { error, .. } => Some(error),
            BatchError::DependencyFailed { .. } => None,
        }
    }
}

/// An item ready to send: where it goes and how it may be retried.
struct Prepared {
    item: BatchItem,
    operation: &'static str,
    idempotent: bool,
    mailbox: Option<String>,
}

/// The spec's most requests in one batch.
fn batch_limit() -> usize {
    API.operation(BATCH)
        .and_then(|op| op.batch_limit)
        .map_or(1, |n| (n as usize).max(1))
}

/// `item` with its URL relative to the version root and its operation found.
fn prepare(runtime: &Runtime, index: usize, mut item: BatchItem) -> Result<Prepared> {
    if let Some(&d) = item.depends_on.iter().find(|&&d| d >= index) {
        return Err(Error::invalid(
            "depends_on",
            format!("request {index} depends on request {d}, which does not come before it"),
        ));
    }
    if item.url.starts_with("http://") || item.url.starts_with("https://") {
        let below = url::Url::parse(&item.url).ok().and_then(|u| {
            let base = runtime.base_url_parsed();
            let path = u.path().strip_prefix(runtime.base_path())?.to_string();
            (u.origin() == base.origin() && path.starts_with('/')).then(|| match u.query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            })
        });
        item.url = below.ok_or_else(|| {
            Error::invalid(
                "url",
                format!("request {index}: not below {}", runtime.base_url()),
            )
        })?;
    } else if !item.url.starts_with('/') {
        item.url.insert(0, '/');
    }
    if item.url.contains('#') || item.url.chars().any(char::is_control) {
        return Err(Error::invalid(
            "url",
            format!("request {index}: a batch URL has no fragment or control characters"),
        ));
    }
    let path = item.url.split('?').next().unwrap_or_default();
    let routed = throttling::route(item.method.as_str(), path);
    Ok(Prepared {
        operation: routed.as_ref().map_or(BATCH, |(op, _)| op.id),
        idempotent: routed.as_ref().map_or_else(
            || retry::is_idempotent(&item.method),
            |(op, _)| op.idempotent,
        ),
        mailbox: routed.and_then(|(_, m)| m),
        item,
    })
}

/// What came back for one item in a round.
enum Answer {
    Item(types::BatchResponseItem, StatusCode),
    Failed(Failure),
}

impl GraphBatch for Client {
    async fn batch_all(&self, items: Vec<BatchItem>) -> Result<Vec<BatchOutcome>> {
        let runtime = self.inner().clone();
        let items: Vec<Prepared> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| prepare(&runtime, i, item))
            .collect::<Result<_>>()?;
        let n = items.len();
        let limit = batch_limit();
        let mailboxes: Vec<Option<String>> = items.iter().map(|p| p.mailbox.clone()).collect();
        let mut attempts = vec![0u32; n];
        let mut outcomes: Vec<Option<BatchOutcome>> = (0..n).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..n).collect();
        let mut waited = Duration::ZERO;
        while !pending.is_empty() {
            let mut in_round = vec![false; n];
            pending.iter().for_each(|&i| in_round[i] = true);
            // Dependencies on requests that succeeded in an earlier round
            // are met: only those sent again are named.
            let depends_on: Vec<Vec<usize>> = (0..n)
                .map(|i| {
                    let deps = items[i].item.depends_on.iter().copied();
                    deps.filter(|&d| in_round[i] && in_round[d]).collect()
                })
                .collect();
            let batches = plan(
                &pending,
                &depends_on,
                &mailboxes,
                limit,
                OUTLOOK_IN_FLIGHT as usize,
            )?;
            let mut answers: Vec<Option<Answer>> = (0..n).map(|_| None).collect();
            for batch in batches {
                let requests = batch
                    .iter()
                    .map(|&i| wire_item(i, &items[i].item, &depends_on[i]))
                    .collect();
                batch.iter().for_each(|&i| attempts[i] += 1);
                let sent = self
                    .batch()
                    .body(types::BatchRequest { requests })
                    .send()
                    .await;
                match sent {
                    Ok(answer) => sort_answers(answer.into_inner(), &batch, &mut answers),
                    Err(e) => {
                        tracing::warn!(error = %e, "a batch failed as a whole");
                        let e = Arc::new(e);
                        for &i in &batch {
                            answers[i] = Some(Answer::Failed(Failure::Batch(e.clone())));
                        }
                    }
                }
            }
            // Which items go again, and after how long.
            let mut again = vec![false; n];
            let mut refused = vec![None; n];
            let mut wait = Duration::ZERO;
            for &i in &pending {
                let Some(Answer::Item(answer, status)) = &answers[i] else {
                    continue;
                };
                if *status == StatusCode::FAILED_DEPENDENCY {
                    again[i] = depends_on[i].iter().any(|&d| again[d]);
                    continue;
                }
                let headers = header_map(&answer.headers);
                let class = (runtime.profile().classify)(Outcome::Status(*status));
                match retry::decide(
                    runtime.retry_policy(),
                    attempts[i],
                    class,
                    retry::retry_after(&headers),
                    items[i].idempotent,
                    waited,
                    fastrand::f64(),
                ) {
                    Decision::Retry(w) => {
                        again[i] = true;
                        wait = wait.max(w);
                    }
                    Decision::GiveUp(w) => refused[i] = w,
                    Decision::Done => {}
                }
            }
            for &i in pending.iter().filter(|&&i| !again[i]) {
                let answer = answers[i].take().unwrap_or_else(|| {
                    Answer::Failed(Failure::Protocol(format!("request {} was not sent", i + 1)))
                });
                outcomes[i] = Some(outcome(
                    &runtime,
                    i,
                    &items[i],
                    answer,
                    attempts[i],
                    refused[i],
                ));
            }
            pending.retain(|&i| again[i]);
            if !pending.is_empty() {
                tracing::debug!(
                    requests = pending.len(),
                    wait_ms = wait.as_millis() as u64,
                    "sending throttled batch requests again"
                );
                runtime.sleep().sleep(wait).await;
                waited += wait;
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }
}

/// Item `index` as the batch body carries it.
fn wire_item(index: usize, item: &BatchItem, depends_on: &[usize]) -> types::BatchRequestItem {
    types::BatchRequestItem {
        id: (index + 1).to_string(),
        method: item.method.to_string(),
        url: item.url.clone(),
        headers: item.headers.clone(),
        body: item.body.clone(),
        depends_on: depends_on.iter().map(|d| (d + 1).to_string()).collect(),
    }
}

/// Puts each answer of a batch at the position its id names; an id that
/// is not one of the batch's, or repeated, is left out; a status that is
/// none, or a missing answer, is the item's protocol failure.
fn sort_answers(answer: types::BatchResponse, batch: &[usize], answers: &mut [Option<Answer>]) {
    for item in answer.responses {
        let Some(i) = item
            .id
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|id| id.checked_sub(1))
            .filter(|i| batch.contains(i) && answers[*i].is_none())
        else {
            tracing::warn!(id = %crate::error::excerpt(&item.id, 40), "a batch answer with an id it was not sent");
            continue;
        };
        let status = u16::try_from(item.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok());
        answers[i] = Some(match status {
            Some(status) => Answer::Item(item, status),
            None => Answer::Failed(Failure::Protocol(format!(
                "batch request {} was answered with the status {}, which is none",
                i + 1,
                item.status
            ))),
        });
    }
    for &i in batch {
        answers[i].get_or_insert_with(|| {
            Answer::Failed(Failure::Protocol(format!(
                "the batch's answer has none for request {}",
                i + 1
            )))
        });
    }
}

fn header_map(headers: &BTreeMap<String, String>) -> HeaderMap {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                http::HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect()
}

fn outcome(
    runtime: &Runtime,
    index: usize,
    prepared: &Prepared,
    answer: Answer,
    attempts: u32,
    refused: Option<Duration>,
) -> BatchOutcome {
    let (status, headers, body, failure) = match answer {
        Answer::Item(item, status) => (
            Some(status),
            header_map(&item.headers),
            item.body.unwrap_or_default(),
            None,
        ),
        Answer::Failed(failure) => (
            None,
            HeaderMap::new(),
            serde_json::Value::Null,
            Some(failure),
        ),
    };
    BatchOutcome {
        index,
        id: (index + 1).to_string(),
        status,
        headers,
        body,
        attempts,
        operation: prepared.operation,
        depends_on: prepared.item.depends_on.clone(),
        refused,
        failure,
        runtime: runtime.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_comes_from_the_spec() {
        assert_eq!(batch_limit(), 20);
    }
}
