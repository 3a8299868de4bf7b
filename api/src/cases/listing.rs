//! Case lists: every list of cases (My cases, one customer's, the customer's own, support's)
//! is this one query with the viewer's visibility and the client's filters.

use casebridge_domain::{CaseStatus, ServiceLevelState, Severity, Viewer};
use casebridge_persistence::repo::listing::{self, CaseCursor, CaseOrder, CaseQuery};

use crate::extract::search_query;
use crate::pagination::{Page, Paged};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::cases::{Case, CaseFilters};

/// The page of cases a viewer sees under the filters; its page tokens are bound to the
/// endpoint, the viewer and every filter.
pub async fn list_for(
    state: &AppState,
    endpoint: &str,
    viewer: Viewer,
    filters: CaseFilters,
    paged: &impl Paged,
) -> Result<Page<Case>, ApiError> {
    let order: CaseOrder = filters.order_by.into();
    let mut statuses: Vec<CaseStatus> = filters.status.iter().flat_map(|s| s.statuses()).collect();
    statuses.sort();
    statuses.dedup();
    let mut severities: Vec<Severity> = filters.severity.iter().map(|s| (*s).into()).collect();
    severities.sort();
    severities.dedup();
    let q = search_query(filters.q.as_deref())?;
    let service_level: Option<ServiceLevelState> = filters.service_level.map(Into::into);
    let scope = format!(
        "{endpoint}|{viewer:?}|{:?}|{:?}|{statuses:?}|{severities:?}|{:?}|{service_level:?}|{order:?}",
        filters.customer,
        q,
        filters.updated_after.map(|t| t.unix_timestamp_nanos()),
    );
    let now = state.clock.now();
    let request = state.pages.request::<CaseCursor>(scope, paged)?;
    let (rows, total_size) = listing::list_cases(
        &state.db.reads(),
        &CaseQuery {
            viewer,
            customer: filters.customer,
            q,
            statuses,
            severities,
            updated_after: filters.updated_after,
            service_level,
            now,
            order,
            after: request.after,
            limit: request.fetch(),
        },
    )
    .await?;
    Ok(state
        .pages
        .page(request, rows, total_size, |c| CaseCursor::after(c, order))
        .map(|c| Case::from_record(c, now)))
}
