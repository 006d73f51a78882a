//! How the reference server reads what it is sent, in JavaScript's and
//! Express's terms: truthiness and type names, `qs` query values, and the
//! loose date rules of `times.js`. The spec states stricter rules for the
//! query parameters (booleans, `yyyy-mm-dd` dates, patterns); the server
//! never refuses a flag, finds a date anywhere in a value and ignores
//! unknown filter values as long as one exists, so the sandbox reads the
//! query as the server does.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::super::engine::Query;

/// Now, in epoch milliseconds (the server's `Date.now()`).
pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `new Date(ms).toISOString().substring(0, 10)`.
pub(super) fn day(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

/// A stored date as the server answers it: `null` for none (or 0).
pub(super) fn opt_day(ms: Option<i64>) -> Option<String> {
    ms.filter(|m| *m != 0).map(day)
}

/// JavaScript truthiness.
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// The server's `helpers.getType`.
pub(super) fn js_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JavaScript's `typeof`.
pub(super) fn js_typeof(value: &Value) -> &'static str {
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => "object",
        other => js_type(other),
    }
}

/// JavaScript's `String(value)`.
pub(super) fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_string(),
        other => other.to_string(),
    }
}

/// A number as JavaScript's `JSON.stringify` writes it: whole numbers
/// without a fraction (`90`, not `90.0`), others as the shortest decimal
/// that reads back (`1.5`). For `#[serde(serialize_with)]`.
pub(super) fn serialize_js_number<S: serde::Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        // Exact: a whole number within JavaScript's safe integers.
        return s.serialize_i64(*n as i64);
    }
    s.serialize_f64(*n)
}

/// JavaScript's `Number(value)` for a JSON value, `None` standing for
/// `NaN`: numbers as they are, `null`, `false` and `[]` as 0, `true` as 1,
/// strings read as JavaScript reads them (trimmed; empty is 0; decimal,
/// exponent, `0x`, `0o` and `0b` forms; `Infinity`), arrays through their
/// text (`["4"]` is 4), objects as `NaN`.
pub(super) fn js_number(value: &Value) -> Option<f64> {
    let text = match value {
        Value::Null => return Some(0.0),
        Value::Bool(b) => return Some(f64::from(u8::from(*b))),
        Value::Number(n) => return n.as_f64(),
        Value::Object(_) => return None,
        Value::String(_) | Value::Array(_) => js_string(value),
    };
    let text = text.trim();
    if text.is_empty() {
        return Some(0.0);
    }
    let radix = |prefix: [&str; 2], radix: u32| {
        prefix
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .map(|digits| u64::from_str_radix(digits, radix).ok().map(|n| n as f64))
    };
    if let Some(n) = radix(["0x", "0X"], 16)
        .or_else(|| radix(["0o", "0O"], 8))
        .or_else(|| radix(["0b", "0B"], 2))
    {
        return n;
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned == "Infinity" {
        return Some(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Rust also reads `inf`, `nan` and `infinity` in any case; JavaScript
    // reads only digits, `.`, signs and exponents.
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    text.parse().ok()
}

/// A form body as Express reads it (`urlencoded({extended: true})`, that is
/// `qs`): `a[b]=1` nests, `a[]=x` appends, `a[0]=x` is an array index
/// (arrays are compacted: `a[3]=x` alone is `["x"]`), a repeated key makes
/// an array of its values, and an object that mixes names and indices keeps
/// the indices as names. Every value is a string.
pub(super) fn express_form(body: &[u8]) -> Value {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // qs takes indices up to `arrayLimit`, which body-parser sets to the
    // number of parameters, at least 100.
    let limit = pairs.len().max(100);
    let mut root = FormNode::Tree(Vec::new());
    for (key, value) in pairs {
        root.insert(&form_segments(&key, limit), Value::String(value));
    }
    root.into_value()
}

/// One segment of a form key.
#[derive(Clone, PartialEq)]
enum FormKey {
    Name(String),
    Index(usize),
    /// `[]`: the next index.
    Append,
}

/// `a[b][0][]` as `a`, `b`, index 0, append; a key without complete
/// brackets is one name, as in `qs`.
fn form_segments(key: &str, limit: usize) -> Vec<FormKey> {
    let (head, mut rest) = match key.find('[') {
        Some(i) if i > 0 && key[i..].contains(']') => (&key[..i], &key[i..]),
        _ => return vec![FormKey::Name(key.to_string())],
    };
    let mut segments = vec![FormKey::Name(head.to_string())];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']').filter(|e| !inner[..*e].contains('[')) else {
            break;
        };
        let name = &inner[..end];
        segments.push(match name.parse::<usize>() {
            _ if name.is_empty() => FormKey::Append,
            Ok(i) if i <= limit && i.to_string() == name => FormKey::Index(i),
            _ => FormKey::Name(name.to_string()),
        });
        rest = &inner[end + 1..];
    }
    segments
}

/// The tree of form values being read.
enum FormNode {
    Leaf(Value),
    Tree(Vec<(FormKey, FormNode)>),
}

impl FormNode {
    fn insert(&mut self, segments: &[FormKey], value: Value) {
        let Some((first, rest)) = segments.split_first() else {
            match self {
                // A repeated key: its values make an array.
                FormNode::Leaf(Value::Array(items)) => items.push(value),
                FormNode::Leaf(old) => *old = Value::Array(vec![old.take(), value]),
                FormNode::Tree(children) if children.is_empty() => *self = FormNode::Leaf(value),
                FormNode::Tree(_) => {}
            }
            return;
        };
        let FormNode::Tree(children) = self else {
            return;
        };
        let key = match first {
            FormKey::Append => FormKey::Index(
                children
                    .iter()
                    .filter_map(|(k, _)| match k {
                        FormKey::Index(i) => Some(i + 1),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0),
            ),
            other => other.clone(),
        };
        let at = match children.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                children.push((key, FormNode::Tree(Vec::new())));
                children.len() - 1
            }
        };
        children[at].1.insert(rest, value);
    }

    fn into_value(self) -> Value {
        let children = match self {
            FormNode::Leaf(v) => return v,
            FormNode::Tree(children) => children,
        };
        if !children.is_empty() && children.iter().all(|(k, _)| matches!(k, FormKey::Index(_))) {
            let mut items: Vec<(usize, Value)> = children
                .into_iter()
                .map(|(k, node)| match k {
                    FormKey::Index(i) => (i, node.into_value()),
                    _ => (0, Value::Null),
                })
                .collect();
            items.sort_by_key(|(i, _)| *i);
            return Value::Array(items.into_iter().map(|(_, v)| v).collect());
        }
        Value::Object(
            children
                .into_iter()
                .map(|(k, node)| {
                    let name = match k {
                        FormKey::Name(n) => n,
                        FormKey::Index(i) => i.to_string(),
                        FormKey::Append => String::new(),
                    };
                    (name, node.into_value())
                })
                .collect(),
        )
    }
}

