//! The interface between the interpreter and whatever runs agents.
//!
//! Which backend serves which agent is configuration, never playbook text:
//! the same playbook runs against the simulated backend in a dry run and
//! against processes or HTTP endpoints in production.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::protocol::{Assignment, Request, PROTOCOL_VERSION};

/// A request to perform one attempt of an agent task.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    /// Identifier of the run (shared by every request of the run).
    pub run_id: Arc<str>,
    /// The agent.
    pub agent: String,
    /// The task.
    pub task: String,
    /// Named arguments, evaluated (shared by every attempt of the step).
    pub args: Arc<Map<String, Value>>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time allowed for this attempt; the interpreter enforces it.
    pub timeout: Duration,
    /// Cancelled when the attempt is abandoned (timeout, decided gate, abort).
    pub cancel: CancellationToken,
    /// The same for every attempt of this step of this run (see
    /// [`Request::idempotency_key`]).
    pub idempotency_key: Arc<str>,
    /// When the attempt is abandoned (RFC 3339); empty when the backend
    /// reads no protocol request and nothing records one (see
    /// [`AgentBackend::reads_assignment`]).
    pub deadline: String,
    /// The seed's Agent Assignment (shared by every attempt of the step).
    pub assignment: Arc<Assignment>,
    /// Where a backend keeps what the agent wrote to stderr so far, so the
    /// interpreter still has it when it stops waiting at the deadline.
    pub stderr: StderrTail,
    /// Which step of the playbook this attempt belongs to, when the call is
    /// written in a workflow (not a route's fast path or a recovery).
    pub step: Option<StepId>,
}

/// Where a step's task call is written, and which `parallel for` element
/// it runs for: the step's identity (see [`crate::analysis::targets`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepId {
    /// The workflow the call is written in.
    pub workflow: Arc<str>,
    /// Its position among the workflow's task calls, from 1.
    pub position: usize,
    /// Its binding, if any.
    pub binding: Option<Arc<str>>,
    /// The element index path inside `parallel for` (`2`, `1.0`).
    pub element: Option<String>,
}

impl StepId {
    /// `WORKFLOW.N`, plus `[INDEX]` for a `parallel for` element.
    pub fn id(&self) -> String {
        match &self.element {
            Some(e) => format!("{}.{}[{e}]", self.workflow, self.position),
            None => format!("{}.{}", self.workflow, self.position),
        }
    }
}

/// The end of an agent's stderr, shared while the attempt runs (the last
/// [`StderrTail::CAP`] bytes, and whether older ones were dropped).
#[derive(Clone, Debug, Default)]
pub struct StderrTail(Arc<Mutex<(Vec<u8>, bool)>>);

impl StderrTail {
    /// Most bytes kept.
    pub const CAP: usize = 64 << 10;

    /// Appends `bytes`, dropping the oldest past [`Self::CAP`].
    pub fn append(&self, bytes: &[u8]) {
        let mut guard = crate::sync::lock(&self.0);
        let (kept, dropped) = &mut *guard;
        kept.extend_from_slice(bytes);
        if kept.len() > Self::CAP {
            let excess = kept.len() - Self::CAP;
            kept.drain(..excess);
            *dropped = true;
        }
    }

    /// The line that stands for what was dropped.
    pub const DROPPED: &'static str = "… (earlier stderr not kept: over 64 KiB)";

    /// The bytes kept so far, starting at a whole line: when older bytes
    /// were dropped, the first (cut) line goes too, so no cut-off secret
    /// can escape redaction, and [`Self::DROPPED`] stands in its place (a
    /// single line longer than the cap would otherwise leave nothing).
    pub fn bytes(&self) -> Vec<u8> {
        let guard = crate::sync::lock(&self.0);
        let (kept, dropped) = &*guard;
        if !*dropped {
            return kept.clone();
        }
        let mut bytes = format!("{}\n", Self::DROPPED).into_bytes();
        if let Some(newline) = kept.iter().position(|b| *b == b'\n') {
            bytes.extend_from_slice(&kept[newline + 1..]);
        }
        bytes
    }

