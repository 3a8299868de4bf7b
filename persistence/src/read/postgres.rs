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

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use super::{Columns, ReadRow};
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
}

impl managed::Manager for Connector {
    type Type = PgReader;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgReader, sqlx::Error> {
        Ok(PgReader {
            conn: PgConnection::connect_with(&self.options).await?,
            settled: true,
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
    /// column found by name once per statement ([`Columns`]).
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
                let mut columns = Columns::default();
                rows.iter()
                    .map(|row| {
                        let read = T::from_pg_at(row, &mut columns).map_err(query_error);
                        columns.next_row();
                        read
                    })
                    .collect()
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

/// sqlx's error as sea-orm reports a failed query, and so as the layer's.
fn query_error(err: sqlx::Error) -> PersistenceError {
    PersistenceError::from(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
}
