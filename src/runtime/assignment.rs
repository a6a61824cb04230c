//! What an agent is told and what one step hands the next: the request's
//! idempotency key and Agent Assignment, handoff events and the seed's
//! Handoff records.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::ast::{Call, CallStmt, Ident, Stmt, Workflow};

use super::backend::StepId;
use super::engine::{Engine, Place};
use super::eval::{display, Scope};
use super::protocol::{Assignment, AssignmentContext, Criterion, Deliverable};
use super::record::{Entry, Handoff};
use super::result::{EventKind, StepOutcome, StepRecord};

/// The scope name holding the element index path inside `parallel for`
/// (not an identifier, so playbooks cannot read it).
pub const INDEX_KEY: &str = "#index";

impl<'p> Engine<'p> {
    /// The coordinator's superior (`reports_to`), `ORCHESTRATOR` by default.
    pub(super) fn reports_to(&self) -> String {
        self.coordinator
            .and_then(|c| {
                c.settings.iter().find_map(|s| match s {
                    crate::ast::Setting::ReportsTo(r) => Some(r.name.clone()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| "ORCHESTRATOR".to_string())
    }

    /// The idempotency key of a step starting now: its call site's key,
    /// with `#N` from the site's second step of the run on (a sub-workflow
    /// run twice, a recovery run for each failure), so no two steps share
    /// one.
    pub(super) fn step_key(&self, call: &Call, scope: &Scope) -> String {
        let site = self.idempotency_key(call, scope);
        let n = self.with_log(|log| {
            let n = log.occurrences.entry(site.clone()).or_insert(0);
            *n += 1;
            *n
        });
        if n == 1 {
            site
        } else {
            format!("{site}#{n}")
        }
    }

    /// Where `call` is written and, inside `parallel for`, the element:
    /// `None` for a call written outside a workflow.
    pub(super) fn step_id(&self, call: &Call, scope: &Scope) -> Option<StepId> {
        let site = self.sites.get(&call.span.start)?;
        Some(StepId {
            workflow: site.workflow.clone(),
            position: site.position,
            binding: site.binding.clone(),
            element: scope.get(INDEX_KEY).map(display),
        })
    }

    /// Run id, the call's position in the playbook and, inside `parallel
    /// for`, the element index.
    fn idempotency_key(&self, call: &Call, scope: &Scope) -> String {
        let position = match self.source {
            Some(source) => {
                let (line, col) = source.line_col(call.span.start);
                format!("{line}:{col}")
            }
            None => format!("@{}", call.span.start),
        };
        let mut key = format!("{}/{position}", self.run_id);
        if let Some(index) = scope.get(INDEX_KEY) {
            key.push('/');
            key.push_str(&display(index));
        }
        key
    }

    /// Results of earlier steps the call's arguments read (`commit.hash`),
    /// with their values.
    pub(super) fn handed_on(&self, call: &Call, scope: &Scope) -> Map<String, Value> {
        let mut handed = Map::new();
        for arg in &call.args {
            arg.value.visit_paths(&mut |segments| {
                let Some(root) = segments.first() else {
                    return;
                };
                if root.name == "signal" || root.name.starts_with('#') {
                    return;
                }
                if let Some(value) = path_value(scope, segments) {
                    handed.insert(path_text(segments), value);
                }
            });
        }
        handed
    }

    /// The paths of `call`'s arguments that read the result of a finished
    /// step (an agent step, a `run` or an approval: `commit.hash`), each
    /// once, in argument order: what the step is handed. Loop variables,
    /// `let` values and the signal are not handoffs.
    pub(super) fn passed_on<'c>(&self, call: &'c Call, scope: &Scope) -> Vec<&'c [Ident]> {
        let mut paths: Vec<&'c [Ident]> = Vec::new();
        for arg in &call.args {
            arg.value.visit_paths(&mut |segments| {
                let Some(root) = segments.first() else {
                    return;
                };
                // A step's binding is set when it finishes (null unless it
                // succeeded).
                if self.step_names.contains(root.name.as_str())
                    && scope.get(&root.name).is_some_and(|v| !v.is_null())
                    && !paths.iter().any(|p| same_path(p, segments))
                {
                    paths.push(segments);
                }
            });
        }
        paths
    }

    /// Logs the `HANDOFF` event when `call` is handed results of earlier
    /// steps (`commit.hash -> push`); `passed` is [`Self::passed_on`].
    pub(super) fn handoffs(&self, name: &str, passed: &[&[Ident]]) {
        if passed.is_empty() {
            return;
        }
        let sources: Vec<String> = passed.iter().map(|p| path_text(p)).collect();
        self.event(
            EventKind::Handoff,
            Some(name),
            format!("{} -> {name}", sources.join(", ")),
        );
    }

    /// The seed's Agent Assignment for `call`.
    pub(super) fn assignment(&self, call: &Call, scope: &Scope) -> Assignment {
        let inherited = self.inherited(call);
        let task = inherited
            .task
            .and_then(|t| t.doc.as_ref())
            .and_then(|d| d.as_plain())
            .unwrap_or_else(|| call.task.name.clone());
        let fields = match scope.get("signal") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let checks = inherited
            .agent
            .into_iter()
            .flat_map(|a| a.checks.iter())
            .chain(inherited.task.into_iter().flat_map(|t| t.checks.iter()));
        Assignment {
            task,
            context: AssignmentContext {
                signal: self.signal.clone(),
                from: self.reports_to(),
                fields,
                handed_on: self.handed_on(call, scope),
            },
            deliverables: self.deliverables(call),
            success_criteria: checks
                .map(|c| Criterion {
                    check: c.name.name.clone(),
                    text: c
                        .doc
                        .as_ref()
                        .and_then(|d| d.as_plain())
                        .unwrap_or_else(|| c.name.name.replace('_', " ")),
                })
                .collect(),
            markdown: String::new(),
        }
        .render(&call.agent.name)
    }

    /// The task's declared outputs (agent-level ones first).
    fn deliverables(&self, call: &Call) -> Vec<Deliverable> {
        self.playbook
            .declared_outputs(&call.agent.name, &call.task.name)
            .unwrap_or_default()
            .into_iter()
            .map(|f| Deliverable {
                name: f.name,
                ty: f.ty,
            })
            .collect()
    }

    /// Records the seed's Handoff when `step` is handed results of earlier
    /// steps; `passed` is [`Self::passed_on`].
    pub(super) fn record_handoff(
        &self,
        step: &str,
        call: &Call,
        scope: &Scope,
        place: Place<'_>,
        passed: &[&[Ident]],
    ) {
        if passed.is_empty() {
            return;
        }
        let handed: Map<String, Value> = passed
            .iter()
            .filter_map(|p| Some((path_text(p), path_value(scope, p)?)))
            .collect();
        if handed.is_empty() {
            return;
        }
        let roots: Vec<&str> = handed.keys().filter_map(|k| k.split('.').next()).collect();
        let (from, work_completed, findings) = self.with_log(|log| {
            let index = &mut log.handoff_index;
            index.catch_up(&log.steps);
            // The finished steps named by a root, in the order they finished.
            let mut matching: Vec<usize> = roots
                .iter()
                .filter_map(|r| index.by_name.get(*r))
                .flatten()
                .copied()
                .collect();
            matching.sort_unstable();
            matching.dedup();
            let mut from: Vec<String> = Vec::new();
            let mut findings = Vec::new();
            for s in matching.into_iter().map(|i| &log.steps[i]) {
                if let Some(agent) = &s.agent {
                    if !from.contains(agent) {
                        from.push(agent.clone());
                    }
                }
                for (k, v) in &s.outputs {
                    findings.push(format!("{}.{k}: {}", s.name, display(v)));
                }
            }
            (from, latest(&index.done), findings)
        });
        let handoff = Handoff {
            from: if from.is_empty() {
                self.coordinator_name()
            } else {
                from.join(" + ")
            },
            to: call.agent.name.clone(),
            step: step.to_string(),
            at_ms: self.now_ms(),
            work_completed,
            current_state: handed
                .iter()
                .map(|(k, v)| format!("{k} = {}", display(v)))
                .collect(),
            remaining_work: self.remaining_work(call, place),
            findings,
        };
        if self.recorder.is_some() {
            self.with_log(|log| log.handoffs.push(handoff.clone()));
            self.note(Entry::Handoff(handoff));
        } else {
            self.with_log(|log| log.handoffs.push(handoff));
        }
    }

    /// The agent steps of the workflow after `call` (in source order).
    ///
    /// The workflow's call sites are listed once per run; when they come in
    /// increasing position (as a walk in source order gives them) the ones
    /// after `call` are found by binary search.
    fn remaining_work(&self, call: &Call, place: Place<'_>) -> Vec<Arc<str>> {
        let Some(workflow) = self.workflows.get(place.workflow) else {
            return Vec::new();
        };
        let sites = self.with_log(|log| {
            log.handoff_index
                .sites
                .entry(place.workflow.to_string())
                .or_insert_with(|| Arc::new(CallSites::of(workflow)))
                .clone()
        });
        let after = call.span.start;
        // Only the first HANDOFF_LIST are copied; the rest are only counted
        // (in O(1) when sorted), so a step's cost does not grow with the
        // number of steps after it.
        let (mut listed, ahead): (Vec<Arc<str>>, usize) = if sites.sorted {
            let first = sites.list.partition_point(|(start, _)| *start <= after);
            let rest = &sites.list[first..];
            let listed = rest
                .iter()
                .take(HANDOFF_LIST)
                .map(|(_, w)| Arc::clone(w))
                .collect();
            (listed, rest.len())
        } else {
            let mut rest = sites.list.iter().filter(|(start, _)| *start > after);
            let listed: Vec<Arc<str>> = rest
                .by_ref()
                .take(HANDOFF_LIST)
                .map(|(_, w)| Arc::clone(w))
                .collect();
            let count = listed.len() + rest.count();
            (listed, count)
        };
        if ahead > HANDOFF_LIST {
            listed.push(format!("… and {} more", ahead - HANDOFF_LIST).into());
        }
        listed
    }
}

/// Most steps a Handoff lists as Work Completed (the latest) and as
/// Remaining Work (the nearest); the others are counted, so a long pipeline's
/// handoffs stay small.
pub const HANDOFF_LIST: usize = 20;

/// The last [`HANDOFF_LIST`] of `done`, after a count of the earlier ones.
fn latest(done: &[Arc<str>]) -> Vec<Arc<str>> {
    let skipped = done.len().saturating_sub(HANDOFF_LIST);
    let mut listed = Vec::with_capacity(done.len().min(HANDOFF_LIST) + 1);
    if skipped > 0 {
        listed.push(format!("… and {skipped} earlier").into());
    }
    listed.extend(done[skipped..].iter().cloned());
    listed
}

/// The finished steps as handoff records read them, brought up to date
/// with `Log::steps` (which only grows) when a handoff is recorded.
#[derive(Default)]
pub struct HandoffIndex {
    /// Steps of `Log::steps` taken into account.
    seen: usize,
    /// Positions in `Log::steps` of the steps of each name.
    by_name: HashMap<String, Vec<usize>>,
    /// `name (AGENT.task)` of each successful step, in finishing order.
    done: Vec<Arc<str>>,
    /// Each workflow's call sites, by name.
    sites: HashMap<String, Arc<CallSites>>,
}

impl HandoffIndex {
    fn catch_up(&mut self, steps: &[StepRecord]) {
        for (i, s) in steps.iter().enumerate().skip(self.seen) {
            match self.by_name.get_mut(s.name.as_str()) {
                Some(positions) => positions.push(i),
                None => {
                    self.by_name.insert(s.name.clone(), vec![i]);
                }
            }
            if s.outcome == StepOutcome::Success {
                self.done.push(
                    match (&s.agent, &s.task) {
                        (Some(a), Some(t)) => format!("{} ({a}.{t})", s.name),
                        _ => s.name.clone(),
                    }
                    .into(),
                );
            }
        }
        self.seen = steps.len();
    }
}

/// A workflow's agent steps: position and `name (AGENT.task)`, in walk
/// (source) order.
struct CallSites {
    list: Vec<(usize, Arc<str>)>,
    /// Whether `list` is in increasing position.
    sorted: bool,
}

impl CallSites {
    fn of(workflow: &Workflow) -> Self {
        let mut list = Vec::new();
        workflow.body.walk(&mut |stmt| {
            if let Stmt::Call(c) = stmt {
                let what = format!("{}.{}", c.call.agent.name, c.call.task.name);
                list.push((
                    c.call.span.start,
                    match &c.binding {
                        Some(b) => format!("{} ({what})", b.name),
                        None => what,
                    }
                    .into(),
                ));
            }
        });
        let sorted = list.windows(2).all(|w| w[0].0 < w[1].0);
        CallSites { list, sorted }
    }
}

/// Whether two paths name the same thing (`commit.hash`).
fn same_path(a: &[Ident], b: &[Ident]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name)
}

/// The names that bind a step's result (`x = A.t`, `x = run w`,
/// `approve x`) in any workflow of `playbook`.
pub(super) fn step_names(playbook: &crate::ast::Playbook) -> HashSet<&str> {
    let mut names = HashSet::new();
    for workflow in playbook.workflows() {
        workflow.body.walk(&mut |stmt| {
            let name = match stmt {
                Stmt::Call(CallStmt { binding, .. }) => binding.as_ref(),
                Stmt::Run(r) => r.binding.as_ref(),
                Stmt::Approve(a) => Some(&a.name),
                _ => None,
            };
            if let Some(name) = name {
                names.insert(name.name.as_str());
            }
        });
    }
    names
}

/// `commit.hash`.
fn path_text(segments: &[Ident]) -> String {
    segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// The value at `segments` in `scope`, when bound and not null.
fn path_value(scope: &Scope, segments: &[Ident]) -> Option<Value> {
    let (root, rest) = segments.split_first()?;
    let mut value = scope.get(&root.name)?;
    for segment in rest {
        value = value.get(&segment.name)?;
    }
    (!value.is_null()).then(|| value.clone())
}
