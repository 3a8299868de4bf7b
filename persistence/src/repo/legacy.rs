//! Importing from the old support center: the map of old ids to new entities, and bulk writes
//! for large imports (one transaction, multi-row statements).

use std::collections::{BTreeMap, HashMap};

use casebridge_domain::{
    CaseId, ClassificationId, CommentId, CustomerId, DomainId, EventId, Lifecycle, Party,
    ProductType, Severity, SupportTier, UserId,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::cases::{FiledTarget, minutes as stored_minutes};
use super::comments::party_str;
use super::search::{self, IndexedCase};
use super::to_micros;
use crate::PersistenceError;
use crate::entities::{audit_events, case_access, case_comments, cases, legacy_records};

/// What an old record became, and the hash of its content when last imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyEntry {
    /// The entity's id.
    pub entity_id: Uuid,
    /// The content hash.
    pub hash: String,
}

/// Old (kind, id) to what it became.
pub type LegacyMap = HashMap<(String, String), LegacyEntry>;

/// Everything imported so far.
pub async fn load(conn: &impl ConnectionTrait) -> Result<LegacyMap, PersistenceError> {
    Ok(legacy_records::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                (r.kind, r.legacy_id),
                LegacyEntry {
                    entity_id: r.entity_id,
                    hash: r.record_hash,
                },
            )
        })
        .collect())
}

/// One row of the map to write.
#[derive(Debug, Clone)]
pub struct LegacyRow {
    /// Kind.
    pub kind: &'static str,
    /// Old id.
    pub legacy_id: String,
    /// New entity.
    pub entity_id: Uuid,
    /// Content hash.
    pub hash: String,
}

const CHUNK: usize = 500;

