//! One open document: its text, its analysis, and the last playbook that
//! parsed (completion keeps working while the text being typed does not).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::analysis::{self, Checked};
use crate::ast::Playbook;
use crate::diagnostics::{codes, Diagnostic};
use crate::source::{SourceFile, MAX_FILE_BYTES};
use crate::testing::test_file;

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
        if let Some(path) = test_file_path(name) {
            // A `*.test.ops` file: checked as `coordops check` checks it,
            // against the playbook its header names (read from disk).
            let file = SourceFile::new(path.display().to_string(), source.text());
            let diagnostics = test_file::check(file, &mut HashMap::new())
                .into_iter()
                .filter(|d| {
                    d.source
                        .as_ref()
                        .is_none_or(|f| Path::new(f.name()) == path)
                })
                .collect();
            return Document {
                source,
                lines,
                diagnostics,
                playbook: None,
                index: Index::default(),
                last_good: None,
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

/// The file path of a `file://` URI naming a `*.test.ops` file.
fn test_file_path(uri: &str) -> Option<PathBuf> {
    let path = PathBuf::from(percent_decode(uri.strip_prefix("file://")?)?);
    test_file::is_test_file(&path).then_some(path)
}

/// Decodes `%XX` escapes; `None` when they do not make UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_is_checked_against_its_playbook() {
        let dir = tempfile::tempdir().unwrap();
        let playbook = "signal OPS:A\nroute a: OPS:A => w\nworkflow w { complete \"ok\" }\n";
        std::fs::write(dir.path().join("p.ops"), playbook).unwrap();
        let uri = format!("file://{}", dir.path().join("p%20x.test.ops").display());
        let text = "tests \"p.ops\"\ntest \"t\" {\n  signal OPS:A\n  expect route b\n}\n";
        let doc = Document::new(&uri, text.into(), None);
        let codes: Vec<&str> = doc.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [codes::CHECK_UNDEFINED_REFERENCE]);
        let fine = text.replace("route b", "route a");
        assert!(Document::new(&uri, fine, None).diagnostics.is_empty());
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("/a%20b/%C3%BC").as_deref(), Some("/a b/ü"));
        assert_eq!(percent_decode("/a%2"), None);
    }

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
