//! Attaching a file to a case, once its bytes are in the attachment store.

use std::path::Path;

use casebridge_domain::{AttachmentId, CaseId, Viewer};
use casebridge_persistence::repo::attachments::{self, AttachmentRecord};
use casebridge_persistence::repo::cases::{self, CaseChanges};
use casebridge_persistence::repo::{from_micros, to_micros};
use casebridge_persistence::{Connection, PersistenceError, Transaction};
use serde_json::json;

use crate::auth::Actor;
use crate::cases::change::record_event;
use crate::cases::load::{contributions, domain_names, locked_case, seen_case, visible_case};
use crate::cases::once::{Created, Outcome, create_once};
use crate::conditions::Idempotency;
use crate::pagination::{Page, Paged};
use crate::problem::ApiError;
use crate::retry::retrying;
use crate::state::AppState;
use crate::wire::cases::Attachment;

/// Checks, before a byte of the upload is read, that the case takes one more file; the same
/// rule is decided again in the transaction that records it.
pub async fn check_room(state: &AppState, actor: &Actor, id: CaseId) -> Result<(), ApiError> {
    let db = state.db.reader();
    let seen = visible_case(db, actor.viewer(), id).await?;
    seen.case
        .lifecycle
        .check_add_attachment(actor.viewer().party())?;
    let count = attachments::count_attachments(db, id).await?;
    seen.case
        .lifecycle
        .check_attachment_room(count, state.attachments.per_case)?;
    Ok(())
}

/// Records an attachment whose bytes the store already holds under `record.storage_key`.
async fn record_attachment(
    state: &AppState,
    actor: &Actor,
    record: &AttachmentRecord,
    key: Option<&Idempotency>,
) -> Result<Outcome, ApiError> {
    let id = record.case_id;
    let now = record.create_time;
    let party = actor.viewer().party();
    create_once::<Transaction, _>(
        state,
        actor,
        key,
        now,
        async |tx| locked_case(tx, actor.viewer(), id).await,
        async |tx, seen| {
            seen.case.lifecycle.check_add_attachment(party)?;
            let count = attachments::count_attachments(tx, id).await?;
            seen.case
                .lifecycle
                .check_attachment_room(count, state.attachments.per_case)?;
            attachments::insert_attachment(tx, record).await?;
            cases::update_case(tx, id, seen.case.version, &CaseChanges::default(), now).await?;
            record_event(
                tx,
                &actor.audit(),
                &seen.case,
                "case.attachment_added",
                json!({
                    "attachment_id": record.id.to_string(),
                    "filename": record.filename,
                    "size_bytes": record.size_bytes,
                    "sha256": record.sha256,
                }),
                now,
            )
            .await?;
            let view = Attachment::of(record, Some(actor.domain.to_string()));
            Created::new(format!("/v1/cases/{id}/attachments/{}", record.id), &view)
        },
    )
    .await
}

/// A file received whole into the store's staging area, with what was learnt reading it.
#[derive(Debug)]
pub struct ReceivedFile<'a> {
    /// Where the bytes are staged.
    pub staged: &'a Path,
    /// The file name, made safe.
    pub filename: String,
    /// The content type found in the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Attaches a received file to a case. The complete bytes go into the store first, under a
/// key nothing refers to yet; the record that refers to them commits after, and if it does
/// not (a refusal, a replay, an error), the bytes are removed again.
pub async fn attach(
    state: &AppState,
    actor: &Actor,
    id: CaseId,
    file: ReceivedFile<'_>,
    key: Option<&Idempotency>,
) -> Result<Outcome, ApiError> {
    let attachment = AttachmentId::generate();
    let record = AttachmentRecord {
        id: attachment,
        case_id: id,
        filename: file.filename,
        content_type: file.content_type,
        size_bytes: i64::try_from(file.size).unwrap_or(i64::MAX),
        sha256: file.sha256,
        storage_key: format!("{id}/{attachment}"),
        uploader_user_id: Some(actor.user_id),
        uploader_email: actor.email.to_string(),
        uploader_domain_id: Some(actor.domain_id),
        uploader_party: actor.viewer().party(),
        create_time: from_micros(to_micros(state.clock.now())),
    };
    state
        .store
        .commit(file.staged, &record.storage_key)
        .await
        .map_err(ApiError::internal)?;
    let outcome = record_attachment(state, actor, &record, key).await;
    if !outcome.as_ref().is_ok_and(|o| o.created)
        && let Err(e) = state.store.remove(&record.storage_key).await
    {
        tracing::warn!(error = %e, key = %record.storage_key, "unreferenced attachment bytes not removed");
    }
    outcome
}

/// A page of the attachments of a case the viewer sees, oldest first.
pub async fn attachments(
    state: &AppState,
    viewer: Viewer,
    id: CaseId,
    paged: &impl Paged,
) -> Result<Page<Attachment>, ApiError> {
    let db = state.db.reader();
    let fetch = async |after, limit| {
        let rows = attachments::list_attachments(db, id, after, limit).await?;
        Ok((rows, attachments::count_attachments(db, id).await?))
    };
    contributions(
        state,
        viewer,
        id,
        "attachments",
        paged,
        fetch,
        Attachment::of,
    )
    .await
}

/// The attachment, if the viewer sees its case (404 otherwise, alike for a case not seen and
/// an attachment not there).
pub async fn seen_attachment(
    conn: &impl Connection,
    viewer: Viewer,
    case: CaseId,
    attachment: AttachmentId,
) -> Result<AttachmentRecord, ApiError> {
    seen_case(conn, viewer, case).await?;
    attachments::find_attachment(conn, case, attachment)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// An attachment's description, if the viewer sees its case.
pub async fn attachment(
    state: &AppState,
    viewer: Viewer,
    case: CaseId,
    attachment: AttachmentId,
) -> Result<Attachment, ApiError> {
    let db = state.db.reader();
    let a = seen_attachment(db, viewer, case, attachment).await?;
    let names = domain_names(db, a.uploader_domain_id).await?;
    let domain = a.uploader_domain_id.and_then(|d| names.get(&d).cloned());
    Ok(Attachment::of(&a, domain))
}

/// Removes an attachment (support only, by the rules), recorded in the case's timeline; the
/// bytes go after the record.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    case: CaseId,
    attachment: AttachmentId,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let a = retrying(|| async move {
        let tx = state.db.begin().await?;
        let seen = locked_case(&tx, actor.viewer(), case).await?;
        let a = attachments::find_attachment(&tx, case, attachment)
            .await?
            .ok_or_else(ApiError::not_found)?;
        seen.case
            .lifecycle
            .check_remove_attachment(actor.viewer().party())?;
        attachments::delete_attachment(&tx, case, attachment).await?;
        cases::update_case(&tx, case, seen.case.version, &CaseChanges::default(), now).await?;
        record_event(
            &tx,
            &actor.audit(),
            &seen.case,
            "case.attachment_removed",
            json!({"attachment_id": a.id.to_string(), "filename": a.filename, "sha256": a.sha256}),
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(a)
    })
    .await?;
    if let Err(e) = state.store.remove(&a.storage_key).await {
        // The record is gone, so nobody can reach the bytes; a sweep can reclaim the space.
        tracing::warn!(error = %e, key = %a.storage_key, "attachment bytes not removed");
    }
    Ok(())
}
