//! A customer organisation's own view: its reseller's access and its support partners.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, put, web};
use casebridge_domain::{DomainError, DomainName, Realm, ResellerAccess};
use casebridge_persistence::PersistenceError;
use casebridge_persistence::repo::audit::NewEvent;
use casebridge_persistence::repo::customers::{self, CustomerRecord};
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::locks;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::auth::actor::Authorized;
use crate::auth::actor::capability::{ManageCustomerRelationships, WorkOwnCases};
use crate::cases;
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, ErrorCode, Problem};
use crate::retry::retrying;
use crate::state::AppState;
use crate::webhooks::publish;
use crate::wire;
use crate::wire::cases::{CustomerCasesQuery, ListCasesResponse};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_own_cases)
        .service(get_reseller_access)
        .service(set_reseller_access)
        .service(list_support_partners)
        .service(add_support_partner)
        .service(get_support_partner)
        .service(remove_support_partner);
}

/// The customer record of the actor's own (customer-realm) domain.
pub async fn own_customer(state: &AppState, actor: &Actor) -> Result<CustomerRecord, ApiError> {
    customers::find_customer_by_domain(state.db.reader(), actor.domain_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "Your domain has no customer record yet; your reseller's provider creates it.",
            )
        })
}

/// Whether the customer authorises its reseller.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResellerAccessView {
    /// Whether the reseller may file and manage your cases.
    pub granted: bool,
    /// Your reseller's domain.
    pub reseller_domain: String,
    /// Same as `granted`, as a word.
    pub reseller_access: wire::ResellerAccess,
}

fn access_view(c: &CustomerRecord) -> ResellerAccessView {
    ResellerAccessView {
        granted: c.reseller_access.is_granted(),
        reseller_domain: c.reseller_domain_name.clone(),
        reseller_access: c.reseller_access.into(),
    }
}

/// Tells whether your reseller may file and manage your cases.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The reseller's access.", body = ResellerAccessView),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain has no customer record (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customer/reseller-access")]
#[tracing::instrument(skip_all)]
async fn get_reseller_access(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
) -> Result<HttpResponse, ApiError> {
    let customer = own_customer(&state, &actor).await?;
    Ok(HttpResponse::Ok().json(access_view(&customer)))
}

/// Granting or revoking the reseller's access.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetResellerAccess {
    /// `true` authorises your reseller to file and manage your cases; `false` withdraws it.
    pub granted: bool,
}

