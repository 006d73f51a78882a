//! `cargo xtask diff OLD NEW`: what a spec change does to users.
//!
//! ```text
//! cargo xtask diff OLD NEW [--format text|markdown] [--allow-breaking]
//! cargo xtask diff --base REV SPEC [--format text|markdown] [--allow-breaking]
//! ```
//!
//! Compares two versions of an OpenAPI 3.0 spec structurally (local `$ref`s
//! followed on both sides) and lists every added, removed and changed
//! operation, parameter, request body, response and schema. Each finding says
//! whether it breaks users and why, in the direction it travels: a schema
//! reached from a parameter or request body is judged with the request rules,
//! one reached from a response with the response rules, one reached from both
//! with both. The report is rendered from `templates/diff.txt.j2` or
//! `templates/diff.md.j2`, breaking changes first, with a semver verdict:
//! major if anything breaks, else minor if anything was added or changed,
//! else patch if only documentation changed, else none.
//!
//! Breaking: a removed operation; an operation moved to another path or
//! method; a renamed operationId (the Rust method is renamed); a removed,
//! renamed or moved parameter; a new required parameter; a parameter made
//! required; a parameter serialized differently (style, explode); a type or
//! format change of a parameter or field (also of `items` and
//! `additionalProperties`); a removed field; a new required request field; a
//! request field made required; a response field made optional; an enum value
//! removed (in requests the API refuses it, in both directions the Rust enum
//! loses the variant); an enum value added to a closed response enum (a plain
//! `enum:` list; open enums, `oneOf: [enum, string]`, take any string); an
//! enum made open or closed, or added to or dropped from a plain string;
//! nullable made non-nullable in requests; non-nullable made nullable in
//! responses; a success status code changed, added or removed; a success body
//! added, removed or given another media type; a request body added as
//! required, removed, made required or given another media type; a removed or
//! renamed component schema (the Rust type disappears or is renamed); a
//! `$ref` to another schema; request constraints tightened (limits, pattern,
//! multipleOf, uniqueItems); a changed request default; a field made
//! read-only (requests) or write-only (responses); additional properties
//! closed in requests or opened in responses; an allOf member removed, or
//! added with required fields in requests; a oneOf/anyOf variant removed, or
//! added in responses; a discriminator property changed; security added or an
//! accepted scheme dropped.
//!
//! Not breaking (minor): added operations, optional parameters, optional
//! request fields, response fields, request enum values, open response enum
//! values, new schemas, optional request bodies, error responses, media types
//! and oneOf variants in requests; relaxations (a parameter or request field
//! made optional, a request field made nullable, a response field made
//! required or non-nullable, request constraints loosened); deprecations; tag
//! changes (the method moves to another `Client<Tag>Ext` trait, which
//! `prelude::*` users do not notice).
//!
//! Patch: descriptions, summaries, titles, examples, external docs, tag order,
//! `x-` extensions, and the document's info, servers and tag list.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::render::render;
use crate::spec::{self, Spec};

mod bodies;
mod constraints;
mod facts;
mod model;
mod operations;
mod schemas;

use facts::*;
use model::*;

/// How deep a schema comparison goes before it stops (cycles are also cut by
/// remembering which pairs of schemas were already compared).
const MAX_DEPTH: usize = 32;

/// Keys that only document a schema, parameter, body, response or operation.
const DOC_KEYS: &[&str] = &[
    "description",
    "summary",
    "title",
    "example",
    "examples",
    "externalDocs",
    "xml",
];

/// Vendor extensions `xtask/src/codegen.rs` reads, and what changing one does
/// to the generated Rust types.
const CODEGEN_EXTENSIONS: &[(&str, &str)] = &[
    (
        "x-specbound-secret",
        "the Rust type switches to or from `Secret`",
    ),
    (
        "x-specbound-patch",
        "its optional nullable fields switch between `Option<T>` and `Patch<T>`",
    ),
    (
        "x-specbound-send-empty",
        "the Rust field switches between `T` and `Option<T>`",
    ),
];

/// Size and range limits: (keyword, true when a larger value is stricter).
const LIMITS: &[(&str, bool)] = &[
    ("minimum", true),
    ("maximum", false),
    ("minLength", true),
    ("maxLength", false),
    ("minItems", true),
    ("maxItems", false),
    ("minProperties", true),
    ("maxProperties", false),
];

