//! The public surface a spec produces, as committed text.
//!
//! `cargo xtask surface` writes, per API, `spec/surface/<api>.txt` (every
//! client method with its parameters and types, every type with its fields)
//! and `src/docs/<api>_operations.md` (the operations table of the module
//! docs), both rendered from `templates/`. `cargo xtask check` renders them
//! again and fails with a diff when the committed files are out of date, so a
//! spec change shows its Rust effect in the same review.

use std::path::{Path, PathBuf};

use quote::ToTokens;
use serde::Serialize;

use crate::codegen;
use crate::render::render;
use crate::spec::Spec;

/// One client method: an operation of the spec.
#[derive(Serialize)]
struct Operation {
    name: String,
    method: String,
    path: String,
    tag: String,
    summary: String,
    params: Vec<Param>,
    returns: String,
    error: String,
    /// `x-specbound-pagination` style and the items' type, when it pages.
    paging: Option<(String, String)>,
}

/// One builder setter of an operation.
#[derive(Serialize)]
struct Param {
    name: String,
    ty: String,
    required: bool,
}

/// One generated type.
#[derive(Serialize)]
struct TypeDef {
    kind: &'static str,
    name: String,
    fields: Vec<Field>,
}

/// A struct field, enum variant or newtype's inner type.
#[derive(Serialize)]
struct Field {
    name: String,
    ty: String,
    json: String,
}

#[derive(Serialize)]
struct Context<'a> {
    api: &'a str,
    spec: String,
    operations: Vec<Operation>,
    types: Vec<TypeDef>,
}

/// The files `surface` writes for `api`, with their rendered contents.
pub(crate) fn render_all(root: &Path, api: &str) -> Result<Vec<(PathBuf, String)>, String> {
    let spec_path = root.join("spec").join(format!("{api}.yaml"));
    let generated =
        codegen::generate(&spec_path, prettyplease::unparse).map_err(|e| e.to_string())?;
    let file: syn::File =
        syn::parse_str(&generated.code).map_err(|e| format!("generated code: {e}"))?;
    let spec = Spec::load(&spec_path)?;
    let context = Context {
        api,
        spec: format!("spec/{api}.yaml"),
        operations: operations(&spec, &file),
        types: types(&file),
    };
    Ok(vec![
        (
            root.join("spec/surface").join(format!("{api}.txt")),
            render(root, "surface.txt.j2", &context)?,
        ),
        (
            root.join("src/docs").join(format!("{api}_operations.md")),
            render(root, "operations.md.j2", &context)?,
        ),
    ])
}

fn module<'a>(items: &'a [syn::Item], name: &str) -> &'a [syn::Item] {
    items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == name => {
                m.content.as_ref().map(|(_, items)| items.as_slice())
            }
            _ => None,
        })
        .unwrap_or(&[])
}

