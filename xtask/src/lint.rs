//! `cargo xtask lint`: the rules every spec keeps, each finding named by
//! file, JSON pointer and rule.
//!
//! | rule | what it wants |
//! |---|---|
//! | `openapi-version` | `openapi: 3.0.x` (progenitor reads no other) |
//! | `operation-id` | every operation has an operationId, snake_case, unique |
//! | `summary` | every operation has a summary, without a final period |
//! | `tag` | every operation has a tag declared in the top-level `tags` |
//! | `path-parameter` | every `{name}` in a path is a declared path parameter, and every declared one is in the path |
//! | `response-schema` | every operation has a success response; every response media type has a schema |
//! | `ref-body` | request and response bodies are `$ref`s to component schemas (inline bodies collide in generated names) |
//! | `unused-schema` | every component schema is used by an operation (directly or through other schemas) |
//! | `example` | every `example` and `examples` entry validates against its schema (JSON Schema, with the `jsonschema` crate) |
//! | `operation-example` | every operation shows an example of its request body and of its success response |
//! | `schema-name` | component schema names are PascalCase |
//! | `description` | every component schema has a description |
//! | `generator` | nothing progenitor rejects or panics on (the checks build.rs runs first) |
//! | `pagination` | a list operation (`list_*`, or one answering an array or an object with an array of items) says how it pages in `x-specbound-pagination`, with a known style and items/next pointers that exist in its answer |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::spec::{Spec, escape};

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Finding {
    /// JSON pointer into the spec.
    pub(crate) pointer: String,
    /// The rule's name.
    pub(crate) rule: &'static str,
    /// What is wrong.
    pub(crate) message: String,
}

/// Every finding of every rule on `spec`.
pub(crate) fn lint(spec: &Spec) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut find = |pointer: String, rule: &'static str, message: String| {
        out.push(Finding {
            pointer,
            rule,
            message,
        })
    };
    let doc = &spec.doc;

    if !doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.0."))
    {
        find(
            "/openapi".into(),
            "openapi-version",
            format!("want 3.0.x, found {}", doc["openapi"]),
        );
    }

    let declared_tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for op in spec.operations() {
        let at = |field: &str| format!("{}/{field}", op.pointer);
        match op.op["operationId"].as_str() {
            None => find(
                at("operationId"),
                "operation-id",
                format!(
                    "{} {} has no operationId",
                    op.method.to_uppercase(),
                    op.path
                ),
            ),
            Some(id) => {
                if !is_snake_case(id) {
                    find(
                        at("operationId"),
                        "operation-id",
                        format!("`{id}` is not snake_case"),
                    );
                }
                if let Some(first) = ids.insert(id.to_string(), op.pointer.clone()) {
                    find(
                        at("operationId"),
                        "operation-id",
                        format!("`{id}` is also the operationId of {first}"),
                    );
                }
            }
        }
        match op.op["summary"].as_str() {
            None | Some("") => find(
                at("summary"),
                "summary",
                format!("`{}` has no summary", op.id()),
            ),
            Some(s) if s.ends_with('.') => find(
                at("summary"),
                "summary",
                format!("`{}`: summary ends with a period", op.id()),
            ),
            Some(_) => {}
        }
        match op.op["tags"].as_array().filter(|t| !t.is_empty()) {
            None => find(at("tags"), "tag", format!("`{}` has no tag", op.id())),
            Some(tags) => {
                for (i, t) in tags.iter().enumerate() {
                    let name = t.as_str().unwrap_or_default();
                    if !declared_tags.contains(name) {
                        find(
                            at(&format!("tags/{i}")),
                            "tag",
                            format!(
                                "`{}`: tag `{name}` is not declared in the top-level tags",
                                op.id()
                            ),
                        );
                    }
                }
            }
        }
        path_parameters(spec, &op, &mut find);
        bodies(spec, &op, &mut find);
        pagination(spec, &op, &mut find);
    }

    unused_schemas(spec, &mut find);
    if let Some(schemas) = spec.schemas() {
        for (name, schema) in schemas {
            let pointer = format!("/components/schemas/{}", escape(name));
            if !is_pascal_case(name) {
                find(
                    pointer.clone(),
                    "schema-name",
                    format!("schema `{name}` is not PascalCase"),
                );
            }
            if schema.get("$ref").is_none()
                && schema["description"].as_str().is_none_or(str::is_empty)
            {
                find(
                    pointer,
                    "description",
                    format!("schema `{name}` has no description"),
                );
            }
        }
    }
    examples(spec, &mut find);
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.rule.cmp(b.rule)));
    out
}

