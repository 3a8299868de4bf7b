//! The old support center's addresses: privileged users are sent to the new API.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use casebridge_domain::access::legacy_support_center_redirect;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Actor;
use crate::problem::{ApiError, Problem};

/// Registers the endpoint.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(old_support_center);
}

/// The rest of an old support center address.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LegacyPath {
    /// The path after `/legacy/support-center/`, e.g. `cases/123` or `customers`.
    pub rest: String,
}

/// Sends users of the old support center to the matching API path: `cases/{id}` to
/// `/v1/cases/{id}`, `customers` to `/v1/customers`, anything else to `/v1/cases`. Only users
/// holding `view_customers` and `access_customer_support_cases` (or a legacy privilege) are
/// sent on.
#[utoipa::path(
    get,
    path = "/legacy/support-center/{rest}",
    tag = "legacy",
    security(("bearer" = [])),
    params(LegacyPath),
    responses(
        (status = 308, description = "Moved to the API.", headers(("Location" = String, description = "The matching API path"))),
        (status = 403, description = "The old support center is retired and you lack the privileges for its replacement (`legacy_support_center_retired`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/legacy/support-center/{rest:.*}")]
#[tracing::instrument(skip_all)]
async fn old_support_center(
    actor: Actor,
    path: web::Path<LegacyPath>,
) -> Result<HttpResponse, ApiError> {
    let target = legacy_support_center_redirect(&actor.access, &path.rest)?;
    Ok(HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, target))
        .finish())
}
