//! The persistence layer's one error type.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// What can go wrong storing or loading data.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// The thing asked for does not exist (or the caller may not see it).
    #[error("not found")]
    NotFound,
    /// A write collided with existing data on a unique key.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write lost a race with another write (optimistic concurrency).
    #[error("the record was changed by someone else")]
    StaleWrite,
    /// A rule of the domain refused the change; decided inside a transaction.
    #[error(transparent)]
    Rule(#[from] casebridge_domain::DomainError),
    /// PostgreSQL broke a lock cycle or a serialisation conflict by aborting this
    /// transaction (SQLSTATE 40P01 or 40001): running it again is safe and usually succeeds.
    #[error("transaction aborted by the database to resolve contention: {0}")]
    Contention(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The configuration names no usable database.
    #[error("database configuration: {0}")]
    Config(String),
    /// Stored data no longer parses into the domain's types.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for PersistenceError {
    fn from(err: DbErr) -> Self {
        if is_contention(&err) {
            return PersistenceError::Contention(err.to_string());
        }
        if is_connection_lost(&err) {
            return PersistenceError::Unavailable(err.to_string());
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => PersistenceError::Conflict(detail),
            _ => match err {
                DbErr::RecordNotFound(_) => PersistenceError::NotFound,
                DbErr::ConnectionAcquire(e) => PersistenceError::Unavailable(e.to_string()),
                DbErr::Conn(e) => PersistenceError::Unavailable(e.to_string()),
                other => PersistenceError::Db(other),
            },
        }
    }
}

/// The driver's own error under a statement's or a connection's failure, if sqlx raised it.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.deref()),
        _ => None,
    }
}

/// SQLSTATE 40P01 (deadlock detected) and 40001 (serialization failure): the two errors
/// PostgreSQL asks the client to answer by retrying the transaction.
fn is_contention(err: &DbErr) -> bool {
    match sqlx_error(err) {
        Some(sea_orm::sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// The connection broke under the statement: an I/O error on its socket, or PostgreSQL
/// ending the session (SQLSTATE class 08, connection exception; 57P01–57P03, an administrator,
/// a crash or a start-up shutting it). A pooled connection is handed to a request unchecked
/// while it is in use (`PING_WHEN_IDLE_FOR`), so a restart cuts the ones in use: each fails
/// its one statement as the database being unavailable, and the pool drops it.
fn is_connection_lost(err: &DbErr) -> bool {
    match sqlx_error(err) {
        Some(sea_orm::sqlx::Error::Io(_)) => true,
        Some(sea_orm::sqlx::Error::Database(db)) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl PersistenceError {
    /// Whether the transaction was aborted to resolve contention and may be run again.
    pub fn is_contention(&self) -> bool {
        matches!(self, PersistenceError::Contention(_))
    }

    /// Whether the error is a unique-key collision.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PersistenceError::Conflict(_))
    }
}
