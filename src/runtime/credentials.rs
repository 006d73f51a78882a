//! One credential core for every API: a token kept in a [`TokenStore`],
//! renewed by a [`Grant`] (an OAuth refresh, client credentials, TimeSync's
//! login with stored credentials), one renewal at a time.
//!
//! - The token is renewed a little before it expires (60 s, plus up to 30 s
//!   of jitter so that clients sharing a store do not all try at once), and
//!   once after a 401, unless a renewal happened since the rejected request
//!   was sent.
//! - A renewal holds the core's lock and the store's ([`TokenStore::lock`],
//!   shared by other processes for a file store), then reads the store
//!   again: a newer token saved by another client is used instead of
//!   renewing, so a rotated refresh token is never used twice.
//! - The new token is saved (compare-and-swap on the version read) before
//!   it is used. If the save fails, the new token is used anyway (the old
//!   refresh token may be dead already) and saving is tried again on the
//!   next call.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;

use super::token_store::{SaveOutcome, StoredToken};
use super::{OAuthToken, Secret, Stamp, TokenStore};
use crate::error::AuthErrorKind;
use crate::{Error, Result};

/// Renew when fewer than this remain (plus jitter).
const RENEW_BEFORE: Duration = Duration::from_secs(60);
/// Up to this much earlier, at random per token.
const RENEW_JITTER: Duration = Duration::from_secs(30);

/// Gets a new token.
pub trait Grant: Send + Sync {
    /// A new token. `current` is the newest token the store holds; a
    /// refresh grant uses its refresh token.
    fn obtain<'a>(&'a self, current: Option<&'a OAuthToken>) -> BoxFuture<'a, Result<OAuthToken>>;

    /// Whether [`obtain`](Grant::obtain) can work from `current` (a refresh
    /// needs a refresh token; a login needs stored credentials).
    fn can_obtain(&self, current: Option<&OAuthToken>) -> bool;
}

/// A token, its store, its grant, and the renewal rules above.
pub struct CredentialCore {
    store: Arc<dyn TokenStore>,
    grant: RwLock<Option<Arc<dyn Grant>>>,
    state: RwLock<State>,
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    token: Option<OAuthToken>,
    /// The store version the token came from or was saved as.
    version: Option<u64>,
    loaded: bool,
    /// A token that could not be saved yet.
    unsaved: bool,
    /// Counts tokens this core has had (the [`Stamp`] of requests).
    generation: u64,
    /// Renew when fewer than this remain (per token, with jitter).
    renew_before: Duration,
}

impl fmt::Debug for CredentialCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("CredentialCore")
            .field("store", &self.store)
            .field("token", &s.token)
            .field("version", &s.version)
            .finish_non_exhaustive()
    }
}

