//! Whole-playbook flow: which signals reach each workflow, and recursion.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

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
    // A worklist: a workflow is revisited only when what reaches it grew
    // (passes over every edge until nothing changed were quadratic on long
    // chains of `run`).
    let targets: BTreeMap<&str, Vec<&str>> = edges.into_iter().collect();
    let mut queue: VecDeque<&str> = targets.keys().copied().collect();
    let mut queued: BTreeSet<&str> = queue.iter().copied().collect();
    while let Some(from) = queue.pop_front() {
        queued.remove(from);
        let source = reach.get(from).cloned().unwrap_or(Some(Vec::new()));
        for target in targets.get(from).map(Vec::as_slice).unwrap_or_default() {
            super::types::work::add(1);
            if add(&mut reach, target, source.clone()) && queued.insert(target) {
                queue.push_back(target);
            }
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
    // Only a workflow on a cycle can run itself, and a path back to it stays
    // inside its strongly connected component: searching from every
    // workflow through every other was cubic on long chains of `run`.
    let component = components(&edges);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for c in component.values() {
        *sizes.entry(*c).or_default() += 1;
    }
    for start in symbols.workflows.keys() {
        let Some(&home) = component.get(start) else {
            continue;
        };
        let on_cycle = sizes.get(&home).is_some_and(|&n| n > 1)
            || edges
                .get(start)
                .is_some_and(|t| t.iter().any(|i| i.name == *start));
        if !on_cycle {
            continue;
        }
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
            } else if component.get(name) == Some(&home) && visited.insert(name) {
                let mut longer = path.clone();
                longer.push(name);
                stack.push((name, 0, longer));
            }
        }
    }
}

/// The strongly connected component of each workflow (Tarjan's algorithm,
/// iterative): workflows with the same number run each other in a cycle.
fn components<'a>(edges: &BTreeMap<&'a str, Vec<&'a Ident>>) -> HashMap<&'a str, usize> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut low: HashMap<&str, usize> = HashMap::new();
    let mut component: HashMap<&str, usize> = HashMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut count = 0;
    for &root in edges.keys() {
        if index.contains_key(root) {
            continue;
        }
        // (node, next target to visit)
        let mut calls: Vec<(&str, usize)> = vec![(root, 0)];
        index.insert(root, count);
        low.insert(root, count);
        count += 1;
        stack.push(root);
        while let Some(&mut (node, ref mut next)) = calls.last_mut() {
            super::types::work::add(1);
            let targets = edges.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(target) = targets.get(*next) {
                *next += 1;
                let t = target.name.as_str();
                let Some((&t, _)) = edges.get_key_value(t) else {
                    continue;
                };
                match index.get(t) {
                    None => {
                        index.insert(t, count);
                        low.insert(t, count);
                        count += 1;
                        stack.push(t);
                        calls.push((t, 0));
                    }
                    Some(&i) if !component.contains_key(t) => {
                        let l = low[node].min(i);
                        low.insert(node, l);
                    }
                    Some(_) => {}
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                let l = low[parent].min(low[node]);
                low.insert(parent, l);
            }
            if low[node] == index[node] {
                let id = component.len();
                while let Some(member) = stack.pop() {
                    component.insert(member, id);
                    if member == node {
                        break;
                    }
                }
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::types::work;
    use crate::source::SourceFile;

    /// A chain of `n` workflows, each running the next (declared last
    /// first), and, with `cycle`, the last running the first.
    fn chain(n: usize, cycle: bool) -> String {
        let mut text = String::from(
            "agent A \"a\" {\n  task t \"t\" { timeout 30s }\n}\n\
             signal GEN:GO \"go\" {\n  x: string = \"s\"\n}\n\
             route go: GEN:GO => w0\n",
        );
        for i in (0..n).rev() {
            let next = if i + 1 < n {
                format!("  run w{}\n", i + 1)
            } else if cycle {
                "  run w0\n".to_string()
            } else {
                String::new()
            };
            text.push_str(&format!(
                "workflow w{i} \"w\" {{\n  A.t(x: signal.x)\n{next}}}\n"
            ));
        }
        text
    }

    fn flow_work(text: &str) -> (usize, Vec<String>) {
        let source = SourceFile::new("chain.ops", text);
        let parsed = crate::syntax::parse(&source);
        let Some(playbook) = parsed.playbook else {
            panic!("does not parse: {:?}", parsed.diagnostics);
        };
        let mut out = Vec::new();
        let symbols = Symbols::collect(&playbook, &mut out);
        work::take();
        let reach = reach(&playbook, &symbols);
        recursion(&playbook, &symbols, &mut out);
        assert!(reach
            .values()
            .all(|r| r.as_ref().is_some_and(|s| s.len() == 1)));
        (
            work::take(),
            out.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn long_chains_of_run_take_linear_work() {
        let (small, _) = flow_work(&chain(200, false));
        let (large, _) = flow_work(&chain(800, false));
        assert!(large <= 5 * small.max(1), "200: {small}, 800: {large}");
    }

    #[test]
    fn a_cycle_through_a_chain_is_reported_once() {
        let (_, messages) = flow_work(&chain(5, true));
        assert_eq!(
            messages,
            vec!["workflow `w0` runs itself: w0 → w1 → w2 → w3 → w4 → w0".to_string()]
        );
    }
}
