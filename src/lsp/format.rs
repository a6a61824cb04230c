//! `textDocument/formatting` through `coordops fmt` (one formatter for both).

use lsp_types::TextEdit;

use super::document::Document;

/// Whether the server offers formatting (advertised in its capabilities).
pub const AVAILABLE: bool = true;

/// The formatted text of `doc`, or `None` when it cannot be formatted (it
/// does not parse). A `*.test.ops` document is formatted as a test file.
fn format_source(doc: &Document) -> Option<String> {
    crate::format::format_file(&doc.source).ok()
}

/// The edits that format the whole document: none when it is already
/// formatted or cannot be.
pub fn format(doc: &Document) -> Vec<TextEdit> {
    match format_source(doc) {
        Some(formatted) if formatted != doc.text() => {
            let whole = crate::ast::Span::new(0, doc.text().len());
            vec![TextEdit::new(doc.lines.range(doc.text(), whole), formatted)]
        }
        _ => Vec::new(),
    }
}
