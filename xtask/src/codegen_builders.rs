//! Leaves out typify's struct builders (`types::builder::X`, with
//! `X::builder()` and its conversions): about a third of a large client's
//! generated code, which every build compiles. A spec that wants them
//! (its docs build values with `X::builder()`) says so at its top level
//! with `x-specbound-struct-builders: true`.
//!
//! Without them, an operation builder whose body is such a struct holds
//! `Result<types::X, String>`: `body(value)` stores `value.try_into()` as
//! it is, `body_map` goes, and `send()` uses the value. A body never set
//! is `Err("body was not initialized")`, as progenitor writes for bodies
//! without a struct builder, unless every field of `X` has a default:
//! then, as before, it starts as `X::default()`.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::visit_mut::VisitMut;

/// Removes the struct builders from `file` unless `spec` keeps them.
pub(crate) fn rewrite(file: &mut syn::File, spec: &serde_json::Value) -> Result<(), String> {
    if spec
        .get("x-specbound-struct-builders")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
    {
        return Ok(());
    }
    let Some((_, types)) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
        _ => None,
    }) else {
        return Ok(());
    };
    let Some(builders) = take_builder_module(types) else {
        return Ok(());
    };
    let defaults = derives_default(types);
    // Per struct builder: whether its default converts (no required field).
    let mut complete = BTreeMap::new();
    for item in &builders {
        if let syn::Item::Impl(imp) = item
            && imp
                .trait_
                .as_ref()
                .is_some_and(|(p, _)| last_ident(p) == "Default")
            && let Some(name) = self_name(imp)
        {
            let has_required = imp.to_token_stream().to_string().contains("Err (");
            complete.insert(name, !has_required);
        }
    }
    for item in types.iter_mut() {
        if let syn::Item::Impl(imp) = item
            && imp.trait_.is_none()
        {
            imp.items.retain(|i| !mentions_builder(i));
        }
    }
    types.retain(|item| match item {
        syn::Item::Impl(imp) => {
            let emptied = imp.items.is_empty() && imp.trait_.is_none();
            !emptied && !mentions_builder(imp)
        }
        _ => true,
    });

    let mut bodies = BodyRewriter {
        complete,
        defaults,
        error: None,
    };
    bodies.visit_file_mut(file);
    if let Some(e) = bodies.error {
        return Err(e);
    }
    let text = file.to_token_stream().to_string();
    if text.contains("types :: builder") {
        return Err("a `types::builder` path is left after removing the struct builders".into());
    }
    Ok(())
}

/// Takes `types::builder` out of `types`, returning its items.
fn take_builder_module(types: &mut Vec<syn::Item>) -> Option<Vec<syn::Item>> {
    let index = types
        .iter()
        .position(|item| matches!(item, syn::Item::Mod(m) if m.ident == "builder"))?;
    match types.remove(index) {
        syn::Item::Mod(m) => m.content.map(|(_, items)| items),
        _ => None,
    }
}

/// The types of `types` that implement `Default` (derived or written out).
fn derives_default(types: &[syn::Item]) -> BTreeSet<String> {
    types
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => s
                .attrs
                .iter()
                .any(|a| {
                    a.path().is_ident("derive")
                        && a.meta.to_token_stream().to_string().contains("Default")
                })
                .then(|| s.ident.to_string()),
            syn::Item::Impl(imp) => imp
                .trait_
                .as_ref()
                .filter(|(p, _)| last_ident(p) == "Default")
                .and_then(|_| self_name(imp)),
            _ => None,
        })
        .collect()
}

