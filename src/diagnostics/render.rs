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

    #[test]
    fn labels_far_apart_get_a_snippet_each() {
        let text: String = (1..=400).map(|i| format!("line {i}\n")).collect();
        let at = |line: usize| {
            text.match_indices("line ")
                .nth(line - 1)
                .map_or(0, |(i, _)| i)
        };
        let source = SourceFile::new("far.ops", text.clone());
        let d = Diagnostic::error("ops::check::undefined_field", "far apart")
            .with_primary(Span::new(at(330), at(330) + 4), "used here")
            .with_secondary(Span::new(at(190), at(190) + 4), "declared here")
            .in_file(&source);
        let out = render(&d, RenderOptions::default());
        assert!(out.lines().count() < 30, "{out}");
        assert!(!out.contains("line 260"), "{out}");
        let near = Diagnostic::error("ops::check::undefined_field", "near")
            .with_primary(Span::new(at(196), at(196) + 4), "used here")
            .with_secondary(Span::new(at(190), at(190) + 4), "declared here")
            .in_file(&source);
        let out = render(&near, RenderOptions::default());
        assert_eq!(
            out.matches("far.ops:").count(),
            1,
            "one snippet holds both: {out}"
        );
    }

    fn warnings(source: &SourceFile, n: usize) -> Vec<Diagnostic> {
        (0..n)
            .map(|i| {
                Diagnostic::warning("ops::lint::unused_agent", format!("w{i}"))
                    .with_primary(Span::new(i, i + 1), "")
                    .in_file(source)
            })
            .collect()
    }

    #[test]
    fn each_file_shows_at_most_the_cap_then_counts_the_rest() {
        let a = SourceFile::new("a.ops", "x".repeat(10));
        let b = SourceFile::new("b.ops", "y".repeat(10));
        let mut all = warnings(&a, 5);
        all.extend(warnings(&b, 2));
        all.push(Diagnostic::error("ops::io::not_found", "no file"));
        let out = render_capped(&all, RenderOptions::default(), 3);
        assert_eq!(out.matches("a.ops:").count(), 3, "{out}");
        assert_eq!(out.matches("b.ops:").count(), 2, "{out}");
        assert!(
            out.contains(
                "… and 2 more in a.ops (0 errors, 2 warnings; `--format json` lists them all)"
            ),
            "{out}"
        );
        assert!(!out.contains("more in b.ops"), "{out}");
        assert!(out.contains("no file"), "{out}");
    }

    #[test]
    fn under_the_cap_output_is_unchanged() {
        let a = SourceFile::new("a.ops", "x".repeat(10));
        let all = warnings(&a, 4);
        let options = RenderOptions::default();
        assert_eq!(render_capped(&all, options, 4), render_all(&all, options));
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

/// Most diagnostics rendered per file in the human format; the rest are
/// counted in one line (machine formats list them all).
pub const MAX_SHOWN_PER_FILE: usize = 200;

/// Renders diagnostics (sorted by file) separated by blank lines, at most
/// `max_per_file` of each file, then one line per file saying how many more
/// there are.
pub fn render_capped(
    diagnostics: &[Diagnostic],
    options: RenderOptions,
    max_per_file: usize,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let file = |d: &Diagnostic| d.source.as_ref().map(|s| s.name().to_string());
    let mut rest = diagnostics;
    while let Some(first) = rest.first() {
        let name = file(first);
        let len = rest.iter().take_while(|d| file(d) == name).count();
        let (group, after) = rest.split_at(len);
        rest = after;
        let shown = match name {
            Some(_) => max_per_file.min(len),
            None => len,
        };
        parts.extend(group[..shown].iter().map(|d| render(d, options)));
        if let (Some(name), Some(hidden)) = (&name, group.get(shown..)) {
            if !hidden.is_empty() {
                parts.push(more_line(name, hidden));
            }
        }
    }
    parts.join("\n")
}

/// "… and N more in FILE (E errors, W warnings; `--format json` lists them all)".
fn more_line(name: &str, hidden: &[Diagnostic]) -> String {
    let errors = hidden.iter().filter(|d| d.is_error()).count();
    let warnings = hidden.len() - errors;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "… and {} more in {name} ({errors} error{}, {warnings} warning{}; `--format json` lists them all)\n",
        hidden.len(),
        plural(errors),
        plural(warnings),
    )
}

/// Renders many diagnostics, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], options: RenderOptions) -> String {
    diagnostics
        .iter()
        .map(|d| render(d, options))
        .collect::<Vec<_>>()
        .join("\n")
}
