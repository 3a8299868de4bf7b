//! On PostgreSQL, an index that takes a partner's keyword match straight to the partner's
//! record of it (issue 17): `ix_case_access_match (domain_id, case_number) INCLUDE
//! (update_time, severity, case_id, customer_id, create_time, status)`.
//!
//! A partner's search on PostgreSQL read its matches as an `IN` list against `cases`, then
//! each match's case and customer rows, and hashed all of the partner's records beside them:
//! 15–17 ms a search at a million cases (reseller-000, "calendar", 620 matches). Read from the
//! matches to the records, with this index holding every column the search reads, the same
//! search is 5–6 ms (`persistence::repo::search::drives_from_matches`). SQLite has its own
//! index of that name, led by the case number (migration `m20261202_000001`).

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
    CustomerId,
    CreateTime,
    Status,
}

const INDEX: &str = "ix_case_access_match";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(CaseAccess::Table)
                    .col(CaseAccess::DomainId)
                    .col(CaseAccess::CaseNumber)
                    .include(CaseAccess::UpdateTime)
                    .include(CaseAccess::Severity)
                    .include(CaseAccess::CaseId)
                    .include(CaseAccess::CustomerId)
                    .include(CaseAccess::CreateTime)
                    .include(CaseAccess::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(CaseAccess::Table)
                    .to_owned(),
            )
            .await
    }
}
