//! Checks values against the spec's schema table: the one place where the
//! constraints a spec states (types, required properties, lengths,
//! patterns, bounds, item counts, enums, formats) are enforced.
//!
//! The client checks each request before sending it, the sandboxes check
//! each request they receive, both from the same table, so a constraint
//! lives once, in the spec. What a schema cannot say (a time zone database,
//! an end after a start) stays in each API's hand-written checks.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::spec::{ApiSpec, Bounds, Kind, Location, Operation, Text};

/// A check for a custom `format` (Cronofy's `tzid`): `Err` says why the
/// value is not of that format.
pub type FormatCheck = fn(&str) -> Result<(), String>;

/// What was wrong with a value, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// Where: the parameter's name, or `body` followed by the path into it
    /// (`body.event.summary`, `body.batch[3].method`).
    pub at: String,
    /// The path into the value as segments (property names and indices).
    pub path: Vec<String>,
    /// What kind of problem.
    pub problem: Problem,
}

/// The kinds of [`Violation`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// A required property or parameter is missing.
    Missing,
    /// The value has the wrong JSON type: what the schema wants and what came.
    WrongType {
        /// `string`, `integer`, `number`, `boolean`, `array` or `object`.
        expected: &'static str,
        /// The JSON type of the value (`null` included).
        actual: &'static str,
    },
    /// A property the schema does not allow.
    Unknown,
    /// Any other broken constraint, in words.
    Constraint(String),
}

impl Violation {
    /// The violation in words, for `Error::Invalid`'s reason.
    pub fn reason(&self) -> String {
        match &self.problem {
            Problem::Missing => "is required".into(),
            Problem::WrongType { expected, actual } => format!("must be {expected}, not {actual}"),
            Problem::Unknown => "is not a known field".into(),
            Problem::Constraint(text) => text.clone(),
        }
    }
}

impl From<Violation> for crate::Error {
    fn from(v: Violation) -> Self {
        crate::Error::invalid(v.at.clone(), v.reason())
    }
}

/// Checks `value` against schema `schema` of `api`.
pub fn value(
    api: &ApiSpec,
    schema: u32,
    value: &Value,
    formats: &[(&str, FormatCheck)],
) -> Result<(), Violation> {
    let mut path = Vec::new();
    Checker { api, formats }
        .check(schema, value, &mut path)
        .map_err(|(path, problem)| Violation {
            at: join("body", &path),
            path,
            problem,
        })
}

/// Checks a request of `op`: the path parameters in `path` (below the base
/// URL), the `query` pairs, and the JSON `body` if there is one.
pub fn request(
    api: &ApiSpec,
    op: &Operation,
    path: Option<&str>,
    query: &[(String, String)],
    body: Option<&Value>,
    formats: &[(&str, FormatCheck)],
) -> Result<(), Violation> {
    let checker = Checker { api, formats };
    let fail = |name: &str, problem| Violation {
        at: name.to_string(),
        path: vec![name.to_string()],
        problem,
    };
    if let Some(path) = path {
        match op.match_path(path) {
            Some(values) => {
                for (name, raw) in values {
                    if let Some(p) = op.parameter(Location::Path, name) {
                        checker
                            .text_param(p.schema, &raw)
                            .map_err(|problem| fail(name, problem))?;
                    }
                }
            }
            // An empty path parameter leaves `//` where its value goes: that
            // is another path, so the parameter is refused as missing.
            None => {
                if let Some(name) = empty_path_parameter(op.path, path) {
                    return Err(fail(name, Problem::Missing));
                }
                // A value with `/`, `.` or `..` where the URL's parser moved
                // segments: the request would reach another resource.
                return Err(fail(
                    "path",
                    Problem::Constraint(format!(
                        "{path} does not fit {}: a path parameter adds or removes segments",
                        op.path
                    )),
                ));
            }
        }
    }
    for p in op
        .parameters
        .iter()
        .filter(|p| p.location == Location::Query)
    {
        let values: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == p.name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            if p.required {
                return Err(fail(p.name, Problem::Missing));
            }
            continue;
        }
        let schema = api.schema(p.schema);
        match &schema.kind {
            Kind::Array {
                items,
                min_items,
                max_items,
            } => {
                check_count(values.len() as u64, *min_items, *max_items, "values")
                    .map_err(|problem| fail(p.name, problem))?;
                for v in values {
                    checker
                        .text_param(*items, v)
                        .map_err(|problem| fail(p.name, problem))?;
                }
            }
            _ => {
                for v in values {
                    checker
                        .text_param(p.schema, v)
                        .map_err(|problem| fail(p.name, problem))?;
                }
            }
        }
    }
    if let (Some(body), Some(spec_body)) = (body, op.body) {
        value(api, spec_body.schema, body, formats)?;
    }
    Ok(())
}

