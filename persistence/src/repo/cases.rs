//! Case records: reading a case with the names the API shows (and, in one query, whether a
//! viewer may see it), filing one, and changing it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use casebridge_domain::case::Escalation;
use casebridge_domain::service_level::{Hours, ServiceLevelTarget};
use casebridge_domain::visibility::{CaseAudience, can_see};
use casebridge_domain::{
    CaseId, CaseStatus, ClassificationId, CustomerId, DomainId, EscalationReason, Justification,
    Lifecycle, Management, ProductType, Severity, SupportTier, UserId, Viewer,
};
use sea_orm::sea_query::{Alias, Expr, JoinType, Query, ReturningClause, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait,
    ConnectionTrait, DbBackend, DbErr, EntityTrait, ExprTrait, Iterable, QueryFilter, QueryTrait,
    Statement, Value,
};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::identity::{self, Standing, StandingColumns, StandingProbe};
use super::search::{self, IndexEntry};
use super::template::Templates;
use super::{from_micros, stored, to_micros};
use crate::PersistenceError;
use crate::entities::{
    case_access, case_classifications, cases, customers, domains, support_partners,
};
use crate::read::{ReadRow, Reads, Writes};

/// A case as stored, with the names the API shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Id.
    pub id: CaseId,
    /// Human-friendly number.
    pub case_number: i64,
    /// The customer.
    pub customer_id: CustomerId,
    /// Product type.
    pub product_type: ProductType,
    /// Title.
    pub title: String,
    /// Category id.
    pub classification_id: ClassificationId,
    /// Category name.
    pub classification_name: String,
    /// Description.
    pub description: String,
    /// Answers by question id.
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: Severity,
    /// Status, close time and escalation.
    pub lifecycle: Lifecycle,
    /// BCP 47 language tag.
    pub language_code: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Who else gets its mail.
    pub subscriber_emails: Vec<String>,
    /// The creating user.
    pub creator_user_id: Option<UserId>,
    /// The creating user's email.
    pub creator_email: String,
    /// The creating user's domain.
    pub creator_domain_id: DomainId,
    /// Its name.
    pub creator_domain_name: String,
    /// The customer's reseller when the case was filed.
    pub reseller_domain_id: DomainId,
    /// Its name.
    pub reseller_domain_name: String,
    /// Created.
    pub create_time: OffsetDateTime,
    /// Last changed.
    pub update_time: OffsetDateTime,
    /// The case it follows up.
    pub follow_up_of: Option<CaseId>,
    /// Bumped on every change.
    pub version: i64,
    /// The customer's support tier when the case was filed (unknown for cases filed before
    /// service levels existed).
    pub service_tier: Option<SupportTier>,
    /// The first-response target that applies, when one does.
    pub target: Option<FiledTarget>,
    /// When support first replied.
    pub first_responded_time: Option<OffsetDateTime>,
    /// When the target stopped running: support's first reply or the first close.
    pub target_stopped_time: Option<OffsetDateTime>,
    /// Whether a breach of the target may still have to be recorded.
    pub breach_pending: bool,
}

/// The first-response target of a case (the provider's target for the support tier it was
/// filed under and its severity) and the due time it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiledTarget {
    /// The target.
    pub target: ServiceLevelTarget,
    /// When the first response is due.
    pub due: OffsetDateTime,
}

crate::read_row! {
#[derive(Debug)]
struct CaseRow {
    id: Uuid,
    case_number: i64,
    customer_id: Uuid,
    product_type: String,
    title: String,
    classification_id: Uuid,
    description: String,
    answers: String,
    severity: i16,
    status: String,
    escalation_reason: Option<String>,
    escalation_justification: Option<String>,
    escalation_time: Option<i64>,
    language_code: String,
    time_zone: String,
    subscriber_emails: String,
    creator_user_id: Option<Uuid>,
    creator_email: String,
    creator_domain_id: Uuid,
    reseller_domain_id: Uuid,
    create_time: i64,
    update_time: i64,
    close_time: Option<i64>,
    follow_up_of: Option<Uuid>,
    version: i64,
    service_tier: Option<String>,
    first_response_minutes: Option<i32>,
    first_response_hours: Option<String>,
    first_response_due_time: Option<i64>,
    first_responded_time: Option<i64>,
    target_stopped_time: Option<i64>,
    breach_pending: bool,
    // The names shown beside the ids, selected after the case's own columns (read_row! finds
    // a column at once when the struct lists it where the statement selects it).
    classification_name: String,
    creator_domain_name: String,
    reseller_domain_name: String,
}
}

