//! Maintainer tasks: `cargo xtask <command>`.
//!
//! - `generate [--api NAME]`: writes each API's generated client to
//!   `target/generated/<api>.rs` (the same code build.rs compiles) and prints
//!   how many operations and types it has.
//! - `ci`: every check CI runs, in order, stopping at the first failure
//!   (the test command of README.md; `.ci/run` calls it).

mod codegen;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every API with a spec, in the order reports list them.
const APIS: &[&str] = &["timesync"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate(&args[1..]),
        Some("ci") => ci(),
        Some("help") | Some("--help") | None => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "usage: cargo xtask <command>\n\
     \n\
     commands:\n  \
       generate [--api NAME]   write target/generated/<api>.rs and print operation and type counts\n  \
       ci                      run every CI check (fmt, clippy, tests, doc tests, bench build)"
}

/// The repository root (the parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// The APIs named by `--api NAME` in `args`, or all of them.
fn selected_apis(args: &[String]) -> Result<Vec<&'static str>, String> {
    match args.iter().position(|a| a == "--api") {
        None => Ok(APIS.to_vec()),
        Some(i) => {
            let name = args.get(i + 1).ok_or("--api needs a name")?;
            APIS.iter()
                .find(|a| *a == name)
                .map(|a| vec![*a])
                .ok_or_else(|| format!("unknown API `{name}`; known: {}", APIS.join(", ")))
        }
    }
}

fn generate(args: &[String]) -> Result<(), String> {
    let root = root();
    let out_dir = root.join("target/generated");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    for api in selected_apis(args)? {
        let spec = root.join("spec").join(format!("{api}.yaml"));
        let generated = codegen::generate(&spec).map_err(|e| e.to_string())?;
        let target = out_dir.join(format!("{api}.rs"));
        std::fs::write(&target, &generated.code)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        println!(
            "{api}: {} operations, {} types -> {}",
            generated.operations,
            generated.types,
            target.strip_prefix(&root).unwrap_or(&target).display()
        );
    }
    Ok(())
}

/// The checks CI runs, each a cargo command run from the repository root.
const CI_STEPS: &[&[&str]] = &[
    &["fmt", "--all", "--check"],
    &[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ],
    &["test", "--workspace", "--all-features"],
    &["bench", "--no-run", "--all-features"],
];

fn ci() -> Result<(), String> {
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = std::time::Instant::now();
    for step in CI_STEPS {
        let shown = format!("cargo {}", step.join(" "));
        println!("==> {shown}");
        let t = std::time::Instant::now();
        let status = std::process::Command::new(&cargo)
            .args(*step)
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        if !status.success() {
            return Err(format!("{shown} failed ({status})"));
        }
        println!("<== {shown}: ok in {:.0?}", t.elapsed());
    }
    println!("ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}
