//! One page of a list: the request for it (cursor, page number, page size,
//! direction) and what its answer says about the next (link or cursor, the
//! end, the token to resume from, a depth the API will not page past, an
//! export that stopped moving). Read by [`Paginated`](super::Paginated) and
//! [`PageStream`](super::PageStream); it names no API: the spec's
//! `x-specbound-pagination` says everything.

use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::BoxFuture;

use super::json_stream::seek_all;
use super::send::{Call, Mode};
use super::spec::{Operation, PageStyle, Pagination};
use super::{Runtime, set_query};
use crate::error::PagingErrorKind;
use crate::{Error, Result};

/// Which of an operation's pagings a stream follows, and which way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Walk {
    /// `x-specbound-pagination`, forwards.
    Forward,
    /// `x-specbound-offset-pagination`, forwards.
    Offset,
    /// `x-specbound-pagination`, backwards through `prev`.
    Backward,
}

/// How to get one page of one list.
pub(crate) struct Pager {
    pub(crate) runtime: Runtime,
    pub(crate) first: reqwest::Request,
    pub(crate) op: &'static Operation,
    pub(crate) paging: Pagination,
    pub(crate) walk: Walk,
}

/// A page as it arrived.
pub(crate) struct Fetched {
    pub(crate) body: Body,
    /// The next page's cursor (a link or a cursor).
    pub(crate) next: Option<String>,
    /// An error to end with after this page (a link the stream must not
    /// follow, an export that stopped moving).
    pub(crate) then_fail: Option<Error>,
    /// The token to resume from, on the last page.
    pub(crate) resume: Option<String>,
    /// This page's resume value (`resume` in the spec), on every page.
    pub(crate) mark: Option<String>,
}

pub(crate) enum Body {
    Whole(Bytes),
    Streamed(reqwest::Response),
}

impl Pager {
    pub(crate) fn new(
        runtime: Runtime,
        first: reqwest::Request,
        op: &'static Operation,
        walk: Walk,
    ) -> Result<Self> {
        let paging = match walk {
            Walk::Forward | Walk::Backward => op.pagination,
            Walk::Offset => op.offset_pagination,
        };
        let paging = paging.ok_or_else(|| {
            Error::Config(format!(
                "{} has no {} in its spec",
                op.id,
                if walk == Walk::Offset {
                    "x-specbound-offset-pagination"
                } else {
                    "x-specbound-pagination"
                }
            ))
        })?;
        if walk == Walk::Backward && paging.prev_cursor_param.is_none() {
            return Err(Error::Config(format!(
                "{} cannot be read backwards: its spec names no prev-cursor-param",
                op.id
            )));
        }
        Ok(Pager {
            runtime,
            first,
            op,
            paging,
            walk,
        })
    }

    /// Starts fetching the page at `cursor`, asking for no more than
    /// `wanted` items where the API has a page-size parameter; `prev_mark`
    /// is the resume value of the page before, to tell an export that
    /// stopped moving.
    pub(crate) fn fetch(
        &self,
        cursor: Option<&str>,
        wanted: Option<u64>,
        prev_mark: Option<String>,
    ) -> BoxFuture<'static, Result<Fetched>> {
        let built = self.request(cursor, wanted);
        let runtime = self.runtime.clone();
        let paging = self.paging;
        let (op, walk) = (self.op, self.walk);
        let page_op = match (cursor, self.paging.style) {
            (Some(_), PageStyle::NextLink) => paging
                .page_operation
                .and_then(|id| runtime.spec().operation(id))
                .unwrap_or(op),
            _ => op,
        };
        let first = cursor.is_none();
        async move {
            let mut request = built?;
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
            let mut size = page_size(&paging, request.url());
            let offset = offset_of(&paging, request.url());
            let response = loop {
                let again = request.try_clone();
                match runtime.call(request, call).await {
                    Ok(r) => break r,
                    // A gateway that timed out on a large page (Graph's 504
                    // on a big `$top`): the same page asked with half the
                    // size, and the stream goes on from there.
                    Err(e) if e.status().is_some_and(|s| s.as_u16() == 504) => {
                        match (paging.size_param, size, again) {
                            (Some(param), Some(s), Some(mut smaller)) if s > 1 => {
                                set_query(smaller.url_mut(), param, &(s / 2).to_string());
                                size = Some(s / 2);
                                request = smaller;
                            }
                            _ => return Err(past_depth(e, op.id, &paging, offset)),
                        }
                    }
                    Err(e) => return Err(past_depth(e, op.id, &paging, offset)),
                }
            };
            if mode == Mode::Stream {
                return Ok(Fetched {
                    body: Body::Streamed(response),
                    next: None,
                    then_fail: None,
                    resume: None,
                    mark: None,
                });
            }
            let raw = runtime.read_answer(response, page_op.id).await?;
            let Signs {
                next,
                end,
                has_more,
                mark,
            } = signs(&paging, walk, &raw);
            let (mut next, mut then_fail, ended) = next_of(&runtime, &paging, next, end, has_more);
            if next.is_some()
                && let (Some(mark), Some(prev)) = (&mark, &prev_mark)
                && mark == prev
            {
                // The export did not move: its next page would be this one
                // again. A full page means more records share this position
                // than a page holds; a short one, that it has caught up.
                let count = count_items(&raw, paging.items);
                if size.is_none_or(|s| count.is_none_or(|c| c >= s)) {
                    then_fail = Some(stalled(op.id, mark));
                }
                next = None;
            }
            let resume = match next {
                Some(_) => None,
                None => mark.clone().or(ended),
            };
            Ok(Fetched {
                body: Body::Whole(raw),
                next,
                then_fail,
                resume,
                mark,
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
                let (param, other) = match self.walk {
                    Walk::Backward => (self.paging.prev_cursor_param, self.paging.cursor_param),
                    _ => (self.paging.cursor_param, self.paging.prev_cursor_param),
                };
                let dropped: Vec<&str> = self
                    .paging
                    .cursor_replaces
                    .iter()
                    .copied()
                    .chain(other)
                    .collect();
                remove_query(request.url_mut(), &dropped);
                if let Some(param) = param {
                    set_query(request.url_mut(), param, c);
                }
                request
            }
            _ => self.clone_first()?,
        };
        self.size_request(&mut request, cursor.is_some(), wanted);
        Ok(request)
    }

