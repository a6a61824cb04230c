//! Which part of a playbook a picture shows, and the workflows it reaches.

use std::collections::BTreeSet;

use crate::ast::{Block, Playbook, Stmt};

/// Which part of the playbook to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every route and workflow.
    All,
    /// One workflow and the workflows it runs (no routes).
    Workflow(&'a str),
    /// What a signal reaches: the routes it can take (in order, up to the
    /// first without a guard), their targets, their workflows and the
    /// workflows those run.
    Signal(&'a str),
}

/// Why a scope cannot be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// No workflow has that name.
    UnknownWorkflow(String),
    /// No route's pattern matches the signal.
    NoRoute(String),
}

impl std::fmt::Display for ScopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScopeError::UnknownWorkflow(w) => write!(f, "no workflow is named `{w}`"),
            ScopeError::NoRoute(s) => write!(f, "no route matches the signal `{s}`"),
        }
    }
}

/// The workflows `roots` name and every workflow they `run`, transitively.
pub(super) fn reachable(playbook: &Playbook, roots: Vec<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = roots;
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(w) = playbook.workflows().find(|w| w.name.name == name) {
            runs_in(&w.body, &mut todo);
        }
    }
    seen
}

fn runs_in(block: &Block, out: &mut Vec<String>) {
    for stmt in &block.stmts {
        runs_in_stmt(stmt, out);
    }
}

fn runs_in_stmt(stmt: &Stmt, out: &mut Vec<String>) {
    match stmt {
        Stmt::Run(r) => out.push(r.workflow.name.clone()),
        Stmt::If(i) => {
            for b in &i.branches {
                runs_in(&b.block, out);
            }
            if let Some(e) = &i.else_block {
                runs_in(e, out);
            }
        }
        Stmt::Parallel(p) => runs_in(&p.body, out),
        Stmt::Exclusive(x) => runs_in(&x.body, out),
        _ => {}
    }
}
