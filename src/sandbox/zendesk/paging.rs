//! The two paging styles of Zendesk's lists, chosen as Zendesk chooses:
//! cursor paging when the request carries a `page[...]` parameter (or the
//! list has no other), offset paging otherwise. Which styles a list has
//! comes from the spec (`x-specbound-pagination`,
//! `x-specbound-offset-pagination`).
//!
//! - Cursor: `page[size]` (default and most 100), `page[after]` /
//!   `page[before]`, `sort` (`id`, `-updated_at`...); the page carries
//!   `meta {has_more, after_cursor, before_cursor}` and `links {next, prev}`,
//!   absolute URLs on the sandbox. Cursors are opaque (base64 of the sort
//!   field and the position), so they stay valid while records change.
//! - Offset: `page`, `per_page` (default 100, more is read as 100),
//!   `sort_by`, `sort_order`; the page carries `next_page`, `previous_page`
//!   and `count`. Past page 100 or 10,000 records (`page * per_page`):
//!   400 `InvalidPaginationDepth`.

use std::borrow::Borrow;
use std::cmp::Ordering;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{ZdErr, invalid_pagination, pagination_too_deep};
use crate::runtime::spec::PageStyle;

/// The default and largest page of both styles.
pub(super) const MAX_PAGE: usize = 100;

/// Offset paging stops at this many records.
const OFFSET_DEPTH: usize = 10_000;

/// How `req`'s list pages: (cursor?, the property holding the items).
fn style(req: &Req<'_>) -> (bool, &'static str) {
    let cursor_list = req
        .op
        .pagination
        .filter(|p| p.style == PageStyle::Cursor && p.cursor_param == Some("page[after]"));
    let offset_list = req.op.offset_pagination.is_some()
        || req
            .op
            .pagination
            .is_some_and(|p| p.style != PageStyle::Cursor && p.size_param == Some("per_page"));
    // Lists the spec does not page carry their items under the path's name.
    let items = match req.op.pagination {
        Some(p) => p.items.trim_start_matches('/'),
        None => req
            .op
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".json"),
    };
    let asked = req
        .query
        .pairs()
        .iter()
        .any(|(k, _)| k.starts_with("page["));
    (cursor_list.is_some() && (asked || !offset_list), items)
}

/// One page of `items` (in the list's natural order) as `req` asks:
/// the items under the list's property, with the style's envelope.
pub(super) fn page<V: Borrow<Value> + Clone>(
    root: &str,
    req: &Req<'_>,
    items: Vec<V>,
) -> Result<Map<String, Value>, ZdErr> {
    let (cursor, key) = style(req);
    if cursor {
        cursor_page(root, req, key, items)
    } else {
        offset_page(root, req, key, items)
    }
}

/// The property a list's items go under.
pub(super) fn items_key(req: &Req<'_>) -> &'static str {
    style(req).1
}

/// A position in a sorted list: the sort field's value, then the record's
/// id (or, for lists without numeric ids, its place in the list).
type Position = (Value, u64);

fn position(item: &Value, field: Option<&str>, place: usize) -> Position {
    let tie = item["id"].as_u64().unwrap_or(place as u64);
    (field.map_or(Value::Null, |f| item[f].clone()), tie)
}

/// Orders JSON values as a database would: null first, then numbers, text, booleans.
pub(super) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn compare_positions(a: &Position, b: &Position) -> Ordering {
    compare(&a.0, &b.0).then(a.1.cmp(&b.1))
}

/// An opaque cursor: base64 of `{"o": field, "v": value, "i": id}`.
pub(super) fn encode_cursor(field: &str, at: &Position) -> String {
    let text = json!({"o": field, "v": at.0, "i": at.1}).to_string();
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The position a cursor of `field` names, if it is one.
pub(super) fn decode_cursor(field: &str, cursor: &str) -> Option<Position> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    if value["o"] != field {
        return None;
    }
    Some((value["v"].clone(), value["i"].as_u64()?))
}

/// A page size parameter: `default` when absent, refused past `max` or below 1.
pub(super) fn size_param(
    req: &Req<'_>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ZdErr> {
    match req.query.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid_pagination(name)),
    }
}

