//! Pacing requests before the API has to say 429.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::{Admission, Sleep};

/// One request asking a [`RateLimiter`] for its turn.
#[derive(Debug)]
#[non_exhaustive]
pub struct Pace<'a> {
    /// The request: its operation, path and body.
    pub request: &'a Admission<'a>,
    /// How long the call may still wait (zero with
    /// [`RetryPolicy::fail_fast`](super::RetryPolicy::fail_fast)): a longer
    /// wait ends it with [`Error::RateLimited`](crate::Error::RateLimited).
    pub budget: Duration,
    /// The moment the call has reached: now, or later when the client's
    /// [`Sleep`] does not sleep for real (tests record waits instead) and
    /// the call has waited since its last answer.
    pub now: Instant,
    /// How to wait.
    pub sleep: &'a Sleep,
}

/// Decides when each request may go out. The runtime calls [`acquire`]
/// before every attempt and [`observe`] with every response, each with the
/// operation's id, so a limiter can keep a budget per operation or
/// endpoint and follow the API's own counters (`X-Rate-Limit-Remaining`).
///
/// [`acquire`]: RateLimiter::acquire
/// [`observe`]: RateLimiter::observe
pub trait RateLimiter: fmt::Debug + Send + Sync {
    /// Waits (through `pace.sleep`) until the request may be sent and
    /// returns how long it waited, or fails with
    /// [`Error::RateLimited`](crate::Error::RateLimited) when waiting would
    /// pass the call's or the limiter's budget.
    fn acquire<'a>(&'a self, pace: Pace<'a>) -> BoxFuture<'a, crate::Result<Duration>>;

    /// Sees the status and headers of every response to `operation`.
    fn observe(&self, _operation: &str, _status: StatusCode, _headers: &HeaderMap) {}
}

/// At most one request every `interval`, like zenpy's request interval.
///
/// ```
/// use std::time::Duration;
/// use specbound::runtime::RequestInterval;
/// let limiter = RequestInterval::new(Duration::from_millis(100)); // 10 requests a second
/// # let _ = limiter;
/// ```
#[derive(Debug)]
pub struct RequestInterval {
    interval: Duration,
    budget: Option<Duration>,
    next_slot: Mutex<Option<Instant>>,
}

impl RequestInterval {
    /// Spaces requests `interval` apart.
    pub fn new(interval: Duration) -> Self {
        RequestInterval {
            interval,
            budget: None,
            next_slot: Mutex::new(None),
        }
    }

    /// Refuses a request that would wait longer than `budget` for its slot
    /// (default: it waits as long as it takes).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// How long a request asked for at `now` must wait, booking its slot;
    /// the wait refused (and nothing booked) when it is over this limiter's
    /// budget or the call's.
    fn book(&self, now: Instant, call_budget: Duration) -> Result<Duration, Duration> {
        let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        let wait = slot - now;
        if self.budget.is_some_and(|b| wait > b) || wait > call_budget {
            return Err(wait);
        }
        *next = Some(slot + self.interval);
        Ok(wait)
    }
}

impl RateLimiter for RequestInterval {
    fn acquire<'a>(&'a self, pace: Pace<'a>) -> BoxFuture<'a, crate::Result<Duration>> {
        let booked = self.book(pace.now, pace.budget);
        Box::pin(async move {
            let wait = booked.map_err(|wait| crate::Error::RateLimited {
                retry_after: Some(wait),
                code: Some("client_budget".into()),
                request_id: None,
                answer: None,
            })?;
            if !wait.is_zero() {
                pace.sleep.sleep(wait).await;
            }
            Ok(wait)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_asked_for_at_once_get_consecutive_slots() {
        let limiter = RequestInterval::new(Duration::from_millis(100));
        let now = Instant::now();
        let budget = Duration::MAX;
        assert_eq!(limiter.book(now, budget), Ok(Duration::ZERO));
        assert_eq!(limiter.book(now, budget), Ok(Duration::from_millis(100)));
        assert_eq!(limiter.book(now, budget), Ok(Duration::from_millis(200)));
        // After a quiet period the next request goes at once.
        assert_eq!(
            limiter.book(now + Duration::from_secs(5), budget),
            Ok(Duration::ZERO)
        );
        // A wait over the call's budget is refused and books nothing.
        let later = now + Duration::from_secs(10);
        limiter.book(later, budget).unwrap();
        assert_eq!(
            limiter.book(later, Duration::from_millis(50)),
            Err(Duration::from_millis(100))
        );
        assert_eq!(limiter.book(later, budget), Ok(Duration::from_millis(100)));
    }

    #[tokio::test]
    async fn a_wait_over_the_budget_is_refused_with_the_budget_error() {
        let limiter =
            RequestInterval::new(Duration::from_millis(100)).budget(Duration::from_millis(150));
        let sleep = Sleep::new(|_| Box::pin(async {}));
        let method = http::Method::GET;
        let request = Admission {
            operation: "list_x",
            spec: None,
            method: &method,
            path: Some("/x"),
            body: None,
        };
        let pace = || Pace {
            request: &request,
            budget: Duration::MAX,
            now: Instant::now(),
            sleep: &sleep,
        };
        for _ in 0..2 {
            limiter.acquire(pace()).await.unwrap();
        }
        // The third would wait 200 ms.
        let err = limiter.acquire(pace()).await.unwrap_err();
        assert!(err.is_rate_limited(), "{err:?}");
    }
}