/// The same constructs build.rs refuses (shared with codegen), as findings.
pub(crate) fn generator_findings(spec: &Spec) -> Vec<Finding> {
    let parsed: Result<openapiv3::OpenAPI, _> = serde_json::from_value(spec.doc.clone());
    match parsed {
        Err(e) => vec![Finding {
            pointer: String::new(),
            rule: "generator",
            message: format!("not a valid OpenAPI 3.0 document for progenitor: {e}"),
        }],
        Ok(api) => crate::codegen::unsupported_constructs(&api)
            .into_iter()
            .map(|(op, message)| {
                let pointer = op
                    .and_then(|id| {
                        spec.operations()
                            .into_iter()
                            .find(|o| o.id() == id)
                            .map(|o| o.pointer)
                    })
                    .unwrap_or_default();
                Finding {
                    pointer,
                    rule: "generator",
                    message,
                }
            })
            .collect(),
    }
}

/// A list operation must say how it pages, and what it says must fit its answer.
fn pagination(spec: &Spec, op: &crate::spec::Operation<'_>, find: &mut Find<'_>) {
    let success = op.op["responses"]
        .as_object()
        .and_then(|r| r.iter().find(|(code, _)| code.starts_with('2')))
        .map(|(_, r)| resolve(spec, r));
    let schema = success
        .and_then(|r| r["content"].as_object())
        .and_then(|c| c.values().next())
        .map(|m| resolve(spec, &m["schema"]));
    let at = format!("{}/x-specbound-pagination", op.pointer);
    let Some(paging) = op.op.get("x-specbound-pagination") else {
        let is_list = op.id().starts_with("list_") || schema.is_some_and(|s| s["type"] == "array");
        if is_list {
            find(
                at,
                "pagination",
                format!(
                    "`{}` is a list but says nothing about paging: add x-specbound-pagination (style single, array, next-link or cursor)",
                    op.id()
                ),
            );
        }
        return;
    };
    let style = paging["style"].as_str().unwrap_or_default();
    if !["single", "array", "next-link", "cursor"].contains(&style) {
        find(
            at.clone(),
            "pagination",
            format!("`{}`: unknown style `{style}`", op.id()),
        );
        return;
    }
    let Some(schema) = schema else {
        find(
            at,
            "pagination",
            format!("`{}` pages but answers no JSON body", op.id()),
        );
        return;
    };
    if style == "array" {
        if schema["type"] != "array" {
            find(
                at,
                "pagination",
                format!("`{}`: style array needs an array answer", op.id()),
            );
        }
        return;
    }
    for key in ["items", "next", "has-more", "end", "prev", "resume"] {
        let Some(pointer) = paging[key].as_str() else {
            if key == "items" || (key == "next" && style != "single") {
                find(
                    at.clone(),
                    "pagination",
                    format!("`{}`: style {style} needs `{key}`", op.id()),
                );
            }
            continue;
        };
        if !points_into(spec, schema, pointer) {
            find(
                format!("{at}/{key}"),
                "pagination",
                format!(
                    "`{}`: {key} `{pointer}` is not a property of its answer",
                    op.id()
                ),
            );
        }
    }
    if style == "cursor" && paging["cursor-param"].as_str().is_none() {
        find(
            at.clone(),
            "pagination",
            format!("`{}`: style cursor needs `cursor-param`", op.id()),
        );
    }
    if let Some(offset) = op.op.get("x-specbound-offset-pagination") {
        let at = format!("{}/x-specbound-offset-pagination", op.pointer);
        if offset["style"] != "next-link" || offset["page-param"].as_str().is_none() {
            find(
                at.clone(),
                "pagination",
                format!(
                    "`{}`: offset pagination is style next-link with a `page-param`",
                    op.id()
                ),
            );
        }
        for key in ["items", "next"] {
            let pointer = offset[key].as_str().unwrap_or_default();
            if !points_into(spec, schema, pointer) {
                find(
                    format!("{at}/{key}"),
                    "pagination",
                    format!(
                        "`{}`: offset {key} `{pointer}` is not a property of its answer",
                        op.id()
                    ),
                );
            }
        }
    }
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Spec, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| spec.doc.pointer(p))
            .map_or(v, |t| resolve(spec, t)),
        None => v,
    }
}

/// Whether the JSON pointer `pointer` names properties of `schema` (through `$ref`s).
fn points_into(spec: &Spec, schema: &Value, pointer: &str) -> bool {
    let mut at = resolve(spec, schema);
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        match at["properties"].get(&segment) {
            Some(next) => at = resolve(spec, next),
            None => return false,
        }
    }
    true
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

fn is_pascal_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

type Find<'a> = dyn FnMut(String, &'static str, String) + 'a;

