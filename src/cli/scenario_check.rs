//! Checks of a scenario file against the playbook, run when `--scenario` is
//! loaded: every task or approval it names exists, with a did-you-mean
//! (durations and outcomes are checked by [`Scenario::parse`]).

use toml::Value;

use crate::analysis::targets::{self, Target};
use crate::ast::{Playbook, Stmt};
use crate::runtime::simulated::Scenario;

/// Why the scenario `text` does not fit `playbook`, or `Ok` when it does.
/// Text that is not TOML passes: the scenario parser reports it.
pub fn check(text: &str, playbook: &Playbook) -> Result<(), String> {
    let Ok(Value::Table(root)) = text.parse::<Value>() else {
        return Ok(());
    };
    let mut unknown = Vec::new();
    if let Some(Value::Table(tasks)) = root.get("task") {
        for name in tasks.keys() {
            if let Some(problem) = unknown_task(playbook, name) {
                unknown.push(problem);
            }
        }
    }
    if let Some(Value::Table(approvals)) = root.get("approval") {
        let declared = approvals_of(playbook);
        for name in approvals.keys() {
            if !declared.iter().any(|d| d == name) {
                let help = crate::analysis::closest_word(name, declared.iter().map(String::as_str))
                    .map(|best| format!(" (did you mean `{best}`?)"))
                    .unwrap_or_default();
                unknown.push(format!("approval `{name}`{help}"));
            }
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "names what the playbook does not declare: {}",
            unknown.join(", ")
        ))
    }
}

/// One line per `[step."TARGET"]` entry of `scenario` that names no step
/// of `playbook`, with its code and a did-you-mean.
pub fn step_problems(scenario: &Scenario, playbook: &Playbook) -> Vec<String> {
    scenario
        .step
        .keys()
        .filter_map(|key| {
            Target::parse(key)
                .map_err(|e| format!("step {e}"))
                .and_then(|t| targets::resolve(playbook, &t).map(|_| ()))
                .err()
        })
        .collect()
}

/// The agent of each `[step."TARGET"]` entry that names a step.
pub fn step_agents<'p>(scenario: &Scenario, playbook: &'p Playbook) -> Vec<(String, &'p str)> {
    scenario
        .step
        .keys()
        .filter_map(|key| {
            let target = Target::parse(key).ok()?;
            Some((key.clone(), targets::resolve(playbook, &target).ok()?))
        })
        .collect()
}

/// Why `AGENT.task` names no task of the playbook, with a did-you-mean.
fn unknown_task(playbook: &Playbook, name: &str) -> Option<String> {
    let (agent_name, task_name) = name.split_once('.')?;
    let agents: Vec<&str> = playbook.agents().map(|a| a.name.name.as_str()).collect();
    let Some(agent) = playbook.agents().find(|a| a.name.name == agent_name) else {
        let owner = playbook
            .agents()
            .find(|a| a.tasks.iter().any(|t| t.name.name == task_name));
        let is_workflow = playbook.workflows().any(|w| w.name.name == agent_name);
        let help = match (
            crate::analysis::closest_word(agent_name, agents.iter().copied()),
            owner,
        ) {
            _ if is_workflow => format!(
                " (`{agent_name}` is a workflow: script one of its steps as `[step.\"{name}\"]`)"
            ),
            (Some(best), _) => format!(" (no agent `{agent_name}`; did you mean `{best}`?)"),
            (None, Some(owner)) => format!(
                " (no agent `{agent_name}`; `{task_name}` is a task of `{}`)",
                owner.name.name
            ),
            (None, None) => format!(" (no agent `{agent_name}`)"),
        };
        return Some(format!("task `{name}`{help}"));
    };
    if agent.tasks.iter().any(|t| t.name.name == task_name) {
        return None;
    }
    let tasks: Vec<&str> = agent.tasks.iter().map(|t| t.name.name.as_str()).collect();
    let help = match crate::analysis::closest_word(task_name, tasks.iter().copied()) {
        Some(best) => format!(" (did you mean `{agent_name}.{best}`?)"),
        None => match playbook
            .agents()
            .find(|a| a.tasks.iter().any(|t| t.name.name == task_name))
        {
            Some(owner) => format!(" (`{task_name}` is a task of `{}`)", owner.name.name),
            None => String::new(),
        },
    };
    Some(format!("task `{name}`{help}"))
}

/// The names of every `approve` step in the playbook.
fn approvals_of(playbook: &Playbook) -> Vec<String> {
    let mut names = Vec::new();
    for w in playbook.workflows() {
        w.body.walk(&mut |s| {
            if let Stmt::Approve(a) = s {
                names.push(a.name.name.clone());
            }
        });
    }
    names
}

#[cfg(test)]
mod tests {
    use super::{check, Scenario};
    use crate::source::SourceFile;

    fn playbook() -> crate::ast::Playbook {
        let text = "coordinator C { reports_to HUMAN }\n\
            agent RELEASE_MANAGER { task commit\n task push }\n\
            agent DOCS { task write }\n\
            signal OPS:X\n\
            route OPS:X => w\n\
            workflow w {\n  approve release_ok \"ok?\"\n  RELEASE_MANAGER.commit()\n}\n";
        crate::syntax::parse(&SourceFile::new("t.ops", text))
            .playbook
            .expect("parses")
    }

    /// Durations are strict when the scenario is parsed: an empty
    /// `latency = ""` is an error, not zero.
    #[test]
    fn empty_and_malformed_latencies_are_errors() {
        let parse = |text: &str| Scenario::parse(text).map(|_| ());
        let err = parse("[task.\"DOCS.write\"]\nlatency = \"\"\n").unwrap_err();
        assert!(err.contains("latency `` is not a duration"), "{err}");
        assert!(err.contains("write `0s` for zero"), "{err}");
        let err =
            parse("[task.\"DOCS.write\"]\nattempts = [{ latency = \"30s5m\" }]\n").unwrap_err();
        assert!(err.contains("largest to the smallest"), "{err}");
        let err = parse("[step.ship]\nlatency = \"30sec\"\n").unwrap_err();
        assert!(err.contains("`sec` is not a unit"), "{err}");
        assert!(parse("interrupt_after = \"\"\n").is_err());
        assert!(parse("[task.\"DOCS.write\"]\nlatency = \"0s\"\n").is_ok());
    }

    #[test]
    fn misspelt_names_get_did_you_mean() {
        let p = playbook();
        let err = check("[task.\"RELEASE_MANAGER.comit\"]\n", &p).unwrap_err();
        assert!(
            err.contains("did you mean `RELEASE_MANAGER.commit`?"),
            "{err}"
        );
        let err = check("[task.\"RELEASE_MANAGR.push\"]\n", &p).unwrap_err();
        assert!(err.contains("did you mean `RELEASE_MANAGER`?"), "{err}");
        let err = check("[task.\"DOCS.push\"]\n", &p).unwrap_err();
        assert!(err.contains("is a task of `RELEASE_MANAGER`"), "{err}");
        let err = check("[task.\"w.commit\"]\n", &p).unwrap_err();
        assert!(
            err.contains("`w` is a workflow: script one of its steps as `[step.\"w.commit\"]`"),
            "{err}"
        );
        let err = check("[approval]\nrelease_okk = \"granted\"\n", &p).unwrap_err();
        assert!(err.contains("did you mean `release_ok`?"), "{err}");
    }
}