/// The first `{name}` of `template` whose segment of `path` is empty.
fn empty_path_parameter<'t>(template: &'t str, path: &str) -> Option<&'t str> {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    template.iter().zip(&path).find_map(|(t, a)| {
        t.strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .filter(|_| a.is_empty())
    })
}

/// `body.event.summary`, `body.batch[3]`.
fn join(root: &str, path: &[String]) -> String {
    let mut out = root.to_string();
    for segment in path {
        if segment.parse::<usize>().is_ok() {
            out.push('[');
            out.push_str(segment);
            out.push(']');
        } else {
            out.push('.');
            out.push_str(segment);
        }
    }
    out
}

/// The date (`yyyy-mm-dd`) of query parameter `key`, if the query has one
/// (for an API's checks of two dates together).
#[cfg_attr(not(any(feature = "timesync", feature = "cronofy")), allow(dead_code))]
pub(crate) fn query_date(query: &[(String, String)], key: &str) -> Option<chrono::NaiveDate> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
}

/// The JSON type of `value`, as JSON Schema names it.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Checker<'a> {
    api: &'a ApiSpec,
    formats: &'a [(&'a str, FormatCheck)],
}

type Found = (Vec<String>, Problem);

impl Checker<'_> {
    fn check(&self, index: u32, value: &Value, path: &mut Vec<String>) -> Result<(), Found> {
        let schema = self.api.schema(index);
        if value.is_null() && schema.nullable {
            return Ok(());
        }
        let wrong = |expected, path: &Vec<String>| {
            Err((
                path.clone(),
                Problem::WrongType {
                    expected,
                    actual: json_type(value),
                },
            ))
        };
        match &schema.kind {
            Kind::Any => Ok(()),
            Kind::Boolean => match value {
                Value::Bool(_) => Ok(()),
                _ => wrong("boolean", path),
            },
            Kind::Integer(bounds) => match value.as_f64() {
                Some(n) if n.fract() == 0.0 => self.bounds(bounds, n, path),
                _ => wrong("integer", path),
            },
            Kind::Number(bounds) => match value.as_f64() {
                Some(n) => self.bounds(bounds, n, path),
                None => wrong("number", path),
            },
            Kind::String(text) => match value {
                Value::String(s) => self.text(text, s).map_err(|p| (path.clone(), p)),
                _ => wrong("string", path),
            },
            Kind::Array {
                items,
                min_items,
                max_items,
            } => {
                let Value::Array(list) = value else {
                    return wrong("array", path);
                };
                check_count(list.len() as u64, *min_items, *max_items, "items")
                    .map_err(|p| (path.clone(), p))?;
                for (i, item) in list.iter().enumerate() {
                    path.push(i.to_string());
                    self.check(*items, item, path)?;
                    path.pop();
                }
                Ok(())
            }
            Kind::Object {
                properties,
                required,
                additional,
                closed,
            } => {
                let Value::Object(map) = value else {
                    return wrong("object", path);
                };
                for name in *required {
                    if !map.contains_key(*name) {
                        path.push(name.to_string());
                        return Err((path.clone(), Problem::Missing));
                    }
                }
                for (key, v) in map {
                    path.push(key.clone());
                    match properties.iter().find(|(n, _)| n == key) {
                        Some((_, s)) => self.check(*s, v, path)?,
                        None if *closed => return Err((path.clone(), Problem::Unknown)),
                        None => {
                            if let Some(extra) = additional {
                                self.check(*extra, v, path)?;
                            }
                        }
                    }
                    path.pop();
                }
                Ok(())
            }
            Kind::AllOf(parts) => {
                for part in *parts {
                    self.check(*part, value, path)?;
                }
                Ok(())
            }
            Kind::OneOf(variants) => {
                // The variant whose required properties are all present (the
                // first such; for non-objects, the first that accepts it).
                let chosen = variants.iter().find(|v| self.claims(**v, value));
                match chosen {
                    Some(v) => self.check(*v, value, path),
                    None => {
                        let first_error = variants
                            .iter()
                            .map(|v| self.check(*v, value, &mut path.clone()))
                            .find_map(Result::err);
                        match first_error {
                            Some(e) => Err(e),
                            None => Ok(()),
                        }
                    }
                }
            }
        }
    }

    /// Whether `value` looks like a value of variant `index`: an object with
    /// all of the variant's required properties, or any value the variant
    /// accepts.
    fn claims(&self, index: u32, value: &Value) -> bool {
        match (&self.api.schema(index).kind, value) {
            (Kind::Object { required, .. }, Value::Object(map)) => {
                !required.is_empty() && required.iter().all(|r| map.contains_key(*r))
            }
            (Kind::AllOf(parts), _) => parts.iter().all(|p| self.claims(*p, value)),
            (Kind::Object { .. }, _) => false,
            _ => self.check(index, value, &mut Vec::new()).is_ok(),
        }
    }

    fn bounds(&self, b: &Bounds, n: f64, path: &[String]) -> Result<(), Found> {
        let fail = |text: String| Err((path.to_vec(), Problem::Constraint(text)));
        if let Some(min) = b.minimum {
            if b.exclusive_minimum && n <= min {
                return fail(format!("must be greater than {min}"));
            }
            if n < min {
                return fail(format!("must be at least {min}"));
            }
        }
        if let Some(max) = b.maximum {
            if b.exclusive_maximum && n >= max {
                return fail(format!("must be less than {max}"));
            }
            if n > max {
                return fail(format!("must be at most {max}"));
            }
        }
        Ok(())
    }

    fn text(&self, t: &Text, s: &str) -> Result<(), Problem> {
        let chars = s.chars().count() as u64;
        if let Some(min) = t.min_length
            && chars < min
        {
            return Err(Problem::Constraint(if min == 1 {
                "must not be empty".into()
            } else {
                format!("must be at least {min} characters long")
            }));
        }
        if let Some(max) = t.max_length
            && chars > max
        {
            return Err(Problem::Constraint(format!(
                "must be at most {max} characters long (it has {chars})"
            )));
        }
        if !t.values.is_empty() && !t.values.contains(&s) {
            return Err(Problem::Constraint(format!(
                "must be one of {}",
                t.values.join(", ")
            )));
        }
        if let Some(pattern) = t.pattern
            && !matches(pattern, s)
        {
            return Err(Problem::Constraint(format!(
                "must match the pattern {pattern}"
            )));
        }
        if let Some(format) = t.format {
            self.format(format, s).map_err(Problem::Constraint)?;
        }
        Ok(())
    }

    fn format(&self, format: &str, s: &str) -> Result<(), String> {
        if let Some((_, check)) = self.formats.iter().find(|(f, _)| *f == format) {
            return check(s);
        }
        match format {
            "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|_| ())
                .map_err(|_| format!("`{s}` is not a date (yyyy-mm-dd)")),
            "date-time" => chrono::DateTime::parse_from_rfc3339(s)
                .map(|_| ())
                .map_err(|_| format!("`{s}` is not an RFC 3339 date-time")),
            "uuid" => uuid::Uuid::parse_str(s)
                .map(|_| ())
                .map_err(|_| format!("`{s}` is not a UUID")),
            // Other formats (uri, email, byte, ...) are documentation only.
            _ => Ok(()),
        }
    }

    /// A parameter's text value (path or query) against its schema: scalars
    /// are read from their text form.
    fn text_param(&self, index: u32, raw: &str) -> Result<(), Problem> {
        let schema = self.api.schema(index);
        let value = match &schema.kind {
            Kind::String(_) | Kind::Any => Value::String(raw.to_string()),
            Kind::Boolean => match raw {
                "true" | "false" => Value::Bool(raw == "true"),
                _ => {
                    return Err(Problem::WrongType {
                        expected: "boolean",
                        actual: "string",
                    });
                }
            },
            Kind::Integer(_) | Kind::Number(_) => match raw.parse::<serde_json::Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => {
                    let expected = if matches!(schema.kind, Kind::Integer(_)) {
                        "integer"
                    } else {
                        "number"
                    };
                    return Err(Problem::WrongType {
                        expected,
                        actual: "string",
                    });
                }
            },
            _ => return Ok(()),
        };
        self.check(index, &value, &mut Vec::new())
            .map_err(|(_, problem)| problem)
    }
}

