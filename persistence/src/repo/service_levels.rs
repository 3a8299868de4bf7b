//! Service levels: the provider's policy (one row per support tier and severity) and the
//! breaches of running targets, recorded once on the timeline whatever the number of instances.

use casebridge_domain::service_level::{Hours, ServiceLevelEntry, ServiceLevelTarget};
use casebridge_domain::{CaseId, ClassificationId, ServiceLevelPolicy, Severity, SupportTier};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::classifications::{ClassificationRecord, ClassificationRow};
use super::{from_micros, stored, to_micros};
use crate::PersistenceError;
use crate::entities::{cases, service_level_policies};
use crate::read::Reads;

/// The provider's policy as it stands.
pub async fn policy(conn: &impl Reads) -> Result<ServiceLevelPolicy, PersistenceError> {
    let select = service_level_policies::Entity::find().build(conn.backend());
    policy_of(conn.rows::<PolicyRow>(select).await?)
}

/// What a filing reads before it writes, in one statement (one round trip on PostgreSQL): the
/// category with this id, and the provider's policy as it stands. The statement answers a row
/// per entry of the policy, each with the category's columns beside it, and one row when the
/// policy is empty; the category's columns are empty when there is no such category.
pub async fn classification_and_policy(
    conn: &impl Reads,
    classification: ClassificationId,
) -> Result<(Option<ClassificationRecord>, ServiceLevelPolicy), PersistenceError> {
    let backend = conn.backend();
    let sql = format!(
        "SELECT c.id, c.display_name, c.product_type, c.questions, \
           p.support_tier, p.severity, p.first_response_minutes, p.hours \
         FROM (SELECT 1 AS one) AS one \
         LEFT JOIN case_classifications c ON c.id = {} \
         LEFT JOIN service_level_policies p ON TRUE",
        match backend {
            sea_orm::DbBackend::Postgres => "$1",
            _ => "?1",
        }
    );
    let rows = conn
        .rows::<(MaybeClassification, MaybeEntry)>(Statement::from_sql_and_values(
            backend,
            sql,
            [classification.as_uuid().into()],
        ))
        .await?;
    let mut found = None;
    let mut entries = Vec::with_capacity(rows.len());
    for (category, entry) in rows {
        if found.is_none() {
            found = category.row();
        }
        entries.extend(entry.row());
    }
    let found = found.map(ClassificationRecord::try_from).transpose()?;
    Ok((found, policy_of(entries)?))
}

/// The policy of its stored entries.
fn policy_of(
    rows: impl IntoIterator<Item = PolicyRow>,
) -> Result<ServiceLevelPolicy, PersistenceError> {
    let entries = rows
        .into_iter()
        .map(|r| {
            let hours = stored("service level hours", r.hours.parse::<Hours>())?;
            Ok(ServiceLevelEntry {
                support_tier: stored("support tier", r.support_tier.parse::<SupportTier>())?,
                severity: Severity::from_rank(r.severity)
                    .ok_or_else(|| PersistenceError::Corrupt(format!("severity {}", r.severity)))?,
                target: stored(
                    "service level target",
                    ServiceLevelTarget::new(i64::from(r.first_response_minutes), hours),
                )?,
            })
        })
        .collect::<Result<Vec<_>, PersistenceError>>()?;
    stored(
        "service level policy",
        ServiceLevelPolicy::from_entries(entries),
    )
}

crate::read_row! {
    /// The category's columns of [`classification_and_policy`], empty when there is none.
    struct MaybeClassification {
        id: Option<Uuid>,
        display_name: Option<String>,
        product_type: Option<String>,
        questions: Option<String>,
    }
}

impl MaybeClassification {
    fn row(self) -> Option<ClassificationRow> {
        Some(ClassificationRow {
            id: self.id?,
            display_name: self.display_name?,
            product_type: self.product_type?,
            questions: self.questions?,
        })
    }
}

crate::read_row! {
    /// The policy's columns of [`classification_and_policy`], empty when it has no entry.
    struct MaybeEntry {
        support_tier: Option<String>,
        severity: Option<i16>,
        first_response_minutes: Option<i32>,
        hours: Option<String>,
    }
}

impl MaybeEntry {
    fn row(self) -> Option<PolicyRow> {
        Some(PolicyRow {
            support_tier: self.support_tier?,
            severity: self.severity?,
            first_response_minutes: self.first_response_minutes?,
            hours: self.hours?,
        })
    }
}

crate::read_row! {
    /// One entry of the policy as stored.
    struct PolicyRow {
        support_tier: String,
        severity: i16,
        first_response_minutes: i32,
        hours: String,
    }
}

/// Replaces the whole policy (in the caller's transaction). Cases keep the targets they were
/// filed under.
pub async fn replace_policy(
    conn: &impl ConnectionTrait,
    policy: &ServiceLevelPolicy,
) -> Result<(), PersistenceError> {
    service_level_policies::Entity::delete_many()
        .exec(conn)
        .await?;
    let rows: Vec<service_level_policies::ActiveModel> = policy
        .entries()
        .map(|e| service_level_policies::ActiveModel {
            support_tier: Set(e.support_tier.as_str().to_owned()),
            severity: Set(e.severity.rank()),
            first_response_minutes: Set(
                i32::try_from(e.target.first_response_minutes()).unwrap_or(i32::MAX)
            ),
            hours: Set(e.target.hours().as_str().to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        service_level_policies::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The pending breaches: cases whose target is past its due time at `now` with its breach not
/// yet recorded (a target met in time is not pending), soonest due first.
pub async fn pending_breaches(
    conn: &impl ConnectionTrait,
    now: OffsetDateTime,
    limit: u64,
) -> Result<Vec<(CaseId, OffsetDateTime)>, PersistenceError> {
    let rows = cases::Entity::find()
        .select_only()
        .column(cases::Column::Id)
        .column(cases::Column::FirstResponseDueTime)
        // Written as the partial index's predicate, so both planners use it.
        .filter(Expr::cust("breach_pending"))
        .filter(cases::Column::FirstResponseDueTime.lt(to_micros(now)))
        .order_by_asc(cases::Column::FirstResponseDueTime)
        .limit(limit)
        .into_tuple::<(uuid::Uuid, Option<i64>)>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, due)| due.map(|d| (CaseId::from_uuid(id), from_micros(d))))
        .collect())
}

/// Claims a case's pending breach, if it is still pending and due by `now`: `true` for exactly
/// one caller, whose transaction then records the timeline event. The case's version and
/// update time do not move: a breach is the clock's doing, not a change to the case.
pub async fn claim_breach(
    conn: &impl ConnectionTrait,
    id: CaseId,
    now: OffsetDateTime,
) -> Result<bool, PersistenceError> {
    let result = cases::Entity::update_many()
        .col_expr(cases::Column::BreachPending, Expr::value(false))
        .filter(cases::Column::Id.eq(id.as_uuid()))
        .filter(cases::Column::BreachPending.eq(true))
        .filter(cases::Column::FirstResponseDueTime.lt(to_micros(now)))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
