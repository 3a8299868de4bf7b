//! Sign-in throttling: failures counted per account and per client address in a sliding
//! window; past the limit, sign-in is refused until the window lets the oldest failure go.
//!
//! An attempt is counted before the password is verified (a reservation), so a burst of
//! concurrent attempts gets at most the limit through. Counts live in the process. With several instances an attacker gets each instance's
//! allowance; the limits are set so that even that stays far below a useful guessing rate.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Failures allowed within the window.
    pub max_failures: usize,
    /// The window.
    pub window: Duration,
}

/// Failed attempts per key.
#[derive(Debug)]
pub struct Throttle {
    limit: Limit,
    failures: Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
}

/// Most keys remembered; beyond it, keys with only old failures are forgotten first.
const MAX_KEYS: usize = 100_000;

impl Throttle {
    /// A throttle with this limit.
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt as failed before it is made, so that a burst of concurrent attempts
    /// cannot all pass the check before any of them is counted; `Err(seconds to wait)` when the
    /// key has used up its failures. An attempt that then succeeds gives its place back with
    /// [`Throttle::release`] or [`Throttle::clear`].
    pub fn reserve(&self, key: &str, now: OffsetDateTime) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        let cutoff = now - self.limit.window;
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
        }
        let times = map.entry(key.to_owned()).or_default();
        while times.front().is_some_and(|t| *t <= cutoff) {
            times.pop_front();
        }
        if times.len() >= self.limit.max_failures {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = (oldest + self.limit.window - now).whole_seconds().max(1);
            return Err(u64::try_from(wait).unwrap_or(1));
        }
        times.push_back(now);
        Ok(())
    }

    /// Gives back the place an attempt reserved at `at` (it did not fail after all).
    pub fn release(&self, key: &str, at: OffsetDateTime) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if let Some(times) = map.get_mut(key)
            && let Some(i) = times.iter().rposition(|t| *t == at)
        {
            times.remove(i);
            if times.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Forgets a key's failures (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_are_refused_until_the_window_passes() {
        let t = Throttle::new(Limit {
            max_failures: 3,
            window: Duration::minutes(15),
        });
        let t0 = OffsetDateTime::UNIX_EPOCH;
        for i in 0..3 {
            assert_eq!(t.reserve("k", t0 + Duration::seconds(i)), Ok(()));
        }
        let wait = t.reserve("k", t0 + Duration::seconds(10));
        assert_eq!(wait, Err(890));
        assert_eq!(t.reserve("other", t0), Ok(()));
        assert_eq!(
            t.reserve("k", t0 + Duration::minutes(15) + Duration::seconds(1)),
            Ok(())
        );
        t.clear("k");
        assert_eq!(t.reserve("k", t0 + Duration::seconds(11)), Ok(()));
    }

    #[test]
    fn a_released_attempt_gives_its_place_back() {
        let t = Throttle::new(Limit {
            max_failures: 2,
            window: Duration::minutes(15),
        });
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(t.reserve("k", t0), Ok(()));
        assert_eq!(t.reserve("k", t0 + Duration::seconds(1)), Ok(()));
        t.release("k", t0 + Duration::seconds(1));
        assert_eq!(t.reserve("k", t0 + Duration::seconds(2)), Ok(()));
        assert!(t.reserve("k", t0 + Duration::seconds(3)).is_err());
    }
}