fn filed_target(r: &CaseRow) -> Result<Option<FiledTarget>, PersistenceError> {
    let (Some(minutes), Some(hours), Some(due)) = (
        r.first_response_minutes,
        r.first_response_hours.as_deref(),
        r.first_response_due_time,
    ) else {
        return Ok(None);
    };
    let hours = stored("service level hours", hours.parse::<Hours>())?;
    Ok(Some(FiledTarget {
        target: stored(
            "service level target",
            ServiceLevelTarget::new(i64::from(minutes), hours),
        )?,
        due: from_micros(due),
    }))
}

impl TryFrom<CaseRow> for CaseRecord {
    type Error = PersistenceError;
    fn try_from(r: CaseRow) -> Result<Self, Self::Error> {
        let target = filed_target(&r)?;
        let escalation = match (
            r.escalation_reason,
            r.escalation_justification,
            r.escalation_time,
        ) {
            (Some(reason), Some(justification), Some(time)) => Some(Escalation {
                reason: stored("escalation reason", reason.parse::<EscalationReason>())?,
                justification: stored("justification", Justification::parse(&justification))?,
                time: from_micros(time),
            }),
            _ => None,
        };
        let service_tier = r
            .service_tier
            .as_deref()
            .map(|t| stored("service tier", t.parse::<SupportTier>()))
            .transpose()?;
        Ok(Self {
            service_tier,
            target,
            first_responded_time: r.first_responded_time.map(from_micros),
            target_stopped_time: r.target_stopped_time.map(from_micros),
            breach_pending: r.breach_pending,
            id: CaseId::from_uuid(r.id),
            case_number: r.case_number,
            customer_id: CustomerId::from_uuid(r.customer_id),
            product_type: stored("product type", r.product_type.parse::<ProductType>())?,
            title: r.title,
            classification_id: ClassificationId::from_uuid(r.classification_id),
            classification_name: r.classification_name,
            description: r.description,
            answers: stored("answers", serde_json::from_str(&r.answers))?,
            severity: Severity::from_rank(r.severity)
                .ok_or_else(|| PersistenceError::Corrupt(format!("severity {}", r.severity)))?,
            lifecycle: Lifecycle {
                status: stored("status", r.status.parse::<CaseStatus>())?,
                close_time: r.close_time.map(from_micros),
                escalation,
            },
            language_code: r.language_code,
            time_zone: r.time_zone,
            subscriber_emails: stored("subscribers", serde_json::from_str(&r.subscriber_emails))?,
            creator_user_id: r.creator_user_id.map(UserId::from_uuid),
            creator_email: r.creator_email,
            creator_domain_id: DomainId::from_uuid(r.creator_domain_id),
            creator_domain_name: r.creator_domain_name,
            reseller_domain_id: DomainId::from_uuid(r.reseller_domain_id),
            reseller_domain_name: r.reseller_domain_name,
            create_time: from_micros(r.create_time),
            update_time: from_micros(r.update_time),
            follow_up_of: r.follow_up_of.map(CaseId::from_uuid),
            version: r.version,
        })
    }
}

/// `(SELECT name FROM table WHERE table.id = cases.reference)`: the name a case's reference
/// points at (a foreign key: always there).
fn name_of<E: EntityTrait>(
    table: E,
    name: E::Column,
    id: E::Column,
    reference: cases::Column,
) -> Expr {
    Query::select()
        .column((table, name))
        .from(table)
        .and_where(Expr::col((table, id)).equals((cases::Entity, reference)))
        .to_owned()
        .into()
}

/// Cases with the names of their category and domains.
pub(crate) fn case_select() -> SelectStatement {
    case_select_from(None)
}

pub(crate) fn matches_alias() -> Alias {
    Alias::new("matches")
}

/// `FROM cases`, or `FROM (matches) CROSS JOIN cases` for a keyword search that reads from its
/// matches outward (a cross join takes no `ON`: the join condition goes to `WHERE`).
pub(crate) fn from_cases(q: &mut SelectStatement, matches: Option<SelectStatement>) {
    match matches {
        Some(m) => {
            q.from_subquery(m, matches_alias())
                .cross_join(cases::Entity)
                .and_where(
                    Expr::col((matches_alias(), Alias::new("case_number")))
                        .equals((cases::Entity, cases::Column::CaseNumber)),
                );
        }
        None => {
            q.from(cases::Entity);
        }
    }
}

/// The case columns, read from `cases` or, for a keyword search that drives from its matches,
/// from `matches CROSS JOIN cases` (see [`search::drives_from_matches`]).
fn case_select_from(matches: Option<SelectStatement>) -> SelectStatement {
    let mut q = Query::select();
    from_cases(&mut q, matches);
    q.columns(CASE_COLUMNS.map(|c| (cases::Entity, c)));
    for (name, alias) in case_names() {
        q.expr_as(name, Alias::new(alias));
    }
    q
}

