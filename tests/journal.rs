//! The run journal and `coordops report`: a finished run's journal gives
//! back its exact report; a killed run's journal (cut anywhere, even inside
//! a line) gives an UNFINISHED report listing what was in flight.

use std::path::{Path, PathBuf};

use crate::support::coordops;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const PLAYBOOK: &str = "playbooks/coord_ops.ops";

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&cmd.output().expect("runs").stdout).into_owned()
}

/// Dry-runs `signal` with `args`, journalling to `dir/name.jsonl`.
fn journalled(dir: &TempDir, name: &str, signal: &str, args: &[&str]) -> (PathBuf, String) {
    let journal = dir.path().join(format!("{name}.jsonl"));
    let report = stdout(
        coordops()
            .args(["dry-run", PLAYBOOK, "--signal", signal, "--journal"])
            .arg(&journal)
            .args(args),
    );
    (journal, report)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("journal")
        .lines()
        .map(str::to_string)
        .collect()
}

fn entry_type(line: &str) -> String {
    serde_json::from_str::<Value>(line).expect("a JSON line")["type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_finished_run_gives_back_its_exact_report() {
    let dir = TempDir::new().expect("tempdir");
    for (signal, args) in [
        ("OPS:COMMIT", vec!["--set", "user_facing=true"]),
        ("OPS:AUDIT", vec![]),
        (
            "OPS:COMMIT",
            vec![
                "--scenario",
                "tests/fixtures/scenarios/push_rejected_then_fetch.toml",
            ],
        ),
        ("SCHED:SWAP", vec![]),
    ] {
        for format in ["md", "json"] {
            let mut all = args.clone();
            all.extend(["--format", format]);
            let (journal, report) = journalled(&dir, format, signal, &all);
            let rebuilt = stdout(
                coordops()
                    .arg("report")
                    .arg(&journal)
                    .args(["--format", format]),
            );
            assert_eq!(rebuilt, report, "{signal} {format}");
            std::fs::remove_file(&journal).expect("rm");
        }
    }
}

#[test]
fn the_journal_has_one_line_per_entry_from_start_to_end() {
    let dir = TempDir::new().expect("tempdir");
    let (journal, _) = journalled(&dir, "j", "OPS:COMMIT", &[]);
    let types: Vec<String> = lines(&journal).iter().map(|l| entry_type(l)).collect();
    assert_eq!(types.first().map(String::as_str), Some("start"));
    assert_eq!(types.last().map(String::as_str), Some("end"));
    for kind in [
        "route",
        "event",
        "attempt",
        "attempt_end",
        "step",
        "handoff",
    ] {
        assert!(types.iter().any(|t| t == kind), "{kind} in {types:?}");
    }
    let attempt = lines(&journal)
        .into_iter()
        .find(|l| entry_type(l) == "attempt")
        .expect("an attempt");
    let request = &serde_json::from_str::<Value>(&attempt).expect("json")["request"];
    assert_eq!(request["protocol"], 1);
    assert_eq!(request["agent"], "RELEASE_MANAGER");
    assert!(request["idempotency_key"]
        .as_str()
        .is_some_and(|k| k.starts_with("dry-run-ops-commit/")));
    assert!(request["assignment"]["markdown"]
        .as_str()
        .is_some_and(|m| m.starts_with("## Agent Assignment: RELEASE_MANAGER")));
}

#[test]
fn a_killed_run_reports_unfinished_with_the_step_in_flight() {
    let dir = TempDir::new().expect("tempdir");
    let (journal, _) = journalled(&dir, "j", "OPS:COMMIT", &[]);
    let all = lines(&journal);
    // Cut right after the push attempt was sent, then half a line: what a
    // `kill -9` in the middle of a write leaves.
    let cut = all
        .iter()
        .position(|l| entry_type(l) == "attempt" && l.contains("\"step\":\"push\""))
        .expect("the push attempt");
    let mut text = all[..=cut].join("\n");
    text.push('\n');
    text.push_str(&all[cut + 1][..10]);
    let killed = dir.path().join("killed.jsonl");
    std::fs::write(&killed, text).expect("write");

    let out = coordops()
        .arg("report")
        .arg(&killed)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("skipped (an interrupted write?)"));
    let md = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(md.contains("**Status:** UNFINISHED"), "{md}");
    assert!(
        md.contains("1 step(s) in flight: push (RELEASE_MANAGER.push attempt 1)"),
        "{md}"
    );

    let json = stdout(
        coordops()
            .arg("report")
            .arg(&killed)
            .args(["--format", "json"]),
    );
    let result: Value = serde_json::from_str(&json).expect("json report");
    assert_eq!(result["status"], "UNFINISHED");
    let steps = result["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{json}");
    assert_eq!(steps[0]["name"], "commit");
    assert_eq!(steps[0]["outcome"]["status"], "success");
    assert_eq!(steps[1]["name"], "push");
    assert_eq!(steps[1]["outcome"]["status"], "aborted");
}

