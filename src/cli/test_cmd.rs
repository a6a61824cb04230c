//! `coordops test`: run the `test` blocks of playbooks.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::progress::lines::{clock, kind_word, one_line};
use super::progress::Verbosity;
use super::Exit;
use crate::diagnostics::{render, render_all, RenderOptions};
use crate::output;
use crate::runtime::result::RunResult;
use crate::testing::format;
use crate::testing::format::coverage;
use crate::testing::suite::Suite;

/// Arguments of `coordops test`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops test playbooks/                       # every test of every playbook
  coordops test playbooks/coord_ops.test.ops     # a test file (and its playbook's tests)
  coordops test playbooks/coord_ops.ops --filter audit
  coordops test playbooks/ --format junit > junit.xml
  coordops test playbooks/coord_ops.ops --coverage --fail-under 90
  coordops test --replay tests/fixtures/replay/*.jsonl --coverage

A test file (`*.test.ops`) starts with `tests \"PLAYBOOK\"`, the playbook's
path relative to it, then holds `test` blocks; they run against that
playbook, together with its own blocks (each playbook runs once).

Each test is a dry run on the simulated backend and virtual clock: its
`given` lines script the agents, its `signal` line is sent, and its `expect`
lines are checked. A playbook with errors runs no tests. A --filter that
matches no test is an error.

Formats (docs/testing.md): human (a line per test, failures on stderr),
json (one document), junit (JUnit XML), github (Actions annotations at each
failed expectation). The summary line `test result: N passed, N failed` is
on stdout, or on stderr for json and junit; --replay takes every format.

--coverage reports which routes, workflow steps, `if` arms, gate outcomes,
retries, handlers, rules and approval outcomes the selected tests exercised
(a table and the uncovered lines, or a `coverage` member in json);
--fail-under PCT exits 1 when the total is below PCT percent. With
--replay they measure what the replays ran, up to where each stopped.

--replay JOURNAL… re-runs the playbook each journal records (or --playbook)
against the journal instead, calling no agent: every recorded answer is
replayed at its recorded time. A journal passes when the playbook takes the
recorded path (route, each step's outcome and attempts, gates, status); the
first difference is shown at the playbook's text. A dry-run journal
(`coordops dry-run --journal FILE`) is a fixture.

Exit codes: 0 every test passed, 1 a test failed, a playbook has errors,
the filter matched nothing or coverage is below --fail-under, 2 usage or
I/O error.")]
pub struct TestArgs {
    /// Playbooks, test files (`*.test.ops`) or directories (searched
    /// recursively for both, skipping hidden and git-ignored files); `-`
    /// reads stdin.
    #[arg(required_unless_present = "replay", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Leave out files and directories matching this glob (gitignore
    /// syntax, relative to the current directory; repeatable) when walking
    /// directories.
    #[arg(long, value_name = "GLOB", conflicts_with = "replay")]
    pub exclude: Vec<String>,

    /// Replay these run journals instead (see below).
    #[arg(long, value_name = "JOURNAL", num_args = 1.., conflicts_with_all = ["paths", "filter"])]
    pub replay: Vec<PathBuf>,

    /// With --replay: the playbook to replay, instead of the one each
    /// journal records.
    #[arg(long, value_name = "FILE", requires = "replay")]
    pub playbook: Option<PathBuf>,

    /// Run only tests whose name contains this text (matching none is an
    /// error).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Report which routes, steps, branches, gate outcomes, retries,
    /// handlers, rules and approval outcomes the tests exercised.
    #[arg(long)]
    pub coverage: bool,

    /// Fail (exit 1) when the total coverage is below PCT percent
    /// (implies --coverage).
    #[arg(long, value_name = "PCT")]
    pub fail_under: Option<f64>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    pub format: Format,
}

/// What `coordops test` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per test and the summary on stdout; diagnostics on stderr.
    Human,
    /// One JSON document on stdout (docs/testing.md); summary on stderr.
    Json,
    /// JUnit XML on stdout; summary on stderr.
    Junit,
    /// GitHub Actions annotations at each failure, then the summary, on stdout.
    Github,
}

pub(super) fn run(args: &TestArgs, options: RenderOptions, verbosity: Verbosity) -> Exit {
    let quiet = verbosity.quiet;
    if let Some(pct) = args.fail_under {
        if !(0.0..=100.0).contains(&pct) {
            crate::output::stderr_line!(
                "error: --fail-under takes a percentage from 0 to 100, not {pct}"
            );
            return Exit::Usage;
        }
    }
    let ask = CoverageAsk {
        wanted: args.coverage || args.fail_under.is_some(),
        fail_under: args.fail_under,
    };
    if !args.replay.is_empty() {
        let replay = super::replay_test::Replay {
            journals: &args.replay,
            playbook: args.playbook.as_deref(),
            format: args.format,
            quiet,
            coverage: ask,
        };
        return super::replay_test::run(&replay, options);
    }
    let excludes = match super::excludes(&args.exclude) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let suite = Suite::run_excluding(&args.paths, &excludes, args.filter.as_deref());
    for problem in &suite.problems {
        output::stderr(&render(problem, options));
    }
    let totals = suite.totals();
    if let Some(filter) = &args.filter {
        if totals.passed + totals.failed == 0 {
            output::stderr(&format!(
                "error: --filter `{filter}` matches no test ({} playbook(s) declare {} test(s)); \
                 a filter keeps the tests whose name contains it\n",
                suite.playbooks.len(),
                totals.declared
            ));
            return Exit::Errors;
        }
    }
    let below = print(&suite, args.format, ask, quiet, || {
        human(&suite, options, verbosity);
    });
    if !suite.problems.is_empty() {
        Exit::Usage
    } else if totals.failed > 0 || totals.broken > 0 || below {
        Exit::Errors
    } else {
        Exit::Success
    }
}

/// A run's event log, one indented line per event: `    +1.0s RETRY push …`.
fn event_log(result: &RunResult) -> String {
    result
        .events
        .iter()
        .map(|e| {
            let step = e
                .step
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let detail = one_line(&e.detail);
            let sep = if detail.is_empty() { "" } else { ": " };
            format!(
                "    {} {}{step}{sep}{detail}\n",
                clock(e.at_ms),
                kind_word(e.kind)
            )
        })
        .collect()
}

/// What `--coverage` and `--fail-under` asked (`--fail-under` implies
/// `--coverage`; its range is checked before).
#[derive(Clone, Copy, Debug)]
pub(super) struct CoverageAsk {
    /// Whether to measure and report coverage.
    pub wanted: bool,
    /// `--fail-under PCT`.
    pub fail_under: Option<f64>,
}

/// Prints `suite` in `format` (`human` prints the human listing), its
/// coverage when asked, and the summary line on stderr for json and
/// junit; `true` when the coverage is below `--fail-under` (said on
/// stderr). Shared by test blocks and `--replay`.
pub(super) fn print(
    suite: &Suite,
    format: Format,
    ask: CoverageAsk,
    quiet: bool,
    human: impl FnOnce(),
) -> bool {
    let coverages = ask.wanted.then(|| coverage::of_suite(suite));
    match format {
        Format::Human => human(),
        format => document(suite, format, coverages.as_deref().map(coverage::json)),
    }
    if let Some(coverages) = &coverages {
        match format {
            Format::Human => output::stdout(&coverage::human(coverages)),
            Format::Github => {
                output::stdout(&coverage::github_notices(coverages));
                output::stdout(&coverage::human(coverages));
            }
            Format::Junit => output::stderr(&coverage::human(coverages)),
            Format::Json => {}
        }
    }
    if !quiet && matches!(format, Format::Json | Format::Junit) {
        crate::output::stderr_line!("{}", suite.totals().line());
    }
    let below = match (ask.fail_under, &coverages) {
        (Some(pct), Some(coverages)) => coverage::below(coverages, pct),
        _ => None,
    };
    if let Some(error) = &below {
        output::stderr(error);
    }
    below.is_some()
}

/// The run as a json, junit or github document on stdout (`coverage` is
/// the json form's `coverage` member); nothing for human.
pub(super) fn document(suite: &Suite, format: Format, coverage: Option<serde_json::Value>) {
    match format {
        Format::Human => {}
        Format::Json => output::stdout_json(&format::json::to_string(suite, coverage)),
        Format::Junit => output::stdout(&format::junit::to_string(suite)),
        Format::Github => output::stdout(&format::github::to_string(suite)),
    }
}

/// A line per test (with `-q`, per failed test; with `-v`, followed by the
/// run's event log), the failures rendered on stderr, and the summary.
fn human(suite: &Suite, options: RenderOptions, verbosity: Verbosity) {
    let quiet = verbosity.quiet;
    let mut shown = 0;
    for run in &suite.playbooks {
        let name = run.file.name();
        if !run.errors.is_empty() {
            output::stderr(&render_all(&run.errors, options));
            crate::output::stderr_line!("{name}: has errors, its tests did not run");
        }
        for (i, report) in run.tests.iter().enumerate() {
            if quiet && report.passed {
                continue;
            }
            let name = run.sources.get(i).map_or(name, |s| s.name());
            let status = report.status.as_deref().unwrap_or("not run");
            output::stderr(&render_all(&report.warnings, options));
            let verdict = if report.passed { "ok" } else { "FAILED" };
            shown += 1;
            output::stdout(&format!(
                "test {name} :: {} ... {verdict} ({status})\n",
                report.name
            ));
            if verbosity.verbose > 0 {
                if let Some(result) = &report.result {
                    output::stdout(&event_log(result));
                }
            }
            output::stderr(&render_all(&report.failures, options));
        }
    }
    // A blank line between the tests and the summary, when any was shown.
    let gap = if shown > 0 { "\n" } else { "" };
    output::stdout(&format!("{gap}{}\n", suite.totals().line()));
}