/// The case's own columns, in the order [`CaseRow`] lists them.
const CASE_COLUMNS: [cases::Column; 32] = [
    cases::Column::Id,
    cases::Column::CaseNumber,
    cases::Column::CustomerId,
    cases::Column::ProductType,
    cases::Column::Title,
    cases::Column::ClassificationId,
    cases::Column::Description,
    cases::Column::Answers,
    cases::Column::Severity,
    cases::Column::Status,
    cases::Column::EscalationReason,
    cases::Column::EscalationJustification,
    cases::Column::EscalationTime,
    cases::Column::LanguageCode,
    cases::Column::TimeZone,
    cases::Column::SubscriberEmails,
    cases::Column::CreatorUserId,
    cases::Column::CreatorEmail,
    cases::Column::CreatorDomainId,
    cases::Column::ResellerDomainId,
    cases::Column::CreateTime,
    cases::Column::UpdateTime,
    cases::Column::CloseTime,
    cases::Column::FollowUpOf,
    cases::Column::Version,
    cases::Column::ServiceTier,
    cases::Column::FirstResponseMinutes,
    cases::Column::FirstResponseHours,
    cases::Column::FirstResponseDueTime,
    cases::Column::FirstRespondedTime,
    cases::Column::TargetStoppedTime,
    cases::Column::BreachPending,
];

