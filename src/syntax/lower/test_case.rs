//! Lowering of `test` blocks.

use pest::iterators::Pair;

use super::expr::{expr, map, string};
use super::{duration, ident, span_of, unexpected, Cursor, Lowered};
use crate::ast::{Expect, Given, Outcome, OutcomeKind, TestCase, TestSignal};
use crate::syntax::grammar::Rule;

pub(super) fn test(pair: Pair<'_, Rule>) -> Lowered<TestCase> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_test)?;
    let name = string(c.next(Rule::string)?)?;
    let mut case = TestCase {
        name,
        signals: Vec::new(),
        givens: Vec::new(),
        expects: Vec::new(),
        span,
    };
    for item in c.rest() {
        match item.as_rule() {
            Rule::test_signal => case.signals.push(test_signal(item)?),
            Rule::given => case.givens.push(given(item)?),
            Rule::expect => case.expects.push(expect(item)?),
            _ => return Err(unexpected(&item, "`signal`, `given` or `expect`")),
        }
    }
    Ok(case)
}

fn test_signal(pair: Pair<'_, Rule>) -> Lowered<TestSignal> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_signal)?;
    let name = ident(c.next(Rule::signal_name)?);
    let context = match c.optional(Rule::map) {
        Some(m) => Some(map(m)?),
        None => None,
    };
    Ok(TestSignal {
        name,
        context,
        span,
    })
}

fn given(pair: Pair<'_, Rule>) -> Lowered<Given> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_given)?;
    let body = c.any()?;
    let rule = body.as_rule();
    let mut b = Cursor::new(body);
    match rule {
        Rule::given_approval => {
            b.next(Rule::kw_approval)?;
            let name = ident(b.next(Rule::ident)?);
            let decision = ident(Cursor::new(b.next(Rule::approval_decision)?).next(Rule::name)?);
            Ok(Given::Approval {
                name,
                decision,
                span,
            })
        }
        Rule::given_step => {
            b.next(Rule::kw_step)?;
            let target = ident(b.next(Rule::step_target)?);
            Ok(Given::Step {
                target,
                outcomes: outcomes(b)?,
                span,
            })
        }
        Rule::given_task => {
            let agent = ident(b.next(Rule::ident)?);
            let task = ident(b.next(Rule::name)?);
            Ok(Given::Task {
                agent,
                task,
                outcomes: outcomes(b)?,
                span,
            })
        }
        _ => Err(crate::syntax::lower::internal(span, "unknown `given` form")),
    }
}

/// `OUTCOME then OUTCOME …`, the rest of a `given` line.
fn outcomes(b: Cursor<'_>) -> Lowered<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for part in b.rest() {
        match part.as_rule() {
            Rule::outcome => outcomes.push(outcome(part)?),
            Rule::kw_then => {}
            _ => return Err(unexpected(&part, "an outcome")),
        }
    }
    Ok(outcomes)
}

fn outcome(pair: Pair<'_, Rule>) -> Lowered<Outcome> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    let what = c.any()?;
    let rule = what.as_rule();
    let mut w = Cursor::new(what);
    let kind = match rule {
        Rule::succeeds => {
            w.next(Rule::kw_succeeds)?;
            OutcomeKind::Succeeds {
                outputs: match w.optional(Rule::map) {
                    Some(m) => Some(map(m)?),
                    None => None,
                },
            }
        }
        Rule::fails => {
            w.next(Rule::kw_fails)?;
            let kind = w.optional(Rule::name).map(ident);
            let message = match w.optional(Rule::string) {
                Some(s) => Some(string(s)?),
                None => None,
            };
            OutcomeKind::Fails { kind, message }
        }
        Rule::times_out => OutcomeKind::TimesOut,
        _ => return Err(crate::syntax::lower::internal(span, "unknown outcome")),
    };
    let latency = match c.optional(Rule::latency) {
        Some(l) => {
            let mut l = Cursor::new(l);
            l.next(Rule::kw_after)?;
            Some(duration(l.next(Rule::duration)?)?)
        }
        None => None,
    };
    Ok(Outcome {
        kind,
        latency,
        span,
    })
}

fn expect(pair: Pair<'_, Rule>) -> Lowered<Expect> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_expect)?;
    let body = c.any()?;
    let rule = body.as_rule();
    if rule == Rule::expr {
        return Ok(Expect::Holds {
            condition: expr(body)?,
            span,
        });
    }
    let mut b = Cursor::new(body);
    b.any()?; // the keyword
    Ok(match rule {
        Rule::expect_status => Expect::Status {
            status: ident(b.next(Rule::name)?),
            span,
        },
        Rule::expect_route => Expect::Route {
            route: ident(b.next(Rule::name)?),
            span,
        },
        Rule::expect_escalation => Expect::Escalation {
            kind: ident(b.next(Rule::name)?),
            span,
        },
        Rule::expect_step => Expect::Step {
            step: ident(b.next(Rule::step_ref)?),
            outcome: ident(b.next(Rule::name)?),
            span,
        },
        _ => {
            return Err(crate::syntax::lower::internal(
                span,
                "unknown `expect` form",
            ))
        }
    })
}
