//! Files attached to cases: streamed uploads with a size limit, downloads, and removal by
//! support only.

use std::path::PathBuf;

use actix_multipart::{Multipart, MultipartError};
use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use casebridge_domain::{AttachmentId, CaseId, Party, Viewer};
use casebridge_persistence::repo::attachments::{self, AttachmentRecord};
use casebridge_persistence::repo::cases::{self, CaseChanges};
use casebridge_persistence::repo::idempotency::StoredResponse;
use casebridge_persistence::repo::{from_micros, identity, to_micros};
use casebridge_persistence::{Connection, PersistenceError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Actor;
use crate::auth::actor::Authorized;
use crate::auth::actor::capability::{SupportCases, WorkCases};
use crate::conditions::Idempotency;
use crate::extract::{ApiQuery, path_param};
use crate::pagination::page_size;
use crate::problem::{ApiError, ErrorCode, FieldIssue, Problem};
use crate::retry::retrying;
use crate::routes::cases::{CasePath, case_id, locked_case, record_event, seen_case, visible_case};
use crate::state::AppState;
use crate::storage::AttachmentStore;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_attachment)
        .service(list_attachments)
        .service(get_attachment)
        .service(download_attachment)
        .service(delete_attachment)
        .service(remove_attachment);
}

/// Who uploaded an attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Uploader {
    /// The user's id.
    pub user_id: Option<String>,
    /// Their email.
    pub email: String,
    /// Their domain.
    pub domain: Option<String>,
    /// `partner`, `customer` or `support`.
    pub party: String,
}

/// A file attached to a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    /// Id.
    pub id: String,
    /// The file's name, made safe.
    pub filename: String,
    /// The content type, as read from the bytes.
    #[schema(example = "image/png")]
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Who uploaded it.
    pub uploader: Uploader,
    /// When.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
}

fn party_name(p: Party) -> &'static str {
    match p {
        Party::Partner => "partner",
        Party::Customer => "customer",
        Party::Support => "support",
    }
}

fn view(a: &AttachmentRecord, domain: Option<String>) -> Attachment {
    Attachment {
        id: a.id.to_string(),
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        size_bytes: a.size_bytes,
        sha256: a.sha256.clone(),
        uploader: Uploader {
            user_id: a.uploader_user_id.map(|u| u.to_string()),
            email: a.uploader_email.clone(),
            domain,
            party: party_name(a.uploader_party).to_owned(),
        },
        create_time: a.create_time,
    }
}

/// The upload form: one part, named `file`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A staged upload, removed again unless it is committed.
struct Staged {
    path: PathBuf,
    armed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file received in full.
struct Received {
    staged: Staged,
    filename: String,
    size: u64,
    sha256: String,
    head: Vec<u8>,
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the file as multipart/form-data with a part named file.",
        ),
        other => ApiError::new(
            ErrorCode::BadRequest,
            format!("The multipart body could not be read: {other}."),
        ),
    }
}

/// A part other than the one `file`: refused, as unknown JSON fields are.
fn unexpected_part(name: Option<&str>) -> ApiError {
    let (field, code, message) = match name {
        Some("file") => ("file", "duplicate", "send one part named file"),
        Some(name) => (name, "unknown_field", "the form takes one part, named file"),
        None => ("file", "unnamed_part", "every part needs a name"),
    };
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("The form has an unexpected part: {message}."),
    )
    .with_errors(vec![FieldIssue {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }])
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AttachmentTooLarge,
        format!("Attachments are limited to {limit} bytes."),
    )
}

