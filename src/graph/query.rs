//! OData query options for Microsoft Graph lists (`$filter`, `$orderby`, `$select`, `$expand`,
//! `$top`, `$skip`, `$count`, `$search`), built from typed pieces.
//!
//! A snake_case name segment (`received_date_time`) becomes Graph's camelCase
//! (`receivedDateTime`); other segments (`receivedDateTime`, `@odata.type`,
//! `ext55gb1l09_msLearnCourses`, `extension_<app>_<name>`) are kept. Names may hold only ASCII
//! letters, digits, `_ / . @`; string values are single-quoted with inner quotes doubled, dates
//! written in UTC ISO 8601, GUIDs bare; [`BuiltQuery::apply_to`] percent-encodes it all. So no
//! name or value can carry OData syntax or end its parameter.
//!
//! [`Query::build`] refuses, as [`Error::Invalid`], what Graph rejects or silently ignores on
//! the [`QueryTarget`]: on messages, `$search` with `$filter` or `$orderby`, `$orderby`
//! properties that do not open `$filter` in the same order (`InefficientFilter`), `$top` over
//! 1000; on directory objects, `$skip`, `$top` over 999, a `$search` not `property:text`, and
//! `$expand` in an *advanced query* (`$search`, `$count`, `ne`, `not`, `endswith`, `/$count`,
//! `$filter` with `$orderby`, `$orderby` other than `displayName`/`userPrincipalName`), which
//! gets `ConsistencyLevel: eventual` and `$count=true` added; on both, the `all` operator;
//! everywhere, `$top=0`, an empty search or `in` list, a malformed GUID.
//!
//! ```rust,ignore
//! use specbound::graph::{attr, Query, QueryTarget};
//!
//! let since = chrono::NaiveDate::from_ymd_opt(2017, 7, 1).unwrap();
//! let built = Query::new()
//!     .filter(attr("received_date_time").ge(since)) // Outlook sorts only on what opens $filter
//!     .filter(attr("subject").contains("george").or(attr("subject").starts_with("quotes")))
//!     .select(["subject", "from"])
//!     .order_by_desc("received_date_time")
//!     .build(QueryTarget::Messages)?;
//! assert_eq!(
//!     built.get("$filter"),
//!     Some("receivedDateTime ge 2017-07-01 and (contains(subject,'george') or startswith(subject,'quotes'))"),
//! );
//! let mut url = url::Url::parse("https://graph.microsoft.com/v1.0/me/messages")?;
//! built.apply_to(&mut url); // ?%24filter=receivedDateTime+ge+2017-07-01+and+%28contains...
//! ```

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};

use crate::{Error, Result};

fn refuse<T>(field: &str, reason: impl Into<String>) -> Result<T> {
    Err(Error::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    })
}

/// Graph's spelling of a property path: snake_case segments become camelCase.
fn graph_name(name: &str) -> String {
    let camel = |seg: &str| {
        let words: Vec<&str> = seg.split('_').collect();
        let lower = |w: &&str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if words.len() == 1 || seg.starts_with("extension_") || !words.iter().all(lower) {
            return seg.to_owned();
        }
        let mut out = words[0].to_owned();
        for w in &words[1..] {
            out.push_str(&w[..1].to_ascii_uppercase());
            out.push_str(&w[1..]);
        }
        out
    };
    name.split('/').map(camel).collect::<Vec<_>>().join("/")
}

/// Checks a property name and returns Graph's spelling of it.
fn checked_name(field: &str, name: &str) -> Result<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '@');
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        let reason =
            format!("property name {name:?} has {c:?}; only ASCII letters, digits, _ / . @ may");
        return refuse(field, reason);
    }
    if name.split('/').any(str::is_empty) {
        let reason = format!("property name {name:?} has an empty segment");
        return refuse(field, reason);
    }
    Ok(graph_name(name))
}

fn checked_var(var: &str) -> Result<()> {
    let mut chars = var.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    let reason = format!("lambda variable {var:?} is not a plain identifier");
    refuse("$filter", reason)
}

/// A literal on the right of a comparison, written as OData wants it.
///
/// Strings are single-quoted with inner `'` doubled; numbers and booleans are bare; a
/// [`DateTime`] is converted to UTC and written `2017-07-01T00:00:00Z` (fractions only when
/// present), a [`NaiveDate`] `2017-07-01`, both unquoted.
#[derive(Clone, Debug, PartialEq)]
pub struct ODataValue(Lit);

