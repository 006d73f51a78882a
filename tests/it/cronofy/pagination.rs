//! Pagination: `next_page` links followed one page at a time, prefetch,
//! the end of a list, foreign hosts, repeats, resuming.
use super::*;

// ------------------------------------------------------------------ pagination

/// The token of events_read_page1.json's `next_page`, and one for page 3.
const PAGE_2: &str = "08a07b034306679e";
const PAGE_3: &str = "7f1c2e3d4b5a6978";

/// `body` with its `pages` object replaced.
fn paged(body: &Value, current: i64, total: i64, next_page: Option<String>) -> Value {
    let mut body = body.clone();
    body["pages"] = match next_page {
        Some(next) => json!({"current": current, "total": total, "next_page": next}),
        None => json!({"current": current, "total": total}),
    };
    body
}

fn page_url(server: &MockServer, list: &str, token: &str) -> String {
    format!("{}/v1/{list}/pages/{token}", server.uri())
}

/// Three pages of events: events_read_page1.json, then pycronofy's two pages
/// (events_read_pages_pycronofy.json) as pages 2 and 3, the last one ending
/// with `"next_page": ""` as pycronofy's test data does.
fn three_event_pages(server: &MockServer) -> [Value; 3] {
    let first = Fixture::load("cronofy/events_read_page1.json");
    let pycronofy = Fixture::load("cronofy/events_read_pages_pycronofy.json");
    [
        paged(first.body(), 1, 3, Some(page_url(server, "events", PAGE_2))),
        paged(
            &pycronofy.body()[0],
            2,
            3,
            Some(page_url(server, "events", PAGE_3)),
        ),
        paged(&pycronofy.body()[1], 3, 3, Some(String::new())),
    ]
}

async fn mount_pages(
    server: &MockServer,
    list: &str,
    first: &str,
    pages: &[(Option<&str>, &Value)],
) {
    for (token, body) in pages {
        let route = match token {
            None => first.to_string(),
            Some(t) => format!("/v1/{list}/pages/{t}"),
        };
        let page = ResponseTemplate::new(200).set_body_json(body);
        on("GET", &route, Some(ACCESS))
            .answer_once(page, server)
            .await;
    }
}

