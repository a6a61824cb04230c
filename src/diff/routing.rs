//! Routing diff: which route each version takes for representative signals.
//!
//! Guard evaluation is the real router's ([`crate::runtime::routing::choose`])
//! on contexts built as for a test's `signal NAME { … }`
//! ([`crate::runtime::context::from_values`]).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ast::{Playbook, SignalPattern};
use crate::runtime::context;
use crate::runtime::eval::{eval, Scope};
use crate::runtime::result::RouteChoice;
use crate::runtime::routing;

use super::values::{self, Candidates};

/// At most this many field-value combinations are tried per signal.
pub const MAX_COMBINATIONS: usize = 256;

/// How routing differs between two versions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RoutingDiff {
    /// Signals declared only in NEW.
    pub signals_added: Vec<String>,
    /// Signals declared only in OLD.
    pub signals_removed: Vec<String>,
    /// Per signal, the combinations whose route changed (signals with none are left out).
    pub changed: Vec<SignalChange>,
    /// Signals whose combinations were capped at [`MAX_COMBINATIONS`].
    pub capped: Vec<String>,
}

/// The combinations of one signal whose route changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignalChange {
    /// The signal.
    pub signal: String,
    /// How many combinations were tried.
    pub tried: usize,
    /// Those whose route changed.
    pub combinations: Vec<Combination>,
}

/// One combination of field values and the route each version takes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Combination {
    /// The values of the fields that decide this change; a field left out
    /// changes nothing when it takes any of its representative values.
    pub values: Map<String, Value>,
    /// The route OLD takes (`null`: no route matched, the signal is ignored).
    pub old: Option<RouteChoice>,
    /// The route NEW takes.
    pub new: Option<RouteChoice>,
}

