//! Customers as the partner sales console keeps them, who manages them (reseller history,
//! support partners), and the audit trail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261121_000001_create_domains_and_users::{Domains, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Customers {
    Table,
    Id,
    Name,
    DomainId,
    ResellerDomainId,
    ResellerAccess,
    SupportTier,
    PostalAddress,
    Contact,
    ManagedSince,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum CustomerResellers {
    Table,
    Id,
    CustomerId,
    ResellerDomainId,
    StartTime,
    EndTime,
}

#[derive(DeriveIden)]
enum SupportPartners {
    Table,
    CustomerId,
    PartnerDomainId,
    StartTime,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Time,
    ActorUserId,
    ActorEmail,
    ActorDomainId,
    Action,
    SubjectType,
    SubjectId,
    CustomerId,
    CaseId,
    Details,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(uuid(Customers::Id).primary_key())
                    .col(string(Customers::Name))
                    .col(uuid_uniq(Customers::DomainId))
                    .col(uuid(Customers::ResellerDomainId))
                    .col(string(Customers::ResellerAccess))
                    .col(string(Customers::SupportTier))
                    .col(text(Customers::PostalAddress))
                    .col(text(Customers::Contact))
                    .col(big_integer(Customers::ManagedSince))
                    .col(big_integer(Customers::CreateTime))
                    .col(big_integer(Customers::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Customers::Table, Customers::DomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Customers::Table, Customers::ResellerDomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customers_reseller_name")
                    .table(Customers::Table)
                    .col(Customers::ResellerDomainId)
                    .col(Customers::Name)
                    .col(Customers::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CustomerResellers::Table)
                    .col(uuid(CustomerResellers::Id).primary_key())
                    .col(uuid(CustomerResellers::CustomerId))
                    .col(uuid(CustomerResellers::ResellerDomainId))
                    .col(big_integer(CustomerResellers::StartTime))
                    .col(big_integer_null(CustomerResellers::EndTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CustomerResellers::Table, CustomerResellers::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                CustomerResellers::Table,
                                CustomerResellers::ResellerDomainId,
                            )
                            .to(Domains::Table, Domains::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customer_resellers_customer")
                    .table(CustomerResellers::Table)
                    .col(CustomerResellers::CustomerId)
                    .col(CustomerResellers::StartTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SupportPartners::Table)
                    .col(uuid(SupportPartners::CustomerId))
                    .col(uuid(SupportPartners::PartnerDomainId))
                    .col(big_integer(SupportPartners::StartTime))
                    .primary_key(
                        Index::create()
                            .col(SupportPartners::CustomerId)
                            .col(SupportPartners::PartnerDomainId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SupportPartners::Table, SupportPartners::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SupportPartners::Table, SupportPartners::PartnerDomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_support_partners_partner")
                    .table(SupportPartners::Table)
                    .col(SupportPartners::PartnerDomainId)
                    .col(SupportPartners::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(uuid(AuditEvents::Id).primary_key())
                    .col(big_integer(AuditEvents::Time))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(string_null(AuditEvents::ActorEmail))
                    .col(uuid_null(AuditEvents::ActorDomainId))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::SubjectType))
                    .col(string(AuditEvents::SubjectId))
                    .col(uuid_null(AuditEvents::CustomerId))
                    .col(uuid_null(AuditEvents::CaseId))
                    .col(text(AuditEvents::Details))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEvents::Table, AuditEvents::ActorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_audit_events_case", AuditEvents::CaseId),
            ("ix_audit_events_customer", AuditEvents::CustomerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(col)
                        .col(AuditEvents::Time)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            SupportPartners::Table.into_iden(),
            CustomerResellers::Table.into_iden(),
            Customers::Table.into_iden(),
        ] {
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
