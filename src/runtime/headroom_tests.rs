//! The headroom limiter's bookkeeping, at chosen moments (no sleeping).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::*;
use crate::runtime::Admission;
use crate::runtime::spec::{ApiSpec, Operation};

static OPERATIONS: &[Operation] = &[
    Operation::get_for_tests("list_tickets", "/tickets"),
    Operation::get_for_tests("show_user", "/users/me"),
    Operation {
        extensions: &[(
            LIMITS_EXTENSION,
            r#"[{"bucket":"incremental-exports","requests":10,"per":60}]"#,
        )],
        ..Operation::get_for_tests("incremental_tickets", "/incremental/tickets")
    },
    Operation {
        method: "PUT",
        extensions: &[(
            LIMITS_EXTENSION,
            r#"[{"bucket":"ticket-updates","requests":3,"per":600,"key":"ticket_id"}]"#,
        )],
        ..Operation::get_for_tests("update_ticket", "/tickets/{ticket_id}")
    },
];

static SPEC: ApiSpec = ApiSpec {
    extensions: &[(
        HEADERS_EXTENSION,
        r#"{"limit":["x-rate-limit","ratelimit-limit"],"remaining":["x-rate-limit-remaining","ratelimit-remaining"],"reset":["ratelimit-reset"],"window":60,"bucket-prefix":"zendesk-ratelimit-"}"#,
    )],
    ..ApiSpec::for_tests("headroom", OPERATIONS, &[])
};

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

/// The wait a request of `operation` to `path` at `now` is booked for.
fn wait(
    limiter: &HeadroomLimiter,
    operation: &'static str,
    path: &str,
    now: Instant,
    budget: Duration,
) -> Result<Duration> {
    let method = Method::GET;
    let request = Admission {
        operation,
        spec: SPEC.operation(operation),
        method: &method,
        path: Some(path),
        body: None,
    };
    let sleep = crate::runtime::Sleep::new(|_| Box::pin(async {}));
    let pace = Pace {
        request: &request,
        budget,
        now,
        sleep: &sleep,
    };
    let buckets = limiter.buckets_of(&pace);
    limiter.book(&buckets, now, budget)
}

fn go(limiter: &HeadroomLimiter, operation: &'static str, path: &str, now: Instant) -> Duration {
    wait(limiter, operation, path, now, Duration::MAX).unwrap()
}

#[test]
fn the_spec_declarations_are_read_and_malformed_ones_refused() {
    let read = read_spec(&SPEC).unwrap();
    assert_eq!(
        read.headers.bucket_prefix.as_deref(),
        Some("zendesk-ratelimit-")
    );
    assert_eq!(read.declared["incremental_tickets"][0].requests, 10);
    static BAD: &[Operation] = &[Operation {
        extensions: &[(
            LIMITS_EXTENSION,
            r#"[{"bucket":"x","requests":0,"per":60}]"#,
        )],
        ..Operation::get_for_tests("zero", "/zero")
    }];
    let err = read_spec(&ApiSpec::for_tests("bad", BAD, &[])).unwrap_err();
    assert!(err.contains("zero"), "{err}");
    static NO_KEY: &[Operation] = &[Operation {
        extensions: &[(
            LIMITS_EXTENSION,
            r#"[{"bucket":"x","requests":1,"per":60,"key":"id"}]"#,
        )],
        ..Operation::get_for_tests("keyed", "/things")
    }];
    let err = read_spec(&ApiSpec::for_tests("bad", NO_KEY, &[])).unwrap_err();
    assert!(err.contains("no path parameter `id`"), "{err}");
}

#[test]
fn the_account_counter_is_followed_down_to_the_headroom_then_waits_for_the_reset() {
    let limiter = HeadroomLimiter::new(&SPEC).headroom(0.2);
    let t0 = Instant::now();
    // Nothing known yet: requests go.
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), Duration::ZERO);
    // 10 a minute, 4 left, resets in 30 s: 2 more go (the reserve is 2).
    let answer = headers(&[
        ("x-rate-limit", "10"),
        ("x-rate-limit-remaining", "4"),
        ("ratelimit-reset", "30"),
    ]);
    limiter.take_in("show_user", StatusCode::OK, &answer, t0);
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), Duration::ZERO);
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), Duration::ZERO);
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), s(30));
    // Booked at the reset, in the next window: the others go then too.
    assert_eq!(
        go(&limiter, "list_tickets", "/tickets", t0 + s(30)),
        Duration::ZERO
    );
}

