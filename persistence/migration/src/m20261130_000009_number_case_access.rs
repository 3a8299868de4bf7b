//! The case number on each partner's record of a case (`case_access.case_number`), and on
//! SQLite an index `(domain_id, case_number)` (issue 17).
//!
//! A partner's keyword search reads its matches from FTS5, whose rowids are case numbers; the
//! partner's record of each match (its sort keys, its customer) was found through the case:
//! the case's number looked up in `cases`, then the case's row read for its id (the rows are
//! large), then the record by `(domain_id, case_id)`. With the number on the record, a match
//! goes straight to it. Timed apart at a million cases (620 matches): 1.35 → 0.84 ms for the
//! statement that counts the matches and finds the page.
//!
//! PostgreSQL plans its searches from statistics and reads the matches as an `IN` list against
//! the cases (`repo::search::drives_from_matches`), so the index is SQLite's only; the column
//! is kept on both, as every other copy of a case's fields on `case_access` is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseAccess {
    Table,
    DomainId,
    CaseNumber,
}

const INDEX: &str = "ix_case_access_number";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CaseAccess::Table)
                    .add_column(
                        ColumnDef::new(CaseAccess::CaseNumber)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE case_access SET case_number = \
                 (SELECT c.case_number FROM cases c WHERE c.id = case_access.case_id)",
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Sqlite {
            manager
                .create_index(
                    Index::create()
                        .name(INDEX)
                        .table(CaseAccess::Table)
                        .col(CaseAccess::DomainId)
                        .col(CaseAccess::CaseNumber)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            manager
                .drop_index(
                    Index::drop()
                        .name(INDEX)
                        .table(CaseAccess::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CaseAccess::Table)
                    .drop_column(CaseAccess::CaseNumber)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
