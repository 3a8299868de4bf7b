//! Connecting to SQLite or PostgreSQL, chosen by the URL, and running migrations.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use casebridge_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};

use crate::PersistenceError;
use crate::read::{PgReaders, Reader, SqliteReaders};
use crate::write::SqliteWriter;

/// How long a PostgreSQL connection may have sat in the pool before it is pinged on its way
/// out. Under load a connection goes back to work within milliseconds and is never pinged.
pub(crate) const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

/// OLTP settings for the service's PostgreSQL sessions, measured at a million cases:
/// - the case lists join eight relations, which PostgreSQL took 6 ms to plan on every request
///   (custom plans) for a 0.2 ms execution. Statements are prepared once per connection; a
///   generic plan is planned once and reused.
/// - parallel plans start worker processes: 6 ms of a 6.3 ms request for the first page of a
///   list. Every query here reads a few rows by index.
fn oltp_session(
    options: sea_orm::sqlx::postgres::PgConnectOptions,
) -> sea_orm::sqlx::postgres::PgConnectOptions {
    options.options([
        ("plan_cache_mode", "force_generic_plan"),
        ("max_parallel_workers_per_gather", "0"),
    ])
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens (readers, on SQLite). On PostgreSQL, the process's
    /// total: half of them (at least one) for the reads outside transactions
    /// ([`PgReaders`]), the rest (at least one) for everything else.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Which database engine stores the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: one file, one writer at a time.
    Sqlite,
    /// PostgreSQL, for scale and several service instances.
    Postgres,
}

/// The database: a pool for reads and one for writes.
///
/// SQLite allows one writer at a time. Rather than letting concurrent write transactions
/// collide and spin in SQLite's busy handler, writes queue for a single dedicated connection
/// (in-process, fairly); reads run in parallel on the reader pool thanks to WAL. On PostgreSQL
/// both are the same pool.
#[derive(Debug, Clone)]
pub struct Database {
    read: DatabaseConnection,
    write: DatabaseConnection,
    backend: Backend,
    sqlite_file: Option<PathBuf>,
    /// On a SQLite file: the readers that read on the request's own thread ([`crate::read`]).
    sqlite_reads: Option<std::sync::Arc<SqliteReaders>>,
    /// On PostgreSQL: the pool the reads outside transactions run on ([`crate::read`]).
    postgres_reads: Option<PgReaders>,
    /// On a SQLite file: the connection write transactions run on ([`crate::write`]).
    sqlite_writer: Option<std::sync::Arc<SqliteWriter>>,
    /// The lock that makes this process the SQLite file's only user, held while any clone lives.
    _sqlite_lock: Option<std::sync::Arc<std::fs::File>>,
}

