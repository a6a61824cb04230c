//! `coordops test --replay`: dry-run journals of playbooks/coord_ops.ops
//! (tests/fixtures/replay/) replay clean against the playbook; a changed
//! step or route fails, pointing at the playbook text.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const FIXTURES: &str = "tests/fixtures/replay";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn coordops() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
    // A hang guard only.
    cmd.current_dir(root())
        .env("COLUMNS", "1000")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// A copy of coord_ops.ops with `from` replaced by `to` (which must occur).
fn edited(dir: &tempfile::TempDir, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("playbooks/coord_ops.ops")).expect("playbook");
    assert!(text.contains(from), "the playbook has `{from}`");
    let path = dir.path().join("coord_ops.ops");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    path
}

#[test]
fn every_fixture_journal_replays_against_the_playbook() {
    let mut journals: Vec<String> = std::fs::read_dir(root().join(FIXTURES))
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .map(|n| fixture(&n))
        .collect();
    journals.sort();
    assert!(journals.len() >= 4, "{journals:?}");
    coordops()
        .arg("test")
        .arg("--replay")
        .args(&journals)
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains(format!("test result: {} passed, 0 failed", journals.len()))
                .and(predicate::str::contains(
                    "commit_push_rejected.jsonl ... ok (complete)",
                ))
                .and(predicate::str::contains(
                    "commit_times_out.jsonl ... ok (escalated)",
                ))
                .and(predicate::str::contains(
                    "release_denied.jsonl ... ok (failed)",
                )),
        );
}

#[test]
fn a_changed_step_fails_at_its_span_with_what_was_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = edited(
        &dir,
        "on failure(rejected) => RELEASE_MANAGER.fetch(branch: signal.branch) then retry",
        "on failure(rejected) => escalate Conflict \"push rejected\" { recommended: \"rebase\" }",
    );
    let text = std::fs::read_to_string(&playbook).expect("edited");
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("  push = RELEASE_MANAGER.push("))
        .expect("the push step");
    coordops()
        .args(["test", "--replay", &fixture("commit_push_rejected.jsonl"), "--playbook"])
        .arg(&playbook)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("... FAILED (complete)"))
        .stderr(
            predicate::str::contains("ops::test::failed")
                .and(predicate::str::contains(
                    "now `push` failure after 1 attempt(s); recorded: `push` success after 2 attempt(s)",
                ))
                .and(predicate::str::contains(format!("coord_ops.ops:{line}:3")))
                .and(predicate::str::contains("push = RELEASE_MANAGER.push(")),
        );
}

#[test]
fn a_changed_route_fails_at_the_route_taken_now() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = edited(
        &dir,
        "route audit:      OPS:AUDIT      => full_audit",
        "route audit_off: OPS:AUDIT => ignore\nroute audit: OPS:AUDIT => full_audit",
    );
    coordops()
        .args(["test", "--replay", &fixture("audit.jsonl"), "--playbook"])
        .arg(&playbook)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(
                "route: now OPS:AUDIT => ignore; recorded: OPS:AUDIT => workflow full_audit",
            )
            .and(predicate::str::contains(
                "route audit_off: OPS:AUDIT => ignore",
            )),
        );
}

#[test]
fn a_journal_without_a_version_cannot_be_replayed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(root().join(fixture("audit.jsonl"))).expect("fixture");
    let first = text.lines().next().expect("start");
    let mut start: serde_json::Value = serde_json::from_str(first).expect("json");
    let object = start.as_object_mut().expect("object");
    object.remove("version");
    object.remove("started_unix_ms");
    let path = dir.path().join("v1.jsonl");
    std::fs::write(&path, format!("{start}\n")).expect("write");
    coordops()
        .args(["test", "--replay"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("version 1 journal"));
}

#[test]
fn lines_added_above_the_steps_do_not_change_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(root().join("playbooks/coord_ops.ops")).expect("playbook");
    let playbook = dir.path().join("coord_ops.ops");
    std::fs::write(&playbook, format!("# A comment\n\n# and another\n{text}")).expect("write");
    coordops()
        .args(["test", "--replay"])
        .arg(fixture("commit_push_rejected.jsonl"))
        .arg(fixture("release.jsonl"))
        .arg("--playbook")
        .arg(&playbook)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2 passed, 0 failed"));
}

#[test]
fn a_new_approval_fails_at_its_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = edited(
        &dir,
        "  approve release_approval ",
        "  approve second_opinion \"Really?\" timeout 1h\n  approve release_approval ",
    );
    coordops()
        .args(["test", "--replay", &fixture("release.jsonl"), "--playbook"])
        .arg(&playbook)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(
                "approval `second_opinion`: now asks for an approval; recorded: no decision",
            )
            .and(predicate::str::contains(
                "this approval differs from the journal",
            ))
            .and(predicate::str::contains(
                "approve second_opinion \"Really?\"",
            )),
        );
}

/// Two journals replayed against a copy of coord_ops.ops whose first
/// `OPS:AUDIT` route now ignores the signal: audit.jsonl leaves the
/// recorded path at that route, release.jsonl does not. The copy, and the
/// 1-based line of the new route.
fn audit_ignored(dir: &tempfile::TempDir) -> (PathBuf, usize) {
    let playbook = edited(
        dir,
        "route audit:      OPS:AUDIT      => full_audit",
        "route audit_off: OPS:AUDIT => ignore\nroute audit: OPS:AUDIT => full_audit",
    );
    let text = std::fs::read_to_string(&playbook).expect("edited");
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("route audit_off:"))
        .expect("the new route");
    (playbook, line)
}

