//! What sandboxes share beside routing: query strings, page tokens and
//! rate-limit windows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A query string, decoded, with its pairs in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Reads a raw query string (`a=1&b=2`).
    pub(crate) fn parse(raw: &str) -> Self {
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every pair.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean as clients send it: `true`/`false` in any case (Python's
    /// `True`), `1`/`0`. `Err` holds the value that is neither.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(v.to_string()),
            },
        }
    }
}

/// Opaque page tokens standing for a stored state (what a list query
/// needs to answer its next page), as APIs hand out in next links.
#[derive(Debug)]
pub(crate) struct PageTokens<S> {
    pages: Mutex<HashMap<String, S>>,
}

impl<S: Clone> Default for PageTokens<S> {
    fn default() -> Self {
        PageTokens {
            pages: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: Clone> PageTokens<S> {
    /// Stores `state` under a new token.
    pub(crate) fn issue(&self, state: S) -> String {
        let token = format!("{:016x}", fastrand::u64(..));
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), state);
        token
    }

    /// The state of `token`, if it was issued.
    pub(crate) fn get(&self, token: &str) -> Option<S> {
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }
}

/// An application's rate limit a sandbox may be built with (`limit`
/// requests per `window`), started again on demand.
#[derive(Debug)]
pub(crate) struct AppRateLimit {
    config: Option<(usize, Duration)>,
    window: Mutex<Option<RateWindow>>,
}

impl AppRateLimit {
    /// `limit` requests per `window`, or none.
    pub(crate) fn new(config: Option<(usize, Duration)>) -> Self {
        AppRateLimit {
            config,
            window: Mutex::new(config.map(|(limit, window)| RateWindow::new(limit, window))),
        }
    }

    /// A new window, starting now.
    pub(crate) fn reset(&self) {
        let fresh = self
            .config
            .map(|(limit, window)| RateWindow::new(limit, window));
        *self.window.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// Counts a request; past the limit, the whole seconds until the window
    /// starts again (at least 1), for `Retry-After`.
    pub(crate) fn check(&self) -> Result<(), u64> {
        let window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        match window.as_ref().map(|w| w.admit("application")) {
            Some(Err(left)) => Err(whole_seconds(left).max(1)),
            _ => Ok(()),
        }
    }
}

/// `d` in whole seconds, rounded up.
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A fixed window of at most `limit` requests per key (an application, an
/// account); [`RateWindow::admit`] says how long to wait when it is full.
#[derive(Debug)]
pub(crate) struct RateWindow {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, usize)>>,
}

impl RateWindow {
    /// At most `limit` requests per `window` and key.
    pub(crate) fn new(limit: usize, window: Duration) -> Self {
        RateWindow {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `key`; `Err(retry_after)` when the window is full.
    pub(crate) fn admit(&self, key: &str) -> Result<(), Duration> {
        self.admit_counted(key).map(|_| ())
    }

    /// As [`admit`](Self::admit), saying what is left once it is counted:
    /// (requests left in the window, time until it starts again).
    pub(crate) fn admit_counted(&self, key: &str) -> Result<(usize, Duration), Duration> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        let resets = self.window.saturating_sub(now.duration_since(entry.0));
        if entry.1 >= self.limit {
            return Err(resets);
        }
        entry.1 += 1;
        Ok((self.limit - entry.1, resets))
    }

    /// The most requests per window.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_python_spelling_and_windows_fill() {
        let q = Query::parse("a=True&b=false&c=yes&d=1");
        assert_eq!(q.flag("a"), Ok(Some(true)));
        assert_eq!(q.flag("b"), Ok(Some(false)));
        assert_eq!(q.flag("c"), Err("yes".into()));
        assert_eq!(q.flag("d"), Ok(Some(true)));
        assert_eq!(q.flag("e"), Ok(None));
        let w = RateWindow::new(2, Duration::from_secs(60));
        assert!(w.admit("app").is_ok() && w.admit("app").is_ok());
        assert!(w.admit("app").is_err());
        assert!(w.admit("other").is_ok());
        assert_eq!(w.admit_counted("third").map(|(left, _)| left), Ok(1));
        let tokens = PageTokens::default();
        let t = tokens.issue(7u32);
        assert_eq!(tokens.get(&t), Some(7));
        assert_eq!(tokens.get("nope"), None);
    }
}
