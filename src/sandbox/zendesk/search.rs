//! Search over the stored records: `/api/v2/search.json` (offset paging, at
//! most 1,000 results: a page past them is 422 `invalid`), its count, and
//! Search Export (cursor paging of one record type, newest first, with
//! cursors that expire).
//!
//! The query language is a small part of Zendesk's:
//!
//! - words match (case-insensitive, as substrings) the text of a record:
//!   a ticket's subject, description, comments and tags; a user's name,
//!   email, notes, details and tags; an organization's name, notes, details,
//!   tags and domains; a group's name and description. `"quoted phrases"`
//!   match as a whole; `word*` is a prefix.
//! - `field:value`, `field<value`, `field>value` (and `<=`, `>=`):
//!   `type` (ticket, user, organization, group), `status` (ordered new <
//!   open < pending < hold < solved < closed), `priority` (low < normal <
//!   high < urgent), `ticket_type`, `subject`, `description`, `tags`/`tag`,
//!   `role`, `email`, `name`, `external_id`, `requester`, `assignee`,
//!   `submitter` (an id, an email, a name, or `none`), `organization`,
//!   `group` (an id, a name, or `none`), `created`, `updated`, `due_date`
//!   (a date such as `2024-01-31`, a UTC time, or a relative `4hours`,
//!   `2days`, `1week`, `3months`, `1year`).
//! - `-term` negates any of these.
//!
//! Results without a sort are ordered by type then id (standing in for
//! relevance); `sort_by` (`created_at`, `updated_at`, `priority`, `status`,
//! `ticket_type`) sorts them, `sort_order` descending by default.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::Req;
use super::errors::{Outcome, ZdErr, invalid_pagination, ok, search_limit};
use super::paging::{MAX_PAGE, compare, number, size_param, url_with, with_page};
use super::store::{Ctx, ExportCursor, Kind, Store, unix_of};

/// A search answers at most this many results.
const SEARCH_LIMIT: usize = 1_000;

/// The largest page of Search Export.
const EXPORT_MAX_PAGE: usize = 1_000;

const STATUS_ORDER: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];
const PRIORITY_ORDER: [&str; 4] = ["low", "normal", "high", "urgent"];

/// One term of a query.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// Text to find (a word, a phrase, or a prefix ending in `*`).
    Text(String),
    /// `field op value`.
    Field(String, Op, String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Is,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A parsed query: terms with their negation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Query {
    terms: Vec<(bool, Term)>,
}

impl Query {
    /// Reads `text`: whitespace separates terms except inside quotes.
    pub(super) fn parse(text: &str) -> Query {
        let mut tokens = Vec::new();
        let (mut current, mut quoted) = (String::new(), false);
        for c in text.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    current.push(c);
                }
                c if c.is_whitespace() && !quoted => {
                    if !current.is_empty() {
                        tokens.push(std::mem::take(&mut current));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            tokens.push(current);
        }
        let terms = tokens
            .into_iter()
            .filter_map(|token| {
                let (negated, token) = match token.strip_prefix('-') {
                    Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                    _ => (false, token),
                };
                term(&token).map(|t| (negated, t))
            })
            .collect();
        Query { terms }
    }

    /// The record types the query names with `type:` (none: all).
    fn kinds(&self) -> Vec<Kind> {
        let named: Vec<Kind> = self
            .terms
            .iter()
            .filter_map(|(negated, t)| match t {
                Term::Field(f, Op::Is, v) if f == "type" && !negated => Kind::parse(v),
                _ => None,
            })
            .collect();
        if named.is_empty() {
            vec![Kind::Ticket, Kind::User, Kind::Organization, Kind::Group]
        } else {
            named
        }
    }
}

fn term(token: &str) -> Option<Term> {
    let ops = [
        (">=", Op::GreaterOrEqual),
        ("<=", Op::LessOrEqual),
        (":", Op::Is),
        ("<", Op::Less),
        (">", Op::Greater),
    ];
    let found = ops
        .iter()
        .filter_map(|(text, op)| token.find(text).map(|i| (i, *text, *op)))
        .min_by_key(|(i, text, _)| (*i, std::cmp::Reverse(text.len())));
    if let Some((i, text, op)) = found {
        let field = &token[..i];
        if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let value = token[i + text.len()..].trim_matches('"').to_string();
            return Some(Term::Field(field.to_ascii_lowercase(), op, value));
        }
    }
    let text = token.trim_matches('"').to_lowercase();
    (!text.is_empty()).then_some(Term::Text(text))
}

