//! The transactional outbox: mail rows written in the transaction of the change that causes
//! them, and claimed, sent and marked by a worker. Claiming uses `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL so that several service instances never send the same mail at the same time.

use casebridge_domain::CaseId;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryTrait, Statement,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::to_micros;
use crate::PersistenceError;
use crate::entities::outbox;
use crate::read::Writes;

/// A mail to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The case it is about.
    pub case_id: Option<CaseId>,
}

/// Writes mail into the outbox (in the caller's transaction).
pub async fn enqueue(
    conn: &impl Writes,
    mails: &[Mail],
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    if mails.is_empty() {
        return Ok(());
    }
    let t = to_micros(now);
    let rows: Vec<outbox::ActiveModel> = mails
        .iter()
        .map(|m| outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            recipient: Set(m.recipient.clone()),
            subject: Set(m.subject.clone()),
            body: Set(m.body.clone()),
            case_id: Set(m.case_id.map(|c| c.as_uuid())),
            create_time: Set(t),
            attempts: Set(0),
            next_attempt_at: Set(t),
            locked_until: Set(None),
            last_error: Set(None),
            sent_at: Set(None),
        })
        .collect();
    // Appended (crate::append): a transaction never reads back the mail it queues.
    conn.append(outbox::Entity::insert_many(rows).build(conn.backend()))
        .await?;
    Ok(())
}

/// A mail a worker holds.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ClaimedMail {
    /// Id.
    pub id: Uuid,
    /// The recipient's address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Attempts before this one.
    pub attempts: i32,
}

/// Claims up to `batch` due mails for `lease`: nobody else sends them meanwhile.
pub async fn claim(
    conn: &impl ConnectionTrait,
    now: OffsetDateTime,
    lease: Duration,
    batch: u64,
) -> Result<Vec<ClaimedMail>, PersistenceError> {
    let backend = conn.get_database_backend();
    let (sql, values) = match backend {
        DbBackend::Postgres => (
            "UPDATE outbox SET locked_until = $1 WHERE id IN ( \
               SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $2 \
               AND (locked_until IS NULL OR locked_until < $2) \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, recipient, subject, body, attempts",
            vec![
                to_micros(now + lease).into(),
                to_micros(now).into(),
                i64::try_from(batch).unwrap_or(100).into(),
            ],
        ),
        _ => (
            "UPDATE outbox SET locked_until = ? WHERE id IN ( \
               SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ? \
               AND (locked_until IS NULL OR locked_until < ?) \
               ORDER BY next_attempt_at LIMIT ?) \
             RETURNING id, recipient, subject, body, attempts",
            vec![
                to_micros(now + lease).into(),
                to_micros(now).into(),
                to_micros(now).into(),
                i64::try_from(batch).unwrap_or(100).into(),
            ],
        ),
    };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|r| ClaimedMail::from_query_result(r, "").map_err(PersistenceError::from))
        .collect()
}

/// Extends the claim on mails a worker still holds (not yet sent), so that a send slower than
/// the lease is not taken over by another worker while it runs.
pub async fn renew(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    until: OffsetDateTime,
) -> Result<(), PersistenceError> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::LockedUntil, Expr::value(to_micros(until)))
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox::Column::SentAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Gives up the claim on mails a worker holds but will not send (it is shutting down): another
/// worker may take them at once.
pub async fn release(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), PersistenceError> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox::Column::SentAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks a mail sent.
pub async fn mark_sent(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::SentAt, Expr::value(to_micros(now)))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    retry_at: OffsetDateTime,
    error: &str,
) -> Result<(), PersistenceError> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(to_micros(retry_at)),
        )
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(error.chars().take(1000).collect::<String>()),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// How many mails wait to be sent.
pub async fn pending(conn: &impl ConnectionTrait) -> Result<u64, PersistenceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .count(conn)
        .await?)
}

/// The mails about a case, oldest first (recipient, subject).
pub async fn for_case(
    conn: &impl ConnectionTrait,
    case: CaseId,
) -> Result<Vec<(String, String)>, PersistenceError> {
    use sea_orm::QueryOrder;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(case.as_uuid()))
        .order_by_asc(outbox::Column::CreateTime)
        .order_by_asc(outbox::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.recipient, m.subject))
        .collect())
}
