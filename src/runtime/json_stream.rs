//! Decodes a JSON array item by item while its body arrives.
//!
//! TimeSync answers every list with one bare array (no pages), so a large
//! list is one large body. Instead of buffering it whole, [`ArrayItems`]
//! finds each element's end as bytes arrive and decodes just that slice:
//! memory stays at one network chunk plus one item, however long the array.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// The values at each of `paths` (object member names) in the JSON document
/// `body`, as text (a string as it is, any other value as JSON; `null` as
/// `None`), found in one reading of the document: a page's cursor, its
/// has-more flag, its end flag and its resume value are often all after its
/// items.
///
/// It reads only as far as it must: members on no path are skimmed without
/// being built, and it stops once every path's value has been met, so a
/// next-page link at the head of a page costs almost nothing to find.
pub(crate) fn seek_all(body: &[u8], paths: &[&[&str]]) -> Vec<Option<String>> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    /// The paths still looked for below the current value, each with the
    /// slot of `out` it fills.
    struct Seek<'p, 'o> {
        wanted: Vec<(&'p [&'p str], usize)>,
        out: &'o mut [Option<serde_json::Value>],
    }

    impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            if self.wanted.iter().all(|(rest, _)| !rest.is_empty()) {
                return d.deserialize_any(self);
            }
            // A path ends here: the value is built once, and any longer
            // path below it is read from what was built.
            let value: serde_json::Value = serde::Deserialize::deserialize(d)?;
            for (rest, slot) in self.wanted {
                let mut at = Some(&value);
                for name in rest {
                    at = at.and_then(|v| v.get(name));
                }
                self.out[slot] = at.cloned();
            }
            Ok(())
        }
    }

    impl<'de> Visitor<'de> for Seek<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let (here, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.wanted)
                    .into_iter()
                    .partition(|(path, _)| path[0] == key);
                self.wanted = rest;
                if here.is_empty() {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                map.next_value_seed(Seek {
                    wanted: here.into_iter().map(|(p, slot)| (&p[1..], slot)).collect(),
                    out: &mut *self.out,
                })?;
                if self.wanted.is_empty() {
                    // All found (or not there): stop reading; the error
                    // serde_json then reports for the unread rest is ignored.
                    return Err(serde::de::Error::custom("stop"));
                }
            }
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
        fn visit_unit<E>(self) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
            Ok(())
        }
    }

    let mut out = vec![None; paths.len()];
    let wanted: Vec<(&[&str], usize)> = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(slot, p)| (*p, slot))
        .collect();
    // Top-level members after the items (Graph's next link) are read from
    // the end, without a scan of the items, when all of them are there.
    if !wanted.is_empty() && wanted.iter().all(|(p, _)| p.len() == 1) {
        let tail = super::json_tail::tail_members(body);
        let found: Vec<_> = wanted
            .iter()
            .map(|(p, slot)| Some((*slot, tail.iter().find(|(n, _)| n == p[0])?.1.clone())))
            .collect();
        if found.iter().all(Option::is_some) {
            for (slot, value) in found.into_iter().flatten() {
                out[slot] = Some(value);
            }
            return texts(out);
        }
    }
    if !wanted.is_empty() {
        let mut de = serde_json::Deserializer::from_slice(body);
        let _ = (Seek {
            wanted,
            out: &mut out,
        })
        .deserialize(&mut de);
    }
    texts(out)
}

/// Values as text: a string as it is, any other value as JSON, `null` as `None`.
fn texts(values: Vec<Option<serde_json::Value>>) -> Vec<Option<String>> {
    values
        .into_iter()
        .map(|v| match v? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
        .collect()
}

/// The raw bytes of the value of the top-level member `name` of the JSON
/// object `body` (a page's item array), found by skimming: strings and
/// nesting are followed, nothing is decoded or built. `None` when `body` is
/// not an object with that member, or is cut short.
pub(crate) fn member_bytes<'b>(body: &'b [u8], name: &str) -> Option<&'b [u8]> {
    let mut i = skip_space(body, 0);
    if body.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_space(body, i);
        match body.get(i)? {
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(body, i)?;
        let key = &body[i + 1..key_end - 1];
        i = skip_space(body, key_end);
        if body.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_space(body, i + 1);
        let end = value_end(body, start)?;
        if key == name.as_bytes() {
            return Some(&body[start..end]);
        }
        i = end;
    }
}

