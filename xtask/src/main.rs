//! Maintainer tasks: `cargo xtask <command>`.
//!
//! - `generate [--api NAME]`: writes each API's generated client to
//!   `target/generated/<api>.rs` (the same code build.rs compiles) and prints
//!   how many operations and types it has.
//! - `ci`: every check CI runs, in order, stopping at the first failure
//!   (the test command of README.md; `.ci/run` calls it).

mod codegen;
mod diff;
mod lint;
mod public_api;
mod render;
mod spec;
mod surface;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every API, in the order reports list them; one whose `spec/<api>.yaml`
/// does not exist yet is passed over unless named with `--api`.
pub(crate) const APIS: &[&str] = &["timesync", "cronofy", "graph", "zendesk"];

/// APIs whose operations the tests do not all send yet: coverage reports
/// them without failing (each leaves this list when its issue is done).
const COVERAGE_PENDING: &[&str] = &[];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate(&args[1..]),
        Some("ci") => ci(),
        Some("surface") => {
            selected_apis(&args[1..]).and_then(|apis| surface::write(&root(), &apis))
        }
        Some("check") => check(&args[1..]),
        Some("coverage") => coverage(&args[1..]),
        Some("lint") => lint(&args[1..]),
        Some("diff") => diff::run(&root(), &args[1..]).and_then(|ok| {
            if ok {
                Ok(())
            } else {
                Err("breaking changes found (pass --allow-breaking to accept them)".into())
            }
        }),
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
       generate [--api NAME | FILE...]  write target/generated/<api>.rs and print operation and type counts\n  \
       surface [--api NAME]    write spec/surface/<api>.txt and src/docs/<api>_operations.md\n  \
       check [--api NAME]      fail with a diff when those committed files are stale\n  \
       lint [--api NAME | FILE...]  check the specs against the lint rules (see xtask/src/lint.rs)\n  \
       diff OLD NEW | diff --base REV SPEC [--format text|markdown] [--allow-breaking]\n  \
                               list what changed between two spec versions and what breaks\n  \
       coverage DIR            fail unless the operation logs in DIR (written by tests run with\n  \
                               SPECBOUND_OPERATION_LOG=DIR) show every operation of every spec sent\n  \
       ci                      run every CI check (fmt, clippy, tests, doc tests, bench build, lint, check)"
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
        None => Ok(APIS
            .iter()
            .copied()
            .filter(|a| root().join("spec").join(format!("{a}.yaml")).exists())
            .collect()),
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
    // `generate FILE...`: any spec file, written beside the others under its stem.
    let files: Vec<PathBuf> = args
        .iter()
        .filter(|a| a.ends_with(".yaml") || a.ends_with(".yml"))
        .map(PathBuf::from)
        .collect();
    let specs: Vec<(String, PathBuf)> = if files.is_empty() {
        selected_apis(args)?
            .into_iter()
            .map(|api| {
                (
                    api.to_string(),
                    root.join("spec").join(format!("{api}.yaml")),
                )
            })
            .collect()
    } else {
        files
            .into_iter()
            .map(|f| {
                let stem = f
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                (stem, f)
            })
            .collect()
    };
    for (api, spec) in specs {
        let generated =
            codegen::generate(&spec, prettyplease::unparse).map_err(|e| e.to_string())?;
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

/// Where the tests write the operations they send (see `coverage`).
const OPERATION_LOG: &str = "target/operation-log";

/// One CI step: cargo's arguments, and environment variables whose values
/// are paths below the repository root.
type Step = (Vec<String>, Vec<(&'static str, String)>);

/// Each API feature's own build, alone and with the sandbox, and the build
/// with no API at all: each must be free of warnings (code only some APIs
/// use must not warn when they are off).
const FEATURE_SETS: &[&str] = &[
    "tls-ring",
    "timesync,tls-ring",
    "timesync,tls-ring,sandbox",
    "cronofy,tls-ring",
    "cronofy,tls-ring,sandbox",
    "graph,tls-ring",
    "zendesk,tls-ring",
];

/// The checks CI runs, each a cargo command run from the repository root
/// (with environment variables), none repeating another: clippy checks
/// every target (benches and examples included) once with all features,
/// the feature sets check the library alone.
fn ci_steps() -> Vec<Step> {
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let mut steps = vec![
        (words("fmt --all --check"), vec![]),
        (words("xtask lint"), vec![]),
        (words("xtask check"), vec![]),
        (
            words("clippy --workspace --all-targets --all-features -- -D warnings"),
            vec![],
        ),
    ];
    for features in FEATURE_SETS {
        steps.push((
            words(&format!(
                "clippy --lib --no-default-features --features {features} -- -D warnings"
            )),
            vec![],
        ));
    }
    steps.push((
        words("test --workspace --all-features"),
        vec![("SPECBOUND_OPERATION_LOG", OPERATION_LOG.to_string())],
    ));
    steps.push((words(&format!("xtask coverage {OPERATION_LOG}")), vec![]));
    steps
}

fn check(args: &[String]) -> Result<(), String> {
    let apis = selected_apis(args)?;
    let diffs = surface::check(&root(), &apis)?;
    if diffs.is_empty() {
        println!(
            "check: the committed surfaces of {} match their specs",
            apis.join(", ")
        );
        return Ok(());
    }
    for d in &diffs {
        eprintln!("{d}");
    }
    Err(format!(
        "{} committed file(s) differ from what the specs produce: run `cargo xtask surface` and commit the result",
        diffs.len()
    ))
}

fn lint(args: &[String]) -> Result<(), String> {
    let root = root();
    let named_files = args
        .iter()
        .any(|a| [".yaml", ".yml", ".json"].iter().any(|e| a.ends_with(e)));
    let files: Vec<PathBuf> = if named_files {
        args.iter().map(PathBuf::from).collect()
    } else {
        selected_apis(args)?
            .into_iter()
            .map(|a| root.join("spec").join(format!("{a}.yaml")))
            .collect()
    };
    let mut total = 0;
    for file in &files {
        let spec = spec::Spec::load(file)?;
        let mut findings = lint::lint(&spec);
        findings.extend(lint::generator_findings(&spec));
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        for f in &findings {
            println!("{shown}#{}: [{}] {}", f.pointer, f.rule, f.message);
        }
        println!(
            "{shown}: {} operations, {} finding(s)",
            spec.operations().len(),
            findings.len()
        );
        total += findings.len();
    }
    if total > 0 {
        return Err(format!("lint: {total} finding(s)"));
    }
    Ok(())
}

/// `cargo xtask coverage DIR`: every operation of every spec was sent by
/// some test, as the runtime's operation log (`SPECBOUND_OPERATION_LOG`)
/// recorded it.
fn coverage(args: &[String]) -> Result<(), String> {
    let dir = args.first().ok_or("coverage needs the log folder")?;
    let mut sent: std::collections::BTreeMap<String, usize> = Default::default();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in text.lines() {
            *sent.entry(line.trim().to_string()).or_default() += 1;
        }
    }
    let mut missing = Vec::new();
    for api in selected_apis(&[])? {
        let spec = spec::Spec::load(&root().join("spec").join(format!("{api}.yaml")))?;
        let ops = spec.operations();
        let covered = ops
            .iter()
            .filter(|op| sent.contains_key(&format!("{api} {}", op.id())))
            .count();
        println!(
            "{api}: {covered} of {} operations sent by the tests",
            ops.len()
        );
        if COVERAGE_PENDING.contains(&api) {
            println!("{api}: coverage not enforced yet (COVERAGE_PENDING)");
            continue;
        }
        missing.extend(
            ops.iter()
                .map(|op| format!("{api} {}", op.id()))
                .filter(|key| !sent.contains_key(key)),
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} operation(s) no test sends:\n  {}",
        missing.len(),
        missing.join("\n  ")
    ))
}

fn ci() -> Result<(), String> {
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = std::time::Instant::now();
    // A fresh log, so that coverage counts this run only.
    let _ = std::fs::remove_dir_all(root.join(OPERATION_LOG));
    for (step, env) in ci_steps() {
        let shown = format!("cargo {}", step.join(" "));
        println!("==> {shown}");
        let t = std::time::Instant::now();
        let status = std::process::Command::new(&cargo)
            .args(&step)
            .envs(env.iter().map(|(k, v)| (*k, root.join(v))))
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
