//! What the running commands share (`dry-run`, `run`, `routes`): the
//! checked playbook, the signal context from `--set key=value`, the
//! scenario, the report and the exit code.

use std::path::Path;

use serde_json::{Map, Value};

use crate::analysis;
use crate::ast::Playbook;
use crate::diagnostics::{render_all, RenderOptions};
use crate::journal::Journal;
use crate::output;
use crate::report;
use crate::runtime::context;
use crate::runtime::result::{RunResult, RunStatus};
use crate::runtime::simulated::Scenario;
use crate::source::{self, SourceFile};

use super::Exit;

/// Loads a playbook that has no errors, or prints why not.
pub fn checked_playbook(
    path: &Path,
    render: RenderOptions,
) -> Result<(SourceFile, Playbook), Exit> {
    let file = source::load(path).map_err(|d| {
        output::stderr(&crate::diagnostics::render(&d, render));
        Exit::Usage
    })?;
    checked_source(file, render)
}

/// Checks a loaded playbook: it back when it has no errors, or prints why not.
pub fn checked_source(
    file: SourceFile,
    render: RenderOptions,
) -> Result<(SourceFile, Playbook), Exit> {
    let checked = analysis::parse_and_check(&file);
    let errors: Vec<_> = checked
        .diagnostics
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        output::stderr(&render_all(&errors, render));
        output::stderr_line!(
            "error: `{}` has {} error(s); fix them before running it (`coordops check`)",
            file.name(),
            errors.len()
        );
        return Err(Exit::Errors);
    }
    match checked.playbook {
        Some(playbook) => Ok((file, playbook)),
        None => Err(Exit::Errors),
    }
}

/// Splits `key=value` arguments.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>, Exit> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => {
                output::stderr_line!("error: `--set {s}` must look like `--set key=value`");
                Err(Exit::Usage)
            }
        })
        .collect()
}

/// What `dry-run` and `run` share: the playbook, the signal, its context,
/// the scenario and where the report goes.
#[derive(Debug, clap::Args)]
pub struct RunTarget {
    /// The playbook to run.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: std::path::PathBuf,
    /// The signal to send, e.g. `OPS:AUDIT` (one the playbook neither
    /// declares nor routes by name is still sent, with a warning).
    #[arg(long, value_name = "SIGNAL")]
    pub signal: String,
    /// A context field of the signal (repeatable), parsed by its declared
    /// type: string as written; int `-3`; bool `true`/`false`; duration
    /// `1h30m` (empty is an error); percent `80%` or `80`; map a JSON
    /// object; list `a,b,c` (each item by the element type; empty value =
    /// `[]`) or a JSON array `["a,b","c"]`. See docs/language.md §6.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// A scenario file (TOML) scripting simulated agent outcomes (`-`:
    /// stdin).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<std::path::PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file (atomically) instead of stdout (`-`:
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Append the run's journal (JSON lines, one per event) to this file.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<std::path::PathBuf>,
    /// Stream the coordinator's cascade signals (SPAWN, HANDOFF, ABORT,
    /// COMPLETE, FAILURE, ESCALATE) to stdout as JSON lines, for an upstream
    /// orchestrator; the report then needs `--output FILE`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub emit: Option<EmitFormat>,
}

/// `--emit` formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EmitFormat {
    /// One JSON object per line: `{"source", "signal", "timestamp", "payload"}`.
    Jsonl,
}

/// Where `-` cannot go, refused (exit 2) before anything starts: with
/// `--emit`, stdout carries the signals, so the report must go to a file;
/// a journal is a file (appended to, read back by `report` and `resume`)
/// that names the playbook's file, so neither may be `-` when the run is
/// journaled (`run` always is).
pub fn check_streams(target: &RunTarget, always_journaled: bool) -> Result<(), Exit> {
    let to_stdout = target.output.as_deref().is_none_or(output::is_stdio);
    if target.emit.is_some() && to_stdout {
        output::stderr_line!(
            "error: `--emit jsonl` streams the cascade signals on stdout, so the report \
             cannot go there too: add `--output FILE` for the report"
        );
        return Err(Exit::Usage);
    }
    if target.journal.as_deref().is_some_and(output::is_stdio) {
        output::stderr_line!(
            "error: `--journal -`: a journal must be a file (`report` and `resume` read it back)"
        );
        return Err(Exit::Usage);
    }
    let scenario_stdin = target.scenario.as_deref().is_some_and(output::is_stdio);
    if scenario_stdin && output::is_stdio(&target.playbook) {
        output::stderr_line!("error: the playbook and `--scenario` cannot both be `-` (stdin)");
        return Err(Exit::Usage);
    }
    let journaled = always_journaled || target.journal.is_some();
    if journaled && output::is_stdio(&target.playbook) {
        output::stderr_line!(
            "error: a journaled run needs the playbook as a file (the journal names it for \
             `resume` and replays): save stdin to a file first"
        );
        return Err(Exit::Usage);
    }
    Ok(())
}

