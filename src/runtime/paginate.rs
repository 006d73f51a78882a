//! Lists as `Stream`s that hold one page at a time, paged the way the
//! spec's `x-specbound-pagination` says (see [`PageStyle`](super::spec::PageStyle)).
//!
//! Codegen gives each paginated operation's builder `.stream()` (items),
//! `.stream_from(position)` (carry on after a crash) and `.pages()` (whole
//! pages, with what they carry beside their items). A stream:
//!
//! - asks for the next page only when the current one is used up, or as
//!   soon as its link is known with [`Paginated::prefetch`];
//! - is told how many items are still wanted ([`Paginated::take`]) and
//!   asks for no more than that where the API has a page-size parameter;
//! - passes over items it is told to ([`Paginated::skip`]) by asking for
//!   the page they end on where the list numbers its pages (offset paging),
//!   else by reading them without yielding them, in pages no larger than
//!   needed;
//! - stops where the page says the list ends (`end`), even if the page
//!   names a next one; turns the API's answer past the depth it pages to
//!   into an [`Error::Paging`] that says what to do instead; ends with
//!   [`Error::Paging`] too when an export stops moving (its resume value
//!   the same as the page before's while its page was full), where it would
//!   otherwise ask for the same page forever;
//! - follows next links only to the host the client trusts, and ends with
//!   [`Error::Protocol`] on a link elsewhere, a cursor it already had, or a
//!   page that repeats the page before in all but its cursor;
//! - says where it stands ([`Paginated::position`], a token to save and
//!   resume from in another process) and, after the last page, the token
//!   the API gives to carry on later ([`Paginated::resume_token`]);
//! - reads a list backwards where the spec says how
//!   (`stream_backward(position)`: newest first);
//! - owns what it needs (`'static + Send`), so it can be spawned.
//!
//! The pages themselves (`pager.rs`) are built and read as the spec's
//! `x-specbound-pagination` says (keys in `xtask/src/codegen_tables.rs`).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt as _, Stream, StreamExt as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Runtime;
use super::json_stream::{ArrayItems, member_bytes};
use super::pager::{Body, Fetched, Pager, Walk};
use super::spec::{Operation, PageStyle, Pagination};
use crate::{Error, Result};

/// A page type of a list: codegen implements it for each paginated
/// answer, naming the property that holds the items.
pub trait Page: DeserializeOwned + Send + 'static {
    /// The items' type.
    type Item: DeserializeOwned + Send + 'static;
    /// Takes the items out, leaving the rest of the page.
    fn take_items(&mut self) -> Vec<Self::Item>;
}

/// A bare JSON array is its own page.
impl<T: DeserializeOwned + Send + 'static> Page for Vec<T> {
    type Item = T;
    fn take_items(&mut self) -> Vec<T> {
        std::mem::take(self)
    }
}

/// Where a stream stands: the cursor of the page it is reading (`None` for
/// the first page; a next link or cursor otherwise) and how many items of
/// that page it has already yielded.
///
/// Save it (it is `Serialize`) and pass it to the same list call's
/// `stream_from(..)` to carry on from the next item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Cursor of the current page; `None` is the first page.
    pub cursor: Option<String>,
    /// Items of that page already yielded.
    pub skip: u64,
}

impl Position {
    /// The start of a new round from a token a finished stream gave
    /// ([`Paginated::resume_token`], such as Graph's delta link); the
    /// first page when there is none.
    pub fn resume(token: Option<&str>) -> Self {
        Position {
            cursor: token.map(str::to_string),
            skip: 0,
        }
    }

    /// The start of the page at `cursor` (a link, a cursor, or for
    /// `stream_backward` a page's before-cursor).
    pub fn at(cursor: impl Into<String>) -> Self {
        Position {
            cursor: Some(cursor.into()),
            skip: 0,
        }
    }
}

