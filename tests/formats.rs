//! `coordops check --format json|github|sarif` and `--deny-warnings`.
//!
//! The SARIF output is validated against the official SARIF 2.1.0 JSON schema,
//! vendored as `tests/fixtures/sarif-schema-2.1.0.json`. That file is the
//! OASIS TC's `Schemata/sarif-schema-2.1.0.json` from the public repository
//! `oasis-tcs/sarif-spec` (commit 0a8091f7d4057e57b6d8d9b56129e5f918747b34,
//! the errata01 schema, id
//! https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
//! copied byte for byte. It declares JSON Schema draft-04 and uses only local
//! `#/definitions/…` references; the validator is built with a retriever that
//! refuses every external fetch, so validation never touches the network.

use std::path::{Path, PathBuf};

use crate::support::coordops;
use coordops::ast::Span;
use coordops::diagnostics::json::{JsonReport, JsonSeverity};
use coordops::diagnostics::{codes, sarif, Diagnostic};
use coordops::source::SourceFile;
use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs `coordops check` in `tests/fixtures` (so paths stay relative) and
/// returns (exit code, stdout, stderr).
fn check_in_fixtures(args: &[&str]) -> (i32, String, String) {
    let out = coordops()
        .current_dir(fixtures())
        .arg("check")
        .args(args)
        .output()
        .expect("run coordops");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

/// Fails the test on any attempt to resolve an external reference.
struct NoFetching;

impl Retrieve for NoFetching {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("the SARIF schema test must not fetch {}", uri.as_str()).into())
    }
}

fn sarif_validator() -> Validator {
    let text = std::fs::read_to_string(fixtures().join("sarif-schema-2.1.0.json"))
        .expect("read the vendored SARIF schema");
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .with_retriever(NoFetching)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(validator: &Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{e} (at {})", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF output violates the schema:\n{}",
        errors.join("\n")
    );
}

/// Diagnostics of every shape: labels or none, source or none, both severities.
fn varied_diagnostics() -> Vec<Diagnostic> {
    let text = "# é\r\n\tagent QA \"Qualité\" {\r\n  task review\r\n}\r\n";
    let source = SourceFile::new("my plays/demo,1.ops", text);
    let at = |needle: &str| {
        let start = text.find(needle).unwrap();
        Span::new(start, start + needle.len())
    };
    vec![
        Diagnostic::error(codes::IO_NOT_FOUND, "`nope.ops` does not exist")
            .with_help("check the path"),
        Diagnostic::warning(codes::IO_NO_PLAYBOOKS, "`empty/` contains no `.ops` files"),
        Diagnostic::error(
            codes::PARSE_UNEXPECTED,
            "expected `{`, found `\"Qualité\"`: 100% sure",
        )
        .with_primary(at("\"Qualité\""), "here")
        .with_secondary(at("agent"), "")
        .with_secondary(Span::new(900, 1000), "past the end")
        .with_help("write it, like this\nor that")
        .in_file(&source),
        Diagnostic::warning(codes::LINT_UNUSED_TASK, "task `review` is never called")
            .with_primary(at("review"), "declared here")
            .in_file(&source),
        Diagnostic::error(codes::PARSE_EMPTY, "the file holds no declarations")
            .in_file(&SourceFile::new("empty.ops", "")),
    ]
}

#[test]
fn sarif_from_hand_built_diagnostics_matches_the_official_schema() {
    let validator = sarif_validator();
    for diagnostics in [Vec::new(), varied_diagnostics()] {
        let log: Value = serde_json::from_str(&sarif::to_string(&diagnostics)).unwrap();
        assert_valid_sarif(&validator, &log);
    }
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let validator = sarif_validator();
    let mut log: Value = serde_json::from_str(&sarif::to_string(&varied_diagnostics())).unwrap();
    assert_valid_sarif(&validator, &log);
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&log), "a bad level must be rejected");
    let mut log: Value = serde_json::from_str(&sarif::to_string(&varied_diagnostics())).unwrap();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!validator.is_valid(&log), "line 0 must be rejected");
    let mut log: Value = serde_json::from_str(&sarif::to_string(&[])).unwrap();
    log["runs"][0]["tool"]["driver"]["informationUri"] = Value::from("not a uri");
    assert!(!validator.is_valid(&log), "formats must be checked");
}

