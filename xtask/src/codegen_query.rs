//! `query(options)` on the builders of operations with OData query options
//! (a query parameter whose name starts with `$`): sets every option a
//! [`QueryOptions`] value gives (`$filter`, `$top`, the `ConsistencyLevel`
//! header...) through the builder's own setters, after the value checked
//! them for the operation. Graph's `Query` is one such value.

use std::collections::{BTreeMap, BTreeSet};

use quote::quote;

use super::codegen_examples::{send_id, try_into_target};
use super::codegen_tables::OperationFacts;

/// Adds `query()` to each builder whose operation has OData options.
pub(crate) fn add(
    file: &mut syn::File,
    spec: &serde_json::Value,
    facts: &BTreeMap<String, OperationFacts>,
) {
    let params = super::codegen_examples::wire_names(spec);
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter_mut().flat_map(|(_, items)| items) {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some() {
                continue;
            }
            let Some(id) = imp.items.iter().find_map(send_id) else {
                continue;
            };
            let (Some(names), Some(fact)) = (params.get(&id), facts.get(&id)) else {
                continue;
            };
            if let Some(method) = query_method(imp, names, fact.index) {
                imp.items.push(method);
            }
        }
    }
}

/// The `query()` method of one builder, if its operation takes OData
/// options and no parameter of its own is called `query`.
fn query_method(imp: &syn::ItemImpl, names: &[String], index: usize) -> Option<syn::ImplItem> {
    if !names.iter().any(|n| n.starts_with('$')) {
        return None;
    }
    let setters: Vec<(syn::Ident, syn::Type)> = imp
        .items
        .iter()
        .filter_map(|i| match i {
            syn::ImplItem::Fn(f) => try_into_target(&f.sig).map(|t| (f.sig.ident.clone(), t)),
            _ => None,
        })
        .filter(|(name, _)| name != "body")
        .collect();
    if setters.iter().any(|(name, _)| name == "query") {
        return None;
    }
    let taken: BTreeSet<String> = setters.iter().map(|(n, _)| n.to_string()).collect();
    let first = syn::Ident::new(
        setters.first()?.0.to_string().as_str(),
        proc_macro2::Span::call_site(),
    );
    let arms = names.iter().filter_map(|wire| {
        let squashed = super::codegen_examples::squash(wire);
        let (setter, ty) = setters
            .iter()
            .find(|(s, _)| super::codegen_examples::squash(&s.to_string()) == squashed)?;
        let ty_text = quote!(#ty).to_string();
        let set = if ty_text.contains("bool") {
            quote!(self = self.#setter(value == "true"))
        } else if ["i32", "i64", "u32", "u64", "NonZero"]
            .iter()
            .any(|t| ty_text.contains(t))
        {
            quote!(match value.parse::<#ty>() {
                Ok(n) => self = self.#setter(n),
                Err(_) => self.#setter = Err(format!("{} is not a number: {value}", #wire)),
            })
        } else {
            quote!(self = self.#setter(value))
        };
        Some(quote!(#wire => #set,))
    });
    let _ = taken;
    Some(syn::parse_quote! {
        /// Sets the query options `options` gives (`$filter`, `$select`,
        /// `$top`, headers such as `ConsistencyLevel`), after it checked
        /// them for this operation; a refusal fails `send()` before anything
        /// is sent, naming what was wrong.
        pub fn query<Q: crate::runtime::QueryOptions>(mut self, options: Q) -> Self {
            match options.options(&super::spec::OPERATIONS[#index]) {
                Ok(pairs) => {
                    for (name, value) in pairs {
                        match name.as_str() {
                            #(#arms)*
                            other => {
                                self.#first = Err(format!(
                                    "{} takes no query option {other}",
                                    super::spec::OPERATIONS[#index].id
                                ))
                            }
                        }
                    }
                }
                Err(e) => self.#first = Err(e.to_string()),
            }
            self
        }
    })
}
