//! The last members of a JSON object, read backwards from its closing
//! brace without reading what comes before them: a page whose next link
//! follows a large item array (Graph's `@odata.nextLink`) gives its link
//! without a scan of its items.
//!
//! Reading JSON backwards is exact for strings: inside a string every `"`
//! is escaped, so a quote is a string's edge exactly when an even number
//! of backslashes precedes it. Only members whose values are strings,
//! numbers, `true`, `false` or `null` are read; the first other value (an
//! array, an object) ends the reading.

/// Members read at most.
const MEMBERS: usize = 8;

/// The trailing members of the top-level object `body` whose values are
/// scalars, last first, as (name, value); empty when `body` does not end
/// an object, or when anything read is not JSON.
pub(crate) fn tail_members(body: &[u8]) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let Some(mut at) = last_non_space(body, body.len()) else {
        return out;
    };
    if body[at] != b'}' {
        return out;
    }
    while out.len() < MEMBERS {
        let Some(member) = member_before(body, at) else {
            break;
        };
        out.push((member.name, member.value));
        match body[member.start] {
            b',' => at = member.start,
            // The object's opening brace: every member was read.
            _ => break,
        }
    }
    out
}

struct Member {
    name: String,
    value: serde_json::Value,
    /// The `,` or `{` before it.
    start: usize,
}

/// The member that ends just before `at` (a `,`, or the closing `}`).
fn member_before(body: &[u8], at: usize) -> Option<Member> {
    let value_end = last_non_space(body, at)?;
    let value_start = match body[value_end] {
        b'"' => string_start(body, value_end)?,
        b'0'..=b'9' | b'e' | b'l' => {
            let start = body[..value_end]
                .iter()
                .rposition(|b| matches!(b, b':' | b',' | b'{') || b.is_ascii_whitespace())?;
            start + 1
        }
        _ => return None,
    };
    let colon = last_non_space(body, value_start)?;
    if body[colon] != b':' {
        return None;
    }
    let name_end = last_non_space(body, colon)?;
    if body[name_end] != b'"' {
        return None;
    }
    let name_start = string_start(body, name_end)?;
    let start = last_non_space(body, name_start)?;
    if !matches!(body[start], b',' | b'{') {
        return None;
    }
    Some(Member {
        name: serde_json::from_slice(&body[name_start..=name_end]).ok()?,
        value: serde_json::from_slice(&body[value_start..=value_end]).ok()?,
        start,
    })
}

/// The opening quote of the string whose closing quote is at `end`.
fn string_start(body: &[u8], end: usize) -> Option<usize> {
    let mut at = end;
    loop {
        at = memchr::memrchr(b'"', &body[..at])?;
        let backslashes = body[..at].iter().rev().take_while(|b| **b == b'\\').count();
        if backslashes % 2 == 0 {
            return Some(at);
        }
    }
}

/// The last byte before `at` that is not JSON whitespace.
fn last_non_space(body: &[u8], at: usize) -> Option<usize> {
    body[..at.min(body.len())]
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::tail_members;

    fn names(body: &str) -> Vec<(String, Value)> {
        tail_members(body.as_bytes())
    }

    #[test]
    fn the_scalar_members_after_the_last_array_are_read_last_first() {
        let body = r#"{"@odata.context":"c","value":[{"id":"a"},{"id":"b\"}"}],
            "@odata.count" : 2, "@odata.nextLink":"https://g/v1.0/me/messages?$skiptoken=x\\"}"#;
        assert_eq!(
            names(body),
            [
                (
                    "@odata.nextLink".to_string(),
                    json!("https://g/v1.0/me/messages?$skiptoken=x\\")
                ),
                ("@odata.count".to_string(), json!(2)),
            ]
        );
        // Every member is a scalar: all are read, up to the opening brace.
        assert_eq!(
            names(r#"{"a":true,"b":null,"c":-1.5e3}"#),
            [
                ("c".to_string(), json!(-1500.0)),
                ("b".to_string(), Value::Null),
                ("a".to_string(), json!(true)),
            ]
        );
    }

    #[test]
    fn a_name_inside_a_string_or_a_nested_object_is_not_a_member() {
        // The last member's value is an object: nothing is read.
        assert!(names(r#"{"value":[],"meta":{"next":"x"}}"#).is_empty());
        // An escaped quote does not end a string.
        assert_eq!(
            names(r#"{"value":[],"note":"say \"next\":\"x\""}"#),
            [("note".to_string(), json!(r#"say "next":"x""#))]
        );
        assert!(names(r#"[{"next":"x"}]"#).is_empty());
        assert!(names("").is_empty());
        assert!(names(r#"{"next":"x""#).is_empty(), "cut short");
    }

    proptest! {
        #[test]
        fn what_is_read_agrees_with_a_parser(
            items in proptest::collection::vec(".{0,12}", 0..4),
            tail in proptest::collection::vec((".{0,8}", prop_oneof![
                ".{0,12}".prop_map(Value::String),
                any::<i32>().prop_map(|n| json!(n)),
                any::<bool>().prop_map(Value::Bool),
                Just(Value::Null),
            ]), 0..4),
        ) {
            let mut object = serde_json::Map::new();
            object.insert("value".into(), json!(items));
            let mut expected = Vec::new();
            for (name, value) in &tail {
                if name == "value" || object.contains_key(name) {
                    continue;
                }
                object.insert(name.clone(), value.clone());
                expected.push((name.clone(), value.clone()));
            }
            expected.reverse();
            // serde_json keeps members in name order without preserve_order:
            // write the object by hand in insertion order.
            let mut text = format!("{{\"value\":{}", serde_json::to_string(&items).unwrap());
            for (name, value) in expected.iter().rev() {
                text.push_str(&format!(",{}:{}", Value::from(name.clone()), value));
            }
            text.push('}');
            prop_assert_eq!(tail_members(text.as_bytes()), expected);
        }
    }
}
