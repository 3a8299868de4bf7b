//! Webhook endpoints and their deliveries. A delivery is written in the transaction of the
//! change it reports (the webhooks' transactional outbox) and claimed by a worker with a lease,
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that several instances never send the same
//! attempt at the same time.

use std::collections::BTreeSet;

use casebridge_domain::webhook::{DeliveryStatus, DisabledReason};
use casebridge_domain::{CaseId, CustomerId, DomainId, EventId, EventType};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, Value,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{from_micros, to_micros};
use crate::PersistenceError;
use crate::entities::{webhook_deliveries, webhooks};
use crate::read::{Reads, Writes};

/// A webhook endpoint. Its `Debug` leaves out the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Id.
    pub id: Uuid,
    /// Its domain.
    pub domain_id: DomainId,
    /// Where events are posted.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives.
    pub event_types: BTreeSet<EventType>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Why the service disabled it.
    pub disabled_reason: Option<DisabledReason>,
    /// The signing secret.
    pub secret: String,
    /// The previous secret and until when it still signs.
    pub previous_secret: Option<(String, OffsetDateTime)>,
    /// The first failed attempt since the last success.
    pub failing_since: Option<OffsetDateTime>,
    /// Registered.
    pub create_time: OffsetDateTime,
    /// Last changed.
    pub update_time: OffsetDateTime,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("domain_id", &self.domain_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl WebhookRecord {
    /// The secrets that sign at `now`: the current one, and the previous one while its
    /// overlap lasts.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Vec<&str> {
        std::iter::once(self.secret.as_str())
            .chain(
                self.previous_secret
                    .as_ref()
                    .filter(|(_, until)| now < *until)
                    .map(|(s, _)| s.as_str()),
            )
            .collect()
    }
}

fn types_to_text(types: &BTreeSet<EventType>) -> String {
    serde_json::Value::from(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
}

fn types_of_text(text: &str) -> BTreeSet<EventType> {
    serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| EventType::of_action(n))
        .collect()
}

fn to_record(m: webhooks::Model) -> WebhookRecord {
    WebhookRecord {
        id: m.id,
        domain_id: DomainId::from_uuid(m.domain_id),
        url: m.url,
        description: m.description,
        event_types: types_of_text(&m.event_types),
        enabled: m.enabled,
        disabled_reason: m.disabled_reason.as_deref().and_then(DisabledReason::parse),
        secret: m.secret,
        previous_secret: m
            .previous_secret
            .zip(m.previous_secret_expire_time)
            .map(|(s, t)| (s, from_micros(t))),
        failing_since: m.failing_since.map(from_micros),
        create_time: from_micros(m.create_time),
        update_time: from_micros(m.update_time),
    }
}

