//! Cases: filing on a customer's behalf, My cases, reading, updating, closing, reopening,
//! escalating, and the timeline.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use casebridge_domain::notification::CaseNotice;
use casebridge_domain::privacy::check_no_personal_data;
use casebridge_domain::{
    Answer, CaseId, CaseTitle, ClassificationId, CustomerId, Description, EscalationReason,
    FieldParser, Justification, LanguageCode, Severity, Subscribers, TimeZone,
};
use casebridge_persistence::repo::cases::CaseChanges;
use casebridge_persistence::repo::customers;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::actor::capability::{WorkCases, WorkCustomerCases};
use crate::auth::actor::{Authorized, Carrying};
use crate::cases::{
    self, Decision, Filing, change_case, lifecycle_change, participants, seen_case_carrying,
};
use crate::conditions::Idempotency;
use crate::extract::{ApiJson, ApiQuery, path_param};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire;
use crate::wire::cases::{
    Case, CaseEvent, CasePath, CustomerCasesQuery, ListCasesQuery, ListCasesResponse, case_id,
    case_response,
};
use crate::wire::customers::CustomerPath;

/// Registers the endpoints: a list and a single case first, since they carry most requests and
/// actix tries each route's pattern in turn (a regex each for the dynamic ones).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_cases)
        .service(get_case)
        .service(create_case)
        .service(list_customer_cases)
        .service(update_case)
        .service(close_case)
        .service(reopen_case)
        .service(escalate_case)
        .service(list_case_events);
}

// ---------------------------------------------------------------- representation

// ---------------------------------------------------------------- loading what one may see

// ---------------------------------------------------------------- filing

/// A case to file on a customer's behalf.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    /// The product.
    pub product_type: wire::ProductType,
    /// Title, 1 to 200 characters on one line.
    #[schema(example = "Messages to partner domain bounce with 550 5.7.1")]
    #[schema(value_type = crate::wire::text::Title)]
    pub title: String,
    /// The category, from `GET /v1/case-classifications`.
    #[schema(value_type = crate::wire::text::Id)]
    pub classification_id: String,
    /// What happens, what was tried (1 to 32,000 characters; no personal data).
    #[schema(value_type = crate::wire::text::DescriptionText)]
    pub description: String,
    /// Answers to the category's questions, by question id.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, crate::wire::text::AnswerText>)]
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: wire::Severity,
    /// BCP 47 language tag support answers in.
    #[schema(example = "en-US")]
    #[schema(value_type = crate::wire::text::LanguageTag)]
    pub language_code: String,
    /// IANA time zone of the people working the case.
    #[schema(example = "Europe/Berlin")]
    #[schema(value_type = crate::wire::text::TimeZoneName)]
    pub time_zone: String,
    /// Who else to keep informed by email (at most 25).
    #[serde(default)]
    #[schema(value_type = Vec<crate::wire::text::Email>, max_items = 25)]
    pub subscriber_emails: Vec<String>,
    /// A closed case this one follows up.
    #[schema(value_type = Option<crate::wire::text::Id>)]
    pub follow_up_of: Option<String>,
}

/// Files a case on a customer's behalf. The customer must be managed by your domain and, when
/// you are its reseller, must have authorised you. The category's required questions must be
/// answered, and no free-text field may hold personal data. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(
        CustomerPath,
        ("Idempotency-Key" = Option<crate::wire::text::IdempotencyKey>, Header, nullable = false, description = "Repeat a request safely: a retry with the same key and body returns the original response"),
    ),
    request_body = CreateCaseRequest,
    responses(
        (status = 201, description = "Filed.", body = Case, headers(
            ("Location" = String, description = "The case's URL"),
            ("ETag" = String, description = "The case's version"),
        )),
        (status = 400, description = "A header is invalid (`invalid_header`), or the body is not JSON (`malformed_json`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The customer has not authorised its reseller (`reseller_access_not_granted`), or you lack access (`wrong_realm`, `portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain does not manage such a customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The idempotency key was used with another request (`idempotency_key_reused`), or a request with it is still being processed (`idempotency_key_in_use`, with `Retry-After`; a retry then gets its answer).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), a required question is unanswered (`required_answer_missing`), an answer is to a question not asked (`unknown_question`), personal data was found (`pii_detected`), or the followed-up case is open (`follow_up_requires_closed_case`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/customers/{customer_id}/cases")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn create_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCustomerCases>,
    path: web::Path<CustomerPath>,
    body: ApiJson<CreateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let customer_id: CustomerId = path_param("customer_id", &path.customer_id)?;
    let idempotency = Idempotency::from_request(&req, body.raw())?;
    let filing = body.filing(customer_id)?;
    let outcome = cases::file_case(&state, &actor, &filing, idempotency.as_ref()).await?;
    Ok(outcome.response)
}

