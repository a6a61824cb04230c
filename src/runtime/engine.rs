//! The interpreter: runs a routed workflow statement by statement.
//!
//! Concurrency lives in `parallel` groups only: their branches are futures
//! polled together on one task, so shared state sits behind a mutex that is
//! never held across an `.await`. Agent slots (`max_concurrent`) and named
//! locks are tokio semaphores and mutexes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::ast::{Agent, Block, Coordinator, Playbook, Setting, Stmt, Workflow};

use super::backend::AgentBackend;
use super::eval::{eval, holds, interpolate, Scope};
use super::record::{Entry, Recorder};
use super::result::{Event, EventKind, GateRecord, StepRecord};

/// How a statement, block or workflow ended.
#[derive(Debug)]
pub enum Flow {
    /// Go on with the next statement.
    Continue,
    /// The run ends here.
    Stop(Terminal),
}

/// How a run ends.
#[derive(Clone, Debug)]
pub enum Terminal {
    /// `complete`.
    Complete {
        /// The summary line.
        summary: Option<String>,
        /// The deliverables.
        payload: Map<String, Value>,
        /// Next steps.
        next: Option<String>,
    },
    /// `fail`, or an unhandled failure.
    Failed {
        /// Why.
        message: String,
    },
    /// `abort`, or an interrupt.
    Aborted {
        /// Why.
        reason: String,
    },
    /// `escalate` (directly or through a rule).
    Escalated(Box<super::result::EscalationRecord>),
    /// The run suspended to wait for a person (see [`super::suspend`]).
    Waiting,
    /// A run limit was passed (see [`super::limits`]): the run fails.
    Limit {
        /// The `ops::run::*` code.
        code: &'static str,
        /// What was passed.
        message: String,
    },
}

/// A list whose pushes are also handed to the run's recorder.
pub struct Recorded<T> {
    items: Vec<T>,
    recorder: Option<Arc<dyn Recorder>>,
    entry: fn(&T) -> Entry,
}

impl<T> Recorded<T> {
    fn new(recorder: Option<Arc<dyn Recorder>>, entry: fn(&T) -> Entry) -> Self {
        Recorded {
            items: Vec::new(),
            recorder,
            entry,
        }
    }

    /// Appends `item` and records it.
    pub fn push(&mut self, item: T) {
        if let Some(r) = &self.recorder {
            r.record(&(self.entry)(&item));
        }
        self.items.push(item);
    }

    /// The items, in the order they were pushed.
    pub fn into_vec(self) -> Vec<T> {
        self.items
    }

    /// Keeps only the first `len` items.
    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
    }
}

impl<T> std::ops::Deref for Recorded<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

/// What the engine records while running.
pub struct Log {
    /// Offsets of the `if` arms, handlers and rules taken (see
    /// [`super::result::Taken`]).
    pub taken: Vec<usize>,
    /// Events in order.
    pub events: Recorded<Event>,
    /// Steps in the order they finished.
    pub steps: Recorded<StepRecord>,
    /// Gates in the order they were decided.
    pub gates: Recorded<GateRecord>,
    /// Handoffs in the order they happened.
    pub handoffs: Vec<super::record::Handoff>,
    /// What handoff records read of the finished steps, kept up to date
    /// incrementally (see `record_handoff`).
    pub handoff_index: super::assignment::HandoffIndex,
    /// Groups started so far (to name them).
    pub groups: usize,
    /// Steps started so far per call site (for idempotency keys).
    pub occurrences: HashMap<String, u32>,
    /// Steps started so far (for [`super::limits::Limits::max_steps`]).
    pub steps_started: u64,
    /// Parallel branches alive now, over every group.
    pub branches_alive: u64,
    /// Why unfinished steps are being dropped right now, and whether it is
    /// a timeout (read by [`Abandoned`](super::step::Abandoned) guards).
    pub abandon: Option<(bool, String)>,
    /// Approvals waiting for a person now.
    pub pending: Vec<super::record::ApprovalWait>,
    /// Decisions journalled so far.
    pub decisions: Vec<super::record::ApprovalDecision>,
    /// Set when the run suspended (see [`super::suspend`]).
    pub sealed: Option<super::suspend::SealedAt>,
}

/// Where a statement runs.
#[derive(Clone, Copy)]
pub struct Place<'p> {
    /// The workflow being run.
    pub workflow: &'p str,
    /// Whether inside a parallel branch (failures go to the gate).
    pub in_group: bool,
}