impl CredentialCore {
    /// A core over `store`; without a grant it can only use what the store
    /// holds (or what [`set`](Self::set) gives it).
    pub fn new(store: Arc<dyn TokenStore>, grant: Option<Arc<dyn Grant>>) -> Self {
        CredentialCore {
            store,
            grant: RwLock::new(grant),
            state: RwLock::new(State::default()),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    /// Uses `grant` from now on (TimeSync's login, once credentials are known).
    pub fn set_grant(&self, grant: Option<Arc<dyn Grant>>) {
        *self.grant.write().unwrap_or_else(|e| e.into_inner()) = grant;
    }

    fn grant(&self) -> Option<Arc<dyn Grant>> {
        self.grant.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn snapshot(&self) -> (Option<OAuthToken>, bool, u64, Duration) {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        (s.token.clone(), s.loaded, s.generation, s.renew_before)
    }

    /// Makes `token` (of store version `version`) the current one.
    fn adopt(&self, token: Option<OAuthToken>, version: Option<u64>, unsaved: bool) {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.token = token;
        s.version = version;
        s.loaded = true;
        s.unsaved = unsaved;
        s.generation += 1;
        s.renew_before = RENEW_BEFORE + RENEW_JITTER.mul_f64(fastrand::f64());
    }

    /// The token in use now, without reading the store.
    pub fn current(&self) -> Option<OAuthToken> {
        self.snapshot().0
    }

    /// The current token, read from the store on first use.
    pub async fn token(&self) -> Result<Option<OAuthToken>> {
        let (token, loaded, _, _) = self.snapshot();
        if loaded {
            self.save_pending().await;
            return Ok(token);
        }
        let stored = self.store.load().await?;
        let _one_at_a_time = self.renewing.lock().await;
        if !self.snapshot().1 {
            let (token, version) = split(stored);
            self.adopt(token, version, false);
        }
        Ok(self.snapshot().0)
    }

    /// Saves `token` to the store, then makes it current (after a code
    /// exchange, a login, or to start from a token obtained elsewhere).
    pub async fn set(&self, token: OAuthToken) -> Result<()> {
        let _one_at_a_time = self.renewing.lock().await;
        let version = match self.store.save(&token, None).await? {
            SaveOutcome::Saved { version } => Some(version),
            SaveOutcome::Conflict(_) => None,
        };
        self.adopt(Some(token), version, false);
        Ok(())
    }

    /// Uses `token` without saving it (a token given to the builder: the
    /// store is written at the next renewal).
    pub fn start_with(&self, token: OAuthToken) {
        self.adopt(Some(token), None, false);
    }

    /// Forgets the token, in memory and in the store.
    pub async fn clear(&self) -> Result<()> {
        let _one_at_a_time = self.renewing.lock().await;
        self.store.clear().await?;
        self.adopt(None, None, false);
        Ok(())
    }

    /// True when there is no token or it has expired.
    pub async fn is_expired(&self) -> Result<bool> {
        Ok(self
            .token()
            .await?
            .is_none_or(|t| t.expires_within(Duration::ZERO)))
    }

    /// The access token to send now (renewed first when it is about to
    /// expire) and the stamp of the credentials it belongs to.
    pub async fn access_token(&self) -> Result<(Secret, Stamp)> {
        self.token().await?;
        let (token, _, generation, renew_before) = self.snapshot();
        let Some(token) = token else {
            if self.grant().is_some_and(|g| g.can_obtain(None)) {
                let t = self.renew(Stamp(generation)).await?;
                return Ok((t.access_token, self.stamp()));
            }
            return Err(Error::auth(
                AuthErrorKind::Missing,
                "no token: authenticate first (exchange a code, log in, or give a token)",
            ));
        };
        if !token.expires_within(renew_before) {
            return Ok((token.access_token, Stamp(generation)));
        }
        let can_renew = self.grant().is_some_and(|g| g.can_obtain(Some(&token)));
        match (can_renew, token.expires_within(Duration::ZERO)) {
            (true, _) => {
                let t = self.renew(Stamp(generation)).await?;
                Ok((t.access_token, self.stamp()))
            }
            (false, false) => Ok((token.access_token, Stamp(generation))),
            (false, true) => Err(Error::auth(
                AuthErrorKind::Expired,
                "the token expired and there is nothing to renew it with (a refresh token or stored credentials)",
            )),
        }
    }

    /// The stamp of the current credentials.
    pub fn stamp(&self) -> Stamp {
        Stamp(self.snapshot().2)
    }

    /// Renews now, unless another task did since `seen` or another client
    /// sharing the store saved a newer token that is still good.
    pub async fn renew(&self, seen: Stamp) -> Result<OAuthToken> {
        let _one_at_a_time = self.renewing.lock().await;
        let (current, _, generation, renew_before) = self.snapshot();
        if generation != seen.0
            && let Some(t) = current.clone().filter(|t| !t.expires_within(renew_before))
        {
            return Ok(t);
        }
        let _shared = self.store.lock().await?;
        let stored = self.store.load().await?;
        let ours = self.state.read().unwrap_or_else(|e| e.into_inner()).version;
        if let Some(s) = &stored
            && Some(s.version) != ours
            && !s.token.expires_within(renew_before)
            && current.as_ref() != Some(&s.token)
        {
            tracing::debug!(version = s.version, "using the token another client saved");
            self.adopt(Some(s.token.clone()), Some(s.version), false);
            return Ok(s.token.clone());
        }
        // Renew from the newest token known: the store's, unless ours is
        // newer and not saved yet.
        let unsaved = self.state.read().unwrap_or_else(|e| e.into_inner()).unsaved;
        let base = match (&stored, unsaved) {
            (_, true) | (None, _) => current.clone(),
            (Some(s), false) => Some(s.token.clone()),
        };
        let grant = self.grant().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Expired,
                "the token ran out and there is nothing to renew it with",
            )
        })?;
        if !grant.can_obtain(base.as_ref()) {
            return Err(Error::auth(
                AuthErrorKind::Expired,
                "the token ran out and there is nothing to renew it with (a refresh token or stored credentials)",
            ));
        }
        let mut fresh = grant.obtain(base.as_ref()).await.map_err(|e| match e {
            Error::Auth { .. } => e,
            other => Error::auth(
                AuthErrorKind::RefreshFailed,
                format!("renewing the token failed: {other}"),
            ),
        })?;
        // What the answer leaves out stays as it was (Cronofy's refresh
        // answer has no `sub`, some APIs keep the refresh token).
        if let Some(old) = &base {
            if fresh.refresh_token.is_none() {
                fresh.refresh_token = old.refresh_token.clone();
            }
            if fresh.subject.is_none() {
                fresh.subject = old.subject.clone();
            }
            if fresh.scope.is_none() {
                fresh.scope = old.scope.clone();
            }
        }
        // Durable first: a rotated refresh token must survive a crash.
        let expected = stored.as_ref().map(|s| s.version);
        match self.store.save(&fresh, expected).await {
            Ok(SaveOutcome::Saved { version }) => {
                self.adopt(Some(fresh.clone()), Some(version), false)
            }
            Ok(SaveOutcome::Conflict(newer)) => {
                // Someone saved while we renewed (a store without a shared
                // lock): theirs is as new as ours; keep ours in use and
                // store it over theirs next time.
                tracing::warn!(?newer, "the token store changed during a renewal");
                self.adopt(Some(fresh.clone()), newer.map(|n| n.version), true);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the renewed token could not be saved; using it and saving again later");
                self.adopt(Some(fresh.clone()), expected, true);
            }
        }
        tracing::debug!("token renewed");
        Ok(fresh)
    }

