//! Reports rendered from a [`RunResult`](crate::runtime::result::RunResult):
//! the seed's "Ops Result", "Ops Quality Report" and "Ops Escalation" as
//! Markdown for people, a self-contained HTML page with the run's timeline
//! and flow, and the run result as JSON for machines.

mod approvals;
mod html;
mod markdown;
mod timeline;
mod write;

pub use approvals::{decision_line, decision_on};
pub use html::render_html;
pub use markdown::{escalation, handoff_state, ops_result, quality_report, render_markdown};
pub use write::{check_writable, write_atomically};

use crate::runtime::result::RunResult;

/// The run result as pretty JSON (schema in `docs/run-result.md`).
pub fn render_json(result: &RunResult) -> String {
    let mut text =
        serde_json::to_string_pretty(result).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// A duration to the two largest units, for people deciding or browsing
/// (`1d2h`, `23h59m`, `5m`, `40s`): time left and ages.
pub fn coarse_duration(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// `1h 2m 3s`, `45s`, `500ms`, `0s` — durations as the seed writes them.
pub fn human_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let mut parts = Vec::new();
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_the_seed() {
        assert_eq!(human_duration(135_000), "2m 15s");
        assert_eq!(human_duration(45_000), "45s");
        assert_eq!(human_duration(3_600_000), "1h");
        assert_eq!(human_duration(250), "250ms");
    }
}
