//! `coordops check`: parse every playbook and report all diagnostics.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::diagnostics::{self, render_all, Diagnostic, RenderOptions};
use crate::source;
use crate::syntax;

/// Arguments of `coordops check`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops check playbooks/            # every .ops file under playbooks/
  coordops check a.ops b.ops           # two files

Exit codes: 0 clean, 1 errors found, 2 usage or I/O error.")]
pub struct CheckArgs {
    /// Playbook files or directories (searched recursively for `.ops` files).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// What checking a set of paths found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Files read.
    pub files: usize,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether some path could not be read.
    pub io_failed: bool,
}

/// Checks the given paths without printing anything.
pub fn check_paths(paths: &[PathBuf]) -> CheckReport {
    let (files, mut problems) = source::collect_playbooks(paths);
    let mut report = CheckReport {
        io_failed: !problems.is_empty(),
        ..CheckReport::default()
    };
    for path in files {
        match source::load(&path) {
            Ok(file) => {
                report.files += 1;
                report.diagnostics.extend(syntax::parse(&file).diagnostics);
            }
            Err(problem) => {
                report.io_failed = true;
                problems.push(problem);
            }
        }
    }
    diagnostics::sort(&mut report.diagnostics);
    problems.append(&mut report.diagnostics);
    report.diagnostics = problems;
    report
}

pub(super) fn run(args: &CheckArgs, render: RenderOptions) -> Exit {
    let report = check_paths(&args.paths);
    if !report.diagnostics.is_empty() {
        eprint!("{}", render_all(&report.diagnostics, render));
    }
    let errors = report.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = report.diagnostics.len() - errors;
    eprintln!(
        "{}: {} file{} checked, {} error{}, {} warning{}",
        if errors == 0 { "ok" } else { "failed" },
        report.files,
        plural(report.files),
        errors,
        plural(errors),
        warnings,
        plural(warnings),
    );
    if report.io_failed {
        Exit::Usage
    } else if errors > 0 {
        Exit::Errors
    } else {
        Exit::Success
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
