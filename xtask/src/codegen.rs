//! Turns one OpenAPI spec into Rust client code with progenitor.
//!
//! This file is shared, not copied: `build.rs` includes it with `#[path]` and
//! `cargo xtask generate` uses it as a module, so the code a maintainer reads in
//! `target/generated/` is byte for byte the code the crate compiles.
//!
//! On top of progenitor it adds what the spec says and progenitor drops, each
//! driven by the spec so that a reviewer sees it in the spec's diff:
//!
//! - a `spec` module with the operation and schema tables the runtime and the
//!   sandboxes read (`codegen_tables.rs`: methods, paths, idempotency,
//!   security, parameters, pagination, batch limits, constraints);
//! - every builder's `send()` goes through the runtime's one path, and
//!   operations with `x-specbound-pagination` get `.stream()` and `.pages()`,
//!   with `x-specbound-offset-pagination` also `.offset_stream()`, and with
//!   `prev-cursor-param` also `.stream_backward(position)` (`codegen_send.rs`;
//!   the keys are listed at `pagination()` in `codegen_tables.rs`);
//! - `x-specbound-past` on an operation (a time parameter that must lie far
//!   enough in the past) is kept in its extensions and checked by the
//!   runtime before sending (`src/runtime/past.rs`);
//! - `x-specbound-secret: true` on a component schema replaces its type with
//!   `crate::runtime::Secret`, whose `Debug` never shows the value.
//! - `x-specbound-patch: true` on a component schema turns each of its optional,
//!   nullable properties into `crate::runtime::Patch<T>` (absent, null or a
//!   value), which progenitor cannot express (it maps both to `Option<T>`).
//! - `x-specbound-replace: <Rust path>` on a component schema uses a
//!   hand-written type for it (with its reason in an `x-specbound-note`).
//! - `x-specbound-send-empty: true` on an optional map or array property makes
//!   it `Option<T>`: progenitor skips an empty map or array when serialising,
//!   so without this an update could never send `{}` or `[]`.
//! - `x-specbound-path-segments: true` on a path parameter puts its value
//!   into the URL as it is (progenitor would encode its `/`): the value is
//!   one or more segments (`users/{id}`), and its pattern admits only
//!   encoded segments; a parameter written between single quotes in its
//!   path (`search(q='{q}')`) is an OData string, whose quotes are doubled
//!   (`codegen_send.rs`).
//! - `x-specbound-date-time: <Rust path>` at the spec's top level makes
//!   every `format: date-time` that type (`codegen_types.rs`).
//! - typify's struct builders (`types::builder`, `X::builder()`) are left
//!   out, and operation builders hold their body as the type itself, unless
//!   the spec's top level says `x-specbound-struct-builders: true`
//!   (`codegen_builders.rs`).
//! - Constructs that make progenitor panic are checked first, and a failure
//!   names the spec file and the operation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use openapiv3::{OpenAPI, ReferenceOr};

#[path = "codegen_builders.rs"]
mod codegen_builders;
#[path = "codegen_examples.rs"]
mod codegen_examples;
#[path = "codegen_query.rs"]
mod codegen_query;
#[path = "codegen_send.rs"]
mod codegen_send;
#[path = "codegen_tables.rs"]
mod codegen_tables;
#[path = "codegen_types.rs"]
mod codegen_types;
use quote::quote;
use syn::visit_mut::VisitMut;

/// Generated code for one spec, with counts for reports.
pub(crate) struct Generated {
    /// Formatted Rust source, ready to `include!`.
    pub(crate) code: String,
    /// Number of operations in the spec.
    pub(crate) operations: usize,
    /// Number of types (structs and enums) in the generated `types` module.
    pub(crate) types: usize,
}

/// Why a spec could not be turned into code.
#[derive(Debug)]
pub(crate) struct GenerateError {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The operation at fault, when one can be named.
    pub(crate) operation: Option<String>,
    /// What went wrong.
    pub(crate) message: String,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.operation {
            Some(op) => write!(
                f,
                "{}: operation `{op}`: {}",
                self.spec.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.spec.display(), self.message),
        }
    }
}

