//! Every playbook under `playbooks/` parses, and its AST is snapshotted.

use std::path::{Path, PathBuf};

use coordops::source::{self, SourceFile};
use coordops::syntax;

fn playbook_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    let (files, problems) = source::collect_playbooks(&[root]);
    assert!(problems.is_empty(), "{problems:?}");
    // Test files (`*.test.ops`) are checked by `checks.rs`, not parsed as playbooks.
    files
        .into_iter()
        .filter(|f| !coordops::testing::test_file::is_test_file(f))
        .collect()
}

/// Removes `span` fields: spans are checked by `spans.rs`; here we snapshot meaning.
fn strip_spans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

#[test]
fn every_playbook_parses_without_diagnostics() {
    let files = playbook_files();
    assert!(
        files.len() >= 5,
        "expected coord_ops.ops and the examples, found {files:?}"
    );
    for path in files {
        let file = source::load(&path).unwrap_or_else(|d| panic!("{}: {d}", path.display()));
        let parsed = syntax::parse(&file);
        assert!(
            parsed.diagnostics.is_empty(),
            "{} has diagnostics:\n{}",
            path.display(),
            coordops::diagnostics::render_all(&parsed.diagnostics, Default::default())
        );
    }
}

#[test]
fn playbook_asts() {
    insta::glob!("../playbooks", "**/*.ops", |path| {
        if coordops::testing::test_file::is_test_file(path) {
            return; // a test file, not a playbook
        }
        let text = std::fs::read_to_string(path).expect("fixture is UTF-8");
        let parsed = syntax::parse(&SourceFile::new("playbook.ops", text));
        let playbook = parsed.playbook.expect("playbook parses");
        let mut json = serde_json::to_value(&playbook).expect("AST serialises");
        strip_spans(&mut json);
        insta::assert_json_snapshot!(json);
    });
}

#[test]
fn coord_ops_encodes_the_whole_seed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/coord_ops.ops");
    let file = source::load(&path).expect("coord_ops.ops loads");
    let playbook = syntax::parse(&file).playbook.expect("coord_ops.ops parses");

    let agents: Vec<_> = playbook.agents().map(|a| a.name.name.as_str()).collect();
    assert_eq!(agents, ["RELEASE_MANAGER", "META_UPDATER", "TOOLSMITH"]);

    let signals: Vec<_> = playbook.signals().map(|s| s.name.name.as_str()).collect();
    for signal in [
        "OPS:COMMIT",
        "OPS:PR",
        "OPS:RELEASE",
        "OPS:DOCS",
        "OPS:SKILL",
        "OPS:AGENT",
        "OPS:AUDIT",
        "OPS:SYNTHESIZE",
    ] {
        assert!(signals.contains(&signal), "missing signal {signal}");
    }

    // The TIMEOUTS table of the seed, in milliseconds.
    let timeout = |agent: &str, task: &str| {
        let agent = playbook.agents().find(|a| a.name.name == agent)?;
        let task = agent.tasks.iter().find(|t| t.name.name == task)?;
        task.settings.iter().find_map(|s| match s {
            coordops::ast::Setting::Timeout(d) => Some(d.millis),
            _ => None,
        })
    };
    for (agent, task, seconds) in [
        ("RELEASE_MANAGER", "commit", 30),
        ("RELEASE_MANAGER", "pr", 60),
        ("RELEASE_MANAGER", "release", 300),
        ("META_UPDATER", "changelog", 60),
        ("META_UPDATER", "doc_update", 120),
        ("META_UPDATER", "full_audit", 600),
        ("TOOLSMITH", "skill", 120),
        ("TOOLSMITH", "agent", 180),
        ("TOOLSMITH", "tool", 300),
    ] {
        assert_eq!(timeout(agent, task), Some(seconds * 1000), "{agent}.{task}");
    }

    let workflows: Vec<_> = playbook.workflows().map(|w| w.name.name.as_str()).collect();
    for workflow in ["commit_pr", "release", "new_skill", "full_audit"] {
        assert!(workflows.contains(&workflow), "missing workflow {workflow}");
    }
    let last_route = playbook.routes().last().expect("routes");
    assert!(matches!(
        last_route.target,
        coordops::ast::RouteTarget::Ignore { .. }
    ));
    let kinds: Vec<_> = playbook
        .rules()
        .filter_map(|r| match &r.action {
            coordops::ast::HandlerAction::Escalate(e) => Some(e.kind.name.as_str()),
            _ => None,
        })
        .collect();
    for kind in ["QualityGate", "Boundary", "Resource", "Conflict"] {
        assert!(kinds.contains(&kind), "no escalation rule of type {kind}");
    }
}