/// A string field of `object`.
pub(super) fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// The strings of a present array field.
pub(super) fn str_array(object: &Value, key: &str) -> Option<Vec<String>> {
    object.get(key).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

/// The unanchored `/\d{4}-\d{2}-\d{2}/` test of the server.
pub(super) fn has_iso_date(text: &str) -> bool {
    text.as_bytes().windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    })
}

/// `new Date(text).getTime()` for the forms the sandbox understands
/// (`yyyy-mm-dd` and RFC 3339); `None` stands for `NaN`.
pub(super) fn parse_js_date(text: &str) -> Option<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// A `date_worked` as the server accepts it (the unanchored date pattern
/// and `Date.parse`), as its UTC day. The spec's `format: date` is
/// stricter; the server's rule is kept here.
pub(super) fn parse_date_worked(text: &str) -> Option<NaiveDate> {
    if !has_iso_date(text) {
        return None;
    }
    parse_js_date(text)
        .and_then(DateTime::from_timestamp_millis)
        .map(|d| d.date_naive())
}

/// A day as epoch milliseconds at its start (UTC).
pub(super) fn date_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// A query string as Express's `qs` reads it: a repeated key is an array,
/// `key[]` is an array, `key[x]` is an object.
#[derive(Default)]
pub(super) struct ExpressQuery {
    pairs: Vec<(String, String)>,
    arrays: BTreeSet<String>,
    objects: BTreeSet<String>,
}

/// One query parameter's value, as `qs` reads it.
pub(super) enum QueryValue<'a> {
    /// `?key=value` (`?key` is `""`).
    One(&'a str),
    /// A repeated key or `key[]`.
    Many(Vec<&'a str>),
    /// `key[x]=..`.
    Object,
}

impl QueryValue<'_> {
    /// The value as the server prints it in `Parameter .. contained invalid value ..`.
    pub(super) fn raw(&self) -> String {
        match self {
            QueryValue::One(s) => (*s).to_string(),
            QueryValue::Many(v) => v.join(","),
            QueryValue::Object => "[object Object]".to_string(),
        }
    }

    /// JavaScript truthiness of the value.
    pub(super) fn truthy(&self) -> bool {
        !matches!(self, QueryValue::One(""))
    }
}

impl ExpressQuery {
    /// Reads the decoded pairs of a query string.
    pub(super) fn new(query: &Query) -> Self {
        let mut out = ExpressQuery::default();
        for (key, value) in query.pairs() {
            if let Some(base) = key.strip_suffix("[]") {
                out.arrays.insert(base.to_string());
                out.pairs.push((base.to_string(), value.clone()));
            } else if let Some(i) = key.find('[') {
                out.objects.insert(key[..i].to_string());
            } else {
                out.pairs.push((key.clone(), value.clone()));
            }
        }
        out
    }

