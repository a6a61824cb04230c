//! `coordops check`: parse and analyse every playbook; report all diagnostics.
//!
//! Diagnostics go to stderr for people (`--format human`, the default) or to
//! stdout as JSON, GitHub Actions workflow commands or SARIF for tools; see
//! `docs/diagnostics.md`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::progress::Verbosity;
use super::Exit;
use crate::analysis;
use crate::diagnostics::{
    self, github, json, render_capped, sarif, Diagnostic, RenderOptions, MAX_SHOWN_PER_FILE,
};
use crate::source;
use crate::testing::test_file;
use crate::walk::{self, Excludes};

/// Arguments of `coordops check`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coordops check playbooks/                        # every .ops file under playbooks/
  coordops check playbooks/coord_ops.test.ops      # a test file, against its playbook
  coordops check a.ops b.ops                       # two files
  coordops check --deny-warnings playbooks/        # fail on warnings too
  coordops check --format json playbooks/ > report.json
  coordops check --format github playbooks/        # annotations in GitHub Actions
  coordops check --format sarif playbooks/ > coordops.sarif
  coordops check . --exclude 'tests/fixtures'      # skip a directory
  cat a.ops | coordops check -                     # a playbook on stdin

Directories are walked as ripgrep does: hidden files and those listed in
.gitignore or .ignore are skipped; files named on the command line are always
read, and each file is checked once.

Formats: human (stderr, with a summary line), json, github and sarif (stdout,
nothing on stderr). docs/diagnostics.md describes each.

Exit codes: 0 clean, 1 errors found (or warnings, with --deny-warnings),
2 usage or I/O error.")]
pub struct CheckArgs {
    /// Playbook files or directories (searched recursively for `.ops`
    /// files, skipping hidden and git-ignored ones); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Leave out files and directories matching this glob (gitignore
    /// syntax, relative to the current directory; repeatable) when walking
    /// directories.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    pub format: Format,

    /// Exit with 1 when there are warnings, as for errors (they are still
    /// reported as warnings).
    #[arg(long)]
    pub deny_warnings: bool,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Graphical reports and a summary line on stderr.
    Human,
    /// One JSON document on stdout (schema version 1).
    Json,
    /// GitHub Actions workflow commands (`::error …`) on stdout.
    Github,
    /// A SARIF 2.1.0 log on stdout, for code scanning.
    Sarif,
}

/// What checking a set of paths found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Files read.
    pub files: usize,
    /// Their paths, in the order they were read.
    pub paths: Vec<PathBuf>,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether some path could not be read.
    pub io_failed: bool,
}

/// Checks the given paths without printing anything: playbooks, and test
/// files (`*.test.ops`) against the playbook each names.
pub fn check_paths(paths: &[PathBuf], excludes: &Excludes) -> CheckReport {
    let (files, mut problems) = walk::playbooks(paths, excludes);
    let mut report = CheckReport {
        io_failed: !problems.is_empty(),
        ..CheckReport::default()
    };
    let mut earlier = std::collections::HashMap::new();
    for path in files {
        match source::load(&path) {
            Ok(file) if crate::format::is_test_source(&file) => {
                report.files += 1;
                report.paths.push(path.clone());
                report
                    .diagnostics
                    .extend(test_file::check(file, &mut earlier));
            }
            Ok(file) => {
                report.files += 1;
                report.paths.push(path.clone());
                report.diagnostics.extend(analysis::check_source(&file));
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

pub(super) fn run(args: &CheckArgs, render: RenderOptions, verbosity: Verbosity) -> Exit {
    let quiet = verbosity.quiet;
    let excludes = match super::excludes(&args.exclude) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let report = check_paths(&args.paths, &excludes);
    let errors = report.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = report.diagnostics.len() - errors;
    let exit = exit_code(report.io_failed, errors, warnings, args.deny_warnings);
    let failed = exit != Exit::Success;
    let printed = match args.format {
        Format::Human => {
            if verbosity.verbose > 0 {
                print_files(&report);
            }
            print_human(
                &report,
                errors,
                warnings,
                failed,
                args.deny_warnings,
                render,
                quiet,
            );
            Ok(())
        }
        Format::Json => write_stdout(&json::to_string(&report.diagnostics, report.files)),
        Format::Github => write_stdout(&github::to_string(&report.diagnostics)),
        Format::Sarif => write_stdout(&sarif::to_string(&report.diagnostics)),
    };
    if let Err(err) = printed.or_else(crate::output::closed_pipe_is_ok) {
        crate::output::stderr_line!("error: cannot write the report to stdout: {err}");
        return Exit::Usage;
    }
    exit
}

/// 2 when a path could not be read, else 1 for errors (and for warnings
/// under `--deny-warnings`), else 0.
fn exit_code(io_failed: bool, errors: usize, warnings: usize, deny_warnings: bool) -> Exit {
    if io_failed {
        Exit::Usage
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        Exit::Errors
    } else {
        Exit::Success
    }
}

/// `-v`: a line per file read, with its own counts.
fn print_files(report: &CheckReport) {
    for path in &report.paths {
        let name = path.display().to_string();
        let mine = report
            .diagnostics
            .iter()
            .filter(|d| d.source.as_ref().is_some_and(|s| s.name() == name));
        let (errors, warnings) =
            mine.fold(
                (0, 0),
                |(e, w), d| {
                    if d.is_error() {
                        (e + 1, w)
                    } else {
                        (e, w + 1)
                    }
                },
            );
        crate::output::stderr_line!(
            "checked {name}: {errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        );
    }
}

fn print_human(
    report: &CheckReport,
    errors: usize,
    warnings: usize,
    failed: bool,
    deny_warnings: bool,
    render: RenderOptions,
    quiet: bool,
) {
    if !report.diagnostics.is_empty() {
        // At most MAX_SHOWN_PER_FILE per file; the summary counts them all.
        crate::output::stderr(&render_capped(
            &report.diagnostics,
            render,
            MAX_SHOWN_PER_FILE,
        ));
    }
    if quiet && !failed {
        return;
    }
    crate::output::stderr_line!(
        "{}: {} file{} checked, {} error{}, {} warning{}{}",
        if failed { "failed" } else { "ok" },
        report.files,
        plural(report.files),
        errors,
        plural(errors),
        warnings,
        plural(warnings),
        if deny_warnings && warnings > 0 {
            " (warnings denied)"
        } else {
            ""
        },
    );
}

fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_fail_only_when_denied() {
        assert_eq!(exit_code(false, 0, 0, false), Exit::Success);
        assert_eq!(exit_code(false, 0, 0, true), Exit::Success);
        assert_eq!(exit_code(false, 0, 3, false), Exit::Success);
        assert_eq!(exit_code(false, 0, 3, true), Exit::Errors);
        assert_eq!(exit_code(false, 1, 0, false), Exit::Errors);
        assert_eq!(exit_code(false, 1, 3, true), Exit::Errors);
    }

    #[test]
    fn unreadable_paths_win_over_everything() {
        assert_eq!(exit_code(true, 0, 0, false), Exit::Usage);
        assert_eq!(exit_code(true, 2, 5, true), Exit::Usage);
    }
}
