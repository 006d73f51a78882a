//! Form-encoded bodies read as Cronofy (a Rails application) reads them:
//! the engine turns `registration[capacity]=5&delete_all=true` into JSON
//! whose values are all text; this gives each value the type the spec's
//! schema wants (`5`, `true`), so that a form body and a JSON body of the
//! same request are one and the same object.

use serde_json::{Number, Value};

use crate::runtime::spec::{ApiSpec, Kind};
use crate::runtime::validate;

/// `value` (form fields as the engine reads them) with the text of numbers
/// and booleans turned into numbers and booleans where schema `schema` of
/// `spec` wants them, and Rails' indexed lists (`a[0][x]=1`) into lists.
/// Text that is no such value is left as it is, for the schema check to
/// refuse in the API's words.
pub(super) fn typed(spec: &ApiSpec, schema: u32, value: Value) -> Value {
    match &spec.schema(schema).kind {
        Kind::Boolean => match value.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "1") => Value::Bool(true),
            Some("false" | "0") => Value::Bool(false),
            _ => value,
        },
        Kind::Integer(_) => match value.as_str().map(str::trim) {
            Some(text) => text
                .parse::<i64>()
                .map(Number::from)
                .map(Value::Number)
                .unwrap_or(value),
            None => value,
        },
        Kind::Number(_) => match value.as_str().and_then(|t| t.trim().parse::<f64>().ok()) {
            Some(n) => Number::from_f64(n).map_or(value, Value::Number),
            None => value,
        },
        Kind::Array { items, .. } => match indexed(value) {
            Value::Array(list) => Value::Array(
                list.into_iter()
                    .map(|item| typed(spec, *items, item))
                    .collect(),
            ),
            other => other,
        },
        Kind::Object {
            properties,
            additional,
            ..
        } => match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, v)| {
                        let schema = properties
                            .iter()
                            .find(|(name, _)| *name == key)
                            .map(|(_, s)| *s)
                            .or(*additional);
                        let v = match schema {
                            Some(s) => typed(spec, s, v),
                            None => v,
                        };
                        (key, v)
                    })
                    .collect(),
            ),
            other => other,
        },
        Kind::AllOf(parts) => parts
            .iter()
            .fold(value, |value, part| typed(spec, *part, value)),
        Kind::OneOf(variants) => {
            // The first variant the typed value satisfies; else the first.
            let candidates: Vec<Value> = variants
                .iter()
                .map(|v| typed(spec, *v, value.clone()))
                .collect();
            variants
                .iter()
                .zip(&candidates)
                .find(|(v, c)| validate::value(spec, **v, c, &[]).is_ok())
                .map(|(_, c)| c.clone())
                .or_else(|| candidates.into_iter().next())
                .unwrap_or(value)
        }
        _ => value,
    }
}

/// Rails' indexed list (`{"0": .., "1": ..}`, from `a[0]=..&a[1]=..`) as a
/// list in index order; anything else unchanged.
fn indexed(value: Value) -> Value {
    match value {
        Value::Object(map) if !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut items: Vec<(usize, Value)> = map
                .into_iter()
                .filter_map(|(k, v)| k.parse().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            Value::Array(items.into_iter().map(|(_, v)| v).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cronofy::spec::API;
    use crate::sandbox::engine::parse_form;
    use serde_json::json;

    fn schema(name: &str) -> u32 {
        let i = API.schemas.iter().position(|s| s.name == name).unwrap();
        u32::try_from(i).unwrap()
    }

    #[test]
    fn form_text_becomes_the_numbers_booleans_and_lists_the_schema_wants() {
        let form = parse_form(
            b"bookable_event_id=b1&start=2026-11-25T09:00:00Z&end=2026-11-25T10:00:00Z&status=confirmed&registration[capacity]=5",
        );
        assert_eq!(
            typed(&API, schema("BookableEventCreate"), form),
            json!({"bookable_event_id": "b1", "start": "2026-11-25T09:00:00Z",
                "end": "2026-11-25T10:00:00Z", "status": "confirmed", "registration": {"capacity": 5}})
        );
        let form = parse_form(b"delete_all=True&calendar_ids[0]=cal_b&calendar_ids[1]=cal_c");
        assert_eq!(
            typed(&API, schema("BulkDeleteEvents"), form),
            json!({"delete_all": true, "calendar_ids": ["cal_b", "cal_c"]})
        );
        // A oneOf: the variant the typed value satisfies (a managed event).
        let form =
            parse_form(b"event_id=e&summary=s&start=2026-11-25&end=2026-11-26&event_private=1");
        assert_eq!(
            typed(&API, schema("EventUpsertRequest"), form)["event_private"],
            json!(true)
        );
        // Text that is no number stays text, for the schema check to refuse.
        let form = parse_form(b"registration[capacity]=many");
        assert_eq!(
            typed(&API, schema("BookableEventCreate"), form)["registration"]["capacity"],
            json!("many")
        );
    }
}
