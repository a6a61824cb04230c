//! `coordops run`: run a signal against real agents, as configured in a
//! backends file (docs/backends.md), on the real clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::run_input::{self, emit_report, exit_for, prepare, RunTarget};
use super::Exit;
use crate::ast::Playbook;
use crate::diagnostics::RenderOptions;
use crate::runtime::config::BackendsConfig;
use crate::runtime::process::ProcessBackend;
use crate::runtime::routing_backend::RoutingBackend;
use crate::runtime::simulated::{Scenario, SimulatedBackend};
use crate::runtime::{self, RunRequest};

/// Arguments of `coordops run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops run playbooks/coord_ops.ops --signal OPS:AUDIT --backends backends.toml
  coordops run playbooks/coord_ops.ops --signal OPS:COMMIT --set message=\"feat: swap\" \\
      --backends backends.toml --scenario push_rejected.toml --format json --output run.json

Agents listed in the backends file with a `command` run as child processes
(one per attempt, in their own process group, with a cleared environment);
the others use the simulated backend, scripted by --scenario if given.
Approvals follow the file's `approvals` policy (default: never decided, so
they time out). Time is real. See docs/backends.md.

Ctrl-C once: stop the agents (SIGTERM, then SIGKILL after the grace period)
and still write the report of what finished. Twice: kill them and exit 130.
Set COORDOPS_LOG=debug to log process starts and kills on stderr.

Exit codes: 0 complete or ignored, 1 the playbook has errors, 2 usage,
configuration or I/O error, 3 partial success, 4 failed, escalated or
aborted, 130 interrupted twice.")]
pub struct RunArgs {
    /// Playbook, signal, context, scenario (for the simulated agents) and report.
    #[command(flatten)]
    pub target: RunTarget,
    /// The backends file (TOML): which agent runs which command.
    #[arg(long, value_name = "FILE")]
    pub backends: PathBuf,
}

pub(super) fn run(args: &RunArgs, render: RenderOptions) -> Exit {
    match run_for_real(args, render) {
        Ok(exit) | Err(exit) => exit,
    }
}

/// The scenario for the simulated agents: it may script only those, and
/// approvals and interrupts come from elsewhere in a real run.
fn load_scenario(
    args: &RunArgs,
    playbook: &Playbook,
    backends: &BackendsConfig,
) -> Result<Scenario, Exit> {
    let scenario = run_input::load_scenario(&args.target, playbook)?;
    let Some(path) = &args.target.scenario else {
        return Ok(scenario);
    };
    let fail = |what: String| {
        eprintln!("error: scenario `{}` {what}", path.display());
        Exit::Usage
    };
    let processes = backends.process_agents();
    let scripted: Vec<String> = scenario
        .task
        .keys()
        .filter(|k| {
            k.split_once('.')
                .is_some_and(|(a, _)| processes.contains_key(a))
        })
        .map(|k| format!("`{k}`"))
        .collect();
    if !scripted.is_empty() {
        return Err(fail(format!(
            "scripts tasks of agents that run as processes: {}",
            scripted.join(", ")
        )));
    }
    if !scenario.approval.is_empty() {
        return Err(fail(
            "decides approvals: in `coordops run` they follow `approvals` in the backends file"
                .to_string(),
        ));
    }
    if scenario.interrupt_after.is_some() {
        return Err(fail(
            "sets `interrupt_after`, which only dry runs support".to_string(),
        ));
    }
    Ok(scenario)
}

fn run_for_real(args: &RunArgs, render: RenderOptions) -> Result<Exit, Exit> {
    let target = &args.target;
    let (file, playbook, context) = prepare(target, render)?;
    let backends = BackendsConfig::load(&args.backends, &playbook).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Usage
    })?;
    let scenario = load_scenario(args, &playbook, &backends)?;
    // Writing an agent's stdin after it exited must be an error, not a
    // SIGPIPE that kills coordops (main restores SIGPIPE's default action).
    // Children start with the default action again (std resets it).
    #[cfg(unix)]
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; no runtime threads
    // exist yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }

    let now = SystemTime::now();
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: target.signal.clone(),
        context,
        run_id: format!(
            "run-{}-{unix}-{}",
            target.signal.replace(':', "-").to_lowercase(),
            std::process::id()
        ),
        now,
    };
    let process = Arc::new(ProcessBackend::new(backends.process_agents()));
    let simulated = Arc::new(SimulatedBackend::new(&playbook, scenario));
    let backend = Arc::new(RoutingBackend::new(
        process.clone(),
        simulated,
        backends.simulated_agents(),
        backends.approvals,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            Exit::Usage
        })?;
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        let watcher = on_ctrl_c(cancel.clone(), process.clone());
        let result = runtime::run(request, backend, cancel.clone()).await;
        // Abandoned attempts may still be in their grace period.
        process.drain().await;
        watcher.abort();
        result
    });
    drop(runtime);

    emit_report(target, &playbook, &result)?;
    Ok(exit_for(result.status))
}

/// First Ctrl-C: cancel the run (agents get SIGTERM, then SIGKILL after
/// their grace period) and let it write its report. Second: SIGKILL every
/// agent process group and exit 130.
fn on_ctrl_c(
    cancel: CancellationToken,
    process: Arc<ProcessBackend>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return; // no signal handling on this platform: nothing to watch
        }
        eprintln!(
            "interrupted: stopping the agents and writing the report (Ctrl-C again to quit at once)"
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            process.kill_all_now();
            std::process::exit(Exit::Interrupted as i32);
        }
    })
}
