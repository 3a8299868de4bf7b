//! A domain's webhook endpoints, for its super admins: registered, changed, rotated, pinged,
//! and their deliveries listed and retried.

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use casebridge_domain::webhook as rules;
use casebridge_domain::{DeliveryId, WebhookId};
use casebridge_persistence::PersistenceError;
use casebridge_persistence::repo::webhooks::{
    self, DeliveryRecord, NewDelivery, NewWebhook, WebhookChanges, WebhookRecord,
};
use casebridge_persistence::repo::{locks, to_micros};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::AdministerDomain;
use crate::extract::{ApiJson, ApiQuery, nullable, path_param};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, ErrorCode, Problem};
use crate::retry::retrying;
use crate::state::AppState;
use crate::webhooks::publish::ping_payload;
use crate::webhooks::secret::Secret;
use crate::wire;
use crate::wire::events::EventType;
use crate::wire::{DeliveryStatusView, DisabledReasonView};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_secret)
        .service(ping)
        .service(list_deliveries)
        .service(retry_delivery);
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<EventType>,
    /// What it is for.
    pub description: Option<String>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Why the service disabled it, when it did (enabling it again clears this).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<DisabledReasonView>,
    /// Until when the secret before the last rotation still signs, while it does.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expire_time: Option<OffsetDateTime>,
    /// Registered.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub update_time: OffsetDateTime,
}

impl WebhookView {
    fn of(w: &WebhookRecord, now: OffsetDateTime) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            event_types: w.event_types.iter().map(|t| (*t).into()).collect(),
            description: w.description.clone(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.map(Into::into),
            previous_secret_expire_time: w
                .previous_secret
                .as_ref()
                .map(|(_, until)| *until)
                .filter(|until| now < *until),
            create_time: w.create_time,
            update_time: w.update_time,
        }
    }
}

/// A newly registered endpoint, with its signing secret: the only time it is shown (its
/// `Debug` leaves the secret out).
#[derive(Serialize, ToSchema)]
pub struct RegisteredWebhook {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The signing secret (`whsec_` and base64 of 32 random bytes); verify each delivery's
    /// `webhook-signature` with it. Shown only here and on rotation.
    pub secret: String,
}

impl std::fmt::Debug for RegisteredWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredWebhook")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

list_query! {
    /// Query of the endpoint list.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListWebhooksQuery {
    }
}

list_response! {
    /// A page of the domain's endpoints.
    ListWebhooksResponse {
        /// The endpoints, oldest first.
        webhooks: WebhookView,
        total_size: "How many endpoints the domain has.",
    }
}

