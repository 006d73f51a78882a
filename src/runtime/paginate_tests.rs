//! The pagination contract on the wire, for the styles no API of today
//! uses all of (Zendesk's cursors, Graph's `$top` and delta links come
//! next): cursors sent back in their parameter until `has_more` is false,
//! a limit that asks for exactly what is left, the resume token of the last
//! page, the page-level stream, and streams that can be spawned.

use futures::{StreamExt as _, TryStreamExt as _};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::paginate::{Page, PageStream, Paginated};
use super::spec::{ApiSpec, Operation, PageStyle, Pagination};
use super::{ApiProfile, Config, Runtime};

#[derive(serde::Deserialize, Debug)]
struct TicketsPage {
    tickets: Vec<u32>,
    #[serde(default)]
    users: Vec<String>,
}

impl Page for TicketsPage {
    type Item = u32;
    fn take_items(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.tickets)
    }
}

static OPERATIONS: &[Operation] = &[
    Operation {
        pagination: Some(Pagination {
            next: &["meta", "after_cursor"],
            has_more: &["meta", "has_more"],
            cursor_param: Some("page[after]"),
            size_param: Some("page[size]"),
            max_size: Some(100),
            ..Pagination::for_tests(PageStyle::Cursor, "tickets")
        }),
        ..Operation::get_for_tests("list_tickets", "/tickets")
    },
    Operation {
        pagination: Some(Pagination {
            next: &["@odata.nextLink"],
            size_param: Some("$top"),
            max_size: Some(999),
            resume: &["@odata.deltaLink"],
            ..Pagination::for_tests(PageStyle::NextLink, "tickets")
        }),
        ..Operation::get_for_tests("list_messages_delta", "/messages/delta")
    },
];

static SPEC: ApiSpec = ApiSpec::for_tests("paging", OPERATIONS, &[]);

static PROFILE: ApiProfile = ApiProfile::for_tests(&SPEC);

fn first(server: &MockServer, route: &str) -> (Runtime, reqwest::Request) {
    let rt = Runtime::new(&PROFILE, &server.uri(), &Config::default()).unwrap();
    let url = format!("{}{route}", server.uri()).parse().unwrap();
    (rt, reqwest::Request::new(reqwest::Method::GET, url))
}

#[tokio::test]
async fn cursors_are_sent_back_until_has_more_is_false_and_a_limit_asks_for_what_is_left() {
    let server = MockServer::start().await;
    let page = |items: &[u32], after: &str, more: bool| {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tickets": items, "users": ["side-loaded"],
            "meta": {"has_more": more, "after_cursor": after},
        }))
    };
    Mock::given(method("GET"))
        .and(path("/tickets"))
        .and(query_param("page[size]", "5"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(page(&[1, 2, 3, 4, 5], "c1", true))
        .expect(1)
        .mount(&server)
        .await;
    // Seven wanted, five read: the second page asks for two.
    Mock::given(method("GET"))
        .and(path("/tickets"))
        .and(query_param("page[after]", "c1"))
        .and(query_param("page[size]", "2"))
        .respond_with(page(&[6, 7], "c2", true))
        .expect(1)
        .mount(&server)
        .await;
    let (rt, mut request) = first(&server, "/tickets");
    request
        .url_mut()
        .query_pairs_mut()
        .append_pair("page[size]", "5");
    let stream: Paginated<TicketsPage> =
        Paginated::start(rt, request, &OPERATIONS[0], Default::default()).limit(7);
    // Streams own what they need: one can be spawned.
    let got: Vec<u32> = tokio::spawn(stream.try_collect()).await.unwrap().unwrap();
    assert_eq!(got, [1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn has_more_false_ends_the_stream_even_with_a_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/tickets"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tickets": [1], "users": ["side-loaded"], "meta": {"has_more": false, "after_cursor": "c9"},
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (rt, request) = first(&server, "/tickets");
    let pages: Vec<TicketsPage> =
        PageStream::start(rt, request, &OPERATIONS[0], Default::default())
            .try_collect()
            .await
            .unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].tickets, [1]);
    assert_eq!(
        pages[0].users,
        ["side-loaded"],
        "the page keeps what it carries beside its items"
    );
}

#[tokio::test]
async fn the_last_page_gives_the_resume_token_and_the_page_stream_sees_every_page() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/messages/delta"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tickets": [1, 2], "@odata.nextLink": format!("{uri}/messages/delta?$skiptoken=a&$top=2"),
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/messages/delta"))
        .and(query_param("$skiptoken", "a"))
        .and(query_param("$top", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tickets": [3], "@odata.deltaLink": format!("{uri}/messages/delta?$deltatoken=z"),
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Three wanted: the next link's $top is lowered to what is left.
    let (rt, request) = first(&server, "/messages/delta");
    let mut stream: Paginated<TicketsPage> = Paginated::start(
        rt.clone(),
        request.try_clone().unwrap(),
        &OPERATIONS[1],
        Default::default(),
    )
    .limit(3);
    let mut got = Vec::new();
    while let Some(item) = stream.try_next().await.unwrap() {
        got.push(item);
    }
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(
        stream.resume_token(),
        Some(format!("{uri}/messages/delta?$deltatoken=z").as_str())
    );
    // The page stream gives the first page whole (its next link, $top=2,
    // is not asked for: only one page is taken).
    let pages: Vec<_> =
        PageStream::<TicketsPage>::start(rt, request, &OPERATIONS[1], Default::default())
            .take(1)
            .collect()
            .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].as_ref().unwrap().tickets, [1, 2]);
}