/// Records new rows of the map.
pub async fn insert_rows(
    conn: &impl ConnectionTrait,
    rows: &[LegacyRow],
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    for chunk in rows.chunks(CHUNK) {
        let models: Vec<legacy_records::ActiveModel> = chunk
            .iter()
            .map(|r| legacy_records::ActiveModel {
                kind: Set(r.kind.to_owned()),
                legacy_id: Set(r.legacy_id.clone()),
                entity_id: Set(r.entity_id),
                record_hash: Set(r.hash.clone()),
                import_time: Set(to_micros(now)),
            })
            .collect();
        legacy_records::Entity::insert_many(models)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Updates the hash of a row of the map (its record changed and was re-imported).
pub async fn rehash(
    conn: &impl ConnectionTrait,
    row: &LegacyRow,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    legacy_records::Entity::update_many()
        .col_expr(
            legacy_records::Column::RecordHash,
            Expr::value(row.hash.clone()),
        )
        .col_expr(
            legacy_records::Column::ImportTime,
            Expr::value(to_micros(now)),
        )
        .filter(legacy_records::Column::Kind.eq(row.kind))
        .filter(legacy_records::Column::LegacyId.eq(row.legacy_id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets rows of the map (entities an import replaced).
pub async fn forget(
    conn: &impl ConnectionTrait,
    kind: &'static str,
    entity_ids: &[Uuid],
) -> Result<(), PersistenceError> {
    if entity_ids.is_empty() {
        return Ok(());
    }
    legacy_records::Entity::delete_many()
        .filter(legacy_records::Column::Kind.eq(kind))
        .filter(legacy_records::Column::EntityId.is_in(entity_ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// A comment of an imported case.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    /// Id.
    pub id: CommentId,
    /// Text.
    pub body: String,
    /// Author, when an imported user.
    pub author_user_id: Option<UserId>,
    /// Author's email.
    pub author_email: String,
    /// Author's domain, when known.
    pub author_domain_id: Option<DomainId>,
    /// Author's party.
    pub party: Party,
    /// When.
    pub create_time: OffsetDateTime,
}

/// A case as imported: its history and times are the old system's.
#[derive(Debug, Clone)]
pub struct ImportedCase {
    /// Id.
    pub id: CaseId,
    /// Number (the old system's, or a new one).
    pub case_number: i64,
    /// Customer.
    pub customer_id: CustomerId,
    /// Product type.
    pub product_type: ProductType,
    /// Title.
    pub title: String,
    /// Category.
    pub classification_id: ClassificationId,
    /// Description.
    pub description: String,
    /// Answers.
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: Severity,
    /// Status, close time, escalation.
    pub lifecycle: Lifecycle,
    /// Language.
    pub language_code: String,
    /// Time zone.
    pub time_zone: String,
    /// Subscribers.
    pub subscriber_emails: Vec<String>,
    /// Creator.
    pub creator_user_id: Option<UserId>,
    /// Creator's email.
    pub creator_email: String,
    /// Creator's domain.
    pub creator_domain_id: DomainId,
    /// The customer's reseller when the case was filed.
    pub reseller_domain_id: DomainId,
    /// Created.
    pub create_time: OffsetDateTime,
    /// Last changed.
    pub update_time: OffsetDateTime,
    /// The partner domains that see it.
    pub partner_domains: Vec<DomainId>,
    /// Its history.
    pub comments: Vec<ImportedComment>,
    /// The customer's support tier at import (`None`: unknown, as for benchmark data).
    pub service_tier: Option<SupportTier>,
    /// The first-response target, computed as if the case were filed then.
    pub target: Option<FiledTarget>,
    /// Support's first reply in its history.
    pub first_responded_time: Option<OffsetDateTime>,
    /// When the target stopped running (support's first reply, or the close before it).
    pub target_stopped_time: Option<OffsetDateTime>,
    /// Whether a breach may still have to be recorded (not for one that is history).
    pub breach_pending: bool,
}

fn case_model(c: &ImportedCase, version: i64) -> cases::ActiveModel {
    let e = c.lifecycle.escalation.as_ref();
    cases::ActiveModel {
        id: Set(c.id.as_uuid()),
        case_number: Set(c.case_number),
        customer_id: Set(c.customer_id.as_uuid()),
        product_type: Set(c.product_type.as_str().to_owned()),
        title: Set(c.title.clone()),
        classification_id: Set(c.classification_id.as_uuid()),
        description: Set(c.description.clone()),
        answers: Set(serde_json::to_string(&c.answers).unwrap_or_default()),
        severity: Set(c.severity.rank()),
        status: Set(c.lifecycle.status.as_str().to_owned()),
        escalation_reason: Set(e.map(|e| e.reason.as_str().to_owned())),
        escalation_justification: Set(e.map(|e| e.justification.as_str().to_owned())),
        escalation_time: Set(e.map(|e| to_micros(e.time))),
        language_code: Set(c.language_code.clone()),
        time_zone: Set(c.time_zone.clone()),
        subscriber_emails: Set(serde_json::to_string(&c.subscriber_emails).unwrap_or_default()),
        creator_user_id: Set(c.creator_user_id.map(|u| u.as_uuid())),
        creator_email: Set(c.creator_email.clone()),
        creator_domain_id: Set(c.creator_domain_id.as_uuid()),
        reseller_domain_id: Set(c.reseller_domain_id.as_uuid()),
        create_time: Set(to_micros(c.create_time)),
        update_time: Set(to_micros(c.update_time)),
        close_time: Set(c.lifecycle.close_time.map(to_micros)),
        follow_up_of: Set(None),
        version: Set(version),
        service_tier: Set(c.service_tier.map(|t| t.as_str().to_owned())),
        first_response_minutes: Set(c.target.map(|t| stored_minutes(t.target))),
        first_response_hours: Set(c.target.map(|t| t.target.hours().as_str().to_owned())),
        first_response_due_time: Set(c.target.map(|t| to_micros(t.due))),
        first_responded_time: Set(c.first_responded_time.map(to_micros)),
        target_stopped_time: Set(c.target_stopped_time.map(to_micros)),
        breach_pending: Set(c.breach_pending),
    }
}

fn comment_models(c: &ImportedCase) -> impl Iterator<Item = case_comments::ActiveModel> + '_ {
    c.comments.iter().map(move |m| case_comments::ActiveModel {
        id: Set(m.id.as_uuid()),
        case_id: Set(c.id.as_uuid()),
        body: Set(m.body.clone()),
        author_user_id: Set(m.author_user_id.map(|u| u.as_uuid())),
        author_email: Set(m.author_email.clone()),
        author_domain_id: Set(m.author_domain_id.map(|d| d.as_uuid())),
        author_party: Set(party_str(m.party).to_owned()),
        create_time: Set(to_micros(m.create_time)),
    })
}

fn access_models(c: &ImportedCase) -> impl Iterator<Item = case_access::ActiveModel> + '_ {
    c.partner_domains
        .iter()
        .map(move |d| case_access::ActiveModel {
            domain_id: Set(d.as_uuid()),
            case_id: Set(c.id.as_uuid()),
            customer_id: Set(c.customer_id.as_uuid()),
            update_time: Set(to_micros(c.update_time)),
            create_time: Set(to_micros(c.create_time)),
            severity: Set(c.severity.rank()),
            status: Set(c.lifecycle.status.as_str().to_owned()),
            case_number: Set(c.case_number),
        })
}

fn index_source(c: &ImportedCase) -> IndexedCase<'_> {
    IndexedCase {
        id: c.id,
        case_number: c.case_number,
        title: &c.title,
        description: &c.description,
        comments: c.comments.iter().map(|m| m.body.as_str()).collect(),
        partner_domains: &c.partner_domains,
        customer_id: c.customer_id,
    }
}

/// Where cases written in bulk come from; their timeline's first event says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOrigin {
    /// Moved in from the old support center (`case.imported`).
    LegacyImport,
    /// Made up by `casebridge demo` or `casebridge seed` (`case.seeded`).
    Seed,
}

impl BulkOrigin {
    fn action(self) -> &'static str {
        match self {
            BulkOrigin::LegacyImport => "case.imported",
            BulkOrigin::Seed => "case.seeded",
        }
    }

    fn source(self) -> &'static str {
        match self {
            BulkOrigin::LegacyImport => "old support center",
            BulkOrigin::Seed => "sample data",
        }
    }
}

/// Inserts many new cases with their access rows, comments, keyword entries and one event
/// each telling where they come from, in multi-row statements.
pub async fn insert_cases(
    conn: &impl ConnectionTrait,
    cases_in: &[ImportedCase],
    origin: BulkOrigin,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    for chunk in cases_in.chunks(CHUNK) {
        cases::Entity::insert_many(chunk.iter().map(|c| case_model(c, 1)).collect::<Vec<_>>())
            .exec_without_returning(conn)
            .await?;
        let access: Vec<case_access::ActiveModel> = chunk.iter().flat_map(access_models).collect();
        for part in access.chunks(CHUNK) {
            case_access::Entity::insert_many(part.to_vec())
                .exec_without_returning(conn)
                .await?;
        }
        let comments: Vec<case_comments::ActiveModel> =
            chunk.iter().flat_map(comment_models).collect();
        for part in comments.chunks(CHUNK) {
            case_comments::Entity::insert_many(part.to_vec())
                .exec_without_returning(conn)
                .await?;
        }
        let events: Vec<audit_events::ActiveModel> =
            chunk.iter().map(|c| origin_event(c, origin, now)).collect();
        audit_events::Entity::insert_many(events)
            .exec_without_returning(conn)
            .await?;
    }
    for chunk in cases_in.chunks(CHUNK) {
        let indexed: Vec<IndexedCase<'_>> = chunk.iter().map(index_source).collect();
        search::index_many(conn, &indexed).await?;
    }
    Ok(())
}

fn origin_event(
    c: &ImportedCase,
    origin: BulkOrigin,
    now: OffsetDateTime,
) -> audit_events::ActiveModel {
    audit_events::ActiveModel {
        id: Set(EventId::generate().as_uuid()),
        time: Set(to_micros(now)),
        actor_user_id: Set(None),
        actor_email: Set(None),
        actor_domain_id: Set(None),
        action: Set(origin.action().to_owned()),
        subject_type: Set("case".to_owned()),
        subject_id: Set(c.id.to_string()),
        customer_id: Set(Some(c.customer_id.as_uuid())),
        case_id: Set(Some(c.id.as_uuid())),
        details: Set(serde_json::json!({
            "case_number": c.case_number,
            "comments": c.comments.len(),
            "source": origin.source(),
        })
        .to_string()),
        position_tx: NotSet,
        position_seq: NotSet,
    }
}

/// Replaces an imported case's content by a newer export's: the row (its version bumped),
/// its access rows, the comments that came from the old system, its keyword entry.
pub async fn replace_case(
    conn: &impl ConnectionTrait,
    case: &ImportedCase,
    replaced_comments: &[CommentId],
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let current = cases::Entity::find_by_id(case.id.as_uuid())
        .one(conn)
        .await?
        .ok_or(PersistenceError::NotFound)?;
    cases::Entity::update(case_model(case, current.version + 1))
        .exec(conn)
        .await?;
    case_access::Entity::delete_many()
        .filter(case_access::Column::CaseId.eq(case.id.as_uuid()))
        .exec(conn)
        .await?;
    let access: Vec<case_access::ActiveModel> = access_models(case).collect();
    if !access.is_empty() {
        case_access::Entity::insert_many(access)
            .exec_without_returning(conn)
            .await?;
    }
    if !replaced_comments.is_empty() {
        case_comments::Entity::delete_many()
            .filter(case_comments::Column::Id.is_in(replaced_comments.iter().map(|c| c.as_uuid())))
            .exec(conn)
            .await?;
    }
    let comments: Vec<case_comments::ActiveModel> = comment_models(case).collect();
    if !comments.is_empty() {
        case_comments::Entity::insert_many(comments)
            .exec_without_returning(conn)
            .await?;
    }
    let mut event = origin_event(case, BulkOrigin::LegacyImport, now);
    event.action = Set("case.reimported".to_owned());
    audit_events::Entity::insert(event)
        .exec_without_returning(conn)
        .await?;
    search::reindex(conn, case.id).await
}

/// The case numbers in use among these, and the largest in use at all.
pub async fn case_numbers_in_use(
    conn: &impl ConnectionTrait,
) -> Result<HashMap<i64, Uuid>, PersistenceError> {
    use sea_orm::QuerySelect;
    Ok(cases::Entity::find()
        .select_only()
        .column(cases::Column::CaseNumber)
        .column(cases::Column::Id)
        .into_tuple::<(i64, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// Moves PostgreSQL's case-number sequence past every number in use (imported cases keep
/// their old numbers); SQLite numbers from the largest in use anyway.
pub async fn sync_case_numbers(conn: &impl ConnectionTrait) -> Result<(), PersistenceError> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        conn.execute_raw(Statement::from_string(
            backend,
            "SELECT setval('case_number_seq', \
               GREATEST(COALESCE((SELECT MAX(case_number) FROM cases), 1), \
                        (SELECT last_value FROM case_number_seq)), true)",
        ))
        .await?;
    }
    Ok(())
}
