//! The real `coordops` binary: exit codes, summaries, colour and JSON output.

use std::path::{Path, PathBuf};

use crate::support::coordops;
use predicates::prelude::*;
use tempfile::TempDir;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn has_ansi(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}

#[test]
fn check_valid_file_exits_0_with_ok_summary() {
    coordops()
        .args(["check"])
        .arg(fixture("valid/clean.ops"))
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::starts_with("ok: 1 file checked, 0 errors"));
}

#[test]
fn check_invalid_file_exits_1_with_code_and_summary() {
    coordops()
        .args(["--color", "never", "check"])
        .arg(fixture("invalid/timeout_without_unit.ops"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("ops::parse::unexpected_token")
                .and(predicate::str::contains("timeout_without_unit.ops:2:11"))
                .and(predicate::str::contains("failed: 1 file checked, 1 error")),
        );
}

#[test]
fn check_missing_path_exits_2() {
    let dir = TempDir::new().unwrap();
    coordops()
        .arg("check")
        .arg(dir.path().join("nope.ops"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("ops::io::not_found")
                .and(predicate::str::contains("nope.ops")),
        );
}

#[test]
fn check_empty_directory_exits_2() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a playbook").unwrap();
    coordops()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ops::io::no_playbooks"));
}

#[test]
fn no_arguments_is_a_usage_error() {
    coordops()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    coordops()
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
}

#[test]
fn unknown_option_is_a_usage_error() {
    coordops()
        .args(["check", "--frobnicate", "x.ops"])
        .assert()
        .code(2);
}

#[test]
fn check_directory_counts_every_file() {
    let dir = TempDir::new().unwrap();
    std::fs::copy(fixture("valid/clean.ops"), dir.path().join("good.ops")).unwrap();
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested).unwrap();
    std::fs::copy(fixture("invalid/semicolon.ops"), nested.join("bad.ops")).unwrap();
    std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
    coordops()
        .args(["--color", "never", "check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("failed: 2 files checked, 1 error, 0 warnings")
                .and(predicate::str::contains("bad.ops"))
                .and(predicate::str::contains("ops::parse::invalid_character")),
        );
}

#[test]
fn check_reports_errors_from_several_files() {
    coordops()
        .args(["--color", "never", "check"])
        .arg(fixture("invalid/semicolon.ops"))
        .arg(fixture("invalid/two_errors_in_two_agents.ops"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "failed: 2 files checked, 3 errors",
        ));
}

#[test]
fn color_never_and_no_color_print_no_escapes() {
    let bad = fixture("invalid/timeout_without_unit.ops");
    let out = coordops()
        .args(["--color", "never", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!has_ansi(&out.stderr) && !has_ansi(&out.stdout));

    let out = coordops()
        .env("NO_COLOR", "1")
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!has_ansi(&out.stderr) && !has_ansi(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ops::parse::unexpected_token"));

    // The check above would see colour if there were any.
    let out = coordops()
        .args(["--color", "always", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(has_ansi(&out.stderr), "--color always should colour");
}

#[test]
fn parse_ast_prints_json_with_items() {
    let out = coordops()
        .args(["parse", "--ast"])
        .arg(fixture("syntax/rich.ops"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let items = json["items"].as_array().expect("an `items` array");
    assert_eq!(items.len(), 18);
    assert_eq!(items[0]["item"], "coordinator");
    assert!(json["span"]["end"].as_u64().is_some());
}

#[test]
fn parse_without_ast_prints_a_summary() {
    coordops()
        .arg("parse")
        .arg(fixture("syntax/rich.ops"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("18 declarations"));
}

#[test]
fn parse_invalid_file_exits_1() {
    coordops()
        .args(["--color", "never", "parse", "--ast"])
        .arg(fixture("invalid/semicolon.ops"))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("ops::parse::invalid_character"));
}

#[test]
fn help_mentions_examples_and_exit_codes() {
    for sub in ["check", "parse"] {
        coordops().args([sub, "--help"]).assert().code(0).stdout(
            predicate::str::contains("Examples:")
                .and(predicate::str::contains(format!("coordops {sub} ")))
                .and(predicate::str::contains("Exit codes"))
                .and(predicate::str::contains("0"))
                .and(predicate::str::contains("2 usage")),
        );
    }
}

#[test]
fn non_utf8_file_exits_2() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("latin1.ops");
    std::fs::write(&path, b"agent A \"caf\xe9\" {\n  task t\n}\n").unwrap();
    for sub in ["check", "parse"] {
        coordops()
            .args(["--color", "never", sub])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("ops::io::not_utf8")
                    .and(predicate::str::contains("line 1")),
            );
    }
}

#[test]
fn directory_given_to_parse_exits_2() {
    let dir = TempDir::new().unwrap();
    coordops()
        .args(["parse"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ops::io::is_directory"));
}
