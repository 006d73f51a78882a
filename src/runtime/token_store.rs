//! Where tokens live between calls, between runs and between processes.
//!
//! A [`TokenStore`] keeps one token with a version that grows on every
//! save, saves compare-and-swap on that version, and [`TokenStore::lock`]
//! holds other renewals off (in other processes too, for a
//! [`FileTokenStore`]). The [`CredentialCore`](super::CredentialCore) reads
//! the store again under that lock before it renews, so clients sharing a
//! store renew once per expiry and never use a rotated-away refresh token.
//! A store shared through Redis later only has to implement this trait.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::OAuthToken;
use crate::{Error, Result};

/// A stored token and its version (1 for the first save, then one more per save).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredToken {
    /// The token.
    pub token: OAuthToken,
    /// Its version.
    pub version: u64,
}

/// What a compare-and-swap save did.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveOutcome {
    /// Stored with this version.
    Saved {
        /// The new version.
        version: u64,
    },
    /// Not stored: the store held another version than expected, this one.
    Conflict(Option<StoredToken>),
}

/// Held while a client renews; dropping it lets others renew.
pub struct StoreLock(#[allow(dead_code)] Option<Box<dyn Send + Sync>>);

impl StoreLock {
    /// A lock that holds nothing (stores not shared beyond this process).
    pub fn none() -> Self {
        StoreLock(None)
    }

    /// A lock that holds `guard` until dropped.
    pub fn holding(guard: impl Send + Sync + 'static) -> Self {
        StoreLock(Some(Box::new(guard)))
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

/// Where a client keeps its token. Implement it to keep tokens in your own
/// database or secret manager; [`MemoryTokenStore`] and [`FileTokenStore`]
/// are built in, and `Arc<S>` shares one store between clients.
pub trait TokenStore: fmt::Debug + Send + Sync {
    /// The stored token and its version, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>>;

    /// Stores `token` as the next version if the stored version is still
    /// `expected` (`None`: whatever is stored); durable when it returns.
    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<SaveOutcome>>;

    /// Forgets the token (after a revocation).
    fn clear(&self) -> BoxFuture<'_, Result<()>>;

    /// Holds other renewals off until the lock is dropped: the renewal of
    /// every client sharing this store, in this process and others.
    fn lock(&self) -> BoxFuture<'_, Result<StoreLock>>;
}

impl<S: TokenStore + ?Sized> TokenStore for Arc<S> {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        (**self).load()
    }
    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<SaveOutcome>> {
        (**self).save(token, expected)
    }
    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        (**self).clear()
    }
    fn lock(&self) -> BoxFuture<'_, Result<StoreLock>> {
        (**self).lock()
    }
}

/// A view of a store whose tokens carry a key (for Graph: cloud, tenant,
/// client, account and scopes): a token saved under another key is not
/// loaded, so tokens never cross clouds, tenants or scope sets; a save
/// stamps the key on the token.
#[derive(Debug, Clone)]
pub struct KeyedTokenStore {
    inner: Arc<dyn TokenStore>,
    key: String,
}

impl KeyedTokenStore {
    /// `inner` seen through `key`.
    pub fn new(inner: Arc<dyn TokenStore>, key: impl Into<String>) -> Self {
        KeyedTokenStore {
            inner,
            key: key.into(),
        }
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl TokenStore for KeyedTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        Box::pin(async move {
            let stored = self.inner.load().await?;
            Ok(stored.filter(|s| s.token.key.as_deref() == Some(self.key.as_str())))
        })
    }

    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<SaveOutcome>> {
        Box::pin(async move {
            let mut keyed = token.clone();
            keyed.key = Some(self.key.clone());
            match self.inner.save(&keyed, expected).await? {
                // Another key's token is nothing to this view.
                SaveOutcome::Conflict(Some(other))
                    if other.token.key.as_deref() != Some(self.key.as_str()) =>
                {
                    self.inner.save(&keyed, Some(other.version)).await
                }
                outcome => Ok(outcome),
            }
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match self.load().await? {
                Some(_) => self.inner.clear().await,
                None => Ok(()),
            }
        })
    }

    fn lock(&self) -> BoxFuture<'_, Result<StoreLock>> {
        self.inner.lock()
    }
}