    /// The value of `key`.
    pub(super) fn get(&self, key: &str) -> Option<QueryValue<'_>> {
        if self.objects.contains(key) {
            return Some(QueryValue::Object);
        }
        let values: Vec<&str> = self
            .pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        match values.as_slice() {
            [] => None,
            [one] if !self.arrays.contains(key) => Some(QueryValue::One(one)),
            _ => Some(QueryValue::Many(values)),
        }
    }

    /// `include_deleted` on times, projects and users: anything but absent
    /// or `false`.
    pub(super) fn loose_flag(&self, key: &str) -> bool {
        !matches!(self.get(key), None | Some(QueryValue::One("false")))
    }

    /// `include_revisions` everywhere, `include_deleted` on activities:
    /// only `true` or an empty value.
    pub(super) fn strict_flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(QueryValue::One("true" | "")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_follow_express() {
        let q = ExpressQuery::new(&Query::parse("user=a&user=b&start=&x[y]=1&p[]=z&token=a+b"));
        assert!(matches!(q.get("user"), Some(QueryValue::Many(v)) if v == ["a", "b"]));
        assert!(matches!(q.get("start"), Some(QueryValue::One(""))));
        assert!(matches!(q.get("x"), Some(QueryValue::Object)));
        assert!(matches!(q.get("p"), Some(QueryValue::Many(v)) if v == ["z"]));
        assert!(matches!(q.get("token"), Some(QueryValue::One("a b"))));
        assert!(q.loose_flag("user"));
        assert!(!q.strict_flag("user"));
        assert!(q.strict_flag("start"));
    }

    #[test]
    fn form_bodies_are_read_as_qs_reads_them() {
        let form = |body: &str| express_form(body.as_bytes());
        assert_eq!(
            form("auth[type]=token&object[activities][0]=docs&object[activities][1]=dev"),
            serde_json::json!({"auth": {"type": "token"}, "object": {"activities": ["docs", "dev"]}})
        );
        assert_eq!(form("a[1]=y&a[0]=x"), serde_json::json!({"a": ["x", "y"]}));
        assert_eq!(form("a[5]=x"), serde_json::json!({"a": ["x"]}));
        assert_eq!(form("a[]=x&a[]=y"), serde_json::json!({"a": ["x", "y"]}));
        assert_eq!(
            form("a=x&a=y&a=z"),
            serde_json::json!({"a": ["x", "y", "z"]})
        );
        assert_eq!(
            form("a[0]=x&a[b]=y"),
            serde_json::json!({"a": {"0": "x", "b": "y"}})
        );
        assert_eq!(
            form("a[01]=x&a[1000]=y"),
            serde_json::json!({"a": {"01": "x", "1000": "y"}})
        );
        assert_eq!(
            form("a[b=1&c=+2"),
            serde_json::json!({"a[b": "1", "c": " 2"})
        );
        assert_eq!(
            form(r#"{"auth":{}}"#),
            serde_json::json!({r#"{"auth":{}}"#: ""})
        );
    }

    #[test]
    fn numbers_are_read_as_javascript_reads_them() {
        let n = |v: Value| js_number(&v);
        assert_eq!(n("90".into()), Some(90.0));
        assert_eq!(n(" 2.5 ".into()), Some(2.5));
        assert_eq!(n("1e1".into()), Some(10.0));
        assert_eq!(n("0x10".into()), Some(16.0));
        assert_eq!(n("".into()), Some(0.0));
        assert_eq!(n(Value::Null), Some(0.0));
        assert_eq!(n(true.into()), Some(1.0));
        assert_eq!(n(serde_json::json!([])), Some(0.0));
        assert_eq!(n(serde_json::json!(["-4"])), Some(-4.0));
        assert_eq!(n("-Infinity".into()), Some(f64::NEG_INFINITY));
        for nan in [
            Value::from("abc"),
            Value::from("inf"),
            Value::from("0x"),
            serde_json::json!([1, 2]),
            serde_json::json!({}),
        ] {
            assert_eq!(n(nan.clone()), None, "{nan}");
        }
        let text = |x: f64| {
            let mut out = Vec::new();
            serialize_js_number(&x, &mut serde_json::Serializer::new(&mut out)).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            (text(90.0), text(1.5), text(0.0)),
            ("90".into(), "1.5".into(), "0".into())
        );
    }

    #[test]
    fn dates_are_found_as_the_server_finds_them() {
        assert_eq!(
            parse_date_worked("2026-01-05"),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(
            parse_date_worked("2026-01-05T23:00:00-02:00"),
            NaiveDate::from_ymd_opt(2026, 1, 6)
        );
        assert_eq!(parse_date_worked("April 29, 1995"), None);
        assert!(has_iso_date("on 2026-01-05 or so"));
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(opt_day(Some(0)), None);
    }
}