fn operations(spec: &Spec, file: &syn::File) -> Vec<Operation> {
    let builders = module(&file.items, "builder");
    spec.operations()
        .into_iter()
        .map(|op| {
            let name = op.id();
            let struct_name = codegen::pascal_case(&name);
            let params = builders
                .iter()
                .find_map(|i| match i {
                    syn::Item::Struct(s) if s.ident == struct_name => Some(s),
                    _ => None,
                })
                .map(|s| {
                    s.fields
                        .iter()
                        .filter_map(|f| {
                            let field = f.ident.as_ref()?.to_string();
                            if field == "client" {
                                return None;
                            }
                            // Builders hold `Result<T, String>`; `T = Option<_>` when optional.
                            let inner = first_arg(&f.ty).unwrap_or_else(|| type_string(&f.ty));
                            let (ty, required) = match inner
                                .strip_prefix("Option<")
                                .and_then(|t| t.strip_suffix('>'))
                            {
                                Some(t) => (t.to_string(), false),
                                None => (inner, true),
                            };
                            Some(Param {
                                name: field.trim_start_matches("r#").to_string(),
                                ty,
                                required,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let returns = send_type(builders, &struct_name);
            let error = error_schema(spec, &op);
            let paging = op.op.get("x-specbound-pagination").map(|p| {
                let style = p["style"].as_str().unwrap_or_default().to_string();
                let items = page_item(file, &stream_item(builders, &struct_name));
                (style, items)
            });
            Operation {
                paging,
                method: op.method.to_uppercase(),
                path: op.path.to_string(),
                tag: op.op["tags"][0].as_str().unwrap_or("").to_string(),
                summary: op.op["summary"].as_str().unwrap_or("").to_string(),
                name,
                params,
                returns,
                error,
            }
        })
        .collect()
}

/// The return type of `<Builder>::<method>`, as text.
fn method_type(builders: &[syn::Item], struct_name: &str, method: &str) -> Option<String> {
    for item in builders {
        let syn::Item::Impl(imp) = item else { continue };
        let is_it = matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == struct_name));
        if !is_it {
            continue;
        }
        for it in &imp.items {
            if let syn::ImplItem::Fn(f) = it
                && f.sig.ident == method
                && let syn::ReturnType::Type(_, ty) = &f.sig.output
            {
                return Some(type_string(ty));
            }
        }
    }
    None
}

/// The success type of `<Builder>::send` (`crate::Result<ResponseValue<T>>`).
fn send_type(builders: &[syn::Item], struct_name: &str) -> String {
    let text = method_type(builders, struct_name, "send").unwrap_or_default();
    text.strip_prefix("crate::Result<ResponseValue<")
        .and_then(|t| t.strip_suffix(">>"))
        .map_or(text.clone(), str::to_string)
}

/// The page type `.stream()` walks (`Paginated<P>`).
fn stream_item(builders: &[syn::Item], struct_name: &str) -> String {
    let text = method_type(builders, struct_name, "stream").unwrap_or_default();
    text.strip_prefix("Paginated<")
        .and_then(|t| t.strip_suffix('>'))
        .map_or(text.clone(), str::to_string)
}

/// The item type of page type `page` (from its generated `impl Page`).
fn page_item(file: &syn::File, page: &str) -> String {
    if let Some(inner) = page.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        return inner.to_string();
    }
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Impl(imp) if type_string(&imp.self_ty) == page && imp.trait_.is_some() => {
                imp.items.iter().find_map(|i| match i {
                    syn::ImplItem::Type(t) if t.ident == "Item" => Some(type_string(&t.ty)),
                    _ => None,
                })
            }
            _ => None,
        })
        .map_or_else(
            || page.to_string(),
            |item| format!("{item} (pages of {page})"),
        )
}

/// The component schema of an operation's error answers (its `ApiError::body`).
fn error_schema(spec: &Spec, op: &crate::spec::Operation<'_>) -> String {
    op.op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(code, _)| code.starts_with('4') || code.starts_with('5'))
        .find_map(|(_, r)| {
            let r = match r.get("$ref").and_then(|v| v.as_str()) {
                Some(reference) => reference
                    .strip_prefix('#')
                    .and_then(|p| spec.doc.pointer(p))?,
                None => r,
            };
            let schema = r["content"].as_object()?.values().next()?;
            schema["schema"]["$ref"]
                .as_str()?
                .rsplit('/')
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn types(file: &syn::File) -> Vec<TypeDef> {
    let mut out = Vec::new();
    for item in module(&file.items, "types") {
        match item {
            syn::Item::Struct(s) => match &s.fields {
                syn::Fields::Named(named) => out.push(TypeDef {
                    kind: "struct",
                    name: s.ident.to_string(),
                    fields: named
                        .named
                        .iter()
                        .map(|f| {
                            let name = f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                            let name = name.trim_start_matches("r#").to_string();
                            let json = serde_rename(&f.attrs).unwrap_or_else(|| name.clone());
                            Field {
                                ty: type_string(&f.ty),
                                json,
                                name,
                            }
                        })
                        .collect(),
                }),
                syn::Fields::Unnamed(unnamed) => out.push(TypeDef {
                    kind: "newtype",
                    name: s.ident.to_string(),
                    fields: unnamed
                        .unnamed
                        .iter()
                        .map(|f| Field {
                            name: String::new(),
                            ty: type_string(&f.ty),
                            json: String::new(),
                        })
                        .collect(),
                }),
                syn::Fields::Unit => {}
            },
            syn::Item::Enum(e) => out.push(TypeDef {
                kind: "enum",
                name: e.ident.to_string(),
                fields: e
                    .variants
                    .iter()
                    .map(|v| {
                        let name = v.ident.to_string();
                        let ty = v
                            .fields
                            .iter()
                            .map(|f| type_string(&f.ty))
                            .collect::<Vec<_>>()
                            .join(", ");
                        Field {
                            json: serde_rename(&v.attrs).unwrap_or_else(|| {
                                if ty.is_empty() {
                                    name.clone()
                                } else {
                                    String::new()
                                }
                            }),
                            name,
                            ty,
                        }
                    })
                    .collect(),
            }),
            _ => {}
        }
    }
    out
}

fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
    }
    rename
}

/// `T` of `Result<T, String>`, as text.
fn first_arg(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(type_string(t)),
        _ => None,
    }
}