impl Database {
    /// Connects to the database the URL names: `sqlite://…` or `postgres://…`.
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str, pool: &PoolSettings) -> Result<Self, PersistenceError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, pool).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, pool).await
        } else {
            Err(PersistenceError::Config(
                "the database URL must start with sqlite: or postgres://".to_owned(),
            ))
        }
    }

    async fn connect_sqlite(url: &str, pool: &PoolSettings) -> Result<Self, PersistenceError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| PersistenceError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit syncs the WAL before it returns, so an answered write survives a
            // power loss, not only a crash of the process (`NORMAL` syncs only at checkpoints
            // and may lose the last commits). Measured in bench/RESULTS.md: one fdatasync of
            // about 0.13 ms per commit on this machine's disk.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename().to_path_buf();
        // sqlx names an in-memory database `file:sqlx-in-memory-N`: no file, nothing to lock.
        let in_memory = file.as_os_str() == ":memory:"
            || url.contains(":memory:")
            || url.contains("mode=memory")
            || file.to_string_lossy().starts_with("file:sqlx-in-memory");
        if let Some(dir) = file
            .parent()
            .filter(|d| !in_memory && !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                PersistenceError::Config(format!(
                    "cannot create the data directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let lock = if in_memory {
            None
        } else {
            Some(std::sync::Arc::new(hold_sqlite_file(&file)?))
        };
        let base = SqlitePoolOptions::new()
            .acquire_timeout(pool.acquire_timeout)
            .min_connections(pool.min_connections.min(1))
            // A connection to a local file does not go stale; a check would be one more
            // hand-off to its thread on every acquire.
            .test_before_acquire(false);
        // An in-memory database exists once per connection: everything shares one.
        let writer_pool = base
            .clone()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
        let write = SqlxSqliteConnector::from_sqlx_sqlite_pool(writer_pool);
        let read = if in_memory {
            write.clone()
        } else {
            let reader_pool = base
                .max_connections(pool.max_connections.max(1))
                .connect_with(options)
                .await
                .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
            SqlxSqliteConnector::from_sqlx_sqlite_pool(reader_pool)
        };
        // Opened after the pools: the writer has created the file and put it in WAL mode.
        let sqlite_reads = if in_memory {
            None
        } else {
            // Taken last in, first out: only as many stay open as reads ever ran at once (one
            // per serving thread, as a read never holds its connection across an await).
            let max_idle = usize::try_from(pool.max_connections).unwrap_or(usize::MAX);
            Some(std::sync::Arc::new(SqliteReaders::open(&file, max_idle)?))
        };
        let sqlite_writer = if in_memory {
            None
        } else {
            Some(std::sync::Arc::new(SqliteWriter::open(&file)?))
        };
        Ok(Self {
            read,
            write,
            backend: Backend::Sqlite,
            sqlite_reads,
            postgres_reads: None,
            sqlite_writer,
            sqlite_file: (!in_memory).then_some(file),
            _sqlite_lock: lock,
        })
    }

    async fn connect_postgres(url: &str, pool: &PoolSettings) -> Result<Self, PersistenceError> {
        let reads = (pool.max_connections / 2).max(1);
        let others = pool.max_connections.saturating_sub(reads).max(1);
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(others)
            .min_connections(pool.min_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_timeout(pool.acquire_timeout)
            .sqlx_logging(false)
            // sqlx pings a pooled connection on every acquire by default: a round trip
            // (`Sync`, then `ReadyForQuery`) before each request's first statement, which
            // doubled a point read's exchanges with PostgreSQL. A connection in use goes back
            // to work unchecked; one idle for a while, which a restart, a proxy or a firewall
            // may have cut, is still pinged first.
            .test_before_acquire_if_idle_for(PING_WHEN_IDLE_FOR)
            .map_sqlx_postgres_opts(oltp_session);
        let conn = sea_orm::Database::connect(options)
            .await
            .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
        let postgres_reads = PgReaders::new(
            url,
            oltp_session,
            usize::try_from(reads).unwrap_or(usize::MAX),
            pool.acquire_timeout,
        )?;
        Ok(Self {
            read: conn.clone(),
            write: conn,
            backend: Backend::Postgres,
            sqlite_file: None,
            sqlite_reads: None,
            postgres_reads: Some(postgres_reads),
            sqlite_writer: None,
            _sqlite_lock: None,
        })
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database's file, when it is one.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref()
    }

    /// The connection for reads.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    /// Reads outside a transaction, for the queries that can run on either path: on a SQLite
    /// file on the calling thread, on PostgreSQL on [`PgReaders`] ([`crate::read`]),
    /// otherwise on [`Self::reader`].
    pub fn reads(&self) -> Reader<'_> {
        Reader {
            orm: &self.read,
            sqlite: self.sqlite_reads.as_deref(),
            postgres: self.postgres_reads.as_ref(),
        }
    }

    /// On a SQLite file, the connection [`Self::begin_write`] writes on.
    pub(crate) fn sqlite_writer(&self) -> Option<&SqliteWriter> {
        self.sqlite_writer.as_deref()
    }

    /// The connection for writes outside an explicit transaction.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads then writes never fails half-way on a lock
    /// another process took in between.
    pub async fn begin(&self) -> Result<DatabaseTransaction, PersistenceError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.write.begin_with_options(options).await?)
    }

    /// Applies every pending migration. On SQLite, in one transaction that holds the write lock;
    /// on PostgreSQL, under a session advisory lock held on a
    /// connection of its own: instances started together on one database migrate one after
    /// the other, and those that come second find nothing left to do.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> Result<(), PersistenceError> {
        if self.backend != Backend::Postgres {
            // SQLite: all of it under the database's write lock, taken at once, so that another
            // process migrating the same file waits and then finds nothing left to do.
            let tx = self.begin().await?;
            Migrator::up(&tx, None).await?;
            tx.commit().await?;
            return Ok(());
        }
        use sea_orm::sqlx::{Connection, Executor};
        let options = self.write.get_postgres_connection_pool().connect_options();
        let mut lock = sea_orm::sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
        let unavailable = |e: sea_orm::sqlx::Error| PersistenceError::Unavailable(e.to_string());
        lock.execute(MIGRATION_LOCK).await.map_err(unavailable)?;
        let migrated = async {
            Migrator::up(&self.write, None).await?;
            // The catalogue's pages marked all-visible, so that the planner reads a case's
            // category name from its index (migration `m20261203_000002`): its few rows,
            // written only by migrations, never reach autovacuum's thresholds. Six pages: it
            // costs nothing on every start, and it follows any migration that changed the
            // catalogue.
            self.write
                .execute_unprepared("VACUUM (ANALYZE) case_classifications")
                .await?;
            Ok::<_, sea_orm::DbErr>(())
        }
        .await;
        // Closing the session releases the lock even if the unlock cannot be sent.
        let _ = lock.execute(MIGRATION_UNLOCK).await;
        let _ = lock.close().await;
        migrated?;
        Ok(())
    }

    /// Whether the database answers: a round trip on both pools, and for SQLite, the file is
    /// still where it was (a deleted file keeps answering from its open handles while every
    /// write is lost).
    pub async fn check_ready(&self) -> Result<(), PersistenceError> {
        if let Some(file) = self.sqlite_file.as_ref().filter(|f| !f.exists()) {
            return Err(PersistenceError::Unavailable(format!(
                "the database file {} is gone",
                file.display()
            )));
        }
        let ping = async {
            self.read.execute_unprepared("SELECT 1").await?;
            if self.backend == Backend::Sqlite {
                self.write.execute_unprepared("SELECT 1").await?;
            }
            Ok::<_, sea_orm::DbErr>(())
        };
        match tokio_timeout(Duration::from_secs(3), ping).await {
            Some(result) => result.map_err(|e| PersistenceError::Unavailable(e.to_string())),
            None => Err(PersistenceError::Unavailable(
                "the database did not answer within 3 seconds".to_owned(),
            )),
        }
    }

    /// Closes the pools.
    pub async fn close(self) {
        if let Some(reads) = &self.postgres_reads {
            reads.close().await;
        }
        let _ = self.read.close_by_ref().await;
        let _ = self.write.close_by_ref().await;
    }

    /// The SQL dialect of the connection.
    pub fn db_backend(&self) -> DbBackend {
        self.read.get_database_backend()
    }
}

