//! The `user_roles` table: which roles each user holds.

use sea_orm::entity::prelude::*;

/// A row of `user_roles`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_roles")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// A built-in role's name or a custom role's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    /// For a custom role, its id (so deleting the role removes the assignment).
    pub custom_role_id: Option<Uuid>,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
