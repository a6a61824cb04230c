//! Which agents a signal can reach: every agent its route's target may call
//! (steps, recovery calls of handlers, sub-workflows), whatever the
//! conditions. `coordops run` refuses to start when one of them has no
//! backend.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use crate::ast::{Block, Playbook, RouteTarget, StepOption, Stmt};
use crate::source::SourceFile;

use super::eval::Scope;
use super::routing;

/// The agents `signal` (with `context`) can reach, sorted; empty when it is
/// ignored or escalated at once.
pub fn agents_reached(
    playbook: &Playbook,
    signal: &str,
    context: &Map<String, Value>,
    source: Option<&SourceFile>,
) -> BTreeSet<String> {
    let mut scope = Scope::default();
    scope.bind("signal", Value::Object(context.clone()));
    let (chosen, _) = routing::choose(playbook, signal, &scope, source);
    let mut agents = BTreeSet::new();
    match chosen.map(|(_, r)| &r.target) {
        Some(RouteTarget::Workflow(w)) => {
            let mut seen = HashSet::new();
            workflow_agents(playbook, &w.name, &mut seen, &mut agents);
        }
        Some(RouteTarget::Task(call)) => {
            agents.insert(call.agent.name.clone());
        }
        Some(RouteTarget::Escalate(_) | RouteTarget::Ignore { .. }) | None => {}
    }
    agents
}

fn workflow_agents(
    playbook: &Playbook,
    name: &str,
    seen: &mut HashSet<String>,
    agents: &mut BTreeSet<String>,
) {
    if !seen.insert(name.to_string()) {
        return;
    }
    let Some(workflow) = playbook.workflows().find(|w| w.name.name == name) else {
        return;
    };
    let mut runs = Vec::new();
    block_agents(&workflow.body, agents, &mut runs);
    for run in runs {
        workflow_agents(playbook, &run, seen, agents);
    }
}

fn block_agents(block: &Block, agents: &mut BTreeSet<String>, runs: &mut Vec<String>) {
    let recoveries = |options: &[StepOption], agents: &mut BTreeSet<String>| {
        for handler in options.iter().filter_map(StepOption::handler) {
            if let Some(call) = &handler.recovery {
                agents.insert(call.agent.name.clone());
            }
        }
    };
    block.walk(&mut |stmt| match stmt {
        Stmt::Call(c) => {
            agents.insert(c.call.agent.name.clone());
            recoveries(&c.options, agents);
        }
        Stmt::Approve(a) => recoveries(&a.options, agents),
        Stmt::Run(r) => runs.push(r.workflow.name.clone()),
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(text: &str) -> Playbook {
        let file = SourceFile::new("t.ops", text);
        crate::syntax::parse(&file)
            .playbook
            .unwrap_or_else(|| panic!("parses"))
    }

    #[test]
    fn steps_recoveries_and_sub_workflows_are_reached() {
        let p = playbook(
            "agent A { task t }\nagent B { task t }\nagent C { task t }\nagent D { task t }\n\
             signal S:X\nsignal S:Y\n\
             route S:X => w\nroute S:Y => D.t\n\
             workflow w {\n  a = A.t() on failure => B.t() then retry\n  if false { run v }\n}\n\
             workflow v { C.t() }\n",
        );
        let reached = agents_reached(&p, "S:X", &Map::new(), None);
        assert_eq!(
            reached.into_iter().collect::<Vec<_>>(),
            vec!["A".to_string(), "B".to_string(), "C".to_string()]
        );
        let fast = agents_reached(&p, "S:Y", &Map::new(), None);
        assert_eq!(fast.into_iter().collect::<Vec<_>>(), vec!["D".to_string()]);
        assert!(agents_reached(&p, "Q:Z", &Map::new(), None).is_empty());
    }
}
