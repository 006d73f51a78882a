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
    assert!(err(&["a.yaml", "b.yaml", "--frobnicate"]).contains("unknown option `--frobnicate`"));
    assert!(err(&["--base"]).contains("--base needs a value"));
    assert!(err(&["does/not/exist.yaml", "b.yaml"]).contains("does/not/exist.yaml: no such file"));
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
