//! Where a diagnostic points, in the units the machine-readable formats use.
//!
//! Every span is clamped with [`clamp_span`] first, so offsets always lie on
//! character boundaries inside the text. Lines and columns are 1-based and
//! agree with [`SourceFile::line_col`]: a column counts Unicode scalar values
//! (a tab or a `é` is one column), and only `\n` ends a line (in CRLF text the
//! `\r` is the last column of its line).

use std::collections::HashMap;

use super::{Diagnostic, Label};
use crate::ast::Span;
use crate::source::{clamp_span, SourceFile};

/// A span resolved against its source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub column: usize,
    /// 1-based line of the end (exclusive) position.
    pub end_line: usize,
    /// 1-based column (in characters) just past the last character.
    pub end_column: usize,
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
}

/// The label a diagnostic's position comes from: the primary one, else the first.
pub(crate) fn main_label(diagnostic: &Diagnostic) -> Option<&Label> {
    diagnostic
        .labels
        .iter()
        .find(|l| l.primary)
        .or_else(|| diagnostic.labels.first())
}

/// Resolves spans to lines and columns, indexing each file's lines once.
///
/// [`SourceFile::line_col`] scans the text from the start on every call; a
/// report with many diagnostics in one large file would be quadratic.
#[derive(Default)]
pub(crate) struct Locator {
    /// Line start offsets, keyed by the address and length of the text.
    lines: HashMap<(usize, usize), Vec<usize>>,
}

impl Locator {
    /// A locator with no files indexed yet.
    pub fn new() -> Self {
        Locator::default()
    }

    /// Clamps `span` into `source` and resolves both ends.
    pub fn resolve(&mut self, source: &SourceFile, span: Span) -> Resolved {
        let span = clamp_span(source.text(), span);
        let (line, column) = self.line_col(source, span.start);
        let (end_line, end_column) = self.line_col(source, span.end);
        Resolved {
            line,
            column,
            end_line,
            end_column,
            offset: span.start,
            length: span.len(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset, exactly as
    /// [`SourceFile::line_col`] computes them.
    pub fn line_col(&mut self, source: &SourceFile, offset: usize) -> (usize, usize) {
        let text = source.text();
        let offset = clamp_span(text, Span::point(offset)).start;
        let starts = self
            .lines
            .entry((text.as_ptr() as usize, text.len()))
            .or_insert_with(|| line_starts(text));
        // `starts[0] == 0 <= offset`, so at least one start qualifies.
        let index = starts.partition_point(|&start| start <= offset) - 1;
        let column = text[starts[index]..offset].chars().count() + 1;
        (index + 1, column)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str, start: usize, end: usize) -> Resolved {
        Locator::new().resolve(&SourceFile::new("t.ops", text), Span::new(start, end))
    }

    #[test]
    fn agrees_with_source_line_col_everywhere() {
        let texts = [
            "",
            "\n",
            "a\r\nb\r\n",
            "\tagent X {\n\t\ttimeout 30s\n}",
            "é€😀x\ny\u{301}z\r\n\r\nlast",
        ];
        for text in texts {
            let source = SourceFile::new("t.ops", text);
            let mut locator = Locator::new();
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    locator.line_col(&source, offset),
                    source.line_col(offset),
                    "offset {offset} in {text:?}"
                );
            }
        }
    }

    #[test]
    fn crlf_lines_end_at_the_newline() {
        let text = "ab\r\ncd\r\nef";
        // `c` is the first column of line 2.
        let r = resolve(text, 4, 5);
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (2, 1, 2, 2));
        // A span over the `\r\n` ends at the start of the next line.
        let r = resolve(text, 2, 4);
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (1, 3, 2, 1));
        // `e` on line 3.
        let r = resolve(text, 8, 10);
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (3, 1, 3, 3));
        assert_eq!((r.offset, r.length), (8, 2));
    }

    #[test]
    fn tabs_are_one_column() {
        let text = "agent A {\n\t\ttimeout 30\n}";
        let start = text.find("30").unwrap();
        let r = resolve(text, start, start + 2);
        assert_eq!((r.line, r.column, r.end_column), (2, 11, 13));
    }

    #[test]
    fn multibyte_characters_are_one_column_but_several_bytes() {
        let text = "# café €\nsignal 😀 x";
        let x = text.rfind('x').unwrap();
        let r = resolve(text, x, x + 1);
        // "signal " (7) + "😀" (1) + " " (1) → `x` is column 10.
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (2, 10, 2, 11));
        assert_eq!((r.offset, r.length), (x, 1));
        let euro = text.find('€').unwrap();
        let r = resolve(text, euro, euro + 3);
        assert_eq!((r.column, r.end_column, r.length), (8, 9, 3));
    }

    #[test]
    fn spans_are_clamped_onto_boundaries_and_into_the_text() {
        let text = "aé€b";
        // Starts inside `é` (bytes 1..3): widened to the whole character.
        let r = resolve(text, 2, 3);
        assert_eq!((r.offset, r.length, r.column, r.end_column), (1, 2, 2, 3));
        // Past the end: an empty span at the end.
        let r = resolve(text, 50, 90);
        assert_eq!((r.offset, r.length, r.column, r.end_column), (7, 0, 5, 5));
    }

    #[test]
    fn main_label_prefers_the_primary_one() {
        let d = Diagnostic::error("x", "m")
            .with_secondary(Span::new(5, 6), "second")
            .with_primary(Span::new(1, 2), "first");
        assert_eq!(main_label(&d).map(|l| l.span.start), Some(1));
        let mut only_secondary = Diagnostic::error("x", "m").with_secondary(Span::new(5, 6), "");
        assert_eq!(main_label(&only_secondary).map(|l| l.span.start), Some(5));
        only_secondary.labels.clear();
        assert!(main_label(&only_secondary).is_none());
    }
}
