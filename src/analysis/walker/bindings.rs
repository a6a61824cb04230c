//! Which results are bound at a point of a workflow, changed in place and
//! undone through a log: entering a branch takes a [`Mark`], leaving it rolls
//! back to the mark. Copying every binding per branch made checking a
//! workflow of many `if`s quadratic.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::ast::{SignalDecl, Span};

use super::super::outputs::Declared;
use super::super::types::{self, Cancellable, Root, Scope};

/// One change to [`Bindings`], with what undoes it.
enum Undo {
    /// A name pushed on `definite`.
    Definite,
    /// A name entered in `first`.
    First(String),
    /// A `maybe` entry set; the previous span, if any.
    Maybe(String, Option<Span>),
    /// A `maybe` entry removed, with its span.
    MaybeRemoved(String, Span),
    /// A `siblings` entry set or removed; the previous span, if any.
    Sibling(String, Option<Span>),
    /// A loop variable pushed.
    LoopVar,
    /// A `taken` entry set; the previous span, if any.
    Taken(String, Option<Span>),
    /// A `cancellable` entry set or removed; the previous entry, if any.
    Cancellable(String, Option<Cancellable>),
}

/// Names with where they were bound.
pub(super) type Named = Vec<(String, Span)>;

/// A point of the undo log to roll back to.
#[derive(Clone, Copy)]
pub(super) struct Mark(usize);

/// Which results are bound at a point of a workflow.
#[derive(Default)]
pub(super) struct Bindings {
    /// Bound on every path, with where.
    pub definite: Vec<(String, Span)>,
    /// Bound on some paths only.
    pub maybe: BTreeMap<String, Span>,
    /// Bound by sibling branches of the enclosing parallel group.
    pub siblings: BTreeMap<String, Span>,
    /// Loop variables.
    pub loop_vars: Vec<String>,
    /// Where each name of `definite` was first bound.
    first: HashMap<String, Span>,
    /// Result names taken on some path so far (each needs its own name).
    taken: BTreeMap<String, Span>,
    /// Results a `stop when` may have cancelled, not yet tested by a condition.
    cancellable: BTreeMap<String, Cancellable>,
    /// Changes since the workflow's start, oldest first.
    log: Vec<Undo>,
}

impl Bindings {
    /// Where `name` was first bound on every path, if it is.
    pub fn span_of(&self, name: &str) -> Option<Span> {
        self.first.get(name).copied()
    }

    /// Binds `name` on every path from here.
    pub fn bind(&mut self, name: &str, span: Span) {
        types::work::add(1);
        if let Some(old) = self.maybe.remove(name) {
            self.log.push(Undo::MaybeRemoved(name.to_string(), old));
        }
        self.definite.push((name.to_string(), span));
        self.log.push(Undo::Definite);
        if !self.first.contains_key(name) {
            self.first.insert(name.to_string(), span);
            self.log.push(Undo::First(name.to_string()));
        }
    }

    /// Records `name` as bound on some paths, unless it already is.
    pub fn maybe(&mut self, name: &str, span: Span) {
        if !self.maybe.contains_key(name) {
            types::work::add(1);
            self.maybe.insert(name.to_string(), span);
            self.log.push(Undo::Maybe(name.to_string(), None));
        }
    }

    /// Sets (`Some`) or removes (`None`) the sibling binding of `name`.
    pub fn sibling(&mut self, name: &str, span: Option<Span>) {
        types::work::add(1);
        let old = match span {
            Some(span) => self.siblings.insert(name.to_string(), span),
            None => self.siblings.remove(name),
        };
        self.log.push(Undo::Sibling(name.to_string(), old));
    }

    /// Pushes a loop variable.
    pub fn loop_var(&mut self, name: &str) {
        self.loop_vars.push(name.to_string());
        self.log.push(Undo::LoopVar);
    }

    /// Where a result named `name` was taken, if it was.
    pub fn taken(&self, name: &str) -> Option<Span> {
        self.taken.get(name).copied()
    }

    /// Takes the result name `name` (a later span replaces an earlier one).
    pub fn take(&mut self, name: &str, span: Span) {
        types::work::add(1);
        let old = self.taken.insert(name.to_string(), span);
        self.log.push(Undo::Taken(name.to_string(), old));
    }

    /// Whether `name` may have been cancelled by an early decision (and is
    /// not tested by an enclosing condition).
    pub fn cancellable(&self, name: &str) -> Option<Cancellable> {
        self.cancellable.get(name).copied()
    }

    /// Marks (`Some`) or unmarks (`None`) `name` as maybe cancelled.
    pub fn set_cancellable(&mut self, name: &str, entry: Option<Cancellable>) {
        types::work::add(1);
        let old = match entry {
            Some(entry) => self.cancellable.insert(name.to_string(), entry),
            None => self.cancellable.remove(name),
        };
        self.log.push(Undo::Cancellable(name.to_string(), old));
    }

    /// The current point of the log.
    pub fn mark(&self) -> Mark {
        Mark(self.log.len())
    }

    /// Names bound on every path since `mark` (given the length of
    /// `definite` at the mark).
    pub fn definite_since(&self, before: usize) -> &[(String, Span)] {
        &self.definite[before.min(self.definite.len())..]
    }

    /// `maybe` entries made since `mark` and still there, and result names
    /// taken since `mark`.
    pub fn changes_since(&self, mark: Mark) -> (Named, Named) {
        let mut maybe = Vec::new();
        let mut taken = Vec::new();
        for undo in &self.log[mark.0.min(self.log.len())..] {
            types::work::add(1);
            match undo {
                Undo::Maybe(name, None) => {
                    if let Some(span) = self.maybe.get(name) {
                        maybe.push((name.clone(), *span));
                    }
                }
                Undo::Taken(name, _) => {
                    if let Some(span) = self.taken.get(name) {
                        taken.push((name.clone(), *span));
                    }
                }
                _ => {}
            }
        }
        (maybe, taken)
    }

