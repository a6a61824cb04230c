//! The interpreter: runs a signal through a playbook against a backend.
//!
//! ```text
//! signal + context ─▶ routing ─▶ workflow / fast-path task / ignore / escalate
//!                                  │
//!                    steps, groups, approvals ─▶ AgentBackend (simulated, process, …)
//!                                  │
//!                               RunResult (status, payload, steps, gates, escalation, events)
//! ```
//!
//! The interpreter has no dry-run branches: a dry run is the simulated
//! backend on tokio's paused clock.

mod abandoned;
mod approval;
mod assignment;
mod attempt;
pub mod backend;
pub mod config;
pub mod context;
pub mod effects;
mod engine;
pub mod eval;
pub mod gate;
mod group;
pub mod http;
pub mod limits;
pub mod outputs;
mod placeholders;
pub mod process;
pub mod protocol;
pub mod reach;
mod read_fields;
pub mod record;
pub mod replay;
pub mod reply;
pub mod result;
mod retry;
pub mod routing;
pub mod routing_backend;
mod rules;
pub mod simulated;
mod step;
mod suspend;

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::analysis::scope::{self, Object, Site};
use crate::ast::{CallStmt, Playbook, RouteTarget, Span};
use crate::source::SourceFile;

use backend::AgentBackend;
use engine::{Engine, Flow, Place, Terminal};
use eval::Scope;
use result::{EventKind, RunResult, RunStatus, StepOutcome};

/// What to run.
pub struct RunRequest<'a> {
    /// The playbook (checked clean beforehand).
    pub playbook: &'a Playbook,
    /// Its source, for explaining route guards.
    pub source: Option<&'a SourceFile>,
    /// The signal's name.
    pub signal: String,
    /// The signal's context (see [`context::build`]).
    pub context: Map<String, Value>,
    /// Identifier of the run.
    pub run_id: String,
    /// The wall-clock time the run starts at (virtual in dry runs).
    pub now: SystemTime,
}

/// Runs one signal to the end. Cancelling `cancel` aborts the run; the
/// result still lists every step that finished.
pub async fn run(
    request: RunRequest<'_>,
    backend: Arc<dyn AgentBackend>,
    cancel: CancellationToken,
) -> RunResult {
    run_recorded(request, backend, cancel, None).await
}

/// Runs one signal to the end with `effects` (see [`effects`]).
pub async fn run_with(request: RunRequest<'_>, effects: effects::Effects) -> RunResult {
    run_engine(request, effects, limits::Limits::default()).await
}

/// [`run`], handing every entry of the run to `recorder` as it happens:
/// the start, the route, each event, attempt, step and gate, and the end.
pub async fn run_recorded(
    request: RunRequest<'_>,
    backend: Arc<dyn AgentBackend>,
    cancel: CancellationToken,
    recorder: Option<Arc<dyn record::Recorder>>,
) -> RunResult {
    run_limited(
        request,
        backend,
        cancel,
        recorder,
        limits::Limits::default(),
    )
    .await
}

/// [`run_recorded`] held to `limits` instead of the default ones.
pub async fn run_limited(
    request: RunRequest<'_>,
    backend: Arc<dyn AgentBackend>,
    cancel: CancellationToken,
    recorder: Option<Arc<dyn record::Recorder>>,
    limits: limits::Limits,
) -> RunResult {
    let effects = effects::Effects {
        backend,
        recorder,
        cancel,
        timers: None,
    };
    run_engine(request, effects, limits).await
}

/// Runs `request` through `effects`, held to `limits`.
async fn run_engine(
    request: RunRequest<'_>,
    effects: effects::Effects,
    limits: limits::Limits,
) -> RunResult {
    let cancel = effects.cancel;
    let mut engine = Engine::new(
        request.playbook,
        effects.backend,
        request.run_id.clone(),
        request.signal.clone(),
        request.now,
        cancel.clone(),
        effects.recorder,
    );
    if let Some(timers) = effects.timers {
        engine.timers = timers;
    }
    engine.source = request.source;
    engine.limits = limits;
    engine.note(record::Entry::Start(record::RunStart {
        run_id: request.run_id.clone(),
        coordinator: engine.coordinator_name(),
        signal: request.signal.clone(),
        context: request.context.clone(),
        started_at: engine.timestamp(0),
        quality_gate: crate::analysis::policy::default_gate(engine.coordinator),
        agents: request
            .playbook
            .agents()
            .map(|a| a.name.name.clone())
            .collect(),
        version: record::JOURNAL_VERSION,
        started_unix_ms: request
            .now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        playbook: None,
        backends: None,
        cwd: None,
    }));
    let mut scope = Scope::default();
    scope.bind("signal", Value::Object(request.context.clone()));
    let (chosen, _) = routing::choose(request.playbook, &request.signal, &scope, request.source);
    let route = chosen.map(|(index, route)| routing::choice(index, route));
    if let Some(r) = &route {
        engine.note(record::Entry::Route(r.clone()));
        engine.event(
            EventKind::Route,
            None,
            format!("{} -> {}", r.pattern, r.target),
        );
        scope.bind(
            "route",
            Value::String(
                r.label
                    .clone()
                    .map_or_else(|| r.target.clone(), |l| format!("route `{l}`")),
            ),
        );
    }
    let terminal = match chosen.map(|(_, r)| &r.target) {
        None | Some(RouteTarget::Ignore { .. }) => None,
        Some(target) => {
            let work = run_target(&engine, target, &mut scope);
            tokio::select! {
                biased;
                () = cancel.cancelled() => Some(Terminal::Aborted { reason: "interrupted".to_string() }),
                t = work => Some(t),
            }
        }
    };
    finish(engine, request, route, terminal)
}

