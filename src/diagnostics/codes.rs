//! Every diagnostic code coordops can emit. Codes are stable: tools match on them.

/// The path does not exist.
pub const IO_NOT_FOUND: &str = "ops::io::not_found";
/// The path could not be read (permissions, device errors).
pub const IO_UNREADABLE: &str = "ops::io::unreadable";
/// A file path was expected but a directory was given.
pub const IO_IS_DIRECTORY: &str = "ops::io::is_directory";
/// A directory holds no `.ops` files.
pub const IO_NO_PLAYBOOKS: &str = "ops::io::no_playbooks";
/// The file is not UTF-8.
pub const IO_NOT_UTF8: &str = "ops::io::not_utf8";
/// The file exceeds [`crate::source::MAX_FILE_BYTES`].
pub const IO_TOO_LARGE: &str = "ops::io::too_large";

/// The file holds no declarations.
pub const PARSE_EMPTY: &str = "ops::parse::empty_file";
/// A token that does not fit where it stands.
pub const PARSE_UNEXPECTED: &str = "ops::parse::unexpected_token";
/// The file ends in the middle of a construct.
pub const PARSE_UNEXPECTED_EOF: &str = "ops::parse::unexpected_end";
/// A `"` string not closed on its line.
pub const PARSE_UNTERMINATED_STRING: &str = "ops::parse::unterminated_string";
/// A `/` regex not closed on its line.
pub const PARSE_UNTERMINATED_REGEX: &str = "ops::parse::unterminated_regex";
/// An opening bracket never closed.
pub const PARSE_UNCLOSED: &str = "ops::parse::unclosed_delimiter";
/// A closing bracket that closes nothing, or the wrong thing.
pub const PARSE_MISMATCHED: &str = "ops::parse::mismatched_delimiter";
/// An unknown `\` escape in a string.
pub const PARSE_INVALID_ESCAPE: &str = "ops::parse::invalid_escape";
/// A number, duration or percent too large to represent.
pub const PARSE_NUMBER_TOO_LARGE: &str = "ops::parse::number_too_large";
/// A reserved word used as a name.
pub const PARSE_RESERVED_WORD: &str = "ops::parse::reserved_word";
/// A map key written as a string with `{…}` interpolation.
pub const PARSE_INTERPOLATED_KEY: &str = "ops::parse::interpolated_key";
/// Brackets or interpolations nested past [`crate::syntax::MAX_NESTING`].
pub const PARSE_TOO_DEEP: &str = "ops::parse::nesting_too_deep";
/// An expression with more operators than [`crate::syntax::MAX_OPERATORS`].
pub const PARSE_EXPRESSION_TOO_LONG: &str = "ops::parse::expression_too_long";
/// The parser's work budget ran out.
pub const PARSE_TOO_COMPLEX: &str = "ops::parse::too_complex";
/// A character that is not part of the language.
pub const PARSE_INVALID_CHARACTER: &str = "ops::parse::invalid_character";

/// A `test` block's expectation did not hold.
pub const TEST_FAILED: &str = "ops::test::failed";
/// A `test` block cannot run (no signal, unknown context field).
pub const TEST_INVALID: &str = "ops::test::invalid";
/// A `*.test.ops` file without its one `tests "PLAYBOOK"` header first, or
/// with declarations other than `test` blocks.
pub const TEST_BAD_FILE: &str = "ops::test::bad_file";
/// The playbook a test file names cannot be read, does not parse or has errors.
pub const TEST_NO_PLAYBOOK: &str = "ops::test::no_playbook";

