//! Results an early decision (`stop when`) may have cancelled, and the
//! warning on reading one after its group.

use crate::ast::{Ident, Span, StopWhen};
use crate::diagnostics::{codes, Diagnostic};

/// A result bound by a branch that an early decision (`stop when`) may
/// cancel: unknown after its group when it was.
#[derive(Clone, Copy, Debug)]
pub struct Cancellable {
    /// Where the result was bound.
    pub bound: Span,
    /// The group's gate (followed by `stop when`).
    pub gate: Span,
    /// The group's `stop when` word.
    pub stop: StopWhen,
}

/// Warns on a read of a result an early decision may have cancelled.
pub fn read(root: &Ident, c: Cancellable) -> Diagnostic {
    let name = &root.name;
    let stop = c.stop.word();
    Diagnostic::warning(
        codes::LINT_CANCELLABLE_RESULT,
        format!("`{name}` may be unknown here: its branch can be cancelled by `stop when {stop}`"),
    )
    .with_primary(root.span, "read after the group")
    .with_secondary(c.bound, "bound by a branch that may be cancelled")
    .with_secondary(
        c.gate,
        format!("`stop when {stop}` cancels unfinished branches"),
    )
    .with_help(format!(
        "read it only under a condition (`if {name}.FIELD == …`: an unknown value does not \
         hold), mark the branch `critical` (never cancelled when the gate is sure to pass), \
         or drop `stop when`"
    ))
}

#[cfg(test)]
mod tests {
    use crate::analysis::check_source;
    use crate::diagnostics::codes;
    use crate::source::SourceFile;

    /// The names the lint reports in a workflow `w` (body given).
    fn reported(body: &str) -> Vec<String> {
        let text = format!(
            "signal OPS:GO\nroute OPS:GO => w\nagent A {{ task t task u }}\nworkflow w {{\n{body}\n}}\n"
        );
        let diagnostics = check_source(&SourceFile::new("t.ops", text));
        let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        diagnostics
            .iter()
            .filter(|d| d.code == codes::LINT_CANCELLABLE_RESULT)
            .map(|d| d.message.split('`').nth(1).unwrap_or("").to_string())
            .collect()
    }

    const GROUP: &str = "parallel gate at least 1 stop when passed {\n a = A.t()\n b = A.u()\n}";

    #[test]
    fn reads_in_arguments_lets_and_interpolations_are_reported() {
        let body = format!("{GROUP}\nlet x = a\nA.u(v: \"{{b.f}}\")");
        assert_eq!(reported(&body), ["a", "b"]);
    }

    #[test]
    fn decided_reports_and_failed_does_not() {
        let decided = GROUP.replace("passed", "decided");
        assert_eq!(reported(&format!("{decided}\nA.u(v: a)")), ["a"]);
        let failed = GROUP.replace("passed", "failed");
        assert!(reported(&format!("{failed}\nA.u(v: a)")).is_empty());
    }

    #[test]
    fn a_critical_branch_is_not_cancelled_by_a_pass() {
        let body = "parallel gate at least 1 stop when passed {\n a = A.t() critical\n b = A.u()\n}\nA.u(v: a, w: b)";
        assert_eq!(reported(body), ["b"]);
    }

    #[test]
    fn a_condition_tests_it_and_guards_its_own_branch_only() {
        let body = format!(
            "{GROUP}\nif a.ok == true {{\n A.u(v: a)\n}} else if b.ok {{\n A.u(v: a, w: b)\n}} else {{\n A.u(w: b)\n}}\nA.t() when a.ok"
        );
        assert_eq!(reported(&body), ["a", "b"]);
    }

    #[test]
    fn nested_and_conditional_groups_carry_the_mark_out() {
        let nested = format!("parallel gate 100% {{\n {GROUP}\n c = A.t()\n}}\nA.u(v: a, w: c)");
        assert_eq!(reported(&nested), ["a"]);
        let inside_if =
            format!("if signal.name == \"x\" {{\n {GROUP}\n}} else {{\n a = A.t()\n b = A.u()\n}}\nif a.ok {{\n A.t()\n}}\nA.u(v: b)");
        assert_eq!(reported(&inside_if), ["b"]);
    }
}
