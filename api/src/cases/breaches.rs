//! Breaches of first-response targets: when a running target passes its due time, the case's
//! timeline records `case.service_level_breached`, stamped with the due time, once, whatever
//! the number of instances. The case's version and update time do not move: the clock, not a
//! person, changed where the case stands.

use std::time::Duration;

use casebridge_domain::CaseId;
use casebridge_persistence::repo::audit::AuditActor;
use casebridge_persistence::repo::{cases, locks, service_levels};
use casebridge_persistence::{PersistenceError, Transaction};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use crate::cases::change::record_event_at;
use crate::problem::ApiError;
use crate::retry::retrying;
use crate::state::AppState;

/// The timeline action of a breach.
pub const ACTION: &str = "case.service_level_breached";

/// Most breaches recorded in one look (the rest wait for the next).
const BATCH: u64 = 200;

/// Looks for breaches every `every` until `stop` is cancelled.
pub async fn run(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match record_breaches(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(breaches = n, "first-response targets breached"),
            Err(e) => tracing::warn!(error = ?e, "breaches not recorded; trying again later"),
        }
    }
}

/// The deployment-wide lock of the breach sweep: one instance looks at a time.
const TASK: i64 = 4_242_000_019;

/// Records every breach due by now that no one has recorded, in one transaction holding the
/// sweep's lock (another instance sweeping meanwhile finds it taken and waits for its next
/// turn); how many this call recorded.
pub async fn record_breaches(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    retrying(|| async move {
        let tx = state.db.begin().await?;
        if !locks::try_task(&tx, TASK).await? {
            return Ok(0);
        }
        let mut recorded = 0;
        for (id, due_time) in service_levels::pending_breaches(&tx, now, BATCH).await? {
            recorded += usize::from(record_breach(&tx, id, due_time, now).await?);
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(recorded)
    })
    .await
}

/// Claims the breach of one case and records it, in the caller's transaction; `false` when it
/// is no longer pending (recorded already, or the target was retimed meanwhile): the claim
/// holds even without the sweep's lock.
async fn record_breach(
    tx: &Transaction,
    id: CaseId,
    due_time: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    locks::customer_of_case(tx, id).await?;
    if !service_levels::claim_breach(tx, id, now).await? {
        return Ok(false);
    }
    let case = cases::find_case(tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let minutes = case.target.map(|t| t.target.first_response_minutes());
    let system = AuditActor {
        user_id: None,
        email: None,
        domain_id: None,
    };
    record_event_at(
        tx,
        &system,
        &case,
        ACTION,
        json!({
            "first_response_target_minutes": minutes,
            "first_response_due_time": due_time.format(&Rfc3339).ok(),
        }),
        due_time,
        now,
    )
    .await?;
    Ok(true)
}