impl Store {
    /// Every record of `query`'s types that it matches, each with its
    /// `result_type`, in the order asked for.
    fn matches(&self, query: &Query, kinds: &[Kind]) -> Vec<Value> {
        let mut results = Vec::new();
        for kind in kinds {
            for record in self.records(*kind).values() {
                if *kind == Kind::User && record["active"] != true {
                    continue;
                }
                let all = query
                    .terms
                    .iter()
                    .all(|(negated, term)| self.holds(*kind, record, term) != *negated);
                if all {
                    let mut result = record.clone();
                    result["result_type"] = json!(kind.singular());
                    results.push(result);
                }
            }
        }
        results
    }

    fn holds(&self, kind: Kind, record: &Value, term: &Term) -> bool {
        match term {
            Term::Text(text) => self
                .text_of(kind, record)
                .iter()
                .any(|t| text_matches(t, text)),
            Term::Field(field, op, value) => self.field_holds(kind, record, field, *op, value),
        }
    }

    /// The text a word can match in `record`.
    fn text_of(&self, kind: Kind, record: &Value) -> Vec<String> {
        let fields: &[&str] = match kind {
            Kind::Ticket => &["subject", "description"],
            Kind::User => &["name", "email", "notes", "details"],
            Kind::Organization => &["name", "notes", "details"],
            Kind::Group => &["name", "description"],
        };
        let mut text: Vec<String> = fields
            .iter()
            .filter_map(|f| record[*f].as_str().map(str::to_lowercase))
            .collect();
        for list in ["tags", "domain_names"] {
            text.extend(
                record[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_lowercase)),
            );
        }
        if kind == Kind::Ticket {
            let id = record["id"].as_u64().unwrap_or(0);
            text.extend(
                self.comments(id)
                    .iter()
                    .filter_map(|c| c["body"].as_str().map(str::to_lowercase)),
            );
        }
        text
    }

    fn field_holds(&self, kind: Kind, record: &Value, field: &str, op: Op, value: &str) -> bool {
        let value_lc = value.to_lowercase();
        match field {
            "type" => Kind::parse(&value_lc) == Some(kind),
            "status" => {
                kind == Kind::Ticket && ordered(&STATUS_ORDER, &record["status"], op, &value_lc)
            }
            "priority" => {
                kind == Kind::Ticket && ordered(&PRIORITY_ORDER, &record["priority"], op, &value_lc)
            }
            "ticket_type" => {
                kind == Kind::Ticket && record["type"].as_str() == Some(value_lc.as_str())
            }
            "tags" | "tag" => record["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t.as_str() == Some(value_lc.as_str())),
            "created" | "updated" | "due_date" => {
                let key = match field {
                    "created" => "created_at",
                    "updated" => "updated_at",
                    _ => "due_at",
                };
                record[key]
                    .as_str()
                    .is_some_and(|_| compare_time(unix_of(record, key), op, value))
            }
            "requester" | "assignee" | "submitter" => {
                kind == Kind::Ticket
                    && self.person_is(&record[format!("{field}_id").as_str()], &value_lc)
            }
            "organization" => self.named_is(
                &self.organizations_named(),
                &record["organization_id"],
                &value_lc,
            ),
            "group" => self.named_is(&self.groups_named(), &record["group_id"], &value_lc),
            "subject" | "description" | "name" | "email" | "role" | "external_id" | "notes"
            | "details" | "phone" => record[field]
                .as_str()
                .is_some_and(|v| text_matches(&v.to_lowercase(), &value_lc)),
            _ => false,
        }
    }

    /// Whether the user id `id` is `value`: the id, the email, the name, or `none`.
    fn person_is(&self, id: &Value, value: &str) -> bool {
        if value == "none" {
            return id.is_null();
        }
        let Some(user) = id.as_u64().and_then(|id| self.users.get(&id)) else {
            return false;
        };
        value.parse::<u64>().ok() == user["id"].as_u64()
            || ["email", "name"].iter().any(|f| {
                user[*f]
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
    }

    fn organizations_named(&self) -> Vec<(u64, String)> {
        named(self.organizations.values())
    }

    fn groups_named(&self) -> Vec<(u64, String)> {
        named(self.groups.values())
    }

    fn named_is(&self, names: &[(u64, String)], id: &Value, value: &str) -> bool {
        if value == "none" {
            return id.is_null();
        }
        let Some(id) = id.as_u64() else { return false };
        value.parse::<u64>().ok() == Some(id)
            || names
                .iter()
                .any(|(i, n)| *i == id && n.eq_ignore_ascii_case(value))
    }

    /// `search`: a page of results (offset paging; 422 past 1,000).
    pub(super) fn search(&self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let query = Query::parse(req.query.get("query").unwrap_or_default());
        let mut results = self.matches(&query, &query.kinds());
        if let Some(field) = req.query.get("sort_by") {
            let key = match field {
                "ticket_type" => "type",
                f => f,
            };
            results.sort_by(|a, b| {
                sort_key(a, key)
                    .partial_cmp(&sort_key(b, key))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(compare(&a["id"], &b["id"]))
            });
            if req.query.get("sort_order") != Some("asc") {
                results.reverse();
            }
        }
        let per_page = number(req, "per_page")
            .unwrap_or(MAX_PAGE)
            .clamp(1, MAX_PAGE);
        let page = number(req, "page").unwrap_or(1).max(1);
        if page.saturating_mul(per_page) > SEARCH_LIMIT {
            return Err(search_limit());
        }
        let count = results.len();
        let mut chosen: Vec<Value> = results
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let link = |n: usize| json!(url_with(ctx.root, req.path, &with_page(req, n)));
        let mut answer = Map::new();
        let tickets_only: Vec<usize> = (0..chosen.len())
            .filter(|i| chosen[*i]["result_type"] == "ticket")
            .collect();
        let mut tickets: Vec<Value> = tickets_only.iter().map(|i| chosen[*i].clone()).collect();
        self.ticket_side_loads(req, &mut tickets, &mut answer);
        for (slot, ticket) in tickets_only.into_iter().zip(tickets) {
            chosen[slot] = ticket;
        }
        answer.insert("results".into(), json!(chosen));
        answer.insert("facets".into(), Value::Null);
        answer.insert(
            "next_page".into(),
            if page * per_page < count {
                link(page + 1)
            } else {
                Value::Null
            },
        );
        answer.insert(
            "previous_page".into(),
            if page > 1 {
                link(page - 1)
            } else {
                Value::Null
            },
        );
        answer.insert("count".into(), json!(count));
        ok(Value::Object(answer))
    }

    /// `count_search_results`.
    pub(super) fn count_search(&self, req: &Req<'_>) -> Outcome {
        let query = Query::parse(req.query.get("query").unwrap_or_default());
        ok(json!({"count": self.matches(&query, &query.kinds()).len()}))
    }

    /// `export_search_results`: the results of one type, newest first,
    /// cursor paged; a cursor works for the same query and type, until it
    /// expires (400 `InvalidPaginationParameter` on `page[after]`).
    pub(super) fn export_search(&self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let text = req.query.get("query").unwrap_or_default().to_string();
        let kind_name = req
            .query
            .get("filter[type]")
            .unwrap_or_default()
            .to_string();
        let kind = Kind::parse(&kind_name).ok_or_else(|| {
            ZdErr::new(
                StatusCode::BAD_REQUEST,
                "InvalidValue",
                "filter[type] must be one of ticket, organization, user or group",
            )
        })?;
        let size = size_param(req, "page[size]", MAX_PAGE, EXPORT_MAX_PAGE)?;
        let after = match req.query.get("page[after]") {
            None => None,
            Some(token) => {
                let cursor = ctx
                    .exports
                    .get(token)
                    .ok_or_else(|| invalid_pagination("page[after]"))?;
                let valid = cursor.issued.elapsed() < ctx.config.export_cursor_ttl
                    && cursor.query == text
                    && cursor.kind == kind_name;
                if !valid {
                    return Err(invalid_pagination("page[after]"));
                }
                Some(cursor.after)
            }
        };
        let query = Query::parse(&text);
        let mut results = self.matches(&query, &[kind]);
        let key = |r: &Value| (unix_of(r, "created_at"), r["id"].as_u64().unwrap_or(0));
        results.sort_by_key(|r| std::cmp::Reverse(key(r)));
        let mut later: Vec<Value> = results
            .into_iter()
            .filter(|r| after.is_none_or(|a| key(r) < a))
            .collect();
        let has_more = later.len() > size;
        later.truncate(size);
        let cursor = has_more.then(|| {
            ctx.exports.issue(ExportCursor {
                query: text.clone(),
                kind: kind_name.clone(),
                after: later.last().map_or((0, 0), key),
                issued: std::time::Instant::now(),
            })
        });
        let next = cursor.as_ref().map(|c| {
            let mut pairs: Vec<(String, String)> = req
                .query
                .pairs()
                .iter()
                .filter(|(k, _)| !k.starts_with("page["))
                .cloned()
                .collect();
            pairs.push(("page[after]".into(), c.clone()));
            pairs.push(("page[size]".into(), size.to_string()));
            url_with(ctx.root, req.path, &pairs)
        });
        ok(json!({
            "results": later, "facets": null,
            "meta": {"has_more": has_more, "after_cursor": cursor, "before_cursor": null},
            "links": {"prev": null, "next": next},
        }))
    }
}

fn named<'a>(records: impl Iterator<Item = &'a Value>) -> Vec<(u64, String)> {
    records
        .filter_map(|r| Some((r["id"].as_u64()?, r["name"].as_str()?.to_string())))
        .collect()
}

/// Whether `text` (lower case) holds `wanted` as Zendesk's search reads
/// text: as words. The words of `wanted` must follow one another in `text`
/// (`number 42` is not in `number 420`); a final `*` makes the last one a
/// prefix (`prin*`).
fn text_matches(text: &str, wanted: &str) -> bool {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (stem, prefix) = match wanted.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (wanted, false),
    };
    let (have, want) = (words(text), words(stem));
    if want.is_empty() {
        return false;
    }
    have.windows(want.len()).any(|window| {
        window.iter().zip(&want).enumerate().all(|(i, (h, w))| {
            if prefix && i + 1 == want.len() {
                h.starts_with(w.as_str())
            } else {
                h == w
            }
        })
    })
}