/// Whether page `next` repeats page `previous` in everything but its
/// next-page cursor, with items in it: a server that hands out fresh cursors
/// over the same page would be followed for ever. The raw bodies are
/// compared (both are in memory at this point), nothing is decoded.
pub(super) fn repeats(paging: &Pagination, previous: &[u8], next: &[u8]) -> bool {
    if paging.items.is_empty() || !matches!(paging.style, PageStyle::NextLink | PageStyle::Cursor) {
        return false;
    }
    // A cheap look first: pages that differ in their first or their last
    // bytes (every page but a repeat, whether the cursor sits at the start
    // or the end of the envelope) need no scan of their JSON.
    const EDGE: usize = 64;
    let edge = EDGE.min(previous.len()).min(next.len());
    let (head, tail) = (
        previous[..edge] == next[..edge],
        previous[previous.len() - edge..] == next[next.len() - edge..],
    );
    if !head && !tail {
        return false;
    }
    if !samples_recur(previous, next) {
        return false;
    }
    let has_items = member_bytes(next, paging.items)
        .and_then(|items| items.strip_prefix(b"[")?.strip_suffix(b"]"))
        .is_some_and(|inner| !inner.iter().all(u8::is_ascii_whitespace));
    has_items && around(previous, paging.next) == around(next, paging.next)
}

/// Whether three samples of a large page `next` (at a quarter, half and
/// three quarters) are, two of them at least, in `previous` where a repeat
/// would have them: at the same place, shifted by at most the difference
/// of the two bodies' lengths (the cursors'). A repeat differs only in its
/// cursor, which can overlap one sample at most; pages of one list that
/// share their envelope's first bytes (Graph's `@odata.context`) but not
/// their items fail here without a scan of their JSON. Small pages pass.
fn samples_recur(previous: &[u8], next: &[u8]) -> bool {
    const SAMPLE: usize = 64;
    const LARGE: usize = 4096;
    if next.len() < LARGE {
        return true;
    }
    let shift = previous.len().abs_diff(next.len()) + SAMPLE;
    let found = (1..=3)
        .filter(|quarter| {
            let at = next.len() / 4 * quarter;
            let sample = &next[at..at + SAMPLE];
            let from = at.saturating_sub(shift);
            let to = (at + SAMPLE + shift).min(previous.len());
            from < to && memchr::memmem::find(&previous[from..to], sample).is_some()
        })
        .count();
    found >= 2
}

/// `raw` before and after the value at `path` (all of it, when there is none).
fn around<'b>(raw: &'b [u8], path: &[&str]) -> (&'b [u8], &'b [u8]) {
    let mut value = raw;
    for name in path {
        match member_bytes(value, name) {
            Some(inner) => value = inner,
            None => return (raw, &[]),
        }
    }
    if path.is_empty() {
        return (raw, &[]);
    }
    // `value` lies inside `raw`: its offset is the distance between them.
    let start = value.as_ptr() as usize - raw.as_ptr() as usize;
    (&raw[..start], &raw[start + value.len()..])
}

fn repeated_page(op: &str) -> Error {
    Error::Protocol(format!(
        "{op}: a page repeats the page before it under a new cursor; \
         stopping instead of looping"
    ))
}

/// The page being read: its body and, once decoded, the page without its items.
struct Current<P> {
    raw: Bytes,
    page: Option<P>,
}

enum Items<T> {
    /// Decoded when the stream starts reading the page.
    Pending(Bytes),
    Decoded(std::vec::IntoIter<T>),
    Streamed(ArrayItems<T>),
}

enum State<P: Page> {
    Fetching(BoxFuture<'static, Result<Fetched>>),
    Reading(Items<P::Item>),
    Failed(Option<Error>),
    Done,
}

/// A stream of the items of a list, one page held at a time. `Unpin`, so
/// `try_next()` needs no `pin!`; `'static + Send`, so it can be spawned.
pub struct Paginated<P: Page> {
    pager: Option<Pager>,
    state: State<P>,
    cursor: Option<String>,
    /// The first request's URL, after [`skip`](Self::skip) moved it to a
    /// later page: where the first page is, for [`position`](Self::position).
    start_link: Option<String>,
    /// Items of this page passed (skipped or yielded).
    yielded: u64,
    /// Items of this page to pass over (a saved position's, or a skip's).
    skip: u64,
    /// Items still to pass over, on whichever pages they are.
    pass: u64,
    /// Items yielded in all.
    total: u64,
    /// The resume value of the last page fetched, to tell an export that
    /// stopped moving.
    mark: Option<String>,
    limit: Option<u64>,
    next: Option<String>,
    then_fail: Option<Error>,
    resume: Option<String>,
    seen: RecentCursors,
    prefetch: bool,
    /// The next page, requested ahead: its cursor and its fetch.
    ahead: Option<(String, BoxFuture<'static, Result<Fetched>>)>,
    /// The task fetching it, stopped if the stream is dropped first.
    ahead_task: Option<tokio::task::AbortHandle>,
    current: Option<Current<P>>,
}

impl<P: Page> Drop for Paginated<P> {
    fn drop(&mut self) {
        if let Some(task) = self.ahead_task.take() {
            task.abort();
        }
    }
}

impl<P: Page> Paginated<P> {
    /// The stream of `op`'s list from its first request `first`, carried
    /// on from `position`.
    pub(crate) fn start(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        position: Position,
    ) -> Self {
        Self::walk(runtime, first, op, position, Walk::Forward)
    }

