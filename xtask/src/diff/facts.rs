//! Facts read off one spec: Rust types and enums, `$ref`s, docs, and the
//! generator's naming.

use super::*;

/// An empty map, for objects a spec leaves out.
pub(super) static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
/// An empty object schema, standing in for an allOf member one side lacks.
static BLANK_OBJECT: LazyLock<Value> = LazyLock::new(|| json!({ "type": "object" }));
/// An empty schema, standing in for a non-object allOf member one side lacks.
static BLANK: LazyLock<Value> = LazyLock::new(|| json!({}));

/// An empty schema of the same kind as `like`.
pub(super) fn blank_like(spec: &Spec, like: &Value) -> &'static Value {
    if ty(spec, spec.resolve(like)) == Ty::Known("object".into()) {
        &BLANK_OBJECT
    } else {
        &BLANK
    }
}

/// `additionalProperties` of a schema.
pub(super) enum Extra<'a> {
    /// Any extra key (absent, `true` or `{}`).
    Any,
    /// No extra key (`false`).
    None,
    /// Extra keys whose values follow a schema.
    Typed(&'a Value),
}

impl<'a> Extra<'a> {
    /// The `additionalProperties` of `v`.
    pub(super) fn of(v: &'a Value) -> Extra<'a> {
        match v.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Extra::Any,
            Some(Value::Bool(false)) => Extra::None,
            Some(Value::Object(m)) if m.is_empty() => Extra::Any,
            Some(s) => Extra::Typed(s),
        }
    }

    /// As shown in reports.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Extra::Any => "any",
            Extra::None => "none",
            Extra::Typed(_) => "typed",
        }
    }
}

/// The type of a schema, as far as comparing goes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Ty {
    /// A JSON type, given or implied by the keywords used.
    Known(String),
    /// Anything (no type and no keyword implying one).
    Any,
    /// Composed with allOf/oneOf/anyOf/not: its members are compared instead.
    Composite,
}

impl Ty {
    /// As shown in reports: `` `string` ``.
    pub(super) fn show(&self) -> String {
        match self {
            Ty::Known(t) => format!("`{t}`"),
            Ty::Any => "any".into(),
            Ty::Composite => "a composition".into(),
        }
    }

    /// With an article: "an integer".
    pub(super) fn article(&self) -> String {
        match self {
            Ty::Known(t) if t.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {t}"),
            Ty::Known(t) => format!("a {t}"),
            Ty::Any => "any value".into(),
            Ty::Composite => "a composed value".into(),
        }
    }
}

/// The type of a schema (after `$ref`s are followed).
pub(super) fn ty(spec: &Spec, v: &Value) -> Ty {
    if let Some(t) = v["type"].as_str() {
        return Ty::Known(t.to_string());
    }
    if let Some(e) = enum_info(spec, v) {
        let t = match e.values.first() {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
            Some(Value::Number(_)) => "number",
            Some(Value::Bool(_)) => "boolean",
            _ => "string",
        };
        return Ty::Known(t.into());
    }
    if v.get("properties").is_some() || v.get("additionalProperties").is_some() {
        return Ty::Known("object".into());
    }
    if v.get("items").is_some() {
        return Ty::Known("array".into());
    }
    if ["allOf", "oneOf", "anyOf", "not"]
        .iter()
        .any(|k| v.get(*k).is_some())
    {
        return Ty::Composite;
    }
    Ty::Any
}

