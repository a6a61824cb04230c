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
//! [approval]
//! release_approval = "granted"         # granted | denied | never
//! ```
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
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ast::{Playbook, Stmt};

use super::backend::{AgentBackend, ApprovalRequest, Decision, Reply, TaskOutcome, TaskRequest};
use super::placeholders::TaskModel;

/// A parsed scenario file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Behaviour per `AGENT.task`.
    #[serde(default)]
    pub task: BTreeMap<String, TaskScript>,
    /// Decisions per approval name.
    #[serde(default)]
    pub approval: BTreeMap<String, ApprovalScript>,
    /// Interrupt the run (as Ctrl-C would) at this virtual time, e.g. `"45s"`.
    pub interrupt_after: Option<String>,
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
            crate::syntax::parse_duration(at)
                .ok_or_else(|| format!("interrupt_after `{at}` is not a duration such as `45s`"))?;
        }
        for (name, script) in &scenario.task {
            if !name.contains('.') {
                return Err(format!("task `{name}`: name tasks as `AGENT.task`"));
            }
            for attempt in script
                .attempts
                .iter()
                .chain(std::iter::once(&script.single))
            {
                if let Some(latency) = &attempt.latency {
                    crate::syntax::parse_duration(latency).ok_or_else(|| {
                        format!(
                            "task `{name}`: latency `{latency}` is not a duration such as `30s`"
                        )
                    })?;
                }
                if let Some(outcome) = &attempt.outcome {
                    if !matches!(outcome.as_str(), "success" | "failure" | "timeout") {
                        return Err(format!("task `{name}`: outcome `{outcome}` must be success, failure or timeout"));
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
}

/// The simulated backend.
pub struct SimulatedBackend {
    scenario: Scenario,
    /// Output fields and checks of each `AGENT.task`.
    models: HashMap<String, TaskModel>,
    calls: Mutex<HashMap<String, u32>>,
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
        SimulatedBackend {
            scenario,
            models,
            calls: Mutex::new(HashMap::new()),
        }
    }

    fn script(&self, key: &str, attempt: u32) -> AttemptScript {
        let Some(task) = self.scenario.task.get(key) else {
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

/// For each `AGENT.task`, the (binding, field) pairs the playbook reads.
/// Bindings are per workflow, so each workflow is read on its own.
fn read_fields(playbook: &Playbook) -> HashMap<String, BTreeSet<(String, String)>> {
    let mut fields: HashMap<String, BTreeSet<(String, String)>> = HashMap::new();
    for w in playbook.workflows() {
        let mut bound: HashMap<String, String> = HashMap::new();
        w.body.walk(&mut |s| {
            if let Stmt::Call(c) = s {
                if let Some(b) = &c.binding {
                    bound.insert(
                        b.name.clone(),
                        format!("{}.{}", c.call.agent.name, c.call.task.name),
                    );
                }
            }
        });
        let mut paths = Vec::new();
        collect_paths(
            &serde_json::to_value(&w.body).unwrap_or(Value::Null),
            &mut paths,
        );
        for (root, field) in paths {
            if let Some(task) = bound.get(&root) {
                fields
                    .entry(task.clone())
                    .or_default()
                    .insert((root, field));
            }
        }
    }
    fields
}

/// Every `root.field` path in a serialised AST.
fn collect_paths(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if map.get("expr").and_then(Value::as_str) == Some("path") {
                if let Some(Value::Array(segments)) = map.get("segments") {
                    let names: Vec<&str> = segments
                        .iter()
                        .filter_map(|s| s.get("name").and_then(Value::as_str))
                        .collect();
                    if let [root, field, ..] = names[..] {
                        out.push((root.to_string(), field.to_string()));
                    }
                }
            }
            map.values().for_each(|v| collect_paths(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_paths(v, out)),
        _ => {}
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
        let script = self.script(&key, request.attempt);
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
