//! The seed's report formats in Markdown.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::Value;

use super::human_duration;
use crate::runtime::eval::display;
use crate::runtime::record::Handoff;

use super::approvals::{all_decided, approvals_section};
use crate::runtime::result::{RunResult, RunStatus, StepOutcome, StepRecord};

/// All reports for a run: Ops Result, Ops Quality Report, Ops Escalation
/// (when escalated) and the run log.
pub fn render_markdown(result: &RunResult, agents: &[String]) -> String {
    let mut out = ops_result(result);
    if result.status != RunStatus::Ignored {
        out.push('\n');
        out.push_str(&quality_report(result, agents));
    }
    if result.escalation.is_some() {
        out.push('\n');
        out.push_str(&escalation(result));
    }
    for handoff in &result.handoffs {
        out.push('\n');
        out.push_str(&handoff_state(handoff));
    }
    out.push('\n');
    out.push_str(&run_log(result));
    out
}

/// One handoff in the seed's "Handoff State Format".
pub fn handoff_state(h: &Handoff) -> String {
    let mut out = format!(
        "## Handoff: {} -> {} (`{}`, +{})\n",
        h.from,
        h.to,
        h.step,
        human_duration(h.at_ms)
    );
    fn section<S: std::fmt::Display>(out: &mut String, title: &str, items: &[S], mark: &str) {
        let _ = writeln!(out, "\n### {title}");
        if items.is_empty() {
            let _ = writeln!(out, "None");
        }
        for item in items {
            let _ = writeln!(out, "- {mark}{item}");
        }
    }
    section(&mut out, "Work Completed", &h.work_completed, "[x] ");
    section(&mut out, "Current State", &h.current_state, "");
    section(&mut out, "Remaining Work", &h.remaining_work, "[ ] ");
    section(&mut out, "Important Findings", &h.findings, "");
    out
}

fn task_steps(result: &RunResult) -> impl Iterator<Item = &StepRecord> {
    result
        .steps
        .iter()
        .filter(|s| s.kind == "task" && s.agent.is_some())
}

/// `PASSED (2/2 = 100% ≥ 80%)` for each gate, or one over all agent steps
/// against the coordinator's gate, in the same form.
pub(super) fn gate_lines(result: &RunResult) -> Vec<String> {
    if !result.gates.is_empty() {
        return result
            .gates
            .iter()
            .map(|g| {
                let mut line = g.line();
                if let Some(at) = &g.decided_at {
                    let _ = write!(line, ", decided early at {at}");
                }
                if !g.cancelled.is_empty() {
                    let names: Vec<String> = g.cancelled.iter().map(|n| format!("`{n}`")).collect();
                    let _ = write!(line, "; cancelled: {}", names.join(", "));
                }
                // Named when there are several, or when the playbook named it.
                if result.gates.len() > 1 || !g.group.contains('#') {
                    line = format!("{}: {line}", g.group);
                }
                line
            })
            .collect();
    }
    let (ok, counted) = task_steps(result).fold((0u64, 0u64), |(ok, n), s| match s.outcome {
        StepOutcome::Success => (ok + 1, n + 1),
        StepOutcome::Skipped | StepOutcome::Aborted { .. } => (ok, n),
        _ => (ok, n + 1),
    });
    if counted == 0 {
        return vec!["N/A (no agent ran)".to_string()];
    }
    // The agents' success rate against the coordinator's gate.
    let record = crate::runtime::result::GateRecord {
        group: String::new(),
        rule: crate::ast::GateRule::Percent {
            value: result.quality_gate,
        },
        successes: ok,
        failures: counted - ok,
        skipped: 0,
        counted,
        total: counted,
        passed: crate::runtime::gate::passes(result.quality_gate, ok, counted),
        decided_at: None,
        cancelled: Vec::new(),
        critical_failed: None,
    };
    if matches!(
        result.status,
        RunStatus::Aborted | RunStatus::Unfinished | RunStatus::Waiting
    ) {
        return vec![format!(
            "INCOMPLETE ({} of the steps that finished)",
            record.ratio()
        )];
    }
    vec![record.line()]
}

