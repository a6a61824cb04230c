//! Semantic analysis, one code at a time.
//!
//! `tests/fixtures/check/` holds, for every code in [`codes::ANALYSIS`], a
//! fixture `<short>.ops` that triggers it and a near miss `<short>.ok.ops`
//! that differs as little as possible and checks clean. The rendered and JSON
//! diagnostics of every trigger are snapshotted in `tests/snapshots/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use coordops::analysis::check_source;
use coordops::diagnostics::{codes, json, render, render_all, Diagnostic, RenderOptions, Severity};
use coordops::source::{self, SourceFile};
use coordops::testing::test_file;

const OPTIONS: RenderOptions = RenderOptions {
    color: false,
    width: 80,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check")
}

/// Loads a fixture named by its file name only, so snapshots do not depend on
/// where the repository lives.
fn load(path: &Path) -> SourceFile {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("fixture names are UTF-8");
    SourceFile::new(name, text)
}

fn short(code: &str) -> &str {
    code.rsplit("::").next().unwrap_or(code)
}

fn check(source: &SourceFile) -> Vec<Diagnostic> {
    check_source(source)
}

fn check_text(text: &str) -> Vec<Diagnostic> {
    check_source(&SourceFile::new("test.ops", text))
}

fn codes_of(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code).collect()
}

fn rendered(diagnostics: &[Diagnostic]) -> String {
    render_all(diagnostics, OPTIONS)
}

fn is_near_miss(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.ends_with(".ok.ops"))
}

// ── fixtures ────────────────────────────────────────────────────────────

#[test]
fn every_analysis_code_has_a_trigger_and_a_near_miss() {
    let dir = fixture_dir();
    for code in codes::ANALYSIS {
        for name in [
            format!("{}.ops", short(code)),
            format!("{}.ok.ops", short(code)),
        ] {
            assert!(
                dir.join(&name).is_file(),
                "{code}: missing fixture tests/fixtures/check/{name}"
            );
        }
    }
    // And nothing else: every fixture belongs to an analysis code.
    let known: BTreeSet<&str> = codes::ANALYSIS.iter().map(|c| short(c)).collect();
    for entry in std::fs::read_dir(&dir).expect("fixture directory") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("UTF-8 name");
        let stem = name.trim_end_matches(".ops").trim_end_matches(".ok");
        assert!(
            name.ends_with(".ops") && known.contains(stem),
            "tests/fixtures/check/{name} does not belong to any code of codes::ANALYSIS"
        );
    }
}

#[test]
fn each_trigger_fixture_yields_its_code() {
    for code in codes::ANALYSIS {
        let source = load(&fixture_dir().join(format!("{}.ops", short(code))));
        let found = check(&source);
        let hits: Vec<&Diagnostic> = found.iter().filter(|d| d.code == *code).collect();
        assert!(
            !hits.is_empty(),
            "{} does not yield {code}; it yields {:?}:\n{}",
            source.name(),
            codes_of(&found),
            rendered(&found)
        );
        let expected = if code.starts_with("ops::lint::") {
            Severity::Warning
        } else {
            Severity::Error
        };
        for d in hits {
            assert_eq!(
                d.severity,
                expected,
                "{}: {code} has the wrong severity",
                source.name()
            );
            assert!(
                d.primary_span().is_some(),
                "{}: {code} has no primary label",
                source.name()
            );
            assert!(d.help.is_some(), "{}: {code} has no help", source.name());
        }
    }
}

#[test]
fn each_near_miss_does_not_yield_its_code() {
    for code in codes::ANALYSIS {
        let source = load(&fixture_dir().join(format!("{}.ok.ops", short(code))));
        let found = check(&source);
        assert!(
            !found.iter().any(|d| d.code == *code),
            "{} yields {code}:\n{}",
            source.name(),
            rendered(&found)
        );
        // A near miss is a clean playbook, not a different mistake.
        assert!(
            found.is_empty(),
            "{} should check clean, but yields {:?}:\n{}",
            source.name(),
            codes_of(&found),
            rendered(&found)
        );
    }
}

