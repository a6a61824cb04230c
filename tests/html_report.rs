//! `--format html`: the self-contained HTML report of `dry-run`, `run`
//! (see real_runs.rs for its secrets) and `report`.

use crate::support::{coordops, stdout_of};
use serde_json::Value;

/// The COORD_OPS release dry run, before its scenario.
pub const RELEASE: [&str; 7] = [
    "dry-run",
    "playbooks/coord_ops.ops",
    "--signal",
    "OPS:RELEASE",
    "--set",
    "version=1.2.0",
    "--scenario",
];
/// The release run's scenario: retries, parallel branches and waits.
pub const SCENARIO: &str = "tests/fixtures/html/release_timeline.toml";

/// The release dry run's report in `format`, with extra arguments.
fn release(format: &str, extra: &[&str]) -> String {
    stdout_of(
        coordops()
            .args(RELEASE)
            .arg(SCENARIO)
            .args(["--format", format])
            .args(extra),
    )
}

/// How many attempts the run result records, over all steps.
pub fn attempts_in(json: &str) -> usize {
    let result: Value = serde_json::from_str(json).expect("JSON report");
    result["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["attempts"].as_array().map_or(0, Vec::len))
        .sum()
}

/// `tag.name` goes from `tag` to three later steps: its label is drawn once,
/// not three times on top of each other.
#[test]
fn a_result_handed_to_several_steps_is_labelled_once() {
    let html = release("html", &[]);
    assert_eq!(html.matches(">tag.name</text>").count(), 1, "{html}");
    assert_eq!(html.matches(">tag.commit</text>").count(), 1);
}

#[test]
fn the_release_report_has_status_gates_timeline_and_flow() {
    let html = release("html", &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"data-status="complete">COMPLETE</span>"#));
    assert!(html.contains("<li>PASSED (2/2 succeeded ≥ 2 required)</li>"));
    assert_eq!(
        html.matches("data-attempt=").count(),
        attempts_in(&release("json", &[])),
        "one bar per attempt"
    );
    // The retried bump: a failed bar, the backoff gap, then success.
    assert!(html.contains(r#"class="bar failure" data-attempt="1" data-step="bump""#));
    assert!(html.contains(r#"title="backoff 2s before attempt 2""#));
    assert!(html.contains(r#"class="bar timeout" data-attempt="1" data-step="published""#));
    assert!(html.contains(r#"<span class="mark timeout""#));
    // The flow: what OPS:RELEASE reaches, drawn inline.
    assert!(html.contains("<svg class=\"flow\""));
    assert!(html.contains(">release: OPS:RELEASE</text>"));
    assert!(!html.contains("commit_pr"));
    // Self-contained: nothing fetched.
    for outside in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(outside), "{outside}");
    }
}

#[test]
fn waits_and_cancellations_are_marked() {
    // A version with markup is escaped everywhere it shows.
    let out = coordops()
        .args([
            "dry-run",
            "playbooks/coord_ops.ops",
            "--signal",
            "OPS:RELEASE",
        ])
        .args([
            "--set",
            "version=<b>2&3</b>",
            "--format",
            "html",
            "--scenario",
        ])
        .arg("tests/fixtures/scenarios/release_approval_never.toml")
        .output()
        .expect("runs");
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(html.contains(r#"data-status="escalated""#), "{html}");
    assert!(html.contains(
        "<h2>Ops Escalation: No approval for release &lt;b&gt;2&amp;3&lt;/b&gt; within 24h</h2>"
    ));
    // The approval nobody decided: its wait is its bar, marked timed out.
    assert!(
        html.contains(r#"class="bar no-decision" data-attempt="1" data-step="release_approval""#)
    );
    assert!(html.contains(r#"<span class="mark timeout""#));
    assert!(!html.contains("<b>2&3</b>"), "unescaped markup");
    // An interrupted audit: the branches still running are cancelled.
    let out = coordops()
        .args([
            "dry-run",
            "playbooks/coord_ops.ops",
            "--signal",
            "OPS:AUDIT",
        ])
        .args(["--format", "html", "--scenario"])
        .arg("tests/fixtures/scenarios/audit_interrupted.toml")
        .output()
        .expect("runs");
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(html.contains(r#"data-status="aborted""#));
    assert_eq!(
        html.matches(r#"<span class="mark cancelled""#).count(),
        2,
        "{html}"
    );
}

#[test]
fn a_wait_for_a_slot_shows_before_the_first_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = super::docs_claims::slow_slots(dir.path());
    let out = coordops()
        .args(["dry-run", "tests/fixtures/runtime/coordinator_slots.ops"])
        .args(["--signal", "RUN:SPREAD", "--format", "html", "--scenario"])
        .arg(&scenario)
        .output()
        .expect("runs");
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    // One of three tasks waits the first 10s of the 20s run for a slot.
    assert_eq!(
        html.matches(
            r#"<div class="wait" style="left:0.000%;width:50.000%" title="waited for a lock or a concurrency slot: 10s">"#
        )
        .count(),
        1,
        "{html}"
    );
}

#[test]
fn report_rebuilds_the_html_from_a_journal_with_its_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("run.jsonl");
    let from_run = release("html", &["--journal", journal.to_str().expect("UTF-8")]);
    let out = coordops()
        .args(["report", "--format", "html"])
        .arg(&journal)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let rebuilt = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(rebuilt, from_run, "the journal gives back the same page");
    // Without the playbook, the page has no flow and says why on stderr.
    let moved = dir.path().join("elsewhere");
    std::fs::create_dir(&moved).expect("dir");
    let out = coordops()
        .current_dir(&moved)
        .args(["report", "--format", "html"])
        .arg(&journal)
        .output()
        .expect("runs");
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(html.contains("data-attempt=") && !html.contains("<svg class=\"flow\""));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no flow graph"));
}
