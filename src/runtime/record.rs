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
    /// An approval is waiting for a person (its deadline on the wall clock).
    ApprovalWait(ApprovalWait),
    /// A person (or the backends file's policy) decided an approval.
    Decision(ApprovalDecision),
    /// The run stopped to wait for the approvals named (status WAITING);
    /// `coordops resume` continues it.
    Suspend(Suspend),
    /// `coordops resume` continued the run from here.
    Resume(Resume),
}

/// The journal format this coordops writes (`start.version`); see
/// docs/durability.md. Journals without a version are version 1.
pub const JOURNAL_VERSION: u32 = 2;

/// A file a run depends on, by path and content hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The path: absolute in a real run (so `coordops resume` finds it
    /// from anywhere), as given on the command line in a dry run (so its
    /// journal is a portable fixture).
    pub path: String,
    /// `sha256:` and the hex SHA-256 of the file's bytes.
    pub hash: String,
}

/// An approval waiting for a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalWait {
    /// The approval step's name.
    pub name: String,
    /// The step's identity (`WORKFLOW.N`), when written in a workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What is asked (interpolated, redacted).
    pub message: String,
    /// Milliseconds since the run began when it was requested.
    pub at_ms: u64,
    /// Milliseconds since the run began when it times out.
    pub deadline_ms: u64,
    /// When it was requested (RFC 3339).
    pub requested_at: String,
    /// When it times out (RFC 3339).
    pub deadline: String,
}

/// A decision on an approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// The approval step's name.
    pub name: String,
    /// Granted (`true`) or denied.
    pub granted: bool,
    /// Who decided (`--by`, the terminal's user, or `policy`).
    pub by: String,
    /// Why, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When (RFC 3339, milliseconds).
    pub at: String,
    /// When, in milliseconds since the run began (on the wall clock).
    pub at_ms: u64,
    /// How: `terminal`, `command` (`coordops approve`) or `policy`.
    pub via: String,
}

/// The run stopped to wait for a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suspend {
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// The approvals it waits for.
    pub waiting_for: Vec<String>,
}

/// A resume of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// When (RFC 3339, milliseconds).
    pub at: String,
    /// Milliseconds since the run began (on the wall clock).
    pub at_ms: u64,
    /// Whether `--allow-changed` let a changed playbook, signal or backends
    /// file resume the run.
    #[serde(default)]
    pub allow_changed: bool,
    /// Where the current playbook diverges from the recorded history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub divergences: Vec<String>,
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
    /// The journal format ([`JOURNAL_VERSION`]; 1 when absent).
    #[serde(default = "version_one")]
    pub version: u32,
    /// When it started, in milliseconds since the Unix epoch (0 in
    /// version 1 journals).
    #[serde(default)]
    pub started_unix_ms: u64,
    /// The playbook run, when read from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<FileIdentity>,
    /// The backends file, in a real run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<FileIdentity>,
    /// The directory a real run started in (absolute): where agents without
    /// a `cwd` work, on every resume too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

fn version_one() -> u32 {
    1
}

#[cfg(test)]
impl RunStart {
    /// A version 2 start of run `r` (signal `S:X`, coordinator `C`, agent
    /// `A`) at `started_unix_ms`: what unit tests of journals start with.
    pub(crate) fn for_tests(started_unix_ms: u64) -> RunStart {
        RunStart {
            run_id: "r".into(),
            coordinator: "C".into(),
            signal: "S:X".into(),
            context: Map::new(),
            started_at: "2026-01-01T00:00:00Z".into(),
            quality_gate: 80,
            agents: vec!["A".into()],
            version: JOURNAL_VERSION,
            started_unix_ms,
            playbook: None,
            backends: None,
            cwd: None,
        }
    }
}

/// An attempt sent to an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptStart {
    /// The step.
    pub step: String,
    /// The step's id (`WORKFLOW.N[INDEX]`), when its call is written in a
    /// workflow: how a replay finds it, whatever lines were added above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
    /// The delay the agent asked for before a retry (HTTP `Retry-After`,
    /// ms): a replay waits it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The outputs, for a success (redacted): what a replay returns.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub outputs: Map<String, Value>,
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
