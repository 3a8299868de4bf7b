//! The webhook worker: claims due deliveries with a lease (no other instance attempts them
//! meanwhile), signs and posts each, and records what came of it: delivered on a 2xx; on
//! `410 Gone` the endpoint is disabled; otherwise retried with back-off until the event's
//! retry period is over, and an endpoint failing for that whole period is disabled and its
//! domain's super admins are mailed.
//!
//! Attempts run as a pipeline of at most [`CONCURRENCY`] endpoints at a time, each endpoint's
//! deliveries one after another (and never two of one endpoint anywhere at once), so a slow
//! endpoint holds one worker, not all of them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use casebridge_domain::webhook::{self as rules, DeliveryStatus, DisabledReason};
use casebridge_domain::{BuiltInRole, DomainId};
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::outbox::{self, Mail};
use casebridge_persistence::repo::webhooks::{
    self, AttemptResult, Claimed, DeliveryRecord, WebhookRecord,
};
use casebridge_persistence::{Connection, PersistenceError};
use time::{Duration, OffsetDateTime};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::problem::ApiError;
use crate::retry::retrying;
use crate::state::AppState;
use crate::webhooks::secret::{self, Secret};
use crate::webhooks::send::{Attempt, Outcome, Sender};

/// Endpoints attempted at the same time.
const CONCURRENCY: usize = 8;
/// Deliveries of one endpoint taken at once (attempted one after another).
const PER_ENDPOINT: usize = 4;
/// How long a claim lasts: longer than the attempts of one endpoint's share and their
/// bookkeeping.
const LEASE: Duration = Duration::seconds(120);
/// How often due deliveries are looked for when nothing wakes the worker.
const POLL: StdDuration = StdDuration::from_secs(1);

/// Runs the worker until `stop`.
pub async fn run(state: AppState, sender: Sender, wake: Arc<Notify>, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let sender = Arc::new(sender);
    loop {
        if let Err(e) = start_due(&state, &sender, &slots, &wake).await {
            tracing::warn!(error = %e, "claiming webhook deliveries failed");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Claims due deliveries for the free slots and starts one task per endpoint.
async fn start_due(
    state: &AppState,
    sender: &Arc<Sender>,
    slots: &Arc<Semaphore>,
    wake: &Arc<Notify>,
) -> Result<(), PersistenceError> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(());
    }
    let now = state.clock.now();
    let lease = now + LEASE;
    let batch = u64::try_from(free * PER_ENDPOINT).unwrap_or(32);
    let claimed = webhooks::claim(state.db.writer(), now, lease, batch).await?;
    let (mut groups, extra) = by_endpoint(claimed);
    webhooks::release(state.db.writer(), &extra).await?;
    while let Some((_, ids)) = groups.pop_first() {
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let rest: Vec<Uuid> = std::iter::once(ids)
                .chain(groups.into_values())
                .flatten()
                .collect();
            webhooks::release(state.db.writer(), &rest).await?;
            break;
        };
        let (state, sender, wake) = (state.clone(), sender.clone(), wake.clone());
        tokio::spawn(async move {
            for id in ids {
                if let Err(e) = attempt(&state, &sender, id, lease).await {
                    tracing::warn!(delivery_id = %id, error = %e, "a webhook attempt could not be recorded");
                }
            }
            drop(slot);
            // A slot is free: look for more at once rather than at the next poll.
            wake.notify_one();
        });
    }
    Ok(())
}

/// The claimed deliveries by endpoint, oldest first, at most [`PER_ENDPOINT`] each; and the
/// rest, to give back.
fn by_endpoint(claimed: Vec<Claimed>) -> (BTreeMap<Uuid, Vec<Uuid>>, Vec<Uuid>) {
    let mut groups: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut extra = Vec::new();
    for c in claimed {
        let group = groups.entry(c.webhook_id).or_default();
        if group.len() < PER_ENDPOINT {
            group.push(c.id);
        } else {
            extra.push(c.id);
        }
    }
    (groups, extra)
}

/// The `webhook-id` of every attempt of a delivery.
pub fn message_id(delivery: Uuid) -> String {
    format!("msg_{}", delivery.simple())
}

