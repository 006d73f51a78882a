//! Rate limits kept before they bite ([`HeadroomLimiter`]), from what the spec and the API's
//! answers say: the API's own counters in its headers (limit, remaining,
//! seconds to the reset, per account and per named bucket) and the limits
//! the spec declares per operation. A request waits when a counter it
//! falls under is down to its headroom (a share of the limit left for
//! other programs on the same account), or when a declared limit's sliding
//! window is full; a 429 holds back the other calls of its bucket until
//! its `Retry-After` has passed.
//!
//! The spec says which headers carry the counters, at its top level:
//!
//! ```yaml
//! x-specbound-rate-limit-headers:
//!   limit: [x-rate-limit, ratelimit-limit]        # first present wins
//!   remaining: [x-rate-limit-remaining, ratelimit-remaining]
//!   reset: [ratelimit-reset]                      # seconds to the reset
//!   window: 60                                    # seconds, when no reset is sent
//!   bucket-prefix: zendesk-ratelimit-             # `total=N; remaining=N; resets=N`
//! ```
//!
//! and which limits an operation has beside the account's:
//!
//! ```yaml
//! x-specbound-rate-limit:
//!   - {bucket: incremental-exports, requests: 10, per: 60}
//!   - {bucket: ticket-updates, requests: 30, per: 600, key: ticket_id}   # per ticket
//! ```
//!
//! A bucket named in an answer's headers (`<bucket-prefix><name>`) is
//! learned for the operation that answered it, so its later requests wait
//! for it too. Nothing here names an API.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use tokio::time::Instant;

use super::keyed_limits::Window;
use super::rate_limit::{Pace, RateLimiter};
use super::retry::retry_after;
use super::spec::ApiSpec;
use crate::{Error, Result};

/// The spec's top-level extension naming the counters' headers.
pub(crate) const HEADERS_EXTENSION: &str = "x-specbound-rate-limit-headers";

/// The operation extension declaring its own limits.
pub(crate) const LIMITS_EXTENSION: &str = "x-specbound-rate-limit";

/// The key of the account-wide counter.
const ACCOUNT: &str = "";

/// The longest reset or `Retry-After` a server may announce for the
/// other calls to wait (a longer one is read as this).
const MAX_RESET: Duration = Duration::from_secs(3600);

/// Buckets kept before idle ones are forgotten (keyed buckets: one per
/// ticket updated).
const BUCKETS_KEPT: usize = 1024;

/// Named buckets read from one answer, at most.
const NAMED_PER_ANSWER: usize = 16;

/// Buckets learned for one operation, at most.
const LEARNED_PER_OPERATION: usize = 4;

/// Where an API's answers carry its rate-limit counters
/// ([`HEADERS_EXTENSION`]).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CounterHeaders {
    /// Headers carrying the account's limit, first present wins.
    #[serde(default)]
    pub(crate) limit: Vec<String>,
    /// Headers carrying the requests left in the window.
    #[serde(default)]
    pub(crate) remaining: Vec<String>,
    /// Headers carrying the seconds until the window resets.
    #[serde(default)]
    pub(crate) reset: Vec<String>,
    /// The window's length in seconds, when no reset header is sent.
    #[serde(default = "default_window")]
    pub(crate) window: u64,
    /// The prefix of per-bucket headers (`total=N; remaining=N; resets=N`).
    #[serde(default)]
    pub(crate) bucket_prefix: Option<String>,
}

fn default_window() -> u64 {
    60
}

/// A limit an operation declares beside the account's ([`LIMITS_EXTENSION`]).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclaredLimit {
    /// The bucket's name, shared by the operations that count against it.
    pub(crate) bucket: String,
    /// Requests allowed in any window.
    pub(crate) requests: u64,
    /// The window's length in seconds.
    pub(crate) per: u64,
    /// A path parameter whose value has a bucket of its own (per ticket).
    #[serde(default)]
    pub(crate) key: Option<String>,
}

