//! Customers: who manages them, whether their reseller may act for them, and transfers.

use std::fmt;
use std::str::FromStr;

use crate::ids::DomainId;
use crate::{DomainError, InvalidValue};

/// The support a customer pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SupportTier {
    /// Standard support.
    Standard,
    /// Enhanced support: faster responses.
    Enhanced,
    /// Premium support: escalations and a technical account manager.
    Premium,
}

impl SupportTier {
    /// Every tier.
    pub const ALL: [SupportTier; 3] = [
        SupportTier::Standard,
        SupportTier::Enhanced,
        SupportTier::Premium,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportTier::Standard => "standard",
            SupportTier::Enhanced => "enhanced",
            SupportTier::Premium => "premium",
        }
    }
}

impl FromStr for SupportTier {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid_support_tier",
                    "must be one of standard, enhanced, premium",
                )
            })
    }
}

impl fmt::Display for SupportTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the customer has authorised its reseller to act on its behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResellerAccess {
    /// The reseller may file and manage the customer's cases.
    Granted,
    /// The reseller may not.
    Revoked,
}

impl ResellerAccess {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResellerAccess::Granted => "granted",
            ResellerAccess::Revoked => "revoked",
        }
    }

    /// The access a wire name stands for ([`Self::as_str`]'s inverse).
    pub fn parse(name: &str) -> Option<Self> {
        [ResellerAccess::Granted, ResellerAccess::Revoked]
            .into_iter()
            .find(|a| a.as_str() == name)
    }

    /// From the customer's `{granted: bool}`.
    pub fn from_granted(granted: bool) -> Self {
        if granted {
            ResellerAccess::Granted
        } else {
            ResellerAccess::Revoked
        }
    }

    /// Whether access is granted.
    pub fn is_granted(self) -> bool {
        self == ResellerAccess::Granted
    }
}

/// How a partner domain relates to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// The partner resells to the customer.
    Reseller,
    /// The customer took the partner on for support.
    SupportPartner,
}

impl Relationship {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Reseller => "reseller",
            Relationship::SupportPartner => "support_partner",
        }
    }
}

/// Who manages a customer right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Management {
    /// The customer's reseller domain.
    pub reseller: DomainId,
    /// Whether the customer authorised the reseller.
    pub reseller_access: ResellerAccess,
    /// The customer's active support partners.
    pub support_partners: Vec<DomainId>,
}

impl Management {
    /// How `partner` relates to the customer, if it manages it at all.
    pub fn relationship_of(&self, partner: DomainId) -> Option<Relationship> {
        if self.reseller == partner {
            Some(Relationship::Reseller)
        } else if self.support_partners.contains(&partner) {
            Some(Relationship::SupportPartner)
        } else {
            None
        }
    }

    /// Whether `partner` may act on the customer's cases now: the reseller needs the
    /// customer's authorisation; a support partner is authorised by the relationship itself.
    pub fn may_act(&self, partner: DomainId) -> bool {
        match self.relationship_of(partner) {
            Some(Relationship::Reseller) => self.reseller_access.is_granted(),
            Some(Relationship::SupportPartner) => true,
            None => false,
        }
    }

    /// Checks that `partner` may file a case for the customer.
    /// A partner that does not manage the customer gets `NotFound`, so existence does not leak.
    pub fn check_may_file_case(&self, partner: DomainId) -> Result<(), DomainError> {
        match self.relationship_of(partner) {
            None => Err(DomainError::NotFound),
            Some(Relationship::Reseller) if !self.reseller_access.is_granted() => {
                Err(DomainError::ResellerAccessNotGranted)
            }
            Some(_) => Ok(()),
        }
    }

    /// The partner domains a new case records: the reseller and the active support partners.
    pub fn partner_domains(&self) -> Vec<DomainId> {
        let mut domains = Vec::with_capacity(1 + self.support_partners.len());
        domains.push(self.reseller);
        for p in &self.support_partners {
            if !domains.contains(p) {
                domains.push(*p);
            }
        }
        domains
    }

    /// Checks that `partner` can become a support partner.
    pub fn check_add_support_partner(&self, partner: DomainId) -> Result<(), DomainError> {
        match self.relationship_of(partner) {
            Some(Relationship::Reseller) => Err(DomainError::SupportPartnerIsReseller),
            Some(Relationship::SupportPartner) => Err(DomainError::SupportPartnerExists),
            None => Ok(()),
        }
    }

