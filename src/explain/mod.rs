//! Long explanations of every diagnostic code, for people reading a
//! diagnostic (an `explain` command, editor hovers) and for documentation.
//!
//! Each code has one Markdown file in `src/explain/codes/`, named by the last
//! part of the code (`undefined_agent.md` for `ops::check::undefined_agent`).
//! Every file has the same shape:
//!
//! - a title line `# <code> — <short meaning>`;
//! - a paragraph on what the code means and why it matters;
//! - `## Wrong`, with an example that produces the code (an `ops` playbook, or
//!   a `sh` session for `ops::io::*` codes and `ops::parse::too_complex`);
//! - `## Corrected`, with the example fixed — a complete playbook that checks
//!   with no diagnostics at all;
//! - for warnings, `## Silencing`: `# ops:allow(<short code>)` and
//!   `--deny-warnings`.
//!
//! The integration tests (`tests/explain.rs`) run every example through the
//! checker, so the explanations cannot drift from what coordops reports.

use crate::diagnostics::codes;

/// Builds the table: each code with the text of `codes/<file>.md`.
macro_rules! explanations {
    ($($code:ident => $file:literal,)*) => {
        /// Every code with its explanation, in the order of [`codes::ALL`].
        static EXPLANATIONS: &[(&str, &str)] = &[
            $((codes::$code, include_str!(concat!("codes/", $file, ".md"))),)*
        ];
    };
}

