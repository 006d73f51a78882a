//! Bulk operations and their job statuses. A bulk request is checked (at
//! most 100 items, else 400 `TooManyValues`) and queued; the job moves on
//! each time its status is read: `queued` (no progress, no results), then
//! `working` (half done), then `completed` — the work is done at that read,
//! item by item through the code of the single-record operations, and
//! `results` lists each item's outcome: `index` (creates) or `id`,
//! `action`, `status` (`Created`, `Updated`, `Deleted`, `Failed`),
//! `success`, and `error`/`details` for a failure.
//! [`ZendeskBuilder::reject_bulk_item`](super::ZendeskBuilder::reject_bulk_item)
//! makes every job refuse the item at one index.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, Outcome, ZdErr, ok, too_many_values};
use super::paging;
use super::store::{ACCOUNT_ID, Caller, Ctx, Kind, Store, now};

/// Most items per bulk request.
pub(super) const MAX_ITEMS: usize = 100;

/// What a job does when it runs.
#[derive(Clone, Debug)]
pub(super) enum Work {
    /// Creates each item (`index` in results).
    Create(Kind, Vec<Value>),
    /// Creates or updates each user, matched by email or external id.
    CreateOrUpdateUsers(Vec<Value>),
    /// Applies each item (with its `id`) to its record.
    Update(Kind, Vec<Value>),
    /// Deletes each record.
    Destroy(Kind, Vec<u64>),
    /// Creates one ticket with an id reserved when the job was queued.
    CreateTicket(u64, Value),
    /// Merges the source tickets into the target: each source is closed
    /// with `source_comment`, the target gets `target_comment`.
    Merge {
        target: u64,
        sources: Vec<u64>,
        request: Value,
    },
}

/// A queued, running or finished job.
#[derive(Clone, Debug)]
pub(super) struct JobRow {
    pub(super) id: String,
    job_type: String,
    work: Work,
    caller: Caller,
    /// 0 queued, 1 working, 2 completed.
    stage: u8,
    results: Option<Vec<Value>>,
    completed_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn total(&self) -> usize {
        match &self.work {
            Work::Create(_, items) | Work::Update(_, items) | Work::CreateOrUpdateUsers(items) => {
                items.len()
            }
            Work::Destroy(_, ids) => ids.len(),
            Work::CreateTicket(..) => 1,
            Work::Merge { sources, .. } => sources.len(),
        }
    }

    /// The job status as the API answers it.
    pub(super) fn to_json(&self, root: &str) -> Value {
        let total = self.total();
        let (status, progress, message) = match self.stage {
            0 => ("queued", Value::Null, Value::Null),
            1 => (
                "working",
                json!(total / 2),
                json!(format!("{}/{total}", total / 2)),
            ),
            _ => (
                "completed",
                json!(total),
                json!(
                    self.completed_at
                        .map(|t| format!("Completed at {}", t.format("%Y-%m-%d %H:%M:%S +0000")))
                ),
            ),
        };
        json!({
            "id": self.id, "url": format!("{root}/api/v2/job_statuses/{}.json", self.id),
            "job_type": self.job_type, "total": total, "progress": progress, "status": status,
            "message": message, "results": self.results,
        })
    }
}

impl Store {
    /// Queues `work` for `caller`; the answer of the bulk operation.
    pub(super) fn queue_job(
        &mut self,
        ctx: &Ctx<'_>,
        caller: &Caller,
        job_type: &str,
        work: Work,
    ) -> Value {
        let id = format!("V3-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let job = JobRow {
            id,
            job_type: job_type.to_string(),
            work,
            caller: caller.clone(),
            stage: 0,
            results: None,
            completed_at: None,
        };
        let answer = job.to_json(ctx.root);
        self.jobs.push(job);
        answer
    }

    /// Moves job `index` on by one stage, running it when it completes.
    fn advance(&mut self, ctx: &Ctx<'_>, index: usize) {
        let job = &mut self.jobs[index];
        match job.stage {
            0 => job.stage = 1,
            1 => {
                job.stage = 2;
                let (work, caller) = (job.work.clone(), job.caller.clone());
                let results = self.run_job(ctx, &caller, work);
                let job = &mut self.jobs[index];
                job.results = Some(results);
                job.completed_at = Some(now());
            }
            _ => {}
        }
    }

