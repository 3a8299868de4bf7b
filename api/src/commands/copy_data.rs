//! `casebridge copy-data --to URL`: moves a deployment (its database and its attachments) into
//! an empty target database, PostgreSQL or another SQLite file, with every id, number, time,
//! hash and history entry as it was; then verifies the copy.
//!
//! The target's rows are written in one transaction, so an interruption leaves it empty (or,
//! once committed, complete). Attachment bytes go to the target's default store: into that
//! same transaction when it is the database (PostgreSQL), or as files under the target's data
//! directory (SQLite) before the rows commit.

use std::path::PathBuf;

use casebridge_persistence::repo::deployment::{self, StoredAttachment};
use casebridge_persistence::repo::housekeeping;
use casebridge_persistence::{Backend, Connection, Database, PersistenceError, PoolSettings};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::storage::{AttachmentStore, ChunkWriter, DatabaseStore, LocalFileStore};

/// Attachments read at a time.
const BATCH: u64 = 200;

/// Why a copy did not happen or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source or target database failed.
    #[error(transparent)]
    Database(#[from] PersistenceError),
    /// The target already holds a deployment.
    #[error(
        "the target database is not empty ({0} domains); copy-data only writes into an empty database, and wrote nothing"
    )]
    TargetNotEmpty(u64),
    /// Attachment bytes could not be read or written.
    #[error("attachment {key}: {source}")]
    Attachment {
        /// Its storage key.
        key: String,
        /// Why.
        source: std::io::Error,
    },
    /// The target's attachment directory is the source's own: the two deployments would share
    /// (and remove each other's) files.
    #[error(
        "the target's attachment directory {0} is the source's own; give the target another with --to-data-dir"
    )]
    SameAttachmentDirectory(PathBuf),
    /// What was copied does not match what was read.
    #[error("verification failed: {0}")]
    Verification(String),
}

/// Where the copy goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target database's URL.
    pub url: String,
    /// For an SQLite target: where its attachments go (default: beside the database file).
    pub data_dir: Option<PathBuf>,
}