/// The Rust type the generator makes of a schema, for messages.
pub(super) fn rust_type(spec: &Spec, v: &Value) -> String {
    if let Some(name) = component_ref(v) {
        return pascal(name);
    }
    let v = spec.resolve(v);
    let format = v["format"].as_str().unwrap_or_default();
    match ty(spec, v) {
        Ty::Known(t) => match (t.as_str(), format) {
            ("integer", "int32") => "i32".into(),
            ("integer", "uint32") => "u32".into(),
            ("integer", "uint64") => "u64".into(),
            ("integer", _) => "i64".into(),
            ("number", "float") => "f32".into(),
            ("number", _) => "f64".into(),
            ("boolean", _) => "bool".into(),
            ("string", _) if enum_info(spec, v).is_some() => "an enum".into(),
            ("string", "date-time") => "DateTime<Utc>".into(),
            ("string", "date") => "NaiveDate".into(),
            ("string", "uuid") => "Uuid".into(),
            ("string", _) => "String".into(),
            ("array", _) => format!(
                "Vec<{}>",
                v.get("items")
                    .map(|i| rust_type(spec, i))
                    .unwrap_or_else(|| "Value".into())
            ),
            ("object", _) => match Extra::of(v) {
                Extra::Typed(s) if v.get("properties").is_none() => {
                    format!("HashMap<String, {}>", rust_type(spec, s))
                }
                _ if v.get("properties").is_some() => "a struct".into(),
                _ => "Map<String, Value>".into(),
            },
            (other, _) => other.into(),
        },
        Ty::Any => "serde_json::Value".into(),
        Ty::Composite => "an enum or struct".into(),
    }
}

/// The values of an enum and whether it is open.
#[derive(Clone)]
pub(super) struct EnumInfo {
    /// The values come from a component schema (compared on its own).
    pub(super) by_ref: bool,
    pub(super) values: Vec<Value>,
    /// `oneOf`/`anyOf` of the enum and a plain string: unknown strings decode too.
    pub(super) open: bool,
    /// Pointer from the schema to its `enum` list.
    pub(super) pointer_suffix: String,
}

/// The enum of a schema: a plain `enum` list (closed), or `oneOf`/`anyOf`
/// of an enum and a plain string (open).
pub(super) fn enum_info(spec: &Spec, v: &Value) -> Option<EnumInfo> {
    if let Some(values) = v["enum"].as_array() {
        return Some(EnumInfo {
            by_ref: false,
            values: values.clone(),
            open: false,
            pointer_suffix: "/enum".into(),
        });
    }
    for key in ["oneOf", "anyOf"] {
        let Some([a, b]) = v[key].as_array().map(Vec::as_slice) else {
            continue;
        };
        let (ra, rb) = (spec.resolve(a), spec.resolve(b));
        let plain_string = |s: &Value| {
            s["type"] == "string" && s.get("enum").is_none() && s.get("format").is_none()
        };
        let (i, values) = match (ra["enum"].as_array(), rb["enum"].as_array()) {
            (Some(values), None) if plain_string(rb) => (0, values),
            (None, Some(values)) if plain_string(ra) => (1, values),
            _ => continue,
        };
        let by_ref = component_ref(if i == 0 { a } else { b }).is_some();
        let pointer_suffix = format!("/{key}/{i}/enum");
        return Some(EnumInfo {
            by_ref,
            values: values.clone(),
            open: true,
            pointer_suffix,
        });
    }
    None
}

