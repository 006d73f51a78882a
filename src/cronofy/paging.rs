//! Read Events, Free Busy and Available Periods as streams that follow
//! `pages.next_page`.
//!
//! `next_page` is an absolute URL (`https://api.cronofy.com/v1/events/pages/08a07b…`);
//! the spec declares the page routes as operations (`read_events_page`, ...)
//! taking the last path segment, so the stream checks that the link points at
//! the configured API host and calls that operation with the segment. The
//! page being read stays reachable, as pycronofy's `current_page()` and
//! `json()`: [`Pages::current_page`], [`Pages::json`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures::{Stream, TryStreamExt as _};
use serde::de::DeserializeOwned;

use super::client::Client;
use super::generated::{prelude::*, types};
use super::validate;
use crate::runtime::hooks::send_for_bytes;
use crate::runtime::json_stream::first_member;
use crate::runtime::paginate::{Page, PageItems, Paginated, Position};
use crate::runtime::{IntoDate, keep};
use crate::{Error, Result};

type Sent<T> = std::result::Result<
    progenitor_client::ResponseValue<T>,
    progenitor_client::Error<types::Error>,
>;

/// The page being read: its `pages` object and its raw body.
struct Current {
    pages: types::Pages,
    raw: Bytes,
}

/// A stream of items over Cronofy's pages. `Unpin`: `try_next()` needs no `pin!`.
pub struct Pages<'a, T> {
    inner: Paginated<'a, T>,
    current: Arc<Mutex<Option<Current>>>,
}

impl<T> std::fmt::Debug for Pages<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("position", &self.inner.position())
            .finish_non_exhaustive()
    }
}

impl<'a, T: Send + 'a> Pages<'a, T> {
    /// The `pages` object of the page being read (`current`, `total`, `next_page`).
    pub fn current_page(&self) -> Option<types::Pages> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|c| c.pages.clone())
    }

    /// The raw JSON of the page being read.
    pub fn json(&self) -> Option<Result<serde_json::Value>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|c| Error::decode_json(&c.raw))
    }

    /// Where the stream stands (the page token and the items of that page
    /// already yielded); the query's `resume(position)` carries on from there.
    pub fn position(&self) -> Position {
        self.inner.position()
    }

    /// A stream that yields `error` and ends.
    fn failed(error: Error) -> Self {
        Pages {
            inner: Paginated::failed(error),
            current: Arc::default(),
        }
    }

    /// Requests the next page as soon as this one's `pages.next_page` is
    /// read, while this page is decoded and read (off by default): faster
    /// draining, at the cost of one page requested ahead of what was read.
    pub fn prefetch(mut self, on: bool) -> Self {
        self.inner = self.inner.prefetch(on);
        self
    }

    /// Every remaining item.
    pub async fn collect_all(self) -> Result<Vec<T>> {
        self.try_collect().await
    }
}

impl<'a, T: Send + 'a> Stream for Pages<'a, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The page token of `next_page`, after checking that it points at the
/// client's API host and at `/v1/<list>/pages/<token>`.
fn next_token(client: &Client, list: &str, next_page: Option<&str>) -> Result<Option<String>> {
    let Some(next) = next_page.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let url = url::Url::parse(next)
        .map_err(|_| Error::Protocol(format!("next_page `{next}` is not a URL")))?;
    let api = &client.api_url;
    if url.origin() != api.origin() {
        return Err(Error::Protocol(format!(
            "next_page points to {}, not to the API host {}; not following it",
            url.origin().ascii_serialization(),
            api.origin().ascii_serialization()
        )));
    }
    let prefix = format!("/v1/{list}/pages/");
    url.path()
        .strip_prefix(&prefix)
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .map(|t| Some(t.to_string()))
        .ok_or_else(|| {
            Error::Protocol(format!(
                "next_page `{}` is not a {prefix}<token> link",
                url.path()
            ))
        })
}