/// An endpoint to register. Its `Debug` leaves out the secret.
#[derive(Clone)]
pub struct NewWebhook {
    /// Its domain.
    pub domain_id: DomainId,
    /// Where events are posted.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives.
    pub event_types: BTreeSet<EventType>,
    /// The signing secret.
    pub secret: String,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("domain_id", &self.domain_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Registers an endpoint, enabled.
pub async fn insert_webhook(
    conn: &impl ConnectionTrait,
    new: NewWebhook,
    now: OffsetDateTime,
) -> Result<WebhookRecord, PersistenceError> {
    let t = to_micros(now);
    let model = webhooks::Model {
        id: Uuid::now_v7(),
        domain_id: new.domain_id.as_uuid(),
        url: new.url,
        description: new.description,
        event_types: types_to_text(&new.event_types),
        enabled: true,
        disabled_reason: None,
        secret: new.secret,
        previous_secret: None,
        previous_secret_expire_time: None,
        failing_since: None,
        create_time: t,
        update_time: t,
    };
    webhooks::Entity::insert(webhooks::ActiveModel::from(model.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(to_record(model))
}

/// A domain's endpoint.
pub async fn find_webhook(
    conn: &impl ConnectionTrait,
    domain: DomainId,
    id: Uuid,
) -> Result<Option<WebhookRecord>, PersistenceError> {
    Ok(webhooks::Entity::find_by_id(id)
        .filter(webhooks::Column::DomainId.eq(domain.as_uuid()))
        .one(conn)
        .await?
        .map(to_record))
}

/// An endpoint, whichever its domain (for the delivery worker).
pub async fn webhook(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<WebhookRecord>, PersistenceError> {
    Ok(webhooks::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(to_record))
}

/// A page of a domain's endpoints, oldest first, after the one at `after` (time and id).
pub async fn list_webhooks(
    conn: &impl ConnectionTrait,
    domain: DomainId,
    after: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<Vec<WebhookRecord>, PersistenceError> {
    let mut query =
        webhooks::Entity::find().filter(webhooks::Column::DomainId.eq(domain.as_uuid()));
    if let Some((time, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(webhooks::Column::CreateTime),
                Expr::col(webhooks::Column::Id),
            ])
            .gt(Expr::tuple([Expr::value(time), Expr::value(id)])),
        );
    }
    Ok(query
        .order_by_asc(webhooks::Column::CreateTime)
        .order_by_asc(webhooks::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

/// How many endpoints a domain has.
pub async fn count_webhooks(
    conn: &impl ConnectionTrait,
    domain: DomainId,
) -> Result<u64, PersistenceError> {
    Ok(webhooks::Entity::find()
        .filter(webhooks::Column::DomainId.eq(domain.as_uuid()))
        .count(conn)
        .await?)
}

/// What a change of an endpoint sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    /// A new URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<BTreeSet<EventType>>,
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Enabled or disabled by its owner (either clears the service's reason, and enabling
    /// starts the failure count afresh).
    pub enabled: Option<bool>,
}

/// Changes a domain's endpoint; `false` when it has no such endpoint (deleted meanwhile).
/// Disabling it gives up its pending deliveries, as the service's own disabling does: an
/// endpoint enabled again receives the events from then on.
pub async fn update_webhook(
    conn: &impl ConnectionTrait,
    domain: DomainId,
    id: Uuid,
    changes: &WebhookChanges,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let mut update = webhooks::Entity::update_many()
        .col_expr(webhooks::Column::UpdateTime, Expr::value(to_micros(now)))
        .filter(webhooks::Column::Id.eq(id))
        .filter(webhooks::Column::DomainId.eq(domain.as_uuid()));
    if let Some(url) = &changes.url {
        update = update.col_expr(webhooks::Column::Url, Expr::value(url.clone()));
    }
    if let Some(types) = &changes.event_types {
        update = update.col_expr(
            webhooks::Column::EventTypes,
            Expr::value(types_to_text(types)),
        );
    }
    if let Some(description) = &changes.description {
        update = update.col_expr(
            webhooks::Column::Description,
            Expr::value(description.clone()),
        );
    }
    if let Some(enabled) = changes.enabled {
        update = update
            .col_expr(webhooks::Column::Enabled, Expr::value(enabled))
            .col_expr(
                webhooks::Column::DisabledReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                webhooks::Column::FailingSince,
                Expr::value(Option::<i64>::None),
            );
    }
    if update.exec(conn).await?.rows_affected == 0 {
        return Ok(false);
    }
    if changes.enabled == Some(false) {
        give_up_pending(conn, id, "endpoint disabled by its owner").await?;
    }
    Ok(true)
}

/// Replaces the signing secret of a domain's endpoint; the one it replaces keeps signing until
/// `overlap_until`. `false` when the domain has no such endpoint.
pub async fn rotate_secret(
    conn: &impl ConnectionTrait,
    hook: &WebhookRecord,
    secret: String,
    overlap_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let updated = webhooks::Entity::update_many()
        .col_expr(webhooks::Column::Secret, Expr::value(secret))
        .col_expr(
            webhooks::Column::PreviousSecret,
            Expr::value(hook.secret.clone()),
        )
        .col_expr(
            webhooks::Column::PreviousSecretExpireTime,
            Expr::value(to_micros(overlap_until)),
        )
        .col_expr(webhooks::Column::UpdateTime, Expr::value(to_micros(now)))
        .filter(webhooks::Column::Id.eq(hook.id))
        .filter(webhooks::Column::DomainId.eq(hook.domain_id.as_uuid()))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Locks an endpoint for the rest of the transaction and reads it afresh (on PostgreSQL `FOR
/// NO KEY UPDATE`: deliveries may still be inserted for it meanwhile). Whatever changes an
/// endpoint and its deliveries together locks the endpoint first, so two such transactions
/// never wait on each other in a cycle.
pub async fn lock_webhook(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<WebhookRecord>, PersistenceError> {
    let mut query = webhooks::Entity::find_by_id(id);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    Ok(query.one(conn).await?.map(to_record))
}

/// Deletes an endpoint and its deliveries; `false` when the domain has no such endpoint.
pub async fn delete_webhook(
    conn: &impl ConnectionTrait,
    domain: DomainId,
    id: Uuid,
) -> Result<bool, PersistenceError> {
    if lock_webhook(conn, id)
        .await?
        .is_none_or(|hook| hook.domain_id != domain)
    {
        return Ok(false);
    }
    webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::WebhookId.eq(id))
        .exec(conn)
        .await?;
    webhooks::Entity::delete_by_id(id).exec(conn).await?;
    Ok(true)
}

/// An enabled endpoint that may receive an event, with its domain's realm name.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The endpoint.
    pub id: Uuid,
    /// Its domain.
    pub domain_id: DomainId,
    /// Its domain's realm (`provider`, `customer`, `reseller`).
    pub realm: String,
    /// The event types it receives.
    pub event_types: BTreeSet<EventType>,
}

crate::read_row! {
    /// An endpoint that may receive an event, as read.
    struct CandidateRow {
        id: Uuid,
        domain_id: Uuid,
        realm: String,
        event_types: String,
    }
}

/// The enabled endpoints of the domains that might see an event about `customer` (and
/// `case`): every provider domain's, the customer's own domain's, and those of `partners`
/// and of the partners recorded on the case. Who among them really sees it is the caller's
/// rule to apply. One indexed query; none at all when no endpoint could qualify.
pub async fn candidates(
    conn: &impl Reads,
    customer: CustomerId,
    case: Option<CaseId>,
    partners: &[DomainId],
) -> Result<Vec<Candidate>, PersistenceError> {
    let backend = conn.backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let mut values: Vec<Value> = vec![customer.as_uuid().into()];
    let mut audience = format!(
        "w.domain_id = (SELECT domain_id FROM customers WHERE id = {})",
        p(1)
    );
    for partner in partners {
        values.push(partner.as_uuid().into());
        audience.push_str(&format!(" OR w.domain_id = {}", p(values.len())));
    }
    if let Some(case) = case {
        values.push(case.as_uuid().into());
        audience.push_str(&format!(
            " OR w.domain_id IN (SELECT domain_id FROM case_access WHERE case_id = {})",
            p(values.len())
        ));
    }
    // On PostgreSQL the endpoints found are held (`FOR KEY SHARE`) until the change commits,
    // so that one deleted meanwhile cannot fail the change's insert of its delivery.
    let hold = match backend {
        DbBackend::Postgres => " FOR KEY SHARE OF w",
        _ => "",
    };
    let sql = format!(
        "SELECT w.id, w.domain_id, w.event_types, d.realm FROM webhooks w \
         JOIN domains d ON d.id = w.domain_id \
         WHERE w.enabled AND (d.realm = 'provider' OR {audience}){hold}"
    );
    let rows = conn
        .rows::<CandidateRow>(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Candidate {
            id: r.id,
            domain_id: DomainId::from_uuid(r.domain_id),
            realm: r.realm,
            event_types: types_of_text(&r.event_types),
        })
        .collect())
}

/// A delivery to write.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event; none for a ping.
    pub event_id: Option<EventId>,
    /// Its type's name.
    pub event_type: String,
    /// The body.
    pub payload: String,
}

/// Writes deliveries, due at once (in the caller's transaction); their ids.
pub async fn enqueue(
    conn: &impl Writes,
    deliveries: Vec<NewDelivery>,
    now: OffsetDateTime,
) -> Result<Vec<Uuid>, PersistenceError> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let t = to_micros(now);
    let ids: Vec<Uuid> = deliveries.iter().map(|_| Uuid::now_v7()).collect();
    let rows: Vec<webhook_deliveries::ActiveModel> = deliveries
        .into_iter()
        .zip(&ids)
        .map(|(d, id)| webhook_deliveries::ActiveModel {
            id: Set(*id),
            webhook_id: Set(d.webhook_id),
            event_id: Set(d.event_id.map(|e| e.as_uuid())),
            event_type: Set(d.event_type),
            payload: Set(d.payload),
            status: Set(DeliveryStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            last_http_status: Set(None),
            last_response: Set(None),
            last_error: Set(None),
            next_attempt_time: Set(Some(t)),
            locked_until: Set(None),
            create_time: Set(t),
            delivered_time: Set(None),
        })
        .collect();
    conn.run(webhook_deliveries::Entity::insert_many(rows).build(conn.backend()))
        .await?;
    Ok(ids)
}

/// A delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Id: the `webhook-id` of its every attempt.
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event; none for a ping.
    pub event_id: Option<EventId>,
    /// The event type.
    pub event_type: String,
    /// The body.
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// The HTTP status of the last attempt, when one came back.
    pub last_http_status: Option<i32>,
    /// At most 1 KB of the last response.
    pub last_response: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_time: Option<OffsetDateTime>,
    /// Written.
    pub create_time: OffsetDateTime,
    /// Delivered.
    pub delivered_time: Option<OffsetDateTime>,
}

fn to_delivery(m: webhook_deliveries::Model) -> DeliveryRecord {
    DeliveryRecord {
        id: m.id,
        webhook_id: m.webhook_id,
        event_id: m.event_id.map(EventId::from_uuid),
        event_type: m.event_type,
        payload: m.payload,
        status: DeliveryStatus::parse(&m.status).unwrap_or(DeliveryStatus::Failed),
        attempts: m.attempts,
        last_http_status: m.last_http_status,
        last_response: m.last_response,
        last_error: m.last_error,
        next_attempt_time: m.next_attempt_time.map(from_micros),
        create_time: from_micros(m.create_time),
        delivered_time: m.delivered_time.map(from_micros),
    }
}

/// A page of an endpoint's deliveries, newest first, before the one at `before`.
pub async fn list_deliveries(
    conn: &impl ConnectionTrait,
    webhook: Uuid,
    before: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<Vec<DeliveryRecord>, PersistenceError> {
    let mut query = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook));
    if let Some((time, id)) = before {
        query = query.filter(
            Expr::tuple([
                Expr::col(webhook_deliveries::Column::CreateTime),
                Expr::col(webhook_deliveries::Column::Id),
            ])
            .lt(Expr::tuple([Expr::value(time), Expr::value(id)])),
        );
    }
    Ok(query
        .order_by_desc(webhook_deliveries::Column::CreateTime)
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_delivery)
        .collect())
}

/// How many deliveries an endpoint has.
pub async fn count_deliveries(
    conn: &impl ConnectionTrait,
    webhook: Uuid,
) -> Result<u64, PersistenceError> {
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook))
        .count(conn)
        .await?)
}

