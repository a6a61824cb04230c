//! A step's retry plan: backoff delays (with optional full jitter drawn
//! from a seeded hash, so a dry run is the same byte for byte), the step's
//! total budget across attempts (`within D`), and the backoff wait, which an
//! interrupt ends without starting another attempt.

use crate::analysis::policy::{self, format_duration};
use crate::ast::RetryPolicy;

use super::engine::Engine;
use super::result::EventKind;

/// How a step retries: counts, delays, jitter and budget.
#[derive(Clone, Debug, Default)]
pub(super) struct Plan {
    /// Retries allowed after the first attempt.
    pub(super) retries: u32,
    /// The delay before each retry, before jitter (ms).
    delays: Vec<u64>,
    /// Whether each delay is drawn uniformly from `0..=delay`.
    jitter: bool,
    /// The budget (`within D`, ms) and when it ends (ms since the run began).
    pub(super) budget: Option<Budget>,
}

/// A step's total budget across attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Budget {
    /// Its length (`within D`), in ms.
    pub(super) within_ms: u64,
    /// When it ends, in ms since the run began.
    pub(super) deadline_ms: u64,
}

impl Budget {
    /// How the budget is named in messages: `` `within 2m` ``.
    pub(super) fn label(&self) -> String {
        format!("`within {}`", format_duration(self.within_ms))
    }

    /// The failure message of a step the budget kept from retrying.
    pub(super) fn not_retried(&self, message: &str) -> String {
        format!(
            "{message} (not retried: the step's budget, {}, would run out first)",
            self.label()
        )
    }
}

/// Where the delay before a retry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// The policy's backoff.
    Backoff,
    /// The policy's backoff with full jitter, drawn from `0..=` this (ms).
    Jitter(u64),
    /// The agent's `Retry-After` (HTTP 429 or 503).
    RetryAfter,
}

/// What the wait before a retry came to.
pub(super) enum Wait {
    /// The delay passed: the next attempt may start.
    Done,
    /// The run was interrupted during the delay: no attempt follows.
    Interrupted,
}

impl Plan {
    /// The plan of `policy` for a step that started at `started_ms`.
    pub(super) fn new(policy: Option<&RetryPolicy>, started_ms: u64) -> Plan {
        let Some(policy) = policy else {
            return Plan::default();
        };
        Plan {
            retries: u32::try_from(policy.retries.value.max(0)).unwrap_or(0),
            delays: policy::backoff_delays(policy),
            jitter: policy.jitter.is_some(),
            budget: policy.within.as_ref().map(|w| Budget {
                within_ms: w.millis,
                deadline_ms: started_ms.saturating_add(w.millis),
            }),
        }
    }

    /// The delay before retry `number` (1 = the first retry) and where it
    /// came from: the delay the agent asked for (`retry_after`, ms) if it
    /// did, else the backoff's (with jitter, drawn from it). `seed`
    /// identifies the step in its run (its idempotency key, which starts
    /// with the run id).
    pub(super) fn delay(&self, seed: &str, number: u32, retry_after: Option<u64>) -> (u64, Source) {
        if let Some(asked) = retry_after {
            return (asked, Source::RetryAfter);
        }
        let index = usize::try_from(number.saturating_sub(1)).unwrap_or(usize::MAX);
        let base = self.delays.get(index).copied().unwrap_or(0);
        if self.jitter {
            (full_jitter(base, seed, number), Source::Jitter(base))
        } else {
            (base, Source::Backoff)
        }
    }

    /// The budget, if a retry after `delay` from `now_ms` would start at or
    /// after its end.
    pub(super) fn over_budget(&self, now_ms: u64, delay: u64) -> Option<Budget> {
        self.budget
            .filter(|b| now_ms.saturating_add(delay) >= b.deadline_ms)
    }
}