#[test]
fn without_headroom_the_last_request_of_the_window_still_goes() {
    let limiter = HeadroomLimiter::new(&SPEC);
    let t0 = Instant::now();
    let answer = headers(&[("ratelimit-limit", "700"), ("ratelimit-remaining", "1")]);
    limiter.take_in("list_tickets", StatusCode::OK, &answer, t0);
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), Duration::ZERO);
    // No reset header: the window is the spec's minute.
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), s(60));
}

#[test]
fn answers_read_out_of_order_keep_the_lowest_count_of_one_window() {
    let limiter = HeadroomLimiter::new(&SPEC).headroom(0.5);
    let t0 = Instant::now();
    let said = |left: &str| {
        headers(&[
            ("x-rate-limit", "10"),
            ("x-rate-limit-remaining", left),
            ("ratelimit-reset", "20"),
        ])
    };
    limiter.take_in("list_tickets", StatusCode::OK, &said("6"), t0);
    limiter.take_in("list_tickets", StatusCode::OK, &said("8"), t0);
    // 6 left, 5 kept back: one goes.
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), Duration::ZERO);
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), s(20));
}

#[test]
fn a_declared_limit_is_kept_in_its_sliding_window_with_headroom() {
    let limiter = HeadroomLimiter::new(&SPEC).headroom(0.2);
    let t0 = Instant::now();
    // 10 a minute, 2 kept back: 8 go at once, the 9th waits for the first
    // to leave the window.
    for _ in 0..8 {
        assert_eq!(
            go(&limiter, "incremental_tickets", "/incremental/tickets", t0),
            Duration::ZERO
        );
    }
    assert_eq!(
        go(
            &limiter,
            "incremental_tickets",
            "/incremental/tickets",
            t0 + s(5)
        ),
        s(55)
    );
    // Other operations are not held back.
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), Duration::ZERO);
}

#[test]
fn a_keyed_limit_is_kept_per_path_value() {
    let limiter = HeadroomLimiter::new(&SPEC);
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(
            go(&limiter, "update_ticket", "/tickets/1", t0),
            Duration::ZERO
        );
    }
    assert_eq!(go(&limiter, "update_ticket", "/tickets/1", t0), s(600));
    assert_eq!(
        go(&limiter, "update_ticket", "/tickets/2", t0),
        Duration::ZERO
    );
}

#[test]
fn a_bucket_named_in_an_answer_is_learned_for_its_operation() {
    let limiter = HeadroomLimiter::new(&SPEC);
    let t0 = Instant::now();
    let answer = headers(&[(
        "zendesk-ratelimit-tickets-index",
        "total=100; remaining=0; resets=41",
    )]);
    limiter.take_in("list_tickets", StatusCode::OK, &answer, t0);
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), s(41));
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), Duration::ZERO);
}

#[test]
fn a_429_holds_back_the_spent_bucket_for_its_retry_after() {
    let t0 = Instant::now();
    // The account still had room: the operation's own bucket is spent.
    let limiter = HeadroomLimiter::new(&SPEC);
    let answer = headers(&[
        ("x-rate-limit", "700"),
        ("x-rate-limit-remaining", "650"),
        ("retry-after", "7"),
    ]);
    limiter.take_in(
        "incremental_tickets",
        StatusCode::TOO_MANY_REQUESTS,
        &answer,
        t0,
    );
    assert_eq!(
        go(&limiter, "incremental_tickets", "/incremental/tickets", t0),
        s(7)
    );
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), Duration::ZERO);
    // Nothing said but Retry-After: the account is spent, for everyone.
    let limiter = HeadroomLimiter::new(&SPEC);
    let answer = headers(&[("retry-after", "9")]);
    limiter.take_in("list_tickets", StatusCode::TOO_MANY_REQUESTS, &answer, t0);
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), s(9));
    // Once past, the unknown limit is forgotten: nothing holds requests back.
    assert_eq!(
        go(&limiter, "show_user", "/users/me", t0 + s(9)),
        Duration::ZERO
    );
    assert_eq!(
        go(&limiter, "show_user", "/users/me", t0 + s(9)),
        Duration::ZERO
    );
}

