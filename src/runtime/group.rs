//! `parallel` groups: branches run concurrently; once all have ended (or the
//! group's timeout), the gate decides.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use serde_json::{json, Value};

use crate::analysis::policy;
use crate::analysis::scope::{self as scope_table, Object, Site};
use crate::ast::{Block, GateRule, ParallelStmt, StepOption, Stmt};

use super::engine::{Engine, Flow, Place, Terminal};
use super::eval::{display, eval, Scope};
use super::gate::{meets, Tally};
use super::result::{EventKind, GateRecord, StepOutcome};

/// How one branch ended.
enum BranchEnd {
    Success,
    Failure,
    Skipped,
    Stopped(Terminal),
}

struct Branch<'a> {
    name: String,
    critical: bool,
    /// `(agent, task)` when the branch is a single agent task.
    task: Option<(&'a str, &'a str)>,
    /// A single call whose `when` guard is false: skipped even if never polled.
    skip: bool,
    future: BoxFuture<'a, (usize, BranchEnd, Scope)>,
}

/// Counts a group's branches as alive until the group ends (or is dropped).
struct Alive<'e, 'p> {
    engine: &'e Engine<'p>,
    count: u64,
}

impl Drop for Alive<'_, '_> {
    fn drop(&mut self) {
        let count = self.count;
        self.engine
            .with_log(|log| log.branches_alive = log.branches_alive.saturating_sub(count));
    }
}

/// One "started" flag per branch, shared by the group's branches (one
/// allocation, not one per branch).
fn flags(n: usize) -> Arc<[AtomicBool]> {
    (0..n).map(|_| AtomicBool::new(false)).collect()
}

fn step_name(stmt: &Stmt) -> String {
    match stmt {
        Stmt::Call(c) => c.binding.as_ref().map_or_else(
            || format!("{}.{}", c.call.agent.name, c.call.task.name),
            |b| b.name.clone(),
        ),
        Stmt::Run(r) => r
            .binding
            .as_ref()
            .map_or_else(|| format!("run {}", r.workflow.name), |b| b.name.clone()),
        Stmt::Approve(a) => a.name.name.clone(),
        other => format!("branch at byte {}", other.span().start),
    }
}

/// Whether a branch is a single call whose `when` guard is false in `scope`
/// (the scope the branch starts with, so the call would see the same).
fn guard_is_false(stmts: &[Stmt], scope: &Scope) -> bool {
    let [Stmt::Call(c)] = stmts else {
        return false;
    };
    c.options.iter().any(|o| match o {
        StepOption::When(e) => !super::eval::holds(e, scope),
        _ => false,
    })
}

