//! The case aggregate: statuses, who may move them, reopen window, escalation.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::customer::SupportTier;
use crate::ids::CustomerId;
use crate::notification::CaseNotice;
use crate::values::Justification;
use crate::{DomainError, FieldError, InvalidValue};

/// How long after closing a case may be reopened; later, a follow-up case is filed instead.
pub const REOPEN_WINDOW: Duration = Duration::days(30);

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseStatus {
    /// Filed, not yet picked up by support.
    New,
    /// Support is working on it.
    InProgressSupport,
    /// Support waits for the partner or customer.
    ActionRequired,
    /// Support proposed a solution.
    SolutionOffered,
    /// Closed by the partner or the customer.
    Closed,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 5] = [
        CaseStatus::New,
        CaseStatus::InProgressSupport,
        CaseStatus::ActionRequired,
        CaseStatus::SolutionOffered,
        CaseStatus::Closed,
    ];

    /// The statuses that count as open (any but closed).
    pub const OPEN: [CaseStatus; 4] = [
        CaseStatus::New,
        CaseStatus::InProgressSupport,
        CaseStatus::ActionRequired,
        CaseStatus::SolutionOffered,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::New => "new",
            CaseStatus::InProgressSupport => "in_progress_support",
            CaseStatus::ActionRequired => "action_required",
            CaseStatus::SolutionOffered => "solution_offered",
            CaseStatus::Closed => "closed",
        }
    }

    /// Whether the case is still open.
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
    }

    /// Says whether `party` may move a case from this status to `to`, and why not.
    ///
    /// Support moves the working states; partners and customers close and reopen.
    pub fn transition(self, to: CaseStatus, party: Party) -> Result<CaseStatus, DomainError> {
        use CaseStatus::*;
        let refused = DomainError::InvalidStatusTransition { from: self, to };
        match party {
            Party::Support => match (self, to) {
                (Closed, _) => Err(DomainError::CaseClosed),
                (_, Closed) => Err(DomainError::ActionNotAllowed),
                (New, InProgressSupport | ActionRequired)
                | (InProgressSupport, ActionRequired | SolutionOffered)
                | (ActionRequired, InProgressSupport | SolutionOffered)
                | (SolutionOffered, InProgressSupport | ActionRequired) => Ok(to),
                _ => Err(refused),
            },
            Party::Partner | Party::Customer => match (self, to) {
                (from, Closed) if from.is_open() => Ok(Closed),
                (Closed, Closed) => Err(DomainError::CaseClosed),
                (Closed, InProgressSupport) => Ok(InProgressSupport),
                (from, InProgressSupport) if from.is_open() => Err(DomainError::CaseNotClosed),
                _ => Err(DomainError::ActionNotAllowed),
            },
        }
    }
}

impl FromStr for CaseStatus {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid_status",
                    "must be one of new, in_progress_support, action_required, solution_offered, closed",
                )
            })
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts on a case, as far as the case's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// A reseller or support-partner user acting for the customer.
    Partner,
    /// A user of the customer organisation.
    Customer,
    /// The provider's support staff.
    Support,
}

impl Party {
    /// Every party.
    pub const ALL: [Party; 3] = [Party::Partner, Party::Customer, Party::Support];
}

/// Why a case is escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationReason {
    /// The case takes too long.
    ResolutionTime,
    /// The case needs more technical expertise.
    TechnicalExpertise,
    /// The business impact grew.
    BusinessImpact,
}

impl EscalationReason {
    /// Every reason.
    pub const ALL: [EscalationReason; 3] = [
        EscalationReason::ResolutionTime,
        EscalationReason::TechnicalExpertise,
        EscalationReason::BusinessImpact,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::ResolutionTime => "resolution_time",
            EscalationReason::TechnicalExpertise => "technical_expertise",
            EscalationReason::BusinessImpact => "business_impact",
        }
    }
}

