//! Attachments' records (their bytes live in attachment storage, see the API's `storage`).

use casebridge_domain::{AttachmentId, CaseId, DomainId, Party, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::comments::{party_of, party_str};
use super::{from_micros, to_micros};
use crate::PersistenceError;
use crate::entities::attachments;

/// A file attached to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// Id.
    pub id: AttachmentId,
    /// The case.
    pub case_id: CaseId,
    /// The sanitised file name.
    pub filename: String,
    /// The content type sniffed from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Where the bytes are.
    pub storage_key: String,
    /// The uploader, when a user.
    pub uploader_user_id: Option<UserId>,
    /// The uploader's email.
    pub uploader_email: String,
    /// The uploader's domain.
    pub uploader_domain_id: Option<DomainId>,
    /// The uploader's party.
    pub uploader_party: Party,
    /// When.
    pub create_time: OffsetDateTime,
}

impl TryFrom<attachments::Model> for AttachmentRecord {
    type Error = PersistenceError;
    fn try_from(m: attachments::Model) -> Result<Self, Self::Error> {
        let party = party_of(&m.uploader_party)?;
        Ok(Self {
            id: AttachmentId::from_uuid(m.id),
            case_id: CaseId::from_uuid(m.case_id),
            filename: m.filename,
            content_type: m.content_type,
            size_bytes: m.size_bytes,
            sha256: m.sha256,
            storage_key: m.storage_key,
            uploader_user_id: m.uploader_user_id.map(UserId::from_uuid),
            uploader_email: m.uploader_email,
            uploader_domain_id: m.uploader_domain_id.map(DomainId::from_uuid),
            uploader_party: party,
            create_time: from_micros(m.create_time),
        })
    }
}

/// Records an attachment.
pub async fn insert_attachment(
    conn: &impl ConnectionTrait,
    a: &AttachmentRecord,
) -> Result<(), PersistenceError> {
    attachments::Entity::insert(attachments::ActiveModel {
        id: Set(a.id.as_uuid()),
        case_id: Set(a.case_id.as_uuid()),
        filename: Set(a.filename.clone()),
        content_type: Set(a.content_type.clone()),
        size_bytes: Set(a.size_bytes),
        sha256: Set(a.sha256.clone()),
        storage_key: Set(a.storage_key.clone()),
        uploader_user_id: Set(a.uploader_user_id.map(|u| u.as_uuid())),
        uploader_email: Set(a.uploader_email.clone()),
        uploader_domain_id: Set(a.uploader_domain_id.map(|d| d.as_uuid())),
        uploader_party: Set(party_str(a.uploader_party).to_owned()),
        create_time: Set(to_micros(a.create_time)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The attachment of this case with this id.
pub async fn find_attachment(
    conn: &impl ConnectionTrait,
    case: CaseId,
    id: AttachmentId,
) -> Result<Option<AttachmentRecord>, PersistenceError> {
    attachments::Entity::find_by_id(id.as_uuid())
        .filter(attachments::Column::CaseId.eq(case.as_uuid()))
        .one(conn)
        .await?
        .map(AttachmentRecord::try_from)
        .transpose()
}

/// How many attachments a case has.
pub async fn count_attachments(
    conn: &impl ConnectionTrait,
    case: CaseId,
) -> Result<u64, PersistenceError> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::CaseId.eq(case.as_uuid()))
        .count(conn)
        .await?)
}

/// A page of a case's attachments, oldest first, after the one at (time, id).
pub async fn list_attachments(
    conn: &impl ConnectionTrait,
    case: CaseId,
    after: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<Vec<AttachmentRecord>, PersistenceError> {
    let mut query =
        attachments::Entity::find().filter(attachments::Column::CaseId.eq(case.as_uuid()));
    if let Some((time, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(attachments::Column::CreateTime),
                Expr::col(attachments::Column::Id),
            ])
            .gt(Expr::tuple([Expr::value(time), Expr::value(id)])),
        );
    }
    query
        .order_by_asc(attachments::Column::CreateTime)
        .order_by_asc(attachments::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(AttachmentRecord::try_from)
        .collect()
}

/// Removes an attachment's record; `false` when there was none.
pub async fn delete_attachment(
    conn: &impl ConnectionTrait,
    case: CaseId,
    id: AttachmentId,
) -> Result<bool, PersistenceError> {
    let result = attachments::Entity::delete_many()
        .filter(attachments::Column::Id.eq(id.as_uuid()))
        .filter(attachments::Column::CaseId.eq(case.as_uuid()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Every storage key in use (for sweeping storage of files no record points to).
pub async fn storage_keys(conn: &impl ConnectionTrait) -> Result<Vec<String>, PersistenceError> {
    Ok(attachments::Entity::find()
        .select_only()
        .column(attachments::Column::StorageKey)
        .into_tuple::<String>()
        .all(conn)
        .await?)
}
