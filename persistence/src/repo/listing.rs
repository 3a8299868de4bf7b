//! Case lists: the visibility rule of `casebridge_domain::visibility::can_see` as a query, the
//! filters, keyset pagination and the counts (keyword searches go through [`super::search`]).

use casebridge_domain::{
    CaseStatus, CustomerId, DomainId, ResellerAccess, ServiceLevelState, Severity, Viewer,
};
use sea_orm::sea_query::{Alias, Cond, Expr, JoinType, Order, Query, SelectStatement};
use sea_orm::{DbBackend, ExprTrait};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::cases::{CaseRecord, case_select, fetch_cases, from_cases, matches_alias};
use super::search::{drives_from_matches, keyword_matches, search_cases, search_terms};
use super::to_micros;
use crate::PersistenceError;
use crate::entities::{case_access, cases, customers, support_partners};
use crate::read::Reads;

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseOrder {
    /// Most recently updated first.
    #[default]
    UpdateTimeDesc,
    /// Most recently created first.
    CreateTimeDesc,
    /// Most severe first, then most recently updated.
    Severity,
    /// The first response due soonest first; cases without a target last.
    FirstResponseDue,
}

/// Where the next page starts: the last case's sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCursor {
    /// Severity rank (for the severity order).
    pub severity: i16,
    /// Update or create time (microseconds).
    pub time: i64,
    /// Case id.
    pub id: Uuid,
}

impl CaseCursor {
    /// The cursor after this case in this order.
    pub fn after(case: &CaseRecord, order: CaseOrder) -> Self {
        Self {
            severity: case.severity.rank(),
            time: match order {
                CaseOrder::CreateTimeDesc => to_micros(case.create_time),
                CaseOrder::FirstResponseDue => case.target.map_or(i64::MAX, |t| to_micros(t.due)),
                _ => to_micros(case.update_time),
            },
            id: case.id.as_uuid(),
        }
    }
}

/// Which cases to list.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    /// Who looks: the visibility rule applies.
    pub viewer: Viewer,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Keywords over title, description and comments.
    pub q: Option<String>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<CaseStatus>,
    /// Only these severities (empty: all).
    pub severities: Vec<Severity>,
    /// Only cases updated after this time.
    pub updated_after: Option<OffsetDateTime>,
    /// Only cases whose first-response target stands so at `now`.
    pub service_level: Option<ServiceLevelState>,
    /// The time the service-level filter is judged at.
    pub now: OffsetDateTime,
    /// Order.
    pub order: CaseOrder,
    /// Start after this position.
    pub after: Option<CaseCursor>,
    /// Page size.
    pub limit: u64,
}

fn access() -> Alias {
    Alias::new("access")
}

/// Adds the visibility rule of `casebridge_domain::visibility::can_see` to a select of cases,
/// and returns the table whose columns carry the sort keys (`case_access` for partners, whose
/// index serves their list; `cases` otherwise) with its id column.
pub(crate) fn restrict_to_viewer(q: &mut SelectStatement, viewer: Viewer) -> (Alias, Alias) {
    match viewer {
        Viewer::Provider => (Alias::new("cases"), Alias::new("id")),
        Viewer::Customer(domain) => {
            q.join(
                JoinType::InnerJoin,
                customers::Entity,
                Expr::col((customers::Entity, customers::Column::Id))
                    .equals((cases::Entity, cases::Column::CustomerId)),
            )
            .and_where(
                Expr::col((customers::Entity, customers::Column::DomainId)).eq(domain.as_uuid()),
            );
            (Alias::new("cases"), Alias::new("id"))
        }
        Viewer::Partner(domain) => {
            // Recorded on the case…
            let recorded = Expr::col((access(), case_access::Column::CaseId))
                .equals((cases::Entity, cases::Column::Id))
                .and(Expr::col((access(), case_access::Column::DomainId)).eq(domain.as_uuid()));
            q.join_as(JoinType::InnerJoin, case_access::Entity, access(), recorded)
                // …and still managing the customer, authorised to act for it: the reseller with
                // access granted, or an active support partner.
                .join(
                    JoinType::InnerJoin,
                    customers::Entity,
                    Expr::col((customers::Entity, customers::Column::Id))
                        .equals((cases::Entity, cases::Column::CustomerId)),
                )
                .join(
                    JoinType::LeftJoin,
                    support_partners::Entity,
                    Expr::col((
                        support_partners::Entity,
                        support_partners::Column::CustomerId,
                    ))
                    .equals((cases::Entity, cases::Column::CustomerId))
                    .and(
                        Expr::col((
                            support_partners::Entity,
                            support_partners::Column::PartnerDomainId,
                        ))
                        .eq(domain.as_uuid()),
                    ),
                )
                .cond_where(
                    Cond::any()
                        .add(
                            Cond::all()
                                .add(
                                    Expr::col((
                                        customers::Entity,
                                        customers::Column::ResellerDomainId,
                                    ))
                                    .eq(domain.as_uuid()),
                                )
                                .add(
                                    Expr::col((
                                        customers::Entity,
                                        customers::Column::ResellerAccess,
                                    ))
                                    .eq(ResellerAccess::Granted.as_str()),
                                ),
                        )
                        .add(
                            Expr::col((
                                support_partners::Entity,
                                support_partners::Column::PartnerDomainId,
                            ))
                            .is_not_null(),
                        ),
                );
            (access(), Alias::new("case_id"))
        }
    }
}

