//! Route warnings: routes that can never match and signals no route handles.
//!
//! Both are linear in the number of routes and signals: routes are indexed
//! by exact name and by namespace once, instead of comparing every pair.

use std::collections::{HashMap, HashSet};

use crate::ast::{Playbook, Route, SignalPattern};
use crate::diagnostics::{codes, Diagnostic};

/// Runs both route lints.
pub fn check(playbook: &Playbook, out: &mut Vec<Diagnostic>) {
    shadowed_routes(playbook, out);
    unrouted_signals(playbook, out);
}

fn pattern_text(p: &SignalPattern) -> String {
    match p {
        SignalPattern::Exact { name, .. } => name.clone(),
        SignalPattern::Namespace { namespace, .. } => format!("{namespace}:*"),
        SignalPattern::Any { .. } => "*".to_string(),
    }
}

fn namespace_of(name: &str) -> Option<&str> {
    name.split_once(':').map(|(ns, _)| ns)
}

/// The first unguarded routes seen so far, by what they catch.
#[derive(Default)]
struct Catchers<'a> {
    any: Option<(usize, &'a Route)>,
    namespaces: HashMap<&'a str, (usize, &'a Route)>,
    exact: HashMap<&'a str, (usize, &'a Route)>,
}

impl<'a> Catchers<'a> {
    /// The earliest route seen so far that catches every signal `pattern` matches.
    fn covering(&self, pattern: &SignalPattern) -> Option<&'a Route> {
        let namespace = |ns: Option<&str>| ns.and_then(|ns| self.namespaces.get(ns).copied());
        let candidates = match pattern {
            SignalPattern::Any { .. } => [self.any, None, None],
            SignalPattern::Namespace { namespace: ns, .. } => [self.any, namespace(Some(ns)), None],
            SignalPattern::Exact { name, .. } => [
                self.any,
                namespace(namespace_of(name)),
                self.exact.get(name.as_str()).copied(),
            ],
        };
        candidates
            .into_iter()
            .flatten()
            .min_by_key(|(i, _)| *i)
            .map(|(_, r)| r)
    }

    fn add(&mut self, i: usize, route: &'a Route) {
        match &route.pattern {
            SignalPattern::Any { .. } => {
                self.any.get_or_insert((i, route));
            }
            SignalPattern::Namespace { namespace, .. } => {
                self.namespaces.entry(namespace).or_insert((i, route));
            }
            SignalPattern::Exact { name, .. } => {
                self.exact.entry(name).or_insert((i, route));
            }
        }
    }
}

fn shadowed_routes(playbook: &Playbook, out: &mut Vec<Diagnostic>) {
    let mut seen = Catchers::default();
    for (i, later) in playbook.routes().enumerate() {
        if let Some(earlier) = seen.covering(&later.pattern) {
            out.push(
                Diagnostic::warning(
                    codes::LINT_SHADOWED_ROUTE,
                    format!(
                        "this route can never match: `{}` above it catches every `{}` signal first",
                        pattern_text(&earlier.pattern),
                        pattern_text(&later.pattern)
                    ),
                )
                .with_primary(later.pattern.span(), "never reached")
                .with_secondary(earlier.pattern.span(), "matches first")
                .with_help("routes are tried in order and the first match wins; move this route above, or add a `when` guard to the earlier one"),
            );
        }
        if later.guard.is_none() {
            seen.add(i, later);
        }
    }
}

fn unrouted_signals(playbook: &Playbook, out: &mut Vec<Diagnostic>) {
    let mut exact = HashSet::new();
    let mut namespaces = HashSet::new();
    for route in playbook.routes() {
        match &route.pattern {
            SignalPattern::Exact { name, .. } => {
                exact.insert(name.as_str());
            }
            SignalPattern::Namespace { namespace, .. } => {
                namespaces.insert(namespace.as_str());
            }
            // `*` alone does not count as handling a declared signal.
            SignalPattern::Any { .. } => {}
        }
    }
    for signal in playbook.signals() {
        let name = signal.name.name.as_str();
        let routed =
            exact.contains(name) || namespace_of(name).is_some_and(|ns| namespaces.contains(ns));
        if !routed {
            out.push(
                Diagnostic::warning(
                    codes::LINT_UNROUTED_SIGNAL,
                    format!("signal `{name}` is declared but no route handles it"),
                )
                .with_primary(signal.name.span, "never routed")
                .with_help(format!(
                    "add `route {name} => WORKFLOW`, or remove the declaration"
                )),
            );
        }
    }
}
