//! The periodic clean-up every instance runs: what expired in the database (once per deployment
//! at a time, see `casebridge_persistence::repo::housekeeping`) and this instance's own staging
//! files left by uploads that never finished; the merging of SQLite's keyword index while
//! nobody waits to write; and the folding of PostgreSQL's running sums per partner.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use casebridge_persistence::repo::{housekeeping, idempotency, search};
use casebridge_persistence::{Database, PersistenceError};
use tokio_util::sync::CancellationToken;

use crate::state::{AppState, Limited};
use crate::storage::sweep_staging;

/// How often an instance offers to clean up.
const EVERY: StdDuration = StdDuration::from_secs(60);
/// A staging file untouched this long belongs to an upload that will not finish.
const STALE_STAGING: StdDuration = StdDuration::from_secs(24 * 3600);
/// How often the keyword index's merger looks for work.
const MERGE_EVERY: StdDuration = StdDuration::from_secs(1);
/// How often PostgreSQL's running sums per partner are folded: a partner's list sums the rows
/// added since the last fold, a few per case filed or moved meanwhile.
const FOLD_EVERY: StdDuration = StdDuration::from_secs(1);
/// Pages of the keyword index one merge writes (FTS5 pages, about 4 KB each): small, since a
/// filing that arrives meanwhile waits for them.
const MERGE_SLICE: u32 = 64;

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

/// Merges SQLite's keyword index while it has something to merge and nobody waits to write,
/// every [`MERGE_EVERY`] until `stop` is cancelled. The filings' commits only add to the index
/// (`search::merge_index`); this is where its b-trees are merged, off the requests' path.
pub async fn merge_keyword_index(db: Database, stop: CancellationToken) {
    if db.backend() != casebridge_persistence::Backend::Sqlite {
        return;
    }
    let mut tick = tokio::time::interval(MERGE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match merge_while_idle(&db, &stop).await {
            Ok(0) => {}
            Ok(slices) => tracing::debug!(slices, "keyword index merged"),
            Err(e) => {
                tracing::warn!(error = %e, "merging the keyword index failed; trying again later")
            }
        }
    }
}

/// Folds PostgreSQL's running sums of the cases each partner sees
/// (`housekeeping::fold_seen_counts`) every [`FOLD_EVERY`] until `stop` is cancelled; one
/// instance at a time folds.
pub async fn fold_seen_counts(db: Database, stop: CancellationToken) {
    if db.backend() != casebridge_persistence::Backend::Postgres {
        return;
    }
    let mut tick = tokio::time::interval(FOLD_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match housekeeping::fold_seen_counts(&db).await {
            Ok(Some(0) | None) => {}
            Ok(Some(rows)) => tracing::debug!(rows, "partners' running sums folded"),
            Err(e) => {
                tracing::warn!(error = %e, "folding the partners' running sums failed; trying again later")
            }
        }
    }
}

/// Merges the keyword index a slice at a time for as long as there is something to merge, no
/// write transaction is waiting and `stop` is not cancelled; the slices that merged something.
async fn merge_while_idle(
    db: &Database,
    stop: &CancellationToken,
) -> Result<u32, PersistenceError> {
    let mut slices = 0;
    while !stop.is_cancelled()
        && !db.writes_waiting()
        && search::merge_index(db, MERGE_SLICE).await?
    {
        slices += 1;
    }
    Ok(slices)
}
