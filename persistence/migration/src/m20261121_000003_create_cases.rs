//! Cases: the classification catalogue (seeded from `data/case_classifications.json`), cases,
//! the partner domains that may see each case, comments, idempotency keys, and the keyword
//! index (backend-specific, below).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use serde::Deserialize;

use crate::m20261121_000001_create_domains_and_users::{Domains, Users};
use crate::m20261121_000002_create_customers_and_audit::Customers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseClassifications {
    Table,
    Id,
    DisplayName,
    ProductType,
    Keywords,
    SearchText,
    Questions,
}

#[derive(DeriveIden)]
pub(crate) enum Cases {
    Table,
    Id,
    CaseNumber,
    CustomerId,
    ProductType,
    Title,
    ClassificationId,
    Description,
    Answers,
    Severity,
    Status,
    EscalationReason,
    EscalationJustification,
    EscalationTime,
    LanguageCode,
    TimeZone,
    SubscriberEmails,
    CreatorUserId,
    CreatorEmail,
    CreatorDomainId,
    ResellerDomainId,
    CreateTime,
    UpdateTime,
    CloseTime,
    FollowUpOf,
    Version,
}

/// One row per partner domain that managed the case's customer when it was filed, with the
/// case's sort keys copied in so that a domain's case list is one index range scan.
#[derive(DeriveIden)]
enum CaseAccess {
    Table,
    DomainId,
    CaseId,
    CustomerId,
    UpdateTime,
    CreateTime,
    Severity,
    Status,
}

#[derive(DeriveIden)]
pub(crate) enum CaseComments {
    Table,
    Id,
    CaseId,
    Body,
    AuthorUserId,
    AuthorEmail,
    AuthorDomainId,
    AuthorParty,
    CreateTime,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    ResponseHeaders,
    CreateTime,
}

#[derive(Deserialize)]
struct Classification {
    id: String,
    display_name: String,
    product_type: String,
    keywords: Vec<String>,
    questions: serde_json::Value,
}