#[test]
fn an_interrupted_dry_run_journals_its_abort() {
    let dir = TempDir::new().expect("tempdir");
    let (journal, _) = journalled(
        &dir,
        "j",
        "OPS:AUDIT",
        &[
            "--scenario",
            "tests/fixtures/scenarios/audit_interrupted.toml",
        ],
    );
    let end = lines(&journal).pop().expect("a last line");
    assert_eq!(entry_type(&end), "end");
    assert!(end.contains("\"status\":\"ABORTED\""), "{end}");
}

#[test]
fn the_last_run_of_a_shared_journal_is_reported() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("shared.jsonl");
    for signal in ["OPS:AUDIT", "OPS:COMMIT"] {
        coordops()
            .args(["dry-run", PLAYBOOK, "--signal", signal, "--journal"])
            .arg(&journal)
            .assert()
            .success();
    }
    coordops()
        .arg("report")
        .arg(&journal)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("## Ops Result: OPS:COMMIT"));
}

#[test]
fn what_is_not_a_journal_is_a_usage_error() {
    let dir = TempDir::new().expect("tempdir");
    let bogus = dir.path().join("bogus.jsonl");
    std::fs::write(&bogus, "not json\n").expect("write");
    coordops()
        .arg("report")
        .arg(&bogus)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a coordops journal"));
    coordops()
        .arg("report")
        .arg(dir.path().join("missing.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read journal"));
    // Never read a device or a folder (it would never end).
    for odd in ["/dev/zero", "/tmp"] {
        coordops()
            .args(["report", odd])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("it is not a regular file"));
    }
}

#[test]
fn an_end_from_another_run_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    let (first, _) = journalled(&dir, "first", "OPS:AUDIT", &[]);
    let (second, _) = journalled(&dir, "second", "OPS:DOCS", &[]);
    let mixed = dir.path().join("mixed.jsonl");
    let start = lines(&first).remove(0);
    let end = lines(&second).pop().expect("an end");
    std::fs::write(&mixed, format!("{start}\n{end}\n")).expect("write");
    coordops()
        .arg("report")
        .arg(&mixed)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("two runs wrote the same file"));
}

