//! A step stopped from outside keeps every attempt it started, with the
//! outcome of what stopped it; a branch whose guard is false is `skipped`
//! whatever stopped its group. Virtual time (the simulated backend).

use std::path::Path;

use coordops::runtime::result::{Attempt, RunResult, RunStatus, StepOutcome, StepRecord};
use coordops::testing::harness::{dry_run, load_checked, Strictness};

const S: u64 = 1000;

/// `WORKER.slow` fails after 5s, then (after the 1s backoff) runs for 50s.
const FAIL_THEN_SLOW: &str = r#"
[task."WORKER.slow"]
attempts = [
  { outcome = "failure", kind = "network", message = "reset", latency = "5s" },
  { latency = "50s" },
]
"#;

fn run(signal: &str, scenario: &str) -> RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/stopped.ops");
    let (file, playbook) =
        load_checked(&path, Strictness::Errors).unwrap_or_else(|e| panic!("{e}"));
    dry_run(&file, &playbook, signal, &[], scenario, "stopped").unwrap_or_else(|e| panic!("{e}"))
}

fn step<'r>(result: &'r RunResult, name: &str) -> &'r StepRecord {
    let found: Vec<&StepRecord> = result.steps.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` in {:?}", result.steps);
    found[0]
}

fn summary(attempts: &[Attempt]) -> Vec<(u32, &str, u64, u64)> {
    attempts
        .iter()
        .map(|a| (a.number, a.outcome.as_str(), a.started_ms, a.duration_ms))
        .collect()
}

/// The failed first attempt, then the second, stopped at `stop_ms`.
fn assert_history(s: &StepRecord, second: &str, stop_ms: u64) {
    assert_eq!(
        summary(&s.attempts),
        [
            (1, "failure", 0, 5 * S),
            (2, second, 6 * S, stop_ms - 6 * S)
        ],
        "{s:?}"
    );
    assert_eq!(s.attempts[0].kind.as_deref(), Some("network"));
    assert!(s.attempts[1].message.is_some(), "says what stopped it");
}

#[test]
fn a_workflow_timeout_keeps_the_attempts() {
    let result = run("STOP:WORKFLOW", FAIL_THEN_SLOW);
    assert_eq!(result.status, RunStatus::Failed);
    let s = step(&result, "s");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_history(s, "timeout", 30 * S);
    assert_eq!(
        s.attempts[1].message.as_deref(),
        Some("workflow timeout of 30s")
    );
}

#[test]
fn a_group_timeout_keeps_the_attempts() {
    let result = run("STOP:GROUP", FAIL_THEN_SLOW);
    let s = step(&result, "s");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_history(s, "timeout", 30 * S);
    assert_eq!(
        s.attempts[1].message.as_deref(),
        Some("group timeout of 30s")
    );
    assert_eq!(step(&result, "q").attempts.len(), 1);
}

#[test]
fn a_run_timeout_keeps_the_attempts() {
    let result = run("STOP:RUN", FAIL_THEN_SLOW);
    let s = step(&result, "s");
    assert_eq!(s.outcome, StepOutcome::Timeout);
    assert_history(s, "timeout", 30 * S);
    assert_eq!(s.attempts[1].message.as_deref(), Some("run timeout of 30s"));
}

#[test]
fn an_interrupt_keeps_the_attempts() {
    let scenario = format!("interrupt_after = \"20s\"\n{FAIL_THEN_SLOW}");
    let result = run("STOP:INTERRUPT", &scenario);
    assert_eq!(result.status, RunStatus::Aborted);
    let s = step(&result, "s");
    assert!(matches!(s.outcome, StepOutcome::Aborted { .. }), "{s:?}");
    assert_history(s, "aborted", 20 * S);
}

#[test]
fn an_interrupt_during_the_backoff_keeps_the_finished_attempt() {
    // Interrupted at 5.5s, between attempt 1 (ended at 5s) and attempt 2 (6s).
    let scenario = format!("interrupt_after = \"5500ms\"\n{FAIL_THEN_SLOW}");
    let result = run("STOP:INTERRUPT", &scenario);
    assert_eq!(result.status, RunStatus::Aborted);
    let s = step(&result, "s");
    assert_eq!(summary(&s.attempts)[0], (1, "failure", 0, 5 * S), "{s:?}");
}

#[test]
fn a_false_guard_is_skipped_even_when_the_gate_is_decided_first() {
    let scenario = r#"
[task."WORKER.quick"]
outcome = "failure"
"#;
    let result = run("STOP:GUARD", scenario);
    let s = step(&result, "s");
    assert_eq!(s.outcome, StepOutcome::Skipped, "{s:?}");
    assert!(s.attempts.is_empty());
    assert_eq!(result.gates[0].skipped, 1);
}
