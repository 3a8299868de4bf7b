//! PostgreSQL reads outside transactions, on connections of their own pool.
//!
//! sqlx's pool tests every connection it takes back: when a pooled connection is dropped it
//! spawns a task that sends `Sync` and waits for `ReadyForQuery` before the connection may be
//! used again (sqlx 0.9 offers no way to skip it; its `after_release` hook runs before the ping).
//! On `GET /v1/cases/{id}`, whose one statement is all the request asks of PostgreSQL, that is
//! a second round trip per request, with its wake-ups on both sides: without it the same build
//! answered 5,500 req/s instead of 3,936 at 100,000 cases (bench/RESULTS.md).
//!
//! The hot reads ([`crate::Database::reads`]) therefore take sqlx `PgConnection`s from a
//! [deadpool](deadpool::managed) pool whose [`Connector`] decides when a connection needs a
//! look before reuse: only when it sat idle for [`PING_WHEN_IDLE_FOR`] (a restart, a proxy or a
//! firewall may have cut it meanwhile). A connection whose read was cut short (the request
//! was dropped mid-statement) or that lost its server is never handed out again. Everything
//! else, and every transaction, still goes through sea-orm's pool.
//!
//! A connection reused unchecked is safe for these reads: each runs outside a transaction,
//! and sqlx-postgres reads whatever an earlier statement left unread before it sends the next.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sea_orm::sqlx::postgres::types::Oid;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, Column as _, ConnectOptions as _, Connection as _, Row as _};
use sea_orm::{DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use super::{Columns, KnownColumns, ReadRow};
use crate::PersistenceError;
use crate::db::PING_WHEN_IDLE_FOR;

/// The pool of connections the hot reads run on.
#[derive(Debug, Clone)]
pub struct PgReaders {
    pool: managed::Pool<Connector>,
}

/// Opens the pool's connections and decides whether one may be used again.
#[derive(Debug)]
pub(crate) struct Connector {
    options: PgConnectOptions,
}

/// A connection, and whether its last read ran to its end.
#[derive(Debug)]
pub(crate) struct PgReader {
    conn: PgConnection,
    /// False from a read's start until its answer was read whole (or PostgreSQL refused the
    /// statement): a connection dropped in between is in an unknown state and is not reused.
    settled: bool,
    /// The columns each row struct found in each statement, with their types as PostgreSQL
    /// described them: the statement's next run reads at those columns, unchecked, if
    /// PostgreSQL describes the same types there (a migration by another instance can change
    /// a column's type under the same text, and sqlx prepares a statement again once it has
    /// left its cache).
    known: KnownColumns<Box<[Oid]>>,
}

impl managed::Manager for Connector {
    type Type = PgReader;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgReader, sqlx::Error> {
        Ok(PgReader {
            conn: PgConnection::connect_with(&self.options).await?,
            settled: true,
            known: KnownColumns::default(),
        })
    }

    async fn recycle(
        &self,
        reader: &mut PgReader,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        if !reader.settled {
            return Err(RecycleError::message(
                "a read on this connection was cut short or lost its server",
            ));
        }
        if metrics.last_used() >= PING_WHEN_IDLE_FOR {
            reader.conn.ping().await?;
        }
        Ok(())
    }
}

impl PgReaders {
    /// A pool of at most `max` connections opened with `options`; a read waits at most
    /// `timeout` for one (and as long for it to open).
    pub(crate) fn new(
        url: &str,
        session: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
        max: usize,
        timeout: Duration,
    ) -> Result<Self, PersistenceError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| PersistenceError::Config(format!("invalid PostgreSQL URL: {e}")))?
            .disable_statement_logging();
        let pool = managed::Pool::builder(Connector {
            options: session(options),
        })
        .max_size(max.max(1))
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| PersistenceError::Config(e.to_string()))?;
        Ok(Self { pool })
    }

    /// Closes the pool: reads still under way finish, later ones fail; the idle connections
    /// say goodbye to the server.
    pub(crate) async fn close(&self) {
        let idle = self.pool.retain(|_, _| false).removed;
        self.pool.close();
        for reader in idle {
            let _ = reader.conn.close().await;
        }
    }

    /// The statement's rows, as sea-orm would read them (the same values bound the same way,
    /// the statement prepared once per connection, the same values decoded), each field's
    /// column found by name and type-checked once per statement and connection
    /// ([`Columns`], [`KnownColumns`]).
    pub(crate) async fn rows<T: ReadRow>(
        &self,
        statement: &Statement,
    ) -> Result<Vec<T>, PersistenceError> {
        let mut reader = self
            .pool
            .get()
            .await
            .map_err(|e| PersistenceError::Unavailable(e.to_string()))?;
        reader.settled = false;
        let values = statement
            .values
            .clone()
            .unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
        let fetched = sqlx::query_with(
            sqlx::AssertSqlSafe(statement.sql.as_str()),
            SqlxValues(values),
        )
        .fetch_all(&mut reader.conn)
        .await;
        match fetched {
            Ok(rows) => {
                reader.settled = true;
                let reader = &mut *reader;
                let sql = statement.sql.as_str();
                let kept = rows
                    .first()
                    .and_then(|first| known_at::<T>(&reader.known, sql, first));
                let mut columns = Columns {
                    found: kept.map_or(Cow::Owned(Vec::new()), Cow::Borrowed),
                    ..Columns::default()
                };
                let read = rows
                    .iter()
                    .map(|row| {
                        let read = T::from_pg_at(row, &mut columns).map_err(query_error);
                        columns.next_row();
                        read
                    })
                    .collect::<Result<Vec<T>, _>>()?;
                // Found now, not kept from before: kept for the next run, with their types.
                if let (Cow::Owned(found), Some(first)) = (columns.found, rows.first())
                    && let Some(types) = types_at(first, &found)
                {
                    reader.known.keep::<T>(sql, found, types);
                }
                Ok(read)
            }
            Err(err) => {
                let err = query_error(err);
                // A refused statement leaves the connection as good as before; a lost one is
                // dropped when it comes back (see `Connector::recycle`).
                reader.settled = !matches!(err, PersistenceError::Unavailable(_));
                Err(err)
            }
        }
    }
}

