//! Bulk jobs and incremental exports against the sandbox.

use serde_json::json;
use specbound::zendesk::prelude::*;
use specbound::zendesk::types;

use super::sandbox_setup::{agent, sandbox, status_of};

fn tickets(body: serde_json::Value) -> types::TicketsRequest {
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn a_bulk_create_queues_works_and_completes_with_a_result_per_item() {
    let server = sandbox()
        .tickets(2)
        .reject_bulk_item(1)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    let body = tickets(json!({"tickets": [
        {"subject": "First", "comment": {"body": "one"}},
        {"subject": "Refused", "comment": {"body": "two"}},
        {"subject": "Third", "comment": {"body": "three"}, "priority": "high"},
        {"subject": "No comment"},
    ]}));
    let queued = zd
        .create_many_tickets()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    assert_eq!(queued.status.as_deref(), Some("queued"));
    assert_eq!(
        (queued.total, queued.progress, queued.results.clone()),
        (Some(4), None, None)
    );
    let id = queued.id.clone().unwrap();
    assert!(queued.url.unwrap().starts_with(&server.base_url()));
    // Nothing is created before the job has run.
    assert_eq!(zd.list_tickets().send().await.unwrap().count, Some(2));
    let working = zd
        .get_job_status()
        .job_status_id(id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    assert_eq!(working.status.as_deref(), Some("working"));
    assert_eq!(working.progress, Some(2));
    assert!(working.results.is_none());
    let done = zd
        .get_job_status()
        .job_status_id(id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    assert_eq!(done.status.as_deref(), Some("completed"));
    assert_eq!(done.progress, Some(4));
    assert!(done.message.unwrap().starts_with("Completed at "));
    let results = done.results.unwrap();
    let summary: Vec<_> = results
        .iter()
        .map(|r| {
            (
                r.index,
                r.id,
                r.success,
                r.status.as_deref(),
                r.error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some(0), Some(3), Some(true), Some("Created"), None),
            (
                Some(1),
                None,
                Some(false),
                Some("Failed"),
                Some("RecordInvalid")
            ),
            (Some(2), Some(4), Some(true), Some("Created"), None),
            (
                Some(3),
                None,
                Some(false),
                Some("Failed"),
                Some("RecordInvalid")
            ),
        ]
    );
    assert_eq!(
        results[3].details.as_deref(),
        Some("Description: cannot be blank")
    );
    let created = zd
        .show_many_tickets()
        .ids("3,4")
        .send()
        .await
        .unwrap()
        .into_inner()
        .tickets;
    let subjects: Vec<_> = created
        .iter()
        .map(|t| (t.id, t.subject.as_deref(), t.priority.as_deref()))
        .collect();
    assert_eq!(
        subjects,
        [
            (Some(3), Some("First"), None),
            (Some(4), Some("Third"), Some("high"))
        ]
    );
    // A finished job stays finished, and is listed.
    let again = zd
        .get_job_status()
        .job_status_id(id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    assert_eq!(again.results.map(|r| r.len()), Some(4));
    let listed = zd
        .list_job_statuses()
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_statuses;
    assert_eq!(
        listed
            .iter()
            .filter_map(|j| j.id.clone())
            .collect::<Vec<_>>(),
        [id]
    );
}

#[tokio::test]
async fn bulk_updates_and_deletes_report_each_id_and_refuse_more_than_a_hundred() {
    let server = sandbox().tickets(3).start().await.unwrap();
    let (zd, _) = agent(&server);
    let body =
        tickets(json!({"tickets": [{"id": 1, "status": "solved"}, {"id": 99, "status": "open"}]}));
    let job = zd
        .update_many_tickets()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    let id = job.id.unwrap();
    zd.get_job_status()
        .job_status_id(id.clone())
        .send()
        .await
        .unwrap();
    let done = zd
        .get_job_status()
        .job_status_id(id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    let results: Vec<_> = done
        .results
        .unwrap()
        .iter()
        .map(|r| (r.id, r.success, r.action.clone(), r.error.clone()))
        .collect();
    assert_eq!(
        results,
        [
            (Some(1), Some(true), Some("update".into()), None),
            (
                Some(99),
                Some(false),
                Some("update".into()),
                Some("RecordNotFound".into())
            ),
        ]
    );
    let one = zd
        .get_ticket()
        .ticket_id(1)
        .send()
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(one.status.as_deref(), Some("solved"));
    let job = zd
        .destroy_many_tickets()
        .ids("2,3")
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_status;
    let id = job.id.unwrap();
    zd.get_job_status()
        .job_status_id(id.clone())
        .send()
        .await
        .unwrap();
    zd.get_job_status().job_status_id(id).send().await.unwrap();
    let err = zd.get_ticket().ticket_id(2).send().await.unwrap_err();
    assert!(err.is_not_found());
    let many: Vec<serde_json::Value> = (0..101)
        .map(|i| json!({"subject": format!("t{i}"), "comment": {"body": "x"}}))
        .collect();
    let err = zd
        .create_many_tickets()
        .body(tickets(json!({"tickets": many})))
        .send()
        .await
        .unwrap_err();
    // The spec says at most 100: the client refuses before sending, or the sandbox answers 400.
    match err.status() {
        Some(status) => {
            assert_eq!(status.as_u16(), 400);
            assert_eq!(err.api().unwrap().code.as_deref(), Some("TooManyValues"));
        }
        None => assert!(err.is_invalid(), "{err:?}"),
    }
}

#[tokio::test]
async fn the_time_based_ticket_export_pages_to_end_of_stream() {
    let server = sandbox().tickets(25).start().await.unwrap();
    let (zd, _) = agent(&server);
    let (mut start, mut seen, mut pages) = (0, Vec::new(), 0);
    loop {
        let page = zd
            .incremental_tickets()
            .start_time(start)
            .per_page(10)
            .send()
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(page.count, Some(page.tickets.len() as i64));
        seen.extend(page.tickets.iter().filter_map(|t| t.id));
        let end_time = page.end_time.unwrap();
        assert!(
            page.next_page
                .unwrap()
                .ends_with(&format!("start_time={end_time}"))
        );
        if page.end_of_stream == Some(true) {
            break;
        }
        assert!(end_time > start, "each page moves on");
        start = end_time;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=25).collect::<Vec<i64>>());
}

#[tokio::test]
async fn the_cursor_based_export_keeps_a_cursor_to_resume_from() {
    let server = sandbox().tickets(12).start().await.unwrap();
    let (zd, _) = agent(&server);
    let (mut cursor, mut seen) = (None::<String>, Vec::new());
    let last = loop {
        let mut call = zd.incremental_tickets_cursor().per_page(5);
        call = match cursor.take() {
            Some(c) => call.cursor(c),
            None => call.start_time(0),
        };
        let page = call.send().await.unwrap().into_inner();
        seen.extend(page.tickets.iter().filter_map(|t| t.id));
        let after = page
            .after_cursor
            .clone()
            .expect("every page has an after_cursor");
        assert!(page.after_url.unwrap().contains("cursor="));
        if page.end_of_stream == Some(true) {
            break after;
        }
        cursor = Some(after);
    };
    assert_eq!(seen, (1..=12).collect::<Vec<i64>>());
    // Changes after the last page come from the kept cursor.
    let change: types::TicketRequest =
        serde_json::from_value(json!({"ticket": {"status": "pending"}})).unwrap();
    zd.update_ticket()
        .ticket_id(5)
        .body(change)
        .send()
        .await
        .unwrap();
    zd.delete_ticket().ticket_id(6).send().await.unwrap();
    let resumed = zd
        .incremental_tickets_cursor()
        .cursor(last)
        .send()
        .await
        .unwrap()
        .into_inner();
    let changed: Vec<_> = resumed
        .tickets
        .iter()
        .map(|t| (t.id, t.status.as_deref()))
        .collect();
    assert_eq!(
        changed,
        [(Some(5), Some("pending")), (Some(6), Some("deleted"))]
    );
    assert_eq!(resumed.end_of_stream, Some(true));
    let without_deleted = zd
        .incremental_tickets_cursor()
        .start_time(0)
        .exclude_deleted(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(without_deleted.tickets.len(), 11);
}

#[tokio::test]
async fn users_organizations_and_ticket_events_export_too() {
    let server = sandbox()
        .users(3)
        .organizations(2)
        .tickets(2)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    let users = zd
        .incremental_users()
        .start_time(0)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((users.users.len(), users.end_of_stream), (4, Some(true)));
    let cursor = zd
        .incremental_users_cursor()
        .start_time(0)
        .per_page(2)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((cursor.users.len(), cursor.end_of_stream), (2, Some(false)));
    let orgs = zd
        .incremental_organizations()
        .start_time(0)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(orgs.organizations.len(), 2);
    let change: types::TicketRequest = serde_json::from_value(
        json!({"ticket": {"priority": "urgent", "comment": {"body": "Hurry", "public": false}}}),
    )
    .unwrap();
    zd.update_ticket()
        .ticket_id(1)
        .body(change)
        .send()
        .await
        .unwrap();
    let events = zd
        .incremental_ticket_events()
        .start_time(0)
        .include("comment_events")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(events.end_of_stream, Some(true));
    let last = events.ticket_events.last().unwrap();
    assert_eq!(
        (last.ticket_id, last.event_type.as_deref()),
        (Some(1), Some("Audit"))
    );
    let priority = last
        .child_events
        .iter()
        .find(|c| c.get("priority").is_some())
        .expect("the priority change");
    assert_eq!(priority["event_type"], "Change");
    assert_eq!(
        (&priority["priority"], &priority["previous_value"]),
        (&json!("urgent"), &json!("low"))
    );
    // The assigned new ticket became open with the update, as Zendesk does.
    assert!(
        last.child_events
            .iter()
            .any(|c| c.get("status") == Some(&json!("open")))
    );
    let comment = last.child_events.last().unwrap();
    assert_eq!(
        (&comment["event_type"], &comment["body"]),
        (&json!("Comment"), &json!("Hurry"))
    );
    assert_eq!(priority["comment_present"], true);
    assert_eq!(priority["comment_public"], false);
    let err = zd
        .incremental_tickets_cursor()
        .cursor("not-a-cursor")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
}