/// Lists the domain's webhook endpoints.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(ListWebhooksQuery),
    responses(
        (status = 200, description = "The endpoints.", body = ListWebhooksResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks")]
#[tracing::instrument(skip_all)]
async fn list_webhooks(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    query: ApiQuery<ListWebhooksQuery>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.reader();
    let request = state
        .pages
        .request::<(i64, Uuid)>(format!("admin/webhooks|{}", actor.domain_id), &*query)?;
    let rows = webhooks::list_webhooks(db, actor.domain_id, request.after, request.fetch()).await?;
    let total_size = webhooks::count_webhooks(db, actor.domain_id).await?;
    let page = state.pages.page(request, rows, total_size, |w| {
        (to_micros(w.create_time), w.id)
    });
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(ListWebhooksResponse::from(
        page.map(|w| WebhookView::of(&w, now)),
    )))
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where to post events: `https://` and a public address.
    #[schema(example = "https://crm.example.com/hooks/casebridge")]
    pub url: String,
    /// The event types to receive (at least one; `case.imported`, `case.reimported` and
    /// `case.seeded` come from imports and demo data, which send no webhooks: follow them in
    /// `GET /v1/events`).
    #[schema(min_items = 1)]
    pub event_types: Vec<EventType>,
    /// What it is for (at most 500 characters).
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// The URL, once the address rules allow it.
async fn checked_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    state
        .webhook_policy
        .check_url(url)
        .await
        .map(|u| u.to_string())
        .map_err(|refusal| {
            ApiError::one_field(
                ErrorCode::WebhookUrlRefused,
                format!("The webhook URL is refused: {}.", refusal.message()),
                "url",
                refusal.code().as_str(),
                refusal.message(),
            )
        })
}

fn event_types(types: Vec<EventType>) -> Result<BTreeSet<casebridge_domain::EventType>, ApiError> {
    rules::event_types(types.into_iter().map(Into::into))
        .map_err(|e| ApiError::invalid_field("event_types", e.code, &e.message))
}

fn description(text: Option<&str>) -> Result<Option<String>, ApiError> {
    text.map(rules::description)
        .transpose()
        .map(|d| d.filter(|d| !d.is_empty()))
        .map_err(|e| ApiError::invalid_field("description", e.code, &e.message))
}

/// Registers an endpoint. Its signing secret is in this answer and nowhere else.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered, enabled.", body = RegisteredWebhook, headers(("Location" = String, description = "The endpoint's URL"))),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The domain has 20 endpoints already (`webhook_limit_reached`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), or the URL is not `https://` to a public address (`webhook_url_refused`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks")]
#[tracing::instrument(skip_all)]
async fn create_webhook(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    body: ApiJson<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let event_types = event_types(body.event_types)?;
    let description = description(body.description.as_deref())?;
    let url = checked_url(&state, &body.url).await?;
    let secret = Secret::generate().to_string();
    let now = state.clock.now();
    let new = NewWebhook {
        domain_id: actor.domain_id,
        url,
        description,
        event_types,
        secret: secret.clone(),
    };
    let (state_ref, actor_ref, new) = (&state, &actor, &new);
    let hook = retrying(|| async move {
        let tx = state_ref.db.begin().await?;
        locks::domain(&tx, actor_ref.domain_id).await?;
        if webhooks::count_webhooks(&tx, actor_ref.domain_id).await? >= rules::MAX_ENDPOINTS {
            return Err(ApiError::new(
                ErrorCode::WebhookLimitReached,
                format!(
                    "The domain has {} webhook endpoints, as many as it may.",
                    rules::MAX_ENDPOINTS
                ),
            ));
        }
        let hook = webhooks::insert_webhook(&tx, new.clone(), now).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(hook)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/admin/webhooks/{}", hook.id)))
        .json(RegisteredWebhook {
            webhook: WebhookView::of(&hook, now),
            secret,
        }))
}

/// The endpoint id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The endpoint's id.
    #[param(value_type = crate::wire::text::Id)]
    pub webhook_id: String,
}

async fn own_webhook(
    state: &AppState,
    actor: &Authorized<AdministerDomain>,
    path: &WebhookPath,
) -> Result<WebhookRecord, ApiError> {
    let id = path_param::<WebhookId>("webhook_id", &path.webhook_id)?.as_uuid();
    webhooks::find_webhook(state.db.reader(), actor.domain_id, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Reads an endpoint (without its secret).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks/{webhook_id}")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn get_webhook(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, ApiError> {
    let hook = own_webhook(&state, &actor, &path).await?;
    Ok(HttpResponse::Ok().json(WebhookView::of(&hook, state.clock.now())))
}

/// A change of an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// A new URL (`https://`, a public address).
    pub url: Option<String>,
    /// New event types (at least one).
    #[schema(min_items = 1)]
    pub event_types: Option<Vec<EventType>>,
    /// A new description (at most 500 characters); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    /// `false` stops deliveries; `true` starts them again (also after the service disabled it).
    pub enabled: Option<bool>,
}

/// Changes an endpoint.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint after the change.", body = WebhookView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_request`), or the URL is not `https://` to a public address (`webhook_url_refused`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/webhooks/{webhook_id}")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn update_webhook(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
    body: ApiJson<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let hook = own_webhook(&state, &actor, &path).await?;
    let body = body.0;
    let changes = WebhookChanges {
        event_types: body.event_types.map(event_types).transpose()?,
        description: match body.description {
            Some(d) => Some(description(d.as_deref())?),
            None => None,
        },
        url: match &body.url {
            Some(url) => Some(checked_url(&state, url).await?),
            None => None,
        },
        enabled: body.enabled,
    };
    let now = state.clock.now();
    let (state_ref, actor_ref, changes) = (&state, &actor, &changes);
    let hook = retrying(|| async move {
        let tx = state_ref.db.begin().await?;
        // The endpoint before its deliveries, as the worker locks them.
        webhooks::lock_webhook(&tx, hook.id).await?;
        if !webhooks::update_webhook(&tx, actor_ref.domain_id, hook.id, changes, now).await? {
            return Err(ApiError::not_found());
        }
        let hook = webhooks::find_webhook(&tx, actor_ref.domain_id, hook.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(hook)
    })
    .await?;
    Ok(HttpResponse::Ok().json(WebhookView::of(&hook, now)))
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/webhooks/{webhook_id}")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn delete_webhook(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, ApiError> {
    let id = path_param::<WebhookId>("webhook_id", &path.webhook_id)?.as_uuid();
    let tx = state.db.begin().await?;
    let deleted = webhooks::delete_webhook(&tx, actor.domain_id, id).await?;
    tx.commit().await.map_err(PersistenceError::from)?;
    if !deleted {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret (its `Debug` leaves it out).
#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret; it signs every delivery from now on.
    pub secret: String,
    /// Until when the secret it replaced also signs (24 hours): deliveries carry both
    /// signatures meanwhile, so receivers can switch without losing one.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub previous_secret_expire_time: OffsetDateTime,
}

impl std::fmt::Debug for RotatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedSecret")
            .field(
                "previous_secret_expire_time",
                &self.previous_secret_expire_time,
            )
            .finish_non_exhaustive()
    }
}

