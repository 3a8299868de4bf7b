//! Cases: the catalogue, cases and their history, the visibility rule as a query, keyset
//! pagination and keyword search.

use std::collections::{BTreeMap, HashMap};

use casebridge_domain::case::Escalation;
use casebridge_domain::classification::Question;
use casebridge_domain::visibility::{CaseAudience, can_see};
use casebridge_domain::{
    CaseId, CaseStatus, ClassificationId, CommentId, CustomerId, DomainId, EscalationReason,
    Justification, Lifecycle, Management, Party, ProductType, ResellerAccess, Severity, UserId,
    Viewer,
};
use sea_orm::sea_query::{Alias, Cond, Expr, JoinType, LikeExpr, Order, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::customers::like_pattern;
use super::{from_micros, stored, to_micros};
use crate::PersistenceError;
use crate::entities::{
    case_access, case_classifications, case_comments, cases, customers, domains, support_partners,
};

// ---------------------------------------------------------------- the catalogue

/// A case category with its questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationRecord {
    /// Id.
    pub id: ClassificationId,
    /// `Area > Topic > Problem`.
    pub display_name: String,
    /// The product.
    pub product_type: ProductType,
    /// The questions a case of this category answers.
    pub questions: Vec<Question>,
}

#[derive(Deserialize)]
struct StoredQuestion {
    id: String,
    text: String,
    required: bool,
}

impl TryFrom<case_classifications::Model> for ClassificationRecord {
    type Error = PersistenceError;
    fn try_from(m: case_classifications::Model) -> Result<Self, Self::Error> {
        let questions: Vec<StoredQuestion> = stored(
            "classification questions",
            serde_json::from_str(&m.questions),
        )?;
        Ok(Self {
            id: ClassificationId::from_uuid(m.id),
            display_name: m.display_name,
            product_type: stored("product type", m.product_type.parse::<ProductType>())?,
            questions: questions
                .into_iter()
                .map(|q| Question {
                    id: q.id,
                    text: q.text,
                    required: q.required,
                })
                .collect(),
        })
    }
}

/// The category with this id.
pub async fn find_classification(
    conn: &impl ConnectionTrait,
    id: ClassificationId,
) -> Result<Option<ClassificationRecord>, PersistenceError> {
    case_classifications::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .map(ClassificationRecord::try_from)
        .transpose()
}

