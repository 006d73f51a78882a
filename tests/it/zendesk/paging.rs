//! Paging on the wire: cursors by default (`page[size]` always sent, stop
//! when `has_more` is false), offset paging beside them and its 10,000
//! records, skip/take asking only for the pages they need, audits read
//! backwards, side-loads reachable from the page being read.

use futures::TryStreamExt as _;
use serde_json::{Value, json};
use specbound::PagingErrorKind;
use specbound::runtime::Position;
use specbound::zendesk::prelude::*;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::support::{AnswerOnce as _, Fixture, received, sent_query};

/// A GET of `route` with the client's OAuth token.
pub(super) fn get(route: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(route))
        .and(wiremock::matchers::header("authorization", "Bearer tok-1"))
}

/// `body` as a 200 answer.
pub(super) fn answer(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// `fixture`'s body with `key` set to `value` (a JSON pointer's parent must exist).
pub(super) fn with(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    body
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_cursor_list_always_sends_its_page_size_and_stops_when_has_more_is_false() {
    let server = MockServer::start().await;
    // Recorded with page[size]=100; its links.next still holds a URL.
    let last = Fixture::load("zendesk/groups_list_cursor_last_page.json");
    assert!(last.body()["links"]["next"].is_string());
    get("/api/v2/groups.json")
        .and(query_param("page[size]", "100"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(last.response(), &server)
        .await;
    let zd = super::client(&server);
    let groups: Vec<_> = zd.list_groups().stream().try_collect().await.unwrap();
    let expected = last.body()["groups"].as_array().unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id.unwrap()).collect::<Vec<_>>(),
        ids(expected)
    );
    assert_eq!(received(&server).await.len(), 1, "links.next not followed");
}

#[tokio::test]
async fn a_cursor_list_sends_after_cursor_back_and_reads_no_page_ahead() {
    let server = MockServer::start().await;
    let first = Fixture::load("zendesk/tickets_list_cursor_first_page.json");
    let next = Fixture::load("zendesk/tickets_list_cursor_next_page.json");
    let after = first.body()["meta"]["after_cursor"].as_str().unwrap();
    get("/api/v2/tickets.json")
        .and(query_param("page[size]", "1"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(first.response(), &server)
        .await;
    get("/api/v2/tickets.json")
        .and(query_param("page[size]", "1"))
        .and(query_param("page[after]", after))
        .answer_once(next.response(), &server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd.list_tickets().page_size(1u32).stream().take(2);
    let one = tickets.try_next().await.unwrap().unwrap();
    assert_eq!(received(&server).await.len(), 1);
    let two = tickets.try_next().await.unwrap().unwrap();
    assert!(tickets.try_next().await.unwrap().is_none());
    assert_eq!(
        [one.id, two.id],
        [
            first.body()["tickets"][0]["id"].as_i64(),
            next.body()["tickets"][0]["id"].as_i64()
        ]
    );
    assert_eq!(received(&server).await.len(), 2, "has_more was still true");
}

/// Page 1 of offset paging (recorded) with its next page on `server`, and
/// a page 2 that is the last (the same tickets, `next_page` null).
fn offset_pages(server: &MockServer) -> (Value, Value) {
    let page1 = Fixture::load("zendesk/tickets_list_offset_page1.json");
    let link = format!("{}/api/v2/tickets.json?page=2", server.uri());
    let first = with(page1.body(), "/next_page", json!(link));
    let mut last = with(page1.body(), "/next_page", Value::Null);
    // Other tickets than page 1's: a page served again is a loop, not a page.
    for t in last["tickets"].as_array_mut().into_iter().flatten() {
        t["id"] = json!(t["id"].as_i64().unwrap_or(0) + 1_000_000);
    }
    (first, last)
}

#[tokio::test]
async fn offset_paging_follows_next_page_until_it_is_null_without_a_page_size() {
    let server = MockServer::start().await;
    let (first, last) = offset_pages(&server);
    get("/api/v2/tickets.json")
        .and(query_param_is_missing("page"))
        .and(query_param("sort_by", "updated_at"))
        .answer_once(answer(&first), &server)
        .await;
    get("/api/v2/tickets.json")
        .and(query_param("page", "2"))
        .answer_once(answer(&last), &server)
        .await;
    let zd = super::client(&server);
    let tickets: Vec<_> = zd
        .list_tickets()
        .sort_by("updated_at")
        .offset_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tickets.len(), 200);
    assert_eq!(tickets[0].id, first["tickets"][0]["id"].as_i64());
    for n in 0..2 {
        let query = sent_query(&server, n).await;
        assert!(
            query.iter().all(|(k, _)| !k.starts_with("page[")),
            "offset paging never sends a cursor parameter: {query:?}"
        );
    }
}

#[tokio::test]
async fn skip_and_take_on_offset_paging_ask_only_for_the_page_they_need() {
    let server = MockServer::start().await;
    let (first, _) = offset_pages(&server);
    get("/api/v2/tickets.json")
        .and(query_param("page", "3"))
        .and(query_param("per_page", "100"))
        .answer_once(answer(&first), &server)
        .await;
    let zd = super::client(&server);
    let tickets: Vec<_> = zd
        .list_tickets()
        .offset_stream()
        .skip(250)
        .take(10)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<Option<i64>> = (50..60)
        .map(|i| first["tickets"][i]["id"].as_i64())
        .collect();
    assert_eq!(tickets.iter().map(|t| t.id).collect::<Vec<_>>(), expected);
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn skip_and_take_on_cursor_paging_ask_for_pages_no_larger_than_needed() {
    let server = MockServer::start().await;
    let first = Fixture::load("zendesk/tickets_list_cursor_first_page.json");
    let next = Fixture::load("zendesk/tickets_list_cursor_next_page.json");
    let after = first.body()["meta"]["after_cursor"].as_str().unwrap();
    get("/api/v2/tickets.json")
        .and(query_param("page[size]", "2"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(first.response(), &server)
        .await;
    get("/api/v2/tickets.json")
        .and(query_param("page[size]", "1"))
        .and(query_param("page[after]", after))
        .answer_once(next.response(), &server)
        .await;
    let zd = super::client(&server);
    let tickets: Vec<_> = zd
        .list_tickets()
        .stream()
        .skip(1)
        .take(1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].id, next.body()["tickets"][0]["id"].as_i64());
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn offset_paging_past_10000_records_ends_with_the_error_that_says_to_use_cursors() {
    let server = MockServer::start().await;
    let (first, _) = offset_pages(&server);
    let page100 = with(
        &first,
        "/next_page",
        json!(format!(
            "{}/api/v2/tickets.json?page=101&per_page=100",
            server.uri()
        )),
    );
    get("/api/v2/tickets.json")
        .and(query_param("page", "100"))
        .and(query_param("per_page", "100"))
        .answer_once(answer(&page100), &server)
        .await;
    // Zendesk's answer past 10,000 records (no recording: written by hand).
    let refused = ResponseTemplate::new(400).set_body_json(json!({
        "error": "InvalidPaginationParameter",
        "description": "Offset pagination is limited to the first 10,000 records."
    }));
    get("/api/v2/tickets.json")
        .and(query_param("page", "101"))
        .answer_once(refused, &server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd.list_tickets().offset_stream().skip(9_990);
    let mut got = 0;
    let err = loop {
        match tickets.try_next().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("ended without the error"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 10);
    assert_eq!(
        err.paging(),
        Some(&PagingErrorKind::DepthLimit { records: 10_000 })
    );
    assert_eq!(err.operation(), Some("list_tickets"));
    let text = err.to_string();
    assert!(text.contains("cursor paging"), "{text}");
    assert!(text.contains("stream()"), "{text}");

    // Asking to start past the limit is refused before anything is sent.
    let before = received(&server).await.len();
    let err = zd
        .list_tickets()
        .offset_stream()
        .skip(10_000)
        .try_next()
        .await
        .unwrap_err();
    assert_eq!(
        err.paging(),
        Some(&PagingErrorKind::DepthLimit { records: 10_000 })
    );
    assert_eq!(received(&server).await.len(), before);
}

/// Audits with ids `ids`, made from the recorded audit.
fn audits_page(ids: &[i64], before: Option<&str>) -> Value {
    let recorded = Fixture::load("zendesk/ticket_audits_list_cursor.json");
    let audit = &recorded.body()["audits"][0];
    let audits: Vec<Value> = ids.iter().map(|id| with(audit, "/id", json!(id))).collect();
    let mut body = with(recorded.body(), "/audits", json!(audits));
    body["meta"]["has_more"] = json!(before.is_some());
    body["meta"]["before_cursor"] = json!(before);
    body
}

#[tokio::test]
async fn audits_are_read_backwards_from_a_before_cursor_newest_first() {
    let server = MockServer::start().await;
    let recorded = Fixture::load("zendesk/ticket_audits_list_cursor.json");
    let start = recorded.body()["meta"]["before_cursor"].as_str().unwrap();
    get("/api/v2/ticket_audits.json")
        .and(query_param("page[before]", start))
        .and(query_param("page[size]", "100"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(answer(&audits_page(&[3, 4], Some("older"))), &server)
        .await;
    get("/api/v2/ticket_audits.json")
        .and(query_param("page[before]", "older"))
        .answer_once(answer(&audits_page(&[1, 2], None)), &server)
        .await;
    let zd = super::client(&server);
    let mut audits = zd.list_audits().stream_backward(Position::at(start));
    let mut order = Vec::new();
    while let Some(audit) = audits.try_next().await.unwrap() {
        order.push(audit.id.unwrap());
    }
    assert_eq!(order, [4, 3, 2, 1]);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn side_loaded_users_are_reachable_from_the_page_being_read() {
    let server = MockServer::start().await;
    let first = Fixture::load("zendesk/tickets_list_cursor_first_page.json");
    let user = Fixture::load("zendesk/users_show.json");
    let mut body = with(first.body(), "/meta/has_more", json!(false));
    body["users"] = json!([user.body()["user"]]);
    get("/api/v2/tickets.json")
        .and(query_param("include", "users"))
        .and(query_param("page[size]", "100"))
        .answer_once(answer(&body), &server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd.list_tickets().include("users").stream();
    let ticket = tickets.try_next().await.unwrap().unwrap();
    assert_eq!(ticket.id, first.body()["tickets"][0]["id"].as_i64());
    let page = tickets.current_page().expect("the page being read");
    assert_eq!(page.users.len(), 1);
    assert_eq!(page.users[0].id, user.body()["user"]["id"].as_i64());
    assert_eq!(
        page.users[0].name.as_deref(),
        user.body()["user"]["name"].as_str()
    );
    assert!(tickets.try_next().await.unwrap().is_none());
}