/// The cases a keyword search or its count reads, with the visibility rule applied: from the
/// keyword matches when a statement should drive from them (`matches`, see
/// [`super::search::drives_from_matches`]), else from `cases`; returns what
/// [`restrict_to_viewer`] returns.
///
/// A partner's matches go straight to its records of them (`case_access` by partner and case
/// number) without reading the cases, unless a filter or the order needs a column only the
/// case has; each record is then checked against the set of customers the partner still
/// manages, read once (an `IN` subquery) rather than looked up per match: a search visits
/// hundreds of matches. Both halves of the rule are those [`restrict_to_viewer`] applies.
pub(crate) fn from_visible(
    q: &mut SelectStatement,
    matches: Option<SelectStatement>,
    query: &CaseQuery,
) -> (Alias, Alias) {
    let (matches, domain) = match (matches, query.viewer) {
        (Some(matches), Viewer::Partner(domain)) => (matches, domain),
        (matches, viewer) => {
            from_cases(q, matches);
            return restrict_to_viewer(q, viewer);
        }
    };
    let record = |c: case_access::Column| Expr::col((access(), c));
    let recorded = record(case_access::Column::DomainId)
        .eq(domain.as_uuid())
        .and(
            record(case_access::Column::CaseNumber)
                .equals((matches_alias(), Alias::new("case_number"))),
        );
    q.from_subquery(matches, matches_alias())
        // A cross join keeps `case_access` inside the loop over the matches; it takes no `ON`:
        // the condition goes to `WHERE`.
        .join_as(
            JoinType::CrossJoin,
            case_access::Entity,
            access(),
            recorded.clone(),
        )
        .and_where(recorded)
        .and_where(
            record(case_access::Column::CustomerId).in_subquery(customers_seen_by_partner(domain)),
        );
    // The service-level filter and the due-time order read the case's target.
    if query.service_level.is_some() || query.order == CaseOrder::FirstResponseDue {
        q.cross_join(cases::Entity).and_where(
            Expr::col((cases::Entity, cases::Column::Id))
                .equals((access(), case_access::Column::CaseId)),
        );
    }
    (access(), Alias::new("case_id"))
}

/// Adds the query's filters (customer, statuses, severities, update time, keywords) on the
/// columns of `t`; keywords only when the statement does not already read from the matches.
pub(crate) fn add_filters(
    q: &mut SelectStatement,
    t: &Alias,
    query: &CaseQuery,
    backend: DbBackend,
    from_matches: bool,
) {
    let col = |name: &str| Expr::col((t.clone(), Alias::new(name)));
    if let Some(customer) = query.customer {
        q.and_where(col("customer_id").eq(customer.as_uuid()));
    }
    if !query.statuses.is_empty() {
        q.and_where(col("status").is_in(query.statuses.iter().map(|s| s.as_str())));
    }
    if !query.severities.is_empty() {
        q.and_where(col("severity").is_in(query.severities.iter().map(|s| s.rank())));
    }
    if let Some(after) = query.updated_after {
        q.and_where(col("update_time").gt(to_micros(after)));
    }
    if let Some(state) = query.service_level {
        q.cond_where(service_level_is(state, query.now));
    }
    if let Some(text) = query.q.as_deref().filter(|_| !from_matches) {
        let terms = search_terms(text);
        if !terms.is_empty() {
            q.and_where(
                Expr::col((cases::Entity, cases::Column::CaseNumber)).in_subquery(keyword_matches(
                    backend,
                    &terms,
                    query.viewer,
                )),
            );
        }
    }
}