    /// After a 401 to a request sent with `stamp`: true when the request is
    /// worth sending again (renewed now, or by someone else since).
    pub async fn renew_after_unauthorized(&self, stamp: Stamp) -> Result<bool> {
        let (token, _, generation, _) = self.snapshot();
        if generation != stamp.0 {
            return Ok(true);
        }
        if !self.grant().is_some_and(|g| g.can_obtain(token.as_ref())) {
            return Ok(false);
        }
        self.renew(stamp).await.map(|_| true)
    }

    /// Tries again to save a token whose save failed.
    async fn save_pending(&self) {
        let (pending, version) = {
            let s = self.state.read().unwrap_or_else(|e| e.into_inner());
            (s.unsaved.then(|| s.token.clone()).flatten(), s.version)
        };
        let Some(token) = pending else { return };
        let Ok(_one_at_a_time) = self.renewing.try_lock() else {
            return;
        };
        match self.store.save(&token, version).await {
            Ok(SaveOutcome::Saved { version }) => {
                let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
                if s.token.as_ref() == Some(&token) {
                    s.version = Some(version);
                    s.unsaved = false;
                }
                tracing::debug!("the renewed token is saved now");
            }
            Ok(SaveOutcome::Conflict(newer)) => {
                // Another client stored a newer token: use it.
                let (token, version) = split(newer);
                if token.is_some() {
                    self.adopt(token, version, false);
                }
            }
            Err(e) => tracing::warn!(error = %e, "the renewed token still cannot be saved"),
        }
    }
}