/// A page of categories matching every word of `q` (in the name or keywords), by name.
pub async fn search_classifications(
    conn: &impl ConnectionTrait,
    q: Option<&str>,
    after: Option<(String, Uuid)>,
    limit: u64,
) -> Result<(Vec<ClassificationRecord>, u64), PersistenceError> {
    use sea_orm::PaginatorTrait;
    let mut query = case_classifications::Entity::find();
    // Every word must start a word of the name or keywords ("bounce" finds "bounced", "ndr"
    // does not find "laundry").
    for word in q.unwrap_or_default().split_whitespace().take(8) {
        let anywhere = like_pattern(word);
        let at_start = anywhere[1..].to_owned();
        let after_space = format!("% {at_start}");
        let text = || Expr::col(case_classifications::Column::SearchText);
        query = query.filter(
            Cond::any()
                .add(text().like(LikeExpr::new(at_start).escape('\\')))
                .add(text().like(LikeExpr::new(after_space).escape('\\'))),
        );
    }
    let total = query.clone().count(conn).await?;
    if let Some((name, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(case_classifications::Column::DisplayName),
                Expr::col(case_classifications::Column::Id),
            ])
            .gt(Expr::tuple([Expr::value(name), Expr::value(id)])),
        );
    }
    let rows = query
        .order_by_asc(case_classifications::Column::DisplayName)
        .order_by_asc(case_classifications::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(ClassificationRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

// ---------------------------------------------------------------- cases

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
}

#[derive(Debug, FromQueryResult)]
struct CaseRow {
    id: Uuid,
    case_number: i64,
    customer_id: Uuid,
    product_type: String,
    title: String,
    classification_id: Uuid,
    classification_name: String,
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
    creator_domain_name: String,
    reseller_domain_id: Uuid,
    reseller_domain_name: String,
    create_time: i64,
    update_time: i64,
    close_time: Option<i64>,
    follow_up_of: Option<Uuid>,
    version: i64,
}

impl TryFrom<CaseRow> for CaseRecord {
    type Error = PersistenceError;
    fn try_from(r: CaseRow) -> Result<Self, Self::Error> {
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
        Ok(Self {
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

fn creator_domain() -> Alias {
    Alias::new("creator_domain")
}

fn reseller_domain() -> Alias {
    Alias::new("reseller_domain")
}

/// Cases with the names of their category and domains.
fn case_select() -> SelectStatement {
    case_select_from(None)
}

/// `FROM cases`, or `FROM (matches) CROSS JOIN cases` for a keyword search that reads from its
/// matches outward (a cross join takes no `ON`: the join condition goes to `WHERE`).
fn from_cases(q: &mut SelectStatement, matches: Option<SelectStatement>) {
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
/// from `matches CROSS JOIN cases` (see [`drives_from_matches`]).
fn case_select_from(matches: Option<SelectStatement>) -> SelectStatement {
    let mut q = Query::select();
    from_cases(&mut q, matches);
    q.columns([
        (cases::Entity, cases::Column::Id),
        (cases::Entity, cases::Column::CaseNumber),
        (cases::Entity, cases::Column::CustomerId),
        (cases::Entity, cases::Column::ProductType),
        (cases::Entity, cases::Column::Title),
        (cases::Entity, cases::Column::ClassificationId),
        (cases::Entity, cases::Column::Description),
        (cases::Entity, cases::Column::Answers),
        (cases::Entity, cases::Column::Severity),
        (cases::Entity, cases::Column::Status),
        (cases::Entity, cases::Column::EscalationReason),
        (cases::Entity, cases::Column::EscalationJustification),
        (cases::Entity, cases::Column::EscalationTime),
        (cases::Entity, cases::Column::LanguageCode),
        (cases::Entity, cases::Column::TimeZone),
        (cases::Entity, cases::Column::SubscriberEmails),
        (cases::Entity, cases::Column::CreatorUserId),
        (cases::Entity, cases::Column::CreatorEmail),
        (cases::Entity, cases::Column::CreatorDomainId),
        (cases::Entity, cases::Column::ResellerDomainId),
        (cases::Entity, cases::Column::CreateTime),
        (cases::Entity, cases::Column::UpdateTime),
        (cases::Entity, cases::Column::CloseTime),
        (cases::Entity, cases::Column::FollowUpOf),
        (cases::Entity, cases::Column::Version),
    ])
    .expr_as(
        Expr::col((
            case_classifications::Entity,
            case_classifications::Column::DisplayName,
        )),
        Alias::new("classification_name"),
    )
    .expr_as(
        Expr::col((creator_domain(), domains::Column::Name)),
        Alias::new("creator_domain_name"),
    )
    .expr_as(
        Expr::col((reseller_domain(), domains::Column::Name)),
        Alias::new("reseller_domain_name"),
    )
    .join(
        JoinType::InnerJoin,
        case_classifications::Entity,
        Expr::col((
            case_classifications::Entity,
            case_classifications::Column::Id,
        ))
        .equals((cases::Entity, cases::Column::ClassificationId)),
    )
    .join_as(
        JoinType::InnerJoin,
        domains::Entity,
        creator_domain(),
        Expr::col((creator_domain(), domains::Column::Id))
            .equals((cases::Entity, cases::Column::CreatorDomainId)),
    )
    .join_as(
        JoinType::InnerJoin,
        domains::Entity,
        reseller_domain(),
        Expr::col((reseller_domain(), domains::Column::Id))
            .equals((cases::Entity, cases::Column::ResellerDomainId)),
    )
    .to_owned()
}

async fn fetch_cases(
    conn: &impl ConnectionTrait,
    q: &SelectStatement,
) -> Result<Vec<CaseRecord>, PersistenceError> {
    conn.query_all(q)
        .await?
        .iter()
        .map(|row| {
            CaseRow::from_query_result(row, "")
                .map_err(PersistenceError::from)
                .and_then(CaseRecord::try_from)
        })
        .collect()
}

/// The case with this id (visibility is the caller's to check).
pub async fn find_case(
    conn: &impl ConnectionTrait,
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
    conn: &impl ConnectionTrait,
    id: CaseId,
    viewer: Viewer,
) -> Result<Option<CaseRecord>, PersistenceError> {
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
    .and_where(Expr::col((cases::Entity, cases::Column::Id)).eq(id.as_uuid()));
    let viewer_domain = match viewer {
        Viewer::Partner(d) => Some(d),
        _ => None,
    };
    if let Some(d) = viewer_domain {
        q.expr_as(
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(case_access::Entity)
                    .and_where(
                        Expr::col((case_access::Entity, case_access::Column::CaseId))
                            .equals((cases::Entity, cases::Column::Id)),
                    )
                    .and_where(
                        Expr::col((case_access::Entity, case_access::Column::DomainId))
                            .eq(d.as_uuid()),
                    )
                    .to_owned(),
            ),
            Alias::new("viewer_recorded"),
        )
        .expr_as(
            Expr::exists(
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
                        .eq(d.as_uuid()),
                    )
                    .to_owned(),
            ),
            Alias::new("viewer_supports"),
        );
    }
    let Some(row) = conn.query_one(&q).await? else {
        return Ok(None);
    };
    let case = CaseRecord::try_from(CaseRow::from_query_result(&row, "")?)?;
    let flag = |name: &str| -> Result<bool, PersistenceError> {
        // EXISTS reads back as a boolean on PostgreSQL and as 0/1 on SQLite.
        Ok(row
            .try_get::<bool>("", name)
            .or_else(|_| row.try_get::<i32>("", name).map(|n| n != 0))?)
    };
    let (recorded, supports) = match viewer_domain {
        Some(_) => (flag("viewer_recorded")?, flag("viewer_supports")?),
        None => (false, false),
    };
    let reseller_access = match row
        .try_get::<String>("", "customer_reseller_access")?
        .as_str()
    {
        "granted" => ResellerAccess::Granted,
        "revoked" => ResellerAccess::Revoked,
        other => {
            return Err(PersistenceError::Corrupt(format!(
                "reseller access {other}"
            )));
        }
    };
    // The facts as far as this viewer is concerned: the rule looks at nothing else.
    let only_viewer = |yes: bool| {
        viewer_domain
            .filter(|_| yes)
            .into_iter()
            .collect::<Vec<_>>()
    };
    let management = Management {
        reseller: DomainId::from_uuid(row.try_get("", "customer_reseller_id")?),
        reseller_access,
        support_partners: only_viewer(supports),
    };
    let recorded_partners = only_viewer(recorded);
    let audience = CaseAudience {
        recorded_partners: &recorded_partners,
        customer_domain: DomainId::from_uuid(row.try_get("", "customer_domain_id")?),
        management: &management,
    };
    Ok(can_see(viewer, &audience).then_some(case))
}

/// The partner domains recorded on the case when it was filed.
pub async fn recorded_partners(
    conn: &impl ConnectionTrait,
    id: CaseId,
) -> Result<Vec<DomainId>, PersistenceError> {
    Ok(case_access::Entity::find()
        .filter(case_access::Column::CaseId.eq(id.as_uuid()))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| DomainId::from_uuid(r.domain_id))
        .collect())
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
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The next case number. PostgreSQL: a sequence (no lock between concurrent creators).
/// SQLite: one more than the largest, inside the write transaction (writes are serialised).
async fn next_case_number(conn: &impl ConnectionTrait) -> Result<i64, PersistenceError> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT nextval('case_number_seq') AS n",
        _ => "SELECT COALESCE(MAX(case_number), 0) + 1 AS n FROM cases",
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| PersistenceError::Corrupt("no case number".to_owned()))?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// Files a case: the row, its partner domains and its keyword index entry.
#[tracing::instrument(skip_all)]
pub async fn insert_case(
    conn: &impl ConnectionTrait,
    new: &NewCase,
    now: OffsetDateTime,
) -> Result<CaseId, PersistenceError> {
    let id = CaseId::generate();
    let number = next_case_number(conn).await?;
    let t = to_micros(now);
    cases::Entity::insert(cases::ActiveModel {
        id: Set(id.as_uuid()),
        case_number: Set(number),
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
    })
    .exec_without_returning(conn)
    .await?;
    let rows: Vec<case_access::ActiveModel> = new
        .partner_domains
        .iter()
        .map(|d| case_access::ActiveModel {
            domain_id: Set(d.as_uuid()),
            case_id: Set(id.as_uuid()),
            customer_id: Set(new.customer_id.as_uuid()),
            update_time: Set(t),
            create_time: Set(t),
            severity: Set(new.severity.rank()),
            status: Set(CaseStatus::New.as_str().to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        case_access::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    // A new case has no comments yet and its partners and customer are known: one statement.
    write_index(
        conn,
        number,
        &new.title,
        &format!("{}\n", new.description),
        &scope_text(
            new.partner_domains.iter().map(|d| d.as_uuid()),
            new.customer_domain_id.as_uuid(),
        ),
        false,
    )
    .await?;
    Ok(id)
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
    let result = update.exec(conn).await?;
    if result.rows_affected == 0 {
        return Err(PersistenceError::StaleWrite);
    }
    access.exec(conn).await?;
    if changes.title.is_some() {
        reindex(conn, id).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- comments

/// A comment in a case's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRecord {
    /// Id.
    pub id: CommentId,
    /// The case.
    pub case_id: CaseId,
    /// The text.
    pub body: String,
    /// The author, when a user.
    pub author_user_id: Option<UserId>,
    /// The author's email.
    pub author_email: String,
    /// The author's domain.
    pub author_domain_id: Option<DomainId>,
    /// The author's party.
    pub author_party: Party,
    /// When.
    pub create_time: OffsetDateTime,
}

fn party_str(p: Party) -> &'static str {
    match p {
        Party::Partner => "partner",
        Party::Customer => "customer",
        Party::Support => "support",
    }
}

fn party_of(s: &str) -> Result<Party, PersistenceError> {
    match s {
        "partner" => Ok(Party::Partner),
        "customer" => Ok(Party::Customer),
        "support" => Ok(Party::Support),
        other => Err(PersistenceError::Corrupt(format!("party {other}"))),
    }
}

impl TryFrom<case_comments::Model> for CommentRecord {
    type Error = PersistenceError;
    fn try_from(m: case_comments::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            id: CommentId::from_uuid(m.id),
            case_id: CaseId::from_uuid(m.case_id),
            body: m.body,
            author_user_id: m.author_user_id.map(UserId::from_uuid),
            author_email: m.author_email,
            author_domain_id: m.author_domain_id.map(DomainId::from_uuid),
            author_party: party_of(&m.author_party)?,
            create_time: from_micros(m.create_time),
        })
    }
}

/// Adds a comment and refreshes the case's keyword index entry.
pub async fn insert_comment(
    conn: &impl ConnectionTrait,
    comment: &CommentRecord,
) -> Result<(), PersistenceError> {
    case_comments::Entity::insert(case_comments::ActiveModel {
        id: Set(comment.id.as_uuid()),
        case_id: Set(comment.case_id.as_uuid()),
        body: Set(comment.body.clone()),
        author_user_id: Set(comment.author_user_id.map(|u| u.as_uuid())),
        author_email: Set(comment.author_email.clone()),
        author_domain_id: Set(comment.author_domain_id.map(|d| d.as_uuid())),
        author_party: Set(party_str(comment.author_party).to_owned()),
        create_time: Set(to_micros(comment.create_time)),
    })
    .exec_without_returning(conn)
    .await?;
    reindex(conn, comment.case_id).await
}

/// The comment of this case with this id.
pub async fn find_comment(
    conn: &impl ConnectionTrait,
    case: CaseId,
    id: CommentId,
) -> Result<Option<CommentRecord>, PersistenceError> {
    case_comments::Entity::find_by_id(id.as_uuid())
        .filter(case_comments::Column::CaseId.eq(case.as_uuid()))
        .one(conn)
        .await?
        .map(CommentRecord::try_from)
        .transpose()
}

/// A page of a case's comments, oldest first, after the comment at (time, id).
pub async fn list_comments(
    conn: &impl ConnectionTrait,
    case: CaseId,
    after: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<(Vec<CommentRecord>, u64), PersistenceError> {
    use sea_orm::PaginatorTrait;
    let base =
        case_comments::Entity::find().filter(case_comments::Column::CaseId.eq(case.as_uuid()));
    let total = base.clone().count(conn).await?;
    let mut query = base;
    if let Some((time, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(case_comments::Column::CreateTime),
                Expr::col(case_comments::Column::Id),
            ])
            .gt(Expr::tuple([Expr::value(time), Expr::value(id)])),
        );
    }
    let rows = query
        .order_by_asc(case_comments::Column::CreateTime)
        .order_by_asc(case_comments::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(CommentRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

// ---------------------------------------------------------------- keyword index

/// Rewrites the case's keyword index entry from its title, description and comments, in the
/// caller's transaction.
pub async fn reindex(conn: &impl ConnectionTrait, id: CaseId) -> Result<(), PersistenceError> {
    let Some(case) = cases::Entity::find_by_id(id.as_uuid()).one(conn).await? else {
        return Ok(());
    };
    let comments: Vec<String> = case_comments::Entity::find()
        .filter(case_comments::Column::CaseId.eq(id.as_uuid()))
        .order_by_asc(case_comments::Column::CreateTime)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.body)
        .collect();
    let body = format!("{}\n{}", case.description, comments.join("\n"));
    let partners = case_access::Entity::find()
        .filter(case_access::Column::CaseId.eq(id.as_uuid()))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| a.domain_id);
    let customer_domain = customers::Entity::find_by_id(case.customer_id)
        .one(conn)
        .await?
        .ok_or_else(|| PersistenceError::Corrupt(format!("case {id} has no customer")))?
        .domain_id;
    let scope = scope_text(partners, customer_domain);
    write_index(conn, case.case_number, &case.title, &body, &scope, true).await
}

/// Writes a case's keyword index entry; `replace` when it may have one already.
async fn write_index(
    conn: &impl ConnectionTrait,
    case_number: i64,
    title: &str,
    body: &str,
    scope: &str,
    replace: bool,
) -> Result<(), PersistenceError> {
    let backend = conn.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO case_search (case_number, document) VALUES ($1, {}) \
                     ON CONFLICT (case_number) DO UPDATE SET document = EXCLUDED.document",
                    PG_DOCUMENT
                        .replace("{title}", "$2")
                        .replace("{body}", "$3")
                        .replace("{scope}", "$4")
                ),
                [case_number.into(), title.into(), body.into(), scope.into()],
            ))
            .await?;
        }
        _ => {
            if replace {
                conn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    "DELETE FROM case_search WHERE rowid = ?",
                    [case_number.into()],
                ))
                .await?;
            }
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO case_search (rowid, title, body, scope) VALUES (?, ?, ?, ?)",
                [case_number.into(), title.into(), body.into(), scope.into()],
            ))
            .await?;
        }
    }
    Ok(())
}

