//! Issue 11's "done when", on the real binary: the COORD_OPS suite run as
//! CI runs it (`--coverage --fail-under 90 --format junit`) fails when one
//! route of `coord_ops.ops` is broken, pointing at the exact `expect route`
//! line of `coord_ops.test.ops`; `--format github` annotates that line; and
//! `coordops diff` of the broken copy against the original names the signal
//! that now routes elsewhere.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use crate::support::root;

const PLAYBOOK: &str = "playbooks/coord_ops.ops";
const SUITE: &str = "playbooks/coord_ops.test.ops";

/// The fast-path guard: without it, `quick_commit` takes every OPS:COMMIT
/// that the `commit` route below it should take.
const GUARD: &str = "route quick_commit: OPS:COMMIT when signal.simple\n";
const UNGUARDED: &str = "route quick_commit: OPS:COMMIT\n";

/// The test whose `expect route commit` the broken route fails.
const TEST: &str = "test \"a commit is pushed and gets a PR\" {";

fn coordops(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coordops"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        // A hang guard only.
        .timeout(std::time::Duration::from_secs(120))
        .args(args)
        .arg(dir)
        .output()
        .expect("coordops runs")
}

/// The playbook and its suite copied into `dir`, the playbook's route
/// broken when `broken`. The copied playbook's path.
fn copy_into(dir: &Path, broken: bool) -> PathBuf {
    let text = std::fs::read_to_string(root().join(PLAYBOOK)).expect("the seed");
    assert!(text.contains(GUARD), "the seed has `{GUARD}`");
    let text = if broken {
        text.replacen(GUARD, UNGUARDED, 1)
    } else {
        text
    };
    let playbook = dir.join("coord_ops.ops");
    std::fs::write(&playbook, text).expect("write the playbook");
    std::fs::copy(root().join(SUITE), dir.join("coord_ops.test.ops")).expect("copy the suite");
    playbook
}

/// The 1-based line and column of `expect route commit` in [`TEST`].
fn expect_route_line() -> (usize, usize) {
    let text = std::fs::read_to_string(root().join(SUITE)).expect("the suite");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == TEST).expect("the test");
    let offset = lines[start..]
        .iter()
        .position(|l| l.trim() == "expect route commit")
        .expect("its expect route");
    let line = lines[start + offset];
    (start + offset + 1, line.len() - line.trim_start().len() + 1)
}

const CI: [&str; 6] = [
    "test",
    "--coverage",
    "--fail-under",
    "90",
    "--format",
    "junit",
];

#[test]
fn the_seed_suite_passes_as_ci_runs_it_from_a_copy() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_into(dir.path(), false);
    let out = coordops(&CI, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(" 0 failed"), "{stderr}");
}

#[test]
fn a_broken_route_fails_at_the_exact_expect_route_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_into(dir.path(), true);
    let suite = dir.path().join("coord_ops.test.ops");
    let (line, col) = expect_route_line();
    let at = format!("{}:{line}:{col}: expect route commit", suite.display());

    let out = coordops(&CI, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let xml = String::from_utf8(out.stdout).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let case = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("testcase")
                && n.attribute("name") == Some("a commit is pushed and gets a PR")
        })
        .expect("the test's case");
    let texts: Vec<&str> = case
        .children()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.text())
        .collect();
    let failure = texts
        .iter()
        .find(|t| t.starts_with(&at))
        .unwrap_or_else(|| panic!("no failure at `{at}`: {texts:#?}"));
    assert!(
        failure.contains("\nexpected: route commit\nactual:   route quick_commit"),
        "{failure}"
    );

    let out = coordops(&["test", "--format", "github"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let annotation = format!(
        "::error file={},line={line},col={col},",
        suite
            .display()
            .to_string()
            .replace(':', "%3A")
            .replace(',', "%2C")
    );
    assert!(
        stdout.lines().any(|l| l.starts_with(&annotation)
            && l.contains("expected route `commit`, but `quick_commit` matched")),
        "no `{annotation}` for the route: {stdout}"
    );
}

#[test]
fn diff_names_the_signal_the_broken_route_takes_elsewhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = copy_into(dir.path(), true);
    let original = root().join(PLAYBOOK);
    let diff = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_coordops"))
            .current_dir(root())
            .env("NO_COLOR", "1")
            .arg("diff")
            .arg(&original)
            .arg(&broken)
            .args(extra)
            .output()
            .expect("coordops diff runs")
    };
    let out = diff(&["--exit-code"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("OPS:COMMIT with simple=false: commit (workflow commit_pr) → quick_commit"),
        "{stdout}"
    );
    assert!(stdout.contains("1 signal(s) route differently"), "{stdout}");
    assert_eq!(diff(&[]).status.code(), Some(0), "without --exit-code");
}
