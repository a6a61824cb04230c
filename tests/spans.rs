//! Spans in the AST: every node's span must cover exactly its own text.
//!
//! Valid playbooks are parsed, the AST is serialised with serde_json and the
//! JSON tree is walked. For every object with a `span`:
//! - `start <= end <= len`, both on character boundaries;
//! - the text starts and ends with a token, not whitespace or a comment;
//! - it lies inside the span of the nearest enclosing object with a span;
//! - for a name (an object with a string `name`), the text is that name (a
//!   quoted map key decodes to it; a `namespace` pattern reads `NS:*`).

use std::fmt;
use std::path::Path;

use coordops::source::SourceFile;
use coordops::syntax;
use serde_json::Value;

/// What is wrong with one span.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    OutOfBounds,
    SplitsCharacter,
    Empty,
    LeadingTrivia,
    TrailingTrivia,
    NotNested { parent: (usize, usize) },
    NameMismatch { name: String },
}

#[derive(Clone, Debug)]
struct Issue {
    path: String,
    span: (usize, usize),
    problem: Problem,
    text: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?}: {:?} in {:?}",
            self.path, self.span, self.problem, self.text
        )
    }
}

/// Which bytes of `src` are whitespace or comment (outside strings and regexes).
fn trivia_mask(src: &str) -> Vec<bool> {
    #[derive(Clone, Copy)]
    enum Mode {
        /// Inside a string.
        Str,
        /// Inside `{…}` in a string, with the number of open plain braces.
        Interp(usize),
    }
    let bytes = src.as_bytes();
    let mut trivia = vec![false; bytes.len()];
    let mut modes: Vec<Mode> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match modes.last_mut() {
            Some(Mode::Str) => match b {
                b'\\' => i += 1,
                b'"' => {
                    modes.pop();
                }
                b'{' => modes.push(Mode::Interp(0)),
                _ => {}
            },
            top => match b {
                b' ' | b'\t' | b'\r' | b'\n' => trivia[i] = true,
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        trivia[i] = true;
                        i += 1;
                    }
                    continue;
                }
                b'"' => modes.push(Mode::Str),
                b'/' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'/' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'{' => {
                    if let Some(Mode::Interp(depth)) = top {
                        *depth += 1;
                    }
                }
                b'}' => match top {
                    Some(Mode::Interp(0)) => {
                        modes.pop();
                    }
                    Some(Mode::Interp(depth)) => *depth -= 1,
                    _ => {}
                },
                _ => {}
            },
        }
        i += 1;
    }
    trivia
}

/// Decodes the text of a quoted string without interpolation, as the parser does.
fn decode_string(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'u' => {
                let rest: String = chars.by_ref().take_while(|c| *c != '}').collect();
                char::from_u32(u32::from_str_radix(rest.strip_prefix('{')?, 16).ok()?)?
            }
            other => other,
        });
    }
    Some(out)
}

fn is_plain_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A signal name `NS:NAME` as written.
fn is_signal_name(text: &str) -> bool {
    text.split_once(':')
        .is_some_and(|(ns, name)| is_plain_name(ns) && is_plain_name(name))
}

struct Checker<'a> {
    src: &'a str,
    trivia: Vec<bool>,
    issues: Vec<Issue>,
    spans: usize,
    names: usize,
}

impl<'a> Checker<'a> {
    fn new(src: &'a str) -> Self {
        Checker {
            src,
            trivia: trivia_mask(src),
            issues: Vec::new(),
            spans: 0,
            names: 0,
        }
    }

    fn issue(&mut self, path: &str, span: (usize, usize), problem: Problem) {
        let text = self
            .src
            .get(span.0..span.1)
            .unwrap_or("<not a slice>")
            .to_string();
        self.issues.push(Issue {
            path: path.to_string(),
            span,
            problem,
            text,
        });
    }

