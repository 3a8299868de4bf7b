//! The `revoked_tokens` table: tokens signed out before they expire.

use sea_orm::entity::prelude::*;

/// A row of `revoked_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revoked_tokens")]
pub struct Model {
    /// The token's `jti`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: Uuid,
    /// Whose token.
    pub user_id: Uuid,
    /// When the token would have expired anyway (microseconds); the row can go after.
    pub expires_at: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
