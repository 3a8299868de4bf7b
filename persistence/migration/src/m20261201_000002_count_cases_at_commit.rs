//! PostgreSQL counts a transaction's cases at its commit (issue 17).
//!
//! The running counts of [`super::m20261121_000006_create_case_counts`] are rows per customer
//! (and per partner recorded on its cases), status and severity. Counted by plain row triggers,
//! a filing locked its count rows at its `INSERT` and held them through the rest of its writes
//! (partners, keyword entry, audit event, deliveries, outbox) to its commit: two filings of the
//! same severity for one customer ran one after the other. As deferred constraint triggers the
//! same functions run when the transaction commits, so the rows are held only from there to
//! the end of the commit, and filings of one customer overlap in everything else (they share
//! the customer's lock, see `persistence::repo::locks`).
//!
//! The counts stay exact: each change still applies its own +1 and -1, in the transaction that
//! makes it. Within that transaction, though, the counts show its own changes only at its end;
//! nothing reads them there. Filings update their rows in one order (the customer's row, then
//! the partners' in domain order), so two of them never wait on each other in a cycle. SQLite
//! has one writer at a time: nothing to change there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A count trigger as migration 6 created it; only its kind and timing change here.
struct Trigger {
    name: &'static str,
    table: &'static str,
    events: &'static str,
    /// For an update: only a change of what is counted counts.
    condition: &'static str,
    /// Its function, unchanged.
    function: &'static str,
}

const TRIGGERS: &[Trigger] = &[
    Trigger {
        name: "partner_case_counts_insert_delete",
        table: "case_access",
        events: "AFTER INSERT OR DELETE ON case_access",
        condition: "",
        function: "partner_case_counts_apply()",
    },
    Trigger {
        name: "partner_case_counts_update",
        table: "case_access",
        events: "AFTER UPDATE OF domain_id, customer_id, status, severity ON case_access",
        condition: "WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id \
                 OR OLD.customer_id IS DISTINCT FROM NEW.customer_id \
                 OR OLD.status IS DISTINCT FROM NEW.status \
                 OR OLD.severity IS DISTINCT FROM NEW.severity)",
        function: "partner_case_counts_apply()",
    },
    Trigger {
        name: "customer_case_counts_insert_delete",
        table: "cases",
        events: "AFTER INSERT OR DELETE ON cases",
        condition: "",
        function: "customer_case_counts_apply()",
    },
    Trigger {
        name: "customer_case_counts_update",
        table: "cases",
        events: "AFTER UPDATE OF customer_id, status, severity ON cases",
        condition: "WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id \
                 OR OLD.status IS DISTINCT FROM NEW.status \
                 OR OLD.severity IS DISTINCT FROM NEW.severity)",
        function: "customer_case_counts_apply()",
    },
];

async fn recreate(manager: &SchemaManager<'_>, at_commit: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for t in TRIGGERS {
        db.execute_unprepared(&format!("DROP TRIGGER {} ON {}", t.name, t.table))
            .await?;
        let (kind, timing) = if at_commit {
            ("CONSTRAINT TRIGGER", "DEFERRABLE INITIALLY DEFERRED")
        } else {
            ("TRIGGER", "")
        };
        db.execute_unprepared(&format!(
            "CREATE {kind} {} {} {timing} FOR EACH ROW {} EXECUTE FUNCTION {}",
            t.name, t.events, t.condition, t.function
        ))
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, false).await
    }
}
