//! Effective settings: which timeout, retry policy and gate apply where.
//!
//! Precedence is the same everywhere (analysis and runtime): step, then task,
//! then agent, then coordinator, then the built-in default.

use crate::ast::{Agent, Coordinator, DurationLit, RetryPolicy, Setting, StepOption, TaskDecl};

/// The timeout used when nothing else sets one: 2 minutes.
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;
/// The gate used when neither the group nor the coordinator sets one.
pub const DEFAULT_GATE_PERCENT: u64 = 80;
/// The multiplier used when a backoff has none.
pub const DEFAULT_MULTIPLIER: f64 = 1.0;

/// Where an effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Written on the step.
    Step,
    /// Declared on the task.
    Task,
    /// Declared on the agent.
    Agent,
    /// The coordinator's default.
    Coordinator,
    /// coordops' built-in default.
    Builtin,
}

impl Origin {
    /// Where the value came from, in words: `step`, `task`, `agent`,
    /// `coordinator` or `built-in default`.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Step => "step",
            Origin::Task => "task",
            Origin::Agent => "agent",
            Origin::Coordinator => "coordinator",
            Origin::Builtin => "built-in default",
        }
    }
}

/// The first `timeout` in a list of settings.
pub fn setting_timeout(settings: &[Setting]) -> Option<&DurationLit> {
    settings.iter().find_map(|s| match s {
        Setting::Timeout(d) => Some(d),
        _ => None,
    })
}

/// The first `retry` in a list of settings.
pub fn setting_retry(settings: &[Setting]) -> Option<&RetryPolicy> {
    settings.iter().find_map(|s| match s {
        Setting::Retry(r) => Some(r),
        _ => None,
    })
}

/// The first `timeout` among step options.
pub fn option_timeout(options: &[StepOption]) -> Option<&DurationLit> {
    options.iter().find_map(|o| match o {
        StepOption::Timeout(d) => Some(d),
        _ => None,
    })
}

/// The first `retry` among step options.
pub fn option_retry(options: &[StepOption]) -> Option<&RetryPolicy> {
    options.iter().find_map(|o| match o {
        StepOption::Retry(r) => Some(r),
        _ => None,
    })
}

/// The declarations a call step inherits settings from.
#[derive(Clone, Copy, Default)]
pub struct Inherited<'a> {
    /// The called task, if declared.
    pub task: Option<&'a TaskDecl>,
    /// The called agent, if declared.
    pub agent: Option<&'a Agent>,
    /// The coordinator header, if any.
    pub coordinator: Option<&'a Coordinator>,
}

impl<'a> Inherited<'a> {
    /// The effective timeout in milliseconds and where it came from.
    pub fn timeout(&self, options: &'a [StepOption]) -> (u64, Origin) {
        if let Some(d) = option_timeout(options) {
            return (d.millis, Origin::Step);
        }
        if let Some(d) = self.task.and_then(|t| setting_timeout(&t.settings)) {
            return (d.millis, Origin::Task);
        }
        if let Some(d) = self.agent.and_then(|a| setting_timeout(&a.settings)) {
            return (d.millis, Origin::Agent);
        }
        if let Some(d) = self.coordinator.and_then(|c| setting_timeout(&c.settings)) {
            return (d.millis, Origin::Coordinator);
        }
        (DEFAULT_TIMEOUT_MS, Origin::Builtin)
    }

