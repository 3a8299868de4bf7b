//! The change feed's order (issue 18): every audit event gets a feed position
//! `(position_tx, position_seq)`, unique, that orders events as their transactions commit as
//! far as a reader can tell, and each customer event the partner domains it is addressed to.
//!
//! - PostgreSQL: `position_tx` is the writing transaction's id (`pg_current_xact_id()`, 64
//!   bits, never wrapping) and `position_seq` the next number of a sequence, which orders a
//!   transaction's own events. Transaction ids are handed out as transactions first write, not
//!   as they commit, so a reader takes only events below its snapshot's `xmin`: every
//!   transaction below it has ended, so nothing can still appear there
//!   (`persistence::repo::feed`).
//! - SQLite: one writer at a time (`BEGIN IMMEDIATE`, and one process per file), so the order
//!   of writes is the order of commits: `position_tx` is 0 and a trigger numbers each new event
//!   one past the largest number, inside the writing transaction. A transaction rolled back
//!   frees its numbers before anyone could see them.
//!
//! Events written before this migration are numbered in the order the timeline shows them
//! (time, then id), with `position_tx` 0: before every later one on both engines.
//!
//! `event_audiences` holds, for a customer event, the partner domains it is addressed to besides
//! the provider and the customer's own domain. The events recorded before it are given theirs
//! from their details, which name the domains (the reseller whose authorisation changed, both
//! resellers of a transfer, the support partner taken on or let go).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261121_000001_create_domains_and_users::Domains;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    PositionTx,
    PositionSeq,
}

#[derive(DeriveIden)]
enum EventAudiences {
    Table,
    EventId,
    DomainId,
}

/// The feed's index, which also keeps positions unique.
const POSITION_INDEX: &str = "ux_audit_events_position";

/// SQLite: a new event without a position (the column's placeholder 0) gets the next number.
/// The largest is read through the position index (newest first), not by a scan.
const SQLITE_NUMBERING: &str = "CREATE TRIGGER audit_events_position AFTER INSERT ON audit_events \
     WHEN NEW.position_seq = 0 BEGIN \
       UPDATE audit_events SET position_seq = 1 + COALESCE((SELECT position_seq FROM audit_events \
         ORDER BY position_tx DESC, position_seq DESC LIMIT 1), 0) \
       WHERE rowid = NEW.rowid; \
     END";

/// PostgreSQL: the writing transaction's id, and a sequence for the order within it.
const POSTGRES_NUMBERING: &[&str] = &[
    "CREATE SEQUENCE audit_events_position_seq OWNED BY audit_events.position_seq",
    "SELECT setval('audit_events_position_seq', \
       COALESCE((SELECT MAX(position_seq) FROM audit_events), 0) + 1, false)",
    "ALTER TABLE audit_events \
       ALTER COLUMN position_tx SET DEFAULT pg_current_xact_id()::text::bigint, \
       ALTER COLUMN position_seq SET DEFAULT nextval('audit_events_position_seq')",
];

/// The customer events whose details name the partner domains they are addressed to, and the
/// detail keys that name them.
const ADDRESSED: &[(&str, &[&str])] = &[
    ("customer.reseller_access_granted", &["reseller_domain"]),
    ("customer.reseller_access_revoked", &["reseller_domain"]),
    (
        "customer.transferred",
        &["from_reseller_domain", "to_reseller_domain"],
    ),
    ("customer.support_partner_added", &["partner_domain"]),
    ("customer.support_partner_removed", &["partner_domain"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !matches!(backend, DbBackend::Sqlite | DbBackend::Postgres) {
            return Err(DbErr::Migration(format!(
                "casebridge runs on SQLite and PostgreSQL, not {backend:?}"
            )));
        }
        // SQLite adds one column per statement.
        for column in [AuditEvents::PositionTx, AuditEvents::PositionSeq] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE audit_events SET position_seq = numbered.n FROM \
             (SELECT id, ROW_NUMBER() OVER (ORDER BY time, id) AS n FROM audit_events) AS numbered \
             WHERE audit_events.id = numbered.id",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(POSITION_INDEX)
                    .table(AuditEvents::Table)
                    .col(AuditEvents::PositionTx)
                    .col(AuditEvents::PositionSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        match backend {
            DbBackend::Postgres => {
                for sql in POSTGRES_NUMBERING {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                db.execute_unprepared(SQLITE_NUMBERING).await?;
            }
        }

        manager
            .create_table(
                Table::create()
                    .table(EventAudiences::Table)
                    .col(uuid(EventAudiences::EventId))
                    .col(uuid(EventAudiences::DomainId))
                    .primary_key(
                        Index::create()
                            .col(EventAudiences::EventId)
                            .col(EventAudiences::DomainId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventAudiences::Table, EventAudiences::EventId)
                            .to(AuditEvents::Table, AuditEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventAudiences::Table, EventAudiences::DomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_event_audiences_domain")
                    .table(EventAudiences::Table)
                    .col(EventAudiences::DomainId)
                    .col(EventAudiences::EventId)
                    .to_owned(),
            )
            .await?;
        for (action, keys) in ADDRESSED {
            for key in *keys {
                let named = match backend {
                    DbBackend::Postgres => format!("(e.details::jsonb ->> '{key}')"),
                    _ => format!("json_extract(e.details, '$.{key}')"),
                };
                db.execute_unprepared(&format!(
                    "INSERT INTO event_audiences (event_id, domain_id) \
                     SELECT e.id, d.id FROM audit_events e JOIN domains d ON d.name = {named} \
                     WHERE e.action = '{action}' \
                     ON CONFLICT (event_id, domain_id) DO NOTHING"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .drop_table(Table::drop().table(EventAudiences::Table).to_owned())
            .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE audit_events ALTER COLUMN position_tx DROP DEFAULT, \
                     ALTER COLUMN position_seq DROP DEFAULT",
                )
                .await?;
                db.execute_unprepared("DROP SEQUENCE audit_events_position_seq")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER audit_events_position")
                    .await?;
            }
        }
        manager
            .drop_index(
                Index::drop()
                    .name(POSITION_INDEX)
                    .table(AuditEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [AuditEvents::PositionSeq, AuditEvents::PositionTx] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
