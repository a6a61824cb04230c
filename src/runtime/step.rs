//! One agent-task step: guard, handoffs, locks and slots, attempts under a
//! deadline, quality checks, handlers, retries with backoff, and escalation
//! rules for what stays failed.

use serde_json::{Map, Value};

use crate::analysis::policy::{self, Inherited};
use crate::analysis::scope::{self, Object, Site};
use crate::ast::{Call, CallStmt, Handler, HandlerAction, StepOption};

use super::attempt::AttemptEnd;
use super::engine::{Engine, Flow, Place, Terminal};
use super::eval::{holds, Scope};
use super::outputs;
use super::result::{Attempt, EventKind, StepOutcome, StepRecord};
use super::retry::{Plan, Wait};

/// What a step produced.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// How it ended.
    pub outcome: StepOutcome,
    /// Outputs of the successful attempt (empty otherwise).
    pub outputs: Map<String, Value>,
}

impl StepResult {
    /// The value its binding takes: the outputs (empty when it did not succeed).
    /// A step that did not succeed binds `null`: its fields are unknown.
    pub fn binding_value(&self) -> Value {
        match self.outcome {
            StepOutcome::Success => Value::Object(self.outputs.clone()),
            _ => Value::Null,
        }
    }
}

/// Facts about a failed step, for handlers and rules (`step.*`).
pub struct Failed<'a> {
    pub(super) name: &'a str,
    pub(super) call: &'a Call,
    pub(super) kind: String,
    pub(super) message: String,
    pub(super) attempts: u32,
    pub(super) critical: bool,
    pub(super) timeout_ms: u64,
    pub(super) duration_ms: u64,
}

impl Failed<'_> {
    /// The `step` object visible to handlers and rules.
    pub fn value(&self) -> Value {
        use serde_json::json;
        scope::build(Object::Step, Site::Step, |field| match field {
            "name" => json!(self.name),
            "target" => json!(format!("{}.{}", self.call.agent.name, self.call.task.name)),
            "agent" => json!(self.call.agent.name),
            "task" => json!(self.call.task.name),
            "error" => json!(self.message),
            "kind" => json!(self.kind),
            "attempts" => json!(self.attempts),
            "critical" => json!(self.critical),
            "timeout" => json!(policy::format_duration(self.timeout_ms)),
            "duration" => json!(policy::format_duration(self.duration_ms)),
            _ => Value::Null,
        })
    }
}

/// Whether a handler reacts to a failure of `kind`.
pub fn handler_matches(h: &Handler, event: &str, kind: &str, scope: &Scope) -> bool {
    let event_ok = match (h.event.name.as_str(), event) {
        ("failure", "failure" | "timeout") => true,
        (a, b) => a == b,
    };
    let kind_ok = h.kinds.is_empty() || h.kinds.iter().any(|k| k.name == kind);
    event_ok && kind_ok && h.guard.as_ref().is_none_or(|g| holds(g, scope))
}

use super::abandoned::in_backoff;
pub use super::abandoned::Abandoned;

impl<'p> Engine<'p> {
    /// Records a step the run's interrupt stopped (`reason` says where) and
    /// stops the run.
    fn interrupted(
        &self,
        mut record: StepRecord,
        reason: String,
        started: u64,
    ) -> (StepResult, Flow) {
        record.outcome = StepOutcome::Aborted { reason };
        record.duration_ms = self.now_ms() - started;
        let outcome = record.outcome.clone();
        self.with_log(|log| log.steps.push(record));
        let result = StepResult {
            outcome,
            outputs: Map::new(),
        };
        let stop = Flow::Stop(Terminal::Aborted {
            reason: "interrupted".to_string(),
        });
        (result, stop)
    }