    fn run_job(&mut self, ctx: &Ctx<'_>, caller: &Caller, work: Work) -> Vec<Value> {
        let rejected = ctx.config.rejected_bulk_item;
        let refuse = |index: usize| {
            (rejected == Some(index)).then(|| {
                ZdErr::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "RecordInvalid",
                    "Base: the sandbox refuses this item",
                )
            })
        };
        match work {
            Work::Create(kind, items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let done = match refuse(index) {
                        Some(e) => Err(e),
                        None => self.create_any(ctx, caller, kind, item, None),
                    };
                    let mut result = outcome(done, "create", "Created");
                    result["index"] = json!(index);
                    result
                })
                .collect(),
            Work::CreateOrUpdateUsers(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let done = match refuse(index) {
                        Some(e) => Err(e),
                        None => self.create_or_update_user(ctx, item).map(|(id, _)| id),
                    };
                    let mut result = outcome(done, "create_or_update", "Updated");
                    result["index"] = json!(index);
                    result
                })
                .collect(),
            Work::Update(kind, items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let id = item["id"].as_u64().unwrap_or(0);
                    let done = match refuse(index) {
                        Some(e) => Err(e),
                        None => self.update_any(ctx, caller, kind, id, item).map(|()| id),
                    };
                    let mut result = outcome(done, "update", "Updated");
                    result["id"] = json!(id);
                    result
                })
                .collect(),
            Work::Destroy(kind, ids) => ids
                .iter()
                .enumerate()
                .map(|(index, &id)| {
                    let done = match refuse(index) {
                        Some(e) => Err(e),
                        None => self.delete_any(ctx, caller, kind, id).map(|()| id),
                    };
                    let mut result = outcome(done, "delete", "Deleted");
                    result["id"] = json!(id);
                    result
                })
                .collect(),
            Work::Merge {
                target,
                sources,
                request,
            } => {
                let text = |key: &str, default: String| {
                    request[key].as_str().map_or(default, str::to_string)
                };
                let public = |key: &str| request[key].as_bool().unwrap_or(true);
                let mut results = Vec::new();
                for source in &sources {
                    let close = json!({"status": "closed", "comment": {
                        "body": text("source_comment", format!("This request was closed and merged into request #{target}.")),
                        "public": public("source_comment_is_public")}});
                    let done = if self.tickets.contains_key(&target) {
                        self.update_any(ctx, caller, Kind::Ticket, *source, &close)
                            .map(|()| *source)
                    } else {
                        Err(ZdErr::not_found())
                    };
                    let mut result = outcome(done, "merge", "Merged");
                    result["id"] = json!(source);
                    results.push(result);
                }
                let merged: Vec<String> = sources.iter().map(|s| format!("#{s}")).collect();
                let note = json!({"comment": {
                    "body": text("target_comment", format!("Requests {} were closed and merged into this request.", merged.join(", "))),
                    "public": public("target_comment_is_public")}});
                let _ = self.update_any(ctx, caller, Kind::Ticket, target, &note);
                results
            }
            Work::CreateTicket(id, item) => {
                let done = self.create_any(ctx, caller, Kind::Ticket, &item, Some(id));
                let mut result = outcome(done, "create", "Created");
                result["index"] = json!(0);
                vec![result]
            }
        }
    }

    /// `GET /api/v2/job_statuses/{id}.json`: the job, moved on by one stage.
    pub(super) fn get_job_status(&mut self, ctx: &Ctx<'_>, id: &str) -> Outcome {
        let index = self
            .jobs
            .iter()
            .position(|j| j.id == id)
            .ok_or_else(ZdErr::not_found)?;
        self.advance(ctx, index);
        ok(json!({"job_status": self.jobs[index].to_json(ctx.root)}))
    }

    /// `GET /api/v2/job_statuses/show_many.json?ids=`: each known job, moved on.
    pub(super) fn show_many_job_statuses(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let ids: Vec<String> = req.list("ids");
        let mut found = Vec::new();
        for id in ids.iter().take(MAX_ITEMS) {
            if let Some(index) = self.jobs.iter().position(|j| &j.id == id) {
                self.advance(ctx, index);
                found.push(self.jobs[index].to_json(ctx.root));
            }
        }
        ok(json!({"job_statuses": found}))
    }

    /// `GET /api/v2/job_statuses.json`: most recent first (cursor paging).
    pub(super) fn list_job_statuses(&self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let items: Vec<Value> = self
            .jobs
            .iter()
            .rev()
            .map(|j| j.to_json(ctx.root))
            .collect();
        let page = paging::page(ctx.root, req, items)?;
        ok(Value::Object(page))
    }
}

/// A result entry from an item's outcome.
fn outcome(done: Result<u64, ZdErr>, action: &str, status: &str) -> Value {
    match done {
        Ok(id) => {
            json!({"id": id, "account_id": ACCOUNT_ID, "action": action, "status": status, "success": true})
        }
        Err(e) => {
            let error = e.body["error"].as_str().unwrap_or("Failed").to_string();
            // The field problems when there are some, else the description.
            let details = e.body["details"]
                .as_object()
                .map(|d| {
                    d.values()
                        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                        .filter_map(|p| p["description"].as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .or_else(|| e.body["description"].as_str().map(str::to_string))
                .unwrap_or_default();
            json!({"action": action, "status": "Failed", "success": false, "error": error, "details": details})
        }
    }
}

/// The items of a bulk body under `key`, at most [`MAX_ITEMS`].
pub(super) fn bulk_items(body: &Value, key: &str, verb: &str) -> Result<Vec<Value>, ZdErr> {
    let items = body[key].as_array().cloned().ok_or_else(|| {
        ZdErr::new(
            StatusCode::BAD_REQUEST,
            "InvalidValue",
            format!("{key} must be an array"),
        )
    })?;
    if items.len() > MAX_ITEMS {
        return Err(too_many_values(key, verb, MAX_ITEMS));
    }
    Ok(items)
}

/// The answer of a queued job.
pub(super) fn queued(job: Value) -> Outcome {
    Ok(Answer::Ok(json!({"job_status": job})))
}
