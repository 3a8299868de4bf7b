//! Users and roles of a domain, for its super admins.

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use casebridge_domain::access::{
    check_assignable, check_email_in_domain, check_keeps_a_super_admin,
    check_password_change_target, check_super_admin_email, check_suspension_target, deletable_role,
};
use casebridge_domain::privacy::{Participants, check_no_personal_data};
use casebridge_domain::{
    Access, BuiltInRole, DisplayName, DomainId, EmailAddress, FieldParser, HeldRole, OrgUnitPath,
    Password, Privilege as DomainPrivilege, RoleId, RoleName, RoleRef, UserId,
};
use casebridge_persistence::repo::identity::{
    self, AssignedRole, NewUser, UserChanges, UserRecord,
};
use casebridge_persistence::repo::locks;
use casebridge_persistence::{Connection, PersistenceError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::auth::actor::Authorized;
use crate::auth::actor::capability::AdministerDomain;
use crate::auth::password;
use crate::extract::{ApiJson, ApiQuery, nullable, path_param, search_query};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, Problem};
use crate::retry::retrying;
use crate::state::AppState;
use crate::wire;
use crate::wire::identity::{RoleView, UserView};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(set_user_roles)
        .service(list_roles)
        .service(create_role)
        .service(get_role)
        .service(delete_role);
}

fn view_of(actor: &Actor, user: &UserRecord, roles: &[AssignedRole]) -> UserView {
    let pairs: Vec<(HeldRole, String)> = roles
        .iter()
        .map(|r| (r.held.clone(), r.name.clone()))
        .collect();
    let held: Vec<HeldRole> = roles.iter().map(|r| r.held.clone()).collect();
    UserView::new(user, &Access::derive(actor.realm, &held), &pairs)
}

list_query! {
    /// Query of the user list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListUsersQuery {
        /// `false`: only users who cannot reach the portal (and why, in `missing_privileges`);
        /// `true`: only those who can.
        pub portal_access: Option<bool>,
        /// Words that must appear in the email or display name.
        #[param(value_type = Option<crate::wire::text::Keywords>)]
        pub q: Option<String>,
    }
}

list_response! {
    /// A page of users.
    ListUsersResponse {
        /// The users, by email.
        users: UserView,
        total_size: "How many users match, over all pages.",
    }
}

/// Lists the domain's users; `portal_access=false` shows who cannot reach the portal and why.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users.", body = ListUsersResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/users")]
#[tracing::instrument(skip_all)]
async fn list_users(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    query: ApiQuery<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let needle = search_query(query.q.as_deref())?
        .unwrap_or_default()
        .to_lowercase();
    let scope = format!(
        "admin/users|{}|{:?}|{}",
        actor.domain_id, query.portal_access, needle
    );
    let request = state.pages.request::<String>(scope, &query)?;
    // Domains hold hundreds of users, not millions: the rule for portal access is applied
    // by the domain layer to each, rather than re-expressed in SQL.
    let db = state.db.reader();
    let users = identity::list_users(db, actor.domain_id).await?;
    let roles = identity::domain_user_roles(db, actor.domain_id).await?;
    let matching: Vec<UserView> = users
        .iter()
        .map(|u| {
            view_of(
                &actor,
                u,
                roles.get(&u.id).map(Vec::as_slice).unwrap_or_default(),
            )
        })
        .filter(|v| {
            query
                .portal_access
                .is_none_or(|want| v.portal_access == want)
        })
        .filter(|v| {
            needle.is_empty()
                || needle
                    .split_whitespace()
                    .all(|w| v.email.contains(w) || v.display_name.to_lowercase().contains(w))
        })
        .collect();
    let total_size = matching.len() as u64;
    let rows: Vec<UserView> = matching
        .into_iter()
        .filter(|v| {
            request
                .after
                .as_ref()
                .is_none_or(|a| v.email.as_str() > a.as_str())
        })
        .take(usize::try_from(request.fetch()).unwrap_or(usize::MAX))
        .collect();
    let page = state
        .pages
        .page(request, rows, total_size, |v| v.email.clone());
    Ok(HttpResponse::Ok().json(ListUsersResponse::from(page)))
}

