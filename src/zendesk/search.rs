//! Zendesk's search query language as a builder, with zenpy's keyword
//! mapping: equality (`status:open`), `_greater_than`/`_less_than` (`>`,
//! `<` on numbers), `_after`/`_before` (`>`, `<` on dates), `_between`
//! (both), `minus` (`-` negation) and `type`, plus `sort_by` and
//! `sort_order`. Every value the caller gives is quoted when it holds
//! anything but letters, digits and `_ . @ + / -`, so that no value can
//! close its quotes or add a term of its own; a value with a double quote
//! in it (which Zendesk's syntax cannot escape) is refused.
//!
//! The query reads: free text, then the keyword terms in the order they
//! were added, then `type:`, then the negations; zenpy's documented
//! example comes out as zenpy writes it:
//!
//! ```
//! use chrono::NaiveDate;
//! use specbound::zendesk::Search;
//! let day = |d| NaiveDate::from_ymd_opt(2015, 8, d).unwrap();
//! let q = Search::tickets()
//!     .text("zenpy")
//!     .created_between(day(29), day(30))
//!     .minus("negated");
//! assert_eq!(q.query()?, "zenpy created>2015-08-29 created<2015-08-30 type:ticket -negated");
//! # Ok::<(), specbound::Error>(())
//! ```

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};

use super::types::{ExportSearchResultsFilterType, SearchSortOrder};
use crate::{Error, Result};

/// The record types Zendesk's search returns (`type:` in a query,
/// `filter[type]` on the export).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchType {
    /// `type:ticket`.
    Ticket,
    /// `type:user`.
    User,
    /// `type:organization`.
    Organization,
    /// `type:group`.
    Group,
}

impl SearchType {
    /// The name in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchType::Ticket => "ticket",
            SearchType::User => "user",
            SearchType::Organization => "organization",
            SearchType::Group => "group",
        }
    }

    /// The export's `filter[type]`.
    pub(crate) fn filter(self) -> ExportSearchResultsFilterType {
        match self {
            SearchType::Ticket => ExportSearchResultsFilterType::Ticket,
            SearchType::User => ExportSearchResultsFilterType::User,
            SearchType::Organization => ExportSearchResultsFilterType::Organization,
            SearchType::Group => ExportSearchResultsFilterType::Group,
        }
    }
}

/// A date or time in a search term: a day (`2015-08-29`) or an instant
/// in UTC (`2015-08-29T13:05:00Z`), as zenpy writes `date` and `datetime`.
pub trait SearchTime {
    /// The value as the query writes it.
    fn search_value(&self) -> String;
}

impl SearchTime for NaiveDate {
    fn search_value(&self) -> String {
        self.format("%Y-%m-%d").to_string()
    }
}

impl<Tz: TimeZone> SearchTime for DateTime<Tz> {
    fn search_value(&self) -> String {
        self.with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A Zendesk search query, built term by term with zenpy's keyword
/// mapping. Values are quoted when they hold anything but letters, digits
/// and `_ . @ + / -`, and refused when they hold a double quote; the query
/// reads free text, keyword terms, `type:`, then negations:
///
/// ```
/// use chrono::NaiveDate;
/// use specbound::zendesk::Search;
/// let day = |d| NaiveDate::from_ymd_opt(2015, 8, d).unwrap();
/// let q = Search::tickets().text("zenpy").created_between(day(29), day(30)).minus("negated");
/// assert_eq!(q.query()?, "zenpy created>2015-08-29 created<2015-08-30 type:ticket -negated");
/// # Ok::<(), specbound::Error>(())
/// ```
///
/// With a client:
///
/// ```no_run
/// # async fn run(zd: specbound::zendesk::Client) -> specbound::Result<()> {
/// use futures::TryStreamExt as _;
/// use specbound::zendesk::{Search, prelude::*};
/// let open = Search::tickets().status("open").tags("vip").sort_by("created_at").desc();
/// let mut results = zd.search_all(open).stream();
/// while let Some(ticket) = results.try_next().await? {
///     println!("#{:?} {:?}", ticket.id, ticket.subject);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Search {
    record: Option<SearchType>,
    text: Vec<String>,
    terms: Vec<String>,
    negations: Vec<String>,
    sort_by: Option<String>,
    sort_order: Option<SearchSortOrder>,
    /// The first value refused, reported by [`query`](Self::query).
    refused: Option<(String, String)>,
}

impl Search {
    /// A query over every record type.
    pub fn new() -> Self {
        Search::default()
    }