impl FromStr for EscalationReason {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid_escalation_reason",
                    "must be one of resolution_time, technical_expertise, business_impact",
                )
            })
    }
}

/// An escalation in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Why.
    pub reason: EscalationReason,
    /// In the escalating person's words.
    pub justification: Justification,
    /// When.
    pub time: OffsetDateTime,
}

/// Something a party may try to do to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseAction {
    /// Read the case, its history, events and attachments.
    View,
    /// Change severity, title or subscribers.
    Update,
    /// Close the case.
    Close,
    /// Reopen a closed case.
    Reopen,
    /// Escalate the case.
    Escalate,
    /// Add a comment to the history.
    Comment,
    /// Attach a file.
    AddAttachment,
    /// Remove an attachment.
    RemoveAttachment,
    /// Move the case between support's working states.
    SetStatus,
    /// End an escalation.
    Deescalate,
}

impl CaseAction {
    /// Every action.
    pub const ALL: [CaseAction; 10] = [
        CaseAction::View,
        CaseAction::Update,
        CaseAction::Close,
        CaseAction::Reopen,
        CaseAction::Escalate,
        CaseAction::Comment,
        CaseAction::AddAttachment,
        CaseAction::RemoveAttachment,
        CaseAction::SetStatus,
        CaseAction::Deescalate,
    ];
}

/// Says whether `party` may take `action` on a case it can see at all: the one place
/// that decides "may this actor do this to this case" before the case's state is consulted.
pub fn authorize(party: Party, action: CaseAction) -> Result<(), DomainError> {
    use CaseAction::*;
    match (party, action) {
        (_, View | Comment | AddAttachment) => Ok(()),
        (Party::Partner | Party::Customer, Update | Close | Reopen | Escalate) => Ok(()),
        (Party::Partner | Party::Customer, RemoveAttachment) => {
            Err(DomainError::AttachmentRemovalRequiresSupport)
        }
        (Party::Support, RemoveAttachment | SetStatus | Deescalate) => Ok(()),
        _ => Err(DomainError::ActionNotAllowed),
    }
}

/// The parts of a case its rules decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Where the case stands.
    pub status: CaseStatus,
    /// When it was last closed; set exactly while it is closed.
    pub close_time: Option<OffsetDateTime>,
    /// The escalation in force, if any.
    pub escalation: Option<Escalation>,
}

impl Lifecycle {
    /// A newly filed case.
    pub fn new() -> Self {
        Self {
            status: CaseStatus::New,
            close_time: None,
            escalation: None,
        }
    }

    fn require_open(&self) -> Result<(), DomainError> {
        if self.status.is_open() {
            Ok(())
        } else {
            Err(DomainError::CaseClosed)
        }
    }

    /// Checks that severity, title and subscribers may change: only while open.
    pub fn check_update(&self, party: Party) -> Result<(), DomainError> {
        authorize(party, CaseAction::Update)?;
        self.require_open()
    }

    /// Checks that a comment may be added; comments reach closed cases too (a thank-you
    /// after closing is common) but do not reopen them.
    pub fn check_comment(&self, party: Party) -> Result<(), DomainError> {
        authorize(party, CaseAction::Comment)
    }

    /// What a comment by `party` does to the case: a partner's or customer's answer to a case
    /// that waits for them hands it back to support; support's reply is mailed to the
    /// subscribers.
    pub fn after_comment(&self, party: Party) -> AfterComment {
        let status = match (party, self.status) {
            (Party::Partner | Party::Customer, CaseStatus::ActionRequired) => {
                CaseStatus::InProgressSupport
            }
            (_, status) => status,
        };
        AfterComment {
            lifecycle: (status != self.status).then(|| Lifecycle {
                status,
                ..self.clone()
            }),
            notice: (party == Party::Support).then_some(CaseNotice::SupportReplied),
        }
    }

    /// Checks that a file may be attached: only while open.
    pub fn check_add_attachment(&self, party: Party) -> Result<(), DomainError> {
        authorize(party, CaseAction::AddAttachment)?;
        self.require_open()
    }

