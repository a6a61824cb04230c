//! `if` and `parallel`: branches walked from one set of bindings, rolled
//! back after each, and what is bound after them.

use std::collections::{HashMap, HashSet};

use crate::ast::{Expr, Ident, ParallelStmt, Span, StepOption, Stmt, StopWhen};
use crate::diagnostics::{codes, Diagnostic};

use super::super::types::{self, Cancellable, Env, Ty};
use super::super::values;
use super::bindings::Bindings;

/// What one path through an `if` bound: on every path, and on some.
#[derive(Default)]
struct Outcome {
    definite: Vec<(String, Span)>,
    maybe: Vec<(String, Span)>,
}
use super::{Enclosing, Walker};

impl<'a> Walker<'a, '_> {
    /// Checks an `if`; returns whether every branch ends the workflow.
    pub(super) fn if_stmt(
        &mut self,
        stmt: &crate::ast::IfStmt,
        bindings: &mut Bindings,
        enclosing: Option<Enclosing>,
    ) -> bool {
        // What the conditions see: the bindings and results before the `if`
        // (checked first, so that the scope's snapshot of the results is
        // gone before a branch records one).
        {
            let scope = self.scope(bindings);
            let env = Env::scoped(&scope);
            for branch in &stmt.branches {
                types::condition(&env, &branch.condition, self.out);
            }
        }
        let before = bindings.definite.len();
        let mark = bindings.mark();
        // Paths that go on after the `if` (a branch that ends the workflow
        // binds nothing for the statements after it): what each bound on
        // every path, and on some paths.
        let mut outcomes: Vec<Outcome> = Vec::new();
        // Each branch may bind the same names (that is how a result gets
        // bound on every path), so each starts from the names taken before
        // the `if`; after it, the names any branch took are taken.
        let mut taken_after: Vec<(String, Span)> = Vec::new();
        // Results a group inside a branch may have cancelled.
        let mut cancellable: Vec<(String, Cancellable)> = Vec::new();
        let conditions = stmt.branches.iter().map(|b| Some(&b.condition));
        let blocks = stmt.branches.iter().map(|b| &b.block);
        let else_block = stmt.else_block.iter().map(|b| (None, b));
        for (condition, block) in conditions.zip(blocks).chain(else_block) {
            // A branch runs only when its condition holds, which it does
            // not when a maybe-cancelled result it reads is unknown.
            if let Some(condition) = condition {
                tested(condition, bindings);
            }
            let ends = self.block(block, bindings, enclosing);
            let (maybe, taken) = bindings.changes_since(mark);
            taken_after.extend(taken);
            if !ends {
                let bound = bindings.definite_since(before).iter().chain(&maybe);
                for (name, _) in bound {
                    if let Some(entry) = bindings.cancellable(name) {
                        cancellable.push((name.clone(), entry));
                    }
                }
                outcomes.push(Outcome {
                    definite: bindings.definite_since(before).to_vec(),
                    maybe,
                });
            }
            bindings.rollback(mark);
        }
        if stmt.else_block.is_none() {
            outcomes.push(Outcome::default());
        }
        for (name, span) in taken_after {
            bindings.take(&name, span);
        }
        if outcomes.is_empty() {
            return true;
        }
        for (name, entry) in cancellable {
            bindings.set_cancellable(&name, Some(entry));
        }
        // Bound after the `if`: what every path bound; the rest maybe.
        let sets: Vec<HashSet<&str>> = outcomes
            .iter()
            .map(|o| o.definite.iter().map(|(n, _)| n.as_str()).collect())
            .collect();
        for (name, span) in outcomes.iter().flat_map(|o| &o.definite) {
            types::work::add(1);
            if sets.iter().all(|set| set.contains(name.as_str())) {
                if bindings.span_of(name).is_none() {
                    bindings.bind(name, *span);
                }
            } else {
                bindings.maybe(name, *span);
            }
        }
        for (name, span) in outcomes.iter().flat_map(|o| &o.maybe) {
            if bindings.span_of(name).is_none() {
                bindings.maybe(name, *span);
            }
        }
        false
    }

    pub(super) fn parallel(
        &mut self,
        group: &crate::ast::ParallelStmt,
        bindings: &mut Bindings,
        enclosing: Option<Enclosing>,
    ) {
        if let Some(gate) = &group.gate {
            let written = group
                .each
                .is_none()
                .then_some(group.body.stmts.len() as u64);
            values::group_gate(gate, written, self.out);
        }
        let mut inner_enclosing = enclosing;
        if let Some(t) = &group.timeout {
            values::timeout(t, self.out);
            if let Some(enc) = enclosing {
                if t.millis > enc.millis {
                    self.out.push(
                        Diagnostic::error(
                            codes::CHECK_TIMEOUT_EXCEEDS,
                            format!(
                                "the group's timeout ({}) is longer than {} timeout ({})",
                                super::super::policy::format_duration(t.millis),
                                enc.what,
                                super::super::policy::format_duration(enc.millis)
                            ),
                        )
                        .with_primary(t.span, "too long")
                        .with_secondary(enc.span, "enclosing timeout")
                        .with_help("the enclosing timeout cuts the group short; shorten the group's timeout or lengthen the enclosing one"),
                    );
                }
            }
            inner_enclosing = Some(Enclosing {
                millis: t.millis,
                span: t.span,
                what: "the group's",
            });
        }
        let branches = &group.body.stmts;
        if branches.len() > values::MAX_BRANCHES {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_TOO_MANY_BRANCHES,
                    format!(
                        "{} branches exceed the fan-out limit of {}",
                        branches.len(),
                        values::MAX_BRANCHES
                    ),
                )
                .with_primary(
                    branches[values::MAX_BRANCHES].span(),
                    format!("branch {}", values::MAX_BRANCHES + 1),
                )
                .with_secondary(
                    crate::ast::Span::new(group.span.start, group.span.start + "parallel".len()),
                    "in this group",
                )
                .with_help("split the work into several groups, or use `parallel for` over a list"),
            );
        }
        if branches.is_empty() {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_OUT_OF_RANGE,
                    "this parallel group has no branches",
                )
                .with_primary(group.body.span, "empty group")
                .with_help(
                    "a literal empty group does nothing (only a `parallel for` over an empty list has no branches at run time, and passes); add steps or remove it",
                ),
            );
        }
        if let Some(each) = &group.each {
            let ty = {
                let scope = self.scope(bindings);
                types::infer(&Env::scoped(&scope), &each.iterable, self.out)
            };
            if !matches!(ty, Ty::List(_) | Ty::Any) {
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_TYPE_MISMATCH,
                        format!("`parallel for` needs a list, but this is {ty}"),
                    )
                    .with_primary(each.iterable.span, format!("{ty}")),
                );
            }
            // Nothing bound in the body is bound (or taken) after it.
            let mark = bindings.mark();
            bindings.loop_var(&each.var.name);
            self.block(&group.body, bindings, inner_enclosing);
            bindings.rollback(mark);
            return;
        }
        let branch_names: Vec<Vec<(String, Span)>> = branches.iter().map(bound_names).collect();
        // Every branch sees the others' results as siblings: enter them all
        // once, then per branch hide (or re-point) only its own names.
        let mut by_name: HashMap<&str, Vec<(usize, Span)>> = HashMap::new();
        for (j, names) in branch_names.iter().enumerate() {
            for (name, span) in names {
                by_name.entry(name).or_default().push((j, *span));
            }
        }
        let before = bindings.definite.len();
        // Sibling bindings before the group (of an enclosing group).
        let outer: HashMap<&str, Option<Span>> = by_name
            .keys()
            .map(|name| (*name, bindings.siblings.get(*name).copied()))
            .collect();
        let group_mark = bindings.mark();
        for (name, all) in &by_name {
            // The last binding of the last branch wins.
            if let Some((_, span)) = all.last() {
                bindings.sibling(name, Some(*span));
            }
        }
        let mut results = Vec::new();
        let mut cancellable = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let mark = bindings.mark();
            for (name, _) in &branch_names[i] {
                let others = by_name.get(name.as_str()).map_or(&[][..], Vec::as_slice);
                let last_other = others.iter().rev().find(|(j, _)| *j != i);
                match last_other {
                    Some((_, span)) => bindings.sibling(name, Some(*span)),
                    // Not a sibling's: what it was before the group.
                    None => {
                        let before = outer.get(name.as_str()).copied().flatten();
                        bindings.sibling(name, before);
                    }
                }
            }
            self.stmt(branch, bindings, inner_enclosing);
            results.push(bindings.definite_since(before).to_vec());
            let entry = cancels(group, branch);
            for (name, span) in &branch_names[i] {
                // This group may cancel the branch; else a nested group may
                // have cancelled the step that binds it.
                match entry.map(|e| (*span, e)) {
                    Some((bound, (gate, stop))) => {
                        cancellable.push((name.clone(), Cancellable { bound, gate, stop }));
                    }
                    None => {
                        if let Some(inner) = bindings.cancellable(name) {
                            cancellable.push((name.clone(), inner));
                        }
                    }
                }
            }
            // Result names taken in a branch stay taken for the next ones.
            let (_, taken) = bindings.changes_since(mark);
            bindings.rollback(mark);
            for (name, span) in taken {
                bindings.take(&name, span);
            }
        }
        let (_, taken) = bindings.changes_since(group_mark);
        bindings.rollback(group_mark);
        for (name, span) in taken {
            bindings.take(&name, span);
        }
        for (name, span) in results.into_iter().flatten() {
            if bindings.span_of(&name).is_none() {
                bindings.bind(&name, span);
            }
        }
        for (name, entry) in cancellable {
            bindings.set_cancellable(&name, Some(entry));
        }
    }
}