    /// Sets the page size of `request`: the size of the first page stays
    /// for every page of an offset list (page numbers count pages of that
    /// size); elsewhere no more than `wanted` is asked for, and a cursor
    /// list always says its size (Zendesk pages by cursor only then).
    fn size_request(&self, request: &mut reqwest::Request, later: bool, wanted: Option<u64>) {
        let Some(param) = self.paging.size_param else {
            return;
        };
        let current = query_value(request.url(), param).and_then(|v| v.parse::<u64>().ok());
        let numbered = self.paging.page_param.is_some_and(|p| {
            later || query_value(request.url(), p).is_some_and(|v| v.as_str() != "1")
        });
        if numbered {
            if current.is_none()
                && let Some(size) = query_value(self.first.url(), param)
            {
                set_query(request.url_mut(), param, &size);
            }
            return;
        }
        let fallback = self.paging.default_size.or(self.paging.max_size);
        let cap = current.or(fallback.map(u64::from));
        let size = match (wanted, cap) {
            (Some(w), Some(c)) if w < c => Some(w.max(1)),
            _ if current.is_none() && self.paging.style == PageStyle::Cursor => {
                fallback.map(u64::from)
            }
            _ => None,
        };
        if let Some(size) = size {
            set_query(request.url_mut(), param, &size.to_string());
        }
    }

