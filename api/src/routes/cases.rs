//! Cases: filing on a customer's behalf, My cases, reading, updating, closing, reopening,
//! escalating, and the timeline.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use casebridge_domain::case::check_follow_up_of;
use casebridge_domain::classification::check_answers;
use casebridge_domain::notification::CaseNotice;
use casebridge_domain::privacy::{Participants, check_no_personal_data};
use casebridge_domain::visibility::{CaseAudience, can_see};
use casebridge_domain::{
    Answer, CaseId, CaseStatus as DomainStatus, CaseTitle, ClassificationId, CustomerId,
    Description, EmailAddress, EscalationReason as DomainReason, FieldParser, Justification,
    LanguageCode, Lifecycle, Management, Party, Severity as DomainSeverity, Subscribers, TimeZone,
    Viewer,
};
use casebridge_persistence::repo::audit::{self, AuditActor, NewEvent};
use casebridge_persistence::repo::cases::{self, CaseChanges, CaseRecord, NewCase};
use casebridge_persistence::repo::classifications;
use casebridge_persistence::repo::customers::{self, CustomerRecord};
use casebridge_persistence::repo::idempotency::StoredResponse;
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::listing::{self, CaseCursor, CaseOrder, CaseQuery};
use casebridge_persistence::repo::locks;
use casebridge_persistence::{Connection, PersistenceError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::auth::actor::Authorized;
use crate::auth::actor::capability::{WorkCases, WorkCustomerCases};
use crate::conditions::{Idempotency, check_if_match, etag};
use crate::extract::{ApiJson, ApiQuery, path_param, search_query};
use crate::mail;
use crate::pagination::page_size;
use crate::problem::{ApiError, ErrorCode, FieldIssue, Problem};
use crate::retry::retrying;
use crate::routes::customers::CustomerPath;
use crate::state::AppState;
use crate::wire;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_case)
        .service(list_cases)
        .service(list_customer_cases)
        .service(get_case)
        .service(update_case)
        .service(close_case)
        .service(reopen_case)
        .service(escalate_case)
        .service(list_case_events);
}

// ---------------------------------------------------------------- representation

/// A case's category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationRef {
    /// Id.
    pub id: String,
    /// `Area > Topic > Problem`.
    pub display_name: String,
}

/// Who filed a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Creator {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    pub email: String,
    /// The user's domain.
    pub domain: String,
}

/// An escalation in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationView {
    /// Why.
    pub reason: wire::EscalationReason,
    /// In the escalating person's words.
    pub justification: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
}

/// A support case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    /// Id.
    pub id: String,
    /// Human-friendly number, unique and increasing.
    pub case_number: i64,
    /// The customer it is filed for.
    pub customer_id: String,
    /// The product.
    pub product_type: wire::ProductType,
    /// Title.
    pub title: String,
    /// Category.
    pub classification: ClassificationRef,
    /// Description.
    pub description: String,
    /// Answers to the category's questions, by question id.
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: wire::Severity,
    /// Status.
    pub status: wire::CaseStatus,
    /// Whether an escalation is in force.
    pub escalated: bool,
    /// The escalation in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationView>,
    /// BCP 47 language tag support answers in.
    pub language_code: String,
    /// IANA time zone of the people working the case.
    pub time_zone: String,
    /// Who else is kept informed by email.
    pub subscriber_emails: Vec<String>,
    /// Who filed it.
    pub creator: Creator,
    /// The customer's reseller when the case was filed.
    pub reseller_domain: String,
    /// Created.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub update_time: OffsetDateTime,
    /// When it was closed, while it is.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub close_time: Option<OffsetDateTime>,
    /// The closed case this one follows up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<String>,
}

