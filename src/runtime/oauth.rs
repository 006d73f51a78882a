//! OAuth2 sessions: an access token with its refresh token, kept in a
//! [`TokenStore`], refreshed before it expires and once after a 401.
//!
//! Shared by every API that uses OAuth2 (Cronofy, Microsoft Graph, Zendesk):
//! each supplies a [`Refresher`] that calls its own token endpoint.
//!
//! - A refresh happens when under 60 s of validity remain, one at a time:
//!   concurrent calls wait for the refresh in flight and use its result.
//! - A refreshed token (with its possibly rotated refresh token) is saved to
//!   the store **before** it is used, so a crash never loses the only valid
//!   refresh token.
//! - A 401 triggers one refresh and one replay, never a loop.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Authorizer, Secret, auth::set_bearer};
use crate::error::AuthErrorKind;
use crate::{Error, Result};

/// Refresh when fewer than this many seconds of validity remain.
const REFRESH_BEFORE: Duration = Duration::from_secs(60);

/// An OAuth2 access token, its refresh token and when it expires.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthToken {
    /// Sent as `Authorization: Bearer`.
    pub access_token: Secret,
    /// Used to get a new access token; some grants have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// When the access token stops working; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted scopes, space-separated, as the API answered them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The API's identifier of the authorized account or user (Cronofy `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl OAuthToken {
    /// A token valid for `expires_in` from now.
    pub fn new(
        access_token: impl Into<Secret>,
        refresh_token: Option<Secret>,
        expires_in: Option<Duration>,
    ) -> Self {
        OAuthToken {
            access_token: access_token.into(),
            refresh_token,
            expires_at: expires_in
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            scope: None,
            subject: None,
        }
    }

    /// True when the access token has expired (or expires within `margin`).
    pub fn expires_within(&self, margin: Duration) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or_default();
        self.expires_at.is_some_and(|at| at - margin <= Utc::now())
    }
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("subject", &self.subject)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a session keeps its token between calls and between runs.
///
/// Implement it to keep tokens in your own database or secret manager;
/// [`MemoryTokenStore`] and [`FileTokenStore`] are built in.
pub trait TokenStore: fmt::Debug + Send + Sync {
    /// The stored token, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthToken>>>;
    /// Stores `token`, replacing any other; must be durable when it returns.
    fn save<'a>(&'a self, token: &'a OAuthToken) -> BoxFuture<'a, Result<()>>;
    /// Forgets the token (after a revocation).
    fn clear(&self) -> BoxFuture<'_, Result<()>>;
}

/// Keeps the token in memory only.
#[derive(Debug, Default)]
pub struct MemoryTokenStore(RwLock<Option<OAuthToken>>);

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `token`.
    pub fn with(token: OAuthToken) -> Self {
        MemoryTokenStore(RwLock::new(Some(token)))
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthToken>>> {
        let token = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(token) })
    }

    fn save<'a>(&'a self, token: &'a OAuthToken) -> BoxFuture<'a, Result<()>> {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Box::pin(async { Ok(()) })
    }

    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = None;
        Box::pin(async { Ok(()) })
    }
}

