//! Who hears of what happens to a case, and how the mail is headed.

use crate::case::CaseStatus;
use crate::values::EmailAddress;

/// Something that happened to a case that its subscribers are told of by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseNotice {
    /// The case was filed.
    Created,
    /// Support replied.
    SupportReplied,
    /// Support moved the case to another working state.
    StatusChanged {
        /// Before.
        from: CaseStatus,
        /// After.
        to: CaseStatus,
    },
    /// The case was closed.
    Closed,
    /// The case was reopened.
    Reopened,
    /// The case was escalated.
    Escalated,
}

impl CaseNotice {
    /// What happened, in a few words.
    pub fn headline(&self) -> String {
        match self {
            CaseNotice::Created => "Case filed".to_owned(),
            CaseNotice::SupportReplied => "Support replied".to_owned(),
            CaseNotice::StatusChanged { from, to } => {
                format!("Status changed from {from} to {to}")
            }
            CaseNotice::Closed => "Case closed".to_owned(),
            CaseNotice::Reopened => "Case reopened".to_owned(),
            CaseNotice::Escalated => "Case escalated".to_owned(),
        }
    }

    /// The subject of the mail: it carries the case number, so replies and filters find it.
    pub fn subject(&self, case_number: i64, title: &str) -> String {
        let title: String = title.chars().take(120).collect();
        format!("[Case #{case_number}] {} — {title}", self.headline())
    }
}

/// Whom a case's mail goes to: its creator (at the creator's notification address when one
/// is set) and its subscribers, each once, the creator first.
pub fn recipients(
    creator: &EmailAddress,
    creator_notification_email: Option<&EmailAddress>,
    subscribers: &[EmailAddress],
) -> Vec<EmailAddress> {
    let mut out: Vec<EmailAddress> = Vec::with_capacity(1 + subscribers.len());
    out.push(creator_notification_email.unwrap_or(creator).clone());
    for s in subscribers {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn mail_goes_to_the_creator_and_each_subscriber_once() {
        let creator = email("agent@reseller.example");
        let subs = [
            email("it@acme.example"),
            email("agent@reseller.example"),
            email("it@acme.example"),
        ];
        assert_eq!(
            recipients(&creator, None, &subs),
            vec![email("agent@reseller.example"), email("it@acme.example")]
        );
    }

    #[test]
    fn the_creator_s_mail_goes_to_its_notification_address_when_set() {
        let creator = email("agent@reseller.example");
        let redirect = email("support-desk@reseller.example");
        assert_eq!(
            recipients(&creator, Some(&redirect), &[]),
            vec![email("support-desk@reseller.example")]
        );
    }

    #[test]
    fn subjects_carry_the_case_number() {
        let s = CaseNotice::StatusChanged {
            from: CaseStatus::New,
            to: CaseStatus::InProgressSupport,
        }
        .subject(1234, "Mail bounces");
        assert_eq!(
            s,
            "[Case #1234] Status changed from new to in_progress_support — Mail bounces"
        );
    }
}
