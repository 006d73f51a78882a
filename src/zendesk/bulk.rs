//! Bulk jobs that lose nothing: any number of items, sent as jobs of the
//! endpoint's limit, with one outcome per item, in input order.
//!
//! Zendesk's bulk endpoints (create_many_tickets, update_many_users,
//! destroy_many_organizations...) take at most 100 items (their
//! `x-specbound-batch-limit` in the spec) and answer a job status at once;
//! the work runs in the background. [`BulkOperation::bulk`] turns one of
//! these builders into a run that:
//!
//! - splits the items into jobs of the spec's limit;
//! - keeps at most [`max_in_flight`](BulkRun::max_in_flight) jobs queued or
//!   running at once (default [`DEFAULT_MAX_IN_FLIGHT`]);
//! - polls each job with `get_job_status`, waiting 1 s, then twice as long
//!   each time up to 30 s, through the client's `Sleep`; a job status that
//!   answers 404 is looked up with `show_many_job_statuses`, then in the
//!   recent `list_job_statuses`;
//! - returns one [`BulkOutcome`] per item, in input order, whatever
//!   happened: an item a job rejected is [`BulkStatus::Failed`] with
//!   Zendesk's error and details; an item of a job that failed or was
//!   killed is failed with the job's message; an item missing from a
//!   job's results, or whose job could not be followed to its end, is
//!   [`BulkStatus::Unknown`] (with its job id, to look at later).
//!
//! Results are matched to items by `index` (create jobs), else by id
//! (update and delete jobs), else, when a job reports neither for any item
//! and has exactly one result per item, by position.
//!
//! ```no_run
//! # async fn run(zd: specbound::zendesk::Client, tickets: Vec<specbound::zendesk::types::TicketInput>) -> specbound::Result<()> {
//! use specbound::zendesk::prelude::*;
//! let outcomes = zd.create_many_tickets().bulk(tickets).await?; // 250 tickets: jobs of 100, 100, 50
//! for o in outcomes.iter().filter(|o| !o.success) {
//!     eprintln!("ticket #{}: {:?} {:?} {:?}", o.index, o.status, o.error, o.details);
//! }
//! # Ok(()) }
//! ```
//!
//! Single ticket creates (`create_ticket`, `create_ticket_async`) need no
//! job: each call sends a random `Idempotency-Key` unless the caller set
//! one, generated once before the first attempt, so that a retried create
//! (a 503, a cut connection) is answered with the first ticket instead of
//! making a second one.

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{StreamExt as _, TryStreamExt as _};
use progenitor_client::ClientInfo as _;

use super::generated::{Client, builder, prelude::*, spec::API, types};
use crate::{Error, Result};

/// Jobs of one run queued or running at once, by default. Zendesk keeps at
/// most 30 bulk jobs queued or running per account, shared by every app and
/// integration of the account (more are refused with 429), and runs an
/// account's jobs largely one after another: a few in flight keep the
/// queue busy, more would only crowd out others and add status polls.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;

/// How many recent job statuses are searched for a job whose status 404s.
const RECENT_JOBS_SEARCHED: u64 = 500;

/// How many times in a row a job status may be found nowhere before its
/// items are reported unknown (right after a job is queued, its status may
/// not be readable yet).
const NOT_FOUND_TRIES: u32 = 3;

/// What became of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkStatus {
    /// The job did it.
    Succeeded,
    /// The job refused it, the job failed, or the job was refused.
    Failed,
    /// Not known: missing from its job's results, or its job could not be
    /// followed to its end (look the job up later by its id).
    Unknown,
}

/// The outcome of one item of a bulk run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BulkOutcome {
    /// The item's position in the input.
    pub index: usize,
    /// The record's id: the one created, or the one given.
    pub id: Option<i64>,
    /// What became of it.
    pub status: BulkStatus,
    /// `status == BulkStatus::Succeeded`.
    pub success: bool,
    /// Why it failed or is unknown (Zendesk's error code, or what went wrong).
    pub error: Option<String>,
    /// Zendesk's details of the error, or the failed job's message.
    pub details: Option<String>,
    /// The job that carried it, if one was queued.
    pub job_id: Option<String>,
}

