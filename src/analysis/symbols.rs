//! The symbol table: every declared name, and duplicate definitions.

use std::collections::BTreeMap;

use crate::ast::{
    Agent, ApproveStmt, Block, Coordinator, Ident, LockDecl, Playbook, Route, Setting, SignalDecl,
    Span, Stmt, TaskDecl, Workflow,
};
use crate::diagnostics::{codes, Diagnostic};

/// Everything a playbook declares, by name (the first definition wins).
#[derive(Default)]
pub struct Symbols<'a> {
    /// The coordinator header.
    pub coordinator: Option<&'a Coordinator>,
    /// Agents by name.
    pub agents: BTreeMap<&'a str, &'a Agent>,
    /// Signals by full name.
    pub signals: BTreeMap<&'a str, &'a SignalDecl>,
    /// Workflows by name.
    pub workflows: BTreeMap<&'a str, &'a Workflow>,
    /// Locks by name.
    pub locks: BTreeMap<&'a str, &'a LockDecl>,
    /// Labelled routes by label.
    pub route_labels: BTreeMap<&'a str, &'a Route>,
    /// Approval steps by name, across all workflows.
    pub approvals: BTreeMap<&'a str, &'a ApproveStmt>,
}

impl<'a> Symbols<'a> {
    /// Collects the symbols, reporting duplicates into `out`.
    pub fn collect(playbook: &'a Playbook, out: &mut Vec<Diagnostic>) -> Self {
        let mut symbols = Symbols::default();
        for coordinator in playbook.coordinators() {
            match symbols.coordinator {
                Some(first) => {
                    out.push(duplicate("coordinator", &coordinator.name, first.name.span))
                }
                None => symbols.coordinator = Some(coordinator),
            }
            duplicate_settings(&coordinator.settings, out);
        }
        for agent in playbook.agents() {
            define(
                &mut symbols.agents,
                &agent.name,
                agent,
                "agent",
                |a| a.name.span,
                out,
            );
            duplicate_settings(&agent.settings, out);
            let mut tasks: BTreeMap<&str, &TaskDecl> = BTreeMap::new();
            for task in &agent.tasks {
                define(&mut tasks, &task.name, task, "task", |t| t.name.span, out);
                duplicate_settings(&task.settings, out);
                let mut checks = BTreeMap::new();
                for check in agent.checks.iter().chain(&task.checks) {
                    define(
                        &mut checks,
                        &check.name,
                        check,
                        "check",
                        |c| c.name.span,
                        out,
                    );
                }
            }
            if agent.tasks.is_empty() {
                let mut checks = BTreeMap::new();
                for check in &agent.checks {
                    define(
                        &mut checks,
                        &check.name,
                        check,
                        "check",
                        |c| c.name.span,
                        out,
                    );
                }
            }
        }
        for signal in playbook.signals() {
            define(
                &mut symbols.signals,
                &signal.name,
                signal,
                "signal",
                |s| s.name.span,
                out,
            );
            let mut fields = BTreeMap::new();
            for field in &signal.fields {
                if field.name.name == "name" {
                    out.push(
                        Diagnostic::error(
                            codes::CHECK_DUPLICATE,
                            format!("signal `{}` cannot declare a field `name`", signal.name.name),
                        )
                        .with_primary(field.name.span, "clashes with the built-in `signal.name`")
                        .with_help("`signal.name` is always the signal's own name; call the field something else, e.g. `skill_name`"),
                    );
                }
                define(
                    &mut fields,
                    &field.name,
                    field,
                    "field",
                    |f| f.name.span,
                    out,
                );
            }
        }
        for workflow in playbook.workflows() {
            define(
                &mut symbols.workflows,
                &workflow.name,
                workflow,
                "workflow",
                |w| w.name.span,
                out,
            );
            collect_approvals(&workflow.body, &mut symbols.approvals);
        }
        for lock in playbook.locks() {
            define(
                &mut symbols.locks,
                &lock.name,
                lock,
                "lock",
                |l| l.name.span,
                out,
            );
        }
        for route in playbook.routes() {
            if let Some(label) = &route.label {
                define(
                    &mut symbols.route_labels,
                    label,
                    route,
                    "route label",
                    |r| r.label.as_ref().map_or(r.span, |l| l.span),
                    out,
                );
            }
        }
        symbols
    }

    /// The declared task `agent.task`, if both exist.
    pub fn task(&self, agent: &str, task: &str) -> Option<&'a TaskDecl> {
        self.agents
            .get(agent)?
            .tasks
            .iter()
            .find(|t| t.name.name == task)
    }
}

fn define<'a, T>(
    map: &mut BTreeMap<&'a str, &'a T>,
    name: &'a Ident,
    value: &'a T,
    what: &str,
    span_of: impl Fn(&T) -> Span,
    out: &mut Vec<Diagnostic>,
) {
    match map.get(name.name.as_str()) {
        Some(first) => out.push(duplicate(what, name, span_of(first))),
        None => {
            map.insert(name.name.as_str(), value);
        }
    }
}

/// A duplicate-definition error at `name`, pointing back at the first one.
pub fn duplicate(what: &str, name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::error(
        codes::CHECK_DUPLICATE,
        format!("{what} `{}` is defined more than once", name.name),
    )
    .with_primary(name.span, "defined again here")
    .with_secondary(first, "first defined here")
    .with_help(format!("rename one of them or remove the duplicate {what}"))
}

fn setting_name(setting: &Setting) -> &'static str {
    match setting {
        Setting::ReportsTo(_) => "reports_to",
        Setting::Gate(_) => "gate",
        Setting::Timeout(_) => "timeout",
        Setting::Retry(_) => "retry",
        Setting::MaxConcurrent(_) => "max_concurrent",
    }
}

/// Reports a setting given twice in one declaration.
pub fn duplicate_settings(settings: &[Setting], out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for setting in settings {
        let name = setting_name(setting);
        if let Some(first) = seen.get(name) {
            out.push(duplicate_setting(name, setting.span(), *first));
        } else {
            seen.insert(name, setting.span());
        }
    }
}

/// A setting-given-twice error.
pub fn duplicate_setting(name: &str, again: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        codes::CHECK_DUPLICATE_SETTING,
        format!("`{name}` is set twice"),
    )
    .with_primary(again, "set again here")
    .with_secondary(first, "first set here")
    .with_help("keep one; only the first would take effect")
}

fn collect_approvals<'a>(block: &'a Block, approvals: &mut BTreeMap<&'a str, &'a ApproveStmt>) {
    // Same-name approvals in one workflow are reported by the walker as
    // duplicate results; the table keeps the first of each name.
    block.walk(&mut |stmt| {
        if let Stmt::Approve(a) = stmt {
            approvals.entry(a.name.name.as_str()).or_insert(a);
        }
    });
}
