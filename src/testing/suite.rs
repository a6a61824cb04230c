//! A whole `coordops test` run: every playbook found, its tests' reports,
//! and the totals every output format shares.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::analysis;
use crate::ast::{Playbook, TestCase};
use crate::diagnostics::{codes, Diagnostic};
use crate::source::{self, SourceFile};

use super::test_file::{self, TestFileSource};
use super::{run_tests, run_tests_of, TestReport};

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
    /// The selected tests' reports, in order: its own blocks, then each
    /// test file's.
    pub tests: Vec<TestReport>,
    /// The file each of `tests` is written in, in the same order.
    pub sources: Vec<SourceFile>,
}

/// Where each playbook's run is, and the tests of its test files so far
/// (whose names later files must not reuse).
#[derive(Default)]
struct Index {
    runs: HashMap<PathBuf, usize>,
    tests: HashMap<usize, Vec<TestCase>>,
}

/// Whether a diagnostic keeps tests from running: an error, except a test
/// that cannot run, which is reported as that test's own failure.
fn blocks(diagnostic: &Diagnostic) -> bool {
    diagnostic.is_error() && diagnostic.code != codes::TEST_INVALID
}

/// A test file with errors, as a run whose tests did not run.
fn broken(test: TestFileSource, errors: Vec<Diagnostic>) -> PlaybookRun {
    PlaybookRun {
        declared: test.tests.len(),
        file: test.file,
        playbook: None,
        errors,
        tests: Vec::new(),
        sources: Vec::new(),
    }
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
    /// Loads, checks and runs the tests of every playbook and test file
    /// (`*.test.ops`) under `paths`, keeping those whose name contains
    /// `filter`. A test file's tests join its playbook's run, which is
    /// loaded once however many times it is named.
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
        let (test_files, playbooks): (Vec<PathBuf>, Vec<PathBuf>) =
            files.into_iter().partition(|p| test_file::is_test_file(p));
        let mut index = Index::default();
        for path in playbooks {
            if path.as_os_str() == "-" {
                suite.stdin(filter, &mut index);
            } else if let Err(problem) = suite.playbook(&path, filter, &mut index) {
                suite.problems.push(problem);
            }
        }
        for path in test_files {
            match source::load(&path) {
                Ok(file) => suite.test_file(test_file::read(file), filter, &mut index),
                Err(problem) => suite.problems.push(problem),
            }
        }
        suite
    }

    /// `-`: a playbook, or a test file (a `tests "PATH"` header first,
    /// its playbook's path relative to the current directory), on stdin.
    fn stdin(&mut self, filter: Option<&str>, index: &mut Index) {
        match source::load(Path::new("-")) {
            Ok(file) if crate::format::is_test_source(&file) => {
                self.test_file(test_file::read(file), filter, index);
            }
            Ok(file) => {
                self.playbooks.push(run_playbook(file, filter));
                let key = PathBuf::from("-");
                index.runs.insert(key, self.playbooks.len() - 1);
            }
            Err(problem) => self.problems.push(problem),
        }
    }

    /// The run of the playbook at `path`, loaded and run on first use.
    fn playbook(
        &mut self,
        path: &Path,
        filter: Option<&str>,
        index: &mut Index,
    ) -> Result<usize, Diagnostic> {
        let key = test_file::key(path);
        if let Some(&i) = index.runs.get(&key) {
            return Ok(i);
        }
        let file = source::load(path)?;
        self.playbooks.push(run_playbook(file, filter));
        index.runs.insert(key, self.playbooks.len() - 1);
        Ok(self.playbooks.len() - 1)
    }

    /// Runs a test file's tests as part of its playbook's run, or adds it
    /// as a file with errors.
    fn test_file(&mut self, test: TestFileSource, filter: Option<&str>, index: &mut Index) {
        let Some(path) = test.playbook.clone().filter(|_| test.errors.is_empty()) else {
            let errors = test.errors.clone();
            return self.playbooks.push(broken(test, errors));
        };
        let i = match self.playbook(&path, filter, index) {
            Ok(i) => i,
            Err(problem) => {
                let why = match problem.code {
                    codes::IO_NOT_FOUND => "does not exist".to_string(),
                    _ => format!("cannot be read: {}", problem.message),
                };
                let error = test_file::no_playbook(&test, &why);
                return self.playbooks.push(broken(test, vec![error]));
            }
        };
        let earlier = index.tests.entry(i).or_default();
        let run = &self.playbooks[i];
        let Some(playbook) = &run.playbook else {
            let error = test_file::no_playbook(&test, "has errors, so these tests did not run");
            return self.playbooks.push(broken(test, vec![error]));
        };
        let names: Vec<&TestCase> = playbook.tests().chain(earlier.iter()).collect();
        let errors: Vec<Diagnostic> = test_file::check_against(&test, playbook, &names)
            .into_iter()
            .filter(blocks)
            .collect();
        earlier.extend(test.tests.iter().cloned());
        if !errors.is_empty() {
            return self.playbooks.push(broken(test, errors));
        }
        let reports = run_tests_of(playbook, &run.file, &test.file, test.tests.iter(), filter);
        let run = &mut self.playbooks[i];
        run.declared += test.tests.len();
        run.sources
            .extend(std::iter::repeat_n(test.file.clone(), reports.len()));
        run.tests.extend(reports);
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
    /// `test result: N passed, N failed` (and `, N playbook(s) with
    /// errors` when any): the line CI greps.
    pub fn line(&self) -> String {
        let broken = match self.broken {
            0 => String::new(),
            1 => ", 1 playbook with errors".to_string(),
            n => format!(", {n} playbooks with errors"),
        };
        format!(
            "test result: {} passed, {} failed{broken}",
            self.passed, self.failed
        )
    }
}

impl PlaybookRun {
    /// The playbook `file`, parsed and checked, with no test run yet
    /// (`playbook` is `None` when it has errors).
    pub fn checked(file: SourceFile) -> PlaybookRun {
        let checked = analysis::parse_and_check(&file);
        let errors: Vec<Diagnostic> = checked.diagnostics.into_iter().filter(blocks).collect();
        let playbook = checked.playbook.filter(|_| errors.is_empty());
        PlaybookRun {
            file,
            playbook,
            errors,
            declared: 0,
            tests: Vec::new(),
            sources: Vec::new(),
        }
    }
}

fn run_playbook(file: SourceFile, filter: Option<&str>) -> PlaybookRun {
    let mut run = PlaybookRun::checked(file);
    if let Some(playbook) = &run.playbook {
        run.declared = playbook.tests().count();
        run.tests = run_tests(playbook, &run.file, filter);
        run.sources = vec![run.file.clone(); run.tests.len()];
    }
    run
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
        assert_eq!(
            totals.line(),
            "test result: 0 passed, 3 failed, 1 playbook with errors"
        );
        let broken = Totals {
            broken: 2,
            ..Totals::default()
        };
        assert_eq!(
            broken.line(),
            "test result: 0 passed, 0 failed, 2 playbooks with errors"
        );
    }

    #[test]
    fn a_filter_keeps_the_declared_count() {
        let suite = Suite::run(&[root("playbooks/coord_ops.ops")], Some("no such test"));
        let totals = suite.totals();
        assert_eq!(totals.passed + totals.failed, 0);
        assert!(totals.declared > 0);
    }
}