/// The names shown beside the case's ids, each with the name [`CaseRow`] reads it by.
///
/// Scalar subqueries, not joins: each is one index lookup per row returned, which no planner
/// can turn into a hash or merge join over the whole table (PostgreSQL's generic plan of GET
/// /v1/cases/{id} did both, and ran 1.8 times slower). The category's is an index-only lookup
/// on PostgreSQL (migration `m20261203_000002`), where the catalogue's size would otherwise
/// make it a scan of the catalogue per row. Being expressions over the case's own columns,
/// they also serve as the `RETURNING` list of the `INSERT` that files a case.
fn case_names() -> [(Expr, &'static str); 3] {
    [
        (
            name_of(
                case_classifications::Entity,
                case_classifications::Column::DisplayName,
                case_classifications::Column::Id,
                cases::Column::ClassificationId,
            ),
            "classification_name",
        ),
        (
            name_of(
                domains::Entity,
                domains::Column::Name,
                domains::Column::Id,
                cases::Column::CreatorDomainId,
            ),
            "creator_domain_name",
        ),
        (
            name_of(
                domains::Entity,
                domains::Column::Name,
                domains::Column::Id,
                cases::Column::ResellerDomainId,
            ),
            "reseller_domain_name",
        ),
    ]
}

pub(crate) async fn fetch_cases(
    conn: &impl Reads,
    q: &SelectStatement,
) -> Result<Vec<CaseRecord>, PersistenceError> {
    conn.rows::<CaseRow>(conn.backend().build(q))
        .await?
        .into_iter()
        .map(CaseRecord::try_from)
        .collect()
}

/// The cases a statement of [`case_select`]'s columns reads, each with the `T` its row also
/// carries.
pub(crate) async fn fetch_cases_with<T: ReadRow>(
    conn: &impl Reads,
    statement: Statement,
) -> Result<Vec<(CaseRecord, T)>, PersistenceError> {
    conn.rows::<(CaseRow, T)>(statement)
        .await?
        .into_iter()
        .map(|(row, with)| Ok((CaseRecord::try_from(row)?, with)))
        .collect()
}

/// The case with this id (visibility is the caller's to check).
pub async fn find_case(
    conn: &impl Reads,
    id: CaseId,
) -> Result<Option<CaseRecord>, PersistenceError> {
    let mut q = case_select();
    q.and_where(Expr::col((cases::Entity, cases::Column::Id)).eq(id.as_uuid()));
    Ok(fetch_cases(conn, &q).await?.into_iter().next())
}

/// The case with this id if `viewer` sees it, in one query: the case with the facts the
/// visibility rule needs about this viewer (its customer's domain and reseller, whether the
/// viewer was recorded on the case, whether it is a support partner of the customer), judged by
/// `casebridge_domain::visibility::can_see` itself.
pub async fn find_visible_case(
    conn: &impl Reads,
    id: CaseId,
    viewer: Viewer,
) -> Result<Option<CaseRecord>, PersistenceError> {
    let statement = visible_case_statement(conn.backend(), id.as_uuid(), partner_of(viewer), None);
    match conn
        .rows::<(CaseRow, AudienceFacts)>(statement)
        .await?
        .into_iter()
        .next()
    {
        Some(row) => judged(viewer, row),
        None => Ok(None),
    }
}

/// [`find_visible_case`], carrying the standing of `probe`'s token in the same statement on
/// PostgreSQL (one round trip for both: see [`identity::add_standing_columns`]). Without a
/// probe, on SQLite, and when there is no such case (no row to carry it), the standing is
/// [`Standing::NotRead`].
pub async fn find_visible_case_carrying(
    conn: &impl Reads,
    id: CaseId,
    viewer: Viewer,
    probe: Option<StandingProbe>,
) -> Result<(Option<CaseRecord>, Standing), PersistenceError> {
    let backend = conn.backend();
    let Some(probe) = probe.filter(|_| backend == DbBackend::Postgres) else {
        return Ok((
            find_visible_case(conn, id, viewer).await?,
            Standing::NotRead,
        ));
    };
    let statement = visible_case_statement(backend, id.as_uuid(), partner_of(viewer), Some(probe));
    match conn
        .rows::<((CaseRow, AudienceFacts), StandingColumns)>(statement)
        .await?
        .into_iter()
        .next()
    {
        Some((row, standing)) => Ok((judged(viewer, row)?, Standing::Read(standing.standing()))),
        None => Ok((None, Standing::NotRead)),
    }
}

fn partner_of(viewer: Viewer) -> Option<Uuid> {
    match viewer {
        Viewer::Partner(d) => Some(d.as_uuid()),
        _ => None,
    }
}

/// The case of a [`visible_case_query`] row, if `viewer` sees it by the visibility rule.
fn judged(
    viewer: Viewer,
    (row, facts): (CaseRow, AudienceFacts),
) -> Result<Option<CaseRecord>, PersistenceError> {
    let viewer_domain = partner_of(viewer).map(DomainId::from_uuid);
    let case = CaseRecord::try_from(row)?;
    // Both flags are 0 unless the viewer is a partner, and only a partner's domain is listed.
    let (recorded, supports) = (facts.viewer_recorded != 0, facts.viewer_supports != 0);
    let reseller_access = super::stored_access(&facts.customer_reseller_access)?;
    // The facts as far as this viewer is concerned: the rule looks at nothing else.
    let only_viewer = |yes: bool| {
        viewer_domain
            .filter(|_| yes)
            .into_iter()
            .collect::<Vec<_>>()
    };
    let management = Management {
        reseller: DomainId::from_uuid(facts.customer_reseller_id),
        reseller_access,
        support_partners: only_viewer(supports),
    };
    let recorded_partners = only_viewer(recorded);
    let audience = CaseAudience {
        recorded_partners: &recorded_partners,
        customer_domain: DomainId::from_uuid(facts.customer_domain_id),
        management: &management,
    };
    Ok(can_see(viewer, &audience).then_some(case))
}

crate::read_row! {
    /// What [`find_visible_case`] reads beside the case for the visibility rule.
    struct AudienceFacts {
        customer_domain_id: Uuid,
        customer_reseller_id: Uuid,
        customer_reseller_access: String,
        /// 1 when the viewer (a partner) was recorded on the case.
        viewer_recorded: i32,
        /// 1 when the viewer (a partner) supports the case's customer.
        viewer_supports: i32,
    }
}

/// The query of [`find_visible_case`] for the case `id`, with the facts about `partner` when the
/// viewer is one.
fn visible_case_query(id: Uuid, partner: Option<Uuid>) -> SelectStatement {
    let mut q = case_select();
    q.join(
        JoinType::InnerJoin,
        customers::Entity,
        Expr::col((customers::Entity, customers::Column::Id))
            .equals((cases::Entity, cases::Column::CustomerId)),
    )
    .expr_as(
        Expr::col((customers::Entity, customers::Column::DomainId)),
        Alias::new("customer_domain_id"),
    )
    .expr_as(
        Expr::col((customers::Entity, customers::Column::ResellerDomainId)),
        Alias::new("customer_reseller_id"),
    )
    .expr_as(
        Expr::col((customers::Entity, customers::Column::ResellerAccess)),
        Alias::new("customer_reseller_access"),
    )
    .and_where(Expr::col((cases::Entity, cases::Column::Id)).eq(id));
    // Always both flags, as 0 or 1 (EXISTS is a boolean on PostgreSQL, an integer on SQLite):
    // the row reads into `AudienceFacts` on every path.
    let flag = |exists: Expr| Expr::case(exists, Expr::cust("1")).finally(Expr::cust("0"));
    if let Some(d) = partner {
        q.expr_as(
            flag(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(case_access::Entity)
                    .and_where(
                        Expr::col((case_access::Entity, case_access::Column::CaseId))
                            .equals((cases::Entity, cases::Column::Id)),
                    )
                    .and_where(
                        Expr::col((case_access::Entity, case_access::Column::DomainId)).eq(d),
                    )
                    .to_owned(),
            )),
            Alias::new("viewer_recorded"),
        )
        .expr_as(
            flag(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(support_partners::Entity)
                    .and_where(
                        Expr::col((
                            support_partners::Entity,
                            support_partners::Column::CustomerId,
                        ))
                        .equals((cases::Entity, cases::Column::CustomerId)),
                    )
                    .and_where(
                        Expr::col((
                            support_partners::Entity,
                            support_partners::Column::PartnerDomainId,
                        ))
                        .eq(d),
                    )
                    .to_owned(),
            )),
            Alias::new("viewer_supports"),
        );
    } else {
        q.expr_as(Expr::cust("0"), Alias::new("viewer_recorded"))
            .expr_as(Expr::cust("0"), Alias::new("viewer_supports"));
    }
    q
}

