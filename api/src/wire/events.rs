//! The wire form of the event types partners follow (the change feed's `event_type`, a
//! webhook's `event_types`): the names the case timeline records; and the change feed's query
//! and answer.

use casebridge_domain::EventType as Domain;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::pagination::Paged;
use crate::wire;
use crate::wire::cases::{Case, CaseEvent};

// The names are taken as `tt`, not `literal`: a `literal` fragment reaches the derives wrapped
// in an invisible group, which serde sees through and utoipa does not (the schema then listed
// the variants' Rust names).
macro_rules! event_types {
    ($($variant:ident = $name:tt),+ $(,)?) => {
        /// A type of event: a case timeline action, or a customer event a partner acts on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum EventType {
            $(
                #[allow(missing_docs)]
                #[serde(rename = $name)]
                $variant,
            )+
        }

        impl From<EventType> for Domain {
            fn from(w: EventType) -> Self {
                match w { $(EventType::$variant => Domain::$variant),+ }
            }
        }

        impl From<Domain> for EventType {
            fn from(d: Domain) -> Self {
                match d { $(Domain::$variant => EventType::$variant),+ }
            }
        }
    };
}

event_types!(
    CaseCreated = "case.created",
    CaseUpdated = "case.updated",
    CaseCommented = "case.commented",
    CaseSupportReplied = "case.support_replied",
    CaseStatusChanged = "case.status_changed",
    CaseEscalated = "case.escalated",
    CaseDeescalated = "case.deescalated",
    CaseClosed = "case.closed",
    CaseReopened = "case.reopened",
    CaseAttachmentAdded = "case.attachment_added",
    CaseAttachmentRemoved = "case.attachment_removed",
    CaseServiceLevelBreached = "case.service_level_breached",
    CaseImported = "case.imported",
    CaseReimported = "case.reimported",
    CaseSeeded = "case.seeded",
    CustomerResellerAccessGranted = "customer.reseller_access_granted",
    CustomerResellerAccessRevoked = "customer.reseller_access_revoked",
    CustomerTransferred = "customer.transferred",
    CustomerSupportPartnerAdded = "customer.support_partner_added",
    CustomerSupportPartnerRemoved = "customer.support_partner_removed",
);

/// Query of the change feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Resume right after this place: the `next_cursor` of the previous answer, or the
    /// `cursor` of the last event handled. Absent or empty: start at the oldest event.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub cursor: Option<String>,
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// Only events of these types (repeatable); all types when absent.
    #[serde(default)]
    #[param(value_type = Option<Vec<EventType>>, explode, style = Form)]
    pub event_type: Vec<EventType>,
    /// Only this customer's events.
    #[param(value_type = Option<crate::wire::text::Id>)]
    pub customer_id: Option<String>,
}

impl Paged for FeedQuery {
    fn page_size(&self) -> Option<i64> {
        self.page_size
    }
    fn page_token(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

/// An event of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEvent {
    /// Resumes the feed right after this event (pass it as `cursor`).
    #[schema(value_type = crate::wire::text::PageToken)]
    pub cursor: String,
    /// The event's type: the timeline entry's `action`.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    /// The customer concerned.
    #[schema(value_type = crate::wire::text::Id)]
    pub customer_id: String,
    /// The case concerned; absent for a customer event (`customer.*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::wire::text::Id>)]
    pub case_id: Option<String>,
    /// The entry as the case's timeline (`GET /v1/cases/{case_id}/events`) shows it; for a
    /// customer event, the same shape.
    pub event: CaseEvent,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    /// The events, in the feed's order; fewer than `page_size` (or none) when nothing more is
    /// final yet.
    pub events: Vec<FeedEvent>,
    /// Where to resume: always present, also on an empty page. Poll again with it as `cursor`
    /// to receive what has happened since, each event exactly once.
    #[schema(value_type = crate::wire::text::PageToken)]
    pub next_cursor: String,
}

/// What a webhook posts for a case event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventPayload {
    /// The event type: the timeline entry's action.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the event happened.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    /// The event and the case.
    pub data: CaseEventData,
}

/// A case event's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventData {
    /// The timeline entry, as `GET /v1/cases/{case_id}/events` lists it.
    pub event: CaseEvent,
    /// The case as `GET /v1/cases/{case_id}` answered when the event committed.
    pub case: Case,
}

/// What a webhook posts for a customer event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEventPayload {
    /// The event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the event happened.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    /// The event and its customer.
    pub data: CustomerEventData,
}

/// A customer event's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEventData {
    /// The audit entry, in the shape of a case timeline entry.
    pub event: CaseEvent,
    /// The customer's id.
    pub customer_id: String,
}

/// The type of a ping.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum PingType {
    /// A ping asked for by the endpoint's owner.
    #[serde(rename = "webhook.ping")]
    WebhookPing,
}

/// What `POST /v1/admin/webhooks/{webhook_id}/ping` posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingPayload {
    /// Always `webhook.ping`.
    #[serde(rename = "type")]
    pub kind: PingType,
    /// When the ping was asked for.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    /// The endpoint pinged.
    pub data: PingData,
}

/// A ping's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingData {
    /// The endpoint's id.
    pub webhook_id: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_wire_names_are_the_domain_names() {
        for t in Domain::ALL {
            let wire = EventType::from(t);
            assert_eq!(serde_json::to_value(wire).unwrap(), t.as_str());
            assert_eq!(Domain::from(wire), t);
        }
    }

    #[test]
    fn the_schema_lists_the_wire_names() {
        let schema = serde_json::to_value(<EventType as utoipa::PartialSchema>::schema()).unwrap();
        let names: Vec<&str> = Domain::names().collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
    }
}
