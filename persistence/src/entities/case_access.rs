//! The `case_access` table: the partner domains recorded on each case, with its sort keys.

use sea_orm::entity::prelude::*;

/// A row of `case_access`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_access")]
pub struct Model {
    /// The partner domain.
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain_id: Uuid,
    /// The case.
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    /// The case's customer.
    pub customer_id: Uuid,
    /// Copy of the case's update time.
    pub update_time: i64,
    /// Copy of the case's create time.
    pub create_time: i64,
    /// Copy of the case's severity.
    pub severity: i16,
    /// Copy of the case's status.
    pub status: String,
    /// Copy of the case's number: a keyword match (an FTS5 rowid, the case number) finds the
    /// partner's record of the case without reading the case.
    pub case_number: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
