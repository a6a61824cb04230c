//! Syntax: source text → [`Playbook`] AST, or diagnostics.
//!
//! The pipeline for one file:
//! 1. reject empty files;
//! 2. a lexical [pre-scan](scan) bounds nesting depth and reports unclosed
//!    strings and brackets precisely;
//! 3. pest parses the whole file under a call budget;
//! 4. on failure, each top-level declaration is parsed on its own so that one
//!    run reports the first error of every broken declaration;
//! 5. on success the pairs are lowered into the AST.
//!
//! pest types never leave this module.

mod errors;
mod grammar;
mod hints;
mod keywords;
mod lower;
mod scan;
mod trivia;

use std::num::NonZeroUsize;
use std::sync::{Mutex, Once};

use pest::Parser;

use crate::ast::{Playbook, Span, TestFile};
use crate::diagnostics::{codes, Diagnostic};
use crate::source::SourceFile;
use grammar::{OpsParser, Rule};

pub use keywords::is_reserved;
pub use lower::{parse_duration, INTERNAL, MAX_DURATION_MS};
pub use trivia::{Comment, Comments};

/// Deepest nesting of brackets, braces and string interpolations.
pub const MAX_NESTING: usize = 64;
/// Most operators (`and`, `==`, `not`, …) in one expression.
pub const MAX_OPERATORS: usize = 32;
/// Most syntax errors reported for one file.
pub const MAX_ERRORS_PER_FILE: usize = 20;
/// The parser's work budget (pest rule calls) for one parse. A 4 MiB file of
/// ordinary declarations needs under 25 million; a single pathological
/// construct (a list of a million items) exceeds it and is reported as
/// `ops::parse::too_complex` instead of taking seconds.
pub const CALL_LIMIT: usize = 50_000_000;

/// The outcome of parsing one file.
#[derive(Debug)]
pub struct Parsed {
    /// The AST, when the file has no syntax errors.
    pub playbook: Option<Playbook>,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

fn configure_pest() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
    });
}

/// Serialises the re-parses that need pest's error detail.
static DETAIL: Mutex<()> = Mutex::new(());

/// Runs `f` with pest's (process-global) error-detail tracking on.
///
/// Tracking costs on every rule call, so ordinary parses run without it and
/// only the re-parse that builds an error message turns it on. The lock keeps
/// concurrent detailed re-parses from switching it off under each other;
/// parses in other threads meanwhile only use the outcome, never the detail.
fn with_error_detail<T>(f: impl FnOnce() -> T) -> T {
    let _guard = DETAIL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(true);
    let result = f();
    pest::set_error_detail(false);
    result
}

