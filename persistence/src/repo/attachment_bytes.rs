//! Attachment bytes kept in the database: chunks of at most [`CHUNK`] bytes under the
//! attachment's storage key, written in one transaction and read back one chunk at a time.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use crate::PersistenceError;
use crate::entities::attachment_chunks;

/// The largest chunk: small enough that a download holds one at a time, large enough that a
/// 50 MiB file is 200 rows.
pub const CHUNK: usize = 256 * 1024;

/// Writes chunk `seq` of the bytes under `key`.
pub async fn write_chunk(
    conn: &impl ConnectionTrait,
    key: &str,
    seq: i32,
    data: Vec<u8>,
) -> Result<(), PersistenceError> {
    attachment_chunks::Entity::insert(attachment_chunks::ActiveModel {
        storage_key: Set(key.to_owned()),
        seq: Set(seq),
        data: Set(data),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Chunk `seq` of the bytes under `key`; `None` past the last one.
pub async fn read_chunk(
    conn: &impl ConnectionTrait,
    key: &str,
    seq: i32,
) -> Result<Option<Vec<u8>>, PersistenceError> {
    Ok(attachment_chunks::Entity::find()
        .select_only()
        .column(attachment_chunks::Column::Data)
        .filter(attachment_chunks::Column::StorageKey.eq(key))
        .filter(attachment_chunks::Column::Seq.eq(seq))
        .into_tuple::<Vec<u8>>()
        .one(conn)
        .await?)
}

/// Whether anything is stored under `key`.
pub async fn exists(conn: &impl ConnectionTrait, key: &str) -> Result<bool, PersistenceError> {
    Ok(attachment_chunks::Entity::find()
        .filter(attachment_chunks::Column::StorageKey.eq(key))
        .count(conn)
        .await?
        > 0)
}

/// Removes the bytes under `key`.
pub async fn delete(conn: &impl ConnectionTrait, key: &str) -> Result<(), PersistenceError> {
    attachment_chunks::Entity::delete_many()
        .filter(attachment_chunks::Column::StorageKey.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}
