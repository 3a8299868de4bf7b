//! The `service_level_policies` table.

use sea_orm::entity::prelude::*;

/// A row of `service_level_policies`: the first-response target of one support tier and
/// severity.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_level_policies")]
pub struct Model {
    /// `standard`, `enhanced` or `premium`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub support_tier: String,
    /// 1 (P1) to 4 (P4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub severity: i16,
    /// Minutes to the first response.
    pub first_response_minutes: i32,
    /// `24x7` or `business`.
    pub hours: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