/// A stream over a paginated list: `first()` sends the list operation,
/// `page(token)` its page operation; `split` takes a page apart.
#[allow(clippy::too_many_arguments)]
fn paginate<'a, P, T, F, Fut, G, GFut>(
    client: &'a Client,
    list: &'static str,
    first_op: &'static str,
    page_op: &'static str,
    position: Position,
    first: F,
    page: G,
    split: fn(P) -> (Vec<T>, types::Pages),
) -> Pages<'a, T>
where
    P: DeserializeOwned + Send + 'a,
    T: Send + 'a,
    F: Fn() -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Sent<P>> + Send + 'a,
    G: Fn(String) -> GFut + Send + Sync + 'a,
    GFut: Future<Output = Sent<P>> + Send + 'a,
{
    let current: Arc<Mutex<Option<Current>>> = Arc::default();
    let slot = current.clone();
    let first = Arc::new(first);
    let page = Arc::new(page);
    let inner = Paginated::resume(position, move |cursor: Option<String>| {
        let (first, page, slot) = (first.clone(), page.clone(), slot.clone());
        async move {
            // Read inside the retries: a page cut off mid-body is asked again.
            let raw = match cursor {
                None => send_for_bytes(first_op, first()).await?,
                Some(token) => send_for_bytes(page_op, page(token)).await?,
            };
            // Cronofy sends `pages` first: read it alone, so that a stream
            // with prefetch on asks for the next page before it decodes
            // this one. Otherwise decode the page now to find it.
            let head: Option<types::Pages> = first_member(&raw, "pages");
            let (pages, decoded) = match head {
                Some(pages) => (pages, None),
                None => {
                    let (items, pages) = split(Error::decode_json::<P>(&raw)?);
                    (pages, Some(items))
                }
            };
            // A next link the stream must not follow ends it after this
            // page's items, which are good.
            let (next, then_fail) = match next_token(client, list, pages.next_page.as_deref()) {
                Ok(next) => (next, None),
                Err(e) => (None, Some(e)),
            };
            // Runs when the stream starts reading this page, so that
            // `current_page()`/`json()` never show a page fetched ahead.
            let decode = move || {
                let items = match decoded {
                    Some(items) => items,
                    None => split(Error::decode_json::<P>(&raw)?).0,
                };
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Current { pages, raw });
                Ok(items)
            };
            Ok(Page {
                items: PageItems::Deferred(Box::new(decode)),
                next,
                then_fail,
            })
        }
    });
    Pages { inner, current }
}

/// Calls a builder setter when its value is `Some`.
macro_rules! set_some {
    ($b:ident.$setter:ident($value:expr)) => {
        if let Some(v) = $value {
            $b = $b.$setter(v);
        }
    };
}

/// The filters Read Events and Free Busy share.
#[derive(Debug, Default)]
struct Window {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    tzid: Option<String>,
    last_modified: Option<DateTime<Utc>>,
    calendar_ids: Vec<String>,
    error: Option<Error>,
}

impl Window {
    fn check(&mut self) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && t <= f
        {
            return Err(Error::invalid("to", format!("{t} is not after from {f}")));
        }
        Ok(())
    }

    fn tzid(&self) -> String {
        // The docs require tzid; every SDK defaults it to Etc/UTC.
        self.tzid.clone().unwrap_or_else(|| "Etc/UTC".into())
    }
}

/// A Read Events or Free Busy builder with the window's filters set.
macro_rules! with_window {
    ($builder:expr, $window:expr) => {{
        let window = &$window;
        let mut b = $builder.tzid(window.tzid());
        set_some!(b.from(window.from));
        set_some!(b.to(window.to));
        set_some!(b.last_modified(window.last_modified));
        if !window.calendar_ids.is_empty() {
            b = b.calendar_ids(window.calendar_ids.clone());
        }
        b
    }};
}

