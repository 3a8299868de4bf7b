//! The `webhook_deliveries` table: one event for one endpoint, written with the change and
//! sent by a worker.

use sea_orm::entity::prelude::*;

/// A row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Id; also the `webhook-id` of every attempt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The audit event delivered; none for a ping.
    pub event_id: Option<Uuid>,
    /// The event type.
    pub event_type: String,
    /// The JSON body, fixed when the event committed.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The HTTP status of the last attempt, when one came back.
    pub last_http_status: Option<i32>,
    /// At most 1 KB of the last response's body.
    pub last_response: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (microseconds); none once delivered or given up.
    pub next_attempt_time: Option<i64>,
    /// A worker holds the row until then (microseconds).
    pub locked_until: Option<i64>,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// When an attempt succeeded (microseconds).
    pub delivered_time: Option<i64>,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