/// A new account in the domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Email in this domain.
    #[schema(example = "agent@reseller.example.com")]
    #[schema(value_type = crate::wire::text::Email)]
    pub email: String,
    /// Display name.
    #[schema(value_type = crate::wire::text::NameText)]
    pub display_name: String,
    /// Initial password (12..=128 characters); when absent a one-time password is generated
    /// and returned once.
    #[schema(value_type = Option<crate::wire::text::NewPassword>)]
    pub password: Option<String>,
    /// Organisational unit path, e.g. `/Support`.
    #[schema(value_type = Option<crate::wire::text::OrgUnit>)]
    pub org_unit: Option<String>,
    /// Where case mail goes instead of the email.
    #[schema(value_type = Option<crate::wire::text::Email>)]
    pub notification_email: Option<String>,
}

/// An account just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// The generated one-time password, shown this once; absent when a password was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

/// Creates an account in the domain (the email must be an address of this domain). It holds
/// no roles until some are assigned.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created.", body = CreatedUser, headers(("Location" = String, description = "The user's URL"))),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken in this domain (`user_exists`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), or the email is not of this domain (`email_domain_mismatch`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/users")]
#[tracing::instrument(skip_all)]
async fn create_user(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let mut p = FieldParser::new();
    let email = p.field("email", EmailAddress::parse(&body.email));
    let display_name = p.field("display_name", DisplayName::parse(&body.display_name));
    let org_unit = p.optional("org_unit", body.org_unit.as_deref(), OrgUnitPath::parse);
    let notification_email = p.optional(
        "notification_email",
        body.notification_email.as_deref(),
        EmailAddress::parse,
    );
    let password = match (&email, &body.password) {
        (Some(email), Some(raw)) => p.field("password", Password::parse(raw, email)),
        _ => None,
    };
    let (email, display_name) = p.finish(|| Some((email?, display_name?)))?;
    check_email_in_domain(&email, &actor.domain)?;
    let one_time = password.is_none().then(password::one_time_password);
    let secret = password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .or_else(|| one_time.clone())
        .unwrap_or_default();
    let hash = web::block(move || password::hash(&secret))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let new = NewUser {
        id: UserId::generate(),
        domain_id: actor.domain_id,
        email,
        display_name,
        password_hash: hash,
        must_change_password: one_time.is_some(),
        org_unit: org_unit.map(|o| o.as_str().to_owned()),
        notification_email,
    };
    let user = identity::insert_user(state.db.writer(), &new, state.clock.now())
        .await
        .map_err(|e| {
            ApiError::conflict_as(
                e,
                crate::problem::ErrorCode::UserExists,
                "A user with this email already exists in the domain.",
            )
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/users/{}", user.id)))
        .json(CreatedUser {
            user: view_of(&actor, &user, &[]),
            one_time_password: one_time,
        }))
}

/// The id of a user in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's id.
    #[param(value_type = crate::wire::text::Id)]
    pub user_id: String,
}

