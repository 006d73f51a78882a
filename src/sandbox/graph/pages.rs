//! Lists answered page by page with `@odata.nextLink`, and delta rounds
//! ending in `@odata.deltaLink`.
//!
//! A page holds `$top` items, else `Prefer: odata.maxpagesize`, else the
//! server's page size. The next link is the request's own URL with the same
//! options and an opaque `$skiptoken` (a page token of the engine standing
//! for the offset); an unknown token is a 400. A delta round answers the
//! items of its scope changed since its `$deltatoken` (every item on the
//! first round) and, after the first round, `{"id", "@removed": {"reason"}}`
//! for each that left it; its last page carries the delta link of the next
//! round. Drives name the token `token` and mark removals with `deleted`.

use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req};
use super::errors::{GraphErr, Outcome, bad_request, ok};
use super::odata::Options;
use super::store::{Gone, Row, Table};
use super::times::preferred_page_size;

/// What a page or delta token stands for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cursor {
    /// The next page of a list starts at this offset.
    Offset(usize),
    /// The next page of a delta round: changes after `since` up to `until`,
    /// from `offset` on.
    DeltaPage {
        since: u64,
        until: u64,
        offset: usize,
    },
    /// A delta link: the next round reports changes after this.
    Delta(u64),
}

/// The largest page the sandbox answers.
const MAX_PAGE: usize = 1000;

impl Ctx<'_> {
    /// The page size of `req`.
    fn page_size(&self, req: &Req) -> usize {
        req.q("$top")
            .and_then(|t| t.parse::<usize>().ok())
            .or_else(|| preferred_page_size(req.header("prefer")))
            .unwrap_or(self.config.page_size)
            .clamp(1, MAX_PAGE)
    }

    /// The URL of `req` with its query but `drop`, plus `extra`.
    fn link(&self, req: &Req, drop: &[&str], extra: (&str, &str)) -> String {
        let pairs = req
            .query
            .pairs()
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(std::iter::once(extra));
        let query: Vec<String> = pairs
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}{}?{}", self.root, req.url_path, query.join("&"))
    }

    /// `@odata.context` of a list at `req`'s path.
    fn context(&self, req: &Req) -> String {
        let below = req.url_path.strip_prefix("/v1.0").unwrap_or(&req.url_path);
        format!(
            "{}/v1.0/$metadata#{}",
            self.root,
            below.trim_start_matches('/')
        )
    }

    /// Answers one entity of the spec's `schema`, narrowed by `$select`.
    pub(super) fn one(&self, req: &Req, schema: &str, item: Value) -> Outcome {
        let options = Options::read(|k| if k == "$select" { req.q(k) } else { None }, schema)?;
        ok(options.project(item))
    }

    /// Answers `items` as a list of the spec's `schema`: `$filter`,
    /// `$search`, `$orderby`, `$count`, then one page and `$select`.
    pub(super) fn list(&self, req: &Req, schema: &str, items: Vec<Value>) -> Outcome {
        let options = Options::read(|k| req.q(k), schema)?;
        let items = options.apply(items);
        let offset = match req.q("$skiptoken") {
            Some(token) => match self.pages.get(token) {
                Some(Cursor::Offset(n)) => n,
                _ => return Err(bad_skip_token()),
            },
            None => req.q("$skip").and_then(|s| s.parse().ok()).unwrap_or(0),
        };
        let size = self.page_size(req);
        let total = items.len();
        let page: Vec<Value> = items
            .into_iter()
            .skip(offset)
            .take(size)
            .map(|i| options.project(i))
            .collect();
        let mut answer = Map::new();
        answer.insert("@odata.context".into(), json!(self.context(req)));
        if req
            .q("$count")
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
        {
            answer.insert("@odata.count".into(), json!(total));
        }
        answer.insert("value".into(), Value::Array(page));
        if offset + size < total {
            let token = self.pages.issue(Cursor::Offset(offset + size));
            let next = self.link(req, &["$skiptoken", "$skip"], ("$skiptoken", &token));
            answer.insert("@odata.nextLink".into(), json!(next));
        }
        ok(Value::Object(answer))
    }

    /// Answers a delta round over `table`'s rows of `owner` in `scope`,
    /// shown by `show`; `token` names the query parameter of delta tokens
    /// (`$deltatoken`, or `token` for drives).
    pub(super) fn delta(&self, req: &Req, round: &Round<'_>) -> Outcome {
        let (since, until, offset) = match (req.q("$skiptoken"), req.q(round.token)) {
            (Some(t), _) => match self.pages.get(t) {
                Some(Cursor::DeltaPage {
                    since,
                    until,
                    offset,
                }) => (since, until, offset),
                _ => return Err(bad_skip_token()),
            },
            (None, Some(t)) if round.token == "token" && t == "latest" => {
                (round.table.seq(), round.table.seq(), 0)
            }
            (None, Some(t)) => match self.pages.get(t) {
                Some(Cursor::Delta(since)) => (since, round.table.seq(), 0),
                _ => {
                    return Err(bad_request(
                        "SyncStateNotFound",
                        "The sync state generation is not found. Please do a full sync.",
                    ));
                }
            },
            (None, None) => (0, round.table.seq(), 0),
        };
        let mut changes: Vec<(u64, Value)> = round
            .table
            .rows
            .iter()
            .filter(|r| {
                r.owner == round.owner && r.seq > since && r.seq <= until && (round.scope)(r)
            })
            .map(|r| (r.seq, (round.show)(r)))
            .collect();
        if since > 0 {
            let present = |id: &str| changes.iter().any(|(_, v)| v["id"] == id);
            let removed: Vec<(u64, Value)> = round
                .table
                .gone
                .iter()
                .filter(|g| g.owner == round.owner && g.seq > since && g.seq <= until)
                .filter(|g| (round.left)(g) && !present(&g.id))
                .map(|g| (g.seq, (round.removed)(g)))
                .collect();
            changes.extend(removed);
        }
        changes.sort_by_key(|(seq, _)| *seq);
        let options = Options::read(
            |k| if k == "$select" { req.q(k) } else { None },
            round.schema,
        )?;
        let size = self.page_size(req);
        let total = changes.len();
        let page: Vec<Value> = changes
            .into_iter()
            .skip(offset)
            .take(size)
            .map(|(_, v)| options.project(v))
            .collect();
        let drop = ["$skiptoken", "$deltatoken", "token"];
        let mut answer = json!({"@odata.context": self.context(req), "value": page});
        if offset + size < total {
            let t = self.pages.issue(Cursor::DeltaPage {
                since,
                until,
                offset: offset + size,
            });
            answer["@odata.nextLink"] = json!(self.link(req, &drop, ("$skiptoken", &t)));
        } else {
            let t = self.pages.issue(Cursor::Delta(until));
            answer["@odata.deltaLink"] = json!(self.link(req, &drop, (round.token, &t)));
        }
        ok(answer)
    }
}

