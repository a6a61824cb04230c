//! `coordops fmt`: the CLI (`--check`, `--diff`, stdin, syntax errors) and
//! the formatter's two promises over every playbook in the repository and
//! over generated and re-laid-out ones: formatting twice changes nothing,
//! and the AST (spans aside) and the comments are the same before and after.

use std::path::{Path, PathBuf};

use crate::support::{coordops, dir_with, root};
use coordops::format::{format_file, format_source, is_test_source};
use coordops::source::SourceFile;
use coordops::syntax::{self, Comments};
use coordops::testing::generate;
use predicates::prelude::*;
use proptest::prelude::*;

const UGLY: &str = "agent A {task t{timeout 30s}}\nroute X:GO=>A.t()\n";
const PRETTY: &str = "agent A { task t { timeout 30s } }\nroute X:GO => A.t()\n";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn fmt_rewrites_files_in_a_directory_walk() {
    let dir = dir_with(&[("a.ops", UGLY), ("sub/b.test.ops", PRETTY), ("c.txt", UGLY)]);
    coordops()
        .arg("fmt")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout("")
        .stderr("1 of 2 files reformatted\n");
    assert_eq!(read(&dir.path().join("a.ops")), PRETTY);
    assert_eq!(read(&dir.path().join("sub/b.test.ops")), PRETTY);
    assert_eq!(read(&dir.path().join("c.txt")), UGLY);
}

#[test]
fn check_lists_unformatted_files_and_exits_1_without_writing() {
    let dir = dir_with(&[("a.ops", UGLY), ("b.ops", PRETTY)]);
    let a = dir.path().join("a.ops");
    coordops()
        .args(["fmt", "--check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(format!("{}\n", a.display()))
        .stderr("1 of 2 files would be reformatted\n");
    assert_eq!(read(&a), UGLY);
    coordops()
        .args(["-q", "fmt", "--check"])
        .arg(dir.path().join("b.ops"))
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
}

#[test]
fn diff_prints_a_unified_diff_and_exits_1() {
    let dir = dir_with(&[("a.ops", UGLY)]);
    let a = dir.path().join("a.ops");
    let shown = a.display().to_string();
    coordops()
        .args(["fmt", "--diff"])
        .arg(&a)
        .assert()
        .code(1)
        .stdout(format!(
            "--- {shown}\n+++ {shown}\n@@ -1,2 +1,2 @@\n-agent A {{task t{{timeout 30s}}}}\n-route X:GO=>A.t()\n+agent A {{ task t {{ timeout 30s }} }}\n+route X:GO => A.t()\n"
        ));
    assert_eq!(read(&a), UGLY);
}

#[test]
fn dash_and_no_path_read_stdin_and_write_stdout() {
    for args in [&["fmt", "-"][..], &["fmt"][..]] {
        coordops()
            .args(args)
            .write_stdin(UGLY)
            .assert()
            .code(0)
            .stdout(PRETTY)
            .stderr("");
    }
    coordops()
        .args(["fmt", "--check", "-"])
        .write_stdin(UGLY)
        .assert()
        .code(1)
        .stdout("<stdin>\n");
    coordops()
        .args(["fmt", "--check", "-"])
        .write_stdin(PRETTY)
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_left_alone() {
    let broken = "agent A { task }\n";
    let dir = dir_with(&[("bad.ops", broken), ("good.ops", UGLY)]);
    coordops()
        .args(["--color", "never", "fmt"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("ops::parse::")
                .and(predicate::str::contains("bad.ops"))
                .and(predicate::str::contains("1 with syntax errors left alone")),
        );
    assert_eq!(read(&dir.path().join("bad.ops")), broken);
    assert_eq!(read(&dir.path().join("good.ops")), PRETTY);
    coordops()
        .args(["--color", "never", "fmt", "-"])
        .write_stdin(broken)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("ops::parse::"));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    coordops()
        .args(["fmt", "no/such/file.ops"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/file.ops"));
}

#[test]
fn the_repository_playbooks_are_formatted() {
    coordops()
        .args(["fmt", "--check"])
        .arg(root().join("playbooks"))
        .assert()
        .code(0)
        .stdout("");
}

fn comment_texts(comments: &Comments) -> Vec<String> {
    comments.all().iter().map(|c| c.text.clone()).collect()
}

/// A parsed file: spans compare equal, so `==` compares what must not change.
#[derive(Debug, PartialEq)]
enum Tree {
    Playbook(coordops::ast::Playbook),
    Tests(coordops::ast::TestFile),
}

/// A file's AST and its comments, or `None` when it does not parse: a
/// playbook, or a test file when named `*.test.ops`.
fn tree(name: &str, text: &str) -> Option<(Tree, Vec<String>)> {
    let file = SourceFile::new(name, text);
    if is_test_source(&file) {
        let (parsed, comments) = syntax::parse_test_file_with_comments(&file);
        Some((Tree::Tests(parsed.file?), comment_texts(&comments)))
    } else {
        let (parsed, comments) = syntax::parse_with_comments(&file);
        Some((Tree::Playbook(parsed.playbook?), comment_texts(&comments)))
    }
}

/// Formats `text` and checks both promises; `Ok(None)` if it does not parse.
fn formats_faithfully(name: &str, text: &str) -> Result<Option<String>, String> {
    let Some((before, before_comments)) = tree(name, text) else {
        return Ok(None);
    };
    let format = |text: &str| format_file(&SourceFile::new(name, text));
    let once = format(text).map_err(|d| format!("{name}: {d:?}"))?;
    let Some((after, after_comments)) = tree(name, &once) else {
        return Err(format!("{name}: the result does not parse:\n{once}"));
    };
    if after != before {
        return Err(format!("{name}: the AST changed:\n{once}"));
    }
    if after_comments != before_comments {
        return Err(format!("{name}: the comments changed:\n{once}"));
    }
    let twice = format(&once).map_err(|d| format!("{name} formatted: {d:?}"))?;
    if twice != once {
        return Err(format!("{name}: not idempotent:\n{once}\n---\n{twice}"));
    }
    Ok(Some(once))
}

/// Like [`formats_faithfully`], for a text that must parse.
fn assert_formats_faithfully(name: &str, text: &str) -> Result<String, String> {
    formats_faithfully(name, text)?.ok_or_else(|| format!("{name} does not parse"))
}

fn ops_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ops_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "ops") {
            found.push(path);
        }
    }
}

/// The ```ops blocks of the docs and the README.
fn doc_examples() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut docs: Vec<PathBuf> = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        docs.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
    }
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap_or_default();
        let mut lines = text.lines();
        let mut n = 0;
        while let Some(line) = lines.next() {
            if line.trim() == "```ops" {
                let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
                n += 1;
                blocks.push((format!("{}#{n}", doc.display()), block.join("\n") + "\n"));
            }
        }
    }
    blocks
}