    /// Checks that one more file may be attached to a case holding `count` of at most `max`.
    pub fn check_attachment_room(&self, count: u64, max: u64) -> Result<(), DomainError> {
        if count < max {
            Ok(())
        } else {
            Err(DomainError::AttachmentLimitReached)
        }
    }

    /// Checks that an attachment may be removed: only support removes, on request.
    pub fn check_remove_attachment(&self, party: Party) -> Result<(), DomainError> {
        authorize(party, CaseAction::RemoveAttachment)
    }

    /// Closes the case.
    pub fn close(&self, party: Party, now: OffsetDateTime) -> Result<Lifecycle, DomainError> {
        authorize(party, CaseAction::Close)?;
        let status = self.status.transition(CaseStatus::Closed, party)?;
        Ok(Lifecycle {
            status,
            close_time: Some(now),
            escalation: self.escalation.clone(),
        })
    }

    /// Reopens a closed case, only within [`REOPEN_WINDOW`] of closing (the boundary itself
    /// still counts as within).
    pub fn reopen(&self, party: Party, now: OffsetDateTime) -> Result<Lifecycle, DomainError> {
        authorize(party, CaseAction::Reopen)?;
        let status = self
            .status
            .transition(CaseStatus::InProgressSupport, party)?;
        let closed_at = self.close_time.ok_or(DomainError::CaseNotClosed)?;
        if now - closed_at > REOPEN_WINDOW {
            return Err(DomainError::ReopenWindowExpired);
        }
        Ok(Lifecycle {
            status,
            close_time: None,
            // A reopened case starts without an escalation; the history keeps the old one.
            escalation: None,
        })
    }

    /// Escalates the case: premium support only, only while open, not twice.
    pub fn escalate(
        &self,
        party: Party,
        tier: SupportTier,
        reason: EscalationReason,
        justification: Justification,
        now: OffsetDateTime,
    ) -> Result<Lifecycle, DomainError> {
        authorize(party, CaseAction::Escalate)?;
        if tier != SupportTier::Premium {
            return Err(DomainError::EscalationRequiresPremiumSupport);
        }
        self.require_open()?;
        if self.escalation.is_some() {
            return Err(DomainError::AlreadyEscalated);
        }
        Ok(Lifecycle {
            status: self.status,
            close_time: None,
            escalation: Some(Escalation {
                reason,
                justification,
                time: now,
            }),
        })
    }

    /// Ends an escalation: support only.
    pub fn deescalate(&self, party: Party) -> Result<Lifecycle, DomainError> {
        authorize(party, CaseAction::Deescalate)?;
        if self.escalation.is_none() {
            return Err(DomainError::NotEscalated);
        }
        Ok(Lifecycle {
            escalation: None,
            ..self.clone()
        })
    }

    /// Moves the case between the working states: support only.
    pub fn set_status(&self, party: Party, to: CaseStatus) -> Result<Lifecycle, DomainError> {
        authorize(party, CaseAction::SetStatus)?;
        let status = self.status.transition(to, party)?;
        Ok(Lifecycle {
            status,
            ..self.clone()
        })
    }

    /// Whether the lifecycle is internally consistent; every operation above preserves it.
    pub fn is_consistent(&self) -> bool {
        let closed = self.status == CaseStatus::Closed;
        closed == self.close_time.is_some()
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

/// What a comment changes: the lifecycle, when the status moves, and the mail it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterComment {
    /// The case's lifecycle after the comment, when it changed.
    pub lifecycle: Option<Lifecycle>,
    /// The mail to the case's subscribers, if any.
    pub notice: Option<CaseNotice>,
}

/// The case a new one follows up, as its filer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowedUp {
    /// The followed-up case's customer.
    pub customer: CustomerId,
    /// Its status.
    pub status: CaseStatus,
}