mod sealed {
    pub trait Sealed {}
}

/// A generated bulk builder: `create_many_tickets()`, `update_many_users()`,
/// `destroy_many_organizations()`... `bulk(items)` makes a run of any number
/// of items.
///
/// ```no_run
/// # async fn run(zd: specbound::zendesk::Client, ids: Vec<i64>) -> specbound::Result<()> {
/// use specbound::zendesk::prelude::*;
/// let outcomes = zd.destroy_many_users().bulk(ids).max_in_flight(2).send().await?;
/// let failed = outcomes.iter().filter(|o| !o.success).count();
/// # let _ = failed;
/// # Ok(()) }
/// ```
pub trait BulkOperation<'a>: sealed::Sealed + Clone + Send + Sized + 'a {
    /// The items: the records to create or update, or the ids to delete.
    type Item: Clone + Send + Sync + 'a;

    /// The operation's id in the spec (where its limit is).
    #[doc(hidden)]
    const OPERATION: &'static str;

    /// This builder carrying `items`.
    #[doc(hidden)]
    fn bulk_with_items(self, items: Vec<Self::Item>) -> Self;

    /// The id an item names, to match results that give ids.
    #[doc(hidden)]
    fn bulk_item_id(item: &Self::Item) -> Option<i64>;

    /// Queues the job.
    #[doc(hidden)]
    fn bulk_submit(self) -> BoxFuture<'a, Result<types::JobStatus>>;

    /// The client the builder belongs to.
    #[doc(hidden)]
    fn bulk_client(self) -> Result<&'a Client>;

    /// A run over `items`: send it with `.await` or [`BulkRun::send`].
    fn bulk(self, items: impl IntoIterator<Item = Self::Item>) -> BulkRun<'a, Self> {
        BulkRun {
            builder: self,
            items: items.into_iter().collect(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            poll: Poll::default(),
        }
    }
}

/// How a job is polled.
#[derive(Clone, Copy, Debug)]
struct Poll {
    first: Duration,
    longest: Duration,
    max_wait: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            first: Duration::from_secs(1),
            longest: Duration::from_secs(30),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// A bulk run: items, and how many jobs may be in flight.
#[must_use = "a bulk run does nothing until it is awaited"]
pub struct BulkRun<'a, B: BulkOperation<'a>> {
    builder: B,
    items: Vec<B::Item>,
    max_in_flight: usize,
    poll: Poll,
}

impl<'a, B: BulkOperation<'a>> fmt::Debug for BulkRun<'a, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkRun")
            .field("operation", &B::OPERATION)
            .field("items", &self.items.len())
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl<'a, B: BulkOperation<'a>> BulkRun<'a, B> {
    /// At most `jobs` of this run queued or running at once (at least 1;
    /// default [`DEFAULT_MAX_IN_FLIGHT`]).
    pub fn max_in_flight(mut self, jobs: usize) -> Self {
        self.max_in_flight = jobs.max(1);
        self
    }

    /// Waits between polls of a job: `first`, then twice as long each
    /// time, at most `longest` (default 1 s to 30 s).
    pub fn poll_interval(mut self, first: Duration, longest: Duration) -> Self {
        self.poll.first = first;
        self.poll.longest = longest.max(first);
        self
    }

    /// The longest a job is waited for (default 15 minutes); the items of
    /// a job still queued or working then are [`BulkStatus::Unknown`].
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.poll.max_wait = wait;
        self
    }

    /// Runs every job and returns one outcome per item, in input order. It
    /// fails only when the spec gives the operation no limit; everything
    /// that happens to a job is reported in its items' outcomes.
    pub async fn send(self) -> Result<Vec<BulkOutcome>> {
        let limit = batch_limit(B::OPERATION)?;
        let ids: Vec<Option<i64>> = self.items.iter().map(B::bulk_item_id).collect();
        // Each job's builder, filled now (the run holds its items once).
        let mut jobs: Vec<(usize, Vec<Option<i64>>, B)> =
            Vec::with_capacity(self.items.len().div_ceil(limit));
        let mut items = self.items.into_iter();
        let mut start = 0;
        loop {
            let chunk: Vec<B::Item> = items.by_ref().take(limit).collect();
            if chunk.is_empty() {
                break;
            }
            let end = start + chunk.len();
            let builder = self.builder.clone().bulk_with_items(chunk);
            jobs.push((start, ids[start..end].to_vec(), builder));
            start = end;
        }
        let poll = self.poll;
        let done: Vec<Vec<BulkOutcome>> = futures::stream::iter(jobs)
            .map(|(start, ids, builder)| run_job(builder, start, ids, poll))
            .buffer_unordered(self.max_in_flight)
            .collect()
            .await;
        let mut outcomes: Vec<BulkOutcome> = done.into_iter().flatten().collect();
        outcomes.sort_by_key(|o| o.index);
        Ok(outcomes)
    }
}

