//! `coordops check --format sarif`: a SARIF 2.1.0 log for code-scanning tools.
//!
//! One run whose `tool.driver` lists one rule per distinct code among the
//! results. Each diagnostic with a file becomes a result: `ruleId` is its code,
//! `level` is `error` or `warning`, the message is followed by the help text on
//! its own line, `locations` holds the primary label and `relatedLocations` the
//! others. Regions use 1-based lines and columns counted in Unicode code points
//! (`columnKind` says so), `endColumn` is exclusive, and `byteOffset` and
//! `byteLength` give the same span in bytes.
//!
//! Diagnostics without a file (a path that could not be read) are not results
//! about a playbook: they become `toolExecutionNotifications` of the run's
//! invocation, whose `executionSuccessful` is false when one of them is an error.
//!
//! Artifact URIs are the paths as given, relative when given relative, with
//! `/` separators and everything but unreserved characters percent-encoded.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::location::{main_label, Locator};
use super::{Diagnostic, Severity};
use crate::source::SourceFile;

/// The `$schema` written into every log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The SARIF version written into every log.
pub const SARIF_VERSION: &str = "2.1.0";

/// The top-level SARIF log object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifLog {
    /// Always [`SCHEMA_URI`].
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Always [`SARIF_VERSION`].
    pub version: String,
    /// Exactly one run.
    pub runs: Vec<SarifRun>,
}

/// One run of coordops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRun {
    /// coordops and the rules it reported.
    pub tool: SarifTool,
    /// One invocation, carrying errors about paths as notifications.
    pub invocations: Vec<SarifInvocation>,
    /// Always `unicodeCodePoints`: columns count characters.
    pub column_kind: String,
    /// One result per diagnostic that has a file.
    pub results: Vec<SarifResult>,
}

/// The tool that produced the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifTool {
    /// coordops itself.
    pub driver: SarifDriver,
}

/// coordops as a SARIF tool component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifDriver {
    /// `coordops`.
    pub name: String,
    /// The crate version.
    pub version: String,
    /// The crate's homepage or repository, when `Cargo.toml` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information_uri: Option<String>,
    /// One rule per distinct code among the results, sorted by code.
    pub rules: Vec<SarifDescriptor>,
    /// One descriptor per distinct code among the notifications, sorted by code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<SarifDescriptor>,
}

/// A rule (or notification) descriptor: a diagnostic code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifDescriptor {
    /// The diagnostic code, e.g. `ops::parse::unexpected_token`.
    pub id: String,
    /// The code's last segment in words, e.g. "Unexpected token".
    pub short_description: SarifMessage,
}

/// A SARIF message (or multiformat message string) with plain text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifMessage {
    /// The text.
    pub text: String,
}

/// The `error` or `warning` level of a result or notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SarifLevel {
    /// `error`.
    Error,
    /// `warning`.
    Warning,
}

impl From<Severity> for SarifLevel {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Error => SarifLevel::Error,
            Severity::Warning => SarifLevel::Warning,
        }
    }
}

/// How the run went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifInvocation {
    /// False when some path could not be read (an error notification).
    pub execution_successful: bool,
    /// Errors about paths, which have no place in a playbook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<SarifNotification>,
}

/// A problem with the run itself rather than with a playbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifNotification {
    /// The code, as a reference to a descriptor in `driver.notifications`.
    pub descriptor: SarifReference,
    /// `error` or `warning`.
    pub level: SarifLevel,
    /// The message, then the help text on its own line.
    pub message: SarifMessage,
}

/// A reference to a descriptor by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifReference {
    /// The descriptor's id (the code).
    pub id: String,
}

/// One diagnostic about a playbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The diagnostic code.
    pub rule_id: String,
    /// The index of the rule in `driver.rules`.
    pub rule_index: usize,
    /// `error` or `warning`.
    pub level: SarifLevel,
    /// The message, then the help text on its own line.
    pub message: SarifMessage,
    /// The primary label (or just the file when there is no label).
    pub locations: Vec<SarifLocation>,
    /// The other labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<SarifLocation>,
}

/// A place in a playbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    /// Numbers related locations from 1, so messages could link to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    /// The file and region.
    pub physical_location: SarifPhysicalLocation,
    /// The label's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<SarifMessage>,
}

/// A file and, when the diagnostic has a label, a region in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifPhysicalLocation {
    /// The file.
    pub artifact_location: SarifArtifactLocation,
    /// The span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<SarifRegion>,
}

/// A file, by URI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SarifArtifactLocation {
    /// The path as given, as a URI reference (see [`artifact_uri`]).
    pub uri: String,
}

