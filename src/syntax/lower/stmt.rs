//! Lowering of workflows, statements, step options and handlers.

use pest::iterators::Pair;

use super::decl::retry_policy;
use super::expr::{expr, map, string};
use super::{doc, duration, ident, integer, percent, span_of, unexpected, Cursor, Lowered};
use crate::ast::{
    AbortStmt, ApproveStmt, Arg, Block, Call, CallStmt, CompleteStmt, CondBlock, Escalate,
    ExclusiveStmt, Expr, FailStmt, ForEach, Handler, HandlerAction, IfStmt, LetStmt, ParallelStmt,
    RunStmt, StepOption, Stmt, Workflow,
};
use crate::ast::{GateLit, GateRule, StopWhen};
use crate::syntax::grammar::Rule;

pub(super) fn workflow(pair: Pair<'_, Rule>) -> Lowered<Workflow> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_workflow)?;
    let name = ident(c.next(Rule::ident)?);
    let doc = doc(&mut c)?;
    let timeout = match c.optional(Rule::timeout_setting) {
        Some(t) => Some(timeout(t)?),
        None => None,
    };
    let body = block(c.next(Rule::block)?)?;
    Ok(Workflow {
        name,
        doc,
        timeout,
        body,
        span,
    })
}

fn timeout(pair: Pair<'_, Rule>) -> Lowered<crate::ast::DurationLit> {
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_timeout)?;
    duration(c.next(Rule::duration)?)
}

fn block(pair: Pair<'_, Rule>) -> Lowered<Block> {
    let span = span_of(&pair);
    let stmts = pair.into_inner().map(stmt).collect::<Lowered<_>>()?;
    Ok(Block { stmts, span })
}

fn stmt(pair: Pair<'_, Rule>) -> Lowered<Stmt> {
    Ok(match pair.as_rule() {
        Rule::call_stmt => Stmt::Call(call_stmt(pair)?),
        Rule::run_stmt => Stmt::Run(run_stmt(pair)?),
        Rule::let_stmt => Stmt::Let(let_stmt(pair)?),
        Rule::if_stmt => Stmt::If(if_stmt(pair)?),
        Rule::parallel_stmt => Stmt::Parallel(parallel(pair)?),
        Rule::exclusive_stmt => Stmt::Exclusive(exclusive(pair)?),
        Rule::approve_stmt => Stmt::Approve(approve(pair)?),
        Rule::abort_stmt => Stmt::Abort(abort(pair)?),
        Rule::fail_stmt => Stmt::Fail(fail(pair)?),
        Rule::escalate_stmt => Stmt::Escalate(escalate(pair)?),
        Rule::complete_stmt => Stmt::Complete(complete(pair)?),
        _ => return Err(unexpected(&pair, "a statement")),
    })
}

fn binding(c: &mut Cursor<'_>) -> Lowered<Option<crate::ast::Ident>> {
    match c.optional(Rule::binding) {
        Some(b) => Ok(Some(ident(Cursor::new(b).next(Rule::ident)?))),
        None => Ok(None),
    }
}

fn call_stmt(pair: Pair<'_, Rule>) -> Lowered<CallStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    let binding = binding(&mut c)?;
    let call = call(c.next(Rule::call)?)?;
    let options = c.rest().map(step_option).collect::<Lowered<_>>()?;
    Ok(CallStmt {
        binding,
        call,
        options,
        span,
    })
}

fn run_stmt(pair: Pair<'_, Rule>) -> Lowered<RunStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    let binding = binding(&mut c)?;
    c.next(Rule::kw_run)?;
    let workflow = ident(c.next(Rule::ident)?);
    let options = c.rest().map(step_option).collect::<Lowered<_>>()?;
    Ok(RunStmt {
        binding,
        workflow,
        options,
        span,
    })
}

fn let_stmt(pair: Pair<'_, Rule>) -> Lowered<LetStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_let)?;
    let name = ident(c.next(Rule::ident)?);
    let value = expr(c.next(Rule::expr)?)?;
    Ok(LetStmt { name, value, span })
}

/// Lowers `AGENT.task(args)`.
pub(super) fn call(pair: Pair<'_, Rule>) -> Lowered<Call> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    let agent = ident(c.next(Rule::ident)?);
    let task = ident(c.next(Rule::name)?);
    let args = match c.optional(Rule::arg_list) {
        Some(list) => list
            .into_inner()
            .map(|arg| {
                let mut a = Cursor::new(arg);
                let name = ident(a.next(Rule::name)?);
                let value = expr(a.next(Rule::expr)?)?;
                Ok(Arg { name, value })
            })
            .collect::<Lowered<_>>()?,
        None => Vec::new(),
    };
    Ok(Call {
        agent,
        task,
        args,
        span,
    })
}