/// A name that refers to no agent.
pub const CHECK_UNDEFINED_AGENT: &str = "ops::check::undefined_agent";
/// A task the agent does not declare.
pub const CHECK_UNDEFINED_TASK: &str = "ops::check::undefined_task";
/// A workflow that does not exist.
pub const CHECK_UNDEFINED_WORKFLOW: &str = "ops::check::undefined_workflow";
/// A signal that is not declared.
pub const CHECK_UNDEFINED_SIGNAL: &str = "ops::check::undefined_signal";
/// A lock that is not declared.
pub const CHECK_UNDEFINED_LOCK: &str = "ops::check::undefined_lock";
/// A name (bound result, loop variable) not in scope.
pub const CHECK_UNDEFINED_NAME: &str = "ops::check::undefined_name";
/// A field the signal (or `step`, `gate`) does not have.
pub const CHECK_UNDEFINED_FIELD: &str = "ops::check::undefined_field";
/// A field a task's declared outputs do not include (`commit.hsh`).
pub const CHECK_UNDEFINED_OUTPUT: &str = "ops::check::undefined_output";
/// An approval or route label that does not exist (in tests).
pub const CHECK_UNDEFINED_REFERENCE: &str = "ops::check::undefined_reference";
/// A type name that does not exist.
pub const CHECK_UNKNOWN_TYPE: &str = "ops::check::unknown_type";
/// An escalation type other than Boundary, QualityGate, Resource, Conflict.
pub const CHECK_UNKNOWN_ESCALATION: &str = "ops::check::unknown_escalation_type";
/// A handler event that does not exist or cannot happen there.
pub const CHECK_INVALID_HANDLER: &str = "ops::check::invalid_handler";
/// The same name defined twice.
pub const CHECK_DUPLICATE: &str = "ops::check::duplicate_definition";
/// The same setting given twice in one place.
pub const CHECK_DUPLICATE_SETTING: &str = "ops::check::duplicate_setting";
/// A result used where it is bound only on some paths.
pub const CHECK_MAYBE_UNBOUND: &str = "ops::check::maybe_unbound";
/// A parallel branch using a result of a sibling branch.
pub const CHECK_SIBLING_REFERENCE: &str = "ops::check::parallel_sibling_reference";
/// Workflows that run each other in a cycle.
pub const CHECK_RECURSION: &str = "ops::check::workflow_recursion";
/// Operands of incompatible types.
pub const CHECK_TYPE_MISMATCH: &str = "ops::check::type_mismatch";
/// A condition that is not a boolean.
pub const CHECK_NOT_BOOLEAN: &str = "ops::check::non_boolean_condition";
/// A regex that does not compile.
pub const CHECK_INVALID_REGEX: &str = "ops::check::invalid_regex";
/// A gate, retry count, multiplier or concurrency outside its range.
pub const CHECK_OUT_OF_RANGE: &str = "ops::check::value_out_of_range";
/// A timeout of zero.
pub const CHECK_ZERO_TIMEOUT: &str = "ops::check::zero_timeout";
/// A step timeout longer than the enclosing group's or workflow's.
pub const CHECK_TIMEOUT_EXCEEDS: &str = "ops::check::timeout_exceeds_enclosing";
/// A statement after `complete`, `fail`, `abort` or `escalate`.
pub const CHECK_UNREACHABLE: &str = "ops::check::unreachable_statement";
/// An option written where it has no effect.
pub const CHECK_MISPLACED_OPTION: &str = "ops::check::misplaced_option";
/// A `step` or `gate` field not set everywhere the handler or rule runs.
pub const CHECK_FIELD_UNAVAILABLE: &str = "ops::check::field_not_available";
/// A parallel group with more branches than the fan-out limit.
pub const CHECK_TOO_MANY_BRANCHES: &str = "ops::check::too_many_branches";
/// `gate at least K` over a literal group with fewer than K branches.
pub const CHECK_GATE_CANNOT_PASS: &str = "ops::check::gate_cannot_pass";
/// A `given step` (or scenario `step`) target that names no step: unknown
/// workflow or binding, position or element index out of range, or an
/// argument the step does not pass.
pub const CHECK_UNDEFINED_STEP: &str = "ops::check::undefined_step";

/// A route that an earlier route always matches first.
pub const LINT_SHADOWED_ROUTE: &str = "ops::lint::shadowed_route";
/// A declared signal no route handles.
pub const LINT_UNROUTED_SIGNAL: &str = "ops::lint::unrouted_signal";
/// An agent no step calls.
pub const LINT_UNUSED_AGENT: &str = "ops::lint::unused_agent";
/// A task no step calls.
pub const LINT_UNUSED_TASK: &str = "ops::lint::unused_task";
/// A workflow no route or `run` reaches.
pub const LINT_UNUSED_WORKFLOW: &str = "ops::lint::unused_workflow";
/// A gate that fails on the first failed branch.
pub const LINT_STRICT_GATE: &str = "ops::lint::gate_tolerates_no_failure";
/// A `gate 0%` that passes a group even when every branch fails.
pub const LINT_ZERO_GATE: &str = "ops::lint::gate_accepts_all_failures";
/// A step whose worst-case time exceeds the enclosing timeout.
pub const LINT_TIME_BUDGET: &str = "ops::lint::time_budget_exceeded";
/// Escalating on the first failure of a retryable kind.
pub const LINT_PREMATURE_ESCALATION: &str = "ops::lint::premature_escalation";
/// Consecutive independent steps that could run in parallel.
pub const LINT_OVER_SERIALIZED: &str = "ops::lint::over_serialized";
/// A regex whose meaning under the anchored `~` probably differs from what was meant.
pub const LINT_ANCHORED_REGEX: &str = "ops::lint::anchored_regex";
/// A failure kind written once that looks like a typo of another kind.
pub const LINT_MISSPELT_KIND: &str = "ops::lint::misspelt_kind";
/// A test sends a signal the playbook neither declares nor routes by name,
/// close to one it does.
pub const LINT_MISSPELT_SIGNAL: &str = "ops::lint::misspelt_signal";
/// A read, after a `stop when` group, of a result one of its branches may not
/// have bound because it was cancelled.
pub const LINT_CANCELLABLE_RESULT: &str = "ops::lint::cancellable_result_used";