impl std::error::Error for GenerateError {}

/// How generated code is written out: formatted for a reader (`cargo xtask
/// generate`, with prettyplease) or as plain tokens (build.rs: the
/// compiler does not need the formatting, and the build skips its cost).
pub(crate) type Render = fn(&syn::File) -> String;

/// Plain tokens, as build.rs writes them.
#[allow(dead_code)] // used by build.rs, which includes this file
pub(crate) fn tokens(file: &syn::File) -> String {
    quote::ToTokens::to_token_stream(file).to_string()
}

/// Reads `spec_path` and generates its client, written by `render`.
pub(crate) fn generate(spec_path: &Path, render: Render) -> Result<Generated, GenerateError> {
    let fail = |operation: Option<String>, message: String| GenerateError {
        spec: spec_path.to_path_buf(),
        operation,
        message,
    };
    let text = std::fs::read_to_string(spec_path)
        .map_err(|e| fail(None, format!("cannot read the spec: {e}")))?;
    let json: serde_json::Value = serde_yaml::from_str(&text)
        .map_err(|e| fail(None, format!("not a valid YAML document: {e}")))?;
    let spec: OpenAPI = serde_json::from_value(for_progenitor(&json))
        .map_err(|e| fail(None, format!("not a valid OpenAPI 3.0 document: {e}")))?;
    if let Some((op, problem)) = unsupported_constructs(&spec).into_iter().next() {
        return Err(fail(op, problem));
    }

    let replaced = replacements(&spec);
    let patches = patch_properties(&spec);
    let send_empty = flagged_properties(&spec, "x-specbound-send-empty");
    let tokens = run_progenitor(&spec, &replaced).map_err(|message| {
        // progenitor names neither the spec nor the operation: find the
        // first operation that fails on its own.
        fail(first_failing_operation(&spec, &replaced), message)
    })?;

    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| fail(None, format!("progenitor produced invalid Rust: {e}")))?;
    rewrite_fields(
        &mut file,
        &patches,
        FieldRewrite::Patch,
        "x-specbound-patch",
    )
    .map_err(|m| fail(None, m))?;
    rewrite_fields(
        &mut file,
        &send_empty,
        FieldRewrite::SendEmpty,
        "x-specbound-send-empty",
    )
    .map_err(|m| fail(None, m))?;
    codegen_types::rewrite(&mut file, &json).map_err(|m| fail(None, m))?;
    codegen_builders::rewrite(&mut file, &json).map_err(|m| fail(None, m))?;
    let api = spec_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("api")
        .to_string();
    let (items, facts) = codegen_tables::spec_module(&api, &json).map_err(|m| fail(None, m))?;
    codegen_send::rewrite(&mut file, &facts).map_err(|m| fail(None, m))?;
    codegen_query::add(&mut file, &json, &facts);
    let quoted = codegen_send::quoted_parameters(&json).map_err(|m| fail(None, m))?;
    codegen_send::rewrite_path_parameters(
        &mut file,
        &codegen_send::segment_parameters(&json),
        &quoted,
    );
    file.items.extend(items);
    file.items.push(syn::parse_quote! {
        /// A value the generated builders refused (a missing required
        /// field, a string over its length limit, a pattern not matched)
        /// becomes [`Error::Invalid`](crate::Error::Invalid), so `?` works on
        /// `try_into()`.
        impl From<types::error::ConversionError> for crate::Error {
            fn from(e: types::error::ConversionError) -> Self {
                crate::Error::Invalid {
                    field: "value".into(),
                    reason: e.to_string(),
                }
            }
        }
    });
    let examples = codegen_examples::module(&file, &json);
    file.items.push(examples);
    let types = count_types(&file);
    Ok(Generated {
        code: render(&file),
        operations: operations(&spec).count(),
        types,
    })
}

