//! `textDocument/formatting`, to be wired to `coordops fmt`.
//!
//! The formatter is being written on another branch (d12/fmt:
//! `crate::format::format_source(&str) -> Result<String, Vec<Diagnostic>>`).
//! Until it is merged, [`format`] returns no edits and the server does not
//! advertise formatting, so clients never ask. Wiring it: the body of
//! `format_source` below becomes `crate::format::format_source(source).ok()`
//! and [`AVAILABLE`] becomes `true` (tests/lsp.rs then expects an edit).

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
