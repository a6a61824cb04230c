//! `coordops test --replay JOURNAL…`: re-run the playbook against recorded
//! journals without calling any agent, and fail, pointing at the playbook
//! text, where it would take another path than the recorded run.
//!
//! The journals become a test [`Suite`]: one playbook run per playbook,
//! one test per journal, so every `--format` of `coordops test` prints it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::replay_input::{self, read_history, Replayed};
use super::test_cmd::{print, CoverageAsk, Format};
use super::Exit;
use crate::diagnostics::{render, render_all, RenderOptions};
use crate::output;
use crate::runtime::replay::History;
use crate::source::{self, SourceFile};
use crate::testing::suite::{PlaybookRun, Suite};
use crate::testing::{test_file, Mismatch, TestReport};

/// What `coordops test --replay` was asked.
pub(super) struct Replay<'a> {
    /// The journals, in order.
    pub journals: &'a [PathBuf],
    /// `--playbook`: replay this one instead of each journal's.
    pub playbook: Option<&'a Path>,
    /// How to print the run.
    pub format: Format,
    /// `-q`: leave out passing journals (human).
    pub quiet: bool,
    /// `--coverage` / `--fail-under`: what of each playbook the replays
    /// exercised.
    pub coverage: CoverageAsk,
}

/// Replays each journal and prints the run in `replay.format`, with the
/// coverage of what the replays ran when asked. Exit 2 when a journal or
/// playbook cannot be read, else 1 when a journal's replay left the
/// recorded path, its playbook has errors or the coverage is below
/// `--fail-under`.
pub(super) fn run(replay: &Replay<'_>, options: RenderOptions) -> Exit {
    let mut suite = Suite::default();
    let mut runs: HashMap<PathBuf, usize> = HashMap::new();
    let mut unreadable = 0usize;
    for journal in replay.journals {
        if !add(&mut suite, &mut runs, journal, replay.playbook, options) {
            unreadable += 1;
        }
    }
    let totals = suite.totals();
    let below = print(&suite, replay.format, replay.coverage, replay.quiet, || {
        human(&suite, options, replay.quiet);
    });
    if unreadable > 0 {
        Exit::Usage
    } else if totals.failed > 0 || totals.broken > 0 || below {
        Exit::Errors
    } else {
        Exit::Success
    }
}

/// Replays `journal` into `suite` (its playbook's run is loaded on first
/// use); `false` when the journal or its playbook could not be read (the
/// error was printed).
fn add(
    suite: &mut Suite,
    runs: &mut HashMap<PathBuf, usize>,
    journal: &Path,
    given: Option<&Path>,
    options: RenderOptions,
) -> bool {
    let history = match read_history(journal) {
        Ok(h) => h,
        Err(e) => {
            output::stderr(&format!("error: {e}\n"));
            return false;
        }
    };
    let path = match replay_input::playbook_path(&history, given) {
        Ok(p) => p,
        Err(e) => {
            output::stderr(&format!("error: `{}`: {e}\n", journal.display()));
            return false;
        }
    };
    let key = test_file::key(&path);
    let i = match runs.get(&key) {
        Some(&i) => i,
        None => match source::load(&path) {
            Ok(file) => {
                suite.playbooks.push(PlaybookRun::checked(file));
                runs.insert(key, suite.playbooks.len() - 1);
                suite.playbooks.len() - 1
            }
            Err(problem) => {
                output::stderr(&render(&problem, options));
                return false;
            }
        },
    };
    let run = &mut suite.playbooks[i];
    run.declared += 1;
    let Some(playbook) = &run.playbook else {
        // A playbook with errors replays nothing; it is reported once.
        return true;
    };
    let history = Arc::new(history);
    let Ok(replayed) = replay_input::check(&history, &run.file, playbook) else {
        return false;
    };
    let report = report(journal, &history, replayed);
    run.tests.push(report);
    run.sources.push(SourceFile::new(
        journal.display().to_string(),
        String::new(),
    ));
    true
}

/// The test case of one replayed journal: named for the journal's file,
/// run id and signal; `status` is the recorded run's (`unfinished` when
/// the journal ends before the run did).
fn report(journal: &Path, history: &History, replayed: Replayed) -> TestReport {
    let file = journal.file_name().map_or_else(
        || journal.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let name = format!(
        "{file} (run {}, {})",
        history.start.run_id, history.start.signal
    );
    let status = history.ended.as_ref().map_or_else(
        || "unfinished".to_string(),
        |end| end.status.word().to_string(),
    );
    let (failures, mismatches) = match replayed.departure {
        Some(d) => {
            let mismatch = Mismatch {
                expected: d.recorded,
                actual: d.now,
                message: d.diagnostic.message.clone(),
            };
            (vec![d.diagnostic], vec![mismatch])
        }
        None => (Vec::new(), Vec::new()),
    };
    TestReport {
        name,
        passed: failures.is_empty(),
        failures,
        warnings: Vec::new(),
        status: Some(status),
        duration_ms: Some(replayed.result.duration_ms),
        mismatches,
        result: Some(replayed.result),
    }
}

/// A line per journal (with `-q`, per failed one), each departure rendered
/// on stderr at the playbook's text, and the summary.
fn human(suite: &Suite, options: RenderOptions, quiet: bool) {
    for run in &suite.playbooks {
        if !run.errors.is_empty() {
            output::stderr(&render_all(&run.errors, options));
            output::stderr(&format!(
                "{}: has errors, no journal of it was replayed\n",
                run.file.name()
            ));
        }
        for (report, journal) in run.tests.iter().zip(&run.sources) {
            if quiet && report.passed {
                continue;
            }
            let status = report.status.as_deref().unwrap_or("not run");
            let verdict = if report.passed { "ok" } else { "FAILED" };
            output::stdout(&format!(
                "replay {} ... {verdict} ({status})\n",
                journal.name()
            ));
            if !report.passed {
                output::stderr(&render_all(&report.failures, options));
                output::stderr(&format!("  recorded in: {}\n", journal.name()));
            }
        }
    }
    output::stdout(&format!("\n{}\n", suite.totals().line()));
}
