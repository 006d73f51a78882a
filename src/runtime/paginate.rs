//! Lists as `Stream`s that hold one page at a time, paged the way the
//! spec's `x-specbound-pagination` says (see [`PageStyle`]).
//!
//! Codegen gives each paginated operation's builder `.stream()` (items),
//! `.stream_from(position)` (carry on after a crash) and `.pages()` (whole
//! pages, with what they carry beside their items). A stream:
//!
//! - asks for the next page only when the current one is used up, or as
//!   soon as its link is known with [`Paginated::prefetch`];
//! - is told how many items are still wanted ([`Paginated::limit`]) and
//!   asks for no more than that where the API has a page-size parameter;
//! - follows next links only to the host the client trusts, and ends with
//!   [`Error::Protocol`] on a link elsewhere, a cursor it already had, or a
//!   page that repeats the page before in all but its cursor;
//! - says where it stands ([`Paginated::position`]) and, after the last
//!   page, the token to resume from later ([`Paginated::resume_token`]);
//! - owns what it needs (`'static + Send`), so it can be spawned.

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

use super::json_stream::{ArrayItems, member_bytes, seek};
use super::send::{Call, Mode};
use super::spec::{Operation, PageStyle, Pagination};
use super::{Runtime, set_query};
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
}

/// How to get one page of one list.
struct Pager {
    runtime: Runtime,
    first: reqwest::Request,
    op: &'static Operation,
    paging: Pagination,
}

/// A page as it arrived.
struct Fetched {
    body: Body,
    /// The next page's cursor (a link or a cursor).
    next: Option<String>,
    /// An error to end with after this page (a link the stream must not follow).
    then_fail: Option<Error>,
    /// The token to resume from, on the last page.
    resume: Option<String>,
}

enum Body {
    Whole(Bytes),
    Streamed(reqwest::Response),
}

impl Pager {
    fn new(runtime: Runtime, first: reqwest::Request, op: &'static Operation) -> Result<Self> {
        let paging = op.pagination.ok_or_else(|| {
            Error::Config(format!(
                "{} has no x-specbound-pagination in its spec",
                op.id
            ))
        })?;
        Ok(Pager {
            runtime,
            first,
            op,
            paging,
        })
    }

    /// Starts fetching the page at `cursor`, asking for no more than
    /// `wanted` items where the API has a page-size parameter.
    fn fetch(
        &self,
        cursor: Option<&str>,
        wanted: Option<u64>,
    ) -> BoxFuture<'static, Result<Fetched>> {
        let built = self.request(cursor, wanted);
        let runtime = self.runtime.clone();
        let paging = self.paging;
        let op = self.op;
        let page_op = match (cursor, self.paging.style) {
            (Some(_), PageStyle::NextLink) => paging
                .page_operation
                .and_then(|id| runtime.spec().operation(id))
                .unwrap_or(op),
            _ => op,
        };
        let first = cursor.is_none();
        async move {
            let request = built?;
            let mode = if paging.style == PageStyle::Array {
                Mode::Stream
            } else {
                Mode::Whole
            };
            let call = Call {
                operation: page_op.id,
                spec: Some(op),
                idempotent: op.idempotent || op.method == "GET",
                credentials: true,
                check: first,
                prepare: true,
                mode,
            };
            let response = runtime.call(request, call).await?;
            if mode == Mode::Stream {
                return Ok(Fetched {
                    body: Body::Streamed(response),
                    next: None,
                    then_fail: None,
                    resume: None,
                });
            }
            let raw = runtime.read_answer(response, page_op.id).await?;
            let (next, then_fail) = next_of(&runtime, &paging, &raw);
            let resume = match (&next, paging.resume.is_empty()) {
                (None, false) => seek(&raw, paging.resume),
                _ => None,
            };
            Ok(Fetched {
                body: Body::Whole(raw),
                next,
                then_fail,
                resume,
            })
        }
        .boxed()
    }

    /// The request for the page at `cursor`.
    fn request(&self, cursor: Option<&str>, wanted: Option<u64>) -> Result<reqwest::Request> {
        let mut request = match (cursor, self.paging.style) {
            (Some(link), PageStyle::NextLink) => {
                let url = url::Url::parse(link)
                    .map_err(|_| Error::Protocol(format!("the next link `{link}` is not a URL")))?;
                check_trusted(&self.runtime, &url)?;
                let mut request = reqwest::Request::new(reqwest::Method::GET, url);
                // Every header of the first page goes again (Graph's
                // `Prefer` and `ConsistencyLevel` shape each page); the
                // credentials are added afresh for each request.
                for (name, value) in self.first.headers() {
                    if name != http::header::AUTHORIZATION {
                        request.headers_mut().append(name, value.clone());
                    }
                }
                request
            }
            (Some(c), PageStyle::Cursor) => {
                let mut request = self.clone_first()?;
                if let Some(param) = self.paging.cursor_param {
                    set_query(request.url_mut(), param, c);
                }
                request
            }
            _ => self.clone_first()?,
        };
        if let (Some(param), Some(wanted)) = (self.paging.size_param, wanted) {
            let current = request
                .url()
                .query_pairs()
                .find(|(k, _)| k == param)
                .and_then(|(_, v)| v.parse::<u64>().ok());
            let page = current.or(self.paging.max_size.map(u64::from));
            if let Some(page) = page
                && wanted < page
            {
                set_query(request.url_mut(), param, &wanted.max(1).to_string());
            }
        }
        Ok(request)
    }

    fn clone_first(&self) -> Result<reqwest::Request> {
        self.first.try_clone().ok_or_else(|| {
            Error::Config(format!(
                "{}: a list request with a streamed body cannot be paged",
                self.op.id
            ))
        })
    }
}

