//! Type rewrites of the generated code that a spec asks for at its top
//! level: `x-specbound-date-time: <Rust path>` makes every `format:
//! date-time` that type instead of chrono's `DateTime<Utc>` (specbound's
//! `UtcDateTime` decodes the usual `...Z` form without chrono's general
//! parser: most of the cost of reading a long list of dated records).

use syn::visit_mut::VisitMut;

/// Applies the spec's type rewrites to `file`.
pub(crate) fn rewrite(file: &mut syn::File, spec: &serde_json::Value) -> Result<(), String> {
    let Some(path) = spec.get("x-specbound-date-time").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let replacement: syn::Type = syn::parse_str(path)
        .map_err(|e| format!("x-specbound-date-time `{path}` is not a Rust type: {e}"))?;
    DateTimes(replacement).visit_file_mut(file);
    Ok(())
}

struct DateTimes(syn::Type);

impl VisitMut for DateTimes {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        if let syn::Type::Path(p) = ty {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let is_chrono_utc = segments.len() >= 2
                && segments[segments.len() - 2] == "chrono"
                && segments[segments.len() - 1] == "DateTime"
                && quote::quote!(#p).to_string().contains("Utc");
            if is_chrono_utc {
                *ty = self.0.clone();
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}