/// One of an endpoint's deliveries.
pub async fn find_delivery(
    conn: &impl ConnectionTrait,
    webhook: Uuid,
    id: Uuid,
) -> Result<Option<DeliveryRecord>, PersistenceError> {
    Ok(webhook_deliveries::Entity::find_by_id(id)
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook))
        .one(conn)
        .await?
        .map(to_delivery))
}

/// Makes a delivery due again at `now`, whatever it came to (a retry by hand): one more
/// attempt, after which the automatic retries go on only while the event's retry period lasts.
pub async fn retry_delivery(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(
            webhook_deliveries::Column::NextAttemptTime,
            Expr::value(to_micros(now)),
        )
        // An attempt in flight loses its claim: what it comes to is not recorded, and the
        // delivery is attempted again now, as asked.
        .col_expr(
            webhook_deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            webhook_deliveries::Column::DeliveredTime,
            Expr::value(Option::<i64>::None),
        )
        .filter(webhook_deliveries::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A claimed delivery and its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// The delivery.
    pub id: Uuid,
    /// Its endpoint.
    pub webhook_id: Uuid,
}

/// Claims up to `batch` due deliveries of enabled endpoints until `lease_until`: nobody else
/// attempts them meanwhile. An endpoint with an attempt in flight (anywhere) gets none, so one
/// slow endpoint holds at most one worker.
pub async fn claim(
    conn: &impl ConnectionTrait,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    batch: u64,
) -> Result<Vec<Claimed>, PersistenceError> {
    let backend = conn.get_database_backend();
    let (sql, values): (&str, Vec<Value>) = match backend {
        DbBackend::Postgres => (
            "UPDATE webhook_deliveries SET locked_until = $1 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.next_attempt_time <= $2 AND w.enabled \
               AND (d.locked_until IS NULL OR d.locked_until < $2) \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x \
                 WHERE x.webhook_id = d.webhook_id AND x.locked_until >= $2) \
               ORDER BY d.next_attempt_time LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
             RETURNING id, webhook_id",
            vec![
                to_micros(lease_until).into(),
                to_micros(now).into(),
                i64::try_from(batch).unwrap_or(50).into(),
            ],
        ),
        _ => (
            "UPDATE webhook_deliveries SET locked_until = ?1 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.next_attempt_time <= ?2 AND w.enabled \
               AND (d.locked_until IS NULL OR d.locked_until < ?2) \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x \
                 WHERE x.webhook_id = d.webhook_id AND x.locked_until >= ?2) \
               ORDER BY d.next_attempt_time LIMIT ?3) \
             RETURNING id, webhook_id",
            vec![
                to_micros(lease_until).into(),
                to_micros(now).into(),
                i64::try_from(batch).unwrap_or(50).into(),
            ],
        ),
    };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("", "id")?,
                webhook_id: r.try_get("", "webhook_id")?,
            })
        })
        .collect()
}

