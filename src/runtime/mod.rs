//! The runtime every generated client shares: the HTTP client, credentials,
//! checks against the spec, retries, rate limiting, pagination, tracing and
//! error mapping. It names no API.
//!
//! [`Runtime`] is progenitor's "inner type": each generated `Client` carries
//! one, and every generated `send()` hands its request to
//! [`Runtime::execute`](send) (codegen rewrites it so). Requests that no
//! operation builds (a next link, an upload chunk, a monitor URL) take the
//! same path through [`RawRequest`].

pub mod auth;
pub mod credentials;
mod dates;
#[cfg(feature = "sandbox")]
#[doc(hidden)]
pub mod examples;
pub mod headroom;
#[cfg(test)]
mod hostile_tests;
pub(crate) mod idempotency;
pub(crate) mod json_path;
pub(crate) mod json_stream;
mod json_tail;
pub mod keyed_limits;
pub mod oauth;
mod pager;
pub mod paginate;
#[cfg(test)]
mod paginate_tests;
mod past;
mod patch;
pub mod rate_limit;
pub mod raw;
#[cfg(test)]
mod raw_tests;
pub(crate) mod response;
pub mod retry;
mod secret;
pub(crate) mod send;
#[cfg(test)]
mod shared_store_tests;
#[cfg(any(feature = "cronofy", feature = "zendesk"))]
pub(crate) mod signature;
pub mod spec;
mod time;
pub mod token_store;
pub mod validate;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use self::auth::{Authorizer, Basic, Bearer, Stamp};
pub use self::credentials::{CredentialCore, Grant};
pub use self::dates::IntoDate;
pub use self::headroom::HeadroomLimiter;
pub use self::keyed_limits::{Admission, KeyedLimits, Partition, Share};
pub use self::oauth::{ClientCredentials, OAuthToken};
pub use self::paginate::{Page, PageStream, Paginated, Position};
pub use self::patch::Patch;
pub use self::rate_limit::{Pace, RateLimiter, RequestInterval};
pub use self::raw::{RawRequest, RawRequests, RawResponse};
pub use self::retry::{RetryPolicy, Sleep};
pub use self::secret::Secret;
pub use self::time::UtcDateTime;
#[cfg(feature = "cronofy")]
pub(crate) use self::time::{parse_date, parse_utc};
pub use self::token_store::{
    FileTokenStore, KeyedTokenStore, MemoryTokenStore, StoredToken, TokenStore,
};

use self::retry::Classify;
use self::validate::FormatCheck;
use crate::error::ErrorDetails;

/// What one API tells the runtime beyond its spec: how to read its error
/// bodies, its own formats and checks, and which answers to retry.
pub(crate) struct ApiProfile {
    /// The generated tables.
    pub(crate) spec: &'static spec::ApiSpec,
    /// Reads the API's error body, if the answer is one.
    pub(crate) error_body: fn(&[u8]) -> Option<ErrorDetails>,
    /// Checks of the spec's custom `format`s.
    pub(crate) formats: &'static [(&'static str, FormatCheck)],
    /// Checks that no schema can state (an end after a start), run before
    /// a request of `op` is sent, on its query pairs and JSON body.
    pub(crate) check: ApiCheck,
    /// Which answers are worth sending again.
    pub(crate) classify: Classify,
}

#[cfg(test)]
impl ApiProfile {
    /// A profile for unit tests: no error body, formats or checks of the
    /// API's own; the standard retries.
    pub(crate) const fn for_tests(spec: &'static spec::ApiSpec) -> ApiProfile {
        ApiProfile {
            spec,
            error_body: |_| None,
            formats: &[],
            check: |_, _, _| Ok(()),
            classify: retry::standard,
        }
    }
}

/// An API's own checks of a request of an operation: its query pairs and
/// its JSON body.
pub(crate) type ApiCheck =
    fn(&spec::Operation, &[(String, String)], Option<&serde_json::Value>) -> crate::Result<()>;

