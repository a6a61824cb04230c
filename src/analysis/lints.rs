//! Warnings: unused declarations (route warnings: [`super::route_lints`]), and the seed's
//! anti-patterns (strict gates, blown time budgets, premature escalation in
//! [`super::retry_lints`], over-serialized work).

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{
    Call, CallStmt, GateRule, HandlerAction, Playbook, RouteTarget, Span, StepOption, Stmt,
};
use crate::diagnostics::{codes, Diagnostic};

use super::flow::runs;
use super::policy::{self, format_duration, Inherited};
use super::symbols::Symbols;
use super::walker::mentions;

/// Runs every lint.
pub fn check(playbook: &Playbook, symbols: &Symbols<'_>, out: &mut Vec<Diagnostic>) {
    super::route_lints::check(playbook, out);
    unused(playbook, symbols, out);
    let mut steps = StepLints {
        symbols,
        out,
        budgets: std::collections::HashMap::new(),
    };
    for workflow in playbook.workflows() {
        let enclosing = workflow
            .timeout
            .as_ref()
            .map(|t| (t.millis, t.span, "the workflow's"));
        steps.block(&workflow.body.stmts, enclosing, false);
    }
}

/// Agent tasks called anywhere, as (agent, task).
fn called_tasks(playbook: &Playbook) -> BTreeSet<(String, String)> {
    let mut calls: Vec<&Call> = Vec::new();
    fn handler_calls(options: &[StepOption]) -> impl Iterator<Item = &Call> {
        options.iter().filter_map(|o| match o {
            StepOption::Handler(h) => h.recovery.as_ref(),
            _ => None,
        })
    }
    for workflow in playbook.workflows() {
        workflow.body.walk(&mut |stmt| match stmt {
            Stmt::Call(c) => {
                calls.push(&c.call);
                calls.extend(handler_calls(&c.options));
            }
            Stmt::Run(r) => calls.extend(handler_calls(&r.options)),
            Stmt::Approve(a) => calls.extend(handler_calls(&a.options)),
            _ => {}
        });
    }
    for route in playbook.routes() {
        if let RouteTarget::Task(call) = &route.target {
            calls.push(call);
        }
    }
    calls.extend(playbook.rules().filter_map(|r| r.recovery.as_ref()));
    calls
        .into_iter()
        .map(|c| (c.agent.name.clone(), c.task.name.clone()))
        .collect()
}

fn unused(playbook: &Playbook, symbols: &Symbols<'_>, out: &mut Vec<Diagnostic>) {
    // A misspelled call (already an error) counts as a use of the name it
    // was meant to be, so the typo does not also make that one look unused.
    let called: BTreeSet<(String, String)> = called_tasks(playbook)
        .into_iter()
        .map(|(agent, task)| {
            let agent = match symbols.agents.contains_key(agent.as_str()) {
                true => agent,
                false => super::suggest::closest(&agent, symbols.agents.keys().copied())
                    .map_or(agent.clone(), str::to_string),
            };
            let task = match symbols.agents.get(agent.as_str()) {
                Some(decl) if !decl.tasks.iter().any(|t| t.name.name == task) => {
                    super::suggest::closest(&task, decl.tasks.iter().map(|t| t.name.name.as_str()))
                        .map_or(task.clone(), str::to_string)
                }
                _ => task,
            };
            (agent, task)
        })
        .collect();
    // Tasks called, by agent: one pass instead of a scan of every call per agent.
    let mut by_agent: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (agent, task) in &called {
        by_agent
            .entry(agent.as_str())
            .or_default()
            .insert(task.as_str());
    }
    let none = BTreeSet::new();
    for agent in symbols.agents.values() {
        let used = by_agent.get(agent.name.name.as_str()).unwrap_or(&none);
        if used.is_empty() {
            out.push(
                Diagnostic::warning(
                    codes::LINT_UNUSED_AGENT,
                    format!("agent `{}` is never used", agent.name.name),
                )
                .with_primary(agent.name.span, "no step calls it")
                .with_help("call one of its tasks from a workflow or route, or remove the agent"),
            );
            continue;
        }
        for task in &agent.tasks {
            if !used.contains(&task.name.name.as_str()) {
                out.push(
                    Diagnostic::warning(
                        codes::LINT_UNUSED_TASK,
                        format!(
                            "task `{}.{}` is never used",
                            agent.name.name, task.name.name
                        ),
                    )
                    .with_primary(task.name.span, "no step calls it")
                    .with_help(
                        "call it from a workflow, a route or a recovery handler, or remove it",
                    ),
                );
            }
        }
    }
    let mut reached: BTreeSet<&str> = playbook
        .routes()
        .filter_map(|r| match &r.target {
            RouteTarget::Workflow(w) => Some(w.name.as_str()),
            _ => None,
        })
        .collect();
    // Only `run`s inside reachable workflows make another one reachable.
    let mut frontier: Vec<&str> = reached.iter().copied().collect();
    while let Some(name) = frontier.pop() {
        if let Some(workflow) = symbols.workflows.get(name) {
            for target in runs(&workflow.body) {
                if reached.insert(target.name.as_str()) {
                    frontier.push(target.name.as_str());
                }
            }
        }
    }
    for workflow in symbols.workflows.values() {
        if !reached.contains(workflow.name.name.as_str()) {
            out.push(
                Diagnostic::warning(
                    codes::LINT_UNUSED_WORKFLOW,
                    format!("workflow `{}` is never used", workflow.name.name),
                )
                .with_primary(
                    workflow.name.span,
                    "no route reaches it, directly or through `run`",
                )
                .with_help(format!(
                    "route a signal to it (`route NS:SIGNAL => {}`) or remove it",
                    workflow.name.name
                )),
            );
        }
    }
}

