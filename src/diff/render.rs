//! The diff as text for a reviewer, as JSON, and as GitHub annotations.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diagnostics::github::{escape_data, escape_property};
use crate::runtime::result::RouteChoice;

use super::routing::{RoutingDiff, SignalChange};
use super::structure::Change;

/// Everything `coordops diff` found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// How OLD was named on the command line.
    pub old: String,
    /// How NEW was named on the command line.
    pub new: String,
    /// Whether some signal routes differently.
    pub routing_changed: bool,
    /// The routing diff.
    pub routing: RoutingDiff,
    /// Structural changes, routing's first, then agents and tasks, then workflows.
    pub changes: Vec<Change>,
    /// Where NEW's routes and signals are, for annotations (not serialised).
    #[serde(skip)]
    pub anchors: Anchors,
}

/// Line and column (from 1) of NEW's routes, by index, and signals, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Anchors {
    /// Each route's position.
    pub routes: Vec<(usize, usize)>,
    /// Each declared signal's position.
    pub signals: Vec<(String, (usize, usize))>,
}

impl Report {
    /// Whether nothing differs (and no signal's combinations were capped).
    pub fn is_empty(&self) -> bool {
        !self.routing_changed
            && self.routing.signals_added.is_empty()
            && self.routing.signals_removed.is_empty()
            && self.changes.is_empty()
            && self.routing.capped.is_empty()
    }
}

/// The report for people: grouped, one line per change.
pub fn human(r: &Report) -> String {
    let mut out = format!("diff {} → {}\n", r.old, r.new);
    if r.is_empty() {
        out.push_str("no changes in behaviour\n");
        return out;
    }
    let mut routing = Vec::new();
    for s in &r.routing.changed {
        routing.extend(signal_lines(s));
    }
    for s in &r.routing.capped {
        routing.push(format!(
            "! {s}: too many combinations; only the first {} were tried",
            super::routing::MAX_COMBINATIONS
        ));
    }
    routing.extend(change_lines(&r.changes, "routing"));
    for (title, lines) in [
        ("Routing", routing),
        ("Agents and tasks", change_lines(&r.changes, "agents_tasks")),
        ("Workflows", change_lines(&r.changes, "workflows")),
    ] {
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{title}\n"));
        for line in lines {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let signals = r.routing.changed.len();
    out.push_str(&format!(
        "\n{} signal(s) route differently; {} structural change(s)\n",
        signals,
        r.changes.len()
    ));
    out
}

/// One line per changed combination (no `with` when any value changes the same way).
fn signal_lines(s: &SignalChange) -> Vec<String> {
    s.combinations
        .iter()
        .map(|c| {
            let with = if c.values.is_empty() {
                String::new()
            } else {
                format!(" with {}", values(&c.values))
            };
            format!(
                "~ {}{with}: {} → {}",
                s.signal,
                route(c.old.as_ref()),
                route(c.new.as_ref())
            )
        })
        .collect()
}

fn route(c: Option<&RouteChoice>) -> String {
    match c {
        None => "no route (ignored)".to_string(),
        Some(c) => match &c.label {
            Some(l) => format!("{l} ({})", c.target),
            None => format!("#{} ({})", c.index, c.target),
        },
    }
}

/// `n=5, s="x"`.
fn values(v: &Map<String, Value>) -> String {
    v.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn change_lines(changes: &[Change], section: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.section == section)
        .map(change_text)
        .collect()
}

fn change_text(c: &Change) -> String {
    match c.kind {
        "added" => format!("+ {} added", c.subject),
        "removed" => format!("- {} removed", c.subject),
        _ => format!(
            "~ {}: {}: {} → {}",
            c.subject,
            c.aspect.as_deref().unwrap_or(""),
            c.old.as_deref().unwrap_or("none"),
            c.new.as_deref().unwrap_or("none")
        ),
    }
}

/// The report as JSON (docs/diff.md).
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// GitHub Actions `::warning` commands on NEW: a routing change at the
/// route NEW takes (or the signal's declaration), a structural change at
/// the construct in NEW (file-level when it was removed).
pub fn github(r: &Report) -> String {
    let file = escape_property(&r.new);
    let mut out = String::new();
    for s in &r.routing.changed {
        let Some(first) = s.combinations.first() else {
            continue;
        };
        let at = first
            .new
            .as_ref()
            .and_then(|c| r.anchors.routes.get(c.index).copied())
            .or_else(|| {
                r.anchors
                    .signals
                    .iter()
                    .find(|(n, _)| n == &s.signal)
                    .map(|(_, at)| *at)
            });
        let text = format!(
            "{} routes differently:\n{}",
            s.signal,
            signal_lines(s).join("\n")
        );
        out.push_str(&annotation(&file, at, "routing changed", &text));
    }
    for c in &r.changes {
        let at = c.line.zip(c.col);
        out.push_str(&annotation(&file, at, "playbook changed", &change_text(c)));
    }
    out
}

fn annotation(file: &str, at: Option<(usize, usize)>, title: &str, text: &str) -> String {
    let place = match at {
        Some((line, col)) => format!("file={file},line={line},col={col}"),
        None => format!("file={file}"),
    };
    format!(
        "::warning {place},title={}::{}\n",
        escape_property(title),
        escape_data(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            old: "old.ops".into(),
            new: "new,1.ops".into(),
            routing_changed: false,
            routing: RoutingDiff {
                capped: vec!["A:B".into()],
                ..RoutingDiff::default()
            },
            changes: vec![Change {
                section: "agents_tasks",
                kind: "removed",
                subject: "agent X".into(),
                aspect: None,
                old: None,
                new: None,
                line: None,
                col: None,
            }],
            anchors: Anchors::default(),
        }
    }

    #[test]
    fn a_capped_signal_is_said_in_human_output() {
        let text = human(&report());
        assert!(
            text.contains(
                "\nRouting\n  ! A:B: too many combinations; only the first 256 were tried\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nAgents and tasks\n  - agent X removed\n"),
            "{text}"
        );
    }

    #[test]
    fn a_removed_construct_is_a_file_level_annotation() {
        assert_eq!(
            github(&report()),
            "::warning file=new%2C1.ops,title=playbook changed::- agent X removed\n"
        );
    }
}
