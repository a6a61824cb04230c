//! Which `binding.field` paths a playbook reads, per `AGENT.task`.
//!
//! The simulated backend invents placeholder outputs only for fields the
//! playbook reads; this finds them with one walk over each workflow's
//! expressions ([`crate::ast::Block::walk_exprs`]).

use std::collections::{BTreeSet, HashMap};

use crate::ast::{Playbook, Stmt};

/// For each `AGENT.task`, the (binding, field) pairs the playbook reads.
/// Bindings are per workflow, so each workflow is read on its own.
pub(super) fn read_fields(playbook: &Playbook) -> HashMap<String, BTreeSet<(String, String)>> {
    let mut fields: HashMap<String, BTreeSet<(String, String)>> = HashMap::new();
    for w in playbook.workflows() {
        let mut bound: HashMap<&str, String> = HashMap::new();
        w.body.walk(&mut |s| {
            if let Stmt::Call(c) = s {
                if let Some(b) = &c.binding {
                    bound.insert(
                        &b.name,
                        format!("{}.{}", c.call.agent.name, c.call.task.name),
                    );
                }
            }
        });
        w.body.walk_exprs(&mut |expr| {
            expr.visit_paths(&mut |segments| {
                if let [root, field, ..] = segments {
                    if let Some(task) = bound.get(root.name.as_str()) {
                        fields
                            .entry(task.clone())
                            .or_default()
                            .insert((root.name.clone(), field.name.clone()));
                    }
                }
            });
        });
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::testing::generate as gen;
    use serde_json::Value;

    /// The former implementation: serialise each body and scan the JSON.
    fn oracle(playbook: &Playbook) -> HashMap<String, BTreeSet<(String, String)>> {
        let mut fields: HashMap<String, BTreeSet<(String, String)>> = HashMap::new();
        for w in playbook.workflows() {
            let mut bound: HashMap<String, String> = HashMap::new();
            w.body.walk(&mut |s| {
                if let Stmt::Call(c) = s {
                    if let Some(b) = &c.binding {
                        bound.insert(
                            b.name.clone(),
                            format!("{}.{}", c.call.agent.name, c.call.task.name),
                        );
                    }
                }
            });
            let mut paths = Vec::new();
            collect_paths(
                &serde_json::to_value(&w.body).unwrap_or(Value::Null),
                &mut paths,
            );
            for (root, field) in paths {
                if let Some(task) = bound.get(&root) {
                    fields
                        .entry(task.clone())
                        .or_default()
                        .insert((root, field));
                }
            }
        }
        fields
    }

    fn collect_paths(value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                if map.get("expr").and_then(Value::as_str) == Some("path") {
                    if let Some(Value::Array(segments)) = map.get("segments") {
                        let names: Vec<&str> = segments
                            .iter()
                            .filter_map(|s| s.get("name").and_then(Value::as_str))
                            .collect();
                        if let [root, field, ..] = names[..] {
                            out.push((root.to_string(), field.to_string()));
                        }
                    }
                }
                map.values().for_each(|v| collect_paths(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_paths(v, out)),
            _ => {}
        }
    }

    /// Returns whether the text parsed (and so was compared).
    fn same_as_oracle(name: &str, text: &str) -> bool {
        let parsed = crate::syntax::parse(&SourceFile::new(name, text));
        let Some(playbook) = parsed.playbook else {
            return false;
        };
        assert_eq!(read_fields(&playbook), oracle(&playbook), "{name}");
        true
    }

    #[test]
    fn matches_the_json_scan_on_every_repo_playbook() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["playbooks", "tests/fixtures", "examples", "fuzz/seeds"] {
            crate::testing::harness::ops_files(&root.join(dir), &mut files);
        }
        let mut compared = 0;
        let mut reading = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            if same_as_oracle(&file.display().to_string(), &text) {
                compared += 1;
                let parsed = crate::syntax::parse(&SourceFile::new("f", text.as_str()));
                if parsed.playbook.is_some_and(|p| !read_fields(&p).is_empty()) {
                    reading += 1;
                }
            }
        }
        assert!(compared > 50, "only {compared} playbooks parsed");
        assert!(reading > 20, "only {reading} playbooks read a field");
    }

    #[test]
    fn matches_the_json_scan_on_generated_playbooks() {
        for text in [
            gen::sequential_workflow(50),
            gen::many_agents(20),
            gen::unused_agents(20),
            gen::sized_playbook(20_000),
            gen::branching_workflow(30),
            gen::parallel_for(),
            gen::nested_fan_out(),
        ] {
            assert!(same_as_oracle("generated.ops", &text));
        }
    }

    #[test]
    fn finds_fields_in_every_expression_position() {
        let text = r#"
agent A "a" {
  task t "t" { timeout 30s }
}
signal S:GO "go" { x: string = "seed" }
route go: S:GO => w
workflow w "w" {
  a = A.t(x: signal.x)
  b = A.t(x: "{a.arg}") when a.when_ and true timeout 5s on failure(rejected) when a.guard => A.t(x: a.recovery) then escalate Boundary "t {a.esc_title}" { d: a.esc_detail }
  let l = [a.let_]
  if a.cond { c = A.t(x: 1) on timeout => fail "m {a.fail_msg}" { d: a.fail_detail } } else if not a.elif { abort "r {a.abort}" }
  parallel for e in a.each { d = A.t(x: e) }
  approve ok "ask {a.approve}" on denied => abort "no {a.denied}"
  fail "f {a.fail2}" { k: a.fail2_detail }
  escalate Resource "e {a.esc2}" { k: a.esc2_detail }
  complete "s {a.summary}" { k: a.payload } next "n {a.next}"
}
"#;
        let parsed = crate::syntax::parse(&SourceFile::new("all.ops", text));
        let playbook = parsed
            .playbook
            .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics));
        let read = read_fields(&playbook);
        let fields: BTreeSet<&str> = read["A.t"].iter().map(|(_, f)| f.as_str()).collect();
        for want in [
            "arg",
            "when_",
            "guard",
            "recovery",
            "esc_title",
            "esc_detail",
            "let_",
            "cond",
            "fail_msg",
            "fail_detail",
            "elif",
            "abort",
            "each",
            "approve",
            "denied",
            "fail2",
            "fail2_detail",
            "esc2",
            "esc2_detail",
            "summary",
            "payload",
            "next",
        ] {
            assert!(fields.contains(want), "{want} missing from {fields:?}");
        }
        assert_eq!(read, oracle(&playbook));
    }
}
