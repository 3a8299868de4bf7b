//! The `case_comments` table: a case's history.

use sea_orm::entity::prelude::*;

/// A row of `case_comments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_comments")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The text.
    pub body: String,
    /// The author, when a user.
    pub author_user_id: Option<Uuid>,
    /// The author's email.
    pub author_email: String,
    /// The author's domain.
    pub author_domain_id: Option<Uuid>,
    /// `partner`, `customer` or `support`.
    pub author_party: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
