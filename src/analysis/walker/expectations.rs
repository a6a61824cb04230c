//! The names and words of `expect` lines: steps, approvals, gates and
//! event kinds must exist before a test runs (`check` and `test` alike).

use crate::analysis::targets::{self, ElementSel, Target};
use crate::ast::{EventPattern, Expect, ExprKind, GateExpect, Ident, Playbook};
use crate::diagnostics::{codes, Diagnostic};

use super::super::suggest;
use super::super::types::{self, Env};
use super::{Walker, OUTCOMES, STATUSES};

/// Event kinds `expect events` can name, as the event log writes them.
pub const EVENT_KINDS: &[&str] = &[
    "ROUTE", "SPAWN", "HANDOFF", "RETRY", "TIMEOUT", "SKIP", "GATE", "APPROVAL", "ABORT",
    "COMPLETE", "FAILURE", "ESCALATE",
];
/// Verdicts `expect gate G …` accepts as a word.
const VERDICTS: &[&str] = &["passed", "failed"];

impl Walker<'_, '_> {
    /// Checks one `expect` line of a test.
    pub(super) fn expectation(&mut self, playbook: &Playbook, expect: &Expect, env: &Env<'_, '_>) {
        match expect {
            Expect::Status { status, .. } => self.one_of(status, "status", STATUSES),
            Expect::Route { route, .. } => {
                self.reference(
                    route,
                    "route label",
                    self.symbols.route_labels.keys().copied(),
                );
            }
            Expect::Escalation { kind, title, .. } => {
                self.escalation_type(kind);
                if let Some(t) = title {
                    if let ExprKind::Regex { pattern } = &t.kind {
                        types::check_regex(pattern, t.span, self.out);
                    }
                }
            }
            Expect::Step {
                step,
                outcome,
                kind,
                ..
            } => {
                self.step_ref(playbook, step);
                self.one_of(outcome, "step outcome", OUTCOMES);
                if let Some(k) = kind.as_ref().filter(|_| outcome.name != "failure") {
                    self.out.push(
                        Diagnostic::error(
                            codes::CHECK_UNDEFINED_REFERENCE,
                            format!("only a failure has a kind, not `{}`", outcome.name),
                        )
                        .with_primary(k.span, "a failure kind")
                        .with_help(format!("write `failure({})`", k.name)),
                    );
                }
            }
            Expect::Attempts { step, count, .. } => {
                self.step_ref(playbook, step);
                if let Some(n) = count.as_ref().filter(|n| n.value < 0) {
                    self.out.push(
                        Diagnostic::error(
                            codes::CHECK_OUT_OF_RANGE,
                            "a number of attempts is 0 or more",
                        )
                        .with_primary(n.span, "negative"),
                    );
                }
            }
            Expect::Approval { name, outcome, .. } => {
                self.reference(name, "approval", self.symbols.approvals.keys().copied());
                self.one_of(
                    outcome,
                    "approval outcome",
                    crate::testing::expect::APPROVAL_OUTCOMES,
                );
            }
            Expect::Gate { group, verdict, .. } => self.gate_expectation(playbook, group, verdict),
            Expect::Events { events, .. } => {
                for EventPattern { kind, step } in events {
                    self.one_of(kind, "event kind", EVENT_KINDS);
                    // Groups (`GATE`) and workflows (a workflow's
                    // `TIMEOUT`) are named by events too.
                    let named = step.as_ref().filter(|s| {
                        !self.groups.contains(&s.name)
                            && !self.symbols.workflows.contains_key(s.name.as_str())
                    });
                    if let Some(step) = named {
                        self.step_ref(playbook, step);
                    }
                }
            }
            Expect::Duration { .. } => {}
            Expect::Holds { condition, .. } => types::condition(env, condition, self.out),
        }
    }

