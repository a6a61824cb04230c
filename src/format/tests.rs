//! The printer on every construct: exact layouts, comments, blank lines.

use super::format_source;

fn fmt(text: &str) -> String {
    match format_source(text) {
        Ok(out) => {
            assert_eq!(
                format_source(&out).ok().as_deref(),
                Some(out.as_str()),
                "not idempotent:\n{out}"
            );
            out
        }
        Err(problems) => panic!("{text}\n{problems:?}"),
    }
}

/// Every construct of the language, written carelessly.
const MESSY: &str = r#"# header comment

coordinator   C "doc"{reports_to ORCH gate 80%
timeout 2m retry 3 backoff 2s x2 max 30s jitter within 2m on [rejected,timeout] except [busy]
max_concurrent 4}
lock   l "what it guards"
agent A "role" {
    max_concurrent 1
  outputs { ok: bool }
 task t "does t" { timeout 30s }
  task u {
  retry 2
    outputs {hash: string,files: list<string>}
   check c "doc": output.hash ~ /^[a-f0-9]+$/ and not output.files == []
   check long:
       output.ok == true
  forbid   "force push"
  }
  task v
  check top: output.ok
}
signal OPS:GO "go" { v: string = "x"
  n: int = 3 , flag: bool = false }
signal OPS:BARE
route go: OPS:GO when signal.flag=>w
route fast: OPS:* => A.t( x : signal.v )
route * => ignore
route esc: OPS:ESC => escalate Boundary "no" {issue: "x"}
on failure(rejected,busy) when step.critical => A.t() then retry
on timeout => continue
workflow w "doc" timeout 10m {
  let xs = [1,2 ,3]
  a = A.t(x: signal.v, y: {k: 1, "q r": [true, false]}) timeout 5s retry 1 lock l critical
    when (signal.n > 1 or signal.flag) and not signal.flag
    on failure => fail "bad" {why: "x"}
  if a.ok { A.u() } else if signal.n >= 2 { run other } else { abort "stop" }
  parallel audit for x in xs timeout 1m gate at least 2 stop when decided { A.t(x: x) A.u() }
  parallel gate tolerate 1 { A.t() }
  exclusive l { b = run other when true }
  approve ok "go on?" timeout 1h on denied => abort "denied" on timeout => escalate Resource "late"
  escalate QualityGate "q" { a: 1 }
  complete "done" { a: a.ok } next "then"
}
workflow other { complete }
test "t" { signal OPS:GO { v: "y" }
  given A.t fails(busy) "no" after 5s then succeeds { ok: true } then times out
  given step w.a succeeds
  given approval ok granted
  expect status complete
  expect route go
  expect escalation Boundary
  expect step a success
  expect a.ok == true
}
"#;

#[test]
fn every_construct_has_one_layout() {
    insta::assert_snapshot!(fmt(MESSY));
}

#[test]
fn comments_stay_where_they_were() {
    let text = "# top\n\n# about A\nagent A { # open\n  # before t\n  task t # after t\n\n  # before u\n  task u\n  # at the end\n} # after A\n# tail\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn blank_lines_are_kept_once_and_never_after_a_brace() {
    let text = "lock a\n\n\n\nlock b\nagent A {\n\n  task t\n\n\n  task u\n\n}\n\n";
    assert_eq!(
        fmt(text),
        "lock a\n\nlock b\nagent A {\n  task t\n\n  task u\n}\n"
    );
}

#[test]
fn trailing_comments_of_consecutive_lines_are_aligned() {
    let text = "coordinator C {\n  gate 80% # a\n  timeout 2m       # b\n  max_concurrent 2\n  retry 1 # c\n}\n";
    assert_eq!(
        fmt(text),
        "coordinator C {\n  gate 80%   # a\n  timeout 2m # b\n  max_concurrent 2\n  retry 1 # c\n}\n"
    );
}

#[test]
fn a_comment_after_the_first_entry_of_a_broken_body_stays_after_it() {
    let text = "signal X:S { f: bool = false # about f\n  g: string = \"\" }\ncoordinator C { # about C\n  gate 80%\n}\n";
    assert_eq!(
        fmt(text),
        "signal X:S {\n  f: bool = false # about f\n  g: string = \"\"\n}\ncoordinator C { # about C\n  gate 80%\n}\n"
    );
}

