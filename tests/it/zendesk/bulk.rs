//! Bulk runs: jobs of the spec's limit, a bounded number in flight, polled
//! with bounded backoff (recorded, never slept), one outcome per item in
//! input order; and idempotency keys on single ticket creates.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use specbound::zendesk::bulk::BulkStatus;
use specbound::zendesk::prelude::*;
use specbound::zendesk::types;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::client_with_waits;
use crate::support::{AnswerOnce, Fixture, received};

const JOB_STATUS: &str = r"^/api/v2/job_statuses/[^/]+\.json$";

fn tickets(n: usize) -> Vec<types::TicketInput> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({"subject": format!("t{i}"), "comment": {"body": "x"}}))
                .unwrap()
        })
        .collect()
}

/// A job status body shaped as the recorded ones: the queued answer of
/// create_many (`tickets_create_many_job_queued.json`) with this job's id,
/// url and total.
fn queued(id: &str, total: usize) -> Value {
    let mut body = Fixture::load("zendesk/tickets_create_many_job_queued.json")
        .body()
        .clone();
    let job = &mut body["job_status"];
    let url = job["url"]
        .as_str()
        .unwrap()
        .replace(job["id"].as_str().unwrap(), id);
    job["id"] = json!(id);
    job["url"] = json!(url);
    job["total"] = json!(total);
    body
}

/// The completed status of job `id` (`job_status_completed_5_results.json`)
/// with these results.
fn completed(id: &str, results: Vec<Value>) -> Value {
    let mut body = Fixture::load("zendesk/job_status_completed_5_results.json")
        .body()
        .clone();
    let job = &mut body["job_status"];
    let url = job["url"]
        .as_str()
        .unwrap()
        .replace(job["id"].as_str().unwrap(), id);
    job["id"] = json!(id);
    job["url"] = json!(url);
    job["total"] = json!(results.len());
    job["progress"] = json!(results.len());
    job["results"] = json!(results);
    body
}

fn job_id_of(request: &Request) -> String {
    let file = request.url.path().rsplit('/').next().unwrap();
    file.trim_end_matches(".json").to_string()
}

/// A fake job queue: create_many queues a job per request; each job answers
/// `queued` to its first `polls - 1` status reads, then `completed` with a
/// result per ticket (index, and id 10,000 + the ticket's number in its
/// subject). Records the most jobs ever in flight.
#[derive(Clone, Default)]
struct Queue(Arc<Mutex<QueueState>>);

#[derive(Default)]
struct QueueState {
    next: usize,
    subjects: HashMap<String, Vec<String>>,
    polls: HashMap<String, usize>,
    in_flight: HashSet<String>,
    most_in_flight: usize,
    /// Status reads before completion, by job number (default 2).
    slow: HashMap<usize, usize>,
}

struct Submit(Queue);
struct Status(Queue);

impl Respond for Submit {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let subjects: Vec<String> = body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_string())
            .collect();
        let mut q = self.0.0.lock().unwrap();
        let id = format!("V3-job{}", q.next);
        q.next += 1;
        let total = subjects.len();
        q.subjects.insert(id.clone(), subjects);
        q.in_flight.insert(id.clone());
        q.most_in_flight = q.most_in_flight.max(q.in_flight.len());
        ResponseTemplate::new(200).set_body_json(queued(&id, total))
    }
}

