//! PostgreSQL keeps a partner's running count of the cases it sees too, as rows it only adds
//! (issue 17).
//!
//! A partner's list carries its exact `total_size`. On PostgreSQL that was a sum of
//! `partner_case_counts` over the customers the partner currently sees: for a reseller at a
//! million cases, 631 rows hash-joined with its 100 customers, 0.23 ms of the first page's
//! 0.41 ms of execution (bench/RESULTS.md, twelfth and sixteenth sittings). SQLite has kept that
//! sum per partner, status and severity since `m20261130_000008_count_seen_cases`, as one row
//! per key that its triggers update. PostgreSQL could not: several transactions write at once,
//! and a row per partner would be shared by every customer of the partner, so that a
//! reseller's filings would queue on it and two changes could lock its rows in opposite orders.
//!
//! Here the same sum is kept as rows that are only ever inserted: each change of either side
//! adds a row holding its change (`n` may be negative), and the sum of a partner's rows for a
//! status and severity is the count. Nothing is updated in place, so no write waits on another
//! and no lock order changes. Housekeeping folds the rows of each key into one
//! (`casebridge_persistence::repo::housekeeping::fold_seen_counts`), in one statement that
//! deletes them and inserts their sum: a reader's snapshot sees either the rows or their sum,
//! and rows added meanwhile are not in the statement's snapshot, so they stay.
//!
//! The triggers are those of the SQLite migration, written in PL/pgSQL, inserting instead of
//! upserting. What keeps them exact with concurrent transactions is the lock order of
//! `persistence::repo::locks`: every change that moves either side (a case's counts, a
//! customer's reseller or access, a support partnership) holds its customer's row lock, a
//! filing in share mode and the others exclusively, until it commits; so a change of the
//! customer's standing and a change of its counts never run at once, and each trigger's
//! statement reads what the other committed (read committed takes a snapshot per statement).
//! Concurrent filings only add their own changes, each in a row of its own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Whether partner `d` sees customer `c` by management: its reseller with access granted, or an
/// active support partner (the condition the lists' query applies). PL/pgSQL, not SQL: a SQL
/// function that is not inlined plans its body on every call, and a filing calls this once per
/// partner it records; PL/pgSQL keeps the plans of its statements for the session.
const SEES: &str = "CREATE FUNCTION partner_sees_customer(d uuid, c uuid) RETURNS boolean \
     LANGUAGE plpgsql STABLE AS $$ \
     BEGIN \
       RETURN EXISTS (SELECT 1 FROM customers sc WHERE sc.id = c \
                        AND sc.reseller_domain_id = d AND sc.reseller_access = 'granted') \
           OR EXISTS (SELECT 1 FROM support_partners sp WHERE sp.customer_id = c \
                        AND sp.partner_domain_id = d); \
     END $$";

/// Whether `d` resells to `c` with access granted.
const RESELLS: &str = "CREATE FUNCTION partner_resells_to(d uuid, c uuid) RETURNS boolean \
     LANGUAGE plpgsql STABLE AS $$ \
     BEGIN \
       RETURN EXISTS (SELECT 1 FROM customers sc WHERE sc.id = c \
                        AND sc.reseller_domain_id = d AND sc.reseller_access = 'granted'); \
     END $$";

/// Adds partner `d`'s counts for customer `c`, each times `sign`, to the sum.
const ADD_COUNTS: &str = "CREATE FUNCTION partner_seen_case_counts_add(d uuid, c uuid, sign bigint) \
     RETURNS void LANGUAGE plpgsql AS $$ \
     BEGIN \
       INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
       SELECT pc.domain_id, pc.status, pc.severity, sign * pc.n FROM partner_case_counts pc \
       WHERE pc.domain_id = d AND pc.customer_id = c AND pc.n <> 0; \
     END $$";

/// A `partner_case_counts` row changed: its change enters the sum when its customer is seen.
const COUNTS_CHANGED: &str = "CREATE FUNCTION partner_seen_case_counts_follow_counts() \
     RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP = 'UPDATE' AND OLD.domain_id = NEW.domain_id \
          AND OLD.customer_id = NEW.customer_id AND OLD.status = NEW.status \
          AND OLD.severity = NEW.severity THEN \
         IF NEW.n <> OLD.n AND partner_sees_customer(NEW.domain_id, NEW.customer_id) THEN \
           INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
           VALUES (NEW.domain_id, NEW.status, NEW.severity, NEW.n - OLD.n); \
         END IF; \
         RETURN NULL; \
       END IF; \
       IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.n <> 0 \
          AND partner_sees_customer(OLD.domain_id, OLD.customer_id) THEN \
         INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
         VALUES (OLD.domain_id, OLD.status, OLD.severity, -OLD.n); \
       END IF; \
       IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.n <> 0 \
          AND partner_sees_customer(NEW.domain_id, NEW.customer_id) THEN \
         INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
         VALUES (NEW.domain_id, NEW.status, NEW.severity, NEW.n); \
       END IF; \
       RETURN NULL; \
     END $$";

