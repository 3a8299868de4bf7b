//! Reads that run where the request runs.
//!
//! sqlx-sqlite gives every connection a thread of its own and sends each statement, and each
//! row of its answer, across a channel to it: on `GET /v1/cases/{id}` that hand-off (futex
//! waits and wake-ups, task switches) was 41% of the server's CPU, more than SQLite itself.
//! On SQLite the hot reads therefore go through [`SqliteReaders`]: rusqlite connections taken
//! from a small idle list by the thread that serves the request, each read one synchronous
//! call (a point read or a page is tens of microseconds, less than the hand-off it replaces),
//! statements prepared once per connection and kept. A read that outruns
//! [`ON_THREAD_BUDGET`] or meets a lock is read again through sea-orm, off the serving thread.
//! On PostgreSQL they go through [`PgReaders`], a pool that does not ping each connection it
//! takes back ([`postgres`]). Everything else, transactions among it, goes through sea-orm.
//!
//! A query runs on any path from the same sea-query statement, and its rows are read into
//! the same struct: [`read_row!`](crate::read_row) declares such a struct once and derives
//! each reading from its one list of fields.

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};
use sea_orm::sea_query::Value;
use sea_orm::sqlx::{self, postgres::PgRow};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement};

use crate::PersistenceError;

mod postgres;

pub use postgres::PgReaders;

/// A row a read can return on both paths: from sea-orm's [`QueryResult`] and from rusqlite's
/// row. Declare one with [`read_row!`](crate::read_row).
pub trait ReadRow: Sized + Send + 'static {
    /// The row as sea-orm reads it (by column name).
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr>;
    /// The row as rusqlite reads it, its fields found by column name from where `at` stands
    /// (see [`Columns`]); `at` ends past its last column.
    fn from_sqlite_at(row: &rusqlite::Row<'_>, at: &mut Columns) -> rusqlite::Result<Self>;
    /// The row as sqlx reads PostgreSQL's, its fields found as [`ReadRow::from_sqlite_at`]
    /// finds them ([`PgReaders`]).
    fn from_pg_at(row: &PgRow, at: &mut Columns) -> Result<Self, sqlx::Error>;

    /// The row as rusqlite reads it.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Self::from_sqlite_at(row, &mut Columns::default())
    }
}

/// Two row structs read from the same row (a case and the facts beside it).
impl<A: ReadRow, B: ReadRow> ReadRow for (A, B) {
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
        Ok((A::from_orm(row)?, B::from_orm(row)?))
    }

    /// B's columns are looked for after A's, so a name both select reads as each its own.
    fn from_sqlite_at(row: &rusqlite::Row<'_>, at: &mut Columns) -> rusqlite::Result<Self> {
        Ok((A::from_sqlite_at(row, at)?, B::from_sqlite_at(row, at)?))
    }

    fn from_pg_at(row: &PgRow, at: &mut Columns) -> Result<Self, sqlx::Error> {
        Ok((A::from_pg_at(row, at)?, B::from_pg_at(row, at)?))
    }
}

/// Declares a struct whose rows [`Reads`] can return on both paths, from one list of fields:
/// each field is read from the column of its name.
#[macro_export]
macro_rules! read_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $crate::read::ReadRow for $name {
            fn from_orm(
                row: &::sea_orm::QueryResult,
            ) -> ::std::result::Result<Self, ::sea_orm::DbErr> {
                Ok(Self {
                    $($field: row.try_get::<$ty>("", stringify!($field))?),*
                })
            }

            fn from_sqlite_at(
                row: &::rusqlite::Row<'_>,
                at: &mut $crate::read::Columns,
            ) -> ::rusqlite::Result<Self> {
                Ok(Self {
                    $($field: $crate::read::column(row, at, stringify!($field))?),*
                })
            }

            fn from_pg_at(
                row: &::sea_orm::sqlx::postgres::PgRow,
                at: &mut $crate::read::Columns,
            ) -> ::std::result::Result<Self, ::sea_orm::sqlx::Error> {
                Ok(Self {
                    $($field: $crate::read::pg_column(row, at, stringify!($field))?),*
                })
            }
        }
    };
}

/// Where a row struct's fields stand among its statement's columns. The first row finds each
/// field's column by name: first where the struct's order expects it, then among the columns
/// after it, then among all. Every row of a statement has the same columns and a struct reads
/// its fields in the same order, so the rows after the first read the columns found, without
/// comparing names again (on a page of cases, 40 name comparisons a row were 6% of the CPU on
/// SQLite; on PostgreSQL sqlx's look-up by name, a hash and a comparison a field, was 8%).
/// On SQLite's request-thread readers the columns found are also kept for the statement's
/// next run ([`KnownColumns`]), so that its first row starts from them too.
#[derive(Debug, Default)]
pub struct Columns<'k> {
    /// The column after the last one found.
    next: usize,
    /// How many fields of this row were read.
    read: usize,
    /// The column of each field, in the order the fields are read.
    found: Cow<'k, [usize]>,
}

