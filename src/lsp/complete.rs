//! Completion: names (agents, workflows, locks, signals, bindings), an
//! agent's tasks after `AGENT.`, signal fields after `signal.`, a call's
//! outputs after `binding.`, a task's outputs after `output.` in its
//! checks, and the fields of `step.` and `gate.`.
//!
//! Works on the last text that parsed, so it keeps working while the text
//! being typed (`signal.`) is not valid yet.

use lsp_types::{CompletionItem, CompletionItemKind};

use crate::analysis::scope::{self, Object};
use crate::ast::{merged_fields, Item, Playbook, SignalDecl, SignalPattern, Stmt};

use super::document::Document;
use super::index::{binding_key, Index, Kind};
use super::lookup;

/// The completions at byte `offset`.
pub fn complete(doc: &Document, offset: usize) -> Vec<CompletionItem> {
    let Some(playbook) = &doc.last_good else {
        return Vec::new();
    };
    let text = doc.text();
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let word = start_of(before, |c| c.is_alphanumeric() || c == '_' || c == ':');
    let qualifier = before[..word]
        .strip_suffix('.')
        .map(|head| &head[start_of(head, |c| c.is_alphanumeric() || c == '_')..]);
    match qualifier {
        Some(q) => members(playbook, q, offset),
        None => names(playbook, offset),
    }
}

/// Where the run of characters matching `part` that ends `text` starts.
fn start_of(text: &str, part: impl Fn(char) -> bool) -> usize {
    text.char_indices()
        .rev()
        .find(|&(_, c)| !part(c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

fn item(label: &str, kind: CompletionItemKind, detail: String) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail),
        ..CompletionItem::default()
    }
}

/// What may follow `qualifier.`.
fn members(playbook: &Playbook, qualifier: &str, offset: usize) -> Vec<CompletionItem> {
    let field = CompletionItemKind::FIELD;
    match qualifier {
        "signal" => signals_at(playbook, offset)
            .iter()
            .flat_map(|s| {
                s.fields
                    .iter()
                    .map(move |f| item(&f.name.name, field, format!("{}: {}", s.name.name, f.ty)))
            })
            .fold(Vec::new(), dedup),
        "step" | "gate" => {
            let object = if qualifier == "step" {
                Object::Step
            } else {
                Object::Gate
            };
            scope::fields(object)
                .map(|f| item(f.name, field, format!("{}: {}", f.ty.name(), f.meaning)))
                .collect()
        }
        "output" => check_outputs(playbook, offset),
        _ => {
            if let Some(agent) = lookup::agent(playbook, qualifier) {
                return agent
                    .tasks
                    .iter()
                    .map(|t| {
                        item(
                            &t.name.name,
                            CompletionItemKind::METHOD,
                            format!("task of {}", agent.name.name),
                        )
                    })
                    .collect();
            }
            binding_outputs(playbook, qualifier, offset)
        }
    }
}

fn dedup(mut items: Vec<CompletionItem>, next: CompletionItem) -> Vec<CompletionItem> {
    if !items.iter().any(|i| i.label == next.label) {
        items.push(next);
    }
    items
}

/// The signals whose `signal` the text at `offset` sees: a route's own
/// signal, the signals that reach the enclosing workflow (as `check` finds
/// them), or else every one.
fn signals_at(playbook: &Playbook, offset: usize) -> Vec<&SignalDecl> {
    let declared = |name: &str| playbook.signals().find(|s| s.name.name == name);
    let inside = |span: crate::ast::Span| span.start <= offset && offset <= span.end;
    let mut found = Vec::new();
    for it in &playbook.items {
        match it {
            Item::Route(r) if inside(r.span) => {
                if let SignalPattern::Exact { name, .. } = &r.pattern {
                    found.extend(declared(name));
                }
            }
            Item::Workflow(w) if inside(w.span) => {
                let reaching = crate::analysis::signals_reaching(playbook);
                let mine = reaching.into_iter().find(|(name, _)| *name == w.name.name);
                if let Some((_, Some(signals))) = mine {
                    found.extend(signals.iter().filter_map(|s| declared(s)));
                }
            }
            _ => {}
        }
    }
    if found.is_empty() {
        found = playbook.signals().collect();
    }
    found
}

/// In a `check` of a task, the task's outputs (its agent's too); in an
/// agent-level `check`, the agent's.
fn check_outputs(playbook: &Playbook, offset: usize) -> Vec<CompletionItem> {
    let inside = |span: crate::ast::Span| span.start <= offset && offset <= span.end;
    let Some(agent) = playbook.agents().find(|a| inside(a.span)) else {
        return Vec::new();
    };
    let fields: Vec<_> = match agent.tasks.iter().find(|t| inside(t.span)) {
        Some(task) => merged_fields(agent, task).unwrap_or_default(),
        None => agent.outputs.iter().flat_map(|o| &o.fields).collect(),
    };
    fields
        .into_iter()
        .map(|f| {
            item(
                &f.name.name,
                CompletionItemKind::FIELD,
                format!("output: {}", f.ty),
            )
        })
        .fold(Vec::new(), dedup)
}

/// The outputs of the call bound to `name` in the workflow around `offset`.
fn binding_outputs(playbook: &Playbook, name: &str, offset: usize) -> Vec<CompletionItem> {
    let Some(w) = lookup::workflow_at(playbook, offset) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    w.body.walk(&mut |stmt| {
        if let Stmt::Call(c) = stmt {
            if c.binding.as_ref().is_some_and(|b| b.name == name) {
                let key = super::index::task_key(&c.call.agent.name, &c.call.task.name);
                if let Some(fields) =
                    lookup::task(playbook, &key).and_then(|(a, t)| merged_fields(a, t))
                {
                    for f in fields {
                        out.push(item(
                            &f.name.name,
                            CompletionItemKind::FIELD,
                            format!("{}: {}", key, f.ty),
                        ));
                    }
                }
            }
        }
    });
    out.into_iter().fold(Vec::new(), dedup)
}

/// Every name that may stand alone at `offset`.
fn names(playbook: &Playbook, offset: usize) -> Vec<CompletionItem> {
    let index = Index::build(playbook);
    let mut out = Vec::new();
    let workflow = lookup::workflow_at(playbook, offset).map(|w| w.name.name.clone());
    for o in index.occurrences.iter().filter(|o| o.definition) {
        let (kind, detail) = match o.kind {
            Kind::Agent => (CompletionItemKind::CLASS, "agent"),
            Kind::Signal => (CompletionItemKind::EVENT, "signal"),
            Kind::Workflow => (CompletionItemKind::FUNCTION, "workflow"),
            Kind::Lock => (CompletionItemKind::CONSTANT, "lock"),
            Kind::Binding => match &workflow {
                Some(w) if o.key.starts_with(&binding_key(w, "")) => {
                    (CompletionItemKind::VARIABLE, "binding")
                }
                _ => continue,
            },
            Kind::Task | Kind::Field => continue,
        };
        let label = o.key.rsplit('/').next().unwrap_or(&o.key);
        out.push(item(label, kind, detail.to_string()));
    }
    for builtin in ["signal", "step", "gate"] {
        out.push(item(
            builtin,
            CompletionItemKind::KEYWORD,
            "built-in object".into(),
        ));
    }
    out.into_iter().fold(Vec::new(), dedup)
}
