//! A cache of the records that change rarely and are looked up often:
//! users, organizations, groups, brands and ticket fields.
//!
//! [`ZendeskCacheExt::cached_user`] (and its siblings) answers from the
//! cache, or shows the record (`get_user`) and keeps the answer.
//! [`ZendeskCacheExt::cache_side_loads`] keeps the records an answer
//! side-loaded. Each kind has its own size bound and time to live
//! ([`CacheConfig`]); [`CacheConfig::off`] switches it off.
//!
//! Complete and partial: a record from a show call is complete, one from a
//! side-load is partial (Zendesk may side-load fewer fields than it shows,
//! and a side-load may be older than what was shown). A partial record is
//! kept only where nothing, or another partial record, is cached: it never
//! replaces a complete one. Both serve `cached_*` until their time to live
//! ends; a show replaces either. Hits and misses are traced at DEBUG
//! (`cache hit`, `cache miss`, with the kind and id).
//!
//! ```no_run
//! # async fn run(zd: specbound::zendesk::Client) -> specbound::Result<()> {
//! use specbound::zendesk::prelude::*;
//! let agent = zd.cached_user(6130907993114).await?; // get_user
//! let again = zd.cached_user(6130907993114).await?; // no request
//! assert_eq!(agent, again);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use moka::ops::compute::Op;

use super::generated::{Client, prelude::*};
use super::sideloads::SideLoads;
use super::types;
use crate::{Error, Result};

/// The kinds of records cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheKind {
    /// Users (`get_user`).
    User,
    /// Organizations (`get_organization`).
    Organization,
    /// Groups (`get_group`).
    Group,
    /// Brands (`get_brand`).
    Brand,
    /// Ticket fields (`get_ticket_field`).
    TicketField,
}

impl CacheKind {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        match self {
            CacheKind::User => 0,
            CacheKind::Organization => 1,
            CacheKind::Group => 2,
            CacheKind::Brand => 3,
            CacheKind::TicketField => 4,
        }
    }

    /// The kind's name in traces.
    pub fn name(self) -> &'static str {
        match self {
            CacheKind::User => "user",
            CacheKind::Organization => "organization",
            CacheKind::Group => "group",
            CacheKind::Brand => "brand",
            CacheKind::TicketField => "ticket_field",
        }
    }
}

/// Size and time to live of each kind's cache.
///
/// ```
/// use std::time::Duration;
/// use specbound::zendesk::cache::{CacheConfig, CacheKind};
/// let config = CacheConfig::standard()
///     .capacity(CacheKind::User, 50_000)
///     .ttl(CacheKind::TicketField, Duration::from_secs(3600))
///     .capacity(CacheKind::Brand, 0); // no brand cache
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CacheConfig {
    limits: [(u64, Duration); CacheKind::COUNT],
}

impl CacheConfig {
    /// Every kind: at most 10,000 records, each kept 5 minutes (a record
    /// changed elsewhere is seen within that time).
    pub fn standard() -> Self {
        CacheConfig {
            limits: [(10_000, Duration::from_secs(300)); CacheKind::COUNT],
        }
    }

    /// No cache: every `cached_*` call sends its show request.
    pub fn off() -> Self {
        CacheConfig {
            limits: [(0, Duration::ZERO); CacheKind::COUNT],
        }
    }

    /// At most `records` of `kind` (0: no cache for that kind); the least
    /// used go first.
    pub fn capacity(mut self, kind: CacheKind, records: u64) -> Self {
        self.limits[kind.index()].0 = records;
        self
    }

    /// How long a record of `kind` is kept after it was stored.
    pub fn ttl(mut self, kind: CacheKind, ttl: Duration) -> Self {
        self.limits[kind.index()].1 = ttl;
        self
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::standard()
    }
}

/// A cached record and whether it came from a show call.
#[derive(Clone)]
struct Entry<T> {
    value: Arc<T>,
    complete: bool,
}