/// A delivery by id.
pub async fn delivery(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<DeliveryRecord>, PersistenceError> {
    Ok(webhook_deliveries::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(to_delivery))
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// The HTTP status, when a response came back.
    pub http_status: Option<u16>,
    /// At most 1 KB of the response.
    pub response: Option<String>,
    /// Why it failed; none when delivered.
    pub error: Option<String>,
    /// The new status.
    pub status: DeliveryStatus,
    /// When to try again, if at all.
    pub next_attempt: Option<OffsetDateTime>,
}

/// PostgreSQL's text refuses NUL, which a receiver's answer may hold.
fn storable(text: Option<&str>) -> Option<String> {
    text.map(|t| t.replace('\0', "\u{fffd}"))
}

/// Records an attempt and releases the claim, if the claim (until `lease`) is still the
/// worker's; `false` when it is not (a retry by hand took it back, or it ran out and another
/// worker holds it), and nothing is written.
pub async fn record_attempt(
    conn: &impl ConnectionTrait,
    id: Uuid,
    lease: OffsetDateTime,
    result: &AttemptResult,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let delivered = (result.status == DeliveryStatus::Delivered).then(|| to_micros(now));
    let updated = webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::Attempts,
            Expr::col(webhook_deliveries::Column::Attempts).add(1),
        )
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(result.status.as_str()),
        )
        .col_expr(
            webhook_deliveries::Column::LastHttpStatus,
            Expr::value(result.http_status.map(i32::from)),
        )
        .col_expr(
            webhook_deliveries::Column::LastResponse,
            Expr::value(storable(result.response.as_deref())),
        )
        .col_expr(
            webhook_deliveries::Column::LastError,
            Expr::value(storable(result.error.as_deref())),
        )
        .col_expr(
            webhook_deliveries::Column::NextAttemptTime,
            Expr::value(result.next_attempt.map(to_micros)),
        )
        .col_expr(
            webhook_deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            webhook_deliveries::Column::DeliveredTime,
            match delivered {
                Some(t) => Expr::value(t),
                None => Expr::col(webhook_deliveries::Column::DeliveredTime),
            },
        )
        .filter(webhook_deliveries::Column::Id.eq(id))
        .filter(webhook_deliveries::Column::LockedUntil.eq(to_micros(lease)))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Gives up the claim on deliveries a worker holds but will not attempt (it is stopping).
