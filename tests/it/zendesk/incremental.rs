//! Incremental exports end and never loop: `end_of_stream` stops them (not
//! `next_page`), a recent `start_time` is refused before sending, an export
//! that stops moving ends with a typed error naming the time, and a saved
//! position resumes in another client right after the last item.

use futures::TryStreamExt as _;
use serde_json::{Value, json};
use specbound::PagingErrorKind;
use specbound::runtime::Position;
use specbound::zendesk::prelude::*;
use wiremock::MockServer;
use wiremock::matchers::{query_param, query_param_is_missing};

use super::paging::{answer, get, with};
use crate::support::{AnswerOnce as _, Fixture, received};

const CURSOR_EXPORT: &str = "/api/v2/incremental/tickets/cursor.json";
const TIME_EXPORT: &str = "/api/v2/incremental/tickets.json";

fn ids(body: &Value) -> Vec<Option<i64>> {
    body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64())
        .collect()
}

/// The cursor export's two recorded pages: one ticket, then 87 and the end.
async fn mount_cursor_export(server: &MockServer) -> (Fixture, Fixture) {
    let page = Fixture::load("zendesk/incremental_tickets_cursor_page.json");
    let end = Fixture::load("zendesk/incremental_tickets_cursor_end_of_stream.json");
    let after = page.body()["after_cursor"].as_str().unwrap().to_string();
    get(CURSOR_EXPORT)
        .and(query_param("start_time", "0"))
        .and(query_param("per_page", "1"))
        .and(query_param_is_missing("cursor"))
        .answer_once(page.response(), server)
        .await;
    // The cursor replaces start_time on every later page.
    get(CURSOR_EXPORT)
        .and(query_param("cursor", after.as_str()))
        .and(query_param_is_missing("start_time"))
        .answer_once(end.response(), server)
        .await;
    (page, end)
}

#[tokio::test]
async fn the_cursor_export_stops_on_end_of_stream_and_keeps_the_cursor_to_resume_from() {
    let server = MockServer::start().await;
    let (page, end) = mount_cursor_export(&server).await;
    let zd = super::client(&server);
    let mut tickets = zd
        .incremental_tickets_cursor()
        .start_time(0)
        .per_page(1u32)
        .stream();
    let mut got = Vec::new();
    while let Some(t) = tickets.try_next().await.unwrap() {
        got.push(t.id);
    }
    let mut expected = ids(page.body());
    expected.extend(ids(end.body()));
    assert_eq!(got, expected);
    assert_eq!(got.len(), 88);
    // The last page names an after_cursor: not followed, kept for next time.
    assert_eq!(tickets.resume_token(), end.body()["after_cursor"].as_str());
    assert_eq!(received(&server).await.len(), 2);
}

/// `fixture`'s body with its `next_page` moved onto `server`.
fn on_server(server: &MockServer, fixture: &Fixture) -> Value {
    let link = fixture.body()["next_page"].as_str().unwrap();
    let query = link.split_once('?').unwrap().1;
    let moved = format!("{}{TIME_EXPORT}?{query}", server.uri());
    with(fixture.body(), "/next_page", json!(moved))
}

#[tokio::test]
async fn the_time_based_export_stops_on_end_of_stream_not_on_next_page() {
    let server = MockServer::start().await;
    let page = Fixture::load("zendesk/incremental_tickets_time_based_page.json");
    let end = Fixture::load("zendesk/incremental_tickets_time_based_end_of_stream.json");
    let end_time = page.body()["end_time"].to_string();
    get(TIME_EXPORT)
        .and(query_param("start_time", "0"))
        .answer_once(answer(&on_server(&server, &page)), &server)
        .await;
    // The last page still names a next page, on this server: never asked for.
    get(TIME_EXPORT)
        .and(query_param("start_time", end_time.as_str()))
        .answer_once(answer(&on_server(&server, &end)), &server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd
        .incremental_tickets()
        .start_time(0)
        .per_page(1u32)
        .stream();
    let mut got = 0;
    while tickets.try_next().await.unwrap().is_some() {
        got += 1;
    }
    assert_eq!(got, 7 + 87);
    assert_eq!(
        tickets.resume_token(),
        Some(end.body()["end_time"].to_string().as_str())
    );
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_start_time_less_than_a_minute_ago_is_refused_before_sending() {
    let server = MockServer::start().await;
    let zd = super::client(&server);
    let recent = chrono::Utc::now().timestamp() - 10;
    let err = zd
        .incremental_tickets()
        .start_time(recent)
        .stream()
        .try_next()
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("start_time"), "{text}");
    assert!(text.contains("at least 60s"), "{text}");
    let err = zd
        .incremental_tickets_cursor()
        .start_time(recent + 3600)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_time_based_export_that_stops_moving_ends_with_the_stalled_error_naming_the_time() {
    let server = MockServer::start().await;
    // Seven tickets asked for one by one: a full page. Its next page starts
    // at its end_time, and answers the same: the export does not move.
    let page = Fixture::load("zendesk/incremental_tickets_time_based_page.json");
    let end_time = page.body()["end_time"].to_string();
    let body = on_server(&server, &page);
    get(TIME_EXPORT)
        .and(query_param("start_time", "0"))
        .answer_once(answer(&body), &server)
        .await;
    get(TIME_EXPORT)
        .and(query_param("start_time", end_time.as_str()))
        .answer_once(answer(&body), &server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd
        .incremental_tickets()
        .start_time(0)
        .per_page(1u32)
        .stream();
    let mut got = 0;
    let err = loop {
        match tickets.try_next().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("ended without the error after {got}"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 14, "both pages' tickets come before the error");
    assert_eq!(
        err.paging(),
        Some(&PagingErrorKind::Stalled {
            at: end_time.clone()
        })
    );
    assert!(err.to_string().contains(&end_time), "{err}");
    assert_eq!(received(&server).await.len(), 2, "no third request");
}

#[tokio::test]
async fn a_position_saved_mid_stream_resumes_in_a_new_client_right_after_the_last_item() {
    let server = MockServer::start().await;
    let page = Fixture::load("zendesk/incremental_tickets_cursor_page.json");
    let end = Fixture::load("zendesk/incremental_tickets_cursor_end_of_stream.json");
    let after = page.body()["after_cursor"].as_str().unwrap();
    get(CURSOR_EXPORT)
        .and(query_param("start_time", "0"))
        .answer_once(page.response(), &server)
        .await;
    // Read once before the crash, once after it.
    get(CURSOR_EXPORT)
        .and(query_param("cursor", after))
        .respond_with(end.response())
        .expect(2)
        .mount(&server)
        .await;
    let zd = super::client(&server);
    let mut tickets = zd
        .incremental_tickets_cursor()
        .start_time(0)
        .per_page(1u32)
        .stream();
    for _ in 0..4 {
        tickets.try_next().await.unwrap().unwrap();
    }
    let saved = serde_json::to_string(&tickets.position()).unwrap();
    drop(tickets);
    drop(zd);

    let position: Position = serde_json::from_str(&saved).unwrap();
    assert_eq!(
        position,
        Position {
            cursor: Some(after.into()),
            skip: 3
        }
    );
    let zd = super::client(&server);
    let next = zd
        .incremental_tickets_cursor()
        .start_time(0)
        .per_page(1u32)
        .stream_from(position)
        .try_next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, end.body()["tickets"][3]["id"].as_i64());
}
