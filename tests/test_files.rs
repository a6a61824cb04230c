//! `*.test.ops` test files: found by `coordops test` and `coordops check`,
//! run against the playbook their header names, reported at their own text.

use std::path::Path;

use crate::support::{coordops, dir_with, json_of};
use predicates::prelude::*;
use tempfile::TempDir;

const PLAYBOOK: &str = "\
agent A { task build\n task ship }
signal OPS:GO { target: string = \"prod\" }
route go: OPS:GO => w
workflow w {
  built = A.build()
  A.ship()
  complete \"shipped\"
}
test \"own block\" {
  signal OPS:GO
  expect status complete
}
";

const TESTS: &str = "\
tests \"w.ops\"

# A comment between tests.
test \"from the file\" {
  signal OPS:GO { target: \"staging\" }
  expect route go
  expect step built success
}
";

/// A folder holding `w.ops` and `w.test.ops` (with `tests` as its text).
fn suite(tests: &str) -> TempDir {
    dir_with(&[("w.ops", PLAYBOOK), ("w.test.ops", tests)])
}

fn path(dir: &TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

#[test]
fn a_directory_walk_runs_test_files_against_their_playbook_once() {
    let dir = suite(TESTS);
    // The playbook is named twice (by the walk and by the test file): it runs once.
    let out = coordops()
        .args(["test", &path(&dir, ""), &path(&dir, "w.ops")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 2 passed, 0 failed"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).expect("utf-8");
    assert_eq!(out.matches("own block").count(), 1, "{out}");
    assert!(out.contains("w.test.ops :: from the file ... ok"), "{out}");
}

#[test]
fn coverage_merges_a_playbooks_blocks_and_test_files() {
    let dir = suite(TESTS);
    let doc = json_of(coordops().args(["test", &path(&dir, ""), "--coverage", "--format", "json"]));
    let playbooks = doc["coverage"]["playbooks"].as_array().expect("coverage");
    assert_eq!(playbooks.len(), 1, "{doc}");
    let tests = doc["playbooks"][0]["tests"].as_array().expect("tests");
    let files: Vec<&str> = tests.iter().filter_map(|t| t["file"].as_str()).collect();
    assert!(
        files[0].ends_with("w.ops") && files[1].ends_with("w.test.ops"),
        "{files:?}"
    );
}

#[test]
fn a_failure_in_a_test_file_points_at_the_test_file() {
    let dir = suite(&TESTS.replace("expect route go", "expect status failed"));
    coordops()
        .args(["test", &path(&dir, "w.test.ops"), "--format", "github"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "::error file={},line=6",
            path(&dir, "w.test.ops")
        )));
    coordops()
        .args(["test", &path(&dir, "w.test.ops")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("w.test.ops:6:3"));
}

#[test]
fn header_problems_are_bad_files_for_check_and_test() {
    for (text, message) in [
        (
            TESTS.replace("tests \"w.ops\"\n", ""),
            "does not say which playbook",
        ),
        (format!("{TESTS}tests \"w.ops\"\n"), "second `tests` header"),
        (
            format!("{TESTS}agent B {{ task t }}\n"),
            "only `test` blocks",
        ),
    ] {
        let dir = suite(&text);
        coordops()
            .args(["check", &path(&dir, "w.test.ops")])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("ops::test::bad_file"))
            .stderr(predicate::str::contains(message));
        coordops()
            .args(["test", &path(&dir, "")])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("ops::test::bad_file"))
            .stderr(predicate::str::contains(
                "has errors, its tests did not run",
            ));
    }
}

#[test]
fn a_missing_or_broken_playbook_is_reported_at_the_header() {
    let dir = suite(&TESTS.replace("w.ops", "nope.ops"));
    coordops()
        .args(["check", &path(&dir, "w.test.ops")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ops::test::no_playbook"))
        .stderr(predicate::str::contains("does not exist"));
    let dir = suite(TESTS);
    std::fs::write(dir.path().join("w.ops"), "workflow w {\n  B.t()\n}\n").expect("write");
    coordops()
        .args(["check", &path(&dir, "w.test.ops")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has errors"));
}

#[test]
fn check_finds_a_misspelt_step_and_field_in_a_test_file() {
    let text = TESTS
        .replace("expect step built success", "expect step biult success")
        .replace("target: \"staging\"", "target: 3");
    let dir = suite(&text);
    coordops()
        .args(["check", &path(&dir, "")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("there is no step `biult`"))
        .stderr(predicate::str::contains("did you mean `built`?"))
        .stderr(predicate::str::contains("`target` is an int"))
        .stderr(predicate::str::contains("w.test.ops:7:"));
    let dir = suite(&TESTS.replace("expect route go", "given step w.biult succeeds"));
    coordops()
        .args(["check", &path(&dir, "w.test.ops")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ops::check::undefined_step"));
}

#[test]
fn a_test_name_defined_twice_across_files_is_a_duplicate() {
    let dir = suite(&TESTS.replace("from the file", "own block"));
    coordops()
        .args(["check", &path(&dir, "")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ops::check::duplicate_definition"))
        .stderr(predicate::str::contains(
            "test \"own block\" is defined twice",
        ));
    std::fs::write(dir.path().join("x.test.ops"), TESTS).expect("write");
    std::fs::write(dir.path().join("w.test.ops"), TESTS).expect("write");
    coordops()
        .args(["test", &path(&dir, "")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("defined twice"));
}

#[test]
fn the_shipped_suites_reach_the_ci_threshold() {
    coordops()
        .args([
            "test",
            "playbooks/",
            "--coverage",
            "--fail-under",
            "90",
            "--format",
            "junit",
        ])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<testsuites"))
        .stderr(predicate::str::contains("test result: 69 passed, 0 failed"));
}

#[test]
fn the_language_reference_test_file_example_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/language.md")).expect("docs");
    let example = doc
        .split("```ops\n")
        .filter_map(|b| b.split("```").next())
        .find(|b| b.starts_with("tests \"coord_ops.ops\""))
        .expect("the test file example");
    let dir = TempDir::new().expect("tempdir");
    std::fs::copy(
        root.join("playbooks/coord_ops.ops"),
        dir.path().join("coord_ops.ops"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("example.test.ops"), example).expect("write");
    coordops()
        .args(["test", &path(&dir, "example.test.ops")])
        .args(["--filter", "without a rule"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("test result: 1 passed, 0 failed"));
}
