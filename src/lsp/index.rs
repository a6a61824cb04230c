//! Every name a playbook declares or uses, with its span: the table behind
//! go to definition, find references, hover and rename-free navigation.
//!
//! Names are keyed by kind and, where they are scoped, by their scope: a
//! task by `AGENT.TASK`, a binding (`x = …`, `let x`, `approve x`, a loop
//! variable) by its workflow, a signal field by `SIGNAL.FIELD`. A
//! `signal.FIELD` in a workflow that several signals reach is a use of the
//! field of each.

use crate::ast::{
    Block, Call, Expr, Given, Ident, Item, Playbook, RouteTarget, SignalPattern, Span, StepOption,
    Stmt,
};

/// What a name denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An agent.
    Agent,
    /// A task of an agent.
    Task,
    /// A signal.
    Signal,
    /// A workflow.
    Workflow,
    /// A lock.
    Lock,
    /// A binding inside a workflow.
    Binding,
    /// A field of a signal (`SIGNAL.FIELD`), used as `signal.FIELD`.
    Field,
}

/// One place a name is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// What it names.
    pub kind: Kind,
    /// The key it is looked up by (`AGENT.TASK`, `WORKFLOW/x`, …).
    pub key: String,
    /// Where the name is written.
    pub span: Span,
    /// Whether this is the declaration.
    pub definition: bool,
}

/// All occurrences in one playbook.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// In no particular order.
    pub occurrences: Vec<Occurrence>,
}

impl Index {
    /// Collects the occurrences of a parsed playbook.
    pub fn build(playbook: &Playbook) -> Self {
        let mut index = Index::default();
        for item in &playbook.items {
            index.item(item);
        }
        index.signal_fields(playbook);
        index
    }

    /// Every occurrence at the narrowest name covering `offset` (several
    /// when a `signal.FIELD` belongs to several signals).
    pub fn all_at(&self, offset: usize) -> Vec<&Occurrence> {
        let Some(first) = self.at(offset) else {
            return Vec::new();
        };
        let span = first.span;
        self.occurrences
            .iter()
            .filter(|o| o.span.start == span.start && o.span.end == span.end)
            .collect()
    }