    fn walk(&mut self, value: &Value, path: &str, parent: Option<(usize, usize)>) {
        match value {
            Value::Object(map) => {
                let mut own = parent;
                if let Some(span) = map.get("span").and_then(read_span) {
                    // The root (no parent) is the whole file, comments and all.
                    if self.check_span(map, span, path, parent) {
                        own = Some(span);
                    }
                }
                for (key, child) in map {
                    if key != "span" {
                        self.walk(child, &format!("{path}.{key}"), own);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.walk(child, &format!("{path}[{i}]"), parent);
                }
            }
            _ => {}
        }
    }

    /// Checks one span; returns whether it is usable as a parent.
    fn check_span(
        &mut self,
        node: &serde_json::Map<String, Value>,
        (start, end): (usize, usize),
        path: &str,
        parent: Option<(usize, usize)>,
    ) -> bool {
        self.spans += 1;
        let span = (start, end);
        if start > end || end > self.src.len() {
            self.issue(path, span, Problem::OutOfBounds);
            return false;
        }
        if !self.src.is_char_boundary(start) || !self.src.is_char_boundary(end) {
            self.issue(path, span, Problem::SplitsCharacter);
            return false;
        }
        let Some(parent) = parent else {
            if span != (0, self.src.len()) {
                self.issue(
                    path,
                    span,
                    Problem::NotNested {
                        parent: (0, self.src.len()),
                    },
                );
            }
            return true;
        };
        if start == end {
            self.issue(path, span, Problem::Empty);
        } else {
            if self.trivia[start] {
                self.issue(path, span, Problem::LeadingTrivia);
            }
            if self.trivia[end - 1] {
                self.issue(path, span, Problem::TrailingTrivia);
            }
        }
        if start < parent.0 || end > parent.1 {
            self.issue(path, span, Problem::NotNested { parent });
        }
        self.check_name(node, span, path);
        true
    }

    fn check_name(
        &mut self,
        node: &serde_json::Map<String, Value>,
        span: (usize, usize),
        path: &str,
    ) {
        let text = &self.src[span.0..span.1];
        if let Some(name) = node.get("name").and_then(Value::as_str) {
            self.names += 1;
            let ok = if text.starts_with('"') {
                // A map key written as a string: `"pr url": …`.
                path.ends_with(".key") && decode_string(text).as_deref() == Some(name)
            } else {
                text == name && (is_plain_name(text) || is_signal_name(text))
            };
            if !ok {
                self.issue(
                    path,
                    span,
                    Problem::NameMismatch {
                        name: name.to_string(),
                    },
                );
            }
        }
        if let Some(namespace) = node.get("namespace").and_then(Value::as_str) {
            self.names += 1;
            if text != format!("{namespace}:*") || !is_plain_name(namespace) {
                self.issue(
                    path,
                    span,
                    Problem::NameMismatch {
                        name: namespace.to_string(),
                    },
                );
            }
        }
    }
}

fn read_span(value: &Value) -> Option<(usize, usize)> {
    let start = value.get("start")?.as_u64()?;
    let end = value.get("end")?.as_u64()?;
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

/// Every span problem in the AST of `src` (which must parse).
fn span_issues<'a>(src: &'a str, ast: &Value) -> Checker<'a> {
    let mut checker = Checker::new(src);
    checker.walk(ast, "", None);
    checker
}

fn parse_to_json(name: &str, src: &str) -> Value {
    let parsed = syntax::parse(&SourceFile::new(name, src));
    let playbook = parsed
        .playbook
        .unwrap_or_else(|| panic!("{name} does not parse: {:#?}", parsed.diagnostics));
    serde_json::to_value(&playbook).expect("the AST serialises")
}

/// Every issue found, as text.
fn failures(checker: &Checker<'_>) -> Vec<String> {
    checker.issues.iter().map(ToString::to_string).collect()
}

fn assert_spans_ok(name: &str, src: &str) -> (usize, usize) {
    let ast = parse_to_json(name, src);
    let checker = span_issues(src, &ast);
    let failures = failures(&checker);
    assert!(
        failures.is_empty(),
        "{name}: {} span problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (checker.spans, checker.names)
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
}

#[test]
fn rich_playbook_spans_cover_exactly_their_text() {
    let src = read(&manifest_dir().join("tests/fixtures/syntax/rich.ops"));
    let (spans, names) = assert_spans_ok("rich.ops", &src);
    // Guard against a walk that silently checks nothing.
    assert!(spans > 250, "only {spans} spans checked");
    assert!(names > 60, "only {names} names checked");
}

/// CRLF line ends, tabs and multi-byte text before and inside nodes.
const AWKWARD_LAYOUT: &str = "# crlf, tabs and UTF-8: é€😀\r\n\
agent\tRELEASE_MANAGER \"é€😀\"\t{\r\n\
\ttask\tcommit\t# é\r\n\
\t\t{ timeout\t30s }\r\n\
\tcheck ok: output.msg == \"😀 {output.x}\"\t\r\n\
}\r\n\
signal OPS:COMMIT {\tname: string = \"€\" }\r\n\
workflow w {\r\n\
\tc = RELEASE_MANAGER.commit(msg: \"é\")\t\r\n\
\t\ton failure => continue\r\n\
\tcomplete { \"clé 😀\": c.hash }\r\n\
}\r\n";

#[test]
fn spans_survive_crlf_tabs_and_utf8() {
    let (spans, names) = assert_spans_ok("awkward.ops", AWKWARD_LAYOUT);
    assert!(spans > 30 && names > 10, "{spans} spans, {names} names");
}

#[test]
fn playbook_directory_spans_cover_exactly_their_text() {
    let mut files = Vec::new();
    coordops::testing::harness::ops_files(&manifest_dir().join("playbooks"), &mut files);
    files.sort();
    // The directory may still be empty; every file added later is checked.
    for path in files {
        let src = read(&path);
        assert_spans_ok(&path.display().to_string(), &src);
    }
}

// ───────────── the checker itself must catch wrong spans ─────────────

const SMALL: &str = "agent A \"é\" {\n  task commit\n  timeout 30s\n}\n\
workflow w { c = A.commit(x: \"€\") complete { \"k y\": 1 } }\n\
route OPS:* => ignore\n";

/// Finds the first object (depth-first) with a string `name` equal to `name`.
fn find_named<'v>(value: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    let is_match =
        value.get("name").and_then(Value::as_str) == Some(name) && value.get("span").is_some();
    if is_match {
        return Some(value);
    }
    match value {
        Value::Object(map) => map.values_mut().find_map(|v| find_named(v, name)),
        Value::Array(items) => items.iter_mut().find_map(|v| find_named(v, name)),
        _ => None,
    }
}

