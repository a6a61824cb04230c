//! Replay: re-running the interpreter against a run's journal.
//!
//! The interpreter is a deterministic function of the playbook, the signal
//! and what its effects answered, and when. [`ReplayBackend`] sits in front
//! of the real backend and answers every attempt and approval the journal
//! recorded with its recorded answer at its recorded time, on tokio's
//! paused clock, so the interpreter takes the recorded path in no real time.
//! The first effect the journal holds no answer for is the **horizon**:
//! there the layer waits (virtually) until the journal's last recorded
//! time, so every recorded answer is delivered first, then moves the clock
//! to the wall clock's "now" once and lets it run for real
//! (`tokio::time::advance`, then `resume`): deadlines, retry delays and
//! approval timeouts keep their original instants across the downtime. From
//! there on effects go to the real backend, with the same idempotency keys.
//!
//! In check mode (`coordops test --replay`, and the divergence report of
//! `coordops resume --allow-changed`) there is no real backend: reaching
//! the horizon ends the run, and an effect the journal does not explain is
//! a [`Divergence`]. See docs/durability.md.

pub mod compare;
mod dedupe;
pub mod history;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backend::TaskRequest;
use super::backend::{
    AgentBackend, ApprovalRequest, Approver, Decision, Reply, StepId, TaskOutcome,
};
use super::record::{ApprovalDecision, AttemptEnd};

pub use dedupe::Appending;
pub use history::History;

/// Where the current playbook leaves the recorded history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The step of the current playbook, when the effect belongs to one
    /// written in a workflow (for its source span).
    pub step: Option<StepId>,
    /// `step` or `approval`.
    pub kind: &'static str,
    /// The step's or approval's name.
    pub name: String,
    /// What the current playbook does there.
    pub now: String,
    /// What the journal recorded there.
    pub recorded: String,
}

impl Divergence {
    /// What differs: ``KIND `NAME` (STEP ID)``.
    pub fn subject(&self) -> String {
        let id = self
            .step
            .as_ref()
            .map_or_else(String::new, |s| format!(" ({})", s.id()));
        format!("{} `{}`{id}", self.kind, self.name)
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: now {}; recorded: {}",
            self.subject(),
            self.now,
            self.recorded
        )
    }
}

/// What the replay does at the horizon.
pub enum Mode {
    /// `coordops resume`: go live with this backend.
    Resume(Arc<dyn AgentBackend>),
    /// Check only: stop the run at the horizon. `complete` when the
    /// journal recorded the run's end, so any effect it lacks diverges;
    /// otherwise an effect it lacks once every recorded answer was used is
    /// the horizon, not a divergence.
    Check {
        /// Whether the journal recorded the run's end.
        complete: bool,
    },
}

/// The replay layer: answers from the journal, then (in resume mode) the
/// real backend. Build it inside the paused runtime, just before the run
/// starts: the run's virtual time 0 is its creation.
pub struct ReplayBackend {
    history: Arc<History>,
    mode: Mode,
    start: Instant,
    origin: SystemTime,
    cancel: CancellationToken,
    simulated_agents: BTreeSet<String>,
    live: AtomicBool,
    switched: tokio::sync::OnceCell<()>,
    used: Mutex<Used>,
}

#[derive(Default)]
struct Used {
    attempts: HashSet<(String, u32)>,
    decisions: HashMap<String, usize>,
    /// The recorded decision entry each approval was last answered with.
    replayed: HashMap<String, ApprovalDecision>,
    divergence: Option<Divergence>,
    horizon: bool,
    keys: history::ReplayKeys,
}

