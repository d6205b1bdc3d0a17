//! The engine's counters: written by its loop with relaxed atomics, read by anyone through
//! [`EngineHandle::stats`](super::EngineHandle::stats) as a plain snapshot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two of microseconds: lateness is known within 1/8 (12.5 %).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for 2^40 µs (12 days).
const BUCKETS: usize = ((40 - SUB_BITS as usize) + 2) * SUB as usize;

fn bucket_of(micros: u64) -> usize {
    if micros < SUB {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros(); // >= SUB_BITS
    let sub = (micros >> (exp - SUB_BITS)) & (SUB - 1);
    (((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize).min(BUCKETS - 1)
}

/// The largest value (µs) that falls in bucket `index`.
fn bucket_upper(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let exp = index / SUB - 1 + SUB_BITS as u64;
    let sub = index % SUB;
    let low = (SUB + sub) << (exp - SUB_BITS as u64);
    low + (1 << (exp - SUB_BITS as u64)) - 1
}

#[derive(Debug)]
pub(crate) struct SharedStats {
    pub targets: AtomicU64,
    pub checks_done: AtomicU64,
    pub in_flight: AtomicU64,
    pub healthy: AtomicU64,
    pub unhealthy: AtomicU64,
    pub ignored_1xx: AtomicU64,
    pub skipped_overlap: AtomicU64,
    lateness: Vec<AtomicU64>,
}

impl SharedStats {
    pub fn new() -> Self {
        SharedStats {
            targets: AtomicU64::new(0),
            checks_done: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            healthy: AtomicU64::new(0),
            unhealthy: AtomicU64::new(0),
            ignored_1xx: AtomicU64::new(0),
            skipped_overlap: AtomicU64::new(0),
            lateness: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn record_lateness(&self, late_by: Duration) {
        let micros = u64::try_from(late_by.as_micros()).unwrap_or(u64::MAX);
        self.lateness[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> EngineStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            targets: get(&self.targets),
            checks_done: get(&self.checks_done),
            in_flight: get(&self.in_flight),
            healthy: get(&self.healthy),
            unhealthy: get(&self.unhealthy),
            ignored_1xx: get(&self.ignored_1xx),
            skipped_overlap: get(&self.skipped_overlap),
            lateness: LatenessHistogram {
                counts: self.lateness.iter().map(get).collect(),
            },
        }
    }
}

/// A snapshot of the engine's counters since it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Targets scheduled now.
    pub targets: u64,
    /// Probes finished.
    pub checks_done: u64,
    /// Probes running now.
    pub in_flight: u64,
    pub healthy: u64,
    pub unhealthy: u64,
    pub ignored_1xx: u64,
    /// Rounds not probed because the target's previous probe was still running or waiting.
    pub skipped_overlap: u64,
    /// How far behind schedule each probe started.
    pub lateness: LatenessHistogram,
}

/// Counts of probe start lateness in log-linear buckets (within 12.5 %).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatenessHistogram {
    counts: Vec<u64>,
}

impl LatenessHistogram {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The lateness at quantile `q` (0..=1), rounded up to its bucket's top; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64 * q.clamp(0.0, 1.0)).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(bucket_upper(index));
            }
        }
        Duration::from_micros(bucket_upper(self.counts.len() - 1))
    }

    /// The largest lateness recorded (to its bucket's top).
    pub fn max(&self) -> Duration {
        self.counts
            .iter()
            .rposition(|&c| c > 0)
            .map_or(Duration::ZERO, |i| Duration::from_micros(bucket_upper(i)))
    }

    /// What was recorded after `earlier` (a snapshot of the same engine).
    pub fn since(&self, earlier: &LatenessHistogram) -> LatenessHistogram {
        LatenessHistogram {
            counts: self
                .counts
                .iter()
                .zip(earlier.counts.iter().chain(std::iter::repeat(&0)))
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values_within_an_eighth() {
        for micros in [0u64, 1, 7, 8, 9, 15, 16, 17, 100, 1_000, 99_999, 5_000_000] {
            let index = bucket_of(micros);
            let upper = bucket_upper(index);
            assert!(upper >= micros, "{micros} above its bucket top {upper}");
            assert!(
                (upper - micros) as f64 <= micros as f64 / 8.0 + 1.0,
                "{micros} in a bucket too wide (top {upper})"
            );
            if index > 0 {
                assert!(bucket_upper(index - 1) < micros, "{micros} also fits below");
            }
        }
    }

    #[test]
    fn quantiles_and_differences() {
        let stats = SharedStats::new();
        for ms in 1..=100 {
            stats.record_lateness(Duration::from_millis(ms));
        }
        let first = stats.snapshot().lateness;
        assert_eq!(first.count(), 100);
        let p50 = first.quantile(0.5);
        assert!(
            p50 >= Duration::from_millis(50) && p50 <= Duration::from_millis(57),
            "{p50:?}"
        );
        let p99 = first.quantile(0.99);
        assert!(
            p99 >= Duration::from_millis(99) && p99 <= Duration::from_millis(112),
            "{p99:?}"
        );
        assert!(first.max() >= Duration::from_millis(100));

        stats.record_lateness(Duration::from_secs(3));
        let later = stats.snapshot().lateness.since(&first);
        assert_eq!(later.count(), 1);
        assert!(later.quantile(0.5) >= Duration::from_secs(3));
        assert_eq!(
            LatenessHistogram { counts: vec![] }.quantile(0.9),
            Duration::ZERO
        );
    }
}