/// Replaces an endpoint's signing secret. The one it replaces keeps signing, beside the new
/// one, for 24 hours (a secret replaced earlier stops at once).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The new secret.", body = RotatedSecret),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks/{webhook_id}/rotate-secret")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn rotate_secret(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, ApiError> {
    let id = path_param::<WebhookId>("webhook_id", &path.webhook_id)?.as_uuid();
    let secret = Secret::generate().to_string();
    let now = state.clock.now();
    let until = now + rules::ROTATION_OVERLAP;
    let (state_ref, actor_ref, secret_ref) = (&state, &actor, &secret);
    retrying(|| async move {
        let tx = state_ref.db.begin().await?;
        locks::domain(&tx, actor_ref.domain_id).await?;
        let hook = webhooks::find_webhook(&tx, actor_ref.domain_id, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if !webhooks::rotate_secret(&tx, &hook, secret_ref.clone(), until, now).await? {
            return Err(ApiError::not_found());
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(RotatedSecret {
        secret,
        previous_secret_expire_time: until,
    }))
}

/// One event sent, or to be sent, to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id; every attempt carries it as `webhook-id` (`msg_` and this id without dashes).
    pub id: String,
    /// The event delivered (its timeline entry's id); absent for a ping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The event type, or `webhook.ping`.
    #[serde(rename = "type")]
    #[schema(example = "case.created")]
    pub kind: String,
    /// Where it stands.
    pub status: DeliveryStatusView,
    /// Attempts so far.
    pub attempts: i32,
    /// The HTTP status of the last attempt, when an answer came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_http_status: Option<i32>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The first kilobyte of the last answer's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_response: Option<String>,
    /// When the next attempt is due; absent once delivered or given up.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_time: Option<OffsetDateTime>,
    /// When the event committed (or the ping was asked for).
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// When an attempt succeeded.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_time: Option<OffsetDateTime>,
}

impl DeliveryView {
    fn of(d: &DeliveryRecord) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.map(|e| e.to_string()),
            kind: d.event_type.clone(),
            status: d.status.into(),
            attempts: d.attempts,
            last_http_status: d.last_http_status,
            last_error: d.last_error.clone(),
            last_response: d.last_response.clone(),
            next_attempt_time: d.next_attempt_time,
            create_time: d.create_time,
            delivered_time: d.delivered_time,
        }
    }
}

