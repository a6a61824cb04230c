//! Comparing the path a replay took with the recorded one: the route, each
//! step's outcome and attempts, the gates and the final status.

use super::super::result::RunResult;

/// The first difference between a recorded run and its replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The step id (`WORKFLOW.N[INDEX]`) of the step that differs, if any.
    pub step_id: Option<String>,
    /// Whether the route differs.
    pub route: bool,
    /// What differs: now, and what was recorded.
    pub what: String,
}

/// The first way `now` took another path than `recorded`, if any.
pub fn first_mismatch(recorded: &RunResult, now: &RunResult) -> Option<Mismatch> {
    let route = |r: &RunResult| {
        r.route.as_ref().map_or_else(
            || "no route".to_string(),
            |c| format!("{} => {}", c.pattern, c.target),
        )
    };
    if route(recorded) != route(now) {
        return Some(Mismatch {
            step_id: None,
            route: true,
            what: format!("route: now {}; recorded: {}", route(now), route(recorded)),
        });
    }
    let shape = |s: &super::super::result::StepRecord| {
        format!(
            "`{}` {} after {} attempt(s)",
            s.name,
            s.outcome.word(),
            s.attempts.len()
        )
    };
    for i in 0..recorded.steps.len().max(now.steps.len()) {
        match (recorded.steps.get(i), now.steps.get(i)) {
            (Some(r), Some(n)) if shape(r) == shape(n) => {}
            (r, n) => {
                return Some(Mismatch {
                    step_id: n.or(r).and_then(|s| s.id.clone()),
                    route: false,
                    what: format!(
                        "step {}: now {}; recorded: {}",
                        i + 1,
                        n.map_or_else(|| "no such step".to_string(), shape),
                        r.map_or_else(|| "no such step".to_string(), shape)
                    ),
                });
            }
        }
    }
    let gates = |r: &RunResult| -> Vec<String> {
        r.gates
            .iter()
            .map(|g| {
                format!(
                    "gate `{}` {} ({}/{})",
                    g.group,
                    if g.passed { "passed" } else { "failed" },
                    g.successes,
                    g.counted
                )
            })
            .collect()
    };
    if gates(recorded) != gates(now) {
        return Some(Mismatch {
            step_id: None,
            route: false,
            what: format!(
                "gates: now [{}]; recorded: [{}]",
                gates(now).join(", "),
                gates(recorded).join(", ")
            ),
        });
    }
    if recorded.status != now.status {
        return Some(Mismatch {
            step_id: None,
            route: false,
            what: format!(
                "status: now {}; recorded: {}",
                now.status.word().to_uppercase(),
                recorded.status.word().to_uppercase()
            ),
        });
    }
    None
}
