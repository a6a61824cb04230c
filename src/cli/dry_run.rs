//! `coordops dry-run`: run a signal on the simulated backend and virtual clock.

use clap::Args;

use std::sync::Arc;

use super::cascade::Cascade;
use super::progress::{self, Display, Progress, Verbosity};
use super::run_input::{check_streams, emit_report, exit_for, load_scenario, prepare, RunTarget};
use super::Exit;
use crate::diagnostics::RenderOptions;
use crate::output;
use crate::runtime::record::{Recorder, Recorders};
use crate::runtime::{self, RunRequest};

/// The default start time of a dry run, so reports are byte-stable.
pub const DEFAULT_NOW: &str = "2026-01-01T00:00:00Z";

/// Arguments of `coordops dry-run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops dry-run playbooks/coord_ops.ops --signal OPS:AUDIT
  coordops dry-run playbooks/coord_ops.ops --signal OPS:RELEASE --set version=1.4.0
  coordops dry-run playbooks/coord_ops.ops --signal OPS:COMMIT --scenario push_rejected.toml --format json --output run.json
  coordops dry-run playbooks/coord_ops.ops --signal OPS:RELEASE --set version=1.4.0 --format html --output release.html

Stderr stays quiet unless -v: then one line per event and a final status
line. --emit jsonl streams the cascade signals to stdout (then --output FILE
is required).

Time is virtual: simulated latencies and timeouts cost no real time, and the
same playbook, signal and scenario always give the same report.

Exit codes: 0 complete or ignored, 1 the playbook has errors, 2 usage or I/O
error, 3 partial success, 4 failed, escalated or aborted.")]
pub struct DryRunArgs {
    /// Playbook, signal, context, scenario and report.
    #[command(flatten)]
    pub target: RunTarget,
    /// The virtual start time (RFC 3339).
    #[arg(long, value_name = "TIME", default_value = DEFAULT_NOW)]
    pub now: String,
}

pub(super) fn run(args: &DryRunArgs, render: RenderOptions, verbosity: Verbosity) -> Exit {
    match dry_run(args, render, verbosity) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn dry_run(args: &DryRunArgs, render: RenderOptions, verbosity: Verbosity) -> Result<Exit, Exit> {
    let target = &args.target;
    check_streams(target, false)?;
    let (file, playbook, context) = prepare(target, render)?;
    let now = humantime::parse_rfc3339(&args.now).map_err(|e| {
        output::stderr_line!(
            "error: `--now {}` is not an RFC 3339 time such as {DEFAULT_NOW}: {e}",
            args.now
        );
        Exit::Usage
    })?;
    let scenario = load_scenario(target, &playbook)?;
    let request = RunRequest {
        playbook: &playbook,
        source: Some(&file),
        signal: target.signal.clone(),
        context,
        run_id: format!("dry-run-{}", target.signal.replace(':', "-").to_lowercase()),
        now,
    };
    let journal = match &target.journal {
        Some(path) => Some(super::run_input::open_journal(path)?),
        None => None,
    };
    let display = Display::choose(verbosity, true);
    let mut recorders: Vec<Arc<dyn Recorder>> = Vec::new();
    if let Some(journal) = &journal {
        // The playbook's path as given: a dry-run journal is a portable
        // fixture for `coordops test --replay`.
        let playbook = crate::journal::identity::of_file(
            &target.playbook,
            target.playbook.display().to_string(),
        )
        .map_err(|e| {
            output::stderr_line!("error: cannot read `{}`: {e}", target.playbook.display());
            Exit::Usage
        })?;
        recorders.push(Arc::new(crate::journal::identity::Stamped {
            inner: journal.clone(),
            playbook: Some(playbook),
            backends: None,
            cwd: None,
        }));
    }
    if display != Display::Off {
        recorders.push(Progress::new(display, verbosity));
    }
    let cascade = target.emit.is_some().then(|| Arc::new(Cascade::new()));
    if let Some(cascade) = &cascade {
        recorders.push(cascade.clone());
    }
    let recorder: Option<Arc<dyn Recorder>> =
        (!recorders.is_empty()).then(|| Arc::new(Recorders(recorders)) as Arc<dyn Recorder>);
    let result = runtime::simulate(request, scenario.clone(), recorder, |cancel| {
        super::interrupt::on_stop_signals(cancel.clone(), None);
    })
    .map_err(|e| {
        output::stderr_line!("error: {e}");
        Exit::Usage
    })?;
    super::cascade::finish(cascade.as_deref());
    super::run_input::warn_unmatched(target, &scenario);
    emit_report(target, &file, &playbook, &result)?;
    if display != Display::Off {
        let line = progress::status_line(
            "dry-run",
            &result,
            target.output.as_deref(),
            target.journal.as_deref(),
        );
        output::stderr(&format!("{line}\n"));
    }
    Ok(exit_for(result.status))
}
