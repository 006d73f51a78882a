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

/// What happened to the thing a finding is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Added,
    Removed,
    Changed,
}

/// The part of the spec a finding is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
enum Area {
    #[serde(rename = "operation")]
    Operation,
    #[serde(rename = "parameter")]
    Parameter,
    #[serde(rename = "request body")]
    RequestBody,
    #[serde(rename = "response")]
    Response,
    #[serde(rename = "schema")]
    Schema,
    /// The document's info, servers and tag list.
    #[serde(rename = "document")]
    Document,
}

/// The semver level a finding calls for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Patch,
    Minor,
    Major,
}

/// Which spec a pointer points into.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Side {
    Old,
    New,
}

/// The directions a value travels in: judged with request rules, response
/// rules, or both.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
struct Dirs {
    request: bool,
    response: bool,
}

impl Dirs {
    /// Judged with the request rules.
    const REQUEST: Dirs = Dirs {
        request: true,
        response: false,
    };
    /// Judged with the response rules.
    const RESPONSE: Dirs = Dirs {
        request: false,
        response: true,
    };
    /// Judged with both.
    const BOTH: Dirs = Dirs {
        request: true,
        response: true,
    };

    /// Both sets of directions.
    fn union(self, other: Dirs) -> Dirs {
        Dirs {
            request: self.request || other.request,
            response: self.response || other.response,
        }
    }

    /// As shown in reports.
    fn label(self) -> &'static str {
        match (self.request, self.response) {
            (true, true) => "request and response",
            (true, false) => "request",
            (false, true) => "response",
            (false, false) => "none",
        }
    }
}

/// One difference between the specs.
#[derive(Clone, Debug, Serialize)]
struct Finding {
    kind: Kind,
    area: Area,
    /// The operationId or schema name and the field path, like
    /// `Ticket.status` or `create_ticket request body .ticket.priority`.
    location: String,
    /// JSON pointer into the spec named by `side`.
    pointer: String,
    /// `new` for additions and changes, `old` for removals.
    side: Side,
    breaking: bool,
    level: Level,
    /// `request`, `response`, `request and response`, or empty when the
    /// direction does not matter (operations, documentation).
    direction: &'static str,
    /// The change, briefly: "enum value `hold` removed".
    what: String,
    /// What it does to users.
    reason: String,
}

/// A rule's judgement in one direction: whether it breaks, and why.
type Rule = (bool, String);

/// Where a comparison is: the finding's area and location, and the pointers
/// of the compared values in both specs.
#[derive(Clone, Debug)]
struct Site {
    area: Area,
    /// The operationId with its part (`create_ticket request body`) or the schema name.
    base: String,
    /// The field path below `base`: `.ticket.priority`, `[]`, `.*`.
    path: String,
    old_ptr: String,
    new_ptr: String,
    /// The Rust type generated for the value here, when it can be named
    /// (component schemas and their nested properties).
    rust: Option<String>,
    /// The name of the field, parameter or schema here, for messages.
    leaf: String,
}

impl Site {
    /// A site at the top of an operation part or a component schema.
    fn new(area: Area, base: String, old_ptr: String, new_ptr: String) -> Site {
        let leaf = base.clone();
        Site {
            area,
            base,
            path: String::new(),
            old_ptr,
            new_ptr,
            rust: None,
            leaf,
        }
    }

    /// The same site, naming `leaf` in messages.
    fn named(self, leaf: &str) -> Site {
        Site {
            leaf: leaf.to_string(),
            ..self
        }
    }

    /// `base` and `path` together: `Ticket.status`, `create_ticket request body .ticket`.
    fn location(&self) -> String {
        if self.path.is_empty() {
            self.base.clone()
        } else if self.area == Area::Schema {
            format!("{}{}", self.base, self.path)
        } else {
            format!("{} {}", self.base, self.path)
        }
    }

    /// The site one step down: `path` is appended to the location, `ptr` to both pointers.
    fn child(&self, path: &str, ptr: &str, rust: Option<&str>) -> Site {
        Site {
            area: self.area,
            base: self.base.clone(),
            path: format!("{}{path}", self.path),
            old_ptr: format!("{}{ptr}", self.old_ptr),
            new_ptr: format!("{}{ptr}", self.new_ptr),
            rust: match (&self.rust, rust) {
                (Some(parent), Some(part)) => Some(format!("{parent}{}", pascal(part))),
                _ => None,
            },
            leaf: match path.strip_prefix('.') {
                Some(name) if name != "*" => name.to_string(),
                _ => format!("{}{path}", self.leaf),
            },
        }
    }

    /// The same site, pointing `suffix` further into both specs.
    fn ptr(&self, suffix: &str) -> Site {
        Site {
            old_ptr: format!("{}{suffix}", self.old_ptr),
            new_ptr: format!("{}{suffix}", self.new_ptr),
            ..self.clone()
        }
    }

    /// The same site with other pointers (after following `$ref`s).
    fn at(&self, old_ptr: String, new_ptr: String) -> Site {
        Site {
            old_ptr,
            new_ptr,
            ..self.clone()
        }
    }

    /// The name of the field here, for messages.
    fn field(&self) -> String {
        self.leaf.clone()
    }

    /// "the Rust enum `TicketStatus`", or "the Rust enum" when unnamed.
    fn rust_enum(&self) -> String {
        match &self.rust {
            Some(name) => format!("the Rust enum `{name}`"),
            None => "the Rust enum".into(),
        }
    }
}

/// An operation of one spec, with what matching and comparing it needs.
struct Op<'a> {
    id: String,
    explicit_id: bool,
    method: &'static str,
    path: &'a str,
    /// The path with parameter names blanked: `/tickets/{}`.
    shape: String,
    pointer: String,
    op: &'a Value,
}

impl Op<'_> {
    /// `GET /tickets`.
    fn route(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

/// The operations of a spec, in its order.
fn ops(spec: &Spec) -> Vec<Op<'_>> {
    spec.operations()
        .into_iter()
        .map(|o| Op {
            id: o.id(),
            explicit_id: o.op["operationId"].is_string(),
            method: o.method,
            path: o.path,
            shape: path_shape(o.path),
            pointer: o.pointer,
            op: o.op,
        })
        .collect()
}

/// A path with its parameter names blanked, so `/t/{id}` and `/t/{ticket_id}` match.
fn path_shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// The names of a path's parameters, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .collect()
}

