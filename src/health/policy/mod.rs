//! The health verdict policy, pure: what a probe result means for an instance's health and
//! whether the instance must be killed, given the times passed in. No clock, no I/O.
//!
//! Marathon's rules: a failure does not count while the instance is inside its grace period
//! (from the task's start) and has never passed; a pass resets the failures; the failure that
//! brings the count to `maxConsecutiveFailures` (0 = never) calls for a kill; an ignored 1xx
//! answer changes nothing. Kills then go through the cluster-wide [`KillLimiter`].

mod kill_rate;
#[cfg(test)]
mod tests;

pub use kill_rate::{KillLimiter, KillRate};

use super::{Outcome, Probe};
use crate::state::app::HealthCheck;
use std::time::{Duration, SystemTime};

/// The parts of a check the verdicts depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub grace: Duration,
    /// 0 means never kill.
    pub max_consecutive_failures: u32,
}

impl Limits {
    pub fn of(check: &HealthCheck) -> Limits {
        Limits {
            grace: Duration::from_secs(check.grace_period_seconds),
            max_consecutive_failures: check.max_consecutive_failures,
        }
    }
}

/// One instance's health for one check (Marathon's `Health`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetHealth {
    pub consecutive_failures: u32,
    pub first_success: Option<SystemTime>,
    pub last_success: Option<SystemTime>,
    pub last_failure: Option<SystemTime>,
    pub last_failure_cause: Option<String>,
    /// `None` until a result counts: Marathon's "unknown".
    pub alive: Option<bool>,
}

/// How a probe was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    Passed,
    /// A failure that counts (Marathon publishes `failed_health_check_event` for it).
    Failed,
    /// A failure inside the grace period of an instance that never passed.
    IgnoredInGrace,
    /// A 1xx answer of a check with `ignoreHttp1xx`.
    Ignored1xx,
}

/// What one observation decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub observed: Observed,
    /// The health after the probe.
    pub alive: Option<bool>,
    /// `alive` differs from before the probe (Marathon's `health_status_changed_event`).
    pub changed: bool,
    /// The instance has failed `maxConsecutiveFailures` times in a row past its grace period.
    /// Every further failure says so again; [`KillLimiter::request`] ignores repeats.
    pub kill: bool,
}

impl TargetHealth {
    /// Takes one probe result. `now` is the policy's present; `task_started_at` starts the
    /// grace period.
    pub fn observe(
        &mut self,
        probe: &Probe,
        now: SystemTime,
        task_started_at: SystemTime,
        limits: Limits,
    ) -> Verdict {
        let before = self.alive;
        let observed = match &probe.outcome {
            Outcome::Ignored1xx => Observed::Ignored1xx,
            Outcome::Healthy => {
                self.first_success.get_or_insert(probe.at);
                self.last_success = Some(probe.at);
                self.consecutive_failures = 0;
                self.alive = Some(true);
                Observed::Passed
            }
            Outcome::Unhealthy(_) if self.in_grace(now, task_started_at, limits.grace) => {
                Observed::IgnoredInGrace
            }
            Outcome::Unhealthy(cause) => {
                self.last_failure = Some(probe.at);
                self.last_failure_cause = Some(cause.clone());
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.alive = Some(false);
                Observed::Failed
            }
        };
        Verdict {
            observed,
            alive: self.alive,
            changed: self.alive != before,
            kill: observed == Observed::Failed
                && limits.max_consecutive_failures > 0
                && self.consecutive_failures >= limits.max_consecutive_failures,
        }
    }

    /// Inside the grace period and never passed: failures do not count yet.
    pub fn in_grace(&self, now: SystemTime, task_started_at: SystemTime, grace: Duration) -> bool {
        // A grace period past the end of time never ends.
        self.first_success.is_none()
            && task_started_at
                .checked_add(grace)
                .is_none_or(|end| now < end)
    }
}
