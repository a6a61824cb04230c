//! Whole-playbook flow: which signals reach each workflow, and recursion.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{Block, Ident, Playbook, RouteTarget, SignalPattern, Stmt};
use crate::diagnostics::{codes, Diagnostic};

use super::symbols::Symbols;
use super::walker::Reach;

/// Every `run` statement in a block, in source order (nested blocks included).
pub fn runs(block: &Block) -> Vec<&Ident> {
    let mut found = Vec::new();
    block.walk(&mut |stmt| {
        if let Stmt::Run(r) = stmt {
            found.push(&r.workflow);
        }
    });
    found
}

/// Which declared signals can start each workflow; `None` when a wildcard
/// route or an undeclared signal reaches it (fields cannot be checked).
pub fn reach<'a>(playbook: &'a Playbook, symbols: &Symbols<'a>) -> Reach<'a> {
    let mut reach: Reach<'a> = symbols
        .workflows
        .keys()
        .map(|w| (*w, Some(Vec::new())))
        .collect();
    let add = |reach: &mut Reach<'a>,
               workflow: &str,
               from: Option<Vec<&'a crate::ast::SignalDecl>>|
     -> bool {
        let Some(entry) = reach.get_mut(workflow) else {
            return false;
        };
        match (entry.as_mut(), from) {
            (None, _) => false,
            (Some(_), None) => {
                *entry = None;
                true
            }
            (Some(current), Some(new)) => {
                let mut changed = false;
                for s in new {
                    if !current.iter().any(|c| c.name.name == s.name.name) {
                        current.push(s);
                        changed = true;
                    }
                }
                changed
            }
        }
    };
    for route in playbook.routes() {
        if let RouteTarget::Workflow(w) = &route.target {
            let from = match &route.pattern {
                SignalPattern::Exact { name, .. } => {
                    symbols.signals.get(name.as_str()).map(|d| vec![*d])
                }
                _ => None,
            };
            add(&mut reach, &w.name, from);
        }
    }
    // Propagate through `run` until nothing changes (bounded by the number
    // of workflows, since each pass can only grow the sets).
    let edges: Vec<(&str, Vec<&str>)> = playbook
        .workflows()
        .map(|w| {
            (
                w.name.name.as_str(),
                runs(&w.body).into_iter().map(|i| i.name.as_str()).collect(),
            )
        })
        .collect();
    for _ in 0..=edges.len() {
        let mut changed = false;
        for (from, targets) in &edges {
            let source = reach.get(from).cloned().unwrap_or(Some(Vec::new()));
            for target in targets {
                changed |= add(&mut reach, target, source.clone());
            }
        }
        if !changed {
            break;
        }
    }
    reach
}

/// Reports cycles of workflows running each other (the language is total).
pub fn recursion(playbook: &Playbook, symbols: &Symbols<'_>, out: &mut Vec<Diagnostic>) {
    let edges: BTreeMap<&str, Vec<&Ident>> = playbook
        .workflows()
        .map(|w| (w.name.name.as_str(), runs(&w.body)))
        .collect();
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for start in symbols.workflows.keys() {
        // Iterative DFS from `start`, looking for a path back to it.
        let mut stack: Vec<(&str, usize, Vec<&str>)> = vec![(start, 0, vec![start])];
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some((node, next, path)) = stack.pop() {
            let targets = edges.get(node).map(Vec::as_slice).unwrap_or_default();
            let Some(target) = targets.get(next) else {
                continue;
            };
            stack.push((node, next + 1, path.clone()));
            let name = target.name.as_str();
            if name == *start {
                let mut cycle = path.clone();
                cycle.push(name);
                let mut key = path.clone();
                key.sort_unstable();
                if reported.insert(key) {
                    out.push(
                        Diagnostic::error(
                            codes::CHECK_RECURSION,
                            format!("workflow `{start}` runs itself: {}", cycle.join(" → ")),
                        )
                        .with_primary(target.span, "closes the cycle")
                        .with_help("playbooks always terminate, so workflows cannot run each other in a cycle; move the shared steps into a workflow both run"),
                    );
                }
            } else if edges.contains_key(name) && visited.insert(name) {
                let mut longer = path.clone();
                longer.push(name);
                stack.push((name, 0, longer));
            }
        }
    }
}
