//! The `support_partners` table: active support partnerships.

use sea_orm::entity::prelude::*;

/// A row of `support_partners`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "support_partners")]
pub struct Model {
    /// The customer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    /// The partner (reseller-realm) domain.
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_domain_id: Uuid,
    /// Since (microseconds).
    pub start_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
