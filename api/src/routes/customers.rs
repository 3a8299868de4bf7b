//! The customers a reseller domain manages, as reseller or as support partner.

use actix_web::{HttpResponse, get, web};
use casebridge_domain::CustomerId;
use casebridge_persistence::repo::customers::{self, CustomerQuery, ManagedCustomer, ManagedOrAll};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::ViewCustomers;
use crate::extract::{ApiQuery, path_param, search_query};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire;
use crate::wire::customers::{Contact, CustomerCursor, CustomerPath, PostalAddress, cursor_of};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_customers).service(get_customer);
}

/// A customer as a partner domain sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    /// Id.
    pub id: String,
    /// The organisation's name.
    pub name: String,
    /// Its own domain.
    #[schema(example = "acme.example")]
    pub domain: String,
    /// How your domain relates to it.
    pub relationship: wire::Relationship,
    /// Whether it authorised its reseller to act on its behalf.
    pub reseller_access: wire::ResellerAccess,
    /// Its support tier.
    pub support_tier: wire::SupportTier,
    /// Its postal address.
    pub postal_address: PostalAddress,
    /// Its contact person.
    pub contact: Contact,
    /// Since when your domain manages it.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub managed_since: OffsetDateTime,
}

impl From<ManagedCustomer> for Customer {
    fn from(m: ManagedCustomer) -> Self {
        let c = m.customer;
        Self {
            id: c.id.to_string(),
            name: c.name,
            domain: c.domain_name,
            relationship: m.relationship.into(),
            reseller_access: c.reseller_access.into(),
            support_tier: c.support_tier.into(),
            postal_address: c.postal_address.into(),
            contact: c.contact.into(),
            managed_since: m.since,
        }
    }
}

list_query! {
    /// Query of the customer list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListCustomersQuery {
        /// Words that must appear in the customer's name or domain.
        #[param(value_type = Option<crate::wire::text::Keywords>)]
        pub q: Option<String>,
    }
}

list_response! {
    /// A page of customers.
    ListCustomersResponse {
        /// The customers, by name.
        customers: Customer,
        total_size: "How many customers match, over all pages.",
    }
}

/// Lists the customers your domain manages: as their reseller or as an active support
/// partner. Customers that revoked their reseller's access are listed with
/// `reseller_access: revoked`.
#[utoipa::path(
    tag = "customers",
    security(("bearer" = [])),
    params(ListCustomersQuery),
    responses(
        (status = 200, description = "A page of customers.", body = ListCustomersResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Reseller users with `view_customers` only (`wrong_realm`, `portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customers")]
#[tracing::instrument(skip_all)]
async fn list_customers(
    state: web::Data<AppState>,
    actor: Authorized<ViewCustomers>,
    query: ApiQuery<ListCustomersQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = search_query(query.q.as_deref())?;
    let scope = format!(
        "customers|{}|{}",
        actor.domain_id,
        q.as_deref().unwrap_or_default()
    );
    let request = state.pages.request::<CustomerCursor>(scope, &*query)?;
    let (items, total_size) = customers::list_customers(
        state.db.reader(),
        &CustomerQuery {
            partner: Some(actor.domain_id),
            q,
            after: request.after.clone(),
            limit: request.fetch(),
        },
    )
    .await?;
    let managed: Vec<ManagedCustomer> = items
        .into_iter()
        .filter_map(|i| match i {
            ManagedOrAll::Managed(m) => Some(m),
            ManagedOrAll::All(_) => None,
        })
        .collect();
    let page = state
        .pages
        .page(request, managed, total_size, |m| cursor_of(&m.customer));
    Ok(HttpResponse::Ok().json(ListCustomersResponse::from(page.map(Customer::from))))
}

/// Reads a customer your domain manages.
#[utoipa::path(
    tag = "customers",
    security(("bearer" = [])),
    params(CustomerPath),
    responses(
        (status = 200, description = "The customer.", body = Customer),
        (status = 403, description = "Reseller users with `view_customers` only (`wrong_realm`, `portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain does not manage such a customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customers/{customer_id}")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn get_customer(
    state: web::Data<AppState>,
    actor: Authorized<ViewCustomers>,
    path: web::Path<CustomerPath>,
) -> Result<HttpResponse, ApiError> {
    let id: CustomerId = path_param("customer_id", &path.customer_id)?;
    let managed = customers::find_managed_customer(state.db.reader(), actor.domain_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Customer::from(managed)))
}
