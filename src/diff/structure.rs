//! Structure diff: declarations added or removed, and per workflow step the
//! effective settings that changed.
//!
//! A step is identified as a step target is (src/analysis/targets.rs):
//! `WORKFLOW.BINDING` when its call is bound to a name, else `WORKFLOW.N`
//! (the Nth task call written in the workflow). Bindings survive steps
//! being inserted before them; positions do not, so a binding is preferred.
//! A `parallel` group is `WORKFLOW.LABEL`, or `WORKFLOW.parallel#K` (the
//! Kth group written) when unlabelled.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::policy::{self, Inherited};
use crate::analysis::targets;
use crate::ast::{Block, CallStmt, Playbook, Span, StepOption, Stmt, Workflow};
use crate::source::SourceFile;

/// One change of structure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// `agents_tasks`, `routing` or `workflows`: the section it is shown in.
    pub section: &'static str,
    /// `added`, `removed` or `changed`.
    pub kind: &'static str,
    /// What changed: `agent RELEASE_MANAGER`, `step release.push`, …
    pub subject: String,
    /// For `changed`: the aspect (`timeout`, `retry`, `calls`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect: Option<String>,
    /// The value in OLD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The value in NEW.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Where it is in NEW (line and column from 1), when it is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
}

/// A version: its parsed playbook and its source.
#[derive(Clone, Copy)]
pub struct Version<'a> {
    /// The playbook.
    pub playbook: &'a Playbook,
    /// Its text.
    pub file: &'a SourceFile,
}

