//! Write transactions that run where the request runs, and commit together.
//!
//! sqlx-sqlite sends every statement to its connection's own thread and waits for the answer
//! to come back: a filing's fourteen statements (BEGIN, four reads, seven writes, COMMIT) were
//! fourteen hand-offs between threads, and the transaction held SQLite's one write lock across
//! all of them. Filings could not go faster than one at a time, about 1.5 ms each, whatever
//! the number of connections (bench/RESULTS.md). On a SQLite file,
//! [`crate::Database::begin_write`] therefore runs the transaction on a rusqlite connection of
//! its own, on the thread that serves the request: each statement is one synchronous call of
//! tens of microseconds.
//!
//! Write transactions that queue for that connection commit together (group commit): each
//! runs inside a savepoint of one SQLite transaction, the batch, and the batch commits (one
//! WAL write of the pages they share, one sync) once no write transaction is queued, or once
//! [`MAX_BATCH`] have run in it. A write transaction's commit returns when its batch has
//! committed, so every answer that says a write was made is durable; one that fails undoes
//! only its own savepoint. Its own outcome is still told only after the batch's commit, since
//! it may have read what the batch's earlier writes had not yet committed.
//!
//! The write lock is SQLite's; the turn to take it is the sqlx writer pool's one connection,
//! held (idle) from a batch's `BEGIN` to its end, so that this writer and every write through
//! sea-orm queue in one line, and never meet SQLite's busy handler.
//!
//! Elsewhere (PostgreSQL, an in-memory SQLite database) `begin_write` is a sea-orm
//! transaction. Code written against [`Writes`] runs on both.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sea_orm::sqlx::Sqlite;
use sea_orm::sqlx::pool::{Pool, PoolConnection};
use sea_orm::{DatabaseTransaction, DbBackend, Statement};
use tokio::sync::{OwnedMutexGuard, oneshot};

use crate::append::Held;
use crate::read::{
    Failed, KnownColumns, ON_THREAD_BUSY, ReadRow, Reads, STATEMENT_CACHE, Writes, prepared,
    read_rows, sqlite_error,
};
use crate::{Database, PersistenceError};

/// The most write transactions one batch commits: a bound on how long the first of them
/// waits for its answer.
pub const MAX_BATCH: usize = 64;

/// The rusqlite connection SQLite write transactions run on, and the batch they write in
/// (see the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    shared: Arc<tokio::sync::Mutex<Shared>>,
    /// Write transactions waiting for the connection.
    queued: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct Shared {
    /// Behind a mutex only so that it can be shared between threads: whoever holds the
    /// `Shared` guard uses it, and nobody else.
    conn: Mutex<rusqlite::Connection>,
    /// The columns each row struct found in each statement read on the connection (a
    /// filing's `RETURNING`, 40 columns), as the readers keep them ([`KnownColumns`]).
    known: Mutex<KnownColumns>,
    /// The open batch, if any.
    batch: Option<Batch>,
}