impl Columns<'_> {
    /// Starts the next row of the same statement.
    fn next_row(&mut self) {
        self.next = 0;
        self.read = 0;
    }

    /// The column of the next field, `name`, among `count` columns whose names `name_of`
    /// gives; `None` when no column has that name.
    fn find<'a>(
        &mut self,
        name: &str,
        count: usize,
        name_of: impl Fn(usize) -> Option<&'a str>,
    ) -> Option<usize> {
        let index = match self.found.get(self.read) {
            Some(&index) => index,
            None => {
                let named = |i: &usize| name_of(*i) == Some(name);
                let index = (self.next..count)
                    .find(named)
                    .or_else(|| (0..count).find(named))?;
                self.found.to_mut().push(index);
                index
            }
        };
        self.read += 1;
        self.next = index + 1;
        Some(index)
    }
}

/// The columns each row struct found in each statement a connection ran, kept so that the
/// statement's next run reads its first row without comparing names: a `GET /v1/cases/{id}`
/// asked SQLite for 40 column names, measured each and checked it as UTF-8 (callgrind:
/// 167,800 instructions a request with that, 154,300 without). With each struct's columns
/// goes what the next run checks before it reads at them (`Check`): nothing on SQLite, whose
/// values carry their own type; on PostgreSQL the type of each column ([`PgReaders`]).
///
/// What a column list names stands where the statement's text puts it, whatever the schema,
/// so the columns found are kept by that text and the struct's type. A wildcard (`*`,
/// `"t".*`) takes its columns from the schema as it is when the statement is prepared (a
/// migration by another instance can change them), so a statement with a `*` anywhere but
/// in `COUNT(*)` is never kept.
#[derive(Debug, Default)]
pub(crate) struct KnownColumns<Check = ()> {
    /// By the statement's text, which is never an attacker's (values are bound apart from
    /// it): a fast hash, not one that resists flooding.
    by_sql: HashMap<Box<str>, Vec<Found<Check>>, foldhash::fast::RandomState>,
}

/// The columns a row struct (by its type) found in a statement, and their check.
type Found<Check> = (TypeId, Box<[usize]>, Check);

/// The most statements whose columns a connection keeps (twice the statements it keeps
/// prepared); past that many the list starts again.
const MOST_KNOWN: usize = 2 * STATEMENT_CACHE;

impl<Check> KnownColumns<Check> {
    /// Where `T` found its columns in `sql` when it last read it, if it did, and their check.
    pub(crate) fn of<T: 'static>(&self, sql: &str) -> Option<(&[usize], &Check)> {
        let types = self.by_sql.get(sql)?;
        let (_, found, check) = types.iter().find(|(ty, ..)| *ty == TypeId::of::<T>())?;
        Some((found, check))
    }

    /// Keeps where `T` found its columns in `sql`, and their check.
    fn keep<T: 'static>(&mut self, sql: &str, found: Vec<usize>, check: Check) {
        if found.is_empty() || !names_its_columns(sql) {
            return;
        }
        if self.by_sql.len() >= MOST_KNOWN && !self.by_sql.contains_key(sql) {
            self.by_sql.clear();
        }
        let types = self.by_sql.entry(sql.into()).or_default();
        types.retain(|(ty, ..)| *ty != TypeId::of::<T>());
        types.push((TypeId::of::<T>(), found.into(), check));
    }
}

/// Whether every column of `sql` is named in its text: no `*` other than `COUNT(*)`'s.
fn names_its_columns(sql: &str) -> bool {
    sql.match_indices('*')
        .all(|(at, _)| sql[..at].ends_with('(') && sql[at + 1..].starts_with(')'))
}

/// The column `name` of `row`, the next field `at` reads (see [`Columns`]).
#[doc(hidden)]
pub fn column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    at: &mut Columns,
    name: &str,
) -> rusqlite::Result<T> {
    let statement = row.as_ref();
    let index = at.find(name, statement.column_count(), |i| {
        statement.column_name(i).ok()
    });
    match index {
        Some(index) => row.get(index),
        None => Err(rusqlite::Error::InvalidColumnName(name.to_owned())),
    }
}