#[test]
fn trigger_fixtures_render() {
    insta::glob!("fixtures/check/*.ops", |path| {
        if is_near_miss(path) {
            return;
        }
        let found = check(&load(path));
        insta::assert_snapshot!(rendered(&found));
    });
}

#[test]
fn trigger_fixtures_json() {
    insta::glob!("fixtures/check/*.ops", |path| {
        if is_near_miss(path) {
            return;
        }
        let found = check(&load(path));
        insta::assert_snapshot!(json::to_string(&found, 1));
    });
}

// ── messages ────────────────────────────────────────────────────────────

#[test]
fn misspelled_agent_gets_did_you_mean() {
    let text = "\
signal OPS:COMMIT
route OPS:COMMIT => commit
agent RELEASE_MANAGER { task commit }
workflow commit {
  RELEASE_MANGER.commit()
}
";
    let found = check_text(text);
    let d = found
        .iter()
        .find(|d| d.code == codes::CHECK_UNDEFINED_AGENT)
        .unwrap_or_else(|| panic!("no undefined_agent:\n{}", rendered(&found)));
    assert_eq!(d.message, "agent `RELEASE_MANGER` is not defined");
    assert_eq!(d.help.as_deref(), Some("did you mean `RELEASE_MANAGER`?"));
    let span = d.primary_span().expect("primary label");
    assert_eq!(&text[span.start..span.end], "RELEASE_MANGER");
    assert!(render(d, OPTIONS).contains("did you mean `RELEASE_MANAGER`?"));
}

#[test]
fn a_duplicate_binding_is_reported_once() {
    let text = "\
signal OPS:COMMIT
route OPS:COMMIT => commit
agent RELEASE_MANAGER { task commit task push }
workflow commit {
  commit = RELEASE_MANAGER.commit()
  commit = RELEASE_MANAGER.commit()
  RELEASE_MANAGER.push(hash: commit.hash)
}
";
    let found = check_text(text);
    assert_eq!(
        codes_of(&found),
        [codes::CHECK_DUPLICATE],
        "{}",
        rendered(&found)
    );
    insta::assert_snapshot!(rendered(&found));
}

#[test]
fn a_time_budget_shared_by_a_group_is_reported_once_with_fitting_advice() {
    // Three branches under the default 2m task timeout in a 1m group, one
    // attempt each: one warning naming the three, and no advice about retries.
    let text = "\
signal OPS:AUDIT
route OPS:AUDIT => audit
agent LINTER { task lint task test task scan }
workflow audit {
  parallel gate 100% timeout 1m {
    LINTER.lint()
    LINTER.test()
    LINTER.scan()
  }
}
";
    let found = check_text(text);
    let budgets: Vec<&Diagnostic> = found
        .iter()
        .filter(|d| d.code == codes::LINT_TIME_BUDGET)
        .collect();
    assert_eq!(budgets.len(), 1, "{}", rendered(&found));
    let d = budgets[0];
    assert_eq!(d.labels.len(), 4, "three steps and the group's timeout");
    let help = d.help.as_deref().unwrap_or_default();
    assert!(!help.contains("retr"), "one attempt, yet: {help}");
    insta::assert_snapshot!(rendered(&found));
}

#[test]
fn misspelled_agent_in_the_seed_playbook() {
    // A newcomer edits the real coordinator and misspells one agent name.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/coord_ops.ops");
    let original = std::fs::read_to_string(&path).expect("coord_ops.ops");
    let call = "RELEASE_MANAGER.commit(";
    let at = original
        .find(call)
        .expect("coord_ops.ops calls RELEASE_MANAGER.commit");
    let edited = format!(
        "{}RELEASE_MANGER.commit({}",
        &original[..at],
        &original[at + call.len()..]
    );

    let found = check_source(&SourceFile::new("coord_ops.ops", edited));
    let errors: Vec<&Diagnostic> = found.iter().filter(|d| d.is_error()).collect();
    assert_eq!(
        errors.len(),
        1,
        "one typo, one error:\n{}",
        rendered(&found)
    );
    assert_eq!(errors[0].code, codes::CHECK_UNDEFINED_AGENT);
    assert_eq!(
        errors[0].help.as_deref(),
        Some("did you mean `RELEASE_MANAGER`?")
    );
    assert_eq!(errors[0].primary_span().map(|s| s.start), Some(at));
}

