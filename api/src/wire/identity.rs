//! The wire shapes of users and roles, answered by the administration endpoints and by
//! `GET /v1/me`.

use casebridge_domain::{Access, BuiltInRole, HeldRole, RoleRef};
use casebridge_persistence::repo::identity::UserRecord;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::wire;

/// A role as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleView {
    /// A built-in role's name, or a custom role's id: what role assignment takes.
    #[schema(example = "reseller_admin")]
    pub id: String,
    /// The role's name.
    pub name: String,
    /// Whether the role is built in.
    pub built_in: bool,
    /// Whether the role is retired (grants nothing, cannot be assigned).
    pub retired: bool,
    /// The privileges it grants.
    pub privileges: Vec<wire::Privilege>,
}

impl RoleView {
    /// The view of a held role.
    pub fn from_held((held, name): &(HeldRole, String)) -> Self {
        match held.role {
            RoleRef::BuiltIn(b) => Self::built_in(b),
            RoleRef::Custom(id) => Self {
                id: id.to_string(),
                name: name.clone(),
                built_in: false,
                retired: false,
                privileges: held.custom_privileges.iter().map(|p| (*p).into()).collect(),
            },
        }
    }

    /// The view of a built-in role.
    pub fn built_in(role: BuiltInRole) -> Self {
        Self {
            id: role.as_str().to_owned(),
            name: role.as_str().to_owned(),
            built_in: true,
            retired: role.is_retired(),
            privileges: role.privileges().into_iter().map(Into::into).collect(),
        }
    }
}

/// A user account as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Email (the sign-in name).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Where case mail goes instead of `email`, when set.
    pub notification_email: Option<String>,
    /// Organisational unit path.
    pub org_unit: Option<String>,
    /// Whether the account is suspended.
    pub suspended: bool,
    /// Whether the password is a one-time password to be changed.
    pub must_change_password: bool,
    /// Roles held.
    pub roles: Vec<RoleView>,
    /// Whether the user may use the portal's endpoints.
    pub portal_access: bool,
    /// What the user would need for portal access; empty when it has it.
    pub missing_privileges: Vec<wire::Privilege>,
    /// Created.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub update_time: OffsetDateTime,
}

impl UserView {
    /// The view of a user with its access and roles.
    pub fn new(user: &UserRecord, access: &Access, roles: &[(HeldRole, String)]) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            display_name: user.display_name.clone(),
            notification_email: user.notification_email.as_ref().map(ToString::to_string),
            org_unit: user.org_unit.clone(),
            suspended: user.suspended,
            must_change_password: user.must_change_password,
            roles: roles.iter().map(RoleView::from_held).collect(),
            portal_access: access.has_portal_access(),
            missing_privileges: access
                .missing_privileges()
                .into_iter()
                .map(Into::into)
                .collect(),
            create_time: user.create_time,
            update_time: user.update_time,
        }
    }
}
