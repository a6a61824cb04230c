//! Syntax: source text → [`Playbook`] AST, or diagnostics.
//!
//! The pipeline for one file:
//! 1. reject empty files;
//! 2. a lexical [pre-scan](scan) bounds nesting depth and reports unclosed
//!    strings and brackets precisely;
//! 3. pest parses the whole file under a call budget;
//! 4. on failure, each top-level declaration is parsed on its own so that one
//!    run reports the first error of every broken declaration;
//! 5. on success the pairs are lowered into the AST.
//!
//! pest types never leave this module.

mod errors;
mod grammar;
mod lower;
mod scan;

use std::num::NonZeroUsize;
use std::sync::Once;

use pest::Parser;

use crate::ast::{Playbook, Span};
use crate::diagnostics::{codes, Diagnostic};
use crate::source::SourceFile;
use grammar::{OpsParser, Rule};

pub use errors::is_reserved;
pub use lower::{parse_duration, INTERNAL, MAX_DURATION_MS};

/// Deepest nesting of brackets, braces and string interpolations.
pub const MAX_NESTING: usize = 64;
/// Most operators (`and`, `==`, `not`, …) in one expression.
pub const MAX_OPERATORS: usize = 32;
/// Most syntax errors reported for one file.
pub const MAX_ERRORS_PER_FILE: usize = 20;
/// The parser's work budget (pest rule calls) for one parse.
pub const CALL_LIMIT: usize = 200_000_000;

/// The outcome of parsing one file.
#[derive(Debug)]
pub struct Parsed {
    /// The AST, when the file has no syntax errors.
    pub playbook: Option<Playbook>,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

fn configure_pest() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
        pest::set_error_detail(true);
    });
}

/// Parses a playbook.
pub fn parse(source: &SourceFile) -> Parsed {
    let diagnostics = |ds: Vec<Diagnostic>| Parsed {
        playbook: None,
        diagnostics: ds.into_iter().map(|d| d.in_file(source)).collect(),
    };
    let text = source.text();
    if is_blank(text) {
        return diagnostics(vec![Diagnostic::error(
            codes::PARSE_EMPTY,
            "this playbook is empty: it declares nothing",
        )
        .with_primary(Span::new(0, text.len()), "")
        .with_help("a playbook declares at least one `coordinator`, `agent`, `signal`, `route` or `workflow`; see docs/language.md")]);
    }
    if let Some(problem) = scan::scan(text) {
        return diagnostics(vec![problem]);
    }
    configure_pest();
    match OpsParser::parse(Rule::playbook, text) {
        Ok(mut pairs) => match pairs.next().map(lower::playbook) {
            Some(Ok(playbook)) => Parsed {
                playbook: Some(playbook),
                diagnostics: Vec::new(),
            },
            Some(Err(problem)) => diagnostics(vec![problem]),
            None => diagnostics(vec![lower::internal(Span::point(0), "no playbook")]),
        },
        Err(error) => diagnostics(recover(text, &error)),
    }
}

/// Whether the text holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

const TOP_LEVEL: &[&str] = &[
    "coordinator", "agent", "signal", "route", "workflow", "lock", "on", "test",
];

/// Start offsets of lines that begin, at column 0, with a top-level keyword.
fn declaration_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if offset > 0 && TOP_LEVEL.contains(&word.as_str()) {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
}

/// Reports the first error of each broken declaration.
fn recover(text: &str, whole: &pest::error::Error<Rule>) -> Vec<Diagnostic> {
    let starts = declaration_starts(text);
    let mut found = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        if let Err(error) = OpsParser::parse(Rule::playbook, &text[start..end]) {
            found.push(errors::translate(&error, text, start));
            if found.len() >= MAX_ERRORS_PER_FILE {
                break;
            }
        }
    }
    if found.is_empty() {
        // Chunks parse alone but not together: report the whole-file error.
        found.push(errors::translate(whole, text, 0));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Parsed {
        parse(&SourceFile::new("test.ops", text))
    }

    #[test]
    fn minimal_playbook_parses() {
        let parsed = parse_text("coordinator C { gate 80% timeout 2m }\n");
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.playbook.map(|p| p.items.len()), Some(1));
    }

    #[test]
    fn empty_and_comment_only_files_are_errors() {
        for text in ["", "  \n\t\n", "# only a comment\n"] {
            let parsed = parse_text(text);
            assert_eq!(parsed.diagnostics[0].code, codes::PARSE_EMPTY, "{text:?}");
        }
    }

    #[test]
    fn recovery_reports_each_broken_declaration() {
        let text = "agent A { task }\nagent B { timeout }\nagent C { }\n";
        let parsed = parse_text(text);
        assert_eq!(parsed.diagnostics.len(), 2, "{:?}", parsed.diagnostics);
    }
}
