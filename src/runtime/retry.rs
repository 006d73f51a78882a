//! When to send a request again, and how long to wait first.
//!
//! The decision is a pure function, `decide`, tested without a server; the
//! retry loop in `send` applies it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How a client retries failed requests.
///
/// Requests that may be sent twice (GET, HEAD, PUT, DELETE, OPTIONS, and
/// what the spec marks `x-specbound-idempotent`) are retried on connection
/// errors, timeouts and 500/502/503/504, as Graph's and Zendesk's guidance
/// allows for reads; every request is retried on 429 and on a connection
/// that could not be opened (nothing reached the server). A POST is never
/// sent twice after the server may have acted on it. `Retry-After` on 429
/// and 503 wins over the computed backoff (capped at a day), and every wait
/// counts against [`max_wait`](Self::max_wait) and the client's deadline.
///
/// ```
/// use std::time::Duration;
/// use specbound::runtime::RetryPolicy;
/// let policy = RetryPolicy::standard()
///     .max_attempts(5)
///     .max_wait(Duration::from_secs(120));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_wait: Duration,
}

impl RetryPolicy {
    /// Up to 3 attempts, backoff from 250 ms doubling to at most 10 s, and at
    /// most 60 s spent waiting in all.
    pub fn standard() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_wait: Duration::from_secs(60),
        }
    }

    /// One attempt, no retries.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::standard()
        }
    }

    /// Never waits: a call that would have to wait (a 429 or 503 to retry,
    /// a rate limiter's slot) ends at once with
    /// [`Error::RateLimited`](crate::Error::RateLimited) carrying the wait
    /// it would have slept, for a caller that schedules its own retries.
    /// A `Retry-After: 0` is still retried at once.
    ///
    /// ```
    /// use specbound::runtime::RetryPolicy;
    /// let policy = RetryPolicy::fail_fast();
    /// assert!(policy.wait_budget().is_zero());
    /// ```
    pub fn fail_fast() -> Self {
        Self::standard().max_wait(Duration::ZERO)
    }

    /// Total attempts, the first one included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Backoff before the first retry; it doubles each time.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Upper bound of one computed backoff (not of `Retry-After`).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Budget for all waits of one call. A `Retry-After` that would exceed
    /// it ends the call at once with [`Error::RateLimited`](crate::Error::RateLimited).
    pub fn max_wait(mut self, budget: Duration) -> Self {
        self.max_wait = budget;
        self
    }

    /// The budget for all waits of one call.
    pub fn wait_budget(&self) -> Duration {
        self.max_wait
    }

    /// Backoff before retry number `retry` (1-based), before jitter.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

/// What happened to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered.
    Status(StatusCode),
    /// No connection could be made: the request never reached the server.
    ConnectFailed,
    /// The connection failed or timed out after the request may have been sent.
    Interrupted,
}

/// Whether an outcome is worth another attempt: an API's retry classifier
/// says it, the policy decides how long to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Keep the result.
    Final,
    /// Retry, whatever the method (nothing was done by the server).
    Always {
        /// Wait as long as `Retry-After` says.
        honour_retry_after: bool,
    },
    /// Retry only a request that may be sent twice.
    IfIdempotent {
        /// Wait as long as `Retry-After` says.
        honour_retry_after: bool,
    },
}

/// An API's retry classifier.
pub(crate) type Classify = fn(Outcome) -> Class;

/// The classifier every API starts from: 429 and failed connections for
/// every request (nothing reached the handler); 500, 502, 503, 504 and
/// interrupted connections only for requests that may be sent twice;
/// `Retry-After` counts on 429 and 503.
pub(crate) fn standard(outcome: Outcome) -> Class {
    match outcome {
        Outcome::ConnectFailed => Class::Always {
            honour_retry_after: false,
        },
        Outcome::Interrupted => Class::IfIdempotent {
            honour_retry_after: false,
        },
        Outcome::Status(StatusCode::TOO_MANY_REQUESTS) => Class::Always {
            honour_retry_after: true,
        },
        Outcome::Status(StatusCode::SERVICE_UNAVAILABLE) => Class::IfIdempotent {
            honour_retry_after: true,
        },
        Outcome::Status(
            StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT,
        ) => Class::IfIdempotent {
            honour_retry_after: false,
        },
        Outcome::Status(_) => Class::Final,
    }
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Keep the result.
    Done,
    /// Wait this long, then send again.
    Retry(Duration),
    /// Retrying would be right but the attempts or the wait budget are
    /// spent; the wait that was refused, when the budget refused it.
    GiveUp(Option<Duration>),
}