/// The failure kinds a gate of `gate`% over `n` branches tolerates.
pub fn tolerated_failures(gate: u64, n: u64) -> u64 {
    (0..=n)
        .rev()
        .find(|k| (n - k) * 100 >= gate * n)
        .unwrap_or(0)
}

/// `a/b` as a rounded percentage.
fn percent(a: u64, b: u64) -> u64 {
    if b == 0 {
        return 0;
    }
    (a * 200 + b) / (2 * b)
}

struct StepLints<'s, 'a, 'o> {
    symbols: &'s Symbols<'a>,
    out: &'o mut Vec<Diagnostic>,
    /// `time_budget_exceeded` warnings with an inherited cause, by cause.
    budgets: std::collections::HashMap<(usize, usize, u64, String), Budget>,
}

/// One `time_budget_exceeded` warning that later steps with the same cause
/// (enclosing timeout, worst case, arithmetic) join instead of repeating.
struct Budget {
    index: usize,
    first: String,
    steps: usize,
}

type Enclosing = Option<(u64, Span, &'static str)>;

impl<'a> StepLints<'_, 'a, '_> {
    fn inherited(&self, call: &Call) -> Inherited<'a> {
        Inherited {
            task: self.symbols.task(&call.agent.name, &call.task.name),
            agent: self.symbols.agents.get(call.agent.name.as_str()).copied(),
            coordinator: self.symbols.coordinator,
        }
    }

    /// Lints a sequence of statements, each visited once (nested groups
    /// included: walking a group's body twice was exponential in its depth).
    fn block(&mut self, stmts: &[Stmt], enclosing: Enclosing, exclusive: bool) {
        if !exclusive {
            for pair in stmts.windows(2) {
                if let [Stmt::Call(a), Stmt::Call(b)] = pair {
                    self.over_serialized(a, b);
                }
            }
        }
        for stmt in stmts {
            super::types::work::add(1);
            match stmt {
                Stmt::Call(c) => {
                    self.time_budget(c, enclosing);
                    if let Some(policy) = self.inherited(&c.call).retry(&c.options) {
                        super::retry_lints::premature_escalation(c, policy, self.out);
                    }
                }
                Stmt::If(i) => {
                    for b in i.branches.iter().map(|b| &b.block).chain(&i.else_block) {
                        self.block(&b.stmts, enclosing, exclusive);
                    }
                }
                Stmt::Parallel(p) => {
                    self.zero_gate(p);
                    if p.each.is_none() {
                        self.strict_gate(p);
                    }
                    let inner = p
                        .timeout
                        .as_ref()
                        .map(|t| (t.millis, t.span, "the group's"))
                        .or(enclosing);
                    // Branches of a group (and the steps of a `parallel for`
                    // body, run per element) get no serialization lint
                    // among them: each is linted on its own, once.
                    for branch in &p.body.stmts {
                        self.block(std::slice::from_ref(branch), inner, exclusive);
                    }
                }
                Stmt::Exclusive(x) => self.block(&x.body.stmts, enclosing, true),
                _ => {}
            }
        }
    }

    fn strict_gate(&mut self, group: &crate::ast::ParallelStmt) {
        let n = group.body.stmts.len() as u64;
        // A count gate says exactly how many failures it tolerates.
        let gate = match group.gate.as_ref().map(|g| g.rule) {
            None => policy::default_gate(self.symbols.coordinator),
            Some(GateRule::Percent { value }) => value,
            Some(_) => return,
        };
        if n < 2 || gate == 0 || gate >= 100 || tolerated_failures(gate, n) > 0 {
            return;
        }
        let span = group.gate.as_ref().map_or(
            Span::new(group.span.start, group.span.start + "parallel".len()),
            |g| g.span,
        );
        let one_failure = percent(n - 1, n);
        let highest = (n - 1) * 100 / n;
        self.out.push(
            Diagnostic::warning(
                codes::LINT_STRICT_GATE,
                format!(
                    "gate {gate}% over {n} branches tolerates no failure: with one failure {}/{n} = {one_failure}% < {gate}%",
                    n - 1
                ),
            )
            .with_primary(span, format!("all {n} branches must succeed"))
            .with_help(format!(
                "write `gate 100%` if every branch is required, or lower the gate to {highest}% to tolerate one failure"
            )),
        );
    }

    /// `gate 0%`, `gate at least 0`, or `gate tolerate N` over a literal
    /// group of at most N branches: the group passes even when every branch fails.
    fn zero_gate(&mut self, group: &crate::ast::ParallelStmt) {
        let Some(gate) = &group.gate else {
            return;
        };
        let n = group.body.stmts.len() as u64;
        let help = match gate.rule {
            GateRule::Percent { value: 0 } => "to need at least one success write `gate 1%` or `gate at least 1`; to require most, drop the gate (the coordinator's, or 80%)".to_string(),
            GateRule::AtLeast { at_least: 0 } => "to need at least one success write `gate at least 1`".to_string(),
            GateRule::Tolerate { tolerate } if group.each.is_none() && tolerate >= n => format!(
                "this group has {n} branch{}: to need at least one success write `gate tolerate {}`",
                if n == 1 { "" } else { "es" },
                n.saturating_sub(1)
            ),
            _ => return,
        };
        self.out.push(
            Diagnostic::warning(
                codes::LINT_ZERO_GATE,
                format!(
                    "`gate {}` lets this group pass even when every branch fails",
                    gate.rule
                ),
            )
            .with_primary(gate.span, "no branch needs to succeed")
            .with_help(help),
        );
    }

    fn time_budget(&mut self, step: &CallStmt, enclosing: Enclosing) {
        let Some((limit, limit_span, what)) = enclosing else {
            return;
        };
        let inherited = self.inherited(&step.call);
        let (timeout, origin) = inherited.timeout(&step.options);
        if timeout > limit && matches!(origin, policy::Origin::Step | policy::Origin::Task) {
            return; // reported as the error `timeout_exceeds_enclosing`
        }
        let policy = inherited.retry(&step.options);
        let retries = policy.map_or(0, |p| u64::try_from(p.retries.value).unwrap_or(0));
        let delays = policy.map(policy::backoff_delays).unwrap_or_default();
        let attempts = retries + 1;
        let budget = attempts
            .saturating_mul(timeout)
            .saturating_add(delays.iter().fold(0u64, |a, d| a.saturating_add(*d)));
        // A step budget (`within D`) that fits bounds the worst case.
        if budget <= limit
            || policy
                .and_then(|p| p.within.as_ref())
                .is_some_and(|w| w.millis <= limit)
        {
            return;
        }
        let arithmetic = if delays.is_empty() || delays.iter().all(|d| *d == 0) {
            format!(
                "{attempts} attempt{} × {}",
                if attempts == 1 { "" } else { "s" },
                format_duration(timeout)
            )
        } else {
            format!(
                "{attempts} attempts × {} + backoff {}",
                format_duration(timeout),
                delays
                    .iter()
                    .map(|d| format_duration(*d))
                    .collect::<Vec<_>>()
                    .join(" + ")
            )
        };
        // Steps whose timeout and retries come from the same defaults share
        // one cause: one warning for the group or workflow, naming each step.
        let shared = !matches!(origin, policy::Origin::Step | policy::Origin::Task);
        let key = (limit_span.start, limit_span.end, budget, arithmetic.clone());
        if shared {
            if let Some(seen) = self.budgets.get_mut(&key) {
                seen.steps += 1;
                let d = &mut self.out[seen.index];
                d.message = format!(
                    "worst case for `{}` and {} other step{}: {arithmetic} = {}, longer than {what} timeout ({})",
                    seen.first,
                    seen.steps - 1,
                    if seen.steps == 2 { "" } else { "s" },
                    format_duration(budget),
                    format_duration(limit)
                );
                *d = d
                    .clone()
                    .with_secondary(step.call.span, "the same worst case");
                return;
            }
        }
        let source = match origin {
            policy::Origin::Builtin => " (the default task timeout)",
            policy::Origin::Coordinator => " (the coordinator's timeout)",
            policy::Origin::Agent => " (the agent's timeout)",
            policy::Origin::Step | policy::Origin::Task => "",
        };
        let help = if attempts == 1 {
            format!(
                "give the task or step a `timeout` of at most {}, or raise the enclosing timeout",
                format_duration(limit)
            )
        } else {
            "lower the retries (`retry 0` disables them) or the step's timeout, or raise the enclosing timeout".to_string()
        };
        if shared {
            self.budgets.insert(
                key,
                Budget {
                    index: self.out.len(),
                    first: step_name(step),
                    steps: 1,
                },
            );
        }
        self.out.push(
            Diagnostic::warning(
                codes::LINT_TIME_BUDGET,
                format!(
                    "worst case for `{}`: {arithmetic} = {}, longer than {what} timeout ({})",
                    step_name(step),
                    format_duration(budget),
                    format_duration(limit)
                ),
            )
            .with_primary(
                step.call.span,
                format!("can take up to {}{source}", format_duration(budget)),
            )
            .with_secondary(limit_span, "enclosing timeout")
            .with_help(help),
        );
    }

    fn over_serialized(&mut self, first: &CallStmt, second: &CallStmt) {
        if let Some(binding) = &first.binding {
            // A second `r = …` is reported as a duplicate; saying it does not
            // use `r` would only distract from that.
            let rebinds = second
                .binding
                .as_ref()
                .is_some_and(|b| b.name == binding.name);
            if rebinds || depends_on(second, &binding.name) {
                return;
            }
        }
        let lock = |s: &CallStmt| -> Vec<String> {
            s.options
                .iter()
                .filter_map(|o| match o {
                    StepOption::Lock(l) => Some(l.name.clone()),
                    _ => None,
                })
                .collect()
        };
        if lock(first).iter().any(|l| lock(second).contains(l)) {
            return;
        }
        let serial = |agent: &str| {
            let own = self
                .symbols
                .agents
                .get(agent)
                .and_then(|a| a.settings.iter().find_map(max_concurrent));
            let global = self
                .symbols
                .coordinator
                .and_then(|c| c.settings.iter().find_map(max_concurrent));
            own.or(global) == Some(1)
        };
        if first.call.agent.name == second.call.agent.name && serial(&first.call.agent.name) {
            return;
        }
        if self
            .symbols
            .coordinator
            .and_then(|c| c.settings.iter().find_map(max_concurrent))
            == Some(1)
        {
            return;
        }
        self.out.push(
            Diagnostic::warning(
                codes::LINT_OVER_SERIALIZED,
                format!(
                    "`{}` does not use any result of `{}`: the two steps could run in parallel",
                    step_name(second),
                    step_name(first)
                ),
            )
            .with_primary(second.call.span, "independent of the step before")
            .with_secondary(first.call.span, "previous step")
            .with_help("wrap both in `parallel { … }`; if the order matters, hand a result of the first step to the second"),
        );
    }
}

