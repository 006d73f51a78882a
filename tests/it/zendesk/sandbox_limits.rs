//! Rate limits against the sandbox: Zendesk's headers on every answer, 429
//! with and without `Retry-After` (from the account window and from
//! injected faults), and what the client does with each.

use std::sync::Arc;
use std::time::Duration;

use specbound::sandbox::Fault;
use specbound::zendesk::prelude::*;

use specbound::zendesk::RateLimit;

use super::sandbox_setup::{agent, agent_in_time, agent_keeping, get_raw, sandbox};

#[tokio::test]
async fn every_answer_carries_the_rate_limit_headers_and_a_request_id() {
    let server = sandbox()
        .tickets(3)
        .endpoint_rate_limit("list_tickets", 100)
        .start()
        .await
        .unwrap();
    let (_, headers, _) = get_raw(&server, "/api/v2/tickets.json").await;
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(header("x-rate-limit").as_deref(), Some("700"));
    assert_eq!(header("x-rate-limit-remaining").as_deref(), Some("699"));
    assert_eq!(header("ratelimit-limit").as_deref(), Some("700"));
    assert_eq!(header("ratelimit-remaining").as_deref(), Some("699"));
    let reset: u64 = header("ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset), "{reset}");
    let endpoint = header("zendesk-ratelimit-tickets-index").unwrap();
    assert!(
        endpoint.starts_with("total=100; remaining=99; resets="),
        "{endpoint}"
    );
    assert_eq!(header("x-zendesk-request-id").map(|id| id.len()), Some(20));
    let (_, headers, _) = get_raw(&server, "/api/v2/users/me.json").await;
    assert_eq!(
        headers["x-rate-limit-remaining"], "698",
        "the account's window counts every call"
    );
    assert!(
        headers.get("ratelimit-limit").is_none(),
        "only lists carry ratelimit-*"
    );
    assert!(headers.get("zendesk-ratelimit-tickets-index").is_none());
}

#[tokio::test]
async fn past_the_account_limit_a_429_says_how_long_to_wait() {
    let server = sandbox().rate_limit(2).start().await.unwrap();
    let (zd, waits) = agent(&server);
    zd.get_current_user().send().await.unwrap();
    zd.get_current_user().send().await.unwrap();
    let (status, headers, body) = get_raw(&server, "/api/v2/users/me.json").await;
    assert_eq!(status, 429);
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(body["error"], "APIRateLimitExceeded");
    assert_eq!(
        body["description"],
        "Number of allowed API requests per minute exceeded"
    );
    // The client waits as told (recorded, not slept), asks again, and gives
    // up with RateLimited once the window is still full.
    let err = zd.get_current_user().send().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    let specbound::Error::RateLimited {
        retry_after: told, ..
    } = &err
    else {
        unreachable!()
    };
    let told = told.expect("Retry-After was sent");
    assert!(
        told <= Duration::from_secs(60) && told >= Duration::from_secs(1),
        "{told:?}"
    );
    let waited = waits.recorded();
    assert!(
        !waited.is_empty() && waited.iter().all(|w| *w >= Duration::from_secs(1)),
        "{waited:?}"
    );
    server.reset_rate_limits();
    zd.get_current_user().send().await.unwrap();
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_with_backoff() {
    let server = sandbox()
        .rate_limit(1)
        .rate_limit_retry_after(false)
        .start()
        .await
        .unwrap();
    // Nothing kept ahead, so that the client runs into the 429.
    let (zd, waits) = agent_keeping(&server, RateLimit::off());
    zd.get_current_user().send().await.unwrap();
    let (status, headers, body) = get_raw(&server, "/api/v2/users/me.json").await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_none());
    assert_eq!(body["error"], "APIRateLimitExceeded");
    let err = zd.get_current_user().send().await.unwrap_err();
    match &err {
        specbound::Error::RateLimited { retry_after, .. } => assert_eq!(*retry_after, None),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let waited = waits.recorded();
    assert_eq!(waited.len(), 2, "three attempts, two backoffs: {waited:?}");
    assert!(
        waited.iter().all(|w| *w < Duration::from_secs(10)),
        "{waited:?}"
    );
}

#[tokio::test]
async fn injected_429s_with_and_without_retry_after_are_waited_out() {
    let server = sandbox().tickets(1).start().await.unwrap();
    let (zd, waits) = agent(&server);
    server
        .faults()
        .inject(Some("get_ticket"), Fault::RateLimited { retry_after: 7 }, 1);
    let ticket = zd
        .get_ticket()
        .ticket_id(1)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.ticket.and_then(|t| t.id), Some(1));
    assert_eq!(waits.recorded(), [Duration::from_secs(7)]);
    // `Fault::Status(429)` answers 429 without Retry-After.
    server
        .faults()
        .inject(Some("get_ticket"), Fault::Status(429), 1);
    zd.get_ticket().ticket_id(1).send().await.unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 2);
    assert!(
        waited[1] < Duration::from_secs(7),
        "a backoff, not a Retry-After: {waited:?}"
    );
    assert_eq!(
        server
            .operations_served()
            .iter()
            .filter(|op| **op == "get_ticket")
            .count(),
        2,
        "the faults answered before the operation"
    );
}

#[tokio::test]
async fn the_incremental_exports_have_their_own_limit() {
    let server = sandbox()
        .tickets(2)
        .incremental_rate_limit(1)
        .start()
        .await
        .unwrap();
    let (zd, _) = agent(&server);
    zd.incremental_tickets().start_time(0).send().await.unwrap();
    let (status, headers, body) =
        get_raw(&server, "/api/v2/incremental/users.json?start_time=0").await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        body["description"],
        "Number of allowed incremental export API requests per minute exceeded"
    );
    // Other operations are not held back.
    zd.list_tickets().send().await.unwrap();
}

