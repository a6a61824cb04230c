//! Byte offsets ↔ LSP positions.
//!
//! LSP counts lines split at `\n`, `\r\n` or a lone `\r`, and characters in
//! UTF-16 code units; the AST's spans are byte offsets into UTF-8 text. A
//! position past the end of its line is clamped to the line's end, one past
//! the last line to the end of the text, so a client's stale position never
//! panics.

use lsp_types::{Position, Range};

use crate::ast::Span;

/// Where each line starts in a text, for converting positions.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset of the first byte of each line.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            let breaks = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if breaks {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// The LSP position of byte `offset` (clamped into the text and back to
    /// the start of the character it falls in).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = text[start..offset].encode_utf16().count();
        Position::new(to_u32(line), to_u32(character))
    }

    /// The byte offset of an LSP position (clamped, see the module doc).
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return text.len();
        };
        let end = self.line_end(text, position.line as usize);
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The LSP range of a byte span.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    /// Where line `line`'s text ends, before its line break.
    fn line_end(&self, text: &str, line: usize) -> usize {
        let next = self.starts.get(line + 1).copied().unwrap_or(text.len());
        let body = &text[self.starts[line]..next];
        let trimmed = body
            .strip_suffix("\r\n")
            .or_else(|| body.strip_suffix('\n'))
            .or_else(|| body.strip_suffix('\r'))
            .unwrap_or(body);
        self.starts[line] + trimmed.len()
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units_not_bytes() {
        // "é" is 2 bytes and 1 unit; "𝄞" is 4 bytes and 2 units.
        let text = "a é 𝄞 x\nnext";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(index.position(text, x), Position::new(0, 7));
        assert_eq!(index.offset(text, Position::new(0, 7)), x);
        let n = text.find("next").unwrap();
        assert_eq!(index.position(text, n), Position::new(1, 0));
        assert_eq!(index.offset(text, Position::new(1, 2)), n + 2);
    }

    #[test]
    fn clamps_and_never_splits_a_character() {
        let text = "é\r\nb\rc";
        let index = LineIndex::new(text);
        // Inside "é": back to its start.
        assert_eq!(index.position(text, 1), Position::new(0, 0));
        // Past the end of a line: the line's end, before "\r\n".
        assert_eq!(index.offset(text, Position::new(0, 99)), 2);
        // A lone "\r" ends a line too.
        assert_eq!(index.position(text, text.len() - 1), Position::new(2, 0));
        // Past the last line: the end of the text.
        assert_eq!(index.offset(text, Position::new(9, 0)), text.len());
        assert_eq!(index.position(text, 999), Position::new(2, 1));
    }

    #[test]
    fn round_trips_every_boundary() {
        let text = "# ünïcödé 🎉 comment\nagent A \"rôle 😀\" {}\r\n\n";
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices() {
            let back = index.offset(text, index.position(text, offset));
            // A line break's "\n" after "\r" maps to the line's end.
            assert!(back == offset || &text[back..offset] == "\r", "{offset}");
        }
    }
}