fn skip_space(body: &[u8], mut i: usize) -> usize {
    while body.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// One past the closing quote of the string that opens at `start`.
fn string_end(body: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        if body[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// One past the end of the JSON value that starts at `start`.
fn value_end(body: &[u8], start: usize) -> Option<usize> {
    match body.get(start)? {
        b'"' => string_end(body, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match body.get(i)? {
                    b'"' => {
                        i = string_end(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = &body[start..];
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            Some(start + len)
        }
    }
}

/// Items of the JSON array in a response body, decoded one by one.
pub(crate) struct ArrayItems<T> {
    operation: &'static str,
    /// The most bytes one item may take.
    limit: usize,
    /// How long the server may send nothing while we wait for it.
    idle: std::time::Duration,
    /// Armed while waiting for the server; the clock runs only then.
    silence: Option<Pin<Box<tokio::time::Sleep>>>,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buf: Vec<u8>,
    /// Where scanning resumes in `buf`.
    at: usize,
    /// Start of the element being scanned, once found.
    start: Option<usize>,
    scan: Scan,
    phase: Phase,
    index: usize,
    body_done: bool,
    _item: PhantomData<fn() -> T>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Before the opening `[`.
    Open,
    /// After `[` or `,`: an element or (only after `[`) the closing `]`.
    Element { first: bool },
    /// Inside an element.
    InElement,
    /// After an element: `,` or `]`.
    Separator,
    /// After `]`, or after an error.
    Finished,
}

/// Scanner state inside one element, kept across chunks.
#[derive(Clone, Copy, Default, Debug)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The element is a bare scalar (number, true, false, null).
    scalar: bool,
}

impl<T> ArrayItems<T> {
    /// The items of `response`'s array; an item over `limit` bytes is an
    /// error, and so is a server silent for `idle` while we wait for it.
    pub(crate) fn new(
        response: reqwest::Response,
        operation: &'static str,
        limit: usize,
        idle: std::time::Duration,
    ) -> Self {
        Self::from_stream(Box::pin(response.bytes_stream()), operation, limit, idle)
    }

    pub(crate) fn from_stream(
        body: BoxStream<'static, reqwest::Result<Bytes>>,
        operation: &'static str,
        limit: usize,
        idle: std::time::Duration,
    ) -> Self {
        ArrayItems {
            operation,
            limit,
            idle,
            silence: None,
            body,
            buf: Vec::with_capacity(64 * 1024),
            at: 0,
            start: None,
            scan: Scan::default(),
            phase: Phase::Open,
            index: 0,
            body_done: false,
            _item: PhantomData,
        }
    }
}

/// Why the array could not be read, for [`Error::Decode`].
fn syntax(reason: &str) -> serde_json::Error {
    serde::de::Error::custom(reason)
}

impl<T: DeserializeOwned> ArrayItems<T> {
    /// Scans what is buffered; returns the byte range of the next complete
    /// element, or `None` if more input is needed (or the array ended).
    fn next_element(&mut self) -> std::result::Result<Option<(usize, usize)>, serde_json::Error> {
        let buf = &self.buf;
        let mut i = self.at;
        while i < buf.len() {
            match self.phase {
                Phase::Finished => return Ok(None),
                Phase::Open => match buf[i] {
                    b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                    b'[' => {
                        self.phase = Phase::Element { first: true };
                        i += 1;
                    }
                    _ => return Err(syntax("expected a JSON array")),
                },
                Phase::Separator => match buf[i] {
                    b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                    b',' => {
                        self.phase = Phase::Element { first: false };
                        i += 1;
                    }
                    b']' => {
                        self.phase = Phase::Finished;
                        i += 1;
                    }
                    _ => return Err(syntax("expected `,` or `]` after an array element")),
                },
                Phase::Element { first } => match buf[i] {
                    b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                    b']' if first => {
                        self.phase = Phase::Finished;
                        i += 1;
                    }
                    b']' | b',' => return Err(syntax("expected an array element")),
                    c => {
                        self.start = Some(i);
                        self.scan = Scan {
                            depth: 0,
                            in_string: false,
                            escaped: false,
                            scalar: !matches!(c, b'{' | b'[' | b'"'),
                        };
                        self.phase = Phase::InElement;
                    }
                },
                Phase::InElement => {
                    let start = self.start.unwrap_or(i);
                    match scan_element(&mut self.scan, buf, i, start) {
                        Ok(end) => {
                            self.at = end;
                            self.phase = Phase::Separator;
                            self.start = None;
                            return Ok(Some((start, end)));
                        }
                        Err(resume) => {
                            i = resume;
                        }
                    }
                }
            }
        }
        self.at = i;
        Ok(None)
    }

    /// Drops consumed bytes so the buffer holds at most one partial element.
    fn compact(&mut self) {
        let keep_from = self.start.unwrap_or(self.at);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.at -= keep_from;
            if let Some(s) = &mut self.start {
                *s -= keep_from;
            }
        }
    }

    fn decode(&mut self, start: usize, end: usize) -> Result<T> {
        let index = self.index;
        self.index += 1;
        let slice = &self.buf[start..end];
        Error::decode_json(self.operation, slice).map_err(|e| match e {
            Error::Decode {
                operation,
                path,
                reason,
            } => Error::Decode {
                operation,
                path: format!("$[{index}]{}", &path[1..]),
                reason,
            },
            other => other,
        })
    }
}

/// Advances `scan` over `buf[from..]`. `Ok(end)` is one past the element's
/// last byte; `Err(resume)` means the element goes on past the buffer.
fn scan_element(
    scan: &mut Scan,
    buf: &[u8],
    from: usize,
    start: usize,
) -> std::result::Result<usize, usize> {
    let mut i = from;
    if scan.scalar {
        while i < buf.len() {
            if matches!(buf[i], b',' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                return Ok(i);
            }
            i += 1;
        }
        return Err(i);
    }
    while i < buf.len() {
        if scan.in_string {
            if scan.escaped {
                scan.escaped = false;
                i += 1;
                continue;
            }
            match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                None => return Err(buf.len()),
                Some(k) => {
                    i += k;
                    if buf[i] == b'\\' {
                        scan.escaped = true;
                    } else {
                        scan.in_string = false;
                        if scan.depth == 0 {
                            // A bare string element ends at its closing quote.
                            return Ok(i + 1);
                        }
                    }
                    i += 1;
                }
            }
            continue;
        }
        match buf[i] {
            b'"' => scan.in_string = true,
            b'{' | b'[' => scan.depth += 1,
            b'}' | b']' => {
                scan.depth = scan.depth.saturating_sub(1);
                if scan.depth == 0 && i >= start {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(i)
}

impl<T: DeserializeOwned> Stream for ArrayItems<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.phase == Phase::Finished {
                return Poll::Ready(None);
            }
            match this.next_element() {
                Ok(Some((start, end))) => return Poll::Ready(Some(this.decode(start, end))),
                Ok(None) if this.phase == Phase::Finished => return Poll::Ready(None),
                Ok(None) => {}
                Err(e) => {
                    this.phase = Phase::Finished;
                    return Poll::Ready(Some(Err(Error::Decode {
                        operation: this.operation,
                        path: format!("$[{}]", this.index),
                        reason: e.to_string(),
                    })));
                }
            }
            if this.body_done {
                this.phase = Phase::Finished;
                return Poll::Ready(Some(Err(Error::Decode {
                    operation: this.operation,
                    path: format!("$[{}]", this.index),
                    reason: "the body ended before the JSON array was closed".into(),
                })));
            }
            if this.buf.len() > this.limit {
                this.phase = Phase::Finished;
                return Poll::Ready(Some(Err(Error::TooLarge {
                    operation: this.operation,
                    limit: this.limit,
                })));
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Pending => {
                    let idle = this.idle;
                    let silence = this
                        .silence
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                    if silence.as_mut().poll(cx).is_ready() {
                        this.phase = Phase::Finished;
                        return Poll::Ready(Some(Err(Error::Timeout {
                            operation: this.operation,
                            deadline: idle,
                        })));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => this.body_done = true,
                Poll::Ready(Some(Err(e))) => {
                    this.phase = Phase::Finished;
                    return Poll::Ready(Some(Err(Error::transport(this.operation, e))));
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    this.silence = None;
                    this.compact();
                    this.buf.extend_from_slice(&chunk);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// One path, as the pager once read each.
    fn seek(body: &[u8], path: &[&str]) -> Option<String> {
        seek_all(body, &[path]).pop().flatten()
    }

    #[test]
    fn several_paths_are_read_in_one_pass_whatever_their_order() {
        let body = br#"{"items":[{"a":1}],"meta":{"has_more":true,"after":"c2"},"end":false,"links":{"next":"u"}}"#;
        let found = seek_all(
            body,
            &[
                &["links", "next"],
                &["meta", "has_more"],
                &[],
                &["meta"],
                &["meta", "after"],
                &["gone"],
            ],
        );
        assert_eq!(
            found,
            [
                Some("u".to_string()),
                Some("true".to_string()),
                None,
                Some(r#"{"after":"c2","has_more":true}"#.to_string()),
                Some("c2".to_string()),
                None,
            ]
        );
    }

    #[test]
    fn member_bytes_skims_to_a_top_level_member() {
        let body =
            br#"{"a": {"value": [9]}, "s": "x\"]}", "value" : [ {"id": "1,]"}, 2 ] , "n": 3}"#;
        assert_eq!(
            member_bytes(body, "value"),
            Some(&br#"[ {"id": "1,]"}, 2 ]"#[..])
        );
        assert_eq!(member_bytes(body, "n"), Some(&b"3"[..]));
        assert_eq!(member_bytes(body, "missing"), None);
        assert_eq!(member_bytes(br#"{"value": [1, 2"#, "value"), None);
        assert_eq!(member_bytes(b"[1]", "value"), None);
    }

    #[test]
    fn seek_finds_a_value_by_path_wherever_it_is_and_stops_there() {
        let body = br#"{"items":[{"a":{"pages":1}}],"pages":{"next_page":"https://x/p/2","n":3},"@odata.nextLink":"u"} oops"#;
        assert_eq!(
            seek(body, &["pages", "next_page"]).as_deref(),
            Some("https://x/p/2")
        );
        assert_eq!(seek(body, &["pages", "n"]).as_deref(), Some("3"));
        assert_eq!(seek(body, &["@odata.nextLink"]).as_deref(), Some("u"));
        assert_eq!(seek(body, &["pages", "missing"]), None);
        assert_eq!(seek(br#"{"next":null}"#, &["next"]), None);
        assert_eq!(
            seek(br#"{"meta":{"has_more":false}}"#, &["meta", "has_more"]).as_deref(),
            Some("false")
        );
        assert_eq!(seek(b"[1,2]", &["next"]), None);
        assert_eq!(seek(b"not json", &["next"]), None);
    }

    #[tokio::test]
    async fn an_item_larger_than_the_limit_is_an_error_not_a_growing_buffer() {
        let body = format!(r#"[{{"id":1,"note":"{}"}}]"#, "x".repeat(10_000));
        let err = ArrayItems::<Item>::from_stream(
            chunked(&body, 512),
            "list_items",
            4096,
            std::time::Duration::from_secs(5),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
    }

    use futures::{StreamExt, TryStreamExt, stream};

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Item {
        id: u32,
        note: String,
    }

    /// Feeds `body` in chunks of `size` bytes.
    fn chunked(body: &str, size: usize) -> BoxStream<'static, reqwest::Result<Bytes>> {
        let chunks: Vec<reqwest::Result<Bytes>> = body
            .as_bytes()
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        stream::iter(chunks).boxed()
    }

    async fn decode<T: DeserializeOwned>(body: &str, size: usize) -> Result<Vec<T>> {
        ArrayItems::<T>::from_stream(
            chunked(body, size),
            "list_items",
            1 << 20,
            std::time::Duration::from_secs(5),
        )
        .try_collect()
        .await
    }

    const BODY: &str = r#" [ {"id":1,"note":"a, \"quoted\" ] {tricky}"},
        {"id":2,"note":"back\\slash\\"} ,{"id":3,"note":"[nested]","extra":{"x":[1,{"y":"}"}]}} ] "#;

    #[tokio::test]
    async fn every_chunk_size_gives_the_same_items() {
        for size in [1, 2, 3, 7, 16, 64, 4096] {
            let items: Vec<Item> = decode(BODY, size).await.unwrap();
            assert_eq!(
                items.iter().map(|i| i.id).collect::<Vec<_>>(),
                [1, 2, 3],
                "chunk size {size}"
            );
            assert_eq!(items[0].note, "a, \"quoted\" ] {tricky}");
            assert_eq!(items[1].note, "back\\slash\\");
        }
    }

    #[tokio::test]
    async fn scalars_strings_and_empty_arrays() {
        let err = decode::<i64>("[1, null]", 2).await.unwrap_err();
        assert!(err.to_string().contains("at $[1]"), "{err}");
        assert_eq!(
            decode::<f64>("[1, -2,3e2]", 2).await.unwrap(),
            [1.0, -2.0, 300.0]
        );
        assert_eq!(
            decode::<String>(r#"["a","b\"]",""]"#, 3).await.unwrap(),
            ["a", "b\"]", ""]
        );
        assert!(decode::<Item>(" [ ] ", 1).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_bad_item_names_its_index_and_field() {
        let body = r#"[{"id":1,"note":"a"},{"id":"two","note":"b"}]"#;
        let err = decode::<Item>(body, 5).await.unwrap_err();
        match err {
            Error::Decode { path, .. } => assert_eq!(path, "$[1].id"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn truncated_bodies_and_non_arrays_are_errors() {
        let err = decode::<Item>(r#"[{"id":1,"note":"a"},{"id":2"#, 4)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("ended before"), "{err}");
        let err = decode::<Item>(r#"{"id":1}"#, 4).await.unwrap_err();
        assert!(err.to_string().contains("expected a JSON array"), "{err}");
        let err = decode::<Item>(r#"[{"id":1,"note":"a"} {"id":2,"note":"b"}]"#, 4)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("expected `,` or `]`"), "{err}");
    }

    #[tokio::test]
    async fn the_buffer_holds_one_chunk_and_one_item_however_long_the_array() {
        let item = r#"{"id":7,"note":"0123456789012345678901234567890123456789"}"#;
        let n = 20_000;
        let body = format!("[{}]", vec![item; n].join(","));
        let mut items = ArrayItems::<Item>::from_stream(
            chunked(&body, 1024),
            "list_items",
            1 << 20,
            std::time::Duration::from_secs(5),
        );
        let mut count = 0;
        let mut max_buf = 0;
        while let Some(i) = items.next().await {
            i.unwrap();
            count += 1;
            max_buf = max_buf.max(items.buf.len());
        }
        assert_eq!(count, n);
        assert!(max_buf <= 1024 + item.len(), "buffer grew to {max_buf}");
    }
}
