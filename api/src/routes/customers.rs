//! The customers a reseller domain manages, as reseller or as support partner.

use actix_web::{HttpResponse, get, web};
use casebridge_domain::{
    Contact as DomainContact, CountryCode, CustomerId, DisplayName, EmailAddress, FieldParser,
    PhoneNumber, PostalAddress as DomainPostalAddress, ShortText,
};
use casebridge_persistence::repo::customers::{
    self, ContactData, CustomerQuery, CustomerRecord, ManagedCustomer, ManagedOrAll,
    PostalAddressData,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::ViewCustomers;
use crate::extract::{ApiQuery, path_param, search_query};
use crate::pagination::page_size;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_customers).service(get_customer);
}

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street lines, 1 to 5.
    #[schema(example = json!(["1 Market Street", "Floor 3"]))]
    #[schema(value_type = Vec<crate::wire::text::ShortLine>, min_items = 1, max_items = 5)]
    pub lines: Vec<String>,
    /// City or town.
    #[schema(example = "Springfield")]
    #[schema(value_type = crate::wire::text::ShortLine)]
    pub locality: String,
    /// State, county or province.
    #[schema(value_type = Option<crate::wire::text::ShortLine>)]
    pub region: Option<String>,
    /// Postal code.
    #[schema(value_type = Option<crate::wire::text::ShortLine>)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "US")]
    #[schema(value_type = crate::wire::text::Country)]
    pub country_code: String,
}

/// The customer's contact person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    #[schema(value_type = crate::wire::text::NameText)]
    pub name: String,
    /// Email.
    #[schema(value_type = crate::wire::text::Email)]
    pub email: String,
    /// Phone.
    #[schema(value_type = Option<crate::wire::text::Phone>)]
    pub phone: Option<String>,
}

impl From<PostalAddressData> for PostalAddress {
    fn from(d: PostalAddressData) -> Self {
        Self {
            lines: d.lines,
            locality: d.locality,
            region: d.region,
            postal_code: d.postal_code,
            country_code: d.country_code,
        }
    }
}

impl From<ContactData> for Contact {
    fn from(d: ContactData) -> Self {
        Self {
            name: d.name,
            email: d.email,
            phone: d.phone,
        }
    }
}

/// Parses a postal address, naming refused fields under `prefix`.
pub fn parse_postal_address(
    p: &mut FieldParser,
    prefix: &str,
    a: &PostalAddress,
) -> Option<PostalAddressData> {
    if a.lines.is_empty() || a.lines.len() > DomainPostalAddress::MAX_LINES {
        p.refuse(
            format!("{prefix}.lines"),
            casebridge_domain::InvalidValue::new("invalid_length", "must have 1 to 5 lines"),
        );
    }
    let lines: Vec<Option<ShortText>> = a
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| p.field(format!("{prefix}.lines[{i}]"), ShortText::parse(l)))
        .collect();
    let locality = p.field(format!("{prefix}.locality"), ShortText::parse(&a.locality));
    let region = p.optional(
        format!("{prefix}.region"),
        a.region.as_deref(),
        ShortText::parse,
    );
    let postal_code = p.optional(
        format!("{prefix}.postal_code"),
        a.postal_code.as_deref(),
        ShortText::parse,
    );
    let country = p.field(
        format!("{prefix}.country_code"),
        CountryCode::parse(&a.country_code),
    );
    let address = DomainPostalAddress {
        lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
        locality: locality?,
        region,
        postal_code,
        country_code: country?,
    };
    Some(PostalAddressData {
        lines: address
            .lines
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect(),
        locality: address.locality.into_inner(),
        region: address.region.map(ShortText::into_inner),
        postal_code: address.postal_code.map(ShortText::into_inner),
        country_code: address.country_code.as_str().to_owned(),
    })
}

/// Parses a contact, naming refused fields under `prefix`.
pub fn parse_contact(p: &mut FieldParser, prefix: &str, c: &Contact) -> Option<ContactData> {
    let name = p.field(format!("{prefix}.name"), DisplayName::parse(&c.name));
    let email = p.field(format!("{prefix}.email"), EmailAddress::parse(&c.email));
    let phone = p.optional(
        format!("{prefix}.phone"),
        c.phone.as_deref(),
        PhoneNumber::parse,
    );
    let contact = DomainContact {
        name: name?,
        email: email?,
        phone,
    };
    Some(ContactData {
        name: contact.name.into_inner(),
        email: contact.email.to_string(),
        phone: contact.phone.map(|p| p.as_str().to_owned()),
    })
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

/// Query of the customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCustomersQuery {
    /// Words that must appear in the customer's name or domain.
    #[param(value_type = Option<crate::wire::text::Keywords>)]
    pub q: Option<String>,
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListCustomersResponse {
    /// The customers, by name.
    pub customers: Vec<Customer>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many customers match, over all pages.
    pub total_size: u64,
}

/// Where a customer page starts.
pub type CustomerCursor = (String, Uuid);

/// Reads a list's page token.
pub fn cursor(
    state: &AppState,
    scope: &str,
    token: Option<&str>,
) -> Result<Option<CustomerCursor>, ApiError> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(scope, t))
        .transpose()
}

/// The cursor after a customer.
pub fn cursor_of(c: &CustomerRecord) -> CustomerCursor {
    (c.name.clone(), c.id.as_uuid())
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
async fn list_customers(
    state: web::Data<AppState>,
    actor: Authorized<ViewCustomers>,
    query: ApiQuery<ListCustomersQuery>,
) -> Result<HttpResponse, ApiError> {
    let size = page_size(query.page_size)?;
    let q = search_query(query.q.as_deref())?;
    let q = q.as_deref();
    let scope = format!("customers|{}|{}", actor.domain_id, q.unwrap_or_default());
    let after = cursor(&state, &scope, query.page_token.as_deref())?;
    let (items, total_size) = customers::list_customers(
        state.db.reader(),
        &CustomerQuery {
            partner: Some(actor.domain_id),
            q: q.map(str::to_owned),
            after,
            limit: size + 1,
        },
    )
    .await?;
    let mut page: Vec<ManagedCustomer> = items
        .into_iter()
        .filter_map(|i| match i {
            ManagedOrAll::Managed(m) => Some(m),
            ManagedOrAll::All(_) => None,
        })
        .collect();
    let next_page_token = next_token(&state, &scope, &mut page, size, |m| &m.customer);
    Ok(HttpResponse::Ok().json(ListCustomersResponse {
        customers: page.into_iter().map(Customer::from).collect(),
        next_page_token,
        total_size,
    }))
}

/// Trims a page fetched with one extra item, and returns the token of the next page (empty
/// on the last).
pub fn next_token<T>(
    state: &AppState,
    scope: &str,
    page: &mut Vec<T>,
    size: u64,
    customer: impl Fn(&T) -> &CustomerRecord,
) -> String {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|last| state.pages.encode(scope, &cursor_of(customer(last))))
            .unwrap_or_default()
    } else {
        String::new()
    }
}

/// The id of a customer in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CustomerPath {
    /// The customer's id.
    #[param(value_type = crate::wire::text::Id)]
    pub customer_id: String,
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