/// A `parallel for` over more elements than a run allows.
pub const RUN_TOO_MANY_ELEMENTS: &str = "ops::run::too_many_elements";
/// A run that starts more steps than allowed.
pub const RUN_TOO_MANY_STEPS: &str = "ops::run::too_many_steps";
/// More parallel branches running at once than a run allows.
pub const RUN_FAN_OUT_TOO_WIDE: &str = "ops::run::fan_out_too_wide";
/// A scenario `step` entry or `given step` line that no attempt of the run used.
pub const RUN_UNMATCHED_TARGET: &str = "ops::run::unmatched_target";

/// Declares `ALL` (every code) and `ANALYSIS` (the semantic-analysis codes)
/// from one list, so the two cannot drift apart.
macro_rules! code_lists {
    (syntax: [$($s:ident),* $(,)?], analysis: [$($a:ident),* $(,)?] $(,)?) => {
        /// Every code, for documentation and tests.
        pub const ALL: &[&str] = &[$($s,)* $($a,)*];
        /// The codes the semantic analysis can emit (each has an explanation).
        pub const ANALYSIS: &[&str] = &[$($a,)*];
    };
}

code_lists! {
    syntax: [
        IO_NOT_FOUND,
        IO_UNREADABLE,
        IO_IS_DIRECTORY,
        IO_NO_PLAYBOOKS,
        IO_NOT_UTF8,
        IO_TOO_LARGE,
        PARSE_EMPTY,
        PARSE_UNEXPECTED,
        PARSE_UNEXPECTED_EOF,
        PARSE_UNTERMINATED_STRING,
        PARSE_UNTERMINATED_REGEX,
        PARSE_UNCLOSED,
        PARSE_MISMATCHED,
        PARSE_INVALID_ESCAPE,
        PARSE_NUMBER_TOO_LARGE,
        PARSE_RESERVED_WORD,
        PARSE_INTERPOLATED_KEY,
        PARSE_TOO_DEEP,
        PARSE_EXPRESSION_TOO_LONG,
        PARSE_TOO_COMPLEX,
        PARSE_INVALID_CHARACTER,
        TEST_FAILED,
        TEST_INVALID,
        TEST_BAD_FILE,
        TEST_NO_PLAYBOOK,
        RUN_TOO_MANY_ELEMENTS,
        RUN_TOO_MANY_STEPS,
        RUN_FAN_OUT_TOO_WIDE,
        RUN_UNMATCHED_TARGET,
    ],
    analysis: [
        CHECK_UNDEFINED_AGENT,
        CHECK_UNDEFINED_TASK,
        CHECK_UNDEFINED_WORKFLOW,
        CHECK_UNDEFINED_SIGNAL,
        CHECK_UNDEFINED_LOCK,
        CHECK_UNDEFINED_NAME,
        CHECK_UNDEFINED_FIELD,
        CHECK_UNDEFINED_OUTPUT,
        CHECK_UNDEFINED_REFERENCE,
        CHECK_UNKNOWN_TYPE,
        CHECK_UNKNOWN_ESCALATION,
        CHECK_INVALID_HANDLER,
        CHECK_DUPLICATE,
        CHECK_DUPLICATE_SETTING,
        CHECK_MAYBE_UNBOUND,
        CHECK_SIBLING_REFERENCE,
        CHECK_RECURSION,
        CHECK_TYPE_MISMATCH,
        CHECK_NOT_BOOLEAN,
        CHECK_INVALID_REGEX,
        CHECK_OUT_OF_RANGE,
        CHECK_ZERO_TIMEOUT,
        CHECK_TIMEOUT_EXCEEDS,
        CHECK_UNREACHABLE,
        CHECK_TOO_MANY_BRANCHES,
        CHECK_GATE_CANNOT_PASS,
        CHECK_MISPLACED_OPTION,
        CHECK_FIELD_UNAVAILABLE,
        CHECK_UNDEFINED_STEP,
        LINT_SHADOWED_ROUTE,
        LINT_UNROUTED_SIGNAL,
        LINT_UNUSED_AGENT,
        LINT_UNUSED_TASK,
        LINT_UNUSED_WORKFLOW,
        LINT_STRICT_GATE,
        LINT_ZERO_GATE,
        LINT_TIME_BUDGET,
        LINT_PREMATURE_ESCALATION,
        LINT_OVER_SERIALIZED,
        LINT_ANCHORED_REGEX,
        LINT_MISSPELT_KIND,
        LINT_MISSPELT_SIGNAL,
        LINT_CANCELLABLE_RESULT,
    ],
}