/// A comparison over an ordered set of values (status, priority).
fn ordered(order: &[&str], actual: &Value, op: Op, wanted: &str) -> bool {
    let rank = |v: &str| order.iter().position(|o| *o == v);
    let (Some(a), Some(w)) = (actual.as_str().and_then(rank), rank(wanted)) else {
        return false;
    };
    holds(a.cmp(&w), op)
}

fn holds(ordering: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Op::Is => ordering == Equal,
        Op::Less => ordering == Less,
        Op::LessOrEqual => ordering != Greater,
        Op::Greater => ordering == Greater,
        Op::GreaterOrEqual => ordering != Less,
    }
}

/// `created>2024-01-31` and friends: a date covers its whole day (`>` is
/// after it, `<` before it, `:` within it); a time or a relative age is an
/// instant (`created>4hours`: within the last four hours).
fn compare_time(actual: i64, op: Op, value: &str) -> bool {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp());
        let end = start + 86_400;
        return match op {
            Op::Is => (start..end).contains(&actual),
            Op::Less => actual < start,
            Op::LessOrEqual => actual < end,
            Op::Greater => actual >= end,
            Op::GreaterOrEqual => actual >= start,
        };
    }
    let instant = DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| {
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            let n: i64 = digits.parse().ok()?;
            let unit = value[digits.len()..].trim_end_matches('s');
            // Out-of-range ages (`99999999999years`) match nothing.
            let days = |k: i64| n.checked_mul(k).and_then(Duration::try_days);
            let age = match unit {
                "minute" | "min" => Duration::try_minutes(n),
                "hour" => Duration::try_hours(n),
                "day" => days(1),
                "week" => days(7),
                "month" => days(30),
                "year" => days(365),
                _ => None,
            }?;
            Utc::now().checked_sub_signed(age).map(|t| t.timestamp())
        });
    instant.is_some_and(|t| {
        holds(
            actual.cmp(&t),
            if op == Op::Is { Op::GreaterOrEqual } else { op },
        )
    })
}

