use super::*;
use crate::health::TargetKey;
use crate::state::ids::InstanceId;
use std::time::{Duration, Instant, SystemTime};

const SEC: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn key(n: u32) -> TargetKey {
    TargetKey {
        instance: InstanceId(format!("app.instance-{n}").into()),
        check_index: 0,
    }
}

fn probe(outcome: Outcome, at: SystemTime) -> Probe {
    Probe {
        key: key(1),
        outcome,
        at,
        late_by: Duration::ZERO,
    }
}

fn fail() -> Outcome {
    Outcome::Unhealthy("HTTP status 500 Internal Server Error".into())
}

fn limits(grace_s: u64, max_failures: u32) -> Limits {
    Limits {
        grace: secs(grace_s),
        max_consecutive_failures: max_failures,
    }
}

/// Feeds outcomes at `start + offset` and returns every verdict.
fn run(
    health: &mut TargetHealth,
    start: SystemTime,
    limits: Limits,
    steps: &[(u64, Outcome)],
) -> Vec<Verdict> {
    steps
        .iter()
        .map(|(offset_s, outcome)| {
            let at = start + secs(*offset_s);
            health.observe(&probe(outcome.clone(), at), at, start, limits)
        })
        .collect()
}

#[test]
fn failures_inside_the_grace_period_do_not_count_until_the_first_pass() {
    let start = SystemTime::UNIX_EPOCH + 1_000_000 * SEC;
    let mut health = TargetHealth::default();
    let verdicts = run(
        &mut health,
        start,
        limits(30, 1),
        &[(5, fail()), (15, fail()), (29, fail())],
    );
    for verdict in &verdicts {
        assert_eq!(verdict.observed, Observed::IgnoredInGrace);
        assert_eq!(verdict.alive, None, "still unknown");
        assert!(!verdict.changed && !verdict.kill);
    }
    assert_eq!(health.consecutive_failures, 0);
    assert_eq!(health.last_failure, None);

    // Past the grace period the same failure counts, and with max 1 it kills.
    let verdict = run(&mut health, start, limits(30, 1), &[(30, fail())])[0];
    assert_eq!(verdict.observed, Observed::Failed);
    assert_eq!(verdict.alive, Some(false));
    assert!(verdict.changed && verdict.kill);
}

#[test]
fn a_pass_inside_the_grace_period_ends_it() {
    let start = SystemTime::UNIX_EPOCH + 1_000 * SEC;
    let mut health = TargetHealth::default();
    let verdicts = run(
        &mut health,
        start,
        limits(300, 2),
        &[(10, Outcome::Healthy), (20, fail()), (30, fail())],
    );
    assert_eq!(verdicts[0].observed, Observed::Passed);
    assert!(verdicts[0].changed, "unknown -> healthy is a change");
    assert_eq!(
        verdicts[1].observed,
        Observed::Failed,
        "no grace after a pass"
    );
    assert!(verdicts[1].changed && !verdicts[1].kill);
    assert_eq!(verdicts[2].observed, Observed::Failed);
    assert!(!verdicts[2].changed, "unhealthy stays unhealthy");
    assert!(verdicts[2].kill, "second consecutive failure with max 2");
    assert_eq!(health.first_success, Some(start + 10 * SEC));
    assert_eq!(health.last_failure, Some(start + 30 * SEC));
    assert_eq!(
        health.last_failure_cause.as_deref(),
        Some("HTTP status 500 Internal Server Error")
    );
}

#[test]
fn the_kill_comes_at_exactly_max_consecutive_failures_and_a_pass_resets_the_count() {
    let start = SystemTime::UNIX_EPOCH;
    let mut health = TargetHealth::default();
    let verdicts = run(
        &mut health,
        start,
        limits(0, 3),
        &[
            (1, fail()),
            (2, fail()),
            (3, Outcome::Healthy),
            (4, fail()),
            (5, fail()),
            (6, fail()),
            (7, fail()),
        ],
    );
    let kills: Vec<bool> = verdicts.iter().map(|v| v.kill).collect();
    assert_eq!(kills, [false, false, false, false, false, true, true]);
    let changed: Vec<bool> = verdicts.iter().map(|v| v.changed).collect();
    assert_eq!(changed, [true, false, true, true, false, false, false]);
    assert_eq!(health.consecutive_failures, 4);
    assert_eq!(health.last_success, Some(start + 3 * SEC));
}