/// Whether `tokens` use the ident `builder` (`builder::X`, `fn builder()`).
fn mentions_builder(tokens: &impl ToTokens) -> bool {
    fn walk(stream: proc_macro2::TokenStream) -> bool {
        stream.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "builder",
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(tokens.to_token_stream())
}

fn last_ident(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn self_name(imp: &syn::ItemImpl) -> Option<String> {
    match &*imp.self_ty {
        syn::Type::Path(p) => Some(last_ident(&p.path)),
        _ => None,
    }
}

/// `X` if `ty` is `Result<types::builder::X, String>`, which it turns into
/// `Result<types::X, String>`.
fn unbuild(ty: &mut syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &mut p.path.segments.last_mut()?.arguments
    else {
        return None;
    };
    let syn::GenericArgument::Type(syn::Type::Path(inner)) = args.args.first_mut()? else {
        return None;
    };
    let names: Vec<String> = inner
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let [types, builder, name] = names.as_slice() else {
        return None;
    };
    if types != "types" || builder != "builder" {
        return None;
    }
    let name = name.clone();
    let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
    *inner = syn::parse_quote!(types::#ident);
    Some(name)
}

/// Rewrites the operation builders (module `builder` at the top level).
struct BodyRewriter {
    /// Per struct builder: whether its default converts.
    complete: BTreeMap<String, bool>,
    /// Types that derive `Default`.
    defaults: BTreeSet<String>,
    error: Option<String>,
}

impl BodyRewriter {
    /// The start value of a body of type `name`, never set.
    fn start(&mut self, name: &str) -> syn::Expr {
        if self.complete.get(name).copied().unwrap_or(false) {
            if self.defaults.contains(name) {
                return syn::parse_quote!(Ok(::std::default::Default::default()));
            }
            self.error.get_or_insert(format!(
                "body `{name}`: its struct builder had a default, the type has none"
            ));
        }
        syn::parse_quote!(Err("body was not initialized".to_string()))
    }

    fn rewrite_module(&mut self, items: &mut [syn::Item]) {
        // Per operation builder: its fields whose type was a struct builder.
        let mut fields: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for item in items.iter_mut() {
            let syn::Item::Struct(s) = item else { continue };
            for field in s.fields.iter_mut() {
                let Some(ident) = &field.ident else { continue };
                if let Some(name) = unbuild(&mut field.ty) {
                    fields
                        .entry(s.ident.to_string())
                        .or_default()
                        .insert(ident.to_string(), name);
                }
            }
        }
        for item in items.iter_mut() {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some() {
                continue;
            }
            let Some(struct_fields) = self_name(imp).and_then(|n| fields.get(&n)) else {
                continue;
            };
            let struct_fields = struct_fields.clone();
            imp.items.retain(|i| {
                !matches!(i, syn::ImplItem::Fn(f)
                    if f.sig.ident.to_string().strip_suffix("_map")
                        .is_some_and(|field| struct_fields.contains_key(field)))
            });
            for item in imp.items.iter_mut() {
                let syn::ImplItem::Fn(f) = item else { continue };
                let name = f.sig.ident.to_string();
                if name == "new" {
                    let mut starts = StartValues {
                        fields: &struct_fields,
                        rewriter: self,
                    };
                    starts.visit_block_mut(&mut f.block);
                } else if struct_fields.contains_key(&name) {
                    NoFromConversion.visit_block_mut(&mut f.block);
                } else {
                    NoTryFrom(&struct_fields).visit_block_mut(&mut f.block);
                }
            }
        }
    }
}

impl VisitMut for BodyRewriter {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if module.ident != "builder" {
            return;
        }
        if let Some((_, items)) = &mut module.content {
            self.rewrite_module(items);
        }
    }
}

/// In `new()`: `body: Ok(Default::default())` becomes the body's start value.
struct StartValues<'a> {
    fields: &'a BTreeMap<String, String>,
    rewriter: &'a mut BodyRewriter,
}

impl VisitMut for StartValues<'_> {
    fn visit_field_value_mut(&mut self, fv: &mut syn::FieldValue) {
        if let syn::Member::Named(ident) = &fv.member
            && let Some(name) = self.fields.get(&ident.to_string())
        {
            fv.expr = self.rewriter.start(name);
        }
    }
}

/// In a body setter: `value.try_into().map(From::from)` loses its `.map`.
struct NoFromConversion;