impl ReplayBackend {
    /// A replay of `history` for a run that began at `origin` on the wall
    /// clock; `cancel` is the run's token (check mode cancels the run at
    /// the horizon). Replies for agents in `simulated_agents` are marked
    /// simulated, as the routing backend marked them. Build it inside a
    /// runtime from [`super::effects::runtime`] with
    /// [`Clock::Virtual`](super::effects::Clock::Virtual): resume mode
    /// moves that paused clock to real time at the horizon.
    pub fn new(
        history: Arc<History>,
        mode: Mode,
        origin: SystemTime,
        cancel: CancellationToken,
        simulated_agents: BTreeSet<String>,
    ) -> ReplayBackend {
        ReplayBackend {
            history,
            mode,
            start: Instant::now(),
            origin,
            cancel,
            simulated_agents,
            live: AtomicBool::new(false),
            switched: tokio::sync::OnceCell::new(),
            used: Mutex::new(Used::default()),
        }
    }

    /// The first divergence found, if any.
    pub fn divergence(&self) -> Option<Divergence> {
        crate::sync::lock(&self.used).divergence.clone()
    }

    /// Whether the replay reached the horizon (an effect the journal holds
    /// no answer for).
    pub fn reached_horizon(&self) -> bool {
        crate::sync::lock(&self.used).horizon
    }

    /// Whether the clock runs for real now.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Recorded answers (attempts and decisions) the run has not asked for.
    fn unused(&self) -> usize {
        let used = crate::sync::lock(&self.used);
        let attempts = self
            .history
            .attempts
            .iter()
            .filter(|(k, a)| a.end.is_some() && !used.attempts.contains(k))
            .count();
        let decisions: usize = self
            .history
            .decisions
            .iter()
            .map(|(name, q)| {
                q.len()
                    .saturating_sub(used.decisions.get(name).copied().unwrap_or(0))
            })
            .sum();
        attempts + decisions
    }

