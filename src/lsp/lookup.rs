//! Finding declarations and statements in a playbook by name or span.

use crate::ast::{Agent, Playbook, Span, Stmt, TaskDecl, Workflow};

/// The agent called `name`.
pub fn agent<'a>(playbook: &'a Playbook, name: &str) -> Option<&'a Agent> {
    playbook.agents().find(|a| a.name.name == name)
}

/// The agent and task of a task key `AGENT.TASK`.
pub fn task<'a>(playbook: &'a Playbook, key: &str) -> Option<(&'a Agent, &'a TaskDecl)> {
    let (agent_name, task_name) = key.split_once('.')?;
    let agent = agent(playbook, agent_name)?;
    let task = agent.tasks.iter().find(|t| t.name.name == task_name)?;
    Some((agent, task))
}

/// The workflow called `name`.
pub fn workflow<'a>(playbook: &'a Playbook, name: &str) -> Option<&'a Workflow> {
    playbook.workflows().find(|w| w.name.name == name)
}

/// The statement that declares the binding keyed `WORKFLOW/NAME` at `span`.
pub fn binding_statement<'a>(playbook: &'a Playbook, key: &str, span: Span) -> Option<&'a Stmt> {
    let (w, _) = key.split_once('/')?;
    let mut found = None;
    workflow(playbook, w)?.body.walk(&mut |stmt| {
        let name = match stmt {
            Stmt::Call(c) => c.binding.as_ref(),
            Stmt::Run(r) => r.binding.as_ref(),
            Stmt::Let(l) => Some(&l.name),
            Stmt::Approve(a) => Some(&a.name),
            Stmt::Parallel(p) => p.each.as_ref().map(|e| &e.var),
            _ => None,
        };
        if name.is_some_and(|n| n.span.start == span.start && n.span.end == span.end) {
            found = Some(stmt);
        }
    });
    found
}

/// The workflow whose text covers byte `offset`.
pub fn workflow_at(playbook: &Playbook, offset: usize) -> Option<&Workflow> {
    playbook
        .workflows()
        .find(|w| w.span.start <= offset && offset <= w.span.end)
}
