//! Signing in to one domain, signing out, and who you are.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use casebridge_domain::{DomainName, EmailAddress, Password, Privilege as DomainPrivilege};
use casebridge_persistence::repo::identity::{self, UserChanges, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::SignedIn;
use crate::auth::password::{self, Verification};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ErrorCode, Problem};
use crate::state::{AppState, Limited};
use crate::wire;
use crate::wire::identity::{RoleView, UserView};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_token)
        .service(logout)
        .service(get_me)
        .service(change_password);
}

/// Sign-in to one domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The domain to sign in to, e.g. `reseller.example.com`.
    #[schema(example = "reseller.example.com")]
    pub domain: String,
    /// The account's email.
    #[schema(example = "admin@reseller.example.com")]
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// A token for one domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The domain the token is for.
    pub domain: String,
    /// The domain's realm.
    pub realm: wire::Realm,
    /// Whether the password is a one-time password to change with `POST /v1/me/password`.
    pub must_change_password: bool,
}

/// The least time a failed sign-in takes. Verifying a password costs what its hash costs: an
/// imported bcrypt hash, a weak imported argon2 hash, a current one or the dummy hash of an
/// unknown user each take their own time, which tells an attacker which accounts exist and
/// which came from the old support center. Every failure waits until this much time has passed
/// since the request arrived, well above the slowest verification (about 120 ms, for an
/// imported bcrypt hash of cost 12 in a release build).
pub const FAILED_SIGN_IN_FLOOR: std::time::Duration = std::time::Duration::from_millis(300);

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "The domain, email or password is not right.",
    )
}

/// Signs in to one domain and returns a token for it.
///
/// Unknown domains, unknown users and wrong passwords answer alike. Repeated failures for an
/// account or from an address are refused for a while with `429` and `Retry-After`.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 401, description = "The credentials are not valid (`invalid_credentials`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended (`account_suspended`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/token")]
#[tracing::instrument(skip_all)]
async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let started = tokio::time::Instant::now();
    let body = body.0;
    let now = state.clock.now();
    let account_key = format!(
        "{}/{}",
        body.domain.trim().to_ascii_lowercase(),
        body.email.trim().to_ascii_lowercase()
    );
    let address_key = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let throttles = &state.sign_in;
    let throttled = |which: Limited, wait| {
        ApiError::too_many_requests(
            "Too many failed sign-ins; wait before trying again.",
            which.policy(),
            wait,
        )
    };
    // Each attempt takes its place under both limits before the password is verified; the
    // address first, so that one client cannot fill the account counts with made-up accounts.
    let address = throttles
        .reserve(Limited::Address, &address_key, now)
        .await?
        .map_err(|wait| throttled(Limited::Address, wait))?;
    let account = match throttles
        .reserve(Limited::Account, &account_key, now)
        .await?
    {
        Ok(account) => account,
        Err(wait) => {
            throttles.release(address).await?;
            return Err(throttled(Limited::Account, wait));
        }
    };
    // A failure of ours is no failed sign-in: the places go back before the error does.
    let checked = async {
        let user = find_user(&state, &body.domain, &body.email).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let given = body.password.clone();
        let verification = web::block(move || match stored {
            Some(hash) => password::verify(&given, &hash),
            None => password::verify_nothing(&given),
        })
        .await
        .map_err(ApiError::internal)?;
        Ok::<_, ApiError>((user, verification))
    }
    .await;
    let (user, verification) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            throttles.release(account).await?;
            throttles.release(address).await?;
            return Err(e);
        }
    };
    let (user, needs_rehash) = match (user, verification) {
        (Some(user), Verification::Valid { needs_rehash }) => (user, needs_rehash),
        // The reserved places stay taken: they were failures.
        _ => {
            tokio::time::sleep_until(started + FAILED_SIGN_IN_FLOOR).await;
            return Err(invalid_credentials());
        }
    };
    throttles.clear(Limited::Account, &account_key).await?;
    throttles.release(address).await?;
    if user.suspended {
        return Err(ApiError::new(
            ErrorCode::AccountSuspended,
            "The account is suspended; ask a super admin of your domain to restore it.",
        ));
    }
    if needs_rehash {
        rehash(&state, &user, body.password).await;
    }
    let domain = identity::find_domain(state.db.reader(), user.domain_id)
        .await?
        .ok_or_else(invalid_credentials)?;
    let issued = state
        .tokens
        .issue(
            user.id,
            domain.name.as_str(),
            domain.realm,
            user.token_version,
            now,
        )
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: issued.token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
        domain: domain.name.to_string(),
        realm: domain.realm.into(),
        must_change_password: user.must_change_password,
    }))
}

async fn find_user(
    state: &AppState,
    domain: &str,
    email: &str,
) -> Result<Option<UserRecord>, ApiError> {
    // Only well-formed names reach the database; anything else is an unknown user.
    let (Ok(domain), Ok(email)) = (DomainName::parse(domain), EmailAddress::parse(email)) else {
        return Ok(None);
    };
    let Some(domain) = identity::find_domain_by_name(state.db.reader(), domain.as_str()).await?
    else {
        return Ok(None);
    };
    Ok(identity::find_user_by_email(state.db.reader(), domain.id, email.as_str()).await?)
}