    /// The same list paged by page number (`x-specbound-offset-pagination`).
    #[allow(dead_code)] // called by generated code, when a spec pages both ways
    pub(crate) fn start_offset(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        position: Position,
    ) -> Self {
        Self::walk(runtime, first, op, position, Walk::Offset)
    }

    /// The same list backwards from `position` (a before-cursor), each
    /// page's items newest first.
    #[allow(dead_code)] // called by generated code, when a spec pages backwards
    pub(crate) fn start_backward(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        position: Position,
    ) -> Self {
        Self::walk(runtime, first, op, position, Walk::Backward)
    }

    fn walk(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        position: Position,
        walk: Walk,
    ) -> Self {
        match Pager::new(runtime, first, op, walk) {
            Ok(pager) => {
                let fetch = pager.fetch(position.cursor.as_deref(), None, None);
                Self::new(Some(pager), State::Fetching(fetch), position)
            }
            Err(e) => Self::failed(e),
        }
    }

    /// A stream that yields `error` and ends: for a list call whose
    /// parameters were refused before anything was sent.
    pub fn failed(error: Error) -> Self {
        Self::new(None, State::Failed(Some(error)), Position::default())
    }

    fn new(pager: Option<Pager>, state: State<P>, position: Position) -> Self {
        let mut seen = RecentCursors::default();
        if let Some(c) = &position.cursor {
            seen.insert(c);
        }
        Paginated {
            pager,
            state,
            cursor: position.cursor,
            start_link: None,
            yielded: 0,
            skip: position.skip,
            pass: 0,
            total: 0,
            mark: None,
            limit: None,
            next: None,
            then_fail: None,
            resume: None,
            seen,
            prefetch: false,
            ahead: None,
            ahead_task: None,
            current: None,
        }
    }

    /// Requests the next page as soon as its link is known, while the
    /// current one is decoded and read (off by default). Draining is then
    /// faster, at the cost of one request ahead of what was read: a stream
    /// dropped early has asked for a page it did not use. The page ahead is
    /// read into memory on its own tokio task as soon as it arrives, so a
    /// slow reader never makes it time out.
    pub fn prefetch(mut self, on: bool) -> Self {
        self.prefetch = on;
        self
    }

    /// Yields at most `n` items, and asks for no more than are still
    /// wanted where the API has a page-size parameter (Graph's `$top` on
    /// the last page). Nothing is sent before the stream is first polled.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self.refetch_first();
        self
    }

    /// Yields at most `n` items: [`limit`](Self::limit), under the name
    /// `StreamExt::take` has (which this shadows, asking for fewer items).
    /// With [`skip`](Self::skip), zenpy's slices: `.skip(250).take(10)` on
    /// an offset list of 100 a page is one request, for page 3.
    pub fn take(self, n: u64) -> Self {
        self.limit(n)
    }