/// A file name that is safe to store and to send back in `Content-Disposition`.
fn safe_filename(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned = sanitize_filename::sanitize(base);
    // Format characters are dropped rather than refused: a file name is the uploader's
    // computer's, not typed for us, and `invoice\u{202E}gpj.exe` must not display as
    // `invoiceexe.jpg` to whoever downloads it.
    let cleaned: String = cleaned
        .chars()
        .filter(|c| !c.is_control() && !casebridge_domain::is_format_control(*c))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// The content type of the bytes: their signature when they have one, else text when they
/// read as text, else octet-stream. The client's claim is not trusted.
fn sniff(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let text = !head.contains(&0)
        && (std::str::from_utf8(head).is_ok()
            || std::str::from_utf8(&head[..head.len().saturating_sub(3)]).is_ok());
    if text && !head.is_empty() {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Streams the `file` part to a staging file, hashing and counting, refusing it as soon as it
/// passes the limit.
async fn receive(
    store: &dyn AttachmentStore,
    limit: u64,
    mut payload: Multipart,
) -> Result<Received, ApiError> {
    let mut received: Option<Received> = None;
    while let Some(field) = payload.next().await {
        let field = field.map_err(multipart_error)?;
        let mut field = match (field.name(), &received) {
            (Some("file"), None) => field,
            (name, _) => return Err(unexpected_part(name)),
        };
        let filename = safe_filename(field.content_disposition().and_then(|cd| cd.get_filename()));
        let staged = Staged {
            path: store.staging_path(),
            armed: true,
        };
        let mut file = tokio::fs::File::create(&staged.path)
            .await
            .map_err(ApiError::internal)?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large(limit));
            }
            if head.len() < 8192 {
                let take = (8192 - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        file.sync_all().await.map_err(ApiError::internal)?;
        received = Some(Received {
            staged,
            filename,
            size,
            sha256: hex::encode(hasher.finalize()),
            head,
        });
    }
    received.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "The form has no part named file.",
        )
        .with_errors(vec![FieldIssue {
            field: "file".to_owned(),
            code: "required".to_owned(),
            message: "send the file as the part named file".to_owned(),
        }])
    })
}

/// Attaches a file to a case (`multipart/form-data`, part `file`). The upload is streamed;
/// past the size limit it is refused with 413 and nothing is kept. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ("Idempotency-Key" = Option<crate::wire::text::IdempotencyKey>, Header, nullable = false, description = "Repeat a request safely: a retry with the same key and file returns the original response")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Attached.", body = Attachment, headers(("Location" = String, description = "The attachment's URL"))),
        (status = 400, description = "The multipart body is malformed (`bad_request`), or a header is invalid (`invalid_header`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed (`case_closed`), holds as many attachments as it may (`attachment_limit_reached`), the idempotency key was used with another request (`idempotency_key_reused`), or a request with it is still being processed (`idempotency_key_in_use`, with `Retry-After`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over the size limit (`attachment_too_large`).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not multipart/form-data (`unsupported_media_type`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "There is no part named file (`invalid_request`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/cases/{case_id}/attachments")]
async fn upload_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let limit = state.attachments.max_bytes;
    // Refuse what cannot fit before reading a byte of it; the form's own overhead is small.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(too_large(limit));
    }
    let party = actor.viewer().party();
    {
        let db = state.db.reader();
        let seen = visible_case(db, actor.viewer(), id).await?;
        seen.case.lifecycle.check_add_attachment(party)?;
        let count = attachments::count_attachments(db, id).await?;
        seen.case
            .lifecycle
            .check_attachment_room(count, state.attachments.per_case)?;
    }
    let mut received = receive(state.store.as_ref(), limit, payload).await?;
    let fingerprint = format!("{}\n{}", received.filename, received.sha256);
    let idempotency = Idempotency::from_request(&req, fingerprint.as_bytes())?;
    let now = from_micros(to_micros(state.clock.now()));
    let record = AttachmentRecord {
        id: AttachmentId::generate(),
        case_id: id,
        filename: received.filename.clone(),
        content_type: sniff(&received.head),
        size_bytes: i64::try_from(received.size).unwrap_or(i64::MAX),
        sha256: received.sha256.clone(),
        storage_key: String::new(),
        uploader_user_id: Some(actor.user_id),
        uploader_email: actor.email.to_string(),
        uploader_domain_id: Some(actor.domain_id),
        uploader_party: party,
        create_time: now,
    };
    let record = AttachmentRecord {
        storage_key: format!("{id}/{}", record.id),
        ..record
    };
    // The complete bytes go into the store first, under a key nothing refers to yet; the
    // record that refers to them commits after, and if it does not (a refusal, a replay, an
    // error), the bytes are removed again.
    state
        .store
        .commit(&received.staged.path, &record.storage_key)
        .await
        .map_err(ApiError::internal)?;
    received.staged.armed = false;
    let (state, actor, idempotency, record) = (&state, &actor, &idempotency, &record);
    let outcome = retrying(|| async move {
        let tx = state.db.begin().await?;
        if let Some(key) = idempotency {
            key.hold(&tx, actor).await?;
        }
        let seen = locked_case(&tx, actor.viewer(), id).await?;
        if let Some(key) = idempotency
            && let Some(replay) = key.stored(&tx, actor, now).await?
        {
            return Ok((replay, false));
        }
        seen.case.lifecycle.check_add_attachment(party)?;
        let count = attachments::count_attachments(&tx, id).await?;
        seen.case
            .lifecycle
            .check_attachment_room(count, state.attachments.per_case)?;
        attachments::insert_attachment(&tx, record).await?;
        cases::update_case(&tx, id, seen.case.version, &CaseChanges::default(), now).await?;
        record_event(
            &tx,
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
        let location = format!("/v1/cases/{id}/attachments/{}", record.id);
        let body = serde_json::to_string(&view(record, Some(actor.domain.to_string())))
            .map_err(ApiError::internal)?;
        if let Some(key) = idempotency {
            let stored = StoredResponse {
                status: 201,
                body: body.clone(),
                headers: vec![("location".to_owned(), location.clone())],
            };
            key.store(&tx, actor, &stored, now).await?;
        }
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok((
            HttpResponse::Created()
                .insert_header((header::LOCATION, location))
                .content_type("application/json")
                .body(body),
            true,
        ))
    })
    .await;
    match outcome {
        Ok((response, true)) => Ok(response),
        other => {
            if let Err(e) = state.store.remove(&record.storage_key).await {
                tracing::warn!(error = %e, key = %record.storage_key, "unreferenced attachment bytes not removed");
            }
            other.map(|(response, _)| response)
        }
    }
}

/// Query of a case's attachments.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAttachmentsQuery {
    /// Page size: default 25, at most 100.
    #[param(minimum = 0)]
    pub page_size: Option<i64>,
    /// The `next_page_token` of the previous page.
    #[param(value_type = Option<crate::wire::text::PageToken>)]
    pub page_token: Option<String>,
}