fn check_count(n: u64, min: Option<u64>, max: Option<u64>, what: &str) -> Result<(), Problem> {
    if let Some(min) = min
        && n < min
    {
        return Err(Problem::Constraint(format!(
            "must have at least {min} {what}"
        )));
    }
    if let Some(max) = max
        && n > max
    {
        return Err(Problem::Constraint(format!(
            "must have at most {max} {what} (it has {n})"
        )));
    }
    Ok(())
}

/// Whether `text` matches the ECMA 262 `pattern`; each pattern is compiled
/// once. A pattern that does not compile matches nothing, and says so in
/// the log once.
pub(crate) fn matches(pattern: &'static str, text: &str) -> bool {
    static COMPILED: OnceLock<Mutex<HashMap<&'static str, Option<regress::Regex>>>> =
        OnceLock::new();
    let mut cache = COMPILED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let regex = cache.entry(pattern).or_insert_with(|| {
        regress::Regex::new(pattern)
            .map_err(|e| tracing::warn!(pattern, error = %e, "spec pattern does not compile"))
            .ok()
    });
    regex.as_ref().is_some_and(|r| r.find(text).is_some())
}

#[cfg(test)]
mod tests {
    use super::super::spec::{Body, Parameter, Schema};
    use super::*;
    use serde_json::json;