/// Decides about attempt number `attempt` (1-based) of class `class`.
/// `waited` is the time already spent waiting in this call; `jitter` is a
/// number in `[0, 1)`.
pub(crate) fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    class: Class,
    retry_after: Option<Duration>,
    idempotent: bool,
    waited: Duration,
    jitter: f64,
) -> Decision {
    let (retryable, honours_retry_after) = match class {
        Class::Final => (false, false),
        Class::Always { honour_retry_after } => (true, honour_retry_after),
        Class::IfIdempotent { honour_retry_after } => (idempotent, honour_retry_after),
    };
    if !retryable {
        return Decision::Done;
    }
    if attempt >= policy.max_attempts {
        return Decision::GiveUp(None);
    }
    let wait = match retry_after.filter(|_| honours_retry_after) {
        Some(asked) => asked,
        None => {
            // Equal jitter: half fixed, half random, so waits stay spread
            // out but never collapse to zero.
            let base = policy.backoff(attempt);
            base / 2 + base.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
        }
    };
    if waited.saturating_add(wait) > policy.max_wait {
        return Decision::GiveUp(Some(wait));
    }
    Decision::Retry(wait)
}

/// Whether `method` may be sent twice without changing the outcome (the
/// rule codegen applies to operations the spec does not mark).
pub(crate) fn is_idempotent(method: &http::Method) -> bool {
    use http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}

/// The longest `Retry-After` taken as said; longer ones are cut to it.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After` as a duration: seconds (fractions allowed, as Graph sends)
/// or an HTTP date, at most [`MAX_RETRY_AFTER`]. Negative, not-a-number
/// and unreadable values are ignored; nothing a server sends can panic.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(
            Duration::try_from_secs_f64(secs).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER)),
        );
    }
    let when = http_date(value)?;
    let delta = when.signed_duration_since(chrono::Utc::now());
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// An HTTP date in any of the three forms HTTP allows (RFC 9110 section
/// 5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, read as RFC 2822),
/// the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`).
fn http_date(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(when) = chrono::DateTime::parse_from_rfc2822(value) {
        return Some(when.with_timezone(&chrono::Utc));
    }
    let (naive, two_digit_year) =
        match chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT") {
            Ok(n) => (n, true),
            Err(_) => (
                chrono::NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y").ok()?,
                false,
            ),
        };
    let when = naive.and_utc();
    // RFC 9110: a two-digit year more than 50 years ahead is in the past
    // century (chrono reads 00-68 as 20xx, 69-99 as 19xx).
    if two_digit_year && when > chrono::Utc::now() + chrono::Duration::days(50 * 365) {
        return when.checked_sub_months(chrono::Months::new(1200));
    }
    Some(when)
}

/// How the runtime waits between attempts. Tests pass a recorder, so no test
/// sleeps for real.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use specbound::runtime::Sleep;
/// let waits = Arc::new(Mutex::new(Vec::<Duration>::new()));
/// let record = waits.clone();
/// let sleep = Sleep::new(move |d| {
///     record.lock().unwrap().push(d);
///     Box::pin(async {})
/// });
/// # let _ = sleep;
/// ```
#[derive(Clone)]
pub struct Sleep(Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>);

impl Sleep {
    /// Sleeps on tokio's timer.
    pub fn tokio() -> Self {
        Sleep::new(|d| Box::pin(tokio::time::sleep(d)))
    }

    /// Waits with `f`.
    pub fn new(f: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        Sleep(Arc::new(f))
    }