/// Every playbook in the repository that parses: playbooks, fixtures,
/// examples and the docs' ```ops blocks.
fn corpus() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in ["playbooks", "tests/fixtures", "examples", "docs"] {
        ops_files(&root().join(dir), &mut files);
    }
    files.sort();
    let mut corpus: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
        .collect();
    corpus.extend(doc_examples());
    corpus.retain(|(name, text)| tree(name, text).is_some());
    corpus
}

#[test]
fn every_playbook_in_the_repository_formats_faithfully() {
    let corpus = corpus();
    assert!(corpus.len() > 100, "only {} playbooks found", corpus.len());
    let test_files = corpus
        .iter()
        .filter(|(name, _)| name.ends_with(".test.ops"));
    assert!(
        test_files.count() >= 6,
        "the test files are not in the corpus"
    );
    let failures: Vec<String> = corpus
        .iter()
        .filter_map(|(name, text)| assert_formats_faithfully(name, text).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn generated_playbooks_format_faithfully() {
    let generated = [
        ("sequential", generate::sequential_workflow(30)),
        ("many agents", generate::many_agents(30)),
        ("unused agents", generate::unused_agents(5)),
        ("branching", generate::branching_workflow(10)),
        ("parallel for", generate::parallel_for()),
        ("nested fan-out", generate::nested_fan_out()),
        ("sized", generate::sized_playbook(20_000)),
    ];
    for (name, text) in generated {
        if let Err(problem) = assert_formats_faithfully(name, &text) {
            panic!("{problem}");
        }
    }
}

/// A change of layout that keeps the meaning: per line, a new indentation
/// and trailing spaces, and optionally a blank line or a comment line after.
#[derive(Clone, Debug)]
struct Relayout {
    indent: usize,
    trailing: usize,
    after: u8,
}

fn relayout(text: &str, changes: &[Relayout], extras: bool) -> String {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let change = &changes[n % changes.len()];
        out.push_str(&" ".repeat(change.indent));
        out.push_str(line.trim());
        out.push_str(&" ".repeat(change.trailing));
        out.push('\n');
        match change.after {
            1 if extras => out.push('\n'),
            2 if extras => out.push_str(&format!("# added {n}\n")),
            _ => {}
        }
    }
    out
}

fn relayouts() -> impl Strategy<Value = Vec<Relayout>> {
    prop::collection::vec(
        (0usize..9, 0usize..3, 0u8..6).prop_map(|(indent, trailing, after)| Relayout {
            indent,
            trailing,
            after,
        }),
        1..40,
    )
}

const SEEDS: &[&str] = &[
    include_str!("../playbooks/coord_ops.ops"),
    include_str!("../playbooks/examples/fanout.ops"),
    include_str!("../playbooks/examples/routing.ops"),
    include_str!("fixtures/syntax/rich.ops"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Indentation and trailing spaces do not matter: one canonical layout.
    #[test]
    fn indentation_and_trailing_spaces_do_not_change_the_result(
        seed in 0..SEEDS.len(),
        changes in relayouts(),
    ) {
        let original = SEEDS[seed];
        let expected = format_source(original).map_err(|d| TestCaseError::fail(format!("{d:?}")))?;
        let moved = relayout(original, &changes, false);
        let got = assert_formats_faithfully("moved.ops", &moved).map_err(TestCaseError::fail)?;
        prop_assert_eq!(got, expected);
    }

    /// Added blank lines and comments are kept, and formatting stays faithful.
    #[test]
    fn added_blank_lines_and_comments_format_faithfully(
        seed in 0..SEEDS.len(),
        changes in relayouts(),
    ) {
        let moved = relayout(SEEDS[seed], &changes, true);
        assert_formats_faithfully("moved.ops", &moved).map_err(TestCaseError::fail)?;
    }
}

/// Statements for generated workflows, one of each kind.
const STATEMENTS: &[&str] = &[
    "a = A.t(x: signal.v)",
    "A.u() timeout 5s lock l",
    "A.t(x: [1, 2], y: { k: \"v\", \"q r\": true })\n    retry 2 backoff 1s x2\n    on failure(busy) => A.u() then retry",
    "let v = signal.n > 1 and not (signal.f or signal.g == false)",
    "approve ok \"go?\" timeout 1h on denied => abort \"no\"",
    "escalate Resource \"r\" { issue: \"i\" }",
    "fail \"f {signal.v}\"",
    "complete \"done\" { a: 1 } next \"n\"",
    "b = run other when signal.f critical",
];

/// What may stand between two tokens of a generated workflow.
const GAPS: &[&str] = &[
    " ",
    "\n",
    "\n\n",
    " # trailing\n",
    "\n# own line\n",
    "\n\n\n  ",
];

#[derive(Clone, Debug)]
enum Node {
    Statement(usize),
    If(Vec<Node>, Vec<Node>),
    Parallel(Vec<Node>),
    Exclusive(Vec<Node>),
}

fn nodes() -> impl Strategy<Value = Vec<Node>> {
    let leaf = (0..STATEMENTS.len()).prop_map(Node::Statement);
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4);
        prop_oneof![
            (body.clone(), body.clone()).prop_map(|(a, b)| Node::If(a, b)),
            body.clone().prop_map(Node::Parallel),
            body.prop_map(Node::Exclusive),
        ]
    });
    prop::collection::vec(tree, 1..6)
}

