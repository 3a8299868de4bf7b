//! The periodic clean-up every instance runs: what expired in the database (once per deployment
//! at a time, see `casebridge_persistence::repo::housekeeping`) and this instance's own staging
//! files left by uploads that never finished.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use casebridge_persistence::repo::{housekeeping, idempotency};
use tokio_util::sync::CancellationToken;

use crate::state::{AppState, Limited};
use crate::storage::sweep_staging;

/// How often an instance offers to clean up.
const EVERY: StdDuration = StdDuration::from_secs(60);
/// A staging file untouched this long belongs to an upload that will not finish.
const STALE_STAGING: StdDuration = StdDuration::from_secs(24 * 3600);

/// Cleans up every [`EVERY`] until `stop` is cancelled.
pub async fn run(state: AppState, attachments_root: PathBuf, stop: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = state.clock.now();
        match housekeeping::sweep(
            &state.db,
            now,
            idempotency::RETENTION,
            Limited::Account.window().max(Limited::Address.window()),
        )
        .await
        {
            Ok(Some(swept)) => tracing::debug!(?swept, "expired rows removed"),
            Ok(None) => tracing::debug!("another instance is cleaning up"),
            Err(e) => tracing::warn!(error = %e, "clean-up failed; trying again later"),
        }
        let root = attachments_root.clone();
        if let Ok(n) =
            tokio::task::spawn_blocking(move || sweep_staging(&root, STALE_STAGING)).await
            && n > 0
        {
            tracing::info!(
                files = n,
                "stale staging files of unfinished uploads removed"
            );
        }
    }
}