    /// The last lines kept so far, redacted (see
    /// [`super::process::stderr_tail`]).
    pub fn lines(&self) -> Vec<String> {
        super::process::stderr_tail(&self.bytes())
    }
}

impl TaskRequest {
    /// The request as sent to an agent (protocol v1).
    pub fn to_protocol(&self) -> Request {
        Request {
            protocol: PROTOCOL_VERSION,
            run_id: self.run_id.to_string(),
            idempotency_key: self.idempotency_key.to_string(),
            agent: self.agent.clone(),
            task: self.task.clone(),
            args: (*self.args).clone(),
            attempt: self.attempt,
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            deadline: self.deadline.clone(),
            assignment: (*self.assignment).clone(),
        }
    }
}

/// What an agent answered.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskOutcome {
    /// Done, with outputs.
    Success(Map<String, Value>),
    /// Failed with a kind (`rejected`, `unavailable`, …) and a message.
    Failure {
        /// The failure kind, matched by retry policies and handlers.
        kind: String,
        /// What went wrong.
        message: String,
    },
}

/// The failure kinds a backend reports when the agent itself never
/// answered properly (docs/backends.md). Retry policies and handlers may
/// match them like any other kind.
pub mod kinds {
    /// The agent could not be started (missing program, permission denied).
    pub const SPAWN: &str = "spawn";
    /// The agent exited with a non-zero status or was killed by a signal.
    pub const EXIT: &str = "exit";
    /// The agent's stdout was not exactly one valid reply object.
    pub const PROTOCOL: &str = "protocol";
    /// The agent wrote more than the stdout limit; it was killed at once.
    pub const OUTPUT_TOO_LARGE: &str = "output_too_large";
    /// The attempt was abandoned (timeout, decided gate, abort).
    pub const CANCELLED: &str = "cancelled";
    /// No backend is configured for the agent.
    pub const CONFIGURATION: &str = "configuration";
    /// An HTTP agent could not be reached (connection refused or reset,
    /// DNS, TLS, the connection closed before a response).
    pub const NETWORK: &str = "network";
    /// An HTTP agent answered 502, 503 or 504.
    pub const UNAVAILABLE: &str = "unavailable";
    /// An HTTP agent answered 429 (its `Retry-After` sets the next delay).
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    /// An HTTP agent answered another 4xx: the request itself is wrong, so
    /// a policy without an `on` list never retries it.
    pub const REJECTED_REQUEST: &str = "rejected_request";
    /// An HTTP agent answered 500 or another 5xx not listed above.
    pub const SERVER_ERROR: &str = "server_error";

    /// Every kind a backend reports.
    pub const ALL: &[&str] = &[
        SPAWN,
        EXIT,
        PROTOCOL,
        OUTPUT_TOO_LARGE,
        CANCELLED,
        CONFIGURATION,
        NETWORK,
        UNAVAILABLE,
        TOO_MANY_REQUESTS,
        REJECTED_REQUEST,
        SERVER_ERROR,
    ];

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_misspelt_kind_lint_knows_every_backend_kind() {
            for kind in super::ALL {
                assert!(
                    crate::analysis::kind_lints::BUILT_IN.contains(kind),
                    "{kind} is missing from analysis::kind_lints::BUILT_IN"
                );
            }
        }
    }
}

/// What a backend answered for one attempt: the outcome plus what the
/// report should show about how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The agent's answer.
    pub outcome: TaskOutcome,
    /// The last lines the agent wrote to stderr (bounded; empty for
    /// backends without a stderr).
    pub stderr_tail: Vec<String>,
    /// Whether the simulated backend served this attempt in a real run
    /// (set by the routing backend; `false` in dry runs, where everything
    /// is simulated anyway).
    pub simulated: bool,
    /// How long the agent asked to be left alone before the next attempt
    /// (an HTTP `Retry-After`): when the policy retries this failure, the
    /// next delay, instead of the backoff's.
    pub retry_after: Option<Duration>,
}

