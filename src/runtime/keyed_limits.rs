//! Limits kept per partition of an API's requests (Graph's per-mailbox
//! Outlook limits): at most so many requests in flight, so many requests
//! in a sliding window and so many uploaded bytes in another, so that a
//! busy program slows down before the API has to say 429.
//!
//! Which partition a request falls in is the API's to say (a function of
//! its operation, path and body); the bookkeeping here names no API.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::Sleep;
use super::spec::Operation;
use crate::{Error, Result};

/// What a [`KeyedLimits`] partition function sees of a request.
#[derive(Debug)]
#[non_exhaustive]
pub struct Admission<'a> {
    /// The operation's id (`raw` for a request no operation names).
    pub operation: &'a str,
    /// The spec's operation, when the request is one.
    pub spec: Option<&'static Operation>,
    /// The HTTP method.
    pub method: &'a http::Method,
    /// The path below the client's base URL (`/me/messages`), when the
    /// request goes there; `None` for another host.
    pub path: Option<&'a str>,
    /// The body, when it is held in memory.
    pub body: Option<&'a [u8]>,
}

/// What one request takes from one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The partition (a mailbox: `me`, `users/adelev@contoso.com`).
    pub key: String,
    /// How many of the partition's requests it is (a batch may carry
    /// several), counted in the requests window.
    pub requests: u32,
    /// How many slots in flight it holds (a batch: as many of its requests
    /// as may run at once; 0: none), at most the limit.
    pub in_flight: u32,
    /// Bytes it uploads to the partition.
    pub upload_bytes: u64,
}

/// Says which partitions a request falls in (none: it is not limited).
pub type Partition = Arc<dyn Fn(&Admission<'_>) -> Vec<Share> + Send + Sync>;

/// Limits kept per partition of requests: requests in flight (released
/// when the answer has been read), requests per sliding window and
/// uploaded bytes per sliding window. Waiting for the windows goes through
/// the client's [`Sleep`] and counts against the call's wait budget
/// ([`RetryPolicy::max_wait`](super::RetryPolicy::max_wait)); a wait over
/// the budget ends the call with [`Error::RateLimited`] carrying the wait.
/// When no budget is left (always, with
/// [`RetryPolicy::fail_fast`](super::RetryPolicy::fail_fast)) a partition
/// with no free slot ends the call too, without waiting. Waiting for a
/// slot counts against the call's deadline. The client's own refusals
/// carry the code `client_window` or `client_in_flight` and no answer.
///
/// ```
/// use std::time::Duration;
/// use specbound::runtime::{KeyedLimits, Share};
/// // One partition per first path segment, 2 in flight, 100 a minute.
/// let limits = KeyedLimits::new(|a| {
///     let first = a.path.and_then(|p| p.trim_start_matches('/').split('/').next());
///     first
///         .map(|key| vec![Share { key: key.to_string(), requests: 1, in_flight: 1, upload_bytes: 0 }])
///         .unwrap_or_default()
/// })
/// .in_flight(2)
/// .requests_per(100, Duration::from_secs(60));
/// # let _ = limits;
/// ```
pub struct KeyedLimits {
    partition: Partition,
    in_flight: Option<u32>,
    requests: Option<(u64, Duration)>,
    upload: Option<(u64, Duration)>,
    partitions: Mutex<HashMap<String, Partitioned>>,
}

/// The state of one partition.
struct Partitioned {
    slots: Option<Arc<Semaphore>>,
    requests: Window,
    upload: Window,
}

impl fmt::Debug for KeyedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLimits")
            .field("in_flight", &self.in_flight)
            .field("requests", &self.requests)
            .field("upload", &self.upload)
            .finish_non_exhaustive()
    }
}

/// Partitions kept before idle ones are forgotten.
const IDLE_PARTITIONS_KEPT: usize = 1024;

