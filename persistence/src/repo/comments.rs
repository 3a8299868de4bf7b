//! Comments: a case's history, and the stored names of the parties that write it.

use casebridge_domain::{CaseId, CommentId, DomainId, Party, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::search;
use super::{from_micros, to_micros};
use crate::PersistenceError;
use crate::entities::case_comments;

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

/// A party as stored (comments, attachments and imported comments all store it this way).
pub(crate) fn party_str(p: Party) -> &'static str {
    match p {
        Party::Partner => "partner",
        Party::Customer => "customer",
        Party::Support => "support",
    }
}

/// A stored party.
pub(crate) fn party_of(s: &str) -> Result<Party, PersistenceError> {
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
    search::reindex(conn, comment.case_id).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_party_reads_back_as_stored() {
        for party in Party::ALL {
            assert_eq!(party_of(party_str(party)).ok(), Some(party));
        }
        assert!(party_of("provider").is_err());
    }
}
