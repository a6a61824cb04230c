//! `coordops check --format json`: one JSON document for the whole run.
//!
//! The schema is versioned by [`SCHEMA_VERSION`] and spelled out by the
//! structs below; `docs/diagnostics.md` documents every field. Within one
//! version fields are only ever added, never renamed, removed or retyped.
//!
//! ```json
//! {
//!   "version": 1,
//!   "files_checked": 1,
//!   "summary": { "errors": 1, "warnings": 0 },
//!   "diagnostics": [
//!     {
//!       "file": "playbooks/release.ops",
//!       "code": "ops::parse::unexpected_token",
//!       "severity": "error",
//!       "message": "expected a duration such as `30s` after `timeout`",
//!       "help": "durations need a unit: `ms`, `s`, `m`, `h` or `d`; write `30s` for 30 seconds",
//!       "line": 2, "column": 11, "end_line": 2, "end_column": 13,
//!       "offset": 34, "length": 2,
//!       "labels": [
//!         { "message": "found `30`", "primary": true,
//!           "line": 2, "column": 11, "end_line": 2, "end_column": 13,
//!           "offset": 34, "length": 2 }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! Lines and columns are 1-based, columns count characters (Unicode scalar
//! values), `end_column` is exclusive; offsets and lengths are in bytes. All of
//! them are `null` when the diagnostic has no source (errors about a path) or,
//! for the diagnostic's own position, no label.

use serde::{Deserialize, Serialize};

use super::location::{main_label, Locator, Resolved};
use super::{Diagnostic, Severity};

/// The version of the JSON schema; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document `coordops check --format json` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonReport {
    /// Always [`SCHEMA_VERSION`].
    pub version: u32,
    /// How many playbook files were read.
    pub files_checked: usize,
    /// Counts by severity.
    pub summary: JsonSummary,
    /// Every diagnostic: errors about paths first, then by file and position.
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// Counts of diagnostics by severity (warnings stay warnings under `--deny-warnings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSummary {
    /// Diagnostics with severity `error`.
    pub errors: usize,
    /// Diagnostics with severity `warning`.
    pub warnings: usize,
}

/// `"error"` or `"warning"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonSeverity {
    /// `"error"`.
    Error,
    /// `"warning"`.
    Warning,
}

impl From<Severity> for JsonSeverity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Error => JsonSeverity::Error,
            Severity::Warning => JsonSeverity::Warning,
        }
    }
}

/// One diagnostic. Every field is always present; absent values are `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDiagnostic {
    /// The file as given on the command line (or found in a directory);
    /// `null` for errors about a path that could not be read.
    pub file: Option<String>,
    /// Stable code such as `ops::parse::unexpected_token`.
    pub code: String,
    /// `"error"` or `"warning"`.
    pub severity: JsonSeverity,
    /// One-sentence description.
    pub message: String,
    /// How to fix it, if known.
    pub help: Option<String>,
    /// 1-based line of the primary label's start.
    pub line: Option<usize>,
    /// 1-based column (characters) of the primary label's start.
    pub column: Option<usize>,
    /// 1-based line of the primary label's end.
    pub end_line: Option<usize>,
    /// 1-based column (characters) just past the primary label's end.
    pub end_column: Option<usize>,
    /// Byte offset of the primary label's start.
    pub offset: Option<usize>,
    /// Length of the primary label in bytes.
    pub length: Option<usize>,
    /// Every label, the primary one first.
    pub labels: Vec<JsonLabel>,
}

/// A labelled place in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLabel {
    /// What the label says there, if anything.
    pub message: Option<String>,
    /// Whether this is the main place of the diagnostic.
    pub primary: bool,
    /// 1-based line of the start.
    pub line: Option<usize>,
    /// 1-based column (characters) of the start.
    pub column: Option<usize>,
    /// 1-based line of the end.
    pub end_line: Option<usize>,
    /// 1-based column (characters) just past the end.
    pub end_column: Option<usize>,
    /// Byte offset of the start.
    pub offset: Option<usize>,
    /// Length in bytes.
    pub length: Option<usize>,
}

/// Builds the JSON document for a run that read `files_checked` files.
pub fn report(diagnostics: &[Diagnostic], files_checked: usize) -> JsonReport {
    let mut locator = Locator::new();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    JsonReport {
        version: SCHEMA_VERSION,
        files_checked,
        summary: JsonSummary {
            errors,
            warnings: diagnostics.len() - errors,
        },
        diagnostics: diagnostics
            .iter()
            .map(|d| diagnostic(d, &mut locator))
            .collect(),
    }
}

