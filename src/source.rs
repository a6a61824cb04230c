//! Playbook source files: loading them from disk with clear errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::ast::Span;
use crate::diagnostics::{codes, Diagnostic};

/// The largest playbook file coordops reads, in bytes (4 MiB).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A playbook's name and text, shared cheaply between diagnostics.
#[derive(Clone)]
pub struct SourceFile {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    text: String,
    /// The text as shown in diagnostics: control characters replaced by
    /// placeholders of the same byte length, so spans still line up and no
    /// raw escape sequence reaches a terminal. `None` when nothing to replace.
    display: Option<String>,
    /// Byte offset of the start of each line (the first is 0).
    line_starts: Vec<usize>,
    /// Whether some `\r` is not followed by `\n` (miette counts it as a
    /// line break, `line_starts` does not).
    lone_cr: bool,
}

impl SourceFile {
    /// A source from a name (usually a path) and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let display = text
            .chars()
            .any(is_hidden_control)
            .then(|| text.chars().map(displayable).collect());
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let lone_cr = text
            .match_indices('\r')
            .any(|(i, _)| text.as_bytes().get(i + 1) != Some(&b'\n'));
        SourceFile {
            inner: Arc::new(Inner {
                name: name.into(),
                text,
                display,
                line_starts,
                lone_cr,
            }),
        }
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The full text.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The text a span covers, after clamping it into the source.
    pub fn slice(&self, span: Span) -> &str {
        let span = clamp_span(self.text(), span);
        &self.text()[span.start..span.end]
    }

    /// 1-based line and column (in characters) of a byte offset.
    ///
    /// The line is found by binary search in the line starts computed once;
    /// only the characters of that line before `offset` are counted.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = clamp_span(self.text(), Span::point(offset)).start;
        let starts = &self.inner.line_starts;
        // Line starts at or before `offset` (there is always the first).
        let line = starts.partition_point(|&s| s <= offset);
        let line_start = starts[line - 1];
        let column = self.text()[line_start..offset].chars().count() + 1;
        (line, column)
    }

    /// The byte range of the line holding `offset`, without its `\n`
    /// (found by binary search, like [`SourceFile::line_col`]).
    pub fn line_span(&self, offset: usize) -> Span {
        let offset = clamp_span(self.text(), Span::point(offset)).start;
        let starts = &self.inner.line_starts;
        let line = starts.partition_point(|&s| s <= offset);
        let start = starts[line - 1];
        let end = starts.get(line).map_or(self.text().len(), |&next| next - 1);
        Span::new(start, end)
    }

    /// `line_col` as it was: counting from the start of the file.
    #[cfg(test)]
    fn line_col_scan(&self, offset: usize) -> (usize, usize) {
        let offset = clamp_span(self.text(), Span::point(offset)).start;
        let before = &self.text()[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.inner.name)
            .field("len", &self.inner.text.len())
            .finish()
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let shown: &str = self.inner.display.as_deref().unwrap_or(self.text());
        // Only the lines around the span: scanning the whole text for every
        // rendered diagnostic was quadratic.
        let contents = crate::diagnostics::window::read_span(
            shown,
            &self.inner.line_starts,
            self.inner.lone_cr,
            span,
            context_lines_before,
            context_lines_after,
        )?;
        // miette counts columns in bytes; people count characters.
        let offset = span.offset().min(shown.len());
        let line_start = shown[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = if offset - line_start == contents.column() {
            shown[line_start..offset].chars().count()
        } else {
            contents.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name().to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

/// Control characters other than tab, newline and carriage return.
fn is_hidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A same-length printable stand-in for control characters.
fn displayable(c: char) -> char {
    if !is_hidden_control(c) {
        return c;
    }
    match c.len_utf8() {
        1 => '?',
        _ => '\u{bf}', // `¿`, two bytes like the C1 controls
    }
}

/// Moves a span inside `text` and onto character boundaries.
///
/// A span past the end becomes an empty span at the end; a span that splits
/// a multi-byte character is widened to cover the whole character. Every span
/// handed to miette goes through here.
pub fn clamp_span(text: &str, span: Span) -> Span {
    let len = text.len();
    let mut start = span.start.min(len);
    let mut end = span.end.min(len).max(start);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Span::new(start, end)
}

/// Reads a playbook from disk.
///
/// Missing, unreadable, oversized and non-UTF-8 files become diagnostics
/// (`ops::io::*`) naming the path.
///
/// The path `-` reads standard input instead, shown as `<stdin>`.
pub fn load(path: &Path) -> Result<SourceFile, Diagnostic> {
    if path.as_os_str() == "-" {
        return load_stdin();
    }
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|err| io_error(&shown, &err))?;
    if metadata.is_dir() {
        return Err(Diagnostic::error(
            codes::IO_IS_DIRECTORY,
            format!("`{shown}` is a directory, not a playbook file"),
        )
        .with_help("pass the directory to `coordops check`, which reads every `.ops` file in it"));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(&shown, metadata.len().to_string()));
    }
    let bytes = std::fs::read(path).map_err(|err| io_error(&shown, &err))?;
    from_bytes(shown, bytes)
}

/// The name standard input is shown under.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads at most `MAX_FILE_BYTES + 1` bytes of standard input (one more
/// than allowed, so a caller can tell it was too long).
fn read_stdin() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of an input file such as a scenario, or of stdin when `path`
/// is `-` (at most [`MAX_FILE_BYTES`] from stdin).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() != "-" {
        return std::fs::read_to_string(path);
    }
    let bytes = read_stdin()?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "stdin holds more than {MAX_FILE_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Reads a playbook from standard input, with the same limit and checks as
