//! What the interpreter records as a run goes: one [`Entry`] per event, the
//! effect a journal, a progress display or an upstream stream observes.
//!
//! The interpreter calls a [`Recorder`] synchronously, in order, for every
//! entry; it never waits on it. The journal (`crate::journal`) is the
//! durable recorder; [`Recorders`] fans one run out to several.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::result::{Event, GateRecord, RouteChoice, RunResult, StepRecord};

/// One thing that happened in a run, as journalled (JSON, tagged by `type`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// The run started.
    Start(RunStart),
    /// The route chosen for the signal.
    Route(RouteChoice),
    /// An event of the run log (spawn, handoff, retry, gate, …).
    Event(Event),
    /// An attempt was sent to an agent, with its request.
    Attempt(AttemptStart),
    /// An agent answered an attempt (before quality checks).
    AttemptEnd(AttemptEnd),
    /// A step finished (its full record).
    Step(StepRecord),
    /// A parallel group's gate was decided.
    Gate(GateRecord),
    /// A result was handed from finished steps to a later one (the seed's
    /// Handoff format).
    Handoff(Handoff),
    /// The run ended: the whole result.
    End(Box<RunResult>),
}

/// The first entry of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// Identifier of the run.
    pub run_id: String,
    /// The coordinator's name.
    pub coordinator: String,
    /// The signal received.
    pub signal: String,
    /// Its context, defaults applied.
    pub context: Map<String, Value>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The coordinator's gate (%).
    pub quality_gate: u64,
    /// The agents the playbook declares (for the reports).
    pub agents: Vec<String>,
}

/// An attempt sent to an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptStart {
    /// The step.
    pub step: String,
    /// The agent.
    pub agent: String,
    /// The task.
    pub task: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// The request as sent (arguments, keys, deadline).
    pub request: Value,
}

/// An agent's answer to one attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptEnd {
    /// The step.
    pub step: String,
    /// The step's idempotency key (as in its `attempt` entry's request).
    #[serde(default)]
    pub key: String,
    /// Which attempt.
    pub attempt: u32,
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// `success`, `failure`, `timeout` or `aborted`.
    pub outcome: String,
    /// The failure kind, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The failure message, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The last lines the agent wrote to stderr.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr: Vec<String>,
}

/// The seed's "Handoff" state: what one part of the workflow hands the next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// The agent(s) handing over, e.g. `TOOLSMITH`.
    pub from: String,
    /// The agent taking over.
    pub to: String,
    /// The step taking over.
    pub step: String,
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// Work Completed: the steps finished so far (shared with the run's
    /// list of finished steps, not copied per handoff).
    pub work_completed: Vec<Arc<str>>,
    /// Current State: the results handed on (`commit.hash = "…"`).
    pub current_state: Vec<String>,
    /// Remaining Work: the steps still ahead in the workflow (shared with
    /// the workflow's list of call sites).
    pub remaining_work: Vec<Arc<str>>,
    /// Important Findings: the outputs of the handing agents.
    pub findings: Vec<String>,
}

/// Observes a run's entries (journal, progress, upstream stream).
pub trait Recorder: Send + Sync {
    /// Called for every entry, in order, while the run goes on.
    fn record(&self, entry: &Entry);
}

/// Several recorders, each given every entry in turn.
#[derive(Clone, Default)]
pub struct Recorders(pub Vec<Arc<dyn Recorder>>);

impl Recorder for Recorders {
    fn record(&self, entry: &Entry) {
        for r in &self.0 {
            r.record(entry);
        }
    }
}
