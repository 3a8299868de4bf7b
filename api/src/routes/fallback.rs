//! What answers when no route does: 405 with `Allow` when the path exists under other
//! methods, 404 otherwise; both as problems, never actix's plain-text defaults. Also the
//! documentation of problem types.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::problem::{ApiError, ErrorCode};

/// Every routed path with the methods it answers, built from the OpenAPI document plus the
/// few undocumented routes (docs, the document itself).
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl RouteTable {
    /// The table of a document's paths, plus `extra` routes.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi, extra: &[(&str, Method)]) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = Vec::new();
        for (path, item) in &doc.paths.paths {
            let mut methods = Vec::new();
            let ops = [
                (Method::GET, item.get.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
            ];
            for (m, present) in ops {
                if present {
                    methods.push(m);
                }
            }
            routes.push((ResourceDef::new(path.as_str()), methods));
        }
        for (path, method) in extra {
            routes.push((ResourceDef::new(*path), vec![method.clone()]));
        }
        Self { routes }
    }

    /// The methods the path answers to, if any route matches it.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for (def, ms) in &self.routes {
            if def.is_match(path) {
                for m in ms {
                    if !methods.contains(m) {
                        methods.push(m.clone());
                    }
                }
            }
        }
        methods
    }
}

/// The default service: 405 or 404.
pub async fn not_routed(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    use actix_web::ResponseError;
    route_error(&req, &table).error_response()
}

fn route_error(req: &HttpRequest, table: &RouteTable) -> ApiError {
    let allowed = table.allowed(req.path());
    if allowed.is_empty() {
        return ApiError::new(
            ErrorCode::NotFound,
            format!("No resource lives at {}.", req.path()),
        );
    }
    let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    let allow = list.join(", ");
    let mut err = ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here; use {allow}.", req.method()),
    );
    if let Ok(v) = HeaderValue::from_str(&allow) {
        err = err.with_header(header::ALLOW, v);
    }
    err
}

/// The documentation of one problem code.
#[derive(Debug, Serialize)]
struct ProblemType {
    code: &'static str,
    status: u16,
    title: &'static str,
}

/// `GET /problems/{code}`: what a problem `type` URI points at.
pub async fn problem_type(code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = ErrorCode::from_code(&code).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .json(ProblemType {
            code: code.as_str(),
            status: code.status().as_u16(),
            title: code.title(),
        }))
}

/// `GET /docs`: the interactive docs live under `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