/// a file.
fn load_stdin() -> Result<SourceFile, Diagnostic> {
    let bytes = read_stdin().map_err(|err| io_error(STDIN_NAME, &err))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(STDIN_NAME, format!("more than {MAX_FILE_BYTES}")));
    }
    from_bytes(STDIN_NAME.to_string(), bytes)
}

fn too_large(shown: &str, size: String) -> Diagnostic {
    Diagnostic::error(
        codes::IO_TOO_LARGE,
        format!(
            "`{shown}` is {size} bytes; playbooks are limited to {MAX_FILE_BYTES} bytes (4 MiB)"
        ),
    )
    .with_help("split the playbook into several files")
}

fn from_bytes(shown: String, bytes: Vec<u8>) -> Result<SourceFile, Diagnostic> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(shown, text)),
        Err(err) => {
            let bad = err.utf8_error().valid_up_to();
            let valid = &err.as_bytes()[..bad];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            Err(Diagnostic::error(
                codes::IO_NOT_UTF8,
                format!("`{shown}` is not valid UTF-8: invalid byte at offset {bad} (line {line})"),
            )
            .with_help("save the playbook as UTF-8 text"))
        }
    }
}

fn io_error(shown: &str, err: &std::io::Error) -> Diagnostic {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            Diagnostic::error(codes::IO_NOT_FOUND, format!("`{shown}` does not exist"))
                .with_help("check the path (relative paths start from the current directory)")
        }
        _ => Diagnostic::error(
            codes::IO_UNREADABLE,
            format!("cannot read `{shown}`: {err}"),
        ),
    }
}

/// Expands files and directories into the `.ops` files to read, each once
/// (see [`crate::walk`], which this is with no `--exclude`).
pub fn collect_playbooks(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    crate::walk::playbooks(paths, &crate::walk::Excludes::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_keeps_spans_inside_and_on_boundaries() {
        let text = "aé€b";
        assert_eq!(clamp_span(text, Span::new(2, 3)), Span::new(1, 3));
        let s = clamp_span(text, Span::new(2, 5));
        assert_eq!((s.start, s.end), (1, 6));
        let s = clamp_span(text, Span::new(50, 90));
        assert_eq!((s.start, s.end), (7, 7));
    }

    #[test]
    fn control_characters_are_hidden_but_spans_line_up() {
        let src = SourceFile::new("t", "a\u{1}b\u{85}c");
        let shown = src.inner.display.as_deref().unwrap_or_default();
        assert_eq!(shown.len(), src.text().len());
        assert_eq!(shown, "a?b\u{bf}c");
    }

    #[test]
    fn line_col_counts_characters() {
        let src = SourceFile::new("t", "ab\né€x");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        assert_eq!(src.line_col(8), (2, 3));
    }

    #[test]
    fn line_col_agrees_with_counting_from_the_start() {
        // A small deterministic generator: text from pieces including CRLF,
        // lone CR, multi-byte characters and empty lines.
        let pieces = [
            "a", "é", "€", "𝄞", "\n", "\r\n", "\r", " ", "\t", "\n\n", "xyz",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let len = (next() % 60) as usize;
            let text: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let src = SourceFile::new("t", text.clone());
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    src.line_col(offset),
                    src.line_col_scan(offset),
                    "round {round}, offset {offset} in {text:?}"
                );
            }
        }
        let empty = SourceFile::new("t", "");
        assert_eq!(empty.line_col(0), (1, 1));
        assert_eq!(empty.line_col(5), (1, 1));
    }
}