    fn diverge(&self, divergence: Divergence) {
        let mut used = crate::sync::lock(&self.used);
        if used.divergence.is_none() {
            used.divergence = Some(divergence);
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Waits for the horizon: every recorded answer delivered. Then, in
    /// resume mode, moves to the real clock and returns the real backend;
    /// in check mode records what was found and never returns.
    /// `certain`: the effect contradicts the journal (another agent or
    /// task where it recorded one), a divergence even past the horizon.
    async fn horizon(&self, unexplained: Divergence, certain: bool) -> Arc<dyn AgentBackend> {
        self.wait_for_horizon().await;
        match &self.mode {
            Mode::Resume(inner) => {
                self.switch().await;
                Arc::clone(inner)
            }
            Mode::Check { complete } => {
                if certain || *complete || self.unused() > 0 {
                    self.diverge(unexplained);
                } else {
                    crate::sync::lock(&self.used).horizon = true;
                }
                self.cancel.cancel();
                std::future::pending().await
            }
        }
    }

    /// In resume mode, goes live when the virtual clock reaches the
    /// journal's last recorded time (spawn it beside the run): from there
    /// on nothing recorded is left to deliver, so retry delays and timeouts
    /// still running wait out what is left of them on the real clock
    /// rather than the paused clock jumping over them.
    pub async fn go_live_at_horizon(&self) {
        if !matches!(self.mode, Mode::Resume(_)) {
            return;
        }
        self.wait_for_horizon().await;
        self.switch().await;
    }

    /// Waits (virtually) until the journal's last recorded time, and lets
    /// answers due at that very instant land first.
    async fn wait_for_horizon(&self) {
        if self.is_live() {
            return;
        }
        tokio::time::sleep_until(self.at(self.history.last_ms)).await;
        for _ in 0..32 {
            tokio::task::yield_now().await;
        }
    }

    /// Moves the paused clock to the wall clock's now and lets it run (once).
    async fn switch(&self) {
        self.switched
            .get_or_init(|| async {
                let virtual_elapsed = self.start.elapsed();
                let wall_elapsed = SystemTime::now()
                    .duration_since(self.origin)
                    .unwrap_or_default();
                tokio::time::advance(wall_elapsed.saturating_sub(virtual_elapsed)).await;
                tokio::time::resume();
                self.live.store(true, Ordering::Release);
                tracing::debug!(
                    downtime_ms =
                        u64::try_from(wall_elapsed.saturating_sub(virtual_elapsed).as_millis())
                            .unwrap_or(u64::MAX),
                    "replay reached the horizon: the clock runs for real"
                );
            })
            .await;
    }

    /// Answers with a recorded attempt end, at its time (but before the
    /// attempt's own deadline: without the interpreter's own computing
    /// time, the replay's clock reads a little earlier than the recorded
    /// one, and so does the deadline).
    async fn answer(
        &self,
        end: &AttemptEnd,
        agent: &str,
        called: Instant,
        timeout: Duration,
    ) -> Reply {
        let outcome = match end.outcome.as_str() {
            "success" => TaskOutcome::Success(end.outputs.clone()),
            "failure" => TaskOutcome::Failure {
                kind: end.kind.clone().unwrap_or_default(),
                message: end.message.clone().unwrap_or_default(),
            },
            // A timeout or an abort: the interpreter's own timer or cancel
            // ends it again.
            _ => std::future::pending().await,
        };
        if !self.is_live() {
            let latest = called + timeout.saturating_sub(Duration::from_millis(1));
            tokio::time::sleep_until(self.at(end.at_ms).min(latest)).await;
        }
        // Built from the outcome, so fields other backends add keep their
        // defaults.
        let mut reply = Reply::from(outcome);
        reply.stderr_tail.clone_from(&end.stderr);
        reply.simulated = self.simulated_agents.contains(agent);
        reply.retry_after = end.retry_after_ms.map(Duration::from_millis);
        reply
    }
}

#[async_trait]
impl AgentBackend for ReplayBackend {
    async fn call(&self, mut request: TaskRequest) -> Reply {
        let called = Instant::now();
        let target = format!("{}.{}", request.agent, request.task);
        let key = crate::sync::lock(&self.used).keys.key(
            request.step.as_ref().map(StepId::id).as_deref(),
            &target,
            &request.idempotency_key,
        );
        let name = match &request.step {
            Some(s) => s
                .binding
                .as_deref()
                .map_or_else(|| target.clone(), str::to_string),
            None => target.clone(),
        };
        let recorded = self.history.attempt(&key, request.attempt);
        let certain =
            recorded.is_some_and(|r| format!("{}.{}", r.start.agent, r.start.task) != target);
        let unexplained = match recorded {
            Some(r) if certain => Divergence {
                step: request.step.clone(),
                kind: "step",
                name,
                now: format!("calls {target} (attempt {})", request.attempt),
                recorded: format!(
                    "{}.{} (attempt {}) at +{}ms",
                    r.start.agent, r.start.task, r.start.attempt, r.start.at_ms
                ),
            },
            Some(r) => {
                if let Some(end) = &r.end {
                    crate::sync::lock(&self.used)
                        .attempts
                        .insert((key, request.attempt));
                    return self
                        .answer(end, &request.agent, called, request.timeout)
                        .await;
                }
                Divergence {
                    step: request.step.clone(),
                    kind: "step",
                    name,
                    now: format!("waits for {target} (attempt {})", request.attempt),
                    recorded: "the attempt sent, never answered".to_string(),
                }
            }
            None => Divergence {
                step: request.step.clone(),
                kind: "step",
                name,
                now: format!("calls {target} (attempt {})", request.attempt),
                recorded: "no such attempt".to_string(),
            },
        };
        // In flight when the run stopped: sent again with the key it was
        // sent with (lines added above its call since do not change it).
        if let Some(r) = recorded.filter(|_| !certain) {
            request.idempotency_key = history::attempt_key(&r.start).into();
        }
        let live = self.horizon(unexplained, certain).await;
        // In flight at the crash and already past its deadline: the
        // interpreter's timeout ends it; nothing is sent.
        if Instant::now() >= called + request.timeout {
            return std::future::pending().await;
        }
        live.call(request).await
    }

    async fn approve(&self, request: ApprovalRequest) -> Decision {
        let index = {
            let mut used = crate::sync::lock(&self.used);
            let n = used.decisions.entry(request.name.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let recorded = self
            .history
            .decisions
            .get(&request.name)
            .and_then(|q| q.get(index))
            .copied();
        if let Some(recorded) = recorded {
            let Some(decision) = recorded.decision else {
                return std::future::pending().await; // it timed out
            };
            // Decided at or after its deadline: the approval times out.
            if self
                .history
                .deadline(&request.name, index)
                .is_some_and(|deadline| recorded.at_ms >= deadline)
            {
                return std::future::pending().await;
            }
            if !self.is_live() {
                tokio::time::sleep_until(self.at(recorded.at_ms)).await;
            }
            let entry = self
                .history
                .decision_entries
                .iter()
                .find(|d| d.name == request.name && d.at_ms == recorded.at_ms);
            if let Some(entry) = entry {
                crate::sync::lock(&self.used)
                    .replayed
                    .insert(request.name.clone(), entry.clone());
            }
            return decision;
        }
        {
            // Not used after all: the horizon counts it as missing.
            let mut used = crate::sync::lock(&self.used);
            if let Some(n) = used.decisions.get_mut(&request.name) {
                *n -= 1;
            }
        }
        let live = self
            .horizon(
                Divergence {
                    step: None,
                    kind: "approval",
                    name: request.name.clone(),
                    now: "asks for an approval".to_string(),
                    recorded: "no decision".to_string(),
                },
                false,
            )
            .await;
        // An approval whose deadline passed during the downtime times out
        // now: let its timer land before a person is asked.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        live.approve(request).await
    }

    /// The live backend's: a resumed run that asks again (or anew) journals
    /// its waits and decisions as the run would have.
    fn approver(&self) -> Approver {
        match &self.mode {
            Mode::Resume(inner) => inner.approver(),
            Mode::Check { .. } => Approver::Unrecorded,
        }
    }

    fn replayed_decision(&self, name: &str) -> Option<ApprovalDecision> {
        crate::sync::lock(&self.used).replayed.remove(name)
    }

    fn reads_assignment(&self) -> bool {
        match &self.mode {
            Mode::Resume(inner) => inner.reads_assignment(),
            Mode::Check { .. } => false,
        }
    }
}

/// What a replay in check mode found.
#[derive(Debug)]
pub struct Checked {
    /// The replayed run's result (ABORTED when it stopped at the horizon or
    /// a divergence).
    pub result: super::result::RunResult,
    /// The first effect the journal does not explain.
    pub divergence: Option<Divergence>,
    /// Whether the replay got past every recorded answer to an effect the
    /// journal holds none for (an unfinished run's horizon).
    pub horizon: bool,
}

/// Replays `history` with `request` (the recorded run id, signal, context
/// and start time) without calling any agent, on a paused clock: `coordops
/// test --replay`, and the divergence report of `coordops resume`.
pub fn check(
    request: super::RunRequest<'_>,
    history: Arc<History>,
    complete: bool,
) -> Result<Checked, String> {
    let runtime = super::effects::runtime(super::effects::Clock::Virtual)?;
    let origin = request.now;
    Ok(runtime.block_on(async {
        let cancel = CancellationToken::new();
        let layer = Arc::new(ReplayBackend::new(
            history,
            Mode::Check { complete },
            origin,
            cancel.clone(),
            BTreeSet::new(),
        ));
        let effects = super::effects::Effects {
            backend: layer.clone(),
            recorder: None,
            cancel,
            timers: None,
        };
        let result = super::run_with(request, effects).await;
        Checked {
            result,
            divergence: layer.divergence(),
            horizon: layer.reached_horizon(),
        }
    }))
}

/// The wall-clock start of the run `history` records.
pub fn origin(history: &History) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(history.start.started_unix_ms)
}

#[cfg(test)]
mod tests;
