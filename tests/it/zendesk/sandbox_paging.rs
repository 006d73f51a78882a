//! The client against the sandbox's lists: cursor paging and offset paging
//! to the end, the 400 past 10,000 records, side-loads.

use std::collections::BTreeSet;

use specbound::zendesk::prelude::*;

use super::sandbox_setup::{agent, get_raw, sandbox, status_of};

#[tokio::test]
async fn cursor_paging_reaches_every_ticket_and_stops_on_has_more() {
    let server = sandbox().tickets(250).start().await.unwrap();
    let (zd, _) = agent(&server);
    let (mut ids, mut after, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut call = zd.list_tickets().page_size(100);
        if let Some(cursor) = &after {
            call = call.page_after(cursor.clone());
        }
        let page = call.send().await.unwrap().into_inner();
        pages += 1;
        ids.extend(page.tickets.iter().filter_map(|t| t.id));
        let meta = page.meta.expect("a cursor page has meta");
        let links = page.links.expect("and links");
        // Links are absolute URLs on the sandbox, carrying the cursor.
        let next = links.next.expect("links.next, even on the last page");
        assert!(next.starts_with(&server.base_url()), "{next}");
        assert!(next.contains("page%5Bsize%5D=100"), "{next}");
        assert_eq!(page.next_page, None, "no offset envelope on a cursor page");
        if !meta.has_more.unwrap() {
            break;
        }
        after = meta.after_cursor;
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (1..=250).collect::<Vec<i64>>());
    let served = server.operations_served();
    assert_eq!(served.iter().filter(|op| **op == "list_tickets").count(), 3);
}

#[tokio::test]
async fn a_before_cursor_goes_back_a_page_and_a_foreign_cursor_is_refused() {
    let server = sandbox().tickets(30).start().await.unwrap();
    let (zd, _) = agent(&server);
    let first = zd
        .list_tickets()
        .page_size(10)
        .send()
        .await
        .unwrap()
        .into_inner();
    let after = first.meta.unwrap().after_cursor.unwrap();
    let second = zd
        .list_tickets()
        .page_size(10)
        .page_after(after)
        .send()
        .await
        .unwrap()
        .into_inner();
    let second_ids: Vec<i64> = second.tickets.iter().filter_map(|t| t.id).collect();
    assert_eq!(second_ids, (11..=20).collect::<Vec<_>>());
    let before = second.meta.unwrap().before_cursor.unwrap();
    let back = zd
        .list_tickets()
        .page_size(10)
        .page_before(before)
        .send()
        .await
        .unwrap()
        .into_inner();
    let back_ids: Vec<i64> = back.tickets.iter().filter_map(|t| t.id).collect();
    assert_eq!(back_ids, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        back.meta.unwrap().has_more,
        Some(false),
        "nothing before the first page"
    );
    // A cursor of another sort order is not a position in this one.
    let sorted = zd
        .list_tickets()
        .page_size(10)
        .sort("-updated_at")
        .send()
        .await
        .unwrap()
        .into_inner();
    let foreign = sorted.meta.unwrap().after_cursor.unwrap();
    let err = zd
        .list_tickets()
        .page_size(10)
        .page_after(foreign)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    let (status, _, body) = get_raw(&server, "/api/v2/tickets.json?page[size]=101").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "InvalidPaginationParameter");
    assert_eq!(body["errors"][0]["title"], "page[size] is not valid");
}

#[tokio::test]
async fn offset_paging_counts_and_links_pages_to_the_end() {
    let server = sandbox().tickets(250).start().await.unwrap();
    let (zd, _) = agent(&server);
    let mut ids = Vec::new();
    let mut page_number = 1;
    loop {
        let page = zd
            .list_tickets()
            .per_page(100)
            .page(page_number)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.count, Some(250));
        assert!(page.meta.is_none(), "no cursor envelope on an offset page");
        ids.extend(page.tickets.iter().filter_map(|t| t.id));
        let previous = page.previous_page.clone();
        assert_eq!(previous.is_some(), page_number > 1);
        match page.next_page {
            Some(next) => {
                let expected = format!(
                    "{}/api/v2/tickets.json?page={}&per_page=100",
                    server.base_url(),
                    page_number + 1
                );
                assert_eq!(next, expected);
                page_number += 1;
            }
            None => break,
        }
    }
    assert_eq!(page_number, 3);
    assert_eq!(ids, (1..=250).collect::<Vec<i64>>());
}

