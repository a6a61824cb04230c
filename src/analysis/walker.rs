//! The main checking walk over routes, workflows, rules, agents and tests.
//!
//! It resolves every name, tracks which results are bound on every path,
//! type-checks expressions (through [`types`](super::types)), checks setting
//! ranges and reports unreachable statements.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::ast::{
    Block, Call, DurationLit, Escalate, Expect, Expr, Given, Handler, HandlerAction, Ident,
    Playbook, RouteTarget, SignalDecl, SignalPattern, Span, StepOption, Stmt, StrLit, StrPart,
};
use crate::diagnostics::{codes, Diagnostic};

use super::outputs::{Declared, Reader};
use super::policy::Inherited;
use super::symbols::{duplicate, duplicate_setting, Symbols};
use super::types::{self, Env, Root, Scope, Ty, GATE_FIELDS, STEP_FIELDS};
use super::{suggest, values};

/// Escalation types of the seed's escalation format.
pub const ESCALATION_TYPES: &[&str] = &["Boundary", "QualityGate", "Resource", "Conflict"];
/// Final statuses a test can expect.
pub const STATUSES: &[&str] = &[
    "complete",
    "partial",
    "failed",
    "escalated",
    "aborted",
    "ignored",
];
/// Step outcomes a test can expect.
pub const OUTCOMES: &[&str] = &["success", "failure", "timeout", "skipped", "aborted"];
/// Decisions a test can give an approval.
pub const DECISIONS: &[&str] = &["granted", "denied", "never"];

/// Signals that can reach each workflow (`None`: unknown).
pub type Reach<'a> = BTreeMap<&'a str, Option<Vec<&'a SignalDecl>>>;

/// What a step handler is attached to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HandlerSite {
    Step,
    Approval,
    TopLevel,
}

/// The timeout that bounds a statement, with where it was written.
#[derive(Clone, Copy)]
struct Enclosing {
    millis: u64,
    span: Span,
    what: &'static str,
}

/// Which results are bound at a point of a workflow.
#[derive(Default)]
struct Bindings {
    /// Bound on every path, with where.
    definite: Vec<(String, Span)>,
    /// Bound on some paths only.
    maybe: BTreeMap<String, Span>,
    /// Bound by sibling branches of the enclosing parallel group.
    siblings: BTreeMap<String, Span>,
    /// Loop variables.
    loop_vars: Vec<String>,
    /// Where each name of `definite` was first bound (its index).
    first: HashMap<String, Span>,
}

impl Clone for Bindings {
    fn clone(&self) -> Self {
        types::work::add(self.definite.len() + self.maybe.len() + self.siblings.len());
        Bindings {
            definite: self.definite.clone(),
            maybe: self.maybe.clone(),
            siblings: self.siblings.clone(),
            loop_vars: self.loop_vars.clone(),
            first: self.first.clone(),
        }
    }
}

impl Bindings {
    fn span_of(&self, name: &str) -> Option<Span> {
        self.first.get(name).copied()
    }

    fn bind(&mut self, name: &str, span: Span) {
        self.maybe.remove(name);
        self.definite.push((name.to_string(), span));
        self.first.entry(name.to_string()).or_insert(span);
    }
}

/// Declared outputs of a workflow's step results, by binding name (`None`:
/// undeclared, or bound to different tasks on different paths).
type Results = BTreeMap<String, Option<Rc<Declared>>>;

/// The names in scope at a statement of a workflow, read from its
/// [`Bindings`] on demand: building an [`Env`] of every binding at every
/// statement made checking a workflow cubic in its length.
struct WorkflowScope<'a, 'b> {
    signals: Rc<Option<Vec<&'a SignalDecl>>>,
    bindings: &'b Bindings,
    /// A snapshot: later steps do not change what this statement sees.
    results: Rc<Results>,
}

impl<'a> WorkflowScope<'a, '_> {
    fn value(&self, name: &str) -> Root<'a> {
        match self.results.get(name) {
            Some(Some(declared)) => Root::Outputs(declared.clone()),
            _ => Root::Value,
        }
    }
}