#[test]
fn zero_max_consecutive_failures_never_kills() {
    let start = SystemTime::UNIX_EPOCH;
    let mut health = TargetHealth::default();
    let steps: Vec<(u64, Outcome)> = (1..=50).map(|s| (s, fail())).collect();
    let verdicts = run(&mut health, start, limits(0, 0), &steps);
    assert!(verdicts.iter().all(|v| !v.kill));
    assert_eq!(health.consecutive_failures, 50);
    assert_eq!(health.alive, Some(false));
}

#[test]
fn an_ignored_1xx_changes_nothing() {
    let start = SystemTime::UNIX_EPOCH;
    for before in [
        vec![],
        vec![(1, Outcome::Healthy)],
        vec![(1, fail()), (2, fail())],
    ] {
        let mut health = TargetHealth::default();
        run(&mut health, start, limits(0, 3), &before);
        let snapshot = health.clone();
        let verdict = run(
            &mut health,
            start,
            limits(0, 3),
            &[(9, Outcome::Ignored1xx)],
        )[0];
        assert_eq!(verdict.observed, Observed::Ignored1xx);
        assert!(!verdict.changed && !verdict.kill);
        assert_eq!(health, snapshot, "after {before:?}");
    }
    // Nor does it break a run of failures: the next failure continues the count.
    let mut health = TargetHealth::default();
    let verdicts = run(
        &mut health,
        start,
        limits(0, 3),
        &[
            (1, fail()),
            (2, fail()),
            (3, Outcome::Ignored1xx),
            (4, fail()),
        ],
    );
    assert!(verdicts[3].kill);
}

#[test]
fn grace_counts_from_the_task_start_not_from_the_first_probe() {
    // A probe delayed by delaySeconds past the grace period counts at once.
    let start = SystemTime::UNIX_EPOCH + 500 * SEC;
    let mut health = TargetHealth::default();
    let verdict = run(&mut health, start, limits(10, 1), &[(12, fail())])[0];
    assert!(verdict.kill);
    // The policy's `now`, not the probe's finish time, decides the grace period.
    let mut health = TargetHealth::default();
    let late_probe = probe(fail(), start + 5 * SEC);
    let verdict = health.observe(&late_probe, start + 11 * SEC, start, limits(10, 1));
    assert_eq!(verdict.observed, Observed::Failed);
}

#[test]
fn an_endless_grace_period_never_ends_and_does_not_overflow() {
    let start = SystemTime::UNIX_EPOCH + secs(1_000);
    let mut health = TargetHealth::default();
    let endless = Limits {
        grace: Duration::MAX,
        max_consecutive_failures: 1,
    };
    let verdict = run(&mut health, start, endless, &[(1_000_000, fail())])[0];
    assert_eq!(verdict.observed, Observed::IgnoredInGrace);
}

#[test]
fn limits_come_from_the_check() {
    let check: crate::state::app::HealthCheck = serde_json::from_str(
        r#"{"protocol":"HTTP","gracePeriodSeconds":42,"maxConsecutiveFailures":7}"#,
    )
    .unwrap();
    assert_eq!(limits(42, 7), Limits::of(&check));
}

