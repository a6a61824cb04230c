//! The interface between the interpreter and whatever runs agents.
//!
//! Which backend serves which agent is configuration, never playbook text:
//! the same playbook runs against the simulated backend in a dry run and
//! against processes or HTTP endpoints in production.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::protocol::{Assignment, Request, PROTOCOL_VERSION};

/// A request to perform one attempt of an agent task.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    /// Identifier of the run.
    pub run_id: String,
    /// The agent.
    pub agent: String,
    /// The task.
    pub task: String,
    /// Named arguments, evaluated.
    pub args: Map<String, Value>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time allowed for this attempt; the interpreter enforces it.
    pub timeout: Duration,
    /// Cancelled when the attempt is abandoned (timeout, decided gate, abort).
    pub cancel: CancellationToken,
    /// The same for every attempt of this step of this run (see
    /// [`Request::idempotency_key`]).
    pub idempotency_key: String,
    /// When the attempt is abandoned (RFC 3339).
    pub deadline: String,
    /// The seed's Agent Assignment.
    pub assignment: Assignment,
}

impl TaskRequest {
    /// The request as sent to an agent (protocol v1).
    pub fn to_protocol(&self) -> Request {
        Request {
            protocol: PROTOCOL_VERSION,
            run_id: self.run_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            agent: self.agent.clone(),
            task: self.task.clone(),
            args: self.args.clone(),
            attempt: self.attempt,
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            deadline: self.deadline.clone(),
            assignment: self.assignment.clone(),
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

/// A request for an outside decision (`approve`).
#[derive(Clone, Debug)]
pub struct ApprovalRequest {
    /// Identifier of the run.
    pub run_id: String,
    /// The approval step's name.
    pub name: String,
    /// What is asked.
    pub message: String,
}

/// An outside decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Granted,
    /// Do not.
    Denied,
}

/// Runs agent tasks. A backend that never answers is cut off by the
/// interpreter's timeout; it should stop work when `cancel` fires.
#[async_trait]
pub trait AgentBackend: Send + Sync {
    /// Performs one attempt.
    async fn call(&self, request: TaskRequest) -> TaskOutcome;

    /// Waits for an approval decision; never returning means no decision
    /// (the interpreter's approval timeout applies).
    async fn approve(&self, request: ApprovalRequest) -> Decision;
}