    /// A query over records of `record` (`type:...`).
    pub fn of(record: SearchType) -> Self {
        Search {
            record: Some(record),
            ..Search::default()
        }
    }

    /// A query over tickets (`type:ticket`).
    pub fn tickets() -> Self {
        Search::of(SearchType::Ticket)
    }

    /// A query over users (`type:user`).
    pub fn users() -> Self {
        Search::of(SearchType::User)
    }

    /// A query over organizations (`type:organization`).
    pub fn organizations() -> Self {
        Search::of(SearchType::Organization)
    }

    /// A query over groups (`type:group`).
    pub fn groups() -> Self {
        Search::of(SearchType::Group)
    }

    /// Free text (zenpy's positional query): a word as it is, anything
    /// else as one quoted phrase.
    pub fn text(mut self, text: impl fmt::Display) -> Self {
        if let Some(v) = self.value("text", text.to_string()) {
            self.text.push(v);
        }
        self
    }

    /// A fragment of query syntax put in as it is, unquoted and unchecked
    /// (wildcards such as `name:Jo*`): never pass it text from elsewhere.
    pub fn raw(mut self, fragment: impl Into<String>) -> Self {
        self.text.push(fragment.into());
        self
    }

    /// `field:value` (zenpy's plain keyword: equality).
    pub fn eq(self, field: &str, value: impl fmt::Display) -> Self {
        self.term(field, ":", value.to_string())
    }

    /// `field>value` (zenpy's `*_greater_than`).
    pub fn greater_than(self, field: &str, value: impl fmt::Display) -> Self {
        self.term(field, ">", value.to_string())
    }

    /// `field<value` (zenpy's `*_less_than`).
    pub fn less_than(self, field: &str, value: impl fmt::Display) -> Self {
        self.term(field, "<", value.to_string())
    }

    /// `field>time` (zenpy's `*_after`).
    pub fn after(self, field: &str, time: impl SearchTime) -> Self {
        self.time_term(field, ">", time.search_value())
    }

    /// `field<time` (zenpy's `*_before`).
    pub fn before(self, field: &str, time: impl SearchTime) -> Self {
        self.time_term(field, "<", time.search_value())
    }

    /// `field>from field<to` (zenpy's `*_between`).
    pub fn between(self, field: &str, from: impl SearchTime, to: impl SearchTime) -> Self {
        self.after(field, from).before(field, to)
    }

    /// `created>from created<to`.
    pub fn created_between(self, from: impl SearchTime, to: impl SearchTime) -> Self {
        self.between("created", from, to)
    }

    /// `created>time`.
    pub fn created_after(self, time: impl SearchTime) -> Self {
        self.after("created", time)
    }

    /// `created<time`.
    pub fn created_before(self, time: impl SearchTime) -> Self {
        self.before("created", time)
    }

    /// `updated>from updated<to`.
    pub fn updated_between(self, from: impl SearchTime, to: impl SearchTime) -> Self {
        self.between("updated", from, to)
    }

    /// `status:value` (`new`, `open`, `pending`, `hold`, `solved`, `closed`).
    pub fn status(self, status: impl fmt::Display) -> Self {
        self.eq("status", status)
    }

    /// `priority:value`.
    pub fn priority(self, priority: impl fmt::Display) -> Self {
        self.eq("priority", priority)
    }

    /// `tags:value`.
    pub fn tags(self, tag: impl fmt::Display) -> Self {
        self.eq("tags", tag)
    }

    /// `assignee:value` (a name, email, id, `me` or `none`).
    pub fn assignee(self, assignee: impl fmt::Display) -> Self {
        self.eq("assignee", assignee)
    }

    /// `requester:value`.
    pub fn requester(self, requester: impl fmt::Display) -> Self {
        self.eq("requester", requester)
    }

