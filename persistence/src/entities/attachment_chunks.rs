//! The `attachment_chunks` table: attachment bytes kept in the database, in order.

use sea_orm::entity::prelude::*;

/// A row of `attachment_chunks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachment_chunks")]
pub struct Model {
    /// The attachment's storage key (`<case id>/<attachment id>`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub storage_key: String,
    /// The chunk's place, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