/// The interpreter for one run.
pub struct Engine<'p> {
    pub(super) playbook: &'p Playbook,
    pub(super) coordinator: Option<&'p Coordinator>,
    pub(super) agents: HashMap<&'p str, &'p Agent>,
    pub(super) workflows: HashMap<&'p str, &'p Workflow>,
    /// Names that bind a step's result somewhere in the playbook: only a
    /// path rooted at one of them hands a step's result on.
    pub(super) step_names: std::collections::HashSet<&'p str>,
    pub(super) backend: Arc<dyn AgentBackend>,
    pub(super) run_id: Arc<str>,
    pub(super) signal: String,
    pub(super) origin: SystemTime,
    /// The run's clock (see [`super::effects::Timers`]).
    pub(super) timers: Arc<dyn super::effects::Timers>,
    pub(super) log: Mutex<Log>,
    pub(super) slots: HashMap<&'p str, Arc<Semaphore>>,
    /// The coordinator's `max_concurrent`: agent tasks running at once.
    pub(super) global_slots: Option<Arc<Semaphore>>,
    pub(super) locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    pub(super) cancel: CancellationToken,
    pub(super) recorder: Option<Arc<dyn Recorder>>,
    /// The recorder's seal, set when the run suspends.
    pub(super) seal: Option<Arc<super::suspend::Sealable>>,
    /// The playbook's source, for step positions (idempotency keys).
    pub(super) source: Option<&'p crate::source::SourceFile>,
    /// The run's scale limits.
    pub(super) limits: super::limits::Limits,
    /// Each `parallel` group's name (`gate.group`), by where it starts.
    pub(super) group_names: HashMap<usize, String>,
    /// Where each task call is written, by its start offset (step ids).
    pub(super) sites: HashMap<usize, crate::analysis::targets::Site>,
}

impl<'p> Engine<'p> {
    /// A new engine for one run.
    pub fn new(
        playbook: &'p Playbook,
        backend: Arc<dyn AgentBackend>,
        run_id: String,
        signal: String,
        origin: SystemTime,
        cancel: CancellationToken,
        recorder: Option<Arc<dyn Recorder>>,
    ) -> Self {
        let agents: HashMap<&str, &Agent> = playbook
            .agents()
            .map(|a| (a.name.name.as_str(), a))
            .collect();
        let slots = agents
            .iter()
            .filter_map(|(name, agent)| {
                agent.settings.iter().find_map(|s| match s {
                    Setting::MaxConcurrent(n) => Some((
                        *name,
                        Arc::new(Semaphore::new(n.value.clamp(1, 64) as usize)),
                    )),
                    _ => None,
                })
            })
            .collect();
        let locks = playbook
            .locks()
            .map(|l| (l.name.name.clone(), Arc::new(tokio::sync::Mutex::new(()))))
            .collect();
        let group_names = playbook
            .workflows()
            .flat_map(|w| crate::analysis::scope::group_names(&w.name.name, &w.body))
            .collect();
        let seal = recorder.map(|r| Arc::new(super::suspend::Sealable::new(r)));
        let recorder = seal.clone().map(|s| s as Arc<dyn Recorder>);
        Engine {
            group_names,
            playbook,
            coordinator: playbook.coordinators().next(),
            agents,
            workflows: playbook
                .workflows()
                .map(|w| (w.name.name.as_str(), w))
                .collect(),
            step_names: super::assignment::step_names(playbook),
            backend,
            run_id: run_id.into(),
            signal,
            origin,
            timers: Arc::new(super::effects::TokioTimers::starting_now()),
            log: Mutex::new(Log {
                taken: Vec::new(),
                events: Recorded::new(recorder.clone(), |e| Entry::Event(e.clone())),
                steps: Recorded::new(recorder.clone(), |s| Entry::Step(s.clone())),
                gates: Recorded::new(recorder.clone(), |g| Entry::Gate(g.clone())),
                handoffs: Vec::new(),
                handoff_index: Default::default(),
                groups: 0,
                occurrences: HashMap::new(),
                steps_started: 0,
                branches_alive: 0,
                abandon: None,
                pending: Vec::new(),
                decisions: Vec::new(),
                sealed: None,
            }),
            slots,
            global_slots: playbook.coordinators().next().and_then(|c| {
                c.settings.iter().find_map(|s| match s {
                    Setting::MaxConcurrent(n) => {
                        Some(Arc::new(Semaphore::new(n.value.clamp(1, 64) as usize)))
                    }
                    _ => None,
                })
            }),
            locks,
            cancel,
            recorder,
            seal,
            source: None,
            limits: Default::default(),
            sites: crate::analysis::targets::sites(playbook),
        }
    }

    /// Milliseconds since the run began, on the run's clock.
    pub fn now_ms(&self) -> u64 {
        self.timers.now_ms()
    }

