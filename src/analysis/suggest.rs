//! "Did you mean …?" by edit distance.

/// The closest candidate to `name`, if it is close enough to be a likely typo.
///
/// Comparison ignores case, so `release_manager` suggests `RELEASE_MANAGER`.
pub fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    // `Quality` → `QualityGate`, `ResourceLimit` → `Resource`.
    let prefix = candidates.clone().into_iter().find(|c| {
        let c = c.to_lowercase();
        wanted.len().min(c.len()) >= 4
            && c != wanted
            && (c.starts_with(&wanted) || wanted.starts_with(&c))
    });
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&wanted, &c.to_lowercase()), c))
        // A suggestion must share something with the name: never replace
        // every character of a short name.
        .filter(|(distance, c)| {
            *distance <= limit && *distance < name.len().min(c.len()) && *c != name
        })
        .min_by_key(|(distance, c)| (*distance, c.len()))
        .map(|(_, c)| c)
        .or(prefix)
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
    fn help_lists_candidates_when_none_is_close() {
        assert_eq!(help("x", "lock", ["b", "a"]), "declared locks: `a`, `b`");
        assert_eq!(help("x", "lock", []), "no lock is declared");
    }
}