async fn run_target<'p>(
    engine: &Engine<'p>,
    target: &'p RouteTarget,
    scope: &mut Scope,
) -> Terminal {
    match target {
        RouteTarget::Workflow(w) => {
            let Some(workflow) = engine.workflows.get(w.name.as_str()).copied() else {
                return Terminal::Failed {
                    message: format!("workflow `{}` does not exist", w.name),
                };
            };
            let place = Place {
                workflow: &workflow.name.name,
                in_group: false,
            };
            let body = engine.block(&workflow.body, scope, place);
            let limit = workflow.timeout.as_ref().map(|t| t.millis);
            let Some(flow) = engine.bounded(limit, "workflow", body).await else {
                let limit = crate::analysis::policy::format_duration(limit.unwrap_or_default());
                engine.event(
                    EventKind::Timeout,
                    Some(&workflow.name.name),
                    format!("workflow timeout of {limit}"),
                );
                let step = scope::build(Object::Step, Site::WorkflowTimeout, |field| match field {
                    "name" => json!(workflow.name.name),
                    "target" => json!(format!("workflow {}", workflow.name.name)),
                    "kind" => json!("timeout"),
                    "critical" => json!(true),
                    "error" => json!(format!("workflow timed out after {limit}")),
                    "timeout" | "duration" => json!(limit),
                    _ => Value::Null,
                });
                let rule_scope = scope.with("step", step);
                return engine
                    .apply_rules(&["timeout"], "timeout", &rule_scope)
                    .await
                    .unwrap_or(Terminal::Failed {
                        message: format!(
                            "workflow `{}` timed out after {limit}",
                            workflow.name.name
                        ),
                    });
            };
            match flow {
                Flow::Stop(t) => t,
                Flow::Continue => Terminal::Complete {
                    summary: None,
                    payload: Map::new(),
                    next: None,
                },
            }
        }
        RouteTarget::Task(call) => {
            let step = CallStmt {
                binding: None,
                call: call.clone(),
                options: Vec::new(),
                span: Span::default(),
            };
            let (result, flow) = engine
                .call_step(
                    &step,
                    scope,
                    Place {
                        workflow: "fast path",
                        in_group: false,
                    },
                )
                .await;
            match flow {
                Flow::Stop(t) => t,
                Flow::Continue => Terminal::Complete {
                    summary: Some(format!(
                        "Fast path: {}.{} done.",
                        call.agent.name, call.task.name
                    )),
                    payload: result.outputs,
                    next: None,
                },
            }
        }
        RouteTarget::Escalate(e) => engine.escalation(e, scope, None),
        RouteTarget::Ignore { .. } => Terminal::Complete {
            summary: None,
            payload: Map::new(),
            next: None,
        },
    }
}

