//! The change feed (`GET /v1/events`): a page of the events the viewer may see after its
//! cursor, each with a cursor of its own, and where to resume.

use casebridge_domain::{CustomerId, EventType};
use casebridge_persistence::repo::feed::{self, FeedPosition, FeedQuery as Query};

use crate::auth::Actor;
use crate::cases::load::domain_names;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::cases::CaseEvent;
use crate::wire::events::{FeedEvent, FeedPage, FeedQuery};

/// A page of the feed for the actor's domain. Cursors are bound to the domain and the filters:
/// another domain's (a provider domain's too, though every one sees the same), or another
/// query's, is refused as `invalid_page_token`.
pub async fn read(
    state: &AppState,
    actor: &Actor,
    query: &FeedQuery,
) -> Result<FeedPage, ApiError> {
    let viewer = actor.viewer();
    let customer = query
        .customer_id
        .as_deref()
        .map(|raw| {
            raw.parse::<CustomerId>()
                .map_err(|e| ApiError::invalid_query_parameter("customer_id", e.code, &e.message))
        })
        .transpose()?;
    let mut types: Vec<EventType> = query.event_type.iter().map(|t| (*t).into()).collect();
    types.sort();
    types.dedup();
    let scope = format!("events|{}|{types:?}|{customer:?}", actor.domain_id);
    if types.is_empty() {
        types = EventType::ALL.to_vec();
    }
    let request = state.pages.request::<FeedPosition>(scope, query)?;
    let db = state.db.reader();
    let mut read = feed::read_feed(
        db,
        &Query {
            viewer,
            types,
            customer,
            after: request.after,
            limit: request.fetch(),
        },
    )
    .await?;
    // A full page resumes after its last event. A shorter one holds everything final up to the
    // horizon, so the next read starts there and does not look at those events again (the
    // events read are at or before it; the maximum only keeps a cursor from moving back).
    let full = read.events.len() > request.size();
    read.events.truncate(request.size());
    let next = match read.events.last() {
        Some(last) if full => last.position,
        last => [request.after, last.map(|e| e.position), Some(read.horizon)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(read.horizon),
    };
    let names = domain_names(
        db,
        read.events.iter().filter_map(|e| e.event.actor.domain_id),
    )
    .await?;
    let events = read
        .events
        .into_iter()
        .map(|e| FeedEvent {
            cursor: state.pages.resume_after(&request, &e.position),
            event_type: e.event_type.into(),
            timestamp: e.event.time,
            customer_id: e.customer_id.to_string(),
            case_id: e.case_id.map(|c| c.to_string()),
            event: CaseEvent::of(e.event, &names),
        })
        .collect();
    Ok(FeedPage {
        events,
        next_cursor: state.pages.resume_after(&request, &next),
    })
}