impl KeyedLimits {
    /// Limits for the partitions `partition` names; none is set yet.
    pub fn new(partition: impl Fn(&Admission<'_>) -> Vec<Share> + Send + Sync + 'static) -> Self {
        KeyedLimits {
            partition: Arc::new(partition),
            in_flight: None,
            requests: None,
            upload: None,
            partitions: Mutex::new(HashMap::new()),
        }
    }

    /// At most `n` requests of one partition in flight (at least 1).
    pub fn in_flight(mut self, n: u32) -> Self {
        self.in_flight = Some(n.max(1));
        self
    }

    /// At most `n` requests of one partition in any `window`.
    pub fn requests_per(mut self, n: u64, window: Duration) -> Self {
        self.requests = Some((n.max(1), window));
        self
    }

    /// At most `bytes` uploaded to one partition in any `window`.
    pub fn upload_bytes_per(mut self, bytes: u64, window: Duration) -> Self {
        self.upload = Some((bytes.max(1), window));
        self
    }

    /// Waits until `request` may go: books its place in each partition's
    /// windows (sleeping through `sleep` if it must, within `budget`) and
    /// takes its slots in flight, which the returned [`Admitted`] holds.
    /// Returns how long it slept.
    pub(crate) async fn admit(
        &self,
        request: &Admission<'_>,
        sleep: &Sleep,
        budget: Duration,
    ) -> Result<(Admitted, Duration)> {
        let mut shares = (self.partition)(request);
        if shares.is_empty() {
            return Ok((Admitted::default(), Duration::ZERO));
        }
        // One order for every caller, so that two requests that share two
        // partitions never hold one slot each while waiting for the other.
        shares.sort_by(|a, b| a.key.cmp(&b.key));
        let wait = self.book(&shares, Instant::now(), budget)?;
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                partition = %shares[0].key,
                "waiting for the partition's window"
            );
            sleep.sleep(wait).await;
        }
        let mut admitted = Admitted::default();
        for share in &shares {
            let (Some(slots), Some(limit), true) =
                (self.slots(&share.key), self.in_flight, share.in_flight > 0)
            else {
                continue;
            };
            let n = share.in_flight.min(limit);
            let permit = if budget.is_zero() {
                slots
                    .try_acquire_many_owned(n)
                    .map_err(|_| Error::RateLimited {
                        retry_after: None,
                        code: Some("client_in_flight".into()),
                        request_id: None,
                        answer: None,
                    })?
            } else {
                // Never closed: the semaphore lives as long as the limits.
                slots
                    .acquire_many_owned(n)
                    .await
                    .map_err(|_| Error::Config("the partition's slots were closed".into()))?
            };
            admitted.0.push(permit);
        }
        Ok((admitted, wait))
    }

    /// Books `shares` in their windows at the earliest moment all of them
    /// allow; the wait until then, or `RateLimited` when it is over `budget`
    /// (and then nothing is booked).
    fn book(&self, shares: &[Share], now: Instant, budget: Duration) -> Result<Duration> {
        let mut partitions = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if partitions.len() > IDLE_PARTITIONS_KEPT {
            partitions.retain(|_, p| !p.is_idle(now, self));
        }
        let mut at = now;
        for share in shares {
            let p = partitions
                .entry(share.key.clone())
                .or_insert_with(|| self.partitioned());
            if let Some((limit, window)) = self.requests {
                at = at.max(
                    p.requests
                        .earliest(now, u64::from(share.requests), limit, window),
                );
            }
            if let (Some((limit, window)), true) = (self.upload, share.upload_bytes > 0) {
                at = at.max(p.upload.earliest(now, share.upload_bytes, limit, window));
            }
        }
        let wait = at - now;
        if wait > budget {
            return Err(Error::RateLimited {
                retry_after: Some(wait),
                code: Some("client_window".into()),
                request_id: None,
                answer: None,
            });
        }
        for share in shares {
            if let Some(p) = partitions.get_mut(&share.key) {
                if let Some((_, window)) = self.requests {
                    p.requests.push(at, u64::from(share.requests), window);
                }
                if let (Some((_, window)), true) = (self.upload, share.upload_bytes > 0) {
                    p.upload.push(at, share.upload_bytes, window);
                }
            }
        }
        Ok(wait)
    }

    fn partitioned(&self) -> Partitioned {
        Partitioned {
            slots: self.in_flight.map(|n| Arc::new(Semaphore::new(n as usize))),
            requests: Window::default(),
            upload: Window::default(),
        }
    }

    fn slots(&self, key: &str) -> Option<Arc<Semaphore>> {
        let mut partitions = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        partitions
            .entry(key.to_string())
            .or_insert_with(|| self.partitioned())
            .slots
            .clone()
    }
}

