//! Request bodies as the APIs accept them: JSON, or form-encoded fields
//! (`auth[type]=password&auth[username]=a`, `calendar_ids[]=x`) read into
//! the same JSON shape.

use serde_json::{Map, Value};

/// A body that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BodyError {
    /// What was wrong with it.
    pub(crate) message: String,
}

/// The body as JSON: parsed as JSON unless `media_type` says form-encoded.
/// An empty body is `null`.
pub(crate) fn parse_body(media_type: &str, body: &[u8]) -> Result<Value, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if media_type == "application/x-www-form-urlencoded" {
        return Ok(parse_form(body));
    }
    serde_json::from_slice(body).map_err(|e| BodyError {
        message: format!("the body is not JSON: {e}"),
    })
}

/// Form fields as a JSON object: `a[b]=1` nests, `a[]=1&a[]=2` is a list,
/// every value is a string. Lists of objects follow Rack (what Rails
/// servers read): `a[][x]=1&a[][y]=2` is one object `{x, y}`, and a key the
/// last object already has starts the next one.
pub(crate) fn parse_form(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        let mut segments = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_ref(), ""),
        };
        segments.push(head.to_string());
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            segments.push(inner[..end].to_string());
            rest = &inner[end + 1..];
        }
        insert(&mut root, &segments, Value::String(value.into_owned()));
    }
    root
}

fn insert(node: &mut Value, segments: &[String], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return;
    };
    if first.is_empty() {
        // `a[]`: append to a list.
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(items) = node {
            // Rack: `a[][k]` goes into the last object unless it has `k`.
            if let Some(last) = items.last_mut().filter(|last| joins(last, rest)) {
                insert(last, rest, value);
                return;
            }
            let mut slot = Value::Null;
            insert(&mut slot, rest, value);
            items.push(slot);
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        let child = map.entry(first.clone()).or_insert(Value::Null);
        insert(child, rest, value);
    }
}

/// Whether `a[]<rest>` belongs to the list's `last` object (Rack's rule): an
/// object that lacks the key path `rest`; a path through a list (`[]`) never
/// counts as present.
fn joins(last: &Value, rest: &[String]) -> bool {
    if rest.is_empty() || !last.is_object() {
        return false;
    }
    let mut node = last;
    for segment in rest {
        if segment.is_empty() {
            return true;
        }
        match node.get(segment.as_str()) {
            Some(next) => node = next,
            None => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_fields_nest_and_list_like_json() {
        let v = parse_form(b"auth[type]=password&auth[username]=a%20b&ids[]=x&ids[]=y&flag=True");
        assert_eq!(
            v,
            json!({"auth": {"type": "password", "username": "a b"}, "ids": ["x", "y"], "flag": "True"})
        );
        assert_eq!(parse_body("application/json", b" ").unwrap(), Value::Null);
        // Lists of objects, as Rack reads them: a repeated key starts the next object.
        let v = parse_form(
            b"p[][members][][sub]=a&p[][required]=all&p[][members][][sub]=b&q[][start]=1&q[][end]=2&q[][start]=3&q[][end]=4",
        );
        assert_eq!(
            v,
            json!({
                "p": [{"members": [{"sub": "a"}, {"sub": "b"}], "required": "all"}],
                "q": [{"start": "1", "end": "2"}, {"start": "3", "end": "4"}],
            })
        );
        assert!(parse_body("application/json", b"{oops").is_err());
    }
}
