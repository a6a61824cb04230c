//! `coordops run`: run a signal against real agents, as configured in a
//! backends file (docs/backends.md), on the real clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use tokio_util::sync::CancellationToken;

use serde_json::{Map, Value};

use super::cascade::Cascade;
use super::progress::{Display, Progress, Verbosity};
use super::run_input::{self, check_streams, emit_report, prepare, RunTarget};
use super::{interrupt, Exit};
use crate::ast::Playbook;
use crate::diagnostics::RenderOptions;
use crate::journal;
use crate::output;
use crate::runtime::config::BackendsConfig;
use crate::runtime::record::{Recorder, Recorders};
use crate::runtime::result::RunStatus;
use crate::runtime::simulated::Scenario;
use crate::runtime::{self, reach, RunRequest};
use crate::source::SourceFile;

/// Arguments of `coordops run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops run playbooks/coord_ops.ops --signal OPS:AUDIT --backends backends.toml
  coordops run playbooks/coord_ops.ops --signal OPS:COMMIT --set message=\"feat: swap\" \\
      --backends backends.toml --scenario push_rejected.toml --format json --output run.json

Agents listed in the backends file with a `command` run as child processes
(one per attempt, in their own process group, with a cleared environment plus
the variables named in `env` and `secrets`); agents with `backend = \"http\"`
and a `url` get one POST per attempt. An agent marked
`backend = \"simulated\"` uses the simulated backend, scripted by --scenario
if given. Every agent the signal can reach must have a backend: otherwise
nothing starts (exit 2). Time is real. See docs/backends.md.

Approvals follow `defaults.approvals` in the backends file: `grant` or
`deny` decide at once, `never` lets them time out; by default (`ask`) a
person decides: on a terminal (stdin and stderr) coordops asks y/n,
otherwise the run suspends: it records the pending approval in the journal,
writes a WAITING report and exits 5. Then `coordops approve JOURNAL NAME
--grant|--deny` and `coordops resume JOURNAL`.

Every run appends a journal (JSON lines, one per event) to --journal FILE,
by default .coordops/runs/RUN_ID.jsonl; `coordops report JOURNAL` rebuilds
the report from it, also after a crash or `kill -9`. Secret values are shown
as *** in everything coordops writes.

Progress goes to stderr: a live display of the agents at work on a
terminal, one line per event otherwise (-v: both; -q: neither), then one
status line with where the report and journal went. --emit jsonl streams
the cascade signals to stdout (then --output FILE is required).

Ctrl-C, SIGTERM or SIGHUP once: stop the agents (SIGTERM, then SIGKILL after
the grace period) and still write the report and journal (ABORTED, exit 4).
Twice: kill them and exit 130. COORDOPS_LOG=debug logs process starts and
kills on stderr.

Exit codes: 0 complete or ignored, 1 the playbook has errors, 2 usage,
configuration or I/O error, 3 partial success, 4 failed, escalated or
aborted, 5 waiting for an approval, 130 interrupted twice.")]
pub struct RunArgs {
    /// Playbook, signal, context, scenario (for the simulated agents) and report.
    #[command(flatten)]
    pub target: RunTarget,
    /// The backends file (TOML): which agent runs which command.
    #[arg(long, value_name = "FILE")]
    pub backends: PathBuf,
}