#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Str(String),
    Bare(String),
    Guid(String),
    Null,
}

impl ODataValue {
    /// The `null` literal (see also [`Attr::is_null`]).
    pub fn null() -> Self {
        Self(Lit::Null)
    }

    /// A GUID, written bare (`skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67`); anything that is
    /// not 8-4-4-4-12 hex digits is refused by [`Query::build`].
    pub fn guid(id: impl fmt::Display) -> Self {
        Self(Lit::Guid(id.to_string()))
    }

    fn check(&self) -> Result<()> {
        let Lit::Guid(g) = &self.0 else { return Ok(()) };
        let hex = |(i, c): (usize, char)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        };
        if g.len() == 36 && g.char_indices().all(hex) {
            return Ok(());
        }
        refuse("$filter", format!("{g:?} is not a GUID"))
    }
}

impl fmt::Display for ODataValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Lit::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Lit::Bare(s) | Lit::Guid(s) => f.write_str(s),
            Lit::Null => f.write_str("null"),
        }
    }
}

macro_rules! from_display {
    ($kind:ident: $($t:ty),*) => {$(
        impl From<$t> for ODataValue {
            fn from(v: $t) -> Self {
                Self(Lit::$kind(v.to_string()))
            }
        }
    )*};
}
from_display!(Str: &str, String, &String);
from_display!(Bare: bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! from_float {
    ($($t:ty),*) => {$(
        impl From<$t> for ODataValue {
            fn from(x: $t) -> Self {
                let text = match x {
                    x if x.is_nan() => "NaN".to_owned(),
                    x if x.is_infinite() => if x > 0.0 { "INF" } else { "-INF" }.to_owned(),
                    x => x.to_string(),
                };
                Self(Lit::Bare(text))
            }
        }
    )*};
}
from_float!(f32, f64);

impl<Tz: TimeZone> From<DateTime<Tz>> for ODataValue {
    fn from(t: DateTime<Tz>) -> Self {
        let utc = t.with_timezone(&Utc);
        Self(Lit::Bare(utc.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
    }
}

impl From<NaiveDate> for ODataValue {
    fn from(d: NaiveDate) -> Self {
        Self(Lit::Bare(d.format("%Y-%m-%d").to_string()))
    }
}

/// A property (or property path) to filter on; made by [`attr`] or, inside a lambda, by
/// [`Lambda::attr`] and [`Lambda::item`].
#[derive(Clone, Debug)]
pub struct Attr {
    var: Option<String>,
    name: String,
    count: bool,
}

/// The property `name` (`"subject"`, `"received_date_time"`, `"from/email_address/address"`).
pub fn attr(name: impl Into<String>) -> Attr {
    Attr::new(None, name.into())
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(self, value: impl Into<ODataValue>) -> Filter {
            Filter(Node::Cmp(self, stringify!($name), value.into()))
        }
    )*};
}

macro_rules! functions {
    ($($(#[$doc:meta])* $name:ident => $odata:literal;)*) => {$(
        $(#[$doc])*
        pub fn $name(self, text: impl Into<String>) -> Filter {
            Filter(Node::Func($odata, self, text.into().into()))
        }
    )*};
}

impl Attr {
    comparisons! {
        /// `name eq value`.
        eq;
        /// `name ne value` (an advanced query on directory objects).
        ne;
        /// `name gt value`.
        gt;
        /// `name ge value`.
        ge;
        /// `name lt value`.
        lt;
        /// `name le value`.
        le;
    }

    functions! {
        /// `contains(name,'text')`.
        contains => "contains";
        /// `startswith(name,'text')`.
        starts_with => "startswith";
        /// `endswith(name,'text')` (an advanced query on directory objects).
        ends_with => "endswith";
    }

    fn new(var: Option<String>, name: String) -> Attr {
        let count = false;
        Attr { var, name, count }
    }

    /// The number of items of this collection (`assignedLicenses/$count eq 0`); an advanced
    /// query on directory objects.
    pub fn count(mut self) -> Attr {
        self.count = true;
        self
    }

    /// `name eq null`.
    pub fn is_null(self) -> Filter {
        self.eq(ODataValue::null())
    }

    /// `name ne null` (an advanced query on directory objects).
    pub fn not_null(self) -> Filter {
        self.ne(ODataValue::null())
    }

    /// `name in ('a', 'b')`; an empty list is refused by [`Query::build`].
    pub fn is_in<V: Into<ODataValue>>(self, values: impl IntoIterator<Item = V>) -> Filter {
        Filter(Node::In(self, values.into_iter().map(Into::into).collect()))
    }

    /// `name/any(x:...)`: true when `body` holds for at least one item of the collection.
    ///
    /// The range variable is the first letter of the collection's last segment
    /// (`toRecipients/any(t:...)`); [`Attr::any_as`] names it.
    pub fn any(self, body: impl FnOnce(Lambda) -> Filter) -> Filter {
        let var = self.default_var();
        self.lambda("any", var, body)
    }

    /// [`Attr::any`] with the range variable named `var` (`categories/any(a:a eq 'Red')`).
    pub fn any_as(self, var: &str, body: impl FnOnce(Lambda) -> Filter) -> Filter {
        self.lambda("any", var.to_owned(), body)
    }

    /// `name/all(x:...)`: true when `body` holds for every item (range variable as in
    /// [`Attr::any`]). Graph does not support it ("Currently, it isn't supported in Microsoft
    /// Graph"), so only [`QueryTarget::Other`] builds it.
    pub fn all(self, body: impl FnOnce(Lambda) -> Filter) -> Filter {
        let var = self.default_var();
        self.lambda("all", var, body)
    }

    fn default_var(&self) -> String {
        let last = self.name.rsplit('/').next().unwrap_or_default();
        let first = last.chars().find(char::is_ascii_alphabetic).unwrap_or('x');
        first.to_ascii_lowercase().to_string()
    }

    fn lambda(self, op: &'static str, var: String, body: impl FnOnce(Lambda) -> Filter) -> Filter {
        let body = Box::new(body(Lambda { var: var.clone() }));
        Filter(Node::Lambda(self, op, var, body))
    }

    fn check(&self) -> Result<()> {
        if let Some(var) = &self.var {
            checked_var(var)?;
            if self.name.is_empty() {
                return Ok(());
            }
        }
        checked_name("$filter", &self.name).map(drop)
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.var, self.name.is_empty()) {
            (Some(var), true) => f.write_str(var)?,
            (Some(var), false) => write!(f, "{var}/{}", graph_name(&self.name))?,
            (None, _) => f.write_str(&graph_name(&self.name))?,
        }
        f.write_str(if self.count { "/$count" } else { "" })
    }
}

/// The range variable of an [`Attr::any`] or [`Attr::all`] body: one item of the collection.
#[derive(Clone, Debug)]
pub struct Lambda {
    var: String,
}

macro_rules! forward {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty);)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, $arg: $ty) -> Filter {
            self.item().$name($arg)
        }
    )*};
}