/// Sends the endpoint a `webhook.ping` event, signed like every delivery, now.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 202, description = "The ping is queued; its delivery shows how it went.", body = DeliveryView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled (`webhook_disabled`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks/{webhook_id}/ping")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn ping(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, ApiError> {
    let hook = enabled(own_webhook(&state, &actor, &path).await?)?;
    let now = state.clock.now();
    let ids = webhooks::enqueue(
        state.db.writer(),
        vec![NewDelivery {
            webhook_id: hook.id,
            event_id: None,
            event_type: "webhook.ping".to_owned(),
            payload: ping_payload(hook.id, now),
        }],
        now,
    )
    .await?;
    state.webhook_wake.notify_one();
    let id = ids.first().copied().ok_or_else(ApiError::not_found)?;
    let delivery = webhooks::find_delivery(state.db.writer(), hook.id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Accepted().json(DeliveryView::of(&delivery)))
}

fn enabled(hook: WebhookRecord) -> Result<WebhookRecord, ApiError> {
    if hook.enabled {
        Ok(hook)
    } else {
        Err(ApiError::new(
            ErrorCode::WebhookDisabled,
            "The endpoint is disabled; enable it with PATCH {\"enabled\": true} first.",
        ))
    }
}

list_query! {
    /// Query of an endpoint's deliveries.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListDeliveriesQuery {
    }
}

list_response! {
    /// A page of an endpoint's deliveries.
    ListDeliveriesResponse {
        /// The deliveries, newest first.
        deliveries: DeliveryView,
        total_size: "How many deliveries the endpoint has.",
    }
}

/// Lists an endpoint's deliveries, newest first: each event, its status, attempts, last HTTP
/// status and next attempt.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(WebhookPath, ListDeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries.", body = ListDeliveriesResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this domain (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks/{webhook_id}/deliveries")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id))]
async fn list_deliveries(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<WebhookPath>,
    query: ApiQuery<ListDeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let hook = own_webhook(&state, &actor, &path).await?;
    let db = state.db.reader();
    let request = state.pages.request::<(i64, Uuid)>(
        format!("admin/webhooks/{}/deliveries|{}", hook.id, actor.domain_id),
        &*query,
    )?;
    let rows = webhooks::list_deliveries(db, hook.id, request.after, request.fetch()).await?;
    let total_size = webhooks::count_deliveries(db, hook.id).await?;
    let page = state.pages.page(request, rows, total_size, |d| {
        (to_micros(d.create_time), d.id)
    });
    Ok(HttpResponse::Ok().json(ListDeliveriesResponse::from(
        page.map(|d| DeliveryView::of(&d)),
    )))
}

/// A delivery in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// The endpoint's id.
    #[param(value_type = crate::wire::text::Id)]
    pub webhook_id: String,
    /// The delivery's id.
    #[param(value_type = crate::wire::text::Id)]
    pub delivery_id: String,
}

/// Attempts a delivery again now, whatever it came to: once more, and then with back-off while
/// the event's three days last. The same `webhook-id` as before.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(DeliveryPath),
    responses(
        (status = 202, description = "The delivery is due now.", body = DeliveryView),
        (status = 403, description = "Only super admins administer the domain (`super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint or delivery (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled (`webhook_disabled`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")]
#[tracing::instrument(skip_all, fields(webhook_id = %path.webhook_id, delivery_id = %path.delivery_id))]
async fn retry_delivery(
    state: web::Data<AppState>,
    actor: Authorized<AdministerDomain>,
    path: web::Path<DeliveryPath>,
) -> Result<HttpResponse, ApiError> {
    let webhook_id = path_param::<WebhookId>("webhook_id", &path.webhook_id)?.as_uuid();
    let delivery_id = path_param::<DeliveryId>("delivery_id", &path.delivery_id)?.as_uuid();
    let db = state.db.writer();
    let hook = webhooks::find_webhook(db, actor.domain_id, webhook_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    webhooks::find_delivery(db, hook.id, delivery_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let hook = enabled(hook)?;
    webhooks::retry_delivery(db, delivery_id, state.clock.now()).await?;
    state.webhook_wake.notify_one();
    let delivery = webhooks::find_delivery(db, hook.id, delivery_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Accepted().json(DeliveryView::of(&delivery)))
}