/// Parameters of an operation, with those of its path item, resolved.
fn parameters<'a>(spec: &'a Spec, op: &crate::spec::Operation<'a>) -> Vec<&'a Value> {
    let item = &spec.doc["paths"][op.path];
    item["parameters"]
        .as_array()
        .into_iter()
        .chain(op.op["parameters"].as_array())
        .flatten()
        .map(|p| spec.resolve(p))
        .collect()
}

fn path_parameters(spec: &Spec, op: &crate::spec::Operation<'_>, find: &mut Find<'_>) {
    let in_path: BTreeSet<&str> = op
        .path
        .split('{')
        .skip(1)
        .filter_map(|s| s.split('}').next())
        .collect();
    let declared: BTreeSet<&str> = parameters(spec, op)
        .into_iter()
        .filter(|p| p["in"] == "path")
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in in_path.difference(&declared) {
        find(
            format!("{}/parameters", op.pointer),
            "path-parameter",
            format!(
                "`{}`: path parameter `{name}` of `{}` is not declared",
                op.id(),
                op.path
            ),
        );
    }
    for name in declared.difference(&in_path) {
        find(
            format!("{}/parameters", op.pointer),
            "path-parameter",
            format!(
                "`{}`: parameter `{name}` is declared `in: path` but `{}` has no `{{{name}}}`",
                op.id(),
                op.path
            ),
        );
    }
}

fn bodies(spec: &Spec, op: &crate::spec::Operation<'_>, find: &mut Find<'_>) {
    let responses = op.op["responses"].as_object();
    let has_success = responses.is_some_and(|r| r.keys().any(|c| c.starts_with('2')));
    if !has_success {
        find(
            format!("{}/responses", op.pointer),
            "response-schema",
            format!("`{}` has no success (2xx) response", op.id()),
        );
    }
    let mut shows_request = op.op.get("requestBody").is_none();
    let mut shows_response = false;
    if let Some(body) = op.op.get("requestBody") {
        let body = spec.resolve(body);
        for (media, m) in body["content"].as_object().into_iter().flatten() {
            let pointer = format!("{}/requestBody/content/{}", op.pointer, escape(media));
            match m.get("schema") {
                None => find(
                    pointer.clone(),
                    "response-schema",
                    format!("`{}`: request body `{media}` has no schema", op.id()),
                ),
                Some(s) if s.get("$ref").is_none() => find(
                    format!("{pointer}/schema"),
                    "ref-body",
                    format!(
                        "`{}`: request body `{media}` is an inline schema; use a $ref",
                        op.id()
                    ),
                ),
                Some(_) => {}
            }
            shows_request |= m.get("example").is_some() || m.get("examples").is_some();
        }
    }
    for (code, response) in responses.into_iter().flatten() {
        let response = spec.resolve(response);
        for (media, m) in response["content"].as_object().into_iter().flatten() {
            let pointer = format!(
                "{}/responses/{}/content/{}",
                op.pointer,
                escape(code),
                escape(media)
            );
            match m.get("schema") {
                None => find(
                    pointer.clone(),
                    "response-schema",
                    format!("`{}`: response {code} `{media}` has no schema", op.id()),
                ),
                Some(s) if !is_ref_or_ref_list(s) => find(
                    format!("{pointer}/schema"),
                    "ref-body",
                    format!(
                        "`{}`: response {code} `{media}` is an inline schema; use a $ref (or an array of one)",
                        op.id()
                    ),
                ),
                Some(_) => {}
            }
            if code.starts_with('2') {
                shows_response |= m.get("example").is_some() || m.get("examples").is_some();
            }
        }
        if code.starts_with('2') && response.get("content").is_none() {
            // A success without a body has nothing to show.
            shows_response = true;
        }
    }
    if !shows_request {
        find(
            format!("{}/requestBody", op.pointer),
            "operation-example",
            format!("`{}`: the request body has no example", op.id()),
        );
    }
    if has_success && !shows_response {
        find(
            format!("{}/responses", op.pointer),
            "operation-example",
            format!("`{}`: the success response has no example", op.id()),
        );
    }
}

fn is_ref_or_ref_list(schema: &Value) -> bool {
    schema.get("$ref").is_some()
        || (schema["type"] == "array" && schema["items"].get("$ref").is_some())
}

