//! Who sees a case: the one rule, for every kind of viewer.
//!
//! The persistence layer expresses the same rule as a query (it never fetches everything and
//! filters here); its tests compare the query with this function over generated worlds.

use crate::access::Realm;
use crate::case::Party;
use crate::customer::Management;
use crate::ids::DomainId;

/// Someone looking at cases, as far as visibility cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// A user of a reseller-realm domain.
    Partner(DomainId),
    /// A user of a customer-realm domain.
    Customer(DomainId),
    /// A user of the provider domain.
    Provider,
}

impl Viewer {
    /// A user of `domain`, of that realm, as the rule sees it.
    pub fn of(realm: Realm, domain: DomainId) -> Self {
        match realm {
            Realm::Reseller => Viewer::Partner(domain),
            Realm::Customer => Viewer::Customer(domain),
            Realm::Provider => Viewer::Provider,
        }
    }

    /// The party the viewer acts as on a case it sees.
    pub fn party(self) -> Party {
        match self {
            Viewer::Partner(_) => Party::Partner,
            Viewer::Customer(_) => Party::Customer,
            Viewer::Provider => Party::Support,
        }
    }
}

/// The facts about one case that decide who sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseAudience<'a> {
    /// The partner domains that managed the customer when the case was filed.
    pub recorded_partners: &'a [DomainId],
    /// The customer organisation's own domain.
    pub customer_domain: DomainId,
    /// Who manages the customer now.
    pub management: &'a Management,
}

/// Whether `viewer` sees the case.
///
/// A partner domain sees it only when it was recorded on the case, still manages the
/// customer, and may act for it (the reseller needs the customer's authorisation; a support
/// partner is authorised by the relationship). A customer moved to another reseller therefore
/// takes its earlier cases out of both resellers' sight. Customer users see every case of
/// their organisation; the provider sees all.
///
/// A partner is recorded for its tenure: when a tenure ends ([`ended_tenures`]), the record
/// ends with it, so a partner the customer comes back to does not see, or change, the cases
/// filed under its earlier tenure.
pub fn can_see(viewer: Viewer, case: &CaseAudience<'_>) -> bool {
    match viewer {
        Viewer::Provider => true,
        Viewer::Customer(domain) => domain == case.customer_domain,
        Viewer::Partner(domain) => {
            case.recorded_partners.contains(&domain) && case.management.may_act(domain)
        }
    }
}