impl<'a> Scope<'a> for WorkflowScope<'a, '_> {
    // Loop variables shadow results, which shadow sibling results, which
    // shadow maybe-bound ones, which shadow `signal`.
    fn lookup(&self, name: &str) -> Option<Root<'a>> {
        let b = self.bindings;
        if b.loop_vars.iter().any(|n| n == name) {
            Some(Root::Value)
        } else if b.first.contains_key(name) {
            Some(self.value(name))
        } else if let Some(span) = b.siblings.get(name) {
            Some(Root::Sibling(*span))
        } else if let Some(span) = b.maybe.get(name) {
            Some(Root::MaybeBound(*span))
        } else if name == "signal" {
            Some(Root::Signal((*self.signals).clone()))
        } else {
            None
        }
    }

    fn roots(&self) -> Vec<(String, Root<'a>)> {
        let b = self.bindings;
        let mut roots = vec![("signal".to_string(), Root::Signal((*self.signals).clone()))];
        roots.extend(
            b.maybe
                .iter()
                .map(|(n, s)| (n.clone(), Root::MaybeBound(*s))),
        );
        roots.extend(
            b.siblings
                .iter()
                .map(|(n, s)| (n.clone(), Root::Sibling(*s))),
        );
        roots.extend(b.definite.iter().map(|(n, _)| (n.clone(), self.value(n))));
        roots.extend(b.loop_vars.iter().map(|n| (n.clone(), Root::Value)));
        types::work::add(roots.len());
        let names = types::keep_last(roots.iter().map(|(n, _)| n.clone()).collect());
        names
            .into_iter()
            .map(|n| {
                let root = self.lookup(&n).unwrap_or(Root::Value);
                (n, root)
            })
            .collect()
    }
}

/// Runs the walk over the whole playbook.
pub fn check(
    playbook: &Playbook,
    symbols: &Symbols<'_>,
    reach: &Reach<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let mut walker = Walker {
        symbols,
        out,
        signals: Rc::new(None),
        results: Rc::default(),
    };
    walker.agents(playbook);
    walker.signal_defaults(playbook);
    walker.routes(playbook);
    for rule in playbook.rules() {
        let env = Env::default()
            .with("signal", Root::Signal(None))
            .with("step", Root::Object(STEP_FIELDS))
            .with("gate", Root::Object(GATE_FIELDS));
        walker.handler(rule, &env, HandlerSite::TopLevel);
    }
    for workflow in playbook.workflows() {
        walker.signals = Rc::new(reach.get(workflow.name.name.as_str()).cloned().flatten());
        let enclosing = workflow.timeout.as_ref().map(|t| {
            values::timeout(t, walker.out);
            Enclosing {
                millis: t.millis,
                span: t.span,
                what: "the workflow's",
            }
        });
        let mut bindings = Bindings::default();
        let mut seen = BTreeMap::new();
        walker.results = Rc::default();
        walker.block(&workflow.body, &mut bindings, &mut seen, enclosing);
    }
    walker.signals = Rc::new(None);
    walker.tests(playbook);
}

struct Walker<'a, 'o> {
    symbols: &'o Symbols<'a>,
    out: &'o mut Vec<Diagnostic>,
    /// Signals reaching the workflow being walked.
    signals: Rc<Option<Vec<&'a SignalDecl>>>,
    /// Declared outputs of the workflow's step results, shared with the
    /// scopes that snapshot them (copied on write while one is alive).
    results: Rc<Results>,
}

