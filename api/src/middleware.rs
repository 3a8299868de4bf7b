//! The one middleware every request passes: request id, tracing span, metrics and security
//! headers.

use std::time::Instant;

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::problem::{ApiError, ErrorCode};

/// The request's id: the client's `X-Request-Id` when it is sane, else a fresh UUIDv7.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn client_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
    sane.then(|| value.to_owned())
}

/// Wraps every request.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = client_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
    );
    let started = Instant::now();
    let res = next.call(req).instrument(span.clone()).await?;
    let mut res = span.in_scope(|| as_problem(res.map_into_boxed_body()));
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(m) = &metrics {
        m.observe(&method, &route, status, elapsed.as_secs_f64());
    }
    let docs = res.request().path().starts_with("/docs");
    add_headers(res.headers_mut(), &request_id, docs);
    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, route, latency_ms, "answered");
        } else {
            tracing::info!(status, route, latency_ms, "answered");
        }
    });
    Ok(res)
}

fn add_headers(headers: &mut header::HeaderMap, request_id: &str, docs: bool) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, v);
    }
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            if docs {
                // The interactive docs are served from the binary: same-origin scripts only.
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
            } else {
                "default-src 'none'; frame-ancestors 'none'"
            },
        ),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A safety net: an error answered by actix itself (not by our handlers) arrives as plain
/// text; clients are promised problems, so it is rewritten into one with the matching code.
fn as_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if is_problem || res.request().path().starts_with("/docs") {
        return res;
    }
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        412 => ErrorCode::PreconditionFailed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::TooManyRequests,
        503 => ErrorCode::ServiceUnavailable,
        422 => ErrorCode::InvalidRequest,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let detail = match res.response().error() {
        Some(e) if !status.is_server_error() => e.to_string(),
        Some(e) => {
            tracing::error!(error = %e, "unhandled error");
            code.title().to_owned()
        }
        None => code.title().to_owned(),
    };
    let problem = ApiError::new(code, detail).error_response();
    let (req, _) = res.into_parts();
    ServiceResponse::new(req, problem)
}
