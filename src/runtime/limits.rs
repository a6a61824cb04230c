//! Explicit scale limits of one run: past one, the run ends FAILED with a
//! code instead of exhausting memory.
//!
//! - `parallel for` over more than [`Limits::max_elements`] elements:
//!   `ops::run::too_many_elements`.
//! - more than [`Limits::max_steps`] steps started in one run:
//!   `ops::run::too_many_steps`.
//! - more than [`Limits::max_branches`] parallel branches alive at once
//!   (nested `parallel for` multiply): `ops::run::fan_out_too_wide`.

use crate::diagnostics::codes;

use super::engine::Terminal;

/// The limits a run is held to ([`Limits::default`] for `run` and `dry-run`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most elements one `parallel for` iterates over.
    pub max_elements: usize,
    /// Most steps (agent tasks, recoveries) started in one run.
    pub max_steps: u64,
    /// Most parallel branches alive at once, over every group of the run.
    pub max_branches: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_elements: 100_000,
            max_steps: 250_000,
            max_branches: 200_000,
        }
    }
}

/// The terminal of a run stopped by a limit.
pub fn exceeded(code: &'static str, message: String) -> Terminal {
    Terminal::Limit { code, message }
}

/// `parallel for` over `n` elements, past `limit`.
pub fn too_many_elements(n: usize, limit: usize) -> Terminal {
    exceeded(
        codes::RUN_TOO_MANY_ELEMENTS,
        format!("`parallel for` over {n} elements; at most {limit} are allowed"),
    )
}

/// The step past `limit` was about to start.
pub fn too_many_steps(limit: u64) -> Terminal {
    exceeded(
        codes::RUN_TOO_MANY_STEPS,
        format!("the run started more than {limit} steps"),
    )
}

/// A group of `n` branches would bring the branches alive to more than `limit`.
pub fn fan_out_too_wide(alive: u64, n: u64, limit: u64) -> Terminal {
    exceeded(
        codes::RUN_FAN_OUT_TOO_WIDE,
        format!(
            "a parallel group of {n} branches, with {alive} already running, \
             passes the limit of {limit} branches running at once"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_numbers() {
        let Terminal::Limit { code, message } = too_many_elements(7, 5) else {
            panic!("a limit terminal")
        };
        assert_eq!(code, codes::RUN_TOO_MANY_ELEMENTS);
        assert!(message.contains('7') && message.contains('5'));
        assert!(Limits::default().max_elements >= 10_000);
    }
}
