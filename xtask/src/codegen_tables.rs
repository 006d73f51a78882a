//! The `spec` module of each generated client: the operation table and the
//! schema table the runtime and the sandboxes read (see
//! `src/runtime/spec.rs` for what each field means), built from the spec
//! as JSON so that every `x-specbound-*` extension is at hand.

use std::collections::BTreeMap;

use quote::quote;
use serde_json::Value;

/// What codegen needs to know about one operation beyond the table.
pub(crate) struct OperationFacts {
    /// Index in `spec::OPERATIONS`.
    pub(crate) index: usize,
    /// `x-specbound-pagination`, when the operation pages.
    pub(crate) paging: Option<Paging>,
    /// `x-specbound-offset-pagination`, when it also pages by page number.
    pub(crate) offset_paging: Option<Paging>,
    /// Whether the answer is a byte stream (not JSON).
    pub(crate) bytes: bool,
}

/// A paginated operation's page and item types.
pub(crate) struct Paging {
    /// `single`, `array`, `next-link` or `cursor`.
    pub(crate) style: String,
    /// The page's Rust type, as a path below `types` (`EventsPage`), or
    /// `Vec<types::X>` for a bare array.
    pub(crate) page_type: proc_macro2::TokenStream,
    /// The Rust field holding the items (`None` for a bare array).
    pub(crate) items_field: Option<String>,
    /// The items' Rust type.
    pub(crate) item_type: proc_macro2::TokenStream,
    /// Whether the list can also be read backwards (`prev-cursor-param`).
    pub(crate) backward: bool,
}

