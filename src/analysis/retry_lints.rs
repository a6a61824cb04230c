//! The lint on handlers that pre-empt a retry policy
//! (`premature_escalation`): a step's handlers run before its retries, so
//! `on failure(k) => escalate/fail/abort/continue` on a kind the policy
//! retries means the retries never happen; the fix is `on exhausted(k)`.

use crate::ast::{CallStmt, Handler, HandlerAction, RetryPolicy, StepOption, StrLit};
use crate::diagnostics::{codes, Diagnostic};

use super::policy;

/// A `failure` handler that ends the step (`escalate`, `fail`, `abort`,
/// `continue`) on a kind the retry policy would retry: handlers come
/// first, so the retries never happen.
pub(super) fn premature_escalation(
    step: &CallStmt,
    policy: &RetryPolicy,
    out: &mut Vec<Diagnostic>,
) {
    // The effective policy only: a step, task or agent that says
    // `retry 0` has chosen not to retry, so no retry is pre-empted.
    if policy.retries.value <= 0 {
        return;
    }
    for option in &step.options {
        let StepOption::Handler(h) = option else {
            continue;
        };
        let on_timeout = h.event.name == "timeout";
        if !(h.event.name == "failure" || on_timeout) || h.recovery.is_some() || counts_attempts(h)
        {
            continue;
        }
        let what = match &h.action {
            HandlerAction::Escalate(_) => "escalates",
            HandlerAction::Fail(_) => "fails the run",
            HandlerAction::Abort(_) => "aborts the run",
            HandlerAction::Continue { .. } => "gives up on the step",
            HandlerAction::Retry { .. } => continue,
        };
        let kind = if on_timeout {
            policy::retries_kind(policy, "timeout").then(|| "timeout".to_string())
        } else {
            retryable_kind(h, policy)
        };
        let Some(kind) = kind else {
            continue;
        };
        let rewrite = exhausted_rewrite(h, policy);
        let message = if matches!(h.action, HandlerAction::Escalate(_)) {
            format!("escalates on the first `{kind}` failure, which is recoverable: its retries never happen")
        } else {
            format!("{what} on the first `{kind}` failure, which the retry policy would retry: its retries never happen")
        };
        let recover = if matches!(h.action, HandlerAction::Escalate(_)) {
            format!(", or recover first: `on failure({kind}) => AGENT.fix() then retry`")
        } else {
            String::new()
        };
        out.push(
            Diagnostic::warning(codes::LINT_PREMATURE_ESCALATION, message)
                .with_primary(h.span, format!("{what} before any retry"))
                .with_help(format!(
                    "a step's handlers run before its retry policy; to act once the retries are used up (as a Step Functions `Catch` after its `Retry`), write `{rewrite}`{recover}"
                )),
        );
    }
}

/// The first kind a handler escalates on that the policy would retry.
fn retryable_kind(handler: &Handler, policy: &RetryPolicy) -> Option<String> {
    if handler.kinds.is_empty() {
        return Some(
            policy
                .on
                .first()
                .map_or_else(|| "any".to_string(), |k| k.name.clone()),
        );
    }
    handler
        .kinds
        .iter()
        .find(|k| policy::retries_kind(policy, &k.name))
        .map(|k| k.name.clone())
}

/// Whether a handler's guard reads `step.attempts` (`when step.attempts >= 3`):
/// it lets the policy retry until then, on purpose.
fn counts_attempts(h: &Handler) -> bool {
    let mut found = false;
    if let Some(guard) = &h.guard {
        guard.visit_paths(&mut |segments| {
            found |= matches!(segments, [root, field, ..] if root.name == "step" && field.name == "attempts");
        });
    }
    found
}

/// `on exhausted(KINDS) => ACTION`: the handler rewritten to fire after the
/// retries, for the kinds the policy retries (the others keep `failure`).
fn exhausted_rewrite(h: &Handler, policy: &RetryPolicy) -> String {
    let kinds: Vec<&str> = if h.event.name == "timeout" {
        vec!["timeout"]
    } else {
        h.kinds
            .iter()
            .filter(|k| policy::retries_kind(policy, &k.name))
            .map(|k| k.name.as_str())
            .collect()
    };
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!("({})", kinds.join(", "))
    };
    let guard = if h.guard.is_some() { " when …" } else { "" };
    let text = |s: &StrLit| {
        s.as_plain()
            .filter(|t| !t.contains(['{', '}', '"', '\\']) && !t.contains(char::is_control))
            .map_or_else(|| "\"…\"".to_string(), |t| format!("\"{t}\""))
    };
    let action = match &h.action {
        HandlerAction::Escalate(e) => format!(
            "escalate {} {}{}",
            e.kind.name,
            text(&e.title),
            if e.details.is_some() { " { … }" } else { "" }
        ),
        HandlerAction::Fail(f) => format!(
            "fail {}{}",
            text(&f.message),
            if f.details.is_some() { " { … }" } else { "" }
        ),
        HandlerAction::Abort(a) => format!("abort {}", text(&a.reason)),
        HandlerAction::Continue { .. } => "continue".to_string(),
        HandlerAction::Retry { .. } => "retry".to_string(),
    };
    format!("on exhausted{kinds}{guard} => {action}")
}
