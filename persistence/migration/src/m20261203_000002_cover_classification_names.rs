//! A case's category name is read from an index, not from a scan of the catalogue (issue 17).
//!
//! Every case a read returns carries its category's display name, looked up by id in a
//! subquery (`case_names` in the persistence crate). On PostgreSQL the catalogue's 58 rows
//! fill six pages, and its planner costs a scan of six pages below a primary-key lookup (one
//! index page and one table page, each at `random_page_cost`): a page of ten cases scanned the
//! whole catalogue for each of its eleven rows, 66 of the statement's 227 buffer reads, and
//! 58 rows compared each time. An index of `(id, display_name)` answers the lookup from the
//! index alone, which the planner costs below the scan once the table's pages are marked
//! all-visible: `Database::migrate` vacuums the catalogue after every migration run, since a
//! table of 58 rows never reaches autovacuum's insert threshold.
//!
//! Measured with pgbench running the page's statement at 100,000 cases (one client, generic
//! plan, nine rounds of five seconds with and without the index in alternation, either one
//! first): the machine's CPU per statement fell from a median of 464 µs to 402 µs, and every
//! round with the index used less than the round beside it without (bench/RESULTS.md,
//! nineteenth sitting).
//!
//! SQLite looks the id up in its primary-key index whatever the table's size, and would keep
//! to that unique index with this one beside it: PostgreSQL only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseClassifications {
    Table,
    Id,
    DisplayName,
}

const INDEX: &str = "ix_case_classifications_name";

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
                    .table(CaseClassifications::Table)
                    .col(CaseClassifications::Id)
                    .col(CaseClassifications::DisplayName)
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
                    .table(CaseClassifications::Table)
                    .to_owned(),
            )
            .await
    }
}