/// Checks the case a new case of `customer` follows up: `previous` is that case when the filer
/// sees it (`None` otherwise). It must be of the same customer, and closed (an open case is
/// simply continued).
pub fn check_follow_up_of(
    previous: Option<FollowedUp>,
    customer: CustomerId,
) -> Result<(), DomainError> {
    match previous {
        Some(p) if p.customer == customer => {
            if p.status == CaseStatus::Closed {
                Ok(())
            } else {
                Err(DomainError::FollowUpRequiresClosedCase)
            }
        }
        _ => Err(DomainError::InvalidFields(vec![FieldError {
            field: "follow_up_of".to_owned(),
            error: InvalidValue::new(
                "unknown_case",
                "no such case of this customer that you can see",
            ),
        }])),
    }
}

/// A case's subscribers: at most [`Subscribers::MAX`] email addresses, each valid, repeats
/// dropped (the first stays), in the order given. The API and the import of the old support
/// center both build them here, so both refuse the same lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscribers(Vec<crate::EmailAddress>);

impl Subscribers {
    /// Most subscribers of one case.
    pub const MAX: usize = 25;

    /// Parses a list given under `field`: every refused address is reported (as
    /// `field[i]`), and a list longer than [`Subscribers::MAX`] is refused as a whole.
    pub fn parse(p: &mut crate::FieldParser, field: &str, raw: &[String]) -> Option<Self> {
        if raw.len() > Self::MAX {
            p.refuse(
                field,
                InvalidValue::new("too_many", format!("at most {} subscribers", Self::MAX)),
            );
            return None;
        }
        let parsed: Vec<Option<crate::EmailAddress>> = raw
            .iter()
            .enumerate()
            .map(|(i, e)| p.field(format!("{field}[{i}]"), crate::EmailAddress::parse(e)))
            .collect();
        let mut out: Vec<crate::EmailAddress> = Vec::with_capacity(parsed.len());
        for e in parsed {
            let e = e?;
            if !out.contains(&e) {
                out.push(e);
            }
        }
        Some(Self(out))
    }