/// Query options that a builder's generated `query()` sets (Graph's
/// `Query`), each checked for the operation before anything is sent.
pub trait QueryOptions {
    /// The options as (name on the wire, value) pairs for `op` (query
    /// parameters and headers), or why `op` cannot take them.
    fn options(self, op: &'static spec::Operation) -> crate::Result<Vec<(String, String)>>;
}

/// Shared state of one client: cheap to clone, and its `Debug` shows no secret.
#[derive(Clone)]
pub struct Runtime(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    profile: &'static ApiProfile,
    http: reqwest::Client,
    base_url: url::Url,
    /// Origins that receive credentials: the base URL's and those the
    /// client was configured with (never a host a server named).
    trusted: Vec<url::Origin>,
    authorizer: Option<Arc<dyn Authorizer>>,
    prepare: Option<Arc<dyn Prepare>>,
    /// The API module's own state (TimeSync's session, Cronofy's app).
    state: Option<Arc<dyn std::any::Any + Send + Sync>>,
    config: Config,
}

/// Work an API does on a request of one of its operations before it is
/// sent (TimeSync hashes passwords), once per call.
pub(crate) trait Prepare: Send + Sync {
    fn prepare<'a>(
        &'a self,
        op: &'static spec::Operation,
        request: &'a mut reqwest::Request,
    ) -> futures::future::BoxFuture<'a, crate::Result<()>>;
}

impl Runtime {
    /// A runtime for the API of `profile` at `base_url`, without
    /// credentials (see [`with_authorizer`](Self::with_authorizer)).
    pub(crate) fn new(
        profile: &'static ApiProfile,
        base_url: &str,
        config: &Config,
    ) -> crate::Result<Self> {
        let base_url = parse_base_url(profile.spec.name, "base_url", base_url)?;
        let mut trusted = vec![base_url.origin()];
        trusted.extend(config.trusted_origins.iter().cloned());
        Ok(Runtime(Arc::new(Inner {
            profile,
            http: config.http_client()?,
            base_url,
            trusted,
            authorizer: None,
            prepare: None,
            state: None,
            config: config.clone(),
        })))
    }

    /// The same runtime (sharing its HTTP client and connection pool) with
    /// `authorizer` adding credentials to the requests it sends to trusted
    /// hosts: an API's client beside the plain one its token calls go through.
    pub(crate) fn with_authorizer(self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.rebuilt(|inner| inner.authorizer = Some(authorizer))
    }

    /// The same runtime with `prepare` run on each request (once per call).
    #[allow(dead_code)] // for the APIs that prepare requests (TimeSync, Zendesk)
    pub(crate) fn with_prepare(self, prepare: Arc<dyn Prepare>) -> Self {
        self.rebuilt(|inner| inner.prepare = Some(prepare))
    }

    /// The same runtime carrying the API module's `state`.
    pub(crate) fn with_state<T: std::any::Any + Send + Sync>(self, state: Arc<T>) -> Self {
        self.rebuilt(|inner| inner.state = Some(state))
    }

    /// The API module's state, if it is a `T`.
    pub(crate) fn state<T: std::any::Any>(&self) -> Option<&T> {
        self.0.state.as_ref().and_then(|s| s.downcast_ref())
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut copy = Inner::clone(&self.0);
        change(&mut copy);
        Runtime(Arc::new(copy))
    }

    /// Name of the API this runtime serves, as used in tracing.
    pub fn api(&self) -> &'static str {
        self.0.profile.spec.name
    }

    /// The API's spec tables.
    pub fn spec(&self) -> &'static spec::ApiSpec {
        self.0.profile.spec
    }

    /// The base URL every operation's path is appended to (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.0.base_url.as_str().trim_end_matches('/')
    }

    /// The path of the base URL (`/v0`), empty for a host root: what the
    /// path of a request of an operation starts with.
    pub(crate) fn base_path(&self) -> &str {
        self.0.base_url.path().trim_end_matches('/')
    }

    /// The origin of the base URL, as shown in messages.
    pub(crate) fn base_origin(&self) -> String {
        self.0.base_url.origin().ascii_serialization()
    }

    /// The HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.0.config.retry
    }

    /// Whether requests to `url` get this client's credentials: only the
    /// base URL's origin and origins the client was configured to trust.
    pub fn is_trusted(&self, url: &url::Url) -> bool {
        let origin = url.origin();
        self.0.trusted.contains(&origin)
    }

    pub(crate) fn profile(&self) -> &'static ApiProfile {
        self.0.profile
    }

    pub(crate) fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.0.authorizer.as_ref()
    }

    pub(crate) fn prepare(&self) -> Option<&Arc<dyn Prepare>> {
        self.0.prepare.as_ref()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.0.config
    }

    pub(crate) fn max_response_size(&self) -> usize {
        self.0.config.max_response_size
    }

    pub(crate) fn sleep(&self) -> &Sleep {
        &self.0.config.sleep
    }

    pub(crate) fn rate_limiter(&self) -> Option<&Arc<dyn RateLimiter>> {
        self.0.config.rate_limiter.as_ref()
    }

    pub(crate) fn keyed_limits(&self) -> Option<&Arc<KeyedLimits>> {
        self.0.config.keyed_limits.as_ref()
    }

    /// The base URL, parsed.
    pub(crate) fn base_url_parsed(&self) -> &url::Url {
        &self.0.base_url
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("api", &self.api())
            .field("base_url", &self.base_url())
            .field("authorizer", &self.0.authorizer)
            .field("retry", &self.0.config.retry)
            .field("rate_limiter", &self.0.config.rate_limiter)
            .field("keyed_limits", &self.0.config.keyed_limits)
            .finish_non_exhaustive()
    }
}

