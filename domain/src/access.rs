//! Realms, privileges, roles, portal access and the old support center's redirect.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::ids::RoleId;
use crate::{DomainError, InvalidValue};

/// The kind of a tenant domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Realm {
    /// A partner's staff, filing cases on customers' behalf.
    Reseller,
    /// A customer organisation's own users.
    Customer,
    /// The operator of the service: support engineers and provisioning admins.
    Provider,
}

impl Realm {
    /// Every realm.
    pub const ALL: [Realm; 3] = [Realm::Reseller, Realm::Customer, Realm::Provider];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Realm::Reseller => "reseller",
            Realm::Customer => "customer",
            Realm::Provider => "provider",
        }
    }
}

impl FromStr for Realm {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid_realm",
                    "must be one of reseller, customer, provider",
                )
            })
    }
}

impl fmt::Display for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A privilege a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    /// Contact support: file and work cases.
    Support,
    /// See the customers the domain manages.
    ViewCustomers,
    /// Work on the support cases of customers.
    AccessCustomerSupportCases,
    /// The old support center's all-in grant for enterprise resellers.
    LegacyResellerEnterpriseSupport,
    /// The old support center's all-in grant for enterprise support.
    LegacyEnterpriseSupport,
}

impl Privilege {
    /// Every privilege.
    pub const ALL: [Privilege; 5] = [
        Privilege::Support,
        Privilege::ViewCustomers,
        Privilege::AccessCustomerSupportCases,
        Privilege::LegacyResellerEnterpriseSupport,
        Privilege::LegacyEnterpriseSupport,
    ];

    /// The three privileges that together open the partner portal.
    pub const PORTAL: [Privilege; 3] = [
        Privilege::Support,
        Privilege::ViewCustomers,
        Privilege::AccessCustomerSupportCases,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Support => "support",
            Privilege::ViewCustomers => "view_customers",
            Privilege::AccessCustomerSupportCases => "access_customer_support_cases",
            Privilege::LegacyResellerEnterpriseSupport => "legacy_reseller_enterprise_support",
            Privilege::LegacyEnterpriseSupport => "legacy_enterprise_support",
        }
    }

    /// Whether this is one of the old support center's privileges.
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            Privilege::LegacyResellerEnterpriseSupport | Privilege::LegacyEnterpriseSupport
        )
    }
}

impl FromStr for Privilege {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| InvalidValue::new("invalid_privilege", "unknown privilege"))
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles every domain has without defining them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltInRole {
    /// Everything, and administers the domain.
    SuperAdmin,
    /// `support` + `view_customers` + `access_customer_support_cases`.
    ResellerAdmin,
    /// The old support center's role: retired, grants nothing, cannot be assigned.
    SupportManager,
    /// The provider's support staff: `support`, to work every case; nothing to provision.
    SupportAgent,
}

impl BuiltInRole {
    /// Every built-in role.
    pub const ALL: [BuiltInRole; 4] = [
        BuiltInRole::SuperAdmin,
        BuiltInRole::ResellerAdmin,
        BuiltInRole::SupportManager,
        BuiltInRole::SupportAgent,
    ];

    /// The wire name, also the role's id in role assignments.
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltInRole::SuperAdmin => "super_admin",
            BuiltInRole::ResellerAdmin => "reseller_admin",
            BuiltInRole::SupportManager => "support_manager",
            BuiltInRole::SupportAgent => "support_agent",
        }
    }

    /// Whether the role has been retired.
    pub fn is_retired(self) -> bool {
        self == BuiltInRole::SupportManager
    }

    /// The privileges the role grants.
    pub fn privileges(self) -> BTreeSet<Privilege> {
        match self {
            BuiltInRole::SuperAdmin => Privilege::ALL.into_iter().collect(),
            BuiltInRole::ResellerAdmin => Privilege::PORTAL.into_iter().collect(),
            BuiltInRole::SupportManager => BTreeSet::new(),
            BuiltInRole::SupportAgent => [Privilege::Support].into_iter().collect(),
        }
    }

    /// Whether a domain of this realm can hold the role.
    pub fn available_in(self, realm: Realm) -> bool {
        match self {
            BuiltInRole::SuperAdmin => true,
            BuiltInRole::ResellerAdmin | BuiltInRole::SupportManager => realm == Realm::Reseller,
            BuiltInRole::SupportAgent => realm == Realm::Provider,
        }
    }
}

