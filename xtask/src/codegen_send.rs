//! Rewrites each generated builder's `send()` so that every request takes
//! the runtime's one path, and adds `.stream()` to paginated operations.
//!
//! progenitor's `send()` builds the request, runs the `ClientHooks` and
//! decodes the answer into `progenitor_client::Error<E>`. Here each builder
//! gets instead:
//!
//! - `build_request(self)`: the statements progenitor wrote to build the
//!   URL, query, headers and body (without its `api-version` header);
//! - `send(self)`: `build_request`, then `Runtime::execute` (credentials,
//!   checks against the spec, rate limits, retries, tracing, error
//!   statuses as typed `crate::Error`), then decoding of the declared
//!   success answer, naming the operation when it fails;
//! - for operations with `x-specbound-pagination`: `stream()`,
//!   `stream_from(position)` and `pages()`, and `impl Page` for the page type;
//!   with `prev-cursor-param` in it, `stream_backward(position)` too;
//! - for operations that also declare `x-specbound-offset-pagination` (page
//!   numbers beside cursors): `offset_stream()` and
//!   `offset_stream_from(position)`, paged the second way. An operation with
//!   only offset paging declares it as its `x-specbound-pagination`, and its
//!   `stream()` pages by number.

use std::collections::{BTreeMap, BTreeSet};

use quote::quote;
use syn::visit_mut::VisitMut;

use super::codegen_tables::OperationFacts;

/// Rewrites every `send()` in `file`'s `builder` module; fails naming an
/// operation whose `send()` does not have the shape progenitor 0.15 writes.
pub(crate) fn rewrite(
    file: &mut syn::File,
    facts: &BTreeMap<String, OperationFacts>,
) -> Result<(), String> {
    let mut rewriter = SendRewriter {
        facts,
        error: None,
        rewritten: BTreeSet::new(),
        page_impls: Vec::new(),
    };
    rewriter.visit_file_mut(file);
    if let Some(e) = rewriter.error {
        return Err(e);
    }
    if let Some(missing) = facts.keys().find(|id| !rewriter.rewritten.contains(*id)) {
        return Err(format!(
            "operation `{missing}`: no generated send() was found to rewrite"
        ));
    }
    file.items.extend(rewriter.page_impls);
    Ok(())
}

struct SendRewriter<'a> {
    facts: &'a BTreeMap<String, OperationFacts>,
    error: Option<String>,
    rewritten: BTreeSet<String>,
    /// `impl Page for <page type>` items, one per page type.
    page_impls: Vec<syn::Item>,
}