/// Facts compared per subject: aspect → value, with the subject's span.
type Facts = BTreeMap<String, (BTreeMap<&'static str, String>, Span)>;

/// Every structural change from `old` to `new`, in a stable order.
pub fn diff(old: Version, new: Version) -> Vec<Change> {
    let mut out = Vec::new();
    for (section, facts) in [
        ("agents_tasks", declarations as fn(Version) -> Facts),
        ("routing", routes),
        ("workflows", workflows),
    ] {
        compare(section, &facts(old), &facts(new), new.file, &mut out);
    }
    out
}

fn compare(
    section: &'static str,
    old: &Facts,
    new: &Facts,
    file: &SourceFile,
    out: &mut Vec<Change>,
) {
    let at = |span: Span| {
        let (line, col) = file.line_col(span.start);
        (Some(line), Some(col))
    };
    for (subject, (facts, _)) in old {
        if !new.contains_key(subject) {
            out.push(change(
                section,
                "removed",
                subject,
                None,
                None,
                None,
                (None, None),
            ));
            let _ = facts;
        }
    }
    for (subject, (facts, span)) in new {
        match old.get(subject) {
            None => out.push(change(
                section,
                "added",
                subject,
                None,
                None,
                None,
                at(*span),
            )),
            Some((before, _)) => {
                let aspects: std::collections::BTreeSet<&&str> =
                    before.keys().chain(facts.keys()).collect();
                for aspect in aspects {
                    let (o, n) = (before.get(*aspect), facts.get(*aspect));
                    if o != n {
                        out.push(change(
                            section,
                            "changed",
                            subject,
                            Some(aspect.to_string()),
                            Some(o.cloned().unwrap_or_else(|| "none".into())),
                            Some(n.cloned().unwrap_or_else(|| "none".into())),
                            at(*span),
                        ));
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn change(
    section: &'static str,
    kind: &'static str,
    subject: &str,
    aspect: Option<String>,
    old: Option<String>,
    new: Option<String>,
    (line, col): (Option<usize>, Option<usize>),
) -> Change {
    Change {
        section,
        kind,
        subject: subject.to_string(),
        aspect,
        old,
        new,
        line,
        col,
    }
}

/// Source text with runs of whitespace made one space.
fn text(file: &SourceFile, span: Span) -> String {
    file.slice(span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn declarations(v: Version) -> Facts {
    let mut out = Facts::new();
    for a in v.playbook.agents() {
        out.insert(
            format!("agent {}", a.name.name),
            (BTreeMap::new(), a.name.span),
        );
        for t in &a.tasks {
            out.insert(
                format!("task {}.{}", a.name.name, t.name.name),
                (BTreeMap::new(), t.name.span),
            );
        }
    }
    for rule in v.playbook.items.iter().filter_map(|i| match i {
        crate::ast::Item::Rule(r) => Some(r),
        _ => None,
    }) {
        let whole = text(v.file, rule.span);
        let facts = BTreeMap::from([("text", whole.clone())]);
        out.insert(
            format!("escalation rule `{}`", head(&whole)),
            (facts, rule.span),
        );
    }
    out
}

/// A rule's text up to its `{ … }` body (braces inside strings are not one).
fn head(rule: &str) -> &str {
    let mut quoted = false;
    for (i, c) in rule.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => return rule[..i].trim_end(),
            _ => {}
        }
    }
    rule
}

fn routes(v: Version) -> Facts {
    let mut out = Facts::new();
    for s in v.playbook.signals() {
        let fields = s
            .fields
            .iter()
            .map(|f| text(v.file, f.span))
            .collect::<Vec<_>>()
            .join(", ");
        let facts = BTreeMap::from([("fields", fields)]);
        out.insert(format!("signal {}", s.name.name), (facts, s.name.span));
    }
    for (i, r) in v.playbook.routes().enumerate() {
        let c = crate::runtime::routing::choice(i, r);
        let subject = match &c.label {
            Some(l) => format!("route {l}"),
            None => format!("route `{}` => {}", c.pattern, c.target),
        };
        let mut facts = BTreeMap::from([
            ("pattern", c.pattern),
            ("target", text(v.file, target_span(r))),
        ]);
        if let Some(g) = &r.guard {
            facts.insert("guard", text(v.file, g.span));
        }
        out.insert(subject, (facts, r.span));
    }
    out
}

/// The span of what a route runs: from after `=>` to the route's end.
fn target_span(r: &crate::ast::Route) -> Span {
    let start = match &r.target {
        crate::ast::RouteTarget::Workflow(w) => w.span.start,
        crate::ast::RouteTarget::Task(c) => c.span.start,
        crate::ast::RouteTarget::Ignore { span } => span.start,
        crate::ast::RouteTarget::Escalate(e) => e.span.start,
    };
    Span {
        start,
        end: r.span.end,
    }
}

fn workflows(v: Version) -> Facts {
    let mut out = Facts::new();
    let coordinator = v.playbook.coordinators().next();
    for w in v.playbook.workflows() {
        let mut facts = BTreeMap::new();
        if let Some(t) = &w.timeout {
            facts.insert("timeout", policy::format_duration(t.millis));
        }
        out.insert(format!("workflow {}", w.name.name), (facts, w.name.span));
        for (i, (call, _)) in targets::calls(w).into_iter().enumerate() {
            let id = match &call.binding {
                Some(b) if unique_binding(w, &b.name) => format!("{}.{}", w.name.name, b.name),
                _ => format!("{}.{}", w.name.name, i + 1),
            };
            out.insert(
                format!("step {id}"),
                (step_facts(v, call, coordinator), call.span),
            );
        }
        let gate = policy::default_gate(coordinator);
        for (k, p) in parallels(&w.body).into_iter().enumerate() {
            let id = match &p.label {
                Some(l) => format!("{}.{}", w.name.name, l.name),
                None => format!("{}.parallel#{}", w.name.name, k + 1),
            };
            let mut facts = BTreeMap::from([(
                "gate",
                p.gate
                    .as_ref()
                    .map_or_else(|| format!("{gate}% (default)"), |g| text(v.file, g.span)),
            )]);
            if let Some(t) = &p.timeout {
                facts.insert("timeout", policy::format_duration(t.millis));
            }
            if let Some(s) = &p.stop {
                facts.insert("stop", format!("{s:?}").to_lowercase());
            }
            out.insert(format!("group {id}"), (facts, p.span));
        }
        other_steps(v, w, &mut out);
    }
    out
}

fn unique_binding(w: &Workflow, name: &str) -> bool {
    targets::calls(w)
        .iter()
        .filter(|(c, _)| c.binding.as_ref().is_some_and(|b| b.name == name))
        .count()
        == 1
}

fn step_facts(
    v: Version,
    call: &CallStmt,
    coordinator: Option<&crate::ast::Coordinator>,
) -> BTreeMap<&'static str, String> {
    let agent = v
        .playbook
        .agents()
        .find(|a| a.name.name == call.call.agent.name);
    let task = agent.and_then(|a| a.tasks.iter().find(|t| t.name.name == call.call.task.name));
    let inherited = Inherited {
        task,
        agent,
        coordinator,
    };
    let (millis, origin) = inherited.timeout(&call.options);
    let origin = origin.describe();
    let mut facts = BTreeMap::from([
        (
            "calls",
            format!("{}.{}", call.call.agent.name, call.call.task.name),
        ),
        (
            "timeout",
            format!("{} (from {origin})", policy::format_duration(millis)),
        ),
        (
            "retry",
            inherited
                .retry(&call.options)
                .map_or_else(|| "none".into(), |r| text(v.file, r.span)),
        ),
    ]);
    facts.extend(option_facts(v, &call.options));
    facts
}

/// What a statement's options say besides its timeout and retry: `critical`,
/// `locks`, `when`, `handlers`.
fn option_facts(v: Version, options: &[StepOption]) -> BTreeMap<&'static str, String> {
    let mut facts = BTreeMap::new();
    let mut locks = Vec::new();
    let mut handlers = Vec::new();
    for option in options {
        match option {
            StepOption::Critical { .. } => {
                facts.insert("critical", "yes".into());
            }
            StepOption::Lock(l) => locks.push(l.name.clone()),
            StepOption::When(e) => {
                facts.insert("when", text(v.file, e.span));
            }
            StepOption::Handler(h) => handlers.push(text(v.file, h.span)),
            StepOption::Timeout(_) | StepOption::Retry(_) => {}
        }
    }
    if !locks.is_empty() {
        facts.insert("locks", locks.join(", "));
    }
    if !handlers.is_empty() {
        facts.insert("handlers", handlers.join("; "));
    }
    facts
}

/// `run W` steps and approvals: what they run or ask, their written
/// timeout and retry, and their other options.
fn other_steps(v: Version, w: &Workflow, out: &mut Facts) {
    let mut runs = 0;
    for stmt in statements(&w.body) {
        let (subject, mut facts, options, span) = match stmt {
            Stmt::Run(r) => {
                runs += 1;
                let id = match &r.binding {
                    Some(b) => b.name.clone(),
                    None => format!("run#{runs}"),
                };
                let facts = BTreeMap::from([("runs", r.workflow.name.clone())]);
                (
                    format!("step {}.{id}", w.name.name),
                    facts,
                    &r.options,
                    r.span,
                )
            }
            Stmt::Approve(a) => {
                let facts = BTreeMap::from([("asks", text(v.file, a.message.span))]);
                let subject = format!("approval {}.{}", w.name.name, a.name.name);
                (subject, facts, &a.options, a.span)
            }
            _ => continue,
        };
        if let Some(t) = policy::option_timeout(options) {
            facts.insert("timeout", policy::format_duration(t.millis));
        }
        if let Some(r) = policy::option_retry(options) {
            facts.insert("retry", text(v.file, r.span));
        }
        facts.extend(option_facts(v, options));
        out.insert(subject, (facts, span));
    }
}

/// Every statement in `block`, nested ones included, in source order.
fn statements(block: &Block) -> Vec<&Stmt> {
    let mut out = Vec::new();
    for stmt in &block.stmts {
        out.push(stmt);
        match stmt {
            Stmt::Parallel(p) => out.extend(statements(&p.body)),
            Stmt::If(i) => {
                for b in &i.branches {
                    out.extend(statements(&b.block));
                }
                if let Some(e) = &i.else_block {
                    out.extend(statements(e));
                }
            }
            Stmt::Exclusive(x) => out.extend(statements(&x.body)),
            _ => {}
        }
    }
    out
}

/// Every `parallel` group in `block`, nested ones included, in source order.
fn parallels(block: &Block) -> Vec<&crate::ast::ParallelStmt> {
    statements(block)
        .into_iter()
        .filter_map(|s| match s {
            Stmt::Parallel(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "agent A { task t { timeout 10s }\n task u }\n\
signal S:X { }\nroute S:X => w\n\
on failure(busy) => escalate Resource \"busy\" { }\n\
workflow w {\n  approve ok \"Go?\" timeout 1h\n  first = A.t()\n  second = A.u() lock l\n  parallel p gate 50% {\n    A.t()\n    A.u()\n  }\n}\nlock l\n";

    fn changes(old: &str, new: &str) -> Vec<String> {
        let (of, nf) = (
            SourceFile::new("old.ops", old),
            SourceFile::new("new.ops", new),
        );
        let parse = |f: &SourceFile| crate::syntax::parse(f).playbook.expect("parses");
        let (op, np) = (parse(&of), parse(&nf));
        let v = |p, f| Version {
            playbook: p,
            file: f,
        };
        diff(v(&op, &of), v(&np, &nf))
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    c.kind,
                    c.subject,
                    c.aspect.as_deref().unwrap_or("-"),
                    c.new.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn identical_versions_have_no_changes() {
        assert!(changes(BASE, BASE).is_empty());
    }

    #[test]
    fn a_step_inserted_before_bound_steps_changes_only_unbound_positions() {
        let new = BASE.replace("  first = A.t()\n", "  zero = A.u()\n  first = A.t()\n");
        // The bound steps keep their identity; the unbound ones after the
        // insertion are renumbered (w.3, w.4 become w.4, w.5).
        assert_eq!(
            changes(BASE, &new),
            [
                "removed step w.3 - -",
                "changed step w.4 calls A.t",
                "changed step w.4 timeout 10s (from task)",
                "added step w.5 - -",
                "added step w.zero - -",
            ]
        );
    }

    #[test]
    fn gates_locks_critical_handlers_and_rules_are_compared() {
        let new = BASE
            .replace("gate 50%", "gate 100%")
            .replace(
                "second = A.u() lock l",
                "second = A.u() critical on failure => fail \"x\"",
            )
            .replace("failure(busy)", "failure(unavailable)")
            .replace("\"busy\" { }", "\"busy {step.error}\" { }");
        assert_eq!(
            changes(BASE, &new),
            [
                "removed escalation rule `on failure(busy) => escalate Resource \"busy\"` - -",
                "added escalation rule `on failure(unavailable) => escalate Resource \"busy {step.error}\"` - -",
                "changed group w.p gate 100%",
                "changed step w.second critical yes",
                "changed step w.second handlers on failure => fail \"x\"",
                "changed step w.second locks none",
            ]
        );
    }

    #[test]
    fn approvals_are_compared() {
        let new = BASE.replace("timeout 1h", "timeout 2h on denied => fail \"no\"");
        assert_eq!(
            changes(BASE, &new),
            [
                "changed approval w.ok handlers on denied => fail \"no\"",
                "changed approval w.ok timeout 2h",
            ]
        );
    }

    #[test]
    fn an_inherited_timeout_change_shows_on_each_step_it_reaches() {
        let new = BASE.replace("task t { timeout 10s }", "task t { timeout 20s }");
        assert_eq!(
            changes(BASE, &new),
            [
                "changed step w.3 timeout 20s (from task)",
                "changed step w.first timeout 20s (from task)",
            ]
        );
    }
}
