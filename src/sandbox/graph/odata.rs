//! The OData query options of lists, as far as the sandbox reads them:
//! `$filter` (comparisons `eq ne gt ge lt le` of a property path with a
//! string, number, boolean, `null` or date literal; `and`, `or`, `not`,
//! parentheses; `startswith`, `endswith`, `contains`; `in (...)`), `$select`,
//! `$orderby` and `$search` (a word in the subject, body preview or sender).
//! Property names are checked against the spec's schema of the listed type.
//! What the sandbox cannot read is a 400 `BadRequest` that says so (lambda
//! operators `any`/`all`, other functions, arithmetic).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors::{GraphErr, bad_request};
use super::times::parse_instant;
use crate::graph::spec::API;
use crate::runtime::spec::Kind;

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Vec<String>, Cmp, Literal),
    In(Vec<String>, Vec<Literal>),
    Text(TextFn, Vec<String>, String),
    /// A bare boolean property.
    Truth(Vec<String>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A string function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TextFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// A literal of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Word(String),
    Str(String),
}

/// 400 for a `$filter` the sandbox cannot read.
fn unreadable(what: impl std::fmt::Display) -> GraphErr {
    bad_request(
        "BadRequest",
        format!("Invalid filter clause: the sandbox does not read {what}."),
    )
}

fn tokens(text: &str) -> Result<Vec<Token>, GraphErr> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(unreadable("an unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, want: Token, what: &str) -> Result<(), GraphErr> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            _ => Err(unreadable(format!("this clause (expected {what})"))),
        }
    }

    fn or(&mut self) -> Result<Expr, GraphErr> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, GraphErr> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, GraphErr> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close, "`)`")?;
            return Ok(inner);
        }
        let Some(Token::Word(word)) = self.next() else {
            return Err(unreadable("a literal where a property or function belongs"));
        };
        if self.peek() == Some(&Token::Open) {
            return self.function(&word);
        }
        let path = property_path(&word)?;
        let Some(Token::Word(op)) = self.peek().cloned() else {
            return Ok(Expr::Truth(path));
        };
        let cmp = match op.to_ascii_lowercase().as_str() {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "gt" => Cmp::Gt,
            "ge" => Cmp::Ge,
            "lt" => Cmp::Lt,
            "le" => Cmp::Le,
            "in" => {
                self.at += 1;
                return self.list(path);
            }
            "and" | "or" => return Ok(Expr::Truth(path)),
            other => return Err(unreadable(format!("the operator `{other}`"))),
        };
        self.at += 1;
        let literal = self.literal()?;
        Ok(Expr::Compare(path, cmp, literal))
    }

    fn list(&mut self, path: Vec<String>) -> Result<Expr, GraphErr> {
        self.expect(Token::Open, "`(`")?;
        let mut values = vec![self.literal()?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            values.push(self.literal()?);
        }
        self.expect(Token::Close, "`)`")?;
        Ok(Expr::In(path, values))
    }

    fn function(&mut self, name: &str) -> Result<Expr, GraphErr> {
        let f = match name.to_ascii_lowercase().as_str() {
            "startswith" => TextFn::StartsWith,
            "endswith" => TextFn::EndsWith,
            "contains" => TextFn::Contains,
            _ if name.contains('/') => {
                return Err(unreadable(format!("lambda operators such as `{name}`")));
            }
            other => return Err(unreadable(format!("the function `{other}`"))),
        };
        self.expect(Token::Open, "`(`")?;
        let Some(Token::Word(prop)) = self.next() else {
            return Err(unreadable(
                "a function whose first argument is not a property",
            ));
        };
        let path = property_path(&prop)?;
        self.expect(Token::Comma, "`,`")?;
        let Some(Token::Str(text)) = self.next() else {
            return Err(unreadable(
                "a function whose second argument is not a string",
            ));
        };
        self.expect(Token::Close, "`)`")?;
        Ok(Expr::Text(f, path, text))
    }

    fn literal(&mut self) -> Result<Literal, GraphErr> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Str(s)),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                "null" => Ok(Literal::Null),
                _ => {
                    if let Ok(n) = w.parse::<f64>() {
                        return Ok(Literal::Num(n));
                    }
                    if is_guid(&w) {
                        return Ok(Literal::Str(w));
                    }
                    if let Ok(d) = chrono::NaiveDate::parse_from_str(&w, "%Y-%m-%d") {
                        return Ok(Literal::Date(d.and_time(chrono::NaiveTime::MIN).and_utc()));
                    }
                    DateTime::parse_from_rfc3339(&w)
                        .map(|t| Literal::Date(t.with_timezone(&Utc)))
                        .map_err(|_| unreadable(format!("the literal `{w}`")))
                }
            },
            _ => Err(unreadable("a comparison without a literal")),
        }
    }
}

