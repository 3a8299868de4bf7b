//! The change feed: every published event a viewer may see, in the order of the feed positions
//! (`audit_events.position_tx, position_seq`; see migration `m20261130_000005_order_events`),
//! handed out only once nothing can still appear before it.
//!
//! A reader resumes after the last position it holds. For that never to skip an event, an event
//! may be handed out only when no event with a lower position can still commit:
//!
//! - PostgreSQL positions start with the writing transaction's id, and ids are taken when a
//!   transaction first writes, not when it commits. A page therefore holds only events below
//!   its snapshot's `xmin`, the oldest transaction still running: every transaction below it has
//!   ended, so what is there is final, and any transaction still to commit has a larger id. The
//!   horizon is read in the statement that reads the events, from the same snapshot.
//! - SQLite writes one transaction at a time, numbering its events past every committed one:
//!   whatever a statement sees is final, up to the largest position it sees.
//!
//! Visibility is decided as the reader is now: case events of the cases it sees (the case
//! lists' query, [`super::listing::restrict_to_viewer`]), customer events when it is the
//! provider, the customer's own domain, or a domain the event was addressed to.

use casebridge_domain::{CaseId, CustomerId, DomainId, EventId, EventType, UserId, Viewer};
use sea_orm::sea_query::{Alias, Cond, Expr, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, ExprTrait, QueryResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::{AuditActor, EventRecord};
use super::from_micros;
use super::listing::restrict_to_viewer;
use crate::PersistenceError;
use crate::entities::{audit_events, cases, customers, event_audiences};

/// A place in the feed: an event's position, or a horizon everything up to which has been
/// read. Ordered as the feed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeedPosition {
    /// `position_tx`.
    pub tx: i64,
    /// `position_seq`.
    pub seq: i64,
}

/// Which events to read.
#[derive(Debug, Clone)]
pub struct FeedQuery {
    /// Who reads: visibility applies.
    pub viewer: Viewer,
    /// The types to hand out; others are passed over.
    pub types: Vec<EventType>,
    /// Only this customer's events.
    pub customer: Option<CustomerId>,
    /// Start after this place; `None` starts at the oldest event.
    pub after: Option<FeedPosition>,
    /// Most events to read.
    pub limit: u64,
}

/// An event as the feed hands it out.
#[derive(Debug, Clone)]
pub struct FeedRecord {
    /// Its place in the feed.
    pub position: FeedPosition,
    /// Its published type.
    pub event_type: EventType,
    /// The customer concerned.
    pub customer_id: CustomerId,
    /// The case concerned; `None` for a customer event.
    pub case_id: Option<CaseId>,
    /// The event as the timeline records it.
    pub event: EventRecord,
}

/// What one read of the feed found.
#[derive(Debug, Clone)]
pub struct FeedRead {
    /// The events after the query's place, in feed order, at most its limit.
    pub events: Vec<FeedRecord>,
    /// The place up to which the feed was final when it was read: no event at or before it
    /// can appear later. When fewer events than the limit were found, everything the query
    /// admits up to it has been handed out.
    pub horizon: FeedPosition,
}

/// PostgreSQL: the oldest transaction running when the statement's snapshot was taken (as a
/// 64-bit id, like `pg_current_xact_id()`); events of transactions below it are final.
const PG_XMIN: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// SQLite: the newest position written, read through the position index (0 when there is
/// none). SQLite writes every event with `position_tx` 0.
const SQLITE_LAST: &str = "COALESCE((SELECT position_seq FROM audit_events \
     ORDER BY position_tx DESC, position_seq DESC LIMIT 1), 0)";

fn page() -> Alias {
    Alias::new("page")
}

fn horizon() -> Alias {
    Alias::new("horizon")
}

/// The columns of an event the feed reads.
const COLUMNS: [audit_events::Column; 11] = [
    audit_events::Column::Id,
    audit_events::Column::Time,
    audit_events::Column::ActorUserId,
    audit_events::Column::ActorEmail,
    audit_events::Column::ActorDomainId,
    audit_events::Column::Action,
    audit_events::Column::CustomerId,
    audit_events::Column::CaseId,
    audit_events::Column::Details,
    audit_events::Column::PositionTx,
    audit_events::Column::PositionSeq,
];