#[tokio::test]
async fn read_events_follows_next_page_through_three_pages_one_page_at_a_time() {
    let (server, cronofy) = mock_cronofy().await;
    let pages = three_event_pages(&server);
    mount_pages(
        &server,
        "events",
        "/v1/events",
        &[
            (None, &pages[0]),
            (Some(PAGE_2), &pages[1]),
            (Some(PAGE_3), &pages[2]),
        ],
    )
    .await;
    let since = chrono::DateTime::parse_from_rfc3339("2014-09-01T08:00:00Z")
        .unwrap()
        .to_utc();

    let mut events = cronofy
        .read_events()
        .from(date("2014-09-01"))
        .to(chrono::NaiveDate::from_ymd_opt(2014, 10, 31).unwrap())
        .tzid("Europe/London")
        .last_modified(since)
        .calendar_ids(vec![
            "cal_n23kjnwrw2_jsdfjksn234".to_string(),
            "cal_U9uuErStTG@EAAAB_IsAsykA2DBTWqQTf-f0kJw".to_string(),
        ])
        .include_managed(true)
        .include_deleted(false)
        .include_moved(true)
        .only_managed(false)
        .localized_times(false)
        .include_geo(true)
        .google_event_ids(false)
        .stream();
    assert_eq!(
        request_count(&server).await,
        0,
        "nothing sent before polling"
    );
    assert!(events.current_page().is_none());

    let mut uids = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let event = events.try_next().await.unwrap().expect("an event");
        assert_eq!(
            request_count(&server).await,
            n + 1,
            "page {} read ahead",
            n + 2
        );
        let current = &events.current_page().unwrap().pages;
        assert_eq!(current.current, n as i64 + 1);
        assert_eq!(current.total, 3);
        assert_eq!(
            current.next_page.as_deref(),
            page["pages"]["next_page"].as_str()
        );
        assert!(
            events.current_page().unwrap().events.is_empty(),
            "the items are taken out of the page shown"
        );
        assert_eq!(&events.json().unwrap().unwrap(), page);
        assert_keeps(&event, &page["events"][0]);
        uids.push(event.event_uid.unwrap());
    }
    assert!(events.try_next().await.unwrap().is_none());
    assert!(events.try_next().await.unwrap().is_none());

    assert_eq!(
        uids,
        [
            "evt_external_54008b1a4a41730f8d5c6037",
            "evt_external_54008b1a4a41730f8d5c6037",
            "evt_external_64008b1a4a41730f8d5c6057"
        ]
    );
    assert_eq!(request_count(&server).await, 3);
    assert_eq!(
        sent_query(&server, 0).await,
        pairs(&[
            ("calendar_ids[]", "cal_n23kjnwrw2_jsdfjksn234"),
            (
                "calendar_ids[]",
                "cal_U9uuErStTG@EAAAB_IsAsykA2DBTWqQTf-f0kJw"
            ),
            ("from", "2014-09-01"),
            ("google_event_ids", "false"),
            ("include_deleted", "false"),
            ("include_geo", "true"),
            ("include_managed", "true"),
            ("include_moved", "true"),
            ("last_modified", "2014-09-01T08:00:00Z"),
            ("localized_times", "false"),
            ("only_managed", "false"),
            ("to", "2014-10-31"),
            ("tzid", "Europe/London"),
        ])
    );
    let requests = received(&server).await;
    // Rails-style repeats, percent-encoded.
    assert!(
        requests[0].url.query().unwrap().starts_with(
            "calendar_ids%5B%5D=cal_n23kjnwrw2_jsdfjksn234&calendar_ids%5B%5D=cal_U9uuErStTG%40"
        ),
        "{}",
        requests[0].url
    );
    for page in &requests[1..] {
        assert_eq!(page.url.query(), None, "the page token carries the query");
    }
}

/// `body` as Cronofy writes it: `pages` first, then the rest in key order
/// (serde_json's own `Value` would sort `events` before `pages`).
fn pages_first(body: &Value) -> String {
    let mut rest = body.as_object().unwrap().clone();
    let pages = rest.remove("pages").unwrap();
    let rest = serde_json::to_string(&rest).unwrap();
    format!(r#"{{"pages":{pages},{}"#, &rest[1..])
}

#[tokio::test]
async fn with_prefetch_the_next_page_is_requested_before_this_one_is_read() {
    let (server, cronofy) = mock_cronofy().await;
    let pages = three_event_pages(&server);
    // Pages 1 and 3 have `pages` first (the next link is read before the
    // events are decoded), page 2 has it last (the page is decoded to find it).
    // Each request the server answers is counted on a watch channel.
    let (counted, mut count) = tokio::sync::watch::channel(0usize);
    let counted = Arc::new(counted);
    for (route, body) in [
        ("/v1/events".to_string(), pages_first(&pages[0])),
        (format!("/v1/events/pages/{PAGE_2}"), pages[1].to_string()),
        (format!("/v1/events/pages/{PAGE_3}"), pages_first(&pages[2])),
    ] {
        let counted = counted.clone();
        on("GET", &route, Some(ACCESS))
            .respond_with(move |_: &Request| {
                counted.send_modify(|n| *n += 1);
                ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json")
            })
            .expect(1)
            .mount(&server)
            .await;
    }

    let mut events = cronofy
        .read_events()
        .tzid("Etc/UTC")
        .stream()
        .prefetch(true);
    let mut uids = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let event = events.try_next().await.unwrap().expect("an event");
        // The stream is not polled again while this waits: the request
        // reaches the server because it was sent ahead.
        let want = (n + 2).min(3);
        let seen = tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| *c >= want))
            .await
            .unwrap_or_else(|_| panic!("page {} requested while page {} is read", n + 2, n + 1))
            .map(|c| *c)
            .unwrap();
        assert_eq!(seen, want, "no page beyond the next one");
        // What is shown is the page being read, not the one fetched ahead.
        assert_eq!(events.current_page().unwrap().pages.current, n as i64 + 1);
        assert_eq!(&events.json().unwrap().unwrap(), page);
        assert_eq!(
            events.position(),
            Position {
                // The cursor of a next-link list is the link itself.
                cursor: [None, Some(PAGE_2), Some(PAGE_3)][n]
                    .map(|token| page_url(&server, "events", token)),
                skip: 1
            }
        );
        assert_keeps(&event, &page["events"][0]);
        uids.push(event.event_uid.unwrap());
    }
    assert!(events.try_next().await.unwrap().is_none());
    assert_eq!(uids.len(), 3);
    assert_eq!(
        sent_paths(&server).await,
        [
            "/v1/events".to_string(),
            format!("/v1/events/pages/{PAGE_2}"),
            format!("/v1/events/pages/{PAGE_3}")
        ]
    );
}

