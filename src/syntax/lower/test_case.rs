//! Lowering of `test` blocks.

use pest::iterators::Pair;

use super::expr::{expr, map, primary, string};
use super::{duration, ident, integer, span_of, unexpected, Cursor, Lowered};
use crate::ast::{
    EventPattern, Expect, Expr, GateExpect, Given, Outcome, OutcomeKind, TestCase, TestSignal,
};
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
            title: match b.rest().next() {
                Some(t) => Some(primary_of(t)?),
                None => None,
            },
            span,
        },
        Rule::expect_step => expect_step(b, span)?,
        Rule::expect_gate => Expect::Gate {
            group: ident(b.next(Rule::gate_ref)?),
            verdict: gate_verdict(b.any()?)?,
            span,
        },
        Rule::expect_events => Expect::Events {
            events: b
                .rest()
                .map(|item| {
                    let mut i = Cursor::new(item);
                    Ok(EventPattern {
                        kind: ident(i.next(Rule::name)?),
                        step: i.optional(Rule::step_ref).map(ident),
                    })
                })
                .collect::<Lowered<_>>()?,
            span,
        },
        Rule::expect_duration => Expect::Duration {
            op: b.any()?.as_str().to_string(),
            bound: duration(b.next(Rule::duration)?)?,
            span,
        },
        Rule::expect_approval => Expect::Approval {
            name: ident(b.next(Rule::ident)?),
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

/// A string or regex literal as an expression (an escalation's title).
fn primary_of(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    match pair.as_rule() {
        Rule::string | Rule::regex => primary(pair),
        _ => Err(unexpected(&pair, "a string or a regex")),
    }
}

/// `expect step REF OUTCOME[(KIND)]` or `expect step REF attempts …`.
fn expect_step(mut b: Cursor<'_>, span: crate::ast::Span) -> Lowered<Expect> {
    let step = ident(b.next(Rule::step_ref)?);
    let body = b.any()?;
    let rule = body.as_rule();
    let mut w = Cursor::new(body);
    if rule == Rule::step_outcome {
        return Ok(Expect::Step {
            step,
            outcome: ident(w.next(Rule::name)?),
            kind: w.optional(Rule::name).map(ident),
            span,
        });
    }
    w.next(Rule::kw_attempts)?;
    let mut count = None;
    let mut starts = Vec::new();
    for part in w.rest() {
        match part.as_rule() {
            Rule::integer => count = Some(integer(part)?),
            Rule::duration => starts.push(duration(part)?),
            Rule::kw_at => {}
            _ => return Err(unexpected(&part, "a count or start times")),
        }
    }
    Ok(Expect::Attempts {
        step,
        count,
        starts,
        span,
    })
}

fn gate_verdict(pair: Pair<'_, Rule>) -> Lowered<GateExpect> {
    let rule = pair.as_rule();
    Ok(match rule {
        Rule::name => GateExpect::Verdict { word: ident(pair) },
        Rule::gate_count => {
            let (successes, counted) = count(pair)?;
            GateExpect::Count { successes, counted }
        }
        Rule::gate_decided => {
            let mut d = Cursor::new(pair);
            d.next(Rule::kw_decided)?;
            d.next(Rule::kw_at)?;
            let (k, n) = count(d.next(Rule::gate_count)?)?;
            GateExpect::Decided {
                at: format!("{k}/{n}"),
            }
        }
        Rule::gate_critical => {
            let mut d = Cursor::new(pair);
            d.next(Rule::kw_critical)?;
            GateExpect::Critical {
                branch: ident(d.next(Rule::step_ref)?),
            }
        }
        _ => return Err(unexpected(&pair, "a gate verdict")),
    })
}

/// `K of N` as two numbers.
fn count(pair: Pair<'_, Rule>) -> Lowered<(u64, u64)> {
    let mut c = Cursor::new(pair);
    let k = integer(c.next(Rule::count)?)?;
    c.next(Rule::kw_of)?;
    let n = integer(c.next(Rule::count)?)?;
    // Digits only: never negative.
    Ok((k.value.unsigned_abs(), n.value.unsigned_abs()))
}