/// Whether `text` is a bare GUID literal (8-4-4-4-12 hex digits).
fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `from/emailAddress/address` as its segments; arithmetic and casts are refused.
fn property_path(word: &str) -> Result<Vec<String>, GraphErr> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.')
    };
    let segments: Vec<String> = word.split('/').map(str::to_string).collect();
    if segments.iter().all(|s| ok(s)) && word.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
        Ok(segments)
    } else {
        Err(unreadable(format!("`{word}`")))
    }
}

/// Parses a `$filter`.
pub(super) fn parse_filter(text: &str) -> Result<Expr, GraphErr> {
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let expr = parser.or()?;
    if parser.at < parser.tokens.len() {
        return Err(unreadable("what follows a complete clause"));
    }
    Ok(expr)
}

/// The value at `path` in `item` (`Null` where there is none).
pub(super) fn at<'a>(item: &'a Value, path: &[String]) -> &'a Value {
    let mut node = item;
    for segment in path {
        match node.get(segment.as_str()) {
            Some(next) => node = next,
            None => return &Value::Null,
        }
    }
    node
}

impl Expr {
    /// Whether `item` passes the filter.
    pub(super) fn holds(&self, item: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.holds(item) && b.holds(item),
            Expr::Or(a, b) => a.holds(item) || b.holds(item),
            Expr::Not(a) => !a.holds(item),
            Expr::Truth(path) => at(item, path) == &Value::Bool(true),
            Expr::In(path, values) => values
                .iter()
                .any(|v| compare(at(item, path), v) == Some(Ordering::Equal)),
            Expr::Text(f, path, text) => {
                let value = at(item, path).as_str().unwrap_or("").to_lowercase();
                let text = text.to_lowercase();
                match f {
                    TextFn::StartsWith => value.starts_with(&text),
                    TextFn::EndsWith => value.ends_with(&text),
                    TextFn::Contains => value.contains(&text),
                }
            }
            Expr::Compare(path, cmp, literal) => {
                let order = compare(at(item, path), literal);
                match cmp {
                    Cmp::Eq => order == Some(Ordering::Equal),
                    Cmp::Ne => order != Some(Ordering::Equal),
                    Cmp::Gt => order == Some(Ordering::Greater),
                    Cmp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
                    Cmp::Lt => order == Some(Ordering::Less),
                    Cmp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
                }
            }
        }
    }

    /// Every property path the filter names.
    fn paths(&self) -> Vec<&[String]> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => [a.paths(), b.paths()].concat(),
            Expr::Not(a) => a.paths(),
            Expr::Compare(p, _, _) | Expr::In(p, _) | Expr::Text(_, p, _) | Expr::Truth(p) => {
                vec![p.as_slice()]
            }
        }
    }
}