impl CreateCaseRequest {
    /// The filing, every field parsed; every refused field is reported at once.
    fn filing(&self, customer_id: CustomerId) -> Result<Filing, ApiError> {
        let mut p = FieldParser::new();
        let title = p.field("title", CaseTitle::parse(&self.title));
        let description = p.field("description", Description::parse(&self.description));
        let classification_id = p.field(
            "classification_id",
            self.classification_id.parse::<ClassificationId>(),
        );
        let answers: BTreeMap<String, Option<Answer>> = self
            .answers
            .iter()
            .map(|(k, v)| (k.clone(), p.field(format!("answers.{k}"), Answer::parse(v))))
            .collect();
        let language = p.field("language_code", LanguageCode::parse(&self.language_code));
        let time_zone = p.field("time_zone", TimeZone::parse(&self.time_zone));
        let subscribers = Subscribers::parse(&mut p, "subscriber_emails", &self.subscriber_emails);
        let follow_up_of = p.optional("follow_up_of", self.follow_up_of.as_deref(), |s| {
            s.parse::<CaseId>()
        });
        let (title, description, classification_id, language, time_zone, subscribers) =
            p.finish(|| {
                Some((
                    title?,
                    description?,
                    classification_id?,
                    language?,
                    time_zone?,
                    subscribers?,
                ))
            })?;
        Ok(Filing {
            customer_id,
            product_type: self.product_type.into(),
            title,
            classification_id,
            description,
            answers: answers
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            severity: self.severity.into(),
            language,
            time_zone,
            subscribers,
            follow_up_of,
        })
    }
}

// ---------------------------------------------------------------- lists