    fn gate_expectation(&mut self, playbook: &Playbook, group: &Ident, verdict: &GateExpect) {
        let groups = self.groups.clone();
        self.reference(group, "parallel group", groups.iter().map(String::as_str));
        match verdict {
            GateExpect::Verdict { word } => self.one_of(word, "gate verdict", VERDICTS),
            GateExpect::Count { successes, counted } if successes > counted => {
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_OUT_OF_RANGE,
                        format!("{successes} of {counted}: more successes than branches counted"),
                    )
                    .with_primary(group.span, "in this gate")
                    .with_help("`K of N` is successes out of N branches counted, K <= N"),
                );
            }
            GateExpect::Critical { branch } => self.step_ref(playbook, branch),
            _ => {}
        }
    }

    /// Checks that a step reference in an expectation names a step: a
    /// binding, an `AGENT.task`, an approval, or a target by id.
    fn step_ref(&mut self, playbook: &Playbook, step: &Ident) {
        let text = step.name.as_str();
        let mut bindings = Vec::new();
        for w in playbook.workflows() {
            for (c, _) in targets::calls(w) {
                if let Some(b) = &c.binding {
                    bindings.push(b.name.clone());
                }
            }
        }
        let known_name = bindings.iter().any(|b| b == text)
            || self.symbols.approvals.contains_key(text)
            || text.split_once('.').is_some_and(|(agent, task)| {
                self.symbols
                    .agents
                    .get(agent)
                    .is_some_and(|a| a.tasks.iter().any(|t| t.name.name == task))
            });
        if known_name {
            return;
        }
        if let Some((agent, task)) = text.split_once('.') {
            if let Some(a) = self.symbols.agents.get(agent) {
                let tasks: Vec<&str> = a.tasks.iter().map(|t| t.name.name.as_str()).collect();
                self.out.push(
                    Diagnostic::error(
                        codes::CHECK_UNDEFINED_STEP,
                        format!("agent `{agent}` has no task `{task}`"),
                    )
                    .with_primary(step.span, "no such step")
                    .with_help(suggest::help(task, "task", tasks)),
                );
                return;
            }
        }
        let problem = match Target::parse(text) {
            Ok(Target {
                element: Some(ElementSel::Arg { .. }),
                ..
            }) => Err(format!(
                "`{text}`: an expectation names an element by its index (`[0]`), not by argument"
            )),
            Ok(t) if text.contains('.') => targets::resolve(playbook, &t).map(|_| ()),
            _ => Err(format!("there is no step `{text}`")),
        };
        if let Err(message) = problem {
            let help = match suggest::closest(text, bindings.iter().map(String::as_str)) {
                Some(best) => format!(
                    "did you mean `{best}`? A step is its binding, `AGENT.task`, or its id \
                     `WORKFLOW.N` / `WORKFLOW.binding`, with `[INDEX]` for a `parallel for` element"
                ),
                None => "a step is its binding, `AGENT.task`, or its id `WORKFLOW.N` / \
                         `WORKFLOW.binding`, with `[INDEX]` for a `parallel for` element"
                    .to_string(),
            };
            self.out.push(
                Diagnostic::error(codes::CHECK_UNDEFINED_STEP, message)
                    .with_primary(step.span, "no such step")
                    .with_help(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::check_source;
    use crate::diagnostics::codes;
    use crate::source::SourceFile;

    const PLAYBOOK: &str = r#"
signal OPS:GO
route OPS:GO => go
agent A { task t task u }
workflow go timeout 1h {
  first = A.t()
  parallel fan { A.u() }
  parallel { A.u() }
  approve ok "Go?"
  complete
}
"#;

    /// The codes `check` reports for a test made of `lines`.
    fn codes_of(lines: &str) -> Vec<&'static str> {
        let text = format!("{PLAYBOOK}test \"t\" {{\n  signal OPS:GO\n{lines}\n}}\n");
        check_source(&SourceFile::new("t.ops", text))
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn every_kind_of_name_an_expectation_uses_is_accepted() {
        let lines = "expect step first success\n\
             expect step A.u attempts 1\n\
             expect step go.2 success\n\
             expect step go.first attempts at 0s\n\
             expect step ok success\n\
             expect gate fan 1 of 1\n\
             expect gate go#2 passed\n\
             expect gate fan critical first\n\
             expect approval ok timeout\n\
             expect events [ROUTE, SPAWN first, SPAWN A.u, GATE fan, APPROVAL ok, TIMEOUT go]\n\
             expect duration > 0s\n\
             expect escalation Resource /.*/";
        assert_eq!(codes_of(lines), Vec::<&str>::new());
    }

    #[test]
    fn unknown_names_have_precise_codes() {
        assert_eq!(
            codes_of("expect step go.7 success"),
            [codes::CHECK_UNDEFINED_STEP]
        );
        assert_eq!(
            codes_of("expect step A.v success"),
            [codes::CHECK_UNDEFINED_STEP]
        );
        assert_eq!(
            codes_of("expect gate go#3 passed"),
            [codes::CHECK_UNDEFINED_REFERENCE]
        );
        assert_eq!(
            codes_of("expect approval nope granted"),
            [codes::CHECK_UNDEFINED_REFERENCE]
        );
        assert_eq!(
            codes_of("expect step first attempts -1"),
            [codes::CHECK_OUT_OF_RANGE]
        );
        assert_eq!(
            codes_of("expect events [SPAWN nobody]"),
            [codes::CHECK_UNDEFINED_STEP]
        );
    }
}
