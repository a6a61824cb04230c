//! `coordops resume`: continue a run from its journal, after a crash, a
//! `kill -9` or a suspend (docs/durability.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::progress::{Display, Progress, Verbosity};
use super::replay_input::{self, read_history};
use super::run_input::{checked_playbook, write_report, ReportFormat};
use super::{interrupt, Exit};
use crate::diagnostics::RenderOptions;
use crate::journal;
use crate::output;
use crate::runtime::config::BackendsConfig;
use crate::runtime::effects;
use crate::runtime::process::ProcessBackend;
use crate::runtime::record::{Entry, FileIdentity, Recorder, Recorders, Resume};
use crate::runtime::replay::{self, Appending, History, Mode, ReplayBackend};
use crate::runtime::routing_backend::RoutingBackend;
use crate::runtime::simulated::Scenario;

/// Arguments of `coordops resume`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops resume .coordops/runs/run-ops-release-1767225600-4242.jsonl
  coordops resume run.jsonl --allow-changed --format json --output run.json

Replays the journal's last run: every attempt and approval it recorded
returns its recorded answer at its recorded time, without calling an agent;
then the run goes on for real from where the journal ends, on the wall
clock: deadlines, retry delays and approval timeouts keep their original
instants. An attempt that was in flight when the run stopped is sent again
with the same idempotency key (at least once); an attempt the journal
records as answered is never sent again. The journal is appended to: a
`resume` entry, then only what it did not hold yet.

The playbook and backends file are found by the paths the journal records
(--playbook, --backends to give others). When either changed (by content
hash), nothing starts, unless --allow-changed: then the first place where
the new playbook leaves the recorded path is shown, and recorded in the
journal, before the run goes on.