/// Reads the feed: at most `limit` events after the query's place that the viewer may see,
/// and the horizon, in one statement.
#[tracing::instrument(skip_all)]
pub async fn read_feed(
    conn: &impl ConnectionTrait,
    query: &FeedQuery,
) -> Result<FeedRead, PersistenceError> {
    let backend = conn.get_database_backend();
    let (horizon_tx, horizon_seq) = match backend {
        DbBackend::Postgres => (Expr::cust(PG_XMIN), Expr::val(i64::MAX)),
        _ => (Expr::val(0_i64), Expr::cust(SQLITE_LAST)),
    };
    let events = page_of_events(query, backend);
    let mut statement = Query::select();
    statement
        .expr_as(horizon_tx, Alias::new("horizon_tx"))
        .expr_as(horizon_seq, Alias::new("horizon_seq"));
    for column in COLUMNS {
        statement.column((page(), column));
    }
    // One row for the horizon even when no event follows: the events join it.
    statement
        .from_subquery(
            Query::select()
                .expr_as(Expr::val(1), Alias::new("one"))
                .to_owned(),
            horizon(),
        )
        .join_subquery(JoinType::LeftJoin, events, page(), Expr::cust("1 = 1"))
        .order_by((page(), audit_events::Column::PositionTx), Order::Asc)
        .order_by((page(), audit_events::Column::PositionSeq), Order::Asc);
    let rows = conn.query_all(&statement).await?;
    let mut read = FeedRead {
        events: Vec::with_capacity(rows.len()),
        horizon: FeedPosition {
            tx: i64::MIN,
            seq: i64::MIN,
        },
    };
    for row in &rows {
        let tx: i64 = row.try_get("", "horizon_tx")?;
        let seq: i64 = row.try_get("", "horizon_seq")?;
        read.horizon = match backend {
            // Everything below the oldest running transaction.
            DbBackend::Postgres => FeedPosition {
                tx: tx.saturating_sub(1),
                seq,
            },
            _ => FeedPosition { tx, seq },
        };
        if let Some(record) = feed_record(row)? {
            read.events.push(record);
        }
    }
    Ok(read)
}

/// The events after the query's place that it admits, in feed order, one page; on PostgreSQL
/// only those below the snapshot's `xmin`.
fn page_of_events(query: &FeedQuery, backend: DbBackend) -> SelectStatement {
    let col = |c: audit_events::Column| Expr::col((audit_events::Entity, c));
    let mut q = Query::select();
    q.columns(COLUMNS.map(|c| (audit_events::Entity, c)))
        .from(audit_events::Entity);
    if let Some(after) = query.after {
        q.and_where(
            Expr::tuple([
                col(audit_events::Column::PositionTx),
                col(audit_events::Column::PositionSeq),
            ])
            .gt(Expr::tuple([Expr::value(after.tx), Expr::value(after.seq)])),
        );
    }
    if backend == DbBackend::Postgres {
        q.and_where(col(audit_events::Column::PositionTx).lt(Expr::cust(PG_XMIN)));
    }
    // Every published event concerns a customer; an audit row without one is not an event.
    match query.customer {
        Some(customer) => q.and_where(col(audit_events::Column::CustomerId).eq(customer.as_uuid())),
        None => q.and_where(col(audit_events::Column::CustomerId).is_not_null()),
    };
    let (case_types, customer_types): (Vec<EventType>, Vec<EventType>) =
        query.types.iter().partition(|t| t.is_case_event());
    let mut admitted = Cond::any();
    if !case_types.is_empty() {
        let mut case_events = Cond::all()
            .add(col(audit_events::Column::Action).is_in(case_types.iter().map(|t| t.as_str())))
            .add(col(audit_events::Column::CaseId).is_not_null());
        if let Some(seen) = case_seen(query.viewer) {
            case_events = case_events.add(seen);
        }
        admitted = admitted.add(case_events);
    }
    if !customer_types.is_empty() {
        let mut customer_events = Cond::all().add(
            col(audit_events::Column::Action).is_in(customer_types.iter().map(|t| t.as_str())),
        );
        if let Some(seen) = customer_event_seen(query.viewer) {
            customer_events = customer_events.add(seen);
        }
        admitted = admitted.add(customer_events);
    }
    if admitted.is_empty() {
        // No type asked for: nothing is admitted.
        admitted = admitted.add(Expr::cust("1 = 0"));
    }
    q.cond_where(admitted)
        .order_by(audit_events::Column::PositionTx, Order::Asc)
        .order_by(audit_events::Column::PositionSeq, Order::Asc)
        .limit(query.limit);
    q
}

