//! Takes the merging of SQLite's keyword index off the commit (issue 17).
//!
//! An FTS5 index is a set of b-trees ("segments"): every commit that writes entries adds one,
//! and by default (`automerge` 4) that same commit also merges some of the existing ones, in
//! proportion to what it wrote and to the index's depth. At a million cases those merges were
//! a fifth of a filing's CPU (bench/RESULTS.md), paid by the requests waiting on the commit.
//! With `automerge` 0 a commit only adds its segment; the service merges the index in slices
//! while nobody is waiting to write (`repo::search::merge_index`, run by the keyword-index
//! task in `api::housekeeping`), and bulk loads merge it once at their end. FTS5's crisis
//! merge (16 segments on one level, merged into one) still bounds the index's shape when the
//! writer is never idle.
//!
//! The setting is stored in the index's own `case_search_config` table, so it holds for every
//! connection. PostgreSQL's keyword index has no such merges: nothing to do.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        automerge(manager, 0).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // FTS5's default.
        automerge(manager, 4).await
    }
}

async fn automerge(manager: &SchemaManager<'_>, segments: u8) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "INSERT INTO case_search (case_search, rank) VALUES ('automerge', {segments})"
        ))
        .await?;
    Ok(())
}