Exit codes: those of `coordops run` (0, 3, 4, 5); 1 the playbook has
errors; 2 the journal cannot be resumed (unreadable, already ended, a dry
run's, a changed file without --allow-changed).")]
pub struct ResumeArgs {
    /// The journal of the run to continue.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// The playbook, instead of the path the journal records.
    #[arg(long, value_name = "FILE")]
    pub playbook: Option<PathBuf>,
    /// The backends file, instead of the path the journal records.
    #[arg(long, value_name = "FILE")]
    pub backends: Option<PathBuf>,
    /// Resume even when the playbook or backends file changed.
    #[arg(long)]
    pub allow_changed: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file (atomically) instead of stdout (`-`:
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(super) fn run(args: &ResumeArgs, render: RenderOptions, verbosity: Verbosity) -> Exit {
    match resume(args, render, verbosity) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn usage(message: impl std::fmt::Display) -> Exit {
    output::stderr_line!("error: {message}");
    Exit::Usage
}

/// Whether `path` still has the recorded identity; a line saying how not.
fn changed(
    what: &str,
    path: &Path,
    recorded: Option<&FileIdentity>,
) -> Result<Option<String>, Exit> {
    let Some(recorded) = recorded else {
        return Ok(None);
    };
    let now = journal::identity::of_file(path, path.display().to_string())
        .map_err(|e| usage(format_args!("cannot read {what} `{}`: {e}", path.display())))?;
    Ok((now.hash != recorded.hash).then(|| {
        format!(
            "the {what} `{}` changed since the run started (recorded {}, now {})",
            path.display(),
            recorded.hash,
            now.hash
        )
    }))
}

fn resume(args: &ResumeArgs, render: RenderOptions, verbosity: Verbosity) -> Result<Exit, Exit> {
    let history = read_history(&args.journal).map_err(usage)?;
    if let Some(end) = &history.ended {
        output::stderr_line!(
            "error: nothing to resume: run `{}` in `{}` already ended: {} ({})",
            end.run_id,
            args.journal.display(),
            end.status.word().to_uppercase(),
            end.summary
        );
        return Err(Exit::Usage);
    }
    super::run_input::check_output(args.output.as_deref())?;
    let playbook_path =
        replay_input::playbook_path(&history, args.playbook.as_deref()).map_err(usage)?;
    let backends_path = match (&args.backends, &history.start.backends) {
        (Some(path), _) => path.clone(),
        (None, Some(identity)) => PathBuf::from(&identity.path),
        (None, None) => {
            return Err(usage(format_args!(
                "`{}` records a dry run (no backends file): there is nothing to resume; \
                 give --backends FILE to continue it against real agents, or replay it with \
                 `coordops test --replay`",
                args.journal.display()
            )))
        }
    };
    let (file, playbook) = checked_playbook(&playbook_path, render)?;
    let backends = BackendsConfig::load(&backends_path, &playbook)
        .map_err(super::run::backends_file_errors)?;
    // Agents without a `cwd` worked where the run started: so they do now.
    let started_in = history.start.cwd.as_ref().map(PathBuf::from);
    let homeless = backends.process_agents().values().any(|a| a.cwd.is_none());
    if let Some(dir) = started_in.as_ref().filter(|d| homeless && !d.is_dir()) {
        return Err(usage(format_args!(
            "the run started in `{}`, which is no longer a directory: agents without a \
             `cwd` in the backends file worked there; restore it, or give them a `cwd` \
             (and pass --allow-changed)",
            dir.display()
        )));
    }
    output::set_secrets(backends.secret_values().iter().map(|(_, v)| v.as_str())).map_err(|e| {
        usage(format_args!(
            "backends file `{}`: {e}",
            backends_path.display()
        ))
    })?;
    let changes: Vec<String> = [
        changed("playbook", &playbook_path, history.start.playbook.as_ref())?,
        changed(
            "backends file",
            &backends_path,
            history.start.backends.as_ref(),
        )?,
    ]
    .into_iter()
    .flatten()
    .collect();
    if !changes.is_empty() && !args.allow_changed {
        for change in &changes {
            output::stderr_line!("error: {change}");
        }
        output::stderr_line!(
            "nothing was started: resume with the files the run started with, or pass \
             --allow-changed to see where the new ones leave the recorded path and go on"
        );
        return Err(Exit::Usage);
    }
    let history = Arc::new(history);
    let mut divergences = Vec::new();
    if !changes.is_empty() {
        for change in &changes {
            output::stderr(&format!("warning: {change} (--allow-changed)\n"));
        }
        match replay_input::check(&history, &file, &playbook)?.departure {
            Some(departure) => {
                let diagnostic = departure.diagnostic;
                output::stderr(&crate::diagnostics::render(&diagnostic, render));
                divergences.push(diagnostic.message.clone());
            }
            None => output::stderr(
                "note: the new playbook takes the recorded path as far as the journal goes\n",
            ),
        }
    }
    let journal = super::run_input::open_journal(&args.journal)?;
    let origin = replay::origin(&history);
    let now = SystemTime::now();
    let at_ms = now
        .duration_since(origin)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    journal.record(&Entry::Resume(Resume {
        at: humantime::format_rfc3339_millis(now).to_string(),
        at_ms,
        allow_changed: args.allow_changed,
        divergences,
    }));
    if verbosity.chatty() {
        output::stderr(&format!(
            "resume {}: {} → journal {} ({} recorded answer(s) to replay)\n",
            history.start.run_id,
            history.start.signal,
            args.journal.display(),
            history.answered()
        ));
    }
    let progress = Progress::new(Display::choose(verbosity, false), verbosity);
    // The display learns the run's signal from its start, which the journal
    // already holds (the replay's own start is not written again).
    progress.record(&Entry::Start(history.start.clone()));
    // The journal gets what it lacks; the display also shows the attempts
    // sent again, whose first sending the journal already holds.
    let recorder: Arc<dyn Recorder> = Arc::new(Recorders(vec![
        Arc::new(Appending::new(journal.clone(), &history)),
        Arc::new(Appending::showing(progress.clone(), &history)),
    ]));
    let super::live_backend::Live {
        process,
        backend: live,
    } = super::live_backend::build(
        &backends,
        &playbook,
        Scenario::default(),
        &progress,
        started_in.as_deref(),
    )?;
    let simulated_agents = backends.simulated_agents();
    let result = run_replay(
        &history,
        replay_input::replay_request(&history, &file, &playbook),
        live,
        &process,
        &progress,
        recorder,
        simulated_agents.into_iter().collect(),
    )?;
    progress.finish();
    let agents: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
    let flow = super::run_input::flow_for(args.format, &file, &playbook, &result);
    let written = write_report(
        args.format,
        args.output.as_deref(),
        &agents,
        &result,
        flow.as_ref(),
    );
    Ok(super::run_input::finish(
        "resume",
        written,
        &result,
        args.output.as_deref(),
        &args.journal,
        verbosity.chatty(),
    ))
}

/// Runs the replay and then the rest of the run, on a current-thread
/// runtime whose clock starts paused at the run's recorded start.
fn run_replay(
    history: &Arc<History>,
    request: crate::runtime::RunRequest<'_>,
    live: Arc<RoutingBackend>,
    process: &Arc<ProcessBackend>,
    progress: &Arc<Progress>,
    recorder: Arc<dyn Recorder>,
    simulated_agents: std::collections::BTreeSet<String>,
) -> Result<crate::runtime::result::RunResult, Exit> {
    let runtime = effects::runtime(effects::Clock::Virtual).map_err(usage)?;
    let cancel = CancellationToken::new();
    let origin = request.now;
    let result = runtime.block_on(async {
        let watcher = interrupt::watch_real_run(cancel.clone(), process, progress);
        let layer = Arc::new(ReplayBackend::new(
            Arc::clone(history),
            Mode::Resume(live),
            origin,
            cancel.clone(),
            simulated_agents,
        ));
        let switcher = {
            let layer = Arc::clone(&layer);
            tokio::spawn(async move { layer.go_live_at_horizon().await })
        };
        let effects = effects::Effects {
            backend: layer.clone(),
            recorder: Some(recorder),
            cancel: cancel.clone(),
            timers: None,
        };
        let result = crate::runtime::run_with(request, effects).await;
        switcher.abort();
        if layer.is_live() {
            // Abandoned attempts may still be in their grace period.
            process.drain().await;
        }
        watcher.abort();
        result
    });
    drop(runtime);
    Ok(result)
}
