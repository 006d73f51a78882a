//! `query(options)` on the builders of operations with OData query options
//! (a query parameter whose name starts with `$`): sets every option a
//! [`QueryOptions`] value gives (`$filter`, `$top`, the `ConsistencyLevel`
//! header...) through the builder's own setters, after the value checked
//! them for the operation. Graph's `Query` is one such value.

use std::collections::BTreeMap;

use quote::quote;

use super::codegen_examples::{Setter, send_id, setters};
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
    let setters: Vec<Setter> = setters(imp, names)
        .into_iter()
        .filter(|s| s.ident != "body")
        .collect();
    if setters.iter().any(|s| s.ident == "query") {
        return None;
    }
    // A refusal is kept in the first parameter's field, which `send()`
    // reports before building the request.
    let first = setters.first()?.ident.clone();
    let arms =
        setters
            .iter()
            .filter(|s| names.contains(&s.wire))
            .map(|Setter { ident, ty, wire }| {
                let ty_text = quote!(#ty).to_string();
                let set = if ty_text.contains("bool") {
                    quote!(self = self.#ident(value == "true"))
                } else if ["i32", "i64", "u32", "u64", "NonZero"]
                    .iter()
                    .any(|t| ty_text.contains(t))
                {
                    quote!(match value.parse::<#ty>() {
                        Ok(n) => self = self.#ident(n),
                        Err(_) => self.#ident = Err(format!("{} is not a number: {value}", #wire)),
                    })
                } else {
                    quote!(self = self.#ident(value))
                };
                quote!(#wire => #set,)
            });
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
