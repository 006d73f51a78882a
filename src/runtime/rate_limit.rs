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
/// before every attempt and [`observe`] with every response, so a limiter
/// can follow the API's own counters (such as `X-Rate-Limit-Remaining`).
///
/// [`acquire`]: RateLimiter::acquire
/// [`observe`]: RateLimiter::observe
pub trait RateLimiter: fmt::Debug + Send + Sync {
    /// Waits (through `sleep`) until a request may be sent.
    fn acquire<'a>(&'a self, sleep: &'a Sleep) -> BoxFuture<'a, ()>;

    /// Sees the status and headers of every response.
    fn observe(&self, _status: StatusCode, _headers: &HeaderMap) {}
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
    next_slot: Mutex<Option<Instant>>,
}

impl RequestInterval {
    /// Spaces requests `interval` apart.
    pub fn new(interval: Duration) -> Self {
        RequestInterval {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// How long a request asked for now must wait, booking its slot.
    fn book(&self, now: Instant) -> Duration {
        let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.interval);
        slot - now
    }
}

impl RateLimiter for RequestInterval {
    fn acquire<'a>(&'a self, sleep: &'a Sleep) -> BoxFuture<'a, ()> {
        let wait = self.book(Instant::now());
        Box::pin(async move {
            if !wait.is_zero() {
                sleep.sleep(wait).await;
            }
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
        assert_eq!(limiter.book(now), Duration::ZERO);
        assert_eq!(limiter.book(now), Duration::from_millis(100));
        assert_eq!(limiter.book(now), Duration::from_millis(200));
        // After a quiet period the next request goes at once.
        assert_eq!(limiter.book(now + Duration::from_secs(5)), Duration::ZERO);
    }
}