fn title_case(key: &str) -> String {
    key.split('_')
        .map(|w| match w {
            "pr" | "url" | "id" | "api" | "ci" => w.to_uppercase(),
            _ => {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| {
                    f.to_uppercase().collect::<String>() + c.as_str()
                })
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cell(value: &Value) -> String {
    let empty = match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if empty {
        return "—".to_string();
    }
    let text = display(value).replace('|', "\\|").replace('\n', " ");
    if !text.contains(' ') && !text.starts_with("http") && !text.is_empty() {
        format!("`{text}`")
    } else {
        text
    }
}

/// Agent → its task steps, in the order agents first appeared.
fn by_agent(result: &RunResult) -> Vec<(String, Vec<&StepRecord>)> {
    let mut out: Vec<(String, Vec<&StepRecord>)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &result.steps {
        let Some(agent) = s.agent.as_deref() else {
            continue;
        };
        let i = *index.entry(agent).or_insert_with(|| {
            out.push((agent.to_string(), Vec::new()));
            out.len() - 1
        });
        out[i].1.push(s);
    }
    out
}

/// The seed's "Ops Result" (Result Synthesis Format).
pub fn ops_result(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Ops Result: {}\n", result.signal);
    let _ = writeln!(out, "**Status:** {}", result.status.word().to_uppercase());
    let _ = writeln!(out, "**Duration:** {}", human_duration(result.duration_ms));
    if let Some(route) = &result.route {
        let label = route
            .label
            .as_ref()
            .map(|l| format!("`{l}`: "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "**Route:** {label}{} => {}",
            route.pattern, route.target
        );
    }
    let _ = writeln!(out, "\n### Summary\n{}", result.summary);
    if result.status == RunStatus::Ignored {
        return out;
    }
    let _ = writeln!(out, "\n### Deliverables");
    if result.payload.is_empty() {
        let _ = writeln!(out, "None");
    } else {
        let _ = writeln!(out, "| Type | Value |\n|------|-------|");
        for (key, value) in &result.payload {
            let _ = writeln!(out, "| {} | {} |", title_case(key), cell(value));
        }
    }
    let _ = writeln!(out, "\n### Agent Contributions");
    let contributions = by_agent(result);
    if contributions.is_empty() {
        let _ = writeln!(out, "None");
    }
    for (agent, steps) in contributions {
        let names: Vec<String> = steps.iter().map(|s| step_note(s)).collect();
        let times: Vec<String> = steps
            .iter()
            .filter(|s| s.outcome != StepOutcome::Skipped)
            .map(|s| human_duration(s.duration_ms))
            .collect();
        let _ = writeln!(
            out,
            "- {agent}: {} ({})",
            names.join(" + "),
            if times.is_empty() {
                "-".to_string()
            } else {
                times.join(" + ")
            }
        );
    }
    let _ = writeln!(out, "\n### Quality Gate");
    for line in gate_lines(result) {
        let _ = writeln!(out, "{line}");
    }
    let failed: Vec<&StepRecord> = failed_steps(result).collect();
    if result.status == RunStatus::Partial && !failed.is_empty() {
        let _ = writeln!(out, "\n### Partial Success");
        for s in failed {
            let _ = writeln!(out, "- {} failed: {}", s.name, outcome_text(&s.outcome));
        }
    }
    approvals_section(&mut out, result);
    stderr_section(&mut out, result);
    let _ = writeln!(out, "\n### Next Steps");
    let next = match (&result.next_steps, result.status) {
        (Some(n), _) => n.clone(),
        (None, RunStatus::Escalated) => {
            "Awaiting an ORCHESTRATOR decision (see Ops Escalation).".to_string()
        }
        (None, RunStatus::Failed) => "Fix the failure above and re-send the signal.".to_string(),
        (None, RunStatus::Aborted) => {
            "Re-send the signal to start again; finished steps are listed above.".to_string()
        }
        (None, RunStatus::Unfinished) => "Continue the run with `coordops resume JOURNAL`: \
            finished steps are not run again, and the steps in flight are sent again with \
            the same idempotency key (their agents may have done part of their work)."
            .to_string(),
        (None, RunStatus::Waiting) if all_decided(result) => {
            "Every approval it waits for is decided: continue with `coordops resume JOURNAL`."
                .to_string()
        }
        (None, RunStatus::Waiting) => "Decide with `coordops approve JOURNAL NAME --grant` \
            (or `--deny`), then continue with `coordops resume JOURNAL`."
            .to_string(),
        (None, _) => "None.".to_string(),
    };
    let _ = writeln!(out, "{next}");
    out
}

/// The steps that failed or timed out.
fn failed_steps(result: &RunResult) -> impl Iterator<Item = &StepRecord> {
    result.steps.iter().filter(|s| {
        matches!(
            s.outcome,
            StepOutcome::Failure { .. } | StepOutcome::Timeout
        )
    })
}

/// The stderr tails of failed steps' failed attempts, each in a fenced
/// block; nothing when no failed attempt wrote to stderr.
fn stderr_section(out: &mut String, result: &RunResult) {
    let failed_attempts: Vec<(&StepRecord, &crate::runtime::result::Attempt)> =
        failed_steps(result)
            .flat_map(|s| {
                s.attempts
                    .iter()
                    .filter(|a| a.outcome != "success" && !a.stderr.is_empty())
                    .map(move |a| (s, a))
            })
            .collect();
    if failed_attempts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### Agent stderr");
    for (step, attempt) in failed_attempts {
        let kind = attempt.kind.as_deref().unwrap_or(attempt.outcome.as_str());
        let _ = writeln!(
            out,
            "\n{} attempt {} ({kind}), last {} line{} of stderr:\n",
            step.name,
            attempt.number,
            attempt.stderr.len(),
            if attempt.stderr.len() == 1 { "" } else { "s" }
        );
        let fence = fence_for(&attempt.stderr);
        let _ = writeln!(out, "{fence}text");
        for line in &attempt.stderr {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "{fence}");
    }
}

/// A code fence longer than any run of backticks in `lines` (at least three).
fn fence_for(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn step_note(s: &StepRecord) -> String {
    let task = s.task.clone().unwrap_or_else(|| s.name.clone());
    let mut note = if s.kind == "recovery" {
        format!("{task} (recovery)")
    } else {
        task
    };
    if s.simulated {
        note.push_str(" (simulated)");
    }
    match &s.outcome {
        StepOutcome::Success if s.attempts.len() > 1 => {
            let _ = write!(note, " ({} attempts)", s.attempts.len());
        }
        StepOutcome::Success => {}
        other => {
            let _ = write!(note, " [{}]", other.word());
        }
    }
    note
}

fn outcome_text(outcome: &StepOutcome) -> String {
    match outcome {
        StepOutcome::Failure { kind, message } => format!("{kind}: {message}"),
        StepOutcome::Timeout => "timed out".to_string(),
        StepOutcome::Aborted { reason } => reason.clone(),
        other => other.word().to_string(),
    }
}

/// The seed's "Ops Quality Report": one row per managed agent.
pub fn quality_report(result: &RunResult, agents: &[String]) -> String {
    let mut out = String::new();
    let contributions = by_agent(result);
    let spawned = contributions
        .iter()
        .filter(|(_, steps)| steps.iter().any(|s| s.outcome != StepOutcome::Skipped))
        .count();
    let _ = writeln!(out, "## Ops Quality Report\n");
    let _ = writeln!(out, "**Timestamp:** {}", result.started_at);
    let _ = writeln!(out, "**Signal:** {}", result.signal);
    let _ = writeln!(out, "**Agents Spawned:** {spawned}");
    let _ = writeln!(out, "\n### Results\n");
    let _ = writeln!(
        out,
        "| Agent | Status | Duration | Notes |\n|-------|--------|----------|-------|"
    );
    // Declared agents first, then any other agent that ran; one lookup each.
    let by_name: BTreeMap<&str, &Vec<&StepRecord>> = contributions
        .iter()
        .map(|(a, steps)| (a.as_str(), steps))
        .collect();
    let declared: BTreeSet<&str> = agents.iter().map(String::as_str).collect();
    let rows = agents.iter().chain(
        contributions
            .iter()
            .map(|(a, _)| a)
            .filter(|a| !declared.contains(a.as_str())),
    );
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for agent in rows {
        if !seen.insert(agent.as_str()) {
            continue;
        }
        let steps: Vec<&StepRecord> = by_name
            .get(agent.as_str())
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let ran: Vec<&&StepRecord> = steps
            .iter()
            .filter(|s| s.outcome != StepOutcome::Skipped)
            .collect();
        let (status, duration, notes) = if ran.is_empty() {
            let note = if steps.is_empty() {
                "Not applicable".to_string()
            } else {
                "Guard was false".to_string()
            };
            ("SKIPPED".to_string(), "-".to_string(), note)
        } else {
            let failed = ran.iter().any(|s| {
                matches!(
                    s.outcome,
                    StepOutcome::Failure { .. } | StepOutcome::Timeout
                )
            });
            let aborted = ran
                .iter()
                .any(|s| matches!(s.outcome, StepOutcome::Aborted { .. }));
            let status = if failed {
                "FAILED"
            } else if aborted {
                "ABORTED"
            } else {
                "SUCCESS"
            };
            // Time the agent spent on its attempts: backoff waits and other
            // agents' recovery work are not its own.
            let total: u64 = ran
                .iter()
                .map(|s| {
                    if s.attempts.is_empty() {
                        s.duration_ms
                    } else {
                        s.attempts.iter().map(|a| a.duration_ms).sum()
                    }
                })
                .sum();
            let notes: Vec<String> = ran
                .iter()
                .map(|s| match &s.outcome {
                    StepOutcome::Success => step_note(s),
                    other => format!(
                        "{}{}: {}",
                        s.task.clone().unwrap_or_else(|| s.name.clone()),
                        if s.simulated { " (simulated)" } else { "" },
                        outcome_text(other)
                    ),
                })
                .collect();
            (
                status.to_string(),
                human_duration(total),
                notes.join("; ").replace('|', "\\|"),
            )
        };
        let _ = writeln!(out, "| {agent} | {status} | {duration} | {notes} |");
    }
    let _ = writeln!(out, "\n**Quality Gate:** {}", gate_lines(result).join("; "));
    let _ = writeln!(out, "\n### Deliverables");
    if result.payload.is_empty() {
        let _ = writeln!(out, "None");
    }
    for (key, value) in &result.payload {
        let _ = writeln!(out, "- {}: {}", title_case(key), cell(value));
    }
    let _ = writeln!(out, "\n### Escalations");
    match &result.escalation {
        Some(e) => {
            let _ = writeln!(out, "- {}: {}", e.kind, e.title);
        }
        None => {
            let _ = writeln!(out, "None");
        }
    }
    out
}

/// The seed's "Ops Escalation" format.
pub fn escalation(result: &RunResult) -> String {
    let Some(e) = &result.escalation else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(out, "## Ops Escalation: {}\n", e.title);
    let _ = writeln!(out, "**Coordinator:** {}", e.coordinator);
    let _ = writeln!(
        out,
        "**Timestamp:** {}",
        e.timestamp.replace('T', " ").trim_end_matches('Z')
    );
    let _ = writeln!(out, "**Signal:** {}", e.signal);
    let _ = writeln!(out, "**Type:** {}", e.kind);
    let _ = writeln!(out, "\n### Context\n{}", e.context);
    let _ = writeln!(out, "\n### Issue\n{}", e.issue);
    let _ = writeln!(out, "\n### Partial Results");
    if e.partial_results.is_empty() {
        let _ = writeln!(out, "None completed.");
    }
    for p in &e.partial_results {
        let _ = writeln!(out, "- {p}");
    }
    let _ = writeln!(out, "\n### Recommended Action\n{}", e.recommended);
    let _ = writeln!(out, "\n### Options");
    let _ = writeln!(out, "1. **Retry:** {}", e.options.retry);
    let _ = writeln!(out, "2. **Abort:** {}", e.options.abort);
    let _ = writeln!(out, "3. **Delegate:** {}", e.options.delegate);
    out
}

/// The event log with virtual times.
fn run_log(result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Run Log\n");
    let _ = writeln!(
        out,
        "| Time | Event | Step | Detail |\n|------|-------|------|--------|"
    );
    for e in &result.events {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| +{} | {kind} | {} | {} |",
            human_duration(e.at_ms),
            e.step.as_deref().unwrap_or("-"),
            e.detail.replace('|', "\\|")
        );
    }
    out
}

#[cfg(test)]
mod stderr_tests {
    use super::fence_for;

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_in_stderr() {
        assert_eq!(fence_for(&["plain".to_string()]), "```");
        assert_eq!(
            fence_for(&["a ```` b".to_string(), "`".to_string()]),
            "`````"
        );
        assert_eq!(fence_for(&[]), "```");
    }
}
