//! The timeline of a run for the HTML report: one row per step, one bar per
//! attempt on the run's clock (virtual or real), with the waits before a
//! step's first attempt (locks, slots, approvals), the backoff gaps between
//! attempts, and timeouts and cancellations marked.

use std::fmt::Write;

use super::human_duration;
use crate::output::escape_xml as esc;
use crate::runtime::result::{Attempt, RunResult, StepOutcome, StepRecord};

/// The timeline as an HTML `<section>`; each attempt is one element with
/// `data-attempt` (its number) and `data-step` (its step's name).
pub fn timeline(result: &RunResult) -> String {
    let end = result
        .steps
        .iter()
        .map(|s| s.started_ms + s.duration_ms)
        .chain(std::iter::once(result.duration_ms))
        .max()
        .unwrap_or(0);
    let scale = Scale { total: end.max(1) };
    let mut out = String::from("<section class=\"timeline\" id=\"timeline\">\n<h2>Timeline</h2>\n");
    if end == 0 {
        out.push_str(
            "<p class=\"note\">Every step took no time on the clock: the bars show their order only.</p>\n",
        );
    }
    out.push_str("<div class=\"axis\"><div class=\"label\"></div><div class=\"track\">");
    // A run that took no time gets one tick: five `+0s` would print on top
    // of each other.
    let last_tick = if end == 0 { 0 } else { 4 };
    for i in 0..=last_tick {
        let at = end * i / 4;
        let _ = write!(
            out,
            "<span class=\"tick\" style=\"left:{}\">+{}</span>",
            scale.pct(at),
            human_duration(at)
        );
    }
    out.push_str("</div></div>\n");
    for step in &result.steps {
        row(&mut out, step, &scale);
    }
    out.push_str("</section>\n");
    out
}

struct Scale {
    total: u64,
}

impl Scale {
    /// A position on the track, in percent.
    fn pct(&self, ms: u64) -> String {
        format!(
            "{:.3}%",
            ms.min(self.total) as f64 * 100.0 / self.total as f64
        )
    }

    /// `left` and `width` of a span, in percent.
    fn span(&self, from: u64, len: u64) -> String {
        format!("left:{};width:{}", self.pct(from), self.pct(len))
    }
}

fn row(out: &mut String, step: &StepRecord, scale: &Scale) {
    let outcome = step.outcome.word();
    let what = match (&step.agent, &step.task) {
        (Some(a), Some(t)) => format!("{a}.{t}"),
        _ => step.kind.clone(),
    };
    // An unbound step is named after its call: show the call once, so the
    // outcome still fits in the label column.
    let what_html = if what == step.name {
        String::new()
    } else {
        format!("<span class=\"what\">{}</span> ", esc(&what))
    };
    let title = if what == step.name {
        format!("{} {outcome}", step.name)
    } else {
        format!("{} {what} {outcome}", step.name)
    };
    let _ = write!(
        out,
        "<div class=\"row {}\" data-step=\"{}\" data-outcome=\"{outcome}\">\
         <div class=\"label\" title=\"{}\"><span class=\"name\">{}</span> \
         {what_html}<span class=\"outcome {outcome}\">{outcome}</span></div>\
         <div class=\"track\">",
        esc(&step.kind),
        esc(&step.name),
        esc(&title),
        esc(&step.name),
    );
    let first = step
        .attempts
        .first()
        .map_or(step.started_ms, |a| a.started_ms);
    if first > step.started_ms {
        let why = if step.kind == "approval" {
            "waited for the approval"
        } else {
            "waited for a lock or a concurrency slot"
        };
        wait(out, scale, step.started_ms, first, why);
    }
    let mut previous: Option<&Attempt> = None;
    for attempt in &step.attempts {
        if let Some(p) = previous {
            let ended = p.started_ms + p.duration_ms;
            if attempt.started_ms > ended {
                let _ = write!(
                    out,
                    "<div class=\"gap backoff\" style=\"{}\" title=\"backoff {} before attempt {}\"></div>",
                    scale.span(ended, attempt.started_ms - ended),
                    human_duration(attempt.started_ms - ended),
                    attempt.number
                );
            }
        }
        bar(out, step, attempt, scale);
        previous = Some(attempt);
    }
    if step.attempts.is_empty() && step.duration_ms > 0 {
        wait(
            out,
            scale,
            step.started_ms,
            step.started_ms + step.duration_ms,
            "waited",
        );
    }
    let end = step.started_ms + step.duration_ms;
    let timed_out = step.attempts.last().is_some_and(|a| a.outcome == "timeout");
    match &step.outcome {
        StepOutcome::Aborted { reason } => mark(out, scale, end, "cancelled", "✕", reason),
        StepOutcome::Timeout if !timed_out => mark(out, scale, end, "timeout", "!", "timed out"),
        StepOutcome::Skipped => mark(out, scale, end, "skipped", "–", "skipped by its guard"),
        _ => {}
    }
    out.push_str("</div></div>\n");
}

