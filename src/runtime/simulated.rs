//! The built-in simulated backend: outcomes from a scenario file.
//!
//! Run on tokio's paused clock, simulated latencies cost no real time, so a
//! playbook full of 10-minute timeouts dry-runs in milliseconds, and the same
//! playbook, signal and scenario always give the same result.
//!
//! Scenario format (TOML), every part optional:
//!
//! ```toml
//! [task."RELEASE_MANAGER.commit"]      # one outcome for every attempt
//! latency = "5s"
//! outcome = "success"                  # success | failure | timeout
//! outputs = { hash = "abc123", message = "feat: swap" }
//!
//! [task."RELEASE_MANAGER.push"]        # one entry per attempt; the last repeats
//! attempts = [
//!   { outcome = "failure", kind = "rejected", message = "non-fast-forward" },
//!   { outcome = "success", latency = "3s" },
//! ]
//!
//! [step."release.push"]                # one step, by binding (or `release.4`)
//! outcome = "failure"
//!
//! [step."audit.1[name=broken-skill]"]  # `parallel for` elements, by argument
//! outcome = "failure"                  # (or by index: `audit.1[2]`)
//!
//! [approval]
//! release_approval = "granted"         # granted | denied | never
//! ```
//!
//! An attempt takes the most precise script that names it: an element
//! index, then an element argument (the first in key order), then its step,
//! then its `AGENT.task`, then the default. Targets are described in
//! [`crate::analysis::targets`]; [`Scenario::unmatched`] lists the step
//! entries no attempt used.
//!
//! A top-level `interrupt_after = "45s"` interrupts the run at that virtual
//! time, as Ctrl-C would: the report keeps every step that finished.
//!
//! Without a scenario every task succeeds after 0s. A task that declares
//! outputs answers a typed, plausible value for every declared output, chosen
//! so that its quality checks pass (see [`super::placeholders`]): strings
//! are placeholders (`commit.hash` → `"commit-hash-1"`: task, field,
//! attempt) or the argument of the same name, bools `true` unless a check
//! wants `false`, ints `0`, lists one element, maps `{}`. A task without a
//! declaration answers a placeholder for every field the playbook reads from
//! the step's result, and a value that passes its checks for every field
//! they read. A scenario's `outputs` replace or add to these.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ast::{Playbook, Stmt};

use super::backend::{
    AgentBackend, ApprovalRequest, Decision, Reply, StepId, TaskOutcome, TaskRequest,
};
use super::context::values::duration;
use super::placeholders::TaskModel;
use super::read_fields::read_fields;
use crate::analysis::targets::{ElementSel, StepSel, Target};

/// A parsed scenario file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Behaviour per `AGENT.task`.
    #[serde(default)]
    pub task: BTreeMap<String, TaskScript>,
    /// Behaviour per step or `parallel for` element (`release.push`,
    /// `release.3`, `audit.1[2]`, `audit.1[name=x]`).
    #[serde(default)]
    pub step: BTreeMap<String, TaskScript>,
    /// Decisions per approval name.
    #[serde(default)]
    pub approval: BTreeMap<String, ApprovalScript>,
    /// Interrupt the run (as Ctrl-C would) at this virtual time, e.g. `"45s"`.
    pub interrupt_after: Option<String>,
    /// Which `step` entries attempts matched (shared by clones).
    #[serde(skip)]
    pub matched: Arc<Mutex<Matched>>,
}

/// The `step` entries attempts matched during a run.
#[derive(Debug, Default)]
pub struct Matched {
    /// Entries some attempt used.
    used: BTreeSet<String>,
    /// Entries that matched only where a more precise entry won, with it.
    shadowed: BTreeMap<String, String>,
}

/// What one task does: a single outcome or one per attempt.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskScript {
    /// Per-attempt outcomes; the last one repeats.
    #[serde(default)]
    pub attempts: Vec<AttemptScript>,
    /// The outcome for every attempt (when `attempts` is empty).
    #[serde(flatten)]
    pub single: AttemptScript,
}

/// One simulated attempt.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptScript {
    /// `success` (default), `failure` or `timeout` (never answers).
    pub outcome: Option<String>,
    /// How long the agent takes, e.g. `"45s"`.
    pub latency: Option<String>,
    /// Failure kind (default `error`).
    pub kind: Option<String>,
    /// Failure message.
    pub message: Option<String>,
    /// Outputs on success (merged over the placeholders).
    pub outputs: Option<Map<String, Value>>,
}

