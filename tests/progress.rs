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
    let mut cmd = crate::support::coordops();
    cmd.args(["dry-run", PLAYBOOK, "--signal", signal])
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

// ── `coordops run` (real clock) with every agent simulated, no latency ──────

/// A temporary directory holding a backends file that simulates every agent
/// of the playbook, and a scenario whose commit fails at once.
fn simulated_backends() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let agents = ["RELEASE_MANAGER", "META_UPDATER", "TOOLSMITH"];
    let toml: String = agents
        .iter()
        .map(|a| format!("[agents.{a}]\nbackend = \"simulated\"\n"))
        .collect();
    std::fs::write(dir.path().join("backends.toml"), toml).expect("write backends");
    std::fs::write(
        dir.path().join("commit_fails.toml"),
        "[task.\"RELEASE_MANAGER.commit\"]\noutcome = \"failure\"\nkind = \"hook_failed\"\nmessage = \"pre-commit hook failed\"\n",
    )
    .expect("write scenario");
    dir
}

/// `coordops run playbooks/coord_ops.ops --signal OPS:COMMIT` on the
/// simulated backends in `dir`, journalling into `dir`.
fn run_commit(dir: &TempDir, args: &[&str]) -> Command {
    let mut cmd = crate::support::coordops();
    cmd.args(["run", PLAYBOOK, "--signal", "OPS:COMMIT", "--backends"])
        .arg(dir.path().join("backends.toml"))
        .arg("--journal")
        .arg(dir.path().join("run.jsonl"))
        .args(args)
        .timeout(std::time::Duration::from_secs(30));
    cmd
}

#[test]
fn run_off_a_terminal_prints_a_start_line_event_lines_and_one_status_line() {
    let dir = simulated_backends();
    let out = run_commit(&dir, &[]).assert().code(0);
    let stderr = text(&out.get_output().stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("run run-ops-commit-") && lines[0].contains("OPS:COMMIT → journal "),
        "{stderr}"
    );
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with("run run-ops-commit-")
            && last.contains(": COMPLETE in ")
            && last.contains("— report stdout, journal "),
        "{stderr}"
    );
    let events = &lines[1..lines.len() - 1];
    assert!(events.iter().all(|l| l.starts_with('+')), "{stderr}");
    let kinds: Vec<&str> = events.iter().filter_map(|l| l.split(' ').nth(1)).collect();
    assert_eq!(
        kinds,
        [
            "ROUTE", "SPAWN", "STEP", "HANDOFF", "SPAWN", "STEP", "HANDOFF", "SPAWN", "STEP",
            "COMPLETE"
        ]
    );
    assert!(!stderr.contains('\x1b'));
}

#[test]
fn quiet_runs_print_only_the_status_of_a_run_that_did_not_complete() {
    let dir = simulated_backends();
    run_commit(&dir, &["-q"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(predicate::str::starts_with("## Ops Result: OPS:COMMIT\n"));
    let scenario = dir.path().join("commit_fails.toml");
    let out = run_commit(&dir, &["--quiet", "--scenario"])
        .arg(&scenario)
        .assert()
        .code(4);
    let stderr = text(&out.get_output().stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(": FAILED in "), "{stderr}");
}

#[test]
fn run_emits_jsonl_on_stdout_and_needs_output_for_the_report() {
    let dir = simulated_backends();
    run_commit(&dir, &["--emit", "jsonl"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("add `--output FILE`"));
    assert!(
        !dir.path().join("run.jsonl").exists(),
        "nothing starts on a usage error"
    );
    let report = dir.path().join("report.md");
    let scenario = dir.path().join("commit_fails.toml");
    let out = run_commit(&dir, &["-q", "--emit", "jsonl", "--scenario"])
        .arg(&scenario)
        .arg("--output")
        .arg(&report)
        .assert()
        .code(4);
    let stdout = text(&out.get_output().stdout);
    let signals: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let names = names(&signals);
    assert_eq!(
        names,
        ["COORD_OPS:SPAWN", "COORD_OPS:FAILURE", "COORD_OPS:FAILURE"]
    );
    assert_eq!(signals[1]["payload"]["scope"], "step");
    assert_eq!(signals[2]["payload"]["scope"], "run");
    assert_eq!(signals[2]["payload"]["kind"], "hook_failed");
    assert!(std::fs::read_to_string(&report)
        .expect("report")
        .starts_with("## Ops Result: OPS:COMMIT"));
}

#[test]
fn very_verbose_adds_requests_and_debug_logs() {
    let out = dry_run("OPS:COMMIT", &["-vv"]).assert().code(0);
    let stderr = text(&out.get_output().stderr);
    let request = stderr
        .lines()
        .find_map(|l| l.strip_prefix("+0.0s REQUEST commit "))
        .expect("the commit's request");
    let request: Value = serde_json::from_str(request).expect("the request as JSON");
    assert_eq!(request["task"], "commit");
    assert!(
        stderr.contains("DEBUG"),
        "-vv turns on debug logs: {stderr}"
    );
    // Without -vv, and with COORDOPS_LOG unset, there are no logs.
    let out = dry_run("OPS:COMMIT", &["-v"]).assert().code(0);
    let stderr = text(&out.get_output().stderr);
    assert!(!stderr.contains("DEBUG") && !stderr.contains("REQUEST"));
}
