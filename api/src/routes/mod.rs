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
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    system::configure(cfg);
    auth::configure(cfg);
    admin::configure(cfg);
    legacy::configure(cfg);
    customers::configure(cfg);
    customer::configure(cfg);
    classifications::configure(cfg);
    cases::configure(cfg);
    comments::configure(cfg);
    attachments::configure(cfg);
    provider_cases::configure(cfg);
    provider::configure(cfg);
    service_levels::configure(cfg);
    events::configure(cfg);
    webhooks::configure(cfg);
}
