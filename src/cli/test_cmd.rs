//! `coordops test`: run the `test` blocks of playbooks.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::analysis;
use crate::diagnostics::{render, render_all, RenderOptions};
use crate::source;
use crate::testing;

/// Arguments of `coordops test`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops test playbooks/                       # every test of every playbook
  coordops test playbooks/coord_ops.ops --filter audit
  coordops test --replay tests/fixtures/replay/*.jsonl

Each test is a dry run on the simulated backend and virtual clock: its
`given` lines script the agents, its `signal` line is sent, and its `expect`
lines are checked. A playbook with errors runs no tests.

--replay JOURNAL… re-runs the playbook each journal records (or --playbook)
against the journal instead, calling no agent: every recorded answer is
replayed at its recorded time. A journal passes when the playbook takes the
recorded path (route, each step's outcome and attempts, gates, status); the
first difference is shown at the playbook's text. A dry-run journal
(`coordops dry-run --journal FILE`) is a fixture.

Exit codes: 0 every test passed, 1 a test failed or a playbook has errors,
2 usage or I/O error.")]
pub struct TestArgs {
    /// Playbook files or directories (searched recursively for `.ops` files).
    #[arg(required_unless_present = "replay", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Replay these run journals instead (see below).
    #[arg(long, value_name = "JOURNAL", num_args = 1.., conflicts_with_all = ["paths", "filter"])]
    pub replay: Vec<PathBuf>,

    /// With --replay: the playbook to replay, instead of the one each
    /// journal records.
    #[arg(long, value_name = "FILE", requires = "replay")]
    pub playbook: Option<PathBuf>,

    /// Run only tests whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

pub(super) fn run(args: &TestArgs, options: RenderOptions) -> Exit {
    if !args.replay.is_empty() {
        return super::replay_test::run(&args.replay, args.playbook.as_deref(), options);
    }
    let (files, problems) = source::collect_playbooks(&args.paths);
    let mut io_failed = !problems.is_empty();
    for problem in &problems {
        eprint!("{}", render(problem, options));
    }
    let (mut passed, mut failed, mut broken_files) = (0usize, 0usize, 0usize);
    for path in files {
        let file = match source::load(&path) {
            Ok(file) => file,
            Err(problem) => {
                eprint!("{}", render(&problem, options));
                io_failed = true;
                continue;
            }
        };
        let checked = analysis::parse_and_check(&file);
        let errors: Vec<_> = checked
            .diagnostics
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        if !errors.is_empty() {
            eprint!("{}", render_all(&errors, options));
            eprintln!("{}: has errors, its tests did not run", file.name());
            broken_files += 1;
            continue;
        }
        let Some(playbook) = checked.playbook else {
            continue;
        };
        for report in testing::run_tests(&playbook, &file, args.filter.as_deref()) {
            let status = report.status.as_deref().unwrap_or("not run");
            eprint!("{}", render_all(&report.warnings, options));
            if report.passed {
                passed += 1;
                println!("test {} :: {} ... ok ({status})", file.name(), report.name);
            } else {
                failed += 1;
                println!(
                    "test {} :: {} ... FAILED ({status})",
                    file.name(),
                    report.name
                );
                eprint!("{}", render_all(&report.failures, options));
            }
        }
    }
    println!();
    println!("test result: {passed} passed, {failed} failed");
    if io_failed {
        Exit::Usage
    } else if failed > 0 || broken_files > 0 {
        Exit::Errors
    } else {
        Exit::Success
    }
}