/// Stores a stronger hash of a password that verified against a weaker one. A failure only
/// postpones the upgrade to the next sign-in.
async fn rehash(state: &AppState, user: &UserRecord, password: String) {
    let hashed = web::block(move || password::hash(&password)).await;
    match hashed {
        Ok(Ok(hash)) => {
            if let Err(e) = identity::rehash_password(state.db.writer(), user.id, &hash).await {
                tracing::warn!(error = %e, "could not store the upgraded password hash");
            }
        }
        _ => tracing::warn!("could not upgrade a password hash"),
    }
}

/// Signs out: the presented token stops working at once.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out."))
)]
#[post("/v1/auth/logout")]
#[tracing::instrument(skip_all)]
async fn logout(
    state: web::Data<AppState>,
    actor: Authorized<SignedIn>,
) -> Result<HttpResponse, ApiError> {
    identity::revoke_token(
        state.db.writer(),
        actor.jti,
        actor.user_id,
        actor.token_expires_at,
    )
    .await?;
    state.auth_cache.invalidate(actor.user_id);
    Ok(HttpResponse::NoContent().finish())
}

/// A notice for the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// Stable code of the notice.
    #[schema(example = "support_manager_role_retired")]
    pub code: String,
    /// What it says.
    pub message: String,
}

/// Who you are, and what you may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// Your account.
    pub user: UserView,
    /// The domain your token is for.
    pub domain: String,
    /// The domain's realm.
    pub realm: wire::Realm,
    /// Your roles.
    pub roles: Vec<RoleView>,
    /// The privileges you hold (a legacy privilege implies the three portal privileges).
    pub privileges: Vec<wire::Privilege>,
    /// Whether you may use the portal's endpoints.
    pub portal_access: bool,
    /// What you would need for portal access; empty when you have it.
    pub missing_privileges: Vec<wire::Privilege>,
    /// Things you should know, such as a retired role you still hold.
    pub notices: Vec<NoticeView>,
}

/// Tells who you are: your account, domain, roles, privileges and portal access.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "You.", body = MeResponse))
)]
#[get("/v1/me")]
#[tracing::instrument(skip_all)]
async fn get_me(
    state: web::Data<AppState>,
    actor: Authorized<SignedIn>,
) -> Result<HttpResponse, ApiError> {
    let user = identity::find_user(state.db.reader(), actor.domain_id, actor.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = &actor.access;
    Ok(HttpResponse::Ok().json(MeResponse {
        user: UserView::new(&user, access, &actor.roles),
        domain: actor.domain.to_string(),
        realm: actor.realm.into(),
        roles: actor.roles.iter().map(RoleView::from_held).collect(),
        privileges: DomainPrivilege::ALL
            .into_iter()
            .filter(|p| access.grants(*p))
            .map(Into::into)
            .collect(),
        portal_access: access.has_portal_access(),
        missing_privileges: access
            .missing_privileges()
            .into_iter()
            .map(Into::into)
            .collect(),
        notices: access
            .notices()
            .into_iter()
            .map(|n| NoticeView {
                code: n.code().to_owned(),
                message: n.message().to_owned(),
            })
            .collect(),
    }))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new password: 12 to 128 characters, not containing your email or user name.
    #[schema(value_type = crate::wire::text::NewPassword)]
    pub new_password: String,
}

/// Changes your password (a one-time password must be changed this way). Every token you
/// hold stops working; sign in again with the new password.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; sign in again."),
        (status = 401, description = "The current password is not right (`invalid_credentials`), or the token is not valid (`unauthenticated`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords for this account (`too_many_requests`); see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/password")]
#[tracing::instrument(skip_all)]
async fn change_password(
    state: web::Data<AppState>,
    actor: Authorized<SignedIn>,
    body: ApiJson<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let new = Password::parse(&body.new_password, &actor.email).map_err(|e| {
        ApiError::from(casebridge_domain::DomainError::InvalidFields(vec![
            casebridge_domain::FieldError {
                field: "new_password".to_owned(),
                error: e,
            },
        ]))
    })?;
    // Wrong current passwords count like failed sign-ins of the account: a stolen token is no
    // guessing oracle. The attempt takes its place before the hash is verified.
    let account_key = format!(
        "{}/{}",
        actor.domain.as_str().to_ascii_lowercase(),
        actor.email.as_str().to_ascii_lowercase()
    );
    let now = state.clock.now();
    state
        .sign_in
        .reserve(Limited::Account, &account_key, now)
        .await?
        .map_err(|wait| {
            ApiError::too_many_requests(
                "Too many wrong current passwords; wait before trying again.",
                Limited::Account.policy(),
                wait,
            )
        })?;
    let user = identity::find_user(state.db.reader(), actor.domain_id, actor.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let current = body.current_password;
    let stored = user.password_hash.clone();
    let secret = new.expose().to_owned();
    // The new password is hashed only once the current one is right.
    let hash = web::block(move || match password::verify(&current, &stored) {
        Verification::Invalid => None,
        Verification::Valid { .. } => Some(password::hash(&secret)),
    })
    .await
    .map_err(ApiError::internal)?;
    let Some(hash) = hash else {
        return Err(invalid_credentials());
    };
    state.sign_in.clear(Limited::Account, &account_key).await?;
    let hash = hash.map_err(ApiError::internal)?;
    let changes = UserChanges {
        password_hash: Some((hash, false)),
        ..UserChanges::default()
    };
    identity::update_user(
        state.db.writer(),
        actor.domain_id,
        actor.user_id,
        &changes,
        state.clock.now(),
    )
    .await?;
    state.auth_cache.invalidate(actor.user_id);
    Ok(HttpResponse::NoContent().finish())
}