/// One client's caches, one per kind (`None`: off).
pub(crate) struct Caches {
    users: Option<Cache<i64, Entry<types::User>>>,
    organizations: Option<Cache<i64, Entry<types::Organization>>>,
    groups: Option<Cache<i64, Entry<types::Group>>>,
    brands: Option<Cache<i64, Entry<types::Brand>>>,
    ticket_fields: Option<Cache<i64, Entry<types::TicketField>>>,
}

fn cache<T: Clone + Send + Sync + 'static>(
    config: &CacheConfig,
    kind: CacheKind,
) -> Option<Cache<i64, Entry<T>>> {
    let (capacity, ttl) = config.limits[kind.index()];
    (capacity > 0 && !ttl.is_zero()).then(|| {
        Cache::builder()
            .name(kind.name())
            .max_capacity(capacity)
            .time_to_live(ttl)
            .build()
    })
}

impl Caches {
    pub(crate) fn new(config: &CacheConfig) -> Self {
        Caches {
            users: cache(config, CacheKind::User),
            organizations: cache(config, CacheKind::Organization),
            groups: cache(config, CacheKind::Group),
            brands: cache(config, CacheKind::Brand),
            ticket_fields: cache(config, CacheKind::TicketField),
        }
    }
}

/// A record type that is cached.
trait Record: Clone + Send + Sync + 'static {
    const KIND: CacheKind;
    fn record_id(&self) -> Option<i64>;
    fn store(caches: &Caches) -> Option<&Cache<i64, Entry<Self>>>;
}

macro_rules! record {
    ($($ty:ident => $kind:ident, $field:ident;)*) => {$(
        impl Record for types::$ty {
            const KIND: CacheKind = CacheKind::$kind;
            fn record_id(&self) -> Option<i64> {
                self.id
            }
            fn store(caches: &Caches) -> Option<&Cache<i64, Entry<Self>>> {
                caches.$field.as_ref()
            }
        }
    )*};
}

record! {
    User => User, users;
    Organization => Organization, organizations;
    Group => Group, groups;
    Brand => Brand, brands;
    TicketField => TicketField, ticket_fields;
}

/// Keeps a side-loaded record unless a complete one is cached.
async fn keep_partial<T: Record>(caches: &Caches, record: &T) {
    let (Some(cache), Some(id)) = (T::store(caches), record.record_id()) else {
        return;
    };
    let kind = T::KIND.name();
    let partial = Entry {
        value: Arc::new(record.clone()),
        complete: false,
    };
    cache
        .entry(id)
        .and_compute_with(|existing| async move {
            match existing {
                Some(e) if e.value().complete => {
                    tracing::debug!(kind, id, "side-load not cached: a complete record is");
                    Op::Nop
                }
                _ => {
                    tracing::debug!(kind, id, "side-load cached (partial)");
                    Op::Put(partial)
                }
            }
        })
        .await;
}

/// The record `id` from the cache, else from `show` (then cached as
/// complete).
async fn cached<T, F, Fut>(client: &Client, id: i64, show: F) -> Result<T>
where
    T: Record,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let kind = T::KIND.name();
    let cache = super::extras::caches(client).and_then(T::store);
    if let Some(cache) = cache
        && let Some(entry) = cache.get(&id).await
    {
        tracing::debug!(kind, id, complete = entry.complete, "cache hit");
        return Ok(T::clone(&entry.value));
    }
    match cache {
        Some(_) => tracing::debug!(kind, id, "cache miss"),
        None => tracing::debug!(kind, id, "cache off"),
    }
    let record = show().await?.ok_or_else(|| {
        Error::Protocol(format!("the show answer of {kind} {id} holds no {kind}"))
    })?;
    if let Some(cache) = cache {
        let entry = Entry {
            value: Arc::new(record.clone()),
            complete: true,
        };
        cache.insert(id, entry).await;
    }
    Ok(record)
}

/// Cached show calls of a Zendesk [`Client`] (`use specbound::zendesk::prelude::*`).
///
/// ```no_run
/// # async fn run(zd: specbound::zendesk::Client) -> specbound::Result<()> {
/// use specbound::zendesk::prelude::*;
/// let page = zd.list_tickets().include("users").send().await?.into_inner();
/// zd.cache_side_loads(&page).await;
/// for ticket in &page.tickets {
///     if let Some(id) = ticket.requester_id {
///         let requester = zd.cached_user(id).await?; // side-loaded: no request
///         # let _ = requester;
///     }
/// }
/// # Ok(()) }
/// ```
pub trait ZendeskCacheExt {
    /// The user `id`: from the cache, else `get_user` (and cached).
    fn cached_user(&self, id: i64) -> impl Future<Output = Result<types::User>> + Send;

