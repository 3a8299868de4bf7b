//! Wire forms of the domain's enums: serde names and OpenAPI schemas, converted to and from
//! the domain's types in one place.

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
