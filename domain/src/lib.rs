//! The rules of casebridge: pure Rust, no async runtime, no database, no HTTP.
//!
//! Every rule of the contract is decided here, once: the API and persistence layers call these
//! functions and never re-derive a rule.

pub mod access;
pub mod case;
pub mod classification;
pub mod customer;
pub mod events;
pub mod ids;
pub mod notification;
pub mod pii;
pub mod privacy;
pub mod service_level;
pub mod values;
pub mod visibility;
pub mod webhook;

use std::fmt;

pub use access::{
    Access, BuiltInRole, Capability, HeldRole, Notice, PORTAL_ACCESS_SUPPORT_REFERENCE, Privilege,
    Realm, RoleRef,
};
pub use case::{CaseAction, CaseStatus, EscalationReason, Lifecycle, Party, Subscribers};
pub use customer::{Management, Relationship, ResellerAccess, SupportTier};
pub use events::EventType;
pub use ids::*;
pub use pii::PiiKind;
pub use privacy::PiiFinding;
pub use service_level::{
    Hours, ServiceLevel, ServiceLevelEntry, ServiceLevelEntryInput, ServiceLevelPolicy,
    ServiceLevelState, ServiceLevelTarget,
};
pub use values::*;
pub use visibility::Viewer;

/// Why a value given by a client was refused: a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// Stable snake_case code, e.g. `too_long`.
    pub code: &'static str,
    /// What a valid value looks like.
    pub message: String,
}

impl InvalidValue {
    /// A refusal with its code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidValue {}

/// One refused field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request, e.g. `postal_address.country_code`.
    pub field: String,
    /// Why it was refused.
    pub error: InvalidValue,
}

/// Every refusal a rule can give, each with the stable code the API returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Request fields failed to parse.
    #[error("the request has invalid fields")]
    InvalidFields(Vec<FieldError>),
    /// The thing does not exist, or the actor may not know it exists.
    #[error("not found")]
    NotFound,
    /// The user lacks portal access.
    #[error("portal access requires the privileges {missing:?}")]
    PortalAccessRequired {
        /// The privileges the user would need.
        missing: Vec<Privilege>,
    },
    /// The user lacks one privilege the endpoint needs.
    #[error("this requires the {privilege} privilege")]
    PrivilegeRequired {
        /// The privilege needed.
        privilege: Privilege,
    },
    /// Only the domain's super admin may do this.
    #[error("only a super admin of the domain may do this")]
    SuperAdminRequired,
    /// The endpoint serves users of another realm.
    #[error("this endpoint is for users of {required} domains")]
    WrongRealm {
        /// The realm the endpoint serves.
        required: Realm,
    },
    /// The retired `support_manager` role cannot be assigned.
    #[error("the support_manager role is retired")]
    RoleRetired,
    /// The role does not exist in this realm.
    #[error("the role is not available in this realm")]
    RoleNotAvailableInRealm,
    /// A super admin cannot be a consumer mail account.
    #[error("a super admin cannot use a consumer email account")]
    ConsumerAccountNotAllowed,
    /// The email address is not of the domain the account belongs to.
    #[error("the email address does not belong to the domain")]
    EmailDomainMismatch,
    /// The change would leave the domain without an active super admin.
    #[error("the domain must keep at least one active super admin")]
    LastSuperAdmin,
    /// A super admin cannot suspend their own account.
    #[error("you cannot suspend your own account")]
    CannotSuspendSelf,
    /// An administrator changes their own password with their current one, not as an admin.
    #[error("change your own password with your current one")]
    CurrentPasswordRequired,
    /// The user signed in with a one-time password and must change it first.
    #[error("change your one-time password with POST /v1/me/password first")]
    PasswordChangeRequired,
    /// Built-in roles are fixed: they cannot be deleted.
    #[error("built-in roles cannot be deleted")]
    BuiltInRole,
    /// The old support center is retired for this user.
    #[error("the old support center is retired")]
    LegacySupportCenterRetired,
    /// The customer has not authorised its reseller.
    #[error("the customer has not granted its reseller access")]
    ResellerAccessNotGranted,
    /// The domain is already the customer's reseller.
    #[error("the reseller cannot also be a support partner")]
    SupportPartnerIsReseller,
    /// The domain already is a support partner.
    #[error("the domain already is a support partner")]
    SupportPartnerExists,
    /// A transfer must move the customer to another reseller.
    #[error("the customer already belongs to that reseller")]
    TransferToSameReseller,
    /// The status move is not part of the lifecycle.
    #[error("a case cannot move from {from} to {to}")]
    InvalidStatusTransition {
        /// The current status.
        from: CaseStatus,
        /// The requested status.
        to: CaseStatus,
    },
    /// The case is closed.
    #[error("the case is closed")]
    CaseClosed,
    /// The case is not closed.
    #[error("the case is not closed")]
    CaseNotClosed,
    /// The case was closed more than 30 days ago.
    #[error("the case was closed more than 30 days ago")]
    ReopenWindowExpired,
    /// Escalation needs premium support.
    #[error("escalation requires premium support")]
    EscalationRequiresPremiumSupport,
    /// The case is escalated already.
    #[error("the case is already escalated")]
    AlreadyEscalated,
    /// The case is not escalated.
    #[error("the case is not escalated")]
    NotEscalated,
    /// The party may not take this action on a case.
    #[error("this action is not allowed to you on this case")]
    ActionNotAllowed,
    /// The case holds as many attachments as it may.
    #[error("the case has reached its limit of attachments")]
    AttachmentLimitReached,
    /// Partners and customers cannot remove attachments.
    #[error("only support can remove attachments")]
    AttachmentRemovalRequiresSupport,
    /// A follow-up must follow up a closed case.
    #[error("only a closed case can be followed up")]
    FollowUpRequiresClosedCase,
    /// Required questions of the category are unanswered.
    #[error("required questions are unanswered")]
    RequiredAnswerMissing {
        /// The unanswered questions.
        question_ids: Vec<String>,
    },
    /// Answers were given to questions the category does not ask.
    #[error("answers were given to unknown questions")]
    UnknownQuestion {
        /// The unknown questions.
        question_ids: Vec<String>,
    },
    /// Personal data was found in free text.
    #[error("personal data was found")]
    PiiDetected(Vec<PiiFinding>),
}