/// "My cases": every case your domain may see, newest update first by default.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(ListCasesQuery),
    responses(
        (status = 200, description = "A page of cases.", body = ListCasesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Reseller users with `access_customer_support_cases` only (`wrong_realm`, `portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases")]
#[tracing::instrument(skip_all)]
async fn list_cases(
    state: web::Data<AppState>,
    actor: Carrying<WorkCustomerCases>,
    query: Result<ApiQuery<ListCasesQuery>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // The token's standing rides in the page's read (PostgreSQL): it is settled before any
    // answer, a bad parameter or page token included.
    let list = query.and_then(|query| {
        cases::ListRequest::new(&state, "cases", actor.viewer(), query.filters()?, &*query)
    });
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            actor.stand(&state).await?;
            return Err(e);
        }
    };
    let (page, standing) = list.page(&state, actor.probe(&state)).await?;
    actor.admit(&state, standing).await?;
    ListCasesResponse::from(page).response()
}

/// One customer's cases that your domain may see.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CustomerPath, CustomerCasesQuery),
    responses(
        (status = 200, description = "A page of cases.", body = ListCasesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`, `invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Reseller users with `access_customer_support_cases` only (`wrong_realm`, `portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Your domain does not manage such a customer (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customers/{customer_id}/cases")]
#[tracing::instrument(skip_all, fields(customer_id = %path.customer_id))]
async fn list_customer_cases(
    state: web::Data<AppState>,
    actor: Authorized<WorkCustomerCases>,
    path: web::Path<CustomerPath>,
    query: ApiQuery<CustomerCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let customer: CustomerId = path_param("customer_id", &path.customer_id)?;
    customers::find_managed_customer(state.db.reader(), actor.domain_id, customer)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let filters = query.filters_for(Some(customer));
    let page = cases::list_for(&state, "customer-cases", actor.viewer(), filters, &*query).await?;
    ListCasesResponse::from(page).response()
}

// ---------------------------------------------------------------- one case

/// Reads a case, with its `ETag`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath),
    responses(
        (status = 200, description = "The case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn get_case(
    state: web::Data<AppState>,
    actor: Carrying<WorkCases>,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    // The token's standing rides in the case's read (PostgreSQL): it is settled before any
    // answer, a 404 included.
    let id = match case_id(&path) {
        Ok(id) => id,
        Err(e) => {
            actor.stand(&state).await?;
            return Err(e);
        }
    };
    let (case, standing) =
        seen_case_carrying(&state.db.reads(), actor.viewer(), id, actor.probe(&state)).await?;
    actor.admit(&state, standing).await?;
    let case = case.ok_or_else(ApiError::not_found)?;
    case_response(actix_web::http::StatusCode::OK, case, state.clock.now())
}

/// Changes to a case; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCaseRequest {
    /// New severity.
    pub severity: Option<wire::Severity>,
    /// New title.
    #[schema(value_type = Option<crate::wire::text::Title>)]
    pub title: Option<String>,
    /// New subscriber list (replaces the old one).
    #[schema(value_type = Option<Vec<crate::wire::text::Email>>, max_items = 25)]
    pub subscriber_emails: Option<Vec<String>>,
}

/// Changes a case's severity, title or subscribers while it is open. Accepts `If-Match`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    request_body = UpdateCaseRequest,
    responses(
        (status = 200, description = "The case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "Support does not edit cases (`action_not_allowed`), or you lack access (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed (`case_closed`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), or the title holds personal data (`pii_detected`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/cases/{case_id}")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn update_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    body: ApiJson<UpdateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let mut p = FieldParser::new();
    let title = p.optional("title", body.title.as_deref(), CaseTitle::parse);
    let subscribers = match &body.subscriber_emails {
        Some(list) => {
            Subscribers::parse(&mut p, "subscriber_emails", list).map(|s| Some(s.to_strings()))
        }
        None => Some(None),
    };
    let subscribers = p.finish(|| subscribers)?;
    let severity: Option<Severity> = body.severity.map(Into::into);
    change_case(&state, &req, &actor, id, |seen, party, _| {
        seen.case.lifecycle.check_update(party)?;
        let subs = subscribers.clone().unwrap_or_else(|| seen.case.subscriber_emails.clone());
        if let Some(t) = &title {
            check_no_personal_data(
                [("title".to_owned(), t.as_str())],
                &participants(&seen.case.creator_email, &subs),
            )?;
        }
        Ok(Decision {
            details: json!({
                "severity": severity.map(|s| json!({"from": seen.case.severity.as_str(), "to": s.as_str()})),
                "title_changed": title.is_some(),
                "subscribers_changed": subscribers.is_some(),
            }),
            changes: CaseChanges {
                severity,
                title: title.as_ref().map(|t| t.as_str().to_owned()),
                subscriber_emails: subscribers.clone(),
                ..CaseChanges::default()
            },
            action: "case.updated",
            notice: None,
        })
    })
    .await
}

/// Closes a case. Accepts `If-Match`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    responses(
        (status = 200, description = "The closed case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "Support does not close cases (`action_not_allowed`), or you lack access (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is already closed (`case_closed`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/cases/{case_id}/close")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn close_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    change_case(&state, &req, &actor, case_id(&path)?, |seen, party, now| {
        let closed = seen.case.lifecycle.close(party, now)?;
        Ok(lifecycle_change(
            closed,
            "case.closed",
            json!({"from": seen.case.lifecycle.status.as_str()}),
            CaseNotice::Closed,
        ))
    })
    .await
}

/// Reopens a case closed at most 30 days ago; after that, file a new case with
/// `follow_up_of`. Accepts `If-Match`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    responses(
        (status = 200, description = "The reopened case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "Support does not reopen cases (`action_not_allowed`), or you lack access (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is not closed (`case_not_closed`) or was closed more than 30 days ago (`reopen_window_expired`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/cases/{case_id}/reopen")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn reopen_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    change_case(&state, &req, &actor, case_id(&path)?, |seen, party, now| {
        let reopened = seen.case.lifecycle.reopen(party, now)?;
        Ok(lifecycle_change(
            reopened,
            "case.reopened",
            json!({}),
            CaseNotice::Reopened,
        ))
    })
    .await
}

/// An escalation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// Why.
    pub reason: wire::EscalationReason,
    /// In your words (1 to 2,000 characters; no personal data).
    #[schema(value_type = crate::wire::text::JustificationText)]
    pub justification: String,
}

/// Escalates an open case of a premium-support customer. Accepts `If-Match`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("If-Match" = Option<crate::wire::text::EntityTags>, Header, nullable = false, description = "The ETag the change is based on, as read from `ETag`; a stale one is 412 `precondition_failed`")),
    request_body = EscalateRequest,
    responses(
        (status = 200, description = "The escalated case.", body = Case, headers(("ETag" = String, description = "The case's version"))),
        (status = 403, description = "The customer lacks premium support (`escalation_requires_premium_support`), support does not escalate (`action_not_allowed`), or you lack access.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed (`case_closed`) or already escalated (`already_escalated`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since the ETag in If-Match (`precondition_failed`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`) or the justification holds personal data (`pii_detected`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/cases/{case_id}/escalate")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn escalate_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    body: ApiJson<EscalateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let mut p = FieldParser::new();
    let justification = p.field("justification", Justification::parse(&body.justification));
    let justification = p.finish(|| justification)?;
    let reason: EscalationReason = body.reason.into();
    change_case(&state, &req, &actor, id, |seen, party, now| {
        check_no_personal_data(
            [("justification".to_owned(), justification.as_str())],
            &participants(&seen.case.creator_email, &seen.case.subscriber_emails),
        )?;
        let escalated = seen.case.lifecycle.escalate(
            party,
            seen.customer.support_tier,
            reason,
            justification.clone(),
            now,
        )?;
        Ok(lifecycle_change(
            escalated,
            "case.escalated",
            json!({"reason": reason.as_str()}),
            CaseNotice::Escalated,
        ))
    })
    .await
}

// ---------------------------------------------------------------- timeline

list_query! {
    /// Query of a case's timeline.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListEventsQuery {}
}

list_response! {
    /// A page of a case's timeline.
    ListEventsResponse {
        /// Oldest first.
        events: CaseEvent,
        total_size: "How many events the case has.",
    }
}

/// The case's timeline: who did what, when, oldest first.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ListEventsQuery),
    responses(
        (status = 200, description = "A page of events.", body = ListEventsResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`, `invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/events")]
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn list_case_events(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListEventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = cases::timeline(&state, actor.viewer(), case_id(&path)?, &*query).await?;
    Ok(HttpResponse::Ok().json(ListEventsResponse::from(page)))
}