fn cursor_page<V: Borrow<Value> + Clone>(
    root: &str,
    req: &Req<'_>,
    key: &str,
    items: Vec<V>,
) -> Result<Map<String, Value>, ZdErr> {
    let max = req
        .op
        .pagination
        .and_then(|p| p.max_size)
        .map_or(MAX_PAGE, |m| m as usize);
    let size = size_param(req, "page[size]", MAX_PAGE.min(max), max)?;
    let sort = req.query.get("sort");
    let (field, descending) = match sort {
        None => (None, false),
        Some(s) => match s.strip_prefix('-') {
            Some(f) => (Some(f), true),
            None => (Some(s), false),
        },
    };
    if let Some(f) = field
        && (f.is_empty() || !(f == "id" || items.iter().any(|i| i.borrow().get(f).is_some())))
    {
        return Err(invalid_pagination("sort"));
    }
    let name = sort.unwrap_or("id");
    let order = |a: &Position, b: &Position| {
        let o = compare_positions(a, b);
        if descending { o.reverse() } else { o }
    };
    let mut placed: Vec<(Position, V)> = items
        .into_iter()
        .enumerate()
        .map(|(n, item)| (position(item.borrow(), field, n), item))
        .collect();
    placed.sort_by(|a, b| order(&a.0, &b.0));
    let cursor_of = |param: &str| -> Result<Option<Position>, ZdErr> {
        match req.query.get(param) {
            None => Ok(None),
            Some(c) => decode_cursor(name, c)
                .map(Some)
                .ok_or_else(|| invalid_pagination(param)),
        }
    };
    let (chosen, has_more) = if let Some(before) = cursor_of("page[before]")? {
        let earlier: Vec<(Position, V)> = placed
            .into_iter()
            .filter(|(p, _)| order(p, &before) == Ordering::Less)
            .collect();
        let skip = earlier.len().saturating_sub(size);
        (earlier[skip..].to_vec(), skip > 0)
    } else {
        let after = cursor_of("page[after]")?;
        let mut later: Vec<(Position, V)> = placed
            .into_iter()
            .filter(|(p, _)| {
                after
                    .as_ref()
                    .is_none_or(|a| order(p, a) == Ordering::Greater)
            })
            .collect();
        let more = later.len() > size;
        later.truncate(size);
        (later, more)
    };
    let after_cursor = chosen.last().map(|(p, _)| encode_cursor(name, p));
    let before_cursor = chosen.first().map(|(p, _)| encode_cursor(name, p));
    let link = |param: &str, cursor: &Option<String>| -> Value {
        cursor.as_ref().map_or(Value::Null, |c| {
            let mut pairs: Vec<(String, String)> = req
                .query
                .pairs()
                .iter()
                .filter(|(k, _)| !k.starts_with("page["))
                .cloned()
                .collect();
            pairs.push((param.to_string(), c.clone()));
            pairs.push(("page[size]".to_string(), size.to_string()));
            json!(url_with(root, req.path, &pairs))
        })
    };
    let mut page = Map::new();
    page.insert(
        key.to_string(),
        Value::Array(
            chosen
                .into_iter()
                .map(|(_, v)| v.borrow().clone())
                .collect(),
        ),
    );
    page.insert(
        "meta".into(),
        json!({"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor}),
    );
    page.insert(
        "links".into(),
        json!({"prev": link("page[before]", &before_cursor), "next": link("page[after]", &after_cursor)}),
    );
    Ok(page)
}

fn offset_page<V: Borrow<Value>>(
    root: &str,
    req: &Req<'_>,
    key: &str,
    mut items: Vec<V>,
) -> Result<Map<String, Value>, ZdErr> {
    let per_page = number(req, "per_page")
        .unwrap_or(MAX_PAGE)
        .clamp(1, MAX_PAGE);
    let page = number(req, "page").unwrap_or(1).max(1);
    if page > OFFSET_DEPTH / MAX_PAGE || page.saturating_mul(per_page) > OFFSET_DEPTH {
        return Err(pagination_too_deep());
    }
    if let Some(field) = req.query.get("sort_by") {
        items.sort_by(|a, b| {
            let (a, b) = (a.borrow(), b.borrow());
            compare(&a[field], &b[field]).then(compare(&a["id"], &b["id"]))
        });
        if req.query.get("sort_order") == Some("desc") {
            items.reverse();
        }
    } else if req.query.get("sort_order") == Some("desc") {
        items.reverse();
    }
    let total = items.len();
    let chosen: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|v| v.borrow().clone())
        .collect();
    let mut result = Map::new();
    result.insert(key.to_string(), Value::Array(chosen));
    let paged = !matches!(req.op.pagination.map(|p| p.style), Some(PageStyle::Single));
    let link = |n: usize| json!(url_with(root, req.path, &with_page(req, n)));
    let next = paged && page * per_page < total;
    result.insert(
        "next_page".into(),
        if next { link(page + 1) } else { Value::Null },
    );
    result.insert(
        "previous_page".into(),
        if paged && page > 1 {
            link(page - 1)
        } else {
            Value::Null
        },
    );
    result.insert("count".into(), json!(total));
    Ok(result)
}

/// A whole-number query parameter (absent or unreadable: `None`).
pub(super) fn number(req: &Req<'_>, key: &str) -> Option<usize> {
    req.query.get(key).and_then(|v| v.trim().parse().ok())
}

/// The request's query with `page` set to `n` (first, as Zendesk writes it).
pub(super) fn with_page(req: &Req<'_>, n: usize) -> Vec<(String, String)> {
    let mut pairs = vec![("page".to_string(), n.to_string())];
    pairs.extend(
        req.query
            .pairs()
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned(),
    );
    pairs
}

/// `<root><path>?<pairs>`, the pairs form-encoded (`page%5Bsize%5D=1`).
pub(super) fn url_with(root: &str, path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return format!("{root}{path}");
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{root}{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_another_sort() {
        let at = (json!("2024-01-01T00:00:00Z"), 42);
        let c = encode_cursor("-updated_at", &at);
        assert_eq!(decode_cursor("-updated_at", &c), Some(at));
        assert_eq!(decode_cursor("id", &c), None);
        assert_eq!(decode_cursor("id", "not base64!"), None);
        assert_eq!(compare(&Value::Null, &json!(1)), Ordering::Less);
        assert_eq!(compare(&json!(2), &json!(10)), Ordering::Less);
    }
}
