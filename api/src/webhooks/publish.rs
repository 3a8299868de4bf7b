//! Which endpoints receive an event, and the deliveries written for them in the event's own
//! transaction: a delivery exists exactly when the change committed, and an endpoint receives
//! an event only if its domain could see the case (or was addressed by the customer event)
//! when it committed.

use casebridge_domain::{CustomerId, EventId, EventType, Realm, Viewer};
use casebridge_persistence::repo::audit::{self, AuditActor, EventRecord};
use casebridge_persistence::repo::cases::{self, CaseRecord};
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::webhooks::{self, Candidate, NewDelivery};
use casebridge_persistence::{Connection, PersistenceError, Reads, Writes};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cases::load::Audience;
use crate::wire::cases::{Case, CaseEvent};
use crate::wire::events::{
    CaseEventData, CaseEventPayload, CustomerEventData, CustomerEventPayload, PingData,
    PingPayload, PingType,
};

/// An event just recorded, as the timeline holds it.
#[derive(Debug)]
pub struct Recorded<'a> {
    /// Its id.
    pub id: EventId,
    /// Its action.
    pub action: &'static str,
    /// Who acted.
    pub actor: &'a AuditActor,
    /// Its details.
    pub details: &'a serde_json::Value,
    /// When.
    pub time: OffsetDateTime,
}

impl Recorded<'_> {
    async fn entry(&self, conn: &impl Reads) -> Result<CaseEvent, PersistenceError> {
        let names = identity::domain_names(conn, self.actor.domain_id).await?;
        let record = EventRecord {
            id: self.id,
            time: self.time,
            actor: self.actor.clone(),
            action: self.action.to_owned(),
            details: self.details.clone(),
        };
        Ok(CaseEvent::of(record, &names))
    }
}

fn subscribed(candidates: Vec<Candidate>, kind: EventType) -> Vec<Candidate> {
    candidates
        .into_iter()
        .filter(|c| c.event_types.contains(&kind))
        .collect()
}

fn json(body: &impl Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

fn deliveries(to: &[Candidate], event: EventId, kind: EventType, body: &str) -> Vec<NewDelivery> {
    to.iter()
        .map(|c| NewDelivery {
            webhook_id: c.id,
            event_id: Some(event),
            event_type: kind.as_str().to_owned(),
            payload: body.to_owned(),
        })
        .collect()
}

/// Writes the deliveries of a case event (in its transaction, at `now`): to the endpoints
/// subscribed to its type of every domain that sees `case` as the change leaves it, with the
/// case read back as `GET` answers it then.
pub async fn case_event(
    conn: &impl Writes,
    event: &Recorded<'_>,
    case: &CaseRecord,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let Some(kind) = EventType::of_action(event.action) else {
        return Ok(());
    };
    let candidates = subscribed(
        webhooks::candidates(conn, case.customer_id, Some(case.id), &[]).await?,
        kind,
    );
    if candidates.is_empty() {
        return Ok(());
    }
    let to = seeing(conn, case, candidates).await?;
    if to.is_empty() {
        return Ok(());
    }
    // The caller may hold the case as it was before its change: the payload is read afresh.
    let Some(changed) = cases::find_case(conn, case.id).await? else {
        return Ok(());
    };
    let body = json(&CaseEventPayload {
        kind: kind.into(),
        timestamp: event.time,
        data: CaseEventData {
            event: event.entry(conn).await?,
            case: Case::of(&changed, now),
        },
    });
    webhooks::enqueue(conn, deliveries(&to, event.id, kind, &body), now).await?;
    Ok(())
}

/// The candidates whose domain sees the case: the visibility rule, on the case's audience
/// read inside the transaction.
async fn seeing(
    conn: &impl Reads,
    case: &CaseRecord,
    candidates: Vec<Candidate>,
) -> Result<Vec<Candidate>, PersistenceError> {
    let Some(audience) = Audience::of(conn, case).await? else {
        return Ok(Vec::new());
    };
    Ok(candidates
        .into_iter()
        .filter(|c| {
            c.realm
                .parse::<Realm>()
                .is_ok_and(|realm| audience.sees(Viewer::of(realm, c.domain_id)))
        })
        .collect())
}

/// Writes the deliveries of a customer event (in its transaction): to the endpoints
/// subscribed to its type of the provider, the customer's own domain and the partners the
/// event is addressed to.
pub async fn customer_event(
    conn: &impl Connection,
    event: &Recorded<'_>,
    customer: CustomerId,
    audience: &[casebridge_domain::DomainId],
) -> Result<(), PersistenceError> {
    let Some(kind) = EventType::of_action(event.action) else {
        return Ok(());
    };
    let to = subscribed(
        webhooks::candidates(conn, customer, None, audience).await?,
        kind,
    );
    if to.is_empty() {
        return Ok(());
    }
    let body = json(&CustomerEventPayload {
        kind: kind.into(),
        timestamp: event.time,
        data: CustomerEventData {
            event: event.entry(conn).await?,
            customer_id: customer.to_string(),
        },
    });
    webhooks::enqueue(conn, deliveries(&to, event.id, kind, &body), event.time).await?;
    Ok(())
}

/// The body of a ping to endpoint `webhook`.
pub fn ping_payload(webhook: uuid::Uuid, time: OffsetDateTime) -> String {
    json(&PingPayload {
        kind: PingType::WebhookPing,
        timestamp: time,
        data: PingData {
            webhook_id: webhook.to_string(),
        },
    })
}

/// Records a customer event in the transaction of the change, and the webhook deliveries it
/// causes.
pub async fn record_customer_event(
    conn: &impl Connection,
    actor: &AuditActor,
    event: audit::NewEvent,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let (action, details, audience, customer) = (
        event.action,
        event.details.clone(),
        event.audience.clone(),
        event.customer_id,
    );
    let id = audit::record(conn, actor, event, now).await?;
    let Some(customer) = customer else {
        return Ok(());
    };
    let recorded = Recorded {
        id,
        action,
        actor,
        details: &details,
        time: now,
    };
    customer_event(conn, &recorded, customer, &audience).await
}
