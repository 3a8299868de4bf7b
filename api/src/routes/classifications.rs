//! The case-classification catalogue.

use actix_web::{HttpResponse, get, web};
use casebridge_persistence::repo::classifications::{self, ClassificationRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::WorkCases;
use crate::extract::{ApiQuery, search_query};
use crate::pagination::page_size;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire;

/// Registers the endpoint.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_case_classifications);
}

/// A question a case of a category answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    /// Key of the answer in a case's `answers`.
    #[schema(example = "bounce_message")]
    pub id: String,
    /// What is asked.
    pub text: String,
    /// Whether a case cannot be filed without an answer.
    pub required: bool,
}

/// A case category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseClassification {
    /// Id, stable across releases.
    pub id: String,
    /// `Area > Topic > Problem`.
    #[schema(example = "Gmail > Mail delivery > Messages bounced")]
    pub display_name: String,
    /// The product.
    pub product_type: wire::ProductType,
    /// The questions a case of this category answers.
    pub questions: Vec<QuestionView>,
}

impl From<ClassificationRecord> for CaseClassification {
    fn from(c: ClassificationRecord) -> Self {
        Self {
            id: c.id.to_string(),
            display_name: c.display_name,
            product_type: c.product_type.into(),
            questions: c
                .questions
                .into_iter()
                .map(|q| QuestionView {
                    id: q.id,
                    text: q.text,
                    required: q.required,
                })
                .collect(),
        }
    }
}

/// Query of the catalogue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListClassificationsQuery {
    /// Keywords that must all appear in the category's name or search terms, e.g. `bounce`.
    #[param(value_type = Option<crate::wire::text::Keywords>)]
    pub q: Option<String>,
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

/// A page of categories.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListClassificationsResponse {
    /// By name.
    pub case_classifications: Vec<CaseClassification>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many categories match.
    pub total_size: u64,
}

/// Finds case categories by keyword, with the questions each asks.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(ListClassificationsQuery),
    responses(
        (status = 200, description = "A page of categories.", body = ListClassificationsResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/case-classifications")]
async fn list_case_classifications(
    state: web::Data<AppState>,
    _actor: Authorized<WorkCases>,
    query: ApiQuery<ListClassificationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let size = page_size(query.page_size)?;
    let q = search_query(query.q.as_deref())?;
    let q = q.as_deref();
    let scope = format!("case-classifications|{}", q.unwrap_or_default());
    let after: Option<(String, Uuid)> = query
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(&scope, t))
        .transpose()?;
    let (mut page, total_size) =
        classifications::search_classifications(state.db.reader(), q, after, size + 1).await?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|c| {
                state
                    .pages
                    .encode(&scope, &(c.display_name.clone(), c.id.as_uuid()))
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(HttpResponse::Ok().json(ListClassificationsResponse {
        case_classifications: page.into_iter().map(Into::into).collect(),
        next_page_token,
        total_size,
    }))
}
