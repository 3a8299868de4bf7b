//! Covering indexes over the running case counts, so that summing a partner's rows (about
//! 1,800 for a reseller of a hundred customers at a million cases) reads one index range
//! instead of an index entry and a table row each: 2.4 ms became 0.16 ms on SQLite, measured
//! with the first page of My cases, which pays it on every request.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerCaseCounts {
    Table,
    DomainId,
    CustomerId,
    Status,
    Severity,
    N,
}

#[derive(DeriveIden)]
enum CustomerCaseCounts {
    Table,
    CustomerId,
    Status,
    Severity,
    N,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_case_counts_cover")
                    .table(PartnerCaseCounts::Table)
                    .col(PartnerCaseCounts::DomainId)
                    .col(PartnerCaseCounts::CustomerId)
                    .col(PartnerCaseCounts::Status)
                    .col(PartnerCaseCounts::Severity)
                    .col(PartnerCaseCounts::N)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_case_counts_cover")
                    .table(CustomerCaseCounts::Table)
                    .col(CustomerCaseCounts::CustomerId)
                    .col(CustomerCaseCounts::Status)
                    .col(CustomerCaseCounts::Severity)
                    .col(CustomerCaseCounts::N)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_customer_case_counts_cover")
                    .table(CustomerCaseCounts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_partner_case_counts_cover")
                    .table(PartnerCaseCounts::Table)
                    .to_owned(),
            )
            .await
    }
}
