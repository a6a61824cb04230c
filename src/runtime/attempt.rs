//! One attempt of an agent task: slots, the request (protocol v1), the
//! deadline, and what the agent answered, journalled on both ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::analysis::policy;
use crate::ast::Call;

use super::backend::{Reply, StderrTail, StepId, TaskOutcome, TaskRequest};
use super::engine::Engine;
use super::eval::{eval, Scope};
use super::protocol::Assignment;
use super::record::{AttemptEnd as RecordedEnd, AttemptStart, Entry};
use super::result::EventKind;
use super::retry::Budget;

/// What one attempt produced besides its end.
#[derive(Default)]
pub(super) struct AttemptInfo {
    /// When the attempt started (ms since the run began).
    pub(super) started: u64,
    /// The agent's stderr tail.
    pub(super) stderr: Vec<String>,
    /// Whether the simulated backend served it.
    pub(super) simulated: bool,
    /// Whether the step's budget (`within D`), not the attempt's own
    /// timeout, stopped it.
    pub(super) budget_out: bool,
    /// The delay the agent asked for before a retry (HTTP `Retry-After`), ms.
    pub(super) retry_after: Option<u64>,
}

/// How one attempt ended.
pub(super) enum AttemptEnd {
    Success(Map<String, Value>),
    Failure {
        kind: String,
        message: String,
    },
    Timeout,
    Cancelled,
    /// Not sent: the step's budget ran out while it waited for a slot.
    BudgetSpent,
}

/// One step's work, the same for each of its attempts.
pub(super) struct Work<'a> {
    /// The step's name.
    pub(super) name: &'a str,
    /// The call.
    pub(super) call: &'a Call,
    /// Its arguments, evaluated (shared with each attempt's request).
    pub(super) args: Arc<Map<String, Value>>,
    /// Its idempotency key.
    pub(super) key: Arc<str>,
    /// Its Agent Assignment.
    pub(super) assignment: Arc<Assignment>,
    /// Each attempt's timeout.
    pub(super) timeout_ms: u64,
    /// The step's budget across attempts (`within D`), if any.
    pub(super) budget: Option<Budget>,
    /// Set to the send time of the running attempt, for the step's
    /// [`Abandoned`](super::step::Abandoned) guard.
    pub(super) spawned: Option<Arc<AtomicU64>>,
    /// Which step of the playbook this is.
    pub(super) step: Option<StepId>,
}

/// The empty assignment every unread request shares (no allocation per step).
fn no_assignment() -> Arc<Assignment> {
    static EMPTY: std::sync::OnceLock<Arc<Assignment>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(Default::default))
}

