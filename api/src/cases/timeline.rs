//! A case's timeline: who did what, when, oldest first.

use casebridge_domain::{CaseId, EventId, Viewer};
use casebridge_persistence::repo::{audit, from_micros, to_micros};

use crate::cases::load::{domain_names, seen_case};
use crate::pagination::{Page, Paged};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::cases::CaseEvent;

/// A page of the timeline of a case the viewer sees; 404 for any other case.
pub async fn timeline(
    state: &AppState,
    viewer: Viewer,
    id: CaseId,
    paged: &impl Paged,
) -> Result<Page<CaseEvent>, ApiError> {
    seen_case(&state.db.reads(), viewer, id).await?;
    let db = state.db.reader();
    let request = state
        .pages
        .request::<(i64, uuid::Uuid)>(format!("case-events|{id}"), paged)?;
    let after = request
        .after
        .map(|(t, i)| (from_micros(t), EventId::from_uuid(i)));
    let rows = audit::case_events(db, id, after, request.fetch()).await?;
    let total_size = audit::count_case_events(db, id).await?;
    let page = state.pages.page(request, rows, total_size, |e| {
        (to_micros(e.time), e.id.as_uuid())
    });
    let names = domain_names(db, page.items.iter().filter_map(|e| e.actor.domain_id)).await?;
    Ok(page.map(|e| CaseEvent::of(e, &names)))
}