    /// The occurrence whose name covers byte `offset` (its end included, so
    /// a cursor just after a name finds it).
    pub fn at(&self, offset: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.len())
    }

    /// The declarations of `kind` and `key`.
    pub fn definitions<'a>(
        &'a self,
        kind: Kind,
        key: &'a str,
    ) -> impl Iterator<Item = &'a Occurrence> {
        self.same(kind, key).filter(|o| o.definition)
    }

    /// Every occurrence of `kind` and `key`, in source order.
    pub fn same<'a>(&'a self, kind: Kind, key: &'a str) -> impl Iterator<Item = &'a Occurrence> {
        let mut found: Vec<&Occurrence> = self
            .occurrences
            .iter()
            .filter(|o| o.kind == kind && o.key == key)
            .collect();
        found.sort_by_key(|o| o.span.start);
        found.into_iter()
    }

    fn add(&mut self, kind: Kind, key: String, span: Span, definition: bool) {
        self.occurrences.push(Occurrence {
            kind,
            key,
            span,
            definition,
        });
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Agent(agent) => {
                self.add(Kind::Agent, agent.name.name.clone(), agent.name.span, true);
                for task in &agent.tasks {
                    let key = task_key(&agent.name.name, &task.name.name);
                    self.add(Kind::Task, key, task.name.span, true);
                }
            }
            Item::Signal(s) => self.add(Kind::Signal, s.name.name.clone(), s.name.span, true),
            Item::Lock(l) => self.add(Kind::Lock, l.name.name.clone(), l.name.span, true),
            Item::Route(route) => {
                if let SignalPattern::Exact { name, span } = &route.pattern {
                    self.add(Kind::Signal, name.clone(), *span, false);
                }
                match &route.target {
                    RouteTarget::Workflow(w) => self.reference(Kind::Workflow, w),
                    RouteTarget::Task(call) => self.call(call),
                    RouteTarget::Ignore { .. } | RouteTarget::Escalate(_) => {}
                }
            }
            Item::Workflow(w) => {
                self.add(Kind::Workflow, w.name.name.clone(), w.name.span, true);
                self.block(&w.name.name, &w.body);
            }
            Item::Rule(handler) => {
                if let Some(call) = &handler.recovery {
                    self.call(call);
                }
            }
            Item::Test(test) => {
                for signal in &test.signals {
                    self.reference(Kind::Signal, &signal.name);
                }
                for given in &test.givens {
                    if let Given::Task { agent, task, .. } = given {
                        self.reference(Kind::Agent, agent);
                        let key = task_key(&agent.name, &task.name);
                        self.add(Kind::Task, key, task.span, false);
                    }
                }
            }
            Item::Coordinator(_) => {}
        }
    }

    /// Field declarations, and `signal.FIELD` in routes and workflows.
    fn signal_fields(&mut self, playbook: &Playbook) {
        for signal in playbook.signals() {
            for f in &signal.fields {
                let key = task_key(&signal.name.name, &f.name.name);
                self.add(Kind::Field, key, f.name.span, true);
            }
        }
        let has_field = |signal: &str, field: &str| {
            playbook
                .signals()
                .any(|s| s.name.name == signal && s.fields.iter().any(|f| f.name.name == field))
        };
        let mut uses: Vec<(String, Span)> = Vec::new();
        let mut visit = |signals: &[String], expr: &Expr| {
            expr.visit_paths(&mut |segments| {
                if let [object, field, ..] = segments {
                    if object.name == "signal" {
                        for s in signals.iter().filter(|s| has_field(s, &field.name)) {
                            uses.push((task_key(s, &field.name), field.span));
                        }
                    }
                }
            });
        };
        for route in playbook.routes() {
            let SignalPattern::Exact { name, .. } = &route.pattern else {
                continue;
            };
            let signals = [name.clone()];
            route.guard.iter().for_each(|g| visit(&signals, g));
            match &route.target {
                RouteTarget::Task(call) => call.args.iter().for_each(|a| visit(&signals, &a.value)),
                RouteTarget::Escalate(e) => {
                    e.title.exprs(&mut |x| visit(&signals, x));
                    e.details.iter().for_each(|d| visit(&signals, d));
                }
                RouteTarget::Workflow(_) | RouteTarget::Ignore { .. } => {}
            }
        }
        for (workflow, signals) in crate::analysis::signals_reaching(playbook) {
            let (Some(signals), Some(w)) = (
                signals,
                playbook.workflows().find(|w| w.name.name == workflow),
            ) else {
                continue;
            };
            w.body.walk_exprs(&mut |expr| visit(&signals, expr));
        }
        for (key, span) in uses {
            self.add(Kind::Field, key, span, false);
        }
    }

    fn reference(&mut self, kind: Kind, name: &Ident) {
        self.add(kind, name.name.clone(), name.span, false);
    }

    fn call(&mut self, call: &Call) {
        self.reference(Kind::Agent, &call.agent);
        let key = task_key(&call.agent.name, &call.task.name);
        self.add(Kind::Task, key, call.task.span, false);
    }

    /// Declarations and uses inside a workflow body.
    fn block(&mut self, workflow: &str, body: &Block) {
        let mut bindings: Vec<&Ident> = Vec::new();
        body.walk(&mut |stmt| {
            let (binding, options) = match stmt {
                Stmt::Call(c) => {
                    self.call(&c.call);
                    (c.binding.as_ref(), c.options.as_slice())
                }
                Stmt::Run(r) => {
                    self.reference(Kind::Workflow, &r.workflow);
                    (r.binding.as_ref(), r.options.as_slice())
                }
                Stmt::Let(l) => (Some(&l.name), &[][..]),
                Stmt::Approve(a) => (Some(&a.name), a.options.as_slice()),
                Stmt::Parallel(p) => (p.each.as_ref().map(|e| &e.var), &[][..]),
                Stmt::Exclusive(x) => {
                    self.reference(Kind::Lock, &x.lock);
                    (None, &[][..])
                }
                _ => (None, &[][..]),
            };
            bindings.extend(binding);
            for option in options {
                match option {
                    StepOption::Lock(l) => self.reference(Kind::Lock, l),
                    StepOption::Handler(h) => {
                        if let Some(call) = &h.recovery {
                            self.call(call);
                        }
                    }
                    _ => {}
                }
            }
        });
        for b in &bindings {
            self.add(Kind::Binding, binding_key(workflow, &b.name), b.span, true);
        }
        let names: Vec<&str> = bindings.iter().map(|b| b.name.as_str()).collect();
        let mut uses = Vec::new();
        body.walk_exprs(&mut |expr: &Expr| {
            expr.visit_paths(&mut |segments| {
                if let Some(first) = segments.first() {
                    if names.contains(&first.name.as_str()) {
                        uses.push(first.clone());
                    }
                }
            });
        });
        for first in uses {
            self.add(
                Kind::Binding,
                binding_key(workflow, &first.name),
                first.span,
                false,
            );
        }
    }
}

/// The key of task `task` of agent `agent`.
pub fn task_key(agent: &str, task: &str) -> String {
    format!("{agent}.{task}")
}

/// The key of binding `name` in workflow `workflow`.
pub fn binding_key(workflow: &str, name: &str) -> String {
    format!("{workflow}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(src: &str) -> Index {
        let file = crate::source::SourceFile::new("t.ops", src);
        Index::build(&crate::syntax::parse(&file).playbook.expect("parses"))
    }

    const SRC: &str = r#"agent A { task t { outputs { x: string } } }
lock l
signal S:X { f: string = "" }
route S:X => w
workflow w {
  r = A.t(v: signal.f) lock l
  exclusive l { A.t(v: r.x) }
}
"#;

    #[test]
    fn finds_declarations_and_uses() {
        let idx = index(SRC);
        let count = |kind, key: &str| {
            (
                idx.definitions(kind, key).count(),
                idx.same(kind, key).count(),
            )
        };
        assert_eq!(count(Kind::Agent, "A"), (1, 3));
        assert_eq!(count(Kind::Task, "A.t"), (1, 3));
        assert_eq!(count(Kind::Lock, "l"), (1, 3));
        assert_eq!(count(Kind::Signal, "S:X"), (1, 2));
        assert_eq!(count(Kind::Workflow, "w"), (1, 2));
        assert_eq!(count(Kind::Binding, "w/r"), (1, 2));
        assert_eq!(count(Kind::Field, "S:X.f"), (1, 2));
    }

    #[test]
    fn finds_the_name_under_an_offset() {
        let idx = index(SRC);
        let at = SRC.find("r.x").unwrap();
        let o = idx.at(at).expect("binding use");
        assert_eq!(
            (o.kind, o.key.as_str(), o.definition),
            (Kind::Binding, "w/r", false)
        );
        assert!(idx.at(SRC.find("outputs").unwrap()).is_none());
    }
}
