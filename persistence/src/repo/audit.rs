//! The audit trail: who, from which domain, did what, when. Written in the same transaction as
//! the change it records.

use casebridge_domain::{CaseId, CustomerId, DomainId, EventId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use time::OffsetDateTime;

use super::{from_micros, to_micros};
use crate::PersistenceError;
use crate::entities::{audit_events, event_audiences};
use crate::read::Writes;

/// Who acted.
#[derive(Debug, Clone, Default)]
pub struct AuditActor {
    /// The user, when a user acted (none for the system or an import).
    pub user_id: Option<UserId>,
    /// Their email at the time.
    pub email: Option<String>,
    /// Their domain.
    pub domain_id: Option<DomainId>,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Dotted action name, e.g. `customer.transferred`.
    pub action: &'static str,
    /// The kind of thing acted on, e.g. `customer`.
    pub subject_type: &'static str,
    /// Its id.
    pub subject_id: String,
    /// The customer concerned.
    pub customer_id: Option<CustomerId>,
    /// The case concerned.
    pub case_id: Option<CaseId>,
    /// Details of the change.
    pub details: serde_json::Value,
    /// The partner domains a customer event is addressed to besides the provider and the
    /// customer's own domain (the reseller whose authorisation changed, both resellers of a
    /// transfer, the support partner taken on or let go); empty for a case event, whose
    /// audience is whoever sees the case.
    pub audience: Vec<DomainId>,
}

/// A recorded event.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Id.
    pub id: EventId,
    /// When.
    pub time: OffsetDateTime,
    /// Who.
    pub actor: AuditActor,
    /// What.
    pub action: String,
    /// Details of the change.
    pub details: serde_json::Value,
}

/// Records an event, and the partner domains a customer event is addressed to. Its feed
/// position is the database's to give (see the entity).
pub async fn record(
    conn: &impl Writes,
    actor: &AuditActor,
    event: NewEvent,
    now: OffsetDateTime,
) -> Result<EventId, PersistenceError> {
    let id = EventId::generate();
    let model = audit_events::ActiveModel {
        id: Set(id.as_uuid()),
        time: Set(to_micros(now)),
        actor_user_id: Set(actor.user_id.map(|u| u.as_uuid())),
        actor_email: Set(actor.email.clone()),
        actor_domain_id: Set(actor.domain_id.map(|d| d.as_uuid())),
        action: Set(event.action.to_owned()),
        subject_type: Set(event.subject_type.to_owned()),
        subject_id: Set(event.subject_id),
        customer_id: Set(event.customer_id.map(|c| c.as_uuid())),
        case_id: Set(event.case_id.map(|c| c.as_uuid())),
        details: Set(event.details.to_string()),
        position_tx: NotSet,
        position_seq: NotSet,
    };
    let backend = conn.backend();
    // Appended (crate::append): nothing in the transaction reads its own event back.
    conn.append(audit_events::Entity::insert(model).build(backend))
        .await?;
    let mut audience = event.audience;
    audience.sort();
    audience.dedup();
    if !audience.is_empty() {
        let insert = event_audiences::Entity::insert_many(audience.into_iter().map(|domain| {
            event_audiences::ActiveModel {
                event_id: Set(id.as_uuid()),
                domain_id: Set(domain.as_uuid()),
            }
        }));
        conn.append(insert.build(backend)).await?;
    }
    Ok(id)
}

fn to_record(m: audit_events::Model) -> EventRecord {
    EventRecord {
        id: EventId::from_uuid(m.id),
        time: from_micros(m.time),
        actor: AuditActor {
            user_id: m.actor_user_id.map(UserId::from_uuid),
            email: m.actor_email,
            domain_id: m.actor_domain_id.map(DomainId::from_uuid),
        },
        action: m.action,
        details: serde_json::from_str(&m.details).unwrap_or(serde_json::Value::Null),
    }
}

/// A customer's events, oldest first.
pub async fn customer_events(
    conn: &impl ConnectionTrait,
    customer: CustomerId,
) -> Result<Vec<EventRecord>, PersistenceError> {
    Ok(audit_events::Entity::find()
        .filter(audit_events::Column::CustomerId.eq(customer.as_uuid()))
        .order_by_asc(audit_events::Column::Time)
        .order_by_asc(audit_events::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

/// A page of a case's events, oldest first, after the event at `after` (time and id).
pub async fn case_events(
    conn: &impl ConnectionTrait,
    case: CaseId,
    after: Option<(OffsetDateTime, EventId)>,
    limit: u64,
) -> Result<Vec<EventRecord>, PersistenceError> {
    let mut query =
        audit_events::Entity::find().filter(audit_events::Column::CaseId.eq(case.as_uuid()));
    if let Some((time, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(audit_events::Column::Time),
                Expr::col(audit_events::Column::Id),
            ])
            .gt(Expr::tuple([
                Expr::value(to_micros(time)),
                Expr::value(id.as_uuid()),
            ])),
        );
    }
    Ok(query
        .order_by_asc(audit_events::Column::Time)
        .order_by_asc(audit_events::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

/// How many events a case has.
pub async fn count_case_events(
    conn: &impl ConnectionTrait,
    case: CaseId,
) -> Result<u64, PersistenceError> {
    use sea_orm::PaginatorTrait;
    Ok(audit_events::Entity::find()
        .filter(audit_events::Column::CaseId.eq(case.as_uuid()))
        .count(conn)
        .await?)
}