/// Keeps the token in memory; clients sharing one (through an `Arc`) renew
/// one at a time.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    slot: RwLock<Option<StoredToken>>,
    last_version: AtomicU64,
    renewing: Arc<tokio::sync::Mutex<()>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `token` (version 1).
    pub fn with(token: OAuthToken) -> Self {
        let store = Self::default();
        *store.slot.write().unwrap_or_else(|e| e.into_inner()) =
            Some(StoredToken { token, version: 1 });
        store.last_version.store(1, Ordering::SeqCst);
        store
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        let token = self.slot.read().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(token) })
    }

    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<SaveOutcome>> {
        let mut slot = self.slot.write().unwrap_or_else(|e| e.into_inner());
        let outcome = match (expected, slot.as_ref().map(|s| s.version)) {
            (Some(want), have) if have != Some(want) => SaveOutcome::Conflict(slot.clone()),
            _ => {
                let version = self.last_version.fetch_add(1, Ordering::SeqCst) + 1;
                *slot = Some(StoredToken {
                    token: token.clone(),
                    version,
                });
                SaveOutcome::Saved { version }
            }
        };
        Box::pin(async move { Ok(outcome) })
    }

    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = None;
        Box::pin(async { Ok(()) })
    }

    fn lock(&self) -> BoxFuture<'_, Result<StoreLock>> {
        let renewing = self.renewing.clone();
        Box::pin(async move { Ok(StoreLock::holding(renewing.lock_owned().await)) })
    }
}

/// Keeps the token in a JSON file that several processes may share.
///
/// Saves are atomic (a uniquely named file beside it, synced, then renamed
/// over it), readable by the owner only (mode 0600 on Unix), and made under
/// an exclusive lock on `<file>.lock`, so a compare-and-swap sees every
/// other save; [`lock`](TokenStore::lock) takes `<file>.renew.lock` for a
/// whole renewal. Locks are the operating system's (released when a
/// process dies).
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

/// The file's content: the token and its version.
#[derive(Serialize, Deserialize)]
struct FileContent {
    version: u64,
    token: OAuthToken,
}

impl FileTokenStore {
    /// A store at `path`; the file is created on the first save.
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileTokenStore {
            path: path.as_ref().to_path_buf(),
        }
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Config(format!(
            "token store {}: cannot {what}: {e}",
            self.path.display()
        ))
    }

    /// Reads the file (a file from before versions is version 0).
    fn read(&self) -> Result<Option<StoredToken>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                if let Ok(c) = serde_json::from_slice::<FileContent>(&bytes) {
                    return Ok(Some(StoredToken {
                        token: c.token,
                        version: c.version,
                    }));
                }
                serde_json::from_slice::<OAuthToken>(&bytes)
                    .map(|token| Some(StoredToken { token, version: 0 }))
                    .map_err(|e| {
                        Error::Config(format!(
                            "token store {}: not a token file: {e}",
                            self.path.display()
                        ))
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("read it", e)),
        }
    }

    /// Compare-and-swap under the write lock (blocking; run off the async threads).
    fn save_blocking(&self, token: &OAuthToken, expected: Option<u64>) -> Result<SaveOutcome> {
        let _write = lock_file(&self.sibling(".lock")).map_err(|e| self.io_error("lock it", e))?;
        let current = self.read()?;
        let have = current.as_ref().map(|c| c.version);
        if let Some(want) = expected
            && have != Some(want)
        {
            return Ok(SaveOutcome::Conflict(current));
        }
        let version = have.unwrap_or(0) + 1;
        let bytes = serde_json::to_vec_pretty(&FileContent {
            version,
            token: token.clone(),
        })
        .map_err(|e| Error::Config(format!("token store: {e}")))?;
        write_private(&self.temp_path(), &self.path, &bytes)
            .map_err(|e| self.io_error("write it", e))?;
        Ok(SaveOutcome::Saved { version })
    }

    /// A name for the file written before the rename, unique across
    /// processes and within one.
    fn temp_path(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.sibling(&format!(
            ".{}.{n}.{:08x}.tmp",
            std::process::id(),
            fastrand::u32(..)
        ))
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredToken>>> {
        let store = self.clone();
        Box::pin(async move { blocking(move || store.read()).await })
    }

    fn save<'a>(
        &'a self,
        token: &'a OAuthToken,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<SaveOutcome>> {
        let (store, token) = (self.clone(), token.clone());
        Box::pin(async move { blocking(move || store.save_blocking(&token, expected)).await })
    }

    fn clear(&self) -> BoxFuture<'_, Result<()>> {
        let store = self.clone();
        Box::pin(async move {
            blocking(move || {
                let _write =
                    lock_file(&store.sibling(".lock")).map_err(|e| store.io_error("lock it", e))?;
                match std::fs::remove_file(&store.path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(store.io_error("remove it", e)),
                }
            })
            .await
        })
    }

    fn lock(&self) -> BoxFuture<'_, Result<StoreLock>> {
        let store = self.clone();
        Box::pin(async move {
            let file = blocking(move || {
                lock_file(&store.sibling(".renew.lock")).map_err(|e| store.io_error("lock it", e))
            })
            .await?;
            Ok(StoreLock::holding(file))
        })
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Config(format!("token store: {e}")))?
}