/// A number to sort results by `key`: times as Unix seconds, statuses and
/// priorities by rank, anything else by its text's first letters.
fn sort_key(record: &Value, key: &str) -> f64 {
    match key {
        "created_at" | "updated_at" => unix_of(record, key) as f64,
        "status" => record["status"]
            .as_str()
            .and_then(|s| STATUS_ORDER.iter().position(|o| *o == s))
            .map_or(-1.0, |p| p as f64),
        "priority" => record["priority"]
            .as_str()
            .and_then(|s| PRIORITY_ORDER.iter().position(|o| *o == s))
            .map_or(-1.0, |p| p as f64),
        other => record[other].as_str().map_or(-1.0, |s| {
            s.bytes()
                .take(6)
                .fold(0.0, |acc, b| acc * 256.0 + f64::from(b))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_terms_with_quotes_and_negation() {
        let q = Query::parse(
            r#"printer type:ticket -status:solved "on fire" created>2024-01-01 subject:"a b""#,
        );
        assert_eq!(
            q.terms,
            vec![
                (false, Term::Text("printer".into())),
                (false, Term::Field("type".into(), Op::Is, "ticket".into())),
                (true, Term::Field("status".into(), Op::Is, "solved".into())),
                (false, Term::Text("on fire".into())),
                (
                    false,
                    Term::Field("created".into(), Op::Greater, "2024-01-01".into())
                ),
                (false, Term::Field("subject".into(), Op::Is, "a b".into())),
            ]
        );
        assert_eq!(q.kinds(), vec![Kind::Ticket]);
        assert_eq!(
            term("status<=pending"),
            Some(Term::Field(
                "status".into(),
                Op::LessOrEqual,
                "pending".into()
            ))
        );
        assert!(ordered(&STATUS_ORDER, &json!("open"), Op::Less, "solved"));
        let day = NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert!(compare_time(day, Op::Is, "2024-01-01"));
        assert!(
            compare_time(day, Op::Greater, "2023-12-31")
                && !compare_time(day, Op::Greater, "2024-01-01")
        );
        assert!(compare_time(Utc::now().timestamp(), Op::Greater, "4hours"));
        assert!(text_matches("printer on fire", "prin*") && !text_matches("printer", "fire"));
        assert!(text_matches("seeded ticket number 42", "number 42"));
        assert!(!text_matches("seeded ticket number 420", "number 42"));
        assert!(text_matches("user2@example.com", "user2@example.com"));
        assert!(!text_matches("printer", "print"), "words, not substrings");
    }
}
