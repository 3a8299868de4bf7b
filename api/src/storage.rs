//! Attachment storage behind a small trait. Uploads are streamed to a staging file on the
//! instance first (hashed and counted there, so the size limit and the SHA-256 work the same
//! whatever the store), then committed into the store and recorded in the database.
//!
//! - [`LocalFileStore`]: files under the data directory, SQLite's embedded default.
//! - [`DatabaseStore`]: the bytes in the database itself, in chunks: PostgreSQL's default, so
//!   that every instance of a deployment reaches every attachment.
//! - [`S3Store`]: an S3-compatible object store, for deployments that keep large files out of
//!   the database.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use casebridge_persistence::repo::attachment_bytes::{self, CHUNK};
use casebridge_persistence::{Connection, Database, PersistenceError};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::io::AsyncReadExt;

/// An attachment's bytes, as they are read: chunks, never the whole file at once.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Where attachments' bytes live.
pub trait AttachmentStore: Send + Sync + fmt::Debug {
    /// A new staging file's path on this instance.
    fn staging_path(&self) -> PathBuf;

    /// Moves a complete staged file into the store under `key` (the staged file is gone after).
    fn commit<'a>(&'a self, staged: &'a Path, key: &'a str) -> BoxFuture<'a, std::io::Result<()>>;

    /// Opens the bytes under `key` for reading; `NotFound` when there are none.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<ByteStream>>;

    /// Removes the bytes under `key`; removing what is not there is not an error.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<()>>;
}

/// The staging directory of a store rooted at `root`.
fn staging_dir(root: &Path) -> PathBuf {
    root.join(".staging")
}

fn new_staging_path(root: &Path) -> PathBuf {
    staging_dir(root).join(format!("{}.part", uuid::Uuid::now_v7()))
}

/// Keys are `<uuid>/<uuid>`, never anything that climbs out of a directory.
fn checked_key(key: &str) -> std::io::Result<&str> {
    let ok = !key.is_empty()
        && key.split('/').count() == 2
        && key
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/');
    if ok {
        Ok(key)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a storage key: {key}"),
        ))
    }
}

/// Attachments as files under a directory: `<root>/<case id>/<attachment id>`.
#[derive(Debug, Clone)]
pub struct LocalFileStore {
    root: PathBuf,
}

impl LocalFileStore {
    /// A store under `root`, creating it and its staging directory.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(staging_dir(&root))?;
        Ok(Self { root })
    }

    fn path_of(&self, key: &str) -> std::io::Result<PathBuf> {
        Ok(self.root.join(checked_key(key)?))
    }
}

impl AttachmentStore for LocalFileStore {
    fn staging_path(&self) -> PathBuf {
        new_staging_path(&self.root)
    }

    fn commit<'a>(&'a self, staged: &'a Path, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            let target = self.path_of(key)?;
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::rename(staged, target).await
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<ByteStream>> {
        Box::pin(async move {
            let file = tokio::fs::File::open(self.path_of(key)?).await?;
            Ok(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed())
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path_of(key)?).await {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
    }
}

/// Writes bytes as they come into chunks of [`CHUNK`] under one key, in the caller's
/// transaction.
#[derive(Debug)]
pub struct ChunkWriter {
    key: String,
    seq: i32,
    pending: Vec<u8>,
}

impl ChunkWriter {
    /// A writer for `key`.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            seq: 0,
            pending: Vec::with_capacity(CHUNK),
        }
    }

    /// Adds bytes, writing every chunk that fills up.
    pub async fn push(
        &mut self,
        conn: &impl Connection,
        mut bytes: &[u8],
    ) -> Result<(), PersistenceError> {
        while !bytes.is_empty() {
            let room = CHUNK - self.pending.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
            if self.pending.len() == CHUNK {
                self.flush(conn).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &impl Connection) -> Result<(), PersistenceError> {
        let data = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        attachment_bytes::write_chunk(conn, &self.key, self.seq, data).await?;
        self.seq += 1;
        Ok(())
    }

    /// Writes what is left; an empty file is one empty chunk, so that it exists.
    pub async fn finish(mut self, conn: &impl Connection) -> Result<(), PersistenceError> {
        if !self.pending.is_empty() || self.seq == 0 {
            self.flush(conn).await?;
        }
        Ok(())
    }
}

/// Attachments in the database, in chunks (`attachment_chunks`), reached by every instance.
#[derive(Debug, Clone)]
pub struct DatabaseStore {
    db: Database,
    root: PathBuf,
}

impl DatabaseStore {
    /// A store in `db`, staging uploads under `root` on this instance.
    pub fn new(db: Database, root: PathBuf) -> Self {
        Self { db, root }
    }

    /// Prepares the staging directory.
    pub fn prepare(self) -> std::io::Result<Self> {
        std::fs::create_dir_all(staging_dir(&self.root))?;
        Ok(self)
    }
}

fn io_error(e: PersistenceError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl AttachmentStore for DatabaseStore {
    fn staging_path(&self) -> PathBuf {
        new_staging_path(&self.root)
    }

    fn commit<'a>(&'a self, staged: &'a Path, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            checked_key(key)?;
            let mut file = tokio::fs::File::open(staged).await?;
            // One transaction: a failure half-way leaves no chunk behind.
            let tx = self.db.begin().await.map_err(io_error)?;
            let mut writer = ChunkWriter::new(key);
            let mut buffer = vec![0u8; CHUNK];
            loop {
                let n = file.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                writer.push(&tx, &buffer[..n]).await.map_err(io_error)?;
            }
            writer.finish(&tx).await.map_err(io_error)?;
            tx.commit().await.map_err(|e| io_error(e.into()))?;
            drop(file);
            tokio::fs::remove_file(staged).await
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<ByteStream>> {
        Box::pin(async move {
            let key = checked_key(key)?.to_owned();
            let first = attachment_bytes::read_chunk(self.db.reader(), &key, 0)
                .await
                .map_err(io_error)?
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("no bytes for {key}"))
                })?;
            let db = self.db.clone();
            // The first chunk is in hand; each further one is read when the client is ready.
            let rest = stream::try_unfold(1_i32, move |seq| {
                let (db, key) = (db.clone(), key.clone());
                async move {
                    let chunk = attachment_bytes::read_chunk(db.reader(), &key, seq)
                        .await
                        .map_err(io_error)?;
                    Ok::<_, std::io::Error>(chunk.map(|c| (Bytes::from(c), seq + 1)))
                }
            });
            Ok(stream::once(async move { Ok(Bytes::from(first)) })
                .chain(rest)
                .boxed())
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            attachment_bytes::delete(self.db.writer(), checked_key(key)?)
                .await
                .map_err(io_error)
        })
    }
}