impl DomainError {
    /// Collects field errors into one refusal, or nothing when there are none.
    pub fn from_fields(errors: Vec<FieldError>) -> Result<(), DomainError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::InvalidFields(errors))
        }
    }
}

/// Parses request fields one by one, collecting every refusal so the client hears of all of
/// them at once rather than one per round trip.
#[derive(Debug, Default)]
pub struct FieldParser {
    errors: Vec<FieldError>,
}

impl FieldParser {
    /// An empty parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the outcome of parsing `field`; `None` when it was refused.
    pub fn field<T>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, InvalidValue>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(error) => {
                self.errors.push(FieldError {
                    field: field.into(),
                    error,
                });
                None
            }
        }
    }

    /// Parses an optional field: absent stays `None`, present must parse.
    pub fn optional<T>(
        &mut self,
        field: impl Into<String>,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        raw.and_then(|r| self.field(field, parse(r)))
    }

    /// Records a refusal found by other means.
    pub fn refuse(&mut self, field: impl Into<String>, error: InvalidValue) {
        self.errors.push(FieldError {
            field: field.into(),
            error,
        });
    }

    /// Whether nothing was refused so far.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Finishes: the parsed value when every field parsed, or all refusals.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, DomainError> {
        if !self.errors.is_empty() {
            return Err(DomainError::InvalidFields(self.errors));
        }
        // `build` only sees `None` fields when something was refused, which returned above.
        build().ok_or(DomainError::InvalidFields(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_parser_reports_every_refused_field_at_once() {
        let mut p = FieldParser::new();
        let title = p.field("title", CaseTitle::parse(""));
        let severity = p.field("severity", "P9".parse::<Severity>());
        let tz = p.field("time_zone", TimeZone::parse("Europe/Paris"));
        let result = p.finish(|| Some((title?, severity?, tz?)));
        match result {
            Err(DomainError::InvalidFields(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["title", "severity"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
