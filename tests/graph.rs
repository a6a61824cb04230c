//! `coordops graph`: the Mermaid picture of a playbook's flow.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;

fn chart(path: &str) -> String {
    let out = Command::cargo_bin("coordops")
        .expect("binary")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(["graph", path])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
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
    Command::cargo_bin("coordops")
        .expect("binary")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
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