impl Lambda {
    /// The item itself, for collections of primitives (`i` in `imAddresses/any(i:i eq 'x')`).
    pub fn item(&self) -> Attr {
        self.attr("")
    }

    /// A property of the item (`a/emailAddress/address` in `toRecipients/any(a:...)`).
    pub fn attr(&self, name: impl Into<String>) -> Attr {
        Attr::new(Some(self.var.clone()), name.into())
    }

    forward! {
        /// `x eq value` on the item itself.
        eq(value: impl Into<ODataValue>);
        /// `x ne value` on the item itself.
        ne(value: impl Into<ODataValue>);
        /// `contains(x,'text')` on the item itself.
        contains(text: impl Into<String>);
        /// `startswith(x,'text')` on the item itself.
        starts_with(text: impl Into<String>);
        /// `endswith(x,'text')` on the item itself.
        ends_with(text: impl Into<String>);
    }
}

/// A `$filter` expression. `Display` writes its text (names are not checked until
/// [`Query::build`]).
#[derive(Clone, Debug)]
#[must_use]
pub struct Filter(Node);

#[derive(Clone, Debug)]
enum Node {
    Cmp(Attr, &'static str, ODataValue),
    Func(&'static str, Attr, ODataValue),
    In(Attr, Vec<ODataValue>),
    /// `coll/op(var:body)`
    Lambda(Attr, &'static str, String, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// `self and other` (`and` binds tighter than `or`; parentheses are added where needed).
    pub fn and(self, other: Filter) -> Filter {
        Filter(Node::And(Box::new(self), Box::new(other)))
    }

    /// `self or other`.
    pub fn or(self, other: Filter) -> Filter {
        Filter(Node::Or(Box::new(self), Box::new(other)))
    }

    /// `not(self)` (an advanced query on directory objects).
    #[allow(
        clippy::should_implement_trait,
        reason = "reads as OData, needs no import"
    )]
    pub fn not(self) -> Filter {
        Filter(Node::Not(Box::new(self)))
    }

    fn check(&self) -> Result<()> {
        let mut result = Ok(());
        self.walk(&mut |node| {
            let checked = match node {
                Node::In(_, vs) if vs.is_empty() => refuse("$filter", "an `in` list has no values"),
                Node::In(_, vs) => vs.iter().try_for_each(ODataValue::check),
                Node::Cmp(_, _, v) | Node::Func(_, _, v) => v.check(),
                Node::Lambda(_, _, var, _) => checked_var(var),
                Node::And(..) | Node::Or(..) | Node::Not(_) => Ok(()),
            };
            let attr = node.attr().map_or(Ok(()), Attr::check);
            if result.is_ok() {
                result = checked.and(attr);
            }
        });
        result
    }

    /// Visits every node, left to right, parents before children.
    fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Node)) {
        visit(&self.0);
        match &self.0 {
            Node::Lambda(.., body) | Node::Not(body) => body.walk(visit),
            Node::And(l, r) | Node::Or(l, r) => {
                l.walk(visit);
                r.walk(visit);
            }
            Node::Cmp(..) | Node::Func(..) | Node::In(..) => {}
        }
    }

    fn any_node(&self, pred: impl Fn(&Node) -> bool) -> bool {
        let mut found = false;
        self.walk(&mut |node| found |= pred(node));
        found
    }

    /// Top-level properties in order of first appearance (a lambda counts as its collection).
    fn properties(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.walk(&mut |node| {
            let Some(a) = node.attr().filter(|a| a.var.is_none()) else {
                return;
            };
            let name = graph_name(&a.name);
            if !out.iter().any(|p| p.eq_ignore_ascii_case(&name)) {
                out.push(name);
            }
        });
        out
    }

    /// Whether directory objects answer this filter only as an advanced query.
    fn is_advanced(&self) -> bool {
        self.any_node(|node| {
            node.attr().is_some_and(|a| a.count)
                || matches!(
                    node,
                    Node::Cmp(_, "ne", _) | Node::Func("endswith", ..) | Node::Not(_)
                )
        })
    }
}

