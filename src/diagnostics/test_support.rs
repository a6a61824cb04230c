//! Hand-built diagnostics shared by the format tests.

use super::{codes, Diagnostic};
use crate::ast::Span;
use crate::source::SourceFile;

/// The text of `demo.ops`: a multi-byte character before a labelled span,
/// and messages holding `%`, `:` and `,` for the escaping rules.
pub const DEMO_TEXT: &str = "coordinator OPS \"Operations\" {\n  gate 80\n}\n\nagent QA \"Qualité, tests\" { task review }\n";

/// The span of the first `needle` in [`DEMO_TEXT`].
pub fn span_of(needle: &str) -> Span {
    let start = DEMO_TEXT.find(needle).expect("needle in demo text");
    Span::new(start, start + needle.len())
}

/// Two fixed diagnostics in `demo.ops`: an error with help and two labels, and
/// a warning whose secondary label has no message.
pub fn demo_diagnostics() -> Vec<Diagnostic> {
    let source = SourceFile::new("demo.ops", DEMO_TEXT);
    vec![
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            "expected a percentage such as `80%`, found `80`",
        )
        .with_primary(span_of("80"), "a gate needs `%` here")
        .with_secondary(span_of("gate"), "the gate of this coordinator")
        .with_help("write `gate 80%`: at least 80% of agents must succeed")
        .in_file(&source),
        Diagnostic::warning(
            codes::LINT_UNUSED_TASK,
            "task `review` of agent `QA` is never called",
        )
        .with_primary(span_of("review"), "declared here")
        .with_secondary(span_of("QA"), "")
        .with_help("call it from a workflow step, or remove it")
        .in_file(&source),
    ]
}