/// `(step, attempt, idempotency key)` of every attempt in a journal.
fn attempts(journal: &Path) -> Vec<(String, u64, String)> {
    lines(journal)
        .iter()
        .filter(|l| entry_type(l) == "attempt")
        .map(|l| {
            let e: Value = serde_json::from_str(l).expect("json");
            (
                e["step"].as_str().unwrap_or_default().to_string(),
                e["attempt"].as_u64().unwrap_or_default(),
                e["request"]["idempotency_key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

const KEYS: &str = "tests/fixtures/runs/keys.ops";
const KEYS_SCENARIO: &str = "tests/fixtures/runs/keys_push_rejected_twice.toml";

#[test]
fn idempotency_keys_are_one_per_step_and_shared_by_its_retries() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("keys.jsonl");
    coordops()
        .args([
            "dry-run",
            KEYS,
            "--signal",
            "KEYS:RUN",
            "--scenario",
            KEYS_SCENARIO,
        ])
        .arg("--journal")
        .arg(&journal)
        .assert()
        .success();
    let seen = attempts(&journal);
    let key = |step: &str, attempt: u64, nth: usize| {
        seen.iter()
            .filter(|(s, a, _)| s == step && *a == attempt)
            .nth(nth)
            .map(|(_, _, k)| k.clone())
            .unwrap_or_else(|| panic!("{step} attempt {attempt} in {seen:?}"))
    };
    // `run sub` twice: one call site, two steps, two keys.
    assert_ne!(key("A.bump", 1, 0), key("A.bump", 1, 1));
    assert!(key("A.bump", 1, 1).ends_with("#2"));
    // A retried step keeps its key; each recovery run is a step of its own.
    assert_eq!(key("pushed", 1, 0), key("pushed", 2, 0));
    assert_eq!(key("pushed", 1, 0), key("pushed", 3, 0));
    assert_ne!(key("A.fix", 1, 0), key("A.fix", 1, 1));
    let all: std::collections::BTreeSet<&String> = seen.iter().map(|(_, _, k)| k).collect();
    assert_eq!(all.len(), 5, "{seen:?}");
}

#[test]
fn every_parallel_for_branch_in_flight_is_listed() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("fan.jsonl");
    coordops()
        .args([
            "dry-run",
            KEYS,
            "--signal",
            "KEYS:FAN",
            "--scenario",
            KEYS_SCENARIO,
        ])
        .arg("--journal")
        .arg(&journal)
        .assert()
        .success();
    let all = lines(&journal);
    let keys: Vec<String> = attempts(&journal).into_iter().map(|(_, _, k)| k).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys[0].ends_with("/0") && keys[1].ends_with("/1") && keys[2].ends_with("/2"));
    // Killed while the three branches were working.
    let last_attempt = all
        .iter()
        .rposition(|l| entry_type(l) == "attempt")
        .expect("attempts");
    let killed = dir.path().join("killed.jsonl");
    std::fs::write(&killed, all[..=last_attempt].join("\n") + "\n").expect("write");
    coordops()
        .arg("report")
        .arg(&killed)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("with 3 step(s) in flight"));
}

#[test]
fn a_long_pipeline_s_handoffs_list_a_bounded_number_of_steps() {
    let dir = TempDir::new().expect("tempdir");
    let playbook = dir.path().join("chain.ops");
    std::fs::write(
        &playbook,
        coordops::testing::generate::sequential_workflow(60),
    )
    .expect("write");
    let out = coordops()
        .arg("dry-run")
        .arg(&playbook)
        .args(["--signal", "GEN:GO", "--format", "json"])
        .output()
        .expect("runs");
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    let handoffs = result["handoffs"].as_array().expect("handoffs");
    assert_eq!(handoffs.len(), 59);
    let middle = &handoffs[30];
    let done = middle["work_completed"].as_array().expect("done");
    assert_eq!(done.len(), 21);
    assert_eq!(done[0], "… and 11 earlier");
    assert_eq!(done[20], "s30 (A.t)");
    let ahead = middle["remaining_work"].as_array().expect("ahead");
    assert_eq!(ahead.len(), 21);
    assert_eq!(ahead[0], "s32 (A.t)");
    assert_eq!(ahead[20], "… and 8 more");
    // Early on, nothing is cut.
    assert_eq!(
        handoffs[0]["work_completed"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn missing_folders_on_the_journal_path_are_created() {
    let dir = TempDir::new().expect("tempdir");
    let journal = dir.path().join("a/b/run.jsonl");
    coordops()
        .args(["dry-run", PLAYBOOK, "--signal", "OPS:AUDIT", "--journal"])
        .arg(&journal)
        .assert()
        .success();
    assert_eq!(entry_type(&lines(&journal)[0]), "start");
}
