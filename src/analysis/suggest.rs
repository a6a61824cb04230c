//! "Did you mean …?" by edit distance, under a per-file budget.
//!
//! Each suggestion compares a name with every candidate, so a file with
//! thousands of misspelled names and thousands of declarations would be
//! quadratic. Three things keep it bounded: a length lower bound skips most
//! candidates without computing a distance, answers are cached per distinct
//! misspelling and candidate set, and while a [`Session`] is open (one per
//! analysed file) at most [`MAX_COMPARISONS`] distances are computed; past
//! that, diagnostics are given without a suggestion.

use std::cell::RefCell;
use std::collections::HashMap;

/// Most edit distances computed for the suggestions of one file.
pub const MAX_COMPARISONS: usize = 100_000;

/// What identifies one question: the name and the candidate set (its first
/// candidate's address and length, and the candidate count).
type Key = (String, usize, usize, usize);

#[derive(Default)]
struct State {
    /// Comparisons left in the open session; `None` outside a session.
    remaining: Option<usize>,
    /// Comparisons made since the session opened.
    made: usize,
    /// Answers by question, as indexes into the candidate list.
    cache: HashMap<Key, Option<usize>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// A per-file suggestion budget and cache, open until dropped.
pub struct Session(());

impl Session {
    /// Opens a session on this thread with a full budget and an empty cache.
    pub fn start() -> Session {
        STATE.with(|s| {
            *s.borrow_mut() = State {
                remaining: Some(MAX_COMPARISONS),
                ..State::default()
            }
        });
        Session(())
    }

    /// Edit distances computed so far in this session.
    #[cfg(test)]
    pub fn comparisons(&self) -> usize {
        STATE.with(|s| s.borrow().made)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        STATE.with(|s| *s.borrow_mut() = State::default());
    }
}

/// The closest candidate to `name`, if it is close enough to be a likely typo.
///
/// Comparison ignores case, so `release_manager` suggests `RELEASE_MANAGER`.
pub fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let key = key(name, candidates.clone());
    if let Some(hit) = STATE.with(|s| s.borrow().cache.get(&key).copied()) {
        return hit.and_then(|i| candidates.into_iter().nth(i));
    }
    let found = search(name, candidates.clone());
    STATE.with(|s| s.borrow_mut().cache.insert(key, found));
    found.and_then(|i| candidates.into_iter().nth(i))
}

fn key<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Key {
    let mut iter = candidates.into_iter();
    let count = iter.size_hint().0;
    let first = iter
        .next()
        .map_or((0, 0), |c| (c.as_ptr() as usize, c.len()));
    (name.to_string(), first.0, first.1, count)
}

/// Takes one comparison from the session's budget; `false` when spent.
fn take_comparison() -> bool {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        match s.remaining {
            Some(0) => false,
            Some(n) => {
                s.remaining = Some(n - 1);
                s.made += 1;
                true
            }
            None => true,
        }
    })
}

/// Index of the closest candidate.
fn search<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    if STATE.with(|s| s.borrow().remaining == Some(0)) {
        return None;
    }
    let wanted = name.to_lowercase();
    let wanted_chars = wanted.chars().count();
    let limit = (name.chars().count() / 3).max(1);
    // `Quality` → `QualityGate`, `ResourceLimit` → `Resource`.
    let mut prefix = None;
    let mut best: Option<(usize, usize, usize)> = None; // (distance, len, index)
    for (i, c) in candidates.into_iter().enumerate() {
        if prefix.is_none() && is_prefix_pair(&wanted, c) {
            prefix = Some(i);
        }
        if c == name {
            continue;
        }
        // A distance is at least the difference in length.
        let c_chars = c.chars().count();
        if wanted_chars.abs_diff(c_chars) > limit {
            continue;
        }
        if best.is_some_and(|(d, _, _)| wanted_chars.abs_diff(c_chars) > d) {
            continue;
        }
        if !take_comparison() {
            break;
        }
        let distance = strsim::damerau_levenshtein(&wanted, &c.to_lowercase());
        // A suggestion must share something with the name: never replace
        // every character of a short name.
        if distance <= limit
            && distance < name.len().min(c.len())
            && best.is_none_or(|(d, len, _)| (distance, c.len()) < (d, len))
        {
            best = Some((distance, c.len(), i));
        }
    }
    best.map(|(_, _, i)| i).or(prefix)
}