/// A type as a reader writes it: `Option<Vec<String>>`, not the generated
/// `::std::option::Option<::std::vec::Vec<::std::string::String>>`.
fn type_string(ty: &syn::Type) -> String {
    let raw: String = ty
        .to_token_stream()
        .to_string()
        .split_whitespace()
        .collect();
    let mut text = raw;
    for prefix in [
        "::std::option::",
        "::std::vec::",
        "::std::string::",
        "::std::collections::",
        "::std::boxed::",
        "::chrono::naive::",
        "::chrono::offset::",
        "::chrono::",
        "::uuid::",
        "::serde_json::",
        "crate::runtime::",
        "progenitor_client::",
        "super::",
        "types::",
        "builder::",
    ] {
        text = text.replace(prefix, "");
    }
    // Token streams keep prettyplease's trailing commas in generic lists.
    text.replace(",>", ">").replace(',', ", ")
}

/// Every committed file `surface` writes: per API, and the hand-written
/// public API of the whole crate.
fn render_everything(root: &Path, apis: &[&str]) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    for api in apis {
        files.extend(render_all(root, api)?);
    }
    files.push((
        root.join(crate::public_api::SNAPSHOT),
        crate::public_api::render(root, apis)?,
    ));
    Ok(files)
}

/// `cargo xtask surface`: writes the files.
pub(crate) fn write(root: &Path, apis: &[&str]) -> Result<(), String> {
    {
        for (path, text) in render_everything(root, apis)? {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            println!(
                "wrote {}",
                path.strip_prefix(root).unwrap_or(&path).display()
            );
        }
    }
    Ok(())
}

/// `cargo xtask check`: the committed files match what the specs produce.
/// Returns the diffs of the files that do not.
pub(crate) fn check(root: &Path, apis: &[&str]) -> Result<Vec<String>, String> {
    let mut diffs = Vec::new();
    {
        for (path, text) in render_everything(root, apis)? {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != text {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let diff = similar::TextDiff::from_lines(&committed, &text)
                    .unified_diff()
                    .context_radius(2)
                    .header(
                        &format!("{shown} (committed)"),
                        &format!("{shown} (from the spec)"),
                    )
                    .to_string();
                diffs.push(diff);
            }
        }
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the surface of a spec given as text, in a temporary copy of
    /// the repository's templates.
    fn surface_of(spec_text: &str) -> String {
        let root = std::env::temp_dir().join(format!("xtask-surface-{}", std::process::id()));
        std::fs::create_dir_all(root.join("spec")).unwrap();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for t in ["surface.txt.j2", "operations.md.j2"] {
            std::fs::copy(
                repo.join("templates").join(t),
                root.join("templates").join(t),
            )
            .unwrap();
        }
        std::fs::write(root.join("spec/sample.yaml"), spec_text).unwrap();
        let files = render_all(&root, "sample").unwrap();
        let _ = std::fs::remove_dir_all(&root);
        files[0].1.clone()
    }

    #[test]
    fn a_renamed_field_shows_in_the_surface() {
        let spec = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/lint/clean.yaml"),
        )
        .unwrap();
        let before = surface_of(&spec);
        let after = surface_of(&spec.replace("duration", "seconds"));
        assert!(before.contains("duration: u64"), "{before}");
        assert!(
            after.contains("seconds: u64") && !after.contains("duration"),
            "{after}"
        );
        assert!(before.contains("list_times  GET /times"), "{before}");
        assert_ne!(before, after);
    }

    #[test]
    fn committed_surfaces_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let apis: Vec<&str> = crate::APIS
            .iter()
            .copied()
            .filter(|a| {
                root.join("spec").join(format!("{a}.yaml")).exists()
                    && root.join("spec/surface").join(format!("{a}.txt")).exists()
            })
            .collect();
        let diffs = check(&root, &apis).unwrap();
        assert!(
            diffs.is_empty(),
            "run `cargo xtask surface`:\n{}",
            diffs.join("\n")
        );
    }
}