impl FromStr for BuiltInRole {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| InvalidValue::new("invalid_role", "unknown built-in role"))
    }
}

/// A reference to a role: a built-in one by name, or a custom one by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleRef {
    /// A built-in role.
    BuiltIn(BuiltInRole),
    /// A custom role of the domain.
    Custom(RoleId),
}

impl RoleRef {
    /// Parses `super_admin` / `reseller_admin` / `support_manager` or a custom role's id.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if let Ok(b) = raw.parse::<BuiltInRole>() {
            return Ok(RoleRef::BuiltIn(b));
        }
        raw.parse::<RoleId>().map(RoleRef::Custom).map_err(|_| {
            InvalidValue::new(
                "invalid_role",
                "must be a built-in role name or a custom role id",
            )
        })
    }
}

impl FromStr for RoleRef {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        RoleRef::parse(raw)
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleRef::BuiltIn(b) => f.write_str(b.as_str()),
            RoleRef::Custom(id) => id.fmt(f),
        }
    }
}

/// A role as held by a user: its reference and, for custom roles, the privileges it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRole {
    /// Which role.
    pub role: RoleRef,
    /// For a custom role, its privileges; ignored for built-in roles.
    pub custom_privileges: BTreeSet<Privilege>,
}

impl HeldRole {
    /// A built-in role.
    pub fn built_in(role: BuiltInRole) -> Self {
        Self {
            role: RoleRef::BuiltIn(role),
            custom_privileges: BTreeSet::new(),
        }
    }

    /// A custom role with its privileges.
    pub fn custom(id: RoleId, privileges: impl IntoIterator<Item = Privilege>) -> Self {
        Self {
            role: RoleRef::Custom(id),
            custom_privileges: privileges.into_iter().collect(),
        }
    }

    fn privileges(&self) -> BTreeSet<Privilege> {
        match self.role {
            RoleRef::BuiltIn(b) => b.privileges(),
            RoleRef::Custom(_) => self.custom_privileges.clone(),
        }
    }
}

/// Checks that a role may be assigned to a user of a domain of this realm.
pub fn check_assignable(role: RoleRef, realm: Realm) -> Result<(), DomainError> {
    match role {
        RoleRef::BuiltIn(b) if b.is_retired() => Err(DomainError::RoleRetired),
        RoleRef::BuiltIn(b) if !b.available_in(realm) => Err(DomainError::RoleNotAvailableInRealm),
        _ => Ok(()),
    }
}

/// Checks that an account with this email may be made a domain's super admin.
pub fn check_super_admin_email(email: &crate::EmailAddress) -> Result<(), DomainError> {
    if email.is_consumer() {
        Err(DomainError::ConsumerAccountNotAllowed)
    } else {
        Ok(())
    }
}

/// Checks that an account's email is an address of its own domain.
pub fn check_email_in_domain(
    email: &crate::EmailAddress,
    domain: &crate::DomainName,
) -> Result<(), DomainError> {
    if email.belongs_to(domain) {
        Ok(())
    } else {
        Err(DomainError::EmailDomainMismatch)
    }
}

/// Checks that a change leaves the domain administrable: `active_super_admins_after` counts
/// the unsuspended super admins the domain would have once the change is made.
pub fn check_keeps_a_super_admin(active_super_admins_after: usize) -> Result<(), DomainError> {
    if active_super_admins_after == 0 {
        Err(DomainError::LastSuperAdmin)
    } else {
        Ok(())
    }
}

/// Checks that an administrator is not suspending their own account.
pub fn check_suspension_target(
    admin: crate::UserId,
    target: crate::UserId,
) -> Result<(), DomainError> {
    if admin == target {
        Err(DomainError::CannotSuspendSelf)
    } else {
        Ok(())
    }
}

