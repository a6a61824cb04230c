//! `coordops dry-run`: run a signal on the simulated backend and virtual clock.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::run_input::{checked_playbook, parse_sets};
use super::Exit;
use crate::diagnostics::RenderOptions;
use crate::report;
use crate::runtime::result::RunStatus;
use crate::runtime::simulated::Scenario;
use crate::runtime::{self, context, RunRequest};

/// The default start time of a dry run, so reports are byte-stable.
pub const DEFAULT_NOW: &str = "2026-01-01T00:00:00Z";

/// Arguments of `coordops dry-run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops dry-run playbooks/coord_ops.ops --signal OPS:AUDIT
  coordops dry-run playbooks/coord_ops.ops --signal OPS:RELEASE --set version=1.4.0
  coordops dry-run playbooks/coord_ops.ops --signal OPS:COMMIT --scenario push_rejected.toml --format json --output run.json

Time is virtual: simulated latencies and timeouts cost no real time, and the
same playbook, signal and scenario always give the same report.

Exit codes: 0 complete or ignored, 1 the playbook has errors, 2 usage or I/O
error, 3 partial success, 4 failed, escalated or aborted.")]
pub struct DryRunArgs {
    /// The playbook to run.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// The signal to send, e.g. `OPS:AUDIT`.
    #[arg(long, value_name = "SIGNAL")]
    pub signal: String,
    /// A context field of the signal (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// A scenario file (TOML) scripting agent outcomes and approvals.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The virtual start time (RFC 3339).
    #[arg(long, value_name = "TIME", default_value = DEFAULT_NOW)]
    pub now: String,
}

/// `--format` of run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown: Ops Result, Ops Quality Report, Ops Escalation, run log.
    Md,
    /// The run result as JSON (docs/run-result.md).
    Json,
}

/// The exit code for a run's final status.
pub fn exit_for(status: RunStatus) -> Exit {
    match status {
        RunStatus::Complete | RunStatus::Ignored => Exit::Success,
        RunStatus::Partial => Exit::Partial,
        RunStatus::Failed | RunStatus::Escalated | RunStatus::Aborted => Exit::RunFailed,
    }
}

pub(super) fn run(args: &DryRunArgs, render: RenderOptions) -> Exit {
    match dry_run(args, render) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn load_scenario(args: &DryRunArgs, playbook: &crate::ast::Playbook) -> Result<Scenario, Exit> {
    let Some(path) = &args.scenario else {
        return Ok(Scenario::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read scenario `{}`: {e}", path.display());
        Exit::Usage
    })?;
    let scenario = Scenario::parse(&text).map_err(|e| {
        eprintln!("error: scenario `{}` is invalid: {e}", path.display());
        Exit::Usage
    })?;
    let unknown = scenario.unknown_names(playbook);
    if !unknown.is_empty() {
        eprintln!(
            "error: scenario `{}` names what the playbook does not declare: {}",
            path.display(),
            unknown.join(", ")
        );
        return Err(Exit::Usage);
    }
    Ok(scenario)
}

fn dry_run(args: &DryRunArgs, render: RenderOptions) -> Result<Exit, Exit> {
    let (file, playbook) = checked_playbook(&args.playbook, render)?;
    let sets = parse_sets(&args.sets)?;
    let context = context::build(&playbook, &args.signal, &sets).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Usage
    })?;
    let now = humantime::parse_rfc3339(&args.now).map_err(|e| {
        eprintln!(
            "error: `--now {}` is not an RFC 3339 time such as {DEFAULT_NOW}: {e}",
            args.now
        );
        Exit::Usage
    })?;
    let scenario = load_scenario(args, &playbook)?;
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: args.signal.clone(),
        context,
        run_id: format!("dry-run-{}", args.signal.replace(':', "-").to_lowercase()),
        now,
    };
    let result = runtime::simulate(request, scenario, |cancel| {
        super::interrupt::on_ctrl_c(cancel.clone());
    })
    .map_err(|e| {
        eprintln!("error: {e}");
        Exit::Usage
    })?;
    let agents: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
    let text = match args.format {
        ReportFormat::Md => report::render_markdown(&result, &agents),
        ReportFormat::Json => report::render_json(&result),
    };
    match &args.output {
        Some(path) => report::write_atomically(path, &text).map_err(|e| {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            Exit::Usage
        })?,
        None => print!("{text}"),
    }
    Ok(exit_for(result.status))
}