/// The counters and declared limits of `spec`, or what is malformed.
pub(crate) fn read_spec(spec: &ApiSpec) -> std::result::Result<Declarations, String> {
    let headers = match spec.extension(HEADERS_EXTENSION) {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| format!("{HEADERS_EXTENSION}: {e}"))?
        }
        None => CounterHeaders::default(),
    };
    let mut declared = HashMap::new();
    for op in spec.operations {
        let Some(json) = op.extension(LIMITS_EXTENSION) else {
            continue;
        };
        let limits: Vec<DeclaredLimit> = serde_json::from_str(json)
            .map_err(|e| format!("`{}` {LIMITS_EXTENSION}: {e}", op.id))?;
        for limit in &limits {
            if limit.requests == 0 || limit.per == 0 {
                return Err(format!("`{}`: a limit of zero in {}", op.id, limit.bucket));
            }
            if let Some(key) = &limit.key
                && !op.path.contains(&format!("{{{key}}}"))
            {
                return Err(format!("`{}`: no path parameter `{key}`", op.id));
            }
        }
        declared.insert(op.id, limits);
    }
    Ok(Declarations { headers, declared })
}

/// What a spec says about its rate limits ([`read_spec`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Declarations {
    /// Where the counters are.
    pub(crate) headers: CounterHeaders,
    /// The declared limits, by operation id.
    pub(crate) declared: HashMap<&'static str, Vec<DeclaredLimit>>,
}

/// Keeps an API's rate limits with headroom: see the [module](self).
///
/// ```
/// # #[cfg(feature = "zendesk")] {
/// use specbound::runtime::HeadroomLimiter;
/// // Leave a fifth of every limit to other programs on the account.
/// let limiter = HeadroomLimiter::new(&specbound::zendesk::spec::API).headroom(0.2);
/// # let _ = limiter; }
/// ```
pub struct HeadroomLimiter {
    headroom: f64,
    spec: Declarations,
    state: Mutex<State>,
}

impl fmt::Debug for HeadroomLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadroomLimiter")
            .field("headroom", &self.headroom)
            .field("headers", &self.spec.headers)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    /// Buckets named in the answers to an operation, by operation id.
    learned: HashMap<String, Vec<String>>,
}

#[derive(Default)]
struct Bucket {
    /// What the server said last, less what was sent since.
    counter: Option<Counter>,
    /// The declared limit's sliding window, and its length.
    log: Window,
    per: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    /// The limit, when the server said it (a 429 alone does not).
    limit: Option<u64>,
    remaining: u64,
    resets_at: Instant,
}

/// One counter read from an answer's headers.
#[derive(Debug, PartialEq)]
struct Reading {
    bucket: String,
    limit: u64,
    remaining: u64,
    resets_in: Option<Duration>,
}