/// Names of the component schemas `value` refers to, anywhere inside it.
fn refs_in(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.insert(name.to_string());
            }
            map.values().for_each(|v| refs_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

fn unused_schemas(spec: &Spec, find: &mut Find<'_>) {
    let Some(schemas) = spec.schemas() else {
        return;
    };
    let mut used = BTreeSet::new();
    refs_in(&spec.doc["paths"], &mut used);
    for section in ["parameters", "requestBodies", "responses"] {
        refs_in(&spec.doc["components"][section], &mut used);
    }
    let mut frontier: Vec<String> = used.iter().cloned().collect();
    while let Some(name) = frontier.pop() {
        let mut inner = BTreeSet::new();
        if let Some(s) = schemas.get(&name) {
            refs_in(s, &mut inner);
        }
        for n in inner {
            if used.insert(n.clone()) {
                frontier.push(n);
            }
        }
    }
    for name in schemas.keys().filter(|n| !used.contains(*n)) {
        find(
            format!("/components/schemas/{}", escape(name)),
            "unused-schema",
            format!("schema `{name}` is not used by any operation"),
        );
    }
}

/// Every `example` / `examples` in the document with the schema it must fit.
fn examples(spec: &Spec, find: &mut Find<'_>) {
    let mut cases: Vec<(String, Value, Value)> = Vec::new();
    collect_examples(&spec.doc, String::new(), None, &mut cases);
    for (pointer, schema, example) in cases {
        let json_schema = spec.json_schema(&schema);
        match jsonschema::validator_for(&json_schema) {
            Err(e) => find(
                pointer,
                "example",
                format!("the schema of this example is not valid JSON Schema: {e}"),
            ),
            Ok(validator) => {
                if let Some(error) = validator.iter_errors(&example).next() {
                    let at = error.instance_path().to_string();
                    let at = if at.is_empty() {
                        "the example".to_string()
                    } else {
                        format!("at {at}")
                    };
                    find(
                        pointer,
                        "example",
                        format!("does not match its schema: {at}: {error}"),
                    );
                }
            }
        }
    }
}

/// Walks the document: schema objects carry their own `example`; media types,
/// parameters and headers carry `example`/`examples` for their `schema`.
fn collect_examples(
    value: &Value,
    pointer: String,
    parent_key: Option<&str>,
    out: &mut Vec<(String, Value, Value)>,
) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            for (i, v) in items.iter().enumerate() {
                collect_examples(v, format!("{pointer}/{i}"), None, out);
            }
        }
        return;
    };
    // Extensions are free-form, and `examples` maps hold example values.
    if parent_key.is_some_and(|k| k.starts_with("x-") || k == "examples" || k == "example") {
        return;
    }
    let is_schema_holder = map.contains_key("schema");
    if is_schema_holder {
        let schema = map["schema"].clone();
        if let Some(example) = map.get("example") {
            out.push((
                format!("{pointer}/example"),
                schema.clone(),
                example.clone(),
            ));
        }
        if let Some(Value::Object(named)) = map.get("examples") {
            for (name, ex) in named {
                if let Some(v) = ex.get("value") {
                    out.push((
                        format!("{pointer}/examples/{}/value", escape(name)),
                        schema.clone(),
                        v.clone(),
                    ));
                }
            }
        }
    } else if let Some(example) = map.get("example") {
        // A schema object's own example.
        let mut schema = value.clone();
        if let Some(s) = schema.as_object_mut() {
            s.remove("example");
        }
        out.push((format!("{pointer}/example"), schema, example.clone()));
    }
    for (k, v) in map {
        collect_examples(v, format!("{pointer}/{}", escape(k)), Some(k), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(name: &str) -> Vec<Finding> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/lint")
            .join(name);
        let spec = Spec::load(&path).unwrap();
        let mut all = lint(&spec);
        all.extend(generator_findings(&spec));
        all
    }

    #[test]
    fn a_clean_spec_has_no_findings() {
        assert_eq!(findings("clean.yaml"), Vec::new());
    }

    #[test]
    fn missing_operation_id_undeclared_path_parameter_and_bad_example_are_named() {
        let found = findings("broken.yaml");
        let has = |rule: &str, pointer: &str, text: &str| {
            found
                .iter()
                .any(|f| f.rule == rule && f.pointer == pointer && f.message.contains(text))
        };
        assert!(
            has(
                "operation-id",
                "/paths/~1times~1{uuid}/delete/operationId",
                "DELETE /times/{uuid} has no operationId"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "path-parameter",
                "/paths/~1times~1{uuid}/get/parameters",
                "path parameter `uuid` of `/times/{uuid}` is not declared"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "example",
                "/paths/~1times/get/responses/200/content/application~1json/example",
                "does not match its schema: at /0/duration"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "generator",
                "/paths/~1times~1{uuid}/delete",
                "no operationId"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "pagination",
                "/paths/~1times/get/x-specbound-pagination",
                "`list_times` is a list but says nothing about paging"
            ),
            "{found:#?}"
        );
    }

    #[test]
    fn the_repository_specs_are_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
        for entry in std::fs::read_dir(root).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let spec = Spec::load(&path).unwrap();
                let mut all = lint(&spec);
                all.extend(generator_findings(&spec));
                assert_eq!(all, Vec::new(), "{}", path.display());
            }
        }
    }
}
