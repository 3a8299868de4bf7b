//! The persistence layer's one error type.

use sea_orm::{DbErr, SqlErr};

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

impl PersistenceError {
    /// Whether the error is a unique-key collision.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PersistenceError::Conflict(_))
    }
}