impl RoutingDiff {
    /// Whether any signal routes differently.
    pub fn is_changed(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// Compares the routing of `old` and `new`.
pub fn diff(old: &Playbook, new: &Playbook) -> RoutingDiff {
    let declared =
        |p: &Playbook| -> BTreeSet<String> { p.signals().map(|s| s.name.name.clone()).collect() };
    let (old_signals, new_signals) = (declared(old), declared(new));
    let mut all: BTreeSet<String> = old_signals.union(&new_signals).cloned().collect();
    for p in [old, new] {
        for route in p.routes() {
            if let SignalPattern::Exact { name, .. } = &route.pattern {
                all.insert(name.clone());
            }
        }
    }
    let mut out = RoutingDiff {
        signals_added: new_signals.difference(&old_signals).cloned().collect(),
        signals_removed: old_signals.difference(&new_signals).cloned().collect(),
        ..RoutingDiff::default()
    };
    for signal in &all {
        let candidates = candidates(old, new, signal);
        let (combos, capped) = product(&candidates);
        if capped {
            out.capped.push(signal.clone());
        }
        let outcomes: Vec<Outcome> = combos
            .into_iter()
            .map(|values| {
                let old = route_of(old, signal, &values);
                let new = route_of(new, signal, &values);
                (values, old, new)
            })
            .collect();
        let changed = summarise(&outcomes);
        if !changed.is_empty() {
            out.changed.push(SignalChange {
                signal: signal.clone(),
                tried: outcomes.len(),
                combinations: changed,
            });
        }
    }
    out
}

/// One combination and the route each version takes.
type Outcome = (Map<String, Value>, Option<RouteChoice>, Option<RouteChoice>);

/// Whether the route's target differs between the versions.
fn differs(o: &Outcome) -> bool {
    o.1.as_ref().map(|c| &c.target) != o.2.as_ref().map(|c| &c.target)
}

/// The changed combinations, each with the fields that do not matter left
/// out: a field is dropped when every combination agreeing on the fields
/// kept has the same change (so the line holds for any value of it).
fn summarise(outcomes: &[Outcome]) -> Vec<Combination> {
    let mut out: Vec<Combination> = Vec::new();
    for o in outcomes.iter().filter(|o| differs(o)) {
        let mut pattern = o.0.clone();
        for field in o.0.keys() {
            let mut wider = pattern.clone();
            wider.remove(field);
            let same = outcomes
                .iter()
                .filter(|x| wider.iter().all(|(k, v)| x.0.get(k) == Some(v)))
                .all(|x| x.1 == o.1 && x.2 == o.2);
            if same {
                pattern = wider;
            }
        }
        let combination = Combination {
            values: pattern,
            old: o.1.clone(),
            new: o.2.clone(),
        };
        if !out.contains(&combination) {
            out.push(combination);
        }
    }
    out
}

/// The representative values of every field either version's guards or
/// declarations constrain.
fn candidates(old: &Playbook, new: &Playbook, signal: &str) -> Candidates {
    let mut out = Candidates::new();
    for p in [old, new] {
        for route in p.routes().filter(|r| r.pattern.matches(signal)) {
            if let Some(guard) = &route.guard {
                values::from_guard(guard, &mut out);
            }
        }
    }
    for p in [old, new] {
        if let Some(decl) = p.signals().find(|s| s.name.name == signal) {
            for field in &decl.fields {
                let default = field.default.as_ref().map(|d| eval(d, &Scope::default()));
                values::from_decl(field, default, &mut out);
            }
        }
    }
    // Only fields the signal declares (in either version) can be set.
    let declares = |field: &str| {
        [old, new].iter().any(|p| {
            p.signals()
                .find(|s| s.name.name == signal)
                .is_none_or(|d| d.fields.iter().any(|f| f.name.name == field))
        })
    };
    out.retain(|field, _| field != "name" && declares(field));
    out
}

/// Every combination of the candidates (fields in name order), at most
/// [`MAX_COMBINATIONS`]; the flag tells whether some were left out.
fn product(candidates: &Candidates) -> (Vec<Map<String, Value>>, bool) {
    let mut combos = vec![Map::new()];
    let mut capped = false;
    for (field, values) in candidates {
        let mut next = Vec::new();
        'outer: for combo in &combos {
            for value in values {
                if next.len() == MAX_COMBINATIONS {
                    capped = true;
                    break 'outer;
                }
                let mut c = combo.clone();
                c.insert(field.clone(), value.clone());
                next.push(c);
            }
        }
        combos = next;
    }
    (combos, capped)
}

/// The route `playbook` takes for `signal` with `values` (fields it does
/// not declare dropped, required fields it lacks given a placeholder).
fn route_of(playbook: &Playbook, signal: &str, values: &Map<String, Value>) -> Option<RouteChoice> {
    let decl = playbook.signals().find(|s| s.name.name == signal);
    let mut given = Map::new();
    for (key, value) in values {
        if decl.is_none_or(|d| d.fields.iter().any(|f| &f.name.name == key)) {
            given.insert(key.clone(), value.clone());
        }
    }
    if let Some(decl) = decl {
        for field in &decl.fields {
            if field.default.is_none() && !given.contains_key(&field.name.name) {
                given.insert(
                    field.name.name.clone(),
                    values::placeholder(&field.ty.name.name),
                );
            }
        }
    }
    let ctx = context::from_values(playbook, signal, given).unwrap_or_default();
    let mut scope = Scope::default();
    scope.bind("signal", Value::Object(ctx));
    let (chosen, _) = routing::choose(playbook, signal, &scope, None);
    chosen.map(|(index, route)| routing::choice(index, route))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn playbook(text: &str) -> Playbook {
        let file = SourceFile::new("t.ops", text.to_string());
        crate::syntax::parse(&file).playbook.expect("parses")
    }

    const BASE: &str = "signal A:B { n: int = 0 }\nsignal A:C { }\n";

    #[test]
    fn a_changed_threshold_reports_the_values_between() {
        let old = playbook(&format!("{BASE}route big: A:B when signal.n > 5 => ignore\nroute rest: A:* => escalate Boundary \"x\" {{ }}\n"));
        let new = playbook(&format!("{BASE}route big: A:B when signal.n > 4 => ignore\nroute rest: A:* => escalate Boundary \"x\" {{ }}\n"));
        let d = diff(&old, &new);
        assert_eq!(d.changed.len(), 1);
        let c = &d.changed[0];
        assert_eq!(c.signal, "A:B");
        assert_eq!(c.combinations.len(), 1);
        assert_eq!(c.combinations[0].values["n"], serde_json::json!(5));
        let old = playbook(&format!("{BASE}route c: A:C => ignore\n"));
        let new = playbook(&format!(
            "{BASE}route c: A:C => escalate Boundary \"x\" {{ }}\n"
        ));
        let d = diff(&old, &new);
        assert!(d.changed[0].combinations[0].values.is_empty(), "{d:?}");
    }

    #[test]
    fn identical_playbooks_do_not_differ() {
        let p = playbook(&format!(
            "{BASE}route big: A:B when signal.n > 5 => ignore\n"
        ));
        assert!(!diff(&p, &p).is_changed());
    }

    #[test]
    fn combinations_are_capped() {
        let mut c = Candidates::new();
        for f in ["a", "b", "c", "d", "e"] {
            c.insert(f.into(), (0..4).map(|i| serde_json::json!(i)).collect());
        }
        let (combos, capped) = product(&c);
        assert!(capped);
        assert_eq!(combos.len(), MAX_COMBINATIONS);
    }
}