/// An approval decision in a scenario.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalScript {
    /// Approved at once.
    Granted,
    /// Refused at once.
    Denied,
    /// Never decided (the approval times out).
    Never,
}

impl Scenario {
    /// The virtual time to interrupt the run at, in milliseconds.
    pub fn interrupt_after_ms(&self) -> Option<u64> {
        self.interrupt_after
            .as_deref()
            .and_then(crate::syntax::parse_duration)
    }

    /// Parses a scenario, checking durations and outcomes.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(at) = &scenario.interrupt_after {
            duration(at).map_err(|e| format!("interrupt_after `{at}` is not {e}"))?;
        }
        let scripts = scenario.task.iter().map(|(n, s)| (n, s, "task"));
        let steps = scenario.step.iter().map(|(n, s)| (n, s, "step"));
        for (name, script, what) in scripts.chain(steps) {
            if what == "task" && !name.contains('.') {
                return Err(format!("task `{name}`: name tasks as `AGENT.task`"));
            }
            for attempt in script
                .attempts
                .iter()
                .chain(std::iter::once(&script.single))
            {
                if let Some(latency) = &attempt.latency {
                    duration(latency)
                        .map_err(|e| format!("{what} `{name}`: latency `{latency}` is not {e}"))?;
                }
                if let Some(outcome) = &attempt.outcome {
                    if !matches!(outcome.as_str(), "success" | "failure" | "timeout") {
                        return Err(format!("{what} `{name}`: outcome `{outcome}` must be success, failure or timeout"));
                    }
                }
            }
        }
        Ok(scenario)
    }

    /// Agent tasks and approvals the scenario names that the playbook lacks.
    pub fn unknown_names(&self, playbook: &Playbook) -> Vec<String> {
        let mut tasks: BTreeSet<String> = BTreeSet::new();
        for agent in playbook.agents() {
            for task in &agent.tasks {
                tasks.insert(format!("{}.{}", agent.name.name, task.name.name));
            }
        }
        let mut approvals: BTreeSet<String> = BTreeSet::new();
        for w in playbook.workflows() {
            w.body.walk(&mut |s| {
                if let Stmt::Approve(a) = s {
                    approvals.insert(a.name.name.clone());
                }
            });
        }
        let mut unknown: Vec<String> = self
            .task
            .keys()
            .filter(|k| !tasks.contains(*k))
            .map(|k| format!("task `{k}`"))
            .collect();
        unknown.extend(
            self.approval
                .keys()
                .filter(|k| !approvals.contains(*k))
                .map(|k| format!("approval `{k}`")),
        );
        unknown
    }

    /// The `step` entries no attempt used, in key order, each with the
    /// more precise entry that won where it matched, if any.
    pub fn unmatched(&self) -> Vec<(String, Option<String>)> {
        let matched = crate::sync::lock(&self.matched);
        self.step
            .keys()
            .filter(|k| !matched.used.contains(*k))
            .map(|k| (k.clone(), matched.shadowed.get(k).cloned()))
            .collect()
    }

    /// The most precise script for an attempt of `step` with `args`, and
    /// its `step` key: an element index, an element argument, the step.
    fn step_script(
        &self,
        targets: &[(String, Target)],
        step: &StepId,
        args: &Map<String, Value>,
    ) -> Option<(&String, &TaskScript)> {
        let of_step: Vec<&(String, Target)> = targets
            .iter()
            .filter(|(_, t)| {
                *t.workflow == *step.workflow
                    && match &t.step {
                        StepSel::Binding(b) => step.binding.as_deref() == Some(b.as_str()),
                        StepSel::Position(n) => *n == step.position,
                    }
            })
            .collect();
        let rank = |t: &Target| match &t.element {
            Some(ElementSel::Index(i)) => (step.element.as_ref() == Some(i)).then_some(0),
            Some(ElementSel::Arg { name, value }) => match args.get(name) {
                Some(Value::String(s)) if s == value => Some(1),
                Some(v) if !v.is_string() && super::eval::display(v) == *value => Some(1),
                _ => None,
            },
            None => Some(2),
        };
        let mut matching: Vec<(u8, &String)> = of_step
            .into_iter()
            .filter_map(|(k, t)| rank(t).map(|r| (r, k)))
            .collect();
        matching.sort();
        let (_, key) = *matching.first()?;
        let mut matched = crate::sync::lock(&self.matched);
        matched.used.insert(key.clone());
        for (_, other) in &matching[1..] {
            matched.shadowed.insert((*other).clone(), key.clone());
        }
        self.step.get_key_value(key)
    }
}

