//! `textDocument/formatting`, to be wired to `coordops fmt`.
//!
//! The formatter (`format_source`) is being written on another branch; until
//! it is merged [`format`] returns `None` and the server does not advertise
//! formatting, so clients never ask. Wiring it is one line here plus the
//! capability in `capabilities()`.

use lsp_types::TextEdit;

use super::document::Document;

/// Whether the server offers formatting (advertised in its capabilities).
pub const AVAILABLE: bool = false;

/// The formatted text of `source`, or `None` when it cannot be formatted
/// (it does not parse) or no formatter is available.
fn format_source(_source: &str) -> Option<String> {
    None
}

/// The edits that format the whole document: none when it is already
/// formatted or cannot be.
pub fn format(doc: &Document) -> Vec<TextEdit> {
    match format_source(doc.text()) {
        Some(formatted) if formatted != doc.text() => {
            let whole = crate::ast::Span::new(0, doc.text().len());
            vec![TextEdit::new(doc.lines.range(doc.text(), whole), formatted)]
        }
        _ => Vec::new(),
    }
}
