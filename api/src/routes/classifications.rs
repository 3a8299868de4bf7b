//! The case-classification catalogue.

use actix_web::{HttpResponse, get, web};
use casebridge_persistence::repo::classifications::{self, ClassificationRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::WorkCases;
use crate::extract::{ApiQuery, search_query};
use crate::pagination::{list_query, list_response};
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

list_query! {
    /// Query of the catalogue.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListClassificationsQuery {
        /// Keywords that must all appear in the category's name or search terms, e.g. `bounce`.
        #[param(value_type = Option<crate::wire::text::Keywords>)]
        pub q: Option<String>,
    }
}

list_response! {
    /// A page of categories.
    ListClassificationsResponse {
        /// By name.
        case_classifications: CaseClassification,
        total_size: "How many categories match.",
    }
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
#[tracing::instrument(skip_all)]
async fn list_case_classifications(
    state: web::Data<AppState>,
    _actor: Authorized<WorkCases>,
    query: ApiQuery<ListClassificationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = search_query(query.q.as_deref())?;
    let q = q.as_deref();
    let scope = format!("case-classifications|{}", q.unwrap_or_default());
    let request = state.pages.request::<(String, Uuid)>(scope, &*query)?;
    let (rows, total_size) = classifications::search_classifications(
        state.db.reader(),
        q,
        request.after.clone(),
        request.fetch(),
    )
    .await?;
    let page = state.pages.page(request, rows, total_size, |c| {
        (c.display_name.clone(), c.id.as_uuid())
    });
    Ok(HttpResponse::Ok().json(ListClassificationsResponse::from(page.map(Into::into))))
}