// ── `# ops:allow(...)` ─────────────────────────────────────────────────

/// A playbook whose only diagnostic is `unused_task` on `task push`, with
/// `comment` placed `above` lines above it (0: at the end of the same line).
fn unused_push(comment: &str, above: usize) -> String {
    let mut lines = vec![
        "signal OPS:COMMIT".to_string(),
        "route OPS:COMMIT => commit".to_string(),
        "agent RELEASE_MANAGER {".to_string(),
        "  task commit".to_string(),
    ];
    match above {
        0 => lines.push(format!("  task push {comment}")),
        n => {
            lines.push(format!("  {comment}"));
            for i in 1..n {
                lines.push(format!("  # unrelated comment {i}"));
            }
            lines.push("  task push".to_string());
        }
    }
    lines.extend(["}", "workflow commit {", "  RELEASE_MANAGER.commit()", "}"].map(String::from));
    lines.join("\n") + "\n"
}

#[test]
fn allow_silences_a_lint_on_its_line_and_the_line_above_only() {
    let baseline = check_text(&unused_push("# no allowance here", 0));
    assert_eq!(
        codes_of(&baseline),
        [codes::LINT_UNUSED_TASK],
        "{}",
        rendered(&baseline)
    );

    for allow in [
        "# ops:allow(unused_task)",
        "# ops:allow(ops::lint::unused_task)",
        "# ops:allow(unused_agent, unused_task)",
    ] {
        let same_line = check_text(&unused_push(allow, 0));
        assert!(
            same_line.is_empty(),
            "{allow} on the same line:\n{}",
            rendered(&same_line)
        );

        let line_above = check_text(&unused_push(allow, 1));
        assert!(
            line_above.is_empty(),
            "{allow} on the line above:\n{}",
            rendered(&line_above)
        );

        let two_above = check_text(&unused_push(allow, 2));
        assert_eq!(
            codes_of(&two_above),
            [codes::LINT_UNUSED_TASK],
            "{allow} two lines above must not silence:\n{}",
            rendered(&two_above)
        );
    }

    // Another code does not silence this one.
    let other = check_text(&unused_push("# ops:allow(unused_agent)", 0));
    assert_eq!(codes_of(&other), [codes::LINT_UNUSED_TASK]);
}

#[test]
fn allow_never_silences_an_error() {
    for allow in [
        "# ops:allow(undefined_agent)",
        "# ops:allow(ops::check::undefined_agent)",
    ] {
        let text = format!(
            "signal OPS:COMMIT\nroute OPS:COMMIT => commit\nagent RELEASE_MANAGER {{ task commit }}\n\
             workflow commit {{\n  {allow}\n  RELEASE_MANGER.commit() {allow}\n}}\n"
        );
        let found = check_text(&text);
        assert!(
            found
                .iter()
                .any(|d| d.code == codes::CHECK_UNDEFINED_AGENT && d.is_error()),
            "{allow} silenced an error:\n{text}\n{}",
            rendered(&found)
        );
    }
    // The same holds for every analysis error: allow each code by name on its
    // own trigger fixture, on every line, and it is still reported.
    for code in codes::ANALYSIS
        .iter()
        .filter(|c| c.starts_with("ops::check::"))
    {
        let source = load(&fixture_dir().join(format!("{}.ops", short(code))));
        let allowed: String = source
            .text()
            .lines()
            .map(|line| format!("{line} # ops:allow({})\n", short(code)))
            .collect();
        // Comments inside strings are not comments; fixtures put `#` only in comments.
        let found = check_text(&allowed);
        assert!(
            found.iter().any(|d| d.code == *code),
            "`# ops:allow({})` silenced the error in {}:\n{}",
            short(code),
            source.name(),
            rendered(&found)
        );
    }
}

