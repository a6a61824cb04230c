//! Visiting every expression a workflow body contains.
//!
//! [`Block::walk_exprs`] reaches each expression written in a statement:
//! arguments, `let` values, conditions, `parallel for` lists, `when` guards,
//! handler guards and recovery arguments, `fail`/`escalate`/`complete`
//! details, and the `{…}` interpolations of every string literal. Nested
//! sub-expressions are not visited separately: use [`Expr::visit_paths`] (or
//! match on [`ExprKind`]) to go inside one.

use super::{
    Block, Call, Escalate, Expr, FailStmt, Handler, HandlerAction, StepOption, Stmt, StrLit,
    StrPart,
};

impl Block {
    /// Calls `f` on every expression of every statement, nested blocks included.
    pub fn walk_exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        self.walk(&mut |stmt| stmt.exprs(f));
    }
}

impl Stmt {
    /// Calls `f` on the expressions of this statement (not of nested blocks).
    pub fn exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match self {
            Stmt::Call(c) => {
                call_exprs(&c.call, f);
                options_exprs(&c.options, f);
            }
            Stmt::Run(r) => options_exprs(&r.options, f),
            Stmt::Let(l) => f(&l.value),
            Stmt::If(i) => i.branches.iter().for_each(|b| f(&b.condition)),
            Stmt::Parallel(p) => {
                if let Some(each) = &p.each {
                    f(&each.iterable);
                }
            }
            Stmt::Exclusive(_) => {}
            Stmt::Approve(a) => {
                str_exprs(&a.message, f);
                options_exprs(&a.options, f);
            }
            Stmt::Abort(a) => str_exprs(&a.reason, f),
            Stmt::Fail(x) => fail_exprs(x, f),
            Stmt::Escalate(x) => escalate_exprs(x, f),
            Stmt::Complete(c) => {
                c.summary.iter().for_each(|s| str_exprs(s, f));
                if let Some(p) = &c.payload {
                    f(p);
                }
                c.next.iter().for_each(|s| str_exprs(s, f));
            }
        }
    }
}

impl Handler {
    /// Calls `f` on the handler's guard, recovery arguments and action details.
    pub fn exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        if let Some(guard) = &self.guard {
            f(guard);
        }
        if let Some(call) = &self.recovery {
            call_exprs(call, f);
        }
        match &self.action {
            HandlerAction::Retry { .. } | HandlerAction::Continue { .. } => {}
            HandlerAction::Escalate(x) => escalate_exprs(x, f),
            HandlerAction::Fail(x) => fail_exprs(x, f),
            HandlerAction::Abort(x) => str_exprs(&x.reason, f),
        }
    }
}

impl StrLit {
    /// Calls `f` on each `{…}` interpolation.
    pub fn exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        for part in &self.parts {
            if let StrPart::Interpolation { expr } = part {
                f(expr);
            }
        }
    }
}

fn str_exprs<'a>(s: &'a StrLit, f: &mut impl FnMut(&'a Expr)) {
    s.exprs(f);
}

fn call_exprs<'a>(call: &'a Call, f: &mut impl FnMut(&'a Expr)) {
    call.args.iter().for_each(|a| f(&a.value));
}

fn options_exprs<'a>(options: &'a [StepOption], f: &mut impl FnMut(&'a Expr)) {
    for option in options {
        match option {
            StepOption::When(e) => f(e),
            StepOption::Handler(h) => h.exprs(f),
            StepOption::Timeout(_)
            | StepOption::Retry(_)
            | StepOption::Lock(_)
            | StepOption::Critical { .. } => {}
        }
    }
}

fn fail_exprs<'a>(x: &'a FailStmt, f: &mut impl FnMut(&'a Expr)) {
    str_exprs(&x.message, f);
    if let Some(d) = &x.details {
        f(d);
    }
}

fn escalate_exprs<'a>(x: &'a Escalate, f: &mut impl FnMut(&'a Expr)) {
    str_exprs(&x.title, f);
    if let Some(d) = &x.details {
        f(d);
    }
}
