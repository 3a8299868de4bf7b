//! What was imported from the old support center: each old record's kind and id, the entity it
//! became, and a hash of its content, so that a second import of the same export changes
//! nothing and a newer export updates exactly what changed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LegacyRecords {
    Table,
    Kind,
    LegacyId,
    EntityId,
    RecordHash,
    ImportTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LegacyRecords::Table)
                    .col(string(LegacyRecords::Kind))
                    .col(string(LegacyRecords::LegacyId))
                    .col(uuid(LegacyRecords::EntityId))
                    .col(string(LegacyRecords::RecordHash))
                    .col(big_integer(LegacyRecords::ImportTime))
                    .primary_key(
                        Index::create()
                            .col(LegacyRecords::Kind)
                            .col(LegacyRecords::LegacyId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LegacyRecords::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
