//! `*.test.ops` files: a playbook's tests kept apart from it.
//!
//! A test file starts with `tests "PLAYBOOK"`, the playbook's path relative
//! to the test file's folder, and then holds only `test` blocks. Both
//! `coordops check` and `coordops test` read it here: its structure is
//! checked ([`read`]), then its tests against the playbook ([`check`]), with
//! the checks a playbook's own blocks get.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::analysis;
use crate::ast::{Item, Playbook, Span, TestCase};
use crate::diagnostics::{codes, Diagnostic};
use crate::source::{self, SourceFile};

/// How a test file's name ends.
pub const SUFFIX: &str = ".test.ops";

/// Whether `path` names a test file (`*.test.ops`).
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(SUFFIX) && n.len() > SUFFIX.len())
}

/// A test file, parsed, with its structure checked.
pub struct TestFileSource {
    /// The test file's source.
    pub file: SourceFile,
    /// Its `test` blocks (none when it does not parse).
    pub tests: Vec<TestCase>,
    /// The playbook it names, joined to the test file's folder, when its
    /// one header is valid.
    pub playbook: Option<PathBuf>,
    /// The header's path, where `ops::test::no_playbook` points.
    pub header: Option<Span>,
    /// Syntax errors and `ops::test::bad_file` errors.
    pub errors: Vec<Diagnostic>,
}

/// Parses `file` as a test file and checks its structure.
pub fn read(file: SourceFile) -> TestFileSource {
    let parsed = crate::syntax::parse_test_file(&file);
    let mut errors = parsed.diagnostics;
    let mut tests = Vec::new();
    let mut playbook = None;
    let mut header_span = None;
    if let Some(parsed) = parsed.file {
        header_span = parsed.headers.first().map(|h| h.path.span);
        let first_item = parsed.items.first().map(Item::span);
        match parsed.headers.first() {
            None => errors.push(
                bad_file("this test file does not say which playbook it tests")
                    .with_primary(
                        first_item.map_or(Span::point(0), |s| first_line(&file, s)),
                        "a test of which playbook?",
                    )
                    .with_help(HEADER_HELP),
            ),
            Some(header) => match header.path.as_plain() {
                Some(path) if is_test_file(Path::new(&path)) => errors.push(
                    bad_file("the `tests` header names a test file, not a playbook")
                        .with_primary(header.path.span, "a `*.test.ops` file")
                        .with_help(HEADER_HELP),
                ),
                Some(path) if !path.trim().is_empty() => {
                    let folder = Path::new(file.name()).parent().unwrap_or(Path::new(""));
                    playbook = Some(folder.join(path));
                }
                _ => errors.push(
                    bad_file("the `tests` header names no playbook")
                        .with_primary(header.path.span, "a plain, non-empty path")
                        .with_help(HEADER_HELP),
                ),
            },
        }
        if let (Some(header), Some(item)) = (parsed.headers.first(), first_item) {
            if item.start < header.span.start {
                errors.push(
                    bad_file("the `tests` header comes first in a test file")
                        .with_primary(header.span, "move this to the top")
                        .with_secondary(item, "before the header"),
                );
            }
        }
        for extra in parsed.headers.iter().skip(1) {
            errors.push(
                bad_file("a test file tests one playbook: this is a second `tests` header")
                    .with_primary(extra.span, "second header")
                    .with_help("put the tests of another playbook in a test file of their own"),
            );
        }
        for item in &parsed.items {
            match item {
                Item::Test(test) => tests.push(test.clone()),
                other => errors.push(
                    bad_file("a test file holds only `test` blocks")
                        .with_primary(first_line(&file, other.span()), "not a test")
                        .with_help("declarations belong in the playbook the header names"),
                ),
            }
        }
    }
    TestFileSource {
        errors: errors.into_iter().map(|d| d.in_file(&file)).collect(),
        file,
        tests,
        playbook,
        header: header_span,
    }
}

const HEADER_HELP: &str = "start the file with `tests \"PLAYBOOK.ops\"`, the playbook's path \
                           relative to this file";

fn bad_file(message: &str) -> Diagnostic {
    Diagnostic::error(codes::TEST_BAD_FILE, message)
}

/// The first line of `span`, so a misplaced workflow is not underlined whole.
fn first_line(file: &SourceFile, span: Span) -> Span {
    let text = file.slice(span);
    Span::new(
        span.start,
        span.start + text.find('\n').unwrap_or(text.len()),
    )
}

