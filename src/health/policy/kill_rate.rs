//! The cluster-wide limit on kills of unhealthy instances: a token bucket, so that a flapping
//! dependency that fails every check at once cannot kill every instance at once. Pure: the
//! caller passes the time in and carries out the kills it is granted.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// At most `kills` kills in any window of `per` (and in a burst).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillRate {
    pub kills: u32,
    pub per: Duration,
}

impl Default for KillRate {
    /// Ten kills a minute: replacing a truly broken instance waits seconds, while a dependency
    /// outage that fails every check costs at most ten instances before it shows.
    fn default() -> Self {
        KillRate {
            kills: 10,
            per: Duration::from_secs(60),
        }
    }
}

/// Kill verdicts waiting for the rate limit, in the order they came.
///
/// The bucket holds time credit rather than fractional tokens, so refills are exact: a kill
/// costs `per / kills`, and the credit never exceeds `per` (the burst of `kills`).
#[derive(Clone, Debug)]
pub struct KillLimiter<K> {
    rate: KillRate,
    credit: Duration,
    refilled_at: Option<Instant>,
    waiting: VecDeque<K>,
    /// Waiting or already granted: a repeated verdict for these is not queued again.
    known: BTreeSet<K>,
}

impl<K: Ord + Clone> KillLimiter<K> {
    /// A limiter with a full bucket.
    pub fn new(rate: KillRate) -> Self {
        KillLimiter {
            rate,
            credit: rate.per,
            refilled_at: None,
            waiting: VecDeque::new(),
            known: BTreeSet::new(),
        }
    }

    /// Asks to kill `key`; true if it was queued, false if it was already waiting or granted.
    pub fn request(&mut self, key: K) -> bool {
        if !self.known.insert(key.clone()) {
            return false;
        }
        self.waiting.push_back(key);
        true
    }

    /// Forgets `key`: it passed again before its turn, or it is gone (then a later kill of a
    /// reused key is a new request).
    pub fn withdraw(&mut self, key: &K) {
        if self.known.remove(key) {
            self.waiting.retain(|k| k != key);
        }
    }

    /// The kills that may go at `now`, oldest request first.
    pub fn grant(&mut self, now: Instant) -> Vec<K> {
        let mut granted = Vec::new();
        let Some(cost) = self.cost() else {
            return granted;
        };
        self.credit = self.credit_at(now);
        self.refilled_at = Some(self.refilled_at.map_or(now, |at| at.max(now)));
        while self.credit >= cost {
            let Some(key) = self.waiting.pop_front() else {
                break;
            };
            self.credit -= cost;
            granted.push(key);
        }
        granted
    }

    /// When the next waiting kill may go; `None` when nothing waits or the rate is zero.
    pub fn next_grant_at(&self, now: Instant) -> Option<Instant> {
        let cost = self.cost()?;
        if self.waiting.is_empty() {
            return None;
        }
        Some(now + cost.saturating_sub(self.credit_at(now)))
    }

    /// Kill verdicts waiting for their turn.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The credit one kill costs; `None` when no kill may ever go.
    fn cost(&self) -> Option<Duration> {
        (self.rate.kills > 0).then(|| self.rate.per / self.rate.kills)
    }

    fn credit_at(&self, now: Instant) -> Duration {
        let elapsed = self
            .refilled_at
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        (self.credit + elapsed).min(self.rate.per)
    }
}
