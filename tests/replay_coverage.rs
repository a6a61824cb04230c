//! `coordops test --replay … --coverage`: what of playbooks/coord_ops.ops
//! the six dry-run journals of tests/fixtures/replay/ exercised, in every
//! format, and `--fail-under` on that figure.

use serde_json::Value;

use crate::support::{coordops, root};

/// The six fixture journals, sorted.
fn journals() -> Vec<String> {
    let mut journals: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/replay"))
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .map(|n| format!("tests/fixtures/replay/{n}"))
        .collect();
    journals.sort();
    assert_eq!(journals.len(), 6, "{journals:?}");
    journals
}

/// `coordops test --replay JOURNALS… ARGS…`: exit code, stdout, stderr.
fn replayed(journals: &[String], args: &[&str]) -> (Option<i32>, String, String) {
    let out = coordops()
        .arg("test")
        .arg("--replay")
        .args(journals)
        .args(args)
        .timeout(crate::support::CAP)
        .output()
        .expect("coordops runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The figure every format reports for the six fixtures.
const FIGURE: &str = "coverage: 26.1% (28 of 107 items)";

#[test]
fn the_six_fixtures_cover_a_known_share_of_coord_ops() {
    let (code, stdout, stderr) = replayed(&journals(), &["--coverage"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("test result: 6 passed, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("coverage of playbooks/coord_ops.ops"),
        "{stdout}"
    );
    assert!(stdout.contains(FIGURE), "{stdout}");
    // Handlers and rules count on the replay path too (the push's
    // `on failure(rejected)` handler, the timeout's escalation rule).
    assert!(
        stdout.contains("  handlers                 2      13   15.3%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  rules                    2       8   25.0%"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "playbooks/coord_ops.ops:252: route other_domains: * => ignore\n      not exercised: route other_domains"
        ),
        "{stdout}"
    );
}

#[test]
fn fail_under_fails_above_the_figure_and_passes_below_it() {
    let journals = journals();
    let (code, _, stderr) = replayed(&journals, &["--fail-under", "27"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: coverage 26.1% (28 of 107 items) is below --fail-under 27%"),
        "{stderr}"
    );
    let (code, stdout, stderr) = replayed(&journals, &["--fail-under", "26"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(FIGURE), "{stdout}");
    let (code, _, stderr) = replayed(&journals, &["--fail-under", "101"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn json_carries_the_coverage_member_and_a_test_per_journal() {
    let (code, stdout, stderr) = replayed(&journals(), &["--coverage", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("a JSON document");
    let playbooks = doc["coverage"]["playbooks"].as_array().expect("playbooks");
    assert_eq!(playbooks.len(), 1, "{doc}");
    assert_eq!(playbooks[0]["file"], "playbooks/coord_ops.ops");
    assert_eq!(playbooks[0]["total"]["covered"], 28);
    assert_eq!(playbooks[0]["total"]["total"], 107);
    let uncovered = playbooks[0]["uncovered"].as_array().expect("uncovered");
    assert!(
        uncovered
            .iter()
            .any(|u| u["item"] == "route other_domains" && u["line"] == 252),
        "{doc}"
    );
    assert_eq!(doc["totals"]["passed"], 6, "{doc}");
}

#[test]
fn github_notices_and_junit_summary_on_stderr() {
    let journals = journals();
    let (code, stdout, stderr) = replayed(&journals, &["--coverage", "--format", "github"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(
            "::notice file=playbooks/coord_ops.ops,line=252,title=not covered by tests::not exercised: route other_domains"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(FIGURE), "{stdout}");
    let (code, stdout, stderr) = replayed(&journals, &["--coverage", "--format", "junit"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("<?xml"), "{stdout}");
    assert!(!stdout.contains("coverage:"), "{stdout}");
    assert!(stderr.contains(FIGURE), "{stderr}");
}

#[test]
fn an_unfinished_journal_counts_what_it_ran_up_to_its_end() {
    // The commit journal cut after the push's first attempt started.
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/replay/commit_push_rejected.jsonl"))
            .expect("fixture");
    let cut: String = text.lines().take(11).map(|l| format!("{l}\n")).collect();
    assert!(cut.contains("\"step\":\"push\""), "{cut}");
    let journal = dir.path().join("cut.jsonl");
    std::fs::write(&journal, cut).expect("write");
    let (code, stdout, stderr) = replayed(
        &[journal.display().to_string()],
        &[
            "--playbook",
            "playbooks/coord_ops.ops",
            "--coverage",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("a JSON document");
    let playbook = &doc["coverage"]["playbooks"][0];
    let uncovered = crate::support::uncovered_items(playbook);
    // Route, commit and the push it stopped at; not the PR after them.
    assert_eq!(playbook["total"]["covered"], 3, "{doc}");
    for ran in ["route commit", "step commit_pr.1", "step commit_pr.2"] {
        assert!(!uncovered.contains(&ran), "{ran}: {uncovered:?}");
    }
    assert!(uncovered.contains(&"step commit_pr.5"), "{uncovered:?}");
}

#[test]
fn a_replay_that_leaves_the_path_counts_what_it_ran_and_still_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(root().join("playbooks/coord_ops.ops")).expect("playbook");
    let from = "on failure(rejected) => RELEASE_MANAGER.fetch(branch: signal.branch) then retry";
    assert!(text.contains(from));
    let playbook = dir.path().join("coord_ops.ops");
    let edited = text.replacen(from, "on failure(rejected) => fail \"push rejected\"", 1);
    std::fs::write(&playbook, edited).expect("write");
    let (code, stdout, stderr) = replayed(
        &["tests/fixtures/replay/commit_push_rejected.jsonl".to_string()],
        &["--playbook", &playbook.display().to_string(), "--coverage"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.contains("... FAILED (complete)"), "{stdout}");
    // The route, commit, push and the push's new handler.
    assert!(
        stdout.contains("coverage: 3.7% (4 of 107 items)"),
        "{stdout}"
    );
}