/// The column `name` of PostgreSQL's `row`, the next field `at` reads (see [`Columns`]),
/// decoded as sqlx decodes it for sea-orm.
///
/// sqlx checks a value's type against the field's on every read (a fifth of the look-ups'
/// cost on a page). Here the column's type, as PostgreSQL described the statement's result,
/// is checked where the column is found, once per statement: every row has that type, a NULL
/// in the first row included, and the values are then decoded without the check.
#[doc(hidden)]
pub fn pg_column<T>(row: &PgRow, at: &mut Columns, name: &str) -> Result<T, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::{Column as _, Row as _, TypeInfo as _};
    let columns = row.columns();
    let first = at.found.get(at.read).is_none();
    let Some(index) = at.find(name, columns.len(), |i| columns.get(i).map(|c| c.name())) else {
        return Err(sqlx::Error::ColumnNotFound(name.to_owned()));
    };
    if first {
        let ty = columns[index].type_info();
        if !T::compatible(ty) {
            return Err(sqlx::Error::ColumnDecode {
                index: format!("{name:?}"),
                source: format!(
                    "the column is {}, not what `{}` decodes",
                    ty.name(),
                    std::any::type_name::<T>()
                )
                .into(),
            });
        }
    }
    row.try_get_unchecked(index)
}

/// Where a read runs: sea-orm's connection (PostgreSQL, a transaction, an in-memory SQLite
/// database), on SQLite the connections of [`SqliteReaders`], or a write transaction on the
/// SQLite writer's own connection ([`crate::write`]).
pub trait Reads: Sync {
    /// The statement's rows.
    fn rows<T: ReadRow>(
        &self,
        statement: Statement,
    ) -> impl Future<Output = Result<Vec<T>, PersistenceError>> + Send;

    /// Which database engine answers.
    fn backend(&self) -> DbBackend;
}

/// Where a write runs: a sea-orm connection or transaction, or a write transaction on the
/// SQLite writer's own connection ([`crate::write`]).
pub trait Writes: Reads {
    /// Runs the statement; how many rows it changed.
    fn run(
        &self,
        statement: Statement,
    ) -> impl Future<Output = Result<u64, PersistenceError>> + Send;

    /// Runs an `INSERT` into a table the transaction never reads back, of
    /// [`crate::append::APPEND_ONLY`]: a [`crate::Write`] on PostgreSQL sends it with its next
    /// statement or its commit, one round trip less (see [`crate::append`]); elsewhere it
    /// runs at once.
    fn append(
        &self,
        statement: Statement,
    ) -> impl Future<Output = Result<(), PersistenceError>> + Send {
        async move { self.run(statement).await.map(|_| ()) }
    }
}

/// Every sea-orm connection and transaction reads through sea-orm.
impl<C: ConnectionTrait + Sync> Reads for C {
    async fn rows<T: ReadRow>(&self, statement: Statement) -> Result<Vec<T>, PersistenceError> {
        self.query_all_raw(statement)
            .await?
            .iter()
            .map(|row| T::from_orm(row).map_err(PersistenceError::from))
            .collect()
    }

    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }
}

/// Every sea-orm connection and transaction writes through sea-orm.
impl<C: ConnectionTrait + Sync> Writes for C {
    async fn run(&self, statement: Statement) -> Result<u64, PersistenceError> {
        Ok(self.execute_raw(statement).await?.rows_affected())
    }
}

/// The database's reads outside a transaction: [`crate::Database::reads`].
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub(crate) orm: &'a DatabaseConnection,
    pub(crate) sqlite: Option<&'a SqliteReaders>,
    pub(crate) postgres: Option<&'a PgReaders>,
}

impl Reads for Reader<'_> {
    fn backend(&self) -> DbBackend {
        self.orm.get_database_backend()
    }

    async fn rows<T: ReadRow>(&self, statement: Statement) -> Result<Vec<T>, PersistenceError> {
        if let Some(postgres) = self.postgres {
            return postgres.rows(&statement).await;
        }
        if let Some(sqlite) = self.sqlite
            && let Some(rows) = sqlite.rows(&statement)?
        {
            return Ok(rows);
        }
        // No SQLite file, or a read that outran its time on the serving thread or met a
        // lock: read through sea-orm, off the serving thread.
        self.orm.rows(statement).await
    }
}

/// Read-only rusqlite connections to the SQLite file, used by whichever thread reads.
///
/// A read takes an idle connection (a mutex held for a push or a pop, never across the
/// read), or opens one when none is idle; it never waits for another read. At most
/// `max_idle` are kept afterwards (taken last in, first out: only as many stay open as reads
/// ever ran at once).
///
/// A read holds up every other request of its thread while it runs, so it gets
/// [`ON_THREAD_BUDGET`]: one that runs longer (a provider's search on a common word, a count
/// over most cases) is interrupted by SQLite's progress handler, as is one that finds the file
/// locked, and [`Reader`] reads it again through sea-orm, off the serving thread.
#[derive(Debug)]
pub struct SqliteReaders {
    file: PathBuf,
    idle: Mutex<Vec<ReaderConnection>>,
    max_idle: usize,
    /// What the connections' deadlines count from.
    epoch: Instant,
}

