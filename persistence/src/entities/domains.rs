//! The `domains` table: tenant domains of every realm.

use sea_orm::entity::prelude::*;

/// A row of `domains`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "domains")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// DNS name, unique.
    #[sea_orm(unique)]
    pub name: String,
    /// `reseller`, `customer` or `provider`.
    pub realm: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
