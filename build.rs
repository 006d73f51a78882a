//! Generates one client per enabled API feature: `spec/<api>.yaml` becomes
//! `$OUT_DIR/<api>.rs`, which `src/<api>/mod.rs` includes. The generation
//! itself lives in `xtask/src/codegen.rs`, shared with `cargo xtask generate`.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "xtask/src/codegen.rs"]
mod codegen;

/// APIs whose spec has landed; each is behind the cargo feature of the same name.
const APIS: &[&str] = &["timesync", "cronofy", "graph", "zendesk"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for source in [
        "codegen.rs",
        "codegen_builders.rs",
        "codegen_examples.rs",
        "codegen_query.rs",
        "codegen_send.rs",
        "codegen_tables.rs",
        "codegen_types.rs",
    ] {
        println!("cargo:rerun-if-changed=xtask/src/{source}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for api in APIS {
        if std::env::var_os(format!("CARGO_FEATURE_{}", api.to_uppercase())).is_none() {
            continue;
        }
        let spec = Path::new("spec").join(format!("{api}.yaml"));
        println!("cargo:rerun-if-changed={}", spec.display());
        let generated = codegen::generate(&spec, codegen::tokens).unwrap_or_else(|e| {
            eprintln!("error: cannot generate the {api} client: {e}");
            std::process::exit(1);
        });
        let target = out.join(format!("{api}.rs"));
        std::fs::write(&target, generated.code)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    }
}