/// [`find_visible_case`]'s statement, by backend, whether the viewer is a partner and whether
/// it carries a token's standing: its SQL text does not change from request to request
/// (building it was 7% of a `GET /v1/cases/{id}`'s CPU), so it is built once with stand-in
/// ids ([`super::template`]).
static VISIBLE_CASE: LazyLock<Templates<(bool, bool, bool)>> = LazyLock::new(Templates::new);

/// The stand-ins [`VISIBLE_CASE`] is built with.
const STAND_IN_ID: Uuid = Uuid::from_u128(0x5741_4e44_2d49_4e2d_4944);
const STAND_IN_PARTNER: Uuid = Uuid::from_u128(0x5741_4e44_2d49_4e2d_5041_5254);
const STAND_IN_USER: Uuid = Uuid::from_u128(0x5741_4e44_2d49_4e2d_5553_4552);
const STAND_IN_TOKEN: Uuid = Uuid::from_u128(0x5741_4e44_2d49_4e2d_544f_4b45);

/// The statement of [`find_visible_case`] on `backend` for `id`, with the facts about
/// `partner` when the viewer is one, and the standing of `probe`'s token when given
/// (PostgreSQL only).
fn visible_case_statement(
    backend: DbBackend,
    id: Uuid,
    partner: Option<Uuid>,
    probe: Option<StandingProbe>,
) -> Statement {
    VISIBLE_CASE.statement(
        (
            backend == DbBackend::Postgres,
            partner.is_some(),
            probe.is_some(),
        ),
        || {
            let mut query = visible_case_query(STAND_IN_ID, partner.map(|_| STAND_IN_PARTNER));
            if probe.is_some() {
                identity::add_standing_columns(
                    &mut query,
                    StandingProbe {
                        user: UserId::from_uuid(STAND_IN_USER),
                        jti: STAND_IN_TOKEN,
                    },
                );
            }
            backend.build(&query)
        },
        |value| {
            if let Value::Uuid(Some(u)) = value {
                let with = match *u {
                    STAND_IN_ID => Some(id),
                    STAND_IN_PARTNER => partner,
                    STAND_IN_USER => probe.map(|p| p.user.as_uuid()),
                    STAND_IN_TOKEN => probe.map(|p| p.jti),
                    _ => None,
                };
                if let Some(with) = with {
                    *u = with;
                }
            }
        },
    )
}

/// The partner domains recorded on the case when it was filed.
pub async fn recorded_partners(
    conn: &impl Reads,
    id: CaseId,
) -> Result<Vec<DomainId>, PersistenceError> {
    let select = case_access::Entity::find()
        .filter(case_access::Column::CaseId.eq(id.as_uuid()))
        .build(conn.backend());
    Ok(conn
        .rows::<AccessRow>(select)
        .await?
        .into_iter()
        .map(|r| DomainId::from_uuid(r.domain_id))
        .collect())
}

crate::read_row! {
    /// A partner domain recorded on a case.
    struct AccessRow {
        domain_id: Uuid,
    }
}