/// Checks that an administrator is not setting or resetting their own password through the
/// administration of the domain: that would let a stolen token lock its owner out, so their own
/// password changes only with the current one (`POST /v1/me/password`).
pub fn check_password_change_target(
    admin: crate::UserId,
    target: crate::UserId,
) -> Result<(), DomainError> {
    if admin == target {
        Err(DomainError::CurrentPasswordRequired)
    } else {
        Ok(())
    }
}

/// The custom role to delete: custom roles may be deleted, built-in ones are fixed.
pub fn deletable_role(role: RoleRef) -> Result<RoleId, DomainError> {
    match role {
        RoleRef::BuiltIn(_) => Err(DomainError::BuiltInRole),
        RoleRef::Custom(id) => Ok(id),
    }
}

/// A notice shown to a user in `/v1/me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The user still holds the retired `support_manager` role, which grants nothing.
    SupportManagerRetired,
}

impl Notice {
    /// Stable code of the notice.
    pub fn code(self) -> &'static str {
        match self {
            Notice::SupportManagerRetired => "support_manager_role_retired",
        }
    }

    /// What the notice says.
    pub fn message(self) -> &'static str {
        match self {
            Notice::SupportManagerRetired => {
                "The support_manager role of the old support center is retired and grants nothing. \
                 Ask a super admin for the reseller_admin role or a custom role with the support, \
                 view_customers and access_customer_support_cases privileges."
            }
        }
    }
}

/// The support reference number quoted to users who lack portal access.
pub const PORTAL_ACCESS_SUPPORT_REFERENCE: &str = "177584086";

/// What a user may do, derived from its realm and roles; computed once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    realm: Realm,
    super_admin: bool,
    privileges: BTreeSet<Privilege>,
    retired_role_held: bool,
    password_change_required: bool,
}

impl Access {
    /// Derives a user's access from its realm and the roles it holds.
    pub fn derive(realm: Realm, roles: &[HeldRole]) -> Self {
        let super_admin = roles
            .iter()
            .any(|r| r.role == RoleRef::BuiltIn(BuiltInRole::SuperAdmin));
        let privileges = roles.iter().flat_map(HeldRole::privileges).collect();
        let retired_role_held = roles
            .iter()
            .any(|r| matches!(r.role, RoleRef::BuiltIn(b) if b.is_retired()));
        Self {
            realm,
            super_admin,
            privileges,
            retired_role_held,
            password_change_required: false,
        }
    }

    /// The same access for a user still holding a one-time password: until it is changed, it
    /// reaches only what [`Capability::SignedIn`] opens (itself, its password, sign-out), so
    /// a password someone else has seen cannot be used for anything else.
    pub fn with_password_change_required(mut self, required: bool) -> Self {
        self.password_change_required = required;
        self
    }

    /// Whether the user must change its one-time password before anything else.
    pub fn password_change_required(&self) -> bool {
        self.password_change_required
    }

    /// The realm of the user's domain.
    pub fn realm(&self) -> Realm {
        self.realm
    }

    /// Whether the user administers its domain.
    pub fn is_super_admin(&self) -> bool {
        self.super_admin
    }

    /// The privileges the user's roles grant, as assigned.
    pub fn privileges(&self) -> &BTreeSet<Privilege> {
        &self.privileges
    }

    fn holds_legacy(&self) -> bool {
        self.privileges.iter().any(|p| p.is_legacy())
    }

    /// Whether the user is granted a privilege: super admins hold everything, and a legacy
    /// privilege stands for the three portal privileges it was split into.
    pub fn grants(&self, privilege: Privilege) -> bool {
        self.super_admin
            || self.privileges.contains(&privilege)
            || (Privilege::PORTAL.contains(&privilege) && self.holds_legacy())
    }

    /// Whether the user may use the portal's endpoints at all.
    pub fn has_portal_access(&self) -> bool {
        self.missing_privileges().is_empty()
    }

