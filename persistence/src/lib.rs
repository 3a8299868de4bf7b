//! casebridge storage: sea-orm over SQLite (embedded default) and PostgreSQL (for scale).
//!
//! `entities/` holds one file per table and nothing else; `repo/` holds the queries, one file
//! per aggregate, and the conversions to and from the domain's types.

pub mod append;
mod db;
pub mod entities;
mod error;
pub mod read;
pub mod repo;
pub mod write;

pub use db::{Backend, Database, PoolSettings};
pub use error::PersistenceError;
pub use read::{Reader, Reads, Writes};
/// What repository functions run on: a connection or a transaction.
pub use sea_orm::ConnectionTrait as Connection;
/// A write transaction.
pub use sea_orm::DatabaseTransaction as Transaction;
pub use write::{Write, WriteTransaction};