thread_local! {
    static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many files [`parse`] has parsed on this thread (for tests that prove a
/// command parses its playbook once).
#[doc(hidden)]
pub fn parses_on_this_thread() -> usize {
    PARSES.with(|p| p.get())
}

/// Parses a playbook.
pub fn parse(source: &SourceFile) -> Parsed {
    let (playbook, diagnostics) = parse_as(source, Rule::playbook, lower::playbook, None);
    Parsed {
        playbook,
        diagnostics,
    }
}

/// Parses a playbook and also returns its comments (empty when it does not
/// parse): the lossless layer for `fmt` and the language server.
pub fn parse_with_comments(source: &SourceFile) -> (Parsed, Comments) {
    let mut comments = Comments::default();
    let (playbook, diagnostics) =
        parse_as(source, Rule::playbook, lower::playbook, Some(&mut comments));
    let parsed = Parsed {
        playbook,
        diagnostics,
    };
    (parsed, comments)
}

/// The outcome of parsing one `*.test.ops` file.
#[derive(Debug)]
pub struct ParsedTestFile {
    /// The AST, when the file has no syntax errors.
    pub file: Option<TestFile>,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a test file: `tests "PLAYBOOK"` headers and declarations (which
/// of them belong there is for [`crate::testing::test_file`] to say).
pub fn parse_test_file(source: &SourceFile) -> ParsedTestFile {
    let (file, diagnostics) = parse_as(source, Rule::test_file, lower::test_file, None);
    ParsedTestFile { file, diagnostics }
}

/// Parses a test file and also returns its comments (empty when it does not
/// parse).
pub fn parse_test_file_with_comments(source: &SourceFile) -> (ParsedTestFile, Comments) {
    let mut comments = Comments::default();
    let (file, diagnostics) = parse_as(
        source,
        Rule::test_file,
        lower::test_file,
        Some(&mut comments),
    );
    (ParsedTestFile { file, diagnostics }, comments)
}

/// Parses `source` as `rule` and lowers it with `lower`, collecting its
/// comments into `comments` when asked.
fn parse_as<T>(
    source: &SourceFile,
    rule: Rule,
    lower: fn(pest::iterators::Pair<'_, Rule>) -> Result<T, Diagnostic>,
    comments: Option<&mut Comments>,
) -> (Option<T>, Vec<Diagnostic>) {
    PARSES.with(|p| p.set(p.get() + 1));
    let diagnostics =
        |ds: Vec<Diagnostic>| (None, ds.into_iter().map(|d| d.in_file(source)).collect());
    let text = source.text();
    if is_blank(text) {
        return diagnostics(vec![Diagnostic::error(
            codes::PARSE_EMPTY,
            "this playbook is empty: it declares nothing",
        )
        .with_primary(Span::new(0, text.len()), "")
        .with_help("a playbook declares at least one `coordinator`, `agent`, `signal`, `route` or `workflow`; see docs/language.md")]);
    }
    if let Some(problem) = scan::scan(text) {
        return diagnostics(vec![problem]);
    }
    configure_pest();
    match OpsParser::parse(rule, text) {
        Ok(mut pairs) => match pairs.next().map(|pair| {
            if let Some(comments) = comments {
                *comments = trivia::collect(text, &pair);
            }
            lower(pair)
        }) {
            Some(Ok(lowered)) => (Some(lowered), Vec::new()),
            Some(Err(problem)) => diagnostics(vec![problem]),
            None => diagnostics(vec![lower::internal(Span::point(0), "no playbook")]),
        },
        Err(_) => diagnostics(with_error_detail(|| recover(text, rule))),
    }
}

/// Byte offset of the `#` that starts a comment on `line`, if any: a `#`
/// inside a string or a regex is text. `line` must start outside a string.
pub fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"') => quote = Some('"'),
            (None, '/') => quote = Some('/'),
            (None, '#') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether the text holds nothing but whitespace and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

const TOP_LEVEL: &[&str] = &[
    "coordinator",
    "agent",
    "signal",
    "route",
    "workflow",
    "lock",
    "on",
    "test",
    "tests",
];

/// Start offsets of lines that begin, at column 0, with a top-level keyword.
fn declaration_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if offset > 0 && TOP_LEVEL.contains(&word.as_str()) {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
}

/// Reports the first error of each broken declaration.
fn recover(text: &str, rule: Rule) -> Vec<Diagnostic> {
    let starts = declaration_starts(text);
    let mut found = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        if let Err(error) = OpsParser::parse(rule, &text[start..end]) {
            found.push(errors::translate(&error, text, start));
            if found.len() >= MAX_ERRORS_PER_FILE {
                break;
            }
        }
    }
    if found.is_empty() {
        // Chunks parse alone but not together: report the whole-file error.
        found.push(match OpsParser::parse(rule, text) {
            Err(whole) => errors::translate(&whole, text, 0),
            Ok(_) => lower::internal(Span::point(0), "a parse failed only without error detail"),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Parsed {
        parse(&SourceFile::new("test.ops", text))
    }

    #[test]
    fn minimal_playbook_parses() {
        let parsed = parse_text("coordinator C { gate 80% timeout 2m }\n");
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.playbook.map(|p| p.items.len()), Some(1));
    }

    #[test]
    fn empty_and_comment_only_files_are_errors() {
        for text in ["", "  \n\t\n", "# only a comment\n"] {
            let parsed = parse_text(text);
            assert_eq!(parsed.diagnostics[0].code, codes::PARSE_EMPTY, "{text:?}");
        }
    }

    #[test]
    fn group_labels_parse_before_the_for_clause_and_settings() {
        let ok = "workflow w {\n  parallel audit for x in xs gate 80% timeout 1m {\n    A.t()\n  }\n  parallel gate 80% {\n    A.t()\n  }\n  parallel timeout 1m {\n    A.t()\n  }\n}\n";
        let parsed = parse_text(ok);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let late = "workflow w {\n  parallel audit gate 80% for x in xs {\n    A.t()\n  }\n}\n";
        let parsed = parse_text(late);
        let help = parsed.diagnostics[0].help.clone().unwrap_or_default();
        assert!(
            help.contains("parallel audit for x in xs gate 80%"),
            "{help}"
        );
    }

    #[test]
    fn recovery_reports_each_broken_declaration() {
        let text = "agent A { task }\nagent B { timeout }\nagent C { }\n";
        let parsed = parse_text(text);
        assert_eq!(parsed.diagnostics.len(), 2, "{:?}", parsed.diagnostics);
    }
}

#[cfg(test)]
mod lowering_tests {
    use super::*;
    use crate::ast::*;

    fn playbook(text: &str) -> Playbook {
        let parsed = parse(&SourceFile::new("test.ops", text));
        match parsed.playbook {
            Some(p) => p,
            None => panic!("{:?}", parsed.diagnostics),
        }
    }

    fn guard(expr: &str) -> Expr {
        let p = playbook(&format!("route OPS:X when {expr} => ignore"));
        let guard = p.routes().next().and_then(|r| r.guard.clone());
        guard.expect("guard")
    }

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", shape(lhs), op.symbol(), shape(rhs))
            }
            ExprKind::Unary { operand, .. } => format!("(not {})", shape(operand)),
            ExprKind::Path { segments } => segments
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join("."),
            ExprKind::Int { value } => value.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn precedence_or_and_not_comparison() {
        assert_eq!(shape(&guard("a or b and c")), "(a or (b and c))");
        assert_eq!(shape(&guard("not a == 1 and b")), "((not (a == 1)) and b)");
        assert_eq!(shape(&guard("a < 1 or b >= 2")), "((a < 1) or (b >= 2))");
        assert_eq!(shape(&guard("(a or b) and c")), "((a or b) and c)");
        assert!(shape(&guard("x.y in [1, 2]")).starts_with("(x.y in"));
    }

    #[test]
    fn strings_decode_escapes_and_interpolation() {
        let e = guard(r#""a\"b\n\u{e9} {signal.version}!" == "x""#);
        let ExprKind::Binary { lhs, .. } = e.kind else {
            panic!()
        };
        let ExprKind::Str { value } = lhs.kind else {
            panic!()
        };
        assert_eq!(value.parts.len(), 3);
        assert_eq!(
            value.parts[0],
            StrPart::Text {
                text: "a\"b\né ".into()
            }
        );
        assert!(matches!(value.parts[1], StrPart::Interpolation { .. }));
        assert_eq!(value.parts[2], StrPart::Text { text: "!".into() });
    }

    #[test]
    fn literals() {
        assert!(matches!(
            guard("1h30m").kind,
            ExprKind::Duration { millis: 5_400_000 }
        ));
        assert!(matches!(guard("80%").kind, ExprKind::Percent { value: 80 }));
        assert!(matches!(guard("-3").kind, ExprKind::Int { value: -3 }));
        let ExprKind::Regex { pattern } = guard(r"/^a\/b$/").kind else {
            panic!()
        };
        assert_eq!(pattern, r"^a\/b$");
        let ExprKind::Map { entries } = guard(r#"{ a: 1 "b c": 2, }"#).kind else {
            panic!()
        };
        assert_eq!(entries[1].key.name, "b c");
    }

    #[test]
    fn retry_policy_parts() {
        let p =
            playbook("coordinator C { retry 3 backoff 2s x1.5 max 30s on [rejected, timeout] }");
        let c = p.coordinators().next().expect("coordinator");
        let Setting::Retry(r) = &c.settings[0] else {
            panic!()
        };
        assert_eq!(r.retries.value, 3);
        assert_eq!(r.backoff.as_ref().map(|d| d.millis), Some(2000));
        assert_eq!(r.multiplier.as_ref().map(|m| m.value), Some(1.5));
        assert_eq!(r.max_delay.as_ref().map(|d| d.millis), Some(30_000));
        let kinds: Vec<_> = r.on.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(kinds, ["rejected", "timeout"]);
        assert!(r.jitter.is_none() && r.within.is_none());
    }

    #[test]
    fn retry_policy_jitter_and_budget() {
        let p = playbook("coordinator C { retry 5 backoff 1s x2 jitter within 2m on [network] }");
        let c = p.coordinators().next().expect("coordinator");
        let Setting::Retry(r) = &c.settings[0] else {
            panic!()
        };
        assert!(r.jitter.is_some());
        assert_eq!(r.within.as_ref().map(|d| d.millis), Some(120_000));
        assert_eq!(r.on.len(), 1);
        // Both without `backoff` too.
        let p = playbook("coordinator C { retry 3 jitter }\nagent A { retry 2 within 30s }");
        let c = p.coordinators().next().expect("coordinator");
        assert!(matches!(&c.settings[0], Setting::Retry(r) if r.jitter.is_some()));
    }

    #[test]
    fn retry_policy_except() {
        let retry = |src: &str| {
            let p = playbook(src);
            let c = p.coordinators().next().expect("coordinator");
            let Setting::Retry(r) = &c.settings[0] else {
                panic!()
            };
            let names = |v: &[crate::ast::Ident]| -> Vec<String> {
                v.iter().map(|k| k.name.clone()).collect()
            };
            (names(&r.on), names(&r.except))
        };
        let (on, except) = retry("coordinator C { retry 3 jitter except [network, quota] }");
        assert!(on.is_empty());
        assert_eq!(except, ["network", "quota"]);
        // Both, in either order, parse: check reports the conflict.
        for src in [
            "coordinator C { retry 3 on [rejected] except [network] }",
            "coordinator C { retry 3 except [network] on [rejected] }",
        ] {
            assert_eq!(
                retry(src),
                (vec!["rejected".into()], vec!["network".into()])
            );
        }
        // `except` is a keyword only in a retry policy.
        let p = playbook("agent A { task except }");
        assert_eq!(
            p.agents().next().expect("agent").tasks[0].name.name,
            "except"
        );
    }

    #[test]
    fn routes_labels_patterns_and_targets() {
        let p = playbook(
            "route fast: OPS:COMMIT when signal.simple => RM.commit(files: [])\n\
             route OPS:* => escalate Boundary \"no\"\nroute * => ignore\nroute OPS:A => flow",
        );
        let routes: Vec<_> = p.routes().collect();
        assert_eq!(
            routes[0].label.as_ref().map(|l| l.name.as_str()),
            Some("fast")
        );
        assert!(routes[0].pattern.matches("OPS:COMMIT"));
        assert!(matches!(routes[0].target, RouteTarget::Task(_)));
        assert!(routes[1].pattern.matches("OPS:ANY") && !routes[1].pattern.matches("X:ANY"));
        assert!(matches!(routes[1].target, RouteTarget::Escalate(_)));
        assert!(routes[2].pattern.matches("ANYTHING"));
        assert!(matches!(routes[3].target, RouteTarget::Workflow(_)));
    }

    #[test]
    fn steps_options_and_handlers() {
        let p = playbook(
            "workflow w {\n  c = A.commit() timeout 30s critical lock g when x\n    \
             on failure(rejected, conflict) => A.fetch() then retry\n  \
             if a { A.b() } else if b { A.c() } else { abort \"no\" }\n  \
             parallel for f in signal.files gate 50% { A.d(file: f) }\n}",
        );
        let w = p.workflows().next().expect("workflow");
        let Stmt::Call(c) = &w.body.stmts[0] else {
            panic!()
        };
        assert_eq!(c.options.len(), 5);
        let StepOption::Handler(h) = &c.options[4] else {
            panic!()
        };
        assert_eq!(h.kinds.len(), 2);
        assert!(h.recovery.is_some());
        assert!(matches!(h.action, HandlerAction::Retry { .. }));
        let Stmt::If(i) = &w.body.stmts[1] else {
            panic!()
        };
        assert_eq!(i.branches.len(), 2);
        assert!(i.else_block.is_some());
        let Stmt::Parallel(g) = &w.body.stmts[2] else {
            panic!()
        };
        assert!(g.each.is_some());
        assert_eq!(
            g.gate.as_ref().map(|x| x.rule),
            Some(crate::ast::GateRule::Percent { value: 50 })
        );
    }

    #[test]
    fn count_gates_and_early_stops_parse() {
        use crate::ast::{GateRule, StopWhen};
        let gate_of = |head: &str| {
            let text = format!("workflow w {{\n  {head} {{\n    A.t()\n  }}\n}}");
            let parsed = parse(&SourceFile::new("t", text));
            assert!(
                parsed.diagnostics.is_empty(),
                "{head}: {:?}",
                parsed.diagnostics
            );
            let Some(Item::Workflow(w)) = parsed.playbook.as_ref().and_then(|p| p.items.first())
            else {
                panic!("{head}: no workflow")
            };
            let Stmt::Parallel(g) = &w.body.stmts[0] else {
                panic!("{head}: no group")
            };
            (g.gate.as_ref().map(|x| x.rule), g.stop, g.timeout.is_some())
        };
        assert_eq!(
            gate_of("parallel gate tolerate 1"),
            (Some(GateRule::Tolerate { tolerate: 1 }), None, false)
        );
        assert_eq!(
            gate_of("parallel for x in [1] gate at least 2 stop when passed timeout 5m"),
            (
                Some(GateRule::AtLeast { at_least: 2 }),
                Some(StopWhen::Passed),
                true
            )
        );
        assert_eq!(
            gate_of("parallel timeout 5m gate 80% stop when failed"),
            (
                Some(GateRule::Percent { value: 80 }),
                Some(StopWhen::Failed),
                true
            )
        );
        assert_eq!(
            gate_of("parallel gate tolerate 0 stop when decided"),
            (
                Some(GateRule::Tolerate { tolerate: 0 }),
                Some(StopWhen::Decided),
                false
            )
        );
        // The new words are not reserved: they still name things.
        let names = "workflow w {\n  stop = A.t()\n  least = A.t()\n  at = A.t(x: tolerate)\n}";
        let parsed = parse(&SourceFile::new("t", names));
        assert_eq!(parsed.diagnostics.len(), 0, "{:?}", parsed.diagnostics);
        for bad in [
            "parallel gate tolerate -1",
            "parallel gate at least 99999999999999999999",
            "parallel stop when passed",
            "parallel gate 80% stop when done",
        ] {
            let text = format!("workflow w {{\n  {bad} {{\n    A.t()\n  }}\n}}");
            let parsed = parse(&SourceFile::new("t", text));
            assert!(!parsed.diagnostics.is_empty(), "{bad} parses");
        }
    }

    #[test]
    fn lowering_limits_are_diagnostics() {
        let long = format!("route OPS:X when {} => ignore", vec!["a"; 40].join(" and "));
        let parsed = parse(&SourceFile::new("t", long));
        assert_eq!(parsed.diagnostics[0].code, codes::PARSE_EXPRESSION_TOO_LONG);
        let big = parse(&SourceFile::new(
            "t",
            "agent A { max_concurrent 99999999999999999999 }",
        ));
        assert_eq!(big.diagnostics[0].code, codes::PARSE_NUMBER_TOO_LARGE);
        let bad = parse(&SourceFile::new(
            "t",
            "route OPS:X when \"\\u{d800}\" => ignore",
        ));
        assert_eq!(bad.diagnostics[0].code, codes::PARSE_INVALID_ESCAPE);
    }
}

/// Prints pest's raw error data (rules and tokens) for grammar tuning.
#[doc(hidden)]
pub fn debug_pest_error(text: &str) {
    configure_pest();
    if let Err(e) = with_error_detail(|| OpsParser::parse(Rule::playbook, text)) {
        if let pest::error::ErrorVariant::ParsingError {
            positives,
            negatives,
        } = &e.variant
        {
            println!(
                "at {:?}: positives {positives:?} negatives {negatives:?}",
                e.location
            );
        }
        if let Some(a) = e.parse_attempts() {
            println!("  tokens {:?}", a.expected_tokens());
            println!("  stacks {:?}", a.call_stacks());
        }
    }
}
