//! The `idempotency_keys` table: responses of creating requests, replayed on retry.

use sea_orm::entity::prelude::*;

/// A row of `idempotency_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// Whose key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The client's key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Hash of the request the key was first used with.
    pub request_hash: String,
    /// The response's status.
    pub response_status: i16,
    /// The response's body.
    pub response_body: String,
    /// JSON object of the response's headers that matter (Location, ETag).
    pub response_headers: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
