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
