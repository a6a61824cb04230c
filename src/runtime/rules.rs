//! Escalation: building the seed's escalation record, and applying the
//! playbook's top-level rules (`on gate_failed => escalate …`).

use serde_json::{Map, Value};

use crate::ast::{Escalate, HandlerAction};

use super::engine::{Engine, Terminal};
use super::eval::{display, eval, interpolate, Scope};
use super::result::{EscalationRecord, Options, StepOutcome};
use super::step::handler_matches;

fn text(details: &Map<String, Value>, key: &str) -> Option<String> {
    details
        .get(key)
        .map(display)
        .filter(|s| !s.is_empty() && s != "?")
}

impl Engine<'_> {
    /// The terminal a handler or rule action leads to.
    pub(super) fn handler_terminal(&self, action: &HandlerAction, scope: &Scope) -> Terminal {
        match action {
            HandlerAction::Escalate(e) => self.escalation(e, scope, None),
            HandlerAction::Fail(f) => Terminal::Failed {
                message: interpolate(&f.message, scope),
            },
            HandlerAction::Abort(a) => Terminal::Aborted {
                reason: interpolate(&a.reason, scope),
            },
            // `retry` and `continue` have no terminal meaning; analysis rejects them here.
            HandlerAction::Retry { .. } | HandlerAction::Continue { .. } => Terminal::Failed {
                message: "a rule cannot retry or continue".to_string(),
            },
        }
    }

    /// The first top-level rule, in source order, that matches any of
    /// `events` (`on failure` also matches timeouts, as for step handlers).
    pub(super) async fn apply_rules(
        &self,
        events: &[&str],
        kind: &str,
        scope: &Scope,
    ) -> Option<Terminal> {
        let rule = self.playbook.rules().find(|r| {
            events
                .iter()
                .any(|event| handler_matches(r, event, kind, scope))
        })?;
        self.took(rule.span.start);
        if let Some(recovery) = &rule.recovery {
            self.recovery("rule", recovery, scope).await;
        }
        Some(self.handler_terminal(&rule.action, scope))
    }

    /// Builds the escalation record for `escalate TYPE "title" { details }`.
    pub(super) fn escalation(
        &self,
        e: &Escalate,
        scope: &Scope,
        issue: Option<String>,
    ) -> Terminal {
        let details = match e.details.as_ref().map(|d| eval(d, scope)) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let title = interpolate(&e.title, scope);
        let options = match details.get("options") {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        let (partial, agents) = self.with_log(|log| {
            let partial: Vec<String> = log
                .steps
                .iter()
                .filter(|s| s.outcome == StepOutcome::Success)
                .map(|s| {
                    let who = match (&s.agent, &s.task) {
                        (Some(a), Some(t)) => format!("{} ({a}.{t})", s.name),
                        _ => s.name.clone(),
                    };
                    let outputs: Vec<String> = s
                        .outputs
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", display(v)))
                        .collect();
                    if outputs.is_empty() {
                        format!("{who}: success")
                    } else {
                        format!("{who}: success ({})", outputs.join("; "))
                    }
                })
                .collect();
            let mut agents: Vec<String> =
                log.steps.iter().filter_map(|s| s.agent.clone()).collect();
            agents.sort();
            agents.dedup();
            (partial, agents)
        });
        let route = scope.get("route").map(display).unwrap_or_default();
        let context = text(&details, "context").unwrap_or_else(|| {
            format!(
                "{} handled {}{}; agents involved: {}",
                self.coordinator_name(),
                self.signal,
                if route.is_empty() {
                    String::new()
                } else {
                    format!(" with {route}")
                },
                if agents.is_empty() {
                    "none".to_string()
                } else {
                    agents.join(", ")
                }
            )
        });
        let record = EscalationRecord {
            kind: e.kind.name.clone(),
            title: title.clone(),
            coordinator: self.coordinator_name(),
            reports_to: self.reports_to(),
            timestamp: self.timestamp(self.now_ms()),
            signal: self.signal.clone(),
            context,
            issue: text(&details, "issue").or(issue).unwrap_or(title),
            partial_results: partial,
            recommended: text(&details, "recommended")
                .unwrap_or_else(|| "Decide whether to retry, abort or delegate.".to_string()),
            options: Options {
                retry: text(&options, "retry")
                    .unwrap_or_else(|| format!("Re-send {} once the cause is fixed.", self.signal)),
                abort: text(&options, "abort").unwrap_or_else(|| {
                    "No cleanup needed; completed steps are listed under Partial Results."
                        .to_string()
                }),
                delegate: text(&options, "delegate").unwrap_or_else(|| "None.".to_string()),
            },
            details,
        };
        Terminal::Escalated(Box::new(record))
    }
}