impl<'a, B: BulkOperation<'a>> IntoFuture for BulkRun<'a, B> {
    type Output = Result<Vec<BulkOutcome>>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The spec's limit of items per request of `op`.
fn batch_limit(op: &str) -> Result<usize> {
    API.operation(op)
        .and_then(|o| o.batch_limit)
        .filter(|n| *n > 0)
        .map(|n| n as usize)
        .ok_or_else(|| Error::Config(format!("zendesk: the spec gives {op} no batch limit")))
}

/// Queues one job and follows it to its end.
async fn run_job<'a, B: BulkOperation<'a>>(
    builder: B,
    start: usize,
    ids: Vec<Option<i64>>,
    poll: Poll,
) -> Vec<BulkOutcome> {
    let client = match builder.clone().bulk_client() {
        Ok(c) => c,
        Err(e) => return not_queued(start, &ids, &e),
    };
    let job = match builder.bulk_submit().await {
        Ok(job) => job,
        Err(e) => return not_queued(start, &ids, &e),
    };
    let end = follow(client, job, poll).await;
    outcomes(start, &ids, end)
}

/// How a job ended, as far as we could see.
#[derive(Debug)]
enum JobEnd {
    /// `completed`.
    Completed(types::JobStatus),
    /// `failed` or `killed`.
    Failed(types::JobStatus),
    /// Not followed to its end.
    Unknown {
        job_id: Option<String>,
        reason: String,
    },
}

fn status_is(job: &types::JobStatus, names: &[&str]) -> bool {
    job.status
        .as_deref()
        .is_some_and(|s| names.iter().any(|n| s.eq_ignore_ascii_case(n)))
}

/// Polls `job` until it completes, fails or is killed, within the wait
/// budget.
async fn follow(client: &Client, mut job: types::JobStatus, poll: Poll) -> JobEnd {
    let Some(id) = job.id.clone().filter(|id| !id.trim().is_empty()) else {
        return JobEnd::Unknown {
            job_id: None,
            reason: "the job status has no id to follow".into(),
        };
    };
    let unknown = |reason: String| JobEnd::Unknown {
        job_id: Some(id.clone()),
        reason,
    };
    let mut waited = Duration::ZERO;
    let mut next = poll.first;
    let mut not_found = 0;
    loop {
        if status_is(&job, &["completed"]) {
            return JobEnd::Completed(job);
        }
        if status_is(&job, &["failed", "killed"]) {
            return JobEnd::Failed(job);
        }
        if waited >= poll.max_wait {
            let status = job.status.as_deref().unwrap_or("without a status");
            return unknown(format!(
                "the job was still {status} after {}s",
                waited.as_secs()
            ));
        }
        client.inner().sleep().sleep(next).await;
        waited += next;
        next = next.saturating_mul(2).min(poll.longest);
        match client.get_job_status().job_status_id(&id).send().await {
            Ok(answer) => {
                job = answer.into_inner().job_status;
                not_found = 0;
            }
            Err(e) if e.is_not_found() => match look_up(client, &id).await {
                Ok(Some(found)) => job = found,
                Ok(None) => {
                    not_found += 1;
                    if not_found >= NOT_FOUND_TRIES {
                        return unknown(
                            "the job status was not found: get_job_status answered 404 \
                             and the job status lists do not hold it"
                                .into(),
                        );
                    }
                }
                Err(e) => return unknown(format!("looking the job status up failed: {e}")),
            },
            Err(e) => return unknown(format!("reading the job status failed: {e}")),
        }
    }
}

