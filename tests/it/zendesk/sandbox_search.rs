//! Search against the sandbox: the query language over stored records, the
//! 1,000-result limit (422), the count, and Search Export with its cursors.

use std::time::Duration;

use specbound::zendesk::prelude::*;
use specbound::zendesk::types::ExportSearchResultsFilterType;

use super::sandbox_setup::{agent, get_raw, sandbox, status_of};

fn ids(results: &[specbound::zendesk::types::SearchResult]) -> Vec<i64> {
    results.iter().filter_map(|r| r.id).collect()
}

#[tokio::test]
async fn the_query_language_finds_what_it_says() {
    let server = sandbox()
        .users(3)
        .organizations(1)
        .tickets(20)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    let search = |q: &str| zd.search().query(q.to_string()).send();
    // Seeded statuses go new, open, pending, hold, solved in turn.
    let open = search("type:ticket status:open")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&open.results), [2, 7, 12, 17]);
    assert!(
        open.results
            .iter()
            .all(|r| r.result_type.as_deref() == Some("ticket"))
    );
    assert_eq!(open.count, Some(4));
    let below = search("type:ticket status<pending")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(below.count, Some(8), "new and open");
    let phrase = search("\"Seeded ticket number 13\"")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&phrase.results), [13]);
    let negated = search("type:ticket -status:solved -status:hold")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(negated.count, Some(12));
    let recent = search("type:ticket created>2days priority:urgent")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&recent.results), [4, 8, 12, 16, 20]);
    let none = search("type:ticket created>4hours")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(none.count, Some(0), "seeded tickets are a day old");
    let users = search("type:user user2").await.unwrap().into_inner();
    assert_eq!(users.results.len(), 1);
    assert_eq!(users.results[0].email.as_deref(), Some("user2@example.com"));
    let orgs = search("type:organization \"Organization 1\"")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(orgs.results[0].result_type.as_deref(), Some("organization"));
    let by_requester = search("type:ticket requester:user1@example.com")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&by_requester.results), [1, 4, 7, 10, 13, 16, 19]);
    let count = zd
        .count_search_results()
        .query("type:ticket status:open")
        .send()
        .await
        .unwrap();
    assert_eq!(count.count, Some(4));
    // Side-loads use the type-scoped form.
    let loaded = zd
        .search()
        .query("type:ticket status:open")
        .include("tickets(users)")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!loaded.users.is_empty());
}

#[tokio::test]
async fn search_pages_up_to_a_thousand_results_then_answers_422() {
    let server = sandbox().tickets(1_100).start().await.unwrap();
    let (zd, _) = agent(&server);
    let tenth = zd
        .search()
        .query("type:ticket")
        .per_page(100)
        .page(10)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tenth.count, Some(1_100), "the count is every match");
    assert_eq!(tenth.results.len(), 100);
    assert_eq!(tenth.results.last().and_then(|r| r.id), Some(1_000));
    // The next page is linked, as Zendesk links it; asking for it is the 422.
    let next = tenth.next_page.expect("page 11 is linked");
    assert!(next.contains("page=11"), "{next}");
    let err = zd
        .search()
        .query("type:ticket")
        .per_page(100)
        .page(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 422);
    let api = err.api().expect("an API error");
    assert_eq!(api.code.as_deref(), Some("invalid"));
    assert_eq!(
        api.message,
        "Invalid search: Requested response size was greater than Search Response Limits"
    );
    // Search Export has no such limit.
    let (mut seen, mut after) = (0, None::<String>);
    loop {
        let mut call = zd
            .export_search_results()
            .query("type:ticket")
            .filter_type(ExportSearchResultsFilterType::Ticket)
            .page_size(500);
        if let Some(c) = after.take() {
            call = call.page_after(c);
        }
        let page = call.send().await.unwrap().into_inner();
        seen += page.results.len();
        assert!(page.links.as_ref().unwrap().prev.is_none(), "forward only");
        let meta = page.meta.unwrap();
        if !meta.has_more.unwrap() {
            break;
        }
        after = meta.after_cursor;
    }
    assert_eq!(seen, 1_100);
}

#[tokio::test]
async fn export_cursors_go_newest_first_and_expire() {
    let server = sandbox().tickets(25).start().await.unwrap();
    let (zd, _) = agent(&server);
    let first = zd
        .export_search_results()
        .query("status:new")
        .filter_type(ExportSearchResultsFilterType::Ticket)
        .page_size(3)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&first.results), [21, 16, 11], "newest first");
    let meta = first.meta.unwrap();
    assert_eq!(meta.has_more, Some(true));
    let next = first.links.unwrap().next.unwrap();
    assert!(
        next.starts_with(&server.base_url()) && next.contains("filter%5Btype%5D=ticket"),
        "{next}"
    );
    let second = zd
        .export_search_results()
        .query("status:new")
        .filter_type(ExportSearchResultsFilterType::Ticket)
        .page_size(3)
        .page_after(meta.after_cursor.clone().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&second.results), [6, 1]);
    assert_eq!(second.meta.unwrap().has_more, Some(false));
    // The same cursor for another query is refused.
    let err = zd
        .export_search_results()
        .query("status:open")
        .filter_type(ExportSearchResultsFilterType::Ticket)
        .page_after(meta.after_cursor.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);

    // A sandbox whose cursors expire at once.
    let server = sandbox()
        .tickets(25)
        .export_cursor_ttl(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let path = "/api/v2/search/export.json?query=status%3Anew&filter[type]=ticket&page[size]=3";
    let (status, _, first) = get_raw(&server, path).await;
    assert_eq!(status, 200);
    let cursor = first["meta"]["after_cursor"].as_str().unwrap().to_string();
    let (status, _, body) = get_raw(
        &server,
        &format!("{path}&page[after]={}", urlencode(&cursor)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "InvalidPaginationParameter");
    assert_eq!(body["errors"][0]["title"], "page[after] is not valid");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
