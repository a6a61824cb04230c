//! Range checks on literal settings: gates, timeouts, retries, concurrency.

use crate::ast::{DurationLit, GateLit, GateRule, IntLit, PercentLit, RetryPolicy, Setting, Span};
use crate::diagnostics::{codes, Diagnostic};

/// Most retries a policy may ask for.
pub const MAX_RETRIES: i64 = 10;
/// Largest backoff multiplier.
pub const MAX_MULTIPLIER: f64 = 10.0;
/// Largest `max_concurrent`.
pub const MAX_CONCURRENT: i64 = 64;
/// Most branches written in one `parallel` group (the fan-out limit).
pub const MAX_BRANCHES: usize = 64;

fn out_of_range(span: Span, message: String, help: &str) -> Diagnostic {
    Diagnostic::error(codes::CHECK_OUT_OF_RANGE, message)
        .with_primary(span, "out of range")
        .with_help(help.to_string())
}

/// A gate must be 0–100%.
pub fn gate(p: &PercentLit, out: &mut Vec<Diagnostic>) {
    if p.value > 100 {
        out.push(out_of_range(
            p.span,
            format!("a gate of {}% can never pass", p.value),
            "gates are between 0% and 100% of the counted branches",
        ));
    }
}

/// Largest `tolerate N` / `at least K`: the most elements a `parallel for`
/// may have at run time (`Limits::max_elements`).
pub const MAX_GATE_COUNT: u64 = 100_000;

/// A group's gate: a percent 0–100%, a count 0–[`MAX_GATE_COUNT`], and
/// `at least K` no more than a literal group's `branches` (`None` for a
/// `parallel for`, whose size is known only at run time).
pub fn group_gate(g: &GateLit, branches: Option<u64>, out: &mut Vec<Diagnostic>) {
    let count = match g.rule {
        GateRule::Percent { value } => {
            return gate(
                &PercentLit {
                    value,
                    span: g.span,
                },
                out,
            );
        }
        GateRule::Tolerate { tolerate } => tolerate,
        GateRule::AtLeast { at_least } => at_least,
    };
    if count > MAX_GATE_COUNT {
        out.push(out_of_range(
            g.span,
            format!(
                "`gate {}` counts more branches than a group can have",
                g.rule
            ),
            "a group has at most 100000 branches (the `parallel for` element limit); counts are 0–100000",
        ));
        return;
    }
    if let (GateRule::AtLeast { at_least }, Some(n)) = (g.rule, branches) {
        if at_least > n {
            out.push(
                Diagnostic::error(
                    codes::CHECK_GATE_CANNOT_PASS,
                    format!(
                        "`gate at least {at_least}` can never pass: this group has {n} branch{}",
                        if n == 1 { "" } else { "es" }
                    ),
                )
                .with_primary(g.span, format!("needs {at_least} successes"))
                .with_help(format!(
                    "write `gate at least {n}` (every branch must succeed) or fewer, or add branches"
                )),
            );
        }
    }
}

/// A timeout must be longer than zero.
pub fn timeout(d: &DurationLit, out: &mut Vec<Diagnostic>) {
    if d.millis == 0 {
        out.push(
            Diagnostic::error(
                codes::CHECK_ZERO_TIMEOUT,
                "a timeout of zero would fail every attempt",
            )
            .with_primary(d.span, "zero")
            .with_help(
                "give a positive duration such as `30s`, or remove the timeout to inherit one",
            ),
        );
    }
}

/// Retry count, multiplier and cap must be sensible.
pub fn retry(policy: &RetryPolicy, out: &mut Vec<Diagnostic>) {
    let n = policy.retries.value;
    if !(0..=MAX_RETRIES).contains(&n) {
        out.push(out_of_range(
            policy.retries.span,
            format!("`retry {n}`: the number of retries must be between 0 and {MAX_RETRIES}"),
            "`retry 3` means up to 3 retries after the first attempt (4 attempts in all)",
        ));
    }
    if let Some(m) = &policy.multiplier {
        if !(1.0..=MAX_MULTIPLIER).contains(&m.value) {
            out.push(out_of_range(
                m.span,
                format!(
                    "backoff multiplier x{} must be between x1 and x{MAX_MULTIPLIER}",
                    m.value
                ),
                "x1 keeps the delay constant, x2 doubles it after each retry",
            ));
        }
    }
    if let (Some(initial), Some(max)) = (&policy.backoff, &policy.max_delay) {
        if max.millis < initial.millis {
            out.push(
                out_of_range(
                    max.span,
                    "the backoff cap is shorter than the first delay".to_string(),
                    "`max` caps the growing delay; make it at least the initial backoff",
                )
                .with_secondary(initial.span, "first delay"),
            );
        }
    }
    within(policy, out);
    if let (Some(on), Some(except)) = (policy.on.first(), policy.except.first()) {
        out.push(
            Diagnostic::error(
                codes::CHECK_OUT_OF_RANGE,
                "a retry policy lists the kinds it retries (`on`) or those it does not (`except`), not both",
            )
            .with_primary(except.span, "`except` list")
            .with_secondary(on.span, "`on` list")
            .with_help(
                "keep `on [KIND, …]` to retry only those kinds, or `except [KIND, …]` to retry every other kind (`quality_check`, `protocol` and `rejected_request` stay excluded)",
            ),
        );
    }
}

/// A step budget (`within D`) must leave time for the first retry.
fn within(policy: &RetryPolicy, out: &mut Vec<Diagnostic>) {
    let Some(budget) = &policy.within else {
        return;
    };
    if budget.millis == 0 {
        out.push(out_of_range(
            budget.span,
            "`within 0s`: a budget of zero leaves no time for any attempt".to_string(),
            "`within D` bounds the step's total time across attempts, from its start; give a positive duration such as `2m`",
        ));
        return;
    }
    let first = policy
        .backoff
        .as_ref()
        .map_or(super::policy::DEFAULT_BACKOFF_MS, |b| b.millis);
    if policy.retries.value > 0 && budget.millis <= first {
        let diagnostic = out_of_range(
            budget.span,
            format!(
                "`within {}` is no longer than the first retry's delay ({}): no retry can ever start",
                super::policy::format_duration(budget.millis),
                super::policy::format_duration(first)
            ),
            "make the budget longer than the first backoff delay, or drop `within` (each attempt still has its own `timeout`)",
        );
        out.push(match &policy.backoff {
            Some(b) => diagnostic.with_secondary(b.span, "first delay"),
            None => diagnostic,
        });
    }
}

/// `max_concurrent` must be 1–64.
pub fn max_concurrent(n: &IntLit, out: &mut Vec<Diagnostic>) {
    if !(1..=MAX_CONCURRENT).contains(&n.value) {
        out.push(out_of_range(
            n.span,
            format!(
                "`max_concurrent {}` must be between 1 and {MAX_CONCURRENT}",
                n.value
            ),
            "`max_concurrent 0` would never run the agent; 1 serializes its tasks",
        ));
    }
}

/// Checks every setting in a list.
pub fn settings(settings: &[Setting], out: &mut Vec<Diagnostic>) {
    for setting in settings {
        match setting {
            Setting::Gate(p) => gate(p, out),
            Setting::Timeout(d) => timeout(d, out),
            Setting::Retry(r) => retry(r, out),
            Setting::MaxConcurrent(n) => max_concurrent(n, out),
            Setting::ReportsTo(_) => {}
        }
    }
}