impl Partitioned {
    /// Nothing in flight and nothing left in its windows.
    fn is_idle(&mut self, now: Instant, limits: &KeyedLimits) -> bool {
        // A permit in flight holds a clone of the semaphore's Arc.
        let free = self
            .slots
            .as_ref()
            .is_none_or(|s| Arc::strong_count(s) == 1);
        if let Some((_, window)) = limits.requests {
            self.requests.forget(now, window);
        }
        if let Some((_, window)) = limits.upload {
            self.upload.forget(now, window);
        }
        free && self.requests.entries.is_empty() && self.upload.entries.is_empty()
    }
}

/// The slots in flight a request holds until its answer has been read.
#[derive(Debug, Default)]
pub(crate) struct Admitted(Vec<OwnedSemaphorePermit>);

impl Admitted {
    /// Whether it holds no slot.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Amounts booked at moments (some in the future: requests told to wait),
/// oldest first. Amounts booked within a hundredth of the window after an
/// entry's first moment join that entry, which leaves the window at its
/// last moment: a window holds about a hundred entries whatever its limit,
/// and merged amounts leave it at most a hundredth of the window late,
/// which errs on the safe side.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// (first moment, last moment, amount).
    entries: VecDeque<(Instant, Instant, u64)>,
}

impl Window {
    /// The earliest moment, at or after `now` and after every booked
    /// moment, at which `amount` more keeps what is booked in any `window`
    /// at or under `limit`. An amount over the limit waits for an empty window.
    pub(super) fn earliest(
        &mut self,
        now: Instant,
        amount: u64,
        limit: u64,
        window: Duration,
    ) -> Instant {
        self.forget(now, window);
        let last = self.entries.back().map_or(now, |(_, t, _)| (*t).max(now));
        let total: u64 = self.entries.iter().map(|(_, _, n)| n).sum();
        let mut excess = total
            .saturating_add(amount.min(limit))
            .saturating_sub(limit);
        let mut at = last;
        for (_, t, n) in &self.entries {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(*n);
            at = at.max(*t + window);
        }
        at
    }

    /// Books `amount` at `at` (not before any booked moment).
    pub(super) fn push(&mut self, at: Instant, amount: u64, window: Duration) {
        match self.entries.back_mut() {
            Some((first, last, n)) if at.saturating_duration_since(*first) < window / 100 => {
                *last = (*last).max(at);
                *n = n.saturating_add(amount);
            }
            _ => self.entries.push_back((at, at, amount)),
        }
    }