    /// Passes over the first `n` items (zenpy's slices). Where the list
    /// numbers its pages (offset paging), the first request asks for the
    /// page item `n` is on, past a depth the API refuses with
    /// [`Error::Paging`] before anything is sent; elsewhere the items are
    /// read and dropped, in pages no larger than needed. Call it before
    /// the first item is read; later it only drops items.
    pub fn skip(mut self, n: u64) -> Self {
        if n == 0 {
            return self;
        }
        if self.is_fresh()
            && self.cursor.is_none()
            && self.skip == 0
            && let Some(pager) = &mut self.pager
        {
            match pager.jump(n) {
                Ok(Some(within)) => {
                    if within != n {
                        self.start_link = Some(pager.first_link());
                    }
                    self.skip = within;
                    self.refetch_first();
                    return self;
                }
                Ok(None) => {}
                Err(e) => {
                    self.state = State::Failed(Some(e));
                    return self;
                }
            }
        }
        self.pass = self.pass.saturating_add(n);
        self.refetch_first();
        self
    }

    /// Nothing has been read yet: the first fetch can still change.
    fn is_fresh(&self) -> bool {
        matches!(self.state, State::Fetching(_)) && self.total == 0 && self.yielded == 0
    }

    /// Asks for the first page again, sized for what is now wanted.
    fn refetch_first(&mut self) {
        if !self.is_fresh() {
            return;
        }
        if let Some(pager) = &self.pager {
            let wanted = self.wanted().map(|w| w.saturating_add(self.skip));
            self.state = State::Fetching(pager.fetch(self.cursor.as_deref(), wanted, None));
        }
    }

    /// Where the stream stands: the next item it yields is the one after
    /// this. Save it (it is `Serialize`) and pass it to the same list
    /// call's `stream_from(..)`, in this process or another, to carry on
    /// with the next item. Items are counted, so a list whose earlier
    /// items change in between may shift: Zendesk's exports repeat records
    /// anyway, and are de-duplicated by id and `updated_at`.
    pub fn position(&self) -> Position {
        Position {
            cursor: self.cursor.clone().or_else(|| self.start_link.clone()),
            skip: self.yielded.max(self.skip),
        }
    }

    /// After the last page: the token the API gave to resume from later
    /// (Graph's delta link, Zendesk's export cursor), when it gives one.
    pub fn resume_token(&self) -> Option<&str> {
        self.resume.as_deref()
    }

    /// The page being read, without its items (what it carries beside
    /// them: Cronofy's `pages`, side-loads); `None` for a bare array.
    pub fn current_page(&self) -> Option<&P> {
        self.current.as_ref().and_then(|c| c.page.as_ref())
    }

    /// The raw JSON of the page being read.
    pub fn json(&self) -> Option<Result<serde_json::Value>> {
        let op = self.op_id();
        self.current
            .as_ref()
            .map(|c| Error::decode_json(op, &c.raw))
    }

    /// Starts fetching the next page, if there is one to follow; true if it
    /// did. A repeated cursor becomes the error that ends the stream after
    /// this page.
    fn start_ahead(&mut self, cx: &mut Context<'_>) -> bool {
        if self.then_fail.is_some() || self.limit_reached() {
            return false;
        }
        let (Some(pager), Some(next)) = (&self.pager, self.next.take()) else {
            return false;
        };
        if !self.seen.insert(&next) {
            self.then_fail = Some(repeated_cursor());
            return false;
        }
        // The page ahead is fetched and read into memory on its own task,
        // as soon as it arrives, however slowly this page is read: its
        // request's deadline and idle timeout never run while it waits.
        let task = tokio::spawn(pager.fetch(Some(&next), self.wanted(), self.mark.clone()));
        self.ahead_task = Some(task.abort_handle());
        let mut fetch: BoxFuture<'static, Result<Fetched>> = async move {
            task.await.unwrap_or_else(|e| {
                Err(Error::Config(format!(
                    "the page fetched ahead was lost: {e}"
                )))
            })
        }
        .boxed();
        if let Poll::Ready(page) = fetch.as_mut().poll(cx) {
            fetch = Box::pin(std::future::ready(page));
        }
        self.ahead = Some((next, fetch));
        true
    }

    /// Moves on to the page at `cursor`, fetched by `fetch`.
    fn turn_page(&mut self, cursor: String, fetch: BoxFuture<'static, Result<Fetched>>) {
        self.state = State::Fetching(fetch);
        self.cursor = Some(cursor);
        self.yielded = 0;
        self.skip = 0;
    }

    /// The runtime the stream sends its requests with.
    #[allow(dead_code)] // used by the API modules that read their own errors (Graph)
    pub(crate) fn runtime(&self) -> Option<&Runtime> {
        self.pager.as_ref().map(|p| &p.runtime)
    }