fn max_concurrent(setting: &crate::ast::Setting) -> Option<i64> {
    match setting {
        crate::ast::Setting::MaxConcurrent(n) => Some(n.value),
        _ => None,
    }
}

fn step_name(step: &CallStmt) -> String {
    step.binding.as_ref().map_or_else(
        || format!("{}.{}", step.call.agent.name, step.call.task.name),
        |b| b.name.clone(),
    )
}

/// Whether a step mentions `name` anywhere (arguments, guard, handlers).
fn depends_on(step: &CallStmt, name: &str) -> bool {
    let call_uses = |call: &Call| call.args.iter().any(|a| mentions(&a.value, name));
    if call_uses(&step.call) {
        return true;
    }
    step.options.iter().any(|o| match o {
        StepOption::When(e) => mentions(e, name),
        StepOption::Handler(h) => {
            h.guard.as_ref().is_some_and(|g| mentions(g, name))
                || h.recovery.as_ref().is_some_and(call_uses)
                || match &h.action {
                    HandlerAction::Escalate(e) => {
                        e.details.as_ref().is_some_and(|d| mentions(d, name))
                    }
                    HandlerAction::Fail(f) => f.details.as_ref().is_some_and(|d| mentions(d, name)),
                    _ => false,
                }
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_arithmetic() {
        assert_eq!(tolerated_failures(80, 3), 0);
        assert_eq!(tolerated_failures(80, 5), 1);
        assert_eq!(tolerated_failures(66, 3), 1);
        assert_eq!(tolerated_failures(100, 4), 0);
        assert_eq!(tolerated_failures(0, 4), 4);
        assert_eq!(percent(2, 3), 67);
    }

    /// Parses a playbook of one agent `A.t`, a signal `GEN:GO` with a list
    /// `items`, and the workflow `body`, then runs the lints on it.
    fn lint_workflow(body: &str) -> Vec<Diagnostic> {
        let text = format!(
            "agent A \"a\" {{\n  task t \"t\" {{ timeout 30s }}\n}}\n\
             signal GEN:GO \"go\" {{\n  items: list<int> = []\n}}\n\
             route go: GEN:GO => w\n\
             workflow w \"w\" {{\n{body}\n}}\n"
        );
        let source = crate::source::SourceFile::new("lints.ops", text);
        let parsed = crate::syntax::parse(&source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let Some(playbook) = parsed.playbook else {
            panic!("does not parse: {body}");
        };
        let mut out = Vec::new();
        let symbols = Symbols::collect(&playbook, &mut out);
        check(&playbook, &symbols, &mut out);
        out
    }

    /// Statements the step lints visit in a workflow of `depth` nested
    /// `parallel for` groups (each with one call besides the inner group).
    fn visits(depth: usize) -> usize {
        let mut body = String::from("A.t(x: 1)\n");
        for d in 0..depth {
            body = format!("parallel for v{d} in signal.items {{\nA.t(x: 1)\n{body}}}\n");
        }
        crate::analysis::types::work::take();
        lint_workflow(&body);
        crate::analysis::types::work::take()
    }

    #[test]
    fn nested_parallel_groups_are_linted_once_per_statement() {
        // Two statements per level: linear, where walking each body twice
        // visited 2^depth.
        assert_eq!(visits(24), 2 * 24 + 1);
        assert_eq!(visits(12), 2 * 12 + 1);
    }

    fn codes_for(group: &str) -> Vec<&'static str> {
        lint_workflow(group).iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_zero_gate_is_linted_on_both_kinds_of_group() {
        let each = "parallel for v in signal.items gate 0% {\nA.t(x: v)\n}";
        assert!(codes_for(each).contains(&codes::LINT_ZERO_GATE));
        let written = "parallel gate 0% {\na = A.t(x: 1)\nb = A.t(x: 2)\n}";
        assert!(codes_for(written).contains(&codes::LINT_ZERO_GATE));
        let one = "parallel for v in signal.items gate 1% {\nA.t(x: v)\n}";
        assert!(!codes_for(one).contains(&codes::LINT_ZERO_GATE));
        let none = "parallel for v in signal.items {\nA.t(x: v)\n}";
        assert!(!codes_for(none).contains(&codes::LINT_ZERO_GATE));
    }
}