    /// Waits for `duration`.
    pub fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (self.0)(duration)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sleep")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `decide` with the standard classifier.
    fn decide(
        p: &RetryPolicy,
        attempt: u32,
        outcome: Outcome,
        retry_after: Option<Duration>,
        idempotent: bool,
        waited: Duration,
        jitter: f64,
    ) -> Decision {
        super::decide(
            p,
            attempt,
            standard(outcome),
            retry_after,
            idempotent,
            waited,
            jitter,
        )
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const BUSY: StatusCode = StatusCode::TOO_MANY_REQUESTS;
    const DOWN: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

    #[test]
    fn retry_after_is_honoured_inside_the_wait_budget() {
        let p = RetryPolicy::standard().max_wait(secs(30));
        let busy = Outcome::Status(BUSY);
        assert_eq!(
            decide(&p, 1, busy, Some(secs(7)), true, secs(0), 0.5),
            Decision::Retry(secs(7))
        );
        assert_eq!(
            decide(&p, 1, busy, Some(secs(90)), true, secs(0), 0.5),
            Decision::GiveUp(Some(secs(90)))
        );
        assert_eq!(
            decide(&p, 2, busy, Some(secs(7)), true, secs(25), 0.5),
            Decision::GiveUp(Some(secs(7)))
        );
    }

    #[test]
    fn post_is_retried_only_when_nothing_reached_the_server() {
        let p = RetryPolicy::standard();
        assert_eq!(
            decide(&p, 1, Outcome::Status(DOWN), None, false, secs(0), 0.0),
            Decision::Done
        );
        assert_eq!(
            decide(&p, 1, Outcome::Interrupted, None, false, secs(0), 0.0),
            Decision::Done
        );
        assert!(matches!(
            decide(&p, 1, Outcome::ConnectFailed, None, false, secs(0), 0.0),
            Decision::Retry(_)
        ));
        assert!(matches!(
            decide(&p, 1, Outcome::Status(BUSY), None, false, secs(0), 0.0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn server_errors_retry_idempotent_requests_and_other_statuses_never() {
        let p = RetryPolicy::standard();
        for s in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            DOWN,
            StatusCode::GATEWAY_TIMEOUT,
        ] {
            assert!(matches!(
                decide(&p, 1, Outcome::Status(s), None, true, secs(0), 0.0),
                Decision::Retry(_)
            ));
        }
        for s in [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_IMPLEMENTED,
            StatusCode::UNAUTHORIZED,
        ] {
            assert_eq!(
                decide(&p, 1, Outcome::Status(s), None, true, secs(0), 0.0),
                Decision::Done
            );
        }
    }

    #[test]
    fn backoff_doubles_with_equal_jitter_and_is_capped() {
        let p = RetryPolicy::standard()
            .max_attempts(10)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(500));
        let wait = |attempt, jitter| match decide(
            &p,
            attempt,
            Outcome::Status(DOWN),
            None,
            true,
            secs(0),
            jitter,
        ) {
            Decision::Retry(d) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(1, 0.0), Duration::from_millis(50));
        assert_eq!(wait(1, 1.0), Duration::from_millis(100));
        assert_eq!(wait(2, 0.0), Duration::from_millis(100));
        assert_eq!(wait(3, 0.5), Duration::from_millis(300));
        assert_eq!(wait(9, 1.0), Duration::from_millis(500));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::standard().max_attempts(2);
        assert!(matches!(
            decide(&p, 1, Outcome::ConnectFailed, None, true, secs(0), 0.0),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide(&p, 2, Outcome::ConnectFailed, None, true, secs(0), 0.0),
            Decision::GiveUp(None)
        );
        assert_eq!(
            decide(
                &RetryPolicy::disabled(),
                1,
                Outcome::Status(BUSY),
                None,
                true,
                secs(0),
                0.0
            ),
            Decision::GiveUp(None)
        );
    }

    #[test]
    fn fail_fast_refuses_every_wait_and_says_how_long_it_would_have_been() {
        let p = RetryPolicy::fail_fast();
        let busy = Outcome::Status(BUSY);
        assert_eq!(
            decide(&p, 1, busy, Some(secs(10)), true, secs(0), 0.5),
            Decision::GiveUp(Some(secs(10)))
        );
        // Without Retry-After the refused wait is the computed backoff.
        assert_eq!(
            decide(&p, 1, busy, None, true, secs(0), 0.0),
            Decision::GiveUp(Some(Duration::from_millis(125)))
        );
        assert_eq!(
            decide(&p, 1, busy, Some(Duration::ZERO), true, secs(0), 0.0),
            Decision::Retry(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_reads_seconds_fractions_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "93".parse().unwrap());
        assert_eq!(retry_after(&h), Some(secs(93)));
        h.insert(RETRY_AFTER, "2.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(2500)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retry_after_reads_every_http_date_form() {
        let mut h = HeaderMap::new();
        let later = chrono::Utc::now() + chrono::Duration::seconds(120);
        for form in [
            "%a, %d %b %Y %H:%M:%S GMT",
            "%A, %d-%b-%y %H:%M:%S GMT",
            "%a %b %e %H:%M:%S %Y",
        ] {
            h.insert(RETRY_AFTER, later.format(form).to_string().parse().unwrap());
            let wait = retry_after(&h).unwrap_or_else(|| panic!("{form}"));
            assert!(wait > secs(110) && wait <= secs(120), "{form}: {wait:?}");
        }
        // Past dates (RFC 850 two-digit year, asctime) mean now.
        for past in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            h.insert(RETRY_AFTER, past.parse().unwrap());
            assert_eq!(retry_after(&h), Some(Duration::ZERO), "{past}");
        }
    }

    #[test]
    fn hostile_retry_after_values_are_ignored_or_capped_never_a_panic() {
        let mut h = HeaderMap::new();
        for (raw, want) in [
            ("1e20", Some(MAX_RETRY_AFTER)),
            ("18446744073709551616", Some(MAX_RETRY_AFTER)),
            ("-5", None),
            ("NaN", None),
            ("inf", Some(MAX_RETRY_AFTER)),
            ("-inf", None),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(MAX_RETRY_AFTER)),
            ("", None),
        ] {
            h.insert(RETRY_AFTER, raw.parse().unwrap());
            assert_eq!(retry_after(&h), want, "{raw}");
        }
        // Not even text.
        h.insert(
            RETRY_AFTER,
            http::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(retry_after(&h), None);
        // A capped wait still ends a call whose budget it passes.
        let p = RetryPolicy::standard();
        assert_eq!(
            decide(
                &p,
                1,
                Outcome::Status(BUSY),
                Some(MAX_RETRY_AFTER),
                true,
                secs(0),
                0.0
            ),
            Decision::GiveUp(Some(MAX_RETRY_AFTER))
        );
    }
}