/// The partner domains whose tenure ends when the customer's management changes from
/// `before` to `after`: those that managed it and no longer do, or now do in another
/// relationship (a support partner that becomes the reseller starts afresh). Cases filed under
/// an ended tenure stop recording the partner, so no later tenure of it sees them, as a
/// returning customer must authorise afresh too. Revoking or granting the reseller's access
/// ends no tenure.
pub fn ended_tenures(before: &Management, after: &Management) -> Vec<DomainId> {
    before
        .partner_domains()
        .into_iter()
        .filter(|p| before.relationship_of(*p) != after.relationship_of(*p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::ResellerAccess;

    struct World {
        reseller: DomainId,
        partner: DomainId,
        stranger: DomainId,
        customer_domain: DomainId,
        management: Management,
        recorded: Vec<DomainId>,
    }

    fn world() -> World {
        let reseller = DomainId::generate();
        let partner = DomainId::generate();
        let management = Management {
            reseller,
            reseller_access: ResellerAccess::Granted,
            support_partners: vec![partner],
        };
        World {
            reseller,
            partner,
            stranger: DomainId::generate(),
            customer_domain: DomainId::generate(),
            recorded: management.partner_domains(),
            management,
        }
    }

    fn sees(w: &World, viewer: Viewer) -> bool {
        can_see(
            viewer,
            &CaseAudience {
                recorded_partners: &w.recorded,
                customer_domain: w.customer_domain,
                management: &w.management,
            },
        )
    }

    #[test]
    fn the_reseller_and_the_support_partner_see_a_case_filed_while_they_manage_the_customer() {
        let w = world();
        assert!(sees(&w, Viewer::Partner(w.reseller)));
        assert!(sees(&w, Viewer::Partner(w.partner)));
    }

    #[test]
    fn another_reseller_domain_never_sees_the_case() {
        let w = world();
        assert!(!sees(&w, Viewer::Partner(w.stranger)));
        assert!(!sees(&w, Viewer::Customer(w.stranger)));
    }

    #[test]
    fn revoking_reseller_access_hides_the_case_from_the_reseller_but_not_the_support_partner() {
        let mut w = world();
        w.management.reseller_access = ResellerAccess::Revoked;
        assert!(!sees(&w, Viewer::Partner(w.reseller)));
        assert!(sees(&w, Viewer::Partner(w.partner)));
    }

    #[test]
    fn ending_a_support_partnership_hides_the_case_from_the_former_partner() {
        let mut w = world();
        w.management.support_partners.clear();
        assert!(!sees(&w, Viewer::Partner(w.partner)));
        assert!(sees(&w, Viewer::Partner(w.reseller)));
    }

    #[test]
    fn a_transfer_hides_earlier_cases_from_both_the_old_and_the_new_reseller() {
        let mut w = world();
        let new_reseller = DomainId::generate();
        w.management = w
            .management
            .transfer_to(new_reseller)
            .unwrap_or_else(|e| panic!("{e:?}"));
        // Even once the customer authorises its new reseller, the earlier case stays hidden.
        w.management.reseller_access = ResellerAccess::Granted;
        assert!(!sees(&w, Viewer::Partner(w.reseller)));
        assert!(!sees(&w, Viewer::Partner(new_reseller)));
        assert!(sees(&w, Viewer::Customer(w.customer_domain)));
    }

    /// Ends the tenures a management change ends, as the repository does.
    fn change(w: &mut World, after: Management) {
        let ended = ended_tenures(&w.management, &after);
        w.recorded.retain(|p| !ended.contains(p));
        w.management = after;
    }

    #[test]
    fn a_reseller_the_customer_returns_to_does_not_see_cases_of_its_earlier_tenure() {
        let mut w = world();
        let other = DomainId::generate();
        let away = w
            .management
            .transfer_to(other)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(ended_tenures(&w.management, &away), vec![w.reseller]);
        change(&mut w, away);
        let mut back = w
            .management
            .transfer_to(w.reseller)
            .unwrap_or_else(|e| panic!("{e:?}"));
        back.reseller_access = ResellerAccess::Granted;
        change(&mut w, back);
        assert!(!sees(&w, Viewer::Partner(w.reseller)));
        assert!(!sees(&w, Viewer::Partner(other)));
        // The support partner's tenure went on through both moves.
        assert!(sees(&w, Viewer::Partner(w.partner)));
        assert!(sees(&w, Viewer::Customer(w.customer_domain)));
    }

    #[test]
    fn a_support_partner_taken_on_again_does_not_see_cases_of_its_earlier_tenure() {
        let mut w = world();
        let mut without = w.management.clone();
        without.support_partners.clear();
        assert_eq!(ended_tenures(&w.management, &without), vec![w.partner]);
        change(&mut w, without);
        let mut again = w.management.clone();
        again.support_partners.push(w.partner);
        change(&mut w, again);
        assert!(!sees(&w, Viewer::Partner(w.partner)));
        assert!(sees(&w, Viewer::Partner(w.reseller)));
    }

    #[test]
    fn a_support_partner_that_becomes_the_reseller_starts_a_new_tenure() {
        let w = world();
        let after = w
            .management
            .transfer_to(w.partner)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let ended = ended_tenures(&w.management, &after);
        assert!(ended.contains(&w.reseller) && ended.contains(&w.partner));
    }

    #[test]
    fn revoking_or_granting_access_ends_no_tenure() {
        let w = world();
        let mut revoked = w.management.clone();
        revoked.reseller_access = ResellerAccess::Revoked;
        assert!(ended_tenures(&w.management, &revoked).is_empty());
        assert!(ended_tenures(&revoked, &w.management).is_empty());
    }

    #[test]
    fn a_support_partner_taken_on_after_filing_does_not_see_the_earlier_case() {
        let mut w = world();
        let late = DomainId::generate();
        w.management.support_partners.push(late);
        assert!(!sees(&w, Viewer::Partner(late)));
    }

    #[test]
    fn customer_users_see_every_case_of_their_organisation_whoever_filed_it() {
        let mut w = world();
        w.management.reseller_access = ResellerAccess::Revoked;
        w.management.support_partners.clear();
        assert!(sees(&w, Viewer::Customer(w.customer_domain)));
    }

    #[test]
    fn the_provider_sees_every_case() {
        let w = world();
        assert!(sees(&w, Viewer::Provider));
    }

    #[test]
    fn viewers_act_as_their_party() {
        assert_eq!(
            Viewer::Partner(DomainId::generate()).party(),
            Party::Partner
        );
        assert_eq!(
            Viewer::Customer(DomainId::generate()).party(),
            Party::Customer
        );
        assert_eq!(Viewer::Provider.party(), Party::Support);
    }
}
