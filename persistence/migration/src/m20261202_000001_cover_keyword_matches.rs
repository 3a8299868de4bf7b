//! On SQLite, a partner's record of a keyword match is found and read in one index descent
//! (issue 17): `ix_case_access_number` `(domain_id, case_number)` gives way to
//! `ix_case_access_match` `(case_number, domain_id, update_time, severity, case_id,
//! create_time, status, customer_id)`.
//!
//! A partner's search reads its matches from FTS5 (case numbers) and looks each one up in
//! `case_access` by `(domain_id, case_number)` (migration 9). Two costs went into each of those
//! look-ups: the index's first column is a 16-byte domain id, which SQLite compares through its
//! general record comparison and `memcmp` at every step of the descent, where a leading integer
//! takes its fast path; and the sort keys and the customer were then read from the table, a
//! second descent. The number first makes the descent integer comparisons (one domain's
//! records of a case are a handful); the columns the search reads, after the key, make the
//! index cover it. The columns after the key are never equality-constrained by a query, so
//! the planner cannot turn a list like `customer_id IN (...)` into one probe per element.
//!
//! callgrind at a million cases (reseller-000, "calendar", 620 matches), the search's
//! statement: 7.96 million instructions with the old index, 6.38 million with `(case_number,
//! domain_id)` alone, 5.55 million with this one.
//!
//! What it costs: an update of a case rewrites this entry of each of its records, as it
//! already rewrites three others that hold the update time. PostgreSQL never had
//! `ix_case_access_number`: nothing to do there here (its own `ix_case_access_match`, led by
//! the domain, is migration `m20261202_000002`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseAccess {
    Table,
    DomainId,
    CaseNumber,
    UpdateTime,
    Severity,
    CaseId,
    CreateTime,
    Status,
    CustomerId,
}

/// The index migration 9 created.
const OLD: &str = "ix_case_access_number";
/// The index that replaces it.
const NEW: &str = "ix_case_access_match";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(CaseAccess::Table)
                    .col(CaseAccess::CaseNumber)
                    .col(CaseAccess::DomainId)
                    .col(CaseAccess::UpdateTime)
                    .col(CaseAccess::Severity)
                    .col(CaseAccess::CaseId)
                    .col(CaseAccess::CreateTime)
                    .col(CaseAccess::Status)
                    .col(CaseAccess::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(OLD).table(CaseAccess::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(CaseAccess::Table)
                    .col(CaseAccess::DomainId)
                    .col(CaseAccess::CaseNumber)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(NEW).table(CaseAccess::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
