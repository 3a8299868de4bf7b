//! The `cases` table.

use sea_orm::entity::prelude::*;

/// A row of `cases`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Human-friendly number, unique and increasing.
    #[sea_orm(unique)]
    pub case_number: i64,
    /// The customer the case is filed for.
    pub customer_id: Uuid,
    /// Product type.
    pub product_type: String,
    /// Title.
    pub title: String,
    /// Classification.
    pub classification_id: Uuid,
    /// Description.
    pub description: String,
    /// JSON object of answers by question id.
    pub answers: String,
    /// 1 (P1) to 4 (P4).
    pub severity: i16,
    /// Status.
    pub status: String,
    /// Escalation reason, while escalated.
    pub escalation_reason: Option<String>,
    /// Escalation justification, while escalated.
    pub escalation_justification: Option<String>,
    /// Escalation time (microseconds), while escalated.
    pub escalation_time: Option<i64>,
    /// BCP 47 language tag.
    pub language_code: String,
    /// IANA time zone.
    pub time_zone: String,
    /// JSON array of subscriber emails.
    pub subscriber_emails: String,
    /// The creating user.
    pub creator_user_id: Option<Uuid>,
    /// The creating user's email.
    pub creator_email: String,
    /// The creating user's domain.
    pub creator_domain_id: Uuid,
    /// The customer's reseller when the case was filed.
    pub reseller_domain_id: Uuid,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
    /// Microseconds since the epoch, while closed.
    pub close_time: Option<i64>,
    /// The closed case this one follows up.
    pub follow_up_of: Option<Uuid>,
    /// Bumped on every change; the ETag.
    pub version: i64,
    /// The customer's support tier when the case was filed, when a target applies.
    pub service_tier: Option<String>,
    /// Minutes to the first response, when a target applies.
    pub first_response_minutes: Option<i32>,
    /// `24x7` or `business`, when a target applies.
    pub first_response_hours: Option<String>,
    /// When the first response is due (microseconds), when a target applies.
    pub first_response_due_time: Option<i64>,
    /// When support first replied (microseconds).
    pub first_responded_time: Option<i64>,
    /// When the target stopped running: support's first reply or the first close (microseconds).
    pub target_stopped_time: Option<i64>,
    /// Whether a breach of the target may still have to be recorded on the timeline.
    pub breach_pending: bool,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
