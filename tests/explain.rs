//! `coordops::explain`: every diagnostic code has an explanation, and every
//! example in the explanations does what it says.
//!
//! The `## Wrong` example of a parse, check or lint code must produce that
//! code (and no other error); the `## Corrected` example must check with no
//! diagnostics at all. `ops::io::*` codes and `ops::parse::too_complex` are
//! shown with shell sessions instead, which are not run.

use std::collections::BTreeSet;

use coordops::analysis::check_source;
use coordops::diagnostics::{codes, render_all, Diagnostic, RenderOptions};
use coordops::explain;
use coordops::source::SourceFile;

/// Codes whose examples are shell sessions, not playbooks.
fn shell_only(code: &str) -> bool {
    code.starts_with("ops::io::")
        || code == codes::PARSE_TOO_COMPLEX
        || code == codes::TEST_BAD_FILE
        || code == codes::TEST_NO_PLAYBOOK
}

/// Codes from `coordops test`, not `check`: their examples are run by
/// `tests/test_cmd.rs`.
fn test_code(code: &str) -> bool {
    code.starts_with("ops::test::")
}

/// Codes a run ends with (`ops::run::*`): the playbooks check clean, and
/// the limits are exercised by `tests/run_limits.rs`.
fn run_code(code: &str) -> bool {
    code.starts_with("ops::run::")
}

fn short(code: &str) -> &str {
    code.rsplit("::").next().unwrap_or(code)
}

/// The language and body of the first fenced block after `## <heading>`.
fn example<'a>(markdown: &'a str, heading: &str) -> Option<(&'a str, &'a str)> {
    let marker = format!("\n## {heading}\n");
    let section = &markdown[markdown.find(&marker)? + marker.len()..];
    // The section ends at the next heading.
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    let open = section.find("```")?;
    let after = &section[open + 3..];
    let newline = after.find('\n')?;
    let lang = after[..newline].trim();
    let body = &after[newline + 1..];
    let close = body.find("\n```")?;
    Some((lang, &body[..=close]))
}

fn check(name: &str, text: &str) -> Vec<Diagnostic> {
    check_source(&SourceFile::new(name, text))
}

fn rendered(diagnostics: &[Diagnostic]) -> String {
    render_all(
        diagnostics,
        RenderOptions {
            color: false,
            width: 80,
        },
    )
}

#[test]
fn every_code_has_an_explanation() {
    let missing: Vec<&str> = codes::ALL
        .iter()
        .copied()
        .filter(|code| explain::explanation(code).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without an explanation: {missing:?}"
    );

    let listed: Vec<&str> = explain::all().iter().map(|(code, _)| *code).collect();
    assert_eq!(
        listed,
        codes::ALL,
        "explain::all() lists every code once, in codes::ALL order"
    );
}

#[test]
fn explanations_have_the_documented_shape() {
    for (code, text) in explain::all() {
        let title = text.lines().next().unwrap_or_default();
        let prefix = format!("# {code} — ");
        assert!(
            title.starts_with(&prefix) && title.len() > prefix.len() + 10,
            "{code}: the first line must be `{prefix}<short meaning>`, found {title:?}"
        );
        let paragraph = text.lines().nth(2).unwrap_or_default();
        assert!(
            !paragraph.is_empty() && !paragraph.starts_with('#'),
            "{code}: no paragraph after the title"
        );

        let wanted = if shell_only(code) { "sh" } else { "ops" };
        for heading in ["Wrong", "Corrected"] {
            match example(text, heading) {
                Some((lang, body)) => {
                    assert_eq!(
                        lang, wanted,
                        "{code}: the `## {heading}` example should be ```{wanted}"
                    );
                    assert!(
                        !body.trim().is_empty(),
                        "{code}: the `## {heading}` example is empty"
                    );
                }
                None => panic!("{code}: no fenced example under `## {heading}`"),
            }
        }

        let allow = format!("`# ops:allow({})`", short(code));
        if code.starts_with("ops::lint::") {
            assert!(
                text.contains("\n## Silencing\n"),
                "{code}: lints need a `## Silencing` section"
            );
            assert!(
                text.contains(&allow),
                "{code}: the explanation must show {allow}"
            );
            assert!(
                text.contains("--deny-warnings"),
                "{code}: the explanation must mention --deny-warnings"
            );
        } else {
            assert!(
                !text.contains("ops:allow("),
                "{code}: errors cannot be silenced; do not suggest it"
            );
        }
    }
}

