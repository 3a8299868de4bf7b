//! The provider's provisioning: domains (customers and transfers come with the customers).

use actix_web::http::header;
use actix_web::{HttpResponse, post, web};
use casebridge_domain::{Capability, DisplayName, DomainName, EmailAddress, FieldParser, Password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::provisioning::{self, NewDomain};
use crate::state::AppState;
use crate::wire;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_domain);
}

/// The first super admin of a new domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuperAdmin {
    /// Email, an address of the new domain (not a consumer account).
    #[schema(example = "admin@reseller.example.com")]
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Password; when absent a one-time password is generated and returned once.
    pub password: Option<String>,
}

/// A new domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainRequest {
    /// DNS name of the domain.
    #[schema(example = "reseller.example.com")]
    pub name: String,
    /// Its realm.
    pub realm: wire::Realm,
    /// Its first super admin.
    pub super_admin: NewSuperAdmin,
}

/// The super admin of a domain just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSuperAdmin {
    /// The user's id.
    pub id: String,
    /// The user's email.
    pub email: String,
    /// The generated one-time password, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

/// A domain just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainView {
    /// Id.
    pub id: String,
    /// DNS name.
    pub name: String,
    /// Realm.
    pub realm: wire::Realm,
    /// Its first super admin.
    pub super_admin: CreatedSuperAdmin,
}

/// Creates a reseller, customer or provider domain with its first super admin.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    request_body = CreateDomainRequest,
    responses(
        (status = 201, description = "Created.", body = DomainView),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The domain exists (`domain_exists`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), the super admin's email is a consumer account (`consumer_account_not_allowed`) or not of the domain (`email_domain_mismatch`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/domains")]
async fn create_domain(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateDomainRequest>,
) -> Result<HttpResponse, ApiError> {
    actor.require(Capability::Provision)?;
    let body = body.0;
    let mut p = FieldParser::new();
    let name = p.field("name", DomainName::parse(&body.name));
    let email = p.field(
        "super_admin.email",
        EmailAddress::parse(&body.super_admin.email),
    );
    let admin_name = p.field(
        "super_admin.display_name",
        DisplayName::parse(&body.super_admin.display_name),
    );
    let password = match (&email, &body.super_admin.password) {
        (Some(e), Some(raw)) => p
            .field("super_admin.password", Password::parse(raw, e))
            .map(Some),
        _ => Some(None),
    };
    let new = p.finish(|| {
        Some(NewDomain {
            name: name?,
            realm: body.realm.into(),
            admin_email: email?,
            admin_name: admin_name?,
            admin_password: password?,
        })
    })?;
    let created = provisioning::create_domain(&state.db, new, state.clock.now()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/provider/domains/{}", created.domain.id),
        ))
        .json(DomainView {
            id: created.domain.id.to_string(),
            name: created.domain.name.to_string(),
            realm: created.domain.realm.into(),
            super_admin: CreatedSuperAdmin {
                id: created.admin.id.to_string(),
                email: created.admin.email.to_string(),
                one_time_password: created.one_time_password,
            },
        }))
}