/// Opens `path` (owner-only) and takes an exclusive lock on it, waiting for
/// other holders; the lock goes with the returned file.
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let file = private_options(false).read(true).open(path)?;
    file.lock()?;
    Ok(file)
}

fn private_options(truncate: bool) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Writes `bytes` to `tmp` (owner-only), syncs it and renames it over `path`.
fn write_private(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let result = (|| {
        let mut file = private_options(true).open(tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str) -> OAuthToken {
        OAuthToken::new(name, Some(format!("refresh-{name}").into()), None)
    }

    #[tokio::test]
    async fn saves_compare_and_swap_on_the_version() {
        for store in [
            Box::new(MemoryTokenStore::new()) as Box<dyn TokenStore>,
            Box::new(FileTokenStore::new(
                std::env::temp_dir().join(format!("specbound-cas-{}.json", fastrand::u64(..))),
            )),
        ] {
            assert_eq!(store.load().await.unwrap(), None);
            assert_eq!(
                store.save(&token("a"), None).await.unwrap(),
                SaveOutcome::Saved { version: 1 }
            );
            assert_eq!(
                store.save(&token("b"), Some(1)).await.unwrap(),
                SaveOutcome::Saved { version: 2 }
            );
            match store.save(&token("c"), Some(1)).await.unwrap() {
                SaveOutcome::Conflict(Some(current)) => {
                    assert_eq!(current.version, 2);
                    assert_eq!(current.token.access_token.expose(), "b");
                }
                other => panic!("{other:?}"),
            }
            let stored = store.load().await.unwrap().unwrap();
            assert_eq!(
                (stored.version, stored.token.access_token.expose()),
                (2, "b")
            );
            store.clear().await.unwrap();
            assert_eq!(store.load().await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn a_file_from_before_versions_reads_as_version_zero() {
        let path = std::env::temp_dir().join(format!("specbound-old-{}.json", fastrand::u64(..)));
        std::fs::write(&path, serde_json::to_vec(&token("old")).unwrap()).unwrap();
        let store = FileTokenStore::new(&path);
        let stored = store.load().await.unwrap().unwrap();
        assert_eq!(
            (stored.version, stored.token.access_token.expose()),
            (0, "old")
        );
        assert_eq!(
            store.save(&token("new"), Some(0)).await.unwrap(),
            SaveOutcome::Saved { version: 1 }
        );
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn two_stores_on_one_file_saving_at_once_never_corrupt_it() {
        let path = std::env::temp_dir().join(format!("specbound-race-{}.json", fastrand::u64(..)));
        let (a, b) = (FileTokenStore::new(&path), FileTokenStore::new(&path));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                store.save(&token(&format!("t{i}")), None).await
            }));
        }
        for t in tasks {
            assert!(matches!(
                t.await.unwrap().unwrap(),
                SaveOutcome::Saved { .. }
            ));
        }
        let stored = a.load().await.unwrap().unwrap();
        assert_eq!(stored.version, 200, "every save counted once");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(path.file_name().unwrap().to_str().unwrap())
                    && name.ends_with(".tmp")
            })
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        for suffix in ["", ".lock"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