    /// Whether nothing is booked.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops the entries that have left the window by `now`.
    pub(super) fn forget(&mut self, now: Instant, window: Duration) {
        while self
            .entries
            .front()
            .is_some_and(|(_, t, _)| *t + window <= now)
        {
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn share(key: &str, requests: u32, upload_bytes: u64) -> Share {
        Share {
            key: key.into(),
            requests,
            in_flight: 1,
            upload_bytes,
        }
    }

    fn limits() -> KeyedLimits {
        KeyedLimits::new(|_| Vec::new())
            .requests_per(3, secs(60))
            .upload_bytes_per(100, secs(30))
    }

    #[test]
    fn the_window_lets_the_limit_through_then_books_the_next_when_the_oldest_leaves() {
        let l = limits();
        let t0 = Instant::now();
        let one = [share("me", 1, 0)];
        for _ in 0..3 {
            assert_eq!(l.book(&one, t0, secs(600)).unwrap(), Duration::ZERO);
        }
        // The fourth waits until the first has left the 60 s window.
        assert_eq!(l.book(&one, t0, secs(600)).unwrap(), secs(60));
        // Another partition is not affected.
        assert_eq!(
            l.book(&[share("users/b", 1, 0)], t0, secs(600)).unwrap(),
            Duration::ZERO
        );
        // Ten seconds later the fifth is booked after the fourth.
        assert_eq!(l.book(&one, t0 + secs(10), secs(600)).unwrap(), secs(50));
    }

    #[test]
    fn a_wait_over_the_budget_is_refused_with_the_wait_and_books_nothing() {
        let l = limits();
        let t0 = Instant::now();
        let three = [share("me", 3, 0)];
        l.book(&three, t0, secs(600)).unwrap();
        match l.book(&[share("me", 1, 0)], t0, secs(5)) {
            Err(Error::RateLimited {
                retry_after, code, ..
            }) => {
                assert_eq!(retry_after, Some(secs(60)));
                assert_eq!(code.as_deref(), Some("client_window"));
            }
            other => panic!("{other:?}"),
        }
        // Refused, so not booked: the next one waits the same.
        assert_eq!(
            l.book(&[share("me", 1, 0)], t0, secs(600)).unwrap(),
            secs(60)
        );
    }

    #[test]
    fn uploads_count_bytes_in_their_own_window() {
        let l = limits();
        let t0 = Instant::now();
        assert_eq!(
            l.book(&[share("me", 1, 80)], t0, secs(600)).unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            l.book(&[share("me", 1, 30)], t0, secs(600)).unwrap(),
            secs(30)
        );
        // More than the whole budget at once waits for an empty window only.
        let l = limits();
        assert_eq!(
            l.book(&[share("x", 1, 500)], t0, secs(600)).unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            l.book(&[share("x", 1, 1)], t0, secs(600)).unwrap(),
            secs(30)
        );
    }

    #[test]
    fn a_window_holds_a_bounded_number_of_entries_whatever_its_limit() {
        let mut w = Window::default();
        let t0 = Instant::now();
        for i in 0..100_000u64 {
            let at = t0 + Duration::from_millis(i);
            w.push(at, 1, secs(600));
        }
        assert!(w.entries.len() <= 20, "{}", w.entries.len());
        assert_eq!(w.entries.iter().map(|(_, _, n)| n).sum::<u64>(), 100_000);
        // Merged entries leave the window at their last moment.
        let last = t0 + Duration::from_millis(99_999);
        assert_eq!(w.entries.back().unwrap().1, last);
    }

    #[tokio::test]
    async fn slots_in_flight_are_held_until_dropped_and_fail_fast_refuses_a_full_partition() {
        let l = KeyedLimits::new(|a| {
            vec![Share {
                key: a.operation.to_string(),
                requests: 1,
                in_flight: 1,
                upload_bytes: 0,
            }]
        })
        .in_flight(2);
        let sleep = Sleep::new(|_| Box::pin(async {}));
        let method = http::Method::GET;
        let request = Admission {
            operation: "me",
            spec: None,
            method: &method,
            path: None,
            body: None,
        };
        let (a, _) = l.admit(&request, &sleep, secs(60)).await.unwrap();
        let (b, _) = l.admit(&request, &sleep, secs(60)).await.unwrap();
        match l.admit(&request, &sleep, Duration::ZERO).await {
            Err(Error::RateLimited { code, .. }) => {
                assert_eq!(code.as_deref(), Some("client_in_flight"))
            }
            other => panic!("{other:?}"),
        }
        drop(a);
        let (c, _) = l.admit(&request, &sleep, Duration::ZERO).await.unwrap();
        drop((b, c));
    }
}
