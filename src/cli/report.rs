//! `coordops report`: rebuild a run's report from its journal, also for a
//! run that was killed before it could write one.

use std::path::PathBuf;

use clap::Args;

use super::run_input::{exit_for, write_report, ReportFormat};
use super::Exit;
use crate::journal;
use crate::runtime::record::Entry;
use crate::runtime::result::RunResult;

/// Arguments of `coordops report`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops report .coordops/runs/run-ops-commit-1767225600-4242.jsonl
  coordops report run.jsonl --format json --output run.json
  coordops report run.jsonl --format html --output run.html

The journal is what `coordops run` (and `coordops dry-run --journal FILE`)
appends while a run goes. A run that ended gives back its exact report; a run
that was killed (SIGKILL, power loss) gives status UNFINISHED and lists the
steps that were in flight. A run that suspended to wait for a person gives
status WAITING with the approvals it waits for and the decisions recorded
since (`coordops approve`). A torn last line is skipped (with a note on
stderr). When a file holds several runs, the last one is reported.

Exit codes: those of the run (0 complete or ignored, 3 partial, 4 failed,
escalated, aborted or unfinished, 5 waiting); 2 when the journal cannot be
read.")]
pub struct ReportArgs {
    /// The journal (JSON lines) of a run.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file (atomically) instead of stdout (`-`:
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(super) fn run(args: &ReportArgs) -> Exit {
    let file = match journal::read(&args.journal) {
        Ok(file) => file,
        Err(e) => {
            crate::output::stderr_line!("error: {e}");
            return Exit::Usage;
        }
    };
    for (line, why) in &file.skipped {
        crate::output::stderr_line!(
            "note: `{}` line {line} skipped (an interrupted write?): {why}",
            args.journal.display()
        );
    }
    let rebuilt = match journal::rebuild(&file.entries) {
        Ok(r) => r,
        Err(e) => {
            crate::output::stderr_line!("error: `{}`: {e}", args.journal.display());
            return Exit::Usage;
        }
    };
    let flow = match args.format {
        ReportFormat::Html => recorded_flow(&file.entries, &rebuilt.result),
        _ => None,
    };
    if let Err(exit) = write_report(
        args.format,
        args.output.as_deref(),
        &rebuilt.agents,
        &rebuilt.result,
        flow.as_ref(),
    ) {
        return exit;
    }
    exit_for(rebuilt.result.status)
}

/// The flow graph of the playbook the journal records, when that file is
/// still there unchanged and has no errors; otherwise none, with a note.
fn recorded_flow(entries: &[Entry], result: &RunResult) -> Option<crate::graph::Graph> {
    let identity = entries.iter().rev().find_map(|e| match e {
        Entry::Start(start) => start.playbook.clone(),
        _ => None,
    })?;
    let path = std::path::Path::new(&identity.path);
    let same = std::fs::read(path)
        .map(|bytes| journal::identity::sha256(&bytes) == identity.hash)
        .unwrap_or(false);
    let file = same.then(|| crate::source::load(path).ok()).flatten();
    let playbook = file.as_ref().and_then(|f| {
        let checked = crate::analysis::parse_and_check(f);
        let clean = !checked.diagnostics.iter().any(|d| d.is_error());
        checked.playbook.filter(|_| clean)
    });
    match (&file, &playbook) {
        (Some(f), Some(p)) => {
            crate::graph::build(p, f, crate::graph::Scope::Signal(&result.signal)).ok()
        }
        _ => {
            crate::output::stderr_line!(
                "note: the HTML report has no flow graph: the playbook `{}` is missing, \
                 changed since the run, or has errors",
                identity.path
            );
            None
        }
    }
}