impl VisitMut for NoFromConversion {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::MethodCall(call) = expr
            && call.method == "map"
            && call.args.len() == 1
            && call.args[0].to_token_stream().to_string() == "From :: from"
        {
            *expr = (*call.receiver).clone();
            self.visit_expr_mut(expr);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// In `send()`: `body.and_then(|v| types::X::try_from(v)..)` becomes `body`.
struct NoTryFrom<'a>(&'a BTreeMap<String, String>);

impl VisitMut for NoTryFrom<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::MethodCall(call) = expr
            && call.method == "and_then"
            && let syn::Expr::Path(receiver) = &*call.receiver
            && receiver
                .path
                .get_ident()
                .is_some_and(|i| self.0.contains_key(&i.to_string()))
            && call.args.len() == 1
            && call.args[0]
                .to_token_stream()
                .to_string()
                .contains("try_from")
        {
            *expr = (*call.receiver).clone();
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

#[cfg(test)]
mod tests {
    /// The code generated from a spec with a required and an optional
    /// body, all whitespace removed.
    fn generated(top_level: &str) -> String {
        let yaml = format!(
            "openapi: 3.0.3\ninfo: {{title: T, version: '1'}}\n{top_level}paths:\n  /things:\n    post:\n      operationId: create_thing\n      requestBody:\n        required: true\n        content: {{application/json: {{schema: {{$ref: '#/components/schemas/ThingCreate'}}}}}}\n      responses:\n        '200': {{description: ok}}\n  /notes:\n    post:\n      operationId: create_note\n      requestBody:\n        required: true\n        content: {{application/json: {{schema: {{$ref: '#/components/schemas/NoteCreate'}}}}}}\n      responses:\n        '200': {{description: ok}}\ncomponents:\n  schemas:\n    ThingCreate:\n      type: object\n      required: [name]\n      properties:\n        name: {{type: string}}\n    NoteCreate:\n      type: object\n      properties:\n        text: {{type: string}}\n"
        );
        let path = std::env::temp_dir().join(format!(
            "codegen-builders-{}-{}.yaml",
            std::process::id(),
            top_level.len()
        ));
        std::fs::write(&path, yaml).unwrap();
        let result = super::super::generate(&path, super::super::tokens);
        let _ = std::fs::remove_file(&path);
        let code = result.unwrap().code;
        code.split_whitespace().collect()
    }

    /// The text of `new()` of the operation builder `name`.
    fn start_of<'a>(code: &'a str, name: &str) -> &'a str {
        let at = code
            .find(&format!("impl<'a>{name}<'a>{{pubfnnew"))
            .unwrap_or_else(|| panic!("no builder {name}"));
        &code[at..at + 200]
    }

    #[test]
    fn struct_builders_are_left_out_and_bodies_hold_their_type() {
        let code = generated("");
        assert!(!code.contains("types::builder"), "{code}");
        assert!(!code.contains("fnbuilder()"), "{code}");
        assert!(!code.contains("body_map"), "{code}");
        assert!(!code.contains("From::from"), "{code}");
        assert!(code.contains("body:Result<types::ThingCreate,String>"));
        // A required field: a body never set is refused by name.
        assert!(
            start_of(&code, "CreateThing")
                .contains("body:Err(\"bodywasnotinitialized\".to_string())"),
            "{code}"
        );
        // Every field optional: the default, as the struct builder gave.
        assert!(
            start_of(&code, "CreateNote").contains("body:Ok(::std::default::Default::default())"),
            "{code}"
        );
        assert!(code.contains("letbody=body.map_err(Error::InvalidRequest)?;"));
    }

    #[test]
    fn a_spec_can_keep_the_struct_builders() {
        let code = generated("x-specbound-struct-builders: true\n");
        assert!(
            code.contains("body:Result<types::builder::ThingCreate,String>"),
            "{code}"
        );
        assert!(code.contains("pubfnbody_map"), "{code}");
        assert!(
            code.contains("pubfnbuilder()->builder::ThingCreate"),
            "{code}"
        );
    }
}
