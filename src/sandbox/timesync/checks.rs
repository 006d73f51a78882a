//! Request checks from the spec, answered in the server's words.
//!
//! The spec holds the constraints (types, required fields, slug and
//! username patterns, `minimum`, `minItems`, URI formats); the engine checks
//! a value against them ([`Call::check_value`]) and [`Fields`] keeps what it
//! found per field, so that each handler answers the first problem in the
//! server's own order and text (`The time is missing a duration`, `Field
//! duration of time should be number but was sent as string`). What no
//! schema says stays by hand: fields the spec leaves open (unknown ones,
//! which the server refuses), the hyphenated UUID form, the server's email
//! pattern, uniqueness, permissions and foreign keys.

use std::sync::LazyLock;

use serde_json::Value;

use super::super::engine::Call;
use super::errors::{ApiErr, invalid_field, missing_field};
use super::js::js_type;
use crate::runtime::spec::Kind;
use crate::runtime::validate::{self, Problem, Violation};
use crate::timesync::spec::API;

/// The index of the spec's schema `name`.
fn schema(name: &str) -> Option<u32> {
    let index = API.schemas.iter().position(|s| s.name == name);
    if index.is_none() {
        tracing::warn!(schema = name, "the timesync spec has no such schema");
    }
    index.and_then(|i| u32::try_from(i).ok())
}

/// Whether `text` is a value of the spec's string schema `name`.
fn is_a(name: &str, text: &str) -> bool {
    schema(name)
        .is_some_and(|s| validate::value(&API, s, &Value::String(text.to_string()), &[]).is_ok())
}

/// The server's slug rule (`helpers.validateSlug`), the spec's `Slug` pattern.
pub(super) fn valid_slug(slug: &str) -> bool {
    is_a("Slug", slug)
}

/// The server's username rule (`helpers.validateUsername`), the spec's
/// `Username` pattern.
pub(super) fn valid_username(username: &str) -> bool {
    is_a("Username", username)
}

/// `errors.isInvalidSlug`, the lax check of the slug GETs (looser than the
/// spec's `Slug`, which the client checks before sending).
pub(super) fn lax_slug(slug: &str) -> bool {
    slug.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `helpers.validateUUID` (which lower-cases first): the hyphenated form
/// only, where the spec's `format: uuid` also takes the 32-digit form.
pub(super) fn valid_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `helpers.validateEmail`, the server's own pattern (JavaScript syntax);
/// the spec's `format: email` is documentation only.
pub(super) fn valid_email(email: &str) -> bool {
    static EMAIL: LazyLock<Option<regress::Regex>> = LazyLock::new(|| {
        regress::Regex::new(
            r"^([A-Z|a-z|0-9](\.|_){0,1})+[A-Z|a-z|0-9]*(\+){0,1}[A-Z|a-z|0-9]+\@([A-Z|a-z|0-9])+((\.){0,1}[A-Z|a-z|0-9]){2}\.[a-z]{2,3}$",
        )
        .ok()
    });
    EMAIL.as_ref().is_some_and(|re| re.find(email).is_some())
}

/// Whether the path parameter `name` broke the spec's constraints
/// (`call.check` names the first broken path or query parameter; path
/// parameters are checked first).
pub(super) fn path_refused(call: &Call, name: &str) -> bool {
    call.check.as_ref().is_some_and(|v| v.at == name)
}

/// The fields of one request object checked against the spec's schema for
/// it, each field on its own, so that handlers can answer in the server's
/// order.
pub(super) struct Fields<'a> {
    object: &'a Value,
    properties: &'static [(&'static str, u32)],
    required: &'static [&'static str],
    found: Vec<(String, Violation)>,
}

impl<'a> Fields<'a> {
    /// Checks every declared field of `object` against schema `schema_name`.
    pub(super) fn check(call: &Call, schema_name: &str, object: &'a Value) -> Self {
        Self::with(|s, v| call.check_value(s, v), schema_name, object)
    }

