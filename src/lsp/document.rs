//! One open document: its text, its analysis, and the last playbook that
//! parsed (completion keeps working while the text being typed does not).

use crate::analysis::{self, Checked};
use crate::ast::Playbook;
use crate::diagnostics::{codes, Diagnostic};
use crate::source::{SourceFile, MAX_FILE_BYTES};

use super::index::Index;
use super::position::LineIndex;

/// An open document, analysed.
pub struct Document {
    /// The text as the client last sent it.
    pub source: SourceFile,
    /// Its lines, for positions.
    pub lines: LineIndex,
    /// What `coordops check` says about it (the same entry point).
    pub diagnostics: Vec<Diagnostic>,
    /// The AST of this text, when it parses.
    pub playbook: Option<Playbook>,
    /// The names in `playbook`.
    pub index: Index,
    /// The AST of the last text that parsed (this one's, when it does).
    pub last_good: Option<Playbook>,
}

impl Document {
    /// Analyses `text`; `previous` is the document it replaces, if any.
    pub fn new(name: &str, text: String, previous: Option<Document>) -> Self {
        let lines = LineIndex::new(&text);
        let size = text.len();
        let source = SourceFile::new(name, text);
        let last = previous.and_then(|p| p.last_good);
        if size as u64 > MAX_FILE_BYTES {
            let too_large = Diagnostic::error(
                codes::IO_TOO_LARGE,
                format!("this playbook is {size} bytes; playbooks are limited to {MAX_FILE_BYTES} bytes (4 MiB)"),
            )
            .with_help("split the playbook into several files");
            return Document {
                source,
                lines,
                diagnostics: vec![too_large],
                playbook: None,
                index: Index::default(),
                last_good: last,
            };
        }
        let Checked {
            playbook,
            diagnostics,
        } = analysis::parse_and_check(&source);
        let index = playbook.as_ref().map(Index::build).unwrap_or_default();
        let last_good = playbook.clone().or(last);
        Document {
            source,
            lines,
            diagnostics,
            playbook,
            index,
            last_good,
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        self.source.text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_over_the_size_limit_is_not_analysed() {
        let text = "#".repeat(MAX_FILE_BYTES as usize + 1);
        let doc = Document::new("file:///big.ops", text, None);
        let codes: Vec<&str> = doc.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [codes::IO_TOO_LARGE]);
        assert!(doc.playbook.is_none());
    }

    #[test]
    fn keeps_the_last_playbook_that_parsed() {
        let good = Document::new("file:///a.ops", "agent A {}".into(), None);
        let bad = Document::new("file:///a.ops", "agent A { task".into(), Some(good));
        assert!(bad.playbook.is_none());
        assert_eq!(bad.last_good.map(|p| p.agents().count()), Some(1));
    }
}