fn wait(out: &mut String, scale: &Scale, from: u64, to: u64, why: &str) {
    let _ = write!(
        out,
        "<div class=\"wait\" style=\"{}\" title=\"{why}: {}\"></div>",
        scale.span(from, to - from),
        human_duration(to - from)
    );
}

fn mark(out: &mut String, scale: &Scale, at: u64, class: &str, glyph: &str, why: &str) {
    let _ = write!(
        out,
        "<span class=\"mark {class}\" style=\"left:{}\" title=\"{}\">{glyph}</span>",
        scale.pct(at),
        esc(why)
    );
}

fn bar(out: &mut String, step: &StepRecord, a: &Attempt, scale: &Scale) {
    let mut title = format!(
        "{} attempt {}: {} after {} (at +{})",
        step.name,
        a.number,
        a.outcome,
        human_duration(a.duration_ms),
        human_duration(a.started_ms)
    );
    if let Some(k) = &a.kind {
        let _ = write!(title, " [{k}]");
    }
    if let Some(m) = &a.message {
        let _ = write!(title, ": {m}");
    }
    let _ = write!(
        out,
        "<div class=\"bar {}\" data-attempt=\"{}\" data-step=\"{}\" style=\"{}\" title=\"{}\">{}</div>",
        class_name(&a.outcome),
        a.number,
        esc(&step.name),
        scale.span(a.started_ms, a.duration_ms),
        esc(&title),
        if step.attempts.len() > 1 {
            format!("#{}", a.number)
        } else {
            String::new()
        }
    );
    if a.outcome == "timeout" {
        mark(
            out,
            scale,
            a.started_ms + a.duration_ms,
            "timeout",
            "!",
            "timed out",
        );
    }
}

/// `no decision` as a CSS class: `no-decision`.
fn class_name(word: &str) -> String {
    word.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{timeline, Scale};
    use crate::runtime::record::RunStart;
    use crate::runtime::result::{Attempt, RunResult, StepOutcome, StepRecord};

    #[test]
    fn spans_are_percent_of_the_run() {
        let s = Scale { total: 200 };
        assert_eq!(s.span(50, 100), "left:25.000%;width:50.000%");
        assert_eq!(s.pct(400), "100.000%", "clamped");
    }

    fn step(name: &str, agent: &str, task: &str) -> StepRecord {
        StepRecord {
            name: name.into(),
            id: None,
            kind: "task".into(),
            agent: Some(agent.into()),
            task: Some(task.into()),
            outcome: StepOutcome::Success,
            critical: false,
            started_ms: 0,
            duration_ms: 0,
            attempts: vec![Attempt {
                number: 1,
                started_ms: 0,
                duration_ms: 0,
                outcome: "success".into(),
                kind: None,
                message: None,
                stderr: Vec::new(),
            }],
            outputs: Default::default(),
            simulated: false,
        }
    }

    #[test]
    fn a_run_that_took_no_time_has_one_tick() {
        let mut result = RunResult::begun(&RunStart::for_tests(0));
        result.steps.push(step("a", "A", "t"));
        let html = timeline(&result);
        assert_eq!(html.matches("class=\"tick\"").count(), 1, "{html}");
    }

    #[test]
    fn an_unbound_step_shows_its_call_once() {
        let mut result = RunResult::begun(&RunStart::for_tests(0));
        result.steps.push(step("A.t", "A", "t"));
        result.steps.push(step("x", "A", "t"));
        let html = timeline(&result);
        assert!(
            html.contains("<span class=\"name\">A.t</span> <span class=\"outcome"),
            "{html}"
        );
        assert_eq!(html.matches("class=\"what\"").count(), 1, "{html}");
    }
}
