//! Periodic clean-up of what expires: idempotency keys past their retention, signed-out tokens
//! past their expiry, sign-in failures past their window. Run by every instance's timer, done by
//! one at a time: the work holds a transaction-scoped advisory lock on PostgreSQL, and an
//! instance that finds it taken skips its turn.

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use time::{Duration, OffsetDateTime};

use super::to_micros;
use crate::entities::{idempotency_keys, revoked_tokens, sign_in_failures};
use crate::{Database, PersistenceError};

/// The advisory lock key of the clean-up.
const LOCK: i64 = 4_242_000_002;

/// What one clean-up removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Idempotency keys.
    pub idempotency_keys: u64,
    /// Revoked tokens.
    pub revoked_tokens: u64,
    /// Sign-in failures.
    pub sign_in_failures: u64,
}

/// Removes what expired by `now`, unless another instance is doing so at this moment (`None`).
pub async fn sweep(
    db: &Database,
    now: OffsetDateTime,
    idempotency_retention: Duration,
    sign_in_window: Duration,
) -> Result<Option<Swept>, PersistenceError> {
    let tx = db.begin().await?;
    if !super::locks::try_task(&tx, LOCK).await? {
        return Ok(None);
    }
    let swept = Swept {
        idempotency_keys: idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::CreateTime.lt(to_micros(now - idempotency_retention)))
            .exec(&tx)
            .await?
            .rows_affected,
        revoked_tokens: revoked_tokens::Entity::delete_many()
            .filter(revoked_tokens::Column::ExpiresAt.lt(to_micros(now)))
            .exec(&tx)
            .await?
            .rows_affected,
        sign_in_failures: sign_in_failures::Entity::delete_many()
            .filter(sign_in_failures::Column::At.lt(to_micros(now - sign_in_window)))
            .exec(&tx)
            .await?
            .rows_affected,
    };
    tx.commit().await?;
    Ok(Some(swept))
}

/// Holds the clean-up's lock until the returned transaction ends (for tests and tools that
/// must keep the clean-up out).
pub async fn hold(db: &Database) -> Result<sea_orm::DatabaseTransaction, PersistenceError> {
    let tx = db.begin().await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [LOCK.into()],
        ))
        .await?;
    }
    Ok(tx)
}

/// The advisory lock key of the fold of the partners' running sums.
const FOLD_LOCK: i64 = 4_242_000_003;

/// Folds the rows PostgreSQL added to `partner_seen_case_counts` since the last fold into one
/// row per partner, status and severity (migration
/// `m20261203_000001_count_seen_cases_on_postgres`): the rows of every partner that has more
/// than one for a key are deleted and their sums inserted, in one statement, so a reader sees
/// either the rows or their sums; rows added meanwhile are not in the statement's snapshot and
/// stay for the next fold. Then the table is vacuumed: a list's sum reads the partner's entries
/// in its index, and every row a fold deletes stays there, dead, until a vacuum (autovacuum
/// comes about once a minute at best; after ten seconds of filings a reseller's sum walked
/// 8,400 dead entries beside its 20 live rows: 1.3 ms). The number of rows folded; `None`
/// while another instance folds, 0 on SQLite, whose triggers update one row per key in place.
pub async fn fold_seen_counts(db: &Database) -> Result<Option<u64>, PersistenceError> {
    if db.backend() != crate::Backend::Postgres {
        return Ok(Some(0));
    }
    let tx = db.begin().await?;
    if !super::locks::try_task(&tx, FOLD_LOCK).await? {
        return Ok(None);
    }
    let folded = tx
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "WITH gone AS (\
               DELETE FROM partner_seen_case_counts WHERE domain_id IN (\
                 SELECT domain_id FROM partner_seen_case_counts \
                 GROUP BY domain_id, status, severity HAVING COUNT(*) > 1) \
               RETURNING domain_id, status, severity, n), \
             summed AS (\
               INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
               SELECT domain_id, status, severity, SUM(n) FROM gone \
               GROUP BY domain_id, status, severity HAVING SUM(n) <> 0) \
             SELECT COUNT(*) AS folded FROM gone",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "folded"))
        .transpose()?
        .unwrap_or(0);
    tx.commit().await?;
    if folded > 0 {
        db.writer()
            .execute_unprepared("VACUUM partner_seen_case_counts")
            .await?;
    }
    Ok(Some(u64::try_from(folded).unwrap_or(0)))
}