/// The spec as progenitor gets it: string constraints (`pattern`,
/// `minLength`, `maxLength`) of inline schemas (parameters, properties,
/// items) are left out, so that their Rust type stays `String` instead of
/// a newtype per field; the runtime checks them on every request from the
/// schema table, which is built from the whole spec. Named component
/// schemas (`Slug`) keep their constraints and stay checked newtypes.
fn for_progenitor(spec: &serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value, top_level_component: bool) {
        match v {
            serde_json::Value::Object(map) => {
                if !top_level_component
                    && map.get("type").and_then(|t| t.as_str()) == Some("string")
                {
                    for key in ["pattern", "minLength", "maxLength"] {
                        map.remove(key);
                    }
                }
                for (_, child) in map.iter_mut() {
                    strip(child, false);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| strip(i, false)),
            _ => {}
        }
    }
    let mut copy = spec.clone();
    if let Some(paths) = copy.get_mut("paths") {
        strip(paths, false);
    }
    let components = copy.get_mut("components");
    if let Some(components) = components {
        for (kind, entries) in components.as_object_mut().into_iter().flatten() {
            for (_, entry) in entries.as_object_mut().into_iter().flatten() {
                strip(entry, kind == "schemas");
            }
        }
    }
    copy
}

/// Every operation as (method, path, operation).
fn operations(spec: &OpenAPI) -> impl Iterator<Item = (&'static str, &str, &openapiv3::Operation)> {
    spec.paths.paths.iter().flat_map(|(path, item)| {
        let item = match item {
            ReferenceOr::Item(item) => Some(item),
            ReferenceOr::Reference { .. } => None,
        };
        item.into_iter().flat_map(move |item| {
            [
                ("get", &item.get),
                ("put", &item.put),
                ("post", &item.post),
                ("delete", &item.delete),
                ("options", &item.options),
                ("head", &item.head),
                ("patch", &item.patch),
                ("trace", &item.trace),
            ]
            .into_iter()
            .filter_map(move |(m, op)| op.as_ref().map(|op| (m, path.as_str(), op)))
        })
    })
}

fn op_name(method: &str, path: &str, op: &openapiv3::Operation) -> String {
    op.operation_id
        .clone()
        .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()))
}

