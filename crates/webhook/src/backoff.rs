//! When to try a failed delivery again.

use std::time::Duration;

use rand::Rng;

/// The retry schedule for a delivery: exponential backoff with "equal jitter", capped, and a
/// deadline after which the delivery is abandoned.
///
/// Jitter spreads the retries of many deliveries that failed together (a receiver that was
/// down) so they do not all return at the same instant; keeping half of each delay fixed
/// keeps the backoff growing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay ceiling after the first failure (default 5 s); doubles with every failure.
    pub base: Duration,
    /// The ceiling no delay exceeds (default 10 min).
    pub max_delay: Duration,
    /// How long after the first attempt retries stop (default 24 h).
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            max_delay: Duration::from_secs(10 * 60),
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Backoff {
    /// The wait before the next attempt after `attempt` failures (1 = after the first).
    ///
    /// The ceiling is `base · 2^(attempt − 1)`, capped at [`Backoff::max_delay`]; the delay is
    /// half the ceiling plus a uniformly random share of the other half, so it lies in
    /// `[ceiling / 2, ceiling]`. `attempt` 0 counts as 1.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let fixed = ceiling / 2;
        let spread = ceiling - fixed;
        let share: f64 = rng.random();
        // `share` is in [0, 1), so this stays within `spread`; the fallback is for the
        // rounding of enormous durations through f64.
        let jitter = Duration::try_from_secs_f64(spread.as_secs_f64() * share)
            .unwrap_or(spread)
            .min(spread);
        fixed + jitter
    }

    /// Like [`Backoff::delay`], or `None` once `first_attempt_age` (the time since the first
    /// attempt) has reached [`Backoff::give_up_after`]: the delivery is then abandoned.
    ///
    /// Only the start of the wait is checked, so the last attempt can fall up to one delay
    /// (at most [`Backoff::max_delay`]) after the deadline.
    pub fn next_attempt(
        &self,
        attempt: u32,
        first_attempt_age: Duration,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        (first_attempt_age < self.give_up_after).then(|| self.delay(attempt, rng))
    }

    /// `base · 2^(attempt − 1)` capped at `max_delay`, without overflowing.
    fn ceiling(&self, attempt: u32) -> Duration {
        1u32.checked_shl(attempt.max(1) - 1)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_then_cap() {
        let backoff = Backoff::default();
        let secs: Vec<u64> = (1..=10).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(backoff.ceiling(0), backoff.ceiling(1));
        assert_eq!(backoff.ceiling(31), backoff.max_delay);
        assert_eq!(backoff.ceiling(32), backoff.max_delay);
        assert_eq!(backoff.ceiling(u32::MAX), backoff.max_delay);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let backoff = Backoff {
            base: Duration::MAX,
            max_delay: Duration::MAX,
            give_up_after: Duration::MAX,
        };
        let mut rng = rand::rng();
        for attempt in [0, 1, 2, 64, u32::MAX] {
            let delay = backoff.delay(attempt, &mut rng);
            assert!(delay >= Duration::MAX / 2, "{attempt}: {delay:?}");
        }
    }
}