#[test]
fn allow_on_every_line_silences_every_lint_fixture() {
    for code in codes::ANALYSIS
        .iter()
        .filter(|c| c.starts_with("ops::lint::"))
    {
        let source = load(&fixture_dir().join(format!("{}.ops", short(code))));
        let allowed: String = source
            .text()
            .lines()
            .map(|line| format!("{line} # ops:allow({})\n", short(code)))
            .collect();
        let found = check_text(&allowed);
        assert!(
            !found.iter().any(|d| d.code == *code),
            "`# ops:allow({})` did not silence {}:\n{}",
            short(code),
            source.name(),
            rendered(&found)
        );
    }
}

// ── the shipped playbooks ───────────────────────────────────────────────

#[test]
fn shipped_playbooks_check_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    let (files, problems) = source::collect_playbooks(&[root]);
    assert!(problems.is_empty(), "{}", rendered(&problems));
    assert!(
        files.iter().any(|f| f.ends_with("coord_ops.ops")),
        "playbooks/coord_ops.ops not found among {files:?}"
    );
    let mut earlier = std::collections::HashMap::new();
    for path in files {
        let file = source::load(&path).unwrap_or_else(|d| panic!("{}: {d}", path.display()));
        let found = if test_file::is_test_file(&path) {
            test_file::check(file, &mut earlier)
        } else {
            check_source(&file)
        };
        assert!(
            found.is_empty(),
            "{} has {} diagnostic(s):\n{}",
            path.display(),
            found.len(),
            rendered(&found)
        );
    }
}

#[test]
fn a_misspelled_call_does_not_also_report_the_real_name_unused() {
    for typo in ["RELEASE_MANGER.commit()", "RELEASE_MANAGER.comit()"] {
        let text = format!(
            "signal OPS:A\nroute OPS:A => w\nagent RELEASE_MANAGER {{ task commit }}\nworkflow w {{ {typo} }}\n"
        );
        let found = coordops::analysis::check_source(&SourceFile::new("typo.ops", text));
        let codes: Vec<&str> = found.iter().map(|d| d.code).collect();
        assert_eq!(codes.len(), 1, "{typo}: {codes:?}");
        assert!(found[0].is_error(), "{typo}: {codes:?}");
    }
}

// ── declared outputs ────────────────────────────────────────────────────

const OUTPUTS: &str = "\
signal OPS:COMMIT { branch: string = \"feature\" }
route OPS:COMMIT => commit_pr
agent RELEASE_MANAGER {
  task commit {
    outputs { hash: string, tests_passed: bool, files: list<string> }
    check tests_pass \"Tests pass\": output.tests_passed == true
  }
  task push { outputs { branch: string, hash: string } }
  task fetch
}
workflow commit_pr {
  commit = RELEASE_MANAGER.commit()
  push = RELEASE_MANAGER.push(branch: signal.branch, commit: commit.hash)
  fetch = RELEASE_MANAGER.fetch(branch: push.branch)
  complete \"done {commit.hash}\" { hash: push.hash, anything: fetch.whatever }
}
";

#[test]
fn declared_outputs_check_clean() {
    let found = check_text(OUTPUTS);
    assert!(found.is_empty(), "{}", rendered(&found));
}

