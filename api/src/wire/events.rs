//! The wire form of the event types partners follow (the change feed's `event_type`, a
//! webhook's `event_types`): the names the case timeline records.

use casebridge_domain::EventType as Domain;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