    /// Waits `ms` on the run's clock.
    pub async fn sleep(&self, ms: u64) {
        let at = self.now_ms().saturating_add(ms);
        self.timers.sleep_until(at).await;
    }

    /// `work`'s output, or `None` when `ms` pass first on the run's clock
    /// (`work` is polled first, as `tokio::time::timeout` does).
    pub async fn within<F: std::future::Future>(&self, ms: u64, work: F) -> Option<F::Output> {
        let at = self.now_ms().saturating_add(ms);
        self.until(at, work).await
    }

    /// `work`'s output, or `None` when the run's clock reaches `at_ms` first.
    pub async fn until<F: std::future::Future>(&self, at_ms: u64, work: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = work => Some(out),
            () = self.timers.sleep_until(at_ms) => None,
        }
    }

    /// RFC 3339 time of `ms` after the start.
    pub fn timestamp(&self, ms: u64) -> String {
        let at = self.origin + std::time::Duration::from_millis(ms);
        humantime::format_rfc3339_seconds(at).to_string()
    }

    /// RFC 3339 time, with milliseconds, of `ms` after the start.
    pub fn timestamp_millis(&self, ms: u64) -> String {
        let at = self.origin + std::time::Duration::from_millis(ms);
        humantime::format_rfc3339_millis(at).to_string()
    }

    /// Records a step that did not run because its guard was false.
    pub fn skipped(&self, name: &str, kind: &str) {
        self.event(EventKind::Skip, Some(name), "guard is false");
        let now = self.now_ms();
        self.with_log(|log| {
            log.steps.push(StepRecord {
                id: None,
                name: name.to_string(),
                kind: kind.to_string(),
                agent: None,
                task: None,
                outcome: super::result::StepOutcome::Skipped,
                critical: false,
                started_ms: now,
                duration_ms: 0,
                attempts: Vec::new(),
                outputs: Map::new(),
                simulated: false,
            });
        });
    }

    /// Runs `body`, bounded by `limit_ms` when given. On timeout the steps
    /// still running are recorded as timed out, and `None` is returned.
    pub async fn bounded<'f>(
        &self,
        limit_ms: Option<u64>,
        what: &str,
        body: BoxFuture<'f, Flow>,
    ) -> Option<Flow> {
        let Some(limit) = limit_ms else {
            return Some(body.await);
        };
        let mut body = body;
        match self.within(limit, &mut body).await {
            Some(flow) => Some(flow),
            None => {
                let reason = format!(
                    "{what} timeout of {}",
                    crate::analysis::policy::format_duration(limit)
                );
                self.with_log(|log| log.abandon = Some((true, reason)));
                drop(body);
                self.with_log(|log| log.abandon = None);
                None
            }
        }
    }

    /// Runs `f` with the log locked (never across an await).
    pub fn with_log<T>(&self, f: impl FnOnce(&mut Log) -> T) -> T {
        let mut guard = match self.log.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Hands `entry` to the run's recorder (in order with the log's own
    /// entries).
    pub fn note(&self, entry: Entry) {
        if let Some(r) = &self.recorder {
            self.with_log(|_| r.record(&entry));
        }
    }

    /// Records that the run took the `if` arm, handler or rule at `offset`.
    pub fn took(&self, offset: usize) {
        self.with_log(|log| log.taken.push(offset));
    }

    /// Appends an event to the log.
    pub fn event(&self, kind: EventKind, step: Option<&str>, detail: impl Into<String>) {
        let at_ms = self.now_ms();
        let detail = detail.into();
        tracing::debug!(at_ms, ?kind, step, %detail, "event");
        self.with_log(|log| {
            log.events.push(Event {
                at_ms,
                kind,
                step: step.map(str::to_string),
                detail,
            });
        });
    }

    /// The coordinator's name, or `COORDINATOR`.
    pub fn coordinator_name(&self) -> String {
        self.coordinator
            .map_or_else(|| "COORDINATOR".to_string(), |c| c.name.name.clone())
    }

    /// Runs a block; stops at the first terminal statement.
    pub fn block<'a>(
        &'a self,
        block: &'a Block,
        scope: &'a mut Scope,
        place: Place<'a>,
    ) -> BoxFuture<'a, Flow> {
        async move {
            for stmt in &block.stmts {
                if self.cancel.is_cancelled() {
                    return Flow::Stop(Terminal::Aborted {
                        reason: "interrupted".to_string(),
                    });
                }
                if let Flow::Stop(t) = self.stmt(stmt, scope, place).await {
                    return Flow::Stop(t);
                }
            }
            Flow::Continue
        }
        .boxed()
    }

    /// Runs one statement.
    pub fn stmt<'a>(
        &'a self,
        stmt: &'a Stmt,
        scope: &'a mut Scope,
        place: Place<'a>,
    ) -> BoxFuture<'a, Flow> {
        async move {
            match stmt {
                Stmt::Call(c) => {
                    let (outcome, flow) = self.call_step(c, scope, place).await;
                    if let Some(binding) = &c.binding {
                        scope.bind(&binding.name, outcome.binding_value());
                    }
                    flow
                }
                Stmt::Run(r) => self.run_stmt(r, scope, place).await,
                Stmt::Let(l) => {
                    let value = eval(&l.value, scope);
                    scope.bind(&l.name.name, value);
                    Flow::Continue
                }
                Stmt::If(i) => {
                    for branch in &i.branches {
                        if holds(&branch.condition, scope) {
                            self.took(branch.block.span.start);
                            return self.block(&branch.block, scope, place).await;
                        }
                    }
                    match &i.else_block {
                        Some(block) => {
                            self.took(block.span.start);
                            self.block(block, scope, place).await
                        }
                        None => Flow::Continue,
                    }
                }
                Stmt::Parallel(p) => self.parallel(p, scope, place).await,
                Stmt::Exclusive(x) => {
                    let lock = self.locks.get(&x.lock.name).cloned();
                    let _guard = match &lock {
                        Some(lock) => Some(lock.lock().await),
                        None => None,
                    };
                    self.block(&x.body, scope, place).await
                }
                Stmt::Approve(a) => self.approve(a, scope, place).await,
                Stmt::Abort(a) => Flow::Stop(Terminal::Aborted {
                    reason: interpolate(&a.reason, scope),
                }),
                Stmt::Fail(f) => Flow::Stop(Terminal::Failed {
                    message: interpolate(&f.message, scope),
                }),
                Stmt::Escalate(e) => Flow::Stop(self.escalation(e, scope, None)),
                Stmt::Complete(c) => {
                    let payload = match c.payload.as_ref().map(|p| eval(p, scope)) {
                        Some(Value::Object(map)) => map,
                        _ => Map::new(),
                    };
                    Flow::Stop(Terminal::Complete {
                        summary: c.summary.as_ref().map(|s| interpolate(s, scope)),
                        payload,
                        next: c.next.as_ref().map(|s| interpolate(s, scope)),
                    })
                }
            }
        }
        .boxed()
    }

    fn run_stmt<'a>(
        &'a self,
        r: &'a crate::ast::RunStmt,
        scope: &'a mut Scope,
        place: Place<'a>,
    ) -> BoxFuture<'a, Flow> {
        async move {
            let Some(workflow) = self.workflows.get(r.workflow.name.as_str()).copied() else {
                return Flow::Stop(Terminal::Failed {
                    message: format!("workflow `{}` does not exist", r.workflow.name),
                });
            };
            let skip = r.options.iter().find_map(|o| match o {
                crate::ast::StepOption::When(e) => Some(!holds(e, scope)),
                _ => None,
            });
            if skip == Some(true) {
                let name = r
                    .binding
                    .as_ref()
                    .map_or_else(|| format!("run {}", r.workflow.name), |b| b.name.clone());
                self.skipped(&name, "workflow");
                return Flow::Continue;
            }
            let mut inner = Scope::default();
            if let Some(signal) = scope.get("signal") {
                inner.bind("signal", signal.clone());
            }
            // `lock` and `timeout` apply to the whole sub-workflow.
            let mut guards = Vec::new();
            for option in &r.options {
                if let crate::ast::StepOption::Lock(lock) = option {
                    if let Some(l) = self.locks.get(&lock.name) {
                        guards.push(l.clone().lock_owned().await);
                    }
                }
            }
            let body = self.block(
                &workflow.body,
                &mut inner,
                Place {
                    workflow: &workflow.name.name,
                    in_group: place.in_group,
                },
            );
            let limit = crate::analysis::policy::option_timeout(&r.options).map(|t| t.millis);
            let flow = match self.bounded(limit, "run", body).await {
                Some(flow) => flow,
                None => {
                    let limit = crate::analysis::policy::format_duration(limit.unwrap_or_default());
                    self.event(
                        EventKind::Timeout,
                        Some(&r.workflow.name),
                        format!("run timed out after {limit}"),
                    );
                    Flow::Stop(Terminal::Failed {
                        message: format!("`run {}` timed out after {limit}", r.workflow.name),
                    })
                }
            };
            drop(guards);
            match flow {
                Flow::Stop(Terminal::Complete { payload, .. }) => {
                    if let Some(b) = &r.binding {
                        scope.bind(&b.name, Value::Object(payload));
                    }
                    Flow::Continue
                }
                Flow::Continue => Flow::Continue,
                other => other,
            }
        }
        .boxed()
    }
}
