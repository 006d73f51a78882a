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
