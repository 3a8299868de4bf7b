//! A whole deployment's rows, table by table: copied into another database (for
//! `casebridge copy-data`) and counted (to verify the copy).
//!
//! Running case counts and keyword entries are not copied: the target's triggers count the
//! cases as they arrive, and every case is re-indexed there (the two engines index differently).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::entities::{
    attachments, audit_events, case_access, case_comments, cases, customer_resellers, customers,
    domains, event_audiences, idempotency_keys, legacy_records, outbox, revoked_tokens, roles,
    service_level_policies, support_partners, user_roles, users,
};
use crate::{Database, PersistenceError};

/// Rows read and written at a time.
const BATCH: u64 = 500;

/// How many domains a database holds; 0 when it has no schema yet.
pub async fn domain_count(db: &Database) -> u64 {
    domains::Entity::find()
        .count(db.reader())
        .await
        .unwrap_or(0)
}

/// Copies one table in the order of its whole primary key (no ties, so no row is read twice
/// or skipped across pages), in batches; returns its row count.
async fn copy_table<E>(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    key: &[E::Column],
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<u64, PersistenceError>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let name = E::default().table_name().to_owned();
    let mut query = E::find();
    for column in key {
        query = query.order_by_asc(*column);
    }
    let mut pages = query.paginate(from, BATCH);
    let mut copied = 0u64;
    while let Some(rows) = pages.fetch_and_next().await? {
        if rows.is_empty() {
            break;
        }
        copied += rows.len() as u64;
        E::insert_many(rows.into_iter().map(|m| m.into_active_model().reset_all()))
            .exec_without_returning(to)
            .await?;
        if copied % 50_000 < BATCH {
            progress(&name, copied);
        }
    }
    progress(&name, copied);
    Ok(copied)
}