    /// The effective retry policy, if any.
    pub fn retry(&self, options: &'a [StepOption]) -> Option<&'a RetryPolicy> {
        self.retry_with_origin(options).map(|(policy, _)| policy)
    }

    /// The effective retry policy, if any, and where it came from.
    pub fn retry_with_origin(
        &self,
        options: &'a [StepOption],
    ) -> Option<(&'a RetryPolicy, Origin)> {
        let at = |policy: Option<&'a RetryPolicy>, origin| policy.map(|p| (p, origin));
        at(option_retry(options), Origin::Step)
            .or_else(|| {
                at(
                    self.task.and_then(|t| setting_retry(&t.settings)),
                    Origin::Task,
                )
            })
            .or_else(|| {
                at(
                    self.agent.and_then(|a| setting_retry(&a.settings)),
                    Origin::Agent,
                )
            })
            .or_else(|| {
                let c = self.coordinator.and_then(|c| setting_retry(&c.settings));
                at(c, Origin::Coordinator)
            })
    }
}

/// The coordinator's gate, or the built-in 80%.
pub fn default_gate(coordinator: Option<&Coordinator>) -> u64 {
    coordinator
        .and_then(|c| {
            c.settings.iter().find_map(|s| match s {
                Setting::Gate(p) => Some(p.value),
                _ => None,
            })
        })
        .unwrap_or(DEFAULT_GATE_PERCENT)
}

/// Kinds a policy retries only when its `on` list names them: retrying
/// would send the same wrong request or reply again (an HTTP 4xx is
/// `rejected_request`).
pub const NOT_RETRIED_BY_DEFAULT: [&str; 3] = ["quality_check", "protocol", "rejected_request"];

/// Whether a policy retries failures of `kind`: the kinds in its `on` list,
/// or without one every kind except [`NOT_RETRIED_BY_DEFAULT`] and those in
/// its `except` list. (A policy with both lists is a check error; `on`
/// wins here.)
pub fn retries_kind(policy: &RetryPolicy, kind: &str) -> bool {
    if policy.on.is_empty() {
        !NOT_RETRIED_BY_DEFAULT.contains(&kind) && !policy.except.iter().any(|k| k.name == kind)
    } else {
        policy.on.iter().any(|k| k.name == kind)
    }
}

/// The first delay of `retry N` written without `backoff` (ms).
pub const DEFAULT_BACKOFF_MS: u64 = 1000;
/// The multiplier of `retry N` written without `backoff`.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 2.0;

/// The delays before each retry, in milliseconds.
pub fn backoff_delays(policy: &RetryPolicy) -> Vec<u64> {
    let retries = u32::try_from(policy.retries.value.max(0))
        .unwrap_or(u32::MAX)
        .min(1000);
    // No `backoff`: the peers' default (Step Functions' Retry and Temporal's
    // RetryPolicy): 1s, doubling, each delay capped at 100 × 1s.
    let (initial, default_factor, default_cap) = match &policy.backoff {
        Some(b) => (b.millis as f64, DEFAULT_MULTIPLIER, None),
        None => (
            DEFAULT_BACKOFF_MS as f64,
            DEFAULT_BACKOFF_FACTOR,
            Some(100 * DEFAULT_BACKOFF_MS),
        ),
    };
    let factor = policy
        .multiplier
        .as_ref()
        .map_or(default_factor, |m| m.value);
    let cap = policy.max_delay.as_ref().map(|m| m.millis).or(default_cap);
    (0..retries)
        .map(|i| {
            let raw = initial * factor.powi(i32::try_from(i).unwrap_or(i32::MAX));
            let raw = if raw.is_finite() {
                raw.min(u64::MAX as f64) as u64
            } else {
                u64::MAX
            };
            cap.map_or(raw, |c| raw.min(c))
        })
        .collect()
}

/// Formats milliseconds as a duration literal (`2m14s`, `500ms`).
pub fn format_duration(millis: u64) -> String {
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = millis;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(src: &str) -> RetryPolicy {
        let file = crate::source::SourceFile::new("t.ops", src);
        let p = crate::syntax::parse(&file).playbook.expect("parses");
        let c = p.coordinators().next().expect("coordinator");
        setting_retry(&c.settings).expect("retry").clone()
    }

    #[test]
    fn except_retries_every_default_kind_but_those_listed() {
        let p = policy("coordinator C { retry 3 except [network, timeout] }");
        for (kind, retried) in [
            ("rejected", true),
            ("quota", true),
            ("network", false),
            ("timeout", false),
            ("quality_check", false),
            ("protocol", false),
            ("rejected_request", false),
            ("too_many_requests", true),
            ("unavailable", true),
            ("server_error", true),
        ] {
            assert_eq!(retries_kind(&p, kind), retried, "{kind}");
        }
        // `on` alone still opts kinds in, the defaults' exclusions too.
        let p = policy("coordinator C { retry 3 on [protocol] }");
        assert!(retries_kind(&p, "protocol") && !retries_kind(&p, "network"));
        let p = policy("coordinator C { retry 3 on [rejected_request] }");
        assert!(retries_kind(&p, "rejected_request"));
        let p = policy("coordinator C { retry 3 }");
        assert!(!retries_kind(&p, "rejected_request") && retries_kind(&p, "network"));
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(134_000), "2m14s");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(90_061_001), "1d1h1m1s1ms");
    }
}
