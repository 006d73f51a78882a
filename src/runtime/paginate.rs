//! Lists as `Stream`s that hold one page at a time.
//!
//! [`Paginated`] asks for the next page only when the current one is used
//! up, follows whatever cursor the API gives (a next link, a cursor, a start
//! time), and can say where it stands ([`Paginated::position`]) so that a
//! new stream can carry on from there after a crash ([`Paginated::resume`]).
//! A cursor the API already gave ends the stream with
//! [`Error::Protocol`] instead of looping.
//!
//! With [`Paginated::prefetch`] on, the request for the next page is sent as
//! soon as its cursor is known, before the current page is decoded and read,
//! so the server's work and the transfer overlap the client's.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt as _, Stream};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where a stream stands: the cursor of the page it is reading (`None` for
/// the first page) and how many items of that page it has already yielded.
///
/// Save it (it is `Serialize`) and pass it to the same list call's
/// `resume(..)` to carry on from the next item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Cursor of the current page; `None` is the first page.
    pub cursor: Option<String>,
    /// Items of that page already yielded.
    pub skip: u64,
}

/// One page: its items and the cursor of the next.
pub struct Page<'a, T> {
    /// The items of this page.
    pub items: PageItems<'a, T>,
    /// The next page's cursor; `None` on the last page.
    pub next: Option<String>,
    /// An error to end the stream with once this page's items are yielded
    /// (a next link the stream must not follow, say).
    pub then_fail: Option<Error>,
}

impl<'a, T: Send + 'a> Page<'a, T> {
    /// A page whose items are already decoded.
    pub fn from_vec(items: Vec<T>, next: Option<String>) -> Self {
        Page {
            items: PageItems::Decoded(items.into_iter()),
            next,
            then_fail: None,
        }
    }
}

/// The items of a page: already decoded, decoded when the page becomes the
/// one being read (so that a prefetched page's decoding waits its turn), or
/// decoded as they are read from the body (TimeSync's single array).
pub enum PageItems<'a, T> {
    /// Decoded with the page.
    Decoded(std::vec::IntoIter<T>),
    /// Decoded when the stream starts reading this page.
    Deferred(Box<dyn FnOnce() -> Result<Vec<T>> + Send + 'a>),
    /// Decoded one by one as the body arrives.
    Streamed(BoxStream<'a, Result<T>>),
}

type Fetch<'a, T> =
    Box<dyn FnMut(Option<String>) -> BoxFuture<'a, Result<Page<'a, T>>> + Send + 'a>;

/// A stream of items over pages. It is `Unpin`, so `try_next()` needs no `pin!`.
pub struct Paginated<'a, T> {
    fetch: Fetch<'a, T>,
    state: State<'a, T>,
    cursor: Option<String>,
    yielded: u64,
    skip: u64,
    next: Option<String>,
    then_fail: Option<Error>,
    seen: RecentCursors,
    prefetch: bool,
    /// The next page, requested ahead: its cursor and its fetch.
    ahead: Option<(String, BoxFuture<'a, Result<Page<'a, T>>>)>,
}

enum State<'a, T> {
    Fetching(BoxFuture<'a, Result<Page<'a, T>>>),
    Reading(PageItems<'a, T>),
    Done,
}

impl<'a, T: Send + 'a> Paginated<'a, T> {
    /// A stream from the first page. `fetch(cursor)` gets one page.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: FnMut(Option<String>) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<'a, T>>> + Send + 'a,
    {
        Self::resume(Position::default(), fetch)
    }

    /// A stream that yields `error` and ends: for a list call whose
    /// parameters were refused before anything was sent.
    pub fn failed(error: Error) -> Self {
        let mut error = Some(error);
        Self::new(move |_| {
            let e = error
                .take()
                .unwrap_or_else(|| Error::Config("stream polled after its error".into()));
            async move { Err(e) }
        })
    }

    /// A stream that carries on from `position`.
    pub fn resume<F, Fut>(position: Position, mut fetch: F) -> Self
    where
        F: FnMut(Option<String>) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<'a, T>>> + Send + 'a,
    {
        let first = fetch(position.cursor.clone()).boxed();
        let mut seen = RecentCursors::default();
        if let Some(c) = &position.cursor {
            seen.insert(c);
        }
        Paginated {
            fetch: Box::new(move |c| fetch(c).boxed()),
            state: State::Fetching(first),
            cursor: position.cursor,
            yielded: 0,
            skip: position.skip,
            next: None,
            then_fail: None,
            seen,
            prefetch: false,
            ahead: None,
        }
    }

    /// Requests the next page as soon as its cursor is known, while the
    /// current one is decoded and read (off by default). Draining is then
    /// faster, at the cost of one request ahead of what was read: a stream
    /// dropped early has asked for a page it did not use.
    pub fn prefetch(mut self, on: bool) -> Self {
        self.prefetch = on;
        self
    }
}