impl HeadroomLimiter {
    /// A limiter for `spec`'s counters and declared limits, with no
    /// headroom: a request waits only when a limit would be passed. A
    /// malformed declaration is left out (`cargo xtask lint` and each
    /// API's tests refuse one).
    pub fn new(spec: &ApiSpec) -> Self {
        let spec = read_spec(spec).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the spec's rate limits are malformed; left out");
            Declarations::default()
        });
        HeadroomLimiter {
            headroom: 0.0,
            spec,
            state: Mutex::new(State::default()),
        }
    }

    /// Leaves `fraction` of every limit (0 to 0.9) to other programs:
    /// requests wait once no more than that share is left.
    pub fn headroom(mut self, fraction: f64) -> Self {
        self.headroom = if fraction.is_finite() {
            fraction.clamp(0.0, 0.9)
        } else {
            0.0
        };
        self
    }

    /// The requests of `limit` kept back (always fewer than the limit).
    fn reserve(&self, limit: u64) -> u64 {
        ((limit as f64 * self.headroom).ceil() as u64).min(limit.saturating_sub(1))
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.spec.headers.window.max(1))
    }

    /// The buckets a request falls under: the account's, those learned for
    /// its operation, and those its operation declares (keyed by a path
    /// value where declared so).
    fn buckets_of(&self, pace: &Pace<'_>) -> Vec<(String, Option<&DeclaredLimit>)> {
        let request = pace.request;
        let mut keys: Vec<(String, Option<&DeclaredLimit>)> = vec![(ACCOUNT.to_string(), None)];
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(names) = state.learned.get(request.operation) {
            keys.extend(names.iter().map(|n| (n.clone(), None)));
        }
        drop(state);
        let declared = self
            .spec
            .declared
            .get(request.operation)
            .into_iter()
            .flatten();
        for limit in declared {
            let key = match &limit.key {
                None => limit.bucket.clone(),
                Some(param) => {
                    let value = request
                        .spec
                        .zip(request.path)
                        .and_then(|(op, path)| op.match_path(path))
                        .and_then(|values| values.into_iter().find(|(n, _)| n == param))
                        .map(|(_, v)| v);
                    match value {
                        Some(v) => format!("{}/{v}", limit.bucket),
                        None => continue,
                    }
                }
            };
            keys.retain(|(k, _)| *k != key);
            keys.push((key, Some(limit)));
        }
        keys
    }

    /// Books the request in every bucket at the earliest moment all allow;
    /// the wait until then, or `RateLimited` over `budget` (nothing booked).
    fn book(
        &self,
        buckets: &[(String, Option<&DeclaredLimit>)],
        now: Instant,
        budget: Duration,
    ) -> Result<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.buckets.len() > BUCKETS_KEPT {
            state.buckets.retain(|_, b| !b.is_idle(now));
        }
        let window = self.window();
        let mut at = now;
        for (key, declared) in buckets {
            let bucket = state.buckets.entry(key.clone()).or_default();
            bucket.roll(now, window);
            if let Some(c) = &bucket.counter
                && c.remaining <= c.limit.map_or(0, |l| self.reserve(l))
            {
                at = at.max(c.resets_at);
            }
            if let Some(d) = declared {
                let allowed = d.requests - self.reserve(d.requests);
                at = at.max(bucket.log.earliest(now, 1, allowed, secs(d.per)));
            }
        }
        let wait = at - now;
        if wait > budget {
            return Err(Error::RateLimited {
                retry_after: Some(wait),
                code: Some("client_headroom".into()),
                request_id: None,
                answer: None,
            });
        }
        for (key, declared) in buckets {
            let Some(bucket) = state.buckets.get_mut(key) else {
                continue;
            };
            bucket.roll(at, window);
            if let Some(c) = &mut bucket.counter {
                c.remaining = c.remaining.saturating_sub(1);
            }
            if let Some(d) = declared {
                bucket.log.push(at, 1, secs(d.per));
                bucket.per = Some(secs(d.per));
            }
        }
        Ok(wait)
    }

    /// The counters an answer's headers carry (the account's first).
    fn read(&self, headers: &HeaderMap) -> Vec<Reading> {
        let names = &self.spec.headers;
        let first = |list: &[String]| list.iter().find_map(|n| number(headers.get(n.as_str())?));
        let mut readings = Vec::new();
        if let (Some(limit), Some(remaining)) = (first(&names.limit), first(&names.remaining))
            && limit > 0
        {
            readings.push(Reading {
                bucket: ACCOUNT.to_string(),
                limit,
                remaining: remaining.min(limit),
                resets_in: first(&names.reset).map(|s| secs(s).min(MAX_RESET)),
            });
        }
        let Some(prefix) = &names.bucket_prefix else {
            return readings;
        };
        let named = headers.iter().filter_map(|(name, value)| {
            let bucket = name.as_str().strip_prefix(prefix.as_str())?;
            let fields = bucket_fields(value.to_str().ok()?)?;
            (!bucket.is_empty()).then(|| Reading {
                bucket: bucket.to_string(),
                ..fields
            })
        });
        readings.extend(named.take(NAMED_PER_ANSWER));
        readings
    }

    /// Takes in what an answer at `now` says.
    fn take_in(&self, operation: &str, status: StatusCode, headers: &HeaderMap, now: Instant) {
        let readings = self.read(headers);
        let told = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| retry_after(headers))
            .flatten()
            .map(|wait| wait.min(MAX_RESET));
        if readings.is_empty() && told.is_none() {
            return;
        }
        let window = self.window();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for r in &readings {
            if r.bucket != ACCOUNT {
                state.learn(operation, &r.bucket);
            }
            let bucket = state.buckets.entry(r.bucket.clone()).or_default();
            let said = Counter {
                limit: Some(r.limit),
                remaining: r.remaining,
                resets_at: now + r.resets_in.unwrap_or(window),
            };
            bucket.counter = Some(match bucket.counter {
                // Answers to requests in flight come in any order: within one
                // window, the lowest count is the latest.
                Some(c) if c.resets_at > now && r.resets_in.is_none() => Counter {
                    remaining: c.remaining.min(said.remaining),
                    ..c
                },
                Some(c)
                    if c.resets_at.max(said.resets_at) - c.resets_at.min(said.resets_at)
                        < Duration::from_secs(2) =>
                {
                    Counter {
                        remaining: c.remaining.min(said.remaining),
                        ..said
                    }
                }
                _ => said,
            });
        }
        let Some(wait) = told else {
            return;
        };
        // The bucket that is spent: a named one the answer says is at zero;
        // else the operation's own buckets when the account still had room;
        // else the account.
        let mut spent: Vec<String> = readings
            .iter()
            .filter(|r| r.bucket != ACCOUNT && r.remaining == 0)
            .map(|r| r.bucket.clone())
            .collect();
        let account_left = readings
            .iter()
            .any(|r| r.bucket == ACCOUNT && r.remaining > 0);
        if spent.is_empty() && account_left {
            spent.extend(state.learned.get(operation).into_iter().flatten().cloned());
            let declared = self.spec.declared.get(operation).into_iter().flatten();
            spent.extend(
                declared
                    .filter(|d| d.key.is_none())
                    .map(|d| d.bucket.clone()),
            );
        }
        if spent.is_empty() {
            spent.push(ACCOUNT.to_string());
        }
        tracing::debug!(
            operation,
            wait_ms = wait.as_millis() as u64,
            buckets = ?spent,
            "429: holding back the bucket's other requests"
        );
        for key in spent {
            let bucket = state.buckets.entry(key).or_default();
            let limit = bucket.counter.and_then(|c| c.limit);
            bucket.counter = Some(Counter {
                limit,
                remaining: 0,
                resets_at: now + wait,
            });
        }
    }
}

