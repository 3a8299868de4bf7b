//! Failed sign-ins counted in the database, so that every instance of a deployment counts the
//! same attempts: a sliding window per key, an attempt reserved before its password is verified.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::to_micros;
use crate::entities::sign_in_failures;
use crate::{Database, PersistenceError};

/// Reserves an attempt for `key` within `max` per `window`: `Ok(Ok(id))` with the attempt's
/// id, or `Ok(Err(seconds to wait))` when the key has used up its attempts. Decided in one
/// transaction that holds the key's advisory lock, so concurrent attempts are counted in turn.
pub async fn reserve(
    db: &Database,
    key: &str,
    max: u64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Result<Uuid, u64>, PersistenceError> {
    let tx = db.begin().await?;
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text AS locked",
            [format!("sign-in:{key}").into()],
        ))
        .await?;
    }
    let cutoff = to_micros(now - window);
    sign_in_failures::Entity::delete_many()
        .filter(sign_in_failures::Column::Key.eq(key))
        .filter(sign_in_failures::Column::At.lte(cutoff))
        .exec(&tx)
        .await?;
    let held = sign_in_failures::Entity::find()
        .filter(sign_in_failures::Column::Key.eq(key))
        .count(&tx)
        .await?;
    if held >= max {
        let oldest: Option<i64> = sign_in_failures::Entity::find()
            .select_only()
            .column(sign_in_failures::Column::At)
            .filter(sign_in_failures::Column::Key.eq(key))
            .order_by_asc(sign_in_failures::Column::At)
            .into_tuple()
            .one(&tx)
            .await?;
        let free_at = oldest.unwrap_or(cutoff) + window.whole_microseconds() as i64;
        let wait = ((free_at - to_micros(now)) / 1_000_000).max(1);
        return Ok(Err(u64::try_from(wait).unwrap_or(1)));
    }
    let id = Uuid::now_v7();
    sign_in_failures::Entity::insert(sign_in_failures::ActiveModel {
        id: Set(id),
        key: Set(key.to_owned()),
        at: Set(to_micros(now)),
    })
    .exec_without_returning(&tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Gives back a reserved attempt (it did not fail after all).
pub async fn release(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), PersistenceError> {
    sign_in_failures::Entity::delete_by_id(id)
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets every attempt of a key (after a successful sign-in).
pub async fn clear(conn: &impl ConnectionTrait, key: &str) -> Result<(), PersistenceError> {
    sign_in_failures::Entity::delete_many()
        .filter(sign_in_failures::Column::Key.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}

/// Removes attempts older than `before`, whatever their key (the periodic sweep).
pub async fn sweep(
    conn: &impl ConnectionTrait,
    before: OffsetDateTime,
) -> Result<u64, PersistenceError> {
    Ok(sign_in_failures::Entity::delete_many()
        .filter(sign_in_failures::Column::At.lt(to_micros(before)))
        .exec(conn)
        .await?
        .rows_affected)
}