impl From<&CaseRecord> for Case {
    fn from(c: &CaseRecord) -> Self {
        Self {
            id: c.id.to_string(),
            case_number: c.case_number,
            customer_id: c.customer_id.to_string(),
            product_type: c.product_type.into(),
            title: c.title.clone(),
            classification: ClassificationRef {
                id: c.classification_id.to_string(),
                display_name: c.classification_name.clone(),
            },
            description: c.description.clone(),
            answers: c.answers.clone(),
            severity: c.severity.into(),
            status: c.lifecycle.status.into(),
            escalated: c.lifecycle.escalation.is_some(),
            escalation: c.lifecycle.escalation.as_ref().map(|e| EscalationView {
                reason: e.reason.into(),
                justification: e.justification.to_string(),
                time: e.time,
            }),
            language_code: c.language_code.clone(),
            time_zone: c.time_zone.clone(),
            subscriber_emails: c.subscriber_emails.clone(),
            creator: Creator {
                user_id: c.creator_user_id.map(|u| u.to_string()),
                email: c.creator_email.clone(),
                domain: c.creator_domain_name.clone(),
            },
            reseller_domain: c.reseller_domain_name.clone(),
            create_time: c.create_time,
            update_time: c.update_time,
            close_time: c.lifecycle.close_time,
            follow_up_of: c.follow_up_of.map(|f| f.to_string()),
        }
    }
}

/// The case as a response, with its `ETag`.
pub fn case_response(status: actix_web::http::StatusCode, case: &CaseRecord) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(case.version)))
        .json(Case::from(case))
}

// ---------------------------------------------------------------- loading what one may see

/// A case the actor sees, with its customer.
#[derive(Debug, Clone)]
pub struct VisibleCase {
    /// The case.
    pub case: CaseRecord,
    /// Its customer.
    pub customer: CustomerRecord,
    /// Who manages the customer now.
    pub management: Management,
}

