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

mod duration;
mod errors;
mod grammar;
mod hints;
mod keywords;
mod lower;
#[cfg(test)]
mod lowering_tests;
mod recover;
mod scan;
mod trivia;

use std::num::NonZeroUsize;
use std::sync::{Mutex, Once};

use pest::Parser;

use crate::ast::{Playbook, Span, TestFile};
use crate::diagnostics::{codes, Diagnostic};
use crate::source::SourceFile;
use grammar::{OpsParser, Rule};
use recover::recover;

pub use duration::{duration_ms, parse_duration, DurationError, MAX_DURATION_MS};
pub use keywords::is_reserved;
pub use lower::INTERNAL;
pub use trivia::{Comment, Comments};

/// Deepest nesting of brackets, braces and string interpolations.
pub const MAX_NESTING: usize = 64;
/// Most operators (`and`, `==`, `not`, …) in one expression.
pub const MAX_OPERATORS: usize = 32;
/// Most syntax errors reported for one file.
pub const MAX_ERRORS_PER_FILE: usize = 20;
/// The parser's work budget (pest rule calls) for one parse. A 4 MiB file of
/// ordinary declarations needs under 25 million; a single pathological
/// construct (a list of a million items) exceeds it and is reported as
/// `ops::parse::too_complex` instead of taking seconds.
pub const CALL_LIMIT: usize = 50_000_000;

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
    });
}

/// Serialises the re-parses that need pest's error detail.
static DETAIL: Mutex<()> = Mutex::new(());

/// Runs `f` with pest's (process-global) error-detail tracking on.
///
/// Tracking costs on every rule call, so ordinary parses run without it and
/// only the re-parse that builds an error message turns it on. The lock keeps
/// concurrent detailed re-parses from switching it off under each other;
/// parses in other threads meanwhile only use the outcome, never the detail.
fn with_error_detail<T>(f: impl FnOnce() -> T) -> T {
    let _guard = DETAIL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(true);
    let result = f();
    pest::set_error_detail(false);
    result
}

thread_local! {
    static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many files [`parse`] has parsed on this thread (for tests that prove a
/// command parses its playbook once).
#[doc(hidden)]
pub fn parses_on_this_thread() -> usize {
    PARSES.with(|p| p.get())
}

/// Parses a playbook.
pub fn parse(source: &SourceFile) -> Parsed {
    let (playbook, diagnostics) = parse_as(source, Rule::playbook, lower::playbook, None);
    Parsed {
        playbook,
        diagnostics,
    }
}

/// Parses a playbook and also returns its comments (empty when it does not
/// parse): the lossless layer for `fmt` and the language server.
pub fn parse_with_comments(source: &SourceFile) -> (Parsed, Comments) {
    let mut comments = Comments::default();
    let (playbook, diagnostics) =
        parse_as(source, Rule::playbook, lower::playbook, Some(&mut comments));
    let parsed = Parsed {
        playbook,
        diagnostics,
    };
    (parsed, comments)
}

/// The outcome of parsing one `*.test.ops` file.
#[derive(Debug)]
pub struct ParsedTestFile {
    /// The AST, when the file has no syntax errors.
    pub file: Option<TestFile>,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a test file: `tests "PLAYBOOK"` headers and declarations (which
/// of them belong there is for [`crate::testing::test_file`] to say).
pub fn parse_test_file(source: &SourceFile) -> ParsedTestFile {
    let (file, diagnostics) = parse_as(source, Rule::test_file, lower::test_file, None);
    ParsedTestFile { file, diagnostics }
}

/// Parses a test file and also returns its comments (empty when it does not
/// parse).
pub fn parse_test_file_with_comments(source: &SourceFile) -> (ParsedTestFile, Comments) {
    let mut comments = Comments::default();
    let (file, diagnostics) = parse_as(
        source,
        Rule::test_file,
        lower::test_file,
        Some(&mut comments),
    );
    (ParsedTestFile { file, diagnostics }, comments)
}

/// Parses `source` as `rule` and lowers it with `lower`, collecting its
/// comments into `comments` when asked.
fn parse_as<T>(
    source: &SourceFile,
    rule: Rule,
    lower: fn(pest::iterators::Pair<'_, Rule>) -> Result<T, Diagnostic>,
    comments: Option<&mut Comments>,
) -> (Option<T>, Vec<Diagnostic>) {
    PARSES.with(|p| p.set(p.get() + 1));
    let diagnostics =
        |ds: Vec<Diagnostic>| (None, ds.into_iter().map(|d| d.in_file(source)).collect());
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
    match OpsParser::parse(rule, text) {
        Ok(mut pairs) => match pairs.next().map(|pair| {
            if let Some(comments) = comments {
                *comments = trivia::collect(text, &pair);
            }
            lower(pair)
        }) {
            Some(Ok(lowered)) => (Some(lowered), Vec::new()),
            Some(Err(problem)) => diagnostics(vec![problem]),
            None => diagnostics(vec![lower::internal(Span::point(0), "no playbook")]),
        },
        Err(_) => diagnostics(with_error_detail(|| recover(text, rule))),
    }
}

/// Byte offset of the `#` that starts a comment on `line`, if any: a `#`
/// inside a string or a regex is text. `line` must start outside a string.
pub fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"') => quote = Some('"'),
            (None, '/') => quote = Some('/'),
            (None, '#') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether the text holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

/// Prints pest's raw error data (rules and tokens) for grammar tuning.
#[doc(hidden)]
pub fn debug_pest_error(text: &str) {
    configure_pest();
    if let Err(e) = with_error_detail(|| OpsParser::parse(Rule::playbook, text)) {
        if let pest::error::ErrorVariant::ParsingError {
            positives,
            negatives,
        } = &e.variant
        {
            println!(
                "at {:?}: positives {positives:?} negatives {negatives:?}",
                e.location
            );
        }
        if let Some(a) = e.parse_attempts() {
            println!("  tokens {:?}", a.expected_tokens());
            println!("  stacks {:?}", a.call_stacks());
        }
    }
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
    fn group_labels_parse_before_the_for_clause_and_settings() {
        let ok = "workflow w {\n  parallel audit for x in xs gate 80% timeout 1m {\n    A.t()\n  }\n  parallel gate 80% {\n    A.t()\n  }\n  parallel timeout 1m {\n    A.t()\n  }\n}\n";
        let parsed = parse_text(ok);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let late = "workflow w {\n  parallel audit gate 80% for x in xs {\n    A.t()\n  }\n}\n";
        let parsed = parse_text(late);
        let help = parsed.diagnostics[0].help.clone().unwrap_or_default();
        assert!(
            help.contains("parallel audit for x in xs gate 80%"),
            "{help}"
        );
    }

    #[test]
    fn recovery_reports_each_broken_declaration() {
        let text = "agent A { task }\nagent B { timeout }\nagent C { }\n";
        let parsed = parse_text(text);
        assert_eq!(parsed.diagnostics.len(), 2, "{:?}", parsed.diagnostics);
    }
}
