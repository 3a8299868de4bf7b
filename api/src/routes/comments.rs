//! A case's history: comments by partners, customers and support.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use casebridge_domain::{CaseId, CommentId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::WorkCases;
use crate::cases;
use crate::conditions::Idempotency;
use crate::extract::{ApiJson, ApiQuery, path_param};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire::cases::{CasePath, Comment, CreateCommentRequest, case_id};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comments)
        .service(create_comment)
        .service(get_comment);
}

list_query! {
    /// Query of a case's comments.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListCommentsQuery {}
}

list_response! {
    /// A page of comments.
    ListCommentsResponse {
        /// Oldest first.
        comments: Comment,
        total_size: "How many comments the case has.",
    }
}

/// The case's history, oldest first.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ListCommentsQuery),
    responses(
        (status = 200, description = "A page of comments.", body = ListCommentsResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`, `invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/comments")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn list_comments(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListCommentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = cases::comment::comments(&state, actor.viewer(), case_id(&path)?, &*query).await?;
    Ok(HttpResponse::Ok().json(ListCommentsResponse::from(page)))
}

/// Adds a comment to the case's history. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("Idempotency-Key" = Option<crate::wire::text::IdempotencyKey>, Header, nullable = false, description = "Repeat a request safely: a retry with the same key and body returns the original response")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, description = "Added.", body = Comment, headers(("Location" = String, description = "The comment's URL"))),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The idempotency key was used with another request (`idempotency_key_reused`), or a request with it is still being processed (`idempotency_key_in_use`, with `Retry-After`; a retry then gets its answer).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is invalid (`invalid_request`) or holds personal data (`pii_detected`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/cases/{case_id}/comments")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn create_comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    body: ApiJson<CreateCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let (text, key) = (body.text()?, Idempotency::from_request(&req, body.raw())?);
    let added = cases::add_comment(
        &state,
        &actor,
        case_id(&path)?,
        &text,
        key.as_ref(),
        "case.commented",
    );
    Ok(added.await?.response)
}

/// A case and one of its comments in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CommentPath {
    /// The case's id.
    #[param(value_type = crate::wire::text::Id)]
    pub case_id: String,
    /// The comment's id.
    #[param(value_type = crate::wire::text::Id)]
    pub comment_id: String,
}

/// Reads one comment of a case's history.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CommentPath),
    responses(
        (status = 200, description = "The comment.", body = Comment),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or comment that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/comments/{comment_id}")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id, comment_id = %path.comment_id))]
async fn get_comment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CommentPath>,
) -> Result<HttpResponse, ApiError> {
    let case: CaseId = path_param("case_id", &path.case_id)?;
    let id: CommentId = path_param("comment_id", &path.comment_id)?;
    let comment = cases::comment::comment(&state, actor.viewer(), case, id).await?;
    Ok(HttpResponse::Ok().json(comment))
}