fn gap(gaps: &[usize], next: &mut usize, out: &mut String) {
    out.push_str(GAPS[gaps[*next % gaps.len()]]);
    *next += 1;
}

fn render(nodes: &[Node], gaps: &[usize], next: &mut usize, out: &mut String) {
    out.push('{');
    for node in nodes {
        gap(gaps, next, out);
        match node {
            Node::Statement(n) => out.push_str(STATEMENTS[*n]),
            Node::If(then, otherwise) => {
                out.push_str("if signal.f");
                render(then, gaps, next, out);
                if !otherwise.is_empty() {
                    out.push_str(" else");
                    render(otherwise, gaps, next, out);
                }
            }
            Node::Parallel(body) => {
                out.push_str("parallel gate 50%");
                render(body, gaps, next, out);
            }
            Node::Exclusive(body) => {
                out.push_str("exclusive l");
                render(body, gaps, next, out);
            }
        }
    }
    gap(gaps, next, out);
    out.push('}');
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Generated workflows of every statement kind, nested and laid out at
    /// random, with comments between tokens, format faithfully.
    #[test]
    fn generated_workflows_format_faithfully(
        body in nodes(),
        gaps in prop::collection::vec(0..GAPS.len(), 1..50),
    ) {
        let mut text = String::from(
            "agent A { task t task u }\nlock l\nsignal X:GO { v: string = \"x\" n: int = 1 f: bool = false g: bool = false }\nworkflow other { complete }\nworkflow w ",
        );
        render(&body, &gaps, &mut 0, &mut text);
        text.push('\n');
        let formatted = formats_faithfully("generated.ops", &text).map_err(TestCaseError::fail)?;
        prop_assert!(formatted.is_some(), "does not parse:\n{}", text);
    }
}