    /// Makes the first request start `n` items further into an offset
    /// list (its page number and size set so that the item is on it); the
    /// items of that page to pass over, or `None` where the list has no
    /// page numbers.
    pub(crate) fn jump(&mut self, n: u64) -> Result<Option<u64>> {
        let (Some(page_param), Some(size_param), PageStyle::NextLink) = (
            self.paging.page_param,
            self.paging.size_param,
            self.paging.style,
        ) else {
            return Ok(None);
        };
        let Some(size) = query_value(self.first.url(), size_param)
            .and_then(|v| v.parse::<u64>().ok())
            .or(self
                .paging
                .default_size
                .or(self.paging.max_size)
                .map(u64::from))
            .filter(|s| *s > 0)
        else {
            return Ok(None);
        };
        // From the page the caller asked for, if any.
        let from = query_value(self.first.url(), page_param)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1)
            .saturating_sub(1)
            .saturating_mul(size);
        let n = from.saturating_add(n);
        if let Some(limit) = self.paging.depth_limit
            && n >= limit.records
        {
            return Err(depth_error(self.op.id, &self.paging, limit.records));
        }
        let page = n / size + 1;
        if page > 1 {
            set_query(self.first.url_mut(), page_param, &page.to_string());
            set_query(self.first.url_mut(), size_param, &size.to_string());
        }
        Ok(Some(n % size))
    }

    /// The URL of the first request, as a next link: where a stream that
    /// jumped ahead resumes.
    pub(crate) fn first_link(&self) -> String {
        self.first.url().to_string()
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

/// The value of query parameter `name` of `url`.
fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` without the query parameters `names`.
fn remove_query(url: &mut url::Url, names: &[&str]) {
    if names.is_empty() || url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !names.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
}

/// The page size a request of this list asks for (sent, or the API's).
fn page_size(paging: &Pagination, url: &url::Url) -> Option<u64> {
    paging
        .size_param
        .and_then(|p| query_value(url, p))
        .and_then(|v| v.parse().ok())
        .or(paging.default_size.or(paging.max_size).map(u64::from))
}

/// How many records come before the page a numbered request asks for.
fn offset_of(paging: &Pagination, url: &url::Url) -> Option<u64> {
    let page: u64 = query_value(url, paging.page_param?)?.parse().ok()?;
    Some(
        page.saturating_sub(1)
            .saturating_mul(page_size(paging, url)?),
    )
}

/// The API's answer past the depth it pages to, as the error that says so.
fn past_depth(e: Error, op: &'static str, paging: &Pagination, offset: Option<u64>) -> Error {
    match (&e, paging.depth_limit, offset) {
        (Error::Api(api), Some(limit), Some(offset))
            if api.status.as_u16() == limit.status && offset >= limit.records =>
        {
            depth_error(op, paging, limit.records)
        }
        _ => e,
    }
}

fn depth_error(op: &'static str, paging: &Pagination, records: u64) -> Error {
    let advice = paging.depth_limit.map_or("", |l| l.advice);
    Error::Paging {
        operation: op,
        kind: PagingErrorKind::DepthLimit { records },
        reason: format!("this paging stops at {records} records: {advice}"),
    }
}

fn stalled(op: &'static str, at: &str) -> Error {
    Error::Paging {
        operation: op,
        kind: PagingErrorKind::Stalled { at: at.to_string() },
        reason: format!(
            "the export stopped moving at {at}: more records share that position than a page \
             holds, so its next page would be this one again"
        ),
    }
}

/// What a page says about its list, read in one pass over the page (the
/// members are often all after its items): the cursor the walk follows,
/// the end flag, the has-more flag and the value to resume from.
struct Signs {
    next: Option<String>,
    end: bool,
    has_more: Option<bool>,
    mark: Option<String>,
}

fn signs(paging: &Pagination, walk: Walk, raw: &[u8]) -> Signs {
    let pointer = match (walk, paging.style) {
        (_, PageStyle::Single | PageStyle::Array) => &[][..],
        (Walk::Backward, _) => paging.prev,
        _ => paging.next,
    };
    let [next, end, has_more, mark]: [Option<String>; 4] =
        seek_all(raw, &[pointer, paging.end, paging.has_more, paging.resume])
            .try_into()
            .unwrap_or_default();
    Signs {
        next: next.filter(|n| !n.is_empty()),
        end: end.as_deref() == Some("true"),
        has_more: (!paging.has_more.is_empty()).then(|| has_more.as_deref() == Some("true")),
        mark,
    }
}

/// The next cursor of a page, the error to end with after it, and (when
/// the page says the list ends here) the cursor it names but the stream
/// does not follow.
fn next_of(
    runtime: &Runtime,
    paging: &Pagination,
    next: Option<String>,
    end: bool,
    has_more: Option<bool>,
) -> (Option<String>, Option<Error>, Option<String>) {
    if end {
        return (None, None, next);
    }
    if has_more == Some(false) {
        return (None, None, None);
    }
    match (next, paging.style) {
        (Some(link), PageStyle::NextLink) => match url::Url::parse(&link) {
            Ok(url) => match check_trusted(runtime, &url)
                .and_then(|()| check_page_route(runtime, paging, &url))
            {
                Ok(()) => (Some(link), None, None),
                Err(e) => (None, Some(e), None),
            },
            Err(_) => (
                None,
                Some(Error::Protocol(format!(
                    "the next link `{link}` is not a URL"
                ))),
                None,
            ),
        },
        (next, _) => (next, None, None),
    }
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

/// How many elements the array `key` of the page object holds, read
/// without decoding them.
fn count_items(body: &[u8], key: &str) -> Option<u64> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(Some(n))
        }
    }
    impl<'de> DeserializeSeed<'de> for Count {
        type Value = Option<u64>;
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    struct Page<'k>(&'k str);
    impl<'de> Visitor<'de> for Page<'_> {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if k == self.0 && found.is_none() {
                    found = map.next_value_seed(Count)?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserializer::deserialize_map(&mut de, Page(key))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_counted_without_being_decoded() {
        let body = br#"{"meta":{"tickets":[1]},"tickets":[{"a":[1,2]},{"b":{}}],"end_time":5}"#;
        assert_eq!(count_items(body, "tickets"), Some(2));
        assert_eq!(count_items(body, "users"), None);
        assert_eq!(count_items(b"[1,2]", "tickets"), None);
        assert_eq!(count_items(br#"{"tickets":7}"#, "tickets"), None);
    }

    #[test]
    fn the_offset_of_a_numbered_page_counts_the_pages_before_it() {
        let paging = Pagination {
            page_param: Some("page"),
            size_param: Some("per_page"),
            max_size: Some(100),
            ..Pagination::for_tests(PageStyle::NextLink, "tickets")
        };
        let url = |q: &str| url::Url::parse(&format!("https://x.test/t?{q}")).unwrap();
        assert_eq!(offset_of(&paging, &url("page=101")), Some(10_000));
        assert_eq!(offset_of(&paging, &url("page=3&per_page=10")), Some(20));
        assert_eq!(offset_of(&paging, &url("per_page=10")), None);
        assert_eq!(offset_of(&paging, &url("page=x")), None);
    }
}
