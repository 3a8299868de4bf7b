//! The `event_audiences` table: the partner domains a customer event is addressed to.

use sea_orm::entity::prelude::*;

/// A row of `event_audiences`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_audiences")]
pub struct Model {
    /// The event.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    /// A partner domain it is addressed to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain_id: Uuid,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
