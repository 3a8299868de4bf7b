//! The `audit_events` table: who did what, in which domain, when.

use sea_orm::entity::prelude::*;

/// A row of `audit_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// When (microseconds).
    pub time: i64,
    /// Who, when a user acted.
    pub actor_user_id: Option<Uuid>,
    /// Their email at the time.
    pub actor_email: Option<String>,
    /// Their domain.
    pub actor_domain_id: Option<Uuid>,
    /// What, e.g. `customer.transferred`.
    pub action: String,
    /// The kind of thing acted on.
    pub subject_type: String,
    /// Its id.
    pub subject_id: String,
    /// The customer concerned.
    pub customer_id: Option<Uuid>,
    /// The case concerned.
    pub case_id: Option<Uuid>,
    /// JSON details.
    pub details: String,
    /// The change feed's order, first key: on PostgreSQL the writing transaction's id (the
    /// database's default), on SQLite 0; 0 too for events older than the feed.
    pub position_tx: i64,
    /// The change feed's order, second key: a sequence's next number on PostgreSQL, one past
    /// the largest on SQLite (a trigger), both given by the database when the insert leaves
    /// it unset.
    pub position_seq: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
