//! Changing a case: one transaction that locks and loads it, lets the rules decide, writes
//! the change, records the timeline event and queues the mail.

use actix_web::{HttpRequest, HttpResponse};
use casebridge_domain::notification::CaseNotice;
use casebridge_domain::{CaseId, CaseStatus, Lifecycle, Party};
use casebridge_persistence::repo::audit::{self, AuditActor, NewEvent};
use casebridge_persistence::repo::cases::{self, CaseChanges, CaseRecord};
use casebridge_persistence::repo::service_levels;
use casebridge_persistence::{PersistenceError, Writes};
use time::OffsetDateTime;

use crate::auth::Actor;
use crate::cases::load::{VisibleCase, locked_case};
use crate::cases::service_level;
use crate::conditions::check_if_match;
use crate::mail;
use crate::problem::ApiError;
use crate::retry::retrying;
use crate::state::AppState;
use crate::webhooks::publish::{self, Recorded};
use crate::wire::cases::case_response;

/// Records a case event in the transaction of the change, and the webhook deliveries it
/// causes.
pub async fn record_event(
    conn: &impl Writes,
    actor: &AuditActor,
    case: &CaseRecord,
    action: &'static str,
    details: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    record_event_at(conn, actor, case, action, details, now, now).await
}

/// Records a case event that happened `at` (a breach, at its due time), found `now`.
pub async fn record_event_at(
    conn: &impl Writes,
    actor: &AuditActor,
    case: &CaseRecord,
    action: &'static str,
    details: serde_json::Value,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let id = audit::record(
        conn,
        actor,
        NewEvent {
            action,
            subject_type: "case",
            subject_id: case.id.to_string(),
            customer_id: Some(case.customer_id),
            case_id: Some(case.id),
            details: details.clone(),
            audience: Vec::new(),
        },
        at,
    )
    .await?;
    let recorded = Recorded {
        id,
        action,
        actor,
        details: &details,
        time: at,
    };
    publish::case_event(conn, &recorded, case, now).await
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
    let decide = &decide;
    let (updated, mailed, now) = retrying(|| async move {
        let tx = state.db.begin().await?;
        let seen = locked_case(&tx, actor.viewer(), id).await?;
        // The time of the change is taken once the case is locked: a breach recorded while
        // this waited is before it, never after.
        let now = state.clock.now();
        check_if_match(req, seen.case.version)?;
        let mut decision = decide(&seen, actor.viewer().party(), now)?;
        if decision.changes.severity.is_some() {
            let policy = service_levels::policy(&tx).await?;
            service_level::retarget(&mut decision.changes, &policy, &seen.case);
        }
        if decision
            .changes
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.status == CaseStatus::Closed)
        {
            service_level::stop(&mut decision.changes, &seen.case, now);
        }
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
        Ok((updated, decision.notice.is_some(), now))
    })
    .await?;
    if mailed {
        state.mail_wake.notify_one();
    }
    case_response(actix_web::http::StatusCode::OK, updated, now)
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

/// A change of the case's lifecycle only, mailed with `notice`.
pub fn lifecycle_change(
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