/// How a stored value compares with a literal (`None`: not comparable).
/// Strings compare without case; dates as instants (a stored local time
/// counts as UTC).
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::String(s), Literal::Date(d)) => parse_instant(s, chrono_tz::UTC).map(|t| t.cmp(d)),
        (Value::String(s), Literal::Str(l)) => {
            let dates = (
                parse_instant(s, chrono_tz::UTC),
                parse_instant(l, chrono_tz::UTC),
            );
            if let (Some(a), Some(b)) = dates {
                return Some(a.cmp(&b));
            }
            Some(s.to_lowercase().cmp(&l.to_lowercase()))
        }
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        (Value::Number(n), Literal::Num(l)) => n.as_f64().and_then(|n| n.partial_cmp(l)),
        _ => None,
    }
}

/// The declared properties of the spec's schema `schema`.
fn properties(schema: &str) -> &'static [(&'static str, u32)] {
    API.schemas
        .iter()
        .find(|s| s.name == schema)
        .and_then(|s| match &s.kind {
            Kind::Object { properties, .. } => Some(*properties),
            _ => None,
        })
        .unwrap_or(&[])
}

/// 400 unless `name` is a property of schema `schema` (unchecked when the
/// spec has no such schema).
fn check_property(schema: &str, name: &str) -> Result<(), GraphErr> {
    let props = properties(schema);
    if props.is_empty() || props.iter().any(|(p, _)| *p == name) {
        return Ok(());
    }
    let mut type_name = schema.to_string();
    if let Some(first) = type_name.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    Err(bad_request(
        "BadRequest",
        format!("Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."),
    ))
}

/// The list options of a request, read and checked against `schema`.
#[derive(Debug, Default)]
pub(super) struct Options {
    pub(super) filter: Option<Expr>,
    pub(super) select: Option<Vec<String>>,
    pub(super) orderby: Vec<(Vec<String>, bool)>,
    pub(super) search: Option<String>,
}

impl Options {
    /// Reads `$filter`, `$select`, `$orderby` and `$search` from `get`.
    pub(super) fn read<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        schema: &str,
    ) -> Result<Options, GraphErr> {
        let mut options = Options::default();
        if let Some(f) = get("$filter").filter(|f| !f.trim().is_empty()) {
            let expr = parse_filter(f)?;
            for path in expr.paths() {
                check_property(schema, &path[0])?;
            }
            options.filter = Some(expr);
        }
        if let Some(s) = get("$select").filter(|s| !s.trim().is_empty()) {
            let names: Vec<String> = s.split(',').map(|n| n.trim().to_string()).collect();
            for name in &names {
                check_property(schema, name)?;
            }
            options.select = Some(names);
        }
        if let Some(o) = get("$orderby").filter(|o| !o.trim().is_empty()) {
            for part in o.split(',') {
                let mut words = part.split_whitespace();
                let path = property_path(words.next().unwrap_or(""))?;
                check_property(schema, &path[0])?;
                let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(other) => return Err(unreadable(format!("the order `{other}`"))),
                };
                options.orderby.push((path, descending));
            }
        }
        options.search = get("$search")
            .map(|s| s.trim().trim_matches('"').to_lowercase())
            .filter(|s| !s.is_empty());
        Ok(options)
    }

    /// Filters, searches and orders `items` (kept in their order when no
    /// `$orderby` is given).
    pub(super) fn apply(&self, mut items: Vec<Value>) -> Vec<Value> {
        if let Some(f) = &self.filter {
            items.retain(|i| f.holds(i));
        }
        if let Some(term) = &self.search {
            items.retain(|i| {
                ["subject", "bodyPreview", "displayName", "name"]
                    .iter()
                    .any(|k| {
                        i[*k]
                            .as_str()
                            .is_some_and(|s| s.to_lowercase().contains(term))
                    })
                    || i["from"]["emailAddress"]["address"]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(term))
            });
        }
        if !self.orderby.is_empty() {
            items.sort_by(|a, b| {
                for (path, descending) in &self.orderby {
                    let order = order_values(at(a, path), at(b, path));
                    let order = if *descending { order.reverse() } else { order };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                Ordering::Equal
            });
        }
        items
    }

    /// `item` with only the selected properties (and `id` and annotations).
    pub(super) fn project(&self, item: Value) -> Value {
        let (Some(names), Value::Object(map)) = (&self.select, &item) else {
            return item;
        };
        let kept: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| k.as_str() == "id" || k.starts_with('@') || names.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(kept)
    }
}

