//! A whole `coordops test` run: every playbook found, its tests' reports,
//! and the totals every output format shares.

use std::path::PathBuf;

use crate::analysis;
use crate::ast::Playbook;
use crate::diagnostics::Diagnostic;
use crate::source::{self, SourceFile};

use super::{run_tests, TestReport};

/// One playbook's part of the run.
pub struct PlaybookRun {
    /// The playbook's source.
    pub file: SourceFile,
    /// The checked playbook; `None` when it has errors (its tests did not run).
    pub playbook: Option<Playbook>,
    /// Its errors, when it has any.
    pub errors: Vec<Diagnostic>,
    /// How many tests it declares, selected or not.
    pub declared: usize,
    /// The selected tests' reports, in order.
    pub tests: Vec<TestReport>,
}

/// Every playbook of the run.
#[derive(Default)]
pub struct Suite {
    /// The playbooks, in the order found.
    pub playbooks: Vec<PlaybookRun>,
    /// Paths that could not be read (a usage error).
    pub problems: Vec<Diagnostic>,
}

/// Counts over the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tests whose expectations all held.
    pub passed: usize,
    /// Tests with a failed expectation or that could not run.
    pub failed: usize,
    /// Of those, tests that could not run (`ops::test::invalid`).
    pub errors: usize,
    /// Playbooks with errors, whose tests did not run.
    pub broken: usize,
    /// Tests the playbooks declare, selected by the filter or not.
    pub declared: usize,
}

impl Suite {
    /// Loads, checks and runs the tests of every playbook under `paths`,
    /// keeping those whose name contains `filter`.
    pub fn run(paths: &[PathBuf], filter: Option<&str>) -> Suite {
        Suite::run_excluding(paths, &crate::walk::Excludes::default(), filter)
    }

    /// [`Suite::run`], leaving out what `excludes` matches in directories.
    pub fn run_excluding(
        paths: &[PathBuf],
        excludes: &crate::walk::Excludes,
        filter: Option<&str>,
    ) -> Suite {
        let (files, problems) = crate::walk::playbooks(paths, excludes);
        let mut suite = Suite {
            problems,
            ..Suite::default()
        };
        for path in files {
            match source::load(&path) {
                Ok(file) => suite.playbooks.push(run_playbook(file, filter)),
                Err(problem) => suite.problems.push(problem),
            }
        }
        suite
    }

    /// The counts every format reports.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for run in &self.playbooks {
            totals.declared += run.declared;
            if !run.errors.is_empty() {
                totals.broken += 1;
            }
            for test in &run.tests {
                match test.outcome() {
                    "passed" => totals.passed += 1,
                    "error" => {
                        totals.failed += 1;
                        totals.errors += 1;
                    }
                    _ => totals.failed += 1,
                }
            }
        }
        totals
    }
}

impl Totals {
    /// `test result: N passed, N failed`: the line CI greps.
    pub fn line(&self) -> String {
        format!(
            "test result: {} passed, {} failed",
            self.passed, self.failed
        )
    }
}

fn run_playbook(file: SourceFile, filter: Option<&str>) -> PlaybookRun {
    let checked = analysis::parse_and_check(&file);
    let errors: Vec<Diagnostic> = checked
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    let playbook = checked.playbook.filter(|_| errors.is_empty());
    let declared = playbook.as_ref().map_or(0, |p| p.tests().count());
    let tests = playbook
        .as_ref()
        .map(|p| run_tests(p, &file, filter))
        .unwrap_or_default();
    PlaybookRun {
        file,
        playbook,
        errors,
        declared,
        tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    #[test]
    fn totals_count_passed_failed_and_broken() {
        let suite = Suite::run(
            &[
                root("tests/fixtures/testing/failing.ops"),
                root("tests/fixtures/testing/invalid.ops"),
                root("tests/fixtures/check/undefined_agent.ops"),
            ],
            None,
        );
        let totals = suite.totals();
        assert_eq!(
            (totals.passed, totals.failed, totals.errors, totals.broken),
            (0, 3, 2, 1),
            "{totals:?}"
        );
        assert_eq!(totals.line(), "test result: 0 passed, 3 failed");
    }

    #[test]
    fn a_filter_keeps_the_declared_count() {
        let suite = Suite::run(&[root("playbooks/coord_ops.ops")], Some("no such test"));
        let totals = suite.totals();
        assert_eq!(totals.passed + totals.failed, 0);
        assert!(totals.declared > 0);
    }
}