/// The HTTP methods of a path item, in the order progenitor reads them.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Builds the `spec` module; the facts are keyed by operationId.
pub(crate) fn spec_module(
    api: &str,
    spec: &Value,
) -> Result<(Vec<syn::Item>, BTreeMap<String, OperationFacts>), String> {
    let mut table = SchemaTable::new(spec);
    let mut ops = Vec::new();
    let mut facts = BTreeMap::new();
    let default_security = security_names(spec.get("security"));
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let shared_params: Vec<Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .ok_or_else(|| format!("{method} {path}: no operationId"))?
                .to_string();
            let index = ops.len();
            let (tokens, fact) = operation(
                &mut table,
                spec,
                method,
                path,
                op,
                &shared_params,
                &default_security,
                index,
            )
            .map_err(|e| format!("operation `{id}`: {e}"))?;
            ops.push(tokens);
            facts.insert(id, fact);
        }
    }
    let schemas = table.emit();
    let wrappers = wrapper_conversions(spec);
    let request_id = match spec
        .get("x-specbound-request-id-header")
        .and_then(Value::as_str)
    {
        Some(h) => quote!(Some(#h)),
        None => quote!(None),
    };
    let hosts = spec
        .get("x-specbound-hosts")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(name, roles)| {
            roles
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(role, url)| {
                    let url = url.as_str().unwrap_or_default();
                    quote!((#name, #role, #url))
                })
        });
    let auth_urls = spec
        .get("x-specbound-authorization-url")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, v)| {
            let url = v["url"].as_str().unwrap_or_default();
            let scope = v["default-scope"].as_str().unwrap_or_default();
            quote!((#name, #url, #scope))
        });
    let schemes = spec
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, s)| {
            let scheme = match (s["type"].as_str(), s["scheme"].as_str(), s["in"].as_str()) {
                (Some("http"), Some("basic"), _) => quote!(Scheme::Basic),
                (Some("http"), _, _) | (Some("oauth2" | "openIdConnect"), _, _) => {
                    quote!(Scheme::Bearer)
                }
                (Some("apiKey"), _, Some("query")) => {
                    let n = s["name"].as_str().unwrap_or_default();
                    quote!(Scheme::QueryKey(#n))
                }
                (Some("apiKey"), _, Some("header")) => {
                    let n = s["name"].as_str().unwrap_or_default();
                    quote!(Scheme::HeaderKey(#n))
                }
                _ => return None,
            };
            Some(quote!((#name, #scheme)))
        });
    // Read by codegen, or typed fields above.
    let extensions = extensions(
        spec,
        &[
            "x-specbound-request-id-header",
            "x-specbound-hosts",
            "x-specbound-authorization-url",
            "x-specbound-date-time",
            "x-specbound-struct-builders",
            "x-specbound-patterns",
        ],
    );
    let module: syn::Item = syn::parse_quote! {
        /// What the spec says, as data: the operation table and the schema
        /// table (see [`crate::runtime::spec`]).
        pub mod spec {
            #[allow(unused_imports)]
            use crate::runtime::spec::{
                ApiSpec, Body, Bounds, DepthLimit, Kind, Location, Operation, PageStyle,
                Pagination, Parameter, Schema, Scheme, Text,
            };
            /// This API's spec.
            pub static API: ApiSpec = ApiSpec {
                name: #api,
                operations: OPERATIONS,
                schemas: SCHEMAS,
                request_id_header: #request_id,
                hosts: &[#(#hosts),*],
                authorization_urls: &[#(#auth_urls),*],
                security_schemes: &[#(#schemes),*],
                extensions: &[#(#extensions),*],
            };
            /// Every operation of the spec, in path order.
            pub static OPERATIONS: &[Operation] = &[#(#ops),*];
            /// The schemas the operations use (references are indices).
            pub static SCHEMAS: &[Schema] = &[#(#schemas),*];
        }
    };
    let mut items = vec![module];
    items.extend(wrappers);
    Ok((items, facts))
}

/// `x-specbound-wraps: <property>` on a request schema whose other
/// properties the runtime fills (TimeSync's `{auth, object}`): the wrapped
/// type converts into it, so `.body(time)` takes the inner value.
fn wrapper_conversions(spec: &Value) -> Vec<syn::Item> {
    let mut out = Vec::new();
    for (name, schema) in spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(wrapped) = schema.get("x-specbound-wraps").and_then(Value::as_str) else {
            continue;
        };
        let Some(inner) = schema["properties"][wrapped]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
        else {
            continue;
        };
        let outer = quote::format_ident!("{}", super::pascal_case(name));
        let inner = quote::format_ident!("{}", super::pascal_case(inner));
        let field = syn::Ident::new(&super::snake_case(wrapped), proc_macro2::Span::call_site());
        let others: Vec<syn::Ident> = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(p, _)| p)
            .filter(|p| *p != wrapped)
            .map(|p| syn::Ident::new(&super::snake_case(p), proc_macro2::Span::call_site()))
            .collect();
        out.push(syn::parse_quote! {
            impl ::std::convert::From<types::#inner> for types::#outer {
                fn from(#field: types::#inner) -> Self {
                    types::#outer {
                        #field,
                        #(#others: ::std::default::Default::default(),)*
                    }
                }
            }
        });
    }
    out
}

fn security_names(security: Option<&Value>) -> Vec<String> {
    security
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// Follows a local `$ref` (`#/components/parameters/X`).
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| spec.pointer(p))
            .map_or(v, |target| resolve(spec, target)),
        None => v,
    }
}

/// `/pages/next_page` as `["pages", "next_page"]` (JSON pointer, with `~1` and `~0`).
fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn operation(
    table: &mut SchemaTable<'_>,
    spec: &Value,
    method: &str,
    path: &str,
    op: &Value,
    shared_params: &[Value],
    default_security: &[String],
    index: usize,
) -> Result<(proc_macro2::TokenStream, OperationFacts), String> {
    let id = op["operationId"].as_str().unwrap_or_default();
    let upper = method.to_uppercase();
    let tag = op["tags"][0].as_str().unwrap_or_default();
    let idempotent = op
        .get("x-specbound-idempotent")
        .and_then(Value::as_bool)
        .unwrap_or(matches!(
            method,
            "get" | "head" | "put" | "delete" | "options" | "trace"
        ));
    let security = match op.get("security") {
        Some(s) => security_names(Some(s)),
        None => default_security.to_vec(),
    };
    let mut params = Vec::new();
    for p in shared_params
        .iter()
        .chain(op["parameters"].as_array().into_iter().flatten())
    {
        let p = resolve(spec, p);
        let name = p["name"].as_str().unwrap_or_default();
        let location = match p["in"].as_str() {
            Some("path") => quote!(Location::Path),
            Some("query") => quote!(Location::Query),
            Some("header") => quote!(Location::Header),
            _ => continue,
        };
        let required = p["required"].as_bool().unwrap_or(false);
        let schema = table.index_of(&p["schema"], &format!("{id}.{name}"));
        let default = match p["schema"]
            .get("default")
            .or_else(|| resolve(spec, &p["schema"]).get("default"))
        {
            Some(d) => {
                let text = d.to_string();
                quote!(Some(#text))
            }
            None => quote!(None),
        };
        let segments_pattern = match p.get("x-specbound-path-segments") {
            Some(Value::Bool(true)) => {
                let pattern = resolve(spec, &p["schema"])["pattern"]
                    .as_str()
                    .ok_or_else(|| {
                        format!("path parameter `{name}` spans segments but has no pattern")
                    })?;
                quote!(Some(#pattern))
            }
            _ => quote!(None),
        };
        params.push(quote!(Parameter {
            name: #name,
            location: #location,
            required: #required,
            schema: #schema,
            default: #default,
            segments_pattern: #segments_pattern,
        }));
    }
    let body = match op.get("requestBody").map(|b| resolve(spec, b)) {
        Some(b) => {
            let (media, content) = b["content"]
                .as_object()
                .and_then(|c| c.iter().next())
                .ok_or("a request body without content")?;
            let schema = table.index_of(&content["schema"], &format!("{id}.body"));
            quote!(Some(Body { media: #media, schema: #schema }))
        }
        None => quote!(None),
    };
    let (success, response) = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(code, _)| code.starts_with('2'))
        .map(|(code, r)| (code.parse::<u16>().unwrap_or(200), resolve(spec, r)))
        .ok_or("no success response")?;
    let response_media = response["content"]
        .as_object()
        .and_then(|c| c.iter().next())
        .map(|(media, c)| (media.as_str(), &c["schema"]));
    let bytes = response_media.is_some_and(|(m, _)| !m.contains("json"));
    let batch_limit = match op.get("x-specbound-batch-limit").and_then(Value::as_u64) {
        Some(n) => {
            let n = n as u32;
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let paged = |key: &str| match op.get(key) {
        Some(p) => {
            let schema = response_media
                .map(|(_, s)| s)
                .ok_or("a paginated operation must answer JSON")?;
            let (tokens, paging) =
                pagination(spec, p, schema).map_err(|e| format!("{key}: {e}"))?;
            Ok::<_, String>((quote!(Some(#tokens)), Some(paging)))
        }
        None => Ok((quote!(None), None)),
    };
    let (pagination, paging) = paged("x-specbound-pagination")?;
    let (offset_pagination, offset_paging) = paged("x-specbound-offset-pagination")?;
    if offset_paging.is_some() && paging.is_none() {
        return Err("x-specbound-offset-pagination without x-specbound-pagination".into());
    }
    let extensions = extensions(
        op,
        &[
            "x-specbound-note",
            "x-specbound-pagination",
            "x-specbound-offset-pagination",
        ],
    );
    let tokens = quote!(Operation {
        id: #id,
        method: #upper,
        path: #path,
        tag: #tag,
        idempotent: #idempotent,
        security: &[#(#security),*],
        parameters: &[#(#params),*],
        body: #body,
        success: #success,
        pagination: #pagination,
        offset_pagination: #offset_pagination,
        batch_limit: #batch_limit,
        extensions: &[#(#extensions),*],
    });
    Ok((
        tokens,
        OperationFacts {
            index,
            paging,
            offset_paging,
            bytes,
        },
    ))
}

/// The `Pagination` of `x-specbound-pagination` (or
/// `x-specbound-offset-pagination`) `p`, and the Rust types of the page and
/// its items from the response schema.
///
/// Keys (JSON pointers into the page unless said otherwise):
///
/// | key | meaning |
/// |---|---|
/// | `style` | `single`, `array`, `next-link` or `cursor` |
/// | `items` | the array of items |
/// | `next` | the next page's link (`next-link`) or cursor (`cursor`) |
/// | `has-more` | a boolean: no next page when it is not true |
/// | `end` | a boolean: the list ends with this page when it is true, even if it names a next one |
/// | `resume` | a value to resume from later (read on every page; a stream that stops on `end` without one resumes from its unfollowed `next`) |
/// | `cursor-param` | the query parameter carrying the cursor |
/// | `cursor-replaces` | query parameters dropped from every request that carries a cursor |
/// | `prev`, `prev-cursor-param` | the cursor of the page before, and its parameter: the builder gets `stream_backward(position)` |
/// | `page-param` | the page-number parameter of offset paging (`skip(n)` jumps to the page of item `n`) |
/// | `size-param`, `max-size`, `default-size` | the page-size parameter, its largest value, and the value asked for when the caller sets none |
/// | `depth-limit` | `{records, status, advice}`: the API answers `status` past `records`; that answer becomes `Error::Paging` with the advice |
/// | `page-operation` | the operation whose route next links point at |
///
/// `x-specbound-offset-pagination` sits beside `x-specbound-pagination` on
/// an operation that pages both ways: the builder's `stream()` uses the
/// first, `offset_stream()` the second.
fn pagination(
    spec: &Value,
    p: &Value,
    response_schema: &Value,
) -> Result<(proc_macro2::TokenStream, Paging), String> {
    let style_name = p["style"]
        .as_str()
        .ok_or("x-specbound-pagination needs a style")?;
    let style = match style_name {
        "single" => quote!(PageStyle::Single),
        "array" => quote!(PageStyle::Array),
        "next-link" => quote!(PageStyle::NextLink),
        "cursor" => quote!(PageStyle::Cursor),
        other => return Err(format!("unknown pagination style `{other}`")),
    };
    let path = |key: &str| pointer_segments(p[key].as_str().unwrap_or_default());
    let opt = |key: &str| match p[key].as_str() {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    };
    let opt_u32 = |key: &str| match p[key].as_u64() {
        Some(n) => {
            let n = n as u32;
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let items_path = path("items");
    let items = items_path.first().cloned().unwrap_or_default();
    let (next, has_more, end, prev, resume) = (
        path("next"),
        path("has-more"),
        path("end"),
        path("prev"),
        path("resume"),
    );
    let (max_size, default_size) = (opt_u32("max-size"), opt_u32("default-size"));
    let (cursor_param, prev_cursor_param, page_param, size_param, page_operation) = (
        opt("cursor-param"),
        opt("prev-cursor-param"),
        opt("page-param"),
        opt("size-param"),
        opt("page-operation"),
    );
    let replaces: Vec<&str> = p["cursor-replaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let depth_limit = match p.get("depth-limit") {
        Some(d) => {
            let records = d["records"].as_u64().ok_or("depth-limit needs `records`")?;
            let status = d["status"].as_u64().ok_or("depth-limit needs `status`")? as u16;
            let advice = d["advice"].as_str().ok_or("depth-limit needs `advice`")?;
            quote!(Some(DepthLimit { records: #records, status: #status, advice: #advice }))
        }
        None => quote!(None),
    };
    let backward = p["prev-cursor-param"].is_string();
    if backward && prev.is_empty() {
        return Err("`prev-cursor-param` needs `prev`".into());
    }
    let tokens = quote!(Pagination {
        style: #style,
        items: #items,
        next: &[#(#next),*],
        has_more: &[#(#has_more),*],
        end: &[#(#end),*],
        cursor_param: #cursor_param,
        cursor_replaces: &[#(#replaces),*],
        prev: &[#(#prev),*],
        prev_cursor_param: #prev_cursor_param,
        page_param: #page_param,
        size_param: #size_param,
        max_size: #max_size,
        default_size: #default_size,
        resume: &[#(#resume),*],
        page_operation: #page_operation,
        depth_limit: #depth_limit,
    });
    let item_ref = |array: &Value| -> Result<proc_macro2::TokenStream, String> {
        let name = array["items"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .ok_or("paginated items must be a $ref to a component schema")?;
        let ident = quote::format_ident!("{}", super::pascal_case(name));
        Ok(quote!(types::#ident))
    };
    let paging = if items.is_empty() {
        let array = resolve(spec, response_schema);
        let item = item_ref(array)?;
        Paging {
            style: style_name.to_string(),
            page_type: quote!(::std::vec::Vec<#item>),
            items_field: None,
            item_type: item,
            backward,
        }
    } else {
        let page_name = response_schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .ok_or("a paginated answer must be a $ref to a component schema")?;
        let page = resolve(spec, response_schema);
        let array = resolve(spec, &page["properties"][&items]);
        if array["type"] != "array" {
            return Err(format!(
                "pagination items `{items}` is not an array property"
            ));
        }
        let ident = quote::format_ident!("{}", super::pascal_case(page_name));
        Paging {
            style: style_name.to_string(),
            page_type: quote!(types::#ident),
            items_field: Some(super::snake_case(&items)),
            item_type: item_ref(array)?,
            backward,
        }
    };
    Ok((tokens, paging))
}

/// Schemas flattened into a table: components first (in name order), then
/// inline schemas as they are met.
struct SchemaTable<'a> {
    spec: &'a Value,
    /// Component name -> index.
    components: BTreeMap<String, u32>,
    /// Emitted entries, by index.
    entries: Vec<Option<proc_macro2::TokenStream>>,
}

impl<'a> SchemaTable<'a> {
    fn new(spec: &'a Value) -> Self {
        let mut table = SchemaTable {
            spec,
            components: BTreeMap::new(),
            entries: Vec::new(),
        };
        let components = spec
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        for name in components.into_iter().flatten().map(|(n, _)| n) {
            let index = table.entries.len() as u32;
            table.components.insert(name.clone(), index);
            table.entries.push(None);
        }
        for (name, schema) in components.into_iter().flatten() {
            let index = table.components[name];
            let tokens = table.entry(name, schema);
            table.entries[index as usize] = Some(tokens);
        }
        table
    }

    /// The index of `schema`: a component's for a `$ref`, else a new entry.
    fn index_of(&mut self, schema: &Value, name: &str) -> u32 {
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            && let Some(i) = self.components.get(target)
        {
            return *i;
        }
        let index = self.entries.len() as u32;
        self.entries.push(None);
        let tokens = self.entry(name, schema);
        self.entries[index as usize] = Some(tokens);
        index
    }

    fn entry(&mut self, name: &str, schema: &Value) -> proc_macro2::TokenStream {
        let nullable = schema["nullable"].as_bool().unwrap_or(false);
        let kind = self.kind(name, schema);
        quote!(Schema { name: #name, nullable: #nullable, kind: #kind })
    }

    fn kind(&mut self, name: &str, s: &Value) -> proc_macro2::TokenStream {
        if s.get("$ref").is_some() {
            let i = self.index_of(s, name);
            return quote!(Kind::AllOf(&[#i]));
        }
        for (key, variant) in [
            ("allOf", quote!(AllOf)),
            ("oneOf", quote!(OneOf)),
            ("anyOf", quote!(OneOf)),
        ] {
            if let Some(parts) = s.get(key).and_then(Value::as_array) {
                let parts: Vec<u32> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| self.index_of(p, &format!("{name}.{key}{i}")))
                    .collect();
                return quote!(Kind::#variant(&[#(#parts),*]));
            }
        }
        let f = |key: &str| s.get(key).and_then(Value::as_f64);
        let u = |key: &str| match s.get(key).and_then(Value::as_u64) {
            Some(n) => quote!(Some(#n)),
            None => quote!(None),
        };
        let bounds = || {
            let min = match f("minimum") {
                Some(n) => quote!(Some(#n)),
                None => quote!(None),
            };
            let max = match f("maximum") {
                Some(n) => quote!(Some(#n)),
                None => quote!(None),
            };
            let emin = s["exclusiveMinimum"].as_bool().unwrap_or(false);
            let emax = s["exclusiveMaximum"].as_bool().unwrap_or(false);
            quote!(Bounds { minimum: #min, maximum: #max, exclusive_minimum: #emin, exclusive_maximum: #emax })
        };
        match s["type"].as_str() {
            Some("boolean") => quote!(Kind::Boolean),
            Some("integer") => {
                let b = bounds();
                quote!(Kind::Integer(#b))
            }
            Some("number") => {
                let b = bounds();
                quote!(Kind::Number(#b))
            }
            Some("string") => {
                let (min, max) = (u("minLength"), u("maxLength"));
                let opt_str = |key: &str| match s.get(key).and_then(Value::as_str) {
                    Some(p) => quote!(Some(#p)),
                    None => quote!(None),
                };
                let (pattern, format) = (opt_str("pattern"), opt_str("format"));
                let values: Vec<&str> = s["enum"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                quote!(Kind::String(Text {
                    min_length: #min,
                    max_length: #max,
                    pattern: #pattern,
                    format: #format,
                    values: &[#(#values),*],
                }))
            }
            Some("array") => {
                let items = self.index_of(&s["items"], &format!("{name}.items"));
                let (min, max) = (u("minItems"), u("maxItems"));
                quote!(Kind::Array { items: #items, min_items: #min, max_items: #max })
            }
            Some("object") | None if s.get("properties").is_some() || s["type"] == "object" => {
                let props: Vec<proc_macro2::TokenStream> = s["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(p, ps)| {
                        let i = self.index_of(ps, &format!("{name}.{p}"));
                        quote!((#p, #i))
                    })
                    .collect();
                let required: Vec<&str> = s["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let (additional, closed) = match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => (quote!(None), true),
                    Some(extra @ Value::Object(m)) if !m.is_empty() => {
                        let i = self.index_of(extra, &format!("{name}.additional"));
                        (quote!(Some(#i)), false)
                    }
                    _ => (quote!(None), false),
                };
                quote!(Kind::Object {
                    properties: &[#(#props),*],
                    required: &[#(#required),*],
                    additional: #additional,
                    closed: #closed,
                })
            }
            _ => {
                let _ = self.spec;
                quote!(Kind::Any)
            }
        }
    }

    fn emit(self) -> Vec<proc_macro2::TokenStream> {
        self.entries
            .into_iter()
            .map(|e| {
                e.unwrap_or_else(|| {
                    quote!(Schema {
                        name: "",
                        nullable: true,
                        kind: Kind::Any
                    })
                })
            })
            .collect()
    }
}

/// The `x-specbound-*` members of `object` but those in `skip`, as
/// `(name, value as JSON)` tokens.
fn extensions(object: &Value, skip: &[&str]) -> Vec<proc_macro2::TokenStream> {
    object
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-specbound-") && !skip.contains(&k.as_str()))
        .map(|(k, v)| {
            let json = v.to_string();
            quote!((#k, #json))
        })
        .collect()
}