macro_rules! window_setters {
    () => {
        /// Only items that end on or after this date (in `tzid`).
        pub fn from(mut self, date: impl IntoDate) -> Self {
            self.window.from = keep(&mut self.window.error, date.into_date("from"));
            self
        }

        /// Only items that start before this date (in `tzid`).
        pub fn to(mut self, date: impl IntoDate) -> Self {
            self.window.to = keep(&mut self.window.error, date.into_date("to"));
            self
        }

        /// The IANA time zone of `from`/`to` (default `Etc/UTC`), checked.
        pub fn tzid(mut self, tzid: &str) -> Self {
            if keep(&mut self.window.error, validate::tzid("tzid", tzid)).is_some() {
                self.window.tzid = Some(tzid.to_string());
            }
            self
        }

        /// Only items changed since this instant.
        pub fn last_modified(mut self, since: DateTime<Utc>) -> Self {
            self.window.last_modified = Some(since);
            self
        }

        /// Only this calendar; repeat for several.
        pub fn calendar_id(mut self, id: &str) -> Self {
            if keep(
                &mut self.window.error,
                validate::non_empty("calendar_ids", id),
            )
            .is_some()
            {
                self.window.calendar_ids.push(id.to_string());
            }
            self
        }
    };
}

macro_rules! flag {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        pub fn $name(mut self, on: bool) -> Self {
            self.$name = Some(on);
            self
        }
    };
}

/// Read Events (`read_events`, then `read_events_page`), built with
/// [`Client::read_events`].
#[derive(Debug)]
pub struct ReadEventsQuery<'a> {
    client: &'a Client,
    window: Window,
    include_deleted: Option<bool>,
    include_moved: Option<bool>,
    include_managed: Option<bool>,
    only_managed: Option<bool>,
    localized_times: Option<bool>,
    include_geo: Option<bool>,
    google_event_ids: Option<bool>,
}

impl<'a> ReadEventsQuery<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        ReadEventsQuery {
            client,
            window: Window::default(),
            include_deleted: None,
            include_moved: None,
            include_managed: None,
            only_managed: None,
            localized_times: None,
            include_geo: None,
            google_event_ids: None,
        }
    }

    window_setters!();
    flag!(include_deleted, "Also deleted events.");
    flag!(include_moved, "Also events moved out of the window.");
    flag!(include_managed, "Also events this application manages.");
    flag!(
        only_managed,
        "Only events this application manages (ignores from/to)."
    );
    flag!(localized_times, "Times as `{time, tzid}` objects.");
    flag!(include_geo, "Geographic coordinates of locations.");
    flag!(google_event_ids, "Google's own event ids.");

    /// The events, one page held at a time.
    pub fn stream(self) -> Pages<'a, types::Event> {
        self.resume(Position::default())
    }

    /// Carries on from a saved [`Pages::position`].
    pub fn resume(mut self, position: Position) -> Pages<'a, types::Event> {
        if let Err(e) = self.window.check() {
            return Pages::failed(e);
        }
        let (client, q) = (self.client, self);
        paginate(
            client,
            "events",
            "read_events",
            "read_events_page",
            position,
            move || {
                let mut b = with_window!(client.api.read_events(), q.window);
                set_some!(b.include_deleted(q.include_deleted));
                set_some!(b.include_moved(q.include_moved));
                set_some!(b.include_managed(q.include_managed));
                set_some!(b.only_managed(q.only_managed));
                set_some!(b.localized_times(q.localized_times));
                set_some!(b.include_geo(q.include_geo));
                set_some!(b.google_event_ids(q.google_event_ids));
                b.send()
            },
            move |token| client.api.read_events_page().page_token(token).send(),
            |p: types::EventsPage| (p.events, p.pages),
        )
    }
}

/// Free Busy (`read_free_busy`, then `read_free_busy_page`), built with
/// [`Client::read_free_busy`].
#[derive(Debug)]
pub struct FreeBusyQuery<'a> {
    client: &'a Client,
    window: Window,
    include_managed: Option<bool>,
    include_free: Option<bool>,
    include_ids: Option<bool>,
    include_deleted: Option<bool>,
    localized_times: Option<bool>,
}

