//! Statements of a workflow, in sequence: what each checks and binds.

use std::rc::Rc;

use crate::ast::{Block, Call, Ident, Span, Stmt};
use crate::diagnostics::{codes, Diagnostic};

use super::super::outputs::{Declared, Reader};
use super::super::symbols::duplicate;
use super::super::types::{self, Env};
use super::bindings::Bindings;
use super::{Enclosing, HandlerSite, Walker};

impl<'a> Walker<'a, '_> {
    // ── workflows ───────────────────────────────────────────────────────

    pub(super) fn block(
        &mut self,
        block: &Block,
        bindings: &mut Bindings,
        enclosing: Option<Enclosing>,
    ) -> bool {
        let mut ended: Option<Span> = None;
        for stmt in &block.stmts {
            if let Some(end) = ended {
                self.out.push(
                    Diagnostic::error(codes::CHECK_UNREACHABLE, "this statement can never run")
                        .with_primary(stmt.span(), "unreachable")
                        .with_secondary(end, "the workflow ends here")
                        .with_help(
                            "remove it, or move it before the statement that ends the workflow",
                        ),
                );
                break;
            }
            if self.stmt(stmt, bindings, enclosing) {
                ended = Some(stmt.span());
            }
        }
        ended.is_some()
    }

    /// Records the declared outputs of a step bound to `name`.
    pub(super) fn result(&mut self, name: &str, call: &Call) {
        let declared = self
            .symbols
            .agents
            .get(call.agent.name.as_str())
            .zip(self.symbols.task(&call.agent.name, &call.task.name))
            .and_then(|(agent, task)| Declared::of(agent, task, Reader::Step));
        let entry = Rc::make_mut(&mut self.results)
            .entry(name.to_string())
            .or_insert(declared.clone());
        let same = match (&*entry, &declared) {
            (Some(a), Some(b)) => a.agent == b.agent && a.task == b.task,
            _ => false,
        };
        if !same {
            *entry = None;
        }
    }

    pub(super) fn bind(&mut self, name: &Ident, bindings: &mut Bindings) {
        if let Some(first) = bindings.taken(&name.name) {
            self.out.push(duplicate("result", name, first).with_help(
                "each step result needs its own name within a workflow; rename this one",
            ));
            return;
        }
        if name.name == "signal" {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_DUPLICATE,
                    "`signal` is built in and cannot be rebound",
                )
                .with_primary(name.span, "rebinds `signal`")
                .with_help("choose another name"),
            );
        }
        bindings.take(&name.name, name.span);
        bindings.bind(&name.name, name.span);
    }

    pub(super) fn stmt(
        &mut self,
        stmt: &Stmt,
        bindings: &mut Bindings,
        enclosing: Option<Enclosing>,
    ) -> bool {
        let ends = matches!(
            stmt,
            Stmt::Complete(_) | Stmt::Fail(_) | Stmt::Abort(_) | Stmt::Escalate(_)
        );
        // Each arm drops its scope before binding, so that recording a result
        // does not copy the results the scope holds.
        match stmt {
            Stmt::Call(c) => {
                {
                    let scope = self.scope(bindings);
                    let env = Env::scoped(&scope);
                    let inherited = self.call(&c.call, &env);
                    self.options(
                        &c.options,
                        &env,
                        HandlerSite::Step,
                        Some(&inherited),
                        enclosing,
                    );
                }
                if let Some(b) = &c.binding {
                    self.bind(b, bindings);
                    self.result(&b.name, &c.call);
                }
            }
            Stmt::Run(r) => {
                self.workflow_ref(&r.workflow);
                {
                    let scope = self.scope(bindings);
                    let env = Env::scoped(&scope);
                    self.options(&r.options, &env, HandlerSite::Step, None, enclosing);
                }
                if let Some(b) = &r.binding {
                    self.bind(b, bindings);
                }
            }
            Stmt::Let(l) => {
                {
                    let scope = self.scope(bindings);
                    types::infer(&Env::scoped(&scope), &l.value, self.out);
                }
                self.bind(&l.name, bindings);
            }
            Stmt::If(i) => return self.if_stmt(i, bindings, enclosing),
            Stmt::Parallel(p) => self.parallel(p, bindings, enclosing),
            Stmt::Exclusive(x) => {
                self.lock(&x.lock);
                return self.block(&x.body, bindings, enclosing);
            }
            Stmt::Approve(a) => {
                {
                    let scope = self.scope(bindings);
                    let env = Env::scoped(&scope);
                    self.string(&a.message, &env);
                    self.options(&a.options, &env, HandlerSite::Approval, None, enclosing);
                }
                self.bind(&a.name, bindings);
            }
            Stmt::Abort(a) => {
                let scope = self.scope(bindings);
                self.string(&a.reason, &Env::scoped(&scope));
            }
            Stmt::Fail(f) => {
                let scope = self.scope(bindings);
                let env = Env::scoped(&scope);
                self.string(&f.message, &env);
                if let Some(d) = &f.details {
                    types::infer(&env, d, self.out);
                }
            }
            Stmt::Escalate(e) => {
                let scope = self.scope(bindings);
                self.escalate(e, &Env::scoped(&scope));
            }
            Stmt::Complete(c) => {
                let scope = self.scope(bindings);
                let env = Env::scoped(&scope);
                for s in c.summary.iter().chain(&c.next) {
                    self.string(s, &env);
                }
                if let Some(p) = &c.payload {
                    types::infer(&env, p, self.out);
                }
            }
        }
        ends
    }
}
