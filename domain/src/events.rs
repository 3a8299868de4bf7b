//! The events partners can follow: the change feed (`GET /v1/events`) and webhooks carry
//! every action a case's timeline records, under the same name, and the customer events a
//! partner acts on. Other audit actions (a customer created or edited by the provider, a
//! changed service-level policy) stay in the audit trail only.

use std::fmt;

/// An event type, named as the timeline names its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A case was filed.
    CaseCreated,
    /// Severity, title or subscribers changed.
    CaseUpdated,
    /// A partner or the customer commented.
    CaseCommented,
    /// Support replied.
    CaseSupportReplied,
    /// Support moved the case between working states.
    CaseStatusChanged,
    /// The case was escalated.
    CaseEscalated,
    /// Support ended an escalation.
    CaseDeescalated,
    /// The case was closed.
    CaseClosed,
    /// A closed case was reopened.
    CaseReopened,
    /// A file was attached.
    CaseAttachmentAdded,
    /// Support removed an attachment on request.
    CaseAttachmentRemoved,
    /// The first-response target passed without a reply.
    CaseServiceLevelBreached,
    /// The case was brought over from the legacy support center.
    CaseImported,
    /// A later import brought news of an imported case.
    CaseReimported,
    /// The case was filed by the demo data.
    CaseSeeded,
    /// The customer authorised its reseller.
    CustomerResellerAccessGranted,
    /// The customer withdrew its reseller's authorisation.
    CustomerResellerAccessRevoked,
    /// The customer moved to another reseller.
    CustomerTransferred,
    /// The customer took on a support partner.
    CustomerSupportPartnerAdded,
    /// The customer ended a support partnership.
    CustomerSupportPartnerRemoved,
}

impl EventType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [EventType; 20] = [
        EventType::CaseCreated,
        EventType::CaseUpdated,
        EventType::CaseCommented,
        EventType::CaseSupportReplied,
        EventType::CaseStatusChanged,
        EventType::CaseEscalated,
        EventType::CaseDeescalated,
        EventType::CaseClosed,
        EventType::CaseReopened,
        EventType::CaseAttachmentAdded,
        EventType::CaseAttachmentRemoved,
        EventType::CaseServiceLevelBreached,
        EventType::CaseImported,
        EventType::CaseReimported,
        EventType::CaseSeeded,
        EventType::CustomerResellerAccessGranted,
        EventType::CustomerResellerAccessRevoked,
        EventType::CustomerTransferred,
        EventType::CustomerSupportPartnerAdded,
        EventType::CustomerSupportPartnerRemoved,
    ];

    /// The name: the timeline's action.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CaseCreated => "case.created",
            EventType::CaseUpdated => "case.updated",
            EventType::CaseCommented => "case.commented",
            EventType::CaseSupportReplied => "case.support_replied",
            EventType::CaseStatusChanged => "case.status_changed",
            EventType::CaseEscalated => "case.escalated",
            EventType::CaseDeescalated => "case.deescalated",
            EventType::CaseClosed => "case.closed",
            EventType::CaseReopened => "case.reopened",
            EventType::CaseAttachmentAdded => "case.attachment_added",
            EventType::CaseAttachmentRemoved => "case.attachment_removed",
            EventType::CaseServiceLevelBreached => "case.service_level_breached",
            EventType::CaseImported => "case.imported",
            EventType::CaseReimported => "case.reimported",
            EventType::CaseSeeded => "case.seeded",
            EventType::CustomerResellerAccessGranted => "customer.reseller_access_granted",
            EventType::CustomerResellerAccessRevoked => "customer.reseller_access_revoked",
            EventType::CustomerTransferred => "customer.transferred",
            EventType::CustomerSupportPartnerAdded => "customer.support_partner_added",
            EventType::CustomerSupportPartnerRemoved => "customer.support_partner_removed",
        }
    }

    /// The type an action is published as; `None` for an audit action partners do not follow.
    pub fn of_action(action: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == action)
    }

    /// Whether the event is about a case (otherwise it is about a customer).
    pub fn is_case_event(self) -> bool {
        self.as_str().starts_with("case.")
    }

    /// The published action names.
    pub fn names() -> impl Iterator<Item = &'static str> {
        EventType::ALL.into_iter().map(EventType::as_str)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_found_by_its_own_name_and_by_no_other() {
        for t in EventType::ALL {
            assert_eq!(EventType::of_action(t.as_str()), Some(t));
        }
        let names: std::collections::BTreeSet<_> = EventType::names().collect();
        assert_eq!(names.len(), EventType::ALL.len());
    }

    #[test]
    fn audit_actions_partners_do_not_follow_are_not_published() {
        for action in [
            "customer.created",
            "customer.updated",
            "customer.imported",
            "provider.service_levels_changed",
            "webhook.ping",
            "case.",
        ] {
            assert_eq!(EventType::of_action(action), None, "{action}");
        }
    }

    #[test]
    fn case_events_are_told_from_customer_events_by_their_prefix() {
        assert!(EventType::CaseClosed.is_case_event());
        assert!(!EventType::CustomerTransferred.is_case_event());
    }
}
