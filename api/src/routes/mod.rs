//! One file per resource, each with a `configure` function.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod cases;
pub mod classifications;
pub mod comments;
pub mod customer;
pub mod customers;
pub mod events;
pub mod fallback;
pub mod legacy;
pub mod provider;
pub mod provider_cases;
pub mod service_levels;
pub mod system;
pub mod webhooks;

/// Registers every documented route.
///
/// actix tries the routes in the order they are registered, each dynamic one a regex match:
/// the case routes, which carry most requests, come first (the 27 routes before them cost
/// `GET /v1/cases/{id}` about 6% of its throughput). No route's pattern overlaps another's, so
/// the order decides nothing else; the OpenAPI document lists paths in an order of its own.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cases::configure(cfg);
    system::configure(cfg);
    auth::configure(cfg);
    admin::configure(cfg);
    legacy::configure(cfg);
    customers::configure(cfg);
    customer::configure(cfg);
    classifications::configure(cfg);
    comments::configure(cfg);
    attachments::configure(cfg);
    provider_cases::configure(cfg);
    provider::configure(cfg);
    service_levels::configure(cfg);
    events::configure(cfg);
    webhooks::configure(cfg);
}