#[tokio::test]
async fn the_generated_page_operations_decode_the_documented_pages() {
    let (server, cronofy) = mock_cronofy().await;
    let events = example("read_events_page");
    let free_busy = example("read_free_busy_page");
    let periods = example("list_available_periods_page");
    for (route, page) in [
        ("/v1/events/pages/p1", &events),
        ("/v1/free_busy/pages/p2", &free_busy),
        ("/v1/available_periods/pages/p3", &periods),
    ] {
        on("GET", route, Some(ACCESS))
            .answer_once(page.response(), &server)
            .await;
    }
    let page = cronofy
        .read_events_page()
        .page_token("p1")
        .send()
        .await
        .unwrap()
        .into_inner();
    // The docs' event, with today's keys (`status`, not pycronofy's old `event_status`).
    assert_eq!(page.events[0].status.as_deref(), Some("confirmed"));
    assert_eq!(page.events[0].event_status, None);
    assert_eq!(page.pages.next_page, None);
    assert_keeps(&page, events.body());
    let page = cronofy
        .read_free_busy_page()
        .page_token("p2")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.pages.next_page, None);
    assert_keeps(&page, free_busy.body());
    let page = cronofy
        .list_available_periods_page()
        .page_token("p3")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_keeps(&page, periods.body());
}

#[tokio::test]
async fn an_empty_or_absent_next_page_ends_the_stream() {
    for next_page in [Some(String::new()), None] {
        let (server, cronofy) = mock_cronofy().await;
        let first = Fixture::load("cronofy/events_read_page1.json");
        let only = paged(first.body(), 1, 1, next_page.clone());
        mount_pages(&server, "events", "/v1/events", &[(None, &only)]).await;
        let events: Vec<types::Event> = cronofy
            .read_events()
            .tzid("Etc/UTC")
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{next_page:?}");
        assert_eq!(request_count(&server).await, 1);
        assert_eq!(sent_query(&server, 0).await, pairs(&[("tzid", "Etc/UTC")]));
    }
}