    /// Undoes every change made since `mark`, newest first.
    pub fn rollback(&mut self, mark: Mark) {
        while self.log.len() > mark.0 {
            let Some(undo) = self.log.pop() else { break };
            types::work::add(1);
            match undo {
                Undo::Definite => {
                    self.definite.pop();
                }
                Undo::First(name) => {
                    self.first.remove(&name);
                }
                Undo::Maybe(name, old) => restore(&mut self.maybe, name, old),
                Undo::MaybeRemoved(name, span) => {
                    self.maybe.insert(name, span);
                }
                Undo::Sibling(name, old) => restore(&mut self.siblings, name, old),
                Undo::LoopVar => {
                    self.loop_vars.pop();
                }
                Undo::Taken(name, old) => restore(&mut self.taken, name, old),
                Undo::Cancellable(name, old) => {
                    match old {
                        Some(entry) => self.cancellable.insert(name, entry),
                        None => self.cancellable.remove(&name),
                    };
                }
            }
        }
    }
}

/// Puts back `name`'s previous entry (`None`: it had none).
fn restore(map: &mut BTreeMap<String, Span>, name: String, old: Option<Span>) {
    match old {
        Some(span) => map.insert(name, span),
        None => map.remove(&name),
    };
}

/// Declared outputs of a workflow's step results, by binding name (`None`:
/// undeclared, or bound to different tasks on different paths).
pub(super) type Results = BTreeMap<String, Option<Rc<Declared>>>;

/// The names in scope at a statement of a workflow, read from its
/// [`Bindings`] on demand: building an environment of every binding at every
/// statement made checking a workflow cubic in its length.
pub(super) struct WorkflowScope<'a, 'b> {
    pub signals: Rc<Option<Vec<&'a SignalDecl>>>,
    pub bindings: &'b Bindings,
    /// A snapshot: later steps do not change what this statement sees.
    pub results: Rc<Results>,
}

impl<'a> WorkflowScope<'a, '_> {
    fn value(&self, name: &str) -> Root<'a> {
        match self.results.get(name) {
            Some(Some(declared)) => Root::Outputs(declared.clone()),
            _ => Root::Value,
        }
    }
}

impl<'a> Scope<'a> for WorkflowScope<'a, '_> {
    // Loop variables shadow results, which shadow sibling results, which
    // shadow maybe-bound ones, which shadow `signal`.
    fn lookup(&self, name: &str) -> Option<Root<'a>> {
        let b = self.bindings;
        if b.loop_vars.iter().any(|n| n == name) {
            Some(Root::Value)
        } else if b.first.contains_key(name) {
            Some(self.value(name))
        } else if let Some(span) = b.siblings.get(name) {
            Some(Root::Sibling(*span))
        } else if let Some(span) = b.maybe.get(name) {
            Some(Root::MaybeBound(*span))
        } else if name == "signal" {
            Some(Root::Signal((*self.signals).clone()))
        } else {
            None
        }
    }

    fn cancellable(&self, name: &str) -> Option<Cancellable> {
        let b = self.bindings;
        if b.loop_vars.iter().any(|n| n == name) || !b.first.contains_key(name) {
            return None;
        }
        b.cancellable(name)
    }

    fn roots(&self) -> Vec<(String, Root<'a>)> {
        let b = self.bindings;
        let mut roots = vec![("signal".to_string(), Root::Signal((*self.signals).clone()))];
        roots.extend(
            b.maybe
                .iter()
                .map(|(n, s)| (n.clone(), Root::MaybeBound(*s))),
        );
        roots.extend(
            b.siblings
                .iter()
                .map(|(n, s)| (n.clone(), Root::Sibling(*s))),
        );
        roots.extend(b.definite.iter().map(|(n, _)| (n.clone(), self.value(n))));
        roots.extend(b.loop_vars.iter().map(|n| (n.clone(), Root::Value)));
        types::work::add(roots.len());
        let names = types::keep_last(roots.iter().map(|(n, _)| n.clone()).collect());
        names
            .into_iter()
            .map(|n| {
                let root = self.lookup(&n).unwrap_or(Root::Value);
                (n, root)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_back_restores_every_kind_of_binding() {
        let span = |i: usize| Span::new(i, i + 1);
        let mut b = Bindings::default();
        b.bind("a", span(0));
        b.maybe("m", span(1));
        b.sibling("s", Some(span(2)));
        b.take("a", span(0));
        let mark = b.mark();
        b.bind("m", span(3));
        b.bind("c", span(4));
        b.maybe("d", span(5));
        b.sibling("s", None);
        b.loop_var("v");
        b.take("c", span(4));
        b.take("a", span(6));
        let (maybe, taken) = b.changes_since(mark);
        assert_eq!(maybe, vec![("d".to_string(), span(5))]);
        assert_eq!(
            taken,
            vec![("c".to_string(), span(4)), ("a".to_string(), span(6))]
        );
        b.rollback(mark);
        assert_eq!(b.definite, vec![("a".to_string(), span(0))]);
        assert_eq!(b.span_of("c"), None);
        assert_eq!(b.span_of("m"), None);
        assert_eq!(b.maybe.get("m"), Some(&span(1)));
        assert_eq!(b.maybe.get("d"), None);
        assert_eq!(b.siblings.get("s"), Some(&span(2)));
        assert!(b.loop_vars.is_empty());
        assert_eq!(b.taken("a"), Some(span(0)));
        assert_eq!(b.taken("c"), None);
    }
}
