//! `coordops graph`: the Mermaid and DOT pictures of a playbook's flow.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{coordops, stdout_of};

fn chart(path: &str) -> String {
    chart_with(path, &[])
}

fn chart_with(path: &str, args: &[&str]) -> String {
    stdout_of(coordops().args(["graph", path]).args(args))
}

/// Node ids defined (`nX[...`, `subgraph ID[`) and used in edges.
fn ids(chart: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut defined = BTreeSet::new();
    let mut used = BTreeSet::new();
    for line in chart.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("subgraph ") {
            defined.insert(rest.split('[').next().unwrap_or_default().to_string());
        } else if line.contains("-->") || line.contains("-.->") || line.contains(".->") {
            let first = line.split_whitespace().next().unwrap_or_default();
            let last = line.split_whitespace().last().unwrap_or_default();
            used.insert(first.to_string());
            used.insert(last.to_string());
        } else if line.starts_with('n') {
            let id: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            defined.insert(id);
        }
    }
    (defined, used)
}

#[test]
fn every_edge_joins_defined_nodes() {
    for path in [
        "playbooks/coord_ops.ops",
        "playbooks/examples/fanout.ops",
        "playbooks/examples/pipeline.ops",
        "playbooks/examples/retry_escalation.ops",
        "playbooks/examples/routing.ops",
    ] {
        let chart = chart(path);
        assert!(chart.starts_with("flowchart TD\n"), "{path}");
        let (defined, used) = ids(&chart);
        let missing: Vec<_> = used.difference(&defined).collect();
        assert!(
            missing.is_empty(),
            "{path}: edges to undefined nodes {missing:?}"
        );
        let opened = chart
            .lines()
            .filter(|l| l.trim_start().starts_with("subgraph "))
            .count();
        let closed = chart.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(opened, closed, "{path}: every subgraph is closed");
    }
}

#[test]
fn the_coord_ops_flow() {
    insta::assert_snapshot!(chart("playbooks/coord_ops.ops"));
}

#[test]
fn a_playbook_with_errors_is_not_drawn() {
    coordops()
        .args([
            "--color",
            "never",
            "graph",
            "tests/fixtures/check/undefined_agent.ops",
        ])
        .assert()
        .code(1);
}

#[test]
fn docs_flow_is_current() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/flow.md"))
        .expect("docs/flow.md");
    let block = doc
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a mermaid block");
    assert_eq!(
        block,
        chart("playbooks/coord_ops.ops"),
        "regenerate docs/flow.md with `coordops graph playbooks/coord_ops.ops`"
    );
}

#[test]
fn the_release_flow_as_dot() {
    insta::assert_snapshot!(chart_with(
        "playbooks/coord_ops.ops",
        &["--signal", "OPS:RELEASE", "--format", "dot"]
    ));
}

