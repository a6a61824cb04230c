//! `coordops test --coverage`: which coverable items of each playbook its
//! tests exercised (the items are defined in docs/testing.md, "Coverage").

use std::collections::{HashMap, HashSet};

use crate::analysis::policy::Inherited;
use crate::analysis::scope::group_names;
use crate::analysis::targets::sites;
use crate::ast::{Call, GateRule, HandlerAction, Playbook, Span, StepOption, Stmt};
use crate::runtime::result::{GateRecord, RunResult, StepOutcome};

/// The kinds of coverable item, in the order reports list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A `route` declaration.
    Route,
    /// A task call written in a workflow (`WORKFLOW.N`).
    Step,
    /// An arm of an `if` (`else if` and a written `else` included).
    Branch,
    /// One outcome of a `parallel` group's gate.
    Gate,
    /// A task call that may retry, retrying.
    Retry,
    /// An `on …` handler of a step.
    Handler,
    /// A top-level rule (`on gate_failed => escalate …`).
    Rule,
    /// One decision on an `approve` step.
    Approval,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 8] = [
        Kind::Route,
        Kind::Step,
        Kind::Branch,
        Kind::Gate,
        Kind::Retry,
        Kind::Handler,
        Kind::Rule,
        Kind::Approval,
    ];

    /// The plural word used in tables and JSON (`routes`, `steps`, …).
    pub fn word(self) -> &'static str {
        match self {
            Kind::Route => "routes",
            Kind::Step => "steps",
            Kind::Branch => "branches",
            Kind::Gate => "gate outcomes",
            Kind::Retry => "retries",
            Kind::Handler => "handlers",
            Kind::Rule => "rules",
            Kind::Approval => "approval outcomes",
        }
    }
}

/// One coverable item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its kind.
    pub kind: Kind,
    /// What it is, as the uncovered listing says it (`route quick_commit`,
    /// `step commit_pr.2`, `gate audit: failed`).
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// Whether a test exercised it.
    pub covered: bool,
    /// What a run's record of it is matched on: the name, or for arms,
    /// handlers and rules the offset the run records (`@N`).
    key: String,
}

/// Covered and coverable counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ratio {
    /// Items exercised.
    pub covered: usize,
    /// Items coverable.
    pub total: usize,
}

impl Ratio {
    /// The items of `items` of kind `kind` (every kind when `None`).
    pub fn of(items: &[Item], kind: Option<Kind>) -> Ratio {
        let mine = items.iter().filter(|i| kind.is_none_or(|k| i.kind == k));
        let (covered, total) = mine.fold((0, 0), |(c, t), i| (c + usize::from(i.covered), t + 1));
        Ratio { covered, total }
    }

    /// Adds two counts.
    pub fn plus(self, other: Ratio) -> Ratio {
        Ratio {
            covered: self.covered + other.covered,
            total: self.total + other.total,
        }
    }

    /// covered / total × 100; 100 when nothing is coverable.
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.total as f64
        }
    }
}

/// The items of `playbook`, with those `results` exercised marked covered.
pub fn coverage(playbook: &Playbook, results: &[&RunResult]) -> Vec<Item> {
    let mut items = coverable(playbook);
    let seen = Seen::of(results);
    for item in &mut items {
        item.covered = seen.keys.contains(&key(item));
    }
    items
}

/// What an item is matched on.
fn key(item: &Item) -> (Kind, String) {
    (item.kind, item.key.clone())
}

fn at(offset: usize) -> String {
    format!("@{offset}")
}

/// Every coverable item of `playbook`, none covered, in source order per
/// kind.
pub fn coverable(playbook: &Playbook) -> Vec<Item> {
    let mut items = Vec::new();
    let item = |kind, name: String, span| Item {
        kind,
        key: name.clone(),
        name,
        span,
        covered: false,
    };
    for (index, route) in playbook.routes().enumerate() {
        items.push(item(Kind::Route, route_name(index, route), route.span));
    }
    let sites = sites(playbook);
    for workflow in playbook.workflows() {
        let groups: HashMap<usize, String> = group_names(&workflow.name.name, &workflow.body)
            .into_iter()
            .collect();
        workflow.body.walk(&mut |stmt| match stmt {
            Stmt::Call(c) => {
                let Some(site) = sites.get(&c.call.span.start) else {
                    return;
                };
                let id = site.id();
                items.push(item(Kind::Step, format!("step {id}"), c.span));
                let retry_handler = c.options.iter().any(|o| {
                    matches!(o, StepOption::Handler(h) if matches!(h.action, HandlerAction::Retry { .. }))
                });
                let retries = inherited(playbook, &c.call)
                    .retry(&c.options)
                    .is_some_and(|p| p.retries.value > 0);
                if retries || retry_handler {
                    items.push(item(Kind::Retry, format!("retry of step {id}"), c.span));
                }
                handlers(&c.options, &mut items);
            }
            Stmt::If(i) => {
                for (n, branch) in i.branches.iter().enumerate() {
                    let arm = if n == 0 { "if" } else { "else if" };
                    items.push(Item {
                        key: at(branch.block.span.start),
                        ..item(Kind::Branch, format!("`{arm}` arm"), branch.condition.span)
                    });
                }
                if let Some(block) = &i.else_block {
                    items.push(Item {
                        key: at(block.span.start),
                        ..item(Kind::Branch, "`else` arm".to_string(), block.span)
                    });
                }
            }
            Stmt::Parallel(p) => {
                let Some(group) = groups.get(&p.span.start) else {
                    return;
                };
                for outcome in gate_outcomes(p) {
                    items.push(item(Kind::Gate, format!("gate {group}: {outcome}"), p.span));
                }
            }
            Stmt::Approve(a) => {
                for decision in ["granted", "denied", "timeout"] {
                    items.push(item(
                        Kind::Approval,
                        format!("approval {}: {decision}", a.name.name),
                        a.span,
                    ));
                }
                handlers(&a.options, &mut items);
            }
            _ => {}
        });
    }
    for rule in playbook.rules() {
        items.push(Item {
            key: at(rule.span.start),
            ..item(
                Kind::Rule,
                format!("rule `on {}`", rule.event.name),
                rule.span,
            )
        });
    }
    items.sort_by_key(|i| i.kind);
    items
}