/// Constructs that progenitor 0.15 rejects or panics on (see
/// ../shared/notes/PROGENITOR.md), each with the operation it was found in.
pub(crate) fn unsupported_constructs(spec: &OpenAPI) -> Vec<(Option<String>, String)> {
    let mut found = Vec::new();
    if !spec.openapi.starts_with("3.0.") {
        found.push((
            None,
            format!("openapi `{}`: progenitor reads 3.0.x only", spec.openapi),
        ));
    }
    for (path, item) in &spec.paths.paths {
        if let ReferenceOr::Reference { .. } = item {
            found.push((
                None,
                format!("path `{path}` is a $ref: progenitor cannot follow it"),
            ));
        }
    }
    for (method, path, op) in operations(spec) {
        let name = op_name(method, path, op);
        let mut problem = |m: String| found.push((Some(name.clone()), m));
        if op.operation_id.is_none() {
            problem("no operationId".into());
        }
        let mut success_bodies = BTreeSet::new();
        let mut success_without_body = false;
        let mut error_bodies = BTreeSet::new();
        for (code, response) in &op.responses.responses {
            let code = code.to_string();
            let body = response_body(response);
            if code.starts_with('2') {
                match body {
                    Some(b) => {
                        success_bodies.insert(b);
                    }
                    None => success_without_body = true,
                }
            } else {
                error_bodies.insert(body.unwrap_or_default());
            }
        }
        if success_bodies.len() > 1 || (!success_bodies.is_empty() && success_without_body) {
            problem(
                "declares more than one kind of success body; progenitor allows one (declare only the code the API returns)"
                    .into(),
            );
        }
        if error_bodies.len() > 1 {
            problem("its error responses have different bodies; progenitor needs one shared error schema".into());
        }
        if op.responses.default.is_some() && !success_bodies.is_empty() {
            problem(
                "`default` next to a typed success response panics progenitor; use 4XX/5XX".into(),
            );
        }
        if let Some(ReferenceOr::Item(body)) = &op.request_body {
            if body.content.len() > 1 {
                problem("request body has more than one media type; progenitor takes one".into());
            }
            for media in body.content.keys() {
                let supported = media.starts_with("application/json")
                    || media == "application/x-www-form-urlencoded"
                    || media == "application/octet-stream"
                    || media == "text/plain";
                if !supported {
                    problem(format!(
                        "request media type `{media}` is not generated by progenitor; write the call in the runtime"
                    ));
                }
            }
        }
        for param in &op.parameters {
            if let ReferenceOr::Item(param) = param {
                match param {
                    openapiv3::Parameter::Cookie { parameter_data, .. } => problem(format!(
                        "cookie parameter `{}` is not supported",
                        parameter_data.name
                    )),
                    openapiv3::Parameter::Query {
                        parameter_data,
                        style,
                        ..
                    } => {
                        if !matches!(style, openapiv3::QueryStyle::Form) {
                            problem(format!(
                                "query parameter `{}` uses a style other than form",
                                parameter_data.name
                            ));
                        }
                        if parameter_data.explode == Some(false) {
                            problem(format!(
                                "query parameter `{}` has explode: false, which progenitor ignores; send a comma-joined string",
                                parameter_data.name
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// A comparable description of a response body: its `$ref`, or the inline
/// schema as JSON, or `None` without content.
fn response_body(response: &ReferenceOr<openapiv3::Response>) -> Option<String> {
    match response {
        ReferenceOr::Reference { reference } => Some(reference.clone()),
        ReferenceOr::Item(r) => r.content.iter().next().map(|(media, m)| {
            let schema = serde_json::to_string(&m.schema).unwrap_or_default();
            format!("{media} {schema}")
        }),
    }
}

/// Component schemas whose Rust type is ours, not progenitor's: secrets
/// (`x-specbound-secret: true`) and `x-specbound-replace: <path>`.
fn replacements(spec: &OpenAPI) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = schemas_with_flag(spec, "x-specbound-secret")
        .into_iter()
        .map(|name| (name, "crate::runtime::Secret".to_string()))
        .collect();
    for (name, schema) in component_schemas(spec) {
        if let Some(path) = schema
            .schema_data
            .extensions
            .get("x-specbound-replace")
            .and_then(|v| v.as_str())
        {
            out.push((name.clone(), path.to_string()));
        }
    }
    out
}

/// Names of the component schemas carrying `flag: true`.
fn schemas_with_flag(spec: &OpenAPI, flag: &str) -> Vec<String> {
    component_schemas(spec)
        .filter(|(_, s)| s.schema_data.extensions.get(flag) == Some(&serde_json::Value::Bool(true)))
        .map(|(name, _)| name.clone())
        .collect()
}

fn component_schemas(spec: &OpenAPI) -> impl Iterator<Item = (&String, &openapiv3::Schema)> {
    spec.components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter_map(|(name, s)| match s {
            ReferenceOr::Item(s) => Some((name, s)),
            ReferenceOr::Reference { .. } => None,
        })
}

/// For each `x-specbound-patch` schema: the JSON names of its optional,
/// nullable properties.
fn patch_properties(spec: &OpenAPI) -> BTreeMap<String, BTreeSet<String>> {
    let flagged = schemas_with_flag(spec, "x-specbound-patch");
    let mut out = BTreeMap::new();
    for (name, schema) in component_schemas(spec).filter(|(n, _)| flagged.contains(n)) {
        let mut props = BTreeSet::new();
        if let openapiv3::SchemaKind::Type(openapiv3::Type::Object(obj)) = &schema.schema_kind {
            for (prop, s) in &obj.properties {
                let nullable = match s {
                    ReferenceOr::Item(s) => s.schema_data.nullable,
                    ReferenceOr::Reference { .. } => false,
                };
                if nullable && !obj.required.contains(prop) {
                    props.insert(prop.clone());
                }
            }
        }
        out.insert(name.clone(), props);
    }
    out
}

/// For each component schema: the properties carrying `flag: true`.
fn flagged_properties(spec: &OpenAPI, flag: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (name, schema) in component_schemas(spec) {
        if let openapiv3::SchemaKind::Type(openapiv3::Type::Object(obj)) = &schema.schema_kind {
            let props: BTreeSet<String> = obj
                .properties
                .iter()
                .filter(|(_, s)| match s {
                    ReferenceOr::Item(s) => {
                        s.schema_data.extensions.get(flag) == Some(&serde_json::Value::Bool(true))
                    }
                    ReferenceOr::Reference { .. } => false,
                })
                .map(|(p, _)| p.clone())
                .collect();
            if !props.is_empty() {
                out.insert(name.clone(), props);
            }
        }
    }
    out
}

fn settings(replacements: &[(String, String)]) -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Separate)
        .with_inner_type(quote!(crate::runtime::Runtime))
        .with_derive("PartialEq")
        .with_map_type("::std::collections::BTreeMap");
    for (name, rust_type) in replacements {
        settings.with_replacement(name, rust_type, std::iter::empty());
    }
    settings
}

/// Runs progenitor, turning its panics into errors.
fn run_progenitor(
    spec: &OpenAPI,
    replacements: &[(String, String)],
) -> Result<proc_macro2::TokenStream, String> {
    let settings = settings(replacements);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result =
        std::panic::catch_unwind(|| progenitor::Generator::new(&settings).generate_tokens(spec));
    std::panic::set_hook(previous);
    match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(format!("progenitor rejected the spec: {e}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("progenitor panicked: {what}"))
        }
    }
}

/// Generates each operation alone (with all components) and returns the
/// first one that fails.
fn first_failing_operation(spec: &OpenAPI, replacements: &[(String, String)]) -> Option<String> {
    let all: Vec<(String, String)> = operations(spec)
        .map(|(m, p, op)| (m.to_string(), p.to_string(), op_name(m, p, op)))
        .map(|(m, p, name)| (format!("{m} {p}"), name))
        .collect();
    for (key, name) in all {
        let mut single = spec.clone();
        single
            .paths
            .paths
            .retain(|p, _| key.ends_with(&format!(" {p}")));
        for (path, item) in single.paths.paths.iter_mut() {
            if let ReferenceOr::Item(item) = item {
                for (method, slot) in [
                    ("get", &mut item.get),
                    ("put", &mut item.put),
                    ("post", &mut item.post),
                    ("delete", &mut item.delete),
                    ("options", &mut item.options),
                    ("head", &mut item.head),
                    ("patch", &mut item.patch),
                    ("trace", &mut item.trace),
                ] {
                    if format!("{method} {path}") != key {
                        *slot = None;
                    }
                }
            }
        }
        if run_progenitor(&single, replacements).is_err() {
            return Some(name);
        }
    }
    None
}

/// How a field's Rust type is rewritten after generation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldRewrite {
    /// `Option<T>` becomes `crate::runtime::Patch<T>` (absent, null, value).
    Patch,
    /// `T` (a map or list skipped when empty) becomes `Option<T>`, so that an
    /// empty one can be sent.
    SendEmpty,
}

/// Rewrites, per schema, the listed properties' fields, in the type and in its builder.
fn rewrite_fields(
    file: &mut syn::File,
    fields: &BTreeMap<String, BTreeSet<String>>,
    kind: FieldRewrite,
    extension: &str,
) -> Result<(), String> {
    for (schema, props) in fields {
        let type_name = pascal_case(schema);
        let mut rewriter = FieldRewriter {
            type_name: type_name.clone(),
            fields: props.iter().map(|p| snake_case(p)).collect(),
            kind,
            rewritten: 0,
        };
        rewriter.visit_file_mut(file);
        if rewriter.rewritten < props.len() {
            return Err(format!(
                "{extension} on `{schema}`: the generated struct `{type_name}` does not have the expected fields {props:?}"
            ));
        }
    }
    Ok(())
}

struct FieldRewriter {
    type_name: String,
    fields: BTreeSet<String>,
    kind: FieldRewrite,
    /// Fields rewritten in the type itself.
    rewritten: usize,
}

impl FieldRewriter {
    /// Rewrites the value type `ty` of one field; false if it had the wrong shape.
    fn rewrite(&self, ty: &mut syn::Type) -> bool {
        match self.kind {
            FieldRewrite::Patch => {
                let mut swap = OptionToPatch(false);
                swap.visit_type_mut(ty);
                swap.0
            }
            FieldRewrite::SendEmpty => {
                let inner = ty.clone();
                *ty = syn::parse_quote!(::std::option::Option<#inner>);
                true
            }
        }
    }

    fn serde_attr(&self, rename: Option<syn::LitStr>) -> syn::Attribute {
        let skip = match self.kind {
            FieldRewrite::Patch => "crate::runtime::Patch::is_absent",
            FieldRewrite::SendEmpty => "::std::option::Option::is_none",
        };
        match rename {
            Some(r) => {
                syn::parse_quote!(#[serde(rename = #r, default, skip_serializing_if = #skip)])
            }
            None => syn::parse_quote!(#[serde(default, skip_serializing_if = #skip)]),
        }
    }

    fn is_listed(&self, ident: &syn::Ident) -> bool {
        self.fields
            .contains(ident.to_string().trim_start_matches("r#"))
    }

    /// `types::X` gets the new field type and serde attribute; `builder::X`
    /// holds `Result<T, String>` per field, whose `T` is rewritten.
    fn rewrite_struct(&mut self, item: &mut syn::ItemStruct, in_builder: bool) {
        for field in item.fields.iter_mut() {
            let Some(ident) = &field.ident else { continue };
            if !self.is_listed(ident) {
                continue;
            }
            if in_builder {
                if let Some(value) = first_generic_arg(&mut field.ty) {
                    self.rewrite(value);
                }
                continue;
            }
            if self.rewrite(&mut field.ty) {
                self.rewritten += 1;
            }
            for attr in field
                .attrs
                .iter_mut()
                .filter(|a| a.path().is_ident("serde"))
            {
                let mut rename = None;
                let _ = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        rename = Some(meta.value()?.parse::<syn::LitStr>()?);
                    } else if meta.input.peek(syn::Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    }
                    Ok(())
                });
                *attr = self.serde_attr(rename);
            }
        }
    }

    /// The builder's setters: `fn notes<T>(..) where T: TryInto<X>`.
    fn rewrite_setters(&self, imp: &mut syn::ItemImpl) {
        for item in imp.items.iter_mut() {
            let syn::ImplItem::Fn(f) = item else { continue };
            if !self.is_listed(&f.sig.ident) {
                continue;
            }
            let Some(wc) = &mut f.sig.generics.where_clause else {
                continue;
            };
            for pred in wc.predicates.iter_mut() {
                let syn::WherePredicate::Type(t) = pred else {
                    continue;
                };
                for bound in t.bounds.iter_mut() {
                    if let syn::TypeParamBound::Trait(tb) = bound
                        && tb
                            .path
                            .segments
                            .last()
                            .is_some_and(|s| s.ident == "TryInto")
                        && let Some(syn::PathArguments::AngleBracketed(args)) =
                            tb.path.segments.last_mut().map(|s| &mut s.arguments)
                        && let Some(syn::GenericArgument::Type(ty)) = args.args.first_mut()
                    {
                        self.rewrite(ty);
                    }
                }
            }
        }
    }
}

/// The first generic argument of a path type (`T` in `Result<T, E>`).
fn first_generic_arg(ty: &mut syn::Type) -> Option<&mut syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &mut p.path.segments.last_mut()?.arguments
    else {
        return None;
    };
    match args.args.first_mut()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

impl VisitMut for FieldRewriter {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        let in_builder = module.ident == "builder";
        if let Some((_, items)) = &mut module.content {
            for item in items.iter_mut() {
                match item {
                    syn::Item::Struct(s) if s.ident == self.type_name => {
                        self.rewrite_struct(s, in_builder);
                    }
                    syn::Item::Impl(imp) if in_builder && is_impl_of(imp, &self.type_name) => {
                        self.rewrite_setters(imp);
                    }
                    _ => {}
                }
            }
        }
        syn::visit_mut::visit_item_mod_mut(self, module);
    }
}

/// Replaces `Option<X>` by `crate::runtime::Patch<X>` wherever it visits.
struct OptionToPatch(bool);

impl VisitMut for OptionToPatch {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        if let syn::Type::Path(p) = ty
            && let Some(seg) = p.path.segments.last().filter(|s| s.ident == "Option")
            && let syn::PathArguments::AngleBracketed(args) = &seg.arguments
        {
            let args = args.clone();
            *ty = syn::parse_quote!(crate::runtime::Patch #args);
            self.0 = true;
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

fn is_impl_of(imp: &syn::ItemImpl, name: &str) -> bool {
    imp.trait_.is_none() && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident(name))
}

fn count_types(file: &syn::File) -> usize {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .flat_map(|(_, items)| items)
        .filter(|item| matches!(item, syn::Item::Struct(_) | syn::Item::Enum(_)))
        .count()
}

/// `TimeUpdate` from `TimeUpdate`, `time_update` or `time-update`, as typify names types.
pub(crate) fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// `issue_uri` from `issue_uri`, `issueUri` or `issue-uri`, as typify names fields.
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate_text(name: &str, yaml: &str) -> Result<Generated, GenerateError> {
        let path = std::env::temp_dir().join(format!("codegen-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, yaml).unwrap();
        let result = generate(&path, prettyplease::unparse);
        let _ = std::fs::remove_file(&path);
        result
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths:\n";
    const OK_OP: &str = "  /ok:\n    get:\n      operationId: get_ok\n      responses:\n        '200': {description: ok}\n";

    #[test]
    fn a_construct_checked_first_names_the_spec_and_the_operation() {
        let yaml = format!(
            "{HEAD}{OK_OP}  /two:\n    get:\n      operationId: get_two\n      responses:\n        '200':\n          description: a\n          content: {{application/json: {{schema: {{type: string}}}}}}\n        '201':\n          description: b\n          content: {{application/json: {{schema: {{type: integer}}}}}}\n"
        );
        let err = generate_text("two", &yaml)
            .err()
            .expect("two success bodies must fail");
        assert_eq!(err.operation.as_deref(), Some("get_two"));
        let text = err.to_string();
        assert!(
            text.contains("codegen-") && text.contains(".yaml: operation `get_two`: "),
            "{text}"
        );
    }

    #[test]
    fn a_progenitor_panic_is_traced_to_its_operation() {
        // An object-typed query parameter makes progenitor's builder
        // generation panic (unreachable!); nothing checks it beforehand.
        let yaml = format!(
            "{HEAD}{OK_OP}  /filter:\n    get:\n      operationId: list_filtered\n      parameters:\n        - name: filter\n          in: query\n          schema: {{type: object, properties: {{a: {{type: string}}}}}}\n      responses:\n        '200': {{description: ok}}\n"
        );
        let err = generate_text("panic", &yaml)
            .err()
            .expect("progenitor must refuse it");
        assert_eq!(err.operation.as_deref(), Some("list_filtered"), "{err}");
        assert!(err.message.contains("progenitor"), "{err}");
    }

    #[test]
    fn patch_and_send_empty_fields_are_rewritten_in_type_and_builder() {
        let yaml = format!(
            "{HEAD}  /things:\n    post:\n      operationId: update_thing\n      requestBody:\n        required: true\n        content: {{application/json: {{schema: {{$ref: '#/components/schemas/ThingUpdate'}}}}}}\n      responses:\n        '200': {{description: ok}}\ncomponents:\n  schemas:\n    ThingUpdate:\n      type: object\n      x-specbound-patch: true\n      properties:\n        notes: {{type: string, nullable: true}}\n        name: {{type: string}}\n        tags:\n          type: object\n          x-specbound-send-empty: true\n          additionalProperties: {{type: string}}\n"
        );
        let code = generate_text("patch", &yaml).unwrap().code;
        assert!(
            code.contains("pub notes: crate::runtime::Patch<::std::string::String>"),
            "{code}"
        );
        assert!(
            code.contains("pub name: ::std::option::Option<::std::string::String>"),
            "{code}"
        );
        assert!(code.contains("pub tags: ::std::option::Option<"), "{code}");
        assert!(
            code.contains("skip_serializing_if = \"crate::runtime::Patch::is_absent\""),
            "{code}"
        );
    }
}
