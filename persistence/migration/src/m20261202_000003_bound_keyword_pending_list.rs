//! On PostgreSQL, the keyword index keeps a pending list of at most 256 kB (issue 17).
//!
//! A GIN index takes new entries into an unsorted pending list and merges them into its tree
//! in bulk, when the list outgrows `gin_pending_list_limit` (4 MB unless set) or at a vacuum.
//! Every search reads that list whole, whatever it looks for: after some 3,400 filings it
//! held 432 pages, and a partner's search that took 5.4 ms on the seeded database took
//! 19.5 ms (bench/RESULTS.md, fourteenth sitting). Bounded at 256 kB (32 pages) for
//! `ix_case_search_document`, the merge comes every 250 filings or so instead of every
//! 3,400, and a search reads at most 32 pages of it. bench/ab.py at 100,000 cases, three
//! rounds of ten seconds of filings each followed by the search: one connection 111 → 165
//! req/s, 64 connections 278 → 367, filings 235 → 255/s (the same within the noise). With
//! the list off altogether (`fastupdate = off`) searches gained as much but filings lost a
//! tenth (379 → 341/s): each filing then puts its dozens of words into the tree one by one.
//! SQLite's full-text index has no such list: PostgreSQL only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER INDEX ix_case_search_document SET (gin_pending_list_limit = 256)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER INDEX ix_case_search_document RESET (gin_pending_list_limit)",
            )
            .await?;
        Ok(())
    }
}
