//! Attachment storage behind a small trait: the local file system under the data directory is
//! the embedded default. Uploads are streamed to a staging file first and moved into place
//! only once complete and recorded in the database.

use std::fmt;
use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;

/// Where attachments' bytes live.
pub trait AttachmentStore: Send + Sync + fmt::Debug {
    /// A new staging file's path, on the same file system as the store (so that committing is
    /// a rename).
    fn staging_path(&self) -> PathBuf;

    /// Moves a complete staged file into place under `key`.
    fn commit<'a>(&'a self, staged: &'a Path, key: &'a str) -> BoxFuture<'a, std::io::Result<()>>;

    /// Opens the bytes under `key` for reading.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<tokio::fs::File>>;

    /// Removes the bytes under `key`; removing what is not there is not an error.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<()>>;
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
        std::fs::create_dir_all(root.join(".staging"))?;
        Ok(Self { root })
    }

    /// The path of a key; keys are `<uuid>/<uuid>`, never anything that climbs out.
    fn path_of(&self, key: &str) -> std::io::Result<PathBuf> {
        let ok = !key.is_empty()
            && key.split('/').count() == 2
            && key
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/');
        if ok {
            Ok(self.root.join(key))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a storage key: {key}"),
            ))
        }
    }
}

impl AttachmentStore for LocalFileStore {
    fn staging_path(&self) -> PathBuf {
        self.root
            .join(".staging")
            .join(format!("{}.part", uuid::Uuid::now_v7()))
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

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<tokio::fs::File>> {
        Box::pin(async move { tokio::fs::File::open(self.path_of(key)?).await })
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
