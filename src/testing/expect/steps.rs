//! `expect step …` and `expect approval …`: what happened to one step.

use crate::analysis::policy::format_duration;
use crate::analysis::targets::{self, ElementSel, StepSel, Target};
use crate::ast::{DurationLit, Ident, IntLit, Playbook};
use crate::runtime::result::{RunResult, StepOutcome, StepRecord};

use super::{mismatch, Mismatch, Run};

/// Outcomes `expect approval NAME …` accepts.
pub const APPROVAL_OUTCOMES: &[&str] = &["granted", "denied", "timeout", "skipped"];

/// The records `step` names in `result`: the last step with that name
/// (`binding` or `AGENT.task`), else every step whose id the target
/// `WORKFLOW.N`, `WORKFLOW.binding` (with an optional `[INDEX]`) names.
pub fn records<'r>(playbook: &Playbook, result: &'r RunResult, step: &str) -> Vec<&'r StepRecord> {
    if let Some(last) = result.steps.iter().rev().find(|s| s.name == step) {
        return vec![last];
    }
    let Some(id) = Target::parse(step).ok().and_then(|t| id_of(playbook, &t)) else {
        return Vec::new();
    };
    result
        .steps
        .iter()
        .filter(|s| {
            s.id.as_deref()
                .is_some_and(|i| i == id || (!id.contains('[') && i.starts_with(&format!("{id}["))))
        })
        .collect()
}

/// The id (`WORKFLOW.N[INDEX]`) a target names, when it names one by
/// position or binding and, optionally, index.
fn id_of(playbook: &Playbook, target: &Target) -> Option<String> {
    let position = match &target.step {
        StepSel::Position(n) => *n,
        StepSel::Binding(b) => {
            let workflow = playbook
                .workflows()
                .find(|w| w.name.name == target.workflow)?;
            targets::calls(workflow)
                .iter()
                .position(|(c, _)| c.binding.as_ref().is_some_and(|x| x.name == *b))?
                + 1
        }
    };
    match &target.element {
        None => Some(format!("{}.{position}", target.workflow)),
        Some(ElementSel::Index(i)) => Some(format!("{}.{position}[{i}]", target.workflow)),
        Some(ElementSel::Arg { .. }) => None,
    }
}

/// How a record is shown: its id inside a `parallel for`, else its name.
fn label(r: &StepRecord, step: &str) -> String {
    match &r.id {
        Some(id) if id.contains('[') => id.clone(),
        _ => step.to_string(),
    }
}

/// `outcome` as written, with the failure kind: `failure(rejected)`.
fn outcome_text(outcome: &StepOutcome) -> String {
    match outcome {
        StepOutcome::Failure { kind, .. } => format!("failure({kind})"),
        other => other.word().to_string(),
    }
}

/// `expect step STEP OUTCOME` / `… failure(KIND)`: every record it names.
pub fn outcome(
    run: &Run<'_>,
    step: &Ident,
    outcome: &Ident,
    kind: Option<&Ident>,
) -> Option<Mismatch> {
    let wanted = match kind {
        Some(k) => format!("{}({})", outcome.name, k.name),
        None => outcome.name.clone(),
    };
    let expected = format!("step {} {wanted}", step.name);
    let found = records(run.playbook, run.result, &step.name);
    if found.is_empty() {
        return never_ran(expected, &step.name, &format!("to end {wanted}"));
    }
    let holds = |r: &&StepRecord| {
        r.outcome.word() == outcome.name
            && match (kind, &r.outcome) {
                (None, _) => true,
                (Some(k), StepOutcome::Failure { kind, .. }) => *kind == k.name,
                (Some(_), _) => false,
            }
    };
    let r = found.into_iter().find(|r| !holds(r))?;
    let detail = match &r.outcome {
        StepOutcome::Failure { message, .. } => format!(": {message}"),
        _ => String::new(),
    };
    let shown = label(r, &step.name);
    let actual = outcome_text(&r.outcome);
    mismatch(
        expected,
        format!("step {shown} {actual}{detail}"),
        format!("expected step `{shown}` to end {wanted}, but it ended {actual}{detail}"),
    )
}

/// `expect step STEP attempts N` / `… attempts at D, D…`.
pub fn attempts(
    run: &Run<'_>,
    step: &Ident,
    count: Option<&IntLit>,
    starts: &[DurationLit],
) -> Option<Mismatch> {
    let times =
        |ms: &mut dyn Iterator<Item = u64>| ms.map(format_duration).collect::<Vec<_>>().join(", ");
    let wanted = match count {
        Some(n) => format!("attempts {}", n.value),
        None => format!(
            "attempts at {}",
            times(&mut starts.iter().map(|d| d.millis))
        ),
    };
    let expected = format!("step {} {wanted}", step.name);
    let found = records(run.playbook, run.result, &step.name);
    if found.is_empty() {
        return never_ran(expected, &step.name, &format!("to make {wanted}"));
    }
    let holds = |r: &&StepRecord| match count {
        Some(n) => i64::try_from(r.attempts.len()).is_ok_and(|len| len == n.value),
        None => r
            .attempts
            .iter()
            .map(|a| a.started_ms)
            .eq(starts.iter().map(|d| d.millis)),
    };
    let r = found.into_iter().find(|r| !holds(r))?;
    let shown = label(r, &step.name);
    let made = r.attempts.len();
    let started = times(&mut r.attempts.iter().map(|a| a.started_ms));
    let (actual, message) = match count {
        Some(n) => (
            format!("attempts {made}"),
            format!(
                "expected step `{shown}` to make {} attempt(s), but it made {made}",
                n.value
            ),
        ),
        None => (
            format!("attempts at {started}"),
            format!(
                "expected the attempts of step `{shown}` to start at {}, but they started at {started}",
                times(&mut starts.iter().map(|d| d.millis))
            ),
        ),
    };
    mismatch(expected, format!("step {shown} {actual}"), message)
}

/// `expect approval NAME granted|denied|timeout|skipped`.
pub fn approval(result: &RunResult, name: &Ident, outcome: &Ident) -> Option<Mismatch> {
    let expected = format!("approval {} {}", name.name, outcome.name);
    let Some(r) = result
        .steps
        .iter()
        .rev()
        .find(|s| s.kind == "approval" && s.name == name.name)
    else {
        return mismatch(
            expected,
            format!("approval {} never requested", name.name),
            format!(
                "expected approval `{}` to be {}, but it was never requested",
                name.name, outcome.name
            ),
        );
    };
    let actual = match r.outcome {
        StepOutcome::Success => "granted",
        StepOutcome::Failure { .. } => "denied",
        StepOutcome::Timeout => "timeout",
        StepOutcome::Skipped => "skipped",
        StepOutcome::Aborted { .. } => "aborted",
    };
    if actual == outcome.name {
        return None;
    }
    mismatch(
        expected,
        format!("approval {} {actual}", name.name),
        format!(
            "expected approval `{}` to be {}, but it was {actual}",
            name.name, outcome.name
        ),
    )
}

fn never_ran(expected: String, step: &str, wanted: &str) -> Option<Mismatch> {
    mismatch(
        expected,
        format!("step {step} never ran"),
        format!("expected step `{step}` {wanted}, but it never ran"),
    )
}
