//! The backend of `coordops run`: each agent to the backend its
//! configuration names, approvals by the configured policy.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::backend::{
    kinds, AgentBackend, ApprovalRequest, Approver, Decision, Reply, TaskOutcome, TaskRequest,
};
use super::config::ApprovalPolicy;
use super::process::ProcessBackend;

/// Dispatches each call by agent: agents with a command to the process
/// backend, agents configured `backend = "simulated"` to the simulated
/// backend (their replies marked [`Reply::simulated`]), and any other agent
/// to a `configuration` failure: nothing is simulated implicitly.
pub struct RoutingBackend {
    process: Arc<ProcessBackend>,
    simulated: Arc<dyn AgentBackend>,
    simulated_agents: BTreeSet<String>,
    approvals: ApprovalPolicy,
    asker: Option<Arc<dyn Asker>>,
}

/// Asks a person for a decision (the terminal prompt of `coordops run`).
#[async_trait]
pub trait Asker: Send + Sync {
    /// The person's answer: `Some(true)` grants, `Some(false)` denies,
    /// `None` is no answer (the run suspends).
    async fn ask(&self, request: &ApprovalRequest) -> Option<bool>;

    /// Who answers (journalled as the decision's `by`).
    fn who(&self) -> String;
}

impl RoutingBackend {
    /// Routes agents `process` serves to it and `simulated_agents` to
    /// `simulated` (see [`BackendsConfig::simulated_agents`]).
    ///
    /// [`BackendsConfig::simulated_agents`]: super::config::BackendsConfig::simulated_agents
    pub fn new(
        process: Arc<ProcessBackend>,
        simulated: Arc<dyn AgentBackend>,
        simulated_agents: impl IntoIterator<Item = String>,
        approvals: ApprovalPolicy,
    ) -> Self {
        RoutingBackend {
            process,
            simulated,
            simulated_agents: simulated_agents.into_iter().collect(),
            approvals,
            asker: None,
        }
    }

    /// Asks `asker` when the policy is [`ApprovalPolicy::Ask`] (without
    /// one, such approvals suspend the run).
    pub fn with_asker(mut self, asker: Arc<dyn Asker>) -> Self {
        self.asker = Some(asker);
        self
    }
}

#[async_trait]
impl AgentBackend for RoutingBackend {
    async fn call(&self, request: TaskRequest) -> Reply {
        if self.process.serves(&request.agent) {
            self.process.call(request).await
        } else if self.simulated_agents.contains(&request.agent) {
            let mut reply = self.simulated.call(request).await;
            reply.simulated = true;
            reply
        } else {
            tracing::debug!(agent = %request.agent, "no backend configured for the agent");
            TaskOutcome::failure(
                kinds::CONFIGURATION,
                format!(
                    "no backend is configured for agent `{}`: add it to the backends file (a command, or `backend = \"simulated\"`)",
                    request.agent
                ),
            )
            .into()
        }
    }

    async fn approve(&self, request: ApprovalRequest) -> Decision {
        tracing::debug!(name = %request.name, policy = ?self.approvals, "approval requested");
        match self.approvals {
            ApprovalPolicy::Grant => Decision::Granted,
            ApprovalPolicy::Deny => Decision::Denied,
            ApprovalPolicy::Never => std::future::pending().await,
            ApprovalPolicy::Ask => match &self.asker {
                None => Decision::Suspend,
                Some(asker) => match asker.ask(&request).await {
                    Some(true) => Decision::Granted,
                    Some(false) => Decision::Denied,
                    None => Decision::Suspend,
                },
            },
        }
    }

    fn approver(&self) -> Approver {
        match self.approvals {
            ApprovalPolicy::Grant | ApprovalPolicy::Deny => Approver::Policy,
            ApprovalPolicy::Never => Approver::Unrecorded,
            ApprovalPolicy::Ask => Approver::Person {
                via: "terminal".to_string(),
                by: self.asker.as_ref().map(|a| a.who()).unwrap_or_default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use serde_json::Map;
    use tokio_util::sync::CancellationToken;

    use super::*;

    struct Fake;

    #[async_trait]
    impl AgentBackend for Fake {
        async fn call(&self, _request: TaskRequest) -> Reply {
            TaskOutcome::Success(Map::new()).into()
        }
        async fn approve(&self, _request: ApprovalRequest) -> Decision {
            Decision::Granted
        }
    }

    fn request(agent: &str) -> TaskRequest {
        TaskRequest {
            run_id: "r".into(),
            agent: agent.into(),
            task: "t".into(),
            args: Default::default(),
            attempt: 1,
            timeout: Duration::from_secs(30),
            cancel: CancellationToken::new(),
            idempotency_key: "r/1:1".into(),
            step: None,
            deadline: "2026-01-01T00:00:30.000Z".into(),
            assignment: Default::default(),
            stderr: Default::default(),
        }
    }

    #[tokio::test]
    async fn only_configured_agents_are_simulated_and_marked() {
        let routing = RoutingBackend::new(
            Arc::new(ProcessBackend::new(HashMap::new())),
            Arc::new(Fake),
            ["SIM".to_string()],
            ApprovalPolicy::Never,
        );
        let reply = routing.call(request("SIM")).await;
        assert_eq!(reply.outcome, TaskOutcome::Success(Map::new()));
        assert!(reply.simulated);
        let reply = routing.call(request("OTHER")).await;
        assert!(!reply.simulated);
        assert!(matches!(
            reply.outcome,
            TaskOutcome::Failure { ref kind, ref message }
                if kind == kinds::CONFIGURATION && message.contains("`OTHER`")
        ));
    }

    fn routing(policy: ApprovalPolicy) -> RoutingBackend {
        RoutingBackend::new(
            Arc::new(ProcessBackend::new(HashMap::new())),
            Arc::new(Fake),
            Vec::new(),
            policy,
        )
    }

    fn approval() -> ApprovalRequest {
        ApprovalRequest {
            run_id: "r".into(),
            name: "go".into(),
            message: "Go?".into(),
            time_left: Duration::from_secs(60),
        }
    }

    struct Answers(Option<bool>);

    #[async_trait]
    impl Asker for Answers {
        async fn ask(&self, _request: &ApprovalRequest) -> Option<bool> {
            self.0
        }
        fn who(&self) -> String {
            "alice".into()
        }
    }

    #[tokio::test]
    async fn policies_decide_at_once_and_ask_suspends_without_a_person() {
        assert_eq!(
            routing(ApprovalPolicy::Grant).approve(approval()).await,
            Decision::Granted
        );
        assert_eq!(routing(ApprovalPolicy::Grant).approver(), Approver::Policy);
        assert_eq!(
            routing(ApprovalPolicy::Deny).approve(approval()).await,
            Decision::Denied
        );
        assert_eq!(
            routing(ApprovalPolicy::Never).approver(),
            Approver::Unrecorded
        );
        assert_eq!(
            routing(ApprovalPolicy::Ask).approve(approval()).await,
            Decision::Suspend
        );
    }

    #[tokio::test]
    async fn ask_takes_the_persons_answer_and_suspends_on_none() {
        for (answer, decision) in [
            (Some(true), Decision::Granted),
            (Some(false), Decision::Denied),
            (None, Decision::Suspend),
        ] {
            let backend = routing(ApprovalPolicy::Ask).with_asker(Arc::new(Answers(answer)));
            assert_eq!(backend.approve(approval()).await, decision);
            assert_eq!(
                backend.approver(),
                Approver::Person {
                    via: "terminal".into(),
                    by: "alice".into()
                }
            );
        }
    }
}