    /// The privileges the user would need for portal access; empty when it has it.
    pub fn missing_privileges(&self) -> Vec<Privilege> {
        match self.realm {
            // Least privilege: a provider user works cases only while it holds `support`
            // (the built-in `support_agent` role grants it), as a customer user does.
            Realm::Provider | Realm::Customer => {
                if self.grants(Privilege::Support) {
                    Vec::new()
                } else {
                    vec![Privilege::Support]
                }
            }
            Realm::Reseller => Privilege::PORTAL
                .into_iter()
                .filter(|p| !self.grants(*p))
                .collect(),
        }
    }

    /// Refuses a user without portal access, naming what is missing.
    pub fn require_portal_access(&self) -> Result<(), DomainError> {
        let missing = self.missing_privileges();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DomainError::PortalAccessRequired { missing })
        }
    }

    /// Refuses a user that is not granted `privilege` (after the portal check).
    pub fn require(&self, privilege: Privilege) -> Result<(), DomainError> {
        self.require_portal_access()?;
        if self.grants(privilege) {
            Ok(())
        } else {
            Err(DomainError::PrivilegeRequired { privilege })
        }
    }

    /// Refuses a user that is not its domain's super admin.
    pub fn require_super_admin(&self) -> Result<(), DomainError> {
        if self.super_admin {
            Ok(())
        } else {
            Err(DomainError::SuperAdminRequired)
        }
    }

    /// Refuses a user of another realm.
    pub fn require_realm(&self, realm: Realm) -> Result<(), DomainError> {
        if self.realm == realm {
            Ok(())
        } else {
            Err(DomainError::WrongRealm { required: realm })
        }
    }

    /// Notices to show the user.
    pub fn notices(&self) -> Vec<Notice> {
        if self.retired_role_held {
            vec![Notice::SupportManagerRetired]
        } else {
            Vec::new()
        }
    }
}

/// What an endpoint needs of its caller; each handler names one in its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Any signed-in user of any realm (`/v1/me`, sign-out).
    SignedIn,
    /// See the customers the reseller domain manages.
    ViewCustomers,
    /// File cases for customers and work on them, as a partner.
    WorkCustomerCases,
    /// See and work on the organisation's own cases, as a customer user.
    WorkOwnCases,
    /// Work on a case one can see, in whichever realm: as a partner
    /// (`access_customer_support_cases`), a customer user (portal access) or support.
    WorkCases,
    /// Decide the customer organisation's reseller access and support partners.
    ManageCustomerRelationships,
    /// Administer the domain's users and roles.
    AdministerDomain,
    /// Work every case, as the provider's support staff.
    SupportCases,
    /// Provision domains and customers, as the provider's super admin.
    Provision,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 9] = [
        Capability::SignedIn,
        Capability::ViewCustomers,
        Capability::WorkCustomerCases,
        Capability::WorkOwnCases,
        Capability::WorkCases,
        Capability::ManageCustomerRelationships,
        Capability::AdministerDomain,
        Capability::SupportCases,
        Capability::Provision,
    ];

    /// The realm whose users may have it; `None` for every realm.
    pub fn realm(self) -> Option<Realm> {
        match self {
            Capability::SignedIn | Capability::AdministerDomain | Capability::WorkCases => None,
            Capability::ViewCustomers | Capability::WorkCustomerCases => Some(Realm::Reseller),
            Capability::WorkOwnCases | Capability::ManageCustomerRelationships => {
                Some(Realm::Customer)
            }
            Capability::SupportCases | Capability::Provision => Some(Realm::Provider),
        }
    }
}

impl Access {
    /// Checks that the user has a capability: the realm first, then portal access, then the
    /// privilege or administrator status it needs.
    pub fn require_capability(&self, capability: Capability) -> Result<(), DomainError> {
        if self.password_change_required && capability != Capability::SignedIn {
            return Err(DomainError::PasswordChangeRequired);
        }
        if let Some(realm) = capability.realm() {
            self.require_realm(realm)?;
        }
        match capability {
            Capability::SignedIn => Ok(()),
            Capability::ViewCustomers => self.require(Privilege::ViewCustomers),
            Capability::WorkCustomerCases => self.require(Privilege::AccessCustomerSupportCases),
            Capability::WorkOwnCases | Capability::SupportCases => self.require_portal_access(),
            Capability::WorkCases => match self.realm {
                Realm::Reseller => self.require(Privilege::AccessCustomerSupportCases),
                Realm::Customer | Realm::Provider => self.require_portal_access(),
            },
            Capability::ManageCustomerRelationships
            | Capability::AdministerDomain
            | Capability::Provision => self.require_super_admin(),
        }
    }
}