/// The command's usage text.
fn usage() -> &'static str {
    "usage: cargo xtask diff OLD NEW [--format text|markdown] [--allow-breaking]\n       \
     cargo xtask diff --base REV SPEC [--format text|markdown] [--allow-breaking]\n\
     \n\
     OLD and NEW are spec files; with --base, OLD is SPEC as of the git revision REV\n\
     and NEW is the working copy. Exits non-zero on breaking changes unless --allow-breaking."
}

/// Runs the command; `Ok(false)` means breaking changes were found and not allowed.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<bool, String> {
    match execute(root, args)? {
        Some((report, ok)) => {
            print!("{report}");
            Ok(ok)
        }
        None => {
            println!("{}", usage());
            Ok(true)
        }
    }
}

/// Parses `args`, compares and renders: the report and whether the command
/// passes; `None` when help was asked for.
fn execute(root: &Path, args: &[String]) -> Result<Option<(String, bool)>, String> {
    let Some(args) = Args::parse(args)? else {
        return Ok(None);
    };
    let (old, new) = match &args.base {
        Some(rev) => {
            let [spec] = args.files.as_slice() else {
                return Err(format!("--base needs exactly one spec file\n\n{}", usage()));
            };
            let path = locate(root, spec)?;
            (load_at_revision(rev, spec, &path)?, load_file(root, spec)?)
        }
        None => {
            let [old, new] = args.files.as_slice() else {
                return Err(format!(
                    "diff needs OLD and NEW spec files (or --base REV SPEC)\n\n{}",
                    usage()
                ));
            };
            (load_file(root, old)?, load_file(root, new)?)
        }
    };
    let report = Report::new(&old, &new, compare(&old, &new));
    let text = render(root, args.format.template(), &report)?;
    let ok = report.verdict != "major" || args.allow_breaking;
    Ok(Some((text, ok)))
}

/// The command line of `diff`.
struct Args {
    files: Vec<String>,
    base: Option<String>,
    format: Format,
    allow_breaking: bool,
}

/// The report's format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    /// For a terminal (the default).
    Text,
    /// For a pull-request comment.
    Markdown,
}

impl Format {
    /// The template that renders this format.
    fn template(self) -> &'static str {
        match self {
            Format::Text => "diff.txt.j2",
            Format::Markdown => "diff.md.j2",
        }
    }
}

impl Args {
    /// Parses the arguments after `diff`; `None` for `--help`.
    fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let mut out = Args {
            files: Vec::new(),
            base: None,
            format: Format::Text,
            allow_breaking: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value\n\n{}", usage()))
            };
            match flag {
                "-h" | "--help" => return Ok(None),
                "--allow-breaking" => out.allow_breaking = true,
                "--base" => out.base = Some(value("--base")?),
                "--format" => {
                    out.format = match value("--format")?.as_str() {
                        "text" | "txt" => Format::Text,
                        "markdown" | "md" => Format::Markdown,
                        other => {
                            return Err(format!("unknown format `{other}`; known: text, markdown"));
                        }
                    }
                }
                f if f.starts_with('-') && f.len() > 1 => {
                    return Err(format!("unknown option `{f}` for diff\n\n{}", usage()));
                }
                _ => out.files.push(arg.clone()),
            }
        }
        Ok(Some(out))
    }
}

/// A spec file named on the command line: relative to the current directory,
/// else to the repository root.
fn locate(root: &Path, name: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(name);
    if path.is_absolute() || path.exists() {
        return Ok(path);
    }
    let in_root = root.join(&path);
    if in_root.exists() {
        Ok(in_root)
    } else {
        Err(format!("{name}: no such file"))
    }
}

/// Loads the spec file named `name` on the command line; messages and the
/// report call it by that name.
fn load_file(root: &Path, name: &str) -> Result<Spec, String> {
    let path = locate(root, name)?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
    Spec::parse(name.into(), &text)
}

/// `name` (found at `path`) as of git revision `rev`.
fn load_at_revision(rev: &str, name: &str, path: &Path) -> Result<Spec, String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .ok_or_else(|| format!("{name}: not a file"))?
        .to_string_lossy();
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("show")
        .arg(format!("{rev}:./{file}"))
        .output()
        .map_err(|e| format!("cannot run git to read {name} at {rev}: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!("git show {rev}:{name} failed: {}", err.trim()));
    }
    let text =
        String::from_utf8(output.stdout).map_err(|_| format!("{name} at {rev}: not UTF-8"))?;
    Spec::parse(format!("{rev}:{name}").into(), &text)
}

