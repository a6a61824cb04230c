//! `expect gate …`, `expect events […]`, `expect duration …` and the
//! title of `expect escalation …`: what the run as a whole did.

use serde_json::Value;

use crate::analysis::policy::format_duration;
use crate::ast::{DurationLit, EventPattern, Expr, ExprKind, GateExpect, Ident};
use crate::runtime::eval::{eval, Scope};
use crate::runtime::result::{Event, GateRecord, RunResult};

use super::{mismatch, Mismatch, Run};

/// How many events of the log an `expect events` failure quotes.
const EVENTS_SHOWN: usize = 40;

/// `expect escalation TYPE` with an optional title (string or regex).
pub fn escalation(run: &Run<'_>, kind: &Ident, title: Option<&Expr>) -> Option<Mismatch> {
    let result = run.result;
    let wanted_title = title.map(|t| run.file.slice(t.span).to_string());
    let expected = match &wanted_title {
        Some(t) => format!("escalation {} {t}", kind.name),
        None => format!("escalation {}", kind.name),
    };
    let Some(e) = &result.escalation else {
        return mismatch(
            expected,
            format!("status {}", result.status.word()),
            format!(
                "expected a {} escalation, but the run ended {}",
                kind.name,
                result.status.word()
            ),
        );
    };
    let title_holds = match title.map(|t| &t.kind) {
        None => true,
        Some(ExprKind::Regex { pattern }) => {
            crate::analysis::regexes::full_match(pattern, &e.title) == Some(true)
        }
        Some(_) => {
            title.map(|t| eval(t, &Scope::default())) == Some(Value::String(e.title.clone()))
        }
    };
    if e.kind == kind.name && title_holds {
        return None;
    }
    let actual = match wanted_title {
        Some(_) => format!("escalation {} {:?}", e.kind, e.title),
        None => format!("escalation {}", e.kind),
    };
    let message = if e.kind == kind.name {
        format!(
            "expected a {} escalation titled {}, but its title is {:?}",
            kind.name,
            wanted_title.unwrap_or_default(),
            e.title
        )
    } else {
        format!(
            "expected a {} escalation, but it escalated as {}: {}",
            kind.name, e.kind, e.title
        )
    };
    mismatch(expected, actual, message)
}

/// A gate's verdict in the words of `expect gate`.
fn describe(g: &GateRecord) -> String {
    let mut text = format!(
        "gate {} {} {} of {}",
        g.group,
        if g.passed { "passed" } else { "failed" },
        g.successes,
        g.counted
    );
    if let Some(at) = &g.decided_at {
        text.push_str(&format!(", decided at {}", at.replace('/', " of ")));
    }
    if let Some(branch) = &g.critical_failed {
        text.push_str(&format!(", critical {branch} failed"));
    }
    text
}

/// `expect gate GROUP …`: the group's last verdict.
pub fn gate(run: &Run<'_>, group: &Ident, verdict: &GateExpect) -> Option<Mismatch> {
    let result = run.result;
    let wanted = match verdict {
        GateExpect::Verdict { word } => word.name.clone(),
        GateExpect::Count { successes, counted } => format!("{successes} of {counted}"),
        GateExpect::Decided { at } => format!("decided at {}", at.replace('/', " of ")),
        GateExpect::Critical { branch } => format!("critical {}", branch.name),
    };
    let expected = format!("gate {} {wanted}", group.name);
    let Some(g) = result.gates.iter().rev().find(|g| g.group == group.name) else {
        return mismatch(
            expected,
            format!("gate {} never decided", group.name),
            format!(
                "expected gate `{}` {wanted}, but the group never ran",
                group.name
            ),
        );
    };
    let holds = match verdict {
        GateExpect::Verdict { word } => (word.name == "passed") == g.passed,
        GateExpect::Count { successes, counted } => {
            g.successes == *successes && g.counted == *counted
        }
        GateExpect::Decided { at } => g.decided_at.as_deref() == Some(at.as_str()),
        GateExpect::Critical { branch } => g.critical_failed.as_ref().is_some_and(|failed| {
            *failed == branch.name
                || super::records(run.playbook, result, &branch.name)
                    .iter()
                    .any(|r| r.name == *failed)
        }),
    };
    if holds {
        return None;
    }
    let actual = describe(g);
    mismatch(
        expected,
        actual.clone(),
        format!(
            "expected gate `{}` {wanted}, but it was: {actual}",
            group.name
        ),
    )
}

/// An event's kind as the log writes it: `SPAWN`.
fn kind_word(e: &Event) -> String {
    match serde_json::to_value(e.kind) {
        Ok(Value::String(s)) => s,
        _ => format!("{:?}", e.kind),
    }
}

/// An event as `expect events` writes it: `SPAWN commit`.
fn event_text(e: &Event) -> String {
    let kind = kind_word(e);
    match &e.step {
        Some(step) => format!("{kind} {step}"),
        None => kind,
    }
}

fn pattern_text(p: &EventPattern) -> String {
    match &p.step {
        Some(step) => format!("{} {}", p.kind.name, step.name),
        None => p.kind.name.clone(),
    }
}

/// `expect events [...]`: the patterns appear in the log in this order,
/// other events between them allowed.
pub fn events(result: &RunResult, patterns: &[EventPattern]) -> Option<Mismatch> {
    let log: Vec<String> = result.events.iter().map(event_text).collect();
    let mut next = 0;
    let mut found = 0;
    for p in patterns {
        let hit = result.events[next..].iter().position(|e| {
            kind_word(e) == p.kind.name
                && p.step
                    .as_ref()
                    .is_none_or(|s| e.step.as_deref() == Some(&s.name))
        });
        match hit {
            Some(i) => {
                next += i + 1;
                found += 1;
            }
            None => break,
        }
    }
    if found == patterns.len() {
        return None;
    }
    let wanted: Vec<String> = patterns.iter().map(pattern_text).collect();
    let missing = &wanted[found];
    let after = match found {
        0 => String::new(),
        n => format!(" after `{}`", wanted[n - 1]),
    };
    let mut shown: Vec<String> = log.iter().take(EVENTS_SHOWN).cloned().collect();
    if log.len() > EVENTS_SHOWN {
        shown.push(format!("… {} more", log.len() - EVENTS_SHOWN));
    }
    mismatch(
        format!("events [{}]", wanted.join(", ")),
        format!("events [{}]", shown.join(", ")),
        format!(
            "expected the event `{missing}`{after}, but the log has none (it has {} events)",
            log.len()
        ),
    )
}

/// `expect duration OP D`: the run's virtual duration.
pub fn duration(result: &RunResult, op: &str, bound: &DurationLit) -> Option<Mismatch> {
    let ms = result.duration_ms;
    let holds = match op {
        "<=" => ms <= bound.millis,
        ">=" => ms >= bound.millis,
        "<" => ms < bound.millis,
        _ => ms > bound.millis,
    };
    if holds {
        return None;
    }
    let (wanted, took) = (format_duration(bound.millis), format_duration(ms));
    mismatch(
        format!("duration {op} {wanted}"),
        format!("duration {took}"),
        format!("expected the run to take {op} {wanted}, but it took {took}"),
    )
}