/// A page of attachments.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListAttachmentsResponse {
    /// Oldest first.
    pub attachments: Vec<Attachment>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many attachments the case has.
    pub total_size: u64,
}

/// Lists a case's attachments.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CasePath, ListAttachmentsQuery),
    responses(
        (status = 200, description = "A page of attachments.", body = ListAttachmentsResponse),
        (status = 400, description = "A parameter or the page token is invalid (`invalid_query_parameter`, `invalid_page_token`, `invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/attachments")]
async fn list_attachments(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListAttachmentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = case_id(&path)?;
    let db = state.db.reader();
    seen_case(db, actor.viewer(), id).await?;
    let size = page_size(query.page_size)?;
    let scope = format!("case-attachments|{id}");
    let after: Option<(i64, uuid::Uuid)> = query
        .page_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| state.pages.decode(&scope, t))
        .transpose()?;
    let mut page = attachments::list_attachments(db, id, after, size + 1).await?;
    let total_size = attachments::count_attachments(db, id).await?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|a| {
                state
                    .pages
                    .encode(&scope, &(to_micros(a.create_time), a.id.as_uuid()))
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let mut out = Vec::with_capacity(page.len());
    for a in &page {
        let domain = match a.uploader_domain_id {
            Some(d) => identity::find_domain(db, d)
                .await?
                .map(|d| d.name.to_string()),
            None => None,
        };
        out.push(view(a, domain));
    }
    Ok(HttpResponse::Ok().json(ListAttachmentsResponse {
        attachments: out,
        next_page_token,
        total_size,
    }))
}

/// A case and one of its attachments in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttachmentPath {
    /// The case's id.
    #[param(value_type = crate::wire::text::Id)]
    pub case_id: String,
    /// The attachment's id.
    #[param(value_type = crate::wire::text::Id)]
    pub attachment_id: String,
}

fn ids(path: &AttachmentPath) -> Result<(CaseId, AttachmentId), ApiError> {
    Ok((
        path_param("case_id", &path.case_id)?,
        path_param("attachment_id", &path.attachment_id)?,
    ))
}