    /// `-value`: leaves out records matching the word or phrase (zenpy's
    /// `minus`).
    pub fn minus(mut self, value: impl fmt::Display) -> Self {
        if let Some(v) = self.value("minus", value.to_string()) {
            self.negations.push(format!("-{v}"));
        }
        self
    }

    /// `-field:value`: leaves out records whose field has the value.
    pub fn minus_eq(mut self, field: &str, value: impl fmt::Display) -> Self {
        if let Some(term) = self.keyword(field, ":", value.to_string()) {
            self.negations.push(format!("-{term}"));
        }
        self
    }

    /// Sorts by `field` (`updated_at`, `created_at`, `priority`, `status`,
    /// `ticket_type`; relevance when unset).
    pub fn sort_by(mut self, field: impl Into<String>) -> Self {
        self.sort_by = Some(field.into());
        self
    }

    /// The sort direction.
    pub fn sort_order(mut self, order: SearchSortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }

    /// Ascending.
    pub fn asc(self) -> Self {
        self.sort_order(SearchSortOrder::Asc)
    }

    /// Descending.
    pub fn desc(self) -> Self {
        self.sort_order(SearchSortOrder::Desc)
    }

    /// The record type, when the query has one.
    pub fn record_type(&self) -> Option<SearchType> {
        self.record
    }

    /// The sort field, when set.
    pub fn sort_field(&self) -> Option<&str> {
        self.sort_by.as_deref()
    }

    /// The sort direction, when set.
    pub fn order(&self) -> Option<SearchSortOrder> {
        self.sort_order
    }

    /// The query text (the `query` parameter), or
    /// [`Error::Invalid`] naming the first value that was refused.
    pub fn query(&self) -> Result<String> {
        self.render(true)
    }

    /// The query for the search export: without `type:` (the export takes
    /// it as `filter[type]`), which a raw fragment must not hold either.
    pub(crate) fn export_query(&self) -> Result<String> {
        if self
            .text
            .iter()
            .any(|t| t.split_whitespace().any(|w| w.starts_with("type:")))
        {
            return Err(Error::invalid(
                "search query",
                "the search export takes the record type as filter[type], not as `type:` \
                 in a raw fragment: use Search::tickets(), users(), organizations() or groups()",
            ));
        }
        self.render(false)
    }

    fn render(&self, with_type: bool) -> Result<String> {
        if let Some((field, reason)) = &self.refused {
            return Err(Error::invalid(field.clone(), reason.clone()));
        }
        let record = self
            .record
            .filter(|_| with_type)
            .map(|r| format!("type:{}", r.as_str()));
        let parts: Vec<&str> = self
            .text
            .iter()
            .chain(&self.terms)
            .map(String::as_str)
            .chain(record.as_deref())
            .chain(self.negations.iter().map(String::as_str))
            .collect();
        Ok(parts.join(" "))
    }

