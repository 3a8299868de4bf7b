//! Case lists: every list of cases (My cases, one customer's, the customer's own, support's)
//! is this one query with the viewer's visibility and the client's filters.

use casebridge_domain::{CaseStatus, ServiceLevelState, Severity, Viewer};
use casebridge_persistence::repo::identity::{Standing, StandingProbe};
use casebridge_persistence::repo::listing::{self, CaseCursor, CaseOrder, CaseQuery};

use crate::extract::search_query;
use crate::pagination::{Page, PageRequest, Paged};
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
    let list = ListRequest::new(state, endpoint, viewer, filters, paged)?;
    Ok(list.page(state, None).await?.0)
}

/// A list of cases as a request asks for it, its parameters and page token checked: everything
/// a client can get wrong is refused in [`ListRequest::new`], before anything is read.
pub struct ListRequest {
    query: CaseQuery,
    page: PageRequest<CaseCursor>,
}

impl ListRequest {
    /// The list of the cases `viewer` sees under the filters; its page tokens are bound to the
    /// endpoint, the viewer and every filter.
    pub fn new(
        state: &AppState,
        endpoint: &str,
        viewer: Viewer,
        filters: CaseFilters,
        paged: &impl Paged,
    ) -> Result<Self, ApiError> {
        let order: CaseOrder = filters.order_by.into();
        let mut statuses: Vec<CaseStatus> =
            filters.status.iter().flat_map(|s| s.statuses()).collect();
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
        let page = state.pages.request::<CaseCursor>(scope, paged)?;
        Ok(Self {
            query: CaseQuery {
                viewer,
                customer: filters.customer,
                q,
                statuses,
                severities,
                updated_after: filters.updated_after,
                service_level,
                now: state.clock.now(),
                order,
                after: page.after,
                limit: page.fetch(),
            },
            page,
        })
    }

    /// The page, read carrying the standing of `probe`'s token when given (see
    /// [`listing::list_cases_carrying`]), and the standing found.
    pub async fn page(
        self,
        state: &AppState,
        probe: Option<StandingProbe>,
    ) -> Result<(Page<Case>, Standing), ApiError> {
        let Self { query, page } = self;
        let (rows, total_size, standing) =
            listing::list_cases_carrying(&state.db.reads(), &query, probe).await?;
        let (order, now) = (query.order, query.now);
        let page = state
            .pages
            .page(page, rows, total_size, |c| CaseCursor::after(c, order))
            .map(|c| Case::from_record(c, now));
        Ok((page, standing))
    }
}