/// The order of two stored values of one property (nulls first).
fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(filter: &str, item: &Value) -> bool {
        parse_filter(filter).unwrap().holds(item)
    }

    #[test]
    fn filters_read_what_the_clients_send() {
        let m = json!({
            "subject": "Quarterly plan", "isRead": false, "importance": "high",
            "receivedDateTime": "2024-05-02T10:00:00Z",
            "from": {"emailAddress": {"address": "Megan@contoso.com"}},
            "start": {"dateTime": "2024-05-02T09:00:00.0000000", "timeZone": "UTC"},
        });
        assert!(holds("isRead eq false", &m));
        assert!(holds("subject eq 'quarterly plan'", &m));
        assert!(holds(
            "from/emailAddress/address eq 'megan@contoso.com'",
            &m
        ));
        assert!(holds(
            "receivedDateTime ge 2024-05-01T00:00:00Z and receivedDateTime le 2024-05-03T00:00:00Z",
            &m
        ));
        assert!(!holds("receivedDateTime lt 2024-05-01T00:00:00Z", &m));
        assert!(holds("start/dateTime ge '2024-05-02T08:00:00'", &m));
        assert!(holds(
            "(isRead eq true or importance eq 'high') and not (subject eq 'x')",
            &m
        ));
        assert!(holds(
            "startswith(subject,'Quart') and contains(subject, 'PLAN')",
            &m
        ));
        assert!(holds("importance in ('low', 'high')", &m));
        assert!(holds("isRead ne true", &m));
        assert!(holds("categories eq null", &m));
        // As the client's query builder writes them: `not(...)`, bare dates and GUIDs.
        assert!(holds("not(isRead eq true)", &m));
        assert!(holds("receivedDateTime ge 2024-05-02", &m));
        let u = json!({"id": "184efa21-98c3-4e5d-95ab-d07053a96e67"});
        assert!(holds("id eq 184efa21-98c3-4e5d-95ab-d07053a96e67", &u));
        let e = parse_filter("toRecipients/any(r:r/emailAddress/address eq 'a')").unwrap_err();
        assert_eq!(e.code, "BadRequest");
        assert!(e.message.contains("lambda"), "{}", e.message);
        assert!(parse_filter("length(subject) eq 3").is_err());
        assert!(parse_filter("subject eq 'open").is_err());
        assert!(parse_filter("subject eq").is_err());
        assert!(parse_filter("subject eq 'a' 'b'").is_err());
    }

    #[test]
    fn options_check_property_names_against_the_spec() {
        let get = |q: &'static str| move |k: &str| if k == "$select" { Some(q) } else { None };
        let e = Options::read(get("subject,nope"), "Message").unwrap_err();
        assert_eq!(
            e.message,
            "Could not find a property named 'nope' on type 'microsoft.graph.message'."
        );
        let o = Options::read(get("subject"), "Message").unwrap();
        let shown = o.project(json!({"id": "1", "subject": "s", "body": {}, "@odata.etag": "e"}));
        assert_eq!(
            shown,
            json!({"id": "1", "subject": "s", "@odata.etag": "e"})
        );
        let order = |k: &str| {
            if k == "$orderby" {
                Some("subject desc")
            } else {
                None
            }
        };
        let o = Options::read(order, "Message").unwrap();
        let sorted = o.apply(vec![json!({"subject": "a"}), json!({"subject": "B"})]);
        assert_eq!(sorted[0]["subject"], "B");
    }
}