/// Takes an exclusive lock on `<file>.lock` for as long as the returned handle lives: SQLite
/// serves one instance, and a second process (a second `serve`, or any command) on the same
/// file would keep caches and throttles of its own over the same data.
fn hold_sqlite_file(file: &std::path::Path) -> Result<std::fs::File, PersistenceError> {
    let mut path = file.as_os_str().to_owned();
    path.push(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            PersistenceError::Config(format!(
                "cannot open the lock file {}: {e}",
                std::path::Path::new(&path).display()
            ))
        })?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(PersistenceError::Config(format!(
            "the SQLite database {} is in use by another casebridge process. SQLite serves one \
             instance: stop the other one, or run several instances on PostgreSQL (README, \
             \"Scaling out\"; `casebridge copy-data --to postgres://…` moves the data)",
            file.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(PersistenceError::Config(format!(
            "cannot lock {}: {e}",
            std::path::Path::new(&path).display()
        ))),
    }
}

/// The advisory lock key migrations hold (any fixed number no other lock of ours uses).
const MIGRATION_LOCK: &str = "SELECT pg_advisory_lock(4242000001)";
const MIGRATION_UNLOCK: &str = "SELECT pg_advisory_unlock(4242000001)";

/// Runs a future with a deadline; `None` when it ran out.
async fn tokio_timeout<F: std::future::Future>(limit: Duration, fut: F) -> Option<F::Output> {
    tokio::time::timeout(limit, fut).await.ok()
}

/// A database on a new SQLite file in a temporary directory (kept while the directory lives),
/// with `schema` applied through the sqlx writer: for the storage layer's own tests.
#[cfg(test)]
pub(crate) async fn scratch_sqlite_file(schema: &str) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .expect("a new SQLite file opens");
    db.writer()
        .execute_unprepared(schema)
        .await
        .expect("the schema applies");
    (dir, db)
}
