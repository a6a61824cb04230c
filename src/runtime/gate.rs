//! Quality-gate arithmetic, in integers (no rounding surprises).
//!
//! Counted branches are successes and failures (timeouts count as failures,
//! skipped and cancelled branches are not counted). A percent gate passes iff
//! `successes × 100 ≥ threshold × counted`; `tolerate N` iff failures ≤ N;
//! `at least K` iff successes ≥ K. Zero counted branches fail every gate, but
//! a group with no branches at all (an empty `parallel for` list) passes
//! vacuously. A failed `critical` branch fails the group whatever the count.

use crate::ast::GateRule;

/// Branch results so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Successful branches.
    pub successes: u64,
    /// Failed or timed-out branches.
    pub failures: u64,
    /// Skipped branches.
    pub skipped: u64,
    /// Branches not finished yet.
    pub pending: u64,
    /// Pending branches marked `critical`.
    pub pending_critical: u64,
    /// Whether a critical branch failed.
    pub critical_failed: bool,
}

/// Whether `successes` out of `counted` meet `threshold` percent.
pub fn passes(threshold: u64, successes: u64, counted: u64) -> bool {
    counted > 0 && successes.saturating_mul(100) >= threshold.saturating_mul(counted)
}

/// Whether `successes` out of `counted` meet `rule` (zero counted never does).
pub fn meets(rule: GateRule, successes: u64, counted: u64) -> bool {
    match rule {
        GateRule::Percent { value } => passes(value, successes, counted),
        GateRule::Tolerate { tolerate } => counted > 0 && counted - successes <= tolerate,
        GateRule::AtLeast { at_least } => counted > 0 && successes >= at_least,
    }
}

impl Tally {
    /// Counted branches so far.
    pub fn counted(&self) -> u64 {
        self.successes + self.failures
    }

    /// The verdict, once no pending branch can change it.
    pub fn settled(&self, rule: GateRule) -> Option<bool> {
        if self.critical_failed {
            return Some(false);
        }
        let (s, c, p) = (self.successes, self.counted(), self.pending);
        if p == 0 {
            return Some(meets(rule, s, c));
        }
        // Even if every pending branch succeeds, the gate fails.
        if !meets(rule, s + p, c + p) {
            return Some(false);
        }
        // Even if every pending branch fails, or is skipped (which lowers
        // the count instead), the gate passes. Every gate is monotone, so the
        // mixes in between pass too.
        if self.pending_critical == 0 && meets(rule, s, c + p) && meets(rule, s, c) {
            return Some(true);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(successes: u64, failures: u64, skipped: u64) -> Tally {
        Tally {
            successes,
            failures,
            skipped,
            ..Tally::default()
        }
    }

    #[test]
    fn boundaries() {
        assert!(passes(80, 4, 5), "4/5 = 80% passes at 80%");
        assert!(!passes(80, 3, 4), "3/4 = 75% fails at 80%");
        assert!(!passes(80, 0, 0), "zero counted fails");
        assert!(!passes(0, 0, 0), "zero counted fails even at 0%");
        assert!(passes(100, 2, 2), "2/2 with one skipped of 3");
        assert_eq!(
            done(2, 0, 1).settled(pct(80)),
            Some(true),
            "1 skipped of 3 is not counted"
        );
        assert_eq!(
            done(2, 1, 0).settled(pct(80)),
            Some(false),
            "2/3 = 67% fails at 80%"
        );
    }

    fn pct(value: u64) -> GateRule {
        GateRule::Percent { value }
    }

    #[test]
    fn count_gates() {
        let tolerate = |n| GateRule::Tolerate { tolerate: n };
        let at_least = |k| GateRule::AtLeast { at_least: k };
        assert!(meets(tolerate(1), 3, 4), "one failure of four");
        assert!(!meets(tolerate(1), 2, 4), "two failures");
        assert!(meets(tolerate(0), 2, 2));
        assert!(!meets(tolerate(5), 0, 0), "zero counted fails");
        assert!(meets(at_least(2), 2, 4));
        assert!(!meets(at_least(3), 2, 2), "fewer counted than K");
        assert!(!meets(at_least(0), 0, 0), "zero counted fails");
        assert!(meets(at_least(0), 0, 3), "at least 0 accepts failures");
        // Skips: 2 of 4 skipped, one failed, one succeeded.
        assert_eq!(done(1, 1, 2).settled(tolerate(1)), Some(true));
        assert_eq!(done(1, 1, 2).settled(at_least(2)), Some(false));
        let two_ok = Tally {
            successes: 2,
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(two_ok.settled(at_least(2)), Some(true), "K reached");
        assert_eq!(two_ok.settled(tolerate(1)), None, "both may fail");
        let two_failed = Tally {
            failures: 2,
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(two_failed.settled(tolerate(1)), Some(false));
        assert_eq!(two_failed.settled(at_least(3)), Some(false));
        assert_eq!(two_failed.settled(at_least(2)), None);
        let all_pending = Tally {
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(
            all_pending.settled(tolerate(2)),
            None,
            "all may be skipped: zero counted"
        );
    }

    #[test]
    fn early_decisions() {
        let one_failure = Tally {
            failures: 1,
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(
            one_failure.settled(pct(80)),
            Some(false),
            "3 branches at 80%: one failure decides"
        );
        let four_ok = Tally {
            successes: 4,
            pending: 1,
            ..Tally::default()
        };
        assert_eq!(
            four_ok.settled(pct(80)),
            Some(true),
            "4 of 5 succeeded: the fifth cannot fail it"
        );
        let critical = Tally {
            successes: 4,
            pending: 1,
            pending_critical: 1,
            ..Tally::default()
        };
        assert_eq!(
            critical.settled(pct(80)),
            None,
            "a pending critical branch can still fail it"
        );
        let open = Tally {
            successes: 1,
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(open.settled(pct(80)), None);
    }
}
