//! The grammar's keywords: the reserved words that cannot name anything,
//! and the words that are keywords only in place.

const RESERVED: &[&str] = &[
    "coordinator",
    "agent",
    "task",
    "signal",
    "route",
    "workflow",
    "lock",
    "test",
    "on",
    "if",
    "else",
    "when",
    "parallel",
    "for",
    "in",
    "exclusive",
    "approve",
    "abort",
    "fail",
    "escalate",
    "complete",
    "run",
    "let",
    "true",
    "false",
    "and",
    "or",
    "not",
    "ignore",
    "then",
    "continue",
];

/// Keywords that are not reserved (they only mean something in place).
const PLACE_KEYWORDS: &[&str] = &[
    "reports_to",
    "gate",
    "timeout",
    "retry",
    "backoff",
    "max",
    "jitter",
    "within",
    "except",
    "max_concurrent",
    "check",
    "forbid",
    "critical",
    "next",
    "given",
    "expect",
    "approval",
    "succeeds",
    "fails",
    "after",
    "status",
    "step",
    "escalation",
    "tolerate",
    "at",
    "least",
    "stop",
];

/// Whether `word` is any keyword of the grammar (reserved or not).
pub fn is_keyword(word: &str) -> bool {
    is_reserved(word) || PLACE_KEYWORDS.contains(&word)
}

/// Whether `word` is reserved and so cannot name anything.
pub fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}
