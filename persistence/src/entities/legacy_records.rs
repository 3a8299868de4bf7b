//! The `legacy_records` table: what each imported record of the old support center became.

use sea_orm::entity::prelude::*;

/// A row of `legacy_records`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legacy_records")]
pub struct Model {
    /// `domain`, `role`, `user`, `customer`, `case` or `comment`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    /// The old system's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub legacy_id: String,
    /// The entity it became.
    pub entity_id: Uuid,
    /// Hash of the record's content when last imported.
    pub record_hash: String,
    /// Microseconds since the epoch.
    pub import_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