#[test]
fn a_wait_over_the_budget_is_refused_and_books_nothing() {
    let limiter = HeadroomLimiter::new(&SPEC);
    let t0 = Instant::now();
    let answer = headers(&[
        ("x-rate-limit", "10"),
        ("x-rate-limit-remaining", "0"),
        ("ratelimit-reset", "40"),
    ]);
    limiter.take_in("list_tickets", StatusCode::OK, &answer, t0);
    let err = wait(&limiter, "list_tickets", "/tickets", t0, s(10)).unwrap_err();
    match err {
        Error::RateLimited {
            retry_after, code, ..
        } => {
            assert_eq!(retry_after, Some(s(40)));
            assert_eq!(code.as_deref(), Some("client_headroom"));
        }
        other => panic!("{other:?}"),
    }
    // Fail-fast (no budget) is refused the same way.
    assert!(wait(&limiter, "list_tickets", "/tickets", t0, Duration::ZERO).is_err());
    // Nothing was booked: the whole next window is there.
    for _ in 0..10 {
        assert_eq!(
            go(&limiter, "list_tickets", "/tickets", t0 + s(40)),
            Duration::ZERO
        );
    }
}

#[test]
fn hostile_counters_are_bounded_or_ignored() {
    let limiter = HeadroomLimiter::new(&SPEC);
    let t0 = Instant::now();
    let answer = headers(&[
        ("x-rate-limit", "0"),
        ("x-rate-limit-remaining", "0"),
        (
            "zendesk-ratelimit-a",
            "total=5; remaining=0; resets=99999999999",
        ),
        ("zendesk-ratelimit-b", "total=abc; remaining=-1"),
        ("zendesk-ratelimit-", "total=5; remaining=0; resets=1"),
    ]);
    limiter.take_in("list_tickets", StatusCode::OK, &answer, t0);
    // A limit of zero is no limit; a reset is at most an hour away; an
    // unreadable or unnamed bucket is ignored.
    assert_eq!(go(&limiter, "list_tickets", "/tickets", t0), s(3600));
    assert_eq!(go(&limiter, "show_user", "/users/me", t0), Duration::ZERO);
}

proptest! {
    #[test]
    fn no_header_value_can_panic_the_limiter(
        limit in prop_oneof![".{0,24}", "[0-9]{1,22}"],
        remaining in prop_oneof![".{0,24}", "[0-9]{1,22}"],
        reset in prop_oneof![".{0,24}", "[0-9]{1,22}(\\.[0-9]{1,3})?"],
        bucket in prop_oneof![".{0,64}", "total=[0-9]{1,22}; remaining=[0-9]{1,22}; resets=[0-9]{1,22}"],
        status in prop_oneof![Just(429u16), 100u16..600],
    ) {
        let limiter = HeadroomLimiter::new(&SPEC).headroom(0.3);
        let mut map = HeaderMap::new();
        for (name, value) in [
            ("x-rate-limit", &limit),
            ("x-rate-limit-remaining", &remaining),
            ("ratelimit-reset", &reset),
            ("zendesk-ratelimit-x", &bucket),
            ("retry-after", &reset),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                map.insert(name, v);
            }
        }
        let status = StatusCode::from_u16(status).unwrap();
        let t0 = Instant::now();
        limiter.take_in("list_tickets", status, &map, t0);
        let waited = wait(&limiter, "list_tickets", "/tickets", t0, Duration::MAX).unwrap();
        prop_assert!(waited <= s(3600));
    }
}
