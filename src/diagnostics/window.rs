//! Reading a span for miette from a window of lines around it.
//!
//! miette's `SourceCode` for `str` finds a span's line by scanning from the
//! start of the text, for every label of every rendered diagnostic: rendering
//! thousands of diagnostics of a large file was quadratic. [`read_span`]
//! hands miette only the lines around the span (found by binary search in
//! the file's line starts) and shifts the answer back, so each read costs the
//! size of its window.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan};

/// Extra lines read on each side of the context miette asked for, so that
/// its scan stops inside the window exactly where it would in the whole text.
const MARGIN: usize = 2;

/// What miette's `str::read_span` answers for `text`, reading only the lines
/// around `span` (with `line_count` counted from the context's first line,
/// see [`lines_after_start`]). `line_starts` are the byte offsets where lines start (the
/// first is 0); with `lone_cr` (a `\r` not followed by `\n`, which miette
/// also counts as a line break) the whole text is read.
pub fn read_span<'a>(
    text: &'a str,
    line_starts: &[usize],
    lone_cr: bool,
    span: &SourceSpan,
    before: usize,
    after: usize,
) -> Result<MietteSpanContents<'a>, MietteError> {
    if lone_cr || line_starts.first() != Some(&0) {
        return whole(text, span, before, after, 0, 0);
    }
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) - 1;
    let start = span.offset().min(text.len());
    let end = span.offset().saturating_add(span.len()).min(text.len());
    let from_line = line_of(start).saturating_sub(before.saturating_add(MARGIN));
    let to_line = line_of(end)
        .saturating_add(after)
        .saturating_add(MARGIN + 1);
    let from = line_starts[from_line];
    let to = line_starts.get(to_line).copied().unwrap_or(text.len());
    whole(&text[from..to], span, before, after, from, from_line)
}

/// miette's answer for `window`, a slice of the text starting at byte `from`
/// on line `from_line`, moved back to the whole text's offsets and lines.
fn whole<'a>(
    window: &'a str,
    span: &SourceSpan,
    before: usize,
    after: usize,
    from: usize,
    from_line: usize,
) -> Result<MietteSpanContents<'a>, MietteError> {
    counter::add(window.len());
    let inner = SourceSpan::new(span.offset().saturating_sub(from).into(), span.len());
    let contents = window.read_span(&inner, before, after)?;
    let data: &'a [u8] = contents.data();
    let shown = SourceSpan::new(
        (contents.span().offset() + from).into(),
        contents.span().len(),
    );
    Ok(MietteSpanContents::new(
        data,
        shown,
        contents.line() + from_line,
        contents.column(),
        lines_after_start(contents.line(), contents.line_count()),
    ))
}

/// miette's `str` answers as `line_count` the line breaks from the start of
/// the *text* to the end of the context, but its graphical handler merges
/// two labels' snippets when `line + line_count` reaches the next one's
/// line: a label on line 190 and one on line 330 became one snippet of 140
/// lines. Counting from the context's first line, plus [`MERGE_GAP`],
/// merges the snippets that overlap or are at most that many lines apart.
fn lines_after_start(line: usize, line_count: usize) -> usize {
    line_count.saturating_sub(line) + MERGE_GAP
}

/// Two labels' snippets this many lines apart or fewer are shown as one
/// (the lines between included), as a reader would want.
const MERGE_GAP: usize = 3;

/// Bytes handed to miette's scan, so that a test can tell linear rendering
/// from quadratic without timing anything.
#[cfg(test)]
pub(crate) mod counter {
    use std::cell::Cell;

    thread_local! {
        static SCANNED: Cell<usize> = const { Cell::new(0) };
    }

    /// Records `n` bytes scanned.
    pub fn add(n: usize) {
        SCANNED.with(|c| c.set(c.get() + n));
    }

    /// The count since the last call, on this thread.
    pub fn take() -> usize {
        SCANNED.with(|c| c.replace(0))
    }
}

/// Outside tests, counting is free.
#[cfg(not(test))]
mod counter {
    /// Does nothing.
    #[inline(always)]
    pub fn add(_: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::SpanContents;
    use proptest::prelude::*;

    fn starts(text: &str) -> Vec<usize> {
        std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    }

    type Answer = Result<(Vec<u8>, usize, usize, usize, usize, usize), String>;

    fn answer(r: Result<Box<dyn SpanContents<'_> + '_>, MietteError>) -> Answer {
        r.map(|c| {
            (
                c.data().to_vec(),
                c.span().offset(),
                c.span().len(),
                c.line(),
                c.column(),
                c.line_count(),
            )
        })
        .map_err(|e| e.to_string())
    }

    fn windowed(text: &str, span: &SourceSpan, before: usize, after: usize) -> Answer {
        answer(
            read_span(text, &starts(text), false, span, before, after)
                .map(|c| Box::new(c) as Box<dyn SpanContents<'_>>),
        )
    }

    proptest! {
        #[test]
        fn windows_answer_what_the_whole_text_answers(
            lines in proptest::collection::vec("[a-zé€ \t]{0,12}", 1..40),
            crlf in any::<bool>(),
            at in 0usize..600,
            len in 0usize..60,
            before in 0usize..4,
            after in 0usize..4,
        ) {
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            let at = at.min(text.len());
            let span = SourceSpan::new(at.into(), len.min(text.len() - at));
            let expected = answer(text.as_str().read_span(&span, before, after))
                .map(|(data, offset, len, line, column, count)| {
                    (data, offset, len, line, column, lines_after_start(line, count))
                });
            prop_assert_eq!(windowed(&text, &span, before, after), expected);
        }
    }

    #[test]
    fn reading_a_span_scans_its_lines_not_the_file() {
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let lines = starts(&text);
        counter::take();
        for i in (0..20_000).step_by(100) {
            let span = SourceSpan::new(lines[i].into(), 4);
            read_span(&text, &lines, false, &span, 1, 1)
                .map(|_| ())
                .unwrap();
        }
        let scanned = counter::take();
        // 200 reads of a few short lines each, not 200 × 200 KB.
        assert!(scanned < 200 * 200, "scanned {scanned} bytes");
    }

    #[test]
    fn lone_carriage_returns_read_the_whole_text() {
        let text = "a\rb\nc\rd\ne";
        let span = SourceSpan::new(8.into(), 1);
        let expected =
            answer(text.read_span(&span, 1, 1)).map(|(data, offset, len, line, column, count)| {
                (
                    data,
                    offset,
                    len,
                    line,
                    column,
                    lines_after_start(line, count),
                )
            });
        let got = answer(
            read_span(text, &starts(text), true, &span, 1, 1)
                .map(|c| Box::new(c) as Box<dyn SpanContents<'_>>),
        );
        assert_eq!(got, expected);
    }
}
