//! Seeing a run, on the real binary and the virtual clock: event lines on a
//! non-terminal stderr (`-v` in dry runs), `-q`, and the cascade signals of
//! `--emit jsonl` on stdout.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const PLAYBOOK: &str = "playbooks/coord_ops.ops";

/// `coordops dry-run playbooks/coord_ops.ops --signal SIGNAL ARGS…`, in a
/// fixed, colourless environment without logs.
fn dry_run(signal: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coordops"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("COORDOPS_LOG")
        .env("COLUMNS", "80")
        .args(["dry-run", PLAYBOOK, "--signal", signal])
        .args(args);
    cmd
}

fn scenario(name: &str) -> String {
    format!("tests/fixtures/scenarios/{name}.toml")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[test]
fn verbose_dry_runs_print_one_plain_line_per_event() {
    let out = dry_run(
        "OPS:COMMIT",
        &["-v", "--scenario", &scenario("push_rejected_then_fetch")],
    )
    .assert()
    .code(0)
    .stdout(predicate::str::starts_with("## Ops Result: OPS:COMMIT\n"));
    let stderr = text(&out.get_output().stderr);
    assert!(!stderr.contains('\x1b'), "no terminal codes off a terminal");
    insta::assert_snapshot!("commit_push_rejected_lines", stderr);
}

#[test]
fn the_default_commit_run_prints_its_events_and_one_status_line() {
    let out = dry_run("OPS:COMMIT", &["--verbose"]).assert().code(0);
    let stderr = text(&out.get_output().stderr);
    insta::assert_snapshot!("commit_lines", stderr);
    let status: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("dry-run "))
        .collect();
    assert_eq!(
        status,
        ["dry-run dry-run-ops-commit: COMPLETE in 0s — report stdout"]
    );
    assert!(stderr.ends_with("report stdout\n"));
}

#[test]
fn quiet_and_default_dry_runs_print_no_progress() {
    for flags in [&["-q"][..], &[]] {
        dry_run("OPS:COMMIT", flags)
            .assert()
            .code(0)
            .stderr("")
            .stdout(predicate::str::starts_with("## Ops Result: OPS:COMMIT\n"));
    }
    // Dry runs say nothing on stderr without -v, however they end.
    dry_run(
        "OPS:COMMIT",
        &["-q", "--scenario", &scenario("push_conflict_exhausted")],
    )
    .assert()
    .code(4)
    .stderr("");
}

#[test]
fn quiet_and_verbose_do_not_mix() {
    dry_run("OPS:COMMIT", &["-q", "-v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

/// Runs with `--emit jsonl` and returns the signals, each checked to have
/// exactly the seed's four keys and the coordinator's prefix.
fn signals(signal: &str, args: &[&str]) -> (Vec<Value>, i32) {
    let dir = TempDir::new().expect("temp dir");
    let report = dir.path().join("report.md");
    let report_arg = report.to_str().expect("UTF-8 path");
    let out = dry_run(signal, args)
        .args(["--emit", "jsonl", "--output", report_arg])
        .output()
        .expect("runs");
    assert!(report.exists(), "the report goes to --output");
    let stdout = text(&out.stdout);
    let signals: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    for s in &signals {
        let mut keys: Vec<&str> = s
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["payload", "signal", "source", "timestamp"], "{s}");
        assert_eq!(s["source"], "COORD_OPS");
        assert!(
            s["signal"]
                .as_str()
                .is_some_and(|n| n.starts_with("COORD_OPS:")),
            "{s}"
        );
        assert!(s["timestamp"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-01-01T")));
    }
    (signals, out.status.code().unwrap_or(-1))
}

fn names(signals: &[Value]) -> Vec<&str> {
    signals
        .iter()
        .map(|s| s["signal"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn emit_jsonl_streams_spawn_to_complete() {
    let (signals, code) = signals("OPS:COMMIT", &[]);
    assert_eq!(code, 0);
    let names = names(&signals);
    assert_eq!(names.first(), Some(&"COORD_OPS:SPAWN"));
    assert_eq!(names.last(), Some(&"COORD_OPS:COMPLETE"));
    assert!(names.contains(&"COORD_OPS:HANDOFF"));
    let spawn = &signals[0]["payload"];
    assert_eq!(spawn["step"], "commit");
    assert_eq!(spawn["agent"], "RELEASE_MANAGER");
    assert_eq!(spawn["task"], "commit");
    assert_eq!(spawn["attempt"], 1);
    assert_eq!(spawn["timeout_ms"], 30000);
    assert_eq!(signals[0]["timestamp"], "2026-01-01T00:00:00.000Z");
    let complete = &signals[signals.len() - 1]["payload"];
    assert_eq!(complete["status"], "complete");
    assert!(complete["deliverables"].is_object());
    assert!(complete["summary"].is_string());
}

#[test]
fn an_escalating_run_ends_with_escalate() {
    let (signals, code) = signals(
        "OPS:COMMIT",
        &["--scenario", &scenario("push_conflict_exhausted")],
    );
    assert_eq!(code, 4);
    let names = names(&signals);
    assert_eq!(names.first(), Some(&"COORD_OPS:SPAWN"));
    assert_eq!(names.last(), Some(&"COORD_OPS:ESCALATE"));
    assert_eq!(
        names.iter().filter(|n| **n == "COORD_OPS:ESCALATE").count(),
        1
    );
    let escalation = &signals[signals.len() - 1]["payload"];
    assert_eq!(escalation["kind"], "Conflict");
    assert_eq!(escalation["reports_to"], "ORCHESTRATOR");
    // The failed push was signalled before the escalation.
    assert!(signals.iter().any(|s| s["signal"] == "COORD_OPS:FAILURE"
        && s["payload"]["scope"] == "step"
        && s["payload"]["step"] == "push"));
}

#[test]
fn an_aborted_run_signals_abort_then_a_run_failure() {
    let (signals, code) = signals(
        "OPS:COMMIT",
        &["--scenario", &scenario("abort_mid_pipeline")],
    );
    assert_eq!(code, 4);
    let names = names(&signals);
    assert!(names.contains(&"COORD_OPS:ABORT"));
    assert_eq!(names.last(), Some(&"COORD_OPS:FAILURE"));
    let last = &signals[signals.len() - 1]["payload"];
    assert_eq!(last["scope"], "run");
    assert_eq!(last["status"], "aborted");
}

#[test]
fn emit_without_output_is_a_usage_error() {
    dry_run("OPS:COMMIT", &["--emit", "jsonl"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("add `--output FILE`"));
}

#[test]
fn emit_and_verbose_keep_stdout_for_the_signals() {
    let dir = TempDir::new().expect("temp dir");
    let report = dir.path().join("report.json");
    let out = dry_run("OPS:COMMIT", &["-v", "--emit", "jsonl", "--format", "json"])
        .arg("--output")
        .arg(&report)
        .assert()
        .code(0);
    let output = out.get_output();
    for line in text(&output.stdout).lines() {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "{line}");
    }
    assert!(text(&output.stderr).contains("+0.0s SPAWN commit"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(report["status"], "COMPLETE");
}