    pub(super) fn inherited(&self, call: &Call) -> Inherited<'p> {
        let agent = self.agents.get(call.agent.name.as_str()).copied();
        Inherited {
            task: agent.and_then(|a| a.tasks.iter().find(|t| t.name.name == call.task.name)),
            agent,
            coordinator: self.coordinator,
        }
    }

    /// Runs a call statement. Returns its result and whether the run goes on.
    pub fn call_step<'a>(
        &'a self,
        step: &'a CallStmt,
        scope: &'a Scope,
        place: Place<'a>,
    ) -> futures::future::BoxFuture<'a, (StepResult, Flow)> {
        Box::pin(async move { self.call_step_inner(step, scope, place).await })
    }

    async fn call_step_inner(
        &self,
        step: &CallStmt,
        scope: &Scope,
        place: Place<'_>,
    ) -> (StepResult, Flow) {
        let call = &step.call;
        let name = step.binding.as_ref().map_or_else(
            || format!("{}.{}", call.agent.name, call.task.name),
            |b| b.name.clone(),
        );
        let critical = step
            .options
            .iter()
            .any(|o| matches!(o, StepOption::Critical { .. }));
        let started = self.now_ms();
        let record = StepRecord {
            id: self.step_id(call, scope).map(|s| s.id()),
            name: name.clone(),
            kind: "task".to_string(),
            agent: Some(call.agent.name.clone()),
            task: Some(call.task.name.clone()),
            outcome: StepOutcome::Skipped,
            critical,
            started_ms: started,
            duration_ms: 0,
            attempts: Vec::new(),
            outputs: Map::new(),
            simulated: false,
        };
        let guard = step.options.iter().find_map(|o| match o {
            StepOption::When(e) => Some(e),
            _ => None,
        });
        if let Some(guard) = guard {
            if !holds(guard, scope) {
                self.event(EventKind::Skip, Some(&name), "guard is false");
                self.with_log(|log| log.steps.push(record));
                return (
                    StepResult {
                        outcome: StepOutcome::Skipped,
                        outputs: Map::new(),
                    },
                    Flow::Continue,
                );
            }
        }
        let limit = self.limits.max_steps;
        if self.with_log(|log| {
            log.steps_started += 1;
            log.steps_started > limit
        }) {
            return (
                StepResult {
                    outcome: StepOutcome::Aborted {
                        reason: "run limit".to_string(),
                    },
                    outputs: Map::new(),
                },
                Flow::Stop(super::limits::too_many_steps(limit)),
            );
        }
        let mut abandoned = Abandoned::new(self, record);
        let passed = self.passed_on(call, scope);
        self.handoffs(&name, &passed);
        self.record_handoff(&name, call, scope, place, &passed);

        // Named locks are held for the whole step, retries included.
        let mut guards = Vec::new();
        for option in &step.options {
            if let StepOption::Lock(lock) = option {
                if let Some(l) = self.locks.get(&lock.name) {
                    guards.push(l.clone().lock_owned().await);
                }
            }
        }

        let inherited = self.inherited(call);
        let (timeout_ms, _) = inherited.timeout(&step.options);
        let policy = inherited.retry(&step.options);
        let plan = Plan::new(policy, started);
        let retries = plan.retries;
        let handlers: Vec<&Handler> = step
            .options
            .iter()
            .filter_map(StepOption::handler)
            .collect();

        let mut work = self.work(&name, call, scope, timeout_ms);
        work.spawned = Some(abandoned.spawned());
        work.budget = plan.budget;
        let mut number = 1;
        // Set when the budget, not the count, ended the retries.
        let mut out_of_budget = false;
        let (final_kind, final_message) = loop {
            abandoned.begin(number);
            let (end, info) = self.attempt(&work, number).await;
            let attempt_start = info.started;
            abandoned.record().simulated |= info.simulated;
            let end = match end {
                AttemptEnd::Success(outputs) => {
                    match outputs::judge(&inherited, &call.task.name, outputs, Some(scope)) {
                        Ok(outputs) => AttemptEnd::Success(outputs),
                        Err((kind, message)) => AttemptEnd::Failure { kind, message },
                    }
                }
                other => other,
            };
            let duration = self.now_ms() - attempt_start;
            let (kind, message) = match end {
                AttemptEnd::Success(outputs) => {
                    let mut record = abandoned.finish();
                    record.attempts.push(Attempt {
                        number,
                        started_ms: attempt_start,
                        duration_ms: duration,
                        outcome: "success".into(),
                        kind: None,
                        message: None,
                        stderr: info.stderr,
                    });
                    record.outcome = StepOutcome::Success;
                    record.outputs = outputs.clone();
                    record.duration_ms = self.now_ms() - started;
                    self.with_log(|log| log.steps.push(record));
                    return (
                        StepResult {
                            outcome: StepOutcome::Success,
                            outputs,
                        },
                        Flow::Continue,
                    );
                }
                AttemptEnd::Cancelled => {
                    let mut record = abandoned.finish();
                    record.attempts.push(Attempt {
                        number,
                        started_ms: attempt_start,
                        duration_ms: duration,
                        outcome: "aborted".into(),
                        kind: None,
                        message: Some("interrupted".to_string()),
                        stderr: info.stderr,
                    });
                    return self.interrupted(record, "interrupted".to_string(), started);
                }
                AttemptEnd::Timeout => {
                    // The budget stopped it: the policy has given up.
                    out_of_budget |= info.budget_out;
                    (
                        "timeout".to_string(),
                        super::attempt::timeout_message(&work, info.budget_out),
                    )
                }
                AttemptEnd::Failure { kind, message } => (kind, message),
                AttemptEnd::BudgetSpent => {
                    // Nothing was sent: no attempt to record, no retry.
                    out_of_budget = true;
                    number -= 1;
                    let message = work.budget.map(super::attempt::budget_spent_message);
                    break ("timeout".to_string(), message.unwrap_or_default());
                }
            };
            abandoned.ended(Attempt {
                number,
                started_ms: attempt_start,
                duration_ms: duration,
                outcome: if kind == "timeout" {
                    "timeout".into()
                } else {
                    "failure".into()
                },
                kind: Some(kind.clone()),
                message: Some(message.clone()),
                stderr: info.stderr,
            });
            let event = if kind == "timeout" {
                "timeout"
            } else {
                "failure"
            };
            let failed = Failed {
                name: &name,
                call,
                kind: kind.clone(),
                message: message.clone(),
                attempts: number,
                critical,
                timeout_ms,
                duration_ms: self.now_ms() - started,
            };
            let handler_scope = scope.with("step", failed.value());
            let handler = handlers
                .iter()
                .find(|h| handler_matches(h, event, &kind, &handler_scope));
            if let Some(h) = handler {
                self.took(h.span.start);
            }
            let retry_allowed = number <= retries.max(if handler.is_some() { 1 } else { 0 });
            // The next delay, and whether the step's budget rules the retry out.
            let delay = plan.delay(&work.key, number, info.retry_after);
            let over = plan.over_budget(self.now_ms(), delay.0);
            let retrying = match handler {
                Some(h) => matches!(h.action, HandlerAction::Retry { .. }) && retry_allowed,
                None => policy.is_some_and(|p| policy::retries_kind(p, &kind)) && number <= retries,
            };
            if let (true, Some(budget)) = (retrying, over) {
                // No retry, so no recovery either.
                self.no_retry(&name, &kind, number, budget);
                out_of_budget = true;
                break (kind, budget.not_retried(&message));
            }
            match handler {
                Some(h) => {
                    if matches!(h.action, HandlerAction::Retry { .. }) && !retry_allowed {
                        break (kind, message); // no retry follows, so no recovery either
                    }
                    if let Some(recovery) = &h.recovery {
                        // Boxed: a rare path, kept out of every step's future.
                        if !Box::pin(self.recovery(&name, recovery, &handler_scope)).await {
                            break (
                                kind,
                                format!(
                                    "{message} (recovery {}.{} failed)",
                                    recovery.agent.name, recovery.task.name
                                ),
                            );
                        }
                    }
                    match &h.action {
                        HandlerAction::Retry { .. } if retry_allowed => {}
                        HandlerAction::Retry { .. } => break (kind, message),
                        HandlerAction::Continue { .. } => {
                            return self.finish_failed(
                                abandoned.finish(),
                                kind,
                                message,
                                started,
                                Flow::Continue,
                            );
                        }
                        action => {
                            let terminal = self.handler_terminal(action, &handler_scope);
                            return self.finish_failed(
                                abandoned.finish(),
                                kind,
                                message,
                                started,
                                Flow::Stop(terminal),
                            );
                        }
                    }
                }
                None => {
                    if !retrying {
                        break (kind, message);
                    }
                }
            }
            // A recovery took time: the budget may have run out meanwhile.
            if let Some(budget) = plan.over_budget(self.now_ms(), delay.0) {
                self.no_retry(&name, &kind, number, budget);
                out_of_budget = true;
                break (kind, budget.not_retried(&message));
            }
            abandoned.waiting(number + 1);
            if let Wait::Interrupted = self
                .backoff(&name, &kind, number, retries.max(1), delay)
                .await
            {
                let record = abandoned.finish();
                let reason = in_backoff("interrupted", number + 1);
                self.event(EventKind::Abort, Some(&name), reason.clone());
                return self.interrupted(record, reason, started);
            }
            number += 1;
        };
        drop(guards);
        let record = abandoned.finish();

        // Failed for good: `exhausted` handlers, then (outside groups) the rules.
        let failed = Failed {
            name: &name,
            call,
            kind: final_kind.clone(),
            message: final_message.clone(),
            attempts: number,
            critical,
            timeout_ms,
            duration_ms: self.now_ms() - started,
        };
        let rule_scope = scope.with("step", failed.value());
        self.event(
            EventKind::Failure,
            Some(&name),
            format!("{}: {final_message}", final_kind),
        );
        // The policy gave up: its count or its budget is used up.
        let exhausted = number > 1 || out_of_budget;
        if exhausted {
            if let Some(h) = handlers.iter().find(|h| {
                h.event.name == "exhausted"
                    && handler_matches(h, "exhausted", &final_kind, &rule_scope)
            }) {
                self.took(h.span.start);
                // As for rules: the recovery runs, then the action.
                if let Some(recovery) = &h.recovery {
                    self.recovery(&name, recovery, &rule_scope).await;
                }
                let flow = match &h.action {
                    // Handled after the retries (a Step Functions `Catch` to
                    // the next state): the workflow goes on.
                    HandlerAction::Continue { .. } => Flow::Continue,
                    action => Flow::Stop(self.handler_terminal(action, &rule_scope)),
                };
                return self.finish_failed(record, final_kind, final_message, started, flow);
            }
        }
        let flow = if place.in_group {
            // The group's gate decides; the rules see `gate_failed`.
            Flow::Stop(Terminal::Failed {
                message: format!("step `{name}` failed: {final_kind}: {final_message}"),
            })
        } else {
            let event = if final_kind == "timeout" {
                "timeout"
            } else {
                "failure"
            };
            let events: Vec<&str> = if exhausted {
                vec!["exhausted", event]
            } else {
                vec![event]
            };
            // Boxed: only a failed step gets here.
            let terminal = Box::pin(self.apply_rules(&events, &final_kind, &rule_scope))
                .await
                .unwrap_or_else(|| Terminal::Failed {
                    message: format!("step `{name}` failed: {final_kind}: {final_message}"),
                });
            Flow::Stop(terminal)
        };
        self.finish_failed(record, final_kind, final_message, started, flow)
    }

    fn finish_failed(
        &self,
        mut record: StepRecord,
        kind: String,
        message: String,
        started: u64,
        flow: Flow,
    ) -> (StepResult, Flow) {
        record.outcome = if kind == "timeout" {
            StepOutcome::Timeout
        } else {
            StepOutcome::Failure { kind, message }
        };
        record.duration_ms = self.now_ms() - started;
        let outcome = record.outcome.clone();
        self.with_log(|log| log.steps.push(record));
        (
            StepResult {
                outcome,
                outputs: Map::new(),
            },
            flow,
        )
    }

    /// Runs a recovery call once; whether it succeeded.
    pub(super) async fn recovery(&self, for_step: &str, call: &Call, scope: &Scope) -> bool {
        let (timeout_ms, _) = self.inherited(call).timeout(&[]);
        let name = format!("{}.{}", call.agent.name, call.task.name);
        let work = self.work(&name, call, scope, timeout_ms);
        let (end, info) = self.attempt(&work, 1).await;
        let started = info.started;
        // A recovery's outputs are not kept, but its reply still has to
        // match the task's declared outputs.
        let end = match end {
            AttemptEnd::Success(outputs) => {
                match outputs::judge(&self.inherited(call), &call.task.name, outputs, None) {
                    Ok(outputs) => AttemptEnd::Success(outputs),
                    Err((kind, message)) => AttemptEnd::Failure { kind, message },
                }
            }
            other => other,
        };
        let (outcome, attempt_outcome, kind, message) = match end {
            AttemptEnd::Success(_) => (StepOutcome::Success, "success", None, None),
            AttemptEnd::Failure { kind, message } => (
                StepOutcome::Failure {
                    kind: kind.clone(),
                    message: message.clone(),
                },
                "failure",
                Some(kind),
                Some(message),
            ),
            // A recovery has no budget: never unsent.
            AttemptEnd::Timeout | AttemptEnd::BudgetSpent => (
                StepOutcome::Timeout,
                "timeout",
                Some("timeout".to_string()),
                None,
            ),
            AttemptEnd::Cancelled => (
                StepOutcome::Aborted {
                    reason: "interrupted".into(),
                },
                "aborted",
                None,
                None,
            ),
        };
        let ok = outcome == StepOutcome::Success;
        let duration = self.now_ms() - started;
        self.with_log(|log| {
            log.steps.push(StepRecord {
                id: None,
                name: format!("{name} (recovery for {for_step})"),
                kind: "recovery".to_string(),
                agent: Some(call.agent.name.clone()),
                task: Some(call.task.name.clone()),
                outcome,
                critical: false,
                started_ms: started,
                duration_ms: duration,
                attempts: vec![Attempt {
                    number: 1,
                    started_ms: started,
                    duration_ms: duration,
                    outcome: attempt_outcome.into(),
                    kind,
                    message,
                    stderr: info.stderr,
                }],
                outputs: Map::new(),
                simulated: info.simulated,
            });
        });
        ok
    }
}