#[test]
fn wrong_examples_produce_their_code() {
    let mut checked = 0;
    for (code, text) in explain::all() {
        if shell_only(code) || test_code(code) || run_code(code) {
            continue;
        }
        let (_, body) =
            example(text, "Wrong").unwrap_or_else(|| panic!("{code}: no Wrong example"));
        let found = check(&format!("{}.wrong.ops", short(code)), body);
        assert!(
            found.iter().any(|d| d.code == *code),
            "{code}: the Wrong example does not produce it; it produces:\n{}",
            rendered(&found)
        );
        // The example shows one mistake: no unrelated error hides behind it.
        let other_errors: Vec<&str> = found
            .iter()
            .filter(|d| d.is_error() && d.code != *code)
            .map(|d| d.code)
            .collect();
        assert!(
            other_errors.is_empty(),
            "{code}: the Wrong example also has errors {other_errors:?}:\n{}",
            rendered(&found)
        );
        checked += 1;
    }
    // 14 parse codes (all but too_complex), 29 check codes, 14 lints.
    assert_eq!(checked, 14 + 29 + 14);
}

#[test]
fn corrected_examples_check_clean() {
    for (code, text) in explain::all() {
        if shell_only(code) {
            continue;
        }
        let (_, body) =
            example(text, "Corrected").unwrap_or_else(|| panic!("{code}: no Corrected example"));
        let found = check(&format!("{}.corrected.ops", short(code)), body);
        assert!(
            found.is_empty(),
            "{code}: the Corrected example must check with no errors and no warnings, but has:\n{}",
            rendered(&found)
        );
    }
}

#[test]
fn short_codes_are_unique_and_resolve() {
    let mut seen = BTreeSet::new();
    for code in codes::ALL {
        assert!(
            seen.insert(short(code)),
            "two codes share the short form `{}`",
            short(code)
        );
        assert_eq!(
            explain::explanation(short(code)),
            explain::explanation(code),
            "{code}"
        );
        assert_eq!(explain::full_code(short(code)), Some(*code));
        assert_eq!(explain::full_code(code), Some(*code));
    }
}

#[test]
fn lookup_by_full_or_short_code() {
    let full = explain::explanation("ops::check::undefined_agent").expect("full code");
    let by_short = explain::explanation("undefined_agent").expect("short code");
    assert!(
        std::ptr::eq(full, by_short),
        "both forms give the same text"
    );
    assert!(full.starts_with("# ops::check::undefined_agent — "));

    assert!(explain::explanation("gate_tolerates_no_failure").is_some_and(|t| t.contains("80%")));
    assert!(
        explain::explanation(" over_serialized ").is_some(),
        "surrounding spaces are ignored"
    );

    for unknown in [
        "",
        "undefined",
        "ops::check::",
        "ops::lint::undefined_agent",
        "UNDEFINED_AGENT",
        "check::undefined_agent",
    ] {
        assert_eq!(
            explain::explanation(unknown),
            None,
            "{unknown:?} is not a code"
        );
    }
}

#[test]
fn seed_anti_patterns_are_named() {
    let text = |code| explain::explanation(code).unwrap_or_default();
    assert!(
        text(codes::LINT_PREMATURE_ESCALATION).contains("Anti-Pattern 4: Escalating Prematurely")
    );
    assert!(text(codes::LINT_OVER_SERIALIZED).contains("Anti-Pattern 2"));
    assert!(text(codes::LINT_STRICT_GATE).contains("80% of agents must succeed"));
}
