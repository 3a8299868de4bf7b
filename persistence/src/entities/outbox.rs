//! The `outbox` table: mail written with the change that caused it, sent by a worker.

use sea_orm::entity::prelude::*;

/// A row of `outbox`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// One recipient's address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The case the mail is about.
    pub case_id: Option<Uuid>,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Sending attempts so far.
    pub attempts: i32,
    /// Not before (microseconds): the back-off.
    pub next_attempt_at: i64,
    /// A worker holds the row until then (microseconds).
    pub locked_until: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was sent (microseconds).
    pub sent_at: Option<i64>,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