/// Finds job `id` with show_many_job_statuses, then among the recent job
/// statuses.
async fn look_up(client: &Client, id: &str) -> Result<Option<types::JobStatus>> {
    match client.show_many_job_statuses().ids(id).send().await {
        Ok(answer) => {
            let found = answer
                .into_inner()
                .job_statuses
                .into_iter()
                .find(|j| j.id.as_deref() == Some(id));
            if found.is_some() {
                return Ok(found);
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let mut recent = client
        .list_job_statuses()
        .page_size(100)
        .stream()
        .limit(RECENT_JOBS_SEARCHED);
    while let Some(job) = recent.try_next().await? {
        if job.id.as_deref() == Some(id) {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

/// The outcomes of a job that was not queued: failed when the server
/// refused it or it was never sent, unknown when the answer was lost (the
/// job may exist).
fn not_queued(start: usize, ids: &[Option<i64>], e: &Error) -> Vec<BulkOutcome> {
    let status = match e {
        Error::Api(_)
        | Error::RateLimited { .. }
        | Error::Invalid { .. }
        | Error::Auth { .. }
        | Error::Config(_) => BulkStatus::Failed,
        _ => BulkStatus::Unknown,
    };
    let reason = format!("the job was not queued: {e}");
    (0..ids.len())
        .map(|i| outcome(start + i, ids[i], status, Some(reason.clone()), None, None))
        .collect()
}

fn outcome(
    index: usize,
    id: Option<i64>,
    status: BulkStatus,
    error: Option<String>,
    details: Option<String>,
    job_id: Option<String>,
) -> BulkOutcome {
    BulkOutcome {
        index,
        id,
        status,
        success: status == BulkStatus::Succeeded,
        error,
        details,
        job_id,
    }
}

/// One outcome per item of a job that started at input position `start`.
fn outcomes(start: usize, ids: &[Option<i64>], end: JobEnd) -> Vec<BulkOutcome> {
    let (job, failed) = match end {
        JobEnd::Unknown { job_id, reason } => {
            return (0..ids.len())
                .map(|i| {
                    let reason = Some(reason.clone());
                    outcome(
                        start + i,
                        ids[i],
                        BulkStatus::Unknown,
                        reason,
                        None,
                        job_id.clone(),
                    )
                })
                .collect();
        }
        JobEnd::Completed(job) => (job, false),
        JobEnd::Failed(job) => (job, true),
    };
    let job_id = job.id.clone();
    let ended = job.status.clone().unwrap_or_default();
    let slots = match_results(ids, job.results.unwrap_or_default());
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            let (index, given) = (start + i, ids[i]);
            match slot {
                Some(r) => from_result(index, given, r, job_id.clone()),
                None if failed => outcome(
                    index,
                    given,
                    BulkStatus::Failed,
                    Some(format!("the job {ended}")),
                    job.message.clone(),
                    job_id.clone(),
                ),
                None => outcome(
                    index,
                    given,
                    BulkStatus::Unknown,
                    Some("missing from the job's results".into()),
                    None,
                    job_id.clone(),
                ),
            }
        })
        .collect()
}

fn from_result(
    index: usize,
    given: Option<i64>,
    r: types::JobResult,
    job_id: Option<String>,
) -> BulkOutcome {
    let said_failed = r
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("failed"));
    let success = r.success.unwrap_or(r.error.is_none() && !said_failed);
    let (status, error) = if success {
        (BulkStatus::Succeeded, r.error)
    } else {
        let error = r.error.or(r.status).or_else(|| Some("failed".into()));
        (BulkStatus::Failed, error)
    };
    outcome(index, r.id.or(given), status, error, r.details, job_id)
}

/// Each item's result: by `index`, else by id, else (when no result gives
/// either and there is one per item) by position.
fn match_results(
    ids: &[Option<i64>],
    results: Vec<types::JobResult>,
) -> Vec<Option<types::JobResult>> {
    let n = ids.len();
    let mut slots: Vec<Option<types::JobResult>> = vec![None; n];
    let mut unplaced = Vec::new();
    let total = results.len();
    for r in results {
        let by_index = r
            .index
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < n && slots[i].is_none());
        let by_id = || {
            r.id.and_then(|id| (0..n).find(|&j| ids[j] == Some(id) && slots[j].is_none()))
        };
        match by_index.or_else(by_id) {
            Some(j) => slots[j] = Some(r),
            None => unplaced.push(r),
        }
    }
    if unplaced.len() == total && total == n {
        for (slot, r) in slots.iter_mut().zip(unplaced) {
            *slot = Some(r);
        }
    }
    slots
}

/// The ids of a delete job, as its `ids` parameter.
fn join_ids(ids: &[i64]) -> String {
    let text: Vec<String> = ids.iter().map(i64::to_string).collect();
    text.join(",")
}

/// `BulkOperation` for a generated builder: its items and how they go into
/// its request (which the spec cannot say); its limit is the spec's.
macro_rules! bulk_operations {
    ($($builder:ident ($op:literal): $item:ty, |$b:ident, $items:ident| $fill:expr, |$it:ident| $id:expr;)*) => {$(
        impl sealed::Sealed for builder::$builder<'_> {}

        impl<'a> BulkOperation<'a> for builder::$builder<'a> {
            type Item = $item;
            const OPERATION: &'static str = $op;

            fn bulk_with_items(self, $items: Vec<$item>) -> Self {
                let $b = self;
                $fill
            }

            fn bulk_item_id($it: &$item) -> Option<i64> {
                $id
            }

            fn bulk_submit(self) -> BoxFuture<'a, Result<types::JobStatus>> {
                Box::pin(async move { Ok(self.send().await?.into_inner().job_status) })
            }

            fn bulk_client(self) -> Result<&'a Client> {
                Ok(self.build_request()?.0)
            }
        }
    )*};
}