impl<'p> Engine<'p> {
    /// One branch: a single call counts by its own outcome; anything else
    /// runs like a small workflow whose first failure is the branch's failure.
    fn branch<'a>(
        &'a self,
        index: usize,
        stmts: &'a [Stmt],
        mut scope: Scope,
        place: Place<'a>,
        started: Arc<[AtomicBool]>,
    ) -> BoxFuture<'a, (usize, BranchEnd, Scope)> {
        async move {
            // Set when the branch first runs; a branch never polled records
            // nothing itself.
            if let Some(flag) = started.get(index) {
                flag.store(true, Ordering::Relaxed);
            }
            if let [Stmt::Call(c)] = stmts {
                let (result, flow) = self
                    .call_step(
                        c,
                        &scope,
                        Place {
                            in_group: true,
                            ..place
                        },
                    )
                    .await;
                if let Some(b) = &c.binding {
                    scope.bind(&b.name, result.binding_value());
                }
                let end = match (flow, result.outcome) {
                    (Flow::Stop(Terminal::Failed { .. }), _) => BranchEnd::Failure,
                    (Flow::Stop(t), _) => BranchEnd::Stopped(t),
                    (_, StepOutcome::Success) => BranchEnd::Success,
                    (_, StepOutcome::Skipped) => BranchEnd::Skipped,
                    _ => BranchEnd::Failure,
                };
                return (index, end, scope);
            }
            let block = Block {
                stmts: stmts.to_vec(),
                span: crate::ast::Span::default(),
            };
            let flow = self
                .block(
                    &block,
                    &mut scope,
                    // A failing step ends its branch (not the run) and counts
                    // against the gate; the rules see `gate_failed`.
                    Place {
                        in_group: true,
                        ..place
                    },
                )
                .await;
            let end = match flow {
                Flow::Continue => BranchEnd::Success,
                Flow::Stop(Terminal::Failed { .. }) => BranchEnd::Failure,
                Flow::Stop(t) => BranchEnd::Stopped(t),
            };
            (index, end, scope)
        }
        .boxed()
    }

    /// Runs a parallel group and applies its gate.
    pub(super) async fn parallel(
        &self,
        group: &ParallelStmt,
        scope: &mut Scope,
        place: Place<'_>,
    ) -> Flow {
        self.with_log(|log| log.groups += 1);
        let label = self
            .group_names
            .get(&group.span.start)
            .cloned()
            .unwrap_or_else(|| {
                let label = group.label.as_ref().map(|l| l.name.as_str());
                scope_table::group_name(place.workflow, label, 0)
            });
        let rule = group.gate.as_ref().map_or_else(
            || GateRule::Percent {
                value: policy::default_gate(self.coordinator),
            },
            |g| g.rule,
        );

        let mut branches: Vec<Branch<'_>> = Vec::new();
        let started: Arc<[AtomicBool]>;
        match &group.each {
            Some(each) => {
                let items = match eval(&each.iterable, scope) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                if items.len() > self.limits.max_elements {
                    return Flow::Stop(super::limits::too_many_elements(
                        items.len(),
                        self.limits.max_elements,
                    ));
                }
                started = flags(items.len());
                branches.reserve_exact(items.len());
                let task = match &group.body.stmts[..] {
                    [Stmt::Call(c)] => {
                        Some((c.call.agent.name.as_str(), c.call.task.name.as_str()))
                    }
                    _ => None,
                };
                for (i, item) in items.into_iter().enumerate() {
                    let name = format!("{}={}", each.var.name, display(&item));
                    let mut inner = scope.with(&each.var.name, item);
                    let index = match scope.get(super::assignment::INDEX_KEY) {
                        Some(outer) => format!("{}.{i}", super::eval::display(outer)),
                        None => i.to_string(),
                    };
                    inner.bind(super::assignment::INDEX_KEY, Value::String(index));
                    branches.push(Branch {
                        name,
                        critical: false,
                        task,
                        skip: guard_is_false(&group.body.stmts, &inner),
                        future: self.branch(
                            i,
                            &group.body.stmts,
                            inner,
                            place,
                            Arc::clone(&started),
                        ),
                    });
                }
            }
            None => {
                started = flags(group.body.stmts.len());
                for (i, stmt) in group.body.stmts.iter().enumerate() {
                    let critical = matches!(stmt, Stmt::Call(c) if c.options.iter().any(|o| matches!(o, StepOption::Critical { .. })));
                    let task = match stmt {
                        Stmt::Call(c) => {
                            Some((c.call.agent.name.as_str(), c.call.task.name.as_str()))
                        }
                        _ => None,
                    };
                    branches.push(Branch {
                        name: step_name(stmt),
                        critical,
                        task,
                        skip: guard_is_false(std::slice::from_ref(stmt), scope),
                        future: self.branch(
                            i,
                            std::slice::from_ref(stmt),
                            scope.clone(),
                            place,
                            Arc::clone(&started),
                        ),
                    });
                }
            }
        }

        let total = branches.len() as u64;
        let max_branches = self.limits.max_branches;
        let alive = self.with_log(|log| {
            let alive = log.branches_alive;
            if alive + total <= max_branches {
                log.branches_alive += total;
            }
            alive
        });
        if alive + total > max_branches {
            return Flow::Stop(super::limits::fan_out_too_wide(alive, total, max_branches));
        }
        let _alive = Alive {
            engine: self,
            count: total,
        };
        let mut tally = Tally {
            pending: total,
            pending_critical: branches.iter().filter(|b| b.critical).count() as u64,
            ..Tally::default()
        };
        // The branches' facts move into columns (nothing is copied); the
        // futures run.
        let mut names: Vec<(String, bool)> = Vec::with_capacity(branches.len());
        let mut tasks: Vec<Option<(&str, &str)>> = Vec::with_capacity(branches.len());
        let mut skips: Vec<bool> = Vec::with_capacity(branches.len());
        let mut finished = vec![false; branches.len()];
        let running: FuturesUnordered<_> = FuturesUnordered::new();
        for b in branches {
            names.push((b.name, b.critical));
            tasks.push(b.task);
            skips.push(b.skip);
            running.push(b.future);
        }
        let mut running = running;
        let deadline = group
            .timeout
            .as_ref()
            .map(|t| self.now_ms().saturating_add(t.millis));
        let mut stopped: Option<Terminal> = None;
        // The group waits for every branch (or its timeout), then decides:
        // the seed's gather-then-gate. Only `stop when …` decides early.
        let mut decided_at: Option<String> = None;
        let mut timed_out = false;
        let mut critical_failed = None;
        let mut scopes = Vec::new();
        let mut cancelled = Vec::new();

        loop {
            let next = match deadline {
                Some(d) => match self.until(d, running.next()).await {
                    Some(next) => next,
                    None => {
                        timed_out = true;
                        break;
                    }
                },
                None => running.next().await,
            };
            let Some((index, end, branch_scope)) = next else {
                break;
            };
            finished[index] = true;
            tally.pending -= 1;
            let critical = names[index].1;
            if critical {
                tally.pending_critical -= 1;
            }
            match end {
                BranchEnd::Success => tally.successes += 1,
                BranchEnd::Skipped => tally.skipped += 1,
                BranchEnd::Failure => {
                    tally.failures += 1;
                    if critical {
                        tally.critical_failed = true;
                        critical_failed = Some(names[index].0.clone());
                    }
                }
                BranchEnd::Stopped(t) => {
                    stopped = Some(t);
                    break;
                }
            }
            // A `parallel for` branch's bindings stay in the branch: its
            // scope is dropped as soon as it ends (no memory kept per branch).
            if group.each.is_none() {
                scopes.push(branch_scope);
            }
            // `stop when …`: stop as soon as the verdict that option names is sure.
            if let Some(stop) = group.stop {
                if tally.pending > 0 && tally.settled(rule).is_some_and(|v| stop.stops_on(v)) {
                    decided_at = Some(format!("{}/{total}", total - tally.pending));
                    break;
                }
            }
        }
        let reason = if timed_out {
            format!(
                "group timeout of {}",
                group
                    .timeout
                    .as_ref()
                    .map_or_else(String::new, |t| policy::format_duration(t.millis))
            )
        } else if let Some(at) = &decided_at {
            format!("cancelled: gate decided at {at}")
        } else {
            "cancelled".to_string()
        };
        // Dropping the unfinished branches cancels them; each running step
        // records itself (see `Abandoned`) with this reason.
        self.with_log(|log| log.abandon = Some((timed_out, reason.clone())));
        drop(running);
        self.with_log(|log| log.abandon = None);
        for (index, done) in finished.iter().enumerate() {
            if *done {
                continue;
            }
            // A false guard is a skip, whatever stopped the group first.
            let never_ran = !started
                .get(index)
                .is_some_and(|f| f.load(Ordering::Relaxed));
            if skips[index] && never_ran {
                self.skipped(&names[index].0, "task");
                tally.skipped += 1;
                continue;
            }
            if timed_out {
                tally.failures += 1;
            } else if decided_at.is_some() {
                cancelled.push(names[index].0.clone());
            }
            // A branch that never ran has no step to record itself.
            if never_ran {
                self.event(EventKind::Abort, Some(&names[index].0), reason.clone());
                let now = self.now_ms();
                self.with_log(|log| {
                    log.steps.push(crate::runtime::result::StepRecord {
                        id: None,
                        name: names[index].0.clone(),
                        kind: "task".to_string(),
                        agent: tasks[index].map(|t| t.0.to_string()),
                        task: tasks[index].map(|t| t.1.to_string()),
                        outcome: if timed_out {
                            StepOutcome::Timeout
                        } else {
                            StepOutcome::Aborted {
                                reason: reason.clone(),
                            }
                        },
                        critical: names[index].1,
                        started_ms: now,
                        duration_ms: 0,
                        attempts: Vec::new(),
                        outputs: serde_json::Map::new(),
                        simulated: false,
                    });
                });
            } else if tasks[index].is_none() {
                self.event(EventKind::Abort, Some(&names[index].0), reason.clone());
            }
        }
        tally.pending = 0;
        if let Some(t) = stopped {
            return Flow::Stop(t);
        }
        for branch_scope in scopes {
            scope.absorb(branch_scope);
        }

        // No branches at all (an empty `parallel for` list) passes vacuously;
        // branches that were all skipped still fail (zero counted).
        let passed =
            total == 0 || (!tally.critical_failed && meets(rule, tally.successes, tally.counted()));
        let record = GateRecord {
            group: label.clone(),
            rule,
            successes: tally.successes,
            failures: tally.failures,
            skipped: tally.skipped,
            counted: tally.counted(),
            total,
            passed,
            decided_at,
            cancelled,
            critical_failed,
        };
        let line = record.line();
        let early = record
            .decided_at
            .as_ref()
            .zip(group.stop)
            .map_or_else(String::new, |(at, stop)| {
                format!(", decided early at {at} (stop when {})", stop.word())
            });
        self.event(
            EventKind::Gate,
            Some(&label),
            format!("gate {rule}: {line}{early}"),
        );
        let gate_value = scope_table::build(Object::Gate, Site::GateFailed, |field| match field {
            "group" => json!(record.group),
            "workflow" => json!(place.workflow),
            "successes" => json!(record.successes),
            "failures" => json!(record.failures),
            "skipped" => json!(record.skipped),
            "counted" => json!(record.counted),
            "total" => json!(record.total),
            "threshold" => json!(rule.to_string()),
            "ratio" => json!(line),
            "decided_at" => json!(record.decided_at.clone().unwrap_or_default()),
            "cancelled" => json!(record.cancelled.len()),
            _ => Value::Null,
        });
        self.with_log(|log| log.gates.push(record));
        if passed {
            return Flow::Continue;
        }
        let rule_scope = scope.with("gate", gate_value);
        let fallback = Terminal::Failed {
            message: format!("quality gate of {label} failed: {line}"),
        };
        Flow::Stop(
            self.apply_rules(&["gate_failed"], "gate_failed", &rule_scope)
                .await
                .unwrap_or(fallback),
        )
    }
}