    /// [`Fields::check`] with `check` checking a value against a schema.
    fn with(
        check: impl Fn(u32, &Value) -> Result<(), Violation>,
        schema_name: &str,
        object: &'a Value,
    ) -> Self {
        let (properties, required) = match schema(schema_name).map(|i| &API.schema(i).kind) {
            Some(Kind::Object {
                properties,
                required,
                ..
            }) => (*properties, *required),
            _ => (&[][..], &[][..]),
        };
        let found = object
            .as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(key, value)| {
                        let (_, s) = properties.iter().find(|(n, _)| n == key)?;
                        check(*s, value).err().map(|v| (key.clone(), v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Fields {
            object,
            properties,
            required,
            found,
        }
    }

    /// The first field of the object the spec does not declare (the spec
    /// leaves its objects open; the server refuses unknown fields itself).
    pub(super) fn unknown(&self) -> Option<&'a str> {
        self.object.as_object().and_then(|map| {
            map.keys()
                .find(|k| !self.properties.iter().any(|(n, _)| n == k))
                .map(String::as_str)
        })
    }

    /// The server's first presence or type error (`helpers.validateFields`):
    /// the fields in `order` first, in that order, then any other field.
    /// Problems inside arrays are left to [`Fields::flaw`], as the server
    /// checks array items later.
    pub(super) fn shape_error(&self, object_name: &str, order: &[&str]) -> Option<ApiErr> {
        let rest = self
            .properties
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !order.contains(n));
        for name in order.iter().copied().chain(rest) {
            if self.object.get(name).is_none() {
                if self.required.contains(&name) {
                    return Some(missing_field(object_name, name));
                }
                continue;
            }
            let Some(v) = self.flaw(name).filter(|v| self.is_shape(name, v)) else {
                continue;
            };
            let field = dotted(name, &v.path);
            return Some(match v.problem {
                Problem::WrongType { expected, .. } => {
                    let value = self.value_at(name, &v.path).unwrap_or(&Value::Null);
                    invalid_field(
                        object_name,
                        &field,
                        type_word(expected, value),
                        js_type(value),
                    )
                }
                _ => missing_field(object_name, &field),
            });
        }
        None
    }

    /// What the spec found wrong with `field`, if anything.
    pub(super) fn flaw(&self, field: &str) -> Option<&Violation> {
        self.found.iter().find(|(f, _)| f == field).map(|(_, v)| v)
    }

    /// The JavaScript type of the value a violation of `field` points at.
    pub(super) fn type_at(&self, field: &str, v: &Violation) -> &'static str {
        self.value_at(field, &v.path).map_or("undefined", js_type)
    }

    fn value_at(&self, field: &str, path: &[String]) -> Option<&'a Value> {
        let mut node = self.object.get(field)?;
        for segment in path {
            node = match node {
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                other => other.get(segment)?,
            };
        }
        Some(node)
    }

    /// A missing property or a wrong type outside any array.
    fn is_shape(&self, field: &str, v: &Violation) -> bool {
        if !matches!(v.problem, Problem::Missing | Problem::WrongType { .. }) {
            return false;
        }
        let mut node = self.object.get(field);
        for segment in &v.path {
            match node {
                Some(Value::Array(_)) => return false,
                Some(other) => node = other.get(segment),
                None => return true,
            }
        }
        true
    }
}

/// `users.a.member` for a problem at `["a", "member"]` of field `users`.
fn dotted(field: &str, path: &[String]) -> String {
    std::iter::once(field)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".")
}

