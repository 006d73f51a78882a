//! The hand-written public API, as committed text.
//!
//! `cargo xtask surface` writes `spec/surface/hand-written.txt`: every `pub`
//! item of the hand-written sources under `src/` (functions with their
//! signatures, types with their public fields and variants, traits with
//! their methods, trait impls), file by file, and per API the number of
//! public functions per operation of its spec. `cargo xtask check` fails
//! when the file is stale, so a change to the hand layer shows in review as
//! a spec change does. With `unreachable_pub` denied, a `pub` item is
//! reachable by users, so `pub` is what is listed.
//!
//! It also enforces the thin-hand-layer rule: no hand-written method of an
//! API's client (an inherent method of `Client` or a method of an
//! extension trait) takes the name of one of that API's operations.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quote::ToTokens;

/// The snapshot's path below the repository root.
pub(crate) const SNAPSHOT: &str = "spec/surface/hand-written.txt";

/// Renders the snapshot of `root`'s hand-written sources; fails naming a
/// hand method that shadows an operation.
pub(crate) fn render(root: &Path, apis: &[&str]) -> Result<String, String> {
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files)?;
    files.sort();
    let mut out = String::from(
        "# Public items of the hand-written sources under src/ (generated code excluded).\n\
         # Do not edit: `cargo xtask surface` rewrites this file; `cargo xtask check` (CI) fails when it is stale.\n\n",
    );
    let mut per_api = Vec::new();
    let mut shadows = Vec::new();
    for api in apis {
        let ops = operation_ids(root, api)?;
        let mut count = 0;
        for file in files
            .iter()
            .filter(|f| f.starts_with(root.join("src").join(api)))
        {
            let items = parse(file)?;
            count += items.iter().map(count_pub_fns).sum::<usize>();
            for name in client_method_names(&items) {
                if ops.contains(&name) {
                    shadows.push(format!(
                        "{}: `{name}` is also an operation of spec/{api}.yaml",
                        shown(root, file)
                    ));
                }
            }
        }
        per_api.push(format!(
            "# {api}: {count} hand-written public functions for {} operations ({:.2} per operation)\n",
            ops.len(),
            count as f64 / ops.len().max(1) as f64
        ));
    }
    if !shadows.is_empty() {
        return Err(format!(
            "hand-written methods shadow generated operations:\n  {}",
            shadows.join("\n  ")
        ));
    }
    for line in per_api {
        out.push_str(&line);
    }
    for file in &files {
        let items = parse(file)?;
        let private = private_types(&items);
        let mut lines = Vec::new();
        for item in &items {
            describe(item, "", &private, &mut lines);
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{}", shown(root, file));
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    Ok(out)
}

fn shown(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn parse(file: &Path) -> Result<Vec<syn::Item>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    syn::parse_file(&text)
        .map(|f| f.items)
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn operation_ids(root: &Path, api: &str) -> Result<BTreeSet<String>, String> {
    let spec = crate::spec::Spec::load(&root.join("spec").join(format!("{api}.yaml")))?;
    Ok(spec.operations().into_iter().map(|op| op.id()).collect())
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn is_test_module(m: &syn::ItemMod) -> bool {
    m.ident == "tests"
        || m.attrs
            .iter()
            .any(|a| a.to_token_stream().to_string().contains("cfg (test)"))
}

fn text(tokens: impl ToTokens) -> String {
    let raw = tokens.to_token_stream().to_string();
    raw.replace(" : ", ": ")
        .replace(" :: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("' a", "'a")
        .replace("# [", "#[")
}

fn signature(sig: &syn::Signature) -> String {
    text(sig)
}

fn count_pub_fns(item: &syn::Item) -> usize {
    match item {
        syn::Item::Fn(f) if is_pub(&f.vis) => 1,
        syn::Item::Impl(imp) if imp.trait_.is_none() => imp
            .items
            .iter()
            .filter(|i| matches!(i, syn::ImplItem::Fn(f) if is_pub(&f.vis)))
            .count(),
        syn::Item::Trait(t) if is_pub(&t.vis) => t
            .items
            .iter()
            .filter(|i| matches!(i, syn::TraitItem::Fn(_)))
            .count(),
        syn::Item::Mod(m) if !is_test_module(m) => m
            .content
            .iter()
            .flat_map(|(_, items)| items)
            .map(count_pub_fns)
            .sum(),
        _ => 0,
    }
}

/// Names of the methods hand code adds to an API's `Client`.
fn client_method_names(items: &[syn::Item]) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        match item {
            syn::Item::Impl(imp) if imp.trait_.is_none() && text(&imp.self_ty) == "Client" => {
                for i in &imp.items {
                    if let syn::ImplItem::Fn(f) = i
                        && f.sig.receiver().is_some()
                    {
                        out.push(f.sig.ident.to_string());
                    }
                }
            }
            syn::Item::Trait(t) if t.ident.to_string().ends_with("Ext") => {
                for i in &t.items {
                    if let syn::TraitItem::Fn(f) = i {
                        out.push(f.sig.ident.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Types the file declares without `pub` (their impls are not public API).
fn private_types(items: &[syn::Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Struct(s) if !is_pub(&s.vis) => Some(s.ident.to_string()),
            syn::Item::Enum(e) if !is_pub(&e.vis) => Some(e.ident.to_string()),
            _ => None,
        })
        .collect()
}

fn describe(item: &syn::Item, indent: &str, private: &BTreeSet<String>, out: &mut Vec<String>) {
    match item {
        syn::Item::Fn(f) if is_pub(&f.vis) => out.push(format!("{indent}{}", signature(&f.sig))),
        syn::Item::Struct(s) if is_pub(&s.vis) => {
            out.push(format!("{indent}struct {}{}", s.ident, text(&s.generics)));
            for f in s.fields.iter().filter(|f| is_pub(&f.vis)) {
                let name = f
                    .ident
                    .as_ref()
                    .map(|i| format!("{i}: "))
                    .unwrap_or_default();
                out.push(format!("{indent}    {name}{}", text(&f.ty)));
            }
        }
        syn::Item::Enum(e) if is_pub(&e.vis) => {
            out.push(format!("{indent}enum {}{}", e.ident, text(&e.generics)));
            for v in &e.variants {
                let fields = match &v.fields {
                    syn::Fields::Unit => String::new(),
                    other => text(other),
                };
                out.push(format!("{indent}    {}{fields}", v.ident));
            }
        }
        syn::Item::Trait(t) if is_pub(&t.vis) => {
            out.push(format!("{indent}trait {}{}", t.ident, text(&t.generics)));
            for i in &t.items {
                match i {
                    syn::TraitItem::Fn(f) => out.push(format!("{indent}    {}", signature(&f.sig))),
                    syn::TraitItem::Type(ty) => out.push(format!("{indent}    type {}", ty.ident)),
                    syn::TraitItem::Const(c) => {
                        out.push(format!("{indent}    const {}: {}", c.ident, text(&c.ty)))
                    }
                    _ => {}
                }
            }
        }
        syn::Item::Type(t) if is_pub(&t.vis) => {
            out.push(format!("{indent}type {} = {}", t.ident, text(&t.ty)))
        }
        syn::Item::Const(c) if is_pub(&c.vis) => {
            out.push(format!("{indent}const {}: {}", c.ident, text(&c.ty)))
        }
        syn::Item::Static(s) if is_pub(&s.vis) => {
            out.push(format!("{indent}static {}: {}", s.ident, text(&s.ty)))
        }
        syn::Item::Use(u) if is_pub(&u.vis) => {
            out.push(format!("{indent}use {}", text(&u.tree).replace(' ', "")))
        }
        syn::Item::Impl(imp) => {
            let base = text(&imp.self_ty);
            let base = base.split('<').next().unwrap_or_default();
            if private.contains(base) {
                return;
            }
            let head = match &imp.trait_ {
                Some((path, _)) => format!("impl {} for {}", text(path), text(&imp.self_ty)),
                None => format!("impl {}", text(&imp.self_ty)),
            };
            let fns: Vec<String> = imp
                .items
                .iter()
                .filter_map(|i| match i {
                    syn::ImplItem::Fn(f) if imp.trait_.is_none() && is_pub(&f.vis) => {
                        Some(format!("{indent}    {}", signature(&f.sig)))
                    }
                    _ => None,
                })
                .collect();
            if imp.trait_.is_some() || !fns.is_empty() {
                out.push(format!("{indent}{head}"));
                out.extend(fns);
            }
        }
        syn::Item::Mod(m) if is_pub(&m.vis) && !is_test_module(m) => {
            out.push(format!("{indent}mod {}", m.ident));
            for i in m.content.iter().flat_map(|(_, items)| items) {
                describe(i, &format!("{indent}    "), private, out);
            }
        }
        syn::Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {}
        _ => {}
    }
}
