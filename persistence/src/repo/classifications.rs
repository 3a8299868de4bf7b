//! The case catalogue: the categories a case is filed under and the questions each asks.

use casebridge_domain::classification::Question;
use casebridge_domain::{ClassificationId, ProductType};
use sea_orm::sea_query::{Cond, Expr, LikeExpr};
use sea_orm::{ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use super::customers::like_pattern;
use super::stored;
use crate::PersistenceError;
use crate::entities::case_classifications;

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

crate::read_row! {
    /// A category as a case's filing reads it.
    pub(crate) struct ClassificationRow {
        pub(crate) id: Uuid,
        pub(crate) display_name: String,
        pub(crate) product_type: String,
        pub(crate) questions: String,
    }
}

impl From<case_classifications::Model> for ClassificationRow {
    fn from(m: case_classifications::Model) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            product_type: m.product_type,
            questions: m.questions,
        }
    }
}

impl TryFrom<case_classifications::Model> for ClassificationRecord {
    type Error = PersistenceError;
    fn try_from(m: case_classifications::Model) -> Result<Self, Self::Error> {
        Self::try_from(ClassificationRow::from(m))
    }
}

impl TryFrom<ClassificationRow> for ClassificationRecord {
    type Error = PersistenceError;
    fn try_from(m: ClassificationRow) -> Result<Self, Self::Error> {
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
