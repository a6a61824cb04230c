//! Declarations and references: agents, signal defaults, routes, tests,
//! and the names steps refer to (workflows, agents and tasks, locks).

use std::collections::HashMap;

use crate::ast::{
    Call, Escalate, Given, Ident, Playbook, RouteTarget, SignalPattern, StrLit, StrPart, TestCase,
};
use crate::diagnostics::{codes, Diagnostic};

use super::super::policy::Inherited;
use super::super::symbols::duplicate;
use super::super::types::{self, Env, Root};
use super::super::{suggest, test_checks, values};
use super::{Walker, DECISIONS, ESCALATION_TYPES};

impl<'a> Walker<'a, '_> {
    // ── declarations ────────────────────────────────────────────────────

    pub(super) fn agents(&mut self, playbook: &Playbook) {
        if let Some(c) = self.symbols.coordinator {
            values::settings(&c.settings, self.out);
        }
        for agent in playbook.agents() {
            values::settings(&agent.settings, self.out);
            for task in &agent.tasks {
                values::settings(&task.settings, self.out);
            }
        }
        // Quality checks are typed against each task's declared outputs.
        super::super::outputs::check(playbook, self.out);
    }

    pub(super) fn signal_defaults(&mut self, playbook: &Playbook) {
        for signal in playbook.signals() {
            for field in &signal.fields {
                let declared = types::declared_type(&field.ty, self.out);
                if let Some(default) = &field.default {
                    let actual = types::infer(&Env::default(), default, self.out);
                    if !declared.compatible(&actual) {
                        self.out.push(
                            Diagnostic::error(
                                codes::CHECK_TYPE_MISMATCH,
                                format!(
                                    "the default of `{}` is {actual}, but the field is {declared}",
                                    field.name.name
                                ),
                            )
                            .with_primary(default.span, format!("{actual}"))
                            .with_secondary(field.ty.span, "declared type")
                            .with_help("change the default or the declared type"),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn routes(&mut self, playbook: &Playbook) {
        for route in playbook.routes() {
            let signals = match &route.pattern {
                SignalPattern::Exact { name, span } => {
                    match self.symbols.signals.get(name.as_str()) {
                        Some(decl) => Some(vec![*decl]),
                        None => {
                            self.out.push(
                                Diagnostic::error(
                                    codes::CHECK_UNDEFINED_SIGNAL,
                                    format!("signal `{name}` is not declared"),
                                )
                                .with_primary(*span, "unknown signal")
                                .with_help(suggest::help(
                                    name,
                                    "signal",
                                    self.symbols.signals.keys().copied(),
                                )),
                            );
                            None
                        }
                    }
                }
                _ => None,
            };
            let env = Env::default().with("signal", Root::Signal(signals));
            if let Some(guard) = &route.guard {
                types::condition(&env, guard, self.out);
            }
            match &route.target {
                RouteTarget::Workflow(w) => self.workflow_ref(w),
                RouteTarget::Task(call) => {
                    self.call(call, &env);
                }
                RouteTarget::Ignore { .. } => {}
                RouteTarget::Escalate(e) => self.escalate(e, &env),
            }
        }
    }

    pub(super) fn tests(&mut self, playbook: &Playbook) {
        let tests: Vec<&TestCase> = playbook.tests().collect();
        test_checks::duplicates(&mut HashMap::new(), tests.iter().copied(), true, self.out);
        self.test_cases(playbook, &tests);
    }

    /// Checks `tests` (a playbook's own blocks, or a test file's) against
    /// `playbook`.
    pub(super) fn test_cases(&mut self, playbook: &Playbook, tests: &[&TestCase]) {
        let expect_env = [
            "payload",
            "status",
            "route",
            "escalation",
            "steps",
            "events",
        ]
        .into_iter()
        .fold(Env::default(), |env, name| env.with(name, Root::Value));
        for test in tests.iter().copied() {
            test_checks::signal(playbook, test, self.out);
            for given in &test.givens {
                match given {
                    Given::Task { agent, task, .. }
                        if !self.symbols.agents.contains_key(agent.name.as_str())
                            && playbook.workflows().any(|w| w.name.name == agent.name) =>
                    {
                        self.out.push(
                            Diagnostic::error(
                                codes::CHECK_UNDEFINED_AGENT,
                                format!(
                                    "agent `{}` is not defined; `{}` is a workflow",
                                    agent.name, agent.name
                                ),
                            )
                            .with_primary(agent.span, "a workflow, not an agent")
                            .with_help(format!(
                                "to script one step of it, write `given step {}.{} …`",
                                agent.name, task.name
                            )),
                        );
                    }
                    Given::Task { agent, task, .. } => {
                        self.agent_task(agent, task);
                    }
                    Given::Step { target, .. } => self.step_target(playbook, target),
                    Given::Approval { name, decision, .. } => {
                        self.reference(name, "approval", self.symbols.approvals.keys().copied());
                        self.one_of(decision, "approval decision", DECISIONS);
                    }
                }
            }
            for expect in &test.expects {
                self.expectation(playbook, expect, &expect_env);
            }
        }
    }

    /// Checks a `given step` target names a step of the playbook.
    fn step_target(&mut self, playbook: &Playbook, target: &Ident) {
        let problem = crate::analysis::targets::Target::parse(&target.name)
            .and_then(|t| crate::analysis::targets::resolve(playbook, &t).map(|_| ()));
        if let Err(message) = problem {
            self.out.push(
                Diagnostic::error(codes::CHECK_UNDEFINED_STEP, message)
                    .with_primary(target.span, "no such step")
                    .with_help(
                        "a step is `WORKFLOW.binding` or `WORKFLOW.N` (its `id` in reports), \
                         optionally with `[INDEX]` or `[ARG=VALUE]` for `parallel for` elements",
                    ),
            );
        }
    }

    pub(super) fn reference<'n>(
        &mut self,
        name: &Ident,
        what: &str,
        known: impl IntoIterator<Item = &'n str> + Clone,
    ) {
        if !known.clone().into_iter().any(|k| k == name.name) {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_REFERENCE,
                    format!("there is no {what} `{}`", name.name),
                )
                .with_primary(name.span, format!("unknown {what}"))
                .with_help(suggest::help(&name.name, what, known)),
            );
        }
    }

    /// Checks a word from a fixed vocabulary (statuses, outcomes, decisions).
    pub(super) fn one_of(&mut self, name: &Ident, what: &str, allowed: &[&str]) {
        if allowed.contains(&name.name.as_str()) {
            return;
        }
        let listing = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match suggest::closest(&name.name, allowed.iter().copied()) {
            Some(best) => format!("did you mean `{best}`? Expected one of {listing}"),
            None => format!("expected one of {listing}"),
        };
        self.out.push(
            Diagnostic::error(
                codes::CHECK_UNDEFINED_REFERENCE,
                format!("`{}` is not a valid {what}", name.name),
            )
            .with_primary(name.span, format!("unknown {what}"))
            .with_help(help),
        );
    }

    // ── references ──────────────────────────────────────────────────────

    pub(super) fn workflow_ref(&mut self, name: &Ident) {
        if !self.symbols.workflows.contains_key(name.name.as_str()) {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_WORKFLOW,
                    format!("workflow `{}` is not defined", name.name),
                )
                .with_primary(name.span, "unknown workflow")
                .with_help(suggest::help(
                    &name.name,
                    "workflow",
                    self.symbols.workflows.keys().copied(),
                )),
            );
        }
    }

    /// Checks `agent.task` exists; returns what the call inherits settings from.
    pub(super) fn agent_task(&mut self, agent: &Ident, task: &Ident) -> Inherited<'a> {
        let coordinator = self.symbols.coordinator;
        let Some(decl) = self.symbols.agents.get(agent.name.as_str()).copied() else {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_AGENT,
                    format!("agent `{}` is not defined", agent.name),
                )
                .with_primary(agent.span, "unknown agent")
                .with_help(suggest::help(
                    &agent.name,
                    "agent",
                    self.symbols.agents.keys().copied(),
                )),
            );
            return Inherited {
                coordinator,
                ..Inherited::default()
            };
        };
        let found = decl.tasks.iter().find(|t| t.name.name == task.name);
        if found.is_none() {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_TASK,
                    format!("agent `{}` has no task `{}`", agent.name, task.name),
                )
                .with_primary(task.span, "unknown task")
                .with_secondary(decl.name.span, "agent declared here")
                .with_help(suggest::help(
                    &task.name,
                    "task",
                    decl.tasks.iter().map(|t| t.name.name.as_str()),
                )),
            );
        }
        Inherited {
            task: found,
            agent: Some(decl),
            coordinator,
        }
    }

    pub(super) fn call(&mut self, call: &Call, env: &Env<'_, '_>) -> Inherited<'a> {
        let inherited = self.agent_task(&call.agent, &call.task);
        let mut seen: Vec<&Ident> = Vec::new();
        for arg in &call.args {
            if let Some(first) = seen.iter().find(|a| a.name == arg.name.name) {
                self.out.push(duplicate("argument", &arg.name, first.span));
            } else {
                seen.push(&arg.name);
            }
            types::infer(env, &arg.value, self.out);
        }
        inherited
    }

    pub(super) fn lock(&mut self, lock: &Ident) {
        if !self.symbols.locks.contains_key(lock.name.as_str()) {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNDEFINED_LOCK,
                    format!("lock `{}` is not declared", lock.name),
                )
                .with_primary(lock.span, "unknown lock")
                .with_help(
                    match suggest::closest(&lock.name, self.symbols.locks.keys().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!(
                            "declare it at top level: `lock {} \"what it protects\"`",
                            lock.name
                        ),
                    },
                ),
            );
        }
    }

    pub(super) fn escalation_type(&mut self, kind: &Ident) {
        if !ESCALATION_TYPES.contains(&kind.name.as_str()) {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_UNKNOWN_ESCALATION,
                    format!("`{}` is not an escalation type", kind.name),
                )
                .with_primary(kind.span, "unknown escalation type")
                .with_help(match suggest::closest(&kind.name, ESCALATION_TYPES.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`? The types are Boundary, QualityGate, Resource and Conflict"),
                    None => "the types are Boundary, QualityGate, Resource and Conflict".to_string(),
                }),
            );
        }
    }

    pub(super) fn escalate(&mut self, e: &Escalate, env: &Env<'_, '_>) {
        self.escalation_type(&e.kind);
        self.string(&e.title, env);
        if let Some(details) = &e.details {
            types::infer(env, details, self.out);
        }
    }

    pub(super) fn string(&mut self, s: &StrLit, env: &Env<'_, '_>) {
        for part in &s.parts {
            if let StrPart::Interpolation { expr } = part {
                types::infer(env, expr, self.out);
            }
        }
    }
}
