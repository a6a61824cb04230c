//! Quality-gate arithmetic, in integers (no rounding surprises).
//!
//! A group passes iff `successes × 100 ≥ threshold × counted`, where counted
//! branches are successes and failures (timeouts count as failures, skipped
//! branches are not counted). Zero counted branches fail, but a group with no
//! branches at all (an empty `parallel for` list) passes vacuously. A failed `critical`
//! branch fails the group whatever the ratio.

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
    counted > 0 && successes * 100 >= threshold * counted
}

impl Tally {
    /// Counted branches so far.
    pub fn counted(&self) -> u64 {
        self.successes + self.failures
    }

    /// The verdict, once no pending branch can change it.
    pub fn settled(&self, threshold: u64) -> Option<bool> {
        if self.critical_failed {
            return Some(false);
        }
        let (s, c, p) = (self.successes, self.counted(), self.pending);
        if p == 0 {
            return Some(passes(threshold, s, c));
        }
        // Even if every pending branch succeeds, the gate fails.
        if !passes(threshold, s + p, c + p) {
            return Some(false);
        }
        // Even if every pending branch fails, or is skipped (which lowers
        // the count instead), the gate passes.
        if self.pending_critical == 0 && passes(threshold, s, c + p) && passes(threshold, s, c) {
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
            done(2, 0, 1).settled(80),
            Some(true),
            "1 skipped of 3 is not counted"
        );
        assert_eq!(
            done(2, 1, 0).settled(80),
            Some(false),
            "2/3 = 67% fails at 80%"
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
            one_failure.settled(80),
            Some(false),
            "3 branches at 80%: one failure decides"
        );
        let four_ok = Tally {
            successes: 4,
            pending: 1,
            ..Tally::default()
        };
        assert_eq!(
            four_ok.settled(80),
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
            critical.settled(80),
            None,
            "a pending critical branch can still fail it"
        );
        let open = Tally {
            successes: 1,
            pending: 2,
            ..Tally::default()
        };
        assert_eq!(open.settled(80), None);
    }
}
