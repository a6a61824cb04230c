//! Property tests: no input makes the parser panic, and every diagnostic
//! points inside the file. Plus pathological nesting on a small stack.

use coordops::diagnostics::{codes, render, RenderOptions};
use coordops::source::SourceFile;
use coordops::syntax::{self, Parsed, INTERNAL};
use proptest::prelude::*;
use proptest::sample::Index;

const RICH: &str = include_str!("fixtures/syntax/rich.ops");

fn parse(text: &str) -> Parsed {
    syntax::parse(&SourceFile::new("prop.ops", text))
}

/// What must hold for any input: a result or diagnostics (never both, never
/// neither), known codes, labels inside the text on character boundaries.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    let parsed = parse(text);
    prop_assert_eq!(parsed.playbook.is_some(), parsed.diagnostics.is_empty());
    for d in &parsed.diagnostics {
        prop_assert!(
            d.code != INTERNAL,
            "internal error for {:?}: {}",
            text,
            d.message
        );
        prop_assert!(codes::ALL.contains(&d.code), "unknown code {}", d.code);
        prop_assert!(
            d.primary_span().is_some(),
            "{} has no primary label",
            d.code
        );
        for label in &d.labels {
            let span = label.span;
            prop_assert!(
                span.start <= span.end && span.end <= text.len(),
                "{span:?} outside {}",
                text.len()
            );
            prop_assert!(
                text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{span:?} splits a character in {text:?}"
            );
        }
    }
    Ok(())
}

/// Pieces of the language, for inputs that get past the first token.
const TOKENS: &[&str] = &[
    "agent",
    "task",
    "workflow",
    "signal",
    "route",
    "coordinator",
    "lock",
    "test",
    "on",
    "if",
    "else",
    "when",
    "parallel",
    "for",
    "in",
    "approve",
    "complete",
    "let",
    "run",
    "not",
    "and",
    "or",
    "retry",
    "timeout",
    "gate",
    "=>",
    "=",
    "==",
    "!~",
    "~",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    ".",
    "\"",
    "\"x {a}\"",
    "\\",
    "/re/",
    "/",
    "#",
    "\n",
    "\r\n",
    "\t",
    " ",
    "30s",
    "80%",
    "3",
    "-1",
    "x2",
    "OPS:COMMIT",
    "OPS:*",
    "*",
    "A",
    "b_1",
    "é",
    "€",
    "😀",
    "\u{0}",
    "99999999999999999999",
    "400d",
    ";",
    "'",
    "@",
    "then",
    "continue",
    "given",
    "expect",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|ts| ts.join(" "))
}

