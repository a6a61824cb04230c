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
    /// What differs (`route`, `step 2`, `gates`, `status`).
    pub subject: String,
    /// What the replay does there now.
    pub now: String,
    /// What the journal recorded there.
    pub recorded: String,
}

impl Mismatch {
    /// `SUBJECT: now NOW; recorded: RECORDED`.
    pub fn what(&self) -> String {
        format!(
            "{}: now {}; recorded: {}",
            self.subject, self.now, self.recorded
        )
    }
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
            subject: "route".into(),
            now: route(now),
            recorded: route(recorded),
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
                    subject: format!("step {}", i + 1),
                    now: n.map_or_else(|| "no such step".to_string(), shape),
                    recorded: r.map_or_else(|| "no such step".to_string(), shape),
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
            subject: "gates".into(),
            now: format!("[{}]", gates(now).join(", ")),
            recorded: format!("[{}]", gates(recorded).join(", ")),
        });
    }
    if recorded.status != now.status {
        return Some(Mismatch {
            step_id: None,
            route: false,
            subject: "status".into(),
            now: now.status.word().to_uppercase(),
            recorded: recorded.status.word().to_uppercase(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::runtime::result::{Attempt, RouteChoice, RunStatus, StepOutcome, StepRecord};

    fn step(name: &str, outcome: StepOutcome, attempts: u32) -> StepRecord {
        StepRecord {
            id: Some(format!("w.{}", name.len())),
            name: name.into(),
            kind: "task".into(),
            agent: Some("A".into()),
            task: Some("t".into()),
            outcome,
            critical: false,
            started_ms: 0,
            duration_ms: 0,
            attempts: (1..=attempts)
                .map(|number| Attempt {
                    number,
                    started_ms: 0,
                    duration_ms: 0,
                    outcome: "success".into(),
                    kind: None,
                    message: None,
                    stderr: Vec::new(),
                })
                .collect(),
            outputs: Map::new(),
            simulated: false,
        }
    }

    fn run(steps: Vec<StepRecord>, status: RunStatus) -> RunResult {
        RunResult {
            route: Some(RouteChoice {
                index: 0,
                label: None,
                pattern: "S:X".into(),
                target: "workflow w".into(),
            }),
            status,
            duration_ms: 7,
            steps,
            ..RunResult::begun(&crate::runtime::record::RunStart::for_tests(1))
        }
    }

    #[test]
    fn the_same_path_at_other_times_is_no_mismatch() {
        let a = run(
            vec![step("s", StepOutcome::Success, 1)],
            RunStatus::Complete,
        );
        let mut b = a.clone();
        b.duration_ms = 9;
        b.steps[0].duration_ms = 5;
        assert_eq!(first_mismatch(&a, &b), None);
    }

    #[test]
    fn the_first_step_that_differs_is_named_with_its_id() {
        let recorded = run(
            vec![
                step("s", StepOutcome::Success, 2),
                step("tt", StepOutcome::Success, 1),
            ],
            RunStatus::Complete,
        );
        let now = run(vec![step("s", StepOutcome::Timeout, 1)], RunStatus::Failed);
        let m = first_mismatch(&recorded, &now).expect("differs");
        assert_eq!(m.step_id.as_deref(), Some("w.1"));
        assert!(!m.route);
        assert_eq!(
            m.what(),
            "step 1: now `s` timeout after 1 attempt(s); recorded: `s` success after 2 attempt(s)"
        );
    }

    #[test]
    fn another_route_or_status_is_a_mismatch() {
        let recorded = run(Vec::new(), RunStatus::Complete);
        let mut now = recorded.clone();
        now.status = RunStatus::Partial;
        assert!(first_mismatch(&recorded, &now).is_some_and(|m| m.what().starts_with("status")));
        now.route = None;
        assert!(first_mismatch(&recorded, &now).is_some_and(|m| m.route));
    }
}
