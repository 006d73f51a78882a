//! Tickets against the sandbox: create with its audit and `Location`,
//! validation in Zendesk's words, safe updates, idempotent creates, comments.

use serde_json::json;
use specbound::zendesk::prelude::*;
use specbound::zendesk::types;

use super::sandbox_setup::{EMAIL, agent, sandbox, status_of};

fn ticket(body: serde_json::Value) -> types::TicketRequest {
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn a_created_ticket_comes_with_its_audit_and_reads_back() {
    let server = sandbox().users(1).start().await.unwrap();
    let (zd, _) = agent(&server);
    let body = ticket(json!({"ticket": {
        "subject": "Printer on fire", "comment": {"body": "The smoke is very colorful."},
        "priority": "urgent", "tags": ["Fire", "printer", "fire"],
        "requester": {"name": "Pat", "email": "pat@example.com"},
    }}));
    let answer = zd.create_ticket().body(body).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let created = answer.into_inner();
    let t = created.ticket.unwrap();
    assert_eq!(
        location,
        format!("{}/api/v2/tickets/1.json", server.base_url())
    );
    assert_eq!(t.url.as_deref(), Some(location.as_str()));
    assert_eq!(
        (t.id, t.status.as_deref(), t.priority.as_deref()),
        (Some(1), Some("new"), Some("urgent"))
    );
    assert_eq!(
        t.description.as_deref(),
        Some("The smoke is very colorful.")
    );
    assert_eq!(t.tags, ["fire", "printer"]);
    let pat = server
        .user_id("pat@example.com")
        .expect("the requester was created");
    assert_eq!(t.requester_id, Some(pat as i64));
    assert_eq!(t.submitter_id, server.user_id(EMAIL).map(|id| id as i64));
    let audit = created.audit.unwrap();
    let kinds: Vec<_> = audit
        .events
        .iter()
        .map(|e| (e.type_.clone().unwrap(), e.field_name.clone()))
        .collect();
    assert_eq!(kinds[0], ("Comment".to_string(), None));
    assert!(kinds.contains(&("Create".to_string(), Some("priority".to_string()))));
    let comments = zd
        .list_ticket_comments()
        .ticket_id(1)
        .send()
        .await
        .unwrap()
        .into_inner()
        .comments;
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0].body.as_deref(),
        Some("The smoke is very colorful.")
    );
    let shown = zd
        .get_ticket()
        .ticket_id(1)
        .send()
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(shown, t);
}

#[tokio::test]
async fn invalid_tickets_are_refused_in_zendesks_words() {
    let server = sandbox().tickets(1).start().await.unwrap();
    let (zd, _) = agent(&server);
    let err = zd
        .create_ticket()
        .body(ticket(json!({"ticket": {"subject": "No comment"}})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 422);
    let api = err.api().unwrap();
    assert_eq!(api.code.as_deref(), Some("RecordInvalid"));
    assert_eq!(api.fields[0].field, "description");
    assert_eq!(api.fields[0].message, "Description: cannot be blank");
    let bad = ticket(json!({"ticket": {"status": "done", "comment": {"body": "x"}}}));
    let err = zd.create_ticket().body(bad).send().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().fields[0].message,
        "Status: done is not valid"
    );
    let stranger = ticket(json!({"ticket": {"assignee_id": 42, "comment": {"body": "x"}}}));
    let err = zd
        .update_ticket()
        .ticket_id(1)
        .body(stranger)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 422);
    let missing = zd.get_ticket().ticket_id(999).send().await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(
        missing.api().unwrap().code.as_deref(),
        Some("RecordNotFound")
    );
}

#[tokio::test]
async fn a_safe_update_with_an_old_stamp_is_a_409_and_closed_tickets_stay_closed() {
    let server = sandbox().tickets(1).start().await.unwrap();
    let (zd, _) = agent(&server);
    let before = zd
        .get_ticket()
        .ticket_id(1)
        .send()
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let stamp = before
        .updated_at
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let safe = |status: &str, stamp: &str| {
        ticket(json!({"ticket": {"status": status, "safe_update": true, "updated_stamp": stamp}}))
    };
    let updated = zd
        .update_ticket()
        .ticket_id(1)
        .body(safe("pending", &stamp))
        .send()
        .await
        .unwrap()
        .into_inner();
    let audit = updated.audit.unwrap();
    let change = audit
        .events
        .iter()
        .find(|e| e.field_name.as_deref() == Some("status"))
        .unwrap();
    assert_eq!(
        (change.value.clone(), change.previous_value.clone()),
        (Some(json!("pending")), Some(json!("new")))
    );
    // A stamp older than the ticket's `updated_at` is out of date.
    let err = zd
        .update_ticket()
        .ticket_id(1)
        .body(safe("solved", "2001-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 409);
    assert_eq!(err.api().unwrap().code.as_deref(), Some("UpdateConflict"));
    zd.update_ticket()
        .ticket_id(1)
        .body(ticket(json!({"ticket": {"status": "closed"}})))
        .send()
        .await
        .unwrap();
    let err = zd
        .update_ticket()
        .ticket_id(1)
        .body(ticket(json!({"ticket": {"status": "open"}})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().fields[0].message,
        "Status: closed prevents ticket update"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_create() {
    let server = sandbox().start().await.unwrap();
    let (zd, _) = agent(&server);
    let body = || ticket(json!({"ticket": {"subject": "Once", "comment": {"body": "only once"}}}));
    let first = zd
        .create_ticket()
        .idempotency_key("key-1")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(first.headers()["x-idempotency-lookup"], "miss");
    let again = zd
        .create_ticket()
        .idempotency_key("key-1")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["x-idempotency-lookup"], "hit");
    assert_eq!(
        again.into_inner().ticket.and_then(|t| t.id),
        first.into_inner().ticket.and_then(|t| t.id)
    );
    assert_eq!(
        zd.list_tickets().send().await.unwrap().count,
        Some(1),
        "one ticket"
    );
    let other = ticket(json!({"ticket": {"subject": "Other", "comment": {"body": "x"}}}));
    let err = zd
        .create_ticket()
        .idempotency_key("key-1")
        .body(other)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    assert_eq!(
        err.api().unwrap().code.as_deref(),
        Some("IdempotentRequestError")
    );
}