impl<'a> Walker<'a, '_> {
    /// The names in scope at a statement, given the bindings before it.
    fn scope<'b>(&self, bindings: &'b Bindings) -> WorkflowScope<'a, 'b> {
        WorkflowScope {
            signals: self.signals.clone(),
            bindings,
            results: self.results.clone(),
        }
    }

    // ── declarations ────────────────────────────────────────────────────

    fn agents(&mut self, playbook: &Playbook) {
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
        super::outputs::check(playbook, self.out);
    }

    fn signal_defaults(&mut self, playbook: &Playbook) {
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

    fn routes(&mut self, playbook: &Playbook) {
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

    fn tests(&mut self, playbook: &Playbook) {
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
        for test in playbook.tests() {
            for signal in &test.signals {
                if let Some(context) = &signal.context {
                    types::infer(&Env::default(), context, self.out);
                }
            }
            for given in &test.givens {
                match given {
                    Given::Task { agent, task, .. } => {
                        self.agent_task(agent, task);
                    }
                    Given::Approval { name, decision, .. } => {
                        self.reference(name, "approval", self.symbols.approvals.keys().copied());
                        self.one_of(decision, "approval decision", DECISIONS);
                    }
                }
            }
            for expect in &test.expects {
                match expect {
                    Expect::Status { status, .. } => self.one_of(status, "status", STATUSES),
                    Expect::Route { route, .. } => {
                        self.reference(
                            route,
                            "route label",
                            self.symbols.route_labels.keys().copied(),
                        );
                    }
                    Expect::Escalation { kind, .. } => self.escalation_type(kind),
                    Expect::Step { outcome, .. } => self.one_of(outcome, "step outcome", OUTCOMES),
                    Expect::Holds { condition, .. } => {
                        types::condition(&expect_env, condition, self.out)
                    }
                }
            }
        }
    }

    fn reference<'n>(
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
    fn one_of(&mut self, name: &Ident, what: &str, allowed: &[&str]) {
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

    fn workflow_ref(&mut self, name: &Ident) {
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
    fn agent_task(&mut self, agent: &Ident, task: &Ident) -> Inherited<'a> {
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

    fn call(&mut self, call: &Call, env: &Env<'_, '_>) -> Inherited<'a> {
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

    fn lock(&mut self, lock: &Ident) {
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

    fn escalation_type(&mut self, kind: &Ident) {
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

    fn escalate(&mut self, e: &Escalate, env: &Env<'_, '_>) {
        self.escalation_type(&e.kind);
        self.string(&e.title, env);
        if let Some(details) = &e.details {
            types::infer(env, details, self.out);
        }
    }

    fn string(&mut self, s: &StrLit, env: &Env<'_, '_>) {
        for part in &s.parts {
            if let StrPart::Interpolation { expr } = part {
                types::infer(env, expr, self.out);
            }
        }
    }

    fn handler(&mut self, handler: &Handler, env: &Env<'_, '_>, site: HandlerSite) {
        let allowed: &[&str] = match site {
            HandlerSite::Step => &["failure", "timeout", "exhausted"],
            HandlerSite::Approval => &["denied", "timeout"],
            HandlerSite::TopLevel => &["failure", "timeout", "exhausted", "gate_failed", "denied"],
        };
        let event = &handler.event;
        if !allowed.contains(&event.name.as_str()) {
            let place = match site {
                HandlerSite::Step => "after a step",
                HandlerSite::Approval => "after `approve`",
                HandlerSite::TopLevel => "in an escalation rule",
            };
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_INVALID_HANDLER,
                    format!("`on {}` cannot happen {place}", event.name),
                )
                .with_primary(event.span, "unknown event here")
                .with_help(format!(
                    "{}events here: {}",
                    suggest::closest(&event.name, allowed.iter().copied())
                        .map(|b| format!("did you mean `{b}`? "))
                        .unwrap_or_default(),
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        } else if !handler.kinds.is_empty()
            && !matches!(event.name.as_str(), "failure" | "exhausted")
        {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_INVALID_HANDLER,
                    format!("`{}` takes no failure kinds", event.name),
                )
                .with_primary(
                    handler.kinds[0].span,
                    "kinds only narrow `failure(…)` and `exhausted(…)`",
                ),
            );
        }
        let env = env.clone().with("step", Root::Object(STEP_FIELDS));
        if let Some(guard) = &handler.guard {
            types::condition(&env, guard, self.out);
        }
        if let Some(call) = &handler.recovery {
            self.call(call, &env);
        }
        match &handler.action {
            HandlerAction::Retry { span } | HandlerAction::Continue { span }
                if site != HandlerSite::Step =>
            {
                let word = if matches!(handler.action, HandlerAction::Retry { .. }) {
                    "retry"
                } else {
                    "continue"
                };
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_INVALID_HANDLER,
                        format!("`{word}` only makes sense after an agent step"),
                    )
                    .with_primary(*span, "not allowed here")
                    .with_help(
                        "escalation rules and approvals end with `escalate`, `fail` or `abort`",
                    ),
                );
            }
            HandlerAction::Retry { .. } | HandlerAction::Continue { .. } => {}
            HandlerAction::Escalate(e) => self.escalate(e, &env),
            HandlerAction::Fail(f) => {
                self.string(&f.message, &env);
                if let Some(d) = &f.details {
                    types::infer(&env, d, self.out);
                }
            }
            HandlerAction::Abort(a) => self.string(&a.reason, &env),
        }
    }

    // ── workflows ───────────────────────────────────────────────────────

    fn block(
        &mut self,
        block: &Block,
        bindings: &mut Bindings,
        seen: &mut BTreeMap<String, Span>,
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
            if self.stmt(stmt, bindings, seen, enclosing) {
                ended = Some(stmt.span());
            }
        }
        ended.is_some()
    }

    /// Records the declared outputs of a step bound to `name`.
    fn result(&mut self, name: &str, call: &Call) {
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

    fn bind(&mut self, name: &Ident, bindings: &mut Bindings, seen: &mut BTreeMap<String, Span>) {
        if let Some(first) = seen.get(&name.name) {
            self.out.push(duplicate("result", name, *first).with_help(
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
        seen.insert(name.name.clone(), name.span);
        bindings.bind(&name.name, name.span);
    }

    fn options(
        &mut self,
        options: &[StepOption],
        env: &Env<'_, '_>,
        site: HandlerSite,
        inherited: Option<&Inherited<'a>>,
        enclosing: Option<Enclosing>,
    ) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for option in options {
            let name = match option {
                StepOption::Timeout(_) => Some("timeout"),
                StepOption::Retry(_) => Some("retry"),
                StepOption::When(_) => Some("when"),
                StepOption::Lock(_) => Some("lock"),
                StepOption::Critical { .. } => Some("critical"),
                StepOption::Handler(_) => None,
            };
            if let Some(name) = name {
                if let Some(first) = seen.get(name) {
                    self.out
                        .push(duplicate_setting(name, option.span(), *first));
                } else {
                    seen.insert(name, option.span());
                }
            }
            match option {
                StepOption::Timeout(d) => values::timeout(d, self.out),
                StepOption::Retry(r) => {
                    if site == HandlerSite::Approval {
                        self.out.push(
                            Diagnostic::error(
                                codes::CHECK_INVALID_HANDLER,
                                "an approval cannot be retried",
                            )
                            .with_primary(r.span, "not allowed on `approve`")
                            .with_help("handle `on denied` or `on timeout` instead"),
                        );
                    }
                    values::retry(r, self.out);
                }
                StepOption::When(e) => types::condition(env, e, self.out),
                StepOption::Lock(l) => self.lock(l),
                StepOption::Critical { .. } => {}
                StepOption::Handler(h) => self.handler(h, env, site),
            }
        }
        // A timeout longer than the enclosing group's or workflow's.
        let explicit: Option<(u64, Span, &str)> =
            match crate::analysis::policy::option_timeout(options) {
                Some(d) => Some((d.millis, d.span, "this step's timeout")),
                None => inherited
                    .and_then(|i| i.task)
                    .and_then(|t| crate::analysis::policy::setting_timeout(&t.settings))
                    .map(|d: &DurationLit| (d.millis, d.span, "the task's timeout")),
            };
        if let (Some((millis, span, what)), Some(enc)) = (explicit, enclosing) {
            if millis > enc.millis {
                let primary = options
                    .iter()
                    .find_map(|o| matches!(o, StepOption::Timeout(_)).then(|| o.span()))
                    .unwrap_or(span);
                let mut d = Diagnostic::error(
                    codes::CHECK_TIMEOUT_EXCEEDS,
                    format!(
                        "{what} ({}) is longer than {} timeout ({})",
                        super::policy::format_duration(millis),
                        enc.what,
                        super::policy::format_duration(enc.millis)
                    ),
                )
                .with_primary(primary, "too long")
                .with_secondary(enc.span, "enclosing timeout")
                .with_help("the enclosing timeout cuts the step short; shorten the step's timeout or lengthen the enclosing one");
                if primary != span || what == "the task's timeout" {
                    d = d.with_secondary(span, "set here");
                }
                self.out.push(d);
            }
        }
    }

    fn stmt(
        &mut self,
        stmt: &Stmt,
        bindings: &mut Bindings,
        seen: &mut BTreeMap<String, Span>,
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
                    self.bind(b, bindings, seen);
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
                    self.bind(b, bindings, seen);
                }
            }
            Stmt::Let(l) => {
                {
                    let scope = self.scope(bindings);
                    types::infer(&Env::scoped(&scope), &l.value, self.out);
                }
                self.bind(&l.name, bindings, seen);
            }
            Stmt::If(i) => return self.if_stmt(i, bindings, seen, enclosing),
            Stmt::Parallel(p) => self.parallel(p, bindings, seen, enclosing),
            Stmt::Exclusive(x) => {
                self.lock(&x.lock);
                return self.block(&x.body, bindings, seen, enclosing);
            }
            Stmt::Approve(a) => {
                {
                    let scope = self.scope(bindings);
                    let env = Env::scoped(&scope);
                    self.string(&a.message, &env);
                    self.options(&a.options, &env, HandlerSite::Approval, None, enclosing);
                }
                self.bind(&a.name, bindings, seen);
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

    /// Checks an `if`; returns whether every branch ends the workflow.
    fn if_stmt(
        &mut self,
        stmt: &crate::ast::IfStmt,
        bindings: &mut Bindings,
        seen: &mut BTreeMap<String, Span>,
        enclosing: Option<Enclosing>,
    ) -> bool {
        // What the conditions see: the bindings and results before the `if`.
        let scope = self.scope(bindings);
        let env = Env::scoped(&scope);
        let env = &env;
        let before = bindings.definite.len();
        // Paths that go on after the `if` (a branch that ends the workflow
        // binds nothing for the statements after it).
        let mut outcomes: Vec<Bindings> = Vec::new();
        // Each branch may bind the same names (that is how a result gets
        // bound on every path), so each has its own view of what is taken.
        let mut seen_after = seen.clone();
        for branch in &stmt.branches {
            types::condition(env, &branch.condition, self.out);
            let mut inner = bindings.clone();
            let mut inner_seen = seen.clone();
            let ends = self.block(&branch.block, &mut inner, &mut inner_seen, enclosing);
            seen_after.extend(inner_seen);
            if !ends {
                outcomes.push(inner);
            }
        }
        match &stmt.else_block {
            Some(block) => {
                let mut inner = bindings.clone();
                let mut inner_seen = seen.clone();
                let ends = self.block(block, &mut inner, &mut inner_seen, enclosing);
                seen_after.extend(inner_seen);
                if !ends {
                    outcomes.push(inner);
                }
            }
            None => outcomes.push(bindings.clone()),
        }
        *seen = seen_after;
        if outcomes.is_empty() {
            return true;
        }
        // Bound after the `if`: what every path bound; the rest maybe.
        let new_names = |b: &Bindings| -> Vec<(String, Span)> {
            b.definite[before.min(b.definite.len())..].to_vec()
        };
        let all: Vec<Vec<(String, Span)>> = outcomes.iter().map(new_names).collect();
        for (name, span) in all.iter().flatten() {
            if all.iter().all(|o| o.iter().any(|(n, _)| n == name)) {
                if bindings.span_of(name).is_none() {
                    bindings.bind(name, *span);
                }
            } else {
                bindings.maybe.entry(name.clone()).or_insert(*span);
            }
        }
        for outcome in &outcomes {
            for (name, span) in &outcome.maybe {
                if bindings.span_of(name).is_none() {
                    bindings.maybe.entry(name.clone()).or_insert(*span);
                }
            }
        }
        false
    }

    fn parallel(
        &mut self,
        group: &crate::ast::ParallelStmt,
        bindings: &mut Bindings,
        seen: &mut BTreeMap<String, Span>,
        enclosing: Option<Enclosing>,
    ) {
        if let Some(gate) = &group.gate {
            values::gate(gate, self.out);
        }
        let mut inner_enclosing = enclosing;
        if let Some(t) = &group.timeout {
            values::timeout(t, self.out);
            if let Some(enc) = enclosing {
                if t.millis > enc.millis {
                    self.out.push(
                        Diagnostic::error(
                            codes::CHECK_TIMEOUT_EXCEEDS,
                            format!(
                                "the group's timeout ({}) is longer than {} timeout ({})",
                                super::policy::format_duration(t.millis),
                                enc.what,
                                super::policy::format_duration(enc.millis)
                            ),
                        )
                        .with_primary(t.span, "too long")
                        .with_secondary(enc.span, "enclosing timeout")
                        .with_help("the enclosing timeout cuts the group short; shorten the group's timeout or lengthen the enclosing one"),
                    );
                }
            }
            inner_enclosing = Some(Enclosing {
                millis: t.millis,
                span: t.span,
                what: "the group's",
            });
        }
        let branches = &group.body.stmts;
        if branches.len() > values::MAX_BRANCHES {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_TOO_MANY_BRANCHES,
                    format!(
                        "{} branches exceed the fan-out limit of {}",
                        branches.len(),
                        values::MAX_BRANCHES
                    ),
                )
                .with_primary(
                    branches[values::MAX_BRANCHES].span(),
                    format!("branch {}", values::MAX_BRANCHES + 1),
                )
                .with_secondary(
                    crate::ast::Span::new(group.span.start, group.span.start + "parallel".len()),
                    "in this group",
                )
                .with_help("split the work into several groups, or use `parallel for` over a list"),
            );
        }
        if branches.is_empty() {
            self.out.push(
                Diagnostic::error(
                    codes::CHECK_OUT_OF_RANGE,
                    "this parallel group has no branches",
                )
                .with_primary(group.body.span, "empty group")
                .with_help(
                    "a group with no branches can never pass its gate; add steps or remove it",
                ),
            );
        }
        if let Some(each) = &group.each {
            let ty = {
                let scope = self.scope(bindings);
                types::infer(&Env::scoped(&scope), &each.iterable, self.out)
            };
            if !matches!(ty, Ty::List(_) | Ty::Any) {
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_TYPE_MISMATCH,
                        format!("`parallel for` needs a list, but this is {ty}"),
                    )
                    .with_primary(each.iterable.span, format!("{ty}")),
                );
            }
            let mut inner = bindings.clone();
            inner.loop_vars.push(each.var.name.clone());
            let mut inner_seen = seen.clone();
            self.block(&group.body, &mut inner, &mut inner_seen, inner_enclosing);
            return;
        }
        let branch_names: Vec<Vec<(String, Span)>> = branches.iter().map(bound_names).collect();
        let before = bindings.definite.len();
        let mut results = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let mut inner = bindings.clone();
            for (j, names) in branch_names.iter().enumerate() {
                if i != j {
                    for (name, span) in names {
                        inner.siblings.insert(name.clone(), *span);
                    }
                }
            }
            self.stmt(branch, &mut inner, seen, inner_enclosing);
            results.push(inner.definite[before.min(inner.definite.len())..].to_vec());
        }
        for (name, span) in results.into_iter().flatten() {
            if bindings.span_of(&name).is_none() {
                bindings.bind(&name, span);
            }
        }
    }
}

