//! The provider's provisioning: domains, customers (the partner sales console's data) and
//! transfers between resellers.

use actix_web::http::header;
use actix_web::{HttpResponse, get, patch, post, web};
use casebridge_domain::{
    CustomerId, DisplayName, DomainName, EmailAddress, FieldParser, Password, Realm,
};
use casebridge_persistence::PersistenceError;
use casebridge_persistence::repo::audit::{self, NewEvent};
use casebridge_persistence::repo::customers::{
    self, CustomerChanges, CustomerQuery, CustomerRecord, ManagedOrAll, NewCustomer,
};
use casebridge_persistence::repo::identity::{self, DomainRecord};
use casebridge_persistence::repo::locks;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::Provision;
use crate::extract::{ApiJson, ApiQuery, path_param, search_query};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, ErrorCode, Problem};
use crate::provisioning::{self, NewDomain};
use crate::retry::retrying;
use crate::state::AppState;
use crate::webhooks::publish;
use crate::wire;
use crate::wire::customers::{
    Contact, CustomerCursor, CustomerPath, PostalAddress, cursor_of, parse_contact,
    parse_postal_address,
};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_domain)
        .service(get_domain)
        .service(create_customer)
        .service(list_all_customers)
        .service(get_customer_record)
        .service(update_customer)
        .service(transfer_customer);
}

/// The first super admin of a new domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuperAdmin {
    /// Email, an address of the new domain (not a consumer account).
    #[schema(example = "admin@reseller.example.com")]
    #[schema(value_type = crate::wire::text::Email)]
    pub email: String,
    /// Display name.
    #[schema(value_type = crate::wire::text::NameText)]
    pub display_name: String,
    /// Password; when absent a one-time password is generated and returned once.
    #[schema(value_type = Option<crate::wire::text::NewPassword>)]
    pub password: Option<String>,
}

/// A new domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainRequest {
    /// DNS name of the domain.
    #[schema(example = "reseller.example.com")]
    #[schema(value_type = crate::wire::text::DomainNameText)]
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
#[tracing::instrument(skip_all)]
async fn create_domain(
    state: web::Data<AppState>,
    _actor: Authorized<Provision>,
    body: ApiJson<CreateDomainRequest>,
) -> Result<HttpResponse, ApiError> {
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

/// A customer as the provider keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderCustomer {
    /// Id.
    pub id: String,
    /// The organisation's name.
    pub name: String,
    /// Its own (customer-realm) domain.
    pub domain: String,
    /// Its reseller's domain.
    pub reseller_domain: String,
    /// Whether it authorised its reseller.
    pub reseller_access: wire::ResellerAccess,
    /// Its support tier.
    pub support_tier: wire::SupportTier,
    /// Its postal address.
    pub postal_address: PostalAddress,
    /// Its contact person.
    pub contact: Contact,
    /// Since when its reseller manages it.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub managed_since: OffsetDateTime,
    /// Created.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub update_time: OffsetDateTime,
}

impl From<CustomerRecord> for ProviderCustomer {
    fn from(c: CustomerRecord) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name,
            domain: c.domain_name,
            reseller_domain: c.reseller_domain_name,
            reseller_access: c.reseller_access.into(),
            support_tier: c.support_tier.into(),
            postal_address: c.postal_address.into(),
            contact: c.contact.into(),
            managed_since: c.managed_since,
            create_time: c.create_time,
            update_time: c.update_time,
        }
    }
}

/// A reseller's period of managing a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResellerPeriod {
    /// The reseller's domain.
    pub reseller_domain: String,
    /// From.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub start_time: OffsetDateTime,
    /// Until; absent while it still manages the customer.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_time: Option<OffsetDateTime>,
}

/// A customer with its support partners and the history of who managed it when.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderCustomerDetail {
    /// The customer.
    #[serde(flatten)]
    pub customer: ProviderCustomer,
    /// Its active support partners' domains.
    pub support_partners: Vec<String>,
    /// Which resellers managed it when, oldest first.
    pub reseller_history: Vec<ResellerPeriod>,
}

