//! The change feed: every event of the cases and customers your domain sees, in order, each
//! once.

use actix_web::{HttpResponse, get, web};

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::WorkCases;
use crate::extract::ApiQuery;
use crate::feed;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::wire::events::{FeedPage, FeedQuery};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events);
}

/// The change feed: every event of every case your domain sees, and the customer events
/// addressed to it, in order, each exactly once.
///
/// Start without `cursor` (at the oldest event) and call again with `next_cursor`, which is
/// always present: an empty page is a place to resume from, so poll with it at your own pace.
/// Following `next_cursor` hands you every event exactly once; an event's own `cursor` resumes
/// right after it (keep the last one you handled to pick up where you stopped).
///
/// **Order.** Events come in the order of the transactions that wrote them, the events of
/// one change together in the order written. On SQLite that is the order changes committed
/// in. On PostgreSQL it is the order in which their transactions began to write: a change that
/// began after another had ended always comes after it; two that overlapped may come in
/// either order. An event is handed out only once every transaction that could still come
/// before it has ended, so none is ever skipped for committing after a later one. A
/// transaction that runs long (on PostgreSQL, any transaction on the database server) holds
/// back the events after it until it ends; nothing else delays an event.
///
/// **What you see** is decided when you read: events of the cases your domain sees now (a case
/// you no longer see drops out, its earlier events included), and customer events (`customer.*`)
/// when your domain is the provider, the customer's own domain, or a partner domain the event
/// was addressed to when it happened (the reseller whose access changed, both resellers of a
/// transfer, the support partner taken on or let go).
///
/// Cursors are bound to your domain and to the filters: one from another domain, or used with
/// other `event_type` or `customer_id` values, is refused (`invalid_page_token`).
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events, and where to resume.", body = FeedPage),
        (status = 400, description = "A parameter is invalid (`invalid_query_parameter`), or the cursor is not one this service gave your domain for this query (`invalid_page_token`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/events")]
#[tracing::instrument(skip_all)]
async fn list_events(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    query: ApiQuery<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = feed::read(&state, &actor, &query).await?;
    Ok(HttpResponse::Ok().json(page))
}