/// One delta query: what is tracked and how it is shown.
pub(super) struct Round<'a> {
    pub(super) table: &'a Table,
    pub(super) owner: &'a str,
    /// The spec's schema of the items (for `$select`).
    pub(super) schema: &'a str,
    /// The query parameter of delta tokens.
    pub(super) token: &'a str,
    /// Whether a row is in the tracked scope.
    pub(super) scope: &'a dyn Fn(&Row) -> bool,
    /// Whether a removal left the tracked scope.
    pub(super) left: &'a dyn Fn(&Gone) -> bool,
    /// A row as the round shows it.
    pub(super) show: &'a dyn Fn(&Row) -> Value,
    /// A removal as the round shows it.
    pub(super) removed: &'a dyn Fn(&Gone) -> Value,
}

/// `{"id", "@removed": {"reason"}}`, as Outlook's delta shows a removal.
pub(super) fn outlook_removed(g: &Gone) -> Value {
    json!({"id": g.id, "@removed": {"reason": g.reason}})
}

/// A query key or value as Graph writes them in links (`$top=5`, not `%24top`).
fn encode(text: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'$')
        .remove(b',')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b':')
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'@');
    percent_encoding::utf8_percent_encode(text, KEEP).to_string()
}

fn bad_skip_token() -> GraphErr {
    bad_request("BadRequest", "The $skiptoken is not valid.")
}
