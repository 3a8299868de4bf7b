//! Loading a case the actor may see: one query for reads, and for writes the customer locked
//! first and the visibility rule judged inside the writing transaction.

use std::collections::HashMap;

use casebridge_domain::privacy::Participants;
use casebridge_domain::visibility::{CaseAudience, can_see};
use casebridge_domain::{CaseId, DomainId, EmailAddress, Management, Viewer};
use casebridge_persistence::repo::attachments::AttachmentRecord;
use casebridge_persistence::repo::cases::{self, CaseRecord};
use casebridge_persistence::repo::comments::CommentRecord;
use casebridge_persistence::repo::customers::{self, CustomerRecord};
use casebridge_persistence::repo::identity::{Standing, StandingProbe};
use casebridge_persistence::repo::{identity, locks, to_micros};
use casebridge_persistence::{Connection, PersistenceError, Reads};

use crate::pagination::{Page, Paged};
use crate::problem::ApiError;
use crate::state::AppState;

/// A case the actor sees, with its customer.
#[derive(Debug, Clone)]
pub struct VisibleCase {
    /// The case.
    pub case: CaseRecord,
    /// Its customer.
    pub customer: CustomerRecord,
    /// Who manages the customer now.
    pub management: Management,
}

/// Who may see a case, as the rule needs it: its customer, who manages the customer now, and
/// the partners recorded on the case.
#[derive(Debug, Clone)]
pub struct Audience {
    /// The case's customer.
    pub customer: CustomerRecord,
    /// Who manages the customer now.
    pub management: Management,
    /// The partner domains recorded on the case.
    pub recorded: Vec<DomainId>,
}

impl Audience {
    /// The audience of `case`, read on `conn` (inside a transaction: as it commits); `None`
    /// when its customer is gone.
    pub async fn of(
        conn: &impl Reads,
        case: &CaseRecord,
    ) -> Result<Option<Self>, PersistenceError> {
        let Some(customer) = customers::find_customer(conn, case.customer_id).await? else {
            return Ok(None);
        };
        let management = customers::management(conn, &customer).await?;
        let recorded = cases::recorded_partners(conn, case.id).await?;
        Ok(Some(Self {
            customer,
            management,
            recorded,
        }))
    }

    /// Whether `viewer` sees the case: `casebridge_domain::visibility::can_see`.
    pub fn sees(&self, viewer: Viewer) -> bool {
        can_see(
            viewer,
            &CaseAudience {
                recorded_partners: &self.recorded,
                customer_domain: self.customer.domain_id,
                management: &self.management,
            },
        )
    }
}

/// Loads a case and applies the visibility rule; a case the actor may not see is 404.
pub async fn visible_case(
    conn: &impl Reads,
    viewer: Viewer,
    id: CaseId,
) -> Result<VisibleCase, ApiError> {
    let case = cases::find_case(conn, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let audience = Audience::of(conn, &case)
        .await?
        .filter(|a| a.sees(viewer))
        .ok_or_else(ApiError::not_found)?;
    Ok(VisibleCase {
        case,
        customer: audience.customer,
        management: audience.management,
    })
}

/// The case a write transaction changes: its customer locked for the rest of the transaction
/// (`repo::locks` gives the order), then read and judged visible inside it, so that neither
/// the case nor the customer's authorisation can change under the decision.
pub async fn locked_case(
    tx: &impl Connection,
    viewer: Viewer,
    id: CaseId,
) -> Result<VisibleCase, ApiError> {
    locks::customer_of_case(tx, id).await?;
    visible_case(tx, viewer, id).await
}

/// The case, when the viewer sees it (for reads: one query); 404 otherwise.
pub async fn seen_case(
    conn: &impl Reads,
    viewer: Viewer,
    id: CaseId,
) -> Result<CaseRecord, ApiError> {
    cases::find_visible_case(conn, id, viewer)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The email addresses that may appear in a case's text: its creator's and subscribers'.
pub fn participants(creator: &str, subscribers: &[String]) -> Participants {
    let emails: Vec<EmailAddress> = std::iter::once(creator)
        .chain(subscribers.iter().map(String::as_str))
        .filter_map(|e| EmailAddress::parse(e).ok())
        .collect();
    Participants::new(emails.iter())
}

/// The names of the domains `ids` (the authors of a page of comments, the actors of a page of
/// events), in one query.
pub async fn domain_names(
    conn: &impl Connection,
    ids: impl IntoIterator<Item = DomainId>,
) -> Result<HashMap<DomainId, String>, ApiError> {
    Ok(identity::domain_names(conn, ids).await?)
}

/// What a page of a case's comments or attachments is ordered and attributed by.
pub trait Contribution {
    /// The domain of whoever added it, when a user did.
    fn contributor_domain(&self) -> Option<DomainId>;
    /// Its place in the case's order: creation time (microseconds), then id.
    fn position(&self) -> (i64, uuid::Uuid);
}

impl Contribution for CommentRecord {
    fn contributor_domain(&self) -> Option<DomainId> {
        self.author_domain_id
    }
    fn position(&self) -> (i64, uuid::Uuid) {
        (to_micros(self.create_time), self.id.as_uuid())
    }
}

impl Contribution for AttachmentRecord {
    fn contributor_domain(&self) -> Option<DomainId> {
        self.uploader_domain_id
    }
    fn position(&self) -> (i64, uuid::Uuid) {
        (to_micros(self.create_time), self.id.as_uuid())
    }
}

/// A page of one kind of contribution (`kind` names it in the page token) to a case the
/// viewer sees, oldest first, each shown by `view` with its contributor's domain named; 404
/// for any other case. `fetch` reads the rows after a position, and the total.
pub async fn contributions<R: Contribution, V>(
    state: &AppState,
    viewer: Viewer,
    id: CaseId,
    kind: &str,
    paged: &impl Paged,
    fetch: impl AsyncFnOnce(Option<(i64, uuid::Uuid)>, u64) -> Result<(Vec<R>, u64), ApiError>,
    view: impl Fn(&R, Option<String>) -> V,
) -> Result<Page<V>, ApiError> {
    seen_case(&state.db.reads(), viewer, id).await?;
    let request = state
        .pages
        .request::<(i64, uuid::Uuid)>(format!("case-{kind}|{id}"), paged)?;
    let (rows, total_size) = fetch(request.after, request.fetch()).await?;
    let page = state.pages.page(request, rows, total_size, R::position);
    let names = domain_names(
        state.db.reader(),
        page.items.iter().filter_map(R::contributor_domain),
    )
    .await?;
    Ok(page.map(|r| {
        let domain = r.contributor_domain().and_then(|d| names.get(&d).cloned());
        view(&r, domain)
    }))
}

/// [`seen_case`], carrying the standing of `probe`'s token in the same read (PostgreSQL):
/// the case if the viewer sees it, and the standing the read found. The caller settles the
/// standing before it answers, a 404 included.
pub async fn seen_case_carrying(
    conn: &impl Reads,
    viewer: Viewer,
    id: CaseId,
    probe: Option<StandingProbe>,
) -> Result<(Option<CaseRecord>, Standing), ApiError> {
    Ok(cases::find_visible_case_carrying(conn, id, viewer, probe).await?)
}
