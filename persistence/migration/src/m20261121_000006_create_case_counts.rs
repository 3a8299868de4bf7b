//! Running counts of cases, so that a list's `total_size` costs what a page costs instead of a
//! walk over every matching case (at a million cases a partner's count visited ten thousand
//! rows on every request).
//!
//! - `partner_case_counts`: per partner domain recorded on cases, per customer, status and
//!   severity: what a partner's lists sum over the customers it currently sees.
//! - `customer_case_counts`: per customer, status and severity: what a customer's and the
//!   provider's lists sum.
//!
//! Triggers keep them exact in the same transaction as every write to `case_access` and
//! `cases`, whatever writes them (the API, imports, seeding). Backend-specific SQL (the
//! triggers) is isolated here and named.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerCaseCounts {
    Table,
    DomainId,
    CustomerId,
    Status,
    Severity,
    N,
}

#[derive(DeriveIden)]
enum CustomerCaseCounts {
    Table,
    CustomerId,
    Status,
    Severity,
    N,
}

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER partner_case_counts_insert AFTER INSERT ON case_access BEGIN \
       INSERT INTO partner_case_counts (domain_id, customer_id, status, severity, n) \
       VALUES (NEW.domain_id, NEW.customer_id, NEW.status, NEW.severity, 1) \
       ON CONFLICT (domain_id, customer_id, status, severity) DO UPDATE SET n = n + 1; \
     END",
    "CREATE TRIGGER partner_case_counts_delete AFTER DELETE ON case_access BEGIN \
       UPDATE partner_case_counts SET n = n - 1 WHERE domain_id = OLD.domain_id \
       AND customer_id = OLD.customer_id AND status = OLD.status AND severity = OLD.severity; \
     END",
    "CREATE TRIGGER partner_case_counts_update \
     AFTER UPDATE OF domain_id, customer_id, status, severity ON case_access \
     WHEN OLD.domain_id IS NOT NEW.domain_id OR OLD.customer_id IS NOT NEW.customer_id \
       OR OLD.status IS NOT NEW.status OR OLD.severity IS NOT NEW.severity BEGIN \
       UPDATE partner_case_counts SET n = n - 1 WHERE domain_id = OLD.domain_id \
       AND customer_id = OLD.customer_id AND status = OLD.status AND severity = OLD.severity; \
       INSERT INTO partner_case_counts (domain_id, customer_id, status, severity, n) \
       VALUES (NEW.domain_id, NEW.customer_id, NEW.status, NEW.severity, 1) \
       ON CONFLICT (domain_id, customer_id, status, severity) DO UPDATE SET n = n + 1; \
     END",
    "CREATE TRIGGER customer_case_counts_insert AFTER INSERT ON cases BEGIN \
       INSERT INTO customer_case_counts (customer_id, status, severity, n) \
       VALUES (NEW.customer_id, NEW.status, NEW.severity, 1) \
       ON CONFLICT (customer_id, status, severity) DO UPDATE SET n = n + 1; \
     END",
    "CREATE TRIGGER customer_case_counts_delete AFTER DELETE ON cases BEGIN \
       UPDATE customer_case_counts SET n = n - 1 WHERE customer_id = OLD.customer_id \
       AND status = OLD.status AND severity = OLD.severity; \
     END",
    "CREATE TRIGGER customer_case_counts_update \
     AFTER UPDATE OF customer_id, status, severity ON cases \
     WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.status IS NOT NEW.status \
       OR OLD.severity IS NOT NEW.severity BEGIN \
       UPDATE customer_case_counts SET n = n - 1 WHERE customer_id = OLD.customer_id \
       AND status = OLD.status AND severity = OLD.severity; \
       INSERT INTO customer_case_counts (customer_id, status, severity, n) \
       VALUES (NEW.customer_id, NEW.status, NEW.severity, 1) \
       ON CONFLICT (customer_id, status, severity) DO UPDATE SET n = n + 1; \
     END",
];

