//! The `customer_resellers` table: which reseller managed a customer when.

use sea_orm::entity::prelude::*;

/// A row of `customer_resellers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_resellers")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// The reseller domain.
    pub reseller_domain_id: Uuid,
    /// From (microseconds).
    pub start_time: i64,
    /// Until (microseconds); open while it still manages the customer.
    pub end_time: Option<i64>,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