/// Where the old support center sends a request for `rest` (the path after
/// `/legacy/support-center/`), or why it refuses.
pub fn legacy_support_center_redirect(access: &Access, rest: &str) -> Result<String, DomainError> {
    if access.password_change_required {
        return Err(DomainError::PasswordChangeRequired);
    }
    let allowed = access.realm() == Realm::Reseller
        && access.grants(Privilege::ViewCustomers)
        && access.grants(Privilege::AccessCustomerSupportCases);
    if !allowed {
        return Err(DomainError::LegacySupportCenterRetired);
    }
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let target = match segments.as_slice() {
        ["cases", id] if is_plain_segment(id) => format!("/v1/cases/{id}"),
        ["customers"] => "/v1/customers".to_owned(),
        _ => "/v1/cases".to_owned(),
    };
    Ok(target)
}

/// A path segment that can be copied into a `Location` without escaping.
fn is_plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 64
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(realm: Realm, roles: &[HeldRole]) -> Access {
        Access::derive(realm, roles)
    }

    fn custom(privileges: &[Privilege]) -> HeldRole {
        HeldRole::custom(RoleId::generate(), privileges.iter().copied())
    }

    /// Every subset of the five privileges, as a custom role.
    fn every_privilege_set() -> Vec<Vec<Privilege>> {
        (0u32..32)
            .map(|mask| {
                Privilege::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, p)| p)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_one_time_password_opens_only_signed_in_endpoints_whatever_the_roles() {
        let super_admin = HeldRole::built_in(BuiltInRole::SuperAdmin);
        for realm in Realm::ALL {
            let a = access(realm, std::slice::from_ref(&super_admin))
                .with_password_change_required(true);
            for capability in Capability::ALL {
                let expected = if capability == Capability::SignedIn {
                    Ok(())
                } else {
                    Err(DomainError::PasswordChangeRequired)
                };
                assert_eq!(
                    a.require_capability(capability),
                    expected,
                    "{realm} {capability:?}"
                );
            }
            assert_eq!(
                legacy_support_center_redirect(&a, "cases"),
                Err(DomainError::PasswordChangeRequired)
            );
        }
    }

    #[test]
    fn reseller_portal_access_needs_all_three_privileges_or_a_legacy_one_for_every_privilege_set() {
        for set in every_privilege_set() {
            let a = access(Realm::Reseller, &[custom(&set)]);
            let all_three = Privilege::PORTAL.iter().all(|p| set.contains(p));
            let legacy = set.iter().any(|p| p.is_legacy());
            assert_eq!(
                a.has_portal_access(),
                all_three || legacy,
                "privileges {set:?}"
            );
            if !(all_three || legacy) {
                let expected: Vec<Privilege> = Privilege::PORTAL
                    .into_iter()
                    .filter(|p| !set.contains(p))
                    .collect();
                assert_eq!(a.missing_privileges(), expected, "privileges {set:?}");
                assert_eq!(
                    a.require_portal_access(),
                    Err(DomainError::PortalAccessRequired { missing: expected })
                );
            }
        }
    }

    #[test]
    fn a_super_admin_has_portal_access_in_every_realm() {
        for realm in Realm::ALL {
            let a = access(realm, &[HeldRole::built_in(BuiltInRole::SuperAdmin)]);
            assert!(a.has_portal_access());
            assert!(a.is_super_admin());
            for p in Privilege::ALL {
                assert!(a.grants(p));
            }
        }
    }

    #[test]
    fn reseller_admin_opens_the_portal_without_administering_the_domain() {
        let a = access(
            Realm::Reseller,
            &[HeldRole::built_in(BuiltInRole::ResellerAdmin)],
        );
        assert!(a.has_portal_access());
        assert_eq!(
            a.require_super_admin(),
            Err(DomainError::SuperAdminRequired)
        );
    }

    #[test]
    fn a_user_without_roles_misses_all_three_portal_privileges() {
        let a = access(Realm::Reseller, &[]);
        assert_eq!(a.missing_privileges(), Privilege::PORTAL.to_vec());
    }

    #[test]
    fn the_retired_support_manager_role_grants_nothing_and_shows_a_notice() {
        let a = access(
            Realm::Reseller,
            &[HeldRole::built_in(BuiltInRole::SupportManager)],
        );
        assert!(a.privileges().is_empty());
        assert!(!a.has_portal_access());
        assert_eq!(a.notices(), vec![Notice::SupportManagerRetired]);
        let b = access(
            Realm::Reseller,
            &[HeldRole::built_in(BuiltInRole::ResellerAdmin)],
        );
        assert!(b.notices().is_empty());
    }

    #[test]
    fn the_retired_role_cannot_be_assigned_in_any_realm() {
        for realm in Realm::ALL {
            assert_eq!(
                check_assignable(RoleRef::BuiltIn(BuiltInRole::SupportManager), realm),
                Err(DomainError::RoleRetired)
            );
        }
    }

    #[test]
    fn reseller_admin_can_only_be_assigned_in_reseller_domains() {
        let role = RoleRef::BuiltIn(BuiltInRole::ResellerAdmin);
        assert_eq!(check_assignable(role, Realm::Reseller), Ok(()));
        assert_eq!(
            check_assignable(role, Realm::Customer),
            Err(DomainError::RoleNotAvailableInRealm)
        );
        assert_eq!(
            check_assignable(RoleRef::Custom(RoleId::generate()), Realm::Customer),
            Ok(())
        );
        assert_eq!(
            check_assignable(RoleRef::BuiltIn(BuiltInRole::SuperAdmin), Realm::Provider),
            Ok(())
        );
    }

    #[test]
    fn a_super_admin_cannot_be_a_consumer_mail_account() {
        let gmail =
            crate::EmailAddress::parse("boss@gmail.com").unwrap_or_else(|e| panic!("{e:?}"));
        let work =
            crate::EmailAddress::parse("boss@reseller.example").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            check_super_admin_email(&gmail),
            Err(DomainError::ConsumerAccountNotAllowed)
        );
        assert_eq!(check_super_admin_email(&work), Ok(()));
    }

    #[test]
    fn an_account_email_must_be_of_its_own_domain() {
        let domain =
            crate::DomainName::parse("reseller.example").unwrap_or_else(|e| panic!("{e:?}"));
        let own =
            crate::EmailAddress::parse("a@reseller.example").unwrap_or_else(|e| panic!("{e:?}"));
        let sub =
            crate::EmailAddress::parse("a@eu.reseller.example").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(check_email_in_domain(&own, &domain), Ok(()));
        assert_eq!(
            check_email_in_domain(&sub, &domain),
            Err(DomainError::EmailDomainMismatch)
        );
    }

    #[test]
    fn a_domain_keeps_at_least_one_active_super_admin() {
        assert_eq!(check_keeps_a_super_admin(1), Ok(()));
        assert_eq!(
            check_keeps_a_super_admin(0),
            Err(DomainError::LastSuperAdmin)
        );
    }

    #[test]
    fn an_administrator_changes_their_own_password_only_with_the_current_one() {
        let me = crate::UserId::generate();
        assert_eq!(
            check_password_change_target(me, me),
            Err(DomainError::CurrentPasswordRequired)
        );
        assert_eq!(
            check_password_change_target(me, crate::UserId::generate()),
            Ok(())
        );
    }

    #[test]
    fn only_custom_roles_can_be_deleted() {
        for b in BuiltInRole::ALL {
            assert_eq!(
                deletable_role(RoleRef::BuiltIn(b)),
                Err(DomainError::BuiltInRole)
            );
        }
        let id = RoleId::generate();
        assert_eq!(deletable_role(RoleRef::Custom(id)), Ok(id));
    }

    #[test]
    fn an_administrator_cannot_suspend_their_own_account() {
        let me = crate::UserId::generate();
        assert_eq!(
            check_suspension_target(me, me),
            Err(DomainError::CannotSuspendSelf)
        );
        assert_eq!(
            check_suspension_target(me, crate::UserId::generate()),
            Ok(())
        );
    }

    #[test]
    fn customer_users_need_support_or_super_admin_for_portal_access() {
        assert!(access(Realm::Customer, &[custom(&[Privilege::Support])]).has_portal_access());
        let none = access(Realm::Customer, &[custom(&[Privilege::ViewCustomers])]);
        assert_eq!(none.missing_privileges(), vec![Privilege::Support]);
    }

    #[test]
    fn a_provider_user_works_cases_only_with_support_and_provisions_only_as_super_admin() {
        let bare = access(Realm::Provider, &[]);
        assert_eq!(bare.missing_privileges(), vec![Privilege::Support]);
        for capability in [Capability::SupportCases, Capability::WorkCases] {
            assert_eq!(
                bare.require_capability(capability),
                Err(DomainError::PortalAccessRequired {
                    missing: vec![Privilege::Support]
                }),
                "{capability:?}"
            );
        }
        let agent = access(
            Realm::Provider,
            &[HeldRole::built_in(BuiltInRole::SupportAgent)],
        );
        assert!(agent.has_portal_access());
        assert_eq!(agent.require_capability(Capability::SupportCases), Ok(()));
        assert_eq!(agent.require_capability(Capability::WorkCases), Ok(()));
        for capability in [Capability::Provision, Capability::AdministerDomain] {
            assert_eq!(
                agent.require_capability(capability),
                Err(DomainError::SuperAdminRequired),
                "{capability:?}"
            );
        }
        let custom_support = access(Realm::Provider, &[custom(&[Privilege::Support])]);
        assert_eq!(
            custom_support.require_capability(Capability::SupportCases),
            Ok(())
        );
        assert!(BuiltInRole::SupportAgent.available_in(Realm::Provider));
        for realm in [Realm::Reseller, Realm::Customer] {
            assert_eq!(
                check_assignable(RoleRef::BuiltIn(BuiltInRole::SupportAgent), realm),
                Err(DomainError::RoleNotAvailableInRealm)
            );
        }
    }

    #[test]
    fn a_privilege_is_required_on_top_of_portal_access() {
        let a = access(
            Realm::Reseller,
            &[custom(&[Privilege::LegacyEnterpriseSupport])],
        );
        assert_eq!(a.require(Privilege::ViewCustomers), Ok(()));
        let b = access(Realm::Customer, &[custom(&[Privilege::Support])]);
        assert_eq!(
            b.require(Privilege::ViewCustomers),
            Err(DomainError::PrivilegeRequired {
                privilege: Privilege::ViewCustomers
            })
        );
    }

    /// Every (realm × privilege set × super admin) user against every capability.
    #[test]
    fn every_actor_kind_and_privilege_set_gets_exactly_the_capabilities_the_rules_give() {
        for realm in Realm::ALL {
            for set in every_privilege_set() {
                for super_admin in [false, true] {
                    let mut roles = vec![custom(&set)];
                    if super_admin {
                        roles.push(HeldRole::built_in(BuiltInRole::SuperAdmin));
                    }
                    let a = access(realm, &roles);
                    let legacy = set.iter().any(|p| p.is_legacy());
                    let has = |p: Privilege| {
                        super_admin
                            || set.contains(&p)
                            || (legacy && Privilege::PORTAL.contains(&p))
                    };
                    let reseller_portal = Privilege::PORTAL.iter().all(|p| has(*p));
                    for cap in Capability::ALL {
                        let expected: Result<(), DomainError> = match cap.realm() {
                            Some(r) if r != realm => Err(DomainError::WrongRealm { required: r }),
                            _ => match (cap, realm) {
                                (Capability::SignedIn, _) => Ok(()),
                                (Capability::ViewCustomers | Capability::WorkCustomerCases, _)
                                    if !reseller_portal =>
                                {
                                    Err(DomainError::PortalAccessRequired {
                                        missing: a.missing_privileges(),
                                    })
                                }
                                (Capability::ViewCustomers | Capability::WorkCustomerCases, _) => {
                                    Ok(())
                                }
                                (Capability::WorkOwnCases | Capability::SupportCases, _)
                                    if !has(Privilege::Support) =>
                                {
                                    Err(DomainError::PortalAccessRequired {
                                        missing: vec![Privilege::Support],
                                    })
                                }
                                (Capability::WorkOwnCases | Capability::SupportCases, _) => Ok(()),
                                (Capability::WorkCases, Realm::Reseller) if !reseller_portal => {
                                    Err(DomainError::PortalAccessRequired {
                                        missing: a.missing_privileges(),
                                    })
                                }
                                (Capability::WorkCases, Realm::Customer | Realm::Provider)
                                    if !has(Privilege::Support) =>
                                {
                                    Err(DomainError::PortalAccessRequired {
                                        missing: vec![Privilege::Support],
                                    })
                                }
                                (Capability::WorkCases, _) => Ok(()),
                                (_, _) if super_admin => Ok(()),
                                (_, _) => Err(DomainError::SuperAdminRequired),
                            },
                        };
                        assert_eq!(
                            a.require_capability(cap),
                            expected,
                            "{realm:?} {set:?} super_admin={super_admin} {cap:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn role_references_parse_built_in_names_and_custom_ids() {
        assert_eq!(
            RoleRef::parse("reseller_admin").ok(),
            Some(RoleRef::BuiltIn(BuiltInRole::ResellerAdmin))
        );
        let id = RoleId::generate();
        assert_eq!(
            RoleRef::parse(&id.to_string()).ok(),
            Some(RoleRef::Custom(id))
        );
        assert!(RoleRef::parse("admin").is_err());
    }

    #[test]
    fn the_old_support_center_redirects_users_who_see_customers_and_their_cases() {
        let cases = [
            ("cases/12345", "/v1/cases/12345"),
            (
                "cases/0193a5c0-0000-7000-8000-000000000001",
                "/v1/cases/0193a5c0-0000-7000-8000-000000000001",
            ),
            ("customers", "/v1/customers"),
            ("customers/", "/v1/customers"),
            ("", "/v1/cases"),
            ("reports/monthly", "/v1/cases"),
            ("cases", "/v1/cases"),
            ("cases/a/b", "/v1/cases"),
            ("cases/%2e%2e", "/v1/cases"),
        ];
        let privileged = [
            vec![
                Privilege::ViewCustomers,
                Privilege::AccessCustomerSupportCases,
            ],
            vec![Privilege::LegacyResellerEnterpriseSupport],
            vec![Privilege::LegacyEnterpriseSupport],
        ];
        for set in privileged {
            let a = access(Realm::Reseller, &[custom(&set)]);
            for (rest, target) in cases {
                assert_eq!(
                    legacy_support_center_redirect(&a, rest).as_deref(),
                    Ok(target),
                    "{set:?} {rest}"
                );
            }
        }
    }

    #[test]
    fn the_old_support_center_refuses_everyone_else() {
        let refused = [
            access(Realm::Reseller, &[]),
            access(Realm::Reseller, &[custom(&[Privilege::ViewCustomers])]),
            access(
                Realm::Reseller,
                &[custom(&[
                    Privilege::Support,
                    Privilege::AccessCustomerSupportCases,
                ])],
            ),
            access(
                Realm::Reseller,
                &[HeldRole::built_in(BuiltInRole::SupportManager)],
            ),
            access(
                Realm::Customer,
                &[HeldRole::built_in(BuiltInRole::SuperAdmin)],
            ),
            access(
                Realm::Provider,
                &[HeldRole::built_in(BuiltInRole::SuperAdmin)],
            ),
        ];
        for a in refused {
            assert_eq!(
                legacy_support_center_redirect(&a, "cases/1"),
                Err(DomainError::LegacySupportCenterRetired),
                "{a:?}"
            );
        }
    }
}