/// A span: 1-based lines and columns (code points, end exclusive) and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRegion {
    /// Line of the first character.
    pub start_line: usize,
    /// Column of the first character.
    pub start_column: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column just past the last character.
    pub end_column: usize,
    /// Byte offset of the first byte.
    pub byte_offset: usize,
    /// Length in bytes.
    pub byte_length: usize,
}

/// Builds the SARIF log for a set of diagnostics.
pub fn log(diagnostics: &[Diagnostic]) -> SarifLog {
    let (in_files, about_paths): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        diagnostics.iter().partition(|d| d.source.is_some());
    let rule_ids: Vec<&str> = in_files
        .iter()
        .map(|d| d.code)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let notification_ids: BTreeSet<&str> = about_paths.iter().map(|d| d.code).collect();
    let mut locator = Locator::new();
    let results = in_files
        .iter()
        .filter_map(|d| {
            let source = d.source.as_ref()?;
            let rule_index = rule_ids.binary_search(&d.code).ok()?;
            Some(result(d, source, rule_index, &mut locator))
        })
        .collect();
    let notifications: Vec<SarifNotification> = about_paths
        .iter()
        .map(|d| SarifNotification {
            descriptor: SarifReference {
                id: d.code.to_string(),
            },
            level: d.severity.into(),
            message: message_text(d),
        })
        .collect();
    SarifLog {
        schema: SCHEMA_URI.to_string(),
        version: SARIF_VERSION.to_string(),
        runs: vec![SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: env!("CARGO_PKG_NAME").to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    information_uri: information_uri(),
                    rules: rule_ids.into_iter().map(descriptor).collect(),
                    notifications: notification_ids.into_iter().map(descriptor).collect(),
                },
            },
            invocations: vec![SarifInvocation {
                execution_successful: !about_paths.iter().any(|d| d.is_error()),
                tool_execution_notifications: notifications,
            }],
            column_kind: "unicodeCodePoints".to_string(),
            results,
        }],
    }
}

/// The SARIF log as pretty-printed JSON, ending in a newline.
pub fn to_string(diagnostics: &[Diagnostic]) -> String {
    let mut out = serde_json::to_string_pretty(&log(diagnostics))
        .expect("plain structs with string keys always serialise");
    out.push('\n');
    out
}

/// A path as a relative (or absolute-path) URI reference: `\` becomes `/` on
/// Windows, and every byte other than `A-Z a-z 0-9 - . _ ~ /` is
/// percent-encoded (so a space is `%20` and `:` cannot look like a scheme).
pub fn artifact_uri(path: &str) -> String {
    let path = if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// The code's last segment in words: `ops::parse::unexpected_token` → "Unexpected token".
pub fn short_description(code: &str) -> String {
    let last = code.rsplit("::").next().unwrap_or(code).replace('_', " ");
    let mut chars = last.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => code.to_string(),
    }
}

fn descriptor(code: &str) -> SarifDescriptor {
    SarifDescriptor {
        id: code.to_string(),
        short_description: SarifMessage {
            text: short_description(code),
        },
    }
}

fn information_uri() -> Option<String> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|uri| !uri.is_empty())
        .map(str::to_string)
}

fn message_text(d: &Diagnostic) -> SarifMessage {
    let text = match &d.help {
        Some(help) => format!("{}\n{help}", d.message),
        None => d.message.clone(),
    };
    SarifMessage { text }
}