#[test]
fn sarif_from_the_cli_on_every_invalid_fixture_matches_the_official_schema() {
    let validator = sarif_validator();
    let (code, stdout, stderr) =
        check_in_fixtures(&["--format", "sarif", "invalid", "valid", "missing.ops"]);
    assert_eq!(code, 2, "missing.ops cannot be read");
    assert_eq!(stderr, "", "machine formats print nothing on stderr");
    let log: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert_valid_sarif(&validator, &log);
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "coordops");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    let results = run["results"].as_array().unwrap();
    assert!(
        results.len() >= 40,
        "one result per invalid fixture at least"
    );
    for result in results {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with("invalid/") && uri.ends_with(".ops"),
            "relative, forward slashes: {uri}"
        );
    }
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes
        .iter()
        .any(|n| n["descriptor"]["id"] == codes::IO_NOT_FOUND));
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn json_reports_a_syntax_error_with_positions() {
    let (code, stdout, stderr) =
        check_in_fixtures(&["--format", "json", "invalid/timeout_without_unit.ops"]);
    assert_eq!((code, stderr.as_str()), (1, ""));
    let report: JsonReport =
        serde_json::from_str(&stdout).expect("stdout matches the schema structs");
    assert_eq!((report.version, report.files_checked), (1, 1));
    assert_eq!((report.summary.errors, report.summary.warnings), (1, 0));
    let d = &report.diagnostics[0];
    assert_eq!(d.file.as_deref(), Some("invalid/timeout_without_unit.ops"));
    assert_eq!(d.code, codes::PARSE_UNEXPECTED);
    assert_eq!(d.severity, JsonSeverity::Error);
    assert_eq!(
        (d.line, d.column, d.end_line, d.end_column),
        (Some(2), Some(11), Some(2), Some(13))
    );
    assert_eq!(d.length, Some(2));
    assert!(d.labels[0].primary);
}

#[test]
fn json_for_a_clean_file_has_no_diagnostics() {
    let (code, stdout, stderr) = check_in_fixtures(&["--format", "json", "valid"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value["files_checked"], 1);
    assert_eq!(value["diagnostics"], serde_json::json!([]));
    assert_eq!(
        value["summary"],
        serde_json::json!({ "errors": 0, "warnings": 0 })
    );
}

#[test]
fn json_for_a_missing_path_has_a_null_file_and_exits_2() {
    let (code, stdout, stderr) = check_in_fixtures(&["--format", "json", "nope.ops"]);
    assert_eq!((code, stderr.as_str()), (2, ""));
    let report: JsonReport = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report.files_checked, 0);
    let d = &report.diagnostics[0];
    assert_eq!(
        (d.file.as_deref(), d.code.as_str()),
        (None, codes::IO_NOT_FOUND)
    );
    assert_eq!((d.line, d.offset), (None, None));
    assert!(d.labels.is_empty());
}

#[test]
fn github_prints_one_workflow_command_per_diagnostic() {
    let (code, stdout, stderr) = check_in_fixtures(&[
        "--format",
        "github",
        "invalid/timeout_without_unit.ops",
        "invalid/crlf_line_endings.ops",
    ]);
    assert_eq!((code, stderr.as_str()), (1, ""));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout}");
    for line in &lines {
        assert!(
            line.starts_with("::error file=invalid/")
                || line.starts_with("::warning file=invalid/"),
            "{line}"
        );
        assert!(line.contains(",title=ops%3A%3A"), "{line}");
        assert!(!line.contains('\r'), "CR must be escaped: {line:?}");
    }
    assert!(lines.iter().any(|l| l.starts_with(
        "::error file=invalid/timeout_without_unit.ops,line=2,col=11,endLine=2,endColumn=13,\
         title=ops%3A%3Aparse%3A%3Aunexpected_token::"
    )));
}

#[test]
fn github_for_a_missing_path_has_only_a_title() {
    let (code, stdout, _) = check_in_fixtures(&["--format", "github", "nope.ops"]);
    assert_eq!(code, 2);
    assert!(
        stdout.starts_with("::error title=ops%3A%3Aio%3A%3Anot_found::`nope.ops` does not exist"),
        "{stdout}"
    );
}