#[test]
fn the_kill_limiter_grants_a_burst_then_one_per_refill() {
    let t0 = Instant::now();
    let mut limiter = KillLimiter::new(KillRate {
        kills: 2,
        per: 10 * SEC,
    });
    for n in 1..=5 {
        assert!(limiter.request(key(n)));
    }
    assert_eq!(limiter.grant(t0), vec![key(1), key(2)], "the burst");
    assert_eq!(
        limiter.grant(t0 + 4 * SEC),
        Vec::<TargetKey>::new(),
        "0.8 token"
    );
    assert_eq!(limiter.next_grant_at(t0 + 4 * SEC), Some(t0 + 5 * SEC));
    assert_eq!(limiter.grant(t0 + 5 * SEC), vec![key(3)]);
    assert_eq!(limiter.waiting(), 2);
    // A long quiet time refills only up to the burst.
    assert_eq!(limiter.grant(t0 + 1000 * SEC), vec![key(4), key(5)]);
    assert!(limiter.request(key(6)) && limiter.request(key(7)) && limiter.request(key(8)));
    assert_eq!(limiter.grant(t0 + 1000 * SEC), Vec::<TargetKey>::new());
    assert_eq!(limiter.grant(t0 + 1005 * SEC), vec![key(6)]);
}

#[test]
fn the_kill_limiter_ignores_repeats_and_forgets_withdrawn_kills() {
    let t0 = Instant::now();
    let mut limiter = KillLimiter::new(KillRate {
        kills: 1,
        per: 60 * SEC,
    });
    assert!(limiter.request(key(1)));
    assert!(!limiter.request(key(1)), "a repeated verdict while waiting");
    assert_eq!(limiter.grant(t0), vec![key(1)]);
    assert!(
        !limiter.request(key(1)),
        "a repeated verdict after the grant"
    );
    assert!(limiter.request(key(2)));
    assert!(limiter.request(key(3)));
    limiter.withdraw(&key(2)); // passed again before its turn
    assert_eq!(limiter.waiting(), 1);
    assert_eq!(limiter.grant(t0 + 60 * SEC), vec![key(3)]);
    assert_eq!(limiter.next_grant_at(t0 + 60 * SEC), None, "nothing waits");
    limiter.withdraw(&key(1)); // its instance is gone
    assert!(limiter.request(key(1)), "a new request for a forgotten key");
}

#[test]
fn a_zero_rate_grants_nothing_and_a_zero_window_everything() {
    let t0 = Instant::now();
    let mut never = KillLimiter::new(KillRate { kills: 0, per: SEC });
    never.request(key(1));
    assert!(never.grant(t0 + 1000 * SEC).is_empty());
    assert_eq!(never.next_grant_at(t0), None);

    let mut unlimited = KillLimiter::new(KillRate {
        kills: 3,
        per: Duration::ZERO,
    });
    for n in 0..3 {
        unlimited.request(key(n));
    }
    assert_eq!(unlimited.grant(t0).len(), 3);
    for n in 3..6 {
        unlimited.request(key(n));
    }
    assert_eq!(unlimited.grant(t0).len(), 3, "refilled at once");
}

#[test]
fn verdict_replay_with_the_limiter_kills_only_as_fast_as_the_rate() {
    // A dependency outage: 20 instances fail every 10 s check from t=100 s. Max 3 failures,
    // 2 kills per minute: kills are due at t=120 s for all.
    let start = SystemTime::UNIX_EPOCH;
    let t0 = Instant::now();
    let mut limiter = KillLimiter::new(KillRate {
        kills: 2,
        per: 60 * SEC,
    });
    let mut healths = vec![TargetHealth::default(); 20];
    let mut granted = Vec::new();
    for round in 0..12u64 {
        let offset = 100 + round * 10;
        for (n, health) in healths.iter_mut().enumerate() {
            let at = start + secs(offset);
            let verdict = health.observe(&probe(fail(), at), at, start, limits(60, 3));
            if verdict.kill {
                limiter.request(key(n as u32));
            }
        }
        granted.push(limiter.grant(t0 + secs(offset)).len());
    }
    // The burst of 2 at 120 s, then one every 30 s.
    assert_eq!(granted, [0, 0, 2, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
    assert_eq!(limiter.waiting(), 15);
}
