//! Lowering of declarations: coordinator, agents, tasks, signals, routes, locks.

use pest::iterators::Pair;

use super::{doc, duration, ident, integer, percent, span_of, unexpected, Cursor, Lowered};
use crate::ast::{
    Agent, Check, Coordinator, FieldDecl, LockDecl, Multiplier, OutputsDecl, RetryPolicy, Route,
    RouteTarget, Setting, SignalDecl, SignalPattern, TaskDecl, TypeRef,
};
use crate::syntax::grammar::Rule;

pub(super) fn coordinator(pair: Pair<'_, Rule>) -> Lowered<Coordinator> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_coordinator)?;
    let name = ident(c.next(Rule::ident)?);
    let doc = doc(&mut c)?;
    let settings = c.rest().map(setting).collect::<Lowered<_>>()?;
    Ok(Coordinator {
        name,
        doc,
        settings,
        span,
    })
}

pub(super) fn setting(pair: Pair<'_, Rule>) -> Lowered<Setting> {
    let rule = pair.as_rule();
    if rule == Rule::retry_policy {
        return Ok(Setting::Retry(retry_policy(pair)?));
    }
    let mut c = Cursor::new(pair.clone());
    c.any()?; // the keyword
    let value = c.any()?;
    Ok(match rule {
        Rule::reports_to => Setting::ReportsTo(ident(value)),
        Rule::gate_setting => Setting::Gate(percent(value)?),
        Rule::timeout_setting => Setting::Timeout(duration(value)?),
        Rule::max_concurrent_setting => Setting::MaxConcurrent(integer(value)?),
        _ => return Err(unexpected(&pair, "a setting")),
    })
}

pub(super) fn retry_policy(pair: Pair<'_, Rule>) -> Lowered<RetryPolicy> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_retry)?;
    let retries = integer(c.next(Rule::integer)?)?;
    let mut policy = RetryPolicy {
        retries,
        backoff: None,
        multiplier: None,
        max_delay: None,
        jitter: None,
        within: None,
        on: Vec::new(),
        except: Vec::new(),
        span,
    };
    if let Some(backoff) = c.optional(Rule::backoff) {
        let mut b = Cursor::new(backoff);
        b.next(Rule::kw_backoff)?;
        policy.backoff = Some(duration(b.next(Rule::duration)?)?);
        if let Some(m) = b.optional(Rule::multiplier) {
            let mspan = span_of(&m);
            let value = m.as_str()[1..]
                .parse::<f64>()
                .map_err(|_| super::internal(mspan, "unreadable multiplier"))?;
            policy.multiplier = Some(Multiplier { value, span: mspan });
        }
        if let Some(max) = b.optional(Rule::backoff_max) {
            let mut m = Cursor::new(max);
            m.next(Rule::kw_max)?;
            policy.max_delay = Some(duration(m.next(Rule::duration)?)?);
        }
    }
    if let Some(jitter) = c.optional(Rule::retry_jitter) {
        policy.jitter = Some(span_of(&jitter));
    }
    if let Some(within) = c.optional(Rule::retry_within) {
        let mut w = Cursor::new(within);
        w.next(Rule::kw_within)?;
        policy.within = Some(duration(w.next(Rule::duration)?)?);
    }
    // `on` and `except`, in either order (check reports having both).
    while let Some(list) = c
        .optional(Rule::retry_on)
        .or_else(|| c.optional(Rule::retry_except))
    {
        let is_on = list.as_rule() == Rule::retry_on;
        let mut o = Cursor::new(list);
        o.next(if is_on { Rule::kw_on } else { Rule::kw_except })?;
        let kinds = Cursor::new(o.next(Rule::kind_list)?)
            .rest()
            .map(ident)
            .collect();
        if is_on {
            policy.on = kinds;
        } else {
            policy.except = kinds;
        }
    }
    Ok(policy)
}

pub(super) fn agent(pair: Pair<'_, Rule>) -> Lowered<Agent> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_agent)?;
    let name = ident(c.next(Rule::ident)?);
    let doc = doc(&mut c)?;
    let mut agent = Agent {
        name,
        doc,
        settings: Vec::new(),
        tasks: Vec::new(),
        checks: Vec::new(),
        forbids: Vec::new(),
        outputs: Vec::new(),
        span,
    };
    for item in c.rest() {
        match item.as_rule() {
            Rule::task_decl => agent.tasks.push(task(item)?),
            Rule::outputs_decl => agent.outputs.push(outputs(item)?),
            Rule::check => agent.checks.push(check(item)?),
            Rule::forbid => agent.forbids.push(forbid(item)?),
            _ => agent.settings.push(setting(item)?),
        }
    }
    Ok(agent)
}

