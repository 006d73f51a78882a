//! Zendesk's rate limits, kept before they bite: the client follows the
//! account's counters in every answer (`X-Rate-Limit`,
//! `X-Rate-Limit-Remaining`, `ratelimit-*`), the per-endpoint
//! `zendesk-ratelimit-*` buckets, and the limits the spec declares per
//! endpoint (incremental exports 10 a minute, the search export 100 a
//! minute, ticket updates 100 a minute and 30 per ticket in 10 minutes,
//! user updates 5 a minute per user), leaving a share of each limit
//! (the headroom) to other programs on the account. On a 429 it waits
//! `Retry-After` (or backs off when the answer has none) and holds back the
//! other calls of the spent bucket meanwhile.
//!
//! Unlike zenpy's `proactive_ratelimit` (a floor of remaining calls under
//! which every call sleeps, which set to the plan's limit throttles every
//! call), the headroom is a share of whatever limit the account has, and a
//! call waits only until the window resets.

use std::time::Duration;

use super::generated::spec::API;
use crate::runtime::HeadroomLimiter;

/// How a Zendesk client keeps the rate limits: the headroom left to
/// other programs, and how long one call may wait in all (for the limits
/// and for 429s) before it ends with
/// [`Error::RateLimited`](crate::Error::RateLimited).
///
/// ```no_run
/// # fn run() -> specbound::Result<()> {
/// use std::time::Duration;
/// use specbound::zendesk::{Client, RateLimit};
/// let zd = Client::builder()
///     .subdomain("acme")
///     .oauth_token("...")
///     .rate_limit(RateLimit::headroom(0.2).budget(Duration::from_secs(60)))
///     .build()?;
/// # let _ = zd; Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimit {
    headroom: Option<f64>,
    budget: Option<Duration>,
    fail_fast: bool,
}

impl Default for RateLimit {
    /// What a client keeps unless told otherwise: a tenth of each limit
    /// left to other programs, the retry policy's wait budget.
    fn default() -> Self {
        RateLimit::headroom(0.1)
    }
}

impl RateLimit {
    /// Keeps `fraction` (0 to 0.9) of every limit for other programs on
    /// the account: requests wait for the window's reset once no more than
    /// that share of it is left.
    pub fn headroom(fraction: f64) -> Self {
        RateLimit {
            headroom: Some(fraction),
            budget: None,
            fail_fast: false,
        }
    }

    /// Keeps no limit ahead: requests go until the API answers 429 (which
    /// is still waited out and retried as the retry policy says).
    pub fn off() -> Self {
        RateLimit {
            headroom: None,
            budget: None,
            fail_fast: false,
        }
    }

    /// The longest one call may wait in all, for the limits and for 429s;
    /// a longer wait ends it with `Error::RateLimited` carrying the wait
    /// (this sets the retry policy's
    /// [`max_wait`](crate::runtime::RetryPolicy::max_wait)).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Never waits: a call that would wait ends at once with
    /// `Error::RateLimited` carrying how long it would have waited (this
    /// sets [`RetryPolicy::fail_fast`](crate::runtime::RetryPolicy::fail_fast)).
    pub fn fail_fast(mut self) -> Self {
        self.fail_fast = true;
        self
    }

    /// The limiter to install, if any.
    pub(crate) fn limiter(&self) -> Option<HeadroomLimiter> {
        self.headroom
            .map(|fraction| HeadroomLimiter::new(&API).headroom(fraction))
    }

    /// The retry policy with this budget.
    pub(crate) fn retry(&self, policy: crate::runtime::RetryPolicy) -> crate::runtime::RetryPolicy {
        if self.fail_fast {
            return policy.max_wait(Duration::ZERO);
        }
        match self.budget {
            Some(budget) => policy.max_wait(budget),
            None => policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::headroom::read_spec;

    #[test]
    fn the_spec_declares_its_counters_and_endpoint_limits_well() {
        let read = read_spec(&super::API).unwrap();
        assert_eq!(
            read.headers.bucket_prefix.as_deref(),
            Some("zendesk-ratelimit-")
        );
        let incremental = super::API
            .operations
            .iter()
            .filter(|op| op.tag == "incremental")
            .count();
        let declared = |bucket: &str| {
            read.declared
                .values()
                .filter(|limits| limits.iter().any(|l| l.bucket == bucket))
                .count()
        };
        assert_eq!(declared("incremental-exports"), incremental);
        assert_eq!(declared("search-export"), 1);
        assert_eq!(declared("ticket-updates"), 1);
        assert_eq!(declared("user-updates"), 1);
    }
}