/// Why the playbook `test` names cannot be used (`ops::test::no_playbook`
/// at its header): `why` completes "the playbook `PATH` …".
pub fn no_playbook(test: &TestFileSource, why: &str) -> Diagnostic {
    let path = test
        .playbook
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let header = test.header.unwrap_or(Span::point(0));
    Diagnostic::error(
        codes::TEST_NO_PLAYBOOK,
        format!("the playbook `{path}` {why}"),
    )
    .with_primary(header, "the tests run against this playbook")
    .with_help(if test.file.name() == source::STDIN_NAME {
        "read from stdin, the path is relative to the current directory"
    } else {
        "the path is relative to the test file's folder"
    })
    .in_file(&test.file)
}

/// The playbook's own key: its canonical path, so two spellings of one
/// file are one playbook.
pub fn key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Checks `test`'s blocks against `playbook`, after the names of `earlier`
/// tests (the playbook's own blocks and earlier test files).
pub fn check_against(
    test: &TestFileSource,
    playbook: &Playbook,
    earlier: &[&TestCase],
) -> Vec<Diagnostic> {
    let tests: Vec<&TestCase> = test.tests.iter().collect();
    analysis::check_tests(playbook, earlier, &tests, &test.file)
}

/// Every diagnostic of the test file at `path` for `coordops check`: its
/// structure, its playbook, and its tests. `earlier` keeps, by playbook,
/// the tests of test files checked before, so a name defined in two files
/// is reported.
pub fn check(file: SourceFile, earlier: &mut HashMap<PathBuf, Vec<TestCase>>) -> Vec<Diagnostic> {
    let test = read(file);
    let mut out = test.errors.clone();
    let Some(path) = &test.playbook else {
        return out;
    };
    let source = match source::load(path) {
        Ok(source) => source,
        Err(problem) => {
            let why = match problem.code {
                codes::IO_NOT_FOUND => "does not exist".to_string(),
                _ => format!("cannot be read: {}", problem.message),
            };
            out.push(no_playbook(&test, &why));
            return out;
        }
    };
    let checked = analysis::parse_and_check(&source);
    let playbook = match checked.playbook {
        Some(p) if !checked.diagnostics.iter().any(Diagnostic::is_error) => p,
        _ => {
            out.push(no_playbook(
                &test,
                "has errors (`coordops check` on it shows them)",
            ));
            return out;
        }
    };
    let others = earlier.entry(key(path)).or_default();
    let names: Vec<&TestCase> = playbook.tests().chain(others.iter()).collect();
    out.extend(check_against(&test, &playbook, &names));
    others.extend(test.tests.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(&'static str, String)> {
        read(SourceFile::new("dir/x.test.ops", text))
            .errors
            .into_iter()
            .map(|d| (d.code, d.message))
            .collect()
    }

    const TEST: &str = "test \"a\" {\n  signal OPS:X\n  expect status complete\n}\n";

    #[test]
    fn test_files_are_named_for_it() {
        assert!(is_test_file(Path::new("playbooks/coord_ops.test.ops")));
        assert!(!is_test_file(Path::new("playbooks/coord_ops.ops")));
        assert!(!is_test_file(Path::new(".test.ops")));
    }

    #[test]
    fn the_header_names_the_playbook_beside_the_file() {
        let read = read(SourceFile::new(
            "dir/x.test.ops",
            format!("tests \"../p.ops\"\n{TEST}"),
        ));
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        assert_eq!(read.playbook, Some(PathBuf::from("dir/../p.ops")));
        assert_eq!(read.tests.len(), 1);
    }

    #[test]
    fn missing_late_duplicate_and_empty_headers_are_bad_files() {
        let bad = |text: &str| {
            let found = problems(text);
            assert!(
                found.iter().all(|(c, _)| *c == codes::TEST_BAD_FILE),
                "{found:?}"
            );
            found
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(bad(TEST).contains("does not say which playbook"));
        assert!(bad(&format!("{TEST}tests \"p.ops\"\n")).contains("comes first"));
        assert!(bad(&format!("tests \"p.ops\"\ntests \"q.ops\"\n{TEST}")).contains("second"));
        assert!(bad(&format!("tests \"\"\n{TEST}")).contains("names no playbook"));
        assert!(bad(&format!("tests \"y.test.ops\"\n{TEST}")).contains("names a test file"));
    }

    #[test]
    fn declarations_other_than_tests_are_bad_files() {
        let found = problems("tests \"p.ops\"\nagent A {\n  task t\n}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("only `test` blocks"), "{found:?}");
    }

    #[test]
    fn syntax_errors_are_reported_as_in_playbooks() {
        let found = problems("tests \"p.ops\"\ntest \"a\" {\n  signal\n}\n");
        assert!(
            found.iter().any(|(c, _)| c.starts_with("ops::parse::")),
            "{found:?}"
        );
    }
}