impl Engine<'_> {
    /// The work of a step about to run (its key is taken now: one per step).
    pub(super) fn work<'a>(
        &self,
        name: &'a str,
        call: &'a Call,
        scope: &Scope,
        timeout_ms: u64,
    ) -> Work<'a> {
        Work {
            name,
            call,
            args: Arc::new(
                call.args
                    .iter()
                    .map(|a| (a.name.name.clone(), eval(&a.value, scope)))
                    .collect(),
            ),
            key: self.step_key(call, scope).into(),
            // Only a backend that reads it, or a recorder (journal, `-vv`),
            // sees the assignment; the simulated backend does not.
            assignment: if self.recorder.is_some() || self.backend.reads_assignment() {
                Arc::new(self.assignment(call, scope))
            } else {
                no_assignment()
            },
            timeout_ms,
            budget: None,
            spawned: None,
            step: self.step_id(call, scope),
        }
    }

    /// Runs one attempt under its deadline.
    pub(super) async fn attempt(&self, work: &Work<'_>, number: u32) -> (AttemptEnd, AttemptInfo) {
        let (name, call) = (work.name, work.call);
        // The coordinator-wide slot first, then the agent's own.
        let _global = match &self.global_slots {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        let slot = self.slots.get(call.agent.name.as_str()).cloned();
        let _permit = match &slot {
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        let started = self.now_ms();
        // The step's budget, when it ends first, bounds the attempt.
        let left = work.budget.map(|b| b.deadline_ms.saturating_sub(started));
        let budget_out = left.is_some_and(|l| l < work.timeout_ms);
        let timeout_ms = left.map_or(work.timeout_ms, |l| l.min(work.timeout_ms));
        if let (Some(0), Some(budget)) = (left, work.budget) {
            self.event(EventKind::Timeout, Some(name), budget_spent_message(budget));
            let info = AttemptInfo {
                started,
                budget_out: true,
                ..AttemptInfo::default()
            };
            return (AttemptEnd::BudgetSpent, info);
        }
        if let Some(spawned) = &work.spawned {
            spawned.store(started, Ordering::Relaxed);
        }
        let cancel = self.cancel.child_token();
        let _stop_on_drop = cancel.clone().drop_guard();
        self.event(
            EventKind::Spawn,
            Some(name),
            format!(
                "{}.{} attempt {number} (timeout {}{})",
                call.agent.name,
                call.task.name,
                policy::format_duration(work.timeout_ms),
                match work.budget {
                    Some(b) if budget_out => format!(
                        "; the step's budget, {}, ends in {}",
                        b.label(),
                        policy::format_duration(timeout_ms)
                    ),
                    _ => String::new(),
                }
            ),
        );
        // Only a backend that reads the protocol request, or a recorder,
        // sees the deadline text.
        let protocol = self.recorder.is_some() || self.backend.reads_assignment();
        let request = TaskRequest {
            run_id: Arc::clone(&self.run_id),
            agent: call.agent.name.clone(),
            task: call.task.name.clone(),
            args: work.args.clone(),
            attempt: number,
            timeout: Duration::from_millis(timeout_ms),
            cancel: cancel.clone(),
            idempotency_key: Arc::clone(&work.key),
            deadline: if protocol {
                self.timestamp_millis(started.saturating_add(timeout_ms))
            } else {
                String::new()
            },
            assignment: Arc::clone(&work.assignment),
            stderr: StderrTail::default(),
            step: work.step.clone(),
        };
        let tail = request.stderr.clone();
        if self.recorder.is_some() {
            self.note(Entry::Attempt(AttemptStart {
                step: name.to_string(),
                id: work.step.as_ref().map(StepId::id),
                agent: request.agent.clone(),
                task: request.task.clone(),
                attempt: number,
                at_ms: started,
                request: serde_json::to_value(request.to_protocol()).unwrap_or(Value::Null),
            }));
        }
        let mut info = AttemptInfo {
            started,
            budget_out,
            ..AttemptInfo::default()
        };
        let end = tokio::select! {
            biased;
            () = self.cancel.cancelled() => AttemptEnd::Cancelled,
            answer = self.within(timeout_ms, self.backend.call(request)) => match answer {
                Some(Reply { outcome, stderr_tail, simulated, retry_after }) => {
                    info.stderr = stderr_tail.iter().map(|l| crate::output::redact(l)).collect();
                    info.simulated = simulated;
                    info.retry_after = retry_after
                        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                    match outcome.redacted() {
                        TaskOutcome::Success(outputs) => AttemptEnd::Success(outputs),
                        TaskOutcome::Failure { kind, message } => AttemptEnd::Failure { kind, message },
                    }
                }
                None => {
                    cancel.cancel();
                    // What the agent wrote before its deadline.
                    info.stderr = tail.lines();
                    self.event(EventKind::Timeout, Some(name), timeout_message(work, budget_out));
                    AttemptEnd::Timeout
                }
            },
        };
        if self.recorder.is_some() {
            let mut recorded_outputs = Map::new();
            let (outcome, kind, message) = match &end {
                AttemptEnd::Success(outputs) => {
                    recorded_outputs.clone_from(outputs);
                    ("success", None, None)
                }
                AttemptEnd::Failure { kind, message } => {
                    ("failure", Some(kind.clone()), Some(message.clone()))
                }
                AttemptEnd::Timeout => (
                    "timeout",
                    Some("timeout".to_string()),
                    Some(timeout_message(work, budget_out)),
                ),
                AttemptEnd::Cancelled => ("aborted", None, None),
                AttemptEnd::BudgetSpent => return (end, info),
            };
            self.note(Entry::AttemptEnd(RecordedEnd {
                step: name.to_string(),
                key: work.key.to_string(),
                attempt: number,
                at_ms: self.now_ms(),
                outcome: outcome.to_string(),
                kind,
                message,
                stderr: info.stderr.clone(),
                outputs: recorded_outputs,
                retry_after_ms: info.retry_after,
            }));
        }
        (end, info)
    }
}

/// Why an attempt timed out: its own timeout, or the step's budget.
pub(super) fn timeout_message(work: &Work<'_>, budget_out: bool) -> String {
    match work.budget {
        Some(b) if budget_out => format!(
            "stopped: the step's budget ({}) ran out before the attempt's timeout ({})",
            b.label(),
            policy::format_duration(work.timeout_ms)
        ),
        _ => format!(
            "no answer within {}",
            policy::format_duration(work.timeout_ms)
        ),
    }
}

/// Why an attempt was never sent: the budget ran out during the slot wait.
pub(super) fn budget_spent_message(budget: Budget) -> String {
    format!(
        "not sent: the step's budget ({}) ran out while it waited for an agent slot",
        budget.label()
    )
}