fn result(
    d: &Diagnostic,
    source: &SourceFile,
    rule_index: usize,
    locator: &mut Locator,
) -> SarifResult {
    let uri = artifact_uri(source.name());
    let location = |span, id, message: &Option<String>, locator: &mut Locator| {
        let at = locator.resolve(source, span);
        SarifLocation {
            id,
            physical_location: SarifPhysicalLocation {
                artifact_location: SarifArtifactLocation { uri: uri.clone() },
                region: Some(SarifRegion {
                    start_line: at.line,
                    start_column: at.column,
                    end_line: at.end_line,
                    end_column: at.end_column,
                    byte_offset: at.offset,
                    byte_length: at.length,
                }),
            },
            message: message.clone().map(|text| SarifMessage { text }),
        }
    };
    let main = main_label(d);
    let primary = match main {
        Some(label) => location(label.span, None, &label.message, locator),
        None => SarifLocation {
            id: None,
            physical_location: SarifPhysicalLocation {
                artifact_location: SarifArtifactLocation { uri: uri.clone() },
                region: None,
            },
            message: None,
        },
    };
    let related = d
        .labels
        .iter()
        .filter(|label| !main.is_some_and(|m| std::ptr::eq(m, *label)))
        .enumerate()
        .map(|(i, label)| location(label.span, Some(i + 1), &label.message, locator))
        .collect();
    SarifResult {
        rule_id: d.code.to_string(),
        rule_index,
        level: d.severity.into(),
        message: message_text(d),
        locations: vec![primary],
        related_locations: related,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;
    use crate::diagnostics::codes;
    use crate::diagnostics::test_support::demo_diagnostics;

    /// The crate version, which changes on every release, as a placeholder.
    fn without_version(text: &str) -> String {
        let driver_version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
        text.replace(&driver_version, "\"version\": \"[VERSION]\"")
    }

    #[test]
    fn snapshot_of_two_diagnostics() {
        insta::assert_snapshot!(without_version(&to_string(&demo_diagnostics())));
    }

    #[test]
    fn rules_are_distinct_sorted_codes_and_results_point_at_them() {
        let mut diagnostics = demo_diagnostics();
        diagnostics.extend(demo_diagnostics());
        let log = log(&diagnostics);
        let run = &log.runs[0];
        let ids: Vec<&str> = run
            .tool
            .driver
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, [codes::LINT_UNUSED_TASK, codes::PARSE_UNEXPECTED]);
        assert_eq!(run.results.len(), 4);
        for result in &run.results {
            assert_eq!(run.tool.driver.rules[result.rule_index].id, result.rule_id);
        }
    }

    #[test]
    fn diagnostics_without_source_become_notifications() {
        let d = Diagnostic::error(codes::IO_NOT_FOUND, "`nope.ops` does not exist")
            .with_help("check the path");
        let log = log(&[d]);
        let run = &log.runs[0];
        assert!(run.results.is_empty());
        assert!(run.tool.driver.rules.is_empty());
        assert_eq!(run.tool.driver.notifications[0].id, codes::IO_NOT_FOUND);
        let invocation = &run.invocations[0];
        assert!(!invocation.execution_successful);
        let note = &invocation.tool_execution_notifications[0];
        assert_eq!(note.level, SarifLevel::Error);
        assert_eq!(
            note.message.text,
            "`nope.ops` does not exist\ncheck the path"
        );
    }

    #[test]
    fn clean_run_is_successful_with_no_results() {
        let value: serde_json::Value = serde_json::from_str(&to_string(&[])).unwrap();
        assert_eq!(value["runs"][0]["results"], serde_json::json!([]));
        assert_eq!(
            value["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
        assert_eq!(
            value["runs"][0]["tool"]["driver"]["rules"],
            serde_json::json!([])
        );
    }

    #[test]
    fn regions_count_code_points_in_crlf_text() {
        let text = "# é\r\n\tagent Ü {}\r\n";
        let source = SourceFile::new("dir/t.ops", text);
        let u = text.find('Ü').unwrap();
        let d = Diagnostic::warning(codes::LINT_UNUSED_AGENT, "unused")
            .with_primary(Span::new(u, u + 1), "")
            .in_file(&source);
        let log = log(&[d]);
        let location = &log.runs[0].results[0].locations[0];
        assert_eq!(location.message, None);
        let region = location.physical_location.region.unwrap();
        // The span splits `Ü` (2 bytes): clamped to the whole character.
        assert_eq!(
            region,
            SarifRegion {
                start_line: 2,
                start_column: 8,
                end_line: 2,
                end_column: 9,
                byte_offset: u,
                byte_length: 2,
            }
        );
        assert_eq!(
            location.physical_location.artifact_location.uri,
            "dir/t.ops"
        );
    }

    #[test]
    fn result_without_labels_locates_just_the_file() {
        let source = SourceFile::new("empty.ops", "");
        let d = Diagnostic::error(codes::PARSE_EMPTY, "no declarations").in_file(&source);
        let log = log(&[d]);
        let location = &log.runs[0].results[0].locations[0];
        assert_eq!(location.physical_location.region, None);
        assert!(log.runs[0].results[0].related_locations.is_empty());
    }

    #[test]
    fn uris_are_percent_encoded_paths() {
        assert_eq!(
            artifact_uri("playbooks/coord_ops.ops"),
            "playbooks/coord_ops.ops"
        );
        assert_eq!(
            artifact_uri("./my plays/a,b:c.ops"),
            "./my%20plays/a%2Cb%3Ac.ops"
        );
        assert_eq!(artifact_uri("/abs/é.ops"), "/abs/%C3%A9.ops");
        assert_eq!(artifact_uri("100%.ops"), "100%25.ops");
    }

    #[test]
    fn short_descriptions_read_as_words() {
        assert_eq!(
            short_description(codes::PARSE_UNEXPECTED),
            "Unexpected token"
        );
        assert_eq!(
            short_description(codes::LINT_STRICT_GATE),
            "Gate tolerates no failure"
        );
        assert_eq!(short_description("plain"), "Plain");
    }
}