/// A rusqlite connection and the deadline its progress handler enforces (nanoseconds after
/// [`SqliteReaders::epoch`]).
#[derive(Debug)]
struct ReaderConnection {
    conn: rusqlite::Connection,
    deadline: Arc<AtomicU64>,
    known: KnownColumns,
}

/// Statements a connection keeps prepared (each fixed-shape read is one).
pub(crate) const STATEMENT_CACHE: usize = 128;

/// How long a read may keep the serving thread before it is read again off it. A case, a
/// page and its count, a search of a partner's matches take well under a millisecond.
pub const ON_THREAD_BUDGET: Duration = Duration::from_millis(20);

/// Page cache of each request-thread reader, in KiB (one reader per serving thread stays busy;
/// a few more open under bursts).
const READER_CACHE_KIB: i64 = 16 * 1024;

/// SQLite virtual-machine steps between two looks at the clock.
const PROGRESS_STEPS: std::ffi::c_int = 1_000;

/// How long a read on the serving thread waits for a lock (a checkpoint, another process)
/// before it is read again off the thread, where sea-orm waits up to 10 s.
pub(crate) const ON_THREAD_BUSY: Duration = Duration::from_millis(50);

impl SqliteReaders {
    /// Readers of `file`, opening one now to check that it can be read.
    pub(crate) fn open(file: &Path, max_idle: usize) -> Result<Self, PersistenceError> {
        let readers = Self {
            file: file.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
            epoch: Instant::now(),
        };
        let first = readers.connect().map_err(sqlite_error)?;
        readers.put_back(first);
        Ok(readers)
    }

    fn connect(&self) -> rusqlite::Result<ReaderConnection> {
        use rusqlite::OpenFlags;
        // Opened read-write (a reader of a WAL database must be able to write its -shm index)
        // and then made read-only for every statement.
        let conn = rusqlite::Connection::open_with_flags(
            &self.file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(ON_THREAD_BUSY)?;
        conn.pragma_update(None, "query_only", true)?;
        // Each connection has a page cache of its own (see .cargo/config.toml); SQLite's
        // default of 2 MB held too little of a million-case file for one keyword search, whose
        // matches lie on pages of their own: 1.6 ms a search with the cache, 4 ms without.
        conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let (epoch, until) = (self.epoch, deadline.clone());
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || nanos_since(epoch) > until.load(Ordering::Relaxed)),
        )?;
        Ok(ReaderConnection {
            conn,
            deadline,
            known: KnownColumns::default(),
        })
    }

    fn take(&self) -> rusqlite::Result<ReaderConnection> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn put_back(&self, conn: ReaderConnection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(conn);
        }
    }

    /// The statement's rows, read on this thread; `None` when the read ran past
    /// [`ON_THREAD_BUDGET`] or found the file locked, to be read again off the thread.
    pub(crate) fn rows<T: ReadRow>(
        &self,
        statement: &Statement,
    ) -> Result<Option<Vec<T>>, PersistenceError> {
        let mut reader = self.take().map_err(sqlite_error)?;
        let budget = u64::try_from(ON_THREAD_BUDGET.as_nanos()).unwrap_or(u64::MAX);
        reader.deadline.store(
            nanos_since(self.epoch).saturating_add(budget),
            Ordering::Relaxed,
        );
        let read = read_rows(&reader.conn, statement, Some(&mut reader.known));
        reader.deadline.store(u64::MAX, Ordering::Relaxed);
        match read {
            Ok(rows) => {
                self.put_back(reader);
                Ok(Some(rows))
            }
            Err(Failed::Sqlite(err)) if outran_or_locked(&err) => {
                tracing::debug!(error = %err, "a read left the serving thread");
                self.put_back(reader);
                Ok(None)
            }
            // A connection that failed is not kept: the next read opens a fresh one.
            Err(Failed::Sqlite(err)) => Err(sqlite_error(err)),
            Err(Failed::Value(err)) => {
                self.put_back(reader);
                Err(err)
            }
        }
    }
}

/// Nanoseconds since `epoch`.
fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a read was interrupted by its budget or met a lock: worth reading again elsewhere.
fn outran_or_locked(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if matches!(
            e.code,
            ErrorCode::OperationInterrupted | ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
        )
    )
}

/// Why a read on the serving thread failed: SQLite's error, or a value it cannot bind.
pub(crate) enum Failed {
    Sqlite(rusqlite::Error),
    Value(PersistenceError),
}

impl From<rusqlite::Error> for Failed {
    fn from(err: rusqlite::Error) -> Self {
        Failed::Sqlite(err)
    }
}