/// A parameter of an operation (path-level ones merged in, `$ref`s followed).
struct Param<'a> {
    name: String,
    location: String,
    value: &'a Value,
    pointer: String,
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

    /// Operations: matched by operationId, else by method and path.
    fn operations(&mut self) {
        let (old_ops, new_ops) = (ops(self.old), ops(self.new));
        let mut pair_of_new: Vec<Option<usize>> = vec![None; new_ops.len()];
        let mut used = vec![false; old_ops.len()];
        for (j, n) in new_ops.iter().enumerate().filter(|(_, n)| n.explicit_id) {
            if let Some(i) = (0..old_ops.len())
                .find(|&i| !used[i] && old_ops[i].explicit_id && old_ops[i].id == n.id)
            {
                used[i] = true;
                pair_of_new[j] = Some(i);
            }
        }
        for (j, n) in new_ops.iter().enumerate() {
            if pair_of_new[j].is_some() {
                continue;
            }
            if let Some(i) = (0..old_ops.len())
                .find(|&i| !used[i] && old_ops[i].method == n.method && old_ops[i].shape == n.shape)
            {
                used[i] = true;
                pair_of_new[j] = Some(i);
            }
        }
        for (j, n) in new_ops.iter().enumerate() {
            match pair_of_new[j] {
                Some(i) => self.operation(&old_ops[i], n),
                None => {
                    let site = Site::new(
                        Area::Operation,
                        n.id.clone(),
                        String::new(),
                        n.pointer.clone(),
                    );
                    let what = format!("added operation `{}`", n.route());
                    let reason = format!("new Rust method `{}()`", n.id);
                    self.push(&site, Kind::Added, Level::Minor, None, what, reason);
                }
            }
        }
        for o in old_ops
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(_, o)| o)
        {
            let site = Site::new(
                Area::Operation,
                o.id.clone(),
                o.pointer.clone(),
                String::new(),
            );
            let what = format!("removed operation `{}`", o.route());
            let reason = format!(
                "the Rust method `{}()` disappears, so code calling it stops compiling, and the API no longer serves `{}`",
                o.id,
                o.route()
            );
            self.breaks(&site, Kind::Removed, None, what, reason);
        }
    }

    /// One operation in both specs.
    fn operation(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let site = Site::new(
            Area::Operation,
            n.id.clone(),
            o.pointer.clone(),
            n.pointer.clone(),
        );
        if o.id != n.id {
            let what = format!("operationId renamed from `{}` to `{}`", o.id, n.id);
            let reason = format!(
                "the Rust method `{}()` becomes `{}()`, so code calling it stops compiling",
                o.id, n.id
            );
            self.breaks(&site.ptr("/operationId"), Kind::Changed, None, what, reason);
        }
        if o.method != n.method || o.shape != n.shape {
            let what = format!("moved from `{}` to `{}`", o.route(), n.route());
            let reason = format!(
                "clients built from the old spec call `{}`, which the API no longer serves (404 or 405)",
                o.route()
            );
            self.breaks(&site, Kind::Changed, None, what, reason);
        }
        self.docs(&site, o.op, n.op);
        self.tags(&site, o.op, n.op);
        self.security(&site, o.op, n.op);
        self.parameters(o, n);
        self.request_body(o, n);
        self.responses(o, n);
    }

    /// Tags: reordered is documentation; another set moves the method to
    /// another `Client<Tag>Ext` trait (minor: `prelude::*` users see no change).
    fn tags(&mut self, site: &Site, o: &Value, n: &Value) {
        let list = |v: &Value| -> Vec<String> {
            v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (ot, nt) = (list(o), list(n));
        if ot == nt {
            return;
        }
        let (os, ns): (BTreeSet<_>, BTreeSet<_>) = (ot.iter().collect(), nt.iter().collect());
        if os == ns {
            let what = format!("tags reordered to [{}]", nt.join(", "));
            self.push(
                &site.ptr("/tags"),
                Kind::Changed,
                Level::Patch,
                None,
                what,
                "documentation only".into(),
            );
        } else {
            let traits: Vec<String> = nt
                .iter()
                .map(|t| format!("`Client{}Ext`", pascal(t)))
                .collect();
            let what = format!(
                "tags changed from [{}] to [{}]",
                ot.join(", "),
                nt.join(", ")
            );
            let reason = format!(
                "the Rust method moves to {}; code importing `prelude::*` is not affected",
                if traits.is_empty() {
                    "the untagged client".to_string()
                } else {
                    traits.join(", ")
                }
            );
            self.push(
                &site.ptr("/tags"),
                Kind::Changed,
                Level::Minor,
                None,
                what,
                reason,
            );
        }
    }

    /// The security requirements in force for an operation, each as a sorted
    /// list of scheme names; `None` when anonymous access is allowed.
    fn security_of(spec: &Spec, op: &Value) -> Option<BTreeSet<Vec<String>>> {
        let reqs = op
            .get("security")
            .or_else(|| spec.doc.get("security"))?
            .as_array()?;
        let mut out = BTreeSet::new();
        for req in reqs {
            let names: Vec<String> = req
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            if names.is_empty() {
                return None;
            }
            out.insert(names);
        }
        if out.is_empty() { None } else { Some(out) }
    }

    /// Security: requiring credentials, or dropping an accepted scheme, breaks;
    /// accepting more is minor.
    fn security(&mut self, site: &Site, o: &Value, n: &Value) {
        let (os, ns) = (
            Self::security_of(self.old, o),
            Self::security_of(self.new, n),
        );
        let show = |s: &BTreeSet<Vec<String>>| {
            s.iter()
                .map(|r| format!("`{}`", r.join(" + ")))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match (&os, &ns) {
            (None, Some(ns)) => {
                let what = format!("now requires {}", show(ns));
                let reason =
                    "clients calling it without credentials get 401 from the API".to_string();
                self.breaks(&site.ptr("/security"), Kind::Changed, None, what, reason);
            }
            (Some(os), None) => {
                let what = format!("no longer requires {}", show(os));
                let reason =
                    "anonymous calls are accepted; existing credentials still work".to_string();
                self.push(site, Kind::Changed, Level::Minor, None, what, reason);
            }
            (Some(os), Some(ns)) if os != ns => {
                let dropped: BTreeSet<_> = os.difference(ns).cloned().collect();
                if dropped.is_empty() {
                    let what = format!(
                        "security now also accepts {}",
                        show(&ns.difference(os).cloned().collect())
                    );
                    let reason =
                        "more ways to authenticate; existing credentials still work".to_string();
                    self.push(
                        &site.ptr("/security"),
                        Kind::Changed,
                        Level::Minor,
                        None,
                        what,
                        reason,
                    );
                } else {
                    let what = format!("security changed from {} to {}", show(os), show(ns));
                    let reason = format!(
                        "clients authenticating with {} get 401 from the API",
                        show(&dropped)
                    );
                    self.breaks(&site.ptr("/security"), Kind::Changed, None, what, reason);
                }
            }
            _ => {}
        }
    }

    /// The parameters of an operation: path-level ones, overridden by the
    /// operation's own, `$ref`s followed.
    fn params_of(spec: &'a Spec, op: &Op<'a>) -> Vec<Param<'a>> {
        let item_ptr = format!("/paths/{}", spec::escape(op.path));
        let item = &spec.doc["paths"][op.path];
        let mut out: Vec<Param<'a>> = Vec::new();
        for (list, ptr) in [
            (&item["parameters"], item_ptr),
            (&op.op["parameters"], op.pointer.clone()),
        ] {
            for (i, raw) in list.as_array().into_iter().flatten().enumerate() {
                let (value, pointer) = resolve_at(spec, raw, format!("{ptr}/parameters/{i}"));
                let name = value["name"].as_str().unwrap_or_default().to_string();
                let location = value["in"].as_str().unwrap_or_default().to_string();
                out.retain(|p| !(p.name == name && p.location == location));
                out.push(Param {
                    name,
                    location,
                    value,
                    pointer,
                });
            }
        }
        out
    }

    /// Parameters, paired by position in the path (so a renamed path
    /// parameter is seen as one), else by name (so a moved one is too).
    fn parameters(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let (old_params, new_params) = (Self::params_of(self.old, o), Self::params_of(self.new, n));
        let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut used_old = vec![false; old_params.len()];
        let mut used_new = vec![false; new_params.len()];
        // Path parameters pair by position when the path keeps its shape, so a renamed one is seen as such.
        if o.shape == n.shape {
            for (on, nn) in path_params(o.path).into_iter().zip(path_params(n.path)) {
                let oi = old_params
                    .iter()
                    .position(|p| p.location == "path" && p.name == on);
                let ni = new_params
                    .iter()
                    .position(|p| p.location == "path" && p.name == nn);
                if let (Some(oi), Some(ni)) = (oi, ni) {
                    used_old[oi] = true;
                    used_new[ni] = true;
                    pairs.push((Some(oi), Some(ni)));
                }
            }
        }
        let unpaired: Vec<usize> = (0..new_params.len()).filter(|i| !used_new[*i]).collect();
        for ni in unpaired {
            let np = &new_params[ni];
            let same = |p: &Param<'_>, i: usize| !used_old[i] && p.name == np.name;
            let exact = old_params
                .iter()
                .enumerate()
                .position(|(i, p)| same(p, i) && p.location == np.location);
            let moved = old_params.iter().enumerate().position(|(i, p)| same(p, i));
            match exact.or(moved) {
                Some(oi) => {
                    used_old[oi] = true;
                    used_new[ni] = true;
                    pairs.push((Some(oi), Some(ni)));
                }
                None => pairs.push((None, Some(ni))),
            }
        }
        pairs.extend(
            (0..old_params.len())
                .filter(|i| !used_old[*i])
                .map(|i| (Some(i), None)),
        );
        for pair in pairs {
            match pair {
                (Some(oi), Some(ni)) => self.parameter(n, &old_params[oi], &new_params[ni]),
                (None, Some(ni)) => {
                    let p = &new_params[ni];
                    let site = Site::new(
                        Area::Parameter,
                        format!("{} parameter {} ({})", n.id, p.name, p.location),
                        String::new(),
                        p.pointer.clone(),
                    );
                    let setter = snake(&p.name);
                    if p.location == "path" || p.value["required"].as_bool() == Some(true) {
                        let what = format!("added required {} parameter `{}`", p.location, p.name);
                        let reason = format!(
                            "clients that do not send `{}` get 400 from the API, and the Rust builder fails until `.{setter}(..)` is set",
                            p.name
                        );
                        self.breaks(&site, Kind::Added, Some(Dirs::REQUEST), what, reason);
                    } else {
                        let what = format!("added optional {} parameter `{}`", p.location, p.name);
                        let reason = format!(
                            "new optional builder setter `.{setter}(..)`; existing calls are unchanged"
                        );
                        self.push(
                            &site,
                            Kind::Added,
                            Level::Minor,
                            Some(Dirs::REQUEST),
                            what,
                            reason,
                        );
                    }
                }
                (Some(oi), None) => {
                    let p = &old_params[oi];
                    let site = Site::new(
                        Area::Parameter,
                        format!("{} parameter {} ({})", n.id, p.name, p.location),
                        p.pointer.clone(),
                        String::new(),
                    );
                    let what = format!("removed {} parameter `{}`", p.location, p.name);
                    let reason = format!(
                        "the Rust builder setter `.{}(..)` disappears, so code setting it stops compiling, and the API ignores or refuses it",
                        snake(&p.name)
                    );
                    self.breaks(&site, Kind::Removed, Some(Dirs::REQUEST), what, reason);
                }
                (None, None) => {}
            }
        }
    }

    /// One parameter in both specs: name, location, required, serialization,
    /// docs, and its schema with the request rules.
    fn parameter(&mut self, n_op: &Op<'a>, o: &Param<'a>, n: &Param<'a>) {
        let site = Site::new(
            Area::Parameter,
            format!("{} parameter {} ({})", n_op.id, n.name, n.location),
            o.pointer.clone(),
            n.pointer.clone(),
        )
        .named(&n.name);
        let req = Some(Dirs::REQUEST);
        if o.name != n.name {
            let what = format!("path parameter `{}` renamed to `{}`", o.name, n.name);
            let reason = format!(
                "the Rust builder setter `.{}(..)` becomes `.{}(..)`, so code setting it stops compiling",
                snake(&o.name),
                snake(&n.name)
            );
            self.breaks(&site.ptr("/name"), Kind::Changed, req, what, reason);
        }
        if o.location != n.location {
            let what = format!(
                "parameter `{}` moved from {} to {}",
                n.name, o.location, n.location
            );
            let reason = format!(
                "clients built from the old spec send it in the {}, where the API no longer reads it",
                o.location
            );
            self.breaks(&site.ptr("/in"), Kind::Changed, req, what, reason);
        }
        let required =
            |p: &Param<'_>| p.location == "path" || p.value["required"].as_bool() == Some(true);
        match (required(o), required(n)) {
            (false, true) => {
                let what = format!("parameter `{}` made required", n.name);
                let reason = format!(
                    "clients that leave `{}` out get 400 from the API, and the Rust builder fails until `.{}(..)` is set",
                    n.name,
                    snake(&n.name)
                );
                self.breaks(&site.ptr("/required"), Kind::Changed, req, what, reason);
            }
            (true, false) => {
                let what = format!("parameter `{}` made optional", n.name);
                let reason =
                    "clients may leave it out now; existing calls are unchanged".to_string();
                self.push(
                    &site.ptr("/required"),
                    Kind::Changed,
                    Level::Minor,
                    req,
                    what,
                    reason,
                );
            }
            _ => {}
        }
        let style = |p: &Param<'_>| {
            let default = if matches!(p.location.as_str(), "query" | "cookie") {
                "form"
            } else {
                "simple"
            };
            let style = p.value["style"].as_str().unwrap_or(default).to_string();
            let explode = p.value["explode"].as_bool().unwrap_or(style == "form");
            (style, explode)
        };
        if o.location == n.location && style(o) != style(n) {
            let ((os, oe), (ns, ne)) = (style(o), style(n));
            let what = format!(
                "serialization changed from style `{os}` explode {oe} to style `{ns}` explode {ne}"
            );
            let reason =
                "values are written differently, so the API misreads values sent the old way"
                    .to_string();
            self.breaks(&site, Kind::Changed, req, what, reason);
        }
        self.docs(&site, o.value, n.value);
        let (os, osp) = param_schema(o);
        let (ns, nsp) = param_schema(n);
        if let (Some(os), Some(ns)) = (os, ns) {
            let site = site.at(osp, nsp);
            self.schema(&site, os, ns, Dirs::REQUEST, 0);
        }
    }

    /// The request body: added (breaking when required), removed, made
    /// required or optional, and its content with the request rules.
    fn request_body(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let ob =
            o.op.get("requestBody")
                .map(|b| resolve_at(self.old, b, format!("{}/requestBody", o.pointer)));
        let nb =
            n.op.get("requestBody")
                .map(|b| resolve_at(self.new, b, format!("{}/requestBody", n.pointer)));
        let base = format!("{} request body", n.id);
        let req = Some(Dirs::REQUEST);
        match (ob, nb) {
            (None, None) => {}
            (None, Some((nb, np))) => {
                let site = Site::new(Area::RequestBody, base, String::new(), np);
                if nb["required"].as_bool() == Some(true) {
                    let what = "added required request body".to_string();
                    let reason = "clients that send no body get 400 from the API, and the Rust builder fails until `.body(..)` is set".to_string();
                    self.breaks(&site, Kind::Added, req, what, reason);
                } else {
                    let what = "added optional request body".to_string();
                    let reason =
                        "new optional builder setter `.body(..)`; existing calls are unchanged"
                            .to_string();
                    self.push(&site, Kind::Added, Level::Minor, req, what, reason);
                }
            }
            (Some((_, op)), None) => {
                let site = Site::new(Area::RequestBody, base, op, String::new());
                let what = "removed request body".to_string();
                let reason = "the Rust builder setter `.body(..)` disappears, so code setting it stops compiling, and the API ignores or refuses a body".to_string();
                self.breaks(&site, Kind::Removed, req, what, reason);
            }
            (Some((ob, op)), Some((nb, np))) => {
                let site = Site::new(Area::RequestBody, base, op, np).named("body");
                match (
                    ob["required"].as_bool() == Some(true),
                    nb["required"].as_bool() == Some(true),
                ) {
                    (false, true) => {
                        let what = "request body made required".to_string();
                        let reason = "clients that send no body get 400 from the API, and the Rust builder fails until `.body(..)` is set".to_string();
                        self.breaks(&site.ptr("/required"), Kind::Changed, req, what, reason);
                    }
                    (true, false) => {
                        let what = "request body made optional".to_string();
                        let reason =
                            "clients may leave the body out now; existing calls are unchanged"
                                .to_string();
                        self.push(
                            &site.ptr("/required"),
                            Kind::Changed,
                            Level::Minor,
                            req,
                            what,
                            reason,
                        );
                    }
                    _ => {}
                }
                self.docs(&site, ob, nb);
                self.content(&site, ob, nb, Dirs::REQUEST, true);
            }
        }
    }

    /// The `content` of a request body or response: media types and their schemas.
    fn content(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, strict: bool) {
        let oc = o["content"].as_object().unwrap_or(&EMPTY);
        let nc = n["content"].as_object().unwrap_or(&EMPTY);
        let request = dirs.request;
        let mut pairs: Vec<(&String, &String)> = oc
            .keys()
            .filter(|k| nc.contains_key(*k))
            .map(|k| (k, k))
            .collect();
        let removed: Vec<&String> = oc.keys().filter(|k| !nc.contains_key(*k)).collect();
        let added: Vec<&String> = nc.keys().filter(|k| !oc.contains_key(*k)).collect();
        let level = if strict { Level::Major } else { Level::Minor };
        if removed.len() == 1 && added.len() == 1 {
            let (om, nm) = (removed[0], added[0]);
            let what = format!("media type changed from `{om}` to `{nm}`");
            let reason = if request {
                format!(
                    "clients sending `{om}` get 415 from the API, and the generated client encodes the body differently"
                )
            } else {
                format!(
                    "the API answers `{nm}` instead of `{om}`, which clients built from the old spec cannot decode"
                )
            };
            self.push(
                &site.ptr(&format!("/content/{}", spec::escape(nm))),
                Kind::Changed,
                level,
                Some(dirs),
                what,
                reason,
            );
            pairs.push((om, nm));
        } else {
            for m in &removed {
                let what = format!("media type `{m}` removed");
                let reason = if request {
                    format!("clients sending `{m}` get 415 from the API")
                } else {
                    format!("the API no longer answers `{m}`; clients decoding it break")
                };
                self.push(
                    &site.ptr(&format!("/content/{}", spec::escape(m))),
                    Kind::Removed,
                    level,
                    Some(dirs),
                    what,
                    reason,
                );
            }
            for m in &added {
                let what = format!("media type `{m}` added");
                let (lvl, reason) = if request {
                    (Level::Minor, format!("clients may also send `{m}`"))
                } else {
                    (
                        level,
                        format!(
                            "the API may answer `{m}`, which clients built from the old spec do not expect"
                        ),
                    )
                };
                self.push(
                    &site.ptr(&format!("/content/{}", spec::escape(m))),
                    Kind::Added,
                    lvl,
                    Some(dirs),
                    what,
                    reason,
                );
            }
        }
        for (om, nm) in pairs {
            let mut site = site.at(
                format!("{}/content/{}", site.old_ptr, spec::escape(om)),
                format!("{}/content/{}", site.new_ptr, spec::escape(nm)),
            );
            if nm != "application/json" {
                site.base = format!("{} ({nm})", site.base);
            }
            let (omt, nmt) = (&oc[om.as_str()], &nc[nm.as_str()]);
            self.docs(&site, omt, nmt);
            match (omt.get("schema"), nmt.get("schema")) {
                (Some(os), Some(ns)) => {
                    let s = site.child("", "/schema", None);
                    self.schema(&s, os, ns, dirs, 0);
                }
                (None, Some(_)) => {
                    let what = "schema added to the body".to_string();
                    let reason = "the body was untyped; the Rust type changes from `serde_json::Value` to a typed one".to_string();
                    self.breaks(&site.ptr("/schema"), Kind::Added, Some(dirs), what, reason);
                }
                (Some(_), None) => {
                    let what = "schema removed from the body".to_string();
                    let reason = "the Rust type of the body becomes `serde_json::Value`, so code using its fields stops compiling".to_string();
                    self.breaks(
                        &site.ptr("/schema"),
                        Kind::Removed,
                        Some(dirs),
                        what,
                        reason,
                    );
                }
                (None, None) => {}
            }
        }
    }

    /// Responses by status: a changed, added or removed success status
    /// breaks; error statuses added or removed are minor.
    fn responses(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let ors = o.op["responses"].as_object().unwrap_or(&EMPTY);
        let nrs = n.op["responses"].as_object().unwrap_or(&EMPTY);
        let success = |code: &String| code.starts_with('2');
        let os: Vec<&String> = ors.keys().filter(|c| success(c)).collect();
        let ns: Vec<&String> = nrs.keys().filter(|c| success(c)).collect();
        let site_for = |code: &str, op: String, np: String| {
            Site::new(Area::Response, format!("{} response {code}", n.id), op, np)
        };
        let o_ptr = |code: &str| format!("{}/responses/{}", o.pointer, spec::escape(code));
        let n_ptr = |code: &str| format!("{}/responses/{}", n.pointer, spec::escape(code));
        let mut pairs: Vec<(&String, &String)> = ors
            .keys()
            .filter(|c| nrs.contains_key(*c))
            .map(|c| (c, c))
            .collect();
        let gone: Vec<&String> = os
            .iter()
            .copied()
            .filter(|c| !nrs.contains_key(*c))
            .collect();
        let came: Vec<&String> = ns
            .iter()
            .copied()
            .filter(|c| !ors.contains_key(*c))
            .collect();
        let mut handled: BTreeSet<&String> = BTreeSet::new();
        if gone.len() == 1 && came.len() == 1 {
            let (oc, nc) = (gone[0], came[0]);
            let site = site_for(nc, o_ptr(oc), n_ptr(nc));
            let what = format!("success status changed from {oc} to {nc}");
            let reason = format!(
                "the generated client accepts only {nc} as success now, and clients built from the old spec treat {nc} as an unexpected answer"
            );
            self.breaks(&site, Kind::Changed, Some(Dirs::RESPONSE), what, reason);
            pairs.push((oc, nc));
            handled.extend([oc, nc]);
        }
        for code in ors
            .keys()
            .filter(|c| !nrs.contains_key(*c) && !handled.contains(c))
        {
            let site = site_for(code, o_ptr(code), String::new());
            if success(code) {
                let what = format!("success response {code} removed");
                let reason = format!(
                    "the API no longer answers {code}; code handling its body breaks and the Rust return type may change"
                );
                self.breaks(&site, Kind::Removed, Some(Dirs::RESPONSE), what, reason);
            } else {
                let what = format!("response {code} removed");
                let reason = "an error answer is no longer documented; its typed error body may disappear from the Rust error".to_string();
                self.push(
                    &site,
                    Kind::Removed,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
        }
        for code in nrs
            .keys()
            .filter(|c| !ors.contains_key(*c) && !handled.contains(c))
        {
            let site = site_for(code, String::new(), n_ptr(code));
            if success(code) && !os.is_empty() {
                let what = format!("success response {code} added");
                let reason =
                    format!("clients built from the old spec treat {code} as an unexpected answer");
                self.breaks(&site, Kind::Added, Some(Dirs::RESPONSE), what, reason);
            } else {
                let what = format!("response {code} added");
                let reason =
                    "a newly documented answer; existing handling is unchanged".to_string();
                self.push(
                    &site,
                    Kind::Added,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
        }
        for (oc, nc) in pairs {
            let (or, op) = resolve_at(self.old, &ors[oc.as_str()], o_ptr(oc));
            let (nr, np) = resolve_at(self.new, &nrs[nc.as_str()], n_ptr(nc));
            let site = site_for(nc, op, np).named("body");
            self.response(&site, or, nr, success(nc));
        }
    }

    /// One response in both specs: body added or removed, content with the
    /// response rules, headers.
    fn response(&mut self, site: &Site, o: &'a Value, n: &'a Value, success: bool) {
        self.docs(site, o, n);
        let has_body = |r: &Value| r["content"].as_object().is_some_and(|c| !c.is_empty());
        match (has_body(o), has_body(n)) {
            (false, true) if success => {
                let what = "success body added".to_string();
                let reason = "the Rust method now returns a typed body instead of `()`, so code using its result changes".to_string();
                self.breaks(
                    &site.ptr("/content"),
                    Kind::Added,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (true, false) if success => {
                let what = "success body removed".to_string();
                let reason =
                    "the Rust method returns `()` now, so code reading the answer stops compiling"
                        .to_string();
                self.breaks(
                    &site.ptr("/content"),
                    Kind::Removed,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (true, true) => self.content(site, o, n, Dirs::RESPONSE, success),
            (false, true) => {
                let what = "error body added".to_string();
                self.push(
                    &site.ptr("/content"),
                    Kind::Added,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    "errors carry a typed body now".into(),
                );
            }
            (true, false) => {
                let what = "error body removed".to_string();
                let reason =
                    "errors no longer carry a typed body; code reading it gets nothing".to_string();
                self.push(
                    &site.ptr("/content"),
                    Kind::Removed,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (false, false) => {}
        }
        let oh = o["headers"].as_object().unwrap_or(&EMPTY);
        let nh = n["headers"].as_object().unwrap_or(&EMPTY);
        for name in oh.keys().filter(|k| !nh.contains_key(*k)) {
            let what = format!("response header `{name}` removed");
            let reason = format!("clients reading `{name}` from the answer get nothing");
            let lvl = if success { Level::Major } else { Level::Minor };
            self.push(
                &site.ptr(&format!("/headers/{}", spec::escape(name))),
                Kind::Removed,
                lvl,
                Some(Dirs::RESPONSE),
                what,
                reason,
            );
        }
        for name in nh.keys().filter(|k| !oh.contains_key(*k)) {
            let what = format!("response header `{name}` added");
            self.push(
                &site.ptr(&format!("/headers/{}", spec::escape(name))),
                Kind::Added,
                Level::Minor,
                Some(Dirs::RESPONSE),
                what,
                "answers carry a new header".into(),
            );
        }
        for name in oh.keys().filter(|k| nh.contains_key(*k)) {
            let ptr = format!("/headers/{}", spec::escape(name));
            let (ov, op) = resolve_at(
                self.old,
                &oh[name.as_str()],
                format!("{}{ptr}", site.old_ptr),
            );
            let (nv, np) = resolve_at(
                self.new,
                &nh[name.as_str()],
                format!("{}{ptr}", site.new_ptr),
            );
            let hs = Site {
                path: format!("header {name}"),
                ..site.at(op, np)
            }
            .named(name);
            self.docs(&hs, ov, nv);
            if let (Some(os), Some(ns)) = (ov.get("schema"), nv.get("schema")) {
                let s = hs.child("", "/schema", None);
                self.schema(&s, os, ns, Dirs::RESPONSE, 0);
            }
        }
    }

    /// Which component schemas each spec reaches from requests and responses.
    fn usage(spec: &'a Spec) -> BTreeMap<String, Dirs> {
        let mut out: BTreeMap<String, Dirs> = BTreeMap::new();
        for op in ops(spec) {
            let mut request = BTreeSet::new();
            let mut response = BTreeSet::new();
            for p in Self::params_of(spec, &op) {
                collect_refs(spec, p.value, &mut request, &mut HashSet::new());
            }
            if let Some(body) = op.op.get("requestBody") {
                collect_refs(spec, body, &mut request, &mut HashSet::new());
            }
            if let Some(responses) = op.op.get("responses") {
                collect_refs(spec, responses, &mut response, &mut HashSet::new());
            }
            for name in request {
                let d = out.entry(name).or_default();
                *d = d.union(Dirs::REQUEST);
            }
            for name in response {
                let d = out.entry(name).or_default();
                *d = d.union(Dirs::RESPONSE);
            }
        }
        out
    }

    /// Component schemas: removed, renamed, added, and changed ones.
    fn components(&mut self) {
        let (old, new) = (
            self.old.schemas().unwrap_or(&EMPTY),
            self.new.schemas().unwrap_or(&EMPTY),
        );
        let (old_use, new_use) = (Self::usage(self.old), Self::usage(self.new));
        let dirs_of = |old_name: Option<&str>, new_name: Option<&str>| {
            let d = old_name
                .and_then(|n| old_use.get(n))
                .copied()
                .unwrap_or_default();
            let d = d.union(
                new_name
                    .and_then(|n| new_use.get(n))
                    .copied()
                    .unwrap_or_default(),
            );
            // A schema no operation uses is still a public Rust type: judge it both ways.
            if d == Dirs::default() { Dirs::BOTH } else { d }
        };
        let ptr = |name: &str| format!("/components/schemas/{}", spec::escape(name));
        let renames = self.renames.clone();
        let renamed_to: BTreeSet<&String> = renames.values().collect();
        for name in old.keys().filter(|k| !new.contains_key(*k)) {
            match renames.get(name) {
                Some(to) => {
                    let site = Site::new(Area::Schema, to.clone(), ptr(name), ptr(to));
                    let what = format!("schema `{name}` renamed to `{to}`");
                    let reason = format!(
                        "the Rust type `{}` becomes `{}`, so code naming it stops compiling (the wire format is the same)",
                        pascal(name),
                        pascal(to)
                    );
                    self.breaks(
                        &site,
                        Kind::Changed,
                        Some(dirs_of(Some(name), Some(to))),
                        what,
                        reason,
                    );
                }
                None => {
                    let site = Site::new(Area::Schema, name.clone(), ptr(name), String::new());
                    let what = format!("schema `{name}` removed");
                    let reason = format!(
                        "the Rust type `{}` disappears, so code naming it stops compiling",
                        pascal(name)
                    );
                    self.breaks(
                        &site,
                        Kind::Removed,
                        Some(dirs_of(Some(name), None)),
                        what,
                        reason,
                    );
                }
            }
        }
        for name in new
            .keys()
            .filter(|k| !old.contains_key(*k) && !renamed_to.contains(k))
        {
            let site = Site::new(Area::Schema, name.clone(), String::new(), ptr(name));
            let what = format!("schema `{name}` added");
            let reason = format!("new Rust type `{}`", pascal(name));
            self.push(
                &site,
                Kind::Added,
                Level::Minor,
                Some(dirs_of(None, Some(name))),
                what,
                reason,
            );
        }
        let mut pairs: Vec<(&String, &String)> = old
            .keys()
            .filter(|k| new.contains_key(*k))
            .map(|k| (k, k))
            .collect();
        pairs.extend(renames.iter());
        for (on, nn) in pairs {
            let mut site = Site::new(Area::Schema, nn.clone(), ptr(on), ptr(nn));
            site.rust = Some(pascal(nn));
            let dirs = dirs_of(Some(on), Some(nn));
            self.schema_body(&site, &old[on.as_str()], &new[nn.as_str()], dirs, 0);
        }
    }

    /// Compares two schemas found at `site`; a `$ref` to the same component
    /// schema on both sides stops here (components are compared on their own).
    fn schema(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        match (component_ref(o), component_ref(n)) {
            (Some(a), Some(b)) => {
                if a == b || self.renames.get(a).is_some_and(|r| r == b) {
                    return;
                }
                let what = format!("schema changed from `{a}` to `{b}`");
                let reason = format!(
                    "the Rust type changes from `{}` to `{}`, and so does the wire format",
                    pascal(a),
                    pascal(b)
                );
                self.breaks(site, Kind::Changed, Some(dirs), what, reason);
            }
            (Some(a), None) => {
                let what = match n.get("$ref").and_then(Value::as_str) {
                    Some(r) => format!("schema `{a}` replaced by `{r}`"),
                    None => format!("schema `{a}` replaced by an inline schema"),
                };
                let reason = format!(
                    "the Rust type is no longer `{}`; differences in content are listed separately",
                    pascal(a)
                );
                self.push(site, Kind::Changed, Level::Minor, Some(dirs), what, reason);
                self.schema_body(site, o, n, dirs, depth);
            }
            (None, Some(b)) => {
                let what = match o.get("$ref").and_then(Value::as_str) {
                    Some(r) => format!("`{r}` replaced by schema `{b}`"),
                    None => format!("inline schema replaced by `{b}`"),
                };
                let reason = format!(
                    "the Rust type is now `{}`; differences in content are listed separately",
                    pascal(b)
                );
                self.push(site, Kind::Changed, Level::Minor, Some(dirs), what, reason);
                self.schema_body(site, o, n, dirs, depth);
            }
            (None, None) => self.schema_body(site, o, n, dirs, depth),
        }
    }

    /// Compares two schemas structurally, following `$ref`s on both sides.
    fn schema_body(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (o, op) = resolve_at(self.old, o, site.old_ptr.clone());
        let (n, np) = resolve_at(self.new, n, site.new_ptr.clone());
        if !self
            .seen
            .insert((op.clone(), format!("{np} {}", dirs.label())))
        {
            return;
        }
        let site = &site.at(op, np);
        self.docs(site, o, n);
        let (ot, nt) = (ty(self.old, o), ty(self.new, n));
        let changed_type = match (&ot, &nt) {
            (Ty::Composite, _) | (_, Ty::Composite) => false,
            (a, b) => a != b,
        };
        if changed_type {
            let what = format!("type changed from {} to {}", ot.show(), nt.show());
            let rust = self.rust_change(o, n, "the Rust type changes");
            let req = (
                true,
                format!(
                    "clients that send {} get 400 from the API, and {rust}",
                    ot.article()
                ),
            );
            let resp = (
                true,
                format!(
                    "clients expecting {} get {}, and {rust}",
                    ot.article(),
                    nt.article()
                ),
            );
            self.judged(site, Kind::Changed, dirs, what, req, resp);
            return;
        }
        let (of, nf) = (o["format"].as_str(), n["format"].as_str());
        if of != nf {
            let show =
                |f: Option<&str>| f.map(|f| format!("`{f}`")).unwrap_or_else(|| "none".into());
            let what = format!("format changed from {} to {}", show(of), show(nf));
            let rust = self.rust_change(o, n, "values valid before may be refused or misread");
            let req = (
                true,
                format!("clients sending the old format get 400 from the API, and {rust}"),
            );
            let resp = (
                true,
                format!("clients parsing the old format break, and {rust}"),
            );
            self.judged(&site.ptr("/format"), Kind::Changed, dirs, what, req, resp);
        }
        self.nullable(site, o, n, dirs);
        self.enums(site, o, n, dirs);
        self.limits(site, o, n, dirs);
        self.default(site, o, n, dirs);
        self.access(site, o, n, dirs);
        self.properties(site, o, n, dirs, depth);
        self.additional(site, o, n, dirs, depth);
        self.items(site, o, n, dirs, depth);
        self.all_of(site, o, n, dirs, depth);
        if enum_info(self.old, o).is_none() && enum_info(self.new, n).is_none() {
            self.one_of(site, o, n, dirs, depth, "oneOf");
            self.one_of(site, o, n, dirs, depth, "anyOf");
        }
        if o["discriminator"]["propertyName"] != n["discriminator"]["propertyName"] {
            let what = "discriminator property changed".to_string();
            let reason =
                "variants are told apart by another field, so bodies built the old way are misread"
                    .to_string();
            self.breaks(
                &site.ptr("/discriminator"),
                Kind::Changed,
                Some(dirs),
                what,
                reason,
            );
        }
    }

    /// `nullable`: made nullable breaks responses, made non-nullable breaks requests.
    fn nullable(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let field = site.field();
        match (
            o["nullable"].as_bool() == Some(true),
            n["nullable"].as_bool() == Some(true),
        ) {
            (false, true) => {
                let what = format!("`{field}` made nullable");
                let req = (false, "clients may send null now".to_string());
                let resp = (
                    true,
                    format!(
                        "the API may answer null for `{field}`: clients expecting a value break, and the Rust field becomes an `Option`"
                    ),
                );
                self.judged(&site.ptr("/nullable"), Kind::Changed, dirs, what, req, resp);
            }
            (true, false) => {
                let what = format!("`{field}` made non-nullable");
                let req = (
                    true,
                    format!(
                        "clients that send null for `{field}` get 400 from the API, and the Rust field loses its `Option`"
                    ),
                );
                let resp = (false, "the API no longer answers null here".to_string());
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            _ => {}
        }
    }

    /// Enum values: a removed value breaks both ways (requests get 400, the
    /// Rust variant disappears); an added one breaks a closed response enum
    /// only; opening, closing, adding or dropping the enum breaks.
    fn enums(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let (oe, ne) = (enum_info(self.old, o), enum_info(self.new, n));
        let field = site.field();
        match (&oe, &ne) {
            (None, None) => {}
            (None, Some(_)) => {
                let what = format!("`{field}` restricted to an enum");
                let req = (true, "clients that send other values get 400 from the API, and the Rust type changes from `String` to an enum".into());
                let resp = (true, "the Rust type changes from `String` to an enum, so code using it as a string stops compiling".into());
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            (Some(_), None) => {
                let what = format!("enum of `{field}` dropped");
                let req = (
                    true,
                    format!(
                        "{} is replaced by a plain value, so code naming its variants stops compiling",
                        site.rust_enum()
                    ),
                );
                let resp = (
                    true,
                    format!(
                        "the API may send any value, and {} is replaced by a plain value",
                        site.rust_enum()
                    ),
                );
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            (Some(oe), Some(ne)) => {
                // A component enum wrapped as the known values of an open enum is open itself.
                let root = (site.area == Area::Schema && site.path.is_empty())
                    .then_some(site.base.as_str());
                let o_open = oe.open
                    || root.is_some_and(|r| {
                        self.open_old.contains(r)
                            || self
                                .renames
                                .iter()
                                .any(|(o, n)| n == r && self.open_old.contains(o))
                    });
                let n_open = ne.open || root.is_some_and(|r| self.open_new.contains(r));
                let (oe, ne) = (
                    &EnumInfo {
                        open: o_open,
                        ..oe.clone()
                    },
                    &EnumInfo {
                        open: n_open,
                        ..ne.clone()
                    },
                );
                if oe.open != ne.open {
                    let what = if ne.open {
                        format!("enum `{field}` made open (any other string accepted)")
                    } else {
                        format!("enum `{field}` made closed (only the listed values)")
                    };
                    let reason = if ne.open {
                        format!(
                            "{} gains a catch-all for unknown strings, so exhaustive matches and code constructing it change",
                            site.rust_enum()
                        )
                    } else {
                        format!(
                            "{} loses its catch-all: values outside the list fail to decode or get 400",
                            site.rust_enum()
                        )
                    };
                    self.breaks(site, Kind::Changed, Some(dirs), what, reason);
                }
                // Values of a component enum are compared where it is defined.
                if oe.by_ref || ne.by_ref {
                    return;
                }
                for (i, v) in oe
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !ne.values.contains(v))
                {
                    let shown = show_value(v);
                    let variant = pascal(&shown);
                    let what = format!("enum value `{shown}` removed");
                    let req = (
                        true,
                        format!(
                            "clients that send `{shown}` get 400 from the API and {} loses the `{variant}` variant",
                            site.rust_enum()
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "{} loses the `{variant}` variant, so code matching on it stops compiling",
                            site.rust_enum()
                        ),
                    );
                    self.judged(
                        &site.ptr(&format!("{}/{i}", oe.pointer_suffix)),
                        Kind::Removed,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                for (i, v) in ne
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !oe.values.contains(v))
                {
                    let shown = show_value(v);
                    let what = format!("enum value `{shown}` added");
                    let req = (
                        false,
                        format!(
                            "clients can send `{shown}` and {} gains the `{}` variant",
                            site.rust_enum(),
                            pascal(&shown)
                        ),
                    );
                    let resp = if ne.open {
                        (
                            false,
                            format!(
                                "the enum is open: clients decode `{shown}` through its catch-all until they upgrade"
                            ),
                        )
                    } else {
                        (
                            true,
                            format!(
                                "the enum is closed: clients built from the old spec fail to decode answers carrying `{shown}`, and exhaustive matches on {} stop compiling",
                                site.rust_enum()
                            ),
                        )
                    };
                    self.judged(
                        &site.ptr(&format!("{}/{i}", ne.pointer_suffix)),
                        Kind::Added,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
            }
        }
    }

    /// Size, range, pattern, multipleOf and uniqueItems constraints.
    fn limits(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        for &(key, larger_is_stricter) in LIMITS {
            let (ov, nv) = (o[key].as_f64(), n[key].as_f64());
            if ov == nv {
                continue;
            }
            let stricter = match (ov, nv) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => (b > a) == larger_is_stricter,
                (None, None) => continue,
            };
            let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
            let what = format!("`{key}` changed from {} to {}", show(ov), show(nv));
            self.constraint(site, dirs, key, what, stricter);
        }
        let mut other = |key: &str, stricter: Option<bool>| {
            if o[key] != n[key] {
                let show = |v: &Value| {
                    if v.is_null() {
                        "none".to_string()
                    } else {
                        format!("`{}`", show_value(v))
                    }
                };
                let what = format!(
                    "`{key}` changed from {} to {}",
                    show(&o[key]),
                    show(&n[key])
                );
                let stricter = stricter.unwrap_or(!n[key].is_null());
                self.constraint(site, dirs, key, what, stricter);
            }
        };
        other("pattern", None);
        other("multipleOf", None);
        other(
            "uniqueItems",
            Some(n["uniqueItems"].as_bool() == Some(true)),
        );
    }

    /// A changed constraint: stricter breaks requests, anything else is minor.
    fn constraint(&mut self, site: &Site, dirs: Dirs, key: &str, what: String, stricter: bool) {
        let (req, resp) = if stricter {
            (
                (
                    true,
                    "clients sending values the new constraint excludes get 400 from the API"
                        .to_string(),
                ),
                (false, "answers stay within the old constraint".to_string()),
            )
        } else {
            (
                (false, "clients may send more values now".to_string()),
                (
                    false,
                    "answers may carry values the old constraint excluded".to_string(),
                ),
            )
        };
        self.judged(
            &site.ptr(&format!("/{key}")),
            Kind::Changed,
            dirs,
            what,
            req,
            resp,
        );
    }

    /// `default`: a changed request default breaks (clients that leave the
    /// value out get other behaviour); added or removed is minor.
    fn default(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let (od, nd) = (o.get("default"), n.get("default"));
        if od == nd {
            return;
        }
        let show = |v: Option<&Value>| {
            v.map(|v| format!("`{}`", show_value(v)))
                .unwrap_or_else(|| "none".into())
        };
        let what = format!("default changed from {} to {}", show(od), show(nd));
        let req = match (od, nd) {
            (Some(_), Some(_)) => (
                true,
                format!(
                    "clients that leave `{}` out silently get {} instead of {}",
                    site.field(),
                    show(nd),
                    show(od)
                ),
            ),
            _ => (
                false,
                "documents what the API does when the value is left out".into(),
            ),
        };
        let resp = (
            false,
            "answers that leave it out decode to the new default".to_string(),
        );
        self.judged(&site.ptr("/default"), Kind::Changed, dirs, what, req, resp);
    }

    /// `readOnly` and `writeOnly` flags.
    fn access(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let flag = |v: &Value, k: &str| v[k].as_bool() == Some(true);
        let field = site.field();
        if !flag(o, "readOnly") && flag(n, "readOnly") && dirs.request {
            let what = format!("`{field}` made read-only");
            let reason =
                format!("clients can no longer set `{field}` in requests: the API ignores it");
            self.breaks(
                &site.ptr("/readOnly"),
                Kind::Changed,
                Some(Dirs::REQUEST),
                what,
                reason,
            );
        }
        if !flag(o, "writeOnly") && flag(n, "writeOnly") && dirs.response {
            let what = format!("`{field}` made write-only");
            let reason =
                format!("answers no longer carry `{field}`; clients reading it get nothing");
            self.breaks(
                &site.ptr("/writeOnly"),
                Kind::Changed,
                Some(Dirs::RESPONSE),
                what,
                reason,
            );
        }
    }

    /// Object properties: added, removed, required changes, then each common
    /// property's schema, in the directions it travels (`readOnly` ones not in
    /// requests, `writeOnly` ones not in responses).
    fn properties(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        let op = o["properties"].as_object().unwrap_or(&EMPTY);
        let np = n["properties"].as_object().unwrap_or(&EMPTY);
        let (or, nr) = (required_set(o), required_set(n));
        let mut names: Vec<&String> = op.keys().collect();
        names.extend(np.keys().filter(|k| !op.contains_key(*k)));
        for name in names {
            let child = site.child(
                &format!(".{name}"),
                &format!("/properties/{}", spec::escape(name)),
                Some(name),
            );
            match (op.get(name), np.get(name)) {
                (None, Some(ns)) => {
                    let d = narrow(self.new, ns, dirs);
                    let required = nr.contains(name.as_str());
                    let what = format!(
                        "{} field `{name}` added",
                        if required { "required" } else { "optional" }
                    );
                    let req = if required {
                        (
                            true,
                            format!(
                                "clients that do not send `{name}` get 400 from the API, and the Rust type gains a required field"
                            ),
                        )
                    } else {
                        (
                            false,
                            format!(
                                "clients can send `{name}` and the Rust type gains an optional field"
                            ),
                        )
                    };
                    let resp = (
                        false,
                        format!("answers carry `{name}` and the Rust type gains the field"),
                    );
                    self.judged(&child, Kind::Added, d, what, req, resp);
                }
                (Some(os), None) => {
                    let d = narrow(self.old, os, dirs);
                    let what = format!("field `{name}` removed");
                    let req = (
                        true,
                        format!(
                            "the Rust field `{}` disappears, so code setting it stops compiling, and the API no longer takes it",
                            snake(name)
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "clients reading `{name}` get nothing: answers no longer carry it and the Rust field disappears"
                        ),
                    );
                    self.judged(&child, Kind::Removed, d, what, req, resp);
                }
                (Some(os), Some(ns)) => {
                    // Travels where it did on either side (a field made read-only is still judged for requests).
                    let d = narrow(self.old, os, dirs).union(narrow(self.new, ns, dirs));
                    match (or.contains(name.as_str()), nr.contains(name.as_str())) {
                        (false, true) => {
                            let what = format!("field `{name}` made required");
                            let req = (
                                true,
                                format!(
                                    "clients that leave `{name}` out get 400 from the API, and the Rust field is no longer an `Option`"
                                ),
                            );
                            let resp = (false, format!("answers always carry `{name}` now"));
                            self.judged(&child, Kind::Changed, d, what, req, resp);
                        }
                        (true, false) => {
                            let what = format!("field `{name}` made optional");
                            let req = (false, format!("clients may leave `{name}` out now"));
                            let resp = (
                                true,
                                format!(
                                    "answers may leave `{name}` out, so clients relying on it break, and the Rust field becomes an `Option`"
                                ),
                            );
                            self.judged(&child, Kind::Changed, d, what, req, resp);
                        }
                        _ => {}
                    }
                    if d != Dirs::default() {
                        self.schema(&child, os, ns, d, depth + 1);
                    }
                }
                (None, None) => {}
            }
        }
    }

    /// `additionalProperties`: typed values compared; closing breaks requests,
    /// opening breaks responses, typed to untyped (or back) breaks both.
    fn additional(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        let (oa, na) = (Extra::of(o), Extra::of(n));
        let child = site.child(".*", "/additionalProperties", None);
        match (oa, na) {
            (Extra::Typed(os), Extra::Typed(ns)) => self.schema(&child, os, ns, dirs, depth + 1),
            (a, b) if a.kind() == b.kind() => {}
            (a, b) => {
                let what = format!(
                    "additional properties changed from {} to {}",
                    a.kind(),
                    b.kind()
                );
                let (req, resp) = match (a.kind(), b.kind()) {
                    ("any", "none") => (
                        (true, "clients sending extra keys get 400 from the API".to_string()),
                        (false, "answers no longer carry extra keys".to_string()),
                    ),
                    ("none", "any") => (
                        (false, "clients may send extra keys".to_string()),
                        (true, "answers may carry extra keys, which clients built from the old spec refuse to decode".to_string()),
                    ),
                    _ => {
                        let r = "the Rust type of the map values changes, so code using them stops compiling".to_string();
                        ((true, r.clone()), (true, r))
                    }
                };
                self.judged(
                    &site.ptr("/additionalProperties"),
                    Kind::Changed,
                    dirs,
                    what,
                    req,
                    resp,
                );
            }
        }
    }

    /// Array `items`.
    fn items(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        let child = site.child("[]", "/items", None);
        match (o.get("items"), n.get("items")) {
            (Some(oi), Some(ni)) => self.schema(&child, oi, ni, dirs, depth + 1),
            (None, Some(_)) | (Some(_), None) if o["type"] == "array" && n["type"] == "array" => {
                let what = "items type changed".to_string();
                let reason =
                    "the Rust element type changes, so code using the elements stops compiling"
                        .to_string();
                self.breaks(&site.ptr("/items"), Kind::Changed, Some(dirs), what, reason);
            }
            _ => {}
        }
    }

    /// `allOf`: included components by name (a removed one breaks, an added
    /// one with required fields breaks requests), inline members by position.
    fn all_of(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        let members = |v: &'a Value| {
            v["allOf"]
                .as_array()
                .map(|a| a.iter().enumerate().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (om, nm) = (members(o), members(n));
        if om.is_empty() && nm.is_empty() {
            return;
        }
        let old_refs: Vec<(usize, String)> = om
            .iter()
            .filter_map(|(i, m)| {
                component_ref(m).map(|r| {
                    (
                        *i,
                        self.renames
                            .get(r)
                            .cloned()
                            .unwrap_or_else(|| r.to_string()),
                    )
                })
            })
            .collect();
        let new_refs: Vec<(usize, String)> = nm
            .iter()
            .filter_map(|(i, m)| component_ref(m).map(|r| (*i, r.to_string())))
            .collect();
        for (i, name) in old_refs
            .iter()
            .filter(|(_, r)| !new_refs.iter().any(|(_, n)| n == r))
        {
            let what = format!("no longer includes `{name}` (allOf)");
            let reason =
                format!("the fields of `{name}` are gone: clients reading or setting them break");
            self.breaks(
                &site.ptr(&format!("/allOf/{i}")),
                Kind::Removed,
                Some(dirs),
                what,
                reason,
            );
        }
        for (i, name) in new_refs
            .iter()
            .filter(|(_, r)| !old_refs.iter().any(|(_, o)| o == r))
        {
            let target = self.new.resolve(nm[*i].1);
            let has_required = !required_set(target).is_empty();
            let what = format!("now includes `{name}` (allOf)");
            let req = if has_required {
                (
                    true,
                    format!(
                        "clients that do not send the required fields of `{name}` get 400 from the API"
                    ),
                )
            } else {
                (false, format!("clients can send the fields of `{name}`"))
            };
            let resp = (false, format!("answers carry the fields of `{name}`"));
            self.judged(
                &site.ptr(&format!("/allOf/{i}")),
                Kind::Added,
                dirs,
                what,
                req,
                resp,
            );
        }
        let oi: Vec<_> = om
            .iter()
            .filter(|(_, m)| component_ref(m).is_none())
            .collect();
        let ni: Vec<_> = nm
            .iter()
            .filter(|(_, m)| component_ref(m).is_none())
            .collect();
        for k in 0..oi.len().max(ni.len()) {
            let (o_ptr, n_ptr) = (
                oi.get(k)
                    .map(|(i, _)| format!("{}/allOf/{i}", site.old_ptr))
                    .unwrap_or_else(|| format!("{}/allOf", site.old_ptr)),
                ni.get(k)
                    .map(|(i, _)| format!("{}/allOf/{i}", site.new_ptr))
                    .unwrap_or_else(|| format!("{}/allOf", site.new_ptr)),
            );
            let member_site = site.at(o_ptr, n_ptr);
            match (oi.get(k), ni.get(k)) {
                (Some((_, a)), Some((_, b))) => self.schema(&member_site, a, b, dirs, depth + 1),
                (Some((_, a)), None) => {
                    self.schema_body(&member_site, a, blank_like(self.old, a), dirs, depth + 1)
                }
                (None, Some((_, b))) => {
                    self.schema_body(&member_site, blank_like(self.new, b), b, dirs, depth + 1)
                }
                (None, None) => {}
            }
        }
    }

    /// oneOf or anyOf variants: matched by component name, else by position.
    fn one_of(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
        key: &str,
    ) {
        let members = |v: &'a Value| {
            v[key]
                .as_array()
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (om, nm) = (members(o), members(n));
        if om.is_empty() && nm.is_empty() {
            return;
        }
        let name_of = |m: &Value, renames: &BTreeMap<String, String>| {
            component_ref(m).map(|r| renames.get(r).cloned().unwrap_or_else(|| r.to_string()))
        };
        let mut used_new = vec![false; nm.len()];
        let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut inline_new = (0..nm.len()).filter(|j| component_ref(nm[*j]).is_none());
        for (i, m) in om.iter().enumerate() {
            let j = match name_of(m, &self.renames) {
                Some(name) => (0..nm.len())
                    .find(|j| !used_new[*j] && component_ref(nm[*j]) == Some(name.as_str())),
                None => inline_new.next(),
            };
            if let Some(j) = j {
                used_new[j] = true;
            }
            pairs.push((Some(i), j));
        }
        pairs.extend(
            (0..nm.len())
                .filter(|j| !used_new[*j])
                .map(|j| (None, Some(j))),
        );
        for (i, j) in pairs {
            let label = |k: usize, m: &Value| match component_ref(m) {
                Some(name) => format!("`{name}`"),
                None => format!("{key} variant {k}"),
            };
            match (i, j) {
                (Some(i), Some(j)) => {
                    let child = site.child(&format!("({key} {j})"), "", None).at(
                        format!("{}/{key}/{i}", site.old_ptr),
                        format!("{}/{key}/{j}", site.new_ptr),
                    );
                    self.schema(&child, om[i], nm[j], dirs, depth + 1);
                }
                (Some(i), None) => {
                    let what = format!("{key} variant {} removed", label(i, om[i]));
                    let req = (
                        true,
                        format!(
                            "clients that send that variant get 400 from the API, and {} loses it",
                            site.rust_enum()
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "{} loses the variant, so code matching on it stops compiling",
                            site.rust_enum()
                        ),
                    );
                    self.judged(
                        &site.ptr(&format!("/{key}/{i}")),
                        Kind::Removed,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                (None, Some(j)) => {
                    let what = format!("{key} variant {} added", label(j, nm[j]));
                    let req = (false, "clients can send the new variant".to_string());
                    let resp = (
                        true,
                        "the API may answer with a variant that clients built from the old spec cannot decode".to_string(),
                    );
                    self.judged(
                        &site.ptr(&format!("/{key}/{j}")),
                        Kind::Added,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                (None, None) => {}
            }
        }
    }
}

/// An empty map, for objects a spec leaves out.
static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
/// An empty object schema, standing in for an allOf member one side lacks.
static BLANK_OBJECT: LazyLock<Value> = LazyLock::new(|| json!({ "type": "object" }));
/// An empty schema, standing in for a non-object allOf member one side lacks.
static BLANK: LazyLock<Value> = LazyLock::new(|| json!({}));

/// An empty schema of the same kind as `like`.
fn blank_like(spec: &Spec, like: &Value) -> &'static Value {
    if ty(spec, spec.resolve(like)) == Ty::Known("object".into()) {
        &BLANK_OBJECT
    } else {
        &BLANK
    }
}

/// `additionalProperties` of a schema.
enum Extra<'a> {
    /// Any extra key (absent, `true` or `{}`).
    Any,
    /// No extra key (`false`).
    None,
    /// Extra keys whose values follow a schema.
    Typed(&'a Value),
}

impl<'a> Extra<'a> {
    /// The `additionalProperties` of `v`.
    fn of(v: &'a Value) -> Extra<'a> {
        match v.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Extra::Any,
            Some(Value::Bool(false)) => Extra::None,
            Some(Value::Object(m)) if m.is_empty() => Extra::Any,
            Some(s) => Extra::Typed(s),
        }
    }

    /// As shown in reports.
    fn kind(&self) -> &'static str {
        match self {
            Extra::Any => "any",
            Extra::None => "none",
            Extra::Typed(_) => "typed",
        }
    }
}

/// The type of a schema, as far as comparing goes.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Ty {
    /// A JSON type, given or implied by the keywords used.
    Known(String),
    /// Anything (no type and no keyword implying one).
    Any,
    /// Composed with allOf/oneOf/anyOf/not: its members are compared instead.
    Composite,
}

impl Ty {
    /// As shown in reports: `` `string` ``.
    fn show(&self) -> String {
        match self {
            Ty::Known(t) => format!("`{t}`"),
            Ty::Any => "any".into(),
            Ty::Composite => "a composition".into(),
        }
    }

    /// With an article: "an integer".
    fn article(&self) -> String {
        match self {
            Ty::Known(t) if t.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {t}"),
            Ty::Known(t) => format!("a {t}"),
            Ty::Any => "any value".into(),
            Ty::Composite => "a composed value".into(),
        }
    }
}

/// The type of a schema (after `$ref`s are followed).
fn ty(spec: &Spec, v: &Value) -> Ty {
    if let Some(t) = v["type"].as_str() {
        return Ty::Known(t.to_string());
    }
    if let Some(e) = enum_info(spec, v) {
        let t = match e.values.first() {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
            Some(Value::Number(_)) => "number",
            Some(Value::Bool(_)) => "boolean",
            _ => "string",
        };
        return Ty::Known(t.into());
    }
    if v.get("properties").is_some() || v.get("additionalProperties").is_some() {
        return Ty::Known("object".into());
    }
    if v.get("items").is_some() {
        return Ty::Known("array".into());
    }
    if ["allOf", "oneOf", "anyOf", "not"]
        .iter()
        .any(|k| v.get(*k).is_some())
    {
        return Ty::Composite;
    }
    Ty::Any
}

/// The Rust type the generator makes of a schema, for messages.
fn rust_type(spec: &Spec, v: &Value) -> String {
    if let Some(name) = component_ref(v) {
        return pascal(name);
    }
    let v = spec.resolve(v);
    let format = v["format"].as_str().unwrap_or_default();
    match ty(spec, v) {
        Ty::Known(t) => match (t.as_str(), format) {
            ("integer", "int32") => "i32".into(),
            ("integer", "uint32") => "u32".into(),
            ("integer", "uint64") => "u64".into(),
            ("integer", _) => "i64".into(),
            ("number", "float") => "f32".into(),
            ("number", _) => "f64".into(),
            ("boolean", _) => "bool".into(),
            ("string", _) if enum_info(spec, v).is_some() => "an enum".into(),
            ("string", "date-time") => "DateTime<Utc>".into(),
            ("string", "date") => "NaiveDate".into(),
            ("string", "uuid") => "Uuid".into(),
            ("string", _) => "String".into(),
            ("array", _) => format!(
                "Vec<{}>",
                v.get("items")
                    .map(|i| rust_type(spec, i))
                    .unwrap_or_else(|| "Value".into())
            ),
            ("object", _) => match Extra::of(v) {
                Extra::Typed(s) if v.get("properties").is_none() => {
                    format!("HashMap<String, {}>", rust_type(spec, s))
                }
                _ if v.get("properties").is_some() => "a struct".into(),
                _ => "Map<String, Value>".into(),
            },
            (other, _) => other.into(),
        },
        Ty::Any => "serde_json::Value".into(),
        Ty::Composite => "an enum or struct".into(),
    }
}

/// The values of an enum and whether it is open.
#[derive(Clone)]
struct EnumInfo {
    /// The values come from a component schema (compared on its own).
    by_ref: bool,
    values: Vec<Value>,
    /// `oneOf`/`anyOf` of the enum and a plain string: unknown strings decode too.
    open: bool,
    /// Pointer from the schema to its `enum` list.
    pointer_suffix: String,
}

/// The enum of a schema: a plain `enum` list (closed), or `oneOf`/`anyOf`
/// of an enum and a plain string (open).
fn enum_info(spec: &Spec, v: &Value) -> Option<EnumInfo> {
    if let Some(values) = v["enum"].as_array() {
        return Some(EnumInfo {
            by_ref: false,
            values: values.clone(),
            open: false,
            pointer_suffix: "/enum".into(),
        });
    }
    for key in ["oneOf", "anyOf"] {
        let Some([a, b]) = v[key].as_array().map(Vec::as_slice) else {
            continue;
        };
        let (ra, rb) = (spec.resolve(a), spec.resolve(b));
        let plain_string = |s: &Value| {
            s["type"] == "string" && s.get("enum").is_none() && s.get("format").is_none()
        };
        let (i, values) = match (ra["enum"].as_array(), rb["enum"].as_array()) {
            (Some(values), None) if plain_string(rb) => (0, values),
            (None, Some(values)) if plain_string(ra) => (1, values),
            _ => continue,
        };
        let by_ref = component_ref(if i == 0 { a } else { b }).is_some();
        let pointer_suffix = format!("/{key}/{i}/enum");
        return Some(EnumInfo {
            by_ref,
            values: values.clone(),
            open: true,
            pointer_suffix,
        });
    }
    None
}

/// The component schemas a spec uses as the known values of an open enum
/// (`oneOf: [{$ref: ..}, {type: string}]`).
fn open_enum_components(spec: &Spec) -> BTreeSet<String> {
    /// Looks for the pattern in `v` and below.
    fn walk(spec: &Spec, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if enum_info(spec, v).is_some_and(|e| e.open && e.by_ref) {
                    for key in ["oneOf", "anyOf"] {
                        out.extend(
                            v[key]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(component_ref)
                                .map(str::to_string),
                        );
                    }
                }
                map.values().for_each(|v| walk(spec, v, out));
            }
            Value::Array(list) => list.iter().for_each(|v| walk(spec, v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(spec, &spec.doc, &mut out);
    out
}

/// The directions a property travels in within a schema travelling in `dirs`
/// (a read-only property is not sent in requests, a write-only one not
/// answered).
fn narrow(spec: &Spec, prop: &Value, dirs: Dirs) -> Dirs {
    let p = spec.resolve(prop);
    let read_only =
        prop["readOnly"].as_bool() == Some(true) || p["readOnly"].as_bool() == Some(true);
    let write_only =
        prop["writeOnly"].as_bool() == Some(true) || p["writeOnly"].as_bool() == Some(true);
    Dirs {
        request: dirs.request && !read_only,
        response: dirs.response && !write_only,
    }
}

/// The names in a schema's `required` list.
fn required_set(v: &Value) -> BTreeSet<&str> {
    v["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The schema of a parameter (`schema`, else its only `content` entry) and its pointer.
fn param_schema<'a>(p: &Param<'a>) -> (Option<&'a Value>, String) {
    if let Some(s) = p.value.get("schema") {
        return (Some(s), format!("{}/schema", p.pointer));
    }
    match p.value["content"].as_object().and_then(|c| c.iter().next()) {
        Some((media, m)) => (
            m.get("schema"),
            format!("{}/content/{}/schema", p.pointer, spec::escape(media)),
        ),
        None => (None, p.pointer.clone()),
    }
}

/// The name of a component schema that `v` is a `$ref` to.
fn component_ref(v: &Value) -> Option<&str> {
    v.get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
        .filter(|n| !n.contains('/'))
}

/// Follows local `$ref`s from `value` found at `pointer`: the target and its pointer.
fn resolve_at<'a>(spec: &'a Spec, value: &'a Value, pointer: String) -> (&'a Value, String) {
    let (mut value, mut pointer) = (value, pointer);
    for _ in 0..32 {
        let Some(r) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match r
            .strip_prefix('#')
            .and_then(|p| spec.doc.pointer(p).map(|t| (p, t)))
        {
            Some((p, target)) => {
                value = target;
                pointer = p.to_string();
            }
            None => break,
        }
    }
    (value, pointer)
}

/// Adds to `names` every component schema `value` reaches through `$ref`s.
fn collect_refs(
    spec: &Spec,
    value: &Value,
    names: &mut BTreeSet<String>,
    seen: &mut HashSet<String>,
) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                if let Some(name) = component_ref(value) {
                    names.insert(name.to_string());
                }
                if seen.insert(r.to_string())
                    && let Some(target) = r.strip_prefix('#').and_then(|p| spec.doc.pointer(p))
                {
                    collect_refs(spec, target, names, seen);
                }
            }
            for (k, v) in map {
                if k != "example" && k != "examples" {
                    collect_refs(spec, v, names, seen);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| collect_refs(spec, v, names, seen)),
        _ => {}
    }
}

/// The documentation keys (and `x-` extensions) whose values differ.
fn doc_changes(o: &Value, n: &Value) -> Vec<String> {
    let mut keys: BTreeSet<&str> = DOC_KEYS.iter().copied().collect();
    for v in [o, n] {
        if let Some(m) = v.as_object() {
            keys.extend(m.keys().map(String::as_str).filter(|k| k.starts_with("x-")));
        }
    }
    let mut out: Vec<String> = DOC_KEYS
        .iter()
        .filter(|k| o.get(**k) != n.get(**k))
        .map(|k| k.to_string())
        .collect();
    out.extend(
        keys.into_iter()
            .filter(|k| k.starts_with("x-") && o.get(*k) != n.get(*k))
            .map(str::to_string),
    );
    out
}

/// `v` without documentation keys, at any depth (to spot renamed schemas).
fn strip_docs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !DOC_KEYS.contains(&k.as_str()) && !k.starts_with("x-"))
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        // Data, not schemas.
                        ("enum" | "default", _) => v.clone(),
                        // Property names are not documentation keys, whatever they are called.
                        ("properties", Value::Object(props)) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), strip_docs(s)))
                                .collect(),
                        ),
                        _ => strip_docs(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_docs).collect()),
        other => other.clone(),
    }
}

/// A Rust type in a message: in backticks, unless it is words ("a struct").
fn code(rust: &str) -> String {
    if rust.starts_with("a ") || rust.starts_with("an ") {
        rust.to_string()
    } else {
        format!("`{rust}`")
    }
}

/// A value as shown in messages: strings bare, the rest as JSON.
fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The words of an identifier (split at non-alphanumerics and lower-to-upper steps), lower case.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `in-progress` -> `InProgress`, as the generator names types and variants.
fn pascal(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `page[size]` -> `page_size`, as the generator names fields and setters.
fn snake(s: &str) -> String {
    words(s).join("_")
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
mod tests {
    use super::*;

    /// The corpus: one folder per case with `old.yaml`, `new.yaml` and `expected.json`.
    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/specdiff")
    }

    /// The repository root.
    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// A corpus case: its old and new specs and its expectations.
    fn load_case(dir: &Path) -> (Spec, Spec, Value) {
        let old = Spec::load(&dir.join("old.yaml")).unwrap();
        let new = Spec::load(&dir.join("new.yaml")).unwrap();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap_or_else(|e| panic!("{}: expected.json: {e}", dir.display()));
        (old, new, expected)
    }

    /// Whether `f` is the finding `e` describes: same breaking and area, `where`
    /// a substring of the location, `reason` a substring of the reason or of
    /// the change's description.
    fn matches(f: &Finding, e: &Value) -> bool {
        let area = serde_json::to_value(f.area).unwrap();
        f.breaking == e["breaking"].as_bool().unwrap_or(false)
            && area == e["area"]
            && f.location.contains(e["where"].as_str().unwrap_or_default())
            && e["reason"]
                .as_str()
                .is_some_and(|r| f.reason.contains(r) || f.what.contains(r))
    }

    /// The findings, one a line, for failure messages.
    fn show(findings: &[Finding]) -> String {
        findings
            .iter()
            .map(|f| {
                format!(
                    "    {} {:?} {:?} `{}`: {} ({})",
                    if f.breaking { "BREAKING" } else { "ok" },
                    f.kind,
                    f.area,
                    f.location,
                    f.what,
                    f.reason
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_corpus_case_has_its_verdict_and_findings_and_no_unexpected_breaking_change() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
            .expect("tests/fixtures/specdiff exists")
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        assert!(dirs.len() >= 50, "the corpus has {} cases", dirs.len());
        let mut failures = Vec::new();
        for dir in &dirs {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let (old, new, expected) = load_case(dir);
            let report = Report::new(&old, &new, compare(&old, &new));
            let mut problems = Vec::new();
            if report.verdict != expected["verdict"] {
                problems.push(format!(
                    "verdict {} instead of {}",
                    report.verdict, expected["verdict"]
                ));
            }
            let wanted = expected["findings"].as_array().cloned().unwrap_or_default();
            for e in &wanted {
                if !report.findings.iter().any(|f| matches(f, e)) {
                    problems.push(format!("missing finding {e}"));
                }
            }
            for f in report.findings.iter().filter(|f| f.breaking) {
                if !wanted.iter().any(|e| matches(f, e)) {
                    problems.push(format!(
                        "unexpected breaking finding `{}`: {} ({})",
                        f.location, f.what, f.reason
                    ));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{name}:\n  {}\n  found:\n{}",
                    problems.join("\n  "),
                    show(&report.findings)
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            dirs.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn identical_specs_have_no_findings() {
        let dir = corpus().join("zendesk_ticket_status_and_field");
        let (old, _, _) = load_case(&dir);
        let again = Spec::load(&dir.join("old.yaml")).unwrap();
        assert!(compare(&old, &again).is_empty());
    }

    #[test]
    fn reports_list_breaking_changes_first_and_state_the_verdict() {
        let dir = corpus().join("zendesk_ticket_status_and_field");
        let (old, new, _) = load_case(&dir);
        let report = Report::new(&old, &new, compare(&old, &new));
        assert_eq!(report.verdict, "major");
        let text = render(&root(), Format::Text.template(), &report).unwrap();
        let markdown = render(&root(), Format::Markdown.template(), &report).unwrap();
        for (out, verdict, breaking_heading, minor_heading) in [
            (
                &text,
                "verdict: major",
                "BREAKING CHANGES (1)",
                "Non-breaking changes (1)",
            ),
            (
                &markdown,
                "**Verdict: major**",
                "Breaking changes (1)",
                "Non-breaking changes (1)",
            ),
        ] {
            assert!(out.contains(verdict), "no verdict in:\n{out}");
            let breaking = out
                .find(breaking_heading)
                .unwrap_or_else(|| panic!("no breaking section in:\n{out}"));
            let minor = out
                .find(minor_heading)
                .unwrap_or_else(|| panic!("no minor section in:\n{out}"));
            let hold = out.find("enum value `hold` removed").unwrap();
            let field = out.find("`custom_status_id` added").unwrap();
            let docs = out.find("documentation changed").unwrap();
            assert!(
                breaking < hold && hold < minor && minor < field && field < docs,
                "out of order:\n{out}"
            );
            assert!(
                out.contains("Ticket.status")
                    && out.contains("/components/schemas/Ticket/properties/status/enum/3")
            );
        }
    }

    #[test]
    fn a_spec_without_changes_renders_verdict_none() {
        let dir = corpus().join("no_change");
        let (old, new, _) = load_case(&dir);
        let report = Report::new(&old, &new, compare(&old, &new));
        let text = render(&root(), Format::Text.template(), &report).unwrap();
        assert!(text.contains("verdict: none"), "{text}");
        assert!(!text.contains("BREAKING"), "{text}");
    }

    #[test]
    fn the_command_fails_on_breaking_changes_unless_allowed() {
        let dir = corpus().join("zendesk_ticket_status_and_field");
        let files = [
            dir.join("old.yaml").display().to_string(),
            dir.join("new.yaml").display().to_string(),
        ];
        let args = |extra: &[&str]| {
            files
                .iter()
                .cloned()
                .chain(extra.iter().map(|s| s.to_string()))
                .collect::<Vec<_>>()
        };
        let (text, ok) = execute(&root(), &args(&[])).unwrap().unwrap();
        assert!(!ok);
        assert!(text.starts_with("spec diff: "), "{text}");
        let (markdown, ok) = execute(
            &root(),
            &args(&["--format", "markdown", "--allow-breaking"]),
        )
        .unwrap()
        .unwrap();
        assert!(ok);
        assert!(markdown.starts_with("## Spec diff"), "{markdown}");
        let minor = corpus().join("optional_request_field_added");
        let minor = [
            minor.join("old.yaml").display().to_string(),
            minor.join("new.yaml").display().to_string(),
        ];
        assert!(execute(&root(), &minor).unwrap().unwrap().1);
    }

    #[test]
    fn bad_arguments_are_usage_errors_naming_the_problem() {
        let err = |args: &[&str]| {
            execute(
                &root(),
                &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .err()
            .unwrap()
        };
        assert!(err(&[]).contains("needs OLD and NEW"));
        assert!(err(&["a.yaml", "b.yaml", "--format", "html"]).contains("unknown format `html`"));
        assert!(
            err(&["a.yaml", "b.yaml", "--frobnicate"]).contains("unknown option `--frobnicate`")
        );
        assert!(err(&["--base"]).contains("--base needs a value"));
        assert!(
            err(&["does/not/exist.yaml", "b.yaml"]).contains("does/not/exist.yaml: no such file")
        );
        assert!(err(&["--base", "HEAD", "a.yaml", "b.yaml"]).contains("exactly one spec file"));
        assert!(execute(&root(), &["--help".to_string()]).unwrap().is_none());
    }

    #[test]
    fn base_compares_a_git_revision_with_the_working_copy() {
        let root = root();
        let git_ok = std::process::Command::new("git")
            .args(["rev-parse", "--verify", "--quiet", "HEAD~2"])
            .current_dir(&root)
            .output()
            .is_ok_and(|o| o.status.success());
        if !git_ok || !root.join("spec/timesync.yaml").exists() {
            eprintln!("skipped: git, HEAD~2 or spec/timesync.yaml is not available");
            return;
        }
        let args: Vec<String> = ["--base", "HEAD~2", "spec/timesync.yaml", "--allow-breaking"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (text, ok) = execute(&root, &args).unwrap().unwrap();
        assert!(ok, "--allow-breaking always passes");
        assert!(
            text.starts_with("spec diff: HEAD~2:spec/timesync.yaml -> "),
            "{text}"
        );
        assert!(text.contains("verdict: "), "{text}");
        // The revision is really read from git: the same file at HEAD~2 on both sides has no findings.
        let old = load_at_revision(
            "HEAD~2",
            "spec/timesync.yaml",
            &root.join("spec/timesync.yaml"),
        )
        .unwrap();
        let again = load_at_revision(
            "HEAD~2",
            "spec/timesync.yaml",
            &root.join("spec/timesync.yaml"),
        )
        .unwrap();
        assert!(old.operations().len() > 10);
        assert!(compare(&old, &again).is_empty());
        let err = load_at_revision(
            "no-such-revision-xyz",
            "spec/timesync.yaml",
            &root.join("spec/timesync.yaml"),
        )
        .err()
        .unwrap();
        assert!(
            err.starts_with("git show no-such-revision-xyz:spec/timesync.yaml failed"),
            "{err}"
        );
    }

    #[test]
    fn renames_are_spotted_by_content_but_property_names_count() {
        let a = json!({"type": "object", "description": "old words", "properties": {"title": {"type": "string"}}});
        let b = json!({"type": "object", "description": "new words", "properties": {"title": {"type": "string", "example": "x"}}});
        let c = json!({"type": "object", "properties": {"summary": {"type": "string"}}});
        assert_eq!(strip_docs(&a), strip_docs(&b));
        assert_ne!(strip_docs(&a), strip_docs(&c));
    }

    #[test]
    fn names_follow_the_generator() {
        assert_eq!(pascal("in-progress"), "InProgress");
        assert_eq!(pascal("ticketStatus"), "TicketStatus");
        assert_eq!(pascal("hold"), "Hold");
        assert_eq!(snake("page[size]"), "page_size");
        assert_eq!(snake("X-On-Behalf-Of"), "x_on_behalf_of");
        assert_eq!(path_shape("/t/{id}/c/{cid}"), "/t/{}/c/{}");
        assert_eq!(path_params("/t/{id}/c/{cid}"), ["id", "cid"]);
    }
}
