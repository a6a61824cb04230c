//! Rendering diagnostics for people with miette's graphical handler.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::Diagnostic;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;
    use crate::source::SourceFile;

    #[test]
    fn very_long_lines_render_without_a_snippet() {
        let text = format!("x = [{}]", "1,".repeat(40_000));
        let source = SourceFile::new("long.ops", text);
        let d = Diagnostic::error("ops::parse::unexpected_token", "bad")
            .with_primary(Span::new(70_000, 70_001), "here")
            .in_file(&source);
        let out = render(&d, RenderOptions::default());
        assert!(out.contains("long.ops:1:70001"), "{out}");
    }
}

/// How to render: colour and width are explicit so output is reproducible.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// Wrap at this many columns.
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: 100,
        }
    }
}

/// Longest source line shown in a snippet; past it the location is printed
/// instead (miette cannot lay out columns beyond 65535, and nobody can read
/// such a line anyway).
pub const MAX_SNIPPET_LINE: usize = 2_000;

/// The diagnostic without its snippet when a labelled line is too long.
fn without_long_lines(diagnostic: &Diagnostic) -> Option<Diagnostic> {
    let source = diagnostic.source.as_ref()?;
    let too_long = diagnostic.labels.iter().any(|label| {
        // Counts at most MAX_SNIPPET_LINE + 1 characters of the line.
        let line = source.slice(source.line_span(label.span.start));
        line.chars().nth(MAX_SNIPPET_LINE).is_some()
    });
    if !too_long {
        return None;
    }
    let mut plain = diagnostic.clone();
    let where_ = diagnostic.primary_span().map(|span| {
        let (line, column) = source.line_col(span.start);
        format!(
            " (at {}:{line}:{column}; the line is too long to show)",
            source.name()
        )
    });
    plain.message.push_str(&where_.unwrap_or_default());
    plain.labels.clear();
    plain.source = None;
    Some(plain)
}

/// Renders one diagnostic as miette's graphical report.
pub fn render(diagnostic: &Diagnostic, options: RenderOptions) -> String {
    if let Some(plain) = without_long_lines(diagnostic) {
        return render(&plain, options);
    }
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .tab_width(4);
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        // Rendering into a String cannot fail on I/O; fall back to plain text.
        out = format!("{}: {}\n", diagnostic.code, diagnostic.message);
    }
    out
}

/// Renders many diagnostics, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], options: RenderOptions) -> String {
    diagnostics
        .iter()
        .map(|d| render(d, options))
        .collect::<Vec<_>>()
        .join("\n")
}