    /// The list operation's id, for errors.
    fn op_id(&self) -> &'static str {
        self.pager.as_ref().map_or("list", |p| p.op.id)
    }

    /// Items the next page should hold: those still to yield and to pass.
    fn wanted(&self) -> Option<u64> {
        self.limit
            .map(|l| l.saturating_sub(self.total).saturating_add(self.pass))
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.total >= l)
    }

    fn decode_page(&mut self, raw: Bytes) -> Result<Vec<P::Item>> {
        let op = self.op_id();
        let mut page: P = Error::decode_json(op, &raw)?;
        let mut items = page.take_items();
        if self
            .pager
            .as_ref()
            .is_some_and(|p| p.walk == Walk::Backward)
        {
            items.reverse();
        }
        self.current = Some(Current {
            raw,
            page: Some(page),
        });
        Ok(items)
    }
}

// Items and pages are moved out, never pinned in place.
impl<P: Page> Unpin for Paginated<P> {}

impl<P: Page> fmt::Debug for Paginated<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginated")
            .field("operation", &self.pager.as_ref().map(|p| p.op.id))
            .field("position", &self.position())
            .field("yielded", &self.total)
            .finish_non_exhaustive()
    }
}

impl<P: Page> Stream for Paginated<P> {
    type Item = Result<P::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<P::Item>>> {
        let this = self.get_mut();
        loop {
            if this.limit_reached() {
                this.state = State::Done;
                this.ahead = None;
            }
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Failed(e) => {
                    let e = e.take();
                    this.state = State::Done;
                    return Poll::Ready(e.map(Err));
                }
                State::Fetching(fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok(page)) => {
                        // The page before is still held: compare them (a page
                        // that already ends the list with a more precise
                        // error, a stalled export, is read first).
                        if let (Some(pager), Some(before), Body::Whole(raw), None) =
                            (&this.pager, &this.current, &page.body, &page.then_fail)
                            && repeats(&pager.paging, &before.raw, raw)
                        {
                            this.state = State::Done;
                            this.ahead = None;
                            return Poll::Ready(Some(Err(repeated_page(this.op_id()))));
                        }
                        this.next = page.next;
                        this.then_fail = page.then_fail;
                        this.mark = page.mark;
                        if page.resume.is_some() {
                            this.resume = page.resume;
                        }
                        this.state = State::Reading(match page.body {
                            Body::Whole(raw) => Items::Pending(raw),
                            Body::Streamed(response) => {
                                let (limit, idle) = this.pager.as_ref().map_or(
                                    (usize::MAX, std::time::Duration::from_secs(30)),
                                    |p| (p.runtime.max_response_size(), p.runtime.idle()),
                                );
                                let op = this.op_id();
                                Items::Streamed(ArrayItems::new(response, op, limit, idle))
                            }
                        });
                        if this.prefetch && this.start_ahead(cx) {
                            // Let the runtime run the connection task, which
                            // writes the request, before this task decodes.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                },
                State::Reading(items) => {
                    let polled = match items {
                        // The common case without a boxed stream in between.
                        Items::Decoded(iter) => Poll::Ready(iter.next().map(Ok)),
                        Items::Streamed(stream) => Pin::new(stream).poll_next(cx),
                        Items::Pending(raw) => {
                            let raw = std::mem::take(raw);
                            match this.decode_page(raw) {
                                Ok(decoded) => {
                                    this.state =
                                        State::Reading(Items::Decoded(decoded.into_iter()));
                                    continue;
                                }
                                Err(e) => Poll::Ready(Some(Err(e))),
                            }
                        }
                    };
                    match polled {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(item))) => {
                            this.yielded += 1;
                            if this.yielded <= this.skip {
                                continue;
                            }
                            if this.pass > 0 {
                                this.pass -= 1;
                                continue;
                            }
                            this.total += 1;
                            return Poll::Ready(Some(Ok(item)));
                        }
                        Poll::Ready(Some(Err(e))) => {
                            this.state = State::Done;
                            return Poll::Ready(Some(Err(e)));
                        }
                        Poll::Ready(None) => {
                            if let Some(e) = this.then_fail.take() {
                                this.state = State::Done;
                                return Poll::Ready(Some(Err(e)));
                            }
                            if let Some((next, fetch)) = this.ahead.take() {
                                this.turn_page(next, fetch);
                                continue;
                            }
                            let (Some(pager), Some(next)) = (&this.pager, this.next.take()) else {
                                this.state = State::Done;
                                return Poll::Ready(None);
                            };
                            if !this.seen.insert(&next) {
                                this.state = State::Done;
                                return Poll::Ready(Some(Err(repeated_cursor())));
                            }
                            let fetch = pager.fetch(Some(&next), this.wanted(), this.mark.clone());
                            this.turn_page(next, fetch);
                        }
                    }
                }
            }
        }
    }
}