/// The attachment in the path, if the viewer sees its case (404 otherwise, alike for a case
/// not seen and an attachment not there).
async fn seen_attachment(
    db: &impl Connection,
    viewer: Viewer,
    path: &AttachmentPath,
) -> Result<AttachmentRecord, ApiError> {
    let (case, attachment) = ids(path)?;
    seen_case(db, viewer, case).await?;
    attachments::find_attachment(db, case, attachment)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Reads an attachment's description (name, type, size, hash, uploader).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(AttachmentPath),
    responses(
        (status = 200, description = "The attachment.", body = Attachment),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or attachment that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/attachments/{attachment_id}")]
async fn get_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.reader();
    let a = seen_attachment(db, actor.viewer(), &path).await?;
    let domain = match a.uploader_domain_id {
        Some(d) => identity::find_domain(db, d)
            .await?
            .map(|d| d.name.to_string()),
        None => None,
    };
    Ok(HttpResponse::Ok().json(view(&a, domain)))
}

/// Downloads an attachment's bytes, as an attachment (never rendered in place): always
/// `application/octet-stream`, whatever the bytes are; the type found in them at upload is the
/// attachment's `content_type`.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(AttachmentPath),
    responses(
        (status = 200, description = "The bytes.", content_type = "application/octet-stream", body = crate::wire::text::Bytes, headers(
            ("Content-Disposition" = String, description = "attachment; filename=…"),
            ("Content-Length" = i64, description = "Size in bytes"),
        )),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or attachment that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cases/{case_id}/attachments/{attachment_id}/content")]
async fn download_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let db = state.db.reader();
    let a = seen_attachment(db, actor.viewer(), &path).await?;
    // Removed by support between the record's read and this open: gone, not broken.
    let bytes = state.store.open(&a.storage_key).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ApiError::not_found()
        } else {
            ApiError::internal(e)
        }
    })?;
    let size = u64::try_from(a.size_bytes).unwrap_or(0);
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(
                a.filename
                    .chars()
                    .map(|c| if c.is_ascii() && c != '"' { c } else { '_' })
                    .collect(),
            ),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: a.filename.as_bytes().to_vec(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(SizedStream::new(
            size,
            bytes.map(|chunk| chunk.map_err(actix_web::Error::from)),
        )))
}

/// Removes an attachment: support only, and the removal is in the case's timeline.
async fn remove(
    state: &AppState,
    actor: &Actor,
    path: &AttachmentPath,
) -> Result<HttpResponse, ApiError> {
    let (case, attachment) = ids(path)?;
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
    Ok(HttpResponse::NoContent().finish())
}

/// Partners and customers cannot remove attachments; ask support to.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(AttachmentPath),
    responses(
        (status = 204, description = "Removed (support only)."),
        (status = 403, description = "Only support removes attachments (`attachment_removal_requires_support`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or attachment that you can see (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/cases/{case_id}/attachments/{attachment_id}")]
async fn delete_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    remove(&state, &actor, &path).await
}

/// Removes an attachment on request; recorded in the case's timeline.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    params(AttachmentPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "Provider users holding `support`, e.g. through the built-in `support_agent` role, only (`wrong_realm`, `portal_access_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or attachment (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/provider/cases/{case_id}/attachments/{attachment_id}")]
async fn remove_attachment(
    state: web::Data<AppState>,
    actor: Authorized<SupportCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    remove(&state, &actor, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_dangerous_characters() {
        assert_eq!(safe_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(
            safe_filename(Some("C:\\Users\\x\\report.pdf")),
            "report.pdf"
        );
        assert_eq!(safe_filename(Some("a<b>c:d\"e|f?g*.txt")), "abcdefg.txt");
        assert_eq!(safe_filename(Some(".hidden")), "hidden");
        assert_eq!(
            safe_filename(Some("invoice\u{202E}gpj.exe")),
            "invoicegpj.exe"
        );
        assert_eq!(
            safe_filename(Some("\u{2066}re\u{200B}port\u{FEFF}.pdf\u{2069}")),
            "report.pdf"
        );
        assert_eq!(safe_filename(Some("")), "attachment");
        assert_eq!(safe_filename(None), "attachment");
        assert_eq!(
            safe_filename(Some("überblick résumé.png")),
            "überblick résumé.png"
        );
    }

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff("plain text, ünïcode".as_bytes()), "text/plain");
        assert_eq!(sniff(&[0, 1, 2, 3, 255]), "application/octet-stream");
    }
}
