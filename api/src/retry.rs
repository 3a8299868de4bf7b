//! Write transactions run again when PostgreSQL aborted them to resolve contention.
//!
//! Locks are taken in one canonical order (`casebridge_persistence::repo::locks`), so deadlocks
//! between our own transactions should not happen; this is the safety net the database asks
//! every client to have. A transaction that lost is rolled back whole, so running the same
//! closure again repeats nothing that was kept.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::problem::ApiError;

/// Attempts before the contention is answered as `503` with `Retry-After`.
pub const ATTEMPTS: u32 = 6;

/// Runs `attempt` (which begins, uses and commits its own transaction) until it succeeds, fails
/// for another reason, or lost to contention [`ATTEMPTS`] times; waits a short random while
/// between attempts so that the transactions that collided do not collide again.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_contention() && tries < ATTEMPTS => {
                let ceiling_ms = 4_u64 << tries;
                let pause = rand::thread_rng().gen_range(1..=ceiling_ms);
                tracing::info!(
                    tries,
                    pause_ms = pause,
                    "transaction lost to contention; running it again"
                );
                tokio::time::sleep(Duration::from_millis(pause)).await;
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}
