//! Case lists: the visibility rule of `casebridge_domain::visibility::can_see` as a query, the
//! filters, keyset pagination and the counts (keyword searches go through [`super::search`]).

use std::sync::LazyLock;

use casebridge_domain::{
    CaseStatus, CustomerId, DomainId, ResellerAccess, ServiceLevelState, Severity, Viewer,
};
use sea_orm::sea_query::{
    Alias, Cond, Expr, JoinType, Order, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{DbBackend, ExprTrait, Statement, Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::cases::{CaseRecord, case_select, fetch_cases_with, from_cases, matches_alias};
use super::identity::{self, Standing, StandingColumns, StandingProbe};
use super::search::{drives_from_matches, keyword_matches, search_cases, search_terms};
use super::template::Templates;
use super::to_micros;
use crate::PersistenceError;
use crate::entities::{case_access, cases, customers, support_partners};
use crate::read::Reads;

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
///
/// On PostgreSQL each match's record is a `LATERAL` subquery on the match's number, fenced by
/// `OFFSET 0` so that it is not merged into the join: it can only run as one look-up per
/// match (an index-only descent of `ix_case_access_match`). Joined plainly, PostgreSQL's
/// planner read every record the partner holds, by customer, and hashed them to probe with the
/// matches: 7–12 ms against 1.3–1.7 ms for 70 matches among 1,000 records at 100,000 cases,
/// and a cost that grew with every case the partner filed. The matches and their records are
/// fenced again as a whole before the customers are checked: left in one join, PostgreSQL
/// checked each match's record inside the loop, hashing the record and scanning the whole set
/// of the partner's customers once per match (620 matches × 100 customers: 24.9 ms of a
/// 26 ms statement at a million cases); fenced, it hashes the customers once and probes them
/// with each record (6.3 ms).
pub(crate) fn from_visible(
    q: &mut SelectStatement,
    backend: DbBackend,
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
    let seen = Expr::col((access(), case_access::Column::CustomerId))
        .in_subquery(customers_seen_by_partner(domain));
    if backend == DbBackend::Postgres {
        const READ: [case_access::Column; 6] = [
            case_access::Column::CaseId,
            case_access::Column::CustomerId,
            case_access::Column::UpdateTime,
            case_access::Column::CreateTime,
            case_access::Column::Severity,
            case_access::Column::Status,
        ];
        let own = |c: case_access::Column| Expr::col((case_access::Entity, c));
        let mut record = Query::select();
        record
            .columns(READ)
            .from(case_access::Entity)
            .and_where(own(case_access::Column::DomainId).eq(domain.as_uuid()))
            .and_where(
                own(case_access::Column::CaseNumber)
                    .equals((matches_alias(), Alias::new("case_number"))),
            )
            .offset(0);
        let found = Alias::new("record");
        let mut records = Query::select();
        records
            .columns(READ.map(|c| (found.clone(), c)))
            .from_subquery(matches, matches_alias())
            // The record's own `WHERE` ties it to its match.
            .join_lateral(JoinType::InnerJoin, record, found, Expr::cust("TRUE"))
            .offset(0);
        q.from_subquery(records, access()).and_where(seen);
    } else {
        let record = |c: case_access::Column| Expr::col((access(), c));
        let recorded = record(case_access::Column::DomainId)
            .eq(domain.as_uuid())
            .and(
                record(case_access::Column::CaseNumber)
                    .equals((matches_alias(), Alias::new("case_number"))),
            );
        q.from_subquery(matches, matches_alias())
            // A cross join keeps `case_access` inside the loop over the matches; it takes no
            // `ON`: the condition goes to `WHERE`.
            .join_as(
                JoinType::CrossJoin,
                case_access::Entity,
                access(),
                recorded.clone(),
            )
            .and_where(recorded)
            .and_where(seen);
    }
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
/// filter, a sum over running counts kept by trigger: a partner's across its customers
/// (`partner_seen_case_counts`, rows per status and severity of the cases of the customers it
/// sees); otherwise per customer, status and severity (`partner_case_counts`,
/// `customer_case_counts`) over the customers the viewer sees. With those filters, a count of
/// the matching cases.
pub(crate) async fn count_cases(
    conn: &impl Reads,
    query: &CaseQuery,
) -> Result<u64, PersistenceError> {
    let backend = conn.backend();
    let total = conn
        .rows::<Count>(count_statement(backend, query))
        .await?
        .first()
        .map_or(0, |c| c.n);
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The statement of [`count_cases`]: built once per shape, unless the query has keywords.
fn count_statement(backend: DbBackend, query: &CaseQuery) -> Statement {
    if has_terms(query) {
        return backend.build(&count_query(backend, query));
    }
    STATEMENTS.statement(
        Shape::of(backend, query, Part::Count),
        || backend.build(&count_query(backend, &query.stand_in())),
        query.filler(),
    )
}

/// The statement of [`count_cases`], built afresh.
fn count_query(backend: DbBackend, query: &CaseQuery) -> SelectStatement {
    let mut count = Query::select();
    if has_terms(query) || query.updated_after.is_some() || query.service_level.is_some() {
        let matches = drives_from_matches(backend, query);
        let from_matches = matches.is_some();
        let (t, _) = from_visible(&mut count, backend, matches, query);
        add_filters(&mut count, &t, query, backend, from_matches);
        count.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    } else {
        let t = match query.viewer {
            // Across every customer it sees: the sums kept per partner, status and severity
            // (migrations `m20261130_000008_count_seen_cases` and, on PostgreSQL, where they are
            // rows only ever added and folded by housekeeping,
            // `m20261203_000001_count_seen_cases_on_postgres`).
            Viewer::Partner(domain) if query.customer.is_none() => {
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
pub async fn list_cases(
    conn: &impl Reads,
    query: &CaseQuery,
) -> Result<(Vec<CaseRecord>, u64), PersistenceError> {
    let (page, total, _) = list_cases_carrying(conn, query, None).await?;
    Ok((page, total))
}

/// [`list_cases`], carrying the standing of `probe`'s token in the page's own statement on
/// PostgreSQL (see [`identity::add_standing_columns`]): one round trip for both. The standing
/// is [`Standing::NotRead`] without a probe, on SQLite, for a keyword search and for a page
/// with no case on it (there is no row to carry it).
#[tracing::instrument(skip_all)]
pub async fn list_cases_carrying(
    conn: &impl Reads,
    query: &CaseQuery,
    probe: Option<StandingProbe>,
) -> Result<(Vec<CaseRecord>, u64, Standing), PersistenceError> {
    let backend = conn.backend();
    if has_terms(query) {
        let (page, total) = search_cases(conn, query).await?;
        return Ok((page, total, Standing::NotRead));
    }
    let probe = probe.filter(|_| backend == DbBackend::Postgres);
    let statement = page_statement(backend, query, probe);
    let (rows, standing) = if probe.is_some() {
        let rows = fetch_cases_with::<(Total, StandingColumns)>(conn, statement).await?;
        let standing = rows.first().map_or(Standing::NotRead, |(_, (_, s))| {
            Standing::Read(s.standing())
        });
        let rows = rows.into_iter().map(|(case, (total, _))| (case, total));
        (rows.collect::<Vec<_>>(), standing)
    } else {
        let rows = fetch_cases_with::<Total>(conn, statement).await?;
        (rows, Standing::NotRead)
    };
    // Every row carries the total; a page past the end has none to carry it.
    let total = match rows.first() {
        Some((_, total)) => u64::try_from(total.total_size).unwrap_or(0),
        None => count_cases(conn, query).await?,
    };
    Ok((
        rows.into_iter().map(|(case, _)| case).collect(),
        total,
        standing,
    ))
}

/// The statement of a page of a list without keywords, built once per shape (carrying the
/// standing of `probe`'s token or not is part of the shape).
fn page_statement(
    backend: DbBackend,
    query: &CaseQuery,
    probe: Option<StandingProbe>,
) -> Statement {
    let fill = query.filler();
    STATEMENTS.statement(
        Shape::of(
            backend,
            query,
            Part::Page {
                carrying: probe.is_some(),
            },
        ),
        || {
            let stand_in = probe.map(|_| STAND_IN_PROBE);
            backend.build(&page_query(backend, &query.stand_in(), stand_in))
        },
        |value| match (value, probe) {
            (Value::Uuid(Some(u)), Some(probe)) if *u == STAND_IN_PROBE.user.as_uuid() => {
                *u = probe.user.as_uuid();
            }
            (Value::Uuid(Some(u)), Some(probe)) if *u == STAND_IN_PROBE.jti => *u = probe.jti,
            (value, _) => fill(value),
        },
    )
}

/// The statement of a page of a list without keywords, built afresh: the page's cases, each
/// with the list's total (the count of [`count_cases`] as a subquery, which the database runs
/// once per statement), so that a page and its total are one read; and with the standing of
/// `probe`'s token when given (PostgreSQL).
fn page_query(
    backend: DbBackend,
    query: &CaseQuery,
    probe: Option<StandingProbe>,
) -> SelectStatement {
    let mut q = case_select();
    q.expr_as(
        Expr::SubQuery(
            None,
            Box::new(count_query(backend, query).into_sub_query_statement()),
        ),
        Alias::new("total_size"),
    );
    if let Some(probe) = probe {
        identity::add_standing_columns(&mut q, probe);
    }
    let (t, id_col) = restrict_to_viewer(&mut q, query.viewer);
    add_filters(&mut q, &t, query, backend, false);
    let keys = [
        Expr::col((t.clone(), Alias::new("severity"))),
        sort_time(query.order, &t),
        Expr::col((t.clone(), id_col)),
    ];
    keyset_page(&mut q, query, keys);
    q
}

/// The statements of lists without keywords (a page and its count), by shape: their SQL
/// depends on which filters a list has, its order and whether it continues a page, not on the
/// values ([`super::template`]). Keyword searches are built per request.
static STATEMENTS: LazyLock<Templates<Shape>> = LazyLock::new(Templates::new);

/// Which statement of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Page { carrying: bool },
    Count,
}

/// What a list's statement text depends on: everything in a [`CaseQuery`] but the values
/// [`CaseQuery::filler`] replaces (statuses and severities are few and kept as they are).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    /// The backend (`DbBackend` is not `Hash`; the service runs on two).
    postgres: bool,
    part: Part,
    viewer: Viewer,
    customer: bool,
    statuses: Vec<CaseStatus>,
    severities: Vec<Severity>,
    updated_after: bool,
    service_level: Option<ServiceLevelState>,
    order: CaseOrder,
    after: bool,
}

impl Shape {
    fn of(backend: DbBackend, query: &CaseQuery, part: Part) -> Self {
        Self {
            postgres: backend == DbBackend::Postgres,
            part,
            viewer: query.stand_in_viewer(),
            customer: query.customer.is_some(),
            statuses: query.statuses.clone(),
            severities: query.severities.clone(),
            updated_after: query.updated_after.is_some(),
            service_level: query.service_level,
            order: query.order,
            after: query.after.is_some(),
        }
    }
}

/// The stand-ins of a list's values (see [`super::template`]): none is a value a list's
/// statement holds otherwise (its fixed values are the reseller access `granted` and the
/// statuses and severities of its shape).
const STAND_IN_DOMAIN: Uuid = Uuid::from_u128(0x5354_414e_442d_494e_2d44_4f4d_4149_4e00);
const STAND_IN_CUSTOMER: Uuid = Uuid::from_u128(0x5354_414e_442d_494e_2d43_5553_544f_4d00);
const STAND_IN_CURSOR_ID: Uuid = Uuid::from_u128(0x5354_414e_442d_494e_2d43_5552_534f_5200);
const STAND_IN_CURSOR_TIME: i64 = i64::MIN + 1;
const STAND_IN_CURSOR_SEVERITY: i16 = i16::MIN + 1;
const STAND_IN_LIMIT: u64 = u64::MAX - 1;
const STAND_IN_PROBE: StandingProbe = StandingProbe {
    user: casebridge_domain::UserId::from_uuid(Uuid::from_u128(
        0x5354_414e_442d_494e_2d55_5345_5200_0000,
    )),
    jti: Uuid::from_u128(0x5354_414e_442d_494e_2d54_4f4b_454e_0000),
};
/// Times stand in as instants (the query holds `OffsetDateTime`s), far from any case's.
const STAND_IN_UPDATED_AFTER: OffsetDateTime =
    time::macros::datetime!(1901-02-03 04:05:06.000007 UTC);
const STAND_IN_NOW: OffsetDateTime = time::macros::datetime!(1902-03-04 05:06:07.000008 UTC);

impl CaseQuery {
    /// The viewer of the query's shape: its kind, with the stand-in domain.
    fn stand_in_viewer(&self) -> Viewer {
        let domain = DomainId::from_uuid(STAND_IN_DOMAIN);
        match self.viewer {
            Viewer::Provider => Viewer::Provider,
            Viewer::Customer(_) => Viewer::Customer(domain),
            Viewer::Partner(_) => Viewer::Partner(domain),
        }
    }

    /// The query of the same shape with stand-ins for its values.
    fn stand_in(&self) -> Self {
        Self {
            viewer: self.stand_in_viewer(),
            customer: self
                .customer
                .map(|_| CustomerId::from_uuid(STAND_IN_CUSTOMER)),
            q: None,
            statuses: self.statuses.clone(),
            severities: self.severities.clone(),
            updated_after: self.updated_after.map(|_| STAND_IN_UPDATED_AFTER),
            service_level: self.service_level,
            now: STAND_IN_NOW,
            order: self.order,
            after: self.after.map(|_| CaseCursor {
                severity: STAND_IN_CURSOR_SEVERITY,
                time: STAND_IN_CURSOR_TIME,
                id: STAND_IN_CURSOR_ID,
            }),
            limit: STAND_IN_LIMIT,
        }
    }

    /// What replaces each stand-in of [`Self::stand_in`] with this query's value; the values
    /// are worked out once, not for each of the statement's values.
    fn filler(&self) -> impl Fn(&mut Value) + '_ {
        let domain = match self.viewer {
            Viewer::Provider => None,
            Viewer::Customer(d) | Viewer::Partner(d) => Some(d.as_uuid()),
        };
        let (updated_after_stand_in, now_stand_in) =
            (to_micros(STAND_IN_UPDATED_AFTER), to_micros(STAND_IN_NOW));
        let (updated_after, now) = (self.updated_after.map(to_micros), to_micros(self.now));
        move |value: &mut Value| match value {
            Value::Uuid(Some(u)) => {
                let actual = match *u {
                    STAND_IN_DOMAIN => domain,
                    STAND_IN_CUSTOMER => self.customer.map(|c| c.as_uuid()),
                    STAND_IN_CURSOR_ID => self.after.map(|c| c.id),
                    _ => None,
                };
                if let Some(actual) = actual {
                    *u = actual;
                }
            }
            Value::BigInt(Some(n)) => {
                let actual = match *n {
                    STAND_IN_CURSOR_TIME => self.after.map(|c| c.time),
                    n if n == updated_after_stand_in => updated_after,
                    n if n == now_stand_in => Some(now),
                    _ => None,
                };
                if let Some(actual) = actual {
                    *n = actual;
                }
            }
            Value::SmallInt(Some(n)) if *n == STAND_IN_CURSOR_SEVERITY => {
                if let Some(c) = self.after {
                    *n = c.severity;
                }
            }
            Value::BigUnsigned(Some(n)) if *n == STAND_IN_LIMIT => *n = self.limit,
            _ => {}
        }
    }
}

crate::read_row! {
    /// A count.
    struct Count {
        n: i64,
    }
}

crate::read_row! {
    /// The total a page's rows carry beside each case.
    struct Total {
        total_size: i64,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so that a failure repeats.
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn uuid(&mut self) -> Uuid {
            Uuid::from_u64_pair(self.next(), self.next())
        }

        fn time(&mut self) -> OffsetDateTime {
            let micros =
                1_700_000_000_000_000 + i64::try_from(self.next() % (1 << 40)).unwrap_or(0);
            super::super::from_micros(micros)
        }
    }

    /// A query of the shape `bits` picks, with fresh values.
    fn query(bits: u64, n: &mut Numbers) -> CaseQuery {
        let bit = |i: u32| bits >> i & 1 == 1;
        let domain = DomainId::from_uuid(n.uuid());
        let statuses = [
            CaseStatus::New,
            CaseStatus::InProgressSupport,
            CaseStatus::ActionRequired,
            CaseStatus::SolutionOffered,
            CaseStatus::Closed,
        ];
        let severities = [Severity::P1, Severity::P2, Severity::P3, Severity::P4];
        let orders = [
            CaseOrder::UpdateTimeDesc,
            CaseOrder::CreateTimeDesc,
            CaseOrder::Severity,
            CaseOrder::FirstResponseDue,
        ];
        let levels = [
            None,
            Some(ServiceLevelState::Running),
            Some(ServiceLevelState::Met),
            Some(ServiceLevelState::Breached),
        ];
        // The two bits at `at`, as one of `of` choices.
        let pick = |at: u32, of: usize| usize::try_from(bits >> at & 3).unwrap_or(0) % of;
        CaseQuery {
            viewer: [
                Viewer::Provider,
                Viewer::Customer(domain),
                Viewer::Partner(domain),
            ][pick(0, 3)],
            customer: bit(2).then(|| CustomerId::from_uuid(n.uuid())),
            // Text without a keyword in it lists as no text does.
            q: bit(18).then(|| "?! --".to_owned()),
            statuses: (0..5u32)
                .filter(|i| bit(3 + i))
                .map(|i| statuses[i as usize])
                .collect(),
            severities: (0..4u32)
                .filter(|i| bit(8 + i))
                .map(|i| severities[i as usize])
                .collect(),
            updated_after: bit(12).then(|| n.time()),
            service_level: levels[pick(13, 4)],
            now: n.time(),
            order: orders[pick(15, 4)],
            after: bit(17).then(|| CaseCursor {
                severity: i16::try_from(1 + n.next() % 4).unwrap_or(1),
                time: i64::try_from(n.next() % (1 << 52)).unwrap_or(0),
                id: n.uuid(),
            }),
            limit: 1 + n.next() % 101,
        }
    }

    #[test]
    fn a_list_statement_built_once_is_the_statement_built_afresh_for_the_same_query() {
        let mut n = Numbers(0x2545_f491_4f6c_dd1d);
        // Shapes picked at random, and beside each the shapes that differ from it in one
        // thing (one bit of `query`'s 19, or carrying a token's standing), so that a shape
        // whose key missed a difference would
        // be given its neighbour's statement. Fewer shapes than are kept, each used with
        // several sets of values: the first use of a shape builds it, the next ones fill it.
        let shapes = (0..12).flat_map(|_| {
            let bits = n.next();
            std::iter::once(bits).chain((0..20).map(move |i| bits ^ 1 << i))
        });
        for bits in shapes.collect::<Vec<_>>() {
            for _ in 0..3 {
                let query = query(bits, &mut n);
                let probe = (bits >> 19 & 1 == 1).then(|| StandingProbe {
                    user: casebridge_domain::UserId::from_uuid(n.uuid()),
                    jti: n.uuid(),
                });
                for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
                    let filled = page_statement(backend, &query, probe);
                    let fresh = backend.build(&page_query(backend, &query, probe));
                    assert_eq!(filled.sql, fresh.sql, "{query:?}");
                    assert_eq!(filled.values, fresh.values, "{query:?}");
                    let filled = count_statement(backend, &query);
                    let fresh = backend.build(&count_query(backend, &query));
                    assert_eq!(filled.sql, fresh.sql, "{query:?}");
                    assert_eq!(filled.values, fresh.values, "{query:?}");
                }
            }
        }
    }
}
