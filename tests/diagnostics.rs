//! Invalid playbooks: one snapshot of the rendered diagnostics per fixture.
//!
//! Each file in `tests/fixtures/invalid/` holds one mistake and is named for
//! it. The snapshots in `tests/snapshots/` are reviewed by hand: a stable
//! code, a label on the offending text and a message in playbook terms.

use std::path::Path;

use coordops::diagnostics::{codes, render, RenderOptions};
use coordops::source::SourceFile;
use coordops::syntax::{self, Parsed};

const OPTIONS: RenderOptions = RenderOptions {
    color: false,
    width: 80,
};

/// Reads a fixture as bytes (so CRLF and tabs survive) and names it by its
/// file name only, so snapshots do not depend on where the repository lives.
fn load_fixture(path: &Path) -> SourceFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let text =
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("fixture names are UTF-8");
    SourceFile::new(name, text)
}

fn fixture(name: &str) -> SourceFile {
    load_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/invalid")
            .join(name),
    )
}

fn rendered(parsed: &Parsed) -> String {
    parsed
        .diagnostics
        .iter()
        .map(|d| render(d, OPTIONS))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn invalid_fixtures() {
    insta::glob!("fixtures/invalid/*.ops", |path| {
        let source = load_fixture(path);
        let parsed = syntax::parse(&source);
        assert!(
            !parsed.diagnostics.is_empty(),
            "{} parsed without a diagnostic",
            source.name()
        );
        assert!(
            parsed.playbook.is_none(),
            "{}: errors but an AST",
            source.name()
        );
        insta::assert_snapshot!(rendered(&parsed));
    });
}

#[test]
fn every_diagnostic_has_a_known_code_and_a_label_in_bounds() {
    let mut count = 0;
    insta::glob!("fixtures/invalid/*.ops", |path| {
        let source = load_fixture(path);
        let text = source.text();
        for d in syntax::parse(&source).diagnostics {
            count += 1;
            assert!(
                codes::ALL.contains(&d.code),
                "{}: unknown or internal code {}",
                source.name(),
                d.code
            );
            assert!(
                d.is_error(),
                "{}: {} is not an error",
                source.name(),
                d.code
            );
            eprintln!("{}: {}", source.name(), d.code);
            coordops::testing::fuzz::assert_invariants(text, std::slice::from_ref(&d));
            // The primary label points at text, except when the problem is
            // that the file (or the text) ends.
            let primary = d.primary_span().expect("checked above");
            assert!(
                !primary.is_empty() || primary.end == text.len(),
                "{}: {} has an empty primary label at {primary:?}, not at the end",
                source.name(),
                d.code
            );
        }
    });
    assert!(count >= 30, "only {count} diagnostics over the fixtures");
}

/// Words from the grammar that must never reach a user.
const RULE_NAMES: &[&str] = &[
    "EOI",
    "SOI",
    "kw_",
    "op_",
    "step_option",
    "ident",
    "stmt",
    "str_text",
    "str_escape",
    "path_root",
    "signal_pattern",
    "signal_name",
    "agent_item",
    "task_item",
    "handler_action",
    "coordinator_setting",
    "escalation_rule",
    "kind_list",
    "arg_list",
    "map_entry",
    "retry_on",
    "Rule::",
    "WHITESPACE",
    "COMMENT",
];

#[test]
fn messages_use_playbook_words_not_rule_names() {
    insta::glob!("fixtures/invalid/*.ops", |path| {
        let source = load_fixture(path);
        for d in syntax::parse(&source).diagnostics {
            let words = format!("{} {}", d.message, d.help.as_deref().unwrap_or(""));
            let labels: Vec<&str> = d
                .labels
                .iter()
                .filter_map(|l| l.message.as_deref())
                .collect();
            let words = format!("{words} {}", labels.join(" "));
            for rule in RULE_NAMES {
                // `identifier` would be fine English; rule names are whole words.
                let leaked = words
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .any(|w| w == *rule || (rule.ends_with(['_', ':']) && w.starts_with(rule)));
                assert!(!leaked, "{}: `{rule}` in {words:?}", source.name());
            }
        }
    });
}

#[test]
fn two_broken_declarations_give_two_diagnostics() {
    let source = fixture("two_errors_in_two_agents.ops");
    let parsed = syntax::parse(&source);
    assert_eq!(parsed.diagnostics.len(), 2, "{}", rendered(&parsed));
    let lines: Vec<usize> = parsed
        .diagnostics
        .iter()
        .map(|d| source.line_col(d.primary_span().expect("primary").start).0)
        .collect();
    assert_eq!(lines, [2, 6], "one error in each agent, in source order");
    assert_eq!(
        source.slice(parsed.diagnostics[0].primary_span().unwrap()),
        "30"
    );
    assert_eq!(
        source.slice(parsed.diagnostics[1].primary_span().unwrap()),
        "gate"
    );
}

#[test]
fn labels_point_at_the_offending_text() {
    // (fixture, code, exact text under the primary label)
    let cases = [
        ("timeout_without_unit.ops", codes::PARSE_UNEXPECTED, "30"),
        (
            "reserved_word_as_agent_name.ops",
            codes::PARSE_RESERVED_WORD,
            "workflow",
        ),
        (
            "signal_without_namespace.ops",
            codes::PARSE_UNEXPECTED,
            "COMMIT",
        ),
        ("semicolon.ops", codes::PARSE_INVALID_CHARACTER, ";"),
        ("single_quotes.ops", codes::PARSE_INVALID_CHARACTER, "'"),
        ("gate_without_percent.ops", codes::PARSE_UNEXPECTED, "80"),
        (
            "route_missing_arrow.ops",
            codes::PARSE_UNEXPECTED,
            "commit_pr",
        ),
        ("mismatched_bracket.ops", codes::PARSE_MISMATCHED, ")"),
        ("stray_closing_brace.ops", codes::PARSE_MISMATCHED, "}"),
        (
            "number_too_large.ops",
            codes::PARSE_NUMBER_TOO_LARGE,
            "99999999999999999999",
        ),
        (
            "duration_too_large.ops",
            codes::PARSE_NUMBER_TOO_LARGE,
            "400d",
        ),
        (
            "unterminated_string.ops",
            codes::PARSE_UNTERMINATED_STRING,
            "\"Git, PRs",
        ),
        (
            "unterminated_regex.ops",
            codes::PARSE_UNTERMINATED_REGEX,
            "/^feat",
        ),
        ("missing_closing_brace.ops", codes::PARSE_UNCLOSED, "{"),
        ("nesting_too_deep.ops", codes::PARSE_TOO_DEEP, "("),
        ("crlf_line_endings.ops", codes::PARSE_UNEXPECTED, "30"),
        ("tabs_before_error.ops", codes::PARSE_UNEXPECTED, "soon"),
        ("utf8_before_error.ops", codes::PARSE_UNEXPECTED, "30"),
        (
            "invalid_unicode_escape.ops",
            codes::PARSE_INVALID_ESCAPE,
            "\\u{D800}",
        ),
        ("empty.ops", codes::PARSE_EMPTY, ""),
    ];
    for (name, code, text) in cases {
        let source = fixture(name);
        let parsed = syntax::parse(&source);
        let first = parsed
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("{name}: no diagnostic"));
        assert_eq!(first.code, code, "{name}");
        assert_eq!(source.slice(first.primary_span().unwrap()), text, "{name}");
    }
}

#[test]
fn positions_count_lines_across_crlf_and_characters_across_utf8() {
    let crlf = fixture("crlf_line_endings.ops");
    assert!(crlf.text().contains("\r\n"), "fixture lost its CRLF bytes");
    let d = &syntax::parse(&crlf).diagnostics[0];
    assert_eq!(crlf.line_col(d.primary_span().unwrap().start), (4, 11));

    let tabs = fixture("tabs_before_error.ops");
    assert!(tabs.text().contains("\t\ttimeout"), "fixture lost its tabs");
    let d = &syntax::parse(&tabs).diagnostics[0];
    assert_eq!(tabs.line_col(d.primary_span().unwrap().start), (3, 11));

    let utf8 = fixture("utf8_before_error.ops");
    let d = &syntax::parse(&utf8).diagnostics[0];
    // Column in characters: "é€😀" are 3 characters but 9 bytes.
    assert_eq!(utf8.line_col(d.primary_span().unwrap().start), (1, 44));
}

#[test]
fn empty_fixture_is_zero_bytes() {
    let source = fixture("empty.ops");
    assert_eq!(source.text().len(), 0);
    assert_eq!(
        syntax::parse(&source).diagnostics[0].code,
        codes::PARSE_EMPTY
    );
}