impl Node {
    fn attr(&self) -> Option<&Attr> {
        match self {
            Node::Cmp(a, ..) | Node::Func(_, a, _) | Node::In(a, _) | Node::Lambda(a, ..) => {
                Some(a)
            }
            Node::And(..) | Node::Or(..) | Node::Not(_) => None,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Node::Cmp(a, op, v) => write!(f, "{a} {op} {v}"),
            Node::Func(name, a, v) => write!(f, "{name}({a},{v})"),
            Node::In(a, vs) => {
                let vs: Vec<String> = vs.iter().map(ToString::to_string).collect();
                write!(f, "{a} in ({})", vs.join(", "))
            }
            Node::Lambda(coll, op, var, body) => write!(f, "{coll}/{op}({var}:{body})"),
            Node::And(l, r) => {
                let side = |x: &Filter| match x.0 {
                    Node::Or(..) => format!("({x})"),
                    _ => x.to_string(),
                };
                write!(f, "{} and {}", side(l), side(r))
            }
            Node::Or(l, r) => write!(f, "{l} or {r}"),
            Node::Not(x) => write!(f, "not({x})"),
        }
    }
}

/// The kind of list a [`Query`] is sent to; [`Query::build`] applies that list's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryTarget {
    /// An Outlook message list (`/me/messages`, `/me/mailFolders/{id}/messages`).
    Messages,
    /// A directory object list (users, groups, applications, devices, members, ...).
    Directory,
    /// Any other list: only the rules that hold everywhere.
    Other,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
    )*};
}

