//! Names the JSON path where decoding failed.
//!
//! The generated code decodes with plain `serde_json`, whose errors give only
//! a line and column. We map that position back to a path (`$[3].duration`)
//! by scanning the body up to it, so a decode error says which value was
//! wrong without the user reading the body.

/// The JSON path of the value `error` points at inside `body`.
pub(crate) fn at_error(body: &[u8], error: &serde_json::Error) -> String {
    let offset = if error.is_eof() {
        body.len()
    } else {
        byte_offset(body, error.line(), error.column())
    };
    let mut path = path_at(body, offset);
    // "missing field" is reported at the end of the object that lacks it, and
    // a body that ends early inside its innermost open container: name that
    // container, not the last key or index read in it.
    if (error.is_eof() || error.to_string().starts_with("missing field"))
        && let Some(last) = path.last_mut()
    {
        *last = Frame::Object {
            key: None,
            want_key: false,
        };
    }
    render(&path)
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &body[start..]) {
            Some(i) => start += i + 1,
            None => return body.len(),
        }
    }
    (start + column.saturating_sub(1)).min(body.len())
}

#[derive(Debug)]
enum Frame {
    Object { key: Option<String>, want_key: bool },
    Array { index: usize },
}

fn path_at(body: &[u8], offset: usize) -> Vec<Frame> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < offset {
        match body[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                want_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { want_key, .. }) => *want_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
            }
            b'"' => {
                let end = string_end(body, i + 1);
                if let Some(Frame::Object {
                    key,
                    want_key: true,
                }) = stack.last_mut()
                {
                    let raw = &body[i + 1..end.min(body.len())];
                    *key = Some(String::from_utf8_lossy(raw).into_owned());
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

/// Index of the quote closing the string whose content starts at `i`.
fn string_end(body: &[u8], mut i: usize) -> usize {
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    body.len()
}

fn render(path: &[Frame]) -> String {
    let mut out = String::from("$");
    for frame in path {
        match frame {
            Frame::Array { index } => out.push_str(&format!("[{index}]")),
            Frame::Object { key: Some(k), .. } => {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push('.');
                    out.push_str(k);
                } else {
                    out.push_str(&format!("[{k:?}]"));
                }
            }
            Frame::Object { key: None, .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Time {
        duration: u64,
        user: String,
        #[serde(rename = "odd key")]
        odd: Option<u8>,
    }

    fn path_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        let err = serde_json::from_str::<T>(body).unwrap_err();
        at_error(body.as_bytes(), &err)
    }

    #[test]
    fn wrong_type_in_the_fourth_item_names_index_and_field() {
        let body = r#"[{"duration":1,"user":"a"},{"duration":2,"user":"b"},
            {"duration":3,"user":"c"},{"user":"d,\"x","duration":"3h"}]"#;
        assert_eq!(path_of::<Vec<Time>>(body), "$[3].duration");
    }

    #[test]
    fn missing_field_names_the_object() {
        assert_eq!(
            path_of::<Vec<Time>>(r#"[{"duration":1,"user":"a"},{"duration":2}]"#),
            "$[1]"
        );
    }

    #[test]
    fn odd_keys_are_quoted_and_syntax_errors_point_at_the_container() {
        assert_eq!(
            path_of::<Time>(r#"{"duration":1,"user":"a","odd key":300}"#),
            "$[\"odd key\"]"
        );
        assert_eq!(path_of::<Vec<Time>>(r#"[{"duration":1,"user":"a"}"#), "$");
    }
}