/// Keeps the token in a JSON file, replaced atomically (written beside it,
/// synced, then renamed) and readable by its owner only (mode 0600 on Unix).
///
/// ```no_run
/// use specbound::runtime::FileTokenStore;
/// let store = FileTokenStore::new("cronofy-token.json");
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path`; the file is created on the first save.
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileTokenStore {
            path: path.as_ref().to_path_buf(),
        }
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Config(format!(
            "token store {}: cannot {what}: {e}",
            self.path.display()
        ))
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthToken>>> {
        Box::pin(async move {
            match tokio::fs::read(&self.path).await {
                Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                    Error::Config(format!(
                        "token store {}: not a token file: {e}",
                        self.path.display()
                    ))
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.io_error("read it", e)),
            }
        })
    }

    fn save<'a>(&'a self, token: &'a OAuthToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let bytes = serde_json::to_vec_pretty(token)
                .map_err(|e| Error::Config(format!("token store: {e}")))?;
            let path = self.path.clone();
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            tokio::task::spawn_blocking(move || write_private(&tmp, &path, &bytes))
                .await
                .map_err(|e| Error::Config(format!("token store: {e}")))?
                .map_err(|e| self.io_error("write it", e))
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(&self.path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.io_error("remove it", e)),
            }
        })
    }
}

/// Writes `bytes` to `tmp` (owner-only), syncs it and renames it over `path`.
fn write_private(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)
}

/// Gets a new token from a refresh token, at the API's token endpoint.
pub trait Refresher: Send + Sync {
    /// Exchanges `refresh_token` for a new token. An answer without a refresh
    /// token keeps the old one.
    fn refresh<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<OAuthToken>>;
}

/// An OAuth2 session: a [`TokenStore`], a [`Refresher`], and the rules above.
pub struct OAuthSession {
    store: Arc<dyn TokenStore>,
    refresher: Box<dyn Refresher>,
    state: RwLock<State>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    token: Option<OAuthToken>,
    loaded: bool,
    /// Bumped on every new token, so that concurrent refreshes happen once.
    generation: u64,
}

impl fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("OAuthSession")
            .field("store", &self.store)
            .field("token", &s.token)
            .finish_non_exhaustive()
    }
}

impl OAuthSession {
    /// A session over `store`, refreshing with `refresher`.
    pub fn new(store: Arc<dyn TokenStore>, refresher: impl Refresher + 'static) -> Self {
        OAuthSession {
            store,
            refresher: Box::new(refresher),
            state: RwLock::new(State::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// A session starting from `token` instead of what the store holds.
    pub fn with_token(
        store: Arc<dyn TokenStore>,
        refresher: impl Refresher + 'static,
        token: OAuthToken,
    ) -> Self {
        let session = Self::new(store, refresher);
        {
            let mut s = session.state.write().unwrap_or_else(|e| e.into_inner());
            s.token = Some(token);
            s.loaded = true;
        }
        session
    }

    /// Counts the tokens this session has had; a refresh started from an
    /// older count is skipped when another finished meanwhile.
    pub(crate) fn generation(&self) -> u64 {
        self.snapshot().2
    }

    fn snapshot(&self) -> (Option<OAuthToken>, bool, u64) {
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        (s.token.clone(), s.loaded, s.generation)
    }

    /// The current token, loaded from the store on first use.
    pub async fn token(&self) -> Result<Option<OAuthToken>> {
        let (token, loaded, _) = self.snapshot();
        if loaded {
            return Ok(token);
        }
        let stored = self.store.load().await?;
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        if !s.loaded {
            s.token = stored;
            s.loaded = true;
        }
        Ok(s.token.clone())
    }

    /// Saves `token` to the store, then makes it current (after a code
    /// exchange, or to start from a token obtained elsewhere).
    pub async fn set(&self, token: OAuthToken) -> Result<()> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.store.save(&token).await?;
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.token = Some(token);
        s.loaded = true;
        s.generation += 1;
        Ok(())
    }

    /// Forgets the token, in memory and in the store.
    pub async fn clear(&self) -> Result<()> {
        let _one_at_a_time = self.refreshing.lock().await;
        self.store.clear().await?;
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.token = None;
        s.loaded = true;
        s.generation += 1;
        Ok(())
    }

    /// True when there is no token or it has expired (pycronofy's
    /// `is_authorization_expired`).
    pub async fn is_expired(&self) -> Result<bool> {
        Ok(self
            .token()
            .await?
            .is_none_or(|t| t.expires_within(Duration::ZERO)))
    }

    /// The access token to send now, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> Result<Secret> {
        self.token().await?;
        // Token and generation read together, so a refresh that finished in
        // between is not repeated.
        let (token, _, generation) = self.snapshot();
        let Some(token) = token else {
            return Err(Error::auth(
                AuthErrorKind::Missing,
                "no OAuth token: complete the authorization (exchange a code) or give a token",
            ));
        };
        if !token.expires_within(REFRESH_BEFORE) {
            return Ok(token.access_token);
        }
        match (&token.refresh_token, token.expires_within(Duration::ZERO)) {
            (Some(_), _) => Ok(self.refresh(generation).await?.access_token),
            (None, false) => Ok(token.access_token),
            (None, true) => Err(Error::auth(
                AuthErrorKind::Expired,
                "the access token expired and there is no refresh token to renew it",
            )),
        }
    }

    /// Refreshes now, unless another task did since `seen_generation`.
    /// The new token is saved before it is returned.
    pub(crate) async fn refresh(&self, seen_generation: u64) -> Result<OAuthToken> {
        let _one_at_a_time = self.refreshing.lock().await;
        let (current, _, generation) = self.snapshot();
        if generation != seen_generation
            && let Some(t) = current.clone()
        {
            return Ok(t);
        }
        let Some(refresh_token) = current.and_then(|t| t.refresh_token) else {
            return Err(Error::auth(
                AuthErrorKind::Expired,
                "no refresh token to renew the access token with",
            ));
        };
        let mut fresh = self.refresher.refresh(&refresh_token).await.map_err(|e| {
            Error::auth(
                AuthErrorKind::RefreshFailed,
                format!("refreshing the access token failed: {e}"),
            )
        })?;
        // What the answer leaves out stays as it was (Cronofy's refresh
        // answer has no `sub`, some APIs keep the refresh token).
        let old = self.snapshot().0;
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh_token);
        }
        if fresh.subject.is_none() {
            fresh.subject = old.as_ref().and_then(|t| t.subject.clone());
        }
        if fresh.scope.is_none() {
            fresh.scope = old.and_then(|t| t.scope);
        }
        // Durable first: a rotated refresh token must survive a crash.
        self.store.save(&fresh).await.map_err(|e| {
            Error::auth(
                AuthErrorKind::RefreshFailed,
                format!("the refreshed token could not be stored: {e}"),
            )
        })?;
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.token = Some(fresh.clone());
        s.generation += 1;
        tracing::debug!("access token refreshed");
        Ok(fresh)
    }

    /// Refreshes after a 401, unless a refresh already happened meanwhile.
    pub(crate) async fn refresh_after_401(&self) -> Result<bool> {
        let (token, _, generation) = self.snapshot();
        if token.as_ref().is_none_or(|t| t.refresh_token.is_none()) {
            return Ok(false);
        }
        self.refresh(generation).await.map(|_| true)
    }
}

impl Authorizer for OAuthSession {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { set_bearer(request, &self.access_token().await?) })
    }

    fn renew_after_unauthorized<'a>(
        &'a self,
        _: &'a str,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.refresh_after_401())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out `access-N` / `refresh-N`, counting calls.
    struct Counting(Arc<AtomicUsize>);

    impl Refresher for Counting {
        fn refresh<'a>(&'a self, refresh_token: &'a Secret) -> BoxFuture<'a, Result<OAuthToken>> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                assert_eq!(refresh_token.expose(), format!("refresh-{}", n - 1));
                tokio::task::yield_now().await;
                Ok(OAuthToken::new(
                    format!("access-{n}"),
                    Some(Secret::new(format!("refresh-{n}"))),
                    Some(Duration::from_secs(3600)),
                ))
            })
        }
    }

    fn expired() -> OAuthToken {
        let mut t = OAuthToken::new("access-0", Some(Secret::new("refresh-0")), None);
        t.expires_at = Some(Utc::now() - chrono::Duration::seconds(5));
        t
    }

    #[tokio::test]
    async fn fifty_concurrent_calls_refresh_once_and_the_rotated_token_is_stored() {
        let store = Arc::new(MemoryTokenStore::with(expired()));
        let calls = Arc::new(AtomicUsize::new(0));
        let session = Arc::new(OAuthSession::new(store.clone(), Counting(calls.clone())));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = session.clone();
                tokio::spawn(async move { s.access_token().await.unwrap().expose().to_string() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), "access-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(stored.refresh_token.unwrap().expose(), "refresh-1");
    }

    #[tokio::test]
    async fn file_store_replaces_atomically_with_owner_only_mode_and_debug_hides_tokens() {
        let dir = std::env::temp_dir().join(format!("specbound-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = FileTokenStore::new(dir.join("token.json"));
        assert_eq!(store.load().await.unwrap(), None);
        store.save(&expired()).await.unwrap();
        let mut second = expired();
        second.access_token = Secret::new("access-9");
        store.save(&second).await.unwrap();
        assert_eq!(
            store.load().await.unwrap().unwrap().access_token.expose(),
            "access-9"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("token.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
        assert!(!format!("{second:?}").contains("access-9"));
        store.clear().await.unwrap();
        assert_eq!(store.load().await.unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn what_a_refresh_answer_leaves_out_is_kept() {
        let mut old = expired();
        old.subject = Some("acc_1".into());
        old.scope = Some("read_write".into());
        let store = Arc::new(MemoryTokenStore::with(old));
        let session = OAuthSession::new(store.clone(), Counting(Arc::default()));
        session.access_token().await.unwrap();
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(
            (stored.subject.as_deref(), stored.scope.as_deref()),
            (Some("acc_1"), Some("read_write"))
        );
    }

    #[tokio::test]
    async fn without_a_refresh_token_an_expired_token_is_an_auth_error() {
        let mut t = expired();
        t.refresh_token = None;
        let session = OAuthSession::new(
            Arc::new(MemoryTokenStore::with(t)),
            Counting(Arc::default()),
        );
        assert!(session.is_expired().await.unwrap());
        let err = session.access_token().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Auth {
                    kind: AuthErrorKind::Expired,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