/// The server's word for the type a schema wants: an `integer` is a
/// `number` to JavaScript, unless a fraction was sent.
fn type_word(expected: &'static str, sent: &Value) -> &'static str {
    match expected {
        "integer" if sent.as_f64().is_some_and(|n| n.fract() != 0.0) => "integer",
        "integer" => "number",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_slug_and_username_patterns_are_the_servers_rules() {
        for ok in ["a", "gwm", "1a", "1-a", "a-1", "web-dev-2", "0-0-x"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["", "1", "1-2", "-a", "a-", "a--b", "A", "a_b", "a b"] {
            assert!(!valid_slug(bad), "{bad}");
        }
        assert!(valid_username("Site_Manager~1-x"));
        assert!(!valid_username("guy n") && !valid_username("!nv4l|d") && !valid_username(""));
        assert!(lax_slug("Test_1") && !lax_slug("test-!*@"));
        assert!(valid_uuid("AA800862-e852-4a40-8882-9b4a79aa3015"));
        assert!(!valid_uuid("aa800862e8524a4088829b4a79aa3015"));
    }

    #[test]
    fn email_rule_is_the_servers_pattern() {
        assert!(valid_email("guyn@example.com"));
        assert!(!valid_email("a@b.co"));
        assert!(!valid_email("not an email"));
    }

    fn fields<'a>(schema_name: &str, object: &'a Value) -> Fields<'a> {
        let check = |s, v: &Value| validate::value(&API, s, v, crate::timesync::PROFILE.formats);
        Fields::with(check, schema_name, object)
    }

    #[test]
    fn spec_violations_are_told_in_the_servers_words() {
        let order = [
            "duration",
            "project",
            "user",
            "issue_uri",
            "activities",
            "date_worked",
        ];
        let text = |v: Value| {
            fields("TimeCreate", &v)
                .shape_error("time", &order)
                .map(|e| e.text)
        };
        let base = serde_json::json!({"duration": 3, "project": "p", "user": "a", "date_worked": "2020-01-01"});
        let with = |key: &str, value: Value| {
            let mut o = base.clone();
            o[key] = value;
            o
        };
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("duration");
        assert_eq!(
            text(missing).as_deref(),
            Some("The time is missing a duration")
        );
        assert_eq!(
            text(with("duration", "3".into())).as_deref(),
            Some("Field duration of time should be number but was sent as string")
        );
        assert_eq!(
            text(with("duration", 1.5.into())),
            None,
            "a duration is any number of seconds"
        );
        assert_eq!(
            text(with("issue_uri", Value::Null)).as_deref(),
            Some("Field issue_uri of time should be string but was sent as null")
        );
        assert_eq!(text(with("notes", Value::Null)), None, "notes may be null");
        // Array items and constraints are left to the handlers, in the server's order.
        let item = with("activities", serde_json::json!([1]));
        assert_eq!(text(item.clone()), None);
        let f = fields("TimeCreate", &item);
        let v = f.flaw("activities").unwrap();
        assert_eq!(f.type_at("activities", v), "number");
        let negative = with("duration", (-3).into());
        assert!(fields("TimeCreate", &negative).flaw("duration").is_some());
        assert_eq!(
            fields("TimeCreate", &with("key", 1.into())).unknown(),
            Some("key")
        );

        let roles = serde_json::json!({"name": "x", "slugs": ["x"], "users": {"a": {"member": 1, "spectator": true, "manager": true}}});
        assert_eq!(
            fields("ProjectCreate", &roles)
                .shape_error("project", &["name", "slugs"])
                .map(|e| e.text)
                .as_deref(),
            Some("Field users.a.member of project should be boolean but was sent as number")
        );
        let partial =
            serde_json::json!({"name": "x", "slugs": ["x"], "users": {"a": {"member": true}}});
        assert_eq!(
            fields("ProjectCreate", &partial)
                .shape_error("project", &[])
                .map(|e| e.text)
                .as_deref(),
            Some("The project is missing a users.a.spectator")
        );
    }

    #[test]
    fn the_schemas_the_sandbox_names_are_in_the_spec() {
        for name in [
            "Slug",
            "Username",
            "LoginRequest",
            "TimeCreate",
            "TimeUpdate",
            "ProjectCreate",
            "ProjectUpdate",
            "ActivityCreate",
            "ActivityUpdate",
            "UserCreate",
            "UserUpdate",
        ] {
            assert!(schema(name).is_some(), "{name}");
        }
    }
}
