//! Evaluating `expect` lines against a finished run.
//!
//! Each form says why it does not hold as a [`Mismatch`]: the expectation
//! as written, what the run did in the same words, and the sentence the
//! diagnostic shows. Step, attempt and approval forms live in
//! [`steps`]; gates, events, duration and escalation titles in [`run`].

mod run;
mod steps;

use serde::Serialize;
use serde_json::{json, Value};

use crate::ast::{Expect, ExprKind, Playbook};
use crate::diagnostics::codes::TEST_FAILED;
use crate::diagnostics::Diagnostic;
use crate::runtime::eval::{display, eval, Scope};
use crate::runtime::result::RunResult;
use crate::source::SourceFile;

pub use steps::{records, APPROVAL_OUTCOMES};

/// How an expectation failed: what it wanted, what the run did, and the
/// sentence that says both.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mismatch {
    /// What the expectation wanted (`status complete`).
    pub expected: String,
    /// What the run did (`status failed`).
    pub actual: String,
    /// The diagnostic's message.
    #[serde(skip)]
    pub message: String,
}

/// What an expectation is checked against.
pub struct Run<'a> {
    /// The playbook (to resolve step ids).
    pub playbook: &'a Playbook,
    /// Its source (to quote expressions).
    pub file: &'a SourceFile,
    /// The run's result.
    pub result: &'a RunResult,
}

pub(crate) fn mismatch(expected: String, actual: String, message: String) -> Option<Mismatch> {
    Some(Mismatch {
        expected,
        actual,
        message,
    })
}

/// Why an expectation does not hold, or `None` when it does.
pub fn check(expect: &Expect, run: &Run<'_>) -> Option<Mismatch> {
    let result = run.result;
    match expect {
        Expect::Status { status, .. } => {
            let actual = result.status.word();
            if actual == status.name {
                return None;
            }
            mismatch(
                format!("status {}", status.name),
                format!("status {actual}"),
                format!(
                    "expected status {}, but the run ended {actual}: {}",
                    status.name, result.summary
                ),
            )
        }
        Expect::Route { route, .. } => route_check(&route.name, result),
        Expect::Escalation { kind, title, .. } => run::escalation(run, kind, title.as_ref()),
        Expect::Step {
            step,
            outcome,
            kind,
            ..
        } => steps::outcome(run, step, outcome, kind.as_ref()),
        Expect::Attempts {
            step,
            count,
            starts,
            ..
        } => steps::attempts(run, step, count.as_ref(), starts),
        Expect::Approval { name, outcome, .. } => steps::approval(result, name, outcome),
        Expect::Gate { group, verdict, .. } => run::gate(run, group, verdict),
        Expect::Events { events, .. } => run::events(result, events),
        Expect::Duration { op, bound, .. } => run::duration(result, op, bound),
        Expect::Holds { condition, .. } => {
            let scope = result_scope(result);
            let value = eval(condition, &scope);
            if value == Value::Bool(true) {
                return None;
            }
            let written = run.file.slice(condition.span).to_string();
            // A comparison shows its left side's value next to it.
            if let ExprKind::Binary { lhs, .. } = &condition.kind {
                if !matches!(lhs.kind, ExprKind::Binary { .. }) {
                    let left = run.file.slice(lhs.span);
                    let shown = shown(&eval(lhs, &scope));
                    return mismatch(
                        written,
                        format!("{left} = {shown}"),
                        format!("expected this to hold, but {left} is {shown}"),
                    );
                }
            }
            let shown = display(&value).replace('?', "unknown");
            mismatch(
                written,
                shown.clone(),
                format!("expected this to hold, but it is {shown}"),
            )
        }
    }
}

/// A value as an expectation's message shows it: strings quoted, nothing
/// as `nothing`.
pub(crate) fn shown(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => display(other),
    }
}

fn route_check(expected: &str, result: &RunResult) -> Option<Mismatch> {
    let actual = result.route.as_ref().and_then(|r| r.label.clone());
    if actual.as_deref() == Some(expected) {
        return None;
    }
    let (actual_text, message) = match actual {
        Some(label) => (
            format!("route {label}"),
            format!("expected route `{expected}`, but `{label}` matched"),
        ),
        None => match &result.route {
            Some(r) => (
                format!("route `{}`", r.pattern),
                format!(
                    "expected route `{expected}`, but an unlabelled route `{}` matched",
                    r.pattern
                ),
            ),
            None => (
                "no route".to_string(),
                format!("expected route `{expected}`, but no route matched"),
            ),
        },
    };
    mismatch(format!("route {expected}"), actual_text, message)
}

/// The names an `expect EXPR` line sees.
fn result_scope(result: &RunResult) -> Scope {
    let mut scope = Scope::default();
    scope.bind("payload", Value::Object(result.payload.clone()));
    scope.bind("status", Value::String(result.status.word().to_string()));
    scope.bind(
        "route",
        json!(result.route.as_ref().and_then(|r| r.label.clone())),
    );
    scope.bind(
        "escalation",
        serde_json::to_value(&result.escalation).unwrap_or(Value::Null),
    );
    scope.bind(
        "steps",
        Value::Object(
            result
                .steps
                .iter()
                .map(|s| (s.name.clone(), json!({ "status": s.outcome.word(), "attempts": s.attempts.len(), "outputs": s.outputs })))
                .collect(),
        ),
    );
    scope.bind("events", json!(result.events.len()));
    scope
}

/// The diagnostic of a failed expectation, at its line, with expected and
/// actual side by side under it.
pub fn failure(file: &SourceFile, expect: &Expect, why: &Mismatch) -> Diagnostic {
    Diagnostic::error(TEST_FAILED, why.message.clone())
        .with_primary(
            expect.span(),
            format!("expected: {} | actual: {}", why.expected, why.actual),
        )
        .with_help("run the same signal with `coordops dry-run` to see the whole report")
        .in_file(file)
}

#[cfg(test)]
mod tests;
