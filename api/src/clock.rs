//! Time, injected: the rules take `now` as an argument, and the application asks its clock.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Tells the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that runs with the system's but can be moved forward, for tests of time-bound
/// rules (reopen windows, token expiry, throttling windows) through the real server.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// A clock showing the system's time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the clock to show `at` now (and to go on from there at the system's pace).
    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut offset) = self.offset.lock() {
            *offset = at - OffsetDateTime::now_utc();
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        if let Ok(mut offset) = self.offset.lock() {
            *offset += by;
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        let offset = self.offset.lock().map(|o| *o).unwrap_or_default();
        OffsetDateTime::now_utc() + offset
    }
}
