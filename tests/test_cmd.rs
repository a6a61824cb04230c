//! `coordops test`: the `test` blocks of playbooks, run as dry runs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

use coordops::diagnostics::{codes, render_all, RenderOptions};
use coordops::source::SourceFile;
use coordops::{syntax, testing};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn coordops() -> Command {
    let mut cmd = Command::cargo_bin("coordops").expect("the coordops binary");
    cmd.env_remove("NO_COLOR").env("COLUMNS", "80");
    cmd
}

fn reports(path: &str) -> (SourceFile, Vec<testing::TestReport>) {
    let text = std::fs::read_to_string(root().join(path)).expect("fixture loads");
    let file = SourceFile::new(path, text);
    let playbook = syntax::parse(&file).playbook.expect("fixture parses");
    let reports = testing::run_tests(&playbook, &file, None);
    (file, reports)
}

#[test]
fn every_playbook_test_passes() {
    coordops()
        .args(["test", "playbooks/"])
        .current_dir(root())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 69 passed, 0 failed"));
}

#[test]
fn a_failed_expectation_points_at_its_expect_line() {
    let (_, reports) = reports("tests/fixtures/testing/failing.ops");
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].passed);
    assert_eq!(reports[0].status.as_deref(), Some("failed"));
    assert_eq!(reports[0].failures.len(), 2, "status and step both fail");
    assert!(reports[0]
        .failures
        .iter()
        .all(|d| d.code == codes::TEST_FAILED));
    let rendered = render_all(
        &reports[0].failures,
        RenderOptions {
            color: false,
            width: 80,
        },
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn tests_that_cannot_run_are_invalid() {
    let (_, reports) = reports("tests/fixtures/testing/invalid.ops");
    let codes_and_messages: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r.failures[0].code, r.failures[0].message.as_str()))
        .collect();
    assert_eq!(
        codes_and_messages,
        [
            (
                codes::TEST_INVALID,
                "test \"no signal\" sends no signal: add `signal NS:NAME`"
            ),
            (
                codes::TEST_INVALID,
                "signal `OPS:RELEASE` has no field `versoin`"
            ),
        ]
    );
}

#[test]
fn the_cli_reports_failures_and_exits_1() {
    coordops()
        .args([
            "--color",
            "never",
            "test",
            "tests/fixtures/testing/failing.ops",
        ])
        .current_dir(root())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("... FAILED (failed)"))
        .stdout(predicate::str::contains("test result: 0 passed, 1 failed"))
        .stderr(predicate::str::contains("ops::test::failed"));
}

#[test]
fn filter_selects_tests_by_name() {
    coordops()
        .args(["test", "playbooks/coord_ops.ops", "--filter", "audit"])
        .current_dir(root())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 2 passed, 0 failed"));
}

#[test]
fn a_playbook_with_errors_runs_no_tests() {
    coordops()
        .args([
            "--color",
            "never",
            "test",
            "tests/fixtures/check/undefined_agent.ops",
        ])
        .current_dir(root())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("its tests did not run"));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    coordops().args(["test", "no/such/dir"]).assert().code(2);
}

/// The explanations' examples for the test codes behave as they say.
#[test]
fn test_code_explanations_hold() {
    for (code, wrong_fails) in [(codes::TEST_FAILED, true), (codes::TEST_INVALID, true)] {
        let text = coordops::explain::explanation(code).expect("explained");
        let blocks: Vec<&str> = text
            .split("```ops\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert_eq!(blocks.len(), 2, "{code}: a Wrong and a Corrected example");
        for (block, should_fail) in blocks.iter().zip([wrong_fails, false]) {
            let file = SourceFile::new("example.ops", *block);
            let playbook = syntax::parse(&file).playbook.expect("example parses");
            let reports = testing::run_tests(&playbook, &file, None);
            let failed: Vec<&str> = reports
                .iter()
                .flat_map(|r| r.failures.iter().map(|d| d.code))
                .collect();
            if should_fail {
                assert_eq!(failed, [code], "{code}: the Wrong example");
            } else {
                assert!(
                    failed.is_empty(),
                    "{code}: the Corrected example fails with {failed:?}"
                );
            }
        }
    }
}