/// A delay drawn uniformly from `0..=delay` (AWS "full jitter", Step
/// Functions' `JitterStrategy: FULL`), from a hash of `seed` and `number`:
/// the same step, attempt and run id always draw the same delay.
pub(super) fn full_jitter(delay: u64, seed: &str, number: u32) -> u64 {
    if delay == 0 {
        return 0;
    }
    let draw = mix(fnv1a(seed.as_bytes()) ^ u64::from(number).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    match delay.checked_add(1) {
        Some(span) => draw % span,
        None => draw,
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The SplitMix64 finaliser: spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Engine<'_> {
    /// Announces retry `number` (a RETRY event with the actual delay) and
    /// waits it out. An interrupt during the wait ends it: no attempt follows.
    pub(super) async fn backoff(
        &self,
        name: &str,
        kind: &str,
        number: u32,
        of: u32,
        (delay, source): (u64, Source),
    ) -> Wait {
        let jitter = match source {
            Source::Backoff => String::new(),
            Source::Jitter(d) => format!(" (jittered, up to {})", format_duration(d)),
            Source::RetryAfter => " (as the agent's Retry-After asked)".to_string(),
        };
        self.event(
            EventKind::Retry,
            Some(name),
            format!(
                "attempt {number} failed ({kind}); retry {number} of {of} in {}{jitter}",
                format_duration(delay)
            ),
        );
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Wait::Interrupted,
            () = self.sleep(delay) => {}
        }
        // An interrupt due at the very moment the delay ends wins: let it
        // land before deciding to start the next attempt.
        tokio::task::yield_now().await;
        if self.cancel.is_cancelled() {
            Wait::Interrupted
        } else {
            Wait::Done
        }
    }

    /// The RETRY event for a retry the budget rules out.
    pub(super) fn no_retry(&self, name: &str, kind: &str, number: u32, budget: Budget) {
        self.event(
            EventKind::Retry,
            Some(name),
            format!(
                "attempt {number} failed ({kind}); no retry: the step's budget ({}) would run out first",
                budget.label()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_is_bounded_and_repeatable() {
        for delay in [0, 1, 999, 1000, 30_000, u64::MAX] {
            for number in 1..50 {
                let a = full_jitter(delay, "run-1/3:5", number);
                assert!(a <= delay);
                assert_eq!(a, full_jitter(delay, "run-1/3:5", number));
            }
        }
    }

    #[test]
    fn full_jitter_depends_on_run_step_and_attempt() {
        let draws =
            |seed: &str| -> Vec<u64> { (1..20).map(|n| full_jitter(10_000, seed, n)).collect() };
        let a = draws("run-1/3:5");
        assert_ne!(a, draws("run-2/3:5"), "another run id");
        assert_ne!(a, draws("run-1/4:5"), "another step");
        let mut distinct = a.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 15, "attempts draw different delays: {a:?}");
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range() {
        // 4000 draws of 0..=999 land in each tenth of the range.
        let mut tenths = [0u32; 10];
        for step in 0..400 {
            for number in 1..=10 {
                let d = full_jitter(999, &format!("r/{step}"), number);
                tenths[usize::try_from(d / 100).unwrap_or(0)] += 1;
            }
        }
        assert!(
            tenths.iter().all(|&n| (300..500).contains(&n)),
            "{tenths:?}"
        );
    }

    #[test]
    fn the_budget_rules_out_a_retry_that_would_start_at_or_after_its_end() {
        let plan = Plan {
            retries: 3,
            delays: vec![1000, 2000, 4000],
            jitter: false,
            budget: Some(Budget {
                within_ms: 10_000,
                deadline_ms: 10_000,
            }),
        };
        assert!(plan.over_budget(8_999, 1000).is_none());
        assert!(plan.over_budget(9_000, 1000).is_some());
        assert!(plan.over_budget(12_000, 0).is_some());
        assert_eq!(plan.delay("k", 2, None), (2000, Source::Backoff));
        assert_eq!(plan.delay("k", 9, None), (0, Source::Backoff));
        assert_eq!(plan.delay("k", 2, Some(7)), (7, Source::RetryAfter));
    }
}
