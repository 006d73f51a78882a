//! A spec as plain JSON, for the commands that read it as a document
//! (lint, diff): operations with their JSON pointers, `$ref` resolution, and
//! OpenAPI 3.0 schemas turned into JSON Schema.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// HTTP methods an OpenAPI path item can hold, in a stable order.
pub(crate) const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A loaded spec.
pub(crate) struct Spec {
    /// Where it came from (a file, or `<rev>:<path>` for a git revision).
    pub(crate) name: PathBuf,
    /// The whole document.
    pub(crate) doc: Value,
}

/// One operation of a spec.
pub(crate) struct Operation<'a> {
    pub(crate) method: &'static str,
    pub(crate) path: &'a str,
    /// JSON pointer of the operation object, like `/paths/~1times/get`.
    pub(crate) pointer: String,
    pub(crate) op: &'a Value,
}

impl Operation<'_> {
    /// The operationId, or `METHOD path` when it has none.
    pub(crate) fn id(&self) -> String {
        self.op["operationId"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {}", self.method.to_uppercase(), self.path))
    }
}

impl Spec {
    /// Reads a YAML (or JSON) spec file.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(path.to_path_buf(), &text)
    }

    /// Parses spec text; `name` is used in messages.
    pub(crate) fn parse(name: PathBuf, text: &str) -> Result<Self, String> {
        let doc: Value =
            serde_yaml::from_str(text).map_err(|e| format!("{}: not YAML: {e}", name.display()))?;
        if !doc.is_object() {
            return Err(format!("{}: not an OpenAPI document", name.display()));
        }
        Ok(Spec { name, doc })
    }

    /// Every operation, in path order then [`METHODS`] order.
    pub(crate) fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (path, item) in paths {
                for method in METHODS {
                    if let Some(op) = item.get(*method) {
                        out.push(Operation {
                            method,
                            path,
                            pointer: format!("/paths/{}/{method}", escape(path)),
                            op,
                        });
                    }
                }
            }
        }
        out
    }

    /// The component schemas by name.
    pub(crate) fn schemas(&self) -> Option<&Map<String, Value>> {
        self.doc["components"]["schemas"].as_object()
    }

    /// Follows `$ref`s (local ones only) until a non-reference value.
    pub(crate) fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(r) => match r.strip_prefix('#').and_then(|p| self.doc.pointer(p)) {
                    Some(target) => value = target,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }

    /// `schema` as a standalone JSON Schema (draft 2020-12): its `$ref`s
    /// point into a `$defs` holding every component schema, `nullable`
    /// becomes a `null` alternative, and OpenAPI-only keywords are dropped.
    pub(crate) fn json_schema(&self, schema: &Value) -> Value {
        let mut root = to_json_schema(schema);
        let defs: Map<String, Value> = self
            .schemas()
            .map(|s| {
                s.iter()
                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(obj) = root.as_object_mut() {
            obj.insert("$defs".into(), Value::Object(defs));
        } else {
            root = json!({ "allOf": [root], "$defs": defs });
        }
        root
    }
}

/// Escapes a JSON pointer segment (`/` as `~1`, `~` as `~0`).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// One OpenAPI 3.0 schema object as JSON Schema.
fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut nullable = false;
            for (k, v) in map {
                match k.as_str() {
                    "nullable" => nullable = v.as_bool() == Some(true),
                    "$ref" => {
                        let target = v
                            .as_str()
                            .unwrap_or_default()
                            .replace("#/components/schemas/", "#/$defs/");
                        out.insert(k.clone(), Value::String(target));
                    }
                    // OpenAPI-only keywords that JSON Schema would misread or reject.
                    "example" | "examples" | "discriminator" | "xml" | "externalDocs"
                    | "deprecated" | "readOnly" | "writeOnly" => {}
                    k if k.starts_with("x-") => {}
                    "properties" | "patternProperties" => {
                        let props = v
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(n, s)| (n.clone(), to_json_schema(s)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        out.insert(k.to_string(), Value::Object(props));
                    }
                    "items" | "additionalProperties" | "not" => {
                        out.insert(k.to_string(), to_json_schema(v));
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        let list = v
                            .as_array()
                            .map(|a| a.iter().map(to_json_schema).collect())
                            .unwrap_or_default();
                        out.insert(k.to_string(), Value::Array(list));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            if nullable {
                if out.contains_key("$ref")
                    || out.contains_key("oneOf")
                    || out.contains_key("anyOf")
                {
                    return json!({ "anyOf": [Value::Object(out), { "type": "null" }] });
                }
                if let Some(t) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(values)) = out.get_mut("enum") {
                        values.push(Value::Null);
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Spec {
        Spec::parse("test.yaml".into(), yaml).unwrap()
    }

    #[test]
    fn operations_have_pointers_and_refs_resolve() {
        let s = spec(
            "openapi: 3.0.3\npaths:\n  /times/{uuid}:\n    get: {operationId: get_time}\n    delete: {}\n\
             components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {type: string}\n",
        );
        let ops = s.operations();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].pointer, "/paths/~1times~1{uuid}/get");
        assert_eq!(ops[0].id(), "get_time");
        assert_eq!(ops[1].id(), "DELETE /times/{uuid}");
        assert_eq!(
            s.resolve(&json!({"$ref": "#/components/schemas/A"})),
            &json!({"type": "string"})
        );
    }

    #[test]
    fn nullable_refs_and_openapi_keywords_become_json_schema() {
        let s = spec(
            "openapi: 3.0.3\npaths: {}\ncomponents:\n  schemas:\n    Time:\n      type: object\n      required: [duration]\n\
             \x20     properties:\n        duration: {type: integer, minimum: 0, example: 5}\n        notes: {type: string, nullable: true}\n",
        );
        let schema = s.json_schema(&json!({"$ref": "#/components/schemas/Time"}));
        let v = jsonschema::validator_for(&schema).unwrap();
        assert!(v.is_valid(&json!({"duration": 5, "notes": null})));
        assert!(!v.is_valid(&json!({"duration": -1})));
        assert!(!v.is_valid(&json!({"notes": "x"})));
    }
}
