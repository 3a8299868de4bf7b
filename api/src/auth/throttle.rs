//! Sign-in throttling: failures counted per account and per client address in a sliding
//! window; past the limit, sign-in is refused until the window lets the oldest failure go.
//!
//! Counts live in the process. With several instances an attacker gets each instance's
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

    /// `Err(seconds to wait)` when the key has used up its failures.
    pub fn check(&self, key: &str, now: OffsetDateTime) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        let cutoff = now - self.limit.window;
        while times.front().is_some_and(|t| *t <= cutoff) {
            times.pop_front();
        }
        if times.len() < self.limit.max_failures {
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        let wait = (oldest + self.limit.window - now).whole_seconds().max(1);
        Err(u64::try_from(wait).unwrap_or(1))
    }

    /// Counts a failure.
    pub fn fail(&self, key: &str, now: OffsetDateTime) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            let cutoff = now - self.limit.window;
            map.retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
        }
        let times = map.entry(key.to_owned()).or_default();
        times.push_back(now);
        while times.len() > self.limit.max_failures {
            times.pop_front();
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
            assert_eq!(t.check("k", t0 + Duration::seconds(i)), Ok(()));
            t.fail("k", t0 + Duration::seconds(i));
        }
        let wait = t.check("k", t0 + Duration::seconds(10));
        assert_eq!(wait, Err(890));
        assert_eq!(t.check("other", t0), Ok(()));
        assert_eq!(
            t.check("k", t0 + Duration::minutes(15) + Duration::seconds(1)),
            Ok(())
        );
        t.clear("k");
        assert_eq!(t.check("k", t0 + Duration::seconds(11)), Ok(()));
    }
}
