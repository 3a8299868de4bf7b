//! Tenancy and identity: domains, users, custom roles, role assignments, revoked tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Domains {
    Table,
    Id,
    Name,
    Realm,
    CreateTime,
}

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    DomainId,
    Email,
    DisplayName,
    PasswordHash,
    Suspended,
    TokenVersion,
    NotificationEmail,
    OrgUnit,
    MustChangePassword,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    DomainId,
    Name,
    Privileges,
    CreateTime,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
    CustomRoleId,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    UserId,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Domains::Table)
                    .col(uuid(Domains::Id).primary_key())
                    .col(string_uniq(Domains::Name))
                    .col(string(Domains::Realm))
                    .col(big_integer(Domains::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(uuid(Users::DomainId))
                    .col(string(Users::Email))
                    .col(string(Users::DisplayName))
                    .col(string(Users::PasswordHash))
                    .col(boolean(Users::Suspended).default(false))
                    .col(big_integer(Users::TokenVersion).default(0))
                    .col(string_null(Users::NotificationEmail))
                    .col(string_null(Users::OrgUnit))
                    .col(boolean(Users::MustChangePassword).default(false))
                    .col(big_integer(Users::CreateTime))
                    .col(big_integer(Users::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::DomainId)
                            .to(Domains::Table, Domains::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_users_domain_email")
                    .table(Users::Table)
                    .col(Users::DomainId)
                    .col(Users::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(uuid(Roles::Id).primary_key())
                    .col(uuid(Roles::DomainId))
                    .col(string(Roles::Name))
                    .col(string(Roles::Privileges))
                    .col(big_integer(Roles::CreateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Roles::Table, Roles::DomainId)
                            .to(Domains::Table, Domains::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_roles_domain_name")
                    .table(Roles::Table)
                    .col(Roles::DomainId)
                    .col(Roles::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(uuid(UserRoles::UserId))
                    .col(string(UserRoles::Role))
                    .col(uuid_null(UserRoles::CustomRoleId))
                    .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::CustomRoleId)
                            .to(Roles::Table, Roles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_roles_custom_role")
                    .table(UserRoles::Table)
                    .col(UserRoles::CustomRoleId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(uuid(RevokedTokens::Jti).primary_key())
                    .col(uuid(RevokedTokens::UserId))
                    .col(big_integer(RevokedTokens::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevokedTokens::Table, RevokedTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_revoked_tokens_user")
                    .table(RevokedTokens::Table)
                    .col(RevokedTokens::UserId)
                    .col(RevokedTokens::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RevokedTokens::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Roles::Table.into_iden(),
            Users::Table.into_iden(),
            Domains::Table.into_iden(),
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
