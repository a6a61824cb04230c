//! The backend of `coordops run` and `coordops resume`: each agent to the
//! backend the backends file names (process, HTTP, or simulated on
//! purpose), approvals by the file's policy or by a person at the terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use super::progress::Progress;
use super::prompt::TerminalAsker;
use super::Exit;
use crate::ast::Playbook;
use crate::runtime::config::{ApprovalPolicy, BackendsConfig};
use crate::runtime::http::HttpBackend;
use crate::runtime::process::ProcessBackend;
use crate::runtime::routing_backend::RoutingBackend;
use crate::runtime::simulated::{Scenario, SimulatedBackend};

/// A real run's backend, and the process backend inside it (to kill every
/// agent on a second interrupt and to wait for agents in their grace).
pub(super) struct Live {
    /// Runs process agents.
    pub process: Arc<ProcessBackend>,
    /// Routes every agent and approval.
    pub backend: Arc<RoutingBackend>,
}

/// The backend for `backends`: `scenario` scripts the agents simulated on
/// purpose; with the `ask` policy, a person answers on the terminal when
/// stdin and stderr are one (otherwise the run suspends). Process agents
/// without a `cwd` work in `default_cwd` when given (a resume: where the
/// run started), else in coordops's own directory.
pub(super) fn build(
    backends: &BackendsConfig,
    playbook: &Playbook,
    scenario: Scenario,
    progress: &Arc<Progress>,
    default_cwd: Option<&Path>,
) -> Result<Live, Exit> {
    let mut agents = backends.process_agents();
    if let Some(dir) = default_cwd {
        for agent in agents.values_mut() {
            agent.cwd.get_or_insert_with(|| dir.to_path_buf());
        }
    }
    let process = Arc::new(ProcessBackend::new(agents));
    let simulated = Arc::new(SimulatedBackend::new(playbook, scenario));
    let http = HttpBackend::new(backends.http_agents()).map_err(|e| {
        crate::output::stderr_line!("error: {e}");
        Exit::Usage
    })?;
    let mut routing = RoutingBackend::new(
        process.clone(),
        simulated,
        backends.simulated_agents(),
        backends.approvals,
    )
    .with_http(Arc::new(http));
    if backends.approvals == ApprovalPolicy::Ask
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
    {
        routing = routing.with_asker(Arc::new(TerminalAsker::new(Arc::clone(progress))));
    }
    Ok(Live {
        process,
        backend: Arc::new(routing),
    })
}