/// A case to file.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// The customer.
    pub customer_id: CustomerId,
    /// The customer's own domain (for the keyword index's scope).
    pub customer_domain_id: DomainId,
    /// Product type.
    pub product_type: ProductType,
    /// Title.
    pub title: String,
    /// Category.
    pub classification_id: ClassificationId,
    /// Description.
    pub description: String,
    /// Answers by question id.
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: Severity,
    /// BCP 47 tag.
    pub language_code: String,
    /// IANA zone.
    pub time_zone: String,
    /// Subscribers.
    pub subscriber_emails: Vec<String>,
    /// The creating user.
    pub creator_user_id: UserId,
    /// Its email.
    pub creator_email: String,
    /// Its domain.
    pub creator_domain_id: DomainId,
    /// The customer's reseller now.
    pub reseller_domain_id: DomainId,
    /// The partner domains managing the customer now: they are recorded on the case.
    pub partner_domains: Vec<DomainId>,
    /// The closed case this follows up.
    pub follow_up_of: Option<CaseId>,
    /// The customer's support tier now.
    pub service_tier: SupportTier,
    /// The first-response target that applies, if any.
    pub target: Option<FiledTarget>,
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The next case number. PostgreSQL: a sequence (no lock between concurrent creators).
/// SQLite: one more than the largest, inside the write transaction (writes are serialised).
/// The next case number, as an expression the `INSERT` evaluates: PostgreSQL's sequence, or
/// one past the highest on SQLite (whose single writer makes that safe).
fn next_case_number(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust("nextval('case_number_seq')"),
        _ => Expr::cust("(SELECT COALESCE(MAX(case_number), 0) + 1 FROM cases)"),
    }
}

/// Files a case: the row, its partner domains and its keyword index entry. Answers the case as
/// [`find_case`] reads it, from the `INSERT` itself (`RETURNING`, names included): the number
/// is drawn and the row read back in the statement that writes it, not in two more round
/// trips.
#[tracing::instrument(skip_all)]
pub async fn insert_case(
    conn: &impl Writes,
    new: &NewCase,
    now: OffsetDateTime,
) -> Result<CaseRecord, PersistenceError> {
    let id = CaseId::generate();
    let t = to_micros(now);
    let row = cases::ActiveModel {
        id: Set(id.as_uuid()),
        customer_id: Set(new.customer_id.as_uuid()),
        product_type: Set(new.product_type.as_str().to_owned()),
        title: Set(new.title.clone()),
        classification_id: Set(new.classification_id.as_uuid()),
        description: Set(new.description.clone()),
        answers: Set(json(&new.answers)),
        severity: Set(new.severity.rank()),
        status: Set(CaseStatus::New.as_str().to_owned()),
        escalation_reason: Set(None),
        escalation_justification: Set(None),
        escalation_time: Set(None),
        language_code: Set(new.language_code.clone()),
        time_zone: Set(new.time_zone.clone()),
        subscriber_emails: Set(json(&new.subscriber_emails)),
        creator_user_id: Set(Some(new.creator_user_id.as_uuid())),
        creator_email: Set(new.creator_email.clone()),
        creator_domain_id: Set(new.creator_domain_id.as_uuid()),
        reseller_domain_id: Set(new.reseller_domain_id.as_uuid()),
        create_time: Set(t),
        update_time: Set(t),
        close_time: Set(None),
        follow_up_of: Set(new.follow_up_of.map(|c| c.as_uuid())),
        version: Set(1),
        service_tier: Set(Some(new.service_tier.as_str().to_owned())),
        first_response_minutes: Set(new.target.map(|t| minutes(t.target))),
        first_response_hours: Set(new.target.map(|t| t.target.hours().as_str().to_owned())),
        first_response_due_time: Set(new.target.map(|t| to_micros(t.due))),
        first_responded_time: Set(None),
        target_stopped_time: Set(None),
        breach_pending: Set(new.target.is_some()),
        // Drawn by the statement: see next_case_number.
        case_number: NotSet,
    };
    let backend = conn.backend();
    let mut insert = Query::insert();
    insert.into_table(cases::Entity);
    let (mut columns, mut values) = (Vec::new(), Vec::new());
    // Every column of the table, not only those a read selects: a column added to the entity
    // and set above is written, never dropped silently.
    for column in cases::Column::iter() {
        let value = match row.get(column) {
            _ if matches!(column, cases::Column::CaseNumber) => next_case_number(backend),
            ActiveValue::Set(v) | ActiveValue::Unchanged(v) => Expr::val(v),
            ActiveValue::NotSet => continue,
        };
        columns.push(column);
        values.push(value);
    }
    insert
        .columns(columns)
        .values(values)
        .map_err(|e| PersistenceError::Db(DbErr::Custom(e.to_string())))?;
    let mut returning: Vec<Expr> = CASE_COLUMNS
        .iter()
        .map(|c| Expr::col((cases::Entity, *c)))
        .collect();
    // `<name> AS "<alias>"`: RETURNING lists bare expressions, and the row reads its names by
    // alias. The template's placeholder is the backend's own.
    let placeholder = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    for (name, alias) in case_names() {
        returning.push(Expr::cust_with_exprs(
            format!("{placeholder} AS \"{alias}\""),
            [name],
        ));
    }
    insert.returning(ReturningClause::Exprs(returning));
    // In domain order: on PostgreSQL the partners' count rows are updated in this order at the
    // commit, the same in every filing (see persistence/src/repo/locks.rs).
    let mut partners = new.partner_domains.clone();
    partners.sort_unstable();
    let entry = IndexEntry::new(
        0,
        &new.title,
        &new.description,
        [],
        partners.iter().map(|d| d.as_uuid()),
        new.customer_domain_id.as_uuid(),
    );
    if backend == DbBackend::Postgres {
        return insert_filed_case(conn, backend.build(&insert), &partners, &entry).await;
    }
    let case = conn
        .rows::<CaseRow>(backend.build(&insert))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| PersistenceError::Corrupt("the filed case was not returned".to_owned()))
        .and_then(CaseRecord::try_from)?;
    let number = case.case_number;
    let rows: Vec<case_access::ActiveModel> = partners
        .iter()
        .map(|d| case_access::ActiveModel {
            domain_id: Set(d.as_uuid()),
            case_id: Set(id.as_uuid()),
            customer_id: Set(new.customer_id.as_uuid()),
            update_time: Set(t),
            create_time: Set(t),
            severity: Set(new.severity.rank()),
            status: Set(CaseStatus::New.as_str().to_owned()),
            case_number: Set(number),
        })
        .collect();
    if !rows.is_empty() {
        conn.run(case_access::Entity::insert_many(rows).build(backend))
            .await?;
    }
    // A new case has no comments yet and its partners and customer are known: one statement.
    search::write_index(conn, &[entry.numbered(number)], false).await?;
    Ok(case)
}

