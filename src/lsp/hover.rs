//! Hover: what a name is (its description), a step's effective timeout and
//! retry policy with where each comes from, and a diagnostic's `explain`
//! text.

use crate::analysis::policy::{self, Inherited};
use crate::ast::{Agent, CallStmt, Playbook, Span, Stmt, TaskDecl};
use crate::explain;

use super::document::Document;
use super::index::{Kind, Occurrence};
use super::lookup;

/// The Markdown shown when hovering byte `offset`, if anything is there.
pub fn hover(doc: &Document, offset: usize) -> Option<String> {
    let mut parts = Vec::new();
    for d in &doc.diagnostics {
        let span = d.primary_span().unwrap_or_default();
        if span.start <= offset && offset <= span.end.max(span.start + 1) {
            let mut text = format!("**{}** `{}`\n\n{}", severity(d), d.code, d.message);
            if let Some(explanation) = explain::explanation(d.code) {
                text.push_str("\n\n");
                text.push_str(explanation.trim_end());
            }
            parts.push(text);
        }
    }
    if let Some(playbook) = &doc.playbook {
        for occurrence in doc.index.all_at(offset) {
            parts.extend(describe(playbook, doc, occurrence));
        }
    }
    (!parts.is_empty()).then(|| parts.join("\n\n---\n\n"))
}

fn severity(d: &crate::diagnostics::Diagnostic) -> &'static str {
    if d.is_error() {
        "error"
    } else {
        "warning"
    }
}

/// `items` joined by `sep`, or `empty` when there are none.
fn joined_or(items: &[String], sep: &str, empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(sep)
    }
}

/// A task's declared outputs as a hover paragraph (empty when it declares
/// none).
fn outputs(agent: &crate::ast::Agent, task: &crate::ast::TaskDecl) -> String {
    let Some(fields) = crate::ast::merged_fields(agent, task) else {
        return String::new();
    };
    let fields: Vec<String> = fields
        .iter()
        .map(|f| format!("`{}: {}`", f.name.name, f.ty))
        .collect();
    format!("\n\noutputs: {}", fields.join(", "))
}

fn describe(playbook: &Playbook, doc: &Document, o: &Occurrence) -> Option<String> {
    let text = |span: Span| doc.source.slice(span).to_string();
    let heading = |kind: &str, d: Option<&crate::ast::StrLit>| {
        let described = d.map(|s| format!(" — {}", text(s.span)));
        format!("**{kind}** `{}`{}", o.key, described.unwrap_or_default())
    };
    Some(match o.kind {
        Kind::Agent => {
            let agent = lookup::agent(playbook, &o.key)?;
            let tasks: Vec<String> = agent
                .tasks
                .iter()
                .map(|t| format!("`{}`", t.name.name))
                .collect();
            format!(
                "{}\n\ntasks: {}",
                heading("agent", agent.doc.as_ref()),
                joined_or(&tasks, ", ", "none")
            )
        }
        Kind::Task => {
            let (agent, task) = lookup::task(playbook, &o.key)?;
            let mut out = heading("task", task.doc.as_ref());
            out.push_str(&outputs(agent, task));
            let step = (!o.definition)
                .then(|| call_step(playbook, o.span))
                .flatten();
            out.push_str(&settings(playbook, agent, task, step, doc));
            out
        }
        Kind::Signal => {
            let signal = playbook.signals().find(|s| s.name.name == o.key)?;
            let fields: Vec<String> = signal
                .fields
                .iter()
                .map(|f| format!("- `{}`", text(f.span)))
                .collect();
            format!(
                "{}\n\n{}",
                heading("signal", signal.doc.as_ref()),
                joined_or(&fields, "\n", "no fields")
            )
        }
        Kind::Workflow => {
            let w = playbook.workflows().find(|w| w.name.name == o.key)?;
            let timeout = w
                .timeout
                .as_ref()
                .map(|t| format!("\n\ntimeout {}", policy::format_duration(t.millis)));
            format!(
                "{}{}",
                heading("workflow", w.doc.as_ref()),
                timeout.unwrap_or_default()
            )
        }
        Kind::Lock => {
            let lock = playbook.locks().find(|l| l.name.name == o.key)?;
            heading("lock", lock.doc.as_ref())
        }
        Kind::Field => {
            let (signal, field) = o.key.rsplit_once('.')?;
            let decl = playbook.signals().find(|s| s.name.name == signal)?;
            let field = decl.fields.iter().find(|f| f.name.name == field)?;
            format!(
                "**field** of signal `{signal}`\n\n```ops\n{}\n```",
                text(field.span)
            )
        }
        Kind::Binding => {
            let def = doc.index.definitions(o.kind, &o.key).next()?;
            let stmt = lookup::binding_statement(playbook, &o.key, def.span)?;
            let first_line = text(stmt.span())
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            let mut out = format!(
                "**binding** `{}`\n\n```ops\n{first_line}\n```",
                def_name(&o.key)
            );
            if let Stmt::Call(c) = stmt {
                let key = super::index::task_key(&c.call.agent.name, &c.call.task.name);
                if let Some((agent, task)) = lookup::task(playbook, &key) {
                    out.push_str(&outputs(agent, task));
                    // On the step itself (`x = A.t(…)`): its settings too.
                    if o.definition {
                        out.push_str(&settings(playbook, agent, task, Some(c), doc));
                    }
                }
            }
            out
        }
    })
}

fn def_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The call statement whose task name is written at `task_span`.
fn call_step(playbook: &Playbook, task_span: Span) -> Option<&CallStmt> {
    let mut found = None;
    for w in playbook.workflows() {
        w.body.walk(&mut |stmt| {
            if let Stmt::Call(c) = stmt {
                if c.call.task.span.start == task_span.start
                    && c.call.task.span.end == task_span.end
                {
                    found = Some(c);
                }
            }
        });
    }
    found
}

/// The effective timeout and retry policy of a call (of `step`, or of the
/// task called with no options of its own), and where each comes from.
fn settings(
    playbook: &Playbook,
    agent: &Agent,
    task: &TaskDecl,
    step: Option<&CallStmt>,
    doc: &Document,
) -> String {
    let inherited = Inherited {
        task: Some(task),
        agent: Some(agent),
        coordinator: playbook.coordinators().next(),
    };
    let options = step.map(|s| s.options.as_slice()).unwrap_or_default();
    let (millis, origin) = inherited.timeout(options);
    let what = if step.is_some() {
        "this step"
    } else {
        "a call with no options"
    };
    let mut out = format!(
        "\n\nFor {what}:\n- timeout **{}** (from {})",
        policy::format_duration(millis),
        origin.describe()
    );
    match inherited.retry_with_origin(options) {
        Some((retry, origin)) => {
            let delays: Vec<String> = policy::backoff_delays(retry)
                .into_iter()
                .take(10)
                .map(policy::format_duration)
                .collect();
            out.push_str(&format!(
                "\n- `{}` (from {}){}",
                doc.source.slice(retry.span),
                origin.describe(),
                if delays.is_empty() {
                    String::new()
                } else {
                    format!(": waits {}", delays.join(", "))
                }
            ));
        }
        None => out.push_str("\n- no retry policy: one attempt"),
    }
    out
}
