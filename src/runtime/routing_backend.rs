//! The backend of `coordops run`: each agent to the backend its
//! configuration names, approvals by the configured policy.

use std::sync::Arc;

use async_trait::async_trait;

use super::backend::{AgentBackend, ApprovalRequest, Decision, TaskOutcome, TaskRequest};
use super::config::ApprovalPolicy;
use super::process::ProcessBackend;

/// Dispatches each call by agent: agents with a command to the process
/// backend, every other agent to the fallback (the simulated backend).
pub struct RoutingBackend {
    process: Arc<ProcessBackend>,
    fallback: Arc<dyn AgentBackend>,
    approvals: ApprovalPolicy,
}

impl RoutingBackend {
    /// Routes agents `process` serves to it, the rest to `fallback`.
    pub fn new(
        process: Arc<ProcessBackend>,
        fallback: Arc<dyn AgentBackend>,
        approvals: ApprovalPolicy,
    ) -> Self {
        RoutingBackend {
            process,
            fallback,
            approvals,
        }
    }
}

#[async_trait]
impl AgentBackend for RoutingBackend {
    async fn call(&self, request: TaskRequest) -> TaskOutcome {
        if self.process.serves(&request.agent) {
            self.process.call(request).await
        } else {
            self.fallback.call(request).await
        }
    }

    async fn approve(&self, request: ApprovalRequest) -> Decision {
        tracing::debug!(name = %request.name, policy = ?self.approvals, "approval requested");
        match self.approvals {
            ApprovalPolicy::Grant => Decision::Granted,
            ApprovalPolicy::Deny => Decision::Denied,
            ApprovalPolicy::Never => std::future::pending().await,
        }
    }
}
