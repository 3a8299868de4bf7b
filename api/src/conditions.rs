//! Conditional and repeatable requests: `ETag`/`If-Match` on cases, and `Idempotency-Key` on
//! creating requests.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_persistence::repo::idempotency::{self, StoredResponse};
use casebridge_persistence::repo::locks;
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::problem::{ApiError, ErrorCode};

/// The `Idempotency-Key` header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The entity tag of a case at a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Checks `If-Match` against the current entity tag: absent or `*` passes; a list passes
/// when one of its tags matches; anything else, a value that is no tag included, matches
/// nothing and fails the precondition.
pub fn check_if_match(req: &HttpRequest, current_version: i64) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(());
    };
    let Ok(value) = value.to_str() else {
        return Err(stale());
    };
    let current = etag(current_version);
    let matches = value.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag == current || tag.strip_prefix("W/") == Some(current.as_str())
    });
    if matches { Ok(()) } else { Err(stale()) }
}

/// `412 precondition_failed`.
pub fn stale() -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailed,
        "The case changed since you read it (its ETag no longer matches If-Match); read it again and retry.",
    )
}

/// A client's idempotency key with the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    request_hash: String,
}

impl Idempotency {
    /// Reads the `Idempotency-Key` header (1..=255 visible ASCII characters), fingerprinting
    /// the request by method, path and body.
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidHeader,
                    "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                )
            })?;
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str().as_bytes());
        hasher.update(b" ");
        hasher.update(req.path().as_bytes());
        hasher.update(b"\n");
        hasher.update(body);
        Ok(Some(Self {
            key: key.to_owned(),
            request_hash: URL_SAFE_NO_PAD.encode(hasher.finalize()),
        }))
    }

    /// Takes the key for the rest of the write transaction, first thing in it: a concurrent
    /// request with the same key waits until this one has committed or rolled back, then finds
    /// its stored answer. 409 `idempotency_key_in_use` when the key stays held for longer
    /// than [`KEY_WAIT`].
    pub async fn hold(
        &self,
        conn: &impl casebridge_persistence::Writes,
        actor: &Actor,
    ) -> Result<(), ApiError> {
        if locks::idempotency_key(conn, actor.user_id, &self.key, KEY_WAIT).await? {
            Ok(())
        } else {
            Err(in_use())
        }
    }

    /// The answer first given to this key, once the caller's right to act has been checked in
    /// the same transaction (a replay never outlives the access that made the original); 409
    /// `idempotency_key_reused` when the key came with another request.
    pub async fn stored(
        &self,
        conn: &impl casebridge_persistence::Writes,
        actor: &Actor,
        now: time::OffsetDateTime,
    ) -> Result<Option<HttpResponse>, ApiError> {
        let Some((hash, stored)) = idempotency::find(conn, actor.user_id, &self.key, now).await?
        else {
            return Ok(None);
        };
        if hash != self.request_hash {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used with a different request; use a new key for a new request.",
            ));
        }
        Ok(Some(replayed(&stored)))
    }

    /// Keeps the response for replay, in the transaction that made it.
    pub async fn store(
        &self,
        conn: &impl casebridge_persistence::Writes,
        actor: &Actor,
        response: &StoredResponse,
        now: time::OffsetDateTime,
    ) -> Result<(), ApiError> {
        idempotency::store(
            conn,
            actor.user_id,
            &self.key,
            &self.request_hash,
            response,
            now,
        )
        .await
        .map_err(|e| if e.is_conflict() { in_use() } else { e.into() })
    }
}

/// How long a request waits for a concurrent one with the same idempotency key to finish.
pub const KEY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `409 idempotency_key_in_use`: the first request with the key is still running.
fn in_use() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyInUse,
        "A request with this Idempotency-Key is still being processed; retry after it finishes to get its answer.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// A stored response, answered again.
pub fn replayed(stored: &StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, "application/json"));
    for (name, value) in &stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            res.insert_header((n, v));
        }
    }
    res.insert_header((HeaderName::from_static("idempotent-replayed"), "true"));
    res.body(stored.body.clone())
}