impl<T> Paginated<'_, T> {
    /// Where the stream stands: the next item it yields is the one after this.
    pub fn position(&self) -> Position {
        Position {
            cursor: self.cursor.clone(),
            skip: self.yielded.max(self.skip),
        }
    }
}

// Items are moved out, never pinned in place, so the stream can move freely.
impl<T> Unpin for Paginated<'_, T> {}

impl<T> fmt::Debug for Paginated<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginated")
            .field("cursor", &self.cursor)
            .field("yielded", &self.yielded)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Send + 'a> Stream for Paginated<'a, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Fetching(fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok(page)) => {
                        this.next = page.next;
                        this.then_fail = page.then_fail;
                        this.state = State::Reading(page.items);
                        if this.prefetch && this.start_ahead(cx) {
                            // Let the runtime run the connection task, which
                            // writes the request, before this task decodes.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                },
                State::Reading(items) => match match items {
                    // The common case without a boxed stream in between.
                    PageItems::Decoded(iter) => Poll::Ready(iter.next().map(Ok)),
                    PageItems::Deferred(_) => {
                        let PageItems::Deferred(decode) =
                            std::mem::replace(items, PageItems::Decoded(Vec::new().into_iter()))
                        else {
                            unreachable!()
                        };
                        match decode() {
                            Ok(decoded) => {
                                *items = PageItems::Decoded(decoded.into_iter());
                                continue;
                            }
                            Err(e) => Poll::Ready(Some(Err(e))),
                        }
                    }
                    PageItems::Streamed(stream) => stream.as_mut().poll_next(cx),
                } {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(item))) => {
                        this.yielded += 1;
                        if this.yielded <= this.skip {
                            continue;
                        }
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
                            this.state = State::Fetching(fetch);
                            this.cursor = Some(next);
                            this.yielded = 0;
                            this.skip = 0;
                            continue;
                        }
                        let Some(next) = this.next.take() else {
                            this.state = State::Done;
                            return Poll::Ready(None);
                        };
                        if !this.seen.insert(&next) {
                            this.state = State::Done;
                            return Poll::Ready(Some(Err(repeated_cursor())));
                        }
                        this.state = State::Fetching((this.fetch)(Some(next.clone())));
                        this.cursor = Some(next);
                        this.yielded = 0;
                        this.skip = 0;
                    }
                },
            }
        }
    }
}

impl<'a, T: Send + 'a> Paginated<'a, T> {
    /// Starts fetching the next page, if there is one to follow; true if it
    /// did. A repeated cursor becomes the error that ends the stream after
    /// this page.
    fn start_ahead(&mut self, cx: &mut Context<'_>) -> bool {
        if self.then_fail.is_some() {
            return false;
        }
        let Some(next) = self.next.take() else {
            return false;
        };
        if !self.seen.insert(&next) {
            self.then_fail = Some(repeated_cursor());
            return false;
        }
        let mut fetch = (self.fetch)(Some(next.clone()));
        // Poll once so that the request is queued; a page that is already
        // there is kept as it is.
        if let Poll::Ready(page) = fetch.as_mut().poll(cx) {
            fetch = Box::pin(std::future::ready(page));
        }
        self.ahead = Some((next, fetch));
        true
    }
}

