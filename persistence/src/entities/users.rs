//! The `users` table: accounts, one per domain and email.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The domain the account belongs to.
    pub domain_id: Uuid,
    /// Lower-cased email, unique within the domain.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Whether sign-in and every token are refused.
    pub suspended: bool,
    /// Bumped to invalidate every token issued before.
    pub token_version: i64,
    /// Where case mail is redirected.
    pub notification_email: Option<String>,
    /// Organisational unit path.
    pub org_unit: Option<String>,
    /// Whether the password is a one-time password to be changed.
    pub must_change_password: bool,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