/// Attachments in an S3-compatible object store (`s3://bucket/prefix`), through the
/// `object_store` crate: for deployments that keep large files out of the database. Uploads
/// go up as multipart uploads of the staged file; downloads stream the object's body.
#[derive(Debug, Clone)]
pub struct S3Store {
    store: std::sync::Arc<object_store::aws::AmazonS3>,
    prefix: String,
    root: PathBuf,
}

/// Parts of a multipart upload (S3 wants at least 5 MiB but for the last).
const S3_PART: usize = 8 * 1024 * 1024;

impl S3Store {
    /// A store for `s3://bucket[/prefix]`, configured by the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT` for
    /// an S3-compatible server, `AWS_ALLOW_HTTP`), staging uploads under `root`.
    pub fn from_url(url: &str, root: PathBuf) -> std::io::Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an s3:// URL")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the s3:// URL names no bucket",
            ));
        }
        // TLS (for https endpoints) through rustls with ring, the provider the service builds.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(std::io::Error::other)?;
        std::fs::create_dir_all(staging_dir(&root))?;
        Ok(Self {
            store: std::sync::Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
            root,
        })
    }

    fn location(&self, key: &str) -> std::io::Result<object_store::path::Path> {
        let key = checked_key(key)?;
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        object_store::path::Path::parse(full).map_err(std::io::Error::other)
    }
}

impl AttachmentStore for S3Store {
    fn staging_path(&self) -> PathBuf {
        new_staging_path(&self.root)
    }

    fn commit<'a>(&'a self, staged: &'a Path, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            let location = self.location(key)?;
            let mut file = tokio::fs::File::open(staged).await?;
            let upload = self
                .store
                .put_multipart(&location)
                .await
                .map_err(std::io::Error::other)?;
            let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, S3_PART);
            let mut buffer = vec![0u8; 1024 * 1024];
            let sent = async {
                loop {
                    let n = file.read(&mut buffer).await?;
                    if n == 0 {
                        break;
                    }
                    writer
                        .wait_for_capacity(4)
                        .await
                        .map_err(std::io::Error::other)?;
                    writer.write(&buffer[..n]);
                }
                Ok::<_, std::io::Error>(())
            }
            .await;
            match sent {
                Ok(()) => {
                    writer.finish().await.map_err(std::io::Error::other)?;
                }
                Err(e) => {
                    // Parts already up are dropped with the upload: nothing is left behind.
                    let _ = writer.abort().await;
                    return Err(e);
                }
            }
            drop(file);
            tokio::fs::remove_file(staged).await
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<ByteStream>> {
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            let got = self
                .store
                .get(&self.location(key)?)
                .await
                .map_err(std::io::Error::from)?;
            Ok(got
                .into_stream()
                .map(|chunk| chunk.map_err(std::io::Error::from))
                .boxed())
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            match self.store.delete(&self.location(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(std::io::Error::other(e)),
            }
        })
    }
}

/// The store of a deployment: as configured, else its backend's default (the data directory on
/// SQLite, the database on PostgreSQL), staging under `root`.
pub fn for_deployment(
    choice: &crate::settings::AttachmentStoreChoice,
    db: &Database,
    root: PathBuf,
) -> std::io::Result<std::sync::Arc<dyn AttachmentStore>> {
    use crate::settings::AttachmentStoreKind;
    Ok(match choice.resolve(db.backend()) {
        AttachmentStoreKind::Local => std::sync::Arc::new(LocalFileStore::new(root)?),
        AttachmentStoreKind::Database => {
            std::sync::Arc::new(DatabaseStore::new(db.clone(), root).prepare()?)
        }
        AttachmentStoreKind::S3(url) => std::sync::Arc::new(S3Store::from_url(&url, root)?),
    })
}

/// Removes staging files older than `age` left behind by uploads that never finished (a crash
/// mid-upload); returns how many.
pub fn sweep_staging(root: &Path, age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(staging_dir(root)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|elapsed| elapsed > age)
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_climb_out_of_the_store() {
        let store = LocalFileStore {
            root: PathBuf::from("/data/attachments"),
        };
        assert!(store.path_of("0193-ab/0193-cd").is_ok());
        for bad in ["../etc/passwd", "a/b/c", "", "/abs/x", "a/..", "x y/z"] {
            assert!(store.path_of(bad).is_err(), "{bad}");
        }
    }
}
