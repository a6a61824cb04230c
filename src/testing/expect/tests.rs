//! Each `expect` form, holding and failing, on a small playbook.

use crate::source::SourceFile;
use crate::testing::{run_tests, Mismatch};

const PLAYBOOK: &str = r#"
signal OPS:GO { items: list<string> = ["a", "b"] }
route go: OPS:GO => go
agent A { task t { retry 1 backoff 5s } task each { retry 0 } }
on gate_failed => escalate QualityGate "gate {gate.group} failed"
workflow go {
  first = A.t()
  parallel fan for item in signal.items gate 100% {
    A.each(item: item)
  }
  approve ok "Go?"
  complete "done" { answer: "forty-two" }
}
"#;

/// The mismatches of one test made of `lines` (after `signal OPS:GO`).
fn mismatches(lines: &str) -> Vec<Mismatch> {
    let text = format!("{PLAYBOOK}\ntest \"t\" {{\n  signal OPS:GO\n{lines}\n}}\n");
    let file = SourceFile::new("t.ops", text);
    let checked = crate::analysis::parse_and_check(&file);
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let playbook = checked.playbook.expect("parses");
    let mut reports = run_tests(&playbook, &file, None);
    assert_eq!(reports.len(), 1);
    reports.remove(0).mismatches
}

/// `holds` passes and `fails` fails with `actual`.
fn both(holds: &str, fails: &str, actual: &str) {
    assert_eq!(mismatches(holds), Vec::new(), "{holds}");
    let found = mismatches(fails);
    assert_eq!(found.len(), 1, "{fails}: {found:#?}");
    assert_eq!(found[0].actual, actual, "{fails}");
}

#[test]
fn payload_fields_compare_and_match() {
    both(
        r#"expect payload.answer == "forty-two""#,
        r#"expect payload.answer == "42""#,
        r#"payload.answer = "forty-two""#,
    );
    both(
        "expect payload.answer ~ /forty-.*/",
        "expect payload.answer ~ /fifty-.*/",
        r#"payload.answer = "forty-two""#,
    );
    both(
        "expect payload.answer != \"\"",
        "expect payload.missing == 1",
        "payload.missing = nothing",
    );
}

#[test]
fn a_step_outcome_can_name_the_failure_kind() {
    let given = "given A.t fails(net) \"down\"\n";
    both(
        &format!("{given}expect step first failure(net)"),
        &format!("{given}expect step first failure(disk)"),
        "step first failure(net): down",
    );
}

#[test]
fn attempts_count_and_start_times() {
    let given = "given A.t fails(net) after 1s then succeeds\n";
    both(
        &format!("{given}expect step first attempts 2"),
        &format!("{given}expect step first attempts 1"),
        "step first attempts 2",
    );
    both(
        &format!("{given}expect step first attempts at 0s, 6s"),
        &format!("{given}expect step first attempts at 0s, 5s"),
        "step first attempts at 0s, 6s",
    );
}

#[test]
fn parallel_for_elements_are_named_by_id() {
    let given = "given step go.2[1] fails(bad)\n";
    both(
        &format!("{given}expect step go.2[0] success"),
        &format!("{given}expect step go.2[1] success"),
        "step go.2[1] failure(bad): A.each failed (simulated)",
    );
    // Without an index, every element must hold.
    both(
        "expect step go.2 success",
        &format!("{given}expect step go.2 success"),
        "step go.2[1] failure(bad): A.each failed (simulated)",
    );
}

#[test]
fn gate_verdicts_counts_and_critical_branches() {
    let given = "given step go.2[1] fails(bad)\n";
    both(
        "expect gate fan passed",
        &format!("{given}expect gate fan passed"),
        "gate fan failed 1 of 2",
    );
    both(
        &format!("{given}expect gate fan 1 of 2"),
        "expect gate fan 1 of 2",
        "gate fan passed 2 of 2",
    );
    both(
        "expect gate fan passed",
        "expect gate fan decided at 1 of 2",
        "gate fan passed 2 of 2",
    );
}

#[test]
fn escalation_titles_compare_and_match() {
    let given = "given step go.2[1] fails(bad)\n";
    both(
        &format!("{given}expect escalation QualityGate \"gate fan failed\""),
        &format!("{given}expect escalation QualityGate \"other\""),
        "escalation QualityGate \"gate fan failed\"",
    );
    both(
        &format!("{given}expect escalation QualityGate /gate .* failed/"),
        &format!("{given}expect escalation Resource /gate .* failed/"),
        "escalation QualityGate \"gate fan failed\"",
    );
}

#[test]
fn events_are_a_subsequence_of_the_log() {
    let given = "given A.t fails(net) then succeeds\n";
    both(
        &format!("{given}expect events [SPAWN first, RETRY first, GATE fan, COMPLETE]"),
        &format!("{given}expect events [GATE fan, RETRY first]"),
        "events [ROUTE, SPAWN first, RETRY first, SPAWN first, SPAWN A.each, SPAWN A.each, \
         GATE fan, APPROVAL ok, APPROVAL ok, COMPLETE]",
    );
    assert_eq!(mismatches("expect events []"), Vec::new());
}

#[test]
fn duration_bounds() {
    let given = "given A.t succeeds after 2m\n";
    both(
        &format!("{given}expect duration >= 2m"),
        &format!("{given}expect duration < 2m"),
        "duration 2m",
    );
    both(
        &format!("{given}expect duration <= 2m"),
        &format!("{given}expect duration > 2m"),
        "duration 2m",
    );
}

#[test]
fn approval_outcomes() {
    both(
        "expect approval ok granted",
        "expect approval ok denied",
        "approval ok granted",
    );
    both(
        "given approval ok never\nexpect approval ok timeout",
        "given approval ok denied\nexpect approval ok granted",
        "approval ok denied",
    );
}