/// PostgreSQL's filing in one statement, one round trip instead of three: the case's `INSERT`
/// (`filed`, whose `RETURNING` is the answer), its partner rows (in the order given) and its
/// keyword entry as data-modifying queries of one `WITH`. The partner rows' foreign keys are
/// checked at the statement's end, when the case row exists.
async fn insert_filed_case(
    conn: &impl Writes,
    filed: Statement,
    partners: &[DomainId],
    entry: &IndexEntry<'_>,
) -> Result<CaseRecord, PersistenceError> {
    let mut values = filed.values.map(|v| v.0).unwrap_or_default();
    // A list of ids as text: the build carries no array values.
    values.push(
        partners
            .iter()
            .map(|d| d.as_uuid().to_string())
            .collect::<Vec<_>>()
            .join(",")
            .into(),
    );
    let partners_at = values.len();
    let (index, index_values) = search::insert_filed_entry(entry, "filed", values.len() + 1);
    values.extend(index_values);
    let sql = format!(
        "WITH filed AS ({}), \
         recorded AS (INSERT INTO case_access (domain_id, case_id, customer_id, update_time, \
           create_time, severity, status, case_number) \
           SELECT p.domain_id, filed.id, filed.customer_id, filed.create_time, \
             filed.create_time, filed.severity, filed.status, filed.case_number \
           FROM filed, unnest(string_to_array(${partners_at}, ',')::uuid[]) \
             WITH ORDINALITY AS p (domain_id, at) \
           ORDER BY p.at), \
         indexed AS ({index}) \
         SELECT * FROM filed",
        filed.sql
    );
    conn.rows::<CaseRow>(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| PersistenceError::Corrupt("the filed case was not returned".to_owned()))
    .and_then(CaseRecord::try_from)
}

/// What a change does to a case; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CaseChanges {
    /// Severity.
    pub severity: Option<Severity>,
    /// Title.
    pub title: Option<String>,
    /// Subscribers.
    pub subscriber_emails: Option<Vec<String>>,
    /// Status, close time and escalation, as the rules computed them.
    pub lifecycle: Option<Lifecycle>,
    /// The first-response target, recomputed (`Some(None)`: no target applies any more).
    pub target: Option<Option<FiledTarget>>,
    /// Support's first reply, when this change is it.
    pub first_responded_time: Option<OffsetDateTime>,
    /// When the target stopped running, when this change stops it.
    pub target_stopped_time: Option<OffsetDateTime>,
    /// Whether a breach may still have to be recorded, when this change decides it.
    pub breach_pending: Option<bool>,
}

/// A target's minutes as stored.
pub(crate) fn minutes(target: ServiceLevelTarget) -> i32 {
    i32::try_from(target.first_response_minutes()).unwrap_or(i32::MAX)
}

