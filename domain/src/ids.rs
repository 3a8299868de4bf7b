//! Newtype identifiers, so that a customer id can never be passed where a case id is meant.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta] $name:ident),+ $(,)?) => {
        $(
            #[$doc]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub struct $name(Uuid);

            impl $name {
                /// A fresh, time-ordered (UUIDv7) identifier.
                pub fn generate() -> Self {
                    Self(Uuid::now_v7())
                }

                /// Wraps an identifier read from storage or from a trusted source.
                pub const fn from_uuid(uuid: Uuid) -> Self {
                    Self(uuid)
                }

                /// The underlying UUID.
                pub const fn as_uuid(&self) -> Uuid {
                    self.0
                }
            }

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    self.0.hyphenated().fmt(f)
                }
            }

            impl FromStr for $name {
                type Err = crate::InvalidValue;

                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    // Only the canonical hyphenated form is accepted: one spelling per id keeps
                    // URLs, ETags and logs comparable.
                    if s.len() != 36 {
                        return Err(crate::InvalidValue::new("invalid_id", "must be a UUID in its hyphenated form"));
                    }
                    Uuid::parse_str(s)
                        .map(Self)
                        .map_err(|_| crate::InvalidValue::new("invalid_id", "must be a UUID in its hyphenated form"))
                }
            }

            impl From<$name> for Uuid {
                fn from(id: $name) -> Uuid {
                    id.0
                }
            }
        )+
    };
}

uuid_id! {
    /// Identifies a tenant domain (reseller, customer or provider).
    DomainId,
    /// Identifies a user account; the same email on two domains is two users.
    UserId,
    /// Identifies a customer record kept for resellers.
    CustomerId,
    /// Identifies a support case.
    CaseId,
    /// Identifies a comment in a case's history.
    CommentId,
    /// Identifies a file attached to a case.
    AttachmentId,
    /// Identifies a custom role of a domain.
    RoleId,
    /// Identifies an audit event.
    EventId,
    /// Identifies a case classification of the catalogue.
    ClassificationId,
    /// Identifies a webhook endpoint.
    WebhookId,
    /// Identifies one event's delivery to one webhook endpoint.
    DeliveryId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_version_seven_and_increase() {
        let a = CaseId::generate();
        let b = CaseId::generate();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(b > a);
    }

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = CustomerId::generate();
        let parsed: CustomerId = id.to_string().parse().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed, id);
    }

    #[test]
    fn non_canonical_spellings_of_an_id_are_refused() {
        for text in [
            "",
            "not-a-uuid",
            "0193a5c000007000800000000000001",
            "{0193a5c0-0000-7000-8000-000000000001}",
            "urn:uuid:0193a5c0-0000-7000-8000-000000000001",
        ] {
            assert!(text.parse::<CaseId>().is_err(), "{text:?} was accepted");
        }
    }
}
