//! The lint on failure kinds that look misspelt (`misspelt_kind`): kinds
//! are free words, so `except [netwrok]` or `on failure(rejcted)` is
//! accepted, never matches, and says nothing.

use std::collections::HashMap;

use crate::ast::{Handler, Ident, Playbook, Setting, StepOption, Stmt};
use crate::diagnostics::{codes, Diagnostic};

/// Kinds coordops itself reports, whatever the agents say: the
/// interpreter's and every backend's (`runtime::backend::kinds`, kept in
/// step by a test there).
pub(crate) const BUILT_IN: &[&str] = &[
    "timeout",
    "quality_check",
    "protocol",
    "spawn",
    "exit",
    "output_too_large",
    "cancelled",
    "configuration",
    "network",
    "unavailable",
    "too_many_requests",
    "rejected_request",
    "server_error",
];

/// Warns on a kind written once in the playbook that is a likely typo of a
/// built-in kind or of a kind written elsewhere in it (of two such kinds
/// written once each, the later one).
pub(super) fn misspelt_kinds(playbook: &Playbook, out: &mut Vec<Diagnostic>) {
    let mut uses: HashMap<&str, Vec<&Ident>> = HashMap::new();
    collect(playbook, &mut |kind| {
        uses.entry(kind.name.as_str()).or_default().push(kind)
    });
    let mut known: Vec<&str> = uses
        .keys()
        .copied()
        .chain(BUILT_IN.iter().copied())
        .collect();
    known.sort_unstable();
    known.dedup();
    let mut lonely: Vec<&Ident> = uses
        .iter()
        .filter(|(name, all)| all.len() == 1 && !BUILT_IN.contains(name))
        .map(|(_, all)| all[0])
        .collect();
    lonely.sort_by_key(|k| k.span.start);
    for kind in lonely {
        let others = known.iter().copied().filter(|k| *k != kind.name);
        let Some(meant) = super::suggest::closest(&kind.name, others) else {
            continue;
        };
        // Kinds are free words: `rejected` is not a typo of
        // `rejected_request` (a prefix pair, which names elsewhere accept).
        let limit = (kind.name.chars().count() / 3).max(1);
        if strsim::damerau_levenshtein(&kind.name, meant) > limit {
            continue;
        }
        // Two kinds written once each and close to each other: the first
        // written is taken as meant, the later one is flagged (once).
        let meant_later = match uses.get(meant).map(Vec::as_slice) {
            Some([only]) => only.span.start > kind.span.start,
            _ => false,
        };
        if meant_later {
            continue;
        }
        out.push(
            Diagnostic::warning(
                codes::LINT_MISSPELT_KIND,
                format!(
                    "failure kind `{}` is written only here and looks like `{meant}`: a kind no agent reports never matches",
                    kind.name
                ),
            )
            .with_primary(kind.span, format!("did you mean `{meant}`?"))
            .with_help(format!(
                "write `{meant}`; if `{}` is a kind your agents really report, allow this warning with `# ops:allow(misspelt_kind)`",
                kind.name
            )),
        );
    }
}

/// Calls `f` on every failure kind written in a retry policy or a handler.
fn collect<'a>(playbook: &'a Playbook, f: &mut impl FnMut(&'a Ident)) {
    let settings = |list: &'a [Setting], f: &mut dyn FnMut(&'a Ident)| {
        for s in list {
            if let Setting::Retry(p) = s {
                p.on.iter().chain(&p.except).for_each(&mut *f);
            }
        }
    };
    for c in playbook.coordinators() {
        settings(&c.settings, f);
    }
    for a in playbook.agents() {
        settings(&a.settings, f);
        for t in &a.tasks {
            settings(&t.settings, f);
        }
    }
    let handler = |h: &'a Handler, f: &mut dyn FnMut(&'a Ident)| h.kinds.iter().for_each(f);
    for h in playbook.rules() {
        handler(h, f);
    }
    for w in playbook.workflows() {
        w.body.walk(&mut |s: &'a Stmt| {
            let options = match s {
                Stmt::Call(c) => &c.options,
                Stmt::Approve(a) => &a.options,
                Stmt::Run(r) => &r.options,
                _ => return,
            };
            for o in options {
                match o {
                    StepOption::Retry(p) => p.on.iter().chain(&p.except).for_each(&mut *f),
                    StepOption::Handler(h) => handler(h, f),
                    _ => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::source::SourceFile;

    fn warnings(text: &str) -> Vec<String> {
        let file = SourceFile::new("k.ops", text);
        crate::analysis::parse_and_check(&file)
            .diagnostics
            .into_iter()
            .filter(|d| d.code == crate::diagnostics::codes::LINT_MISSPELT_KIND)
            .map(|d| d.message)
            .collect()
    }

    const HEAD: &str = "signal OPS:GO\nroute OPS:GO => w\nagent A { task t }\n";

    #[test]
    fn a_lonely_near_miss_of_a_known_kind_is_flagged() {
        let text = format!(
            "{HEAD}workflow w {{\n  A.t() retry 2 on [network, timeout]\n    on exhausted(netwrok) => continue\n}}\n"
        );
        let found = warnings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`netwrok`") && found[0].contains("`network`"),
            "{found:?}"
        );
        let builtin = format!("{HEAD}workflow w {{\n  A.t() retry 2 except [timout]\n}}\n");
        assert_eq!(
            warnings(&builtin).len(),
            1,
            "a near miss of a built-in kind"
        );
    }

    #[test]
    fn a_near_miss_of_a_backend_kind_is_flagged() {
        let text = format!("{HEAD}workflow w {{\n  A.t() retry 2 on [too_many_request]\n}}\n");
        let found = warnings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("`too_many_requests`"), "{found:?}");
    }

    #[test]
    fn distinct_or_repeated_kinds_are_not_flagged() {
        let text = format!(
            "{HEAD}workflow w {{\n  A.t() retry 2 on [rejected, conflict]\n    on exhausted(conflict) => continue\n}}\n"
        );
        assert!(warnings(&text).is_empty());
    }
}