    /// The addresses, as stored.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_at_most_twenty_five_valid_addresses_without_repeats() {
        let list =
            |n: usize| -> Vec<String> { (0..n).map(|i| format!("u{i}@acme.example")).collect() };
        let mut p = crate::FieldParser::new();
        let ok = Subscribers::parse(&mut p, "subscriber_emails", &list(25));
        assert_eq!(ok.map(|s| s.to_strings().len()), Some(25));
        let mut p = crate::FieldParser::new();
        assert!(Subscribers::parse(&mut p, "subscriber_emails", &list(26)).is_none());
        let refused = p.finish(|| Some(()));
        assert!(
            matches!(refused, Err(DomainError::InvalidFields(f)) if f[0].field == "subscriber_emails" && f[0].error.code == "too_many")
        );
        let mut p = crate::FieldParser::new();
        let twice = ["a@acme.example", "b@acme.example", "a@acme.example"].map(str::to_owned);
        let kept = Subscribers::parse(&mut p, "subscriber_emails", &twice).map(|s| s.to_strings());
        assert_eq!(
            kept,
            Some(vec![
                "a@acme.example".to_owned(),
                "b@acme.example".to_owned()
            ])
        );
        let mut p = crate::FieldParser::new();
        assert!(
            Subscribers::parse(&mut p, "subscriber_emails", &["not an address".to_owned()])
                .is_none()
        );
    }
    use CaseStatus::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 09:00:00 UTC);

    fn justification() -> Justification {
        Justification::parse("Board meeting tomorrow").unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn at(status: CaseStatus) -> Lifecycle {
        Lifecycle {
            status,
            close_time: (status == Closed).then_some(T0),
            escalation: None,
        }
    }

    /// Every (from, to, party) triple and whether it is allowed.
    #[test]
    fn every_status_transition_is_allowed_or_refused_as_the_lifecycle_says() {
        let allowed_for_support = [
            (New, InProgressSupport),
            (New, ActionRequired),
            (InProgressSupport, ActionRequired),
            (InProgressSupport, SolutionOffered),
            (ActionRequired, InProgressSupport),
            (ActionRequired, SolutionOffered),
            (SolutionOffered, InProgressSupport),
            (SolutionOffered, ActionRequired),
        ];
        let allowed_for_participants = [
            (New, Closed),
            (InProgressSupport, Closed),
            (ActionRequired, Closed),
            (SolutionOffered, Closed),
            (Closed, InProgressSupport),
        ];
        for party in Party::ALL {
            for from in CaseStatus::ALL {
                for to in CaseStatus::ALL {
                    let expected = match party {
                        Party::Support => allowed_for_support.contains(&(from, to)),
                        _ => allowed_for_participants.contains(&(from, to)),
                    };
                    let got = from.transition(to, party);
                    assert_eq!(
                        got.is_ok(),
                        expected,
                        "{party:?}: {from:?} -> {to:?} gave {got:?}"
                    );
                    if let Ok(status) = got {
                        assert_eq!(status, to);
                    }
                }
            }
        }
    }

    #[test]
    fn support_cannot_close_a_case_nor_touch_a_closed_one() {
        assert_eq!(
            New.transition(Closed, Party::Support),
            Err(DomainError::ActionNotAllowed)
        );
        assert_eq!(
            Closed.transition(InProgressSupport, Party::Support),
            Err(DomainError::CaseClosed)
        );
    }

    #[test]
    fn closing_a_closed_case_is_refused_as_case_closed() {
        assert_eq!(
            at(Closed).close(Party::Partner, T0).map(|_| ()),
            Err(DomainError::CaseClosed)
        );
    }

    #[test]
    fn reopening_an_open_case_is_refused_as_case_not_closed() {
        for status in CaseStatus::OPEN {
            assert_eq!(
                at(status).reopen(Party::Customer, T0).map(|_| ()),
                Err(DomainError::CaseNotClosed),
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_closed_case_can_be_reopened_up_to_exactly_thirty_days_after_closing() {
        let closed = at(New)
            .close(Party::Partner, T0)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(closed.status, Closed);
        assert_eq!(closed.close_time, Some(T0));
        let reopened = closed
            .reopen(Party::Partner, T0 + Duration::days(30))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(reopened.status, InProgressSupport);
        assert_eq!(reopened.close_time, None);
    }

    #[test]
    fn a_closed_case_cannot_be_reopened_one_second_after_thirty_days() {
        let closed = at(New)
            .close(Party::Partner, T0)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            closed
                .reopen(
                    Party::Partner,
                    T0 + Duration::days(30) + Duration::seconds(1)
                )
                .map(|_| ()),
            Err(DomainError::ReopenWindowExpired)
        );
        assert_eq!(
            closed
                .reopen(Party::Customer, T0 + Duration::days(31))
                .map(|_| ()),
            Err(DomainError::ReopenWindowExpired)
        );
    }

    #[test]
    fn support_cannot_close_or_reopen() {
        assert_eq!(
            at(New).close(Party::Support, T0).map(|_| ()),
            Err(DomainError::ActionNotAllowed)
        );
        assert_eq!(
            at(Closed).reopen(Party::Support, T0).map(|_| ()),
            Err(DomainError::ActionNotAllowed)
        );
    }

    #[test]
    fn escalation_needs_premium_support_for_every_other_tier() {
        for tier in [SupportTier::Standard, SupportTier::Enhanced] {
            assert_eq!(
                at(New)
                    .escalate(
                        Party::Partner,
                        tier,
                        EscalationReason::BusinessImpact,
                        justification(),
                        T0
                    )
                    .map(|_| ()),
                Err(DomainError::EscalationRequiresPremiumSupport)
            );
        }
    }

    #[test]
    fn an_open_premium_case_is_escalated_once_only() {
        let escalated = at(InProgressSupport)
            .escalate(
                Party::Partner,
                SupportTier::Premium,
                EscalationReason::ResolutionTime,
                justification(),
                T0,
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(escalated.escalation.is_some());
        assert_eq!(escalated.status, InProgressSupport);
        assert_eq!(
            escalated
                .escalate(
                    Party::Customer,
                    SupportTier::Premium,
                    EscalationReason::BusinessImpact,
                    justification(),
                    T0
                )
                .map(|_| ()),
            Err(DomainError::AlreadyEscalated)
        );
    }

    #[test]
    fn a_closed_case_cannot_be_escalated() {
        assert_eq!(
            at(Closed)
                .escalate(
                    Party::Partner,
                    SupportTier::Premium,
                    EscalationReason::BusinessImpact,
                    justification(),
                    T0
                )
                .map(|_| ()),
            Err(DomainError::CaseClosed)
        );
    }

    #[test]
    fn only_support_deescalates_and_only_an_escalated_case() {
        let escalated = at(New)
            .escalate(
                Party::Partner,
                SupportTier::Premium,
                EscalationReason::BusinessImpact,
                justification(),
                T0,
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            escalated.deescalate(Party::Partner).map(|_| ()),
            Err(DomainError::ActionNotAllowed)
        );
        let calm = escalated
            .deescalate(Party::Support)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(calm.escalation.is_none());
        assert_eq!(
            calm.deescalate(Party::Support).map(|_| ()),
            Err(DomainError::NotEscalated)
        );
    }

    #[test]
    fn severity_and_sharing_change_only_while_the_case_is_open() {
        for status in CaseStatus::OPEN {
            assert_eq!(at(status).check_update(Party::Partner), Ok(()));
        }
        assert_eq!(
            at(Closed).check_update(Party::Partner),
            Err(DomainError::CaseClosed)
        );
        assert_eq!(
            at(New).check_update(Party::Support),
            Err(DomainError::ActionNotAllowed)
        );
    }

    #[test]
    fn participants_add_attachments_but_only_support_removes_them() {
        for party in Party::ALL {
            assert_eq!(at(New).check_add_attachment(party), Ok(()));
        }
        assert_eq!(
            at(New).check_remove_attachment(Party::Partner),
            Err(DomainError::AttachmentRemovalRequiresSupport)
        );
        assert_eq!(
            at(New).check_remove_attachment(Party::Customer),
            Err(DomainError::AttachmentRemovalRequiresSupport)
        );
        assert_eq!(at(New).check_remove_attachment(Party::Support), Ok(()));
        assert_eq!(
            at(Closed).check_add_attachment(Party::Partner),
            Err(DomainError::CaseClosed)
        );
    }

    #[test]
    fn a_case_takes_attachments_up_to_its_limit() {
        assert_eq!(at(New).check_attachment_room(99, 100), Ok(()));
        assert_eq!(
            at(New).check_attachment_room(100, 100),
            Err(DomainError::AttachmentLimitReached)
        );
    }

    #[test]
    fn a_participant_comment_hands_an_action_required_case_back_to_support() {
        let status_after = |from: CaseStatus, party: Party| {
            let after = at(from).after_comment(party);
            after.lifecycle.map_or(from, |l| l.status)
        };
        assert_eq!(
            status_after(ActionRequired, Party::Partner),
            InProgressSupport
        );
        assert_eq!(
            status_after(ActionRequired, Party::Customer),
            InProgressSupport
        );
        assert_eq!(status_after(ActionRequired, Party::Support), ActionRequired);
        assert_eq!(
            status_after(SolutionOffered, Party::Partner),
            SolutionOffered
        );
        assert_eq!(status_after(Closed, Party::Partner), Closed);
        assert_eq!(at(New).after_comment(Party::Partner).lifecycle, None);
    }

    #[test]
    fn only_support_replies_are_mailed() {
        assert_eq!(
            at(New).after_comment(Party::Support).notice,
            Some(CaseNotice::SupportReplied)
        );
        assert_eq!(at(New).after_comment(Party::Partner).notice, None);
        assert_eq!(
            at(ActionRequired).after_comment(Party::Customer).notice,
            None
        );
    }

    #[test]
    fn every_party_and_action_pair_is_authorised_as_the_rules_say() {
        use CaseAction::*;
        for party in Party::ALL {
            for action in CaseAction::ALL {
                let expected = match (party, action) {
                    (_, View | Comment | AddAttachment) => Ok(()),
                    (Party::Support, RemoveAttachment | SetStatus | Deescalate) => Ok(()),
                    (Party::Support, _) => Err(DomainError::ActionNotAllowed),
                    (_, RemoveAttachment) => Err(DomainError::AttachmentRemovalRequiresSupport),
                    (_, SetStatus | Deescalate) => Err(DomainError::ActionNotAllowed),
                    (_, Update | Close | Reopen | Escalate) => Ok(()),
                };
                assert_eq!(authorize(party, action), expected, "{party:?} {action:?}");
            }
        }
    }

    #[test]
    fn only_a_closed_case_of_the_same_customer_can_be_followed_up() {
        let ours = CustomerId::generate();
        let theirs = CustomerId::generate();
        let of = |customer, status| Some(FollowedUp { customer, status });
        assert_eq!(check_follow_up_of(of(ours, Closed), ours), Ok(()));
        for status in CaseStatus::OPEN {
            assert_eq!(
                check_follow_up_of(of(ours, status), ours),
                Err(DomainError::FollowUpRequiresClosedCase)
            );
        }
        for unseen in [None, of(theirs, Closed)] {
            let refused = check_follow_up_of(unseen, ours);
            assert!(
                matches!(&refused, Err(DomainError::InvalidFields(f)) if f[0].field == "follow_up_of" && f[0].error.code == "unknown_case"),
                "{refused:?}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Step {
            Close(Party),
            Reopen(Party),
            Escalate(Party, SupportTier),
            Deescalate(Party),
            SetStatus(Party, CaseStatus),
            Wait(i64),
        }

        fn party() -> impl Strategy<Value = Party> {
            prop::sample::select(Party::ALL.to_vec())
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                party().prop_map(Step::Close),
                party().prop_map(Step::Reopen),
                (party(), prop::sample::select(SupportTier::ALL.to_vec()))
                    .prop_map(|(p, t)| Step::Escalate(p, t)),
                party().prop_map(Step::Deescalate),
                (party(), prop::sample::select(CaseStatus::ALL.to_vec()))
                    .prop_map(|(p, s)| Step::SetStatus(p, s)),
                (0i64..(40 * 86_400)).prop_map(Step::Wait),
            ]
        }

        proptest! {
            #[test]
            fn no_sequence_of_actions_reaches_an_inconsistent_case(steps in prop::collection::vec(step(), 0..60)) {
                let mut case = Lifecycle::new();
                let mut now = T0;
                for s in steps {
                    let next = match s {
                        Step::Close(p) => case.close(p, now),
                        Step::Reopen(p) => case.reopen(p, now),
                        Step::Escalate(p, tier) => case.escalate(p, tier, EscalationReason::BusinessImpact, justification(), now),
                        Step::Deescalate(p) => case.deescalate(p),
                        Step::SetStatus(p, to) => case.set_status(p, to),
                        Step::Wait(secs) => { now += Duration::seconds(secs); continue; }
                    };
                    if let Ok(next) = next {
                        prop_assert!(next.is_consistent(), "{next:?}");
                        // Escalations only exist on open cases when they are made, and only
                        // support ever leaves the working states untouched by close/reopen.
                        if let Some(e) = &next.escalation {
                            prop_assert!(e.time <= now);
                        }
                        case = next;
                    }
                    prop_assert!(case.is_consistent());
                }
            }
        }
    }
}