#[test]
fn misspelled_output_gets_did_you_mean() {
    for (from, to) in [
        ("commit: commit.hash)", "commit: commit.hsh)"),
        ("\"done {commit.hash}\"", "\"done {commit.hsh}\""),
        ("hash: push.hash,", "hash: commit.hsh,"),
    ] {
        let text = OUTPUTS.replacen(from, to, 1);
        let found = check_text(&text);
        let d = found
            .iter()
            .find(|d| d.code == codes::CHECK_UNDEFINED_OUTPUT)
            .unwrap_or_else(|| panic!("no undefined_output for {to}:\n{}", rendered(&found)));
        assert_eq!(
            d.message,
            "`commit` (RELEASE_MANAGER.commit) has no declared output `hsh`"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `hash`?"));
        let span = d.primary_span().expect("primary label");
        assert_eq!(&text[span.start..span.end], "hsh");
        assert_eq!(found.len(), 1, "{}", rendered(&found));
    }
}

#[test]
fn declared_output_types_reach_the_type_checker() {
    let text = OUTPUTS.replace("output.tests_passed == true", "output.tests_passed == 1");
    let found = check_text(&text);
    assert_eq!(
        codes_of(&found),
        [codes::CHECK_TYPE_MISMATCH],
        "{}",
        rendered(&found)
    );
    assert_eq!(found[0].message, "cannot compare a bool with an int");
    let text = OUTPUTS.replace(
        "fetch = RELEASE_MANAGER.fetch(branch: push.branch)",
        "fetch = RELEASE_MANAGER.fetch(branch: push.branch) when \"x\" in commit.files",
    );
    assert!(check_text(&text).is_empty());
    let text = OUTPUTS.replace(
        "fetch = RELEASE_MANAGER.fetch(branch: push.branch)",
        "fetch = RELEASE_MANAGER.fetch(branch: push.branch) when 3 in commit.files",
    );
    assert_eq!(codes_of(&check_text(&text)), [codes::CHECK_TYPE_MISMATCH]);
}

#[test]
fn agent_level_check_names_the_task_lacking_the_field() {
    let text = OUTPUTS.replace(
        "  task fetch\n",
        "  task fetch\n  task tag { outputs { branch: string } } # ops:allow(unused_task)\n  check passes: output.tests_passed\n",
    );
    let found = check_text(&text);
    assert_eq!(
        codes_of(&found),
        [codes::CHECK_UNDEFINED_OUTPUT, codes::CHECK_UNDEFINED_OUTPUT],
        "{}",
        rendered(&found)
    );
    for (d, task) in found.iter().zip(["push", "tag"]) {
        assert_eq!(
            d.message,
            format!("agent-level check `passes` reads `output.tests_passed`, which task `RELEASE_MANAGER.{task}` does not declare")
        );
        assert!(d
            .help
            .as_deref()
            .is_some_and(|h| h.contains("move the check")));
    }
}

#[test]
fn outputs_blocks_are_checked() {
    let dup = OUTPUTS.replace(
        "  task fetch\n",
        "  task fetch\n  task tag { outputs { a: int } outputs { b: int } } # ops:allow(unused_task)\n",
    );
    assert_eq!(
        codes_of(&check_text(&dup)),
        [codes::CHECK_DUPLICATE_SETTING]
    );
    let default = OUTPUTS.replace(
        "task fetch\n",
        "task fetch\n  task tag { outputs { a: int = 1 } } # ops:allow(unused_task)\n",
    );
    let found = check_text(&default);
    assert_eq!(codes_of(&found), [codes::CHECK_MISPLACED_OPTION]);
    assert_eq!(found[0].message, "output `a` cannot have a default");
    let unknown = OUTPUTS.replace(
        "task fetch\n",
        "task fetch\n  task tag { outputs { a: integer } } # ops:allow(unused_task)\n",
    );
    let found = check_text(&unknown);
    assert_eq!(codes_of(&found), [codes::CHECK_UNKNOWN_TYPE]);
    assert_eq!(found[0].help.as_deref(), Some("did you mean `int`?"));
    let redeclared = OUTPUTS.replace(
        "  task fetch\n",
        "  task fetch\n  task tag { outputs { extra: string } } # ops:allow(unused_task)\n  outputs { extra: string }\n",
    );
    let found = check_text(&redeclared);
    assert!(
        found
            .iter()
            .filter(|d| d.code == codes::CHECK_DUPLICATE)
            .count()
            == 1,
        "{}",
        rendered(&found)
    );
}

#[test]
fn outputs_after_a_task_without_braces_are_misplaced() {
    let text = "agent A {\n  task commit outputs { hash: string }\n  task push # ops:allow(unused_task)\n}\nsignal S:X\nroute S:X => w\nworkflow w { A.commit() }\n";
    let found = check_text(text);
    assert_eq!(
        codes_of(&found),
        [codes::CHECK_MISPLACED_OPTION],
        "{}",
        rendered(&found)
    );
    assert_eq!(
        found[0].message,
        "`outputs { hash: string }` applies to agent `A`, not to task `commit`"
    );
    let braced = text.replace(
        "task commit outputs { hash: string }",
        "task commit { outputs { hash: string } }",
    );
    assert!(
        check_text(&braced).is_empty(),
        "{}",
        rendered(&check_text(&braced))
    );
}
