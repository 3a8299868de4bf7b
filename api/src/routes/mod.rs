//! One file per resource, each with a `configure` function.

pub mod fallback;
pub mod system;

/// Registers every documented route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    system::configure(cfg);
}