impl State {
    fn learn(&mut self, operation: &str, bucket: &str) {
        if self.learned.len() >= BUCKETS_KEPT && !self.learned.contains_key(operation) {
            return;
        }
        let names = self.learned.entry(operation.to_string()).or_default();
        if !names.iter().any(|n| n == bucket) && names.len() < LEARNED_PER_OPERATION {
            names.push(bucket.to_string());
        }
    }
}

impl Bucket {
    /// Starts the counter's next window once its reset has passed (a
    /// counter whose limit is unknown is forgotten then).
    fn roll(&mut self, now: Instant, window: Duration) {
        let Some(c) = &mut self.counter else {
            return;
        };
        if now < c.resets_at {
            return;
        }
        match c.limit {
            Some(limit) => {
                c.remaining = limit;
                c.resets_at = if now - c.resets_at < window {
                    c.resets_at + window
                } else {
                    now + window
                };
            }
            None => self.counter = None,
        }
    }

    fn is_idle(&mut self, now: Instant) -> bool {
        let log_empty = self.per.is_none_or(|per| {
            self.log.forget(now, per);
            self.log.is_empty()
        });
        self.counter.is_none_or(|c| c.resets_at <= now) && log_empty
    }
}

impl RateLimiter for HeadroomLimiter {
    fn acquire<'a>(&'a self, pace: Pace<'a>) -> BoxFuture<'a, Result<Duration>> {
        let buckets = self.buckets_of(&pace);
        let booked = self.book(&buckets, pace.now, pace.budget);
        Box::pin(async move {
            let wait = booked?;
            if !wait.is_zero() {
                tracing::debug!(
                    operation = pace.request.operation,
                    wait_ms = wait.as_millis() as u64,
                    "keeping the rate limit's headroom: waiting"
                );
                pace.sleep.sleep(wait).await;
            }
            Ok(wait)
        })
    }

    fn observe(&self, operation: &str, status: StatusCode, headers: &HeaderMap) {
        self.take_in(operation, status, headers, Instant::now());
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A header's value as a whole number (surrounding spaces allowed).
fn number(value: &http::HeaderValue) -> Option<u64> {
    value.to_str().ok()?.trim().parse().ok()
}

/// `total=100; remaining=99; resets=41` (any order, unknown fields
/// ignored); `None` without a positive total and a remaining count.
fn bucket_fields(value: &str) -> Option<Reading> {
    let (mut total, mut remaining, mut resets) = (None, None, None);
    for field in value.split([';', ',']).take(8) {
        let Some((name, number)) = field.split_once('=') else {
            continue;
        };
        let number = number.trim().parse::<u64>().ok();
        match name.trim().to_ascii_lowercase().as_str() {
            "total" => total = number,
            "remaining" => remaining = number,
            "resets" => resets = number,
            _ => {}
        }
    }
    let limit = total.filter(|t| *t > 0)?;
    Some(Reading {
        bucket: String::new(),
        limit,
        remaining: remaining?.min(limit),
        resets_in: resets.map(|s| secs(s).min(MAX_RESET)),
    })
}

#[cfg(test)]
#[path = "headroom_tests.rs"]
mod tests;