impl From<TaskOutcome> for Reply {
    fn from(outcome: TaskOutcome) -> Self {
        Reply {
            outcome,
            stderr_tail: Vec::new(),
            simulated: false,
            retry_after: None,
        }
    }
}

impl TaskOutcome {
    /// A failure of `kind` with `message`.
    pub fn failure(kind: &str, message: impl Into<String>) -> Self {
        TaskOutcome::Failure {
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

impl TaskOutcome {
    /// The outcome with every secret in it masked (outputs, kind, message):
    /// what agents send is redacted as it comes in, before anything formats,
    /// cuts or escapes it.
    pub fn redacted(self) -> TaskOutcome {
        match self {
            TaskOutcome::Success(outputs) => TaskOutcome::Success(
                outputs
                    .iter()
                    .map(|(k, v)| (crate::output::redact(k), crate::output::redact_value(v)))
                    .collect(),
            ),
            TaskOutcome::Failure { kind, message } => TaskOutcome::Failure {
                kind: crate::output::redact(&kind),
                message: crate::output::redact(&message),
            },
        }
    }
}

/// A request for an outside decision (`approve`).
#[derive(Clone, Debug)]
pub struct ApprovalRequest {
    /// Identifier of the run.
    pub run_id: String,
    /// The approval step's name.
    pub name: String,
    /// What is asked.
    pub message: String,
    /// How long until the approval times out (its deadline counts from
    /// when it was requested, on the wall clock).
    pub time_left: Duration,
}

/// An outside decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Granted,
    /// Do not.
    Denied,
    /// Nobody here can decide: the run suspends (status WAITING) until
    /// `coordops approve` records a decision and `coordops resume` goes on.
    Suspend,
}

/// Who decides a backend's approvals, as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approver {
    /// Decisions are not journalled (a dry run's scenario, tests).
    Unrecorded,
    /// `defaults.approvals` decides at once: decisions are journalled
    /// `via: "policy"`, `by: "policy"`.
    Policy,
    /// A person: the wait is journalled (`approval_wait`) before asking,
    /// then the decision `via` how, `by` whom; [`Decision::Suspend`] when
    /// nobody can answer.
    Person {
        /// How the person answers (`terminal`).
        via: String,
        /// Who answers (the terminal's user).
        by: String,
    },
}

/// Runs agent tasks. A backend that never answers is cut off by the
/// interpreter's timeout; it should stop work when `cancel` fires.
#[async_trait]
pub trait AgentBackend: Send + Sync {
    /// Performs one attempt.
    async fn call(&self, request: TaskRequest) -> Reply;

    /// Waits for an approval decision; never returning means no decision
    /// (the interpreter's approval timeout applies).
    async fn approve(&self, request: ApprovalRequest) -> Decision;

    /// Who decides approvals (what the journal records about them).
    fn approver(&self) -> Approver {
        Approver::Unrecorded
    }

    /// The journalled decision the last [`AgentBackend::approve`] on `name`
    /// answered with, when it came from a journal (a replay): who, when
    /// and why, as recorded. Taken once.
    fn replayed_decision(&self, _name: &str) -> Option<super::record::ApprovalDecision> {
        None
    }

    /// Whether `call` reads the request's protocol parts (its Agent
    /// Assignment and deadline); when it does not (and nothing records the
    /// request), the interpreter does not build them.
    fn reads_assignment(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::StderrTail;

    #[test]
    fn a_stderr_line_longer_than_the_cap_leaves_a_line_saying_so() {
        let tail = StderrTail::default();
        tail.append(&vec![b'a'; StderrTail::CAP + 1000]);
        tail.append(b"\n");
        assert_eq!(tail.lines(), [StderrTail::DROPPED]);
        tail.append(b"error: the real cause\n");
        assert_eq!(tail.lines(), [StderrTail::DROPPED, "error: the real cause"]);
    }

    #[test]
    fn a_tail_that_dropped_nothing_is_kept_whole() {
        let tail = StderrTail::default();
        tail.append(b"one\ntwo\n");
        assert_eq!(tail.lines(), ["one", "two"]);
    }
}
