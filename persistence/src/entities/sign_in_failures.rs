//! The `sign_in_failures` table: failed (or pending) sign-in attempts per throttle key.

use sea_orm::entity::prelude::*;

/// A row of `sign_in_failures`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_failures")]
pub struct Model {
    /// The attempt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The throttle key (`account:domain/email` or `address:ip`).
    pub key: String,
    /// When (microseconds since the epoch).
    pub at: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
