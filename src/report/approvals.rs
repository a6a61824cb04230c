//! Approvals in reports: what a WAITING run waits for, and the decisions
//! recorded (who, how, when, why).

use std::fmt::Write;

use crate::runtime::record::{ApprovalDecision, ApprovalWait};
use crate::runtime::result::RunResult;

/// The approvals a WAITING run waits for, and every decision recorded.
pub(super) fn approvals_section(out: &mut String, result: &RunResult) {
    if result.waiting_for.is_empty() && result.decisions.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### Approvals");
    for w in &result.waiting_for {
        let _ = writeln!(
            out,
            "- `{}` waiting since {}: {} (deadline {})",
            w.name,
            w.requested_at,
            w.message.replace('\n', " "),
            w.deadline
        );
    }
    for d in &result.decisions {
        let _ = writeln!(out, "- {}", decision_line(d));
    }
}

/// Whether a decision was recorded on every approval a run waits for
/// since it was requested.
pub fn all_decided(result: &RunResult) -> bool {
    result
        .waiting_for
        .iter()
        .all(|w| decision_on(result, w).is_some())
}

/// The decision recorded on `wait` since it was requested, if any.
pub fn decision_on<'r>(result: &'r RunResult, wait: &ApprovalWait) -> Option<&'r ApprovalDecision> {
    result
        .decisions
        .iter()
        .find(|d| d.name == wait.name && d.at_ms >= wait.at_ms)
}

/// `` `release` granted by alice via command at 2026-…Z (note: …) ``.
pub fn decision_line(d: &ApprovalDecision) -> String {
    let word = if d.granted { "granted" } else { "denied" };
    let note = d
        .note
        .as_deref()
        .map(|n| {
            format!(
                " (note: {})",
                n.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .unwrap_or_default();
    format!(
        "`{}` {word} by {} via {} at {}{note}",
        d.name, d.by, d.via, d.at
    )
}
