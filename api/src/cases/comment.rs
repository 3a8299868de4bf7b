//! Commenting on a case: partners, customers and support all add comments through here.

use casebridge_domain::privacy::check_no_personal_data;
use casebridge_domain::{CaseId, CommentBody, CommentId, Party, Viewer};
use casebridge_persistence::Transaction;
use casebridge_persistence::repo::cases::{self, CaseChanges};
use casebridge_persistence::repo::comments::{self, CommentRecord};
use casebridge_persistence::repo::{from_micros, to_micros};
use serde_json::json;

use crate::auth::Actor;
use crate::cases::change::record_event;
use crate::cases::load::{contributions, domain_names, locked_case, participants, seen_case};
use crate::cases::once::{Created, Outcome, create_once};
use crate::cases::service_level;
use crate::conditions::Idempotency;
use crate::mail;
use crate::pagination::{Page, Paged};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::cases::Comment;

/// Adds a comment to a case the actor sees, recorded as `action` on the timeline; what the
/// comment does to the case's status and who is mailed is the domain's `after_comment`.
pub async fn add_comment(
    state: &AppState,
    actor: &Actor,
    id: CaseId,
    text: &CommentBody,
    key: Option<&Idempotency>,
    action: &'static str,
) -> Result<Outcome, ApiError> {
    let now = state.clock.now();
    let party = actor.viewer().party();
    create_once::<Transaction, _>(
        state,
        actor,
        key,
        now,
        async |tx| locked_case(tx, actor.viewer(), id).await,
        async |tx, seen| {
            // The comment's time is taken once the case is locked: a breach recorded while
            // this waited is before a first reply, never after it.
            let now = state.clock.now();
            let lifecycle = &seen.case.lifecycle;
            lifecycle.check_comment(party)?;
            check_no_personal_data(
                [("body".to_owned(), text.as_str())],
                &participants(&seen.case.creator_email, &seen.case.subscriber_emails)
                    .with(&actor.email),
            )?;
            let comment = CommentRecord {
                id: CommentId::generate(),
                case_id: id,
                body: text.as_str().to_owned(),
                author_user_id: Some(actor.user_id),
                author_email: actor.email.to_string(),
                author_domain_id: Some(actor.domain_id),
                author_party: party,
                create_time: from_micros(to_micros(now)),
            };
            comments::insert_comment(tx, &comment).await?;
            let after = lifecycle.after_comment(party);
            let status_change = after
                .lifecycle
                .as_ref()
                .map(|next| json!({"from": lifecycle.status.as_str(), "to": next.status.as_str()}));
            let mut changes = CaseChanges {
                lifecycle: after.lifecycle,
                ..CaseChanges::default()
            };
            // Support's first reply is the case's first response, and stops its target.
            if party == Party::Support && seen.case.first_responded_time.is_none() {
                changes.first_responded_time = Some(comment.create_time);
                service_level::stop(&mut changes, &seen.case, comment.create_time);
            }
            cases::update_case(tx, id, seen.case.version, &changes, now).await?;
            record_event(
                tx,
                &actor.audit(),
                &seen.case,
                action,
                json!({"comment_id": comment.id.to_string(), "status": status_change}),
                now,
            )
            .await?;
            if let Some(notice) = &after.notice {
                let updated = cases::find_case(tx, id)
                    .await?
                    .ok_or_else(ApiError::not_found)?;
                mail::notify(tx, &updated, notice, Some(&comment.body), now).await?;
            }
            let view = Comment::of(&comment, Some(actor.domain.to_string()));
            Ok(
                Created::new(format!("/v1/cases/{id}/comments/{}", comment.id), &view)?
                    .with_mail(after.notice.is_some()),
            )
        },
    )
    .await
}

/// A page of the comments of a case the viewer sees, oldest first; 404 for any other case.
pub async fn comments(
    state: &AppState,
    viewer: Viewer,
    id: CaseId,
    paged: &impl Paged,
) -> Result<Page<Comment>, ApiError> {
    let db = state.db.reader();
    let fetch = async |after, limit| Ok(comments::list_comments(db, id, after, limit).await?);
    contributions(state, viewer, id, "comments", paged, fetch, Comment::of).await
}

/// One comment of a case the viewer sees; 404 for any other.
pub async fn comment(
    state: &AppState,
    viewer: Viewer,
    case: CaseId,
    id: CommentId,
) -> Result<Comment, ApiError> {
    seen_case(&state.db.reads(), viewer, case).await?;
    let db = state.db.reader();
    let comment = comments::find_comment(db, case, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let names = domain_names(db, comment.author_domain_id).await?;
    let domain = comment
        .author_domain_id
        .and_then(|d| names.get(&d).cloned());
    Ok(Comment::of(&comment, domain))
}
