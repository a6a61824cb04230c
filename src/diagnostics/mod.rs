//! Diagnostics: one type for every phase, with stable codes.
//!
//! A [`Diagnostic`] carries spans, not text; it renders through miette with
//! the [`SourceFile`] it belongs to. Codes are namespaced by phase
//! (`ops::io::…`, `ops::parse::…`) and listed in [`codes`].
//!
//! Besides miette's report for people ([`render`]), diagnostics print as
//! [`json`], GitHub Actions workflow commands ([`github`]) and [`sarif`] for
//! `coordops check --format`.

pub mod codes;
pub mod github;
pub mod json;
mod location;
mod render;
pub mod sarif;
#[cfg(test)]
mod test_support;
pub(crate) mod window;

pub use render::{render, render_all, render_capped, RenderOptions, MAX_SHOWN_PER_FILE};

use std::fmt;

use miette::{LabeledSpan, SourceCode};
use serde::Serialize;

use crate::ast::Span;
use crate::source::{clamp_span, SourceFile};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Stops the playbook from being run.
    Error,
    /// Worth fixing; an error under `--deny-warnings`.
    Warning,
}

/// A labelled place in the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// The text it points at.
    pub span: Span,
    /// What to say there.
    pub message: Option<String>,
    /// Whether this is the main place of the diagnostic.
    pub primary: bool,
}

/// A problem found in a playbook, with a stable code.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// Stable code such as `ops::parse::unexpected_token`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One-sentence description.
    pub message: String,
    /// Places in the source; the primary one first.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// The file the labels point into (absent for errors about a path).
    pub source: Option<SourceFile>,
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            source: None,
        }
    }

    /// A new warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds the primary label.
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.insert(
            0,
            Label {
                span,
                message: Some(message.into()).filter(|m: &String| !m.is_empty()),
                primary: true,
            },
        );
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: Some(message.into()).filter(|m: &String| !m.is_empty()),
            primary: false,
        });
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attaches the source file the labels point into.
    pub fn in_file(mut self, source: &SourceFile) -> Self {
        self.source = Some(source.clone());
        self
    }

    /// The primary label's span, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let source = self.source.as_ref()?;
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(move |label| {
            let text = source.text();
            let mut span = clamp_span(text, label.span);
            // miette draws nothing for an empty span at the very end of a
            // file; point at the last character instead.
            if span.is_empty() && span.start == text.len() && !text.is_empty() {
                let last = text.chars().next_back().map_or(1, char::len_utf8);
                span = Span::new(text.len() - last, text.len());
            }
            let offsets = miette::SourceSpan::new(span.start.into(), span.len());
            if label.primary {
                LabeledSpan::new_primary_with_span(label.message.clone(), offsets)
            } else {
                LabeledSpan::new_with_span(label.message.clone(), offsets)
            }
        })))
    }
}

/// Sorts diagnostics by file, then position, then code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let file = |d: &Diagnostic| d.source.as_ref().map(|s| s.name().to_string());
        let pos = |d: &Diagnostic| d.primary_span().map(|s| (s.start, s.end));
        (file(a), pos(a), a.code).cmp(&(file(b), pos(b), b.code))
    });
}