/// The customers whose cases a partner domain may see, as far as management goes: those it
/// resells to with access granted, and those it is a support partner of (the second half of
/// the visibility rule; the first, being recorded on the case, is what `case_access` holds).
fn customers_seen_by_partner(domain: DomainId) -> SelectStatement {
    let mut resold = Query::select();
    resold
        .column((customers::Entity, customers::Column::Id))
        .from(customers::Entity)
        .and_where(
            Expr::col((customers::Entity, customers::Column::ResellerDomainId))
                .eq(domain.as_uuid()),
        )
        .and_where(
            Expr::col((customers::Entity, customers::Column::ResellerAccess))
                .eq(ResellerAccess::Granted.as_str()),
        );
    let supported = Query::select()
        .column((
            support_partners::Entity,
            support_partners::Column::CustomerId,
        ))
        .from(support_partners::Entity)
        .and_where(
            Expr::col((
                support_partners::Entity,
                support_partners::Column::PartnerDomainId,
            ))
            .eq(domain.as_uuid()),
        )
        .to_owned();
    resold.union(sea_orm::sea_query::UnionType::Distinct, supported);
    resold
}

/// How many cases the query matches. Without keywords, an update-time bound or a service-level
/// filter, a sum over running counts kept by trigger: on SQLite a partner's across its
/// customers (`partner_seen_case_counts`, rows per status and severity of the cases of the
/// customers it sees); otherwise per customer, status and severity (`partner_case_counts`,
/// `customer_case_counts`) over the customers the viewer sees. With those filters, a count of
/// the matching cases.
pub(crate) async fn count_cases(
    conn: &impl Reads,
    query: &CaseQuery,
) -> Result<u64, PersistenceError> {
    let backend = conn.backend();
    let count = count_query(backend, query);
    let total = conn
        .rows::<Count>(backend.build(&count))
        .await?
        .first()
        .map_or(0, |c| c.n);
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The statement of [`count_cases`].
fn count_query(backend: DbBackend, query: &CaseQuery) -> SelectStatement {
    let mut count = Query::select();
    if has_terms(query) || query.updated_after.is_some() || query.service_level.is_some() {
        let matches = drives_from_matches(backend, query);
        let from_matches = matches.is_some();
        let (t, _) = from_visible(&mut count, matches, query);
        add_filters(&mut count, &t, query, backend, from_matches);
        count.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    } else {
        let t = match query.viewer {
            // Across every customer it sees, on SQLite: the sums kept per partner, status and
            // severity (see the migration `m20261130_000008_count_seen_cases` for why not on
            // PostgreSQL).
            Viewer::Partner(domain) if query.customer.is_none() && backend == DbBackend::Sqlite => {
                let t = Alias::new("partner_seen_case_counts");
                count.from(t.clone()).and_where(
                    Expr::col((t.clone(), Alias::new("domain_id"))).eq(domain.as_uuid()),
                );
                t
            }
            Viewer::Partner(domain) => {
                let t = Alias::new("partner_case_counts");
                count
                    .from(t.clone())
                    .and_where(Expr::col((t.clone(), Alias::new("domain_id"))).eq(domain.as_uuid()))
                    .and_where(
                        Expr::col((t.clone(), Alias::new("customer_id")))
                            .in_subquery(customers_seen_by_partner(domain)),
                    );
                t
            }
            Viewer::Customer(domain) => {
                let t = Alias::new("customer_case_counts");
                count.from(t.clone()).and_where(
                    Expr::col((t.clone(), Alias::new("customer_id"))).in_subquery(
                        Query::select()
                            .column((customers::Entity, customers::Column::Id))
                            .from(customers::Entity)
                            .and_where(
                                Expr::col((customers::Entity, customers::Column::DomainId))
                                    .eq(domain.as_uuid()),
                            )
                            .to_owned(),
                    ),
                );
                t
            }
            Viewer::Provider => {
                let t = Alias::new("customer_case_counts");
                count.from(t.clone());
                t
            }
        };
        add_filters(&mut count, &t, query, backend, false);
        count.expr_as(
            Expr::cust("CAST(COALESCE(SUM(n), 0) AS BIGINT)"),
            Alias::new("n"),
        );
    }
    count
}

/// A page of the cases the viewer sees, and how many match in all.
#[tracing::instrument(skip_all)]
pub async fn list_cases(
    conn: &impl Reads,
    query: &CaseQuery,
) -> Result<(Vec<CaseRecord>, u64), PersistenceError> {
    let backend = conn.backend();
    if has_terms(query) {
        return search_cases(conn, query).await;
    }
    let mut q = case_select();
    let (t, id_col) = restrict_to_viewer(&mut q, query.viewer);
    add_filters(&mut q, &t, query, backend, false);
    let keys = [
        Expr::col((t.clone(), Alias::new("severity"))),
        sort_time(query.order, &t),
        Expr::col((t.clone(), id_col)),
    ];
    keyset_page(&mut q, query, keys);
    let rows = fetch_cases(conn, &q).await?;
    let total = count_cases(conn, query).await?;
    Ok((rows, total))
}

crate::read_row! {
    /// A count.
    struct Count {
        n: i64,
    }
}

fn has_terms(query: &CaseQuery) -> bool {
    query
        .q
        .as_deref()
        .is_some_and(|q| !search_terms(q).is_empty())
}

/// The sort key of an order besides severity and id: a column of `t`, or for the due-time
/// order the case's due time, cases without a target after every other.
pub(crate) fn sort_time(order: CaseOrder, t: &Alias) -> Expr {
    match order {
        CaseOrder::CreateTimeDesc => Expr::col((t.clone(), Alias::new("create_time"))),
        // Written as the expression index `ix_cases_first_response_order` is, so that both
        // planners walk it.
        CaseOrder::FirstResponseDue => {
            Expr::cust("COALESCE(cases.first_response_due_time, 9223372036854775807)")
        }
        CaseOrder::UpdateTimeDesc | CaseOrder::Severity => {
            Expr::col((t.clone(), Alias::new("update_time")))
        }
    }
}

/// The cases whose first-response target stands as `state` at `now`: the SQL form of
/// `casebridge_domain::service_level::state` over the time the target stopped running
/// (support's first reply, or a close before it).
fn service_level_is(state: ServiceLevelState, now: OffsetDateTime) -> Cond {
    let due = || Expr::col((cases::Entity, cases::Column::FirstResponseDueTime));
    let answered = || Expr::col((cases::Entity, cases::Column::TargetStoppedTime));
    let now = to_micros(now);
    let with_target = Cond::all().add(due().is_not_null());
    match state {
        ServiceLevelState::Running => with_target.add(answered().is_null()).add(due().gte(now)),
        ServiceLevelState::Met => with_target
            .add(answered().is_not_null())
            .add(answered().lte(due())),
        ServiceLevelState::Breached => with_target.add(
            Cond::any()
                .add(
                    Cond::all()
                        .add(answered().is_not_null())
                        .add(answered().gt(due())),
                )
                .add(Cond::all().add(answered().is_null()).add(due().lt(now))),
        ),
    }
}

/// Keyset pagination on the sort keys `[severity, time, id]`: the rows after the cursor, in
/// the query's order, one page.
pub(crate) fn keyset_page(
    q: &mut SelectStatement,
    query: &CaseQuery,
    [severity, time, id]: [Expr; 3],
) {
    let ascending = query.order == CaseOrder::FirstResponseDue;
    if let Some(c) = query.after {
        let key = Expr::tuple([time.clone(), id.clone()]);
        let cursor = Expr::tuple([Expr::value(c.time), Expr::value(c.id)]);
        let past = if ascending {
            key.gt(cursor)
        } else {
            key.lt(cursor)
        };
        match query.order {
            CaseOrder::Severity => {
                q.cond_where(
                    Cond::any()
                        .add(severity.clone().gt(c.severity))
                        .add(Cond::all().add(severity.clone().eq(c.severity)).add(past)),
                );
            }
            _ => {
                q.and_where(past);
            }
        }
    }
    if query.order == CaseOrder::Severity {
        q.order_by_expr(severity, Order::Asc);
    }
    let direction = if ascending { Order::Asc } else { Order::Desc };
    q.order_by_expr(time, direction.clone())
        .order_by_expr(id, direction)
        .limit(query.limit);
}
