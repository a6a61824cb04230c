//! Choosing a route for a signal, and explaining the choice.

use serde::Serialize;

use crate::ast::{Playbook, Route, RouteTarget, SignalPattern};
use crate::source::SourceFile;

use super::eval::{eval, Scope};
use super::result::RouteChoice;

/// Why one route did or did not match.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteTrace {
    /// The route's position.
    pub index: usize,
    /// The route as a choice (label, pattern, target).
    pub route: RouteChoice,
    /// Whether it matched.
    pub matched: bool,
    /// Why not (or "matched").
    pub reason: String,
}

/// The pattern as written.
pub fn pattern_text(p: &SignalPattern) -> String {
    match p {
        SignalPattern::Exact { name, .. } => name.clone(),
        SignalPattern::Namespace { namespace, .. } => format!("{namespace}:*"),
        SignalPattern::Any { .. } => "*".to_string(),
    }
}

/// What a route runs, in words.
pub fn target_text(t: &RouteTarget) -> String {
    match t {
        RouteTarget::Workflow(w) => format!("workflow {}", w.name),
        RouteTarget::Task(c) => format!("task {}.{}", c.agent.name, c.task.name),
        RouteTarget::Ignore { .. } => "ignore".to_string(),
        RouteTarget::Escalate(e) => format!("escalate {}", e.kind.name),
    }
}

/// A route as a [`RouteChoice`].
pub fn choice(index: usize, route: &Route) -> RouteChoice {
    RouteChoice {
        index,
        label: route.label.as_ref().map(|l| l.name.clone()),
        pattern: pattern_text(&route.pattern),
        target: target_text(&route.target),
    }
}

/// Tries the routes in order; returns the first match and a trace of every
/// route tried up to it.
pub fn choose<'p>(
    playbook: &'p Playbook,
    signal: &str,
    scope: &Scope,
    source: Option<&SourceFile>,
) -> (Option<(usize, &'p Route)>, Vec<RouteTrace>) {
    let mut trace = Vec::new();
    for (index, route) in playbook.routes().enumerate() {
        let route_choice = choice(index, route);
        if !route.pattern.matches(signal) {
            trace.push(RouteTrace {
                index,
                route: route_choice.clone(),
                matched: false,
                reason: format!(
                    "pattern `{}` does not match `{signal}`",
                    route_choice.pattern
                ),
            });
            continue;
        }
        if let Some(guard) = &route.guard {
            let value = eval(guard, scope);
            if value != serde_json::Value::Bool(true) {
                let text = source.map_or_else(
                    || "the guard".to_string(),
                    |s| format!("`{}`", s.slice(guard.span)),
                );
                trace.push(RouteTrace {
                    index,
                    route: route_choice,
                    matched: false,
                    reason: format!(
                        "guard {text} is {}",
                        super::eval::display(&value).replace('?', "unknown")
                    ),
                });
                continue;
            }
        }
        trace.push(RouteTrace {
            index,
            route: route_choice,
            matched: true,
            reason: "matched".to_string(),
        });
        return (Some((index, route)), trace);
    }
    (None, trace)
}