/// The columns `T` found in `sql` on this connection's last run, if `row` has the same types
/// there.
fn known_at<'k, T: 'static>(
    known: &'k KnownColumns<Box<[Oid]>>,
    sql: &str,
    row: &PgRow,
) -> Option<&'k [usize]> {
    let (found, types) = known.of::<T>(sql)?;
    let columns = row.columns();
    let same = found.len() == types.len()
        && found
            .iter()
            .zip(types)
            .all(|(&i, &ty)| columns.get(i).and_then(|c| c.type_info().oid()) == Some(ty));
    same.then_some(found)
}

/// The type of each of `row`'s columns `at`; `None` if one has no known type id.
fn types_at(row: &PgRow, at: &[usize]) -> Option<Box<[Oid]>> {
    let columns = row.columns();
    at.iter()
        .map(|&i| columns.get(i)?.type_info().oid())
        .collect()
}

/// sqlx's error as sea-orm reports a failed query, and so as the layer's.
fn query_error(err: sqlx::Error) -> PersistenceError {
    PersistenceError::from(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sea_orm::DbBackend;

    use super::*;

    crate::read_row! {
        #[derive(Debug, PartialEq)]
        struct Named {
            note: Option<String>,
            name: String,
            big: i64,
        }
    }

    /// A statement's columns are found by name and type-checked on its first run, and kept with
    /// their types for the next runs on the connection, which read at them without names as
    /// long as PostgreSQL describes the same types there. Runs when `TEST_DATABASE_URL` names
    /// PostgreSQL (CI's second pass); there is no PostgreSQL to read otherwise.
    #[tokio::test]
    async fn a_statement_s_columns_are_kept_with_their_types_and_used_while_those_hold() {
        let Some(url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
        else {
            return;
        };
        // One connection, so that every read below runs on the one whose columns are looked at.
        let readers = &PgReaders::new(&url, |o| o, 1, Duration::from_secs(10)).unwrap();
        let sql = "SELECT 'x'::text AS name, 'y'::text AS note, 3::int8 AS big";
        let statement = Statement::from_string(DbBackend::Postgres, sql);
        let (text, int8) = (Oid(25), Oid(20));
        let statement = &statement;
        let read = || async { readers.rows::<Named>(statement).await.unwrap().remove(0) };
        let kept = || async move {
            let reader = readers.pool.get().await.unwrap();
            reader
                .known
                .of::<Named>(sql)
                .map(|(found, types)| (found.to_vec(), types.to_vec()))
        };
        let plant = |found: Vec<usize>, types: Vec<Oid>| async move {
            let mut reader = readers.pool.get().await.unwrap();
            reader.known.keep::<Named>(sql, found, types.into());
        };

        let expected = Named {
            note: Some("y".to_owned()),
            name: "x".to_owned(),
            big: 3,
        };
        assert_eq!(read().await, expected);
        assert_eq!(kept().await, Some((vec![1, 0, 2], vec![text, text, int8])));

        // Kept positions are read without names: note's and name's swapped (same type) read
        // swapped.
        plant(vec![0, 1, 2], vec![text, text, int8]).await;
        let swapped = read().await;
        assert_eq!(
            (swapped.note.as_deref(), swapped.name.as_str()),
            (Some("x"), "y")
        );

        // Kept with a type PostgreSQL no longer describes there (as after a migration changed
        // it): found by name and checked again, and kept as they are now.
        plant(vec![0, 1, 2], vec![text, text, Oid(23)]).await;
        assert_eq!(read().await, expected);
        assert_eq!(kept().await, Some((vec![1, 0, 2], vec![text, text, int8])));
    }
}