/// The component schemas a spec uses as the known values of an open enum
/// (`oneOf: [{$ref: ..}, {type: string}]`).
pub(super) fn open_enum_components(spec: &Spec) -> BTreeSet<String> {
    /// Looks for the pattern in `v` and below.
    fn walk(spec: &Spec, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if enum_info(spec, v).is_some_and(|e| e.open && e.by_ref) {
                    for key in ["oneOf", "anyOf"] {
                        out.extend(
                            v[key]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(component_ref)
                                .map(str::to_string),
                        );
                    }
                }
                map.values().for_each(|v| walk(spec, v, out));
            }
            Value::Array(list) => list.iter().for_each(|v| walk(spec, v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(spec, &spec.doc, &mut out);
    out
}

/// The directions a property travels in within a schema travelling in `dirs`
/// (a read-only property is not sent in requests, a write-only one not
/// answered).
pub(super) fn narrow(spec: &Spec, prop: &Value, dirs: Dirs) -> Dirs {
    let p = spec.resolve(prop);
    let read_only =
        prop["readOnly"].as_bool() == Some(true) || p["readOnly"].as_bool() == Some(true);
    let write_only =
        prop["writeOnly"].as_bool() == Some(true) || p["writeOnly"].as_bool() == Some(true);
    Dirs {
        request: dirs.request && !read_only,
        response: dirs.response && !write_only,
    }
}

/// The names in a schema's `required` list.
pub(super) fn required_set(v: &Value) -> BTreeSet<&str> {
    v["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The schema of a parameter (`schema`, else its only `content` entry) and its pointer.
pub(super) fn param_schema<'a>(p: &Param<'a>) -> (Option<&'a Value>, String) {
    if let Some(s) = p.value.get("schema") {
        return (Some(s), format!("{}/schema", p.pointer));
    }
    match p.value["content"].as_object().and_then(|c| c.iter().next()) {
        Some((media, m)) => (
            m.get("schema"),
            format!("{}/content/{}/schema", p.pointer, spec::escape(media)),
        ),
        None => (None, p.pointer.clone()),
    }
}

/// The name of a component schema that `v` is a `$ref` to.
pub(super) fn component_ref(v: &Value) -> Option<&str> {
    v.get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
        .filter(|n| !n.contains('/'))
}

/// Follows local `$ref`s from `value` found at `pointer`: the target and its pointer.
pub(super) fn resolve_at<'a>(
    spec: &'a Spec,
    value: &'a Value,
    pointer: String,
) -> (&'a Value, String) {
    let (mut value, mut pointer) = (value, pointer);
    for _ in 0..32 {
        let Some(r) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match r
            .strip_prefix('#')
            .and_then(|p| spec.doc.pointer(p).map(|t| (p, t)))
        {
            Some((p, target)) => {
                value = target;
                pointer = p.to_string();
            }
            None => break,
        }
    }
    (value, pointer)
}

/// Adds to `names` every component schema `value` reaches through `$ref`s.
pub(super) fn collect_refs(
    spec: &Spec,
    value: &Value,
    names: &mut BTreeSet<String>,
    seen: &mut HashSet<String>,
) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                if let Some(name) = component_ref(value) {
                    names.insert(name.to_string());
                }
                if seen.insert(r.to_string())
                    && let Some(target) = r.strip_prefix('#').and_then(|p| spec.doc.pointer(p))
                {
                    collect_refs(spec, target, names, seen);
                }
            }
            for (k, v) in map {
                if k != "example" && k != "examples" {
                    collect_refs(spec, v, names, seen);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_refs(spec, v, names, seen)),
        _ => {}
    }
}

/// The documentation keys (and `x-` extensions) whose values differ.
pub(super) fn doc_changes(o: &Value, n: &Value) -> Vec<String> {
    let mut keys: BTreeSet<&str> = DOC_KEYS.iter().copied().collect();
    for v in [o, n] {
        if let Some(m) = v.as_object() {
            keys.extend(m.keys().map(String::as_str).filter(|k| k.starts_with("x-")));
        }
    }
    let mut out: Vec<String> = DOC_KEYS
        .iter()
        .filter(|k| o.get(**k) != n.get(**k))
        .map(|k| k.to_string())
        .collect();
    out.extend(
        keys.into_iter()
            .filter(|k| k.starts_with("x-") && o.get(*k) != n.get(*k))
            .map(str::to_string),
    );
    out
}

/// `v` without documentation keys, at any depth (to spot renamed schemas).
pub(super) fn strip_docs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !DOC_KEYS.contains(&k.as_str()) && !k.starts_with("x-"))
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        // Data, not schemas.
                        ("enum" | "default", _) => v.clone(),
                        // Property names are not documentation keys, whatever they are called.
                        ("properties", Value::Object(props)) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), strip_docs(s)))
                                .collect(),
                        ),
                        _ => strip_docs(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_docs).collect()),
        other => other.clone(),
    }
}

/// A Rust type in a message: in backticks, unless it is words ("a struct").
pub(super) fn code(rust: &str) -> String {
    if rust.starts_with("a ") || rust.starts_with("an ") {
        rust.to_string()
    } else {
        format!("`{rust}`")
    }
}

/// A value as shown in messages: strings bare, the rest as JSON.
pub(super) fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The words of an identifier (split at non-alphanumerics and lower-to-upper steps), lower case.
pub(super) fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `in-progress` -> `InProgress`, as the generator names types and variants.
pub(super) fn pascal(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `page[size]` -> `page_size`, as the generator names fields and setters.
pub(super) fn snake(s: &str) -> String {
    words(s).join("_")
}
