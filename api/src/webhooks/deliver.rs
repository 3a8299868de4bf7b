//! The webhook worker: claims due deliveries with a lease (no other instance attempts them
//! meanwhile), signs and posts each, and records what came of it: delivered on a 2xx; on
//! `410 Gone` the endpoint is disabled; otherwise retried with back-off until the event's
//! retry period is over, and an endpoint failing for that whole period is disabled and its
//! domain's super admins are mailed.

use std::time::Duration as StdDuration;

use casebridge_domain::webhook::{self as rules, DeliveryStatus, DisabledReason};
use casebridge_domain::{BuiltInRole, DomainId};
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::outbox::{self, Mail};
use casebridge_persistence::repo::webhooks::{self, AttemptResult, DeliveryRecord, WebhookRecord};
use casebridge_persistence::{Connection, PersistenceError};
use futures_util::StreamExt;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::state::AppState;
use crate::webhooks::secret::{self, Secret};
use crate::webhooks::send::{Attempt, Outcome, Sender};

/// Deliveries claimed at once.
const BATCH: u64 = 32;
/// Deliveries attempted at the same time.
const CONCURRENCY: usize = 8;
/// How long a claim lasts: longer than an attempt's timeout and its bookkeeping.
const LEASE: Duration = Duration::seconds(60);
/// How often due deliveries are looked for when nothing wakes the worker.
const POLL: StdDuration = StdDuration::from_secs(1);

/// Runs the worker until `stop`.
pub async fn run(
    state: AppState,
    sender: Sender,
    wake: std::sync::Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        match round(&state, &sender).await {
            Ok(0) | Err(_) => {}
            Ok(_) => continue,
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Claims and attempts one batch; how many were attempted.
async fn round(state: &AppState, sender: &Sender) -> Result<usize, PersistenceError> {
    let now = state.clock.now();
    let claimed = webhooks::claim(state.db.writer(), now, now + LEASE, BATCH)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "claiming webhook deliveries failed"))?;
    let count = claimed.len();
    futures_util::stream::iter(claimed)
        .for_each_concurrent(CONCURRENCY, |id| async move {
            if let Err(e) = attempt(state, sender, id).await {
                tracing::warn!(delivery_id = %id, error = %e, "a webhook attempt could not be recorded");
            }
        })
        .await;
    Ok(count)
}

/// The `webhook-id` of every attempt of a delivery.
pub fn message_id(delivery: Uuid) -> String {
    format!("msg_{}", delivery.simple())
}

/// Attempts one claimed delivery and records the outcome.
async fn attempt(state: &AppState, sender: &Sender, id: Uuid) -> Result<(), PersistenceError> {
    let db = state.db.writer();
    let Some(delivery) = webhooks::delivery(db, id).await? else {
        return Ok(());
    };
    let Some(hook) = webhooks::webhook(db, delivery.webhook_id).await? else {
        return Ok(());
    };
    if !hook.enabled || delivery.status != DeliveryStatus::Pending {
        // Disabled (or the delivery given up) since it was claimed: nothing to send.
        return webhooks::release(db, &[delivery.id]).await;
    }
    let now = state.clock.now();
    let secrets: Vec<Secret> = hook
        .signing_secrets(now)
        .into_iter()
        .filter_map(|s| Secret::parse(s).ok())
        .collect();
    let msg_id = message_id(delivery.id);
    let timestamp = now.unix_timestamp();
    let body = delivery.payload.as_bytes();
    let signature = secret::sign(&secrets, &msg_id, timestamp, body);
    let sent = sender
        .deliver(&hook.url, &msg_id, timestamp, &signature, body)
        .await;
    let done = state.clock.now();
    let tx = state.db.begin().await?;
    let mailed = record(&tx, &hook, &delivery, &sent, done).await?;
    tx.commit().await?;
    if mailed {
        state.mail_wake.notify_one();
    }
    Ok(())
}

/// Records an attempt: the delivery's new standing, the endpoint's run of failures, and the
/// endpoint disabled when it is gone or has failed for the whole retry period (its super
/// admins are then mailed: `true`).
async fn record(
    conn: &impl Connection,
    hook: &WebhookRecord,
    delivery: &DeliveryRecord,
    sent: &Attempt,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
    let (status, next_attempt, error) = match &sent.outcome {
        Outcome::Delivered => (DeliveryStatus::Delivered, None, None),
        Outcome::Gone => (
            DeliveryStatus::Failed,
            None,
            Some("410 Gone: the endpoint was disabled".to_owned()),
        ),
        Outcome::Failed { reason } => {
            let next = rules::next_attempt(delivery.create_time, attempts, now);
            let status = if next.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Failed
            };
            (status, next, Some(reason.clone()))
        }
    };
    let result = AttemptResult {
        http_status: sent.status,
        response: Some(sent.response_excerpt.clone()).filter(|r| !r.is_empty()),
        error,
        status,
        next_attempt,
    };
    webhooks::record_attempt(conn, delivery.id, &result, now).await?;
    let delivered = matches!(sent.outcome, Outcome::Delivered);
    webhooks::note_outcome(conn, hook.id, delivered, now).await?;
    if matches!(sent.outcome, Outcome::Gone) {
        webhooks::disable(conn, hook.id, DisabledReason::Gone, now).await?;
        tracing::warn!(webhook_id = %hook.id, "a webhook endpoint answered 410 Gone and was disabled");
        return Ok(false);
    }
    let failing_since = if delivered {
        None
    } else {
        hook.failing_since.or(Some(now))
    };
    if let Some(since) = failing_since
        && rules::failing_too_long(since, now)
    {
        webhooks::disable(conn, hook.id, DisabledReason::Failing, now).await?;
        tell_super_admins(conn, hook, since, now).await?;
        tracing::warn!(webhook_id = %hook.id, "a webhook endpoint failed for three days and was disabled");
        return Ok(true);
    }
    Ok(false)
}

/// Mails the super admins of the endpoint's domain that it was disabled.
async fn tell_super_admins(
    conn: &impl Connection,
    hook: &WebhookRecord,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let mails = super_admin_addresses(conn, hook.domain_id)
        .await?
        .into_iter()
        .map(|recipient| Mail {
            recipient,
            subject: "A webhook endpoint was disabled".to_owned(),
            body: format!(
                "The webhook endpoint {url} ({id}) failed every delivery since {since} and has \
                 been disabled; no events are sent to it until it is enabled again \
                 (PATCH /v1/admin/webhooks/{id} with {{\"enabled\": true}}). Its deliveries \
                 list (GET /v1/admin/webhooks/{id}/deliveries) shows what its last attempts \
                 came to.\n",
                url = hook.url,
                id = hook.id,
                since = since
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
            case_id: None,
        })
        .collect::<Vec<_>>();
    outbox::enqueue(conn, &mails, now).await
}

/// Where the active super admins of a domain read their mail.
async fn super_admin_addresses(
    conn: &impl Connection,
    domain: DomainId,
) -> Result<Vec<String>, PersistenceError> {
    let mut addresses = Vec::new();
    for id in identity::users_with_built_in_role(conn, domain, BuiltInRole::SuperAdmin).await? {
        if let Some(user) = identity::find_user(conn, domain, id).await?
            && !user.suspended
        {
            addresses.push(user.notification_email.unwrap_or(user.email).to_string());
        }
    }
    Ok(addresses)
}