impl VisitMut for SendRewriter<'_> {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if module.ident != "builder" {
            return;
        }
        let Some((_, items)) = &mut module.content else {
            return;
        };
        for item in items.iter_mut() {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some() {
                continue;
            }
            let Some(pos) = imp
                .items
                .iter()
                .position(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
            else {
                continue;
            };
            let syn::ImplItem::Fn(send) = imp.items.remove(pos) else {
                unreachable!()
            };
            let lifetime = imp
                .generics
                .lifetimes()
                .next()
                .map(|l| l.lifetime.clone())
                .unwrap_or_else(|| syn::parse_quote!('static));
            match self.rewrite_send(send, &lifetime) {
                Ok((id, new_items)) => {
                    self.rewritten.insert(id);
                    imp.items.extend(new_items);
                }
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }
}

impl SendRewriter<'_> {
    fn rewrite_send(
        &mut self,
        send: syn::ImplItemFn,
        lifetime: &syn::Lifetime,
    ) -> Result<(String, Vec<syn::ImplItem>), String> {
        let success_type = success_type(&send.sig.output)
            .ok_or("send() does not return Result<ResponseValue<T>, Error<E>>")?;
        let stmts = &send.block.stmts;
        let info_at = stmts
            .iter()
            .position(is_operation_info)
            .ok_or("send() has no `let info = OperationInfo { .. }`")?;
        let id = operation_id(&stmts[info_at]).ok_or("OperationInfo has no operation_id")?;
        let facts = self
            .facts
            .get(&id)
            .ok_or_else(|| format!("operation `{id}` is not in the operation table"))?;
        let index = facts.index;
        let build: Vec<&syn::Stmt> = stmts[..info_at]
            .iter()
            .filter(|s| !quote!(#s).to_string().contains("\"api-version\""))
            .collect();
        let Some(syn::Stmt::Expr(syn::Expr::Match(matched), _)) = stmts.last() else {
            return Err(format!(
                "operation `{id}`: send() does not end with a match on the status"
            ));
        };
        let mut arms = Vec::new();
        for arm in &matched.arms {
            let body = &arm.body;
            let text = quote!(#body).to_string();
            let pat = &arm.pat;
            let decoded = if text.contains("ResponseValue :: from_response")
                && !text.contains("ErrorResponse")
            {
                quote!(crate::runtime::response::json(response, op, &client.inner).await)
            } else if text.contains("ResponseValue :: empty") {
                quote!(Ok(crate::runtime::response::empty(response)))
            } else if text.contains("ResponseValue :: stream") {
                quote!(Ok(crate::runtime::response::stream(response)))
            } else {
                // Error statuses never get here: the runtime turned them into
                // typed errors. The fallback arm is written below.
                continue;
            };
            arms.push(quote!(#pat => #decoded,));
        }
        let mode = if facts.bytes {
            quote!(crate::runtime::send::Mode::Stream)
        } else {
            quote!(crate::runtime::send::Mode::Whole)
        };
        let send_doc = format!(" Sends `{id}` and decodes its answer.");
        let mut items: Vec<syn::ImplItem> = vec![
            syn::parse_quote! {
                fn request_parts(
                    self,
                ) -> ::std::result::Result<(&#lifetime super::Client, reqwest::Request), Error<()>> {
                    #(#build)*
                    Ok((client, request))
                }
            },
            syn::parse_quote! {
                /// Builds this operation's request (URL, query, headers and
                /// body) without sending it.
                pub fn build_request(
                    self,
                ) -> crate::Result<(&#lifetime super::Client, reqwest::Request)> {
                    self.request_parts().map_err(|e| {
                        crate::runtime::send::build_error(e, &super::spec::OPERATIONS[#index])
                    })
                }
            },
            syn::parse_quote! {
                #[doc = #send_doc]
                pub async fn send(self) -> crate::Result<ResponseValue<#success_type>> {
                    let (client, request) = self.build_request()?;
                    let op = &super::spec::OPERATIONS[#index];
                    let response = client.inner.execute(request, op, #mode).await?;
                    match response.status().as_u16() {
                        #(#arms)*
                        _ => Err(crate::runtime::response::unexpected(response, op)),
                    }
                }
            },
        ];
        if let Some(paging) = &facts.paging {
            let page = &paging.page_type;
            let stream_doc = format!(
                " Every item of `{id}`, page after page ({} paging), as a stream that holds one page at a time.",
                paging.style
            );
            items.push(syn::parse_quote! {
                #[doc = #stream_doc]
                pub fn stream(self) -> crate::runtime::Paginated<#page> {
                    self.stream_from(::std::default::Default::default())
                }
            });
            items.push(syn::parse_quote! {
                /// The same stream, carried on from a saved `Paginated::position`.
                pub fn stream_from(
                    self,
                    position: crate::runtime::Position,
                ) -> crate::runtime::Paginated<#page> {
                    match self.build_request() {
                        Ok((client, request)) => crate::runtime::Paginated::start(
                            client.inner.clone(),
                            request,
                            &super::spec::OPERATIONS[#index],
                            position,
                        ),
                        Err(e) => crate::runtime::Paginated::failed(e),
                    }
                }
            });
            if let Some(offset) = &facts.offset_paging {
                let offset_page = &offset.page_type;
                items.push(syn::parse_quote! {
                    /// Every item, paged by page number (offset paging) instead:
                    /// for the sorts only offset paging offers. The API may
                    /// stop offset paging at a depth (see the operation's docs).
                    pub fn offset_stream(self) -> crate::runtime::Paginated<#offset_page> {
                        self.offset_stream_from(::std::default::Default::default())
                    }
                });
                items.push(syn::parse_quote! {
                    /// The offset stream, carried on from a saved `Paginated::position`.
                    pub fn offset_stream_from(
                        self,
                        position: crate::runtime::Position,
                    ) -> crate::runtime::Paginated<#offset_page> {
                        match self.build_request() {
                            Ok((client, request)) => crate::runtime::Paginated::start_offset(
                                client.inner.clone(),
                                request,
                                &super::spec::OPERATIONS[#index],
                                position,
                            ),
                            Err(e) => crate::runtime::Paginated::failed(e),
                        }
                    }
                });
            }
            if paging.backward {
                items.push(syn::parse_quote! {
                    /// The items before `position` (its cursor is a page's
                    /// before-cursor), newest first, page after page backwards.
                    pub fn stream_backward(
                        self,
                        position: crate::runtime::Position,
                    ) -> crate::runtime::Paginated<#page> {
                        match self.build_request() {
                            Ok((client, request)) => crate::runtime::Paginated::start_backward(
                                client.inner.clone(),
                                request,
                                &super::spec::OPERATIONS[#index],
                                position,
                            ),
                            Err(e) => crate::runtime::Paginated::failed(e),
                        }
                    }
                });
            }
            if paging.style != "array" {
                items.push(syn::parse_quote! {
                    /// The pages themselves (with whatever the page carries
                    /// beside its items), one at a time.
                    pub fn pages(self) -> crate::runtime::PageStream<#page> {
                        match self.build_request() {
                            Ok((client, request)) => crate::runtime::PageStream::start(
                                client.inner.clone(),
                                request,
                                &super::spec::OPERATIONS[#index],
                                ::std::default::Default::default(),
                            ),
                            Err(e) => crate::runtime::PageStream::failed(e),
                        }
                    }
                });
            }
            for paging in std::iter::once(paging).chain(&facts.offset_paging) {
                let Some(field) = &paging.items_field else {
                    continue;
                };
                let page = &paging.page_type;
                let page_key = quote!(#page).to_string();
                let exists = self
                    .page_impls
                    .iter()
                    .any(|i| quote!(#i).to_string().contains(&format!("for {page_key}")));
                if !exists {
                    let item = &paging.item_type;
                    let field = syn::Ident::new(field, proc_macro2::Span::call_site());
                    self.page_impls.push(syn::parse_quote! {
                        impl crate::runtime::Page for #page {
                            type Item = #item;
                            fn take_items(&mut self) -> ::std::vec::Vec<#item> {
                                ::std::mem::take(&mut self.#field)
                            }
                        }
                    });
                }
            }
        }
        Ok((id, items))
    }
}

/// `T` of `-> Result<ResponseValue<T>, Error<E>>`.
fn success_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let result = last_segment_args(ty, "Result")?;
    let response_value = result.first()?;
    last_segment_args(response_value, "ResponseValue")?
        .first()
        .cloned()
}

fn last_segment_args(ty: &syn::Type, name: &str) -> Option<Vec<syn::Type>> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last().filter(|s| s.ident == name)?;
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    Some(
        args.args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
    )
}

fn is_operation_info(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(l)
        if matches!(l.init.as_ref().map(|i| &*i.expr), Some(syn::Expr::Struct(s)) if s.path.is_ident("OperationInfo")))
}

fn operation_id(stmt: &syn::Stmt) -> Option<String> {
    let syn::Stmt::Local(l) = stmt else {
        return None;
    };
    let syn::Expr::Struct(s) = &*l.init.as_ref()?.expr else {
        return None;
    };
    s.fields.iter().find_map(|f| match (&f.member, &f.expr) {
        (
            syn::Member::Named(n),
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(v),
                ..
            }),
        ) if n == "operation_id" => Some(v.value()),
        _ => None,
    })
}

/// The names of the path parameters flagged `x-specbound-path-segments`,
/// as progenitor names their variables.
pub(crate) fn segment_parameters(spec: &serde_json::Value) -> BTreeSet<String> {
    fn flagged(p: &serde_json::Value, out: &mut BTreeSet<String>) {
        if p["in"] == "path"
            && p["x-specbound-path-segments"] == true
            && let Some(name) = p["name"].as_str()
        {
            out.insert(super::snake_case(name));
        }
    }
    let mut out = BTreeSet::new();
    for p in spec["components"]["parameters"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        flagged(p, &mut out);
    }
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let ops = item.as_object().into_iter().flat_map(|m| m.values());
        for params in std::iter::once(item)
            .chain(ops)
            .filter_map(|o| o["parameters"].as_array())
        {
            params.iter().for_each(|p| flagged(p, &mut out));
        }
    }
    out
}

/// The path parameters written between single quotes in a path template
/// (`search(q='{q}')`): OData string literals, whose quotes are doubled.
/// Fails when a name is quoted in one path and not in another.
pub(crate) fn quoted_parameters(spec: &serde_json::Value) -> Result<BTreeSet<String>, String> {
    let mut quoted = BTreeSet::new();
    let mut plain = BTreeSet::new();
    for path in spec["paths"].as_object().into_iter().flat_map(|m| m.keys()) {
        for (i, _) in path.match_indices('{') {
            let Some(end) = path[i..].find('}') else {
                continue;
            };
            let name = super::snake_case(&path[i + 1..i + end]);
            let inside = path[..i].ends_with('\'') && path[i + end + 1..].starts_with('\'');
            if inside { &mut quoted } else { &mut plain }.insert(name);
        }
    }
    match quoted.intersection(&plain).next() {
        Some(name) => Err(format!(
            "path parameter `{name}` is quoted in one path and not in another"
        )),
        None => Ok(quoted),
    }
}

/// Rewrites, in every `format!` of the builders, `encode_path(&name.to_string())`
/// into `name.to_string()` for the parameters spanning segments, and into
/// `encode_path(&name.to_string().replace('\'', "''"))` for the quoted ones.
pub(crate) fn rewrite_path_parameters(
    file: &mut syn::File,
    segments: &BTreeSet<String>,
    quoted: &BTreeSet<String>,
) {
    struct Paths<'a>(&'a BTreeSet<String>, &'a BTreeSet<String>);
    impl VisitMut for Paths<'_> {
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            if mac.path.is_ident("format") {
                mac.tokens = unencode(std::mem::take(&mut mac.tokens), self.0, self.1);
            }
        }
    }
    if !segments.is_empty() || !quoted.is_empty() {
        Paths(segments, quoted).visit_file_mut(file);
    }
}

/// `tokens` with `encode_path (& <name> . to_string ())` rewritten as
/// [`rewrite_path_parameters`] says.
fn unencode(
    tokens: proc_macro2::TokenStream,
    names: &BTreeSet<String>,
    quoted: &BTreeSet<String>,
) -> proc_macro2::TokenStream {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if let (TokenTree::Ident(f), Some(TokenTree::Group(g))) = (&trees[i], trees.get(i + 1))
            && f == "encode_path"
        {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            if let [TokenTree::Punct(amp), TokenTree::Ident(name), rest @ ..] = inner.as_slice()
                && amp.as_char() == '&'
                && names.contains(&name.to_string())
            {
                out.push(TokenTree::Ident(name.clone()));
                out.extend(rest.iter().cloned());
                i += 2;
                continue;
            }
            if let [TokenTree::Punct(amp), TokenTree::Ident(name), ..] = inner.as_slice()
                && amp.as_char() == '&'
                && quoted.contains(&name.to_string())
            {
                let value: proc_macro2::TokenStream = inner[1..].iter().cloned().collect();
                out.extend(quote::quote!(encode_path(&#value.replace('\'', "''"))));
                i += 2;
                continue;
            }
        }
        out.push(trees[i].clone());
        i += 1;
    }
    out.into_iter().collect()
}
