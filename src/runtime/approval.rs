//! `approve`: waiting for an outside decision under a timeout.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::analysis::policy;
use crate::analysis::scope::{self, Object, Site};
use crate::ast::{ApproveStmt, Handler, StepOption};

use super::backend::{ApprovalRequest, Approver, Decision};
use super::engine::{Engine, Flow, Place, Terminal};
use super::eval::{holds, interpolate, Scope};
use super::record::{ApprovalDecision, ApprovalWait, Entry};
use super::result::{Attempt, EventKind, StepOutcome, StepRecord};

impl Engine<'_> {
    /// Runs an approval step.
    pub(super) async fn approve(
        &self,
        a: &ApproveStmt,
        scope: &mut Scope,
        _place: Place<'_>,
    ) -> Flow {
        let name = a.name.name.clone();
        let guard = a.options.iter().find_map(|o| match o {
            StepOption::When(e) => Some(e),
            _ => None,
        });
        if guard.is_some_and(|g| !holds(g, scope)) {
            self.skipped(&name, "approval");
            return Flow::Continue;
        }
        let timeout_ms = policy::option_timeout(&a.options)
            .map(|d| d.millis)
            .or_else(|| {
                self.coordinator
                    .and_then(|c| policy::setting_timeout(&c.settings))
                    .map(|d| d.millis)
            })
            .unwrap_or(policy::DEFAULT_TIMEOUT_MS);
        let message = interpolate(&a.message, scope);
        let started = self.now_ms();
        // An interrupt while waiting still leaves a record of the approval.
        let mut abandoned = super::step::Abandoned::new(
            self,
            StepRecord {
                id: None,
                name: name.clone(),
                kind: "approval".to_string(),
                agent: None,
                task: None,
                outcome: StepOutcome::Skipped,
                critical: false,
                started_ms: started,
                duration_ms: 0,
                attempts: Vec::new(),
                outputs: Map::new(),
                simulated: false,
            },
        );
        self.event(
            EventKind::Approval,
            Some(&name),
            format!(
                "requested: {message} (timeout {})",
                policy::format_duration(timeout_ms)
            ),
        );
        let approver = self.backend.approver();
        if let Approver::Person { .. } = approver {
            self.waiting(ApprovalWait {
                name: name.clone(),
                step: None,
                message: message.clone(),
                at_ms: started,
                deadline_ms: started.saturating_add(timeout_ms),
                requested_at: self.timestamp_millis(started),
                deadline: self.timestamp_millis(started.saturating_add(timeout_ms)),
            });
        }
        let request = ApprovalRequest {
            run_id: self.run_id.to_string(),
            name: name.clone(),
            message,
            time_left: Duration::from_millis(timeout_ms),
        };
        let decision = tokio::select! {
            biased;
            () = self.cancel.cancelled() => {
                self.not_waiting(&name);
                return Flow::Stop(Terminal::Aborted { reason: "interrupted".to_string() });
            }
            d = self.within(timeout_ms, self.backend.approve(request)) => d,
        };
        if decision == Some(Decision::Suspend) {
            abandoned.disarm();
            self.suspend();
            return Flow::Stop(Terminal::Waiting);
        }
        self.not_waiting(&name);
        let granted = decision == Some(Decision::Granted);
        if decision.is_some() {
            self.decided(&name, granted, &approver);
        }
        let (outcome, event, word) = match decision {
            Some(Decision::Granted) => (StepOutcome::Success, None, "granted"),
            Some(_) => (
                StepOutcome::Failure {
                    kind: "denied".into(),
                    message: "approval denied".into(),
                },
                Some("denied"),
                "denied",
            ),
            None => (StepOutcome::Timeout, Some("timeout"), "no decision"),
        };
        let duration = self.now_ms() - started;
        self.event(
            EventKind::Approval,
            Some(&name),
            format!("{word} after {}", policy::format_duration(duration)),
        );
        abandoned.disarm();
        self.with_log(|log| {
            log.steps.push(StepRecord {
                id: None,
                name: name.clone(),
                kind: "approval".to_string(),
                agent: None,
                task: None,
                outcome: outcome.clone(),
                critical: false,
                started_ms: started,
                duration_ms: duration,
                attempts: vec![Attempt {
                    number: 1,
                    started_ms: started,
                    duration_ms: duration,
                    outcome: word.to_string(),
                    kind: None,
                    message: None,
                    stderr: Vec::new(),
                }],
                outputs: Map::new(),
                simulated: false,
            });
        });
        scope.bind(
            &name,
            serde_json::json!({ "granted": outcome == StepOutcome::Success, "decision": word }),
        );
        let Some(event) = event else {
            return Flow::Continue;
        };
        let step = scope::build(Object::Step, Site::Approval, |field| match field {
            "name" => json!(name),
            "target" => json!(format!("approval {name}")),
            "error" => json!(format!("approval {word}")),
            "kind" => json!(event),
            "attempts" => json!(1),
            "critical" => json!(false),
            "timeout" => json!(policy::format_duration(timeout_ms)),
            "duration" => json!(policy::format_duration(duration)),
            _ => Value::Null,
        });
        let handler_scope = scope.with("step", step);
        let handler: Option<&Handler> =
            a.options.iter().filter_map(StepOption::handler).find(|h| {
                h.event.name == event && h.guard.as_ref().is_none_or(|g| holds(g, &handler_scope))
            });
        if let Some(h) = handler {
            self.took(h.span.start);
            if let crate::ast::HandlerAction::Continue { .. } = h.action {
                return Flow::Continue;
            }
            return Flow::Stop(self.handler_terminal(&h.action, &handler_scope));
        }
        let fallback = Terminal::Failed {
            message: format!(
                "approval `{name}`: {word} within {}",
                policy::format_duration(timeout_ms)
            ),
        };
        Flow::Stop(
            self.apply_rules(&[event], event, &handler_scope)
                .await
                .unwrap_or(fallback),
        )
    }
}

impl Engine<'_> {
    /// Journals a decision on `name` (unless the approver's decisions go
    /// unrecorded, as in dry runs).
    fn decided(&self, name: &str, granted: bool, approver: &Approver) {
        if let Some(recorded) = self.backend.replayed_decision(name) {
            // Already in the journal: only the report needs it.
            self.with_log(|log| log.decisions.push(recorded));
            return;
        }
        let (via, by) = match approver {
            Approver::Unrecorded => return,
            Approver::Policy => ("policy".to_string(), "policy".to_string()),
            Approver::Person { via, by } => (via.clone(), by.clone()),
        };
        let at_ms = self.now_ms();
        let decision = ApprovalDecision {
            name: name.to_string(),
            granted,
            by,
            note: None,
            at: self.timestamp_millis(at_ms),
            at_ms,
            via,
        };
        self.note(Entry::Decision(decision.clone()));
        self.with_log(|log| log.decisions.push(decision));
    }
}
