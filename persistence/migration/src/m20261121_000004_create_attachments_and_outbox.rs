//! Attachments of cases, and the transactional outbox of mail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261121_000003_create_cases::Cases;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    CaseId,
    Filename,
    ContentType,
    SizeBytes,
    Sha256,
    StorageKey,
    UploaderUserId,
    UploaderEmail,
    UploaderDomainId,
    UploaderParty,
    CreateTime,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    CaseId,
    CreateTime,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(uuid(Attachments::Id).primary_key())
                    .col(uuid(Attachments::CaseId))
                    .col(string(Attachments::Filename))
                    .col(string(Attachments::ContentType))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(string(Attachments::Sha256))
                    .col(string(Attachments::StorageKey))
                    .col(uuid_null(Attachments::UploaderUserId))
                    .col(string(Attachments::UploaderEmail))
                    .col(uuid_null(Attachments::UploaderDomainId))
                    .col(string(Attachments::UploaderParty))
                    .col(big_integer(Attachments::CreateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_attachments_case")
                    .table(Attachments::Table)
                    .col(Attachments::CaseId)
                    .col(Attachments::CreateTime)
                    .col(Attachments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(string(Outbox::Recipient))
                    .col(string(Outbox::Subject))
                    .col(text(Outbox::Body))
                    .col(uuid_null(Outbox::CaseId))
                    .col(big_integer(Outbox::CreateTime))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(big_integer(Outbox::NextAttemptAt))
                    .col(big_integer_null(Outbox::LockedUntil))
                    .col(text_null(Outbox::LastError))
                    .col(big_integer_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::SentAt)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Outbox::Table.into_iden(), Attachments::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
