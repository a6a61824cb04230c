//! Rendering diagnostics for people with miette's graphical handler.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::Diagnostic;

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

/// Renders one diagnostic as miette's graphical report.
pub fn render(diagnostic: &Diagnostic, options: RenderOptions) -> String {
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