/// OData query options for a Graph list, checked and written by [`Query::build`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Query {
    select: Vec<String>,
    expand: Vec<String>,
    filter: Option<Filter>,
    order_by: Vec<(String, bool)>,
    top: Option<u32>,
    skip: Option<u32>,
    count: Option<bool>,
    /// The text and whether it is raw KQL.
    search: Option<(String, bool)>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds properties to `$select`.
    pub fn select<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.select.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds relationships to `$expand` (names only: nested options are not supported).
    pub fn expand<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.expand.extend(names.into_iter().map(Into::into));
        self
    }

    /// Sets `$filter`; called again, the filters are joined with `and`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(old) => old.and(filter),
            None => filter,
        });
        self
    }

    /// Adds an ascending key to `$orderby`.
    pub fn order_by(mut self, name: impl Into<String>) -> Self {
        self.order_by.push((name.into(), false));
        self
    }

    /// Adds a descending key to `$orderby`.
    pub fn order_by_desc(mut self, name: impl Into<String>) -> Self {
        self.order_by.push((name.into(), true));
        self
    }

    setters! {
        /// Sets `$top`, the page size (at least 1).
        top: u32;
        /// Sets `$skip`.
        skip: u32;
        /// Sets `$count`, asking for `@odata.count` in the answer.
        count: bool;
    }

    /// Sets `$search` to `text` as one double-quoted KQL phrase (`"pizza"`), with `"` and `\`
    /// inside escaped by a backslash. On directory objects `text` must be `property:text`
    /// (`display_name:wa` becomes `"displayName:wa"`).
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some((text.into(), false));
        self
    }

    /// Sets `$search` to `kql` exactly as written (`"displayName:wa" OR "displayName:ad"`):
    /// nothing is quoted or escaped, so the caller answers for its syntax.
    pub fn search_kql(mut self, kql: impl Into<String>) -> Self {
        self.search = Some((kql.into(), true));
        self
    }

    /// Checks the query against the rules of `target` and writes its parameters.
    pub fn build(mut self, target: QueryTarget) -> Result<BuiltQuery> {
        let search = self.check(target)?;
        let mut consistency_level = None;
        match target {
            QueryTarget::Messages => self.messages_rules(search.is_some())?,
            QueryTarget::Directory => {
                if self.directory_is_advanced(search.is_some())? {
                    self.count = Some(true);
                    consistency_level = Some("eventual");
                }
            }
            QueryTarget::Other => {}
        }
        let mut params = Vec::new();
        let mut push = |name: &'static str, value: Option<String>| {
            params.extend(value.map(|v| (name, v)));
        };
        let list = |v: Vec<String>| Some(v.join(",")).filter(|s| !s.is_empty());
        push("$filter", self.filter.as_ref().map(ToString::to_string));
        push("$search", search);
        let keys = self
            .order_by
            .iter()
            .map(|(n, desc)| n.clone() + if *desc { " desc" } else { "" });
        push("$orderby", list(keys.collect()));
        push("$select", list(self.select));
        push("$expand", list(self.expand));
        push("$count", self.count.map(|b| b.to_string()));
        push("$top", self.top.map(|n| n.to_string()));
        push("$skip", self.skip.map(|n| n.to_string()));
        Ok(BuiltQuery {
            params,
            consistency_level,
        })
    }

    /// The rules that hold everywhere; puts names in Graph's spelling, returns the search.
    fn check(&mut self, target: QueryTarget) -> Result<Option<String>> {
        if self.top == Some(0) {
            return refuse("$top", "must be at least 1");
        }
        let in_place =
            |field: &str, name: &mut String| checked_name(field, name).map(|n| *name = n);
        for name in &mut self.select {
            in_place("$select", name)?;
        }
        for name in &mut self.expand {
            in_place("$expand", name)?;
        }
        for (name, _) in &mut self.order_by {
            in_place("$orderby", name)?;
        }
        if let Some(filter) = &self.filter {
            filter.check()?;
            if target != QueryTarget::Other
                && filter.any_node(|n| matches!(n, Node::Lambda(_, "all", ..)))
            {
                let reason = "Graph does not support the `all` lambda operator";
                return refuse("$filter", reason);
            }
        }
        Ok(match &self.search {
            None => None,
            Some((text, _)) if text.trim().is_empty() => {
                return refuse("$search", "empty search");
            }
            Some((kql, true)) => Some(kql.clone()),
            Some((text, false)) => Some(phrase(text, target)?),
        })
    }

    fn messages_rules(&self, search: bool) -> Result<()> {
        if search && (self.filter.is_some() || !self.order_by.is_empty()) {
            let clash = if self.filter.is_some() {
                "$filter"
            } else {
                "$orderby"
            };
            let reason = format!("Graph does not combine $search with {clash} on messages");
            return refuse("$search", reason);
        }
        if self.top.is_some_and(|n| n > 1000) {
            return refuse("$top", "messages take a page size from 1 to 1000");
        }
        let Some(filter) = &self.filter else {
            return Ok(());
        };
        // user-list-messages.md: properties in $orderby must open $filter, in the same order.
        let props = filter.properties();
        for (i, (name, _)) in self.order_by.iter().enumerate() {
            if !props.get(i).is_some_and(|p| p.eq_ignore_ascii_case(name)) {
                let found = props.get(i).map_or("nothing", String::as_str);
                let reason = format!(
                    "on messages the $orderby properties must open $filter in the same order \
                     (else Graph answers InefficientFilter): $orderby key {} is {name}, $filter \
                     has {found} there",
                    i + 1,
                );
                return refuse("$orderby", reason);
            }
        }
        Ok(())
    }

    /// Checks the directory rules; returns whether the query is an advanced query.
    fn directory_is_advanced(&self, search: bool) -> Result<bool> {
        if self.skip.is_some() {
            let reason = "directory lists do not support $skip; follow @odata.nextLink";
            return refuse("$skip", reason);
        }
        if self.top.is_some_and(|n| n > 999) {
            return refuse("$top", "directory lists take a page size from 1 to 999");
        }
        let default_sort = |(n, _): &(String, bool)| n == "displayName" || n == "userPrincipalName";
        let advanced = search
            || self.count == Some(true)
            || self.filter.as_ref().is_some_and(Filter::is_advanced)
            || (self.filter.is_some() && !self.order_by.is_empty())
            || !self.order_by.iter().all(default_sort);
        if advanced && self.count == Some(false) {
            let reason = "this is an advanced directory query, which needs $count=true";
            return refuse("$count", reason);
        }
        if advanced && !self.expand.is_empty() {
            let reason = "Graph does not support $expand in an advanced directory query \
                          ($search, $count, ne, not, endswith, $filter with $orderby)";
            return refuse("$expand", reason);
        }
        Ok(advanced)
    }
}

