//! `test` blocks: the signal, `given` lines and `expect` lines.

use super::printer::Printer;
use crate::ast::{Expect, Given, Outcome, OutcomeKind, TestCase, TestSignal};

/// A line of a test, for printing in source order.
enum Line<'a> {
    Signal(&'a TestSignal),
    Given(&'a Given),
    Expect(&'a Expect),
}

impl Line<'_> {
    fn start(&self) -> usize {
        match self {
            Line::Signal(s) => s.span.start,
            Line::Given(Given::Task { span, .. })
            | Line::Given(Given::Step { span, .. })
            | Line::Given(Given::Approval { span, .. }) => span.start,
            Line::Expect(e) => e.span().start,
        }
    }
}

impl Printer<'_> {
    /// `test "name" { … }`.
    pub(super) fn test_case(&mut self, t: &TestCase) {
        self.write("test ");
        self.token(t.name.span);
        let mut lines: Vec<Line<'_>> = t.signals.iter().map(Line::Signal).collect();
        lines.extend(t.givens.iter().map(Line::Given));
        lines.extend(t.expects.iter().map(Line::Expect));
        lines.sort_by_key(Line::start);
        let close = t.span.end.saturating_sub(1);
        self.members(1, close, &lines, Line::start, |p, line| p.test_line(line));
    }

    fn test_line(&mut self, line: &Line<'_>) {
        match line {
            Line::Signal(s) => {
                self.keyword_then("signal ", s.name.span);
                if let Some(context) = &s.context {
                    self.write(" ");
                    self.expr(context);
                }
            }
            Line::Given(Given::Task {
                agent,
                task,
                outcomes,
                ..
            }) => {
                self.keyword_then("given ", agent.span);
                self.write(".");
                self.token(task.span);
                self.outcomes(outcomes);
            }
            Line::Given(Given::Step {
                target, outcomes, ..
            }) => {
                self.keyword_then("given step ", target.span);
                self.outcomes(outcomes);
            }
            Line::Given(Given::Approval { name, decision, .. }) => {
                self.keyword_then("given approval ", name.span);
                self.keyword_then(" ", decision.span);
            }
            Line::Expect(e) => self.expect(e),
        }
    }

    fn outcomes(&mut self, outcomes: &[Outcome]) {
        for (n, outcome) in outcomes.iter().enumerate() {
            self.write(if n == 0 { " " } else { " then " });
            self.outcome(outcome);
        }
    }

    fn outcome(&mut self, outcome: &Outcome) {
        match &outcome.kind {
            OutcomeKind::Succeeds { outputs } => {
                self.write("succeeds");
                if let Some(outputs) = outputs {
                    self.write(" ");
                    self.expr(outputs);
                }
            }
            OutcomeKind::Fails { kind, message } => {
                self.write("fails");
                if let Some(kind) = kind {
                    self.write("(");
                    self.token(kind.span);
                    self.write(")");
                }
                if let Some(message) = message {
                    self.write(" ");
                    self.token(message.span);
                }
            }
            OutcomeKind::TimesOut => self.write("times out"),
        }
        if let Some(latency) = &outcome.latency {
            self.keyword_then(" after ", latency.span);
        }
        self.touch(outcome.span.end);
    }

    /// `expect EXPR` is printed as an expression; the other `expect` forms
    /// are simple words, kept as written with single spaces.
    fn expect(&mut self, e: &Expect) {
        match e {
            Expect::Holds { condition, .. } => {
                self.write("expect ");
                self.expr(condition);
            }
            other => self.words(other.span()),
        }
    }
}