/// Loads a case and applies the visibility rule; a case the actor may not see is 404.
pub async fn visible_case(
    conn: &impl Connection,
    viewer: Viewer,
    id: CaseId,
) -> Result<VisibleCase, ApiError> {
    let case = cases::find_case(conn, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let customer = customers::find_customer(conn, case.customer_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let management = customers::management(conn, &customer).await?;
    let recorded = cases::recorded_partners(conn, id).await?;
    let audience = CaseAudience {
        recorded_partners: &recorded,
        customer_domain: customer.domain_id,
        management: &management,
    };
    if !can_see(viewer, &audience) {
        return Err(ApiError::not_found());
    }
    Ok(VisibleCase {
        case,
        customer,
        management,
    })
}

/// The case a write transaction changes: its customer locked for the rest of the transaction
/// (`repo::locks` gives the order), then read and judged visible inside it, so that neither
/// the case nor the customer's authorisation can change under the decision.
pub async fn locked_case(
    tx: &impl Connection,
    viewer: Viewer,
    id: CaseId,
) -> Result<VisibleCase, ApiError> {
    locks::customer_of_case(tx, id).await?;
    visible_case(tx, viewer, id).await
}

/// The case, when the viewer sees it (for reads: one query); 404 otherwise.
pub async fn seen_case(
    conn: &impl Connection,
    viewer: Viewer,
    id: CaseId,
) -> Result<CaseRecord, ApiError> {
    cases::find_visible_case(conn, id, viewer)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The case id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CasePath {
    /// The case's id.
    #[param(value_type = crate::wire::text::Id)]
    pub case_id: String,
}

/// Parses the case id of the path.
pub fn case_id(path: &CasePath) -> Result<CaseId, ApiError> {
    path_param("case_id", &path.case_id)
}

/// Records a case event in the transaction of the change.
pub async fn record_event(
    conn: &impl Connection,
    actor: &AuditActor,
    case: &CaseRecord,
    action: &'static str,
    details: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    audit::record(
        conn,
        actor,
        NewEvent {
            action,
            subject_type: "case",
            subject_id: case.id.to_string(),
            customer_id: Some(case.customer_id),
            case_id: Some(case.id),
            details,
        },
        now,
    )
    .await
    .map(|_| ())
}

/// The email addresses that may appear in a case's text: its creator's and subscribers'.
pub fn participants(creator: &str, subscribers: &[String]) -> Participants {
    let emails: Vec<EmailAddress> = std::iter::once(creator)
        .chain(subscribers.iter().map(String::as_str))
        .filter_map(|e| EmailAddress::parse(e).ok())
        .collect();
    Participants::new(emails.iter())
}

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

/// Parses a subscriber list (the rule is `casebridge_domain::Subscribers`).
pub fn parse_subscribers(p: &mut FieldParser, raw: &[String]) -> Option<Vec<String>> {
    Subscribers::parse(p, "subscriber_emails", raw).map(|s| s.to_strings())
}

fn unknown(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("The field {field} is invalid: {message}."),
    )
    .with_errors(vec![FieldIssue {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }])
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
async fn create_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCustomerCases>,
    path: web::Path<CustomerPath>,
    body: ApiJson<CreateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let customer_id: CustomerId = path_param("customer_id", &path.customer_id)?;
    let idempotency = Idempotency::from_request(&req, body.raw())?;

    let mut p = FieldParser::new();
    let title = p.field("title", CaseTitle::parse(&body.title));
    let description = p.field("description", Description::parse(&body.description));
    let classification_id = p.field(
        "classification_id",
        body.classification_id.parse::<ClassificationId>(),
    );
    let answers: BTreeMap<String, Option<Answer>> = body
        .answers
        .iter()
        .map(|(k, v)| (k.clone(), p.field(format!("answers.{k}"), Answer::parse(v))))
        .collect();
    let language = p.field("language_code", LanguageCode::parse(&body.language_code));
    let time_zone = p.field("time_zone", TimeZone::parse(&body.time_zone));
    let subscribers = parse_subscribers(&mut p, &body.subscriber_emails);
    let follow_up_of = p.optional("follow_up_of", body.follow_up_of.as_deref(), |s| {
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
    let answers: BTreeMap<String, Answer> = answers
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let mut texts: Vec<(String, &str)> = vec![
        ("title".to_owned(), title.as_str()),
        ("description".to_owned(), description.as_str()),
    ];
    for (k, v) in &answers {
        texts.push((format!("answers.{k}"), v.as_str()));
    }
    check_no_personal_data(texts, &participants(actor.email.as_str(), &subscribers))?;

    let now = state.clock.now();
    let (state, actor, body, idempotency) = (&state, &actor, &body, &idempotency);
    let (answers, subscribers) = (&answers, &subscribers);
    let (title, description, language, time_zone) = (&title, &description, &language, &time_zone);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        if let Some(key) = idempotency {
            key.hold(&tx, actor).await?;
        }
        // Whether the customer may have a case filed is decided with the customer locked, in
        // the transaction that files it: a revocation either commits first and is seen, or waits.
        locks::customer(&tx, customer_id).await?;
        let customer = customers::find_customer(&tx, customer_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let management = customers::management(&tx, &customer).await?;
        management.check_may_file_case(actor.domain_id)?;
        if let Some(key) = idempotency
            && let Some(replay) = key.stored(&tx, actor, now).await?
        {
            return Ok(replay);
        }

        let classification = classifications::find_classification(&tx, classification_id)
            .await?
            .filter(|c| c.product_type == body.product_type.into())
            .ok_or_else(|| {
                unknown(
                    "classification_id",
                    "unknown_classification",
                    "no such category for this product",
                )
            })?;
        check_answers(&classification.questions, answers)?;
        if let Some(previous) = follow_up_of {
            let seen = match visible_case(&tx, actor.viewer(), previous).await {
                Ok(seen) if seen.case.customer_id == customer_id => seen,
                Ok(_) => return Err(unknown_follow_up()),
                Err(e) if e.code() == ErrorCode::NotFound => return Err(unknown_follow_up()),
                Err(e) => return Err(e),
            };
            check_follow_up_of(seen.case.lifecycle.status)?;
        }

        let new = NewCase {
            customer_id,
            customer_domain_id: customer.domain_id,
            product_type: body.product_type.into(),
            title: title.as_str().to_owned(),
            classification_id,
            description: description.as_str().to_owned(),
            answers: answers
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                .collect(),
            severity: body.severity.into(),
            language_code: language.to_string(),
            time_zone: time_zone.to_string(),
            subscriber_emails: subscribers.clone(),
            creator_user_id: actor.user_id,
            creator_email: actor.email.to_string(),
            creator_domain_id: actor.domain_id,
            reseller_domain_id: customer.reseller_domain_id,
            partner_domains: management.partner_domains(),
            follow_up_of,
        };
        let id = cases::insert_case(&tx, &new, now).await?;
        let case = cases::find_case(&tx, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        record_event(
            &tx,
            &actor.audit(),
            &case,
            "case.created",
            json!({"case_number": case.case_number, "severity": case.severity.as_str()}),
            now,
        )
        .await?;
        mail::notify(&tx, &case, &CaseNotice::Created, None, now).await?;
        let location = format!("/v1/cases/{id}");
        let body_json = serde_json::to_string(&Case::from(&case)).map_err(ApiError::internal)?;
        if let Some(key) = idempotency {
            let stored = StoredResponse {
                status: 201,
                body: body_json.clone(),
                headers: vec![
                    ("location".to_owned(), location.clone()),
                    ("etag".to_owned(), etag(case.version)),
                ],
            };
            key.store(&tx, actor, &stored, now).await?;
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        state.mail_wake.notify_one();
        Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .insert_header((header::ETAG, etag(case.version)))
            .content_type("application/json")
            .body(body_json))
    })
    .await
}

fn unknown_follow_up() -> ApiError {
    unknown(
        "follow_up_of",
        "unknown_case",
        "no such case of this customer that you can see",
    )
}

// ---------------------------------------------------------------- lists

/// A status filter value: a status, or `open` for any but `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Any status but `closed`.
    Open,
    /// `new`.
    New,
    /// `in_progress_support`.
    InProgressSupport,
    /// `action_required`.
    ActionRequired,
    /// `solution_offered`.
    SolutionOffered,
    /// `closed`.
    Closed,
}

impl StatusFilter {
    fn statuses(self) -> Vec<DomainStatus> {
        match self {
            StatusFilter::Open => DomainStatus::OPEN.to_vec(),
            StatusFilter::New => vec![DomainStatus::New],
            StatusFilter::InProgressSupport => vec![DomainStatus::InProgressSupport],
            StatusFilter::ActionRequired => vec![DomainStatus::ActionRequired],
            StatusFilter::SolutionOffered => vec![DomainStatus::SolutionOffered],
            StatusFilter::Closed => vec![DomainStatus::Closed],
        }
    }
}

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
pub enum OrderBy {
    /// Most recently updated first (the default).
    #[default]
    #[serde(rename = "update_time desc")]
    UpdateTimeDesc,
    /// Most recently created first.
    #[serde(rename = "create_time desc")]
    CreateTimeDesc,
    /// Most severe first, then most recently updated.
    #[serde(rename = "severity")]
    Severity,
}

impl From<OrderBy> for CaseOrder {
    fn from(o: OrderBy) -> Self {
        match o {
            OrderBy::UpdateTimeDesc => CaseOrder::UpdateTimeDesc,
            OrderBy::CreateTimeDesc => CaseOrder::CreateTimeDesc,
            OrderBy::Severity => CaseOrder::Severity,
        }
    }
}

/// Filters shared by every case list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilters {
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Keywords.
    pub q: Option<String>,
    /// Statuses.
    pub status: Vec<StatusFilter>,
    /// Severities.
    pub severity: Vec<wire::Severity>,
    /// Updated after.
    pub updated_after: Option<OffsetDateTime>,
    /// Order.
    pub order_by: OrderBy,
    /// Page size.
    pub page_size: Option<i64>,
    /// Page token.
    pub page_token: Option<String>,
}

/// Query of a case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCasesQuery {
    /// Only this customer's cases.
    #[param(value_type = Option<crate::wire::text::Id>)]
    pub customer_id: Option<String>,
    /// Keywords that must all appear (as word prefixes) in the title, description or comments.
    #[param(value_type = Option<crate::wire::text::Keywords>)]
    pub q: Option<String>,
    /// Only cases in these statuses (repeatable); `open` means any but `closed`.
    #[serde(default)]
    #[param(value_type = Option<Vec<StatusFilter>>, explode, style = Form)]
    pub status: Vec<StatusFilter>,
    /// Only cases of these severities (repeatable).
    #[serde(default)]
    #[param(value_type = Option<Vec<wire::Severity>>, explode, style = Form)]
    pub severity: Vec<wire::Severity>,
    /// Only cases updated after this time (RFC 3339).
    #[serde(default, with = "wire::timestamp::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_after: Option<OffsetDateTime>,
    /// `update_time desc` (default), `create_time desc` or `severity`.
    #[param(value_type = Option<OrderBy>)]
    pub order_by: Option<OrderBy>,
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

impl ListCasesQuery {
    /// The filters, with the customer id parsed.
    pub fn filters(&self) -> Result<CaseFilters, ApiError> {
        let customer = self
            .customer_id
            .as_deref()
            .map(|raw| {
                raw.parse::<CustomerId>().map_err(|e| {
                    ApiError::new(
                        ErrorCode::InvalidQueryParameter,
                        format!("The query parameter customer_id is invalid: {}.", e.message),
                    )
                    .with_errors(vec![FieldIssue {
                        field: "customer_id".to_owned(),
                        code: e.code.to_owned(),
                        message: e.message,
                    }])
                })
            })
            .transpose()?;
        Ok(CaseFilters {
            customer,
            q: self.q.clone(),
            status: self.status.clone(),
            severity: self.severity.clone(),
            updated_after: self.updated_after,
            order_by: self.order_by.unwrap_or_default(),
            page_size: self.page_size,
            page_token: self.page_token.clone(),
        })
    }
}

/// Query of one customer's case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerCasesQuery {
    /// Keywords that must all appear (as word prefixes) in the title, description or comments.
    #[param(value_type = Option<crate::wire::text::Keywords>)]
    pub q: Option<String>,
    /// Only cases in these statuses (repeatable); `open` means any but `closed`.
    #[serde(default)]
    #[param(value_type = Option<Vec<StatusFilter>>, explode, style = Form)]
    pub status: Vec<StatusFilter>,
    /// Only cases of these severities (repeatable).
    #[serde(default)]
    #[param(value_type = Option<Vec<wire::Severity>>, explode, style = Form)]
    pub severity: Vec<wire::Severity>,
    /// Only cases updated after this time (RFC 3339).
    #[serde(default, with = "wire::timestamp::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_after: Option<OffsetDateTime>,
    /// `update_time desc` (default), `create_time desc` or `severity`.
    #[param(value_type = Option<OrderBy>)]
    pub order_by: Option<OrderBy>,
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

impl CustomerCasesQuery {
    /// The filters for a customer.
    pub fn filters(&self, customer: Option<CustomerId>) -> CaseFilters {
        CaseFilters {
            customer,
            q: self.q.clone(),
            status: self.status.clone(),
            severity: self.severity.clone(),
            updated_after: self.updated_after,
            order_by: self.order_by.unwrap_or_default(),
            page_size: self.page_size,
            page_token: self.page_token.clone(),
        }
    }
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListCasesResponse {
    /// The cases, in the requested order.
    pub cases: Vec<Case>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many cases match, over all pages.
    pub total_size: u64,
}

/// Lists the cases a viewer sees, with the filters; page tokens are bound to the endpoint,
/// the viewer and every filter.
pub async fn list_for(
    state: &AppState,
    endpoint: &str,
    viewer: Viewer,
    filters: CaseFilters,
) -> Result<HttpResponse, ApiError> {
    let size = page_size(filters.page_size)?;
    let order: CaseOrder = filters.order_by.into();
    let mut statuses: Vec<DomainStatus> =
        filters.status.iter().flat_map(|s| s.statuses()).collect();
    statuses.sort();
    statuses.dedup();
    let mut severities: Vec<DomainSeverity> =
        filters.severity.iter().map(|s| (*s).into()).collect();
    severities.sort();
    severities.dedup();
    let q = search_query(filters.q.as_deref())?;
    let scope = format!(
        "{endpoint}|{viewer:?}|{:?}|{:?}|{statuses:?}|{severities:?}|{:?}|{order:?}",
        filters.customer,
        q,
        filters.updated_after.map(|t| t.unix_timestamp_nanos()),
    );
    let after: Option<CaseCursor> = filters
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(&scope, t))
        .transpose()?;
    let (mut page, total_size) = listing::list_cases(
        state.db.reader(),
        &CaseQuery {
            viewer,
            customer: filters.customer,
            q,
            statuses,
            severities,
            updated_after: filters.updated_after,
            order,
            after,
            limit: size + 1,
        },
    )
    .await?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|c| state.pages.encode(&scope, &CaseCursor::after(c, order)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(HttpResponse::Ok().json(ListCasesResponse {
        cases: page.iter().map(Case::from).collect(),
        next_page_token,
        total_size,
    }))
}

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
async fn list_cases(
    state: web::Data<AppState>,
    actor: Authorized<WorkCustomerCases>,
    query: ApiQuery<ListCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    list_for(&state, "cases", actor.viewer(), query.filters()?).await
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
    list_for(
        &state,
        "customer-cases",
        actor.viewer(),
        query.filters(Some(customer)),
    )
    .await
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
async fn get_case(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let case = seen_case(state.db.reader(), actor.viewer(), case_id(&path)?).await?;
    Ok(case_response(actix_web::http::StatusCode::OK, &case))
}

/// Applies a change decided by the rules to a visible case, in one transaction with its
/// audit event: the case's customer is locked and the case read inside the transaction, so a
/// change without `If-Match` waits for a concurrent one and is decided on what it left; with
/// `If-Match`, the tag is checked against that same read.
pub async fn change_case<F>(
    state: &AppState,
    req: &HttpRequest,
    actor: &Actor,
    id: CaseId,
    decide: F,
) -> Result<HttpResponse, ApiError>
where
    F: Fn(&VisibleCase, Party, OffsetDateTime) -> Result<Decision, ApiError>,
{
    let now = state.clock.now();
    let decide = &decide;
    let (updated, mailed) = retrying(|| async move {
        let tx = state.db.begin().await?;
        let seen = locked_case(&tx, actor.viewer(), id).await?;
        check_if_match(req, seen.case.version)?;
        let decision = decide(&seen, actor.viewer().party(), now)?;
        cases::update_case(&tx, id, seen.case.version, &decision.changes, now).await?;
        let updated = cases::find_case(&tx, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        record_event(
            &tx,
            &actor.audit(),
            &updated,
            decision.action,
            decision.details,
            now,
        )
        .await?;
        if let Some(notice) = &decision.notice {
            mail::notify(&tx, &updated, notice, None, now).await?;
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok((updated, decision.notice.is_some()))
    })
    .await?;
    if mailed {
        state.mail_wake.notify_one();
    }
    Ok(case_response(actix_web::http::StatusCode::OK, &updated))
}

/// A change the rules allowed, with what the timeline records of it and whom it is mailed to.
#[derive(Debug)]
pub struct Decision {
    /// The change.
    pub changes: CaseChanges,
    /// The event's action.
    pub action: &'static str,
    /// The event's details.
    pub details: serde_json::Value,
    /// The mail the change sends to the case's subscribers, if any.
    pub notice: Option<CaseNotice>,
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
        Some(list) => parse_subscribers(&mut p, list).map(Some),
        None => Some(None),
    };
    let subscribers = p.finish(|| subscribers)?;
    change_case(&state, &req, &actor, id, |seen, party, _| {
        seen.case.lifecycle.check_update(party)?;
        let subs = subscribers.clone().unwrap_or_else(|| seen.case.subscriber_emails.clone());
        if let Some(t) = &title {
            check_no_personal_data(
                [("title".to_owned(), t.as_str())],
                &participants(&seen.case.creator_email, &subs),
            )?;
        }
        let severity: Option<DomainSeverity> = body.severity.map(Into::into);
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
                lifecycle: None,
            },
            action: "case.updated",
            notice: None,
        })
    })
    .await
}

fn lifecycle_change(
    lifecycle: Lifecycle,
    action: &'static str,
    details: serde_json::Value,
    notice: CaseNotice,
) -> Decision {
    Decision {
        changes: CaseChanges {
            lifecycle: Some(lifecycle),
            ..CaseChanges::default()
        },
        action,
        details,
        notice: Some(notice),
    }
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
    let reason: DomainReason = body.reason.into();
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

/// Query of a case's timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

/// Who did something.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// The user's id, when a user acted.
    pub user_id: Option<String>,
    /// Their email.
    pub email: Option<String>,
    /// Their domain.
    pub domain: Option<String>,
}

/// One entry of a case's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEvent {
    /// Id.
    pub id: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
    /// What, e.g. `case.created`, `case.commented`, `case.status_changed`.
    #[schema(example = "case.escalated")]
    pub action: String,
    /// Who.
    pub actor: EventActor,
    /// Details of the change.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of a case's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListEventsResponse {
    /// Oldest first.
    pub events: Vec<CaseEvent>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many events the case has.
    pub total_size: u64,
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
async fn list_case_events(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListEventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let db = state.db.reader();
    seen_case(db, actor.viewer(), id).await?;
    let size = page_size(query.page_size)?;
    let scope = format!("case-events|{id}");
    let after: Option<(i64, uuid::Uuid)> = query
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(&scope, t))
        .transpose()?;
    let mut page = audit::case_events(
        db,
        id,
        after.map(|(t, i)| {
            (
                casebridge_persistence::repo::from_micros(t),
                casebridge_domain::EventId::from_uuid(i),
            )
        }),
        size + 1,
    )
    .await?;
    let total_size = audit::count_case_events(db, id).await?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|e| {
                state.pages.encode(
                    &scope,
                    &(
                        casebridge_persistence::repo::to_micros(e.time),
                        e.id.as_uuid(),
                    ),
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let mut names: BTreeMap<casebridge_domain::DomainId, String> = BTreeMap::new();
    for e in &page {
        if let Some(d) = e.actor.domain_id
            && !names.contains_key(&d)
            && let Some(domain) = identity::find_domain(db, d).await?
        {
            names.insert(d, domain.name.to_string());
        }
    }
    Ok(HttpResponse::Ok().json(ListEventsResponse {
        events: page
            .into_iter()
            .map(|e| CaseEvent {
                id: e.id.to_string(),
                time: e.time,
                action: e.action,
                actor: EventActor {
                    user_id: e.actor.user_id.map(|u| u.to_string()),
                    email: e.actor.email,
                    domain: e.actor.domain_id.and_then(|d| names.get(&d).cloned()),
                },
                details: e.details,
            })
            .collect(),
        next_page_token,
        total_size,
    }))
}
