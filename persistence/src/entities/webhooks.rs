//! The `webhooks` table: a domain's webhook endpoints.

use sea_orm::entity::prelude::*;

/// A row of `webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The domain whose endpoint it is.
    pub domain_id: Uuid,
    /// Where events are posted.
    pub url: String,
    /// What its owner says it is for.
    pub description: Option<String>,
    /// The event types it receives, as a JSON array of names.
    pub event_types: String,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Why the service disabled it (`gone`, `failing`); none when enabled or disabled by hand.
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, still signing until its expiry.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing (microseconds).
    pub previous_secret_expire_time: Option<i64>,
    /// The first failed attempt since its last success (microseconds).
    pub failing_since: Option<i64>,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
