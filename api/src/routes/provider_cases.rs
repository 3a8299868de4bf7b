//! Support's work on cases: every case, status changes, replies and de-escalation.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use casebridge_domain::CaseStatus;
use casebridge_domain::notification::CaseNotice;
use casebridge_persistence::repo::cases::CaseChanges;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::SupportCases;
use crate::cases::{self, Decision, change_case};
use crate::conditions::Idempotency;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire;
use crate::wire::cases::{
    Case, CasePath, Comment, CreateCommentRequest, ListCasesQuery, ListCasesResponse, case_id,
};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_all_cases)
        .service(set_case_state)
        .service(reply_to_case)
        .service(deescalate_case);
}

/// Every case, with the filters of My cases.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(ListCasesQuery),
    responses(
        (status = 200, description = "A page of cases.", body = ListCasesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Provider users holding `support`, e.g. through the built-in `support_agent` role, only (`wrong_realm`, `portal_access_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/provider/cases")]
#[tracing::instrument(skip_all)]
async fn list_all_cases(
    state: web::Data<AppState>,
    actor: Authorized<SupportCases>,
    query: ApiQuery<ListCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = query.filters()?;
    let page = cases::list_for(&state, "provider-cases", actor.viewer(), filters, &*query).await?;
    Ok(HttpResponse::Ok().json(ListCasesResponse::from(page)))
}

/// A status change by support.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStateRequest {
    /// The working state to move to: `in_progress_support`, `action_required` or
    /// `solution_offered` (closing is the partner's or customer's).
    pub status: wire::CaseStatus,
}

/// Moves a case between support's working states. Accepts `If-Match`.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    request_body = SetStateRequest,
    responses(
        (status = 200, description = "The case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "Provider users holding `support`, e.g. through the built-in `support_agent` role, only (`wrong_realm`, `portal_access_required`); support does not close cases (`action_not_allowed`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The move is not part of the lifecycle (`invalid_status_transition`) or the case is closed (`case_closed`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/cases/{case_id}/state")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn set_case_state(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<SupportCases>,
    path: web::Path<CasePath>,
    body: ApiJson<SetStateRequest>,
) -> Result<HttpResponse, ApiError> {
    let to: CaseStatus = body.status.into();
    change_case(&state, &req, &actor, case_id(&path)?, |seen, party, _| {
        let from = seen.case.lifecycle.status;
        let next = seen.case.lifecycle.set_status(party, to)?;
        Ok(Decision {
            changes: CaseChanges {
                lifecycle: Some(next),
                ..Default::default()
            },
            action: "case.status_changed",
            details: json!({"from": from.as_str(), "to": to.as_str()}),
            notice: Some(CaseNotice::StatusChanged { from, to }),
        })
    })
    .await
}

/// Support's reply, added to the case's history. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CasePath, ("Idempotency-Key" = Option<crate::wire::text::IdempotencyKey>, Header, nullable = false, description = "Repeat a request safely: a retry with the same key and body returns the original response")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, description = "Added.", body = Comment, headers(("Location" = String, description = "The comment's URL"))),
        (status = 403, description = "Provider users holding `support`, e.g. through the built-in `support_agent` role, only (`wrong_realm`, `portal_access_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The idempotency key was used with another request (`idempotency_key_reused`), or a request with it is still being processed (`idempotency_key_in_use`, with `Retry-After`; a retry then gets its answer).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is invalid (`invalid_request`) or holds personal data (`pii_detected`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/cases/{case_id}/comments")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn reply_to_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<SupportCases>,
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
        "case.support_replied",
    );
    Ok(added.await?.response)
}

/// Ends a case's escalation. Accepts `If-Match`.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    responses(
        (status = 200, description = "The case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "Provider users holding `support`, e.g. through the built-in `support_agent` role, only (`wrong_realm`, `portal_access_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is not escalated (`not_escalated`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/provider/cases/{case_id}/deescalate")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn deescalate_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<SupportCases>,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    change_case(&state, &req, &actor, case_id(&path)?, |seen, party, _| {
        let calm = seen.case.lifecycle.deescalate(party)?;
        Ok(Decision {
            changes: CaseChanges {
                lifecycle: Some(calm),
                ..Default::default()
            },
            action: "case.deescalated",
            details: json!({}),
            notice: None,
        })
    })
    .await
}