/// How many times the sandbox served `op`.
fn served(server: &specbound::sandbox::zendesk::Zendesk, op: &str) -> usize {
    server
        .operations_served()
        .iter()
        .filter(|o| **o == op)
        .count()
}

#[tokio::test]
async fn the_client_waits_for_the_reset_instead_of_running_into_the_429() {
    // 3 a minute; a tenth kept back rounds up to 1: the third call waits
    // for the window the second answer announced, and no call is refused.
    let server = sandbox().tickets(2).rate_limit(3).start().await.unwrap();
    let (zd, waits) = agent(&server);
    zd.list_tickets().send().await.unwrap();
    zd.list_tickets().send().await.unwrap();
    assert!(waits.recorded().is_empty());
    zd.list_tickets().send().await.unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(
        waited[0] > Duration::from_secs(50) && waited[0] <= Duration::from_secs(60),
        "until the reset the sandbox announced: {waited:?}"
    );
    assert_eq!(served(&server, "list_tickets"), 3, "one attempt each");
}

#[tokio::test]
async fn a_wait_past_the_budget_ends_the_call_before_sending() {
    let server = sandbox().tickets(2).rate_limit(2).start().await.unwrap();
    let keep = RateLimit::headroom(0.0).budget(Duration::from_secs(5));
    let (zd, waits) = agent_keeping(&server, keep);
    zd.list_tickets().send().await.unwrap();
    zd.list_tickets().send().await.unwrap();
    let err = zd.list_tickets().send().await.unwrap_err();
    let specbound::Error::RateLimited {
        retry_after,
        code,
        answer,
        ..
    } = &err
    else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(code.as_deref(), Some("client_headroom"));
    assert!(answer.is_none(), "the client's own refusal");
    let wait = retry_after.expect("the wait refused");
    assert!(wait > Duration::from_secs(5), "{wait:?}");
    assert!(waits.recorded().is_empty());
    assert_eq!(served(&server, "list_tickets"), 2, "nothing sent");
    // Fail-fast refuses any wait the same way.
    let (zd, _) = agent_keeping(&server, RateLimit::headroom(0.0).fail_fast());
    zd.list_tickets().send().await.unwrap_err();
}

#[tokio::test]
async fn the_incremental_exports_declared_limit_is_kept_without_a_429() {
    // The spec declares 10 a minute for the incremental exports together.
    let server = sandbox()
        .tickets(2)
        .incremental_rate_limit(10)
        .start()
        .await
        .map(Arc::new)
        .unwrap();
    let (zd, waits) = agent_in_time(&server, RateLimit::headroom(0.0));
    for i in 0..10 {
        if i % 2 == 0 {
            zd.incremental_tickets().start_time(0).send().await.unwrap();
        } else {
            zd.incremental_users().start_time(0).send().await.unwrap();
        }
    }
    assert!(waits.recorded().is_empty());
    zd.incremental_organizations()
        .start_time(0)
        .send()
        .await
        .unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(waited[0] > Duration::from_secs(55), "{waited:?}");
    assert_eq!(served(&server, "incremental_organizations"), 1);
    // Other operations are not held back.
    zd.list_tickets().send().await.unwrap();
    assert_eq!(waits.recorded().len(), 1);
}

#[tokio::test]
async fn an_endpoint_bucket_named_in_the_headers_is_kept_for_its_operation() {
    let server = sandbox()
        .tickets(2)
        .endpoint_rate_limit("list_tickets", 2)
        .start()
        .await
        .map(Arc::new)
        .unwrap();
    let (zd, waits) = agent_in_time(&server, RateLimit::headroom(0.0));
    zd.list_tickets().send().await.unwrap();
    zd.list_tickets().send().await.unwrap();
    // `zendesk-ratelimit-tickets-index: total=2; remaining=0; ...`
    zd.get_current_user().send().await.unwrap();
    assert!(waits.recorded().is_empty(), "other operations go");
    zd.list_tickets().send().await.unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(waited[0] > Duration::from_secs(50), "{waited:?}");
    assert_eq!(served(&server, "list_tickets"), 3, "one attempt each");
}

#[tokio::test]
async fn ticket_updates_are_kept_to_thirty_per_ticket_in_ten_minutes() {
    // Zendesk's limit per user and ticket, declared in the spec: the 31st
    // update of one ticket waits for the first to leave the window, while
    // another ticket's update goes at once.
    let server = sandbox().tickets(2).start().await.unwrap();
    let keep = RateLimit::headroom(0.0).budget(Duration::from_secs(900));
    let (zd, waits) = agent_keeping(&server, keep);
    let update = |id: i64, n: usize| {
        let body: specbound::zendesk::types::TicketRequest = serde_json::from_value(
            serde_json::json!({"ticket": {"comment": {"body": format!("update {n}"), "public": false}}}),
        )
        .unwrap();
        zd.update_ticket().ticket_id(id).body(body).send()
    };
    for n in 0..30 {
        update(1, n).await.unwrap();
    }
    assert!(waits.recorded().is_empty());
    update(2, 0).await.unwrap();
    assert!(waits.recorded().is_empty(), "another ticket goes at once");
    update(1, 30).await.unwrap();
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "{waited:?}");
    assert!(
        waited[0] > Duration::from_secs(590) && waited[0] <= Duration::from_secs(600),
        "{waited:?}"
    );
    assert_eq!(served(&server, "update_ticket"), 32);
}