/// Compares two specs; the findings in discovery order.
fn compare(old: &Spec, new: &Spec) -> Vec<Finding> {
    let mut differ = Differ {
        old,
        new,
        renames: BTreeMap::new(),
        findings: Vec::new(),
        seen: HashSet::new(),
        open_old: open_enum_components(old),
        open_new: open_enum_components(new),
    };
    differ.document();
    differ.renames = differ.schema_renames();
    differ.operations();
    differ.components();
    differ.findings
}

/// The comparison's state.
struct Differ<'a> {
    old: &'a Spec,
    new: &'a Spec,
    /// Component schemas renamed from old to new.
    renames: BTreeMap<String, String>,
    findings: Vec<Finding>,
    /// Pairs of (old, new) pointers already compared, to cut cycles.
    seen: HashSet<(String, String)>,
    /// Component enums each spec uses as the known values of an open enum.
    open_old: BTreeSet<String>,
    open_new: BTreeSet<String>,
}

impl<'a> Differ<'a> {
    /// Records a finding whose breaking does not depend on direction; a
    /// removal points into OLD, anything else into NEW.
    fn push(
        &mut self,
        site: &Site,
        kind: Kind,
        level: Level,
        dirs: Option<Dirs>,
        what: String,
        reason: String,
    ) {
        let (side, pointer) = match kind {
            Kind::Removed => (Side::Old, site.old_ptr.clone()),
            Kind::Added | Kind::Changed => (Side::New, site.new_ptr.clone()),
        };
        self.findings.push(Finding {
            kind,
            area: site.area,
            location: site.location(),
            pointer,
            side,
            breaking: level == Level::Major,
            level,
            direction: dirs.map(Dirs::label).unwrap_or(""),
            what,
            reason,
        });
    }

    /// How the Rust type of schemas `o` → `n` changes, or `otherwise` when
    /// it keeps its name.
    fn rust_change(&self, o: &Value, n: &Value, otherwise: &str) -> String {
        let (orust, nrust) = (rust_type(self.old, o), rust_type(self.new, n));
        if orust != nrust {
            format!(
                "the Rust type changes from {} to {}",
                code(&orust),
                code(&nrust)
            )
        } else {
            otherwise.to_string()
        }
    }

    /// Records a finding judged by the request rule, the response rule, or
    /// both, as `dirs` says; non-breaking judgements are minor.
    fn judged(&mut self, site: &Site, kind: Kind, dirs: Dirs, what: String, req: Rule, resp: Rule) {
        let (breaking, reason) = match (dirs.request, dirs.response) {
            (true, false) => req,
            (false, true) => resp,
            (false, false) => (
                false,
                "the field travels in neither direction here (read-only or write-only)".into(),
            ),
            (true, true) if req.1 == resp.1 => (req.0 || resp.0, req.1),
            (true, true) if resp.0 && !req.0 => (
                true,
                format!("in responses: {}; in requests: {}", resp.1, req.1),
            ),
            (true, true) => (
                req.0 || resp.0,
                format!("in requests: {}; in responses: {}", req.1, resp.1),
            ),
        };
        let level = if breaking { Level::Major } else { Level::Minor };
        self.push(site, kind, level, Some(dirs), what, reason);
    }

    /// A finding that breaks in every direction.
    fn breaks(
        &mut self,
        site: &Site,
        kind: Kind,
        dirs: Option<Dirs>,
        what: String,
        reason: String,
    ) {
        self.push(site, kind, Level::Major, dirs, what, reason);
    }