    const fn schema(name: &'static str, kind: Kind) -> Schema {
        Schema {
            name,
            nullable: false,
            kind,
        }
    }

    const TEXT: Text = Text {
        min_length: None,
        max_length: None,
        pattern: None,
        format: None,
        values: &[],
    };

    static SCHEMAS: &[Schema] = &[
        // 0: the body
        schema(
            "Booking",
            Kind::Object {
                properties: &[("slug", 1), ("capacity", 2), ("tags", 3), ("when", 5)],
                required: &["slug"],
                additional: None,
                closed: true,
            },
        ),
        // 1
        schema(
            "Slug",
            Kind::String(Text {
                min_length: Some(1),
                max_length: Some(8),
                pattern: Some("^[a-z_-]+$"),
                format: None,
                values: &[],
            }),
        ),
        // 2
        schema(
            "Capacity",
            Kind::Integer(Bounds {
                minimum: Some(1.0),
                maximum: Some(256.0),
                exclusive_minimum: false,
                exclusive_maximum: false,
            }),
        ),
        // 3
        schema(
            "Tags",
            Kind::Array {
                items: 4,
                min_items: Some(1),
                max_items: Some(2),
            },
        ),
        // 4
        schema("Tag", Kind::String(TEXT)),
        // 5
        schema(
            "When",
            Kind::String(Text {
                format: Some("tzid"),
                ..TEXT
            }),
        ),
        // 6: a query flag
        schema("Flag", Kind::Boolean),
    ];

    static API: ApiSpec = ApiSpec::for_tests("test", &[], SCHEMAS);

    fn tz(s: &str) -> Result<(), String> {
        (s == "Europe/London")
            .then_some(())
            .ok_or_else(|| format!("`{s}` is not a known time zone"))
    }

