//! The `roles` table: custom roles, named sets of privileges of one domain.

use sea_orm::entity::prelude::*;

/// A row of `roles`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The domain the role belongs to.
    pub domain_id: Uuid,
    /// Name, unique within the domain.
    pub name: String,
    /// Privilege names, comma-separated.
    pub privileges: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