fn finish(
    engine: Engine<'_>,
    request: RunRequest<'_>,
    route: Option<result::RouteChoice>,
    terminal: Option<Terminal>,
) -> RunResult {
    let sealed = engine.with_log(|log| log.sealed);
    let duration_ms = sealed.map_or_else(|| engine.now_ms(), |s| s.at_ms);
    let terminal = match sealed {
        Some(_) => Some(Terminal::Waiting),
        None => terminal,
    };
    let (status, summary, payload, next_steps, escalation) = match terminal {
        None => (
            RunStatus::Ignored,
            format!(
                "{} is not handled by {}: IGNORED.",
                request.signal,
                engine.coordinator_name()
            ),
            Map::new(),
            None,
            None,
        ),
        Some(Terminal::Complete {
            summary,
            payload,
            next,
        }) => {
            let partial = engine.with_log(|log| {
                log.gates
                    .iter()
                    .any(|g| (g.passed && g.failures > 0) || !g.cancelled.is_empty())
            });
            let status = if partial {
                RunStatus::Partial
            } else {
                RunStatus::Complete
            };
            (
                status,
                summary.unwrap_or_else(|| "Workflow finished.".to_string()),
                payload,
                next,
                None,
            )
        }
        Some(Terminal::Failed { message }) => (RunStatus::Failed, message, Map::new(), None, None),
        Some(Terminal::Limit { code, message }) => (
            RunStatus::Failed,
            format!("{message} [{code}]"),
            Map::new(),
            None,
            None,
        ),
        Some(Terminal::Aborted { reason }) => (
            RunStatus::Aborted,
            format!("Aborted: {reason}"),
            Map::new(),
            None,
            None,
        ),
        Some(Terminal::Waiting) => {
            let names = engine.with_log(|log| {
                log.pending
                    .iter()
                    .map(|w| format!("`{}`", w.name))
                    .collect::<Vec<_>>()
            });
            (
                RunStatus::Waiting,
                format!("Waiting for a decision on approval {}.", names.join(", ")),
                Map::new(),
                None,
                None,
            )
        }
        Some(Terminal::Escalated(record)) => (
            RunStatus::Escalated,
            format!("Escalated to {}: {}", record.reports_to, record.title),
            Map::new(),
            None,
            Some(*record),
        ),
    };
    let kind = match status {
        RunStatus::Complete | RunStatus::Partial | RunStatus::Ignored => EventKind::Complete,
        RunStatus::Failed => EventKind::Failure,
        RunStatus::Escalated => EventKind::Escalate,
        RunStatus::Aborted | RunStatus::Unfinished | RunStatus::Waiting => EventKind::Abort,
    };
    engine.event(
        kind,
        None,
        format!("{}: {summary}", status.word().to_uppercase()),
    );
    let coordinator = engine.coordinator_name();
    let quality_gate = crate::analysis::policy::default_gate(engine.coordinator);
    let started_at = engine.timestamp(0);
    let recorder = engine.recorder.clone();
    let mut log = engine.log.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(at) = sealed {
        // What the journal does not hold, the result does not either.
        log.events.truncate(at.events);
        log.steps.truncate(at.steps);
        log.gates.truncate(at.gates);
        log.handoffs.truncate(at.handoffs);
    } else {
        log.pending.clear();
    }
    let mut steps = log.steps.into_vec();
    steps.sort_by_key(|s| s.started_ms);
    let result = RunResult {
        run_id: request.run_id,
        coordinator,
        signal: request.signal,
        context: request.context,
        route,
        status,
        started_at,
        duration_ms,
        summary,
        payload,
        next_steps,
        steps,
        gates: log.gates.into_vec(),
        quality_gate,
        escalation,
        events: log.events.into_vec(),
        handoffs: log.handoffs,
        waiting_for: log.pending,
        decisions: log.decisions,
        taken: result::Taken(log.taken),
    };
    if let Some(r) = recorder {
        r.record(&record::Entry::End(Box::new(result.clone())));
    }
    result
}

/// Whether any step of the run did not succeed (for reports).
pub fn had_failures(result: &RunResult) -> bool {
    result
        .steps
        .iter()
        .any(|s| !matches!(s.outcome, StepOutcome::Success | StepOutcome::Skipped))
}

/// Runs `request` on the simulated backend and tokio's paused clock: the
/// dry run. `setup` runs inside the runtime first (e.g. to watch Ctrl-C with
/// the run's cancellation token). A scenario's `interrupt_after` cancels the
/// run at that virtual time.
pub fn simulate(
    request: RunRequest<'_>,
    scenario: simulated::Scenario,
    recorder: Option<Arc<dyn record::Recorder>>,
    setup: impl FnOnce(&CancellationToken),
) -> Result<RunResult, String> {
    let interrupt_after = scenario.interrupt_after_ms();
    let backend = Arc::new(simulated::SimulatedBackend::new(request.playbook, scenario));
    let runtime = effects::runtime(effects::Clock::Virtual)?;
    let cancel = CancellationToken::new();
    Ok(runtime.block_on(async {
        setup(&cancel);
        if let Some(ms) = interrupt_after {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                cancel.cancel();
            });
        }
        // Unconstrained: on the paused clock thousands of simulated calls
        // wake at the same instant; tokio's cooperative budget would make
        // them pend and be polled again, more often the wider the fan-out.
        tokio::task::unconstrained(run_recorded(request, backend, cancel.clone(), recorder)).await
    }))
}