#[test]
fn route_tables_are_aligned_until_a_blank_line_or_comment() {
    let text = "route a: X:A => w\nroute long_label: X:LONGER => w\nroute X:* => ignore\n\nroute b: X:B => w\n# c\nroute cc: X:C => w\n";
    assert_eq!(
        fmt(text),
        "route a:          X:A      => w\nroute long_label: X:LONGER => w\nroute             X:*      => ignore\n\nroute b: X:B => w\n# c\nroute cc: X:C => w\n"
    );
}

#[test]
fn long_argument_lists_break_one_per_line_and_stay_broken() {
    let long = "workflow w {\n  A.t(first: signal.aaaaaaaaaaaaaaaa, second: signal.bbbbbbbbbbbbbbbbbbb, third: signal.cccccccccccccccc)\n}\n";
    let broken = "workflow w {\n  A.t(\n    first: signal.aaaaaaaaaaaaaaaa\n    second: signal.bbbbbbbbbbbbbbbbbbb\n    third: signal.cccccccccccccccc\n  )\n}\n";
    assert_eq!(fmt(long), broken);
    let short = "workflow w {\n  A.t(\n    a: 1, b: 2)\n}\n";
    assert_eq!(
        fmt(short),
        "workflow w {\n  A.t(\n    a: 1\n    b: 2\n  )\n}\n"
    );
}

#[test]
fn options_and_conditions_stay_on_their_lines() {
    let text = "workflow w {\n  A.t()   lock l\n      critical\n  A.u() on failure => continue\n}\nagent A {\n  check c:\n    output.ok\n}\n";
    assert_eq!(
        fmt(text),
        "workflow w {\n  A.t() lock l\n    critical\n  A.u() on failure => continue\n}\nagent A {\n  check c:\n    output.ok\n}\n"
    );
}

#[test]
fn parentheses_are_kept_where_written_and_added_where_needed() {
    let text = "route X:Y when (a or b) and not (c == 1) and ((d)) => w\n";
    assert_eq!(
        fmt(text),
        "route X:Y when (a or b) and not (c == 1) and d => w\n"
    );
}

#[test]
fn empty_bodies_print_as_braces_or_nothing() {
    let text = "agent A {\n}\nagent B { task t { } }\nsignal X:Y { }\nworkflow w {\n}\n";
    assert_eq!(
        fmt(text),
        "agent A {}\nagent B { task t }\nsignal X:Y\nworkflow w {}\n"
    );
}

#[test]
fn literals_are_kept_as_written() {
    let text = "workflow w {\n  A.t(d: 90s, e: \"a\\\"b \\u{e9} {signal.x}\", r: 1h30m) when signal.s ~ /a\\/b/ timeout 1m30s\n}\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn syntax_errors_are_diagnostics() {
    let Err(problems) = format_source("agent A { task }\n") else {
        panic!("formatted a broken file")
    };
    assert!(problems[0].code.starts_with("ops::parse::"), "{problems:?}");
}

#[test]
fn calls_always_have_parentheses() {
    assert_eq!(fmt("route X:Y => A.t\n"), "route X:Y => A.t()\n");
}

#[test]
fn a_comment_inside_a_one_line_expression_moves_after_its_line() {
    let text = "workflow w {\n  A.t() when a and # c\n    b\n  A.u()\n}\n";
    assert_eq!(
        fmt(text),
        "workflow w {\n  A.t() when a and b\n  # c\n  A.u()\n}\n"
    );
}

#[test]
fn expect_lines_keep_their_words_with_single_spaces() {
    let text = "test \"t\" {\n  signal X:Y\n  expect   status    complete\n  expect step  a\tsuccess\n  expect a.b   ==  1\n}\n";
    assert_eq!(
        fmt(text),
        "test \"t\" {\n  signal X:Y\n  expect status complete\n  expect step a success\n  expect a.b == 1\n}\n"
    );
}

#[test]
fn a_test_file_keeps_its_header_first_and_its_comments() {
    let messy = "# suite\ntests   \"coord_ops.ops\"\n\n\n# one\ntest \"a\" {\n signal OPS:AUDIT\n    expect status complete }\n";
    let file = crate::source::SourceFile::new("x.test.ops", messy);
    let out = super::format_file(&file).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(
        out,
        "# suite\ntests \"coord_ops.ops\"\n\n# one\ntest \"a\" {\n  signal OPS:AUDIT\n  expect status complete\n}\n"
    );
    let again = crate::source::SourceFile::new("x.test.ops", out.as_str());
    assert_eq!(
        super::format_file(&again).ok().as_deref(),
        Some(out.as_str())
    );
    // Read from stdin, the header says what the text is.
    assert_eq!(format_source(messy).ok().as_deref(), Some(out.as_str()));
}