fn split(stored: Option<StoredToken>) -> (Option<OAuthToken>, Option<u64>) {
    match stored {
        Some(s) => (Some(s.token), Some(s.version)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::MemoryTokenStore;
    use chrono::Utc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out `access-N` / `refresh-N` from `refresh-(N-1)`, counting calls.
    struct Counting(Arc<AtomicUsize>);

    impl Grant for Counting {
        fn obtain<'a>(
            &'a self,
            current: Option<&'a OAuthToken>,
        ) -> BoxFuture<'a, Result<OAuthToken>> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                let refresh = current.and_then(|t| t.refresh_token.as_ref()).unwrap();
                assert_eq!(
                    refresh.expose(),
                    format!("refresh-{}", n - 1),
                    "a rotated refresh token was used twice"
                );
                tokio::task::yield_now().await;
                Ok(OAuthToken::new(
                    format!("access-{n}"),
                    Some(Secret::new(format!("refresh-{n}"))),
                    Some(Duration::from_secs(3600)),
                ))
            })
        }

        fn can_obtain(&self, current: Option<&OAuthToken>) -> bool {
            current.is_some_and(|t| t.refresh_token.is_some())
        }
    }

    fn expired() -> OAuthToken {
        let mut t = OAuthToken::new("access-0", Some(Secret::new("refresh-0")), None);
        t.expires_at = Some(Utc::now() - chrono::Duration::seconds(5));
        t
    }

    #[tokio::test]
    async fn fifty_concurrent_calls_renew_once_and_the_rotated_token_is_stored_first() {
        let store = Arc::new(MemoryTokenStore::with(expired()));
        let calls = Arc::new(AtomicUsize::new(0));
        let core = Arc::new(CredentialCore::new(
            store.clone(),
            Some(Arc::new(Counting(calls.clone()))),
        ));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let core = core.clone();
                tokio::spawn(async move { core.access_token().await.unwrap().0 })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "access-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(stored.token.refresh_token.unwrap().expose(), "refresh-1");
    }

    #[tokio::test]
    async fn clients_sharing_a_store_renew_once_and_adopt_the_saved_token() {
        let store = Arc::new(MemoryTokenStore::with(expired()));
        let calls = Arc::new(AtomicUsize::new(0));
        let cores: Vec<_> = (0..8)
            .map(|_| {
                Arc::new(CredentialCore::new(
                    store.clone(),
                    Some(Arc::new(Counting(calls.clone()))),
                ))
            })
            .collect();
        let tasks: Vec<_> = cores
            .iter()
            .map(|c| {
                let c = c.clone();
                tokio::spawn(async move { c.access_token().await.unwrap().0 })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "access-1");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one renewal for eight clients"
        );
    }

    #[tokio::test]
    async fn a_late_401_after_a_renewal_does_not_renew_again() {
        let store = Arc::new(MemoryTokenStore::with(expired()));
        let calls = Arc::new(AtomicUsize::new(0));
        let core = CredentialCore::new(store, Some(Arc::new(Counting(calls.clone()))));
        core.token().await.unwrap();
        let old = core.stamp();
        let (_, new) = core.access_token().await.unwrap();
        assert_ne!(old, new);
        assert!(
            core.renew_after_unauthorized(old).await.unwrap(),
            "replay with the new token"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(core.renew_after_unauthorized(new).await.unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A store whose saves fail until told otherwise.
    #[derive(Debug, Default)]
    struct Flaky {
        inner: MemoryTokenStore,
        failing: std::sync::atomic::AtomicBool,
    }

    impl TokenStore for Flaky {
        fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
            self.inner.load()
        }
        fn save<'a>(
            &'a self,
            token: &'a OAuthToken,
            expected: Option<u64>,
        ) -> BoxFuture<'a, Result<SaveOutcome>> {
            if self.failing.load(Ordering::SeqCst) {
                return Box::pin(async { Err(Error::Config("disk full".into())) });
            }
            self.inner.save(token, expected)
        }
        fn clear(&self) -> BoxFuture<'_, Result<()>> {
            self.inner.clear()
        }
        fn lock(&self) -> BoxFuture<'_, Result<super::super::token_store::StoreLock>> {
            self.inner.lock()
        }
    }

    #[tokio::test]
    async fn a_failed_save_keeps_the_new_token_in_use_and_saves_it_later() {
        let store = Arc::new(Flaky::default());
        store.inner.save(&expired(), None).await.unwrap();
        store.failing.store(true, Ordering::SeqCst);
        let calls = Arc::new(AtomicUsize::new(0));
        let core = CredentialCore::new(store.clone(), Some(Arc::new(Counting(calls.clone()))));
        assert_eq!(core.access_token().await.unwrap().0.expose(), "access-1");
        assert_eq!(
            core.access_token().await.unwrap().0.expose(),
            "access-1",
            "no second renewal"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        store.failing.store(false, Ordering::SeqCst);
        core.token().await.unwrap();
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(stored.token.refresh_token.unwrap().expose(), "refresh-1");
    }
}