/// Whether one of `wanted` (lowercase) and `candidate` starts with the other,
/// ignoring case, both being at least 4 long and not equal.
fn is_prefix_pair(wanted: &str, candidate: &str) -> bool {
    let (w, c) = (wanted.as_bytes(), candidate.as_bytes());
    let shorter = w.len().min(c.len());
    shorter >= 4
        && !(w.len() == c.len() && w.eq_ignore_ascii_case(c))
        && w[..shorter].eq_ignore_ascii_case(&c[..shorter])
}

/// `did you mean `X`?` help text, or a listing of what exists.
pub fn help<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    if let Some(best) = closest(name, candidates.clone()) {
        return format!("did you mean `{best}`?");
    }
    let mut all: Vec<&str> = candidates.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    listing(
        name,
        &format!("declared {what}s"),
        &format!("no {what} is declared"),
        &all,
    )
}

/// "did you mean"-less listing: `LABEL: a, b, c`, or `none` when empty.
pub fn listing(name: &str, label: &str, none: &str, all: &[&str]) -> String {
    match all.len() {
        0 => none.to_string(),
        n if n <= 8 => format!(
            "{label}: {}",
            all.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        n => format!(
            "{n} {label}; none is close to `{name}`",
            label = label.trim_start_matches("declared ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_ignoring_case() {
        let agents = ["RELEASE_MANAGER", "META_UPDATER", "TOOLSMITH"];
        assert_eq!(closest("RELEASE_MANGER", agents), Some("RELEASE_MANAGER"));
        assert_eq!(closest("release_manager", agents), Some("RELEASE_MANAGER"));
        assert_eq!(closest("TOOLSMIT", agents), Some("TOOLSMITH"));
        assert_eq!(closest("SCHEDULER", agents), None);
        let types = ["Boundary", "QualityGate", "Resource", "Conflict"];
        assert_eq!(closest("Quality", types), Some("QualityGate"));
        assert_eq!(closest("ResourceLimit", types), Some("Resource"));
    }

    #[test]
    fn a_session_bounds_and_caches_comparisons() {
        let names: Vec<String> = (0..2_000).map(|i| format!("AGENT_{i:05}")).collect();
        let agents = || names.iter().map(String::as_str);
        let session = Session::start();
        // The same misspelling many times: computed once.
        for _ in 0..100 {
            assert_eq!(closest("AGENT_0001X", agents()), Some("AGENT_00010"));
        }
        let once = session.comparisons();
        assert!(once <= names.len(), "{once}");
        // Many different misspellings: the budget caps the work, and
        // later names get no suggestion instead of more comparisons.
        for i in 0..1_000 {
            let _ = closest(&format!("AGENT_{i:05}Y"), agents());
        }
        assert_eq!(session.comparisons(), MAX_COMPARISONS);
        assert_eq!(closest("AGENT_0002X", agents()), None);
        drop(session);
        // Outside a session there is no budget.
        assert_eq!(closest("AGENT_0002X", agents()), Some("AGENT_00020"));
    }

    #[test]
    fn the_length_bound_skips_distant_candidates() {
        let session = Session::start();
        let long = ["A_VERY_LONG_AGENT_NAME", "ANOTHER_LONG_NAME_HERE", "RM"];
        assert_eq!(closest("RN", long), Some("RM"));
        assert_eq!(session.comparisons(), 1);
    }

    #[test]
    fn help_lists_candidates_when_none_is_close() {
        assert_eq!(help("x", "lock", ["b", "a"]), "declared locks: `a`, `b`");
        assert_eq!(help("x", "lock", []), "no lock is declared");
    }
}
