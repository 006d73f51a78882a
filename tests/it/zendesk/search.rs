//! Searches on the wire: within 1,000 results by page number; past them
//! through the export with `filter[type]`, started again from the last
//! `created_at` when its cursor expired; a sort the export cannot keep
//! refused before the export is asked.

use chrono::NaiveDate;
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use specbound::PagingErrorKind;
use specbound::zendesk::{Search, prelude::*};
use wiremock::matchers::{query_param, query_param_is_missing};
use wiremock::{MockServer, ResponseTemplate};

use super::paging::{answer, get, with};
use crate::support::{AnswerOnce as _, Fixture, received};

const SEARCH: &str = "/api/v2/search.json";
const EXPORT: &str = "/api/v2/search/export.json";

fn users_since() -> Search {
    Search::users().created_after(NaiveDate::from_ymd_opt(2023, 9, 14).unwrap())
}

/// The recorded search answer (groups, `count` 1234).
fn search_page() -> Fixture {
    Fixture::load("zendesk/search_offset_groups.json")
}

fn ids(results: &[specbound::zendesk::types::SearchResult]) -> Vec<i64> {
    results.iter().map(|r| r.id.unwrap()).collect()
}

#[tokio::test]
async fn a_search_within_its_limit_pages_by_number_and_never_asks_the_export() {
    let server = MockServer::start().await;
    let recorded = search_page();
    let mut body = with(recorded.body(), "/count", json!(2));
    body["next_page"] = Value::Null;
    get(SEARCH)
        .and(query_param("query", "\"hello world\" type:group"))
        .and(query_param("per_page", "100"))
        .and(query_param("sort_by", "created_at"))
        .and(query_param("sort_order", "desc"))
        .answer_once(answer(&body), &server)
        .await;
    let zd = super::client(&server);
    let q = Search::groups()
        .text("hello world")
        .sort_by("created_at")
        .desc();
    let results: Vec<_> = zd.search_all(q).stream().try_collect().await.unwrap();
    let expected: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids(&results), expected);
    assert_eq!(results[0].result_type.as_deref(), Some("group"));
    assert_eq!(received(&server).await.len(), 1);
}

/// The recorded export page, its results replaced by `users` and its
/// cursor by `after` (`None`: the last page).
fn export_page(users: &[Value], after: Option<&str>) -> Value {
    let recorded = Fixture::load("zendesk/search_export_users_cursor.json");
    let mut body = with(recorded.body(), "/results", json!(users));
    body["meta"]["has_more"] = json!(after.is_some());
    body["meta"]["after_cursor"] = json!(after);
    body
}

/// The recorded exported user, and an older one made from it.
fn recorded_and_older_user() -> (Value, Value) {
    let recorded = Fixture::load("zendesk/search_export_users_cursor.json");
    let user = recorded.body()["results"][0].clone();
    let mut older = with(&user, "/id", json!(7_589_504_354_000_i64));
    older["created_at"] = json!("2023-09-17T08:00:00Z");
    (user, older)
}

/// The search answers `count` 1234: more than it pages to.
async fn search_answers_too_many(server: &MockServer) {
    get(SEARCH)
        .and(query_param("query", "created>2023-09-14 type:user"))
        .answer_once(search_page().response(), server)
        .await;
}

#[tokio::test]
async fn a_search_past_1000_results_carries_on_through_the_export_with_filter_type() {
    let server = MockServer::start().await;
    search_answers_too_many(&server).await;
    let (user, older) = recorded_and_older_user();
    get(EXPORT)
        .and(query_param("query", "created>2023-09-14"))
        .and(query_param("filter[type]", "user"))
        .and(query_param("page[size]", "100"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(
            answer(&export_page(std::slice::from_ref(&user), Some("c1"))),
            &server,
        )
        .await;
    get(EXPORT)
        .and(query_param("page[after]", "c1"))
        .and(query_param("filter[type]", "user"))
        .answer_once(
            answer(&export_page(std::slice::from_ref(&older), None)),
            &server,
        )
        .await;
    let zd = super::client(&server);
    let results: Vec<_> = zd
        .search_all(users_since())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        ids(&results),
        [user["id"].as_i64().unwrap(), older["id"].as_i64().unwrap()]
    );
    assert_eq!(results[0].email.as_deref(), user["email"].as_str());
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn an_expired_export_cursor_starts_again_from_the_last_created_at_without_repeats() {
    let server = MockServer::start().await;
    search_answers_too_many(&server).await;
    let (user, older) = recorded_and_older_user();
    get(EXPORT)
        .and(query_param("query", "created>2023-09-14"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(
            answer(&export_page(std::slice::from_ref(&user), Some("c1"))),
            &server,
        )
        .await;
    // An hour later the cursor is refused (no recording: written by hand).
    let expired = ResponseTemplate::new(400).set_body_json(json!({
        "error": "InvalidPaginationParameter",
        "description": "cursor expired"
    }));
    get(EXPORT)
        .and(query_param("page[after]", "c1"))
        .answer_once(expired, &server)
        .await;
    let created = user["created_at"].as_str().unwrap();
    get(EXPORT)
        .and(query_param(
            "query",
            format!("created>2023-09-14 created<={created}"),
        ))
        .and(query_param("filter[type]", "user"))
        .and(query_param_is_missing("page[after]"))
        .answer_once(
            answer(&export_page(&[user.clone(), older.clone()], None)),
            &server,
        )
        .await;
    let zd = super::client(&server);
    let results: Vec<_> = zd
        .search_all(users_since())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        ids(&results),
        [user["id"].as_i64().unwrap(), older["id"].as_i64().unwrap()],
        "the user at the restart time is not yielded twice"
    );
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test]
async fn a_sort_the_export_cannot_keep_is_refused_before_the_export_is_asked() {
    let server = MockServer::start().await;
    get(SEARCH)
        .and(query_param("sort_by", "updated_at"))
        .answer_once(search_page().response(), &server)
        .await;
    let zd = super::client(&server);
    let err = zd
        .search_all(users_since().sort_by("updated_at"))
        .stream()
        .try_next()
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("created_at"), "{text}");
    assert!(text.contains("updated_at"), "{text}");
    assert_eq!(received(&server).await.len(), 1, "the export was not asked");
}

#[tokio::test]
async fn the_generated_search_stream_refuses_to_start_past_1000_results() {
    let server = MockServer::start().await;
    let zd = super::client(&server);
    let err = zd
        .search()
        .query("type:ticket")
        .stream()
        .skip(1000)
        .try_next()
        .await
        .unwrap_err();
    assert_eq!(
        err.paging(),
        Some(&PagingErrorKind::DepthLimit { records: 1000 })
    );
    assert!(err.to_string().contains("search_all"), "{err}");
    assert!(received(&server).await.is_empty());
}