impl Shared {
    fn connection(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An open SQLite transaction and the write transactions that ran in it.
#[derive(Debug)]
struct Batch {
    /// The writer pool's connection: the turn to write. Behind a mutex only so that the batch
    /// can be shared between threads; it is never used.
    _turn: Mutex<PoolConnection<Sqlite>>,
    /// Whether a write transaction kept its writes in it (else it ends in a rollback).
    kept: bool,
    /// Those waiting to hear how the batch ended.
    told: Vec<oneshot::Sender<Result<(), String>>>,
}

/// Runs `sql` (a statement without parameters) as a prepared statement kept for reuse.
fn run(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

impl SqliteWriter {
    /// The writer of `file`, which the sqlx writer has created and put in WAL mode.
    pub(crate) fn open(file: &Path) -> Result<Self, PersistenceError> {
        let open = || -> rusqlite::Result<rusqlite::Connection> {
            use rusqlite::OpenFlags;
            let conn = rusqlite::Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            // Settings of the connection, not of the file: the same as the sqlx writer's, so a
            // write is as durable and as checked whichever connection makes it.
            conn.pragma_update(None, "foreign_keys", true)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            // Each write transaction is a savepoint of its batch, and a savepoint keeps the
            // pages it changes as they were, to undo them: in memory, not in a temporary file
            // written on every filing (measured: 1.10 ms of CPU for a lone filing, 0.77 ms
            // without).
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            // In-process writers take turns (the module's documentation); only another process
            // can hold the lock, and the serving thread does not wait long for it.
            conn.busy_timeout(ON_THREAD_BUSY)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            Ok(conn)
        };
        let conn = open().map_err(sqlite_error)?;
        Ok(Self {
            shared: Arc::new(tokio::sync::Mutex::new(Shared {
                conn: Mutex::new(conn),
                known: Mutex::new(KnownColumns::default()),
                batch: None,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Waits for the connection, counted among the queued meanwhile.
    async fn turn(&self) -> OwnedMutexGuard<Shared> {
        let _queued = Queued::new(self);
        self.shared.clone().lock_owned().await
    }

    /// Starts a write transaction: in the open batch, or in a new one that takes the turn
    /// from `pool`.
    async fn begin(&self, pool: &Pool<Sqlite>) -> Result<SqliteWrite, PersistenceError> {
        let mut shared = self.turn().await;
        if shared.batch.is_some() && shared.connection().is_autocommit() {
            // SQLite rolled the batch back on an error of its own (a full disk, say): what ran
            // in it is lost, and those waiting on it hear so.
            end_batch(&mut shared);
        }
        if shared.batch.is_none() {
            let turn = pool
                .acquire()
                .await
                .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
            run(&shared.connection(), "BEGIN IMMEDIATE").map_err(sqlite_error)?;
            shared.batch = Some(Batch {
                _turn: Mutex::new(turn),
                kept: false,
                told: Vec::new(),
            });
        }
        let saved = run(&shared.connection(), "SAVEPOINT write");
        if let Err(err) = saved {
            self.settle(shared);
            return Err(sqlite_error(err));
        }
        Ok(SqliteWrite {
            writer: self.clone(),
            shared: Some(shared),
        })
    }

    /// After a write transaction left the batch: ends the batch when nobody is queued to write
    /// in it next, or when it is full; else leaves it to the next.
    fn settle(&self, mut shared: OwnedMutexGuard<Shared>) {
        let full = shared
            .batch
            .as_ref()
            .is_some_and(|b| b.told.len() >= MAX_BATCH);
        if full || self.queued.load(Ordering::SeqCst) == 0 {
            end_batch(&mut shared);
            return;
        }
        drop(shared);
        // Whoever was queued may have given up since (a request cancelled): then nobody else
        // would end the batch. Whichever of the two sees the queue empty after the other's
        // step ends it ([`Queued`]'s `Drop` is the other half).
        self.end_if_idle();
    }

    /// Ends the open batch if nobody is queued and nobody holds the connection.
    fn end_if_idle(&self) {
        if self.queued.load(Ordering::SeqCst) == 0
            && let Ok(mut shared) = self.shared.clone().try_lock_owned()
        {
            end_batch(&mut shared);
        }
    }
}

/// Commits the open batch (or rolls it back when it kept nothing) and tells everyone who
/// waits on it how it ended; the turn passes on.
fn end_batch(shared: &mut Shared) {
    let Some(batch) = shared.batch.take() else {
        return;
    };
    let conn = shared.connection();
    let ended = if batch.kept {
        run(&conn, "COMMIT")
    } else {
        run(&conn, "ROLLBACK")
    };
    if !conn.is_autocommit() {
        // A commit that failed leaves the transaction open: nothing of it is kept.
        let _ = run(&conn, "ROLLBACK");
    }
    let ended = ended.map_err(|e| e.to_string());
    for told in batch.told {
        let _ = told.send(ended.clone());
    }
}

/// Counts a write transaction among the queued while it waits for the connection.
struct Queued<'a>(&'a SqliteWriter);

impl<'a> Queued<'a> {
    fn new(writer: &'a SqliteWriter) -> Self {
        writer.queued.fetch_add(1, Ordering::SeqCst);
        Self(writer)
    }
}

impl Drop for Queued<'_> {
    /// Dropped once the connection is taken, or when the wait was given up: in that case the
    /// one who left the batch to it may have gone already (see [`SqliteWriter::settle`]).
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
        self.0.end_if_idle();
    }
}

/// A write transaction on the SQLite writer's connection, a savepoint of its batch. Dropped
/// without [`WriteTransaction::commit`] or [`WriteTransaction::rollback`], it undoes its
/// writes at once.
#[derive(Debug)]
pub struct SqliteWrite {
    writer: SqliteWriter,
    /// The connection, while this transaction runs.
    shared: Option<OwnedMutexGuard<Shared>>,
}

impl SqliteWrite {
    /// The connection, while the transaction runs.
    fn connection(&self) -> Result<MutexGuard<'_, rusqlite::Connection>, PersistenceError> {
        self.shared
            .as_ref()
            .map(|shared| shared.connection())
            .ok_or_else(ended)
    }

    /// Leaves the batch, keeping this transaction's writes or undoing them, and waits for the
    /// batch to end: the batch's outcome.
    async fn end(mut self, keep: bool) -> Result<(), PersistenceError> {
        let Some(mut shared) = self.shared.take() else {
            return Err(ended());
        };
        let left = {
            let conn = shared.connection();
            if keep {
                run(&conn, "RELEASE write")
            } else {
                undo(&conn)
            }
        };
        let (told, heard) = oneshot::channel();
        if let Some(batch) = shared.batch.as_mut() {
            batch.kept |= keep && left.is_ok();
            batch.told.push(told);
        }
        if let Err(err) = left {
            let _ = undo(&shared.connection());
            self.writer.settle(shared);
            return Err(sqlite_error(err));
        }
        self.writer.settle(shared);
        match heard.await {
            Ok(ended) => ended.map_err(PersistenceError::Unavailable),
            Err(_) => Err(PersistenceError::Unavailable(
                "the write batch ended without an answer".to_owned(),
            )),
        }
    }
}

/// A write transaction used after its end (which its owner cannot do: ending takes it).
fn ended() -> PersistenceError {
    PersistenceError::Unavailable("the write transaction has ended".to_owned())
}

/// Undoes a write transaction's savepoint.
fn undo(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    run(conn, "ROLLBACK TO write")?;
    run(conn, "RELEASE write")
}

impl Drop for SqliteWrite {
    /// Undoes what is still open (a transaction dropped on an error or a panic) before the
    /// connection passes on.
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let _ = undo(&shared.connection());
            self.writer.settle(shared);
        }
    }
}

impl Reads for SqliteWrite {
    async fn rows<T: ReadRow>(&self, statement: Statement) -> Result<Vec<T>, PersistenceError> {
        let shared = self.shared.as_ref().ok_or_else(ended)?;
        let mut known = shared.known.lock().unwrap_or_else(PoisonError::into_inner);
        read_rows(&shared.connection(), &statement, Some(&mut known)).map_err(failed)
    }

    fn backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }
}

impl Writes for SqliteWrite {
    async fn run(&self, statement: Statement) -> Result<u64, PersistenceError> {
        let conn = self.connection()?;
        let (mut prepared, params, _) = prepared(&conn, &statement).map_err(failed)?;
        let changed = prepared
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(sqlite_error)?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }
}

fn failed(failed: Failed) -> PersistenceError {
    match failed {
        Failed::Sqlite(err) => sqlite_error(err),
        Failed::Value(err) => err,
    }
}

/// A write transaction from [`Database::begin_write`]: on a SQLite file on the writer's own
/// connection, elsewhere sea-orm's.
#[derive(Debug)]
pub enum Write {
    /// sea-orm's transaction (PostgreSQL, an in-memory SQLite database), and the inserts it
    /// holds to send with its next statement ([`crate::append`]).
    Orm(DatabaseTransaction, Held),
    /// On the SQLite writer's connection.
    Sqlite(SqliteWrite),
}

impl Reads for Write {
    async fn rows<T: ReadRow>(&self, statement: Statement) -> Result<Vec<T>, PersistenceError> {
        match self {
            Write::Orm(tx, held) => {
                let (first, statement) = held.carry(statement);
                if let Some(first) = first {
                    tx.run(first).await?;
                }
                tx.rows(statement).await
            }
            Write::Sqlite(tx) => tx.rows(statement).await,
        }
    }

    fn backend(&self) -> DbBackend {
        match self {
            Write::Orm(tx, _) => Reads::backend(tx),
            Write::Sqlite(tx) => tx.backend(),
        }
    }
}

impl Writes for Write {
    async fn run(&self, statement: Statement) -> Result<u64, PersistenceError> {
        match self {
            Write::Orm(tx, held) => {
                let (first, statement) = held.carry(statement);
                if let Some(first) = first {
                    tx.run(first).await?;
                }
                tx.run(statement).await
            }
            Write::Sqlite(tx) => tx.run(statement).await,
        }
    }

    async fn append(&self, statement: Statement) -> Result<(), PersistenceError> {
        match self {
            Write::Orm(_, held) => match held.hold(statement) {
                None => Ok(()),
                Some(statement) => self.run(statement).await.map(|_| ()),
            },
            Write::Sqlite(tx) => tx.run(statement).await.map(|_| ()),
        }
    }
}

/// A transaction that a create ([`Writes`] in it, then commit) can run in: sea-orm's, for code
/// written against sea-orm, or [`Write`].
pub trait WriteTransaction: Writes + Sized {
    /// Starts one.
    fn begin(db: &Database) -> impl Future<Output = Result<Self, PersistenceError>>;
    /// Commits it: when this returns `Ok`, its writes are durable.
    fn commit(self) -> impl Future<Output = Result<(), PersistenceError>>;
    /// Undoes it, once whatever it may have read uncommitted is settled (see the module's
    /// documentation): call it before answering with an error decided inside it.
    fn rollback(self) -> impl Future<Output = Result<(), PersistenceError>>;
}

impl WriteTransaction for DatabaseTransaction {
    async fn begin(db: &Database) -> Result<Self, PersistenceError> {
        db.begin().await
    }

    async fn commit(self) -> Result<(), PersistenceError> {
        Ok(DatabaseTransaction::commit(self).await?)
    }

    async fn rollback(self) -> Result<(), PersistenceError> {
        Ok(DatabaseTransaction::rollback(self).await?)
    }
}

impl WriteTransaction for Write {
    async fn begin(db: &Database) -> Result<Self, PersistenceError> {
        db.begin_write().await
    }

    async fn commit(self) -> Result<(), PersistenceError> {
        match self {
            Write::Orm(tx, held) => {
                if let Some(last) = held.take() {
                    tx.run(last).await?;
                }
                Ok(tx.commit().await?)
            }
            Write::Sqlite(tx) => tx.end(true).await,
        }
    }

    async fn rollback(self) -> Result<(), PersistenceError> {
        match self {
            Write::Orm(tx, _) => Ok(tx.rollback().await?),
            Write::Sqlite(tx) => tx.end(false).await,
        }
    }
}

impl Database {
    /// Starts a write transaction for code written against [`Writes`]: on a SQLite file on the
    /// writer's own connection, on the serving thread, committed with the others queued
    /// (the module's documentation); elsewhere sea-orm's, as [`Database::begin`].
    pub async fn begin_write(&self) -> Result<Write, PersistenceError> {
        let Some(writer) = self.sqlite_writer() else {
            return Ok(Write::Orm(self.begin().await?, Held::default()));
        };
        let pool = self.writer().get_sqlite_connection_pool();
        Ok(Write::Sqlite(writer.begin(pool).await?))
    }

    /// Whether write transactions are waiting for the SQLite writer's connection: work that
    /// can wait (merging the keyword index) gives way to them. Never, elsewhere.
    pub fn writes_waiting(&self) -> bool {
        self.sqlite_writer()
            .is_some_and(|w| w.queued.load(Ordering::SeqCst) > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::PoolSettings;

    crate::read_row! {
        struct Row {
            id: i64,
            name: String,
        }
    }

    async fn sqlite_file() -> (tempfile::TempDir, Database) {
        crate::db::scratch_sqlite_file(
            "CREATE TABLE parent (id integer PRIMARY KEY, name text NOT NULL UNIQUE); \
             CREATE TABLE child (id integer PRIMARY KEY, \
             parent_id integer NOT NULL REFERENCES parent (id))",
        )
        .await
    }

    fn insert(table: &str, id: i64, other: impl Into<sea_orm::Value>) -> Statement {
        let column = if table == "parent" {
            "name"
        } else {
            "parent_id"
        };
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("INSERT INTO {table} (id, {column}) VALUES (?, ?)"),
            [id.into(), other.into()],
        )
    }

    fn names() -> Statement {
        Statement::from_string(DbBackend::Sqlite, "SELECT id, name FROM parent ORDER BY id")
    }

    async fn committed(db: &Database) -> Vec<(i64, String)> {
        let rows: Vec<Row> = db.reader().rows(names()).await.unwrap();
        rows.into_iter().map(|r| (r.id, r.name)).collect()
    }

    /// On a SQLite file a write transaction runs on the writer's own connection, which writes
    /// as durably and as checked as sqlx's: a full sync of the WAL on every commit, and
    /// foreign keys enforced. An in-memory database has only sea-orm's connection.
    #[tokio::test]
    async fn a_sqlite_file_writes_on_its_own_connection_durably_and_checked() {
        let (_dir, db) = sqlite_file().await;
        let tx = db.begin_write().await.unwrap();
        let Write::Sqlite(write) = &tx else {
            panic!("a SQLite file writes on the writer's connection")
        };
        {
            let conn = write.connection().unwrap();
            let synchronous: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            assert_eq!(synchronous, 2, "FULL: every commit syncs the WAL");
            let foreign_keys: bool = conn
                .pragma_query_value(None, "foreign_keys", |r| r.get(0))
                .unwrap();
            assert!(foreign_keys);
        }
        drop(tx);

        let memory = Database::connect("sqlite::memory:", &PoolSettings::default())
            .await
            .unwrap();
        assert!(matches!(
            memory.begin_write().await.unwrap(),
            Write::Orm(..)
        ));
    }

    /// The writer's connection keeps the columns a statement's rows found, as the readers do,
    /// and its next run reads at them.
    #[tokio::test]
    async fn the_writer_keeps_the_columns_a_statement_found() {
        let (_dir, db) = sqlite_file().await;
        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 1, "one")).await.unwrap();
        let Write::Sqlite(write) = &tx else {
            panic!("a SQLite file writes on the writer's connection")
        };
        let sql = "SELECT name, id FROM parent";
        let kept = || {
            let shared = write.shared.as_ref().unwrap();
            let known = shared.known.lock().unwrap();
            known.of::<Row>(sql).map(|(found, ())| found.to_vec())
        };
        assert_eq!(kept(), None);
        for _ in 0..2 {
            let rows: Vec<Row> = tx
                .rows(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap();
            assert_eq!((rows[0].id, rows[0].name.as_str()), (1, "one"));
            assert_eq!(kept(), Some(vec![1, 0]));
        }
    }

    /// A committed transaction is read by every connection; one dropped without a commit, or
    /// one whose statement failed, leaves nothing behind, and the next one starts afresh.
    #[tokio::test]
    async fn a_commit_is_seen_and_a_dropped_or_failed_transaction_leaves_nothing() {
        let (_dir, db) = sqlite_file().await;
        let tx = db.begin_write().await.unwrap();
        assert_eq!(tx.run(insert("parent", 1, "one")).await.unwrap(), 1);
        let inside: Vec<Row> = tx.rows(names()).await.unwrap();
        assert_eq!(inside.len(), 1, "a transaction reads its own writes");
        assert!(
            committed(&db).await.is_empty(),
            "not seen before the commit"
        );
        tx.commit().await.unwrap();
        assert_eq!(committed(&db).await, [(1, "one".to_owned())]);

        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 2, "two")).await.unwrap();
        drop(tx);
        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 3, "three")).await.unwrap();
        // A child of no parent: the foreign key refuses it.
        let refused = tx.run(insert("child", 1, 99_i64)).await;
        assert!(refused.is_err(), "{refused:?}");
        drop(tx);
        assert_eq!(committed(&db).await, [(1, "one".to_owned())]);

        // A unique key's collision is a conflict, as it is through sea-orm.
        let tx = db.begin_write().await.unwrap();
        let collision = tx.run(insert("parent", 4, "one")).await.unwrap_err();
        assert!(collision.is_conflict(), "{collision:?}");
        drop(tx);

        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 5, "five")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            committed(&db).await,
            [(1, "one".to_owned()), (5, "five".to_owned())]
        );
    }

    /// The writer's connection and sea-orm's take turns: a sea-orm transaction begun while a
    /// write transaction is open waits for it (in the process, not in SQLite's busy handler)
    /// and then reads what it committed; and the other way round.
    #[tokio::test]
    async fn the_two_writers_take_turns() {
        let (_dir, db) = sqlite_file().await;
        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 1, "one")).await.unwrap();
        let pool = db.writer().get_sqlite_connection_pool();
        assert_eq!(
            pool.num_idle(),
            0,
            "the turn is the writer pool's connection"
        );
        let waiting = {
            let db = db.clone();
            tokio::spawn(async move {
                let orm = db.begin().await.unwrap();
                let rows: Vec<Row> = orm.rows(names()).await.unwrap();
                orm.execute_raw(insert("parent", 2, "two")).await.unwrap();
                orm.commit().await.unwrap();
                rows.len()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "sea-orm waits for its turn");
        tx.commit().await.unwrap();
        assert_eq!(waiting.await.unwrap(), 1, "and then sees the commit");

        let orm = db.begin().await.unwrap();
        orm.execute_raw(insert("parent", 3, "three")).await.unwrap();
        let waiting = {
            let db = db.clone();
            tokio::spawn(async move {
                let tx = db.begin_write().await.unwrap();
                let rows: Vec<Row> = tx.rows(names()).await.unwrap();
                tx.commit().await.unwrap();
                rows.len()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the writer waits for its turn");
        orm.commit().await.unwrap();
        assert_eq!(waiting.await.unwrap(), 3);
    }

    /// Work that can wait (the keyword index's merging) sees a write transaction queued for the
    /// connection, and only while it is.
    #[tokio::test]
    async fn a_queued_write_transaction_is_seen_waiting() {
        let (_dir, db) = sqlite_file().await;
        assert!(!db.writes_waiting());
        let tx = db.begin_write().await.unwrap();
        assert!(!db.writes_waiting(), "the one writing does not wait");
        let waiting = {
            let db = db.clone();
            tokio::spawn(async move { db.begin_write().await.unwrap().commit().await })
        };
        let mut polls = 0;
        while !db.writes_waiting() {
            assert!(polls < 500, "the second transaction is never seen waiting");
            tokio::time::sleep(Duration::from_millis(10)).await;
            polls += 1;
        }
        tx.commit().await.unwrap();
        waiting.await.unwrap().unwrap();
        assert!(!db.writes_waiting());
    }

    /// Counts the commits of the writer's connection.
    async fn count_commits(db: &Database) -> Arc<AtomicUsize> {
        let commits = Arc::new(AtomicUsize::new(0));
        let counter = commits.clone();
        let writer = db.sqlite_writer().unwrap();
        let shared = writer.shared.lock().await;
        let _ = shared.connection().commit_hook(Some(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            false
        }));
        commits
    }

    /// Write transactions queued behind another commit with it, in one SQLite commit; each
    /// commit returns once the batch is committed (its write is read at once by another
    /// connection), and one that fails in the batch undoes only its own writes.
    #[tokio::test]
    async fn queued_writes_commit_together_and_a_failed_one_undoes_only_its_own() {
        let (_dir, db) = sqlite_file().await;
        let commits = count_commits(&db).await;
        let first = db.begin_write().await.unwrap();
        first.run(insert("parent", 1, "p1")).await.unwrap();
        let queued: Vec<_> = (2..=9_i64)
            .map(|id| {
                let db = db.clone();
                tokio::spawn(async move {
                    let tx = db.begin_write().await.unwrap();
                    // Number 5 collides with number 1's unique name.
                    let name = if id == 5 {
                        "p1".to_owned()
                    } else {
                        format!("p{id}")
                    };
                    if let Err(err) = tx.run(insert("parent", id, name)).await {
                        tx.rollback().await.unwrap();
                        return Err(err);
                    }
                    tx.commit().await.unwrap();
                    let seen: Vec<Row> = db.reads().rows(names()).await.unwrap();
                    assert!(seen.iter().any(|r| r.id == id), "committed when answered");
                    Ok(id)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(db.sqlite_writer().unwrap().queued.load(Ordering::SeqCst), 8);
        first.commit().await.unwrap();
        let mut outcomes = Vec::new();
        for task in queued {
            outcomes.push(task.await.unwrap());
        }
        assert!(
            outcomes[3]
                .as_ref()
                .is_err_and(PersistenceError::is_conflict)
        );
        let ids: Vec<i64> = committed(&db).await.into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 6, 7, 8, 9]);
        assert_eq!(
            commits.load(Ordering::SeqCst),
            1,
            "nine transactions, one commit"
        );

        // Nobody queued: a transaction commits on its own, at once.
        let alone = db.begin_write().await.unwrap();
        alone.run(insert("parent", 10, "p10")).await.unwrap();
        alone.commit().await.unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 2);
    }

    /// A batch left open for a queued writer that then gives up its wait (its request
    /// cancelled) is committed all the same, and answers those who wait on it.
    #[tokio::test]
    async fn a_batch_left_to_a_writer_that_gave_up_is_committed() {
        let (_dir, db) = sqlite_file().await;
        let writer = db.sqlite_writer().unwrap().clone();
        let tx = db.begin_write().await.unwrap();
        tx.run(insert("parent", 1, "one")).await.unwrap();
        let waiting = Queued::new(&writer);
        let committing = tokio::spawn(tx.commit());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !committing.is_finished(),
            "the batch is left open for the one queued"
        );
        assert!(committed(&db).await.is_empty());
        drop(waiting);
        tokio::time::timeout(Duration::from_secs(5), committing)
            .await
            .expect("committed once the queued writer gave up")
            .unwrap()
            .unwrap();
        assert_eq!(committed(&db).await, [(1, "one".to_owned())]);
    }

    /// A transaction dropped in a batch (an error, a panic) undoes its own writes and leaves
    /// the batch's others to commit.
    #[tokio::test]
    async fn a_transaction_dropped_in_a_batch_undoes_only_its_own_writes() {
        let (_dir, db) = sqlite_file().await;
        let first = db.begin_write().await.unwrap();
        first.run(insert("parent", 1, "one")).await.unwrap();
        let dropped = {
            let db = db.clone();
            tokio::spawn(async move {
                let tx = db.begin_write().await.unwrap();
                tx.run(insert("parent", 2, "two")).await.unwrap();
                drop(tx);
                let tx = db.begin_write().await.unwrap();
                tx.run(insert("parent", 3, "three")).await.unwrap();
                tx.commit().await.unwrap();
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        first.commit().await.unwrap();
        dropped.await.unwrap();
        let ids: Vec<i64> = committed(&db).await.into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [1, 3]);
    }
}