/// `raw` as a base URL: http(s), a host, no query; the trailing slash dropped.
pub(crate) fn parse_base_url(api: &str, field: &str, raw: &str) -> crate::Result<url::Url> {
    url::Url::parse(raw.trim_end_matches('/'))
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none()
        })
        .ok_or_else(|| {
            crate::Error::Config(format!(
                "{api}: {field} `{raw}` is not an http or https URL"
            ))
        })
}

/// Sets query parameter `name` of `url` to `value`, replacing any.
pub(crate) fn set_query(url: &mut url::Url, name: &str, value: &str) {
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(others)
        .append_pair(name, value);
}

/// The most bytes of one answer (or one item of a streamed list) a client
/// reads by default: larger answers are an [`Error::TooLarge`](crate::Error::TooLarge).
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 64 * 1024 * 1024;

/// Settings every API's client builder shares.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) retry: RetryPolicy,
    pub(crate) sleep: Sleep,
    pub(crate) rate_limiter: Option<Arc<dyn RateLimiter>>,
    /// Limits per partition of requests (Graph's Outlook mailboxes).
    pub(crate) keyed_limits: Option<Arc<KeyedLimits>>,
    pub(crate) http: Option<reqwest::Client>,
    /// Connect timeout, and how long the server may stay silent while the
    /// client waits for its answer or the next bytes of it.
    pub(crate) timeout: Duration,
    /// All attempts and waits of one call together.
    pub(crate) deadline: Option<Duration>,
    pub(crate) max_response_size: usize,
    pub(crate) trusted_origins: Vec<url::Origin>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retry: RetryPolicy::standard(),
            sleep: Sleep::tokio(),
            rate_limiter: None,
            keyed_limits: None,
            http: None,
            timeout: Duration::from_secs(30),
            deadline: Some(Duration::from_secs(120)),
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            trusted_origins: Vec::new(),
        }
    }
}

impl Config {
    /// The HTTP client: the user's, or a new one with rustls and our
    /// connect timeout. The runtime keeps the idle timeout itself (the
    /// server's silence while we wait, not the caller's pace), so a long
    /// list read slowly does not fail.
    pub(crate) fn http_client(&self) -> crate::Result<reqwest::Client> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        tls::install_default_provider();
        reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .user_agent(concat!("specbound/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::Error::Config(format!("cannot build the HTTP client: {e}")))
    }
}

mod tls {
    /// Makes ring the process's rustls provider (with the `tls-ring`
    /// feature), unless the program installed one of its own.
    pub(super) fn install_default_provider() {
        #[cfg(feature = "tls-ring")]
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may win the race; its provider is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
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

        /// Limits kept per partition of requests (requests in flight, per
        /// window, upload bytes per window), beside the rate limiter.
        pub fn keyed_limits(mut self, limits: crate::runtime::KeyedLimits) -> Self {
            self.config.keyed_limits = Some(std::sync::Arc::new(limits));
            self
        }

        /// Use this `reqwest::Client` (for proxies, custom TLS, connection
        /// pools shared with other code). Its own timeout settings apply.
        pub fn http_client(mut self, http: reqwest::Client) -> Self {
            self.config.http = Some(http);
            self
        }

        /// Connect timeout, and idle timeout of each request: how long the
        /// server may stay silent while the client waits for its answer or
        /// its next bytes (default 30 s). The time a caller takes to read a
        /// streamed list does not count.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.timeout = timeout;
            self
        }

        /// The longest one call may take, all attempts and waits between
        /// them included (default 120 s; `None` for no limit). A stream's
        /// deadline covers each page's request, not the reading of a list.
        pub fn deadline(mut self, deadline: Option<std::time::Duration>) -> Self {
            self.config.deadline = deadline;
            self
        }

        /// The most bytes of one answer (or one item of a streamed list)
        /// the client reads (default 64 MiB); larger is an
        /// [`Error::TooLarge`](crate::Error::TooLarge), not an out-of-memory.
        pub fn max_response_size(mut self, bytes: usize) -> Self {
            self.config.max_response_size = bytes;
            self
        }
    };
}
pub(crate) use common_builder_methods;