/// The JSON document as pretty-printed text, ending in a newline.
pub fn to_string(diagnostics: &[Diagnostic], files_checked: usize) -> String {
    let mut out = serde_json::to_string_pretty(&report(diagnostics, files_checked))
        .expect("plain structs with string keys always serialise");
    out.push('\n');
    out
}

fn diagnostic(d: &Diagnostic, locator: &mut Locator) -> JsonDiagnostic {
    let resolve = |span, locator: &mut Locator| -> Option<Resolved> {
        d.source
            .as_ref()
            .map(|source| locator.resolve(source, span))
    };
    let main = main_label(d).and_then(|label| resolve(label.span, locator));
    let labels = d
        .labels
        .iter()
        .map(|label| {
            let at = resolve(label.span, locator);
            JsonLabel {
                message: label.message.clone(),
                primary: label.primary,
                line: at.map(|r| r.line),
                column: at.map(|r| r.column),
                end_line: at.map(|r| r.end_line),
                end_column: at.map(|r| r.end_column),
                offset: at.map(|r| r.offset),
                length: at.map(|r| r.length),
            }
        })
        .collect();
    JsonDiagnostic {
        file: d.source.as_ref().map(|s| s.name().to_string()),
        code: d.code.to_string(),
        severity: d.severity.into(),
        message: d.message.clone(),
        help: d.help.clone(),
        line: main.map(|r| r.line),
        column: main.map(|r| r.column),
        end_line: main.map(|r| r.end_line),
        end_column: main.map(|r| r.end_column),
        offset: main.map(|r| r.offset),
        length: main.map(|r| r.length),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;
    use crate::diagnostics::codes;
    use crate::diagnostics::test_support::demo_diagnostics;
    use crate::source::SourceFile;

    #[test]
    fn snapshot_of_two_diagnostics() {
        insta::assert_snapshot!(to_string(&demo_diagnostics(), 1));
    }

    #[test]
    fn output_round_trips_through_the_schema_structs() {
        let text = to_string(&demo_diagnostics(), 1);
        let parsed: JsonReport = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, report(&demo_diagnostics(), 1));
        assert_eq!(
            parsed.summary,
            JsonSummary {
                errors: 1,
                warnings: 1
            }
        );
    }

    #[test]
    fn every_field_is_present_even_when_null() {
        let d = Diagnostic::error(codes::IO_NOT_FOUND, "`nope.ops` does not exist");
        let value: serde_json::Value = serde_json::from_str(&to_string(&[d], 0)).unwrap();
        let entry = value["diagnostics"][0].as_object().unwrap();
        let mut keys: Vec<&str> = entry.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "code",
                "column",
                "end_column",
                "end_line",
                "file",
                "help",
                "labels",
                "length",
                "line",
                "message",
                "offset",
                "severity"
            ]
        );
        for key in [
            "file",
            "help",
            "line",
            "column",
            "end_line",
            "end_column",
            "offset",
            "length",
        ] {
            assert!(entry[key].is_null(), "{key} should be null");
        }
        assert_eq!(entry["labels"], serde_json::json!([]));
        assert_eq!(value["files_checked"], 0);
        assert_eq!(value["version"], SCHEMA_VERSION);
    }

    #[test]
    fn diagnostic_without_labels_has_a_file_but_no_position() {
        let source = SourceFile::new("empty.ops", "");
        let d = Diagnostic::error(codes::PARSE_EMPTY, "the file holds no declarations")
            .in_file(&source);
        let entry = &report(&[d], 1).diagnostics[0];
        assert_eq!(entry.file.as_deref(), Some("empty.ops"));
        assert_eq!((entry.line, entry.offset), (None, None));
    }

    #[test]
    fn positions_are_clamped_and_counted_in_characters() {
        let source = SourceFile::new("demo.ops", "# é\r\n\tagent X\r\n");
        let x = source.text().find('X').unwrap();
        let d = Diagnostic::warning(codes::LINT_UNUSED_AGENT, "unused")
            .with_primary(Span::new(x, x + 1), "here")
            .with_secondary(Span::new(2, 3), "inside é")
            .with_secondary(Span::new(400, 500), "past the end")
            .in_file(&source);
        let entry = &report(&[d], 1).diagnostics[0];
        assert_eq!(entry.severity, JsonSeverity::Warning);
        assert_eq!(
            (entry.line, entry.column, entry.end_line, entry.end_column),
            (Some(2), Some(8), Some(2), Some(9))
        );
        let inside = &entry.labels[1];
        assert_eq!(
            (inside.offset, inside.length, inside.column),
            (Some(2), Some(2), Some(3))
        );
        let past = &entry.labels[2];
        let len = source.text().len();
        assert_eq!(
            (past.offset, past.length, past.line, past.column),
            (Some(len), Some(0), Some(3), Some(1))
        );
    }
}