/// What was copied.
#[derive(Debug, Default)]
pub struct Summary {
    /// Rows per table, in copy order.
    pub tables: Vec<(&'static str, u64)>,
    /// Attachments copied and verified.
    pub attachments: u64,
    /// Their bytes.
    pub attachment_bytes: u64,
}

impl Summary {
    /// A report for the terminal.
    pub fn report(&self) -> String {
        let mut out = String::from("Copied and verified:\n");
        for (table, n) in &self.tables {
            out.push_str(&format!("  {table:<20} {n:>10}\n"));
        }
        out.push_str(&format!(
            "  {:<20} {:>10} ({} bytes, SHA-256 checked)\n",
            "attachment bytes", self.attachments, self.attachment_bytes
        ));
        out
    }
}

/// Copies the deployment `source` (with its attachment store) into `target`.
pub async fn run(
    source: &Database,
    source_store: &dyn AttachmentStore,
    source_attachments: &std::path::Path,
    target: &Target,
    show_progress: bool,
) -> Result<Summary, CopyError> {
    let progress = |what: &str, n: u64| {
        if show_progress {
            eprintln!("copy-data: {what}: {n}");
        }
    };
    let to = Database::connect(&target.url, &PoolSettings::default()).await?;
    let existing = deployment::domain_count(&to).await;
    if existing > 0 {
        return Err(CopyError::TargetNotEmpty(existing));
    }
    // Files for an SQLite target; chunks in the copy's own transaction for PostgreSQL.
    let local = match to.backend() {
        Backend::Sqlite => {
            let dir = target
                .data_dir
                .clone()
                .or_else(|| to.sqlite_file().and_then(|f| f.parent().map(PathBuf::from)))
                .unwrap_or_else(|| PathBuf::from("."));
            let dir = dir.join("attachments");
            let same = |a: &std::path::Path, b: &std::path::Path| {
                std::fs::create_dir_all(a).is_ok()
                    && std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
            };
            if same(&dir, source_attachments) {
                return Err(CopyError::SameAttachmentDirectory(dir));
            }
            Some(
                LocalFileStore::new(dir).map_err(|source| CopyError::Attachment {
                    key: "(the target's attachment directory)".to_owned(),
                    source,
                })?,
            )
        }
        Backend::Postgres => None,
    };

    to.migrate().await?;
    let tx = to.begin().await?;
    let mut summary = Summary {
        tables: deployment::copy_rows(source.reader(), &tx, &progress).await?,
        ..Summary::default()
    };
    let mut after = None;
    loop {
        let page = deployment::attachments_after(source.reader(), after, BATCH).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for a in &page {
            summary.attachment_bytes +=
                copy_attachment(source_store, a, &tx, local.as_ref()).await?;
            summary.attachments += 1;
        }
        progress("attachments", summary.attachments);
    }
    tx.commit().await.map_err(PersistenceError::from)?;
    // The target's triggers counted every row copied; on PostgreSQL the running sums per
    // partner are a row for each change until folded.
    housekeeping::fold_seen_counts(&to).await?;
    progress("committed; verifying", summary.attachments);
    verify(source, &to, &summary, local).await?;
    to.close().await;
    Ok(summary)
}

/// Reads an attachment from the source store and writes it to the target's, checking its
/// size and SHA-256 against its record on the way.
async fn copy_attachment(
    from: &dyn AttachmentStore,
    a: &StoredAttachment,
    tx: &impl Connection,
    local: Option<&LocalFileStore>,
) -> Result<u64, CopyError> {
    let fail = |source: std::io::Error| CopyError::Attachment {
        key: a.storage_key.clone(),
        source,
    };
    let mut stream = from.open(&a.storage_key).await.map_err(fail)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    match local {
        Some(store) => {
            use tokio::io::AsyncWriteExt;
            let staged = store.staging_path();
            let mut file = tokio::fs::File::create(&staged).await.map_err(fail)?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(fail)?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(fail)?;
            }
            file.sync_all().await.map_err(fail)?;
            store.commit(&staged, &a.storage_key).await.map_err(fail)?;
        }
        None => {
            let mut writer = ChunkWriter::new(&a.storage_key);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(fail)?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                writer.push(tx, &chunk).await?;
            }
            writer.finish(tx).await?;
        }
    }
    let sha = hex::encode(hasher.finalize());
    if sha != a.sha256 || i64::try_from(size).ok() != Some(a.size_bytes) {
        return Err(CopyError::Verification(format!(
            "attachment {} reads as {size} bytes with SHA-256 {sha}; its record says {} bytes, {}",
            a.storage_key, a.size_bytes, a.sha256
        )));
    }
    Ok(size)
}

/// Counts every table on both sides and reads every attachment back from the target.
async fn verify(
    source: &Database,
    target: &Database,
    summary: &Summary,
    local: Option<LocalFileStore>,
) -> Result<(), CopyError> {
    let (a, b) = (
        deployment::row_counts(source.reader()).await?,
        deployment::row_counts(target.reader()).await?,
    );
    for ((table, n), (_, m)) in a.iter().zip(&b) {
        if n != m {
            return Err(CopyError::Verification(format!(
                "{table}: {n} rows in the source, {m} in the target"
            )));
        }
    }
    let store: Box<dyn AttachmentStore> = match local {
        Some(l) => Box::new(l),
        None => Box::new(DatabaseStore::new(target.clone(), PathBuf::new())),
    };
    let mut checked = 0u64;
    let mut after = None;
    loop {
        let page = deployment::attachments_after(target.reader(), after, BATCH).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for a in &page {
            let fail = |source: std::io::Error| CopyError::Attachment {
                key: a.storage_key.clone(),
                source,
            };
            let mut stream = store.open(&a.storage_key).await.map_err(fail)?;
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.next().await {
                hasher.update(&chunk.map_err(fail)?);
            }
            if hex::encode(hasher.finalize()) != a.sha256 {
                return Err(CopyError::Verification(format!(
                    "attachment {} differs in the target",
                    a.storage_key
                )));
            }
            checked += 1;
        }
    }
    if checked != summary.attachments {
        return Err(CopyError::Verification(format!(
            "{checked} attachments in the target, {} copied",
            summary.attachments
        )));
    }
    Ok(())
}