async fn detail(state: &AppState, id: CustomerId) -> Result<ProviderCustomerDetail, ApiError> {
    let db = state.db.reader();
    let customer = customers::find_customer(db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let partners = customers::support_partners(db, id).await?;
    let mut history = Vec::new();
    for (reseller, start_time, end_time) in customers::reseller_history(db, id).await? {
        let name = identity::find_domain(db, reseller)
            .await?
            .map(|d| d.name.to_string())
            .unwrap_or_default();
        history.push(ResellerPeriod {
            reseller_domain: name,
            start_time,
            end_time,
        });
    }
    Ok(ProviderCustomerDetail {
        customer: customer.into(),
        support_partners: partners.into_iter().map(|p| p.domain_name).collect(),
        reseller_history: history,
    })
}

/// A new customer, as the partner sales console records it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerRequest {
    /// The organisation's name.
    #[schema(example = "Acme Corporation")]
    #[schema(value_type = crate::wire::text::NameText)]
    pub name: String,
    /// Its own domain: an existing customer-realm domain.
    #[schema(example = "acme.example")]
    #[schema(value_type = crate::wire::text::DomainNameText)]
    pub domain: String,
    /// Its reseller: an existing reseller-realm domain.
    #[schema(value_type = crate::wire::text::DomainNameText)]
    pub reseller_domain: String,
    /// Its support tier.
    pub support_tier: wire::SupportTier,
    /// Its postal address.
    pub postal_address: PostalAddress,
    /// Its contact person.
    pub contact: Contact,
}

fn wrong_domain(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::invalid_field(field, code, message)
}

/// An existing domain of the realm, or a 422 naming the field.
async fn domain_of_realm(
    state: &AppState,
    field: &str,
    name: &DomainName,
    realm: Realm,
) -> Result<DomainRecord, ApiError> {
    let code = match realm {
        Realm::Customer => "not_a_customer_domain",
        Realm::Reseller => "not_a_reseller_domain",
        Realm::Provider => "not_a_provider_domain",
    };
    identity::find_domain_by_name(state.db.reader(), name.as_str())
        .await?
        .filter(|d| d.realm == realm)
        .ok_or_else(|| {
            wrong_domain(
                field,
                code,
                &format!("must be an existing {} domain", realm.as_str()),
            )
        })
}

