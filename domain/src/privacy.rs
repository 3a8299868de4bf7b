//! Keeping personal data out of cases: which free-text fields are scanned, and whose email
//! addresses may appear in them.

use std::collections::BTreeSet;

use crate::DomainError;
use crate::pii::{self, PiiKind};
use crate::values::EmailAddress;

/// One finding: which field, what kind. The matched text is never kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PiiFinding {
    /// The request field, e.g. `description` or `answers.bounce_message`.
    pub field: String,
    /// What kind of personal data.
    pub kind: PiiKind,
}

/// Mailbox names that belong to a function, not a person: mentioning them (a bounce from
/// `mailer-daemon@…`, mail to `postmaster@…`) is ordinary technical text.
const ROLE_MAILBOXES: &[&str] = &[
    "postmaster",
    "mailer-daemon",
    "abuse",
    "hostmaster",
    "webmaster",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "bounce",
    "bounces",
    "dmarc",
    "dmarc-reports",
    "root",
    "admin",
    "administrator",
    "support",
    "helpdesk",
    "info",
    "sales",
    "billing",
    "security",
    "it",
    "notifications",
];

/// The people on a case, whose addresses may appear in its text.
#[derive(Debug, Clone, Default)]
pub struct Participants {
    emails: BTreeSet<String>,
}

impl Participants {
    /// The case's creator and subscribers.
    pub fn new<'a>(emails: impl IntoIterator<Item = &'a EmailAddress>) -> Self {
        Self {
            emails: emails.into_iter().map(|e| e.as_str().to_owned()).collect(),
        }
    }

    /// The same participants and `email`, such as the author of the text being scanned: a
    /// commenter's own address is a participant's, not an outsider's.
    pub fn with(mut self, email: &EmailAddress) -> Self {
        self.emails.insert(email.as_str().to_owned());
        self
    }

    /// Whether an address (lower-cased) may appear in the case's text.
    pub fn allows(&self, address: &str) -> bool {
        if self.emails.contains(address) {
            return true;
        }
        let local = address.split('@').next().unwrap_or_default();
        let base = local.split('+').next().unwrap_or(local);
        ROLE_MAILBOXES.contains(&base)
    }
}

/// Scans the named free-text fields; refuses with every finding when any holds personal data.
pub fn check_no_personal_data<'a>(
    fields: impl IntoIterator<Item = (String, &'a str)>,
    participants: &Participants,
) -> Result<(), DomainError> {
    let allow = |address: &str| participants.allows(address);
    let mut findings: Vec<PiiFinding> = fields
        .into_iter()
        .flat_map(|(field, text)| {
            pii::scan(text, &allow)
                .into_iter()
                .map(move |kind| PiiFinding {
                    field: field.clone(),
                    kind,
                })
        })
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    findings.sort();
    findings.dedup();
    Err(DomainError::PiiDetected(findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participants() -> Participants {
        let e = EmailAddress::parse("partner@reseller.example").unwrap_or_else(|e| panic!("{e:?}"));
        Participants::new([&e])
    }

    #[test]
    fn findings_name_the_field_and_kind_never_the_text() {
        let result = check_no_personal_data(
            [
                ("title".to_owned(), "Mail bounces"),
                (
                    "description".to_owned(),
                    "Card 4111 1111 1111 1111 was charged",
                ),
            ],
            &participants(),
        );
        assert_eq!(
            result,
            Err(DomainError::PiiDetected(vec![PiiFinding {
                field: "description".into(),
                kind: PiiKind::PaymentCardNumber
            }]))
        );
        let text = format!("{result:?}");
        assert!(!text.contains("4111"));
    }

    #[test]
    fn participants_and_role_mailboxes_may_be_mentioned() {
        assert_eq!(
            check_no_personal_data(
                [(
                    "description".to_owned(),
                    "partner@reseller.example and postmaster@acme.example see bounces from mailer-daemon@googlemail.com"
                )],
                &participants()
            ),
            Ok(())
        );
    }

    #[test]
    fn the_author_s_own_address_may_be_mentioned() {
        let author =
            EmailAddress::parse("agent@support.example").unwrap_or_else(|e| panic!("{e:?}"));
        let text = [("body".to_owned(), "reply to agent@support.example")];
        assert!(check_no_personal_data(text.clone(), &participants()).is_err());
        assert_eq!(
            check_no_personal_data(text, &participants().with(&author)),
            Ok(())
        );
    }

    #[test]
    fn a_stranger_s_address_is_personal_data() {
        assert!(matches!(
            check_no_personal_data(
                [("comment".to_owned(), "ask jane.doe@acme.example")],
                &participants()
            ),
            Err(DomainError::PiiDetected(f)) if f[0].kind == PiiKind::EmailAddress
        ));
    }
}