fn step_option(pair: Pair<'_, Rule>) -> Lowered<StepOption> {
    Ok(match pair.as_rule() {
        Rule::timeout_setting => StepOption::Timeout(timeout(pair)?),
        Rule::retry_policy => StepOption::Retry(retry_policy(pair)?),
        Rule::guard => StepOption::When(guard(pair)?),
        Rule::lock_option => {
            let mut c = Cursor::new(pair);
            c.next(Rule::kw_lock)?;
            StepOption::Lock(ident(c.next(Rule::ident)?))
        }
        Rule::critical => StepOption::Critical {
            span: span_of(&pair),
        },
        Rule::handler => StepOption::Handler(Box::new(handler(pair)?)),
        _ => return Err(unexpected(&pair, "a step option")),
    })
}

/// Lowers `when expr` to its expression.
pub(super) fn guard(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_when)?;
    expr(c.next(Rule::expr)?)
}

fn if_stmt(pair: Pair<'_, Rule>) -> Lowered<IfStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_if)?;
    let condition = expr(c.next(Rule::expr)?)?;
    let mut branches = vec![CondBlock {
        condition,
        block: block(c.next(Rule::block)?)?,
    }];
    let mut else_block = None;
    for rest in c.rest() {
        let rule = rest.as_rule();
        let mut r = Cursor::new(rest);
        r.next(Rule::kw_else)?;
        if rule == Rule::else_if {
            r.next(Rule::kw_if)?;
            let condition = expr(r.next(Rule::expr)?)?;
            branches.push(CondBlock {
                condition,
                block: block(r.next(Rule::block)?)?,
            });
        } else {
            else_block = Some(block(r.next(Rule::block)?)?);
        }
    }
    Ok(IfStmt {
        branches,
        else_block,
        span,
    })
}

fn parallel(pair: Pair<'_, Rule>) -> Lowered<ParallelStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_parallel)?;
    let label = match c.optional(Rule::group_label) {
        Some(l) => Some(ident(Cursor::new(l).next(Rule::ident)?)),
        None => None,
    };
    let each = match c.optional(Rule::for_clause) {
        Some(f) => {
            let mut f = Cursor::new(f);
            f.next(Rule::kw_for)?;
            let var = ident(f.next(Rule::ident)?);
            f.next(Rule::kw_in)?;
            Some(ForEach {
                var,
                iterable: expr(f.next(Rule::expr)?)?,
            })
        }
        None => None,
    };
    let mut group = ParallelStmt {
        label,
        each,
        gate: None,
        stop: None,
        timeout: None,
        body: crate::ast::Block {
            stmts: Vec::new(),
            span,
        },
        span,
    };
    for part in c.rest() {
        match part.as_rule() {
            Rule::group_gate => (group.gate, group.stop) = group_gate(part)?,
            Rule::timeout_setting => group.timeout = Some(timeout(part)?),
            Rule::block => group.body = block(part)?,
            _ => return Err(unexpected(&part, "a parallel option or block")),
        }
    }
    Ok(group)
}

/// `gate 80%`, `gate tolerate 1`, `gate at least 2`, each with an optional
/// `stop when passed|failed|decided`.
fn group_gate(pair: Pair<'_, Rule>) -> Lowered<(Option<GateLit>, Option<StopWhen>)> {
    // The gate's span is what it requires (`80%`, `at least 2`), as diagnostics point there.
    let mut span = span_of(&pair);
    let mut stop = None;
    let mut rule = None;
    for part in pair.into_inner() {
        if matches!(
            part.as_rule(),
            Rule::percent | Rule::gate_tolerate | Rule::gate_at_least
        ) {
            span = span_of(&part);
        }
        match part.as_rule() {
            Rule::kw_gate => {}
            Rule::percent => {
                rule = Some(GateRule::Percent {
                    value: percent(part)?.value,
                })
            }
            Rule::gate_tolerate => {
                rule = Some(GateRule::Tolerate {
                    tolerate: count(part)?,
                })
            }
            Rule::gate_at_least => {
                rule = Some(GateRule::AtLeast {
                    at_least: count(part)?,
                })
            }
            Rule::stop_setting => {
                stop = match part.into_inner().last().map(|p| p.as_str()) {
                    Some("passed") => Some(StopWhen::Passed),
                    Some("failed") => Some(StopWhen::Failed),
                    _ => Some(StopWhen::Decided),
                }
            }
            _ => return Err(unexpected(&part, "a gate")),
        }
    }
    let rule = rule.unwrap_or(GateRule::Percent { value: 0 });
    Ok((Some(GateLit { rule, span }), stop))
}