/// The next cursor of a page, or the error to end with after it.
fn next_of(runtime: &Runtime, paging: &Pagination, raw: &[u8]) -> (Option<String>, Option<Error>) {
    if paging.next.is_empty() || matches!(paging.style, PageStyle::Single | PageStyle::Array) {
        return (None, None);
    }
    let next = seek(raw, paging.next).filter(|n| !n.is_empty());
    if !paging.has_more.is_empty() && seek(raw, paging.has_more).as_deref() != Some("true") {
        return (None, None);
    }
    match (next, paging.style) {
        (Some(link), PageStyle::NextLink) => match url::Url::parse(&link) {
            Ok(url) => match check_trusted(runtime, &url)
                .and_then(|()| check_page_route(runtime, paging, &url))
            {
                Ok(()) => (Some(link), None),
                Err(e) => (None, Some(e)),
            },
            Err(_) => (
                None,
                Some(Error::Protocol(format!(
                    "the next link `{link}` is not a URL"
                ))),
            ),
        },
        (next, _) => (next, None),
    }
}

/// Whether page `next` repeats page `previous` in everything but its
/// next-page cursor, with items in it: a server that hands out fresh cursors
/// over the same page would be followed for ever. The raw bodies are
/// compared (both are in memory at this point), nothing is decoded.
fn repeats(paging: &Pagination, previous: &[u8], next: &[u8]) -> bool {
    if paging.items.is_empty() || !matches!(paging.style, PageStyle::NextLink | PageStyle::Cursor) {
        return false;
    }
    let has_items = member_bytes(next, paging.items)
        .and_then(|items| items.strip_prefix(b"[")?.strip_suffix(b"]"))
        .is_some_and(|inner| !inner.iter().all(u8::is_ascii_whitespace));
    has_items && around(previous, paging.next) == around(next, paging.next)
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

/// A next link must point at a host the client trusts.
fn check_trusted(runtime: &Runtime, url: &url::Url) -> Result<()> {
    if runtime.is_trusted(url) {
        return Ok(());
    }
    Err(Error::Protocol(format!(
        "the next link points to {}, not to the API host {}; not following it",
        url.origin().ascii_serialization(),
        runtime.base_origin()
    )))
}

/// A next link must be a page of the list's page operation (Cronofy's
/// `read_events_page`), when the spec names one: a link to another route
/// of the API host would be sent, traced and paced as something it is not.
fn check_page_route(runtime: &Runtime, paging: &Pagination, url: &url::Url) -> Result<()> {
    let Some(op) = paging
        .page_operation
        .and_then(|id| runtime.spec().operation(id))
    else {
        return Ok(());
    };
    let below = url
        .path()
        .strip_prefix(runtime.base_path())
        .unwrap_or(url.path());
    if op.match_path(below).is_some() {
        return Ok(());
    }
    Err(Error::Protocol(format!(
        "the next link {} is not a page of {}; not following it",
        url.path(),
        op.id
    )))
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
    /// Items of this page passed (skipped or yielded).
    yielded: u64,
    skip: u64,
    /// Items yielded in all.
    total: u64,
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
        match Pager::new(runtime, first, op) {
            Ok(pager) => {
                let fetch = pager.fetch(position.cursor.as_deref(), None);
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
            yielded: 0,
            skip: position.skip,
            total: 0,
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
        if let (Some(pager), State::Fetching(_)) = (&self.pager, &self.state)
            && self.total == 0
            && self.yielded == 0
        {
            self.state = State::Fetching(pager.fetch(self.cursor.as_deref(), Some(n + self.skip)));
        }
        self
    }

    /// Where the stream stands: the next item it yields is the one after this.
    pub fn position(&self) -> Position {
        Position {
            cursor: self.cursor.clone(),
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
        let task = tokio::spawn(pager.fetch(Some(&next), self.wanted()));
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

    fn wanted(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.total))
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.total >= l)
    }

    fn decode_page(&mut self, raw: Bytes) -> Result<Vec<P::Item>> {
        let op = self.op_id();
        let mut page: P = Error::decode_json(op, &raw)?;
        let items = page.take_items();
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
                        // The page before is still held: compare them.
                        if let (Some(pager), Some(before), Body::Whole(raw)) =
                            (&this.pager, &this.current, &page.body)
                            && repeats(&pager.paging, &before.raw, raw)
                        {
                            this.state = State::Done;
                            this.ahead = None;
                            return Poll::Ready(Some(Err(repeated_page(this.op_id()))));
                        }
                        this.next = page.next;
                        this.then_fail = page.then_fail;
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
                            let fetch = pager.fetch(Some(&next), this.wanted());
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
        let pager = match Pager::new(runtime, first, op) {
            Ok(p) => p,
            Err(e) => return Self::failed(e),
        };
        struct Walk {
            pager: Pager,
            cursor: Option<Option<String>>,
            seen: RecentCursors,
            fail: Option<Error>,
            /// The page before, to catch one served again.
            before: Option<Bytes>,
        }
        let walk = Walk {
            pager,
            cursor: Some(position.cursor),
            seen: RecentCursors::default(),
            fail: None,
            before: None,
        };
        let inner = futures::stream::unfold(walk, |mut walk| async move {
            if let Some(e) = walk.fail.take() {
                walk.cursor = None;
                return Some((Err(e), walk));
            }
            let cursor = walk.cursor.take()?;
            let fetched = match walk.pager.fetch(cursor.as_deref(), None).await {
                Ok(f) => f,
                Err(e) => return Some((Err(e), walk)),
            };
            let Body::Whole(raw) = fetched.body else {
                return Some((
                    Err(Error::Config(
                        "a bare array has no pages; use stream()".into(),
                    )),
                    walk,
                ));
            };
            if walk
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