    fn check(body: Value) -> Result<(), Violation> {
        value(&API, 0, &body, &[("tzid", tz as FormatCheck)])
    }

    #[test]
    fn bodies_are_checked_against_every_constraint_and_the_path_is_named() {
        assert!(check(json!({"slug": "a-b", "capacity": 256, "tags": ["x"]})).is_ok());
        let cases = [
            (json!({}), "body.slug", "is required"),
            (
                json!({"slug": 5}),
                "body.slug",
                "must be string, not integer",
            ),
            (json!({"slug": ""}), "body.slug", "must not be empty"),
            (json!({"slug": "abcdefghi"}), "body.slug", "at most 8"),
            (json!({"slug": "A!"}), "body.slug", "pattern"),
            (
                json!({"slug": "a", "capacity": 257}),
                "body.capacity",
                "at most 256",
            ),
            (
                json!({"slug": "a", "capacity": 0}),
                "body.capacity",
                "at least 1",
            ),
            (
                json!({"slug": "a", "capacity": 1.5}),
                "body.capacity",
                "integer",
            ),
            (
                json!({"slug": "a", "tags": []}),
                "body.tags",
                "at least 1 items",
            ),
            (
                json!({"slug": "a", "tags": ["a", 2]}),
                "body.tags[1]",
                "string",
            ),
            (
                json!({"slug": "a", "when": "Mars/Base"}),
                "body.when",
                "time zone",
            ),
            (
                json!({"slug": "a", "extra": 1}),
                "body.extra",
                "not a known field",
            ),
        ];
        for (body, at, text) in cases {
            let v = check(body.clone()).expect_err(&body.to_string());
            assert_eq!(v.at, at, "{body}");
            assert!(v.reason().contains(text), "{body}: {}", v.reason());
        }
    }

    #[test]
    fn query_and_path_parameters_are_read_from_their_text() {
        static PARAMS: &[Parameter] = &[
            Parameter {
                name: "slug",
                location: Location::Path,
                required: true,
                schema: 1,
                default: None,
                segments_pattern: None,
            },
            Parameter {
                name: "flag",
                location: Location::Query,
                required: true,
                schema: 6,
                default: None,
                segments_pattern: None,
            },
            Parameter {
                name: "tag[]",
                location: Location::Query,
                required: false,
                schema: 3,
                default: None,
                segments_pattern: None,
            },
        ];
        let op = Operation {
            parameters: PARAMS,
            body: Some(Body {
                media: "application/json",
                schema: 0,
            }),
            ..Operation::get_for_tests("get_booking", "/bookings/{slug}")
        };
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = request(
            &API,
            &op,
            Some("/bookings/abc"),
            &q(&[("flag", "true")]),
            None,
            &[],
        );
        assert!(ok.is_ok(), "{ok:?}");
        let bad_path = request(
            &API,
            &op,
            Some("/bookings/AB"),
            &q(&[("flag", "true")]),
            None,
            &[],
        );
        assert_eq!(bad_path.unwrap_err().at, "slug");
        let empty = request(
            &API,
            &op,
            Some("/bookings/"),
            &q(&[("flag", "true")]),
            None,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            (empty.at.as_str(), empty.problem),
            ("slug", Problem::Missing)
        );
        let missing = request(&API, &op, Some("/bookings/ab"), &[], None, &[]).unwrap_err();
        assert_eq!(
            (missing.at.as_str(), missing.problem),
            ("flag", Problem::Missing)
        );
        let too_many = request(
            &API,
            &op,
            None,
            &q(&[
                ("flag", "false"),
                ("tag[]", "a"),
                ("tag[]", "b"),
                ("tag[]", "c"),
            ]),
            None,
            &[],
        )
        .unwrap_err();
        assert!(
            too_many.reason().contains("at most 2 values"),
            "{too_many:?}"
        );
        let not_bool = request(&API, &op, None, &q(&[("flag", "yes")]), None, &[]).unwrap_err();
        assert_eq!(not_bool.reason(), "must be boolean, not string");
    }
}
