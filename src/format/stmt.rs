//! Workflow statements, step options and handlers.
//!
//! A step's options stay where the author put them: on the step's line, or
//! on continuation lines indented one level deeper.

use super::printer::Printer;
use crate::ast::{
    Block, CompleteStmt, Escalate, FailStmt, GateRule, Handler, HandlerAction, Ident, ParallelStmt,
    StepOption, Stmt,
};

impl Printer<'_> {
    /// `{ statements }`, with a space before it.
    pub(super) fn block(&mut self, block: &Block) {
        let close = block.span.end.saturating_sub(1);
        self.members(1, close, &block.stmts, |s| s.span().start, |p, s| p.stmt(s));
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Call(c) => {
                self.binding(&c.binding);
                self.call(&c.call);
                self.options(&c.options);
            }
            Stmt::Run(r) => {
                self.binding(&r.binding);
                self.write("run ");
                self.token(r.workflow.span);
                self.options(&r.options);
            }
            Stmt::Let(l) => {
                self.write("let ");
                self.token(l.name.span);
                self.write(" = ");
                self.expr(&l.value);
            }
            Stmt::If(i) => {
                for (n, branch) in i.branches.iter().enumerate() {
                    self.write(if n == 0 { "if " } else { " else if " });
                    self.expr(&branch.condition);
                    self.block(&branch.block);
                }
                if let Some(e) = &i.else_block {
                    self.write(" else");
                    self.block(e);
                }
            }
            Stmt::Parallel(p) => self.parallel(p),
            Stmt::Exclusive(x) => {
                self.write("exclusive ");
                self.token(x.lock.span);
                self.block(&x.body);
            }
            Stmt::Approve(a) => {
                self.write("approve ");
                self.token(a.name.span);
                self.write(" ");
                self.token(a.message.span);
                self.options(&a.options);
            }
            Stmt::Abort(a) => {
                self.write("abort ");
                self.token(a.reason.span);
            }
            Stmt::Fail(f) => self.fail(f),
            Stmt::Escalate(e) => self.escalate(e),
            Stmt::Complete(c) => self.complete(c),
        }
    }

    fn binding(&mut self, binding: &Option<Ident>) {
        if let Some(name) = binding {
            self.token(name.span);
            self.write(" = ");
        }
    }

    fn parallel(&mut self, p: &ParallelStmt) {
        self.write("parallel");
        if let Some(label) = &p.label {
            self.write(" ");
            self.token(label.span);
        }
        if let Some(each) = &p.each {
            self.write(" for ");
            self.token(each.var.span);
            self.write(" in ");
            self.expr(&each.iterable);
        }
        if let Some(gate) = &p.gate {
            self.write(" gate ");
            match gate.rule {
                GateRule::Percent { value } => self.write(&format!("{value}%")),
                GateRule::Tolerate { tolerate } => self.write(&format!("tolerate {tolerate}")),
                GateRule::AtLeast { at_least } => self.write(&format!("at least {at_least}")),
            }
            self.touch(gate.span.end);
            if let Some(stop) = p.stop {
                self.write(" stop when ");
                self.write(stop.word());
            }
        }
        if let Some(t) = &p.timeout {
            self.keyword_then(" timeout ", t.span);
        }
        self.block(&p.body);
    }

    /// Step options, each on the step's line or on its own continuation line
    /// as written.
    fn options(&mut self, options: &[StepOption]) {
        let mut continued = false;
        for option in options {
            let start = option_start(option);
            if self.broke_before(start) {
                if !continued {
                    self.indent += 1;
                    continued = true;
                }
                self.start(start, false);
            } else {
                self.write(" ");
            }
            self.option(option);
        }
        if continued {
            self.indent -= 1;
        }
    }

    fn option(&mut self, option: &StepOption) {
        match option {
            StepOption::Timeout(d) => self.keyword_then("timeout ", d.span),
            StepOption::Retry(r) => self.retry(r),
            StepOption::When(e) => {
                self.write("when ");
                self.expr(e);
            }
            StepOption::Lock(l) => self.keyword_then("lock ", l.span),
            StepOption::Critical { span } => {
                self.write("critical");
                self.touch(span.end);
            }
            StepOption::Handler(h) => self.handler(h),
        }
    }

    /// `on EVENT[(kinds)] [when EXPR] => [AGENT.task() then] ACTION`.
    pub(super) fn handler(&mut self, h: &Handler) {
        self.keyword_then("on ", h.event.span);
        if !h.kinds.is_empty() {
            let kinds: Vec<&str> = h.kinds.iter().map(|k| k.name.as_str()).collect();
            self.write(&format!("({})", kinds.join(", ")));
        }
        if let Some(guard) = &h.guard {
            self.write(" when ");
            self.expr(guard);
        }
        self.write(" => ");
        if let Some(call) = &h.recovery {
            self.call(call);
            self.write(" then ");
        }
        match &h.action {
            HandlerAction::Retry { span } => {
                self.write("retry");
                self.touch(span.end);
            }
            HandlerAction::Continue { span } => {
                self.write("continue");
                self.touch(span.end);
            }
            HandlerAction::Escalate(e) => self.escalate(e),
            HandlerAction::Fail(f) => self.fail(f),
            HandlerAction::Abort(a) => {
                self.write("abort ");
                self.token(a.reason.span);
            }
        }
    }

    fn fail(&mut self, f: &FailStmt) {
        self.write("fail ");
        self.token(f.message.span);
        if let Some(details) = &f.details {
            self.write(" ");
            self.expr(details);
        }
    }

    /// `escalate KIND "title" [{ details }]`.
    pub(super) fn escalate(&mut self, e: &Escalate) {
        self.write("escalate ");
        self.token(e.kind.span);
        self.write(" ");
        self.token(e.title.span);
        if let Some(details) = &e.details {
            self.write(" ");
            self.expr(details);
        }
    }

    fn complete(&mut self, c: &CompleteStmt) {
        self.write("complete");
        if let Some(summary) = &c.summary {
            self.write(" ");
            self.token(summary.span);
        }
        if let Some(payload) = &c.payload {
            self.write(" ");
            self.expr(payload);
        }
        if let Some(next) = &c.next {
            self.write(" next ");
            self.token(next.span);
        }
    }
}

/// Where an option starts in the source (the keyword before a value).
fn option_start(option: &StepOption) -> usize {
    option.span().start
}