fn repeated_cursor() -> Error {
    Error::Protocol(
        "the API gave a next-page cursor it had already given; stopping instead of looping".into(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{StreamExt, TryStreamExt};
    use std::sync::{Arc, Mutex};

    /// Pages "p0".."p{n-1}" of `per` items numbered from 0; records fetches.
    fn pages(
        n: usize,
        per: usize,
        log: Arc<Mutex<Vec<Option<String>>>>,
    ) -> Paginated<'static, usize> {
        Paginated::new(fetcher(n, per, log))
    }

    fn fetcher(
        n: usize,
        per: usize,
        log: Arc<Mutex<Vec<Option<String>>>>,
    ) -> impl FnMut(Option<String>) -> BoxFuture<'static, Result<Page<'static, usize>>> + Send {
        move |cursor: Option<String>| {
            log.lock().unwrap().push(cursor.clone());
            let page: usize = cursor.map_or(0, |c| c[1..].parse().unwrap());
            let items = (page * per..(page + 1) * per).collect();
            let next = (page + 1 < n).then(|| format!("p{}", page + 1));
            Box::pin(async move { Ok(Page::from_vec(items, next)) })
        }
    }

    #[tokio::test]
    async fn follows_cursors_and_fetches_the_next_page_only_when_needed() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut s = pages(3, 2, log.clone());
        assert_eq!(s.try_next().await.unwrap(), Some(0));
        assert_eq!(s.try_next().await.unwrap(), Some(1));
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "page 2 fetched before it was needed"
        );
        let rest: Vec<usize> = s.try_collect().await.unwrap();
        assert_eq!(rest, [2, 3, 4, 5]);
        assert_eq!(
            *log.lock().unwrap(),
            [None, Some("p1".into()), Some("p2".into())]
        );
    }

    #[tokio::test]
    async fn a_saved_position_resumes_at_the_next_item() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut s = pages(3, 2, log.clone());
        for want in 0..3 {
            assert_eq!(s.try_next().await.unwrap(), Some(want));
        }
        let saved = serde_json::to_string(&s.position()).unwrap();
        drop(s); // the crash
        let position: Position = serde_json::from_str(&saved).unwrap();
        assert_eq!(
            position,
            Position {
                cursor: Some("p1".into()),
                skip: 1
            }
        );
        let rest: Vec<usize> = Paginated::resume(position, fetcher(3, 2, log))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rest, [3, 4, 5]);
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_with_an_error() {
        let mut calls = 0;
        let s = Paginated::new(move |_c: Option<String>| {
            calls += 1;
            let next = Some(if calls < 3 {
                format!("c{calls}")
            } else {
                "c1".into()
            });
            async move { Ok(Page::from_vec(vec![1], next)) }
        });
        let err = s.try_collect::<Vec<i32>>().await.unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    }

    #[tokio::test]
    async fn with_prefetch_the_next_page_is_requested_before_this_one_is_read() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut s = pages(3, 2, log.clone()).prefetch(true);
        assert_eq!(s.try_next().await.unwrap(), Some(0));
        assert_eq!(*log.lock().unwrap(), [None, Some("p1".into())]);
        let saved = s.position();
        assert_eq!(
            saved,
            Position {
                cursor: None,
                skip: 1
            },
            "the position stays on the page being read"
        );
        let rest: Vec<usize> = s.try_collect().await.unwrap();
        assert_eq!(rest, [1, 2, 3, 4, 5]);
        assert_eq!(
            *log.lock().unwrap(),
            [None, Some("p1".into()), Some("p2".into())],
            "each page requested once, none past the last"
        );
    }

    #[tokio::test]
    async fn with_prefetch_a_repeated_cursor_still_ends_after_the_page_with_an_error() {
        let mut calls = 0;
        let s = Paginated::new(move |_c: Option<String>| {
            calls += 1;
            let next = Some(if calls < 3 {
                format!("c{calls}")
            } else {
                "c1".into()
            });
            async move { Ok(Page::from_vec(vec![calls], next)) }
        })
        .prefetch(true);
        let got: Vec<Result<i32>> = s.collect().await;
        assert!(matches!(got[..3], [Ok(1), Ok(2), Ok(3)]), "{got:?}");
        assert!(matches!(got[3], Err(Error::Protocol(_))), "{got:?}");
        assert_eq!(got.len(), 4);
    }

    #[tokio::test]
    async fn deferred_items_are_decoded_when_their_page_is_read_and_fail_there() {
        let decoded = Arc::new(Mutex::new(Vec::new()));
        let seen = decoded.clone();
        let s = Paginated::new(move |c: Option<String>| {
            let seen = seen.clone();
            async move {
                let page = c.clone().unwrap_or_default();
                Ok(Page {
                    items: PageItems::Deferred(Box::new(move || {
                        seen.lock().unwrap().push(page.clone());
                        if page == "b" {
                            Err(Error::Protocol("bad page b".into()))
                        } else {
                            Ok(vec![page.len()])
                        }
                    })),
                    next: match c.as_deref() {
                        None => Some("a".into()),
                        Some("a") => Some("b".into()),
                        _ => None,
                    },
                    then_fail: None,
                })
            }
        })
        .prefetch(true);
        let mut s = s;
        assert_eq!(s.try_next().await.unwrap(), Some(0));
        assert_eq!(
            *decoded.lock().unwrap(),
            [""],
            "page a fetched, not decoded"
        );
        assert_eq!(s.try_next().await.unwrap(), Some(1));
        match s.try_next().await {
            Err(Error::Protocol(m)) => assert_eq!(m, "bad page b"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.try_next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn empty_pages_with_a_cursor_are_passed_over() {
        let s = Paginated::new(|c: Option<String>| async move {
            Ok(match c.as_deref() {
                None => Page::from_vec(vec![], Some("a".into())),
                Some("a") => Page::from_vec(vec![], Some("b".into())),
                _ => Page::from_vec(vec![9], None),
            })
        });
        assert_eq!(s.try_collect::<Vec<i32>>().await.unwrap(), [9]);
    }
}
