//! Options written where they do nothing.
//!
//! - `task commit timeout 30s` (no braces): the `timeout` belongs to the
//!   agent, not to the task, although it reads as the task's; likewise
//!   `task commit outputs { … }`.
//! - `retry`, `critical` and handlers on `run WORKFLOW`: a sub-workflow is
//!   not retried, and its steps carry their own handlers.

use crate::ast::{Playbook, Setting, Span, StepOption, Stmt};
use crate::diagnostics::{codes, Diagnostic};

fn setting_word(s: &Setting) -> &'static str {
    match s {
        Setting::ReportsTo(_) => "reports_to",
        Setting::Gate(_) => "gate",
        Setting::Timeout(_) => "timeout",
        Setting::Retry(_) => "retry",
        Setting::MaxConcurrent(_) => "max_concurrent",
    }
}

/// Reports misplaced options.
pub fn check(playbook: &Playbook, text: &str, out: &mut Vec<Diagnostic>) {
    for agent in playbook.agents() {
        let items = agent
            .settings
            .iter()
            .map(|s| (s.span(), setting_word(s)))
            .chain(agent.outputs.iter().map(|o| (o.span, "outputs")));
        for (at, word) in items {
            // The task written just before the setting, on the same line, without braces.
            let task = agent.tasks.iter().rev().find(|t| t.span.end <= at.start);
            let Some(task) = task else { continue };
            let between = text.get(task.span.end..at.start).unwrap_or("\n");
            let braced = text
                .get(task.span.start..task.span.end)
                .is_some_and(|t| t.contains('{'));
            // The setting's span covers its value; only its keyword may stand between.
            // `outputs { … }` spans its keyword already: nothing may stand between.
            let keyword_inside = between.trim().is_empty() && word == "outputs";
            if braced
                || between.contains(['\n', '\r'])
                || (between.trim() != word && !keyword_inside)
            {
                continue;
            }
            let at = if keyword_inside {
                at
            } else {
                Span::new(task.span.end + between.find(word).unwrap_or(0), at.end)
            };
            let written = text.get(at.start..at.end).unwrap_or(word);
            out.push(
                Diagnostic::error(
                    codes::CHECK_MISPLACED_OPTION,
                    format!("`{written}` applies to agent `{}`, not to task `{}`", agent.name.name, task.name.name),
                )
                .with_primary(at, format!("an agent setting, although it follows `task {}`", task.name.name))
                .with_secondary(task.name.span, "this task gets nothing from it")
                .with_help(format!(
                    "for the task, use braces: `task {} {{ {written} }}`; for the agent, put it on its own line",
                    task.name.name
                )),
            );
        }
    }
    for workflow in playbook.workflows() {
        workflow.body.walk(&mut |stmt| {
            let Stmt::Run(run) = stmt else { return };
            for option in &run.options {
                let what = match option {
                    StepOption::Retry(_) => "`retry`",
                    StepOption::Critical { .. } => "`critical`",
                    StepOption::Handler(_) => "a handler",
                    _ => continue,
                };
                out.push(
                    Diagnostic::error(
                        codes::CHECK_MISPLACED_OPTION,
                        format!("{what} has no effect on `run {}`", run.workflow.name),
                    )
                    .with_primary(option.span(), "ignored here")
                    .with_secondary(Span::new(run.span.start, run.workflow.span.end), "runs a workflow, not an agent task")
                    .with_help("a sub-workflow is not retried and has no single outcome to handle: put retries and handlers on its steps; `when`, `timeout` and `lock` do apply to `run`"),
                );
            }
        });
    }
}
