//! What several instances on one database share beyond the data itself:
//!
//! - `attachment_chunks`: attachment bytes kept in the database (PostgreSQL's default store),
//!   in chunks of at most 256 KiB so that no file is ever whole in memory on either side.
//! - `sign_in_failures`: failed sign-ins per throttle key, so that every instance counts the
//!   same attempts (rows older than the window are swept).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AttachmentChunks {
    Table,
    StorageKey,
    Seq,
    Data,
}

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Id,
    Key,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttachmentChunks::Table)
                    .col(string(AttachmentChunks::StorageKey))
                    .col(integer(AttachmentChunks::Seq))
                    .col(blob(AttachmentChunks::Data))
                    .primary_key(
                        Index::create()
                            .col(AttachmentChunks::StorageKey)
                            .col(AttachmentChunks::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .col(uuid(SignInFailures::Id).primary_key())
                    .col(string(SignInFailures::Key))
                    .col(big_integer(SignInFailures::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sign_in_failures_key_at")
                    .table(SignInFailures::Table)
                    .col(SignInFailures::Key)
                    .col(SignInFailures::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AttachmentChunks::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