/// A case's PostgreSQL index document from its `{title}`, `{body}` and `{scope}` parameters:
/// the title weighs more than the rest; the scope tokens are kept verbatim.
pub(crate) const PG_DOCUMENT: &str = "setweight(to_tsvector('simple', {title}), 'A') \
     || to_tsvector('simple', {body}) || array_to_tsvector(string_to_array({scope}, ' '))";

/// The words of a keyword query, reduced to letters and digits: what both full-text engines
/// match on, and nothing they could read as syntax.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// The scope of a case in the keyword index: a token per partner domain recorded on it and
/// one for its customer's domain. A partner's or customer's search adds its own token to the
/// query, so the full-text engine reads only the matches that viewer could see (at a million
/// cases a common word matches tens of thousands of cases, of which a reseller sees a
/// hundredth); the visibility rule is still applied to what it returns.
pub(crate) fn scope_text(
    partners: impl IntoIterator<Item = Uuid>,
    customer_domain: Uuid,
) -> String {
    partners
        .into_iter()
        .map(|d| scope_token('p', d))
        .chain([scope_token('c', customer_domain)])
        .collect::<Vec<_>>()
        .join(" ")
}

/// `~p<hex>` or `~c<hex>`. The `~` keeps PostgreSQL lexemes apart from anything a keyword
/// query can produce ([`search_terms`] keeps letters and digits only); on SQLite the tokens
/// live in a column of their own, and the tokenizer drops the `~`.
fn scope_token(kind: char, id: Uuid) -> String {
    format!("~{kind}{}", id.simple())
}