impl Respond for Status {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = job_id_of(request);
        let mut q = self.0.0.lock().unwrap();
        let number: usize = id.trim_start_matches("V3-job").parse().unwrap();
        let needed = q.slow.get(&number).copied().unwrap_or(2);
        let polls = q.polls.entry(id.clone()).or_insert(0);
        *polls += 1;
        if *polls < needed {
            let mut body = Fixture::load("zendesk/job_status_queued.json")
                .body()
                .clone();
            body["job_status"]["id"] = json!(id);
            return ResponseTemplate::new(200).set_body_json(body);
        }
        q.in_flight.remove(&id);
        let results = q.subjects[&id]
            .iter()
            .enumerate()
            .map(|(index, subject)| {
                let n: i64 = subject.trim_start_matches('t').parse().unwrap();
                json!({"index": index, "id": 10_000 + n, "account_id": 18525119})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(completed(&id, results))
    }
}

async fn mount_queue(server: &MockServer, queue: &Queue) {
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets/create_many.json"))
        .respond_with(Submit(queue.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(JOB_STATUS))
        .respond_with(Status(queue.clone()))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_bulk_create_of_250_tickets_sends_jobs_of_100_100_50_and_reports_250_outcomes_in_order() {
    let server = MockServer::start().await;
    let queue = Queue::default();
    // The first job takes four status reads, the others two: it ends last.
    queue.0.lock().unwrap().slow.insert(0, 4);
    mount_queue(&server, &queue).await;
    let (zd, waits) = client_with_waits(&server);

    let outcomes = zd.create_many_tickets().bulk(tickets(250)).await.unwrap();

    let sent = received(&server).await;
    let mut sizes: Vec<usize> = sent
        .iter()
        .filter(|r| r.method == http::Method::POST)
        .map(|r| {
            assert_eq!(r.headers["content-type"], "application/json");
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["tickets"].as_array().unwrap().len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [50, 100, 100]);
    assert_eq!(outcomes.len(), 250);
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o.index, i);
        assert_eq!(
            o.id,
            Some(10_000 + i as i64),
            "item {i} got another item's id"
        );
        assert_eq!((o.status, o.success), (BulkStatus::Succeeded, true));
        assert!(o.job_id.as_deref().is_some_and(|j| j.starts_with("V3-job")));
    }
    // 2 + 2 + 4 status reads, each after a wait: 1 s, then doubling.
    let mut recorded = waits.recorded();
    recorded.sort_unstable();
    let s = Duration::from_secs;
    assert_eq!(recorded, [s(1), s(1), s(1), s(2), s(2), s(2), s(4), s(8)]);
}

#[tokio::test]
async fn jobs_in_flight_never_exceed_the_limit() {
    let server = MockServer::start().await;
    let queue = Queue::default();
    mount_queue(&server, &queue).await;
    let (zd, _waits) = client_with_waits(&server);

    let outcomes = zd
        .create_many_tickets()
        .bulk(tickets(701))
        .max_in_flight(3)
        .await
        .unwrap();

    assert_eq!(outcomes.len(), 701);
    assert!(outcomes.iter().all(|o| o.success));
    let q = queue.0.lock().unwrap();
    assert_eq!(q.next, 8, "8 jobs: 7 of 100 and one of 1");
    assert_eq!(q.most_in_flight, 3);
}

#[tokio::test]
async fn an_item_rejected_by_a_job_is_reported_and_one_missing_from_its_results_is_unknown() {
    let server = MockServer::start().await;
    let (zd, _waits) = client_with_waits(&server);
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets/create_many.json"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(queued("V3-j", 3)),
            &server,
        )
        .await;
    let results = vec![
        json!({"index": 0, "id": 4025, "account_id": 18525119}),
        json!({"index": 1, "error": "RecordInvalid", "details": "Requester: is invalid"}),
    ];
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/V3-j.json"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(completed("V3-j", results)),
            &server,
        )
        .await;

    let outcomes = zd.create_many_tickets().bulk(tickets(3)).await.unwrap();

    let seen: Vec<_> = outcomes.iter().map(|o| (o.index, o.id, o.status)).collect();
    assert_eq!(
        seen,
        [
            (0, Some(4025), BulkStatus::Succeeded),
            (1, None, BulkStatus::Failed),
            (2, None, BulkStatus::Unknown),
        ]
    );
    assert_eq!(outcomes[1].error.as_deref(), Some("RecordInvalid"));
    assert_eq!(
        outcomes[1].details.as_deref(),
        Some("Requester: is invalid")
    );
    assert_eq!(
        outcomes[2].error.as_deref(),
        Some("missing from the job's results")
    );
    assert_eq!(outcomes[2].job_id.as_deref(), Some("V3-j"));
}