    /// Documentation-only differences between `o` and `n` (one patch
    /// finding), changed generator hints, and deprecation.
    fn docs(&mut self, site: &Site, o: &Value, n: &Value) {
        let mut changed = doc_changes(o, n);
        for key in changed
            .iter()
            .filter(|k| k.starts_with("x-specbound-") && *k != "x-specbound-note")
        {
            let how = match (o.get(key.as_str()), n.get(key.as_str())) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            let kind = if how == "removed" {
                Kind::Removed
            } else {
                Kind::Changed
            };
            let site = &site.ptr(&format!("/{key}"));
            let what = format!("generator extension `{key}` {how}");
            match CODEGEN_EXTENSIONS.iter().find(|(k, _)| k == key) {
                Some((_, effect)) => {
                    let reason = format!(
                        "{effect}, so code constructing or reading it changes (xtask/src/codegen.rs)"
                    );
                    self.breaks(site, kind, None, what, reason);
                }
                None => {
                    let reason = "specbound's hand-written layer reads it (auth, paging, regions): behaviour may change, the wire format does not".to_string();
                    self.push(site, kind, Level::Minor, None, what, reason);
                }
            }
        }
        changed.retain(|k| !k.starts_with("x-specbound-") || k == "x-specbound-note");
        if !changed.is_empty() {
            let what = format!("documentation changed ({})", changed.join(", "));
            let reason = "documentation only: generated docs change, code does not".to_string();
            self.push(site, Kind::Changed, Level::Patch, None, what, reason);
        }
        match (o["deprecated"].as_bool().unwrap_or(false), n["deprecated"].as_bool().unwrap_or(false)) {
            (false, true) => self.push(&site.ptr("/deprecated"), Kind::Changed, Level::Minor, None, "deprecated".into(), "still works; the generated Rust item is marked `#[deprecated]`, so users get a warning".into()),
            (true, false) => self.push(site, Kind::Changed, Level::Patch, None, "no longer deprecated".into(), "the deprecation warning goes away".into()),
            _ => {}
        }
    }

    /// The document's info, servers and tag list.
    fn document(&mut self) {
        let (o, n) = (&self.old.doc, &self.new.doc);
        for key in ["info", "servers", "tags", "externalDocs"] {
            if o[key] != n[key] {
                let site = Site::new(
                    Area::Document,
                    key.into(),
                    format!("/{key}"),
                    format!("/{key}"),
                );
                let what = format!("`{key}` changed");
                let reason = "documentation only: no operation or type changes".to_string();
                self.push(&site, Kind::Changed, Level::Patch, None, what, reason);
            }
        }
    }

    /// Removed component schemas that reappear under another name with the
    /// same content (documentation aside): old name to new name.
    fn schema_renames(&self) -> BTreeMap<String, String> {
        let old = self.old.schemas().unwrap_or(&EMPTY);
        let new = self.new.schemas().unwrap_or(&EMPTY);
        let mut out = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for (name, schema) in old.iter().filter(|(k, _)| !new.contains_key(*k)) {
            let shape = strip_docs(schema);
            let found = new
                .iter()
                .filter(|(k, _)| !old.contains_key(*k) && !taken.contains(*k))
                .find(|(_, s)| strip_docs(s) == shape);
            if let Some((new_name, _)) = found {
                taken.insert(new_name.clone());
                out.insert(name.clone(), new_name.clone());
            }
        }
        out
    }
}

/// Counts by level.
#[derive(Serialize, Default)]
struct Counts {
    breaking: usize,
    minor: usize,
    patch: usize,
}

/// What the templates render.
#[derive(Serialize)]
struct Report {
    old: String,
    new: String,
    /// `major`, `minor`, `patch` or `none`.
    verdict: &'static str,
    counts: Counts,
    /// Every finding, breaking ones first, then minor, then patch.
    findings: Vec<Finding>,
    breaking: Vec<Finding>,
    minor: Vec<Finding>,
    patch: Vec<Finding>,
}

impl Report {
    /// Groups the findings by level and computes the verdict.
    fn new(old: &Spec, new: &Spec, findings: Vec<Finding>) -> Report {
        let of = |level: Level| {
            findings
                .iter()
                .filter(|f| f.level == level)
                .cloned()
                .collect::<Vec<_>>()
        };
        let (breaking, minor, patch) = (of(Level::Major), of(Level::Minor), of(Level::Patch));
        let verdict = if !breaking.is_empty() {
            "major"
        } else if !minor.is_empty() {
            "minor"
        } else if !patch.is_empty() {
            "patch"
        } else {
            "none"
        };
        Report {
            old: old.name.display().to_string(),
            new: new.name.display().to_string(),
            verdict,
            counts: Counts {
                breaking: breaking.len(),
                minor: minor.len(),
                patch: patch.len(),
            },
            findings: breaking
                .iter()
                .chain(&minor)
                .chain(&patch)
                .cloned()
                .collect(),
            breaking,
            minor,
            patch,
        }
    }
}

#[cfg(test)]
mod tests;
