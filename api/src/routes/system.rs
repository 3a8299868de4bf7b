//! Operations: liveness, readiness and metrics.

use actix_web::{HttpResponse, get, web};

use crate::metrics::Metrics;
use crate::problem::{ApiError, ErrorCode};
use crate::state::AppState;

/// Registers the operations endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The process is up.
#[utoipa::path(
    tag = "operations",
    security(),
    responses((status = 200, description = "The process is up.", body = String, content_type = "text/plain"))
)]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// The service can serve requests: its database answers.
#[utoipa::path(
    tag = "operations",
    security(),
    responses(
        (status = 200, description = "The database answers.", body = String, content_type = "text/plain"),
        (status = 503, description = "The database is unreachable (`service_unavailable`).", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.db.check_ready().await {
        Ok(()) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ready")),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The database is unreachable.",
            ))
        }
    }
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(
    tag = "operations",
    security(),
    responses((status = 200, description = "Prometheus text exposition format.", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
async fn metrics(metrics: web::Data<Metrics>) -> Result<HttpResponse, ApiError> {
    let text = metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