#[tokio::test]
async fn a_next_page_on_another_host_ends_with_a_protocol_error_and_is_not_requested() {
    let other = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&other)
        .await;
    let first = Fixture::load("cronofy/events_read_page1.json");
    for next in [
        // Another port on the same machine.
        page_url(&other, "events", PAGE_2),
        // The fixture as recorded: the production host.
        first.body()["pages"]["next_page"]
            .as_str()
            .unwrap()
            .to_string(),
        // Not http at all.
        format!("ftp://127.0.0.1/v1/events/pages/{PAGE_2}"),
    ] {
        let (server, cronofy) = mock_cronofy().await;
        let page = paged(first.body(), 1, 2, Some(next.clone()));
        mount_pages(&server, "events", "/v1/events", &[(None, &page)]).await;
        let results: Vec<specbound::Result<types::Event>> =
            futures::StreamExt::collect(cronofy.read_events().tzid("Etc/UTC").stream()).await;
        match results.last() {
            Some(Err(Error::Protocol(reason))) => {
                assert!(reason.contains("not following it"), "{reason}")
            }
            other => panic!("{next}: {other:?}"),
        }
        assert!(results.len() <= 2, "{next}: nothing after the error");
        assert_eq!(request_count(&server).await, 1, "{next}");
    }
    // A link on the API host that is not a page of this list.
    let (server, cronofy) = mock_cronofy().await;
    let page = paged(
        first.body(),
        1,
        2,
        Some(page_url(&server, "free_busy", PAGE_2)),
    );
    mount_pages(&server, "events", "/v1/events", &[(None, &page)]).await;
    let results: Vec<specbound::Result<types::Event>> =
        futures::StreamExt::collect(cronofy.read_events().tzid("Etc/UTC").stream()).await;
    assert!(
        matches!(results.last(), Some(Err(Error::Protocol(_)))),
        "{results:?}"
    );
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn the_items_of_a_page_whose_next_page_is_on_another_host_are_yielded_before_the_error() {
    let (server, cronofy) = mock_cronofy().await;
    let first = Fixture::load("cronofy/events_read_page1.json");
    // As recorded: next_page on https://api.cronofy.com, not the mock server.
    mount_pages(&server, "events", "/v1/events", &[(None, first.body())]).await;
    let mut events = cronofy.read_events().tzid("Etc/UTC").stream();
    let event = events.try_next().await.unwrap().expect("page 1's event");
    assert_eq!(
        event.event_uid,
        first.body()["events"][0]["event_uid"]
            .as_str()
            .map(String::from)
    );
    assert!(matches!(events.try_next().await, Err(Error::Protocol(_))));
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn a_repeated_next_page_ends_with_a_protocol_error() {
    let (server, cronofy) = mock_cronofy().await;
    let [first, second, _] = three_event_pages(&server);
    // Page 2 points at itself.
    let looping = paged(&second, 2, 3, Some(page_url(&server, "events", PAGE_2)));
    mount_pages(
        &server,
        "events",
        "/v1/events",
        &[(None, &first), (Some(PAGE_2), &looping)],
    )
    .await;
    let mut events = cronofy.read_events().tzid("Etc/UTC").stream();
    assert!(events.try_next().await.unwrap().is_some());
    assert!(events.try_next().await.unwrap().is_some());
    let err = events.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(
        events.try_next().await.unwrap().is_none(),
        "the stream ended"
    );
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn free_busy_follows_its_pages_with_its_own_filters() {
    let (server, cronofy) = mock_cronofy().await;
    let first = Fixture::load("cronofy/free_busy_page1.json");
    let last = example("read_free_busy_page");
    let token = "caa2dca822d5d74d98104489";
    let page1 = paged(
        first.body(),
        1,
        2,
        Some(page_url(&server, "free_busy", token)),
    );
    mount_pages(
        &server,
        "free_busy",
        "/v1/free_busy",
        &[(None, &page1), (Some(token), last.body())],
    )
    .await;

    let mut blocks = cronofy
        .read_free_busy()
        .from(date("2024-12-19"))
        .to(date("2024-12-23"))
        .tzid("Etc/UTC")
        .calendar_ids(vec![
            "cal_U9uuErStTG@EAAAB_IsAsykA2DBTWqQTf-f0kJw".to_string(),
        ])
        .include_managed(true)
        .include_free(true)
        .include_ids(false)
        .include_deleted(false)
        .localized_times(false)
        .stream();
    let mut got = Vec::new();
    while let Some(block) = blocks.try_next().await.unwrap() {
        got.push(block);
    }
    assert_eq!(got.len(), 3);
    assert!(matches!(got[0].start, types::EventTime::UtcDateTime(_)));
    assert!(matches!(got[1].start, types::EventTime::CalendarDate(_)));
    assert_eq!(got[0].free_busy_status.as_deref(), Some("busy"));
    assert_keeps(&got[2], &last.body()["free_busy"][0]);
    assert_eq!(blocks.current_page().unwrap().pages.current, 2);
    assert_eq!(
        sent_query(&server, 0).await,
        pairs(&[
            (
                "calendar_ids[]",
                "cal_U9uuErStTG@EAAAB_IsAsykA2DBTWqQTf-f0kJw"
            ),
            ("from", "2024-12-19"),
            ("include_deleted", "false"),
            ("include_free", "true"),
            ("include_ids", "false"),
            ("include_managed", "true"),
            ("localized_times", "false"),
            ("to", "2024-12-23"),
            ("tzid", "Etc/UTC"),
        ])
    );
    assert_eq!(sent_query(&server, 1).await, []);
}

#[tokio::test]
async fn available_periods_follow_their_pages() {
    let (server, cronofy) = mock_cronofy().await;
    let first = Fixture::load("cronofy/available_periods_read_page1.json");
    let last = example("list_available_periods_page");
    let page1 = paged(
        first.body(),
        1,
        2,
        Some(page_url(&server, "available_periods", PAGE_2)),
    );
    mount_pages(
        &server,
        "available_periods",
        "/v1/available_periods",
        &[(None, &page1), (Some(PAGE_2), last.body())],
    )
    .await;
    let periods: Vec<types::AvailablePeriod> = cronofy
        .list_available_periods()
        .from(date("2025-01-20"))
        .to(date("2025-01-27"))
        .tzid("America/Chicago")
        .localized_times(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(periods.len(), 2);
    assert_keeps(&periods[0], &first.body()["available_periods"][0]);
    assert_keeps(&periods[1], &last.body()["available_periods"][0]);
    assert_eq!(
        sent_query(&server, 0).await,
        pairs(&[
            ("from", "2025-01-20"),
            ("localized_times", "true"),
            ("to", "2025-01-27"),
            ("tzid", "America/Chicago"),
        ])
    );
    assert_eq!(sent_query(&server, 1).await, []);
}

#[tokio::test]
async fn a_stream_resumes_from_a_saved_position_without_reading_earlier_pages_again() {
    let (server, cronofy) = mock_cronofy().await;
    let [first, mut second, third] = three_event_pages(&server);
    // Page 2 holds both of pycronofy's events.
    let pycronofy = Fixture::load("cronofy/events_read_pages_pycronofy.json");
    second["events"]
        .as_array_mut()
        .unwrap()
        .push(pycronofy.body()[1]["events"][0].clone());
    mount_pages(&server, "events", "/v1/events", &[(None, &first)]).await;
    // Page 2 is read again on resuming.
    on("GET", &format!("/v1/events/pages/{PAGE_2}"), Some(ACCESS))
        .respond_with(ResponseTemplate::new(200).set_body_json(&second))
        .expect(2)
        .mount(&server)
        .await;
    mount_pages(&server, "events", "/v1/events", &[(Some(PAGE_3), &third)]).await;

    let mut events = cronofy.read_events().tzid("Europe/London").stream();
    events.try_next().await.unwrap().unwrap();
    events.try_next().await.unwrap().unwrap();
    let saved = serde_json::to_string(&events.position()).unwrap();
    drop(events); // the crash

    let position: Position = serde_json::from_str(&saved).unwrap();
    assert_eq!(
        position,
        Position {
            cursor: Some(page_url(&server, "events", PAGE_2)),
            skip: 1
        }
    );
    let rest: Vec<types::Event> = cronofy
        .read_events()
        .tzid("Europe/London")
        .stream_from(position)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        rest.iter()
            .map(|e| e.summary.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["Company Retreat 2", "Company Retreat 2"]
    );
    assert_eq!(
        sent_paths(&server).await,
        [
            "/v1/events".to_string(),
            format!("/v1/events/pages/{PAGE_2}"),
            format!("/v1/events/pages/{PAGE_2}"),
            format!("/v1/events/pages/{PAGE_3}"),
        ]
    );
}