pub async fn release(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), PersistenceError> {
    if ids.is_empty() {
        return Ok(());
    }
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(webhook_deliveries::Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Notes since when an endpoint has owed a delivery it could not make (`None` after a
/// success); the caller holds the endpoint's lock.
pub async fn set_failing_since(
    conn: &impl ConnectionTrait,
    id: Uuid,
    failing_since: Option<OffsetDateTime>,
) -> Result<(), PersistenceError> {
    webhooks::Entity::update_many()
        .col_expr(
            webhooks::Column::FailingSince,
            Expr::value(failing_since.map(to_micros)),
        )
        .filter(webhooks::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Disables an enabled endpoint for `reason` and gives up its pending deliveries; `false`
/// when it was disabled already (nothing changes).
pub async fn disable(
    conn: &impl ConnectionTrait,
    id: Uuid,
    reason: DisabledReason,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let updated = webhooks::Entity::update_many()
        .col_expr(webhooks::Column::Enabled, Expr::value(false))
        .col_expr(
            webhooks::Column::DisabledReason,
            Expr::value(reason.as_str()),
        )
        .col_expr(webhooks::Column::UpdateTime, Expr::value(to_micros(now)))
        .filter(webhooks::Column::Id.eq(id))
        .filter(webhooks::Column::Enabled.eq(true))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(false);
    }
    give_up_pending(
        conn,
        id,
        &format!("endpoint disabled ({})", reason.as_str()),
    )
    .await?;
    Ok(true)
}

/// Marks an endpoint's pending deliveries failed, saying why.
async fn give_up_pending(
    conn: &impl ConnectionTrait,
    id: Uuid,
    why: &str,
) -> Result<(), PersistenceError> {
    webhook_deliveries::Entity::update_many()
        .col_expr(
            webhook_deliveries::Column::Status,
            Expr::value(DeliveryStatus::Failed.as_str()),
        )
        .col_expr(
            webhook_deliveries::Column::NextAttemptTime,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(webhook_deliveries::Column::LastError, Expr::value(why))
        .filter(webhook_deliveries::Column::WebhookId.eq(id))
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}
