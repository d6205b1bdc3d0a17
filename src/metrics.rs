//! The node's event counters and its HTTP latency histogram: relaxed atomics, so counting costs
//! one uncontended add on the hot path. Gauges (apps, instances, Raft) are not kept here; the
//! `/metrics` endpoints read them from the state and Raft when asked. One node per process, so
//! the registry is process-wide.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A count that only grows.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency buckets: Prometheus' default buckets.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Durations counted into fixed buckets (plus one for longer ones), with their sum and maximum.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// A histogram read at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Per bucket of [`BUCKETS`] (and the overflow one last), not cumulative.
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
    pub max_seconds: f64,
}

impl HistogramSnapshot {
    /// The `q` quantile (0..=1), as the upper bound of the bucket it falls in (the maximum for
    /// the overflow bucket, or when that is smaller); 0 with no samples.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return BUCKETS
                    .get(i)
                    .map_or(self.max_seconds, |b| b.min(self.max_seconds));
            }
        }
        self.max_seconds
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_seconds / self.count as f64
        }
    }
}

impl Histogram {
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len() + 1],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            max_micros: AtomicU64::new(0),
        }
    }

    pub fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            max_seconds: self.max_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

/// What this node counted since it started.
#[derive(Debug)]
pub struct Metrics {
    /// HTTP requests answered, by status class, and how long they took.
    pub http_requests: Counter,
    pub http_2xx: Counter,
    pub http_3xx: Counter,
    pub http_4xx: Counter,
    pub http_5xx: Counter,
    pub http_duration: Histogram,
    /// Writes this node proposed that committed (accepted or refused by the state machine).
    pub writes_committed: Counter,
    /// Of those, the ones the state machine refused.
    pub writes_rejected: Counter,
    /// Writes whose outcome is unknown (timed out or abandoned after proposing).
    pub writes_ambiguous: Counter,
    /// Mesos offers this node's scheduler received, used (something launched) and declined.
    pub offers_processed: Counter,
    pub offers_used: Counter,
    pub offers_declined: Counter,
    /// Tasks launched, kills sent, and task status updates received from Mesos.
    pub launches: Counter,
    pub kills: Counter,
    pub status_updates: Counter,
}

impl Metrics {
    pub const fn new() -> Metrics {
        Metrics {
            http_requests: Counter::new(),
            http_2xx: Counter::new(),
            http_3xx: Counter::new(),
            http_4xx: Counter::new(),
            http_5xx: Counter::new(),
            http_duration: Histogram::new(),
            writes_committed: Counter::new(),
            writes_rejected: Counter::new(),
            writes_ambiguous: Counter::new(),
            offers_processed: Counter::new(),
            offers_used: Counter::new(),
            offers_declined: Counter::new(),
            launches: Counter::new(),
            kills: Counter::new(),
            status_updates: Counter::new(),
        }
    }

    /// Counts one answered HTTP request.
    pub fn http_answered(&self, status: u16, elapsed: Duration) {
        self.http_requests.inc();
        match status / 100 {
            2 => self.http_2xx.inc(),
            3 => self.http_3xx.inc(),
            4 => self.http_4xx.inc(),
            5 => self.http_5xx.inc(),
            _ => {}
        }
        self.http_duration.record(elapsed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// This process's metrics.
pub static METRICS: Metrics = Metrics::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_buckets_sums_and_estimates_quantiles() {
        let h = Histogram::new();
        assert_eq!(h.snapshot().quantile(0.5), 0.0);
        for ms in [1, 2, 3, 20, 700] {
            h.record(Duration::from_millis(ms));
        }
        h.record(Duration::from_secs(12));
        let s = h.snapshot();
        assert_eq!(s.count, 6);
        assert_eq!(s.buckets[0], 3, "three samples within 5 ms");
        assert_eq!(s.buckets[2], 1, "20 ms within 25 ms");
        assert_eq!(s.buckets[7], 1, "700 ms within 1 s");
        assert_eq!(s.buckets[BUCKETS.len()], 1, "12 s beyond the last bound");
        assert!((s.sum_seconds - 12.726).abs() < 1e-9);
        assert_eq!(s.max_seconds, 12.0);
        assert_eq!(s.quantile(0.5), 0.005);
        assert_eq!(s.quantile(0.75), 1.0);
        assert_eq!(s.quantile(1.0), 12.0);
    }

    #[test]
    fn answered_requests_count_by_status_class() {
        let m = Metrics::new();
        m.http_answered(200, Duration::from_millis(1));
        m.http_answered(201, Duration::from_millis(1));
        m.http_answered(404, Duration::from_millis(1));
        m.http_answered(503, Duration::from_millis(1));
        assert_eq!(m.http_requests.get(), 4);
        assert_eq!(
            (
                m.http_2xx.get(),
                m.http_3xx.get(),
                m.http_4xx.get(),
                m.http_5xx.get()
            ),
            (2, 0, 1, 1)
        );
        assert_eq!(m.http_duration.snapshot().count, 4);
    }
}