fn route_name(index: usize, route: &crate::ast::Route) -> String {
    match &route.label {
        Some(label) => format!("route {label}", label = label.name),
        None => format!("route #{}", index + 1),
    }
}

fn handlers(options: &[StepOption], items: &mut Vec<Item>) {
    for option in options {
        if let StepOption::Handler(h) = option {
            items.push(Item {
                kind: Kind::Handler,
                name: format!("handler `on {}`", h.event.name),
                span: h.span,
                covered: false,
                key: at(h.span.start),
            });
        }
    }
}

fn inherited<'p>(playbook: &'p Playbook, call: &Call) -> Inherited<'p> {
    let agent = playbook.agents().find(|a| a.name.name == call.agent.name);
    Inherited {
        task: agent.and_then(|a| a.tasks.iter().find(|t| t.name.name == call.task.name)),
        agent,
        coordinator: playbook.coordinators().next(),
    }
}

/// The outcomes a group's gate can have: `passed with failures` unless it
/// requires every branch, `failed` unless it requires none, `critical
/// failure` when a call in it is `critical`.
fn gate_outcomes(p: &crate::ast::ParallelStmt) -> Vec<&'static str> {
    let rule = p.gate.as_ref().map(|g| g.rule);
    let mut outcomes = vec!["passed"];
    if !matches!(
        rule,
        Some(GateRule::Percent { value: 100 } | GateRule::Tolerate { tolerate: 0 })
    ) {
        outcomes.push("passed with failures");
    }
    if !matches!(rule, Some(GateRule::Percent { value: 0 })) {
        outcomes.push("failed");
    }
    let mut critical = false;
    p.body.walk(&mut |s| {
        if let Stmt::Call(c) = s {
            critical |= c
                .options
                .iter()
                .any(|o| matches!(o, StepOption::Critical { .. }));
        }
    });
    if critical {
        outcomes.push("critical failure");
    }
    outcomes
}

/// The outcome word of a decided gate.
fn gate_outcome(g: &GateRecord) -> &'static str {
    if g.critical_failed.is_some() {
        "critical failure"
    } else if !g.passed {
        "failed"
    } else if g.failures > 0 {
        "passed with failures"
    } else {
        "passed"
    }
}

/// The item keys a set of results exercised.
struct Seen {
    keys: HashSet<(Kind, String)>,
}

impl Seen {
    fn of(results: &[&RunResult]) -> Seen {
        let mut keys = HashSet::new();
        for result in results {
            if let Some(route) = &result.route {
                let name = match &route.label {
                    Some(label) => format!("route {label}"),
                    None => format!("route #{}", route.index + 1),
                };
                keys.insert((Kind::Route, name));
            }
            for step in &result.steps {
                if step.kind == "approval" {
                    let decision = match step.outcome {
                        StepOutcome::Success => "granted",
                        StepOutcome::Failure { .. } => "denied",
                        StepOutcome::Timeout => "timeout",
                        _ => continue,
                    };
                    keys.insert((
                        Kind::Approval,
                        format!("approval {}: {decision}", step.name),
                    ));
                }
                let Some(id) = &step.id else { continue };
                let site = id.split('[').next().unwrap_or(id);
                if !step.attempts.is_empty() {
                    keys.insert((Kind::Step, format!("step {site}")));
                }
                if step.attempts.len() > 1 {
                    keys.insert((Kind::Retry, format!("retry of step {site}")));
                }
            }
            for gate in &result.gates {
                keys.insert((
                    Kind::Gate,
                    format!("gate {}: {}", gate.group, gate_outcome(gate)),
                ));
            }
            for &offset in &result.taken.0 {
                for kind in [Kind::Branch, Kind::Handler, Kind::Rule] {
                    keys.insert((kind, at(offset)));
                }
            }
        }
        Seen { keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(passed: bool, failures: u64, critical: bool) -> GateRecord {
        GateRecord {
            group: "g".into(),
            rule: GateRule::Percent { value: 50 },
            successes: 1,
            failures,
            skipped: 0,
            counted: 1 + failures,
            total: 1 + failures,
            passed,
            decided_at: None,
            cancelled: Vec::new(),
            critical_failed: critical.then(|| "c".to_string()),
        }
    }

    #[test]
    fn gate_verdicts_map_to_four_outcomes() {
        assert_eq!(gate_outcome(&gate(true, 0, false)), "passed");
        assert_eq!(gate_outcome(&gate(true, 1, false)), "passed with failures");
        assert_eq!(gate_outcome(&gate(false, 2, false)), "failed");
        assert_eq!(gate_outcome(&gate(false, 1, true)), "critical failure");
    }

    #[test]
    fn nothing_coverable_is_full_and_ratios_add() {
        assert_eq!(Ratio::default().percent(), 100.0);
        let r = Ratio {
            covered: 1,
            total: 3,
        }
        .plus(Ratio {
            covered: 1,
            total: 1,
        });
        assert_eq!(
            r,
            Ratio {
                covered: 2,
                total: 4
            }
        );
        assert_eq!(r.percent(), 50.0);
    }
}