impl<'a> FreeBusyQuery<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        FreeBusyQuery {
            client,
            window: Window::default(),
            include_managed: None,
            include_free: None,
            include_ids: None,
            include_deleted: None,
            localized_times: None,
        }
    }

    window_setters!();
    flag!(
        include_managed,
        "Also blocks of events this application manages."
    );
    flag!(include_free, "Also free (transparent) blocks.");
    flag!(include_ids, "Event ids with each block.");
    flag!(include_deleted, "Also blocks of deleted events.");
    flag!(localized_times, "Times as `{time, tzid}` objects.");

    /// The free-busy blocks, one page held at a time.
    pub fn stream(self) -> Pages<'a, types::FreeBusyBlock> {
        self.resume(Position::default())
    }

    /// Carries on from a saved [`Pages::position`].
    pub fn resume(mut self, position: Position) -> Pages<'a, types::FreeBusyBlock> {
        if let Err(e) = self.window.check() {
            return Pages::failed(e);
        }
        let (client, q) = (self.client, self);
        paginate(
            client,
            "free_busy",
            "read_free_busy",
            "read_free_busy_page",
            position,
            move || {
                let mut b = with_window!(client.api.read_free_busy(), q.window);
                set_some!(b.include_managed(q.include_managed));
                set_some!(b.include_free(q.include_free));
                set_some!(b.include_ids(q.include_ids));
                set_some!(b.include_deleted(q.include_deleted));
                set_some!(b.localized_times(q.localized_times));
                b.send()
            },
            move |token| client.api.read_free_busy_page().page_token(token).send(),
            |p: types::FreeBusyPage| (p.free_busy, p.pages),
        )
    }
}

/// Available periods (`list_available_periods`, then its page operation),
/// built with [`Client::available_periods`].
#[derive(Debug)]
pub struct AvailablePeriodsQuery<'a> {
    client: &'a Client,
    window: Window,
    localized_times: Option<bool>,
}

impl<'a> AvailablePeriodsQuery<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        AvailablePeriodsQuery {
            client,
            window: Window::default(),
            localized_times: None,
        }
    }

    /// Only periods that end on or after this date.
    pub fn from(mut self, date: impl IntoDate) -> Self {
        self.window.from = keep(&mut self.window.error, date.into_date("from"));
        self
    }

    /// Only periods that start before this date.
    pub fn to(mut self, date: impl IntoDate) -> Self {
        self.window.to = keep(&mut self.window.error, date.into_date("to"));
        self
    }

    /// The IANA time zone of `from`/`to`, checked.
    pub fn tzid(mut self, tzid: &str) -> Self {
        if keep(&mut self.window.error, validate::tzid("tzid", tzid)).is_some() {
            self.window.tzid = Some(tzid.to_string());
        }
        self
    }

    flag!(localized_times, "Times as `{time, tzid}` objects.");

    /// The available periods, one page held at a time.
    pub fn stream(self) -> Pages<'a, types::AvailablePeriod> {
        self.resume(Position::default())
    }

    /// Carries on from a saved [`Pages::position`].
    pub fn resume(mut self, position: Position) -> Pages<'a, types::AvailablePeriod> {
        if let Err(e) = self.window.check() {
            return Pages::failed(e);
        }
        let (client, q) = (self.client, self);
        paginate(
            client,
            "available_periods",
            "list_available_periods",
            "list_available_periods_page",
            position,
            move || {
                let mut b = client.api.list_available_periods();
                set_some!(b.from(q.window.from));
                set_some!(b.to(q.window.to));
                set_some!(b.tzid(q.window.tzid.clone()));
                set_some!(b.localized_times(q.localized_times));
                b.send()
            },
            move |token| {
                client
                    .api
                    .list_available_periods_page()
                    .page_token(token)
                    .send()
            },
            |p: types::AvailablePeriodsPage| (p.available_periods, p.pages),
        )
    }
}