/// The event's case is one the viewer sees now, by the case lists' visibility query; `None`
/// when the viewer sees every case.
fn case_seen(viewer: Viewer) -> Option<Expr> {
    if viewer == Viewer::Provider {
        return None;
    }
    let mut seen = Query::select();
    seen.expr(Expr::val(1)).from(cases::Entity).and_where(
        Expr::col((cases::Entity, cases::Column::Id))
            .equals((audit_events::Entity, audit_events::Column::CaseId)),
    );
    restrict_to_viewer(&mut seen, viewer);
    Some(Expr::exists(seen))
}

/// A customer event reaches the provider, the customer's own domain, and the partner domains
/// it was addressed to when it was recorded; `None` when the viewer sees every one.
fn customer_event_seen(viewer: Viewer) -> Option<Expr> {
    match viewer {
        Viewer::Provider => None,
        Viewer::Customer(domain) => Some(
            Expr::col((audit_events::Entity, audit_events::Column::CustomerId)).in_subquery(
                Query::select()
                    .column((customers::Entity, customers::Column::Id))
                    .from(customers::Entity)
                    .and_where(
                        Expr::col((customers::Entity, customers::Column::DomainId))
                            .eq(domain.as_uuid()),
                    )
                    .to_owned(),
            ),
        ),
        Viewer::Partner(domain) => Some(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(event_audiences::Entity)
                .and_where(
                    Expr::col((event_audiences::Entity, event_audiences::Column::EventId))
                        .equals((audit_events::Entity, audit_events::Column::Id)),
                )
                .and_where(
                    Expr::col((event_audiences::Entity, event_audiences::Column::DomainId))
                        .eq(domain.as_uuid()),
                )
                .to_owned(),
        )),
    }
}

/// The event of a row, `None` for the horizon's row when no event follows.
fn feed_record(row: &QueryResult) -> Result<Option<FeedRecord>, PersistenceError> {
    let Some(id) = row.try_get::<Option<Uuid>>("", "id")? else {
        return Ok(None);
    };
    let action: String = row.try_get("", "action")?;
    let event_type = EventType::of_action(&action).ok_or_else(|| {
        PersistenceError::Corrupt(format!("the feed read an unpublished action {action}"))
    })?;
    let details: String = row.try_get("", "details")?;
    Ok(Some(FeedRecord {
        position: FeedPosition {
            tx: row.try_get("", "position_tx")?,
            seq: row.try_get("", "position_seq")?,
        },
        event_type,
        customer_id: CustomerId::from_uuid(row.try_get("", "customer_id")?),
        case_id: row
            .try_get::<Option<Uuid>>("", "case_id")?
            .map(CaseId::from_uuid),
        event: EventRecord {
            id: EventId::from_uuid(id),
            time: from_micros(row.try_get("", "time")?),
            actor: AuditActor {
                user_id: row
                    .try_get::<Option<Uuid>>("", "actor_user_id")?
                    .map(UserId::from_uuid),
                email: row.try_get("", "actor_email")?,
                domain_id: row
                    .try_get::<Option<Uuid>>("", "actor_domain_id")?
                    .map(DomainId::from_uuid),
            },
            action,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        },
    }))
}
