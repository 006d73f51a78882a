//! Pacing requests before the API has to say 429.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::Sleep;

/// Decides when each request may go out. The runtime calls [`acquire`]
/// before every attempt and [`observe`] with every response, each with the
/// operation's id, so a limiter can keep a budget per operation or
/// endpoint and follow the API's own counters (`X-Rate-Limit-Remaining`).
///
/// [`acquire`]: RateLimiter::acquire
/// [`observe`]: RateLimiter::observe
pub trait RateLimiter: fmt::Debug + Send + Sync {
    /// Waits (through `sleep`) until a request of `operation` may be sent,
    /// or fails with [`Error::RateLimited`](crate::Error::RateLimited) when
    /// waiting would pass the limiter's budget.
    fn acquire<'a>(
        &'a self,
        operation: &'a str,
        sleep: &'a Sleep,
    ) -> BoxFuture<'a, crate::Result<()>>;

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

    /// How long a request asked for now must wait, booking its slot; `None`
    /// (and nothing booked) when that is over the budget.
    fn book(&self, now: Instant) -> Option<Duration> {
        let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        let wait = slot - now;
        if self.budget.is_some_and(|b| wait > b) {
            return None;
        }
        *next = Some(slot + self.interval);
        Some(wait)
    }
}

impl RateLimiter for RequestInterval {
    fn acquire<'a>(
        &'a self,
        _operation: &'a str,
        sleep: &'a Sleep,
    ) -> BoxFuture<'a, crate::Result<()>> {
        let booked = self.book(Instant::now());
        Box::pin(async move {
            let Some(wait) = booked else {
                return Err(crate::Error::RateLimited {
                    retry_after: Some(self.interval),
                    code: Some("client_budget".into()),
                    request_id: None,
                    answer: None,
                });
            };
            if !wait.is_zero() {
                sleep.sleep(wait).await;
            }
            Ok(())
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
        assert_eq!(limiter.book(now), Some(Duration::ZERO));
        assert_eq!(limiter.book(now), Some(Duration::from_millis(100)));
        assert_eq!(limiter.book(now), Some(Duration::from_millis(200)));
        // After a quiet period the next request goes at once.
        assert_eq!(
            limiter.book(now + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
    }

    #[tokio::test]
    async fn a_wait_over_the_budget_is_refused_with_the_budget_error() {
        let limiter =
            RequestInterval::new(Duration::from_millis(100)).budget(Duration::from_millis(150));
        let sleep = Sleep::new(|_| Box::pin(async {}));
        for _ in 0..2 {
            limiter.acquire("list_x", &sleep).await.unwrap();
        }
        // The third would wait 200 ms.
        let err = limiter.acquire("list_x", &sleep).await.unwrap_err();
        assert!(err.is_rate_limited(), "{err:?}");
    }
}