/// Every format puts the same diagnostics at the same lines and columns.
#[test]
fn all_formats_agree_on_positions() {
    let args = ["invalid", "valid"];
    let run = |format: &str| {
        let mut all = vec!["--format", format];
        all.extend(args);
        check_in_fixtures(&all)
    };
    let (json_code, json, _) = run("json");
    let (github_code, github, _) = run("github");
    let (sarif_code, sarif, _) = run("sarif");
    assert_eq!(json_code, github_code);
    assert_eq!(json_code, sarif_code);
    let report: JsonReport = serde_json::from_str(&json).unwrap();
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let positioned: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.line.is_some())
        .collect();
    assert_eq!(positioned.len(), results.len());
    for (d, result) in positioned.iter().zip(results) {
        let (line, column) = (d.line.unwrap(), d.column.unwrap());
        let (end_line, end_column) = (d.end_line.unwrap(), d.end_column.unwrap());
        let command = format!(
            "file={},line={line},col={column},endLine={end_line},endColumn={end_column},",
            d.file.as_deref().unwrap()
        );
        assert!(
            github.contains(&command),
            "no `{command}` in the GitHub output"
        );
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(result["ruleId"], d.code.as_str());
        let got =
            ["startLine", "startColumn", "endLine", "endColumn"].map(|key| region[key].as_u64());
        let want = [line, column, end_line, end_column].map(|n| Some(n as u64));
        assert_eq!(got, want, "{}", d.code);
        assert_eq!(region["byteOffset"], d.offset.unwrap());
        assert_eq!(region["byteLength"], d.length.unwrap());
    }
    assert_eq!(github.lines().count(), report.diagnostics.len());
}

#[test]
fn human_stays_the_default_on_stderr_with_a_summary() {
    let (code, stdout, stderr) =
        check_in_fixtures(&["--color", "never", "invalid/timeout_without_unit.ops"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.contains("ops::parse::unexpected_token"), "{stderr}");
    assert!(
        stderr.ends_with("failed: 1 file checked, 1 error, 0 warnings\n"),
        "{stderr}"
    );
    let (_, explicit_stdout, explicit_stderr) = check_in_fixtures(&[
        "--color",
        "never",
        "--format",
        "human",
        "invalid/timeout_without_unit.ops",
    ]);
    assert_eq!((explicit_stdout, explicit_stderr), (stdout, stderr));
}

#[test]
fn deny_warnings_turns_warnings_into_exit_1_but_keeps_them_warnings() {
    // An agent nothing calls: a lint warning once analysis runs in `check`.
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("idle.ops");
    std::fs::write(&file, "agent IDLE \"Never called\" {\n  task nap\n}\n").unwrap();
    let run = |deny: bool| {
        let mut cmd = coordops();
        cmd.args(["check", "--format", "json"]);
        if deny {
            cmd.arg("--deny-warnings");
        }
        let out = cmd.arg(&file).output().unwrap();
        let report: JsonReport = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), report)
    };
    let (plain_code, plain) = run(false);
    let (deny_code, denied) = run(true);
    assert_eq!(plain, denied, "--deny-warnings changes only the exit code");
    let (errors, warnings) = (plain.summary.errors, plain.summary.warnings);
    assert_eq!(plain_code, i32::from(errors > 0));
    assert_eq!(deny_code, i32::from(errors + warnings > 0));
    let listed = plain
        .diagnostics
        .iter()
        .filter(|d| d.severity == JsonSeverity::Warning)
        .count();
    assert_eq!(listed, warnings);
}

#[test]
fn deny_warnings_on_a_clean_file_still_exits_0() {
    let (code, _, stderr) = check_in_fixtures(&["--deny-warnings", "valid/clean.ops"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("ok: 1 file checked, 0 errors"),
        "{stderr}"
    );
}

#[test]
fn unknown_format_is_a_usage_error() {
    let (code, stdout, stderr) = check_in_fixtures(&["--format", "xml", "valid"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("xml") && stderr.contains("sarif"),
        "{stderr}"
    );
}

#[test]
fn help_lists_the_formats_and_examples() {
    let (code, stdout, _) = check_in_fixtures(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "--format",
        "--deny-warnings",
        "human",
        "json",
        "github",
        "sarif",
        "coordops check --format sarif",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
}
