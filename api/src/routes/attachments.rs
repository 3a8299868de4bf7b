//! Files attached to cases: streamed uploads with a size limit, downloads, and removal by
//! support only.

use std::path::PathBuf;

use actix_multipart::{Multipart, MultipartError};
use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use casebridge_domain::{AttachmentId, CaseId};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::{SupportCases, WorkCases};
use crate::cases::{self, ReceivedFile};
use crate::conditions::Idempotency;
use crate::extract::{ApiQuery, path_param};
use crate::pagination::{list_query, list_response};
use crate::problem::{ApiError, ErrorCode, Problem};
use crate::state::AppState;
use crate::storage::AttachmentStore;
use crate::wire::cases::{Attachment, CasePath, case_id};

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_attachment)
        .service(list_attachments)
        .service(get_attachment)
        .service(download_attachment)
        .service(delete_attachment)
        .service(remove_attachment);
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

/// A staged upload, removed when the request ends (the store's commit has moved or copied
/// it by then, or the upload was refused).
struct Staged {
    path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
    ApiError::one_field(
        ErrorCode::InvalidRequest,
        format!("The form has an unexpected part: {message}."),
        field,
        code,
        message,
    )
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
        ApiError::one_field(
            ErrorCode::InvalidRequest,
            "The form has no part named file.",
            "file",
            "required",
            "send the file as the part named file",
        )
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
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
    cases::check_room(&state, &actor, id).await?;
    let received = receive(state.store.as_ref(), limit, payload).await?;
    let fingerprint = format!("{}\n{}", received.filename, received.sha256);
    let idempotency = Idempotency::from_request(&req, fingerprint.as_bytes())?;
    let file = ReceivedFile {
        staged: &received.staged.path,
        filename: received.filename.clone(),
        content_type: sniff(&received.head),
        size: received.size,
        sha256: received.sha256.clone(),
    };
    let outcome = cases::attach(&state, &actor, id, file, idempotency.as_ref()).await?;
    Ok(outcome.response)
}

list_query! {
    /// Query of a case's attachments.
    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListAttachmentsQuery {}
}

list_response! {
    /// A page of attachments.
    ListAttachmentsResponse {
        /// Oldest first.
        attachments: Attachment,
        total_size: "How many attachments the case has.",
    }
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id))]
async fn list_attachments(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<CasePath>,
    query: ApiQuery<ListAttachmentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = cases::attach::attachments(&state, actor.viewer(), case_id(&path)?, &*query).await?;
    Ok(HttpResponse::Ok().json(ListAttachmentsResponse::from(page)))
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id, attachment_id = %path.attachment_id))]
async fn get_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let (case, attachment) = ids(&path)?;
    let a = cases::attach::attachment(&state, actor.viewer(), case, attachment).await?;
    Ok(HttpResponse::Ok().json(a))
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id, attachment_id = %path.attachment_id))]
async fn download_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let (case, attachment) = ids(&path)?;
    let a =
        cases::attach::seen_attachment(state.db.reader(), actor.viewer(), case, attachment).await?;
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id, attachment_id = %path.attachment_id))]
async fn delete_attachment(
    state: web::Data<AppState>,
    actor: Authorized<WorkCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let (case, attachment) = ids(&path)?;
    cases::attach::remove(&state, &actor, case, attachment).await?;
    Ok(HttpResponse::NoContent().finish())
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
#[tracing::instrument(skip_all, fields(case_id = %path.case_id, attachment_id = %path.attachment_id))]
async fn remove_attachment(
    state: web::Data<AppState>,
    actor: Authorized<SupportCases>,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let (case, attachment) = ids(&path)?;
    cases::attach::remove(&state, &actor, case, attachment).await?;
    Ok(HttpResponse::NoContent().finish())
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