const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION partner_case_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP IN ('UPDATE', 'DELETE') THEN \
         UPDATE partner_case_counts SET n = n - 1 WHERE domain_id = OLD.domain_id \
         AND customer_id = OLD.customer_id AND status = OLD.status AND severity = OLD.severity; \
       END IF; \
       IF TG_OP IN ('UPDATE', 'INSERT') THEN \
         INSERT INTO partner_case_counts (domain_id, customer_id, status, severity, n) \
         VALUES (NEW.domain_id, NEW.customer_id, NEW.status, NEW.severity, 1) \
         ON CONFLICT (domain_id, customer_id, status, severity) \
         DO UPDATE SET n = partner_case_counts.n + 1; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER partner_case_counts_insert_delete AFTER INSERT OR DELETE ON case_access \
     FOR EACH ROW EXECUTE FUNCTION partner_case_counts_apply()",
    "CREATE TRIGGER partner_case_counts_update \
     AFTER UPDATE OF domain_id, customer_id, status, severity ON case_access FOR EACH ROW \
     WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id \
       OR OLD.customer_id IS DISTINCT FROM NEW.customer_id \
       OR OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity) \
     EXECUTE FUNCTION partner_case_counts_apply()",
    "CREATE FUNCTION customer_case_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP IN ('UPDATE', 'DELETE') THEN \
         UPDATE customer_case_counts SET n = n - 1 WHERE customer_id = OLD.customer_id \
         AND status = OLD.status AND severity = OLD.severity; \
       END IF; \
       IF TG_OP IN ('UPDATE', 'INSERT') THEN \
         INSERT INTO customer_case_counts (customer_id, status, severity, n) \
         VALUES (NEW.customer_id, NEW.status, NEW.severity, 1) \
         ON CONFLICT (customer_id, status, severity) \
         DO UPDATE SET n = customer_case_counts.n + 1; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER customer_case_counts_insert_delete AFTER INSERT OR DELETE ON cases \
     FOR EACH ROW EXECUTE FUNCTION customer_case_counts_apply()",
    "CREATE TRIGGER customer_case_counts_update \
     AFTER UPDATE OF customer_id, status, severity ON cases FOR EACH ROW \
     WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id \
       OR OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity) \
     EXECUTE FUNCTION customer_case_counts_apply()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartnerCaseCounts::Table)
                    .col(uuid(PartnerCaseCounts::DomainId))
                    .col(uuid(PartnerCaseCounts::CustomerId))
                    .col(string(PartnerCaseCounts::Status))
                    .col(small_integer(PartnerCaseCounts::Severity))
                    .col(big_integer(PartnerCaseCounts::N))
                    .primary_key(
                        Index::create()
                            .col(PartnerCaseCounts::DomainId)
                            .col(PartnerCaseCounts::CustomerId)
                            .col(PartnerCaseCounts::Status)
                            .col(PartnerCaseCounts::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CustomerCaseCounts::Table)
                    .col(uuid(CustomerCaseCounts::CustomerId))
                    .col(string(CustomerCaseCounts::Status))
                    .col(small_integer(CustomerCaseCounts::Severity))
                    .col(big_integer(CustomerCaseCounts::N))
                    .primary_key(
                        Index::create()
                            .col(CustomerCaseCounts::CustomerId)
                            .col(CustomerCaseCounts::Status)
                            .col(CustomerCaseCounts::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // What exists already is counted once; from here on the triggers count.
        db.execute_unprepared(
            "INSERT INTO partner_case_counts (domain_id, customer_id, status, severity, n) \
             SELECT domain_id, customer_id, status, severity, COUNT(*) FROM case_access \
             GROUP BY domain_id, customer_id, status, severity",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO customer_case_counts (customer_id, status, severity, n) \
             SELECT customer_id, status, severity, COUNT(*) FROM cases \
             GROUP BY customer_id, status, severity",
        )
        .await?;
        let triggers = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_TRIGGERS,
            DbBackend::Postgres => POSTGRES_TRIGGERS,
            other => {
                return Err(DbErr::Migration(format!(
                    "casebridge runs on SQLite and PostgreSQL, not {other:?}"
                )));
            }
        };
        for sql in triggers {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for trigger in [
            ("partner_case_counts_insert", "case_access"),
            ("partner_case_counts_delete", "case_access"),
            ("partner_case_counts_insert_delete", "case_access"),
            ("partner_case_counts_update", "case_access"),
            ("customer_case_counts_insert", "cases"),
            ("customer_case_counts_delete", "cases"),
            ("customer_case_counts_insert_delete", "cases"),
            ("customer_case_counts_update", "cases"),
        ] {
            let sql = match manager.get_database_backend() {
                DbBackend::Postgres => {
                    format!("DROP TRIGGER IF EXISTS {} ON {}", trigger.0, trigger.1)
                }
                _ => format!("DROP TRIGGER IF EXISTS {}", trigger.0),
            };
            db.execute_unprepared(&sql).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS partner_case_counts_apply()")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS customer_case_counts_apply()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PartnerCaseCounts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CustomerCaseCounts::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