/// `--format` of run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown: Ops Result, Ops Quality Report, Ops Escalation, run log.
    Md,
    /// The run result as JSON (docs/run-result.md).
    Json,
    /// One self-contained HTML page: status, gates, escalation, the
    /// timeline of every attempt and the flow (docs/html-report.md).
    Html,
}

/// The exit code for a run's final status.
pub fn exit_for(status: RunStatus) -> Exit {
    match status {
        RunStatus::Complete | RunStatus::Ignored => Exit::Success,
        RunStatus::Partial => Exit::Partial,
        RunStatus::Waiting => Exit::Waiting,
        RunStatus::Failed | RunStatus::Escalated | RunStatus::Aborted | RunStatus::Unfinished => {
            Exit::RunFailed
        }
    }
}

/// The checked playbook and the signal's context, or why not.
pub fn prepare(
    target: &RunTarget,
    render: RenderOptions,
) -> Result<(SourceFile, Playbook, Map<String, Value>), Exit> {
    let (file, playbook) = checked_playbook(&target.playbook, render)?;
    warn_unknown_signal(&playbook, &target.signal);
    let sets = parse_sets(&target.sets)?;
    let context = context::build(&playbook, &target.signal, &sets).map_err(|e| {
        output::stderr_line!("error: {e}");
        Exit::Usage
    })?;
    Ok((file, playbook, context))
}

/// Prints (on stderr) the warning for a signal the playbook neither declares
/// nor routes by name, if it is one.
pub fn warn_unknown_signal(playbook: &Playbook, signal: &str) {
    if let Some(warning) = super::signal_check::unknown_signal_warning(playbook, signal) {
        output::stderr(&warning);
    }
}

/// Reads `--scenario` (if any) and checks it names only what the playbook declares.
pub fn load_scenario(target: &RunTarget, playbook: &Playbook) -> Result<Scenario, Exit> {
    let Some(path) = &target.scenario else {
        return Ok(Scenario::default());
    };
    let fail = |what: String| {
        output::stderr_line!("error: scenario `{}` {what}", path.display());
        Exit::Usage
    };
    let text = source::read_text(path).map_err(|e| {
        output::stderr_line!("error: cannot read scenario `{}`: {e}", path.display());
        Exit::Usage
    })?;
    let scenario = Scenario::parse(&text).map_err(|e| fail(format!("is invalid: {e}")))?;
    super::scenario_check::check(&text, playbook).map_err(fail)?;
    let steps = super::scenario_check::step_problems(&scenario, playbook);
    if !steps.is_empty() {
        for problem in &steps {
            output::stderr_line!(
                "error[{}]: scenario `{}`: {problem}",
                crate::diagnostics::codes::CHECK_UNDEFINED_STEP,
                path.display()
            );
        }
        return Err(Exit::Usage);
    }
    let unknown = scenario.unknown_names(playbook);
    if !unknown.is_empty() {
        return Err(fail(format!(
            "names what the playbook does not declare: {}",
            unknown.join(", ")
        )));
    }
    Ok(scenario)
}

/// Prints (on stderr) a warning for each scenario `step` entry no attempt
/// of the run used.
pub fn warn_unmatched(target: &RunTarget, scenario: &Scenario) {
    let Some(path) = &target.scenario else {
        return;
    };
    for (key, winner) in scenario.unmatched() {
        output::stderr(&format!(
            "warning[{}]: scenario `{}`: step `{key}` scripted nothing: {}\n  \
             help: compare it with the step ids and arguments in the report (`--format json`)\n",
            crate::diagnostics::codes::RUN_UNMATCHED_TARGET,
            path.display(),
            crate::testing::unused_reason(winner.as_deref())
        ));
    }
}

/// Renders the report and writes it to `--output` (atomically) or stdout
/// (a closed stdout, as in `… | head`, is not an error).
pub fn emit_report(
    target: &RunTarget,
    file: &SourceFile,
    playbook: &Playbook,
    result: &RunResult,
) -> Result<(), Exit> {
    let agents: Vec<String> = playbook.agents().map(|a| a.name.name.clone()).collect();
    let flow = flow_for(target.format, file, playbook, result);
    write_report(
        target.format,
        target.output.as_deref(),
        &agents,
        result,
        flow.as_ref(),
    )
}

