//! Wire forms of the domain's enums: serde names and OpenAPI schemas, converted to and from
//! the domain's types in one place.

pub mod cases;
pub mod customers;
pub mod events;
pub mod identity;

use casebridge_domain as d;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $wire:ident <=> $domain:ty { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $wire {
            $(
                #[allow(missing_docs)]
                $variant,
            )+
        }

        impl From<$wire> for $domain {
            fn from(w: $wire) -> Self {
                match w { $($wire::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $wire {
            fn from(d: $domain) -> Self {
                match d { $(<$domain>::$variant => $wire::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// Why the service disabled an endpoint.
    DisabledReasonView <=> d::webhook::DisabledReason { Gone, Failing }
);
wire_enum!(
    /// Where a delivery stands.
    DeliveryStatusView <=> d::webhook::DeliveryStatus { Pending, Delivered, Failed }
);
wire_enum!(
    /// Where a first-response target stands.
    ServiceLevelStateView <=> d::ServiceLevelState { Running, Met, Breached }
);
wire_enum!(
    /// The kind of a domain.
    Realm <=> d::Realm { Reseller, Customer, Provider }
);
wire_enum!(
    /// A privilege a role grants.
    Privilege <=> d::Privilege {
        Support,
        ViewCustomers,
        AccessCustomerSupportCases,
        LegacyResellerEnterpriseSupport,
        LegacyEnterpriseSupport,
    }
);
wire_enum!(
    /// The support a customer pays for.
    SupportTier <=> d::SupportTier { Standard, Enhanced, Premium }
);
wire_enum!(
    /// Whether the customer authorised its reseller.
    ResellerAccess <=> d::ResellerAccess { Granted, Revoked }
);
wire_enum!(
    /// How a partner domain relates to a customer.
    Relationship <=> d::Relationship { Reseller, SupportPartner }
);
wire_enum!(
    /// Where a case stands.
    CaseStatus <=> d::CaseStatus { New, InProgressSupport, ActionRequired, SolutionOffered, Closed }
);
wire_enum!(
    /// Why a case is escalated.
    EscalationReason <=> d::EscalationReason { ResolutionTime, TechnicalExpertise, BusinessImpact }
);
wire_enum!(
    /// The product a case is about.
    ProductType <=> d::ProductType { GoogleWorkspace }
);

/// How badly a problem hurts: P1 critical, P2 high, P3 medium, P4 low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Severity {
    /// Critical impact: a production service is down or unusable.
    P1,
    /// High impact: service use is severely impaired, no workaround.
    P2,
    /// Medium impact: service use is partially impaired.
    P3,
    /// Low impact: a question, or service is fully usable.
    P4,
}

impl From<Severity> for d::Severity {
    fn from(w: Severity) -> Self {
        match w {
            Severity::P1 => d::Severity::P1,
            Severity::P2 => d::Severity::P2,
            Severity::P3 => d::Severity::P3,
            Severity::P4 => d::Severity::P4,
        }
    }
}

impl From<d::Severity> for Severity {
    fn from(s: d::Severity) -> Self {
        match s {
            d::Severity::P1 => Severity::P1,
            d::Severity::P2 => Severity::P2,
            d::Severity::P3 => Severity::P3,
            d::Severity::P4 => Severity::P4,
        }
    }
}

/// String schemas with the exact rules of the domain's value types (lengths and patterns come
/// from the domain's constants), so that a request valid by the schema passes the rules and one
/// the schema refuses is refused.
pub mod text {
    use std::borrow::Cow;

    use casebridge_domain as d;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

    fn string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(SchemaType::Type(Type::String))
    }

    macro_rules! string_schema {
        ($(#[$doc:meta])* $name:ident => $build:expr) => {
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    let build: ObjectBuilder = $build;
                    build.into()
                }
            }

            impl utoipa::ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        };
    }

    macro_rules! free_text {
        ($(#[$doc:meta])* $name:ident, $domain:ty, $what:literal) => {
            string_schema!($(#[$doc])* $name => string()
                .min_length(Some(1))
                .max_length(Some(<$domain>::MAX_CHARS))
                .pattern(Some(<$domain>::PATTERN))
                .description(Some(concat!($what, " Leading and trailing white space is dropped."))));
        };
    }

    free_text!(
        /// A case title.
        Title, d::CaseTitle, "One line, not blank, no control characters."
    );
    free_text!(
        /// A case description.
        DescriptionText, d::Description, "Not blank; line breaks and tabs but no other control characters."
    );
    free_text!(
        /// A comment.
        CommentText, d::CommentBody, "Not blank; line breaks and tabs but no other control characters."
    );
    free_text!(
        /// An answer to a category's question.
        AnswerText, d::Answer, "Not blank; line breaks and tabs but no other control characters."
    );
    free_text!(
        /// An escalation's justification.
        JustificationText, d::Justification, "Not blank; line breaks and tabs but no other control characters."
    );
    free_text!(
        /// A person's or an organisation's name.
        NameText, d::DisplayName, "One line, not blank, no control characters."
    );
    free_text!(
        /// A custom role's name.
        RoleNameText, d::RoleName, "One line, not blank, no control characters."
    );
    free_text!(
        /// A short line of an address.
        ShortLine, d::ShortText, "One line, not blank, no control characters."
    );

    string_schema!(
        /// An email address.
        Email => string()
            .max_length(Some(d::EmailAddress::MAX_CHARS))
            .pattern(Some(d::EmailAddress::PATTERN))
            .examples(["admin@reseller.example.com"])
    );
    string_schema!(
        /// A DNS domain name.
        DomainNameText => string()
            .max_length(Some(d::DomainName::MAX_CHARS))
            .pattern(Some(d::DomainName::PATTERN))
            .examples(["reseller.example.com"])
    );
    string_schema!(
        /// A language tag: language, optional script, optional region.
        LanguageTag => string()
            .pattern(Some(d::LanguageCode::PATTERN))
            .examples(["en-US"])
    );
    string_schema!(
        /// An IANA time zone, spelled as the tz database spells it.
        TimeZoneName => string()
            .enum_values(Some(d::TimeZone::names().iter().map(String::as_str)))
            .examples(["Europe/Berlin"])
    );
    string_schema!(
        /// An organisational-unit path such as `/Sales/EMEA`.
        OrgUnit => string()
            .max_length(Some(d::OrgUnitPath::MAX_CHARS))
            .pattern(Some(d::OrgUnitPath::PATTERN))
            .examples(["/Sales/EMEA"])
    );
    string_schema!(
        /// A phone number: 6 to 20 digits, separators, an optional leading `+`.
        Phone => string()
            .max_length(Some(d::PhoneNumber::MAX_CHARS))
            .pattern(Some(d::PhoneNumber::PATTERN))
            .examples(["+49 30 1234567"])
    );
    string_schema!(
        /// An ISO 3166-1 alpha-2 country code.
        Country => string()
            .pattern(Some(d::CountryCode::PATTERN))
            .examples(["DE"])
    );
    string_schema!(
        /// A new password: 12 to 128 characters, not containing the account's email or user
        /// name, of at least four different characters.
        NewPassword => string()
            .min_length(Some(d::Password::MIN_CHARS))
            .max_length(Some(d::Password::MAX_CHARS))
    );
    string_schema!(
        /// A role: a built-in role's name or a custom role's id.
        RoleId => string()
            .pattern(Some(r"^(?:super_admin|reseller_admin|support_manager|support_agent|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"))
            .examples(["reseller_admin"])
    );
    string_schema!(
        /// An id: a UUID in its hyphenated form.
        Id => string()
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
            .pattern(Some(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"))
    );
    string_schema!(
        /// An opaque page token, as returned in `next_page_token`.
        PageToken => string()
            .pattern(Some(r"^(?:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?$"))
    );
    string_schema!(
        /// Keywords: at most 200 characters, no control characters.
        Keywords => string()
            .max_length(Some(crate::extract::MAX_QUERY_CHARS))
            .pattern(Some(r"^[^\x00-\x1F\x7F-\x9F]*$"))
    );
    string_schema!(
        /// Entity tags as `If-Match` takes them: `*`, or a comma-separated list of tags such
        /// as `"7"`, as read from `ETag`. Unless one of them is the case's current tag (or it is
        /// `*`), the change is refused with 412: a value that is no tag matches nothing.
        EntityTags => string()
            .examples(["\"7\""])
    );
    string_schema!(
        /// A file's bytes.
        Bytes => string()
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary)))
    );
    string_schema!(
        /// An idempotency key: 1 to 255 visible ASCII characters.
        IdempotencyKey => string()
            .pattern(Some(r"^[!-~]{1,255}$"))
    );
}

/// RFC 3339 timestamps on the wire.
pub mod timestamp {
    pub use time::serde::rfc3339::{deserialize, serialize};

    /// Optional RFC 3339 timestamps.
    pub mod option {
        pub use time::serde::rfc3339::option::{deserialize, serialize};
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_domain_s_names() {
        for r in d::Realm::ALL {
            assert_eq!(
                serde_json::to_value(Realm::from(r)).ok(),
                Some(r.as_str().into())
            );
        }
        for p in d::Privilege::ALL {
            assert_eq!(
                serde_json::to_value(Privilege::from(p)).ok(),
                Some(p.as_str().into())
            );
        }
        for s in d::CaseStatus::ALL {
            assert_eq!(
                serde_json::to_value(CaseStatus::from(s)).ok(),
                Some(s.as_str().into())
            );
        }
        for s in d::Severity::ALL {
            assert_eq!(
                serde_json::to_value(Severity::from(s)).ok(),
                Some(s.as_str().into())
            );
        }
        for t in d::SupportTier::ALL {
            assert_eq!(
                serde_json::to_value(SupportTier::from(t)).ok(),
                Some(t.as_str().into())
            );
        }
        for r in d::EscalationReason::ALL {
            assert_eq!(
                serde_json::to_value(EscalationReason::from(r)).ok(),
                Some(r.as_str().into())
            );
        }
    }
}
