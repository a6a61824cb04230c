//! Error recovery: when a file does not parse, each top-level declaration
//! is parsed on its own, so that one run reports the first error of every
//! broken declaration.

use pest::Parser;

use super::grammar::{OpsParser, Rule};
use super::{errors, lower, MAX_ERRORS_PER_FILE};
use crate::ast::Span;
use crate::diagnostics::Diagnostic;

const TOP_LEVEL: &[&str] = &[
    "coordinator",
    "agent",
    "signal",
    "route",
    "workflow",
    "lock",
    "on",
    "test",
    "tests",
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
pub(super) fn recover(text: &str, rule: Rule) -> Vec<Diagnostic> {
    let starts = declaration_starts(text);
    let mut found = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        if let Err(error) = OpsParser::parse(rule, &text[start..end]) {
            found.push(errors::translate(&error, text, start));
            if found.len() >= MAX_ERRORS_PER_FILE {
                break;
            }
        }
    }
    if found.is_empty() {
        // Chunks parse alone but not together: report the whole-file error.
        found.push(match OpsParser::parse(rule, text) {
            Err(whole) => errors::translate(&whole, text, 0),
            Ok(_) => lower::internal(Span::point(0), "a parse failed only without error detail"),
        });
    }
    found
}