/// One edit of the valid playbook.
#[derive(Clone, Debug)]
enum Edit {
    Delete(Index),
    DeleteToken(Index),
    Insert(Index, String),
    Replace(Index, String),
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        prop::sample::select(TOKENS).prop_map(str::to_string),
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::DeleteToken),
        (any::<Index>(), token.clone()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<Index>(), token).prop_map(|(i, t)| Edit::Replace(i, t)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// Applies an edit at a character boundary of `text`.
fn apply(text: &str, edit: &Edit) -> String {
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let at = |i: &Index| boundaries[i.index(boundaries.len())];
    let char_end = |start: usize| start + text[start..].chars().next().map_or(0, char::len_utf8);
    match edit {
        Edit::Delete(i) => {
            let start = at(i);
            format!("{}{}", &text[..start], &text[char_end(start)..])
        }
        Edit::DeleteToken(i) => {
            let start = at(i);
            let len = text[start..]
                .find(|c: char| c.is_whitespace())
                .unwrap_or(text.len() - start)
                .max(1);
            let end = (start + len).min(text.len());
            let end = (end..=text.len())
                .find(|e| text.is_char_boundary(*e))
                .unwrap_or(text.len());
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::Insert(i, token) => {
            let start = at(i);
            format!("{}{token}{}", &text[..start], &text[start..])
        }
        Edit::Replace(i, token) => {
            let start = at(i);
            format!("{}{token}{}", &text[..start], &text[char_end(start)..])
        }
        Edit::Truncate(i) => text[..at(i)].to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check_invariants(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_invariants(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_invariants(&text)?;
    }

    #[test]
    fn edits_stay_on_character_boundaries(e in edit()) {
        // Slicing off a boundary would panic inside `apply`.
        let edited = apply("aé€😀b", &e);
        prop_assert!(edited.len() <= "aé€😀b".len() + 20, "{edited:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn mutated_playbooks_never_panic(edits in prop::collection::vec(edit(), 1..4)) {
        let mut text = RICH.to_string();
        for e in &edits {
            if !text.is_empty() {
                text = apply(&text, e);
            }
        }
        check_invariants(&text)?;
        // Rendering must cope with every span the parser produces.
        for d in &parse(&text).diagnostics {
            let out = render(d, RenderOptions { color: false, width: 80 });
            prop_assert!(out.contains(d.code));
        }
    }
}

#[test]
fn unedited_rich_playbook_parses() {
    let parsed = parse(RICH);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
}

/// Parses `text` on a 2 MiB thread, as a proof that it needs no deep stack.
fn parse_on_small_stack(text: String) -> Parsed {
    std::thread::Builder::new()
        .name("small-stack-parse".into())
        .stack_size(2 * 1024 * 1024)
        .spawn(move || parse(&text))
        .expect("spawn a thread")
        .join()
        .expect("the parser panicked")
}

fn assert_clean_rejection(parsed: &Parsed, expected: &[&str]) {
    assert!(parsed.playbook.is_none(), "accepted pathological input");
    let d = parsed.diagnostics.first().expect("a diagnostic");
    assert!(
        expected.contains(&d.code),
        "{}: {} (expected one of {expected:?})",
        d.code,
        d.message
    );
}

#[test]
fn a_hundred_thousand_nested_braces() {
    let text = format!("workflow w {}", "{".repeat(100_000));
    assert_clean_rejection(&parse_on_small_stack(text), &[codes::PARSE_TOO_DEEP]);
}

#[test]
fn a_hundred_thousand_balanced_brackets() {
    let text = format!(
        "workflow w {{ let x = {}1{} }}\n",
        "[(".repeat(50_000),
        ")]".repeat(50_000)
    );
    assert_clean_rejection(&parse_on_small_stack(text), &[codes::PARSE_TOO_DEEP]);
}

#[test]
fn a_hundred_thousand_nots() {
    let text = format!(
        "workflow w {{\n  if {}x {{ abort \"no\" }}\n}}\n",
        "not ".repeat(100_000)
    );
    assert_clean_rejection(
        &parse_on_small_stack(text),
        &[
            codes::PARSE_EXPRESSION_TOO_LONG,
            codes::PARSE_TOO_DEEP,
            codes::PARSE_TOO_COMPLEX,
        ],
    );
}

#[test]
fn a_hundred_thousand_chained_else_ifs() {
    // A flat chain: no nesting, so it either parses into one `if` with
    // 100,001 branches or is refused cleanly (work budget).
    let text = format!(
        "workflow w {{\n  if a {{ }}{}\n}}\n",
        " else if a { }".repeat(100_000)
    );
    let parsed = parse_on_small_stack(text);
    match &parsed.playbook {
        Some(playbook) => {
            let json = serde_json::to_value(playbook).expect("serialise");
            let branches = json["items"][0]["body"]["stmts"][0]["branches"]
                .as_array()
                .map_or(0, Vec::len);
            assert_eq!(branches, 100_001);
        }
        None => assert_clean_rejection(&parsed, &[codes::PARSE_TOO_COMPLEX, codes::PARSE_TOO_DEEP]),
    }
}

#[test]
fn a_hundred_thousand_nested_else_blocks() {
    let text = format!(
        "workflow w {{\n  {}abort \"x\"{}\n}}\n",
        "if a { } else { ".repeat(100_000),
        " }".repeat(100_000)
    );
    assert_clean_rejection(&parse_on_small_stack(text), &[codes::PARSE_TOO_DEEP]);
}

#[test]
fn unclosed_brackets_fail_fast() {
    // Backtracking over many unclosed openers must not explode.
    let text = format!("workflow w {{ let x = {}", "[(".repeat(30));
    let started = std::time::Instant::now();
    assert_clean_rejection(&parse_on_small_stack(text), &[codes::PARSE_UNCLOSED]);
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