/// The flow graph an HTML report draws: what the run's signal reaches
/// (none for other formats, or when no route matches).
pub fn flow_for(
    format: ReportFormat,
    file: &SourceFile,
    playbook: &Playbook,
    result: &RunResult,
) -> Option<crate::graph::Graph> {
    if format != ReportFormat::Html {
        return None;
    }
    crate::graph::build(playbook, file, crate::graph::Scope::Signal(&result.signal)).ok()
}

/// Renders `result` as `format` and writes it, through the redacting
/// output sink, to `output` (atomically) or stdout.
pub fn write_report(
    format: ReportFormat,
    output: Option<&Path>,
    agents: &[String],
    result: &RunResult,
    flow: Option<&crate::graph::Graph>,
) -> Result<(), Exit> {
    let (text, json) = match format {
        ReportFormat::Md => (report::render_markdown(result, agents), false),
        ReportFormat::Json => (report::render_json(result), true),
        ReportFormat::Html => (report::render_html(result, flow), false),
    };
    match (output, json) {
        (Some(path), json) => {
            let written = if json {
                output::write_file_json(path, &text)
            } else {
                output::write_file(path, &text)
            };
            written.map_err(|e| {
                output::stderr_line!("error: cannot write `{}`: {e}", path.display());
                Exit::Usage
            })
        }
        (None, true) => {
            output::stdout_json(&text);
            Ok(())
        }
        (None, false) => {
            output::stdout(&text);
            Ok(())
        }
    }
}

/// Refuses, before any agent starts, a report `--output` that cannot be
/// written (a missing folder, no permission, a directory): a real run
/// must not do its work and then lose its report.
pub fn check_output(output: Option<&Path>) -> Result<(), Exit> {
    let Some(path) = output.filter(|p| !output::is_stdio(p)) else {
        return Ok(());
    };
    report::check_writable(path).map_err(|e| {
        output::stderr_line!(
            "error: cannot write the report to `{}`: {e}\nnothing was started",
            path.display()
        );
        Exit::Usage
    })
}

/// Ends a real run (or resume) once its report was written, or failed to
/// be: the status line (when chatty, or whenever the run did not complete
/// or its report was not written); what goes on from here (a WAITING run:
/// what it waits for and how to decide; an ABORTED one: how to resume it);
/// and, for a report that could not be written, how to rebuild it from the
/// journal. The exit code is the run's, or 2 when the report was not
/// written.
pub fn finish(
    command: &str,
    written: Result<(), Exit>,
    result: &RunResult,
    output: Option<&Path>,
    journal: &Path,
    chatty: bool,
) -> Exit {
    let exit = exit_for(result.status);
    let line = match written {
        Ok(()) if chatty || exit != Exit::Success => {
            super::progress::status_line(command, result, output, Some(journal))
        }
        Ok(()) => return exit,
        Err(_) => super::progress::status_line_unwritten(command, result, journal),
    };
    output::stderr(&format!("{line}\n"));
    match result.status {
        RunStatus::Waiting => output::stderr(&super::approve::next_steps(result, journal)),
        RunStatus::Aborted => output::stderr(&format!(
            "continue: coordops resume {} (finished steps are not run again)\n",
            journal.display()
        )),
        _ => {}
    }
    if written.is_err() {
        output::stderr(&format!(
            "rebuild the report from the journal: coordops report {} --output FILE\n",
            journal.display()
        ));
        return Exit::Usage;
    }
    exit
}

/// Opens the run's journal at `path`, or says why not.
pub fn open_journal(path: &Path) -> Result<std::sync::Arc<Journal>, Exit> {
    Journal::create(path).map(std::sync::Arc::new).map_err(|e| {
        output::stderr_line!("error: cannot open the journal `{}`: {e}", path.display());
        Exit::Usage
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_playbook_is_parsed_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.ops");
        std::fs::write(&path, crate::testing::generate::sequential_workflow(5)).expect("write");
        let before = syntax_parses();
        let loaded = checked_playbook(&path, RenderOptions::default());
        assert!(loaded.is_ok());
        assert_eq!(syntax_parses() - before, 1);
    }

    fn syntax_parses() -> usize {
        crate::syntax::parses_on_this_thread()
    }
}