/// The double-quoted KQL phrase of [`Query::search`].
fn phrase(text: &str, target: QueryTarget) -> Result<String> {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    if target != QueryTarget::Directory {
        return Ok(format!("\"{}\"", escape(text)));
    }
    match text.split_once(':') {
        Some((prop, value)) if !prop.is_empty() && !value.is_empty() => Ok(format!(
            "\"{}:{}\"",
            checked_name("$search", prop)?,
            escape(value)
        )),
        _ => {
            let reason =
                "directory objects are searched as \"property:text\", like display_name:wa";
            refuse("$search", reason)
        }
    }
}

/// The parameters of a built [`Query`], unencoded, and the header it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltQuery {
    /// `("$filter", "subject eq 'x'")`, ... in a fixed order, not percent-encoded.
    pub params: Vec<(&'static str, String)>,
    /// `Some("eventual")` when the request must carry `ConsistencyLevel: eventual`.
    pub consistency_level: Option<&'static str>,
}

impl BuiltQuery {
    /// The value of parameter `name` (`"$filter"`), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        let found = self.params.iter().find(|(n, _)| *n == name);
        found.map(|(_, v)| v.as_str())
    }

    /// Writes the parameters into `url`'s query string, percent-encoded, replacing any of the
    /// same name and keeping the others.
    pub fn apply_to(&self, url: &mut url::Url) {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !self.params.iter().any(|(n, _)| n == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() && self.params.is_empty() {
            url.set_query(None);
            return;
        }
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .extend_pairs(self.params.iter().map(|(n, v)| (*n, v.as_str())));
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
