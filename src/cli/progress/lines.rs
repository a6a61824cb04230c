//! The plain lines: one per event when the live display is off, and the
//! one final status line.

use std::path::Path;

use crate::report::human_duration;
use crate::runtime::record::Entry;
use crate::runtime::result::{EventKind, RunResult, StepOutcome, StepRecord};

/// Run time as shown at the start of each event line: `+12.3s` (tenths,
/// rounded down).
pub fn clock(ms: u64) -> String {
    format!("+{}.{}s", ms / 1000, ms % 1000 / 100)
}

/// The name of an event kind as in the run log (`SPAWN`, `HANDOFF`, …).
pub fn kind_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Route => "ROUTE",
        EventKind::Spawn => "SPAWN",
        EventKind::Handoff => "HANDOFF",
        EventKind::Retry => "RETRY",
        EventKind::Timeout => "TIMEOUT",
        EventKind::Skip => "SKIP",
        EventKind::Gate => "GATE",
        EventKind::Approval => "APPROVAL",
        EventKind::Abort => "ABORT",
        EventKind::Complete => "COMPLETE",
        EventKind::Failure => "FAILURE",
        EventKind::Escalate => "ESCALATE",
    }
}

/// `text` on one line, without control characters (an agent's message
/// could hold newlines or terminal escapes).
pub fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whole seconds, as `12s` or `1m 5s` (`0s` under a second).
pub(super) fn seconds(ms: u64) -> String {
    human_duration(ms / 1000 * 1000)
}

/// How a step ended, in one line: `success (8s)`, `failure rejected:
/// non-fast-forward (17s, 3 attempts)`, `skipped`.
pub fn step_summary(step: &StepRecord) -> String {
    let attempts = step.attempts.len();
    let timing = if attempts > 1 {
        format!(
            " ({}, {attempts} attempts)",
            human_duration(step.duration_ms)
        )
    } else {
        format!(" ({})", human_duration(step.duration_ms))
    };
    match &step.outcome {
        StepOutcome::Success => format!("success{timing}"),
        StepOutcome::Failure { kind, message } => {
            format!("failure {}: {}{timing}", one_line(kind), one_line(message))
        }
        StepOutcome::Timeout => format!("timeout{timing}"),
        StepOutcome::Skipped => "skipped".to_string(),
        StepOutcome::Aborted { reason } => format!("aborted: {}{timing}", one_line(reason)),
    }
}

