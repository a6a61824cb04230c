//! `coordops check`'s diagnostics as LSP diagnostics.

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};

use crate::diagnostics::Diagnostic;

use super::document::Document;

/// The LSP diagnostics of a document: the same codes and messages as
/// `coordops check`; the help, if any, follows the message on a new line.
pub fn diagnostics(uri: &Uri, doc: &Document) -> Vec<lsp_types::Diagnostic> {
    doc.diagnostics
        .iter()
        .map(|d| convert(uri, doc, d))
        .collect()
}

fn convert(uri: &Uri, doc: &Document, d: &Diagnostic) -> lsp_types::Diagnostic {
    let text = doc.text();
    let range = doc.lines.range(text, d.primary_span().unwrap_or_default());
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), doc.lines.range(text, l.span)),
            message: l.message.clone().unwrap_or_else(|| "here".into()),
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(if d.is_error() {
            DiagnosticSeverity::ERROR
        } else {
            DiagnosticSeverity::WARNING
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("coordops".into()),
        message: crate::output::redact(&message),
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_labels_are_related_information() {
        let doc = Document::new("file:///d.ops", "agent A {}\nagent A {}\n".into(), None);
        let uri: Uri = "file:///d.ops".parse().expect("uri");
        let all = diagnostics(&uri, &doc);
        let dup = all
            .iter()
            .find(|d| {
                d.code
                    == Some(NumberOrString::String(
                        "ops::check::duplicate_definition".into(),
                    ))
            })
            .expect("duplicate");
        assert_eq!(dup.range.start, lsp_types::Position::new(1, 6));
        let related = dup.related_information.as_ref().expect("related");
        assert_eq!(related[0].message, "first defined here");
        assert_eq!(
            related[0].location.range.start,
            lsp_types::Position::new(0, 6)
        );
    }
}
