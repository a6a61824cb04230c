//! Declared task outputs: the `outputs { … }` blocks themselves, and every
//! read of a declared task's result (`commit.hash`, a check's `output.x`).
//!
//! Tasks that declare no outputs (neither themselves nor their agent) stay
//! unchecked: their results are [`Root::Value`]s of unknown shape.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::ast::{merged_fields, Agent, Ident, OutputsDecl, Playbook, Span, TaskDecl};
use crate::diagnostics::{codes, Diagnostic};

use super::suggest;
use super::symbols::{duplicate, duplicate_setting};
use super::types::{self, declared_type, Env, Root, Ty};

/// Where a declared task's result is read.
#[derive(Clone, Debug)]
pub enum Reader {
    /// A bound step result: `commit.hash`.
    Step,
    /// A check of the task itself: `output.x`.
    TaskCheck,
    /// An agent-level check, applied to this task: `output.x`.
    AgentCheck(String),
}

/// The declared outputs of one task, as seen by one reader.
#[derive(Clone, Debug)]
pub struct Declared {
    /// The agent's name.
    pub agent: String,
    /// The task's name.
    pub task: String,
    /// Declared fields with their types, agent-level ones first.
    pub fields: Vec<(String, Ty)>,
    /// The `outputs` keyword of the task's block, else of the agent's.
    pub decl: Span,
    /// Who reads the result.
    pub reader: Reader,
}

impl Declared {
    /// The declaration of `agent.task`, or `None` when it declares nothing.
    pub fn of(agent: &Agent, task: &TaskDecl, reader: Reader) -> Option<Rc<Declared>> {
        let fields = merged_fields(agent, task)?;
        let decl = task
            .outputs
            .first()
            .or_else(|| agent.outputs.first())
            .map_or(task.name.span, |o| {
                Span::new(o.span.start, o.span.start + "outputs".len())
            });
        let mut sink = Vec::new();
        Some(Rc::new(Declared {
            agent: agent.name.name.clone(),
            task: task.name.name.clone(),
            fields: fields
                .into_iter()
                .map(|f| (f.name.name.clone(), declared_type(&f.ty, &mut sink)))
                .collect(),
            decl,
            reader,
        }))
    }

    /// The type of `root.field…`, reporting a field that is not declared.
    pub fn field(&self, segments: &[Ident], out: &mut Vec<Diagnostic>) -> Ty {
        let Some(field) = segments.get(1) else {
            return Ty::Map;
        };
        match self.fields.iter().find(|(n, _)| *n == field.name) {
            Some((_, ty)) if segments.len() == 2 => ty.clone(),
            Some(_) => Ty::Any,
            None => {
                out.push(self.undefined(segments, field));
                Ty::Any
            }
        }
    }

    fn undefined(&self, segments: &[Ident], field: &Ident) -> Diagnostic {
        let root = segments.first().map_or("output", |r| r.name.as_str());
        let names = self.fields.iter().map(|(n, _)| n.as_str());
        let task = format!("{}.{}", self.agent, self.task);
        let (message, help) = match &self.reader {
            Reader::Step => (
                format!(
                    "`{root}` ({task}) has no declared output `{}`",
                    field.name
                ),
                suggest::help(&field.name, "output", names),
            ),
            Reader::TaskCheck => (
                format!("task `{task}` declares no output `{}`", field.name),
                suggest::help(&field.name, "output", names),
            ),
            Reader::AgentCheck(check) => (
                format!(
                    "agent-level check `{check}` reads `output.{}`, which task `{task}` does not declare",
                    field.name
                ),
                match suggest::closest(&field.name, names) {
                    Some(best) => format!("did you mean `{best}`? Otherwise declare `{}` in the outputs of agent `{}` or of task `{}`, or move the check to the tasks that return it", field.name, self.agent, self.task),
                    None => format!("declare `{}` in the outputs of agent `{}` or of task `{}`, or move the check to the tasks that return it", field.name, self.agent, self.task),
                },
            ),
        };
        Diagnostic::error(codes::CHECK_UNDEFINED_OUTPUT, message)
            .with_primary(field.span, "not a declared output")
            .with_secondary(self.decl, "outputs declared here")
            .with_help(help)
    }
}

/// Checks the `outputs` blocks and the quality checks of every agent.
pub fn check(playbook: &Playbook, out: &mut Vec<Diagnostic>) {
    for agent in playbook.agents() {
        let agent_fields = blocks(&agent.outputs, out);
        for task in &agent.tasks {
            let own = blocks(&task.outputs, out);
            for field in own.values() {
                if let Some(first) = agent_fields.get(field.name.as_str()) {
                    out.push(duplicate("output", field, first.span).with_help(format!(
                        "agent `{}` already declares `{}` for every task: remove it from task `{}`",
                        agent.name.name, field.name, task.name.name
                    )));
                }
            }
        }
        checks(agent, out);
    }
}

/// Checks a declaration's blocks; returns its fields by name (the first wins).
fn blocks<'a>(
    blocks: &'a [OutputsDecl],
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<&'a str, &'a Ident> {
    if let [first, rest @ ..] = blocks {
        for again in rest {
            out.push(duplicate_setting("outputs", again.span, first.span));
        }
    }
    let mut fields: BTreeMap<&str, &Ident> = BTreeMap::new();
    for field in blocks.iter().flat_map(|b| &b.fields) {
        declared_type(&field.ty, out);
        if let Some(default) = &field.default {
            out.push(
                Diagnostic::error(
                    codes::CHECK_MISPLACED_OPTION,
                    format!("output `{}` cannot have a default", field.name.name),
                )
                .with_primary(default.span, "a default has no effect on an output")
                .with_help("the agent sends every declared output: remove `= …` (only signal fields have defaults)"),
            );
        }
        match fields.get(field.name.name.as_str()) {
            Some(first) => out.push(duplicate("output", &field.name, first.span)),
            None => {
                fields.insert(field.name.name.as_str(), &field.name);
            }
        }
    }
    fields
}

/// Type-checks the agent's quality checks against each task's declaration.
fn checks(agent: &Agent, out: &mut Vec<Diagnostic>) {
    let env = |output: Root<'static>| {
        Env::default()
            .with("output", output)
            .with("task", Root::Value)
            .with("signal", Root::Signal(None))
    };
    let untyped = env(Root::Value);
    let declares = |t: &TaskDecl| merged_fields(agent, t).is_some();
    if !agent.tasks.iter().any(declares) {
        for check in agent
            .checks
            .iter()
            .chain(agent.tasks.iter().flat_map(|t| &t.checks))
        {
            types::condition(&untyped, &check.condition, out);
        }
        return;
    }
    for check in &agent.checks {
        if !agent.tasks.iter().all(declares) {
            types::condition(&untyped, &check.condition, out);
        }
        for task in &agent.tasks {
            let reader = Reader::AgentCheck(check.name.name.clone());
            if let Some(d) = Declared::of(agent, task, reader) {
                types::condition(&env(Root::Outputs(d)), &check.condition, out);
            }
        }
    }
    for task in &agent.tasks {
        let root = Declared::of(agent, task, Reader::TaskCheck).map_or(Root::Value, Root::Outputs);
        let env = env(root);
        for check in &task.checks {
            types::condition(&env, &check.condition, out);
        }
    }
}