/// `coordops test --replay … --format FORMAT` on the two journals: its
/// stdout and stderr, after checking it exits 1.
fn replayed_as(format: &str, playbook: &Path) -> (String, String) {
    let out = coordops()
        .args(["test", "--format", format, "--replay"])
        .arg(fixture("audit.jsonl"))
        .arg(fixture("release.jsonl"))
        .arg("--playbook")
        .arg(playbook)
        .assert()
        .code(1)
        .get_output()
        .clone();
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

const AUDIT_CASE: &str = "audit.jsonl (run dry-run-ops-audit, OPS:AUDIT)";
const RELEASE_CASE: &str = "release.jsonl (run dry-run-ops-release, OPS:RELEASE)";

#[test]
fn replay_as_junit_is_a_test_case_per_journal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (playbook, line) = audit_ignored(&dir);
    let (stdout, stderr) = replayed_as("junit", &playbook);
    assert!(
        stderr.contains("test result: 1 passed, 1 failed"),
        "{stderr}"
    );
    let doc = roxmltree::Document::parse(&stdout).expect("well-formed XML");
    let suites: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "one suite per playbook: {stdout}");
    let suite = suites[0];
    assert_eq!(
        (suite.attribute("tests"), suite.attribute("failures")),
        (Some("2"), Some("1"))
    );
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(names, [AUDIT_CASE, RELEASE_CASE]);
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("the audit journal fails");
    assert_eq!(failure.attribute("type"), Some("ops::test::failed"));
    let text = failure.text().expect("failure text");
    let at = format!(
        "{}:{line}:1: route audit_off: OPS:AUDIT => ignore",
        playbook.display()
    );
    assert!(text.starts_with(&at), "{text}");
    assert!(
        text.contains("\nexpected: route: OPS:AUDIT => workflow full_audit")
            && text.contains("\nactual:   route: OPS:AUDIT => ignore"),
        "{text}"
    );
    assert!(!cases[1].has_children(), "the release journal passes");
}

#[test]
fn replay_as_json_names_the_journal_and_the_playbook_span() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (playbook, line) = audit_ignored(&dir);
    let (stdout, stderr) = replayed_as("json", &playbook);
    assert!(
        stderr.contains("test result: 1 passed, 1 failed"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let tests = &doc["playbooks"][0]["tests"];
    assert_eq!(tests[0]["name"], AUDIT_CASE);
    assert_eq!(tests[0]["file"], fixture("audit.jsonl"));
    assert_eq!(tests[0]["status"], "failed");
    assert_eq!(tests[0]["run_status"], "complete");
    let failure = &tests[0]["failures"][0];
    assert_eq!(failure["line"], line);
    assert_eq!(failure["file"], playbook.display().to_string());
    assert_eq!(
        failure["expected"],
        "route: OPS:AUDIT => workflow full_audit"
    );
    assert_eq!(failure["actual"], "route: OPS:AUDIT => ignore");
    assert_eq!(tests[1]["status"], "passed");
    assert_eq!(doc["totals"]["failed"], 1);
}

#[test]
fn replay_as_github_annotates_the_route_taken_now() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (playbook, line) = audit_ignored(&dir);
    let (stdout, _) = replayed_as("github", &playbook);
    let first = stdout.lines().next().expect("an annotation");
    assert!(
        first.starts_with(&format!(
            "::error file={},line={line},col=1,",
            playbook.display().to_string().replace(':', "%3A")
        )),
        "{stdout}"
    );
    assert!(
        first.contains(&format!("::test \"{AUDIT_CASE}\": "))
            && first.contains("%0Aexpected: route: OPS:AUDIT => workflow full_audit"),
        "{first}"
    );
    assert!(
        stdout.ends_with("\ntest result: 1 passed, 1 failed\n"),
        "{stdout}"
    );
}

#[test]
fn an_unreadable_journal_is_a_usage_error_in_every_format() {
    for format in ["human", "json", "junit", "github"] {
        coordops()
            .args(["test", "--format", format, "--replay", "no/such.jsonl"])
            .arg(fixture("audit.jsonl"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("no/such.jsonl"));
    }
}

#[test]
fn an_unfinished_journal_passes_with_run_status_unfinished() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(root().join(fixture("commit_push_rejected.jsonl")))
        .expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.last().is_some_and(|l| l.contains("\"type\":\"end\"")));
    let path = dir.path().join("unfinished.jsonl");
    std::fs::write(&path, format!("{}\n", lines[..lines.len() - 1].join("\n"))).expect("write");
    let out = coordops()
        .args(["test", "--format", "json", "--replay"])
        .arg(&path)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    let test = &doc["playbooks"][0]["tests"][0];
    assert_eq!(test["run_status"], "unfinished", "{doc}");
    assert_eq!(test["status"], "passed", "{doc}");
}

#[test]
fn a_playbook_with_errors_is_a_junit_error_and_exit_1() {
    let out = coordops()
        .args(["test", "--format", "junit", "--replay"])
        .arg(fixture("audit.jsonl"))
        .args(["--playbook", "tests/fixtures/check/undefined_agent.ops"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .expect("a test case");
    assert_eq!(case.attribute("name"), Some("(check)"), "{xml}");
    assert!(
        case.children().any(|n| n.has_tag_name("error")
            && n.text()
                .is_some_and(|t| t.contains("ops::check::undefined_agent"))),
        "{xml}"
    );
}
