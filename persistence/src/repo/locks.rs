//! Row locks a write transaction takes before it reads what it decides on, always in one
//! canonical order so that two transactions can never wait on each other in a cycle:
//!
//! 1. the idempotency key of the request (an advisory lock: the row does not exist yet);
//! 2. the domain whose users or roles change;
//! 3. the customer whose relationships or cases change (every case write locks its customer
//!    first, so the customer's authorisation cannot change under a decision, and a change to
//!    its cases' counts is made by one transaction at a time). Filings share that lock
//!    (`customers::share_customer`): they only add to the counts, and PostgreSQL applies
//!    their additions at the commit (migration `m20261201_000002_count_cases_at_commit`), each
//!    filing to its customer's row and then to its partners' rows in domain order, so that
//!    filings of one customer never wait on each other in a cycle;
//! 4. then the rows the transaction writes.
//!
//! On PostgreSQL these are `FOR NO KEY UPDATE` row locks (they do not block the foreign-key
//! checks of concurrent inserts), a filing's `FOR SHARE`, and transaction-scoped advisory
//! locks. On SQLite they are no-ops:
//! every write transaction already holds the database's one write lock from its first statement
//! (`BEGIN IMMEDIATE` on the single writer connection).

use casebridge_domain::{CaseId, CustomerId, DomainId, UserId};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::PersistenceError;
use crate::read::Reads;

async fn lock(
    conn: &impl ConnectionTrait,
    sql: &str,
    value: impl Into<Value>,
) -> Result<(), PersistenceError> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [value.into()],
    ))
    .await?;
    Ok(())
}

/// Takes this user's idempotency key for the rest of the transaction, waiting up to `wait` while
/// another transaction holds it; `false` when it was still held then. Whoever takes the key
/// after the first request committed finds that request's stored answer.
pub async fn idempotency_key(
    conn: &impl Reads,
    user: UserId,
    key: &str,
    wait: std::time::Duration,
) -> Result<bool, PersistenceError> {
    if conn.backend() != DbBackend::Postgres {
        return Ok(true);
    }
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS taken",
        [format!("idempotency:{user}:{key}").into()],
    );
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let taken = conn
            .rows::<Taken>(statement.clone())
            .await?
            .first()
            .is_some_and(|row| row.taken);
        if taken {
            return Ok(true);
        }
        if tokio::time::Instant::now() + pause > deadline {
            return Ok(false);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

crate::read_row! {
    /// Whether an advisory lock was taken.
    struct Taken {
        taken: bool,
    }
}

/// Locks a domain: changes to its users and roles, and the rules over all of them (it keeps an
/// active super admin), are decided one transaction at a time.
pub async fn domain(conn: &impl ConnectionTrait, id: DomainId) -> Result<(), PersistenceError> {
    lock(
        conn,
        "SELECT id FROM domains WHERE id = $1 FOR NO KEY UPDATE",
        id.as_uuid(),
    )
    .await
}

/// Locks a customer: its relationships, its authorisation of its reseller and the writes to its
/// cases are decided one transaction at a time.
pub async fn customer(conn: &impl ConnectionTrait, id: CustomerId) -> Result<(), PersistenceError> {
    lock(
        conn,
        "SELECT id FROM customers WHERE id = $1 FOR NO KEY UPDATE",
        id.as_uuid(),
    )
    .await
}

/// Locks the customer of a case (a case never changes customers); nothing when there is no such
/// case.
pub async fn customer_of_case(
    conn: &impl ConnectionTrait,
    id: CaseId,
) -> Result<(), PersistenceError> {
    lock(
        conn,
        "SELECT id FROM customers WHERE id = (SELECT customer_id FROM cases WHERE id = $1) \
         FOR NO KEY UPDATE",
        id.as_uuid(),
    )
    .await
}

/// Takes the deployment-wide lock of a periodic task (`key` names it) for the rest of the
/// transaction, without waiting: `false` when another instance runs the task now. Always
/// `true` on SQLite, where one process holds the database.
pub async fn try_task(conn: &impl ConnectionTrait, key: i64) -> Result<bool, PersistenceError> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(true);
    }
    Ok(conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS taken",
            [key.into()],
        ))
        .await?
        .map(|r| r.try_get::<bool>("", "taken"))
        .transpose()?
        .unwrap_or(false))
}
