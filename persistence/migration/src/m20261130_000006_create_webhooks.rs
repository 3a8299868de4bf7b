//! Webhooks (issue 18):
//!
//! - `webhooks`: a domain's endpoints, with the event types each receives, its signing secret
//!   and the previous one while a rotation overlaps, and since when it has been failing.
//! - `webhook_deliveries`: one event for one endpoint, written in the transaction of the
//!   change (the webhooks' transactional outbox), claimed, sent and marked by a worker; its row
//!   is also what `GET …/deliveries` lists. Deleting an endpoint deletes its deliveries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    DomainId,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretExpireTime,
    FailingSince,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    EventId,
    EventType,
    Payload,
    Status,
    Attempts,
    LastHttpStatus,
    LastResponse,
    LastError,
    NextAttemptTime,
    LockedUntil,
    CreateTime,
    DeliveredTime,
}

#[derive(DeriveIden)]
enum Domains {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(uuid(Webhooks::Id).primary_key())
                    .col(uuid(Webhooks::DomainId))
                    .col(string(Webhooks::Url))
                    .col(string_null(Webhooks::Description))
                    .col(string(Webhooks::EventTypes))
                    .col(boolean(Webhooks::Enabled))
                    .col(string_null(Webhooks::DisabledReason))
                    .col(string(Webhooks::Secret))
                    .col(string_null(Webhooks::PreviousSecret))
                    .col(big_integer_null(Webhooks::PreviousSecretExpireTime))
                    .col(big_integer_null(Webhooks::FailingSince))
                    .col(big_integer(Webhooks::CreateTime))
                    .col(big_integer(Webhooks::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::DomainId)
                            .to(Domains::Table, Domains::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhooks_domain")
                    .table(Webhooks::Table)
                    .col(Webhooks::DomainId)
                    .col(Webhooks::CreateTime)
                    .col(Webhooks::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::WebhookId))
                    .col(uuid_null(WebhookDeliveries::EventId))
                    .col(string(WebhookDeliveries::EventType))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(integer_null(WebhookDeliveries::LastHttpStatus))
                    .col(string_null(WebhookDeliveries::LastResponse))
                    .col(string_null(WebhookDeliveries::LastError))
                    .col(big_integer_null(WebhookDeliveries::NextAttemptTime))
                    .col(big_integer_null(WebhookDeliveries::LockedUntil))
                    .col(big_integer(WebhookDeliveries::CreateTime))
                    .col(big_integer_null(WebhookDeliveries::DeliveredTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // An endpoint's deliveries, newest first, for its list.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_webhook")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::CreateTime)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        // The worker's claim: only deliveries still to be attempted have a next attempt time.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::NextAttemptTime)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