const CATALOGUE: &str = include_str!("../data/case_classifications.json");

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseClassifications::Table)
                    .col(uuid(CaseClassifications::Id).primary_key())
                    .col(string(CaseClassifications::DisplayName))
                    .col(string(CaseClassifications::ProductType))
                    .col(text(CaseClassifications::Keywords))
                    .col(text(CaseClassifications::SearchText))
                    .col(text(CaseClassifications::Questions))
                    .to_owned(),
            )
            .await?;
        seed_catalogue(manager).await?;

        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(uuid(Cases::Id).primary_key())
                    .col(big_integer_uniq(Cases::CaseNumber))
                    .col(uuid(Cases::CustomerId))
                    .col(string(Cases::ProductType))
                    .col(string(Cases::Title))
                    .col(uuid(Cases::ClassificationId))
                    .col(text(Cases::Description))
                    .col(text(Cases::Answers))
                    .col(small_integer(Cases::Severity))
                    .col(string(Cases::Status))
                    .col(string_null(Cases::EscalationReason))
                    .col(text_null(Cases::EscalationJustification))
                    .col(big_integer_null(Cases::EscalationTime))
                    .col(string(Cases::LanguageCode))
                    .col(string(Cases::TimeZone))
                    .col(text(Cases::SubscriberEmails))
                    .col(uuid_null(Cases::CreatorUserId))
                    .col(string(Cases::CreatorEmail))
                    .col(uuid(Cases::CreatorDomainId))
                    .col(uuid(Cases::ResellerDomainId))
                    .col(big_integer(Cases::CreateTime))
                    .col(big_integer(Cases::UpdateTime))
                    .col(big_integer_null(Cases::CloseTime))
                    .col(uuid_null(Cases::FollowUpOf))
                    .col(big_integer(Cases::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::ClassificationId)
                            .to(CaseClassifications::Table, CaseClassifications::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::CreatorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::CreatorDomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::ResellerDomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::FollowUpOf)
                            .to(Cases::Table, Cases::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The customer's view and the provider's orders.
        for (name, cols) in [
            (
                "ix_cases_customer_update",
                vec![Cases::CustomerId, Cases::UpdateTime, Cases::Id],
            ),
            ("ix_cases_update", vec![Cases::UpdateTime, Cases::Id]),
            ("ix_cases_create", vec![Cases::CreateTime, Cases::Id]),
            (
                "ix_cases_severity_update",
                vec![Cases::Severity, Cases::UpdateTime, Cases::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Cases::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CaseAccess::Table)
                    .col(uuid(CaseAccess::DomainId))
                    .col(uuid(CaseAccess::CaseId))
                    .col(uuid(CaseAccess::CustomerId))
                    .col(big_integer(CaseAccess::UpdateTime))
                    .col(big_integer(CaseAccess::CreateTime))
                    .col(small_integer(CaseAccess::Severity))
                    .col(string(CaseAccess::Status))
                    .primary_key(
                        Index::create()
                            .col(CaseAccess::DomainId)
                            .col(CaseAccess::CaseId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CaseAccess::Table, CaseAccess::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CaseAccess::Table, CaseAccess::DomainId)
                            .to(Domains::Table, Domains::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_case_access_update",
                vec![
                    CaseAccess::DomainId,
                    CaseAccess::UpdateTime,
                    CaseAccess::CaseId,
                ],
            ),
            (
                "ix_case_access_create",
                vec![
                    CaseAccess::DomainId,
                    CaseAccess::CreateTime,
                    CaseAccess::CaseId,
                ],
            ),
            (
                "ix_case_access_severity",
                vec![
                    CaseAccess::DomainId,
                    CaseAccess::Severity,
                    CaseAccess::UpdateTime,
                    CaseAccess::CaseId,
                ],
            ),
            (
                "ix_case_access_customer",
                vec![
                    CaseAccess::DomainId,
                    CaseAccess::CustomerId,
                    CaseAccess::UpdateTime,
                    CaseAccess::CaseId,
                ],
            ),
            ("ix_case_access_case", vec![CaseAccess::CaseId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(CaseAccess::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CaseComments::Table)
                    .col(uuid(CaseComments::Id).primary_key())
                    .col(uuid(CaseComments::CaseId))
                    .col(text(CaseComments::Body))
                    .col(uuid_null(CaseComments::AuthorUserId))
                    .col(string(CaseComments::AuthorEmail))
                    .col(uuid_null(CaseComments::AuthorDomainId))
                    .col(string(CaseComments::AuthorParty))
                    .col(big_integer(CaseComments::CreateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CaseComments::Table, CaseComments::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_case_comments_case")
                    .table(CaseComments::Table)
                    .col(CaseComments::CaseId)
                    .col(CaseComments::CreateTime)
                    .col(CaseComments::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::UserId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(small_integer(IdempotencyKeys::ResponseStatus))
                    .col(text(IdempotencyKeys::ResponseBody))
                    .col(text(IdempotencyKeys::ResponseHeaders))
                    .col(big_integer(IdempotencyKeys::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_time")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreateTime)
                    .to_owned(),
            )
            .await?;

        create_keyword_index(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_keyword_index(manager).await?;
        for table in [
            IdempotencyKeys::Table.into_iden(),
            CaseComments::Table.into_iden(),
            CaseAccess::Table.into_iden(),
            Cases::Table.into_iden(),
            CaseClassifications::Table.into_iden(),
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

async fn seed_catalogue(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let catalogue: Vec<Classification> = serde_json::from_str(CATALOGUE)
        .map_err(|e| DbErr::Migration(format!("case_classifications.json: {e}")))?;
    let mut insert = Query::insert();
    insert.into_table(CaseClassifications::Table).columns([
        CaseClassifications::Id,
        CaseClassifications::DisplayName,
        CaseClassifications::ProductType,
        CaseClassifications::Keywords,
        CaseClassifications::SearchText,
        CaseClassifications::Questions,
    ]);
    for c in catalogue {
        let id = sea_orm_migration::sea_orm::prelude::Uuid::parse_str(&c.id)
            .map_err(|e| DbErr::Migration(format!("classification id {}: {e}", c.id)))?;
        let search = format!("{} {}", c.display_name, c.keywords.join(" ")).to_lowercase();
        insert
            .values([
                id.into(),
                c.display_name.into(),
                c.product_type.into(),
                serde_json::to_string(&c.keywords)
                    .unwrap_or_default()
                    .into(),
                search.into(),
                c.questions.to_string().into(),
            ])
            .map_err(|e| DbErr::Migration(format!("classification {}: {e}", c.id)))?;
    }
    manager.exec_stmt(insert).await
}

/// The keyword index over a case's title, description and comments, one row per case keyed
/// by its case number. SQLite: an FTS5 table (contentless, rows deletable). PostgreSQL: a
/// `tsvector` with a GIN index, plus the sequence that numbers cases.
async fn create_keyword_index(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared(
                "CREATE VIRTUAL TABLE case_search USING fts5(title, body, \
                 content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')",
            )
            .await?;
        }
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE TABLE case_search (case_number BIGINT PRIMARY KEY, document TSVECTOR NOT NULL)",
            )
            .await?;
            db.execute_unprepared(
                "CREATE INDEX ix_case_search_document ON case_search USING GIN (document)",
            )
            .await?;
            db.execute_unprepared("CREATE SEQUENCE case_number_seq START 1")
                .await?;
        }
        other => {
            return Err(DbErr::Migration(format!(
                "casebridge runs on SQLite and PostgreSQL, not {other:?}"
            )));
        }
    }
    Ok(())
}

async fn drop_keyword_index(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared("DROP TABLE IF EXISTS case_search")
        .await?;
    if manager.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("DROP SEQUENCE IF EXISTS case_number_seq")
            .await?;
    }
    Ok(())
}