fn repeated_cursor() -> Error {
    Error::Protocol(
        "the API gave a next-page cursor it had already given; stopping instead of looping".into(),
    )
}

/// A stream of a list's pages, whole: items and whatever the page carries
/// beside them (side-loads, counts, links).
pub struct PageStream<P: Page> {
    inner: BoxStream<'static, Result<P>>,
}

impl<P: Page> PageStream<P> {
    /// The pages of `op`'s list from its first request `first`.
    #[allow(dead_code)] // called by generated code, when a spec has a paged list
    pub(crate) fn start(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        position: Position,
    ) -> Self {
        let pager = match Pager::new(runtime, first, op, Walk::Forward) {
            Ok(p) => p,
            Err(e) => return Self::failed(e),
        };
        struct Pages {
            pager: Pager,
            cursor: Option<Option<String>>,
            seen: RecentCursors,
            fail: Option<Error>,
            mark: Option<String>,
            /// The page before, to catch one served again.
            before: Option<Bytes>,
        }
        let walk = Pages {
            pager,
            cursor: Some(position.cursor),
            seen: RecentCursors::default(),
            fail: None,
            mark: None,
            before: None,
        };
        let inner = futures::stream::unfold(walk, |mut walk| async move {
            if let Some(e) = walk.fail.take() {
                walk.cursor = None;
                return Some((Err(e), walk));
            }
            let cursor = walk.cursor.take()?;
            let fetched = match walk
                .pager
                .fetch(cursor.as_deref(), None, walk.mark.take())
                .await
            {
                Ok(f) => f,
                Err(e) => return Some((Err(e), walk)),
            };
            walk.mark = fetched.mark;
            let Body::Whole(raw) = fetched.body else {
                return Some((
                    Err(Error::Config(
                        "a bare array has no pages; use stream()".into(),
                    )),
                    walk,
                ));
            };
            if fetched.then_fail.is_none()
                && walk
                    .before
                    .as_ref()
                    .is_some_and(|before| repeats(&walk.pager.paging, before, &raw))
            {
                walk.cursor = None;
                return Some((Err(repeated_page(walk.pager.op.id)), walk));
            }
            walk.before = Some(raw.clone());
            let page: P = match Error::decode_json(walk.pager.op.id, &raw) {
                Ok(p) => p,
                Err(e) => return Some((Err(e), walk)),
            };
            walk.fail = fetched.then_fail;
            if let Some(next) = fetched.next {
                if walk.seen.insert(&next) {
                    walk.cursor = Some(Some(next));
                } else {
                    walk.fail = Some(repeated_cursor());
                }
            }
            Some((Ok(page), walk))
        })
        .boxed();
        PageStream { inner }
    }

    /// A stream that yields `error` and ends.
    pub fn failed(error: Error) -> Self {
        PageStream {
            inner: futures::stream::once(async move { Err(error) }).boxed(),
        }
    }
}

impl<P: Page> fmt::Debug for PageStream<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream").finish_non_exhaustive()
    }
}

impl<P: Page> Stream for PageStream<P> {
    type Item = Result<P>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<P>>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// The cursors of the last pages (hashes only, bounded), to catch a loop.
#[derive(Default)]
struct RecentCursors {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl RecentCursors {
    const CAPACITY: usize = 4096;

    /// Records `cursor`; false if it was seen already.
    fn insert(&mut self, cursor: &str) -> bool {
        let mut h = DefaultHasher::new();
        cursor.hash(&mut h);
        let h = h.finish();
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}