explanations! {
    IO_NOT_FOUND              => "not_found",
    IO_UNREADABLE             => "unreadable",
    IO_IS_DIRECTORY           => "is_directory",
    IO_NO_PLAYBOOKS           => "no_playbooks",
    IO_NOT_UTF8               => "not_utf8",
    IO_TOO_LARGE              => "too_large",
    PARSE_EMPTY               => "empty_file",
    PARSE_UNEXPECTED          => "unexpected_token",
    PARSE_UNEXPECTED_EOF      => "unexpected_end",
    PARSE_UNTERMINATED_STRING => "unterminated_string",
    PARSE_UNTERMINATED_REGEX  => "unterminated_regex",
    PARSE_UNCLOSED            => "unclosed_delimiter",
    PARSE_MISMATCHED          => "mismatched_delimiter",
    PARSE_INVALID_ESCAPE      => "invalid_escape",
    PARSE_NUMBER_TOO_LARGE    => "number_too_large",
    PARSE_RESERVED_WORD       => "reserved_word",
    PARSE_INTERPOLATED_KEY    => "interpolated_key",
    PARSE_TOO_DEEP            => "nesting_too_deep",
    PARSE_EXPRESSION_TOO_LONG => "expression_too_long",
    PARSE_TOO_COMPLEX         => "too_complex",
    PARSE_INVALID_CHARACTER   => "invalid_character",
    TEST_FAILED               => "test_failed",
    TEST_INVALID              => "test_invalid",
    TEST_BAD_FILE             => "bad_file",
    TEST_NO_PLAYBOOK          => "no_playbook",
    RUN_TOO_MANY_ELEMENTS     => "too_many_elements",
    RUN_TOO_MANY_STEPS        => "too_many_steps",
    RUN_FAN_OUT_TOO_WIDE      => "fan_out_too_wide",
    RUN_UNMATCHED_TARGET      => "unmatched_target",
    CHECK_UNDEFINED_AGENT     => "undefined_agent",
    CHECK_UNDEFINED_TASK      => "undefined_task",
    CHECK_UNDEFINED_WORKFLOW  => "undefined_workflow",
    CHECK_UNDEFINED_SIGNAL    => "undefined_signal",
    CHECK_UNDEFINED_LOCK      => "undefined_lock",
    CHECK_UNDEFINED_NAME      => "undefined_name",
    CHECK_UNDEFINED_FIELD     => "undefined_field",
    CHECK_UNDEFINED_OUTPUT    => "undefined_output",
    CHECK_UNDEFINED_REFERENCE => "undefined_reference",
    CHECK_UNKNOWN_TYPE        => "unknown_type",
    CHECK_UNKNOWN_ESCALATION  => "unknown_escalation_type",
    CHECK_INVALID_HANDLER     => "invalid_handler",
    CHECK_DUPLICATE           => "duplicate_definition",
    CHECK_DUPLICATE_SETTING   => "duplicate_setting",
    CHECK_MAYBE_UNBOUND       => "maybe_unbound",
    CHECK_SIBLING_REFERENCE   => "parallel_sibling_reference",
    CHECK_RECURSION           => "workflow_recursion",
    CHECK_TYPE_MISMATCH       => "type_mismatch",
    CHECK_NOT_BOOLEAN         => "non_boolean_condition",
    CHECK_INVALID_REGEX       => "invalid_regex",
    CHECK_OUT_OF_RANGE        => "value_out_of_range",
    CHECK_ZERO_TIMEOUT        => "zero_timeout",
    CHECK_TIMEOUT_EXCEEDS     => "timeout_exceeds_enclosing",
    CHECK_UNREACHABLE         => "unreachable_statement",
    CHECK_TOO_MANY_BRANCHES   => "too_many_branches",
    CHECK_GATE_CANNOT_PASS    => "gate_cannot_pass",
    CHECK_MISPLACED_OPTION    => "misplaced_option",
    CHECK_FIELD_UNAVAILABLE   => "field_not_available",
    CHECK_UNDEFINED_STEP      => "undefined_step",
    LINT_SHADOWED_ROUTE       => "shadowed_route",
    LINT_UNROUTED_SIGNAL      => "unrouted_signal",
    LINT_UNUSED_AGENT         => "unused_agent",
    LINT_UNUSED_TASK          => "unused_task",
    LINT_UNUSED_WORKFLOW      => "unused_workflow",
    LINT_STRICT_GATE          => "gate_tolerates_no_failure",
    LINT_ZERO_GATE            => "gate_accepts_all_failures",
    LINT_TIME_BUDGET          => "time_budget_exceeded",
    LINT_PREMATURE_ESCALATION => "premature_escalation",
    LINT_OVER_SERIALIZED      => "over_serialized",
    LINT_ANCHORED_REGEX       => "anchored_regex",
    LINT_MISSPELT_KIND        => "misspelt_kind",
    LINT_MISSPELT_SIGNAL      => "misspelt_signal",
    LINT_CANCELLABLE_RESULT   => "cancellable_result_used",
}

/// The explanation (Markdown) of a diagnostic code.
///
/// Accepts the full code (`ops::check::undefined_agent`) or its short form,
/// the part after the last `::` (`undefined_agent`), the same short form that
/// `# ops:allow(…)` takes. Returns `None` for an unknown code.
pub fn explanation(code: &str) -> Option<&'static str> {
    lookup(code).map(|(_, text)| text)
}

/// The full code for a full or short code (`undefined_agent` →
/// `ops::check::undefined_agent`), if it exists.
pub fn full_code(code: &str) -> Option<&'static str> {
    lookup(code).map(|(full, _)| full)
}

/// Every code with its explanation, in the order of [`codes::ALL`].
pub fn all() -> &'static [(&'static str, &'static str)] {
    EXPLANATIONS
}

/// The part of a code after its last `::`.
fn short(code: &str) -> &str {
    code.rsplit("::").next().unwrap_or(code)
}

fn lookup(code: &str) -> Option<(&'static str, &'static str)> {
    let code = code.trim();
    EXPLANATIONS
        .iter()
        .find(|(full, _)| *full == code)
        .or_else(|| {
            // Short codes are unique across phases (checked by the tests).
            (!code.contains("::"))
                .then(|| EXPLANATIONS.iter().find(|(full, _)| short(full) == code))
                .flatten()
        })
        .copied()
}
