//! A case's history: comments by partners, customers and support.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use casebridge_domain::notification::CaseNotice;
use casebridge_domain::privacy::check_no_personal_data;
use casebridge_domain::{CaseId, CommentBody, CommentId, FieldParser, Party};
use casebridge_persistence::PersistenceError;
use casebridge_persistence::repo::cases::{self, CaseChanges};
use casebridge_persistence::repo::comments::{self, CommentRecord};
use casebridge_persistence::repo::idempotency::StoredResponse;
use casebridge_persistence::repo::{from_micros, identity, to_micros};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::auth::actor::Authorized;
use crate::auth::actor::capability::WorkCases;
use crate::conditions::Idempotency;
use crate::extract::{ApiJson, ApiQuery, path_param};
use crate::mail;
use crate::pagination::page_size;
use crate::problem::{ApiError, Problem};
use crate::retry::retrying;
use crate::routes::cases::{CasePath, case_id, locked_case, participants, record_event, seen_case};
use crate::state::AppState;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comments)
        .service(create_comment)
        .service(get_comment);
}

/// Who wrote a comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentAuthor {
    /// The user's id.
    pub user_id: Option<String>,
    /// Their email.
    pub email: String,
    /// Their domain.
    pub domain: Option<String>,
    /// `partner`, `customer` or `support`.
    #[schema(example = "partner")]
    pub party: String,
}

/// A comment in a case's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    /// Id.
    pub id: String,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: CommentAuthor,
    /// When.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
}

fn party_name(p: Party) -> &'static str {
    match p {
        Party::Partner => "partner",
        Party::Customer => "customer",
        Party::Support => "support",
    }
}

fn view(c: &CommentRecord, domain: Option<String>) -> Comment {
    Comment {
        id: c.id.to_string(),
        body: c.body.clone(),
        author: CommentAuthor {
            user_id: c.author_user_id.map(|u| u.to_string()),
            email: c.author_email.clone(),
            domain,
            party: party_name(c.author_party).to_owned(),
        },
        create_time: c.create_time,
    }
}

/// Query of a case's comments.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCommentsQuery {
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

/// A page of comments.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListCommentsResponse {
    /// Oldest first.
    pub comments: Vec<Comment>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many comments the case has.
    pub total_size: u64,
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
async fn list_comments(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListCommentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let db = state.db.reader();
    seen_case(db, actor.viewer(), id).await?;
    let size = page_size(query.page_size)?;
    let scope = format!("case-comments|{id}");
    let after: Option<(i64, uuid::Uuid)> = query
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(&scope, t))
        .transpose()?;
    let (mut page, total_size) = comments::list_comments(db, id, after, size + 1).await?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|c| {
                state
                    .pages
                    .encode(&scope, &(to_micros(c.create_time), c.id.as_uuid()))
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let mut comments = Vec::with_capacity(page.len());
    for c in &page {
        let domain = match c.author_domain_id {
            Some(d) => identity::find_domain(db, d)
                .await?
                .map(|d| d.name.to_string()),
            None => None,
        };
        comments.push(view(c, domain));
    }
    Ok(HttpResponse::Ok().json(ListCommentsResponse {
        comments,
        next_page_token,
        total_size,
    }))
}

/// A new comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    /// The text: 1 to 12,800 characters, no personal data.
    #[schema(value_type = crate::wire::text::CommentText)]
    pub body: String,
}

/// Adds a comment to a case by any party that sees it; shared by partners', customers' and
/// support's comment endpoints. A partner's or customer's comment on a case waiting for them
/// hands it back to support.
pub async fn add_comment(
    state: &AppState,
    req: &HttpRequest,
    actor: &Actor,
    id: CaseId,
    body: &ApiJson<CreateCommentRequest>,
    action: &'static str,
) -> Result<HttpResponse, ApiError> {
    let mut p = FieldParser::new();
    let text = p.field("body", CommentBody::parse(&body.body));
    let text = p.finish(|| text)?;
    let idempotency = Idempotency::from_request(req, body.raw())?;
    let now = state.clock.now();
    let party = actor.viewer().party();
    let (text, idempotency) = (&text, &idempotency);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        if let Some(key) = idempotency {
            key.hold(&tx, actor).await?;
        }
        let seen = locked_case(&tx, actor.viewer(), id).await?;
        if let Some(key) = idempotency
            && let Some(replay) = key.stored(&tx, actor, now).await?
        {
            return Ok(replay);
        }
        let lifecycle = &seen.case.lifecycle;
        lifecycle.check_comment(party)?;
        check_no_personal_data(
            [("body".to_owned(), text.as_str())],
            &participants(&seen.case.creator_email, &seen.case.subscriber_emails)
                .with(&actor.email),
        )?;
        let comment = CommentRecord {
            id: CommentId::generate(),
            case_id: id,
            body: text.as_str().to_owned(),
            author_user_id: Some(actor.user_id),
            author_email: actor.email.to_string(),
            author_domain_id: Some(actor.domain_id),
            author_party: party,
            create_time: from_micros(to_micros(now)),
        };
        comments::insert_comment(&tx, &comment).await?;
        let next_status = lifecycle.status_after_comment(party);
        let changes = CaseChanges {
            lifecycle: (next_status != lifecycle.status).then(|| casebridge_domain::Lifecycle {
                status: next_status,
                ..lifecycle.clone()
            }),
            ..CaseChanges::default()
        };
        cases::update_case(&tx, id, seen.case.version, &changes, now).await?;
        record_event(
            &tx,
            &actor.audit(),
            &seen.case,
            action,
            json!({
                "comment_id": comment.id.to_string(),
                "status": (next_status != lifecycle.status).then(|| json!({"from": lifecycle.status.as_str(), "to": next_status.as_str()})),
            }),
            now,
        )
        .await?;
        if party == Party::Support {
            let updated = cases::find_case(&tx, id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            mail::notify(
                &tx,
                &updated,
                &CaseNotice::SupportReplied,
                Some(&comment.body),
                now,
            )
            .await?;
        }
        let location = format!("/v1/cases/{id}/comments/{}", comment.id);
        let body_json = serde_json::to_string(&view(&comment, Some(actor.domain.to_string())))
            .map_err(ApiError::internal)?;
        if let Some(key) = idempotency {
            let stored = StoredResponse {
                status: 201,
                body: body_json.clone(),
                headers: vec![("location".to_owned(), location.clone())],
            };
            key.store(&tx, actor, &stored, now).await?;
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        if party == Party::Support {
            state.mail_wake.notify_one();
        }
        Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .content_type("application/json")
            .body(body_json))
    })
    .await
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
async fn create_comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    body: ApiJson<CreateCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    add_comment(&state, &req, &actor, id, &body, "case.commented").await
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
async fn get_comment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CommentPath>,
) -> Result<HttpResponse, ApiError> {
    let case: CaseId = path_param("case_id", &path.case_id)?;
    let id: CommentId = path_param("comment_id", &path.comment_id)?;
    let db = state.db.reader();
    seen_case(db, actor.viewer(), case).await?;
    let comment = comments::find_comment(db, case, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let domain = match comment.author_domain_id {
        Some(d) => identity::find_domain(db, d)
            .await?
            .map(|d| d.name.to_string()),
        None => None,
    };
    Ok(HttpResponse::Ok().json(view(&comment, domain)))
}