/// The plain line for `entry`, if it gets one (without the newline):
///
/// - every run-log event: `+0.0s SPAWN commit RELEASE_MANAGER.commit attempt
///   1 (timeout 30s)` (`+TIME KIND [STEP] DETAIL`, no step for run-wide events);
/// - an attempt that did not succeed: `+12.0s ATTEMPT push attempt 1 failure
///   rejected: non-fast-forward`;
/// - a finished step: `+8.0s STEP commit success (8s)`;
/// - with `requests` (`-vv`), each attempt's request: `+0.0s REQUEST commit {…}`.
pub fn event_line(entry: &Entry, requests: bool) -> Option<String> {
    match entry {
        Entry::Event(e) => {
            let step = e
                .step
                .as_deref()
                .map(|s| format!(" {}", one_line(s)))
                .unwrap_or_default();
            Some(format!(
                "{} {}{step} {}",
                clock(e.at_ms),
                kind_word(e.kind),
                one_line(&e.detail)
            ))
        }
        Entry::AttemptEnd(end) if end.outcome != "success" => {
            let why = match (&end.kind, &end.message) {
                (Some(k), Some(m)) => format!(" {}: {}", one_line(k), one_line(m)),
                (Some(k), None) => format!(" {}", one_line(k)),
                (None, Some(m)) => format!(" {}", one_line(m)),
                (None, None) => String::new(),
            };
            Some(format!(
                "{} ATTEMPT {} attempt {} {}{why}",
                clock(end.at_ms),
                one_line(&end.step),
                end.attempt,
                one_line(&end.outcome)
            ))
        }
        Entry::Step(step) => Some(format!(
            "{} STEP {} {}",
            clock(step.started_ms.saturating_add(step.duration_ms)),
            one_line(&step.name),
            step_summary(step)
        )),
        Entry::Suspend(s) => Some(format!(
            "{} SUSPEND waiting for {}",
            clock(s.at_ms),
            s.waiting_for
                .iter()
                .map(|n| format!("`{}`", one_line(n)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Entry::Attempt(a) if requests => Some(format!(
            "{} REQUEST {} {}",
            clock(a.at_ms),
            one_line(&a.step),
            serde_json::to_string(&a.request).unwrap_or_default()
        )),
        _ => None,
    }
}

/// The one line a run ends with: `run ID: COMPLETE in 25s — report stdout,
/// journal .coordops/runs/ID.jsonl`.
pub fn status_line(
    command: &str,
    result: &RunResult,
    report: Option<&Path>,
    journal: Option<&Path>,
) -> String {
    let report = report.map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    status_with(command, result, &format!("report {report}"), journal)
}

/// The status line of a run whose report could not be written.
pub fn status_line_unwritten(command: &str, result: &RunResult, journal: &Path) -> String {
    status_with(command, result, "report not written", Some(journal))
}

fn status_with(command: &str, result: &RunResult, report: &str, journal: Option<&Path>) -> String {
    let journal = journal
        .map(|j| format!(", journal {}", j.display()))
        .unwrap_or_default();
    format!(
        "{command} {}: {} in {} — {report}{journal}",
        result.run_id,
        result.status.word().to_uppercase(),
        human_duration(result.duration_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn line(json: &str) -> Option<String> {
        event_line(&entries(&[json])[0], false)
    }

    #[test]
    fn clock_shows_tenths_rounded_down() {
        assert_eq!(clock(0), "+0.0s");
        assert_eq!(clock(1_299), "+1.2s");
        assert_eq!(clock(125_000), "+125.0s");
    }

    #[test]
    fn events_steps_and_failed_attempts_get_one_line_each() {
        assert_eq!(
            line(SPAWN_COMMIT).as_deref(),
            Some("+1.2s SPAWN commit RELEASE_MANAGER.commit attempt 1 (timeout 30s)")
        );
        assert_eq!(
            line(ROUTE_EVENT).as_deref(),
            Some("+0.0s ROUTE OPS:COMMIT -> workflow commit_pr")
        );
        assert_eq!(
            line(HANDOFF_EVENT).as_deref(),
            Some("+4.2s HANDOFF push commit.hash -> push")
        );
        assert_eq!(
            line(STEP_COMMIT).as_deref(),
            Some("+4.2s STEP commit success (3s)")
        );
        assert_eq!(
            line(STEP_PUSH).as_deref(),
            Some("+13.2s STEP push failure rejected: non-fast-forward (9s, 2 attempts)")
        );
        // Newlines in an agent's message never break the one-line format.
        assert_eq!(
            line(PUSH_FAILED).as_deref(),
            Some("+6.0s ATTEMPT push attempt 1 failure rejected: non-fast-forward (hint: fetch)")
        );
        assert_eq!(line(START), None);
        assert_eq!(line(ATTEMPT_COMMIT), None);
    }

    #[test]
    fn requests_are_shown_only_when_asked() {
        let attempt = &entries(&[ATTEMPT_COMMIT])[0];
        assert_eq!(event_line(attempt, false), None);
        assert_eq!(
            event_line(attempt, true).as_deref(),
            Some(r#"+1.2s REQUEST commit {"timeout_ms":30000}"#)
        );
    }

    #[test]
    fn one_line_drops_control_characters() {
        assert_eq!(one_line("a\nb\r\n\x1b[2Jc\t d"), "a b [2Jc d");
    }
}