async fn load_user(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<(UserRecord, Vec<AssignedRole>), ApiError> {
    let id: UserId = path_param("user_id", raw)?;
    let db = state.db.reader();
    let user = identity::find_user(db, actor.domain_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let roles = identity::user_roles(db, id).await?;
    Ok((user, roles))
}

/// Reads one user of the domain.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/users/{user_id}")]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn get_user(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    let (user, roles) = load_user(&state, &actor, &path.user_id).await?;
    Ok(HttpResponse::Ok().json(view_of(&actor, &user, &roles)))
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// `true` suspends (every token stops working), `false` restores.
    pub suspended: Option<bool>,
    /// `true` replaces the password by a one-time password, returned once.
    pub reset_password: Option<bool>,
    /// A new password (every token stops working).
    #[schema(value_type = Option<crate::wire::text::NewPassword>)]
    pub password: Option<String>,
    /// Where case mail goes instead of the email; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<crate::wire::text::Email>)]
    pub notification_email: Option<Option<String>>,
    /// Display name.
    #[schema(value_type = Option<crate::wire::text::NameText>)]
    pub display_name: Option<String>,
    /// Organisational unit path; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<crate::wire::text::OrgUnit>)]
    pub org_unit: Option<Option<String>>,
}

/// An account after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatedUser {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// The new one-time password, when `reset_password` was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

/// Suspends or restores an account, resets its password, or changes where its case mail goes.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(UserPath),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed.", body = UpdatedUser),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`); your own password changes only with your current one, through `POST /v1/me/password` (`current_password_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You cannot suspend yourself (`cannot_suspend_self`), nor the last active super admin (`last_super_admin`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/users/{user_id}")]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn update_user(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<UserPath>,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, _) = load_user(&state, &actor, &path.user_id).await?;
    let body = body.0;
    let mut p = FieldParser::new();
    let display_name = p.optional(
        "display_name",
        body.display_name.as_deref(),
        DisplayName::parse,
    );
    let notification_email = match &body.notification_email {
        Some(Some(raw)) => p
            .field("notification_email", EmailAddress::parse(raw))
            .map(|e| Some(Some(e))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let org_unit = match &body.org_unit {
        Some(Some(raw)) => p
            .field("org_unit", OrgUnitPath::parse(raw))
            .map(|o| Some(Some(o.as_str().to_owned()))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let new_password = p.optional("password", body.password.as_deref(), |raw| {
        Password::parse(raw, &user.email)
    });
    if body.password.is_some() && body.reset_password == Some(true) {
        p.refuse(
            "reset_password",
            casebridge_domain::InvalidValue::new(
                "conflicting_fields",
                "give either password or reset_password, not both",
            ),
        );
    }
    let (notification_email, org_unit) = p.finish(|| Some((notification_email?, org_unit?)))?;
    if body.password.is_some() || body.reset_password == Some(true) {
        check_password_change_target(actor.user_id, user.id)?;
    }
    if body.suspended == Some(true) {
        check_suspension_target(actor.user_id, user.id)?;
    }
    let one_time = (body.reset_password == Some(true)).then(password::one_time_password);
    let secret = new_password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .or_else(|| one_time.clone());
    let password_hash = match secret {
        Some(secret) => Some((
            web::block(move || password::hash(&secret))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?,
            one_time.is_some(),
        )),
        None => None,
    };
    let changes = UserChanges {
        suspended: body.suspended,
        password_hash,
        notification_email,
        display_name,
        org_unit,
    };
    let now = state.clock.now();
    let (state_ref, actor_ref, changes) = (&state, &actor, &changes);
    let (updated, roles) = retrying(|| async move {
        let (state, actor) = (state_ref, actor_ref);
        let tx = state.db.begin().await?;
        // Whether the domain keeps an active super admin is decided with the domain locked:
        // two admins suspending each other cannot both succeed.
        locks::domain(&tx, actor.domain_id).await?;
        let user = identity::find_user(&tx, actor.domain_id, user.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let roles = identity::user_roles(&tx, user.id).await?;
        if changes.suspended == Some(true) && !user.suspended && holds_super_admin(&roles) {
            let active = active_super_admins(&tx, actor.domain_id).await?;
            check_keeps_a_super_admin(active.iter().filter(|id| **id != user.id).count())?;
        }
        let updated = identity::update_user(&tx, actor.domain_id, user.id, changes, now).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok((updated, roles))
    })
    .await?;
    state.auth_cache.invalidate(user.id);
    Ok(HttpResponse::Ok().json(UpdatedUser {
        user: view_of(&actor, &updated, &roles),
        one_time_password: one_time,
    }))
}

/// Whether the roles include the built-in super admin.
fn holds_super_admin(roles: &[AssignedRole]) -> bool {
    roles
        .iter()
        .any(|r| r.held.role == RoleRef::BuiltIn(BuiltInRole::SuperAdmin))
}

/// The unsuspended super admins of a domain, as the transaction sees them.
async fn active_super_admins(
    conn: &impl Connection,
    domain: DomainId,
) -> Result<Vec<UserId>, ApiError> {
    let ids = identity::users_with_built_in_role(conn, domain, BuiltInRole::SuperAdmin).await?;
    let mut active = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = identity::find_user(conn, domain, id).await?
            && !u.suspended
        {
            active.push(id);
        }
    }
    Ok(active)
}

/// The roles a user is to hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRolesRequest {
    /// Built-in role names (`super_admin`; `reseller_admin` in reseller domains,
    /// `support_agent` in the provider's) or custom role ids. The list
    /// replaces the user's roles.
    #[schema(example = json!(["reseller_admin"]))]
    #[schema(value_type = Vec<crate::wire::text::RoleId>)]
    pub roles: Vec<String>,
}

/// Replaces a user's roles. Takes effect on the user's next request: every token the user
/// holds stops working, and the next sign-in carries the new roles.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(UserPath),
    request_body = SetRolesRequest,
    responses(
        (status = 200, description = "The user with its new roles.", body = UserView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The domain would lose its last active super admin (`last_super_admin`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A role is unknown (`invalid_request`), retired (`role_retired`), not available in this realm (`role_not_available_in_realm`), or a super admin would use a consumer account (`consumer_account_not_allowed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/admin/users/{user_id}/roles")]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn set_user_roles(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<UserPath>,
    body: ApiJson<SetRolesRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, _) = load_user(&state, &actor, &path.user_id).await?;
    let mut p = FieldParser::new();
    let refs: Vec<Option<RoleRef>> = body
        .roles
        .iter()
        .enumerate()
        .map(|(i, raw)| p.field(format!("roles[{i}]"), RoleRef::parse(raw)))
        .collect();
    let refs: Vec<RoleRef> = p.finish(|| refs.into_iter().collect())?;
    for r in &refs {
        check_assignable(*r, actor.realm)?;
    }
    let custom_ids: Vec<RoleId> = refs
        .iter()
        .filter_map(|r| match r {
            RoleRef::Custom(id) => Some(*id),
            RoleRef::BuiltIn(_) => None,
        })
        .collect();
    let super_admin = RoleRef::BuiltIn(BuiltInRole::SuperAdmin);
    let gains_super_admin = refs.contains(&super_admin);
    if gains_super_admin {
        check_super_admin_email(&user.email)?;
    }
    let (state_ref, actor_ref, refs, custom_ids) = (&state, &actor, &refs, &custom_ids);
    retrying(|| async move {
        let (state, actor) = (state_ref, actor_ref);
        let tx = state.db.begin().await?;
        locks::domain(&tx, actor.domain_id).await?;
        // The custom roles are looked up here, with the domain locked: one deleted meanwhile
        // is refused as unknown, never written.
        let found = identity::find_roles(&tx, actor.domain_id, custom_ids).await?;
        let mut p = FieldParser::new();
        for (i, r) in refs.iter().enumerate() {
            if let RoleRef::Custom(id) = r
                && !found.iter().any(|f| f.id == *id)
            {
                p.refuse(
                    format!("roles[{i}]"),
                    casebridge_domain::InvalidValue::new(
                        "unknown_role",
                        "no custom role with this id in the domain",
                    ),
                );
            }
        }
        p.finish(|| Some(()))?;
        let user = identity::find_user(&tx, actor.domain_id, user.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let old_roles = identity::user_roles(&tx, user.id).await?;
        if holds_super_admin(&old_roles) && !gains_super_admin && !user.suspended {
            let active = active_super_admins(&tx, actor.domain_id).await?;
            check_keeps_a_super_admin(active.iter().filter(|id| **id != user.id).count())?;
        }
        identity::replace_roles(&tx, user.id, refs).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    state.auth_cache.invalidate(user.id);
    let roles = identity::user_roles(state.db.reader(), user.id).await?;
    let user = identity::find_user(state.db.reader(), actor.domain_id, user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view_of(&actor, &user, &roles)))
}

list_query! {
    /// Query of the role list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListRolesQuery {
    }
}

list_response! {
    /// The roles of the domain.
    ListRolesResponse {
        /// Built-in roles first, then custom roles by name.
        roles: RoleView,
        total_size: "How many roles there are.",
    }
}

/// Lists the roles users of the domain can hold: the built-in ones and the domain's custom
/// roles.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(ListRolesQuery),
    responses(
        (status = 200, description = "The roles.", body = ListRolesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/roles")]
#[tracing::instrument(skip_all)]
async fn list_roles(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    query: ApiQuery<ListRolesQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut all: Vec<RoleView> = BuiltInRole::ALL
        .into_iter()
        .filter(|b| b.available_in(actor.realm))
        .map(RoleView::built_in)
        .collect();
    for r in identity::list_roles(state.db.reader(), actor.domain_id).await? {
        all.push(RoleView {
            id: r.id.to_string(),
            name: r.name,
            built_in: false,
            retired: false,
            privileges: r.privileges.into_iter().map(Into::into).collect(),
        });
    }
    let scope = format!("admin/roles|{}", actor.domain_id);
    let page = state.pages.page_of(scope, all, &*query)?;
    Ok(HttpResponse::Ok().json(ListRolesResponse::from(page)))
}

/// A new custom role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    /// Name, unique in the domain.
    #[schema(example = "Support desk")]
    #[schema(value_type = crate::wire::text::RoleNameText)]
    pub name: String,
    /// Privileges it grants.
    pub privileges: Vec<wire::Privilege>,
}

/// Creates a custom role: a named set of privileges.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = CreateRoleRequest,
    responses(
        (status = 201, description = "Created.", body = RoleView, headers(("Location" = String, description = "The role's URL"))),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, by a custom role or a built-in one (`role_exists`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name is invalid (`invalid_request`) or holds personal data (`pii_detected`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/roles")]
#[tracing::instrument(skip_all)]
async fn create_role(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    body: ApiJson<CreateRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let mut p = FieldParser::new();
    let name = p.field("name", RoleName::parse(&body.name));
    let name = p.finish(|| name)?;
    // Role names are free text that every admin of the domain reads: no personal data.
    check_no_personal_data(
        [("name".to_owned(), name.as_str())],
        &Participants::default(),
    )?;
    if name.as_str().parse::<BuiltInRole>().is_ok() {
        // A built-in role of every domain already has the name.
        return Err(ApiError::new(
            crate::problem::ErrorCode::RoleExists,
            "A built-in role has this name.",
        ));
    }
    let privileges: BTreeSet<DomainPrivilege> =
        body.privileges.into_iter().map(Into::into).collect();
    let role = identity::insert_role(
        state.db.writer(),
        actor.domain_id,
        &name,
        &privileges,
        state.clock.now(),
    )
    .await
    .map_err(|e| {
        ApiError::conflict_as(
            e,
            crate::problem::ErrorCode::RoleExists,
            "A role with this name already exists in the domain.",
        )
    })?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/roles/{}", role.id)))
        .json(RoleView {
            id: role.id.to_string(),
            name: role.name,
            built_in: false,
            retired: false,
            privileges: role.privileges.into_iter().map(Into::into).collect(),
        }))
}

/// The id of a custom role in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RolePath {
    /// The custom role's id.
    #[param(value_type = crate::wire::text::RoleId)]
    pub role_id: String,
}

/// Reads a role: a built-in one by name, or a custom role of the domain by id.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(RolePath),
    responses(
        (status = 200, description = "The role.", body = RoleView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/roles/{role_id}")]
#[tracing::instrument(skip_all, fields(role_id = %path.role_id))]
async fn get_role(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<RolePath>,
) -> Result<HttpResponse, ApiError> {
    match RoleRef::parse(&path.role_id).map_err(|_| ApiError::not_found())? {
        RoleRef::BuiltIn(b) if b.available_in(actor.realm) => {
            Ok(HttpResponse::Ok().json(RoleView::built_in(b)))
        }
        RoleRef::BuiltIn(_) => Err(ApiError::not_found()),
        RoleRef::Custom(id) => {
            let role = identity::find_roles(state.db.reader(), actor.domain_id, &[id])
                .await?
                .into_iter()
                .next()
                .ok_or_else(ApiError::not_found)?;
            Ok(HttpResponse::Ok().json(RoleView {
                id: role.id.to_string(),
                name: role.name,
                built_in: false,
                retired: false,
                privileges: role.privileges.into_iter().map(Into::into).collect(),
            }))
        }
    }
}

/// Deletes a custom role. Its holders lose it at once (their tokens stop working).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(RolePath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such custom role in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Built-in roles cannot be deleted (`built_in_role`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/roles/{role_id}")]
#[tracing::instrument(skip_all, fields(role_id = %path.role_id))]
async fn delete_role(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<RolePath>,
) -> Result<HttpResponse, ApiError> {
    let id = deletable_role(path_param("role_id", &path.role_id)?)?;
    let (state_ref, actor_ref) = (&state, &actor);
    let holders = retrying(|| async move {
        // With the domain locked, as role assignments are: neither sees the other half-done.
        let tx = state_ref.db.begin().await?;
        locks::domain(&tx, actor_ref.domain_id).await?;
        let holders = identity::delete_role(&tx, actor_ref.domain_id, id).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(holders)
    })
    .await?;
    state.auth_cache.invalidate_many(&holders);
    Ok(HttpResponse::NoContent().finish())
}