fn task(pair: Pair<'_, Rule>) -> Lowered<TaskDecl> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_task)?;
    let name = ident(c.next(Rule::name)?);
    let doc = doc(&mut c)?;
    let mut task = TaskDecl {
        name,
        doc,
        settings: Vec::new(),
        checks: Vec::new(),
        forbids: Vec::new(),
        outputs: Vec::new(),
        span,
    };
    for item in c.rest() {
        match item.as_rule() {
            Rule::outputs_decl => task.outputs.push(outputs(item)?),
            Rule::check => task.checks.push(check(item)?),
            Rule::forbid => task.forbids.push(forbid(item)?),
            _ => task.settings.push(setting(item)?),
        }
    }
    Ok(task)
}

fn check(pair: Pair<'_, Rule>) -> Lowered<Check> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_check)?;
    let name = ident(c.next(Rule::name)?);
    let doc = doc(&mut c)?;
    let condition = super::expr::expr(c.next(Rule::expr)?)?;
    Ok(Check {
        name,
        doc,
        condition,
        span,
    })
}

fn outputs(pair: Pair<'_, Rule>) -> Lowered<OutputsDecl> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_outputs)?;
    let fields = c.rest().map(field).collect::<Lowered<_>>()?;
    Ok(OutputsDecl { fields, span })
}

fn forbid(pair: Pair<'_, Rule>) -> Lowered<crate::ast::StrLit> {
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_forbid)?;
    super::expr::string(c.next(Rule::string)?)
}

pub(super) fn signal(pair: Pair<'_, Rule>) -> Lowered<SignalDecl> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_signal)?;
    let name = ident(c.next(Rule::signal_name)?);
    let doc = doc(&mut c)?;
    let fields = c.rest().map(field).collect::<Lowered<_>>()?;
    Ok(SignalDecl {
        name,
        doc,
        fields,
        span,
    })
}

fn field(pair: Pair<'_, Rule>) -> Lowered<FieldDecl> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    let name = ident(c.next(Rule::name)?);
    let ty_pair = c.next(Rule::type_ref)?;
    let ty_span = span_of(&ty_pair);
    let mut t = Cursor::new(ty_pair);
    let ty = TypeRef {
        name: ident(t.next(Rule::type_name)?),
        element: t.optional(Rule::type_name).map(ident),
        span: ty_span,
    };
    let default = match c.optional(Rule::expr) {
        Some(e) => Some(super::expr::expr(e)?),
        None => None,
    };
    Ok(FieldDecl {
        name,
        ty,
        default,
        span,
    })
}

pub(super) fn route(pair: Pair<'_, Rule>) -> Lowered<Route> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_route)?;
    let label = match c.optional(Rule::route_label) {
        Some(l) => Some(ident(Cursor::new(l).next(Rule::ident)?)),
        None => None,
    };
    let pattern = signal_pattern(c.next(Rule::signal_pattern)?);
    let guard = match c.optional(Rule::guard) {
        Some(g) => Some(super::stmt::guard(g)?),
        None => None,
    };
    let target = route_target(c.next(Rule::route_target)?)?;
    Ok(Route {
        label,
        pattern,
        guard,
        target,
        span,
    })
}

fn signal_pattern(pair: Pair<'_, Rule>) -> SignalPattern {
    let span = span_of(&pair);
    let text = pair.as_str();
    if text == "*" {
        SignalPattern::Any { span }
    } else if let Some(namespace) = text.strip_suffix(":*") {
        SignalPattern::Namespace {
            namespace: namespace.to_string(),
            span,
        }
    } else {
        SignalPattern::Exact {
            name: text.to_string(),
            span,
        }
    }
}

fn route_target(pair: Pair<'_, Rule>) -> Lowered<RouteTarget> {
    let mut c = Cursor::new(pair);
    let target = c.any()?;
    Ok(match target.as_rule() {
        Rule::kw_ignore => RouteTarget::Ignore {
            span: span_of(&target),
        },
        Rule::escalate_stmt => RouteTarget::Escalate(super::stmt::escalate(target)?),
        Rule::call => RouteTarget::Task(super::stmt::call(target)?),
        Rule::workflow_ref => RouteTarget::Workflow(ident(Cursor::new(target).next(Rule::ident)?)),
        _ => return Err(unexpected(&target, "a route target")),
    })
}

pub(super) fn lock(pair: Pair<'_, Rule>) -> Lowered<LockDecl> {
    let span = span_of(&pair);
    let mut c = Cursor::new(pair);
    c.next(Rule::kw_lock)?;
    let name = ident(c.next(Rule::ident)?);
    let doc = doc(&mut c)?;
    Ok(LockDecl { name, doc, span })
}