/// Copies the audit events in the change feed's order, renumbered `(0, 1…)`. The source's
/// positions may be PostgreSQL transaction ids, which mean nothing to the target: its own
/// transactions may be numbered lower, and events it writes would then come before the copied
/// ones. At `position_tx` 0 the copies come before everything the target writes, in their
/// order (an SQLite source, numbered `(0, 1…)` already, keeps its positions).
async fn copy_audit_events(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<u64, PersistenceError> {
    use sea_orm::ActiveValue::Set;
    let mut pages = audit_events::Entity::find()
        .order_by_asc(audit_events::Column::PositionTx)
        .order_by_asc(audit_events::Column::PositionSeq)
        .paginate(from, BATCH);
    let mut copied = 0u64;
    while let Some(rows) = pages.fetch_and_next().await? {
        if rows.is_empty() {
            break;
        }
        let first = copied;
        copied += rows.len() as u64;
        let renumbered = rows.into_iter().zip(first + 1..).map(|(m, n)| {
            let mut row = m.into_active_model().reset_all();
            row.position_tx = Set(0);
            row.position_seq = Set(i64::try_from(n).unwrap_or(i64::MAX));
            row
        });
        audit_events::Entity::insert_many(renumbered)
            .exec_without_returning(to)
            .await?;
        if copied % 50_000 < BATCH {
            progress("audit_events", copied);
        }
    }
    progress("audit_events", copied);
    Ok(copied)
}

/// Every table a deployment's data lives in, in the order a copy writes them (each after
/// those it refers to).
macro_rules! each_table {
    ($apply:ident) => {
        $apply!(domains, [domains::Column::Id]);
        $apply!(users, [users::Column::Id]);
        $apply!(roles, [roles::Column::Id]);
        $apply!(
            user_roles,
            [user_roles::Column::UserId, user_roles::Column::Role]
        );
        $apply!(customers, [customers::Column::Id]);
        $apply!(customer_resellers, [customer_resellers::Column::Id]);
        $apply!(
            support_partners,
            [
                support_partners::Column::CustomerId,
                support_partners::Column::PartnerDomainId
            ]
        );
        // Follow-ups point at older cases: case numbers (unique) grow with time.
        $apply!(cases, [cases::Column::CaseNumber]);
        $apply!(
            case_access,
            [case_access::Column::DomainId, case_access::Column::CaseId]
        );
        $apply!(case_comments, [case_comments::Column::Id]);
        $apply!(attachments, [attachments::Column::Id]);
        $apply!(audit_events, [audit_events::Column::Id]);
        $apply!(
            event_audiences,
            [
                event_audiences::Column::EventId,
                event_audiences::Column::DomainId
            ]
        );
        $apply!(outbox, [outbox::Column::Id]);
        $apply!(
            idempotency_keys,
            [
                idempotency_keys::Column::UserId,
                idempotency_keys::Column::Key
            ]
        );
        $apply!(revoked_tokens, [revoked_tokens::Column::Jti]);
        $apply!(
            service_level_policies,
            [
                service_level_policies::Column::SupportTier,
                service_level_policies::Column::Severity
            ]
        );
        $apply!(
            legacy_records,
            [
                legacy_records::Column::Kind,
                legacy_records::Column::LegacyId
            ]
        );
    };
}

/// Copies every row of `from` into `to` (a transaction on an empty, migrated database), moves
/// the case-number sequence past the copied numbers and re-indexes every case; returns the row
/// count of each table.
pub async fn copy_rows(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Vec<(&'static str, u64)>, PersistenceError> {
    let mut tables = Vec::new();
    macro_rules! copy {
        (audit_events, $order:expr) => {
            tables.push(("audit_events", copy_audit_events(from, to, progress).await?));
        };
        ($entity:ident, $order:expr) => {
            tables.push((
                stringify!($entity),
                copy_table::<$entity::Entity>(from, to, &$order, progress).await?,
            ));
        };
    }
    // The target's migration seeded the default service levels: the source's replace them.
    service_level_policies::Entity::delete_many()
        .exec(to)
        .await?;
    each_table!(copy);
    super::legacy::sync_case_numbers(to).await?;
    let mut ids = cases::Entity::find()
        .select_only()
        .column(cases::Column::Id)
        .order_by_asc(cases::Column::CaseNumber)
        .into_tuple::<Uuid>()
        .paginate(to, BATCH);
    let mut indexed = 0u64;
    while let Some(page) = ids.fetch_and_next().await? {
        if page.is_empty() {
            break;
        }
        for id in &page {
            super::search::reindex(to, casebridge_domain::CaseId::from_uuid(*id)).await?;
        }
        indexed += page.len() as u64;
        if indexed % 10_000 < BATCH {
            progress("keyword index", indexed);
        }
    }
    Ok(tables)
}

/// The row count of each table a copy writes.
pub async fn row_counts(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(&'static str, u64)>, PersistenceError> {
    let mut counts = Vec::new();
    macro_rules! count {
        ($entity:ident, $order:expr) => {
            counts.push((
                stringify!($entity),
                $entity::Entity::find().count(conn).await?,
            ));
        };
    }
    each_table!(count);
    Ok(counts)
}

/// An attachment's record, as a copy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    /// Id.
    pub id: Uuid,
    /// Where its bytes are.
    pub storage_key: String,
    /// Their SHA-256, hex.
    pub sha256: String,
    /// Their size.
    pub size_bytes: i64,
}

/// Attachments after `after` in id order, `limit` at a time.
pub async fn attachments_after(
    conn: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredAttachment>, PersistenceError> {
    let mut q = attachments::Entity::find().order_by_asc(attachments::Column::Id);
    if let Some(after) = after {
        q = q.filter(attachments::Column::Id.gt(after));
    }
    Ok(q.limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|a| StoredAttachment {
            id: a.id,
            storage_key: a.storage_key,
            sha256: a.sha256,
            size_bytes: a.size_bytes,
        })
        .collect())
}
