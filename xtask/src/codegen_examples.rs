//! A dispatcher that sends any operation by its id with parameters and a
//! body given as JSON: `<api>::examples::send(client, "list_messages",
//! params, body)`. The tests send every operation of a spec with the
//! spec's own examples through it (and the sandboxes' tours), so that each
//! generated builder is exercised without a test written per operation.
//! It is compiled only with the `sandbox` feature.

use quote::{format_ident, quote};

/// The dispatcher module for the builders of `file` (after `send()` was
/// rewritten).
pub(crate) fn module(file: &syn::File, spec: &serde_json::Value) -> syn::Item {
    let wire = wire_names(spec);
    let mut arms = Vec::new();
    for item in &file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter().flat_map(|(_, items)| items) {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some() {
                continue;
            }
            if let Some(arm) = arm(imp, &wire) {
                arms.push(arm);
            }
        }
    }
    syn::parse_quote! {
        /// Sends any operation by id with JSON parameters and body (tests
        /// and sandbox tours); not part of the stable API.
        #[cfg(feature = "sandbox")]
        #[doc(hidden)]
        pub mod examples {
            use super::*;

            /// Sends `operation` with `params` (by their names on the wire) and
            /// `body`, and gives its answer as JSON (a binary answer as text).
            pub async fn send(
                client: &Client,
                operation: &str,
                params: &::serde_json::Map<::std::string::String, ::serde_json::Value>,
                body: ::std::option::Option<&::serde_json::Value>,
            ) -> crate::Result<::serde_json::Value> {
                use crate::runtime::examples::{binary, bytes_answer, json_answer, value};
                match operation {
                    #(#arms)*
                    other => Err(crate::Error::invalid("operation", format!("`{other}` is not an operation"))),
                }
            }
        }
    }
}

/// The match arm of one builder's impl, if it has a rewritten `send()`.
fn arm(
    imp: &syn::ItemImpl,
    wire: &std::collections::BTreeMap<String, Vec<String>>,
) -> Option<proc_macro2::TokenStream> {
    let send = imp.items.iter().find_map(|item| match item {
        syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
        _ => None,
    })?;
    let id = send_id(&syn::ImplItem::Fn(send.clone()))?;
    let output = &send.sig.output;
    let bytes = quote!(#output).to_string().contains("ByteStream");
    let method = format_ident!("{}", id);
    let names = wire.get(&id).cloned().unwrap_or_default();
    let sets = setters(imp, &names)
        .into_iter()
        .map(|Setter { ident, ty, wire }| {
            if ident == "body" && quote!(#ty).to_string().contains("reqwest :: Body") {
                quote! {
                    if let Some(v) = body {
                        b = b.#ident(binary("body", v)?);
                    }
                }
            } else if ident == "body" {
                quote! {
                    if let Some(v) = body {
                        b = b.#ident(value::<#ty>("body", v)?);
                    }
                }
            } else {
                quote! {
                    if let Some(v) = params.get(#wire) {
                        b = b.#ident(value::<#ty>(#wire, v)?);
                    }
                }
            }
        });
    let answer = if bytes {
        quote!(bytes_answer(b.send().await?).await)
    } else {
        quote!(json_answer(b.send().await?))
    };
    // Each arm's future is boxed: one future holding every operation's
    // would overflow a test thread's stack in a debug build.
    Some(quote! {
        #id => Box::pin(async move {
            #[allow(unused_mut)]
            let mut b = client.#method();
            #(#sets)*
            #answer
        }).await,
    })
}

/// `T` of a setter `fn x<V>(self, value: V) -> Self where V: TryInto<T>`.
fn try_into_target(sig: &syn::Signature) -> Option<syn::Type> {
    let clause = sig.generics.where_clause.as_ref()?;
    clause.predicates.iter().find_map(|p| {
        let syn::WherePredicate::Type(t) = p else {
            return None;
        };
        t.bounds.iter().find_map(|b| {
            let syn::TypeParamBound::Trait(tb) = b else {
                return None;
            };
            let last = tb.path.segments.last()?;
            if last.ident != "TryInto" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            args.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
        })
    })
}

/// Letters and digits only, lower case: how a wire name and its setter's
/// name are matched.
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Each operation's parameter names on the wire (path-level ones too).
pub(crate) fn wire_names(
    spec: &serde_json::Value,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let resolve = |p: &serde_json::Value| -> serde_json::Value {
        match p["$ref"].as_str() {
            Some(r) => spec
                .pointer(r.trim_start_matches('#'))
                .cloned()
                .unwrap_or_default(),
            None => p.clone(),
        }
    };
    let mut out = std::collections::BTreeMap::new();
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for op in item.as_object().into_iter().flat_map(|m| m.values()) {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let names = shared
                .iter()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .filter_map(|p| resolve(p)["name"].as_str().map(String::from))
                .collect();
            out.insert(id.to_string(), names);
        }
    }
    out
}

/// The operation id of a rewritten `send()` (from its doc: "Sends `id` ...").
pub(crate) fn send_id(item: &syn::ImplItem) -> Option<String> {
    let syn::ImplItem::Fn(f) = item else {
        return None;
    };
    if f.sig.ident != "send" {
        return None;
    }
    f.attrs.iter().find_map(|a| {
        let syn::Meta::NameValue(nv) = &a.meta else {
            return None;
        };
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
        else {
            return None;
        };
        let text = s.value();
        let start = text.find('`')? + 1;
        let end = start + text[start..].find('`')?;
        Some(text[start..end].to_string())
    })
}

/// One setter of a generated builder: its name, the type it takes, and the
/// name on the wire of the parameter it sets (`top` sets `$top`: the
/// setter's name is progenitor's snake case of the wire name; the body's
/// setter is `body`).
pub(crate) struct Setter {
    pub(crate) ident: syn::Ident,
    pub(crate) ty: syn::Type,
    pub(crate) wire: String,
}

/// The parameter and body setters of a builder's impl, given the wire
/// names of its operation's parameters.
pub(crate) fn setters(imp: &syn::ItemImpl, names: &[String]) -> Vec<Setter> {
    imp.items
        .iter()
        .filter_map(|item| {
            let syn::ImplItem::Fn(f) = item else {
                return None;
            };
            let name = f.sig.ident.to_string();
            if matches!(name.as_str(), "send" | "body_map" | "new") {
                return None;
            }
            let ty = try_into_target(&f.sig)?;
            let wire = names
                .iter()
                .find(|n| squash(n) == squash(&name))
                .cloned()
                .unwrap_or(name);
            Some(Setter {
                ident: f.sig.ident.clone(),
                ty,
                wire,
            })
        })
        .collect()
}