bulk_operations! {
    CreateManyTickets("create_many_tickets"): types::TicketInput,
        |b, items| b.body(types::TicketsRequest { tickets: items }), |_t| None;
    UpdateManyTickets("update_many_tickets"): types::TicketInput,
        |b, items| b.body(types::TicketsRequest { tickets: items }), |t| t.id;
    DestroyManyTickets("destroy_many_tickets"): i64,
        |b, items| b.ids(join_ids(&items)), |id| Some(*id);
    CreateManyUsers("create_many_users"): types::UserInput,
        |b, items| b.body(types::UsersRequest { users: items }), |_u| None;
    CreateOrUpdateManyUsers("create_or_update_many_users"): types::UserInput,
        |b, items| b.body(types::UsersRequest { users: items }), |u| u.id;
    UpdateManyUsers("update_many_users"): types::UserInput,
        |b, items| b.body(types::UpdateManyUsersRequest { user: None, users: items }), |u| u.id;
    DestroyManyUsers("destroy_many_users"): i64,
        |b, items| b.ids(join_ids(&items)), |id| Some(*id);
    CreateManyOrganizations("create_many_organizations"): types::OrganizationInput,
        |b, items| b.body(types::OrganizationsRequest { organizations: items }), |_o| None;
    UpdateManyOrganizations("update_many_organizations"): types::OrganizationInput,
        |b, items| b.body(types::UpdateManyOrganizationsRequest { organization: None, organizations: items }),
        |o| o.id;
    DestroyManyOrganizations("destroy_many_organizations"): i64,
        |b, items| b.ids(join_ids(&items)), |id| Some(*id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(v: serde_json::Value) -> types::JobResult {
        serde_json::from_value(v).unwrap()
    }

    fn job(v: serde_json::Value) -> types::JobStatus {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_bulk_operation_has_a_limit_in_the_spec() {
        for op in [
            builder::CreateManyTickets::OPERATION,
            builder::UpdateManyTickets::OPERATION,
            builder::DestroyManyTickets::OPERATION,
            builder::CreateManyUsers::OPERATION,
            builder::CreateOrUpdateManyUsers::OPERATION,
            builder::UpdateManyUsers::OPERATION,
            builder::DestroyManyUsers::OPERATION,
            builder::CreateManyOrganizations::OPERATION,
            builder::UpdateManyOrganizations::OPERATION,
            builder::DestroyManyOrganizations::OPERATION,
        ] {
            assert_eq!(batch_limit(op).unwrap(), 100, "{op}");
        }
        assert!(batch_limit("get_ticket").is_err());
    }

    #[test]
    fn results_are_matched_by_index_then_id_and_the_rest_is_unknown() {
        let ids = [None, Some(7), Some(8), None];
        let results = vec![
            result(serde_json::json!({"index": 3, "id": 103})),
            result(serde_json::json!({"id": 8, "status": "Updated", "success": true})),
            result(
                serde_json::json!({"index": 0, "error": "RecordInvalid", "details": "Subject: is blank"}),
            ),
            result(serde_json::json!({"index": 99, "id": 1})),
            result(serde_json::json!({"index": -1})),
        ];
        let done = job(serde_json::json!({"id": "J", "status": "completed", "results": results}));
        let out = outcomes(10, &ids, JobEnd::Completed(done));
        let seen: Vec<_> = out.iter().map(|o| (o.index, o.id, o.status)).collect();
        assert_eq!(
            seen,
            [
                (10, None, BulkStatus::Failed),
                (11, Some(7), BulkStatus::Unknown),
                (12, Some(8), BulkStatus::Succeeded),
                (13, Some(103), BulkStatus::Succeeded),
            ]
        );
        assert_eq!(out[0].error.as_deref(), Some("RecordInvalid"));
        assert_eq!(out[0].details.as_deref(), Some("Subject: is blank"));
        assert_eq!(
            out[1].error.as_deref(),
            Some("missing from the job's results")
        );
        assert!(out.iter().all(|o| o.job_id.as_deref() == Some("J")));
    }

    #[test]
    fn results_without_index_or_known_id_are_placed_by_position_only_when_one_per_item() {
        let ids = [None, None];
        let two = vec![
            result(serde_json::json!({"id": 1, "status": "Created"})),
            result(serde_json::json!({"id": 2, "status": "Failed", "error": "DuplicateValue"})),
        ];
        let out = outcomes(
            0,
            &ids,
            JobEnd::Completed(job(
                serde_json::json!({"id": "J", "status": "completed", "results": two}),
            )),
        );
        assert_eq!((out[0].id, out[0].status), (Some(1), BulkStatus::Succeeded));
        assert_eq!((out[1].id, out[1].status), (Some(2), BulkStatus::Failed));
        let one = vec![result(serde_json::json!({"id": 1, "status": "Created"}))];
        let out = outcomes(
            0,
            &ids,
            JobEnd::Completed(job(
                serde_json::json!({"id": "J", "status": "completed", "results": one}),
            )),
        );
        assert!(out.iter().all(|o| o.status == BulkStatus::Unknown));
    }

    #[test]
    fn a_failed_job_fails_the_items_it_did_not_report_with_its_message() {
        let failed = job(serde_json::json!({
            "id": "J", "status": "failed", "message": "Bulk import failed",
            "results": [{"index": 0, "id": 5, "success": true}]
        }));
        let out = outcomes(0, &[None, None], JobEnd::Failed(failed));
        assert_eq!(out[0].status, BulkStatus::Succeeded);
        assert_eq!(out[1].status, BulkStatus::Failed);
        assert_eq!(out[1].error.as_deref(), Some("the job failed"));
        assert_eq!(out[1].details.as_deref(), Some("Bulk import failed"));
    }

    #[test]
    fn a_job_that_was_refused_fails_its_items_and_a_lost_answer_leaves_them_unknown() {
        let refused = Error::invalid("body", "bad");
        let out = not_queued(100, &[Some(1), None], &refused);
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|o| o.status == BulkStatus::Failed && !o.success)
        );
        assert_eq!(out[1].index, 101);
        let lost = Error::Timeout {
            operation: "create_many_tickets",
            deadline: Duration::from_secs(1),
        };
        assert!(
            not_queued(0, &[None], &lost)
                .iter()
                .all(|o| o.status == BulkStatus::Unknown)
        );
    }
}