/// A customer's reseller or its access changed: the old reseller's counts for the customer
/// leave the sum when it stops seeing it, the new reseller's enter when it starts (a support
/// partnership of the same domain keeps it seeing the customer either way).
const RESELLER_CHANGED: &str = "CREATE FUNCTION partner_seen_case_counts_follow_reseller() \
     RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF OLD.reseller_access = 'granted' \
          AND NOT (NEW.reseller_domain_id IS NOT DISTINCT FROM OLD.reseller_domain_id \
                   AND NEW.reseller_access = 'granted') \
          AND NOT EXISTS (SELECT 1 FROM support_partners sp WHERE sp.customer_id = OLD.id \
                          AND sp.partner_domain_id = OLD.reseller_domain_id) THEN \
         PERFORM partner_seen_case_counts_add(OLD.reseller_domain_id, OLD.id, -1); \
       END IF; \
       IF NEW.reseller_access = 'granted' \
          AND NOT (OLD.reseller_domain_id IS NOT DISTINCT FROM NEW.reseller_domain_id \
                   AND OLD.reseller_access = 'granted') \
          AND NOT EXISTS (SELECT 1 FROM support_partners sp WHERE sp.customer_id = NEW.id \
                          AND sp.partner_domain_id = NEW.reseller_domain_id) THEN \
         PERFORM partner_seen_case_counts_add(NEW.reseller_domain_id, NEW.id, 1); \
       END IF; \
       RETURN NULL; \
     END $$";

/// A support partnership ended, started or was rewritten: the partner's counts for the
/// customer leave or enter the sum, unless it resells to the customer with access granted.
const PARTNERSHIP_CHANGED: &str = "CREATE FUNCTION partner_seen_case_counts_follow_partners() \
     RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP IN ('UPDATE', 'DELETE') \
          AND NOT partner_resells_to(OLD.partner_domain_id, OLD.customer_id) THEN \
         PERFORM partner_seen_case_counts_add(OLD.partner_domain_id, OLD.customer_id, -1); \
       END IF; \
       IF TG_OP IN ('UPDATE', 'INSERT') \
          AND NOT partner_resells_to(NEW.partner_domain_id, NEW.customer_id) THEN \
         PERFORM partner_seen_case_counts_add(NEW.partner_domain_id, NEW.customer_id, 1); \
       END IF; \
       RETURN NULL; \
     END $$";

/// The triggers; creating each takes its table's `SHARE ROW EXCLUSIVE` lock to the end of the
/// migration, so no write to those tables commits between them and the sum made below.
const TRIGGERS: &[&str] = &[
    "CREATE TRIGGER partner_seen_case_counts_counts \
     AFTER INSERT OR UPDATE OR DELETE ON partner_case_counts FOR EACH ROW \
     EXECUTE FUNCTION partner_seen_case_counts_follow_counts()",
    "CREATE TRIGGER partner_seen_case_counts_reseller \
     AFTER UPDATE OF reseller_domain_id, reseller_access ON customers FOR EACH ROW \
     WHEN (OLD.reseller_domain_id IS DISTINCT FROM NEW.reseller_domain_id \
       OR OLD.reseller_access IS DISTINCT FROM NEW.reseller_access) \
     EXECUTE FUNCTION partner_seen_case_counts_follow_reseller()",
    "CREATE TRIGGER partner_seen_case_counts_partners \
     AFTER INSERT OR DELETE ON support_partners FOR EACH ROW \
     EXECUTE FUNCTION partner_seen_case_counts_follow_partners()",
    "CREATE TRIGGER partner_seen_case_counts_partner_moved \
     AFTER UPDATE OF customer_id, partner_domain_id ON support_partners FOR EACH ROW \
     WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id \
       OR OLD.partner_domain_id IS DISTINCT FROM NEW.partner_domain_id) \
     EXECUTE FUNCTION partner_seen_case_counts_follow_partners()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in [
            "CREATE TABLE partner_seen_case_counts (\
               domain_id uuid NOT NULL, status varchar NOT NULL, severity smallint NOT NULL, \
               n bigint NOT NULL)",
            "CREATE INDEX ix_partner_seen_case_counts \
             ON partner_seen_case_counts (domain_id, status, severity) INCLUDE (n)",
            SEES,
            RESELLS,
            ADD_COUNTS,
            COUNTS_CHANGED,
            RESELLER_CHANGED,
            PARTNERSHIP_CHANGED,
        ]
        .into_iter()
        .chain(TRIGGERS.iter().copied())
        {
            db.execute_unprepared(sql).await?;
        }
        // What exists already is summed once; from here on the triggers add to the sum.
        db.execute_unprepared(
            "INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
             SELECT pc.domain_id, pc.status, pc.severity, SUM(pc.n) \
             FROM partner_case_counts pc \
             WHERE partner_sees_customer(pc.domain_id, pc.customer_id) \
             GROUP BY pc.domain_id, pc.status, pc.severity HAVING SUM(pc.n) <> 0",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in [
            "DROP TRIGGER IF EXISTS partner_seen_case_counts_counts ON partner_case_counts",
            "DROP TRIGGER IF EXISTS partner_seen_case_counts_reseller ON customers",
            "DROP TRIGGER IF EXISTS partner_seen_case_counts_partners ON support_partners",
            "DROP TRIGGER IF EXISTS partner_seen_case_counts_partner_moved ON support_partners",
            "DROP FUNCTION IF EXISTS partner_seen_case_counts_follow_counts()",
            "DROP FUNCTION IF EXISTS partner_seen_case_counts_follow_reseller()",
            "DROP FUNCTION IF EXISTS partner_seen_case_counts_follow_partners()",
            "DROP FUNCTION IF EXISTS partner_seen_case_counts_add(uuid, uuid, bigint)",
            "DROP FUNCTION IF EXISTS partner_resells_to(uuid, uuid)",
            "DROP FUNCTION IF EXISTS partner_sees_customer(uuid, uuid)",
            "DROP TABLE IF EXISTS partner_seen_case_counts",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