/// The count of `tolerate N` / `at least K`: a whole number of branches.
fn count(pair: Pair<'_, Rule>) -> Lowered<u64> {
    let Some(n) = pair.into_inner().find(|p| p.as_rule() == Rule::integer) else {
        return Ok(0);
    };
    let lit = integer(n)?;
    u64::try_from(lit.value).map_err(|_| {
        crate::diagnostics::Diagnostic::error(
            crate::diagnostics::codes::CHECK_OUT_OF_RANGE,
            format!("a gate cannot count {} branches", lit.value),
        )
        .with_primary(lit.span, "negative")
        .with_help("`tolerate N` and `at least K` count branches: write 0 or more")
    })
}

fn exclusive(pair: Pair<'_, Rule>) -> Lowered<ExclusiveStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_exclusive)?;
    let lock = ident(c.next(Rule::ident)?);
    let body = block(c.next(Rule::block)?)?;
    Ok(ExclusiveStmt { lock, body, span })
}

fn approve(pair: Pair<'_, Rule>) -> Lowered<ApproveStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_approve)?;
    let name = ident(c.next(Rule::ident)?);
    let message = string(c.next(Rule::string)?)?;
    let options = c.rest().map(step_option).collect::<Lowered<_>>()?;
    Ok(ApproveStmt {
        name,
        message,
        options,
        span,
    })
}

fn abort(pair: Pair<'_, Rule>) -> Lowered<AbortStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_abort)?;
    let reason = string(c.next(Rule::string)?)?;
    Ok(AbortStmt { reason, span })
}

fn fail(pair: Pair<'_, Rule>) -> Lowered<FailStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_fail)?;
    let message = string(c.next(Rule::string)?)?;
    let details = match c.optional(Rule::map) {
        Some(m) => Some(map(m)?),
        None => None,
    };
    Ok(FailStmt {
        message,
        details,
        span,
    })
}

/// Lowers `escalate TYPE "title" { details }`.
pub(super) fn escalate(pair: Pair<'_, Rule>) -> Lowered<Escalate> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_escalate)?;
    let kind = ident(c.next(Rule::name)?);
    let title = string(c.next(Rule::string)?)?;
    let details = match c.optional(Rule::map) {
        Some(m) => Some(map(m)?),
        None => None,
    };
    Ok(Escalate {
        kind,
        title,
        details,
        span,
    })
}

fn complete(pair: Pair<'_, Rule>) -> Lowered<CompleteStmt> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_complete)?;
    let summary = match c.optional(Rule::string) {
        Some(s) => Some(string(s)?),
        None => None,
    };
    let payload = match c.optional(Rule::map) {
        Some(m) => Some(map(m)?),
        None => None,
    };
    let next = match c.optional(Rule::next_steps) {
        Some(n) => {
            let mut n = Cursor::new(n);
            n.next(Rule::kw_next)?;
            Some(string(n.next(Rule::string)?)?)
        }
        None => None,
    };
    Ok(CompleteStmt {
        summary,
        payload,
        next,
        span,
    })
}

/// Lowers `on EVENT[(kinds)] [when expr] => [call then] action`.
pub(super) fn handler(pair: Pair<'_, Rule>) -> Lowered<Handler> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_on)?;
    let mut event = Cursor::new(c.next(Rule::event)?);
    let event_name = ident(event.next(Rule::name)?);
    let kinds = match event.optional(Rule::kind_list) {
        Some(list) => list.into_inner().map(ident).collect(),
        None => Vec::new(),
    };
    let guard = match c.optional(Rule::guard) {
        Some(g) => Some(guard(g)?),
        None => None,
    };
    let recovery = match c.optional(Rule::call) {
        Some(call_pair) => {
            let recovery = call(call_pair)?;
            c.next(Rule::kw_then)?;
            Some(recovery)
        }
        None => None,
    };
    let action_pair = Cursor::new(c.next(Rule::handler_action)?).any()?;
    let action = match action_pair.as_rule() {
        Rule::retry_action => HandlerAction::Retry {
            span: span_of(&action_pair),
        },
        Rule::continue_action => HandlerAction::Continue {
            span: span_of(&action_pair),
        },
        Rule::escalate_stmt => HandlerAction::Escalate(escalate(action_pair)?),
        Rule::fail_stmt => HandlerAction::Fail(fail(action_pair)?),
        Rule::abort_stmt => HandlerAction::Abort(abort(action_pair)?),
        _ => return Err(unexpected(&action_pair, "a handler action")),
    };
    Ok(Handler {
        event: event_name,
        kinds,
        guard,
        recovery,
        action,
        span,
    })
}