/// Records a customer: it belongs to a reseller and has not authorised it yet (the customer's
/// super admin grants access with `PUT /v1/customer/reseller-access`).
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    request_body = CreateCustomerRequest,
    responses(
        (status = 201, description = "Created.", body = ProviderCustomerDetail, headers(("Location" = String, description = "The customer's URL"))),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The domain already has a customer record (`customer_exists`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or a domain does not exist in the right realm (`invalid_request`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/customers")]
#[tracing::instrument(skip_all)]
async fn create_customer(
    state: web::Data<AppState>,
    actor: Authorized<Provision>,
    body: ApiJson<CreateCustomerRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut p = FieldParser::new();
    let name = p.field("name", DisplayName::parse(&body.name));
    let domain = p.field("domain", DomainName::parse(&body.domain));
    let reseller = p.field("reseller_domain", DomainName::parse(&body.reseller_domain));
    let address = parse_postal_address(&mut p, "postal_address", &body.postal_address);
    let contact = parse_contact(&mut p, "contact", &body.contact);
    let (name, domain, reseller, address, contact) =
        p.finish(|| Some((name?, domain?, reseller?, address?, contact?)))?;
    let domain = domain_of_realm(&state, "domain", &domain, Realm::Customer).await?;
    let reseller = domain_of_realm(&state, "reseller_domain", &reseller, Realm::Reseller).await?;
    let now = state.clock.now();
    let tx = state.db.begin().await?;
    let id = customers::insert_customer(
        &tx,
        &NewCustomer {
            name: name.into_inner(),
            domain_id: domain.id,
            reseller_domain_id: reseller.id,
            support_tier: body.support_tier.into(),
            postal_address: address,
            contact,
        },
        now,
    )
    .await
    .map_err(|e| {
        ApiError::conflict_as(
            e,
            ErrorCode::CustomerExists,
            "The domain already has a customer record.",
        )
    })?;
    audit::record(
        &tx,
        &actor.audit(),
        NewEvent {
            action: "customer.created",
            subject_type: "customer",
            subject_id: id.to_string(),
            customer_id: Some(id),
            case_id: None,
            details: json!({"domain": domain.name.as_str(), "reseller_domain": reseller.name.as_str()}),
            audience: Vec::new(),
        },
        now,
    )
    .await?;
    tx.commit().await.map_err(PersistenceError::from)?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/provider/customers/{id}")))
        .json(detail(&state, id).await?))
}

list_query! {
    /// Query of the provider's customer list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListProviderCustomersQuery {
        /// Words that must appear in the customer's name or domain.
        #[param(value_type = Option<crate::wire::text::Keywords>)]
        pub q: Option<String>,
    }
}

list_response! {
    /// A page of customers.
    ListProviderCustomersResponse {
        /// The customers, by name.
        customers: ProviderCustomer,
        total_size: "How many customers match, over all pages.",
    }
}

/// Lists every customer.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(ListProviderCustomersQuery),
    responses(
        (status = 200, description = "A page of customers.", body = ListProviderCustomersResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/provider/customers")]
#[tracing::instrument(skip_all)]
async fn list_all_customers(
    state: web::Data<AppState>,
    _actor: Authorized<Provision>,
    query: ApiQuery<ListProviderCustomersQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = search_query(query.q.as_deref())?;
    let scope = format!("provider/customers|{}", q.as_deref().unwrap_or_default());
    let request = state.pages.request::<CustomerCursor>(scope, &*query)?;
    let (items, total_size) = customers::list_customers(
        state.db.reader(),
        &CustomerQuery {
            partner: None,
            q,
            after: request.after.clone(),
            limit: request.fetch(),
        },
    )
    .await?;
    let all: Vec<CustomerRecord> = items
        .into_iter()
        .map(|i| match i {
            ManagedOrAll::All(c) => c,
            ManagedOrAll::Managed(m) => m.customer,
        })
        .collect();
    let page = state.pages.page(request, all, total_size, cursor_of);
    Ok(HttpResponse::Ok().json(ListProviderCustomersResponse::from(
        page.map(ProviderCustomer::from),
    )))
}

/// Reads a customer with its support partners and reseller history.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CustomerPath),
    responses(
        (status = 200, description = "The customer.", body = ProviderCustomerDetail),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/provider/customers/{customer_id}")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn get_customer_record(
    state: web::Data<AppState>,
    _actor: Authorized<Provision>,
    path: web::Path<CustomerPath>,
) -> Result<HttpResponse, ApiError> {
    let id: CustomerId = path_param("customer_id", &path.customer_id)?;
    Ok(HttpResponse::Ok().json(detail(&state, id).await?))
}

/// Changes to a customer's sales-console data; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    /// The organisation's name.
    #[schema(value_type = Option<crate::wire::text::NameText>)]
    pub name: Option<String>,
    /// Its support tier.
    pub support_tier: Option<wire::SupportTier>,
    /// Its postal address (replaced whole).
    pub postal_address: Option<PostalAddress>,
    /// Its contact person (replaced whole).
    pub contact: Option<Contact>,
}

/// Updates a customer's name, support tier, postal address or contact. Its reseller changes
/// only by transfer.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CustomerPath),
    request_body = UpdateCustomerRequest,
    responses(
        (status = 200, description = "The customer.", body = ProviderCustomerDetail),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/provider/customers/{customer_id}")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn update_customer(
    state: web::Data<AppState>,
    actor: Authorized<Provision>,
    path: web::Path<CustomerPath>,
    body: ApiJson<UpdateCustomerRequest>,
) -> Result<HttpResponse, ApiError> {
    let id: CustomerId = path_param("customer_id", &path.customer_id)?;
    let mut p = FieldParser::new();
    let name = p.optional("name", body.name.as_deref(), DisplayName::parse);
    let address = body
        .postal_address
        .as_ref()
        .map(|a| parse_postal_address(&mut p, "postal_address", a));
    let contact = body
        .contact
        .as_ref()
        .map(|c| parse_contact(&mut p, "contact", c));
    let changes = p.finish(|| {
        Some(CustomerChanges {
            name: name.map(DisplayName::into_inner),
            support_tier: body.support_tier.map(Into::into),
            postal_address: address.flatten(),
            contact: contact.flatten(),
        })
    })?;
    let now = state.clock.now();
    let (state_ref, actor_ref, changes) = (&state, &actor, &changes);
    retrying(|| async move {
        let (state, actor) = (state_ref, actor_ref);
        let tx = state.db.begin().await?;
        locks::customer(&tx, id).await?;
        customers::update_customer(&tx, id, changes, now).await?;
        audit::record(
            &tx,
            &actor.audit(),
            NewEvent {
                action: "customer.updated",
                subject_type: "customer",
                subject_id: id.to_string(),
                customer_id: Some(id),
                case_id: None,
                details: json!({
                    "name": changes.name,
                    "support_tier": changes.support_tier.map(|t| t.as_str()),
                    "postal_address_changed": changes.postal_address.is_some(),
                    "contact_changed": changes.contact.is_some(),
                }),
                audience: Vec::new(),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail(&state, id).await?))
}

/// A transfer to another reseller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The new reseller's domain.
    #[schema(example = "other-reseller.example")]
    #[schema(value_type = crate::wire::text::DomainNameText)]
    pub to_reseller_domain: String,
}

/// Moves a customer to another reseller. The old reseller stops managing it; the new one
/// manages it once the customer authorises it; cases filed before the move leave both
/// resellers' sight. The history of who managed it when is kept.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CustomerPath),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The customer after the transfer.", body = ProviderCustomerDetail),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It already belongs to that reseller (`transfer_to_same_reseller`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/customers/{customer_id}/transfer")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn transfer_customer(
    state: web::Data<AppState>,
    actor: Authorized<Provision>,
    path: web::Path<CustomerPath>,
    body: ApiJson<TransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let id: CustomerId = path_param("customer_id", &path.customer_id)?;
    let mut p = FieldParser::new();
    let target = p.field(
        "to_reseller_domain",
        DomainName::parse(&body.to_reseller_domain),
    );
    let target = p.finish(|| target)?;
    let target = domain_of_realm(&state, "to_reseller_domain", &target, Realm::Reseller).await?;
    let now = state.clock.now();
    let (state_ref, actor_ref, target) = (&state, &actor, &target);
    retrying(|| async move {
        let (state, actor) = (state_ref, actor_ref);
        let tx = state.db.begin().await?;
        let customer = customers::lock_customer(&tx, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let before = customers::management(&tx, &customer).await?;
        let after = before.transfer_to(target.id)?;
        customers::apply_transfer(&tx, id, &before, &after, now).await?;
        publish::record_customer_event(
            &tx,
            &actor.audit(),
            NewEvent {
                action: "customer.transferred",
                subject_type: "customer",
                subject_id: id.to_string(),
                customer_id: Some(id),
                case_id: None,
                details: json!({
                    "from_reseller_domain": customer.reseller_domain_name,
                    "to_reseller_domain": target.name.as_str(),
                }),
                audience: vec![customer.reseller_domain_id, target.id],
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail(&state, id).await?))
}

/// A domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainSummary {
    /// Id.
    pub id: String,
    /// DNS name.
    pub name: String,
    /// Realm.
    pub realm: wire::Realm,
    /// Created.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
}

/// The id of a domain in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainPath {
    /// The domain's id.
    #[param(value_type = crate::wire::text::Id)]
    pub domain_id: String,
}

/// Reads a domain.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(DomainPath),
    responses(
        (status = 200, description = "The domain.", body = DomainSummary),
        (status = 403, description = "Only the provider's super admins provision (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/provider/domains/{domain_id}")]
#[tracing::instrument(skip_all, fields(domain_id = %path.domain_id))]
async fn get_domain(
    state: web::Data<AppState>,
    _actor: Authorized<Provision>,
    path: web::Path<DomainPath>,
) -> Result<HttpResponse, ApiError> {
    let id: casebridge_domain::DomainId = path_param("domain_id", &path.domain_id)?;
    let d = identity::find_domain(state.db.reader(), id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(DomainSummary {
        id: d.id.to_string(),
        name: d.name.to_string(),
        realm: d.realm.into(),
        create_time: d.create_time,
    }))
}