#[tokio::test]
async fn offset_paging_stops_with_a_400_past_ten_thousand_records() {
    let server = sandbox().tickets(10_050).start().await.unwrap();
    let (zd, _) = agent(&server);
    let last = zd
        .list_tickets()
        .per_page(100)
        .page(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(last.tickets.first().and_then(|t| t.id), Some(9_901));
    assert_eq!(last.tickets.last().and_then(|t| t.id), Some(10_000));
    // Zendesk still links the next page; following it is the 400.
    let next = last.next_page.expect("page 101 is linked");
    assert!(next.contains("page=101"), "{next}");
    let err = zd
        .list_tickets()
        .per_page(100)
        .page(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 400);
    // The `errors: [...]` form is read: its first error's code and words.
    let api = err.api().expect("an answer of the API");
    assert_eq!(api.code.as_deref(), Some("InvalidPaginationDepth"));
    assert!(
        api.message
            .starts_with("Pagination requests using Offset Pagination are limited to page 100")
            && api.message.contains("Please switch to Cursor Pagination"),
        "{}",
        api.message
    );
    let (status, _, body) = get_raw(&server, "/api/v2/tickets.json?page=101&per_page=100").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "InvalidPaginationDepth");
    assert_eq!(
        body["errors"][0]["title"],
        "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)"
    );
    // Cursor paging has no such limit: past the 10,000th record and back.
    let tail = zd
        .list_tickets()
        .page_size(100)
        .sort("-id")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<i64> = tail.tickets.iter().filter_map(|t| t.id).collect();
    assert_eq!(ids, (9_951..=10_050).rev().collect::<Vec<_>>());
    let older = zd
        .list_tickets()
        .page_size(100)
        .sort("-id")
        .page_after(tail.meta.unwrap().after_cursor.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(older.tickets.first().and_then(|t| t.id), Some(9_950));
}

#[tokio::test]
async fn users_and_organizations_page_both_ways_too() {
    let server = sandbox().users(30).organizations(12).start().await.unwrap();
    let (zd, _) = agent(&server);
    let cursor = zd
        .list_users()
        .page_size(20)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cursor.users.len(), 20);
    let rest = zd
        .list_users()
        .page_size(20)
        .page_after(cursor.meta.unwrap().after_cursor.unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.users.len(), 11, "30 end users and the admin");
    assert_eq!(rest.meta.unwrap().has_more, Some(false));
    let offset = zd
        .list_organizations()
        .per_page(5)
        .page(3)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(offset.organizations.len(), 2);
    assert_eq!(offset.count, Some(12));
    assert_eq!(offset.next_page, None);
}

#[tokio::test]
async fn tickets_side_load_their_users_organizations_and_groups() {
    let server = sandbox()
        .users(4)
        .organizations(2)
        .tickets(8)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    let page = zd
        .list_tickets()
        .page_size(8)
        .include("users,organizations,groups")
        .send()
        .await
        .unwrap()
        .into_inner();
    let wanted_users: BTreeSet<i64> = page
        .tickets
        .iter()
        .flat_map(|t| [t.requester_id, t.submitter_id, t.assignee_id])
        .flatten()
        .collect();
    let users: BTreeSet<i64> = page.users.iter().filter_map(|u| u.id).collect();
    assert_eq!(users, wanted_users);
    let orgs: BTreeSet<i64> = page.organizations.iter().filter_map(|o| o.id).collect();
    let wanted_orgs: BTreeSet<i64> = page
        .tickets
        .iter()
        .filter_map(|t| t.organization_id)
        .collect();
    assert_eq!(orgs, wanted_orgs);
    assert_eq!(orgs.len(), 2);
    assert_eq!(page.groups.len(), 1);
    assert_eq!(page.groups[0].name.as_deref(), Some("Support"));
    // Without include, nothing is side-loaded.
    let plain = zd
        .list_tickets()
        .page_size(8)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(plain.users.is_empty() && plain.organizations.is_empty() && plain.groups.is_empty());
    let one = zd
        .get_ticket()
        .ticket_id(3)
        .include("users")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.ticket.and_then(|t| t.id), Some(3));
    assert!(!one.users.is_empty());
}
