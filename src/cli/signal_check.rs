//! A warning for a `--signal` the playbook neither declares nor routes by
//! name: likely a typo, yet allowed, since signals of other domains are
//! ignored (or taken by a wildcard route) by design.

use crate::ast::{Playbook, SignalPattern};

/// The warning for `signal`, or `None` when the playbook declares it or a
/// route names it exactly.
pub fn unknown_signal_warning(playbook: &Playbook, signal: &str) -> Option<String> {
    let mut known: Vec<&str> = playbook.signals().map(|s| s.name.name.as_str()).collect();
    known.extend(playbook.routes().filter_map(|r| match &r.pattern {
        SignalPattern::Exact { name, .. } => Some(name.as_str()),
        _ => None,
    }));
    if known.contains(&signal) {
        return None;
    }
    let mut text = format!("warning: signal `{signal}` is not declared, and no route names it\n");
    if let Some(best) = crate::analysis::closest_word(signal, known.iter().copied()) {
        text.push_str(&format!("  help: did you mean `{best}`?\n"));
    }
    let taker = playbook.routes().find(|r| r.pattern.matches(signal));
    let fate = match taker {
        Some(route) => {
            let pattern = match &route.pattern {
                SignalPattern::Exact { name, .. } => name.clone(),
                SignalPattern::Namespace { namespace, .. } => format!("{namespace}:*"),
                SignalPattern::Any { .. } => "*".to_string(),
            };
            let label = route
                .label
                .as_ref()
                .map(|l| format!(" ({})", l.name))
                .unwrap_or_default();
            let verb = match route.target {
                crate::ast::RouteTarget::Ignore { .. } => "ignores",
                _ => "takes",
            };
            format!("here the wildcard route `{pattern}`{label} {verb} it")
        }
        None => "here no route matches it, so the run is IGNORED".to_string(),
    };
    text.push_str(&format!(
        "  note: it is sent anyway, since signals of other domains are allowed and \
         ignored unless a wildcard route takes them; {fate}\n"
    ));
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::unknown_signal_warning;
    use crate::source::SourceFile;

    fn playbook(text: &str) -> crate::ast::Playbook {
        let file = SourceFile::new("t.ops", text);
        crate::syntax::parse(&file).playbook.expect("parses")
    }

    const OPS: &str = "coordinator C {}\n\
        agent A { task t }\n\
        signal OPS:AUDIT\n\
        route OPS:AUDIT => A.t()\n\
        route OPS:DEPLOY => ignore\n";

    #[test]
    fn declared_or_routed_signals_get_no_warning() {
        let p = playbook(OPS);
        assert_eq!(unknown_signal_warning(&p, "OPS:AUDIT"), None);
        assert_eq!(unknown_signal_warning(&p, "OPS:DEPLOY"), None);
    }

    #[test]
    fn a_typo_gets_did_you_mean_and_its_fate() {
        let p = playbook(OPS);
        let warning = unknown_signal_warning(&p, "OPS:AUDT").expect("warns");
        assert!(warning.contains("did you mean `OPS:AUDIT`?"), "{warning}");
        assert!(warning.contains("the run is IGNORED"), "{warning}");
        let p = playbook(&format!("{OPS}route other: * => ignore\n"));
        let warning = unknown_signal_warning(&p, "CI:BUILD").expect("warns");
        assert!(!warning.contains("did you mean"), "{warning}");
        assert!(
            warning.contains("wildcard route `*` (other) ignores it"),
            "{warning}"
        );
    }
}
