//! The runtime every generated client shares: credentials, retries, rate
//! limiting, pagination, tracing. It names no API.
//!
//! [`Runtime`] is progenitor's "inner type": each generated `Client` carries
//! one, and the client's `ClientHooks` delegate to `hooks`.

pub mod auth;
mod dates;
pub(crate) mod hooks;
pub(crate) mod json_path;
pub(crate) mod json_stream;
pub mod oauth;
pub mod paginate;
mod patch;
pub mod rate_limit;
pub mod retry;
mod secret;
mod time;

use std::fmt;
use std::sync::Arc;

pub use self::auth::{Authorizer, Basic, Bearer};
pub use self::dates::IntoDate;
pub use self::oauth::{
    FileTokenStore, MemoryTokenStore, OAuthSession, OAuthToken, Refresher, TokenStore,
};
pub use self::paginate::{Page, PageItems, Paginated, Position};
pub use self::patch::Patch;
pub use self::rate_limit::{RateLimiter, RequestInterval};
pub use self::retry::{RetryPolicy, Sleep};
pub use self::secret::Secret;
pub use self::time::UtcDateTime;
pub(crate) use self::time::{parse_date, parse_utc};

/// Shared state of one client: cheap to clone, and its `Debug` shows no secret.
#[derive(Clone)]
pub struct Runtime(Arc<Inner>);

struct Inner {
    api: &'static str,
    authorizer: Option<Arc<dyn Authorizer>>,
    retry: RetryPolicy,
    sleep: Sleep,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
}

impl Runtime {
    /// A runtime for `api` built from `config`, with `authorizer` adding
    /// credentials to each request.
    pub(crate) fn new(
        api: &'static str,
        config: &Config,
        authorizer: Option<Arc<dyn Authorizer>>,
    ) -> Self {
        Runtime(Arc::new(Inner {
            api,
            authorizer,
            retry: config.retry.clone(),
            sleep: config.sleep.clone(),
            rate_limiter: config.rate_limiter.clone(),
        }))
    }

    /// Name of the API this runtime serves, as used in tracing.
    pub fn api(&self) -> &'static str {
        self.0.api
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.0.retry
    }

    pub(crate) fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.0.authorizer.as_ref()
    }

    pub(crate) fn sleep(&self) -> &Sleep {
        &self.0.sleep
    }

    pub(crate) fn rate_limiter(&self) -> Option<&Arc<dyn RateLimiter>> {
        self.0.rate_limiter.as_ref()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("api", &self.0.api)
            .field("authorizer", &self.0.authorizer)
            .field("retry", &self.0.retry)
            .field("rate_limiter", &self.0.rate_limiter)
            .finish_non_exhaustive()
    }
}

/// Keeps the first error of a chain of builder setters (the builder reports
/// it when sent), passing good values on.
pub(crate) fn keep<T>(
    first_error: &mut Option<crate::Error>,
    value: crate::Result<T>,
) -> Option<T> {
    match value {
        Ok(v) => Some(v),
        Err(e) => {
            first_error.get_or_insert(e);
            None
        }
    }
}

/// Settings every API's client builder shares.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) retry: RetryPolicy,
    pub(crate) sleep: Sleep,
    pub(crate) rate_limiter: Option<Arc<dyn RateLimiter>>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) timeout: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retry: RetryPolicy::standard(),
            sleep: Sleep::tokio(),
            rate_limiter: None,
            http: None,
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

impl Config {
    /// The HTTP client: the user's, or a new one with rustls and our timeout.
    pub(crate) fn http_client(&self) -> crate::Result<reqwest::Client> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("specbound/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::Error::Config(format!("cannot build the HTTP client: {e}")))
    }
}

/// Adds the builder methods every API's `ClientBuilder` shares; the builder
/// must have a `config: crate::runtime::Config` field.
macro_rules! common_builder_methods {
    () => {
        /// Retry policy for this client (default: [`RetryPolicy::standard`](crate::runtime::RetryPolicy::standard)).
        pub fn retry(mut self, policy: crate::runtime::RetryPolicy) -> Self {
            self.config.retry = policy;
            self
        }

        /// How the client waits between retries (default: tokio's timer).
        /// Tests pass a recorder so that nothing sleeps for real.
        pub fn sleep(mut self, sleep: crate::runtime::Sleep) -> Self {
            self.config.sleep = sleep;
            self
        }

        /// Paces requests (default: none).
        pub fn rate_limiter(mut self, limiter: impl crate::runtime::RateLimiter + 'static) -> Self {
            self.config.rate_limiter = Some(std::sync::Arc::new(limiter));
            self
        }

        /// Use this `reqwest::Client` (for proxies, custom TLS, connection
        /// pools shared with other code). Its own timeout settings apply.
        pub fn http_client(mut self, http: reqwest::Client) -> Self {
            self.config.http = Some(http);
            self
        }

        /// Timeout of each HTTP request (default 30 s); ignored with
        /// [`http_client`](Self::http_client).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.timeout = timeout;
            self
        }
    };
}
pub(crate) use common_builder_methods;
