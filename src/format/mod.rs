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

use crate::ast::{Playbook, Span};
use crate::diagnostics::Diagnostic;
use crate::source::SourceFile;
use crate::syntax::{self, Comments};

/// The code of a formatter fault: its output would not mean the same.
pub const INTERNAL: &str = "ops::fmt::internal";

/// Formats a playbook's text; syntax errors come back as diagnostics.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    format_file(&SourceFile::new("<stdin>", text))
}

/// Formats one file; syntax errors come back as diagnostics in that file.
pub fn format_file(file: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let (parsed, comments) = syntax::parse_with_comments(file);
    let Some(playbook) = parsed.playbook else {
        return Err(parsed.diagnostics);
    };
    let formatted = print(file.text(), &playbook, &comments);
    let (again, again_comments) =
        syntax::parse_with_comments(&SourceFile::new(file.name(), formatted.as_str()));
    let same =
        again.playbook.as_ref() == Some(&playbook) && texts(&again_comments) == texts(&comments);
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

fn texts(comments: &Comments) -> Vec<&str> {
    comments.all().iter().map(|c| c.text.as_str()).collect()
}

#[cfg(test)]
mod tests;