    /// The management after the customer moves to another reseller. A transfer hands the
    /// customer over fresh: the new reseller must be authorised again before it acts.
    pub fn transfer_to(&self, new_reseller: DomainId) -> Result<Management, DomainError> {
        if new_reseller == self.reseller {
            return Err(DomainError::TransferToSameReseller);
        }
        Ok(Management {
            reseller: new_reseller,
            reseller_access: ResellerAccess::Revoked,
            support_partners: self
                .support_partners
                .iter()
                .copied()
                .filter(|p| *p != new_reseller)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reseller_access_reads_back_from_its_wire_name_only() {
        for access in [ResellerAccess::Granted, ResellerAccess::Revoked] {
            assert_eq!(ResellerAccess::parse(access.as_str()), Some(access));
        }
        assert_eq!(ResellerAccess::parse("Granted"), None);
        assert_eq!(ResellerAccess::parse(""), None);
    }

    fn management(access: ResellerAccess) -> (Management, DomainId, DomainId) {
        let reseller = DomainId::generate();
        let partner = DomainId::generate();
        (
            Management {
                reseller,
                reseller_access: access,
                support_partners: vec![partner],
            },
            reseller,
            partner,
        )
    }

    #[test]
    fn the_reseller_may_act_only_while_the_customer_grants_access() {
        let (granted, reseller, _) = management(ResellerAccess::Granted);
        assert!(granted.may_act(reseller));
        assert_eq!(granted.check_may_file_case(reseller), Ok(()));
        let (revoked, reseller, _) = management(ResellerAccess::Revoked);
        assert!(!revoked.may_act(reseller));
        assert_eq!(
            revoked.check_may_file_case(reseller),
            Err(DomainError::ResellerAccessNotGranted)
        );
    }

    #[test]
    fn a_support_partner_may_act_whatever_the_reseller_access() {
        for access in [ResellerAccess::Granted, ResellerAccess::Revoked] {
            let (m, _, partner) = management(access);
            assert_eq!(
                m.relationship_of(partner),
                Some(Relationship::SupportPartner)
            );
            assert!(m.may_act(partner));
            assert_eq!(m.check_may_file_case(partner), Ok(()));
        }
    }

    #[test]
    fn a_stranger_domain_is_told_the_customer_does_not_exist() {
        let (m, _, _) = management(ResellerAccess::Granted);
        let stranger = DomainId::generate();
        assert_eq!(m.relationship_of(stranger), None);
        assert!(!m.may_act(stranger));
        assert_eq!(m.check_may_file_case(stranger), Err(DomainError::NotFound));
    }

    #[test]
    fn a_new_case_records_the_reseller_and_the_support_partners() {
        let (m, reseller, partner) = management(ResellerAccess::Granted);
        assert_eq!(m.partner_domains(), vec![reseller, partner]);
    }

    #[test]
    fn the_reseller_cannot_also_be_a_support_partner_nor_a_partner_twice() {
        let (m, reseller, partner) = management(ResellerAccess::Granted);
        assert_eq!(
            m.check_add_support_partner(reseller),
            Err(DomainError::SupportPartnerIsReseller)
        );
        assert_eq!(
            m.check_add_support_partner(partner),
            Err(DomainError::SupportPartnerExists)
        );
        assert_eq!(m.check_add_support_partner(DomainId::generate()), Ok(()));
    }

    #[test]
    fn a_transfer_moves_the_customer_and_needs_fresh_authorisation() {
        let (m, old, partner) = management(ResellerAccess::Granted);
        let new = DomainId::generate();
        let moved = m.transfer_to(new).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(moved.reseller, new);
        assert_eq!(moved.relationship_of(old), None);
        assert_eq!(moved.reseller_access, ResellerAccess::Revoked);
        assert_eq!(
            moved.relationship_of(partner),
            Some(Relationship::SupportPartner)
        );
        assert_eq!(m.transfer_to(old), Err(DomainError::TransferToSameReseller));
    }

    #[test]
    fn a_transfer_to_a_support_partner_makes_it_the_reseller() {
        let (m, _, partner) = management(ResellerAccess::Granted);
        let moved = m.transfer_to(partner).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(moved.relationship_of(partner), Some(Relationship::Reseller));
        assert!(moved.support_partners.is_empty());
    }

    #[test]
    fn support_tiers_parse_from_their_wire_names() {
        for t in SupportTier::ALL {
            assert_eq!(t.as_str().parse::<SupportTier>().ok(), Some(t));
        }
        assert!("gold".parse::<SupportTier>().is_err());
    }
}