/// The gate and `stop when` of a group that may cancel `branch`: a group
/// that stops when its gate is sure to pass, and a branch that is not a
/// `critical` step (a pending critical branch is never cancelled that way).
/// A group that stops on a failed gate ends the run, as no `gate_failed`
/// rule can continue it, so nothing after it reads a cancelled result.
fn cancels(group: &ParallelStmt, branch: &Stmt) -> Option<(Span, StopWhen)> {
    let stop = group.stop.filter(|s| s.stops_on(true))?;
    let gate = group.gate.as_ref()?;
    let critical = matches!(branch, Stmt::Call(c)
        if c.options.iter().any(|o| matches!(o, StepOption::Critical { .. })));
    (!critical).then_some((gate.span, stop))
}

/// Unmarks the maybe-cancelled results `condition` reads, for the branch
/// it guards (the mark is undone with the branch).
fn tested(condition: &Expr, bindings: &mut Bindings) {
    condition.visit_paths(&mut |segments| {
        if let Some(root) = segments.first() {
            if bindings.cancellable(&root.name).is_some() {
                bindings.set_cancellable(&root.name, None);
            }
        }
    });
}

/// Names a statement binds (including inside nested blocks).
fn bound_names(stmt: &Stmt) -> Vec<(String, Span)> {
    let mut names = Vec::new();
    let mut push = |i: &Ident| names.push((i.name.clone(), i.span));
    match stmt {
        Stmt::Call(c) => c.binding.iter().for_each(&mut push),
        Stmt::Run(r) => r.binding.iter().for_each(&mut push),
        Stmt::Let(l) => push(&l.name),
        Stmt::Approve(a) => push(&a.name),
        Stmt::If(i) => {
            for b in i.branches.iter().map(|b| &b.block).chain(&i.else_block) {
                b.stmts
                    .iter()
                    .flat_map(bound_names)
                    .for_each(|n| names.push(n));
            }
        }
        Stmt::Exclusive(x) => x
            .body
            .stmts
            .iter()
            .flat_map(bound_names)
            .for_each(|n| names.push(n)),
        Stmt::Parallel(p) if p.each.is_none() => {
            p.body
                .stmts
                .iter()
                .flat_map(bound_names)
                .for_each(|n| names.push(n));
        }
        _ => {}
    }
    names
}
