//! The `customers` table: customers as the partner sales console keeps them.

use sea_orm::entity::prelude::*;

/// A row of `customers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation's name.
    pub name: String,
    /// Its own (customer-realm) domain, one customer per domain.
    #[sea_orm(unique)]
    pub domain_id: Uuid,
    /// Its current reseller domain.
    pub reseller_domain_id: Uuid,
    /// `granted` or `revoked`.
    pub reseller_access: String,
    /// `standard`, `enhanced` or `premium`.
    pub support_tier: String,
    /// JSON postal address.
    pub postal_address: String,
    /// JSON contact.
    pub contact: String,
    /// Since when the current reseller manages it (microseconds).
    pub managed_since: i64,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
