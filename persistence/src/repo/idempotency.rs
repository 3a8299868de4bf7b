//! Idempotency keys: the response of a creating request, kept for a day so that a retry with
//! the same key and body gets it again.

use casebridge_domain::UserId;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use time::{Duration, OffsetDateTime};

use super::to_micros;
use crate::PersistenceError;
use crate::entities::idempotency_keys;
use crate::read::{Reads, Writes};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: String,
    /// Headers that matter (`Location`, `ETag`).
    pub headers: Vec<(String, String)>,
}

/// The request hash and response first recorded under a key, if it is still remembered.
pub async fn find(
    conn: &impl Reads,
    user: UserId,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<(String, StoredResponse)>, PersistenceError> {
    let select = idempotency_keys::Entity::find_by_id((user.as_uuid(), key.to_owned()))
        .build(conn.backend());
    let Some(row) = conn.rows::<KeptRow>(select).await?.into_iter().next() else {
        return Ok(None);
    };
    if row.create_time < to_micros(now - RETENTION) {
        return Ok(None);
    }
    let headers: Vec<(String, String)> =
        serde_json::from_str(&row.response_headers).unwrap_or_default();
    Ok(Some((
        row.request_hash,
        StoredResponse {
            status: u16::try_from(row.response_status).unwrap_or(200),
            body: row.response_body,
            headers,
        },
    )))
}

crate::read_row! {
    /// What a key keeps.
    struct KeptRow {
        request_hash: String,
        response_status: i16,
        response_body: String,
        response_headers: String,
        create_time: i64,
    }
}

/// Records the response under the key, in the transaction that made it; `Conflict` when a
/// concurrent request with the same key won.
pub async fn store(
    conn: &impl Writes,
    user: UserId,
    key: &str,
    request_hash: &str,
    response: &StoredResponse,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    // Forget expired keys on the way, including an expired one with this very key.
    let backend = conn.backend();
    let forget = idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::CreateTime.lt(to_micros(now - RETENTION)))
        .build(backend);
    conn.run(forget).await?;
    let insert = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
        user_id: Set(user.as_uuid()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        response_status: Set(i16::try_from(response.status).unwrap_or(200)),
        response_body: Set(response.body.clone()),
        response_headers: Set(serde_json::to_string(&response.headers).unwrap_or_default()),
        create_time: Set(to_micros(now)),
    })
    .build(backend);
    conn.run(insert).await?;
    Ok(())
}
