//! Rate limits, on the engine's windows: the account's requests per
//! window (700 a minute unless told otherwise, as Suite Enterprise), and
//! optional per-endpoint limits (the incremental exports' 10 a minute,
//! any operation's own). Every answer of an authenticated request carries
//! the account's headers (`X-Rate-Limit`, `X-Rate-Limit-Remaining`, and the
//! `rate-limit`, `rate-limit-remaining`, `rate-limit-reset` spelling of
//! recorded traffic); list operations add `ratelimit-limit`,
//! `ratelimit-remaining`, `ratelimit-reset`; an operation with its own limit
//! adds `zendesk-ratelimit-<endpoint>: total=..; remaining=..; resets=..`
//! (`tickets-index` for list_tickets, `tickets-update` for update_ticket).
//! Past a limit: 429 `APIRateLimitExceeded` with `Retry-After` (the whole
//! seconds left in the window, at least 1), or without it when the builder
//! says so.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::runtime::spec::Operation;
use crate::sandbox::engine::{RateWindow, Response, whole_seconds};

use super::errors::ZdErr;

/// The description of an account-wide 429.
const ACCOUNT_EXCEEDED: &str = "Number of allowed API requests per minute exceeded";

/// The description of an incremental export 429.
const INCREMENTAL_EXCEEDED: &str =
    "Number of allowed incremental export API requests per minute exceeded";

/// The limits as configured.
#[derive(Clone, Debug)]
pub(super) struct LimitConfig {
    pub(super) account: usize,
    pub(super) window: Duration,
    pub(super) retry_after: bool,
    /// Requests per window of each incremental export together.
    pub(super) incremental: Option<usize>,
    /// Requests per window of single operations, by operation id.
    pub(super) endpoints: Vec<(String, usize)>,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            account: 700,
            window: Duration::from_secs(60),
            retry_after: true,
            incremental: None,
            endpoints: Vec::new(),
        }
    }
}

/// The windows in use.
pub(super) struct Limits {
    config: LimitConfig,
    windows: Mutex<HashMap<String, RateWindow>>,
}

/// What the headers of an admitted request say.
pub(super) struct Counted {
    account: (usize, usize, Duration),
    endpoint: Option<(String, usize, usize, Duration)>,
    list: bool,
}

impl Limits {
    pub(super) fn new(config: LimitConfig) -> Self {
        Limits {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Starts every window again.
    pub(super) fn reset(&self) {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Counts a request of `op`: what its headers say, or the 429.
    pub(super) fn admit(&self, op: &Operation) -> Result<Counted, ZdErr> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let own = if op.tag == "incremental" {
            self.config
                .incremental
                .map(|n| ("incremental".to_string(), n, INCREMENTAL_EXCEEDED))
        } else {
            self.config
                .endpoints
                .iter()
                .find(|(id, _)| id == op.id)
                .map(|(id, n)| (id.clone(), *n, ACCOUNT_EXCEEDED))
        };
        let endpoint = match own {
            Some((key, limit, words)) => {
                let window = windows
                    .entry(key.clone())
                    .or_insert_with(|| RateWindow::new(limit, self.config.window));
                match window.admit_counted(&key) {
                    Ok((left, resets)) => Some((endpoint_name(op), limit, left, resets)),
                    Err(wait) => return Err(self.exceeded(words, wait)),
                }
            }
            None => None,
        };
        let window = windows
            .entry("account".to_string())
            .or_insert_with(|| RateWindow::new(self.config.account, self.config.window));
        let account = match window.admit_counted("account") {
            Ok((left, resets)) => (window.limit(), left, resets),
            Err(wait) => return Err(self.exceeded(ACCOUNT_EXCEEDED, wait)),
        };
        Ok(Counted {
            account,
            endpoint,
            list: op.method == "GET" && op.pagination.is_some(),
        })
    }

    fn exceeded(&self, words: &str, wait: Duration) -> ZdErr {
        let secs = whole_seconds(wait).max(1);
        ZdErr::rate_limited(words, self.config.retry_after.then_some(secs))
    }
}

/// `tickets-index` for list_tickets, `tickets-update` for update_ticket,
/// the operation id with dashes otherwise.
fn endpoint_name(op: &Operation) -> String {
    match op.id {
        "list_tickets" => "tickets-index".into(),
        "update_ticket" => "tickets-update".into(),
        other => other.replace('_', "-"),
    }
}

fn secs(d: Duration) -> String {
    whole_seconds(d).to_string()
}

impl Counted {
    /// Adds the rate-limit headers to `response`.
    pub(super) fn headers(&self, mut response: Response) -> Response {
        let (limit, left, resets) = self.account;
        let (limit, left, resets) = (limit.to_string(), left.to_string(), secs(resets));
        for (name, value) in [
            ("x-rate-limit", &limit),
            ("x-rate-limit-remaining", &left),
            ("rate-limit", &limit),
            ("rate-limit-remaining", &left),
            ("rate-limit-reset", &resets),
        ] {
            response = response.with_header(name, value);
        }
        if self.list {
            response = response
                .with_header("ratelimit-limit", &limit)
                .with_header("ratelimit-remaining", &left)
                .with_header("ratelimit-reset", &resets);
        }
        if let Some((name, total, left, resets)) = &self.endpoint {
            let value = format!("total={total}; remaining={left}; resets={}", secs(*resets));
            if let Ok(header) =
                http::HeaderName::from_bytes(format!("zendesk-ratelimit-{name}").as_bytes())
                && let Ok(v) = http::HeaderValue::from_str(&value)
            {
                response.headers.insert(header, v);
            }
        }
        response
    }
}