/// Attempts one claimed delivery (claimed until `lease`) and records the outcome.
async fn attempt(
    state: &AppState,
    sender: &Sender,
    id: Uuid,
    lease: OffsetDateTime,
) -> Result<(), ApiError> {
    let db = state.db.writer();
    let Some(delivery) = webhooks::delivery(db, id).await? else {
        return Ok(());
    };
    let Some(hook) = webhooks::webhook(db, delivery.webhook_id).await? else {
        return Ok(());
    };
    if !hook.enabled || delivery.status != DeliveryStatus::Pending {
        // Disabled (or the delivery given up) since it was claimed: nothing to send.
        return Ok(webhooks::release(db, &[delivery.id]).await?);
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
    let (delivery, sent) = (&delivery, &sent);
    let mailed = retrying(|| async move {
        let done = state.clock.now();
        let tx = state.db.begin().await?;
        let mailed = record(&tx, delivery, lease, sent, done).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(mailed)
    })
    .await?;
    if mailed {
        state.mail_wake.notify_one();
    }
    Ok(())
}

/// Records an attempt, with the endpoint locked and read afresh (it may have been disabled,
/// changed or deleted while the attempt ran): the delivery's new standing, the endpoint's run
/// of failures, and the endpoint disabled when it is gone or has failed for the whole retry
/// period (its super admins are then mailed: `true`). Nothing is recorded when the claim is no
/// longer this worker's.
async fn record(
    conn: &impl Connection,
    delivery: &DeliveryRecord,
    lease: OffsetDateTime,
    sent: &Attempt,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let Some(hook) = webhooks::lock_webhook(conn, delivery.webhook_id).await? else {
        return Ok(false);
    };
    let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
    let result = result_of(&hook, delivery, attempts, sent, now);
    if !webhooks::record_attempt(conn, delivery.id, lease, &result, now).await? {
        return Ok(false);
    }
    if !hook.enabled {
        return Ok(false);
    }
    let failing_since = rules::failing_since(
        hook.failing_since,
        matches!(sent.outcome, Outcome::Delivered),
        delivery.create_time,
    );
    webhooks::set_failing_since(conn, hook.id, failing_since).await?;
    if matches!(sent.outcome, Outcome::Gone) {
        if webhooks::disable(conn, hook.id, DisabledReason::Gone, now).await? {
            tracing::warn!(webhook_id = %hook.id, "a webhook endpoint answered 410 Gone and was disabled");
        }
        return Ok(false);
    }
    if let Some(since) = failing_since
        && rules::failing_too_long(since, now)
        && webhooks::disable(conn, hook.id, DisabledReason::Failing, now).await?
    {
        tell_super_admins(conn, &hook, since, now).await?;
        tracing::warn!(webhook_id = %hook.id, "a webhook endpoint failed for three days and was disabled");
        return Ok(true);
    }
    Ok(false)
}

/// What an attempt comes to for the delivery: delivered, retried later, or given up (after the
/// retry period, on `410 Gone`, or because the endpoint was disabled meanwhile).
fn result_of(
    hook: &WebhookRecord,
    delivery: &DeliveryRecord,
    attempts: u32,
    sent: &Attempt,
    now: OffsetDateTime,
) -> AttemptResult {
    let (status, next_attempt, error) = match &sent.outcome {
        Outcome::Delivered => (DeliveryStatus::Delivered, None, None),
        Outcome::Gone => (
            DeliveryStatus::Failed,
            None,
            Some("410 Gone: the endpoint was disabled".to_owned()),
        ),
        Outcome::Failed { reason } if !hook.enabled => (
            DeliveryStatus::Failed,
            None,
            Some(format!("{reason}; the endpoint has been disabled")),
        ),
        Outcome::Failed { reason } => {
            match rules::next_attempt(delivery.create_time, attempts, now) {
                Some(next) => (DeliveryStatus::Pending, Some(next), Some(reason.clone())),
                None => (DeliveryStatus::Failed, None, Some(reason.clone())),
            }
        }
    };
    AttemptResult {
        http_status: sent.status,
        response: Some(sent.response_excerpt.clone()).filter(|r| !r.is_empty()),
        error,
        status,
        next_attempt,
    }
}

/// Mails the super admins of the endpoint's domain that it was disabled.
async fn tell_super_admins(
    conn: &impl Connection,
    hook: &WebhookRecord,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let since = since
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mails = super_admin_addresses(conn, hook.domain_id)
        .await?
        .into_iter()
        .map(|recipient| Mail {
            recipient,
            subject: "A webhook endpoint was disabled".to_owned(),
            body: format!(
                "The webhook endpoint {url} ({id}) failed every delivery owed since {since} \
                 and has been disabled; no events are sent to it until it is enabled again \
                 (PATCH /v1/admin/webhooks/{id} with {{\"enabled\": true}}). Its deliveries \
                 list (GET /v1/admin/webhooks/{id}/deliveries) shows what its last attempts \
                 came to.\n",
                url = hook.url,
                id = hook.id,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_gets_at_most_its_share_and_the_rest_is_given_back() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let claimed: Vec<Claimed> = (0..6)
            .map(|i| Claimed {
                id: Uuid::from_u128(i),
                webhook_id: if i < 5 { a } else { b },
            })
            .collect();
        let (groups, extra) = by_endpoint(claimed);
        assert_eq!(groups[&a].len(), PER_ENDPOINT);
        assert_eq!(groups[&b], vec![Uuid::from_u128(5)]);
        assert_eq!(extra, vec![Uuid::from_u128(4)]);
    }
}