    /// A term whose value is a date or time: written as it is when it is
    /// only digits and `-:.+TZ`, quoted like any value otherwise.
    fn time_term(mut self, field: &str, op: &str, value: String) -> Self {
        let time_like = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | '+' | 'T' | 'Z'));
        if !time_like {
            return self.term(field, op, value);
        }
        if self.field(field) {
            self.terms.push(format!("{field}{op}{value}"));
        }
        self
    }

    fn term(mut self, field: &str, op: &str, value: String) -> Self {
        if let Some(term) = self.keyword(field, op, value) {
            self.terms.push(term);
        }
        self
    }

    /// `field<op>value`, or `None` (and the refusal kept) when either is bad.
    fn keyword(&mut self, field: &str, op: &str, value: String) -> Option<String> {
        if !self.field(field) {
            return None;
        }
        let value = self.value(field, value)?;
        Some(format!("{field}{op}{value}"))
    }

    /// Whether `field` is a field name; the refusal is kept when not.
    fn field(&mut self, field: &str) -> bool {
        let valid = !field.is_empty()
            && field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            self.refuse(
                "field",
                format!("`{field}` is not a field name (letters, digits, `_` and `.`)"),
            );
        }
        valid
    }

    /// `value` as a query writes it: as it is when it is one plain word,
    /// else between double quotes.
    fn value(&mut self, field: &str, value: String) -> Option<String> {
        let problem = if value.trim().is_empty() {
            Some("is empty".to_string())
        } else if value.contains('"') {
            Some(format!(
                "`{value}` holds a double quote, which Zendesk's search syntax cannot escape"
            ))
        } else if value.chars().any(char::is_control) {
            Some("holds a control character".to_string())
        } else {
            None
        };
        if let Some(reason) = problem {
            self.refuse(field, reason);
            return None;
        }
        let plain = !value.starts_with('-')
            && value
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '+' | '/' | '-'));
        Some(if plain { value } else { format!("\"{value}\"") })
    }

    fn refuse(&mut self, field: &str, reason: String) {
        self.refused
            .get_or_insert_with(|| (format!("search {field}"), reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2015, 8, d).unwrap()
    }

    #[test]
    fn zenpys_documented_example_reads_as_zenpy_writes_it() {
        // docs/zenpy.rst, "Searching the API": search("zenpy",
        // created_between=[yesterday, today], type='ticket', minus='negated')
        let q = Search::tickets()
            .text("zenpy")
            .created_between(day(29), day(30))
            .minus("negated");
        assert_eq!(
            q.query().unwrap(),
            "zenpy created>2015-08-29 created<2015-08-30 type:ticket -negated"
        );
    }

    #[test]
    fn each_keyword_maps_to_zenpys_operator() {
        let at = Utc.with_ymd_and_hms(2015, 8, 29, 13, 5, 0).unwrap();
        let q = Search::new()
            .eq("status", "open")
            .greater_than("priority", "normal")
            .less_than("ticket_id", 42)
            .after("updated", at)
            .before("solved", day(30))
            .minus_eq("tags", "spam");
        assert_eq!(
            q.query().unwrap(),
            "status:open priority>normal ticket_id<42 updated>2015-08-29T13:05:00Z solved<2015-08-30 -tags:spam"
        );
        // zenpy's sort keywords are parameters, not terms.
        let sorted = Search::tickets().status("open").sort_by("created_at").asc();
        assert_eq!(sorted.query().unwrap(), "status:open type:ticket");
        assert_eq!(sorted.sort_field(), Some("created_at"));
        assert_eq!(sorted.order(), Some(SearchSortOrder::Asc));
    }

    #[test]
    fn a_time_in_another_zone_is_written_in_utc() {
        let paris = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        let at = paris.with_ymd_and_hms(2015, 8, 29, 15, 5, 0).unwrap();
        assert_eq!(
            Search::new().created_after(at).query().unwrap(),
            "created>2015-08-29T13:05:00Z"
        );
    }

    #[test]
    fn no_value_escapes_its_quotes_or_adds_a_term() {
        let q = Search::users()
            .text("printer on fire")
            .eq("name", "Jane Doe")
            .requester("jdoe@example.com")
            .eq("subject", "x type:group")
            .eq("subject", "-hidden")
            .minus("two words");
        assert_eq!(
            q.query().unwrap(),
            r#""printer on fire" name:"Jane Doe" requester:jdoe@example.com subject:"x type:group" subject:"-hidden" type:user -"two words""#
        );
        let quote = Search::tickets().eq("subject", r#"a" type:user "b"#);
        let err = quote.query().unwrap_err();
        assert!(err.is_invalid(), "{err:?}");
        assert!(err.to_string().contains("double quote"), "{err}");
        for bad in [
            Search::new().eq("status", ""),
            Search::new().eq("sta tus", "open"),
            Search::new().eq("status:open x", "y"),
            Search::new().text("a\nb"),
        ] {
            assert!(bad.query().unwrap_err().is_invalid());
        }
    }

    #[test]
    fn the_export_query_leaves_the_type_to_filter_type() {
        let q = Search::users().created_after(day(29)).raw("name:Jo*");
        assert_eq!(q.query().unwrap(), "name:Jo* created>2015-08-29 type:user");
        assert_eq!(q.export_query().unwrap(), "name:Jo* created>2015-08-29");
        let raw_type = Search::new().raw("type:user");
        assert!(raw_type.export_query().unwrap_err().is_invalid());
    }
}