#[tokio::test]
async fn a_job_status_that_404s_is_found_in_the_job_status_lists() {
    let server = MockServer::start().await;
    let (zd, _waits) = client_with_waits(&server);
    Mock::given(method("DELETE"))
        .and(path("/api/v2/tickets/destroy_many.json"))
        .and(query_param("ids", "7,8"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(queued("V3-gone", 2)),
            &server,
        )
        .await;
    let not_found = Fixture::load("zendesk/error_404_record_not_found.json");
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/V3-gone.json"))
        .answer_once(not_found.response(), &server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/show_many.json"))
        .and(query_param("ids", "V3-gone"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(json!({"job_statuses": []})),
            &server,
        )
        .await;
    let results = vec![
        json!({"action": "delete", "id": 8, "status": "Deleted", "success": true}),
        json!({"action": "delete", "id": 7, "success": false, "error": "TicketNotFound"}),
    ];
    let mut listed = completed("V3-gone", results);
    let page = json!({
        "job_statuses": [{"id": "V3-other", "status": "completed"}, listed["job_status"].take()],
        "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
        "links": {"next": null, "prev": null}
    });
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses.json"))
        .and(query_param("page[size]", "100"))
        .answer_once(ResponseTemplate::new(200).set_body_json(page), &server)
        .await;

    let outcomes = zd.destroy_many_tickets().bulk([7, 8]).await.unwrap();

    // Matched by id (delete results carry no index).
    assert_eq!(
        (outcomes[0].id, outcomes[0].status),
        (Some(7), BulkStatus::Failed)
    );
    assert_eq!(outcomes[0].error.as_deref(), Some("TicketNotFound"));
    assert_eq!(
        (outcomes[1].id, outcomes[1].status),
        (Some(8), BulkStatus::Succeeded)
    );
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test]
async fn a_job_that_fails_reports_its_items_failed_with_its_message() {
    let server = MockServer::start().await;
    let (zd, _waits) = client_with_waits(&server);
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets/create_many.json"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(queued("V3-f", 2)),
            &server,
        )
        .await;
    let mut failed = completed("V3-f", vec![]);
    failed["job_status"]["status"] = json!("killed");
    failed["job_status"]["message"] = json!("Job killed by an administrator");
    failed["job_status"]["results"] = Value::Null;
    Mock::given(method("GET"))
        .and(path("/api/v2/job_statuses/V3-f.json"))
        .answer_once(ResponseTemplate::new(200).set_body_json(failed), &server)
        .await;

    let outcomes = zd.create_many_tickets().bulk(tickets(2)).await.unwrap();

    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(o.status, BulkStatus::Failed);
        assert_eq!(o.error.as_deref(), Some("the job killed"));
        assert_eq!(o.details.as_deref(), Some("Job killed by an administrator"));
    }
}

#[tokio::test]
async fn a_job_the_server_refuses_fails_its_items_and_the_other_jobs_go_on() {
    let server = MockServer::start().await;
    let queue = Queue::default();
    let (zd, _waits) = client_with_waits(&server);
    // The first request is refused (400 TooManyValues), the second queued.
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets/create_many.json"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "TooManyValues", "description": "too many values"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_queue(&server, &queue).await;

    let outcomes = zd
        .create_many_tickets()
        .bulk(tickets(150))
        .max_in_flight(1)
        .await
        .unwrap();

    assert_eq!(outcomes.len(), 150);
    assert!(outcomes[..100].iter().all(|o| {
        o.status == BulkStatus::Failed
            && o.error
                .as_deref()
                .is_some_and(|e| e.contains("TooManyValues"))
            && o.job_id.is_none()
    }));
    assert!(outcomes[100..].iter().all(|o| o.success));
    assert_eq!(outcomes[100].id, Some(10_100));
}

#[tokio::test]
async fn a_ticket_create_carries_an_idempotency_key_that_its_retry_repeats() {
    let server = MockServer::start().await;
    let (zd, waits) = client_with_waits(&server);
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets.json"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let created = Fixture::load("zendesk/tickets_create_single.json");
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets.json"))
        .answer_once(created.response(), &server)
        .await;
    let ticket: types::TicketRequest =
        serde_json::from_value(created.request_body().clone()).unwrap();

    let answer = zd.create_ticket().body(ticket).send().await.unwrap();

    assert_eq!(
        answer.ticket.as_ref().and_then(|t| t.id),
        created.body()["ticket"]["id"].as_i64()
    );
    let sent = received(&server).await;
    assert_eq!(sent.len(), 2);
    let keys: Vec<&str> = sent
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap())
        .collect();
    assert_eq!(keys[0], keys[1], "the retry must repeat the key");
    assert_eq!(keys[0].len(), 36, "a UUID: {}", keys[0]);
    assert_eq!(sent[0].body, sent[1].body);
    assert_eq!(waits.recorded().len(), 1);
}

#[tokio::test]
async fn each_create_gets_its_own_key_and_a_callers_key_is_sent_as_given() {
    let server = MockServer::start().await;
    let (zd, _waits) = client_with_waits(&server);
    let created = Fixture::load("zendesk/tickets_create_single.json");
    Mock::given(method("POST"))
        .and(path("/api/v2/tickets.json"))
        .respond_with(created.response())
        .expect(3)
        .mount(&server)
        .await;
    let ticket: types::TicketRequest =
        serde_json::from_value(created.request_body().clone()).unwrap();

    zd.create_ticket()
        .body(ticket.clone())
        .send()
        .await
        .unwrap();
    zd.create_ticket()
        .body(ticket.clone())
        .send()
        .await
        .unwrap();
    zd.create_ticket()
        .idempotency_key("order-1234")
        .body(ticket)
        .send()
        .await
        .unwrap();

    let keys: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_string())
        .collect();
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[2], "order-1234");
}