/// The simulated backend.
pub struct SimulatedBackend {
    scenario: Scenario,
    /// Output fields and checks of each `AGENT.task`.
    models: HashMap<String, TaskModel>,
    calls: Mutex<HashMap<String, u32>>,
    /// The scenario's `step` keys, parsed.
    targets: Vec<(String, Target)>,
}

impl SimulatedBackend {
    /// A backend playing `scenario` for `playbook`.
    pub fn new(playbook: &Playbook, scenario: Scenario) -> Self {
        let read = read_fields(playbook);
        let mut models = HashMap::new();
        for agent in playbook.agents() {
            for task in &agent.tasks {
                let key = format!("{}.{}", agent.name.name, task.name.name);
                let mut fields: Vec<String> = Vec::new();
                for (_, field) in read.get(&key).into_iter().flatten() {
                    if !fields.contains(field) {
                        fields.push(field.clone());
                    }
                }
                models.insert(key, TaskModel::new(agent, task, &fields));
            }
        }
        let targets = scenario
            .step
            .keys()
            .filter_map(|k| Target::parse(k).ok().map(|t| (k.clone(), t)))
            .collect();
        SimulatedBackend {
            targets,
            scenario,
            models,
            calls: Mutex::new(HashMap::new()),
        }
    }

    fn script(&self, request: &TaskRequest, key: &str) -> AttemptScript {
        let attempt = request.attempt;
        let targeted = request
            .step
            .as_ref()
            .and_then(|s| self.scenario.step_script(&self.targets, s, &request.args))
            .map(|(_, script)| script);
        let Some(task) = targeted.or_else(|| self.scenario.task.get(key)) else {
            return AttemptScript::default();
        };
        if task.attempts.is_empty() {
            return task.single.clone();
        }
        let index = (attempt as usize)
            .saturating_sub(1)
            .min(task.attempts.len() - 1);
        task.attempts[index].clone()
    }
}

#[async_trait]
impl AgentBackend for SimulatedBackend {
    fn reads_assignment(&self) -> bool {
        false
    }

    async fn call(&self, request: TaskRequest) -> Reply {
        self.simulate(request).await.into()
    }

    async fn approve(&self, request: ApprovalRequest) -> Decision {
        match self.scenario.approval.get(&request.name) {
            Some(ApprovalScript::Denied) => Decision::Denied,
            Some(ApprovalScript::Never) => std::future::pending().await,
            Some(ApprovalScript::Granted) | None => Decision::Granted,
        }
    }
}

impl SimulatedBackend {
    /// One simulated attempt, as the scenario scripts it.
    async fn simulate(&self, request: TaskRequest) -> TaskOutcome {
        let key = format!("{}.{}", request.agent, request.task);
        let script = self.script(&request, &key);
        let latency = script
            .latency
            .as_deref()
            .and_then(crate::syntax::parse_duration)
            .unwrap_or(0);
        {
            let mut calls = match self.calls.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            match calls.get_mut(&key) {
                Some(n) => *n += 1,
                None => {
                    calls.insert(key.clone(), 1);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(latency)) => {}
            () = request.cancel.cancelled() => {
                return TaskOutcome::Failure { kind: "cancelled".into(), message: "cancelled".into() };
            }
        }
        match script.outcome.as_deref() {
            Some("failure") => TaskOutcome::Failure {
                kind: script.kind.unwrap_or_else(|| "error".to_string()),
                message: script
                    .message
                    .unwrap_or_else(|| format!("{key} failed (simulated)")),
            },
            Some("timeout") => {
                request.cancel.cancelled().await;
                TaskOutcome::Failure {
                    kind: "cancelled".into(),
                    message: "cancelled".into(),
                }
            }
            _ => {
                let mut outputs = self.models.get(&key).map_or_else(Map::new, |m| {
                    m.outputs(&request.task, request.attempt, &request.args)
                });
                if let Some(given) = script.outputs {
                    outputs.extend(given);
                }
                TaskOutcome::Success(outputs)
            }
        }
    }
}