#[test]
fn both_ways_of_an_if_are_labelled() {
    let chart = chart_with("playbooks/coord_ops.ops", &["--workflow", "release"]);
    assert!(chart.contains(r#"-->|"yes"|"#), "{chart}");
    assert!(chart.contains(r#"-->|"no"|"#), "{chart}");
    let dot = chart_with(
        "playbooks/coord_ops.ops",
        &["--workflow", "release", "--format", "dot"],
    );
    assert!(dot.contains(r#"[label="yes"]"#) && dot.contains(r#"[label="no"]"#));
}

#[test]
fn a_signal_draws_only_what_it_reaches() {
    let chart = chart_with("playbooks/coord_ops.ops", &["--signal", "OPS:COMMIT"]);
    // The guarded fast path, then the first route without a guard; no more.
    assert!(chart.contains("quick_commit: OPS:COMMIT when signal.simple"));
    assert!(chart.contains(r#"commit: OPS:COMMIT"}}"#), "{chart}");
    assert!(!chart.contains("OPS:RELEASE") && !chart.contains("other_domains"));
    assert!(chart.contains("subgraph wf_commit_pr["));
    assert!(!chart.contains("subgraph wf_release["));
    let workflow = chart_with("playbooks/coord_ops.ops", &["--workflow", "release"]);
    assert!(!workflow.contains("subgraph routes["));
    assert!(workflow.contains("subgraph wf_release[") && !workflow.contains("wf_commit_pr"));
}

#[test]
fn an_unknown_workflow_or_unrouted_signal_is_a_usage_error() {
    for (flag, value, message) in [
        ("--workflow", "nope", "no workflow is named `nope`"),
        (
            "--signal",
            "OTHER:X",
            "no route matches the signal `OTHER:X`",
        ),
    ] {
        coordops()
            .args(["graph", "playbooks/examples/pipeline.ops", flag, value])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

const QUOTES: &str = r#"
agent A "Agent" {
  task t "A task" { timeout 1m }
}
signal X:GO "Go" {
  ok: bool = true
  who: string = ""
}
route go: X:GO => main
workflow main "Quotes" {
  r = A.t()
  if signal.ok {
    fail "said \"no\" <b>&</b> #1 \\ end"
  }
  if signal.who == "a \"b\"" {
    fail "who"
  }
  complete "done"
}
"#;

#[test]
fn quotes_and_markup_are_escaped_in_both_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quotes.ops");
    std::fs::write(&path, QUOTES).expect("write");
    let path = path.to_str().expect("UTF-8 path");
    let mermaid = chart(path);
    assert!(
        mermaid.contains(r#"FAIL: said #quot;no#quot; #lt;b#gt;#amp;#lt;/b#gt; #35;1 \ end"#),
        "{mermaid}"
    );
    assert!(!mermaid.contains(r"\#quot;"), "{mermaid}");
    // A quote escaped in a condition's string reads as the quote.
    assert!(
        mermaid.contains("signal.who == #quot;a #quot;b#quot;#quot;"),
        "{mermaid}"
    );
    let dot = chart_with(path, &["--format", "dot"]);
    assert!(
        dot.contains(r#"label="FAIL: said \"no\" <b>&</b> #1 \\ end""#),
        "{dot}"
    );
}

/// Graphviz reads the DOT of every example (when `dot` is installed).
#[test]
fn graphviz_reads_the_dot() {
    if std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: graphviz `dot` is not installed");
        return;
    }
    for path in ["playbooks/coord_ops.ops", "playbooks/examples/fanout.ops"] {
        let dot = chart_with(path, &["--format", "dot"]);
        let mut child = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("dot runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), dot.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("dot ends");
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
    }
}

/// Every playbook in the repository, in every scope (all, each workflow,
/// each exact signal a route names) and every format: drawn without a
/// panic, every edge joining drawn nodes, Graphviz reading the DOT when
/// installed.
#[test]
fn every_playbook_draws_in_every_scope_and_format() {
    use coordops::graph::{self, Scope};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in ["playbooks", "playbooks/examples", "tests/fixtures/valid"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "ops") {
                paths.push(path);
            }
        }
    }
    assert!(paths.len() >= 5);
    let mut drawn = 0;
    for path in paths {
        let file = coordops::source::load(&path).expect("loads");
        let checked = coordops::analysis::parse_and_check(&file);
        let Some(playbook) = checked.playbook else {
            continue;
        };
        let mut scopes = vec![Scope::All];
        let workflows: Vec<String> = playbook.workflows().map(|w| w.name.name.clone()).collect();
        scopes.extend(workflows.iter().map(|w| Scope::Workflow(w)));
        let signals: Vec<String> = playbook
            .routes()
            .filter_map(|r| match &r.pattern {
                coordops::ast::SignalPattern::Exact { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        scopes.extend(signals.iter().map(|s| Scope::Signal(s)));
        for scope in scopes {
            let g = graph::build(&playbook, &file, scope).expect("scope exists");
            let ids: BTreeSet<&str> = g.nodes().map(|n| n.id.as_str()).collect();
            let entries = g.cluster_entries();
            for e in g.edges() {
                assert!(ids.contains(e.from.as_str()), "{}: {e:?}", path.display());
                assert!(
                    ids.contains(e.to.as_str()) || entries.contains_key(&e.to),
                    "{}: {scope:?} {e:?}",
                    path.display()
                );
            }
            let svg = graph::svg(&g);
            assert_eq!(svg.matches("<g ").count(), ids.len());
            assert!(!graph::mermaid(&g).is_empty() && !graph::dot(&g).is_empty());
            drawn += 1;
        }
    }
    assert!(drawn > 20, "{drawn}");
}