    /// The organization `id`: from the cache, else `get_organization`.
    fn cached_organization(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<types::Organization>> + Send;

    /// The group `id`: from the cache, else `get_group`.
    fn cached_group(&self, id: i64) -> impl Future<Output = Result<types::Group>> + Send;

    /// The brand `id`: from the cache, else `get_brand`.
    fn cached_brand(&self, id: i64) -> impl Future<Output = Result<types::Brand>> + Send;

    /// The ticket field `id`: from the cache, else `get_ticket_field`.
    fn cached_ticket_field(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<types::TicketField>> + Send;

    /// Keeps the users, organizations, groups, brands and ticket fields an
    /// answer carries, as partial records (never over complete ones).
    fn cache_side_loads<P: SideLoads + Sync>(&self, page: &P) -> impl Future<Output = ()> + Send;

    /// Drops the cached record `id` of `kind` (after changing it, say).
    fn forget_cached(&self, kind: CacheKind, id: i64) -> impl Future<Output = ()> + Send;
}

impl ZendeskCacheExt for Client {
    async fn cached_user(&self, id: i64) -> Result<types::User> {
        cached(self, id, || async {
            Ok(self.get_user().user_id(id).send().await?.into_inner().user)
        })
        .await
    }

    async fn cached_organization(&self, id: i64) -> Result<types::Organization> {
        cached(self, id, || async {
            let answer = self.get_organization().organization_id(id).send().await?;
            Ok(answer.into_inner().organization)
        })
        .await
    }

    async fn cached_group(&self, id: i64) -> Result<types::Group> {
        cached(self, id, || async {
            Ok(self
                .get_group()
                .group_id(id)
                .send()
                .await?
                .into_inner()
                .group)
        })
        .await
    }

    async fn cached_brand(&self, id: i64) -> Result<types::Brand> {
        cached(self, id, || async {
            Ok(self
                .get_brand()
                .brand_id(id)
                .send()
                .await?
                .into_inner()
                .brand)
        })
        .await
    }

    async fn cached_ticket_field(&self, id: i64) -> Result<types::TicketField> {
        cached(self, id, || async {
            let answer = self.get_ticket_field().ticket_field_id(id).send().await?;
            Ok(answer.into_inner().ticket_field)
        })
        .await
    }

    async fn cache_side_loads<P: SideLoads + Sync>(&self, page: &P) {
        let Some(caches) = super::extras::caches(self) else {
            return;
        };
        for r in page.side_loaded_users() {
            keep_partial(caches, r).await;
        }
        for r in page.side_loaded_organizations() {
            keep_partial(caches, r).await;
        }
        for r in page.side_loaded_groups() {
            keep_partial(caches, r).await;
        }
        for r in page.side_loaded_brands() {
            keep_partial(caches, r).await;
        }
        for r in page.side_loaded_ticket_fields() {
            keep_partial(caches, r).await;
        }
    }

    async fn forget_cached(&self, kind: CacheKind, id: i64) {
        let Some(caches) = super::extras::caches(self) else {
            return;
        };
        match kind {
            CacheKind::User => forget(caches.users.as_ref(), id).await,
            CacheKind::Organization => forget(caches.organizations.as_ref(), id).await,
            CacheKind::Group => forget(caches.groups.as_ref(), id).await,
            CacheKind::Brand => forget(caches.brands.as_ref(), id).await,
            CacheKind::TicketField => forget(caches.ticket_fields.as_ref(), id).await,
        }
    }
}

async fn forget<T: Clone + Send + Sync + 'static>(cache: Option<&Cache<i64, Entry<T>>>, id: i64) {
    if let Some(cache) = cache {
        cache.invalidate(&id).await;
    }
}