/// Names a statement binds (including inside nested blocks).
fn bound_names(stmt: &Stmt) -> Vec<(String, Span)> {
    let mut names = Vec::new();
    let mut push = |i: &Ident| names.push((i.name.clone(), i.span));
    match stmt {
        Stmt::Call(c) => c.binding.iter().for_each(&mut push),
        Stmt::Run(r) => r.binding.iter().for_each(&mut push),
        Stmt::Let(l) => push(&l.name),
        Stmt::Approve(a) => push(&a.name),
        Stmt::If(i) => {
            for b in i.branches.iter().map(|b| &b.block).chain(&i.else_block) {
                b.stmts
                    .iter()
                    .flat_map(bound_names)
                    .for_each(|n| names.push(n));
            }
        }
        Stmt::Exclusive(x) => x
            .body
            .stmts
            .iter()
            .flat_map(bound_names)
            .for_each(|n| names.push(n)),
        Stmt::Parallel(p) if p.each.is_none() => {
            p.body
                .stmts
                .iter()
                .flat_map(bound_names)
                .for_each(|n| names.push(n));
        }
        _ => {}
    }
    names
}

/// Whether an expression mentions `name` as a path root.
pub fn mentions(expr: &Expr, name: &str) -> bool {
    expr.mentions(name)
}

#[cfg(test)]
mod tests {
    use crate::analysis::{check_source, types::work};
    use crate::source::SourceFile;
    use crate::testing::generate::sequential_workflow;

    /// Names copied into environments while checking `n` sequential steps.
    fn names_copied(n: usize) -> usize {
        let text = sequential_workflow(n);
        let source = SourceFile::new("generated.ops", &text);
        work::take();
        let diagnostics = check_source(&source);
        assert!(diagnostics.is_empty(), "{n} steps: {diagnostics:?}");
        work::take()
    }

    #[test]
    fn checking_sequential_steps_copies_a_linear_number_of_names() {
        let small = names_copied(500);
        let large = names_copied(2000);
        // Four times the steps: linear work is about 4x, quadratic 16x.
        assert!(
            large <= 5 * small.max(1),
            "500 steps copied {small} names, 2000 steps copied {large}"
        );
        // And no more than a few names per step in absolute terms.
        assert!(large <= 8 * 2000, "2000 steps copied {large} names");
    }
}
