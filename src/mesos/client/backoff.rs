//! The delay between reconnection attempts: exponential, capped, with jitter so that several
//! schedulers cut off together do not come back in lockstep, and reset after a success.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// The delay the next attempt waits before jitter.
    base: Duration,
}

impl Backoff {
    /// Short enough that a master that merely restarted is found again at once.
    pub const DEFAULT_INITIAL: Duration = Duration::from_millis(100);
    /// Long enough not to hammer masters that are all down; short against a 15 s heartbeat.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(5);

    /// `max` below `initial` is raised to `initial`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            base: initial,
        }
    }

    /// The delay before the next attempt, jittered with the thread's random numbers.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(rand::random::<f64>())
    }

    /// The delay before the next attempt, for a random `unit` in `[0, 1]`: between half the
    /// current base and all of it. The base then doubles, up to the maximum.
    pub fn next_delay_with(&mut self, unit: f64) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let delay = self.base.mul_f64(0.5 + unit / 2.0);
        self.base = self.base.saturating_mul(2).min(self.max);
        delay
    }

    /// After a success: the next failure waits the initial delay again.
    pub fn reset(&mut self) {
        self.base = self.initial;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Backoff::DEFAULT_INITIAL, Backoff::DEFAULT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let full: Vec<Duration> = (0..9).map(|_| b.next_delay_with(1.0)).collect();
        assert_eq!(
            full,
            [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map(ms)
        );
        b.reset();
        assert_eq!(b.next_delay_with(1.0), ms(100));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_base() {
        let cases = [
            (0.0, ms(50)),
            (0.5, ms(75)),
            (1.0, ms(100)),
            (-3.0, ms(50)),
            (7.0, ms(100)),
            (f64::NAN, ms(100)),
        ];
        for (unit, want) in cases {
            let mut b = Backoff::default();
            assert_eq!(b.next_delay_with(unit), want, "{unit}");
        }
        let mut b = Backoff::new(ms(10), ms(40));
        for _ in 0..100 {
            let d = b.next_delay();
            assert!(d >= ms(5) && d <= ms(40), "{d:?}");
        }
    }

    #[test]
    fn a_cap_below_the_start_is_the_start() {
        let mut b = Backoff::new(ms(300), ms(100));
        assert_eq!(b.next_delay_with(1.0), ms(300));
        assert_eq!(b.next_delay_with(1.0), ms(300));
    }
}