/// The viewer's own scope token; the provider's staff search everything.
fn viewer_scope(viewer: Viewer) -> Option<String> {
    match viewer {
        Viewer::Partner(domain) => Some(scope_token('p', domain.as_uuid())),
        Viewer::Customer(domain) => Some(scope_token('c', domain.as_uuid())),
        Viewer::Provider => None,
    }
}

fn matches_alias() -> Alias {
    Alias::new("matches")
}

/// `SELECT case_number` of the cases matching every term (as prefixes) in the viewer's scope.
fn keyword_matches(backend: DbBackend, terms: &[String], viewer: Viewer) -> SelectStatement {
    let scope = viewer_scope(viewer);
    match backend {
        DbBackend::Postgres => {
            let query = terms
                .iter()
                .map(|t| format!("{t}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            let condition = match scope {
                Some(scope) => Expr::cust_with_values(
                    "document @@ (to_tsquery('simple', $1) && $2::tsquery)",
                    [query, format!("'{scope}'")],
                ),
                None => Expr::cust_with_values("document @@ to_tsquery('simple', $1)", [query]),
            };
            Query::select()
                .column(Alias::new("case_number"))
                .from(Alias::new("case_search"))
                .and_where(condition)
                .to_owned()
        }
        _ => {
            let mut query = terms
                .iter()
                .map(|t| format!("{{title body}} : \"{t}\"*"))
                .collect::<Vec<_>>();
            if let Some(scope) = scope {
                query.push(format!("scope : \"{scope}\""));
            }
            Query::select()
                .expr_as(Expr::cust("rowid"), Alias::new("case_number"))
                .from(Alias::new("case_search"))
                .and_where(Expr::cust_with_values(
                    "case_search MATCH ?",
                    [query.join(" AND ")],
                ))
                .to_owned()
        }
    }
}

/// The keyword matches a SQLite statement should read from first, if any. Without table
/// statistics SQLite's planner takes a viewer's `case_access` range for a handful of rows and
/// walks it, looking every case up to probe the matches (50–100 ms for a reseller with 10,000
/// cases); reading the few scoped matches outward (`CROSS JOIN` fixes that order) costs a
/// lookup per match. PostgreSQL plans from statistics and takes the `IN` form; so does the
/// provider, whose unscoped matches can be most of the database.
fn drives_from_matches(backend: DbBackend, query: &CaseQuery) -> Option<SelectStatement> {
    if backend == DbBackend::Postgres || query.viewer == Viewer::Provider {
        return None;
    }
    let terms = search_terms(query.q.as_deref()?);
    (!terms.is_empty()).then(|| keyword_matches(backend, &terms, query.viewer))
}

// ---------------------------------------------------------------- lists

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
            time: to_micros(match order {
                CaseOrder::CreateTimeDesc => case.create_time,
                _ => case.update_time,
            }),
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
fn restrict_to_viewer(
    q: &mut SelectStatement,
    viewer: Viewer,
    after_matches: bool,
) -> (Alias, Alias) {
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
            if after_matches {
                // Behind keyword matches, `case_access` stays inside the loop over them (a
                // cross join takes no `ON`: the condition goes to `WHERE`).
                q.join_as(
                    JoinType::CrossJoin,
                    case_access::Entity,
                    access(),
                    recorded.clone(),
                )
                .and_where(recorded);
            } else {
                q.join_as(JoinType::InnerJoin, case_access::Entity, access(), recorded);
            }
            q
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
                                    .eq("granted"),
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

/// Adds the query's filters (customer, statuses, severities, update time, keywords) on the
/// columns of `t`; keywords only when the statement does not already read from the matches.
fn add_filters(
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
        .and_where(Expr::col((customers::Entity, customers::Column::ResellerAccess)).eq("granted"));
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

/// How many cases the query matches. Without keywords or an update-time bound, a sum over the
/// running counts (`partner_case_counts`, `customer_case_counts`: rows per customer, status and
/// severity) of the customers the viewer sees; otherwise a count of the matching cases.
async fn count_cases(
    conn: &impl ConnectionTrait,
    query: &CaseQuery,
) -> Result<u64, PersistenceError> {
    let backend = conn.get_database_backend();
    let mut count = Query::select();
    if has_terms(query) || query.updated_after.is_some() {
        let matches = drives_from_matches(backend, query);
        let from_matches = matches.is_some();
        from_cases(&mut count, matches);
        let (t, _) = restrict_to_viewer(&mut count, query.viewer, from_matches);
        add_filters(&mut count, &t, query, backend, from_matches);
        count.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    } else {
        let t = match query.viewer {
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
    let total: i64 = conn
        .query_one(&count)
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(u64::try_from(total).unwrap_or(0))
}

/// A page of the cases the viewer sees, and how many match in all.
#[tracing::instrument(skip_all)]
pub async fn list_cases(
    conn: &impl ConnectionTrait,
    query: &CaseQuery,
) -> Result<(Vec<CaseRecord>, u64), PersistenceError> {
    let backend = conn.get_database_backend();
    if has_terms(query) {
        return search_cases(conn, query).await;
    }
    let mut q = case_select();
    let (t, id_col) = restrict_to_viewer(&mut q, query.viewer, false);
    add_filters(&mut q, &t, query, backend, false);
    keyset_page(
        &mut q,
        query,
        &t,
        [
            Alias::new("severity"),
            Alias::new(time_name(query.order)),
            id_col,
        ],
    );
    let rows = fetch_cases(conn, &q).await?;
    let total = count_cases(conn, query).await?;
    Ok((rows, total))
}

fn has_terms(query: &CaseQuery) -> bool {
    query
        .q
        .as_deref()
        .is_some_and(|q| !search_terms(q).is_empty())
}

/// The sort column of an order besides severity and id.
fn time_name(order: CaseOrder) -> &'static str {
    match order {
        CaseOrder::CreateTimeDesc => "create_time",
        _ => "update_time",
    }
}

/// Keyset pagination on the columns `[severity, time, id]` of `t`: the rows after the cursor,
/// in the query's order, one page.
fn keyset_page(
    q: &mut SelectStatement,
    query: &CaseQuery,
    t: &Alias,
    [severity, time, id]: [Alias; 3],
) {
    let col = |name: &Alias| Expr::col((t.clone(), name.clone()));
    if let Some(c) = query.after {
        let before_in_time = Expr::tuple([col(&time), col(&id)])
            .lt(Expr::tuple([Expr::value(c.time), Expr::value(c.id)]));
        match query.order {
            CaseOrder::Severity => {
                q.cond_where(
                    Cond::any().add(col(&severity).gt(c.severity)).add(
                        Cond::all()
                            .add(col(&severity).eq(c.severity))
                            .add(before_in_time),
                    ),
                );
            }
            _ => {
                q.and_where(before_in_time);
            }
        }
    }
    if query.order == CaseOrder::Severity {
        q.order_by((t.clone(), severity), Order::Asc);
    }
    q.order_by((t.clone(), time), Order::Desc)
        .order_by((t.clone(), id), Order::Desc)
        .limit(query.limit);
}

/// A keyword search in one pass over its matches. Counting them for `total_size` visits every
/// visible match anyway, so the same pass yields the page: an inner query keeps each visible
/// match's sort keys and counts them all (`COUNT(*) OVER ()`, computed before the outer
/// query's cursor and limit), the outer one takes the page; then only the page's cases are
/// read whole. A page past the end has no row to carry the count, which is then counted apart.
async fn search_cases(
    conn: &impl ConnectionTrait,
    query: &CaseQuery,
) -> Result<(Vec<CaseRecord>, u64), PersistenceError> {
    let backend = conn.get_database_backend();
    let matches = drives_from_matches(backend, query);
    let from_matches = matches.is_some();
    let mut hits = Query::select();
    from_cases(&mut hits, matches);
    let (t, id_col) = restrict_to_viewer(&mut hits, query.viewer, from_matches);
    add_filters(&mut hits, &t, query, backend, from_matches);
    let (hit_id, hit_severity, hit_time) = (
        Alias::new("hit_id"),
        Alias::new("hit_severity"),
        Alias::new("hit_time"),
    );
    hits.expr_as(Expr::col((t.clone(), id_col)), hit_id.clone())
        .expr_as(
            Expr::col((t.clone(), Alias::new("severity"))),
            hit_severity.clone(),
        )
        .expr_as(
            Expr::col((t, Alias::new(time_name(query.order)))),
            hit_time.clone(),
        )
        .expr_as(Expr::cust("COUNT(*) OVER ()"), Alias::new("hit_total"));
    let h = Alias::new("hits");
    let mut page = Query::select();
    page.column((h.clone(), hit_id.clone()))
        .column((h.clone(), Alias::new("hit_total")))
        .from_subquery(hits, h.clone());
    keyset_page(&mut page, query, &h, [hit_severity, hit_time, hit_id]);
    let mut ids = Vec::new();
    let mut total = None;
    for row in conn.query_all(&page).await? {
        ids.push(row.try_get::<Uuid>("", "hit_id")?);
        total = Some(row.try_get::<i64>("", "hit_total")?);
    }
    let total = match total {
        Some(n) => u64::try_from(n).unwrap_or(0),
        None => count_cases(conn, query).await?,
    };
    if ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    let mut whole = case_select();
    whole.and_where(Expr::col((cases::Entity, cases::Column::Id)).is_in(ids.clone()));
    let mut by_id: HashMap<Uuid, CaseRecord> = fetch_cases(conn, &whole)
        .await?
        .into_iter()
        .map(|c| (c.id.as_uuid(), c))
        .collect();
    let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_keep_letters_and_digits_only() {
        assert_eq!(
            search_terms("Bounce \"550\" AND (gmail*) -NOT ü"),
            vec!["bounce", "550", "and", "gmail", "not", "ü"]
        );
        assert!(search_terms("\"'*()").is_empty());
    }
}