/// Applies a change if the case is still at `expected_version`, bumping its version and
/// update time (and the copies in `case_access`). `StaleWrite` when someone changed it since.
#[tracing::instrument(skip_all, fields(case_id = %id))]
pub async fn update_case(
    conn: &impl ConnectionTrait,
    id: CaseId,
    expected_version: i64,
    changes: &CaseChanges,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let t = to_micros(now);
    let mut update = cases::Entity::update_many()
        .col_expr(cases::Column::UpdateTime, Expr::value(t))
        .col_expr(cases::Column::Version, Expr::value(expected_version + 1))
        .filter(cases::Column::Id.eq(id.as_uuid()))
        .filter(cases::Column::Version.eq(expected_version));
    let mut access = case_access::Entity::update_many()
        .col_expr(case_access::Column::UpdateTime, Expr::value(t))
        .filter(case_access::Column::CaseId.eq(id.as_uuid()));
    if let Some(severity) = changes.severity {
        update = update.col_expr(cases::Column::Severity, Expr::value(severity.rank()));
        access = access.col_expr(case_access::Column::Severity, Expr::value(severity.rank()));
    }
    if let Some(title) = &changes.title {
        update = update.col_expr(cases::Column::Title, Expr::value(title.clone()));
    }
    if let Some(subscribers) = &changes.subscriber_emails {
        update = update.col_expr(
            cases::Column::SubscriberEmails,
            Expr::value(json(subscribers)),
        );
    }
    if let Some(l) = &changes.lifecycle {
        let e = l.escalation.as_ref();
        update = update
            .col_expr(cases::Column::Status, Expr::value(l.status.as_str()))
            .col_expr(
                cases::Column::CloseTime,
                Expr::value(l.close_time.map(to_micros)),
            )
            .col_expr(
                cases::Column::EscalationReason,
                Expr::value(e.map(|e| e.reason.as_str().to_owned())),
            )
            .col_expr(
                cases::Column::EscalationJustification,
                Expr::value(e.map(|e| e.justification.as_str().to_owned())),
            )
            .col_expr(
                cases::Column::EscalationTime,
                Expr::value(e.map(|e| to_micros(e.time))),
            );
        access = access.col_expr(case_access::Column::Status, Expr::value(l.status.as_str()));
    }
    if let Some(target) = &changes.target {
        update = update
            .col_expr(
                cases::Column::FirstResponseMinutes,
                Expr::value(target.map(|t| minutes(t.target))),
            )
            .col_expr(
                cases::Column::FirstResponseHours,
                Expr::value(target.map(|t| t.target.hours().as_str().to_owned())),
            )
            .col_expr(
                cases::Column::FirstResponseDueTime,
                Expr::value(target.map(|t| to_micros(t.due))),
            );
    }
    if let Some(responded) = changes.first_responded_time {
        update = update.col_expr(
            cases::Column::FirstRespondedTime,
            Expr::value(to_micros(responded)),
        );
    }
    if let Some(stopped) = changes.target_stopped_time {
        update = update.col_expr(
            cases::Column::TargetStoppedTime,
            Expr::value(to_micros(stopped)),
        );
    }
    if let Some(pending) = changes.breach_pending {
        update = update.col_expr(cases::Column::BreachPending, Expr::value(pending));
    }
    let result = update.exec(conn).await?;
    if result.rows_affected == 0 {
        return Err(PersistenceError::StaleWrite);
    }
    access.exec(conn).await?;
    if changes.title.is_some() {
        search::reindex(conn, id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod prepared_tests {
    use super::*;

    #[test]
    fn a_prepared_statement_is_the_statement_built_afresh_for_the_same_values() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for partner in [None, Some(Uuid::now_v7())] {
                // Twice each: the first use builds it, the second reuses it.
                for _ in 0..2 {
                    let id = Uuid::now_v7();
                    let reused = visible_case_statement(backend, id, partner, None);
                    let fresh = backend.build(&visible_case_query(id, partner));
                    assert_eq!(reused.sql, fresh.sql);
                    assert_eq!(reused.values, fresh.values);
                    // Carrying a token's standing: the same query with the standing's
                    // columns, bound to this probe's ids.
                    let probe = StandingProbe {
                        user: UserId::generate(),
                        jti: Uuid::now_v7(),
                    };
                    let carried = visible_case_statement(backend, id, partner, Some(probe));
                    let mut query = visible_case_query(id, partner);
                    identity::add_standing_columns(&mut query, probe);
                    let fresh = backend.build(&query);
                    assert_eq!(carried.sql, fresh.sql);
                    assert_eq!(carried.values, fresh.values);
                }
            }
        }
    }
}