#[tokio::test]
async fn a_page_that_repeats_the_one_before_under_a_new_cursor_ends_the_stream() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page = |items: &[u32], token: &str| {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tickets": items, "@odata.nextLink": format!("{uri}/messages/delta?$skiptoken={token}"),
        }))
    };
    Mock::given(method("GET"))
        .and(path("/messages/delta"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(page(&[1, 2], "a"))
        .mount(&server)
        .await;
    // A fresh token each time, over the same items: a loop no cursor check sees.
    Mock::given(method("GET"))
        .and(path("/messages/delta"))
        .and(query_param("$skiptoken", "a"))
        .respond_with(page(&[1, 2], "b"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/messages/delta"))
        .and(query_param("$skiptoken", "b"))
        .respond_with(page(&[3], "c"))
        .expect(0)
        .mount(&server)
        .await;
    let (rt, request) = first(&server, "/messages/delta");
    let mut stream: Paginated<TicketsPage> = Paginated::start(
        rt.clone(),
        request.try_clone().unwrap(),
        &OPERATIONS[1],
        Default::default(),
    );
    let mut got = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(item)) => got.push(item),
            Ok(None) => panic!("the stream ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, [1, 2], "the repeated page's items are not yielded");
    match &err {
        crate::Error::Protocol(m) => {
            assert!(
                m.contains("list_messages_delta") && m.contains("repeats"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stream.try_next().await.unwrap(), None);
    // The page stream stops there too.
    let pages: Vec<_> =
        PageStream::<TicketsPage>::start(rt, request, &OPERATIONS[1], Default::default())
            .collect()
            .await;
    assert_eq!(pages.len(), 2);
    assert!(matches!(pages[1], Err(crate::Error::Protocol(_))));
}

/// A Graph-like page: the same `@odata.context` first, `n` messages from
/// `first`, and a next link at the end.
fn large_page(first: usize, n: usize, token: &str) -> Vec<u8> {
    let items: Vec<String> = (first..first + n)
        .map(|i| {
            format!(r#"{{"id":"AAMk{i:08}","subject":"Quarterly report {i}","isRead":false}}"#)
        })
        .collect();
    format!(
        r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('a')/messages","value":[{}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/messages?$skiptoken={token}"}}"#,
        items.join(",")
    )
    .into_bytes()
}

#[test]
fn large_pages_are_told_apart_by_samples_and_a_large_repeat_is_still_found() {
    let paging = Pagination {
        next: &["@odata.nextLink"],
        ..Pagination::for_tests(PageStyle::NextLink, "value")
    };
    let first = large_page(0, 200, "a1");
    // The next page: same envelope head, other items.
    let second = large_page(200, 200, "b22");
    assert!(!super::paginate::repeats(&paging, &first, &second));
    // The same items under a longer token, or a shorter one: a repeat.
    let again = large_page(0, 200, "c333333333333333333333");
    assert!(super::paginate::repeats(&paging, &first, &again));
    assert!(super::paginate::repeats(&paging, &again, &first));
    // One item changed in the middle: not a repeat.
    let mut changed = first.clone();
    let at = changed.len() / 2;
    let digit = changed[at..].iter().position(u8::is_ascii_digit).unwrap() + at;
    changed[digit] = if changed[digit] == b'9' { b'8' } else { b'9' };
    assert!(!super::paginate::repeats(&paging, &first, &changed));
}