fn set_span(node: &mut Value, start: usize, end: usize) {
    node["span"] = serde_json::json!({ "start": start, "end": end });
}

fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<Problem> {
    let mut ast = parse_to_json("small.ops", SMALL);
    edit(&mut ast);
    span_issues(SMALL, &ast)
        .issues
        .into_iter()
        .map(|i| i.problem)
        .collect()
}

fn span_of_text(text: &str) -> (usize, usize) {
    let start = SMALL.find(text).expect("text in SMALL");
    (start, start + text.len())
}

#[test]
fn checker_accepts_the_unedited_ast() {
    let problems = problems_after(|_| {});
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn checker_catches_a_shifted_name_span() {
    // The first `commit` in SMALL is the task's name.
    let (start, end) = span_of_text("commit");
    let problems = problems_after(|ast| {
        set_span(find_named(ast, "commit").unwrap(), start + 1, end + 1);
    });
    assert!(
        problems.contains(&Problem::NameMismatch {
            name: "commit".into()
        }),
        "{problems:?}"
    );
}

#[test]
fn checker_catches_a_span_shifted_by_one() {
    let (start, _) = span_of_text("A \"");
    let problems = problems_after(|ast| {
        let name = find_named(ast, "A").unwrap();
        set_span(name, start + 1, start + 2);
    });
    assert!(problems.contains(&Problem::LeadingTrivia), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::NameMismatch { .. })),
        "{problems:?}"
    );
}

#[test]
fn checker_catches_out_of_bounds_and_split_characters() {
    let problems =
        problems_after(|ast| set_span(find_named(ast, "A").unwrap(), 0, SMALL.len() + 1));
    assert!(problems.contains(&Problem::OutOfBounds), "{problems:?}");

    let e_acute = SMALL.find('é').unwrap();
    let problems = problems_after(|ast| {
        set_span(find_named(ast, "A").unwrap(), e_acute + 1, e_acute + 2);
    });
    assert!(problems.contains(&Problem::SplitsCharacter), "{problems:?}");
}

#[test]
fn checker_catches_a_child_outside_its_parent() {
    // Move the task's name onto `timeout`, which is outside the task.
    let (start, end) = span_of_text("timeout");
    let problems = problems_after(|ast| set_span(find_named(ast, "commit").unwrap(), start, end));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::NotNested { .. })),
        "{problems:?}"
    );
}

#[test]
fn checker_catches_a_span_ending_in_a_comment_or_whitespace() {
    let src = "agent A { task t } # done\n";
    let mut ast = parse_to_json("t.ops", src);
    set_span(find_named(&mut ast, "A").unwrap(), 6, src.len());
    let problems: Vec<Problem> = span_issues(src, &ast)
        .issues
        .into_iter()
        .map(|i| i.problem)
        .collect();
    assert!(problems.contains(&Problem::TrailingTrivia), "{problems:?}");
}

#[test]
fn checker_handles_quoted_keys_and_namespaces() {
    // `"k y"` decodes to the key's name; `OPS:*` is the namespace `OPS`.
    let problems = problems_after(|_| {});
    assert!(!problems
        .iter()
        .any(|p| matches!(p, Problem::NameMismatch { .. })));
    // A quoted key whose span misses its closing quote is caught.
    let (start, end) = span_of_text("\"k y\"");
    let problems = problems_after(|ast| set_span(find_named(ast, "k y").unwrap(), start, end - 1));
    assert!(
        problems.contains(&Problem::NameMismatch { name: "k y".into() }),
        "{problems:?}"
    );
}

#[test]
fn trivia_mask_skips_strings_regexes_and_interpolations() {
    let src = "a \"x # {b \"c d\"} e\" /f #/ # g\n";
    let mask = trivia_mask(src);
    let trivia: String = src
        .char_indices()
        .map(|(i, c)| if mask[i] { '_' } else { c })
        .collect();
    assert_eq!(trivia, "a_\"x # {b_\"c d\"} e\"_/f #/_____");
}

/// Regression: rules ending in an optional or repeated part once included the
/// whitespace and comments after them in their spans.
#[test]
fn spans_exclude_trailing_whitespace_and_comments() {
    let src = "agent A {\n  task fetch   # note\n  retry 3 backoff 2s\n    \n}\n";
    let ast = parse_to_json("t.ops", src);
    let checker = span_issues(src, &ast);
    assert!(checker.issues.is_empty(), "{:?}", checker.issues);
}