pub(super) fn run(args: &RunArgs, render: RenderOptions, verbosity: Verbosity) -> Exit {
    match run_for_real(args, render, verbosity) {
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
        output::stderr_line!("error: scenario `{}` {what}", path.display());
        Exit::Usage
    };
    // Agents that run for real: processes and HTTP agents.
    let processes: std::collections::HashSet<String> = backends
        .process_agents()
        .into_keys()
        .chain(backends.http_agents().into_keys())
        .collect();
    let scripted: Vec<String> = scenario
        .task
        .keys()
        .filter(|k| {
            k.split_once('.')
                .is_some_and(|(a, _)| processes.contains(a))
        })
        .map(|k| format!("`{k}`"))
        .collect();
    let scripted_steps = super::scenario_check::step_agents(&scenario, playbook);
    let scripted: Vec<String> = scripted
        .into_iter()
        .chain(
            scripted_steps
                .iter()
                .filter(|(_, agent)| processes.contains(*agent))
                .map(|(k, agent)| format!("step `{k}` ({agent})")),
        )
        .collect();
    if !scripted.is_empty() {
        return Err(fail(format!(
            "scripts tasks of agents that run as processes or over HTTP: {}",
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

/// Prints every problem of the backends file; nothing was started.
pub(super) fn backends_file_errors(errors: crate::runtime::config::BackendsFileErrors) -> Exit {
    for message in &errors.0 {
        output::stderr_line!("error: {message}");
    }
    Exit::Usage
}

fn run_for_real(args: &RunArgs, render: RenderOptions, verbosity: Verbosity) -> Result<Exit, Exit> {
    let target = &args.target;
    check_streams(target, true)?;
    run_input::check_output(target.output.as_deref())?;
    let (file, playbook, context) = prepare(target, render)?;
    let backends = BackendsConfig::load(&args.backends, &playbook).map_err(backends_file_errors)?;
    // From here on, everything coordops writes is redacted.
    output::set_secrets(backends.secret_values().iter().map(|(_, v)| v.as_str())).map_err(|e| {
        output::stderr_line!("error: backends file `{}`: {e}", args.backends.display());
        Exit::Usage
    })?;
    let scenario = load_scenario(args, &playbook, &backends)?;
    refuse_unmapped(args, &file, &playbook, &context, &backends)?;
    // Writing an agent's stdin after it exited is an error, not a SIGPIPE:
    // coordops keeps Rust's default of ignoring SIGPIPE (children start with
    // the default action again; std resets it).

    let now = SystemTime::now();
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let run_id = format!(
        "run-{}-{unix}-{}",
        target.signal.replace(':', "-").to_lowercase(),
        std::process::id()
    );
    let journal_path = match &target.journal {
        Some(path) => path.clone(),
        None => {
            journal::prepare_default_dir(std::path::Path::new(".")).map_err(|e| {
                output::stderr_line!("error: cannot create `{}`: {e}", journal::DEFAULT_DIR);
                Exit::Usage
            })?;
            journal::default_path(&run_id)
        }
    };
    let journal = run_input::open_journal(&journal_path)?;
    if verbosity.chatty() {
        output::stderr(&format!(
            "run {run_id}: {} → journal {}\n",
            target.signal,
            journal_path.display()
        ));
    }
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: target.signal.clone(),
        context,
        run_id,
        now,
    };
    let progress = Progress::new(Display::choose(verbosity, false), verbosity);
    let stamped = Arc::new(journal::identity::Stamped {
        inner: journal.clone(),
        playbook: Some(identify(&target.playbook)?),
        backends: Some(identify(&args.backends)?),
        cwd: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
    });
    let mut recorders: Vec<Arc<dyn Recorder>> = vec![stamped, progress.clone()];
    let cascade = target.emit.is_some().then(|| Arc::new(Cascade::new()));
    if let Some(cascade) = &cascade {
        recorders.push(cascade.clone());
    }
    let recorder: Arc<dyn Recorder> = Arc::new(Recorders(recorders));
    let super::live_backend::Live { process, backend } =
        super::live_backend::build(&backends, &playbook, scenario.clone(), &progress, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            output::stderr_line!("error: cannot start the runtime: {e}");
            Exit::Usage
        })?;
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        let watcher = interrupt::watch_real_run(cancel.clone(), &process, &progress);
        let result = runtime::run_recorded(request, backend, cancel.clone(), Some(recorder)).await;
        // Abandoned attempts may still be in their grace period.
        process.drain().await;
        watcher.abort();
        result
    });
    drop(runtime);
    progress.finish();
    super::cascade::finish(cascade.as_deref());

    run_input::warn_unmatched(target, &scenario);
    // A suspended run's report is its journal's, as `coordops report`
    // and `coordops resume` will read it.
    let result = match result.status {
        RunStatus::Waiting => super::approve::rebuilt(&journal_path).unwrap_or(result),
        _ => result,
    };
    let written = emit_report(target, &file, &playbook, &result);
    let exit = run_input::finish(
        "run",
        written,
        &result,
        target.output.as_deref(),
        &journal_path,
        verbosity.chatty(),
    );
    Ok(exit)
}

/// The identity a real run records of `path`: its absolute path and hash.
pub(super) fn identify(
    path: &std::path::Path,
) -> Result<crate::runtime::record::FileIdentity, Exit> {
    journal::identity::of_file(path, journal::identity::absolute(path)).map_err(|e| {
        output::stderr_line!("error: cannot read `{}`: {e}", path.display());
        Exit::Usage
    })
}

/// Refuses to start when an agent the signal can reach has no backend: a
/// real run never silently simulates an agent.
fn refuse_unmapped(
    args: &RunArgs,
    file: &SourceFile,
    playbook: &Playbook,
    context: &Map<String, Value>,
    backends: &BackendsConfig,
) -> Result<(), Exit> {
    let reached = reach::agents_reached(playbook, &args.target.signal, context, Some(file));
    let unmapped: Vec<&String> = reached
        .iter()
        .filter(|a| backends.backend_for(a).is_none())
        .collect();
    if unmapped.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = unmapped.iter().map(|a| format!("`{a}`")).collect();
    output::stderr_line!(
        "error: backends file `{}` gives no backend to {} agent(s) that {} can reach: {}",
        args.backends.display(),
        unmapped.len(),
        args.target.signal,
        names.join(", ")
    );
    for agent in unmapped {
        output::stderr_line!(
            "  add [agents.{agent}] with a `command` or a `url`, or `backend = \"simulated\"` to simulate it on purpose"
        );
    }
    output::stderr_line!("nothing was started");
    Err(Exit::Usage)
}