/// The statement prepared on `conn` (kept for reuse), with its values as SQLite binds them and
/// the text prepared.
pub(crate) fn prepared<'c, 's>(
    conn: &'c rusqlite::Connection,
    statement: &'s Statement,
) -> Result<
    (
        rusqlite::CachedStatement<'c>,
        Vec<ToSqlOutput<'s>>,
        Cow<'s, str>,
    ),
    Failed,
> {
    let values = statement
        .values
        .as_ref()
        .map(|v| v.0.as_slice())
        .unwrap_or(&[]);
    let (sql, values) = inline_limit(&statement.sql, values);
    let params = values
        .iter()
        .map(sqlite_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failed::Value)?;
    Ok((conn.prepare_cached(&sql)?, params, sql))
}

/// The statement's rows, read on `conn`; with `known`, its rows start from the columns found
/// when it last ran, and keep those found now.
pub(crate) fn read_rows<T: ReadRow>(
    conn: &rusqlite::Connection,
    statement: &Statement,
    known: Option<&mut KnownColumns>,
) -> Result<Vec<T>, Failed> {
    let (mut prepared, params, sql) = prepared(conn, statement)?;
    let mut rows = prepared.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    let found = known
        .as_deref()
        .and_then(|k| k.of::<T>(&sql))
        .map(|(f, ())| f);
    let mut columns = Columns {
        found: found.map_or(Cow::Owned(Vec::new()), Cow::Borrowed),
        ..Columns::default()
    };
    while let Some(row) = rows.next()? {
        out.push(T::from_sqlite_at(row, &mut columns)?);
        columns.next_row();
    }
    // Found now, not kept from before: kept for the next run.
    let found = match columns.found {
        Cow::Owned(found) => Some(found),
        Cow::Borrowed(_) => None,
    };
    if let (Some(known), Some(found)) = (known, found) {
        known.keep::<T>(&sql, found, ());
    }
    Ok(out)
}

/// The statement with a bound `LIMIT` written into its text. SQLite's planner reads the value
/// of a bound LIMIT and so marks the statement to be prepared again whenever it is bound anew:
/// every page of a list was parsed and planned again (a quarter of its CPU). A page size is one
/// of a hundred numbers, so each keeps a prepared statement of its own.
fn inline_limit<'a>(sql: &'a str, values: &'a [Value]) -> (std::borrow::Cow<'a, str>, &'a [Value]) {
    if let Some(head) = sql.strip_suffix(" LIMIT ?")
        && let Some((Value::BigUnsigned(Some(n)), rest)) = values.split_last()
    {
        return (format!("{head} LIMIT {n}").into(), rest);
    }
    (sql.into(), values)
}

/// A statement's value as SQLite stores it, exactly as sqlx binds it: booleans as 0/1, UUIDs
/// as their 16 bytes, JSON as its text. A kind of value this service does not store is an
/// error, never a guess.
pub(crate) fn sqlite_value(value: &Value) -> Result<ToSqlOutput<'_>, PersistenceError> {
    use rusqlite::types::Value as Sql;
    // Text, bytes and UUIDs are bound borrowed, without a copy per read.
    fn borrowed(v: Option<ValueRef<'_>>) -> ToSqlOutput<'_> {
        ToSqlOutput::Borrowed(v.unwrap_or(ValueRef::Null))
    }
    let int = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
    let owned = match value {
        Value::String(v) => {
            return Ok(borrowed(v.as_deref().map(|s| ValueRef::Text(s.as_bytes()))));
        }
        Value::Bytes(v) => return Ok(borrowed(v.as_deref().map(ValueRef::Blob))),
        Value::Uuid(v) => return Ok(borrowed(v.as_ref().map(|u| ValueRef::Blob(u.as_bytes())))),
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(v) => match v {
            None => Sql::Null,
            Some(n) => Sql::Integer(i64::try_from(*n).map_err(|_| {
                PersistenceError::Db(DbErr::Custom(format!("{n} does not fit SQLite's integers")))
            })?),
        },
        Value::Float(v) => v.map_or(Sql::Null, |f| Sql::Real(f64::from(f))),
        Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
        Value::Char(v) => v.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Value::Json(v) => v.as_ref().map_or(Sql::Null, |j| Sql::Text(j.to_string())),
        Value::Enum(v) => match v {
            sea_orm::sea_query::OptionEnum::Some(e) => Sql::Text(e.value.to_string()),
            sea_orm::sea_query::OptionEnum::None(_) => Sql::Null,
        },
        other => {
            return Err(PersistenceError::Db(DbErr::Custom(format!(
                "a {other:?} value is not read on the SQLite read path"
            ))));
        }
    };
    Ok(ToSqlOutput::Owned(owned))
}