/// Grants or revokes your reseller's access; it takes effect on the reseller's very next
/// request.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    request_body = SetResellerAccess,
    responses(
        (status = 200, description = "The reseller's access now.", body = ResellerAccessView),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain has no customer record (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/customer/reseller-access")]
#[tracing::instrument(skip_all)]
async fn set_reseller_access(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
    body: ApiJson<SetResellerAccess>,
) -> Result<HttpResponse, ApiError> {
    let id = own_customer(&state, &actor).await?.id;
    let access = ResellerAccess::from_granted(body.granted);
    let now = state.clock.now();
    let (state, actor) = (&state, &actor);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        let customer = customers::lock_customer(&tx, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if access == customer.reseller_access {
            return Ok(());
        }
        customers::set_reseller_access(&tx, customer.id, access, now).await?;
        publish::record_customer_event(
            &tx,
            &actor.audit(),
            NewEvent {
                action: if access.is_granted() {
                    "customer.reseller_access_granted"
                } else {
                    "customer.reseller_access_revoked"
                },
                subject_type: "customer",
                subject_id: customer.id.to_string(),
                customer_id: Some(customer.id),
                case_id: None,
                details: json!({"reseller_domain": customer.reseller_domain_name}),
                audience: vec![customer.reseller_domain_id],
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    let customer = own_customer(state, actor).await?;
    Ok(HttpResponse::Ok().json(access_view(&customer)))
}

/// A support partner of the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportPartner {
    /// The partner's reseller domain.
    #[schema(example = "helpdesk-partner.example")]
    pub partner_domain: String,
    /// Since when it supports you.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
}

list_query! {
    /// Query of the support-partner list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListSupportPartnersQuery {
    }
}

list_response! {
    /// The customer's support partners.
    ListSupportPartnersResponse {
        /// By domain name.
        support_partners: SupportPartner,
        total_size: "How many there are.",
    }
}

/// Lists your active support partners.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    params(ListSupportPartnersQuery),
    responses(
        (status = 200, description = "Your support partners.", body = ListSupportPartnersResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain has no customer record (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customer/support-partners")]
#[tracing::instrument(skip_all)]
async fn list_support_partners(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
    query: ApiQuery<ListSupportPartnersQuery>,
) -> Result<HttpResponse, ApiError> {
    let customer = own_customer(&state, &actor).await?;
    let all: Vec<SupportPartner> = customers::support_partners(state.db.reader(), customer.id)
        .await?
        .into_iter()
        .map(|p| SupportPartner {
            partner_domain: p.domain_name,
            since: p.since,
        })
        .collect();
    let scope = format!("customer/support-partners|{}", customer.id);
    let page = state.pages.page_of(scope, all, &*query)?;
    Ok(HttpResponse::Ok().json(ListSupportPartnersResponse::from(page)))
}

/// A new support partner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSupportPartner {
    /// An existing reseller domain.
    #[schema(example = "helpdesk-partner.example")]
    #[schema(value_type = crate::wire::text::DomainNameText)]
    pub partner_domain: String,
}

fn invalid_partner(message: &str) -> ApiError {
    ApiError::invalid_field("partner_domain", "not_a_reseller_domain", message)
}

/// Takes on a support partner: active at once, no approval needed. It sees your cases filed
/// from now on while the partnership lasts.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    request_body = AddSupportPartner,
    responses(
        (status = 201, description = "The partnership.", body = SupportPartner, headers(("Location" = String, description = "The partnership's URL"))),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain has no customer record (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It already is a support partner (`support_partner_exists`) or it is your reseller (`support_partner_is_reseller`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The domain is not an existing reseller domain (`invalid_request`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/customer/support-partners")]
#[tracing::instrument(skip_all)]
async fn add_support_partner(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
    body: ApiJson<AddSupportPartner>,
) -> Result<HttpResponse, ApiError> {
    let customer = own_customer(&state, &actor).await?;
    let name = DomainName::parse(&body.partner_domain).map_err(|e| invalid_partner(&e.message))?;
    let partner = identity::find_domain_by_name(state.db.reader(), name.as_str())
        .await?
        .filter(|d| d.realm == Realm::Reseller)
        .ok_or_else(|| invalid_partner("must be an existing reseller domain"))?;
    let now = state.clock.now();
    let (state, actor, partner_ref) = (&state, &actor, &partner);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        let customer = customers::lock_customer(&tx, customer.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let management = customers::management(&tx, &customer).await?;
        management.check_add_support_partner(partner_ref.id)?;
        customers::add_support_partner(&tx, customer.id, partner_ref.id, now)
            .await
            .map_err(|e| {
                if e.is_conflict() {
                    PersistenceError::Rule(DomainError::SupportPartnerExists)
                } else {
                    e
                }
            })?;
        publish::record_customer_event(
            &tx,
            &actor.audit(),
            NewEvent {
                action: "customer.support_partner_added",
                subject_type: "customer",
                subject_id: customer.id.to_string(),
                customer_id: Some(customer.id),
                case_id: None,
                details: json!({"partner_domain": partner_ref.name.as_str()}),
                audience: vec![partner_ref.id],
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/customer/support-partners/{}", partner.name),
        ))
        .json(SupportPartner {
            partner_domain: partner.name.to_string(),
            since: now,
        }))
}

/// The partner domain in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PartnerPath {
    /// The support partner's domain.
    #[param(value_type = crate::wire::text::DomainNameText)]
    pub partner_domain: String,
}

/// Reads one support partnership.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    params(PartnerPath),
    responses(
        (status = 200, description = "The partnership.", body = SupportPartner),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such support partner (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customer/support-partners/{partner_domain}")]
#[tracing::instrument(skip_all, fields(partner_domain = %path.partner_domain))]
async fn get_support_partner(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
    path: web::Path<PartnerPath>,
) -> Result<HttpResponse, ApiError> {
    let customer = own_customer(&state, &actor).await?;
    let name = path.partner_domain.trim().to_ascii_lowercase();
    let partner = customers::support_partners(state.db.reader(), customer.id)
        .await?
        .into_iter()
        .find(|p| p.domain_name == name)
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(SupportPartner {
        partner_domain: partner.domain_name,
        since: partner.since,
    }))
}

/// Ends a support partnership: the partner loses sight of your cases at once.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    params(PartnerPath),
    responses(
        (status = 204, description = "Ended."),
        (status = 403, description = "Customer super admins only (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such support partner (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/customer/support-partners/{partner_domain}")]
#[tracing::instrument(skip_all, fields(partner_domain = %path.partner_domain))]
async fn remove_support_partner(
    state: web::Data<AppState>,
    actor: Authorized<ManageCustomerRelationships>,
    path: web::Path<PartnerPath>,
) -> Result<HttpResponse, ApiError> {
    let customer = own_customer(&state, &actor).await?;
    let name = DomainName::parse(&path.partner_domain).map_err(|_| ApiError::not_found())?;
    let partner = identity::find_domain_by_name(state.db.reader(), name.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = state.clock.now();
    let (state, actor, partner) = (&state, &actor, &partner);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        locks::customer(&tx, customer.id).await?;
        if !customers::remove_support_partner(&tx, customer.id, partner.id).await? {
            return Err(ApiError::not_found());
        }
        publish::record_customer_event(
            &tx,
            &actor.audit(),
            NewEvent {
                action: "customer.support_partner_removed",
                subject_type: "customer",
                subject_id: customer.id.to_string(),
                customer_id: Some(customer.id),
                case_id: None,
                details: json!({"partner_domain": partner.name.as_str()}),
                audience: vec![partner.id],
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your organisation's cases, those your partners filed on your behalf included.
#[utoipa::path(
    tag = "customer",
    security(("bearer" = [])),
    params(CustomerCasesQuery),
    responses(
        (status = 200, description = "A page of cases.", body = ListCasesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Customer users with portal access only (`wrong_realm`, `portal_access_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customer/cases")]
#[tracing::instrument(skip_all)]
async fn list_own_cases(
    state: web::Data<AppState>,
    actor: Authorized<WorkOwnCases>,
    query: ApiQuery<CustomerCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = query.filters_for(None);
    let page = cases::list_for(&state, "customer/cases", actor.viewer(), filters, &*query).await?;
    Ok(HttpResponse::Ok().json(ListCasesResponse::from(page)))
}
