//! `coordops fmt`: one canonical layout for playbooks, comments kept.
//!
//! The formatter prints the AST back as text, in source order, with the
//! comments from the syntax layer's [`Comments`](crate::syntax::Comments)
//! table put back where they were. The rules (docs/fmt.md):
//!
//! - two spaces per level of nesting; one space around operators, after
//!   commas and colons; one declaration, member, statement or test line per
//!   line;
//! - blank lines kept where the author left them (at most one), never right
//!   after `{` or before `}`;
//! - argument lists, lists, maps and field blocks on one line when written on
//!   one line and they fit in [`WIDTH`] columns, otherwise one entry per line;
//! - a step's options, a check's condition and a route's `=> target` stay on
//!   their line or on a continuation line, as written;
//! - runs of one-line routes aligned as a table;
//! - literals (strings, durations, regexes) exactly as written.
//!
//! The result is checked before it is returned: it must parse to the same
//! AST (spans aside) with the same comments, or formatting fails with
//! `ops::fmt::internal` and the file is left alone.

mod decl;
mod expr;
mod printer;
mod stmt;
mod test_case;

pub use printer::WIDTH;

use std::path::Path;

use crate::ast::{Playbook, Span, TestFile};
use crate::diagnostics::Diagnostic;
use crate::source::SourceFile;
use crate::syntax::{self, Comments};
use crate::testing::test_file::is_test_file;

/// The code of a formatter fault: its output would not mean the same.
pub const INTERNAL: &str = "ops::fmt::internal";

/// Formats a playbook's text; syntax errors come back as diagnostics.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    format_file(&SourceFile::new("<stdin>", text))
}

/// What a formatted file holds.
#[derive(PartialEq)]
enum Tree {
    /// A playbook.
    Playbook(Playbook),
    /// A `*.test.ops` test file.
    Tests(TestFile),
}

/// Whether `file` is a test file: named `*.test.ops`, or (read from stdin)
/// starting with a `tests "PATH"` header.
pub fn is_test_source(file: &SourceFile) -> bool {
    if is_test_file(Path::new(file.name())) {
        return true;
    }
    let first = file
        .text()
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with('#'));
    file.name() == "<stdin>"
        && first.is_some_and(|line| {
            line.strip_prefix("tests")
                .is_some_and(|rest| rest.trim_start().starts_with('"'))
        })
}

/// Parses a playbook or test file with its comments.
fn parse(file: &SourceFile) -> (Result<Tree, Vec<Diagnostic>>, Comments) {
    if is_test_source(file) {
        let (parsed, comments) = syntax::parse_test_file_with_comments(file);
        (
            parsed.file.map(Tree::Tests).ok_or(parsed.diagnostics),
            comments,
        )
    } else {
        let (parsed, comments) = syntax::parse_with_comments(file);
        let tree = parsed.playbook.map(Tree::Playbook);
        (tree.ok_or(parsed.diagnostics), comments)
    }
}

/// Formats one file (a playbook, or a test file when it is named
/// `*.test.ops`); syntax errors come back as diagnostics in that file.
pub fn format_file(file: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let (tree, comments) = parse(file);
    let tree = tree?;
    let formatted = match &tree {
        Tree::Playbook(playbook) => print(file.text(), playbook, &comments),
        Tree::Tests(tests) => print_test_file(file.text(), tests, &comments),
    };
    let (again, again_comments) = parse(&SourceFile::new(file.name(), formatted.as_str()));
    let same = again.as_ref().ok() == Some(&tree) && texts(&again_comments) == texts(&comments);
    if !same {
        let problem = Diagnostic::error(
            INTERNAL,
            "fmt could not format this playbook without changing it; the file was left alone",
        )
        .with_primary(Span::new(0, 0), "")
        .with_help("please report this with the file: it is a bug in `coordops fmt`");
        return Err(vec![problem.in_file(file)]);
    }
    Ok(formatted)
}

/// Prints a parsed playbook and its comments in the canonical layout.
pub fn print(text: &str, playbook: &Playbook, comments: &Comments) -> String {
    let mut printer = printer::Printer::new(text, comments.all());
    printer.items(&playbook.items);
    printer.finish()
}

/// Prints a parsed test file and its comments in the canonical layout.
pub fn print_test_file(text: &str, tests: &TestFile, comments: &Comments) -> String {
    let mut printer = printer::Printer::new(text, comments.all());
    printer.test_file(tests);
    printer.finish()
}

fn texts(comments: &Comments) -> Vec<&str> {
    comments.all().iter().map(|c| c.text.as_str()).collect()
}

#[cfg(test)]
mod tests;