/// rusqlite's errors as the layer's: a busy or unopenable file is the database unavailable, a
/// unique key's collision a conflict, a damaged file or a value of the wrong type corrupt data,
/// anything else a database error.
pub(crate) fn sqlite_error(err: rusqlite::Error) -> PersistenceError {
    use rusqlite::ErrorCode;
    match &err {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen
            ) =>
        {
            PersistenceError::Unavailable(err.to_string())
        }
        // As sea-orm reports a unique key's collision (on a write of [`crate::write`]).
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            PersistenceError::Conflict(err.to_string())
        }
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) =>
        {
            PersistenceError::Corrupt(err.to_string())
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => {
            PersistenceError::Corrupt(err.to_string())
        }
        _ => PersistenceError::Db(DbErr::Custom(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use uuid::Uuid;

    use super::*;
    use crate::Database;

    crate::read_row! {
        #[derive(Debug, PartialEq)]
        struct Sample {
            id: Uuid,
            small: i16,
            big: i64,
            flag: bool,
            name: String,
            note: Option<String>,
            other: Option<Uuid>,
        }
    }

    async fn sqlite_file() -> (tempfile::TempDir, Database) {
        crate::db::scratch_sqlite_file(
            "CREATE TABLE sample (id uuid_text PRIMARY KEY, small smallint NOT NULL, \
             big bigint NOT NULL, flag boolean NOT NULL, name text NOT NULL, note text, \
             other uuid_text)",
        )
        .await
    }

    /// Rows written through sqlx (as every write is) read the same on both paths, with every
    /// kind of value bound as sqlx binds it: a UUID, a boolean, integers and text compared in
    /// the WHERE clause find the row on the rusqlite path too.
    #[tokio::test]
    async fn both_paths_read_what_sqlx_wrote_with_values_bound_alike() {
        let (_dir, db) = sqlite_file().await;
        assert!(
            db.reads().sqlite.is_some(),
            "a SQLite file reads on the request's thread"
        );
        let rows = [
            (
                Uuid::now_v7(),
                3_i16,
                1_i64 << 40,
                true,
                "é \u{1F600}",
                None,
                Some(Uuid::now_v7()),
            ),
            (Uuid::now_v7(), -2, -7, false, "b", Some("n"), None),
        ];
        for (id, small, big, flag, name, note, other) in &rows {
            let insert = Query::insert()
                .into_table(Alias::new("sample"))
                .columns(["id", "small", "big", "flag", "name", "note", "other"].map(Alias::new))
                .values_panic([
                    (*id).into(),
                    (*small).into(),
                    (*big).into(),
                    (*flag).into(),
                    (*name).into(),
                    note.map(str::to_owned).into(),
                    (*other).into(),
                ])
                .to_owned();
            db.writer().execute(&insert).await.unwrap();
        }
        for (id, small, big, flag, name, _, _) in &rows {
            let select = Query::select()
                .columns(["id", "small", "big", "flag", "name", "note", "other"].map(Alias::new))
                .from(Alias::new("sample"))
                .and_where(Expr::col(Alias::new("id")).eq(*id))
                .and_where(Expr::col(Alias::new("small")).eq(*small))
                .and_where(Expr::col(Alias::new("big")).eq(*big))
                .and_where(Expr::col(Alias::new("flag")).eq(*flag))
                .and_where(Expr::col(Alias::new("name")).eq(*name))
                .to_owned();
            let statement = DbBackend::Sqlite.build(&select);
            let on_thread: Vec<Sample> = db.reads().rows(statement.clone()).await.unwrap();
            let through_sqlx: Vec<Sample> = db.reader().rows(statement).await.unwrap();
            assert_eq!(on_thread.len(), 1);
            assert_eq!(on_thread, through_sqlx);
            assert_eq!(on_thread[0].id, *id);
        }
    }

    /// A read right after a commit sees it (each read takes a fresh snapshot), and a column
    /// the struct expects elsewhere is still found by its name.
    #[tokio::test]
    async fn a_read_sees_the_last_commit_and_finds_columns_by_name() {
        let (_dir, db) = sqlite_file().await;
        let reads = db.reads();
        let count = "SELECT name, other, note, flag, big, small, id FROM sample";
        let stmt = || Statement::from_string(DbBackend::Sqlite, count);
        assert!(reads.rows::<Sample>(stmt()).await.unwrap().is_empty());
        for i in 0..3_i64 {
            db.writer()
                .execute_unprepared(&format!(
                    "INSERT INTO sample VALUES (randomblob(16), 1, {i}, 1, 'x', NULL, NULL)"
                ))
                .await
                .unwrap();
            let read = reads.rows::<Sample>(stmt()).await.unwrap();
            assert_eq!(read.len(), usize::try_from(i + 1).unwrap());
        }
    }

    /// Where `T` found its columns in `sql`, as `known` keeps them.
    fn positions<'k, T: 'static>(known: &'k KnownColumns, sql: &str) -> Option<&'k [usize]> {
        known.of::<T>(sql).map(|(found, ())| found)
    }

    /// A statement's columns are found by name on its first run and kept, per row struct, for
    /// the next runs on the connection; a wildcard's are found on every run, since a change of
    /// schema can move them.
    #[tokio::test]
    async fn a_statement_s_columns_are_found_once_and_a_wildcard_s_on_every_run() {
        let (_dir, db) = sqlite_file().await;
        let insert = |table: &str| {
            format!(
                "INSERT INTO {table} (id, small, big, flag, name, note, other) \
                 VALUES (randomblob(16), 2, 3, 1, 'x', 'n', NULL)"
            )
        };
        db.writer()
            .execute_unprepared(&insert("sample"))
            .await
            .unwrap();
        let mut reader = db.reads().sqlite.unwrap().take().unwrap();
        let named = "SELECT name, other, note, flag, big, small, id FROM sample";
        let named = Statement::from_string(DbBackend::Sqlite, named);
        assert_eq!(positions::<Sample>(&reader.known, &named.sql), None);
        for _ in 0..2 {
            let rows = read_rows::<Sample>(&reader.conn, &named, Some(&mut reader.known));
            let rows = rows.ok().unwrap();
            assert_eq!(
                (rows.len(), rows[0].big, rows[0].note.as_deref()),
                (1, 3, Some("n"))
            );
            // Sample's fields in its order: id, small, big, flag, name, note, other.
            assert_eq!(
                positions::<Sample>(&reader.known, &named.sql),
                Some(&[6, 5, 4, 3, 0, 2, 1][..])
            );
        }
        let ids = read_rows::<Id>(&reader.conn, &named, Some(&mut reader.known));
        assert_eq!(ids.ok().unwrap().len(), 1);
        assert_eq!(positions::<Id>(&reader.known, &named.sql), Some(&[6][..]));
        assert!(positions::<Sample>(&reader.known, &named.sql).is_some());

        let every = Statement::from_string(DbBackend::Sqlite, "SELECT * FROM sample");
        let before = read_rows::<Sample>(&reader.conn, &every, Some(&mut reader.known));
        assert_eq!(before.ok().unwrap()[0].small, 2);
        assert_eq!(positions::<Sample>(&reader.known, &every.sql), None);
        // The same table with its columns in another order (as a migration by another
        // instance could leave it): `*` now means other positions.
        db.writer()
            .execute_unprepared(
                "DROP TABLE sample; CREATE TABLE sample (other uuid_text, note text, \
                 name text NOT NULL, flag boolean NOT NULL, big bigint NOT NULL, \
                 small smallint NOT NULL, id uuid_text PRIMARY KEY)",
            )
            .await
            .unwrap();
        db.writer()
            .execute_unprepared(&insert("sample"))
            .await
            .unwrap();
        let after = read_rows::<Sample>(&reader.conn, &every, Some(&mut reader.known));
        let after = after.ok().unwrap();
        assert_eq!(
            (after[0].small, after[0].big, after[0].name.as_str()),
            (2, 3, "x")
        );
    }

    /// A struct that read only some of its fields on the statement's last run (a row it
    /// carries only when found) finds the rest by name and keeps them all.
    #[test]
    fn columns_kept_from_a_run_that_read_fewer_fields_are_completed() {
        let names = ["standing", "found", "id", "title"];
        let name_of = |i: usize| names.get(i).copied();
        let kept = [0, 1];
        let mut columns = Columns {
            found: Cow::Borrowed(&kept[..]),
            ..Columns::default()
        };
        for name in names {
            columns.find(name, names.len(), name_of);
        }
        assert!(matches!(&columns.found, Cow::Owned(found) if found == &[0, 1, 2, 3]));
    }

    #[test]
    fn only_a_statement_that_names_its_columns_keeps_them() {
        assert!(names_its_columns(
            "SELECT a, (SELECT COUNT(*) FROM t) AS n FROM u"
        ));
        assert!(!names_its_columns("SELECT * FROM t"));
        assert!(!names_its_columns(r#"SELECT "t".*, "u"."a" FROM t, u"#));
        assert!(!names_its_columns("SELECT a * 2 AS b FROM t"));
    }

    /// A page read again is not prepared again: its LIMIT is part of the text, not a
    /// parameter that makes SQLite plan the statement anew on every run.
    #[tokio::test]
    async fn a_page_is_not_prepared_again_on_every_read() {
        let (_dir, db) = sqlite_file().await;
        let page = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("sample"))
            .and_where(Expr::col(Alias::new("big")).gt(1))
            .order_by(Alias::new("id"), sea_orm::sea_query::Order::Desc)
            .limit(11)
            .to_owned();
        let statement = DbBackend::Sqlite.build(&page);
        let values = statement
            .values
            .as_ref()
            .map_or(&[][..], |v| v.0.as_slice());
        let (sql, rest) = inline_limit(&statement.sql, values);
        assert!(sql.ends_with(" LIMIT 11"), "{sql}");
        assert_eq!(rest.len(), 1);
        let conn = db.reads().sqlite.unwrap().take().unwrap().conn;
        for _ in 0..3 {
            let rows = read_rows::<Id>(&conn, &statement, None).ok().unwrap();
            assert!(rows.iter().all(|r| !r.id.is_nil()));
        }
        let inlined = conn.prepare_cached(&sql).unwrap();
        assert_eq!(inlined.get_status(rusqlite::StatementStatus::RePrepare), 0);
        // Bound, the LIMIT makes SQLite prepare the statement again on every run: what the
        // inlining avoids (should SQLite stop doing so, this says the inlining can go).
        for _ in 0..3 {
            let mut bound = conn.prepare_cached(&statement.sql).unwrap();
            let rows = bound
                .query_map(rusqlite::params![1, 11], |_| Ok(()))
                .unwrap();
            assert_eq!(rows.count(), 0);
        }
        let bound = conn.prepare_cached(&statement.sql).unwrap();
        assert!(bound.get_status(rusqlite::StatementStatus::RePrepare) > 0);
    }

    crate::read_row! {
        struct Id {
            id: Uuid,
        }
    }

    /// A read that would hold the serving thread past its budget is interrupted there and
    /// answered through sea-orm instead, with the whole answer.
    #[tokio::test]
    async fn a_read_past_its_budget_is_answered_off_the_serving_thread() {
        let (_dir, db) = sqlite_file().await;
        let long = Statement::from_string(
            DbBackend::Sqlite,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) \
             SELECT COUNT(*) AS n FROM c",
        );
        let readers = db.reads().sqlite.unwrap();
        assert!(
            readers.rows::<N>(&long).unwrap().is_none(),
            "interrupted on the thread"
        );
        let answer: Vec<N> = db.reads().rows(long).await.unwrap();
        assert_eq!(
            answer.into_iter().map(|r| r.n).collect::<Vec<_>>(),
            [3_000_000]
        );
        // The interrupted connection was kept and reads again at once.
        let short = Statement::from_string(DbBackend::Sqlite, "SELECT 7 AS n");
        let seven = readers.rows::<N>(&short).unwrap().unwrap();
        assert_eq!(seven[0].n, 7);
    }

    /// Two structs read from one row each find their own column of a name both select.
    #[tokio::test]
    async fn a_pair_of_structs_reads_each_its_own_column_of_a_shared_name() {
        let (_dir, db) = sqlite_file().await;
        let both = Statement::from_string(DbBackend::Sqlite, "SELECT 1 AS n, 2 AS n");
        let rows: Vec<(N, N)> = db.reads().rows(both).await.unwrap();
        assert_eq!((rows[0].0.n, rows[0].1.n), (1, 2));
    }

    crate::read_row! {
        struct N {
            n: i64,
        }
    }

    crate::read_row! {
        struct Two {
            n: i64,
            m: i64,
        }
    }

    /// The rows after the first read the columns the first one found by name: each row its own
    /// values, in a statement whose columns stand in another order than the struct's fields,
    /// and for a pair of structs that select the same name.
    #[tokio::test]
    async fn every_row_reads_its_own_values_at_the_columns_the_first_found() {
        let (_dir, db) = sqlite_file().await;
        let rows_of = |sql: &str| {
            Statement::from_string(
                DbBackend::Sqlite,
                format!("WITH v(x) AS (VALUES (1), (2), (3)) SELECT {sql} FROM v ORDER BY x"),
            )
        };
        let rows: Vec<Two> = db
            .reads()
            .rows(rows_of("x * 10 AS m, x AS n"))
            .await
            .unwrap();
        let read: Vec<(i64, i64)> = rows.iter().map(|t| (t.n, t.m)).collect();
        assert_eq!(read, [(1, 10), (2, 20), (3, 30)]);
        let pairs: Vec<(Two, N)> = db
            .reads()
            .rows(rows_of("x AS n, x * 10 AS m, x * 100 AS n"))
            .await
            .unwrap();
        let read: Vec<(i64, i64, i64)> = pairs.iter().map(|(t, n)| (t.n, t.m, n.n)).collect();
        assert_eq!(read, [(1, 10, 100), (2, 20, 200), (3, 30, 300)]);
    }

    /// A value of a kind the service never stores is refused, not bound as something else.
    #[test]
    fn an_unknown_kind_of_value_is_an_error() {
        assert!(sqlite_value(&Value::TimeDate(None)).is_err());
        assert!(sqlite_value(&Value::BigUnsigned(Some(u64::MAX))).is_err());
    }
}
