//! The `attachments` table: files attached to cases (the bytes live in attachment storage).

use sea_orm::entity::prelude::*;

/// A row of `attachments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// The sanitised file name.
    pub filename: String,
    /// The content type sniffed from the bytes.
    pub content_type: String,
    /// Size.
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Where the bytes are in attachment storage.
    pub storage_key: String,
    /// The uploader, when a user.
    pub uploader_user_id: Option<Uuid>,
    /// The uploader's email.
    pub uploader_email: String,
    /// The uploader's domain.
    pub uploader_domain_id: Option<Uuid>,
    /// `partner`, `customer` or `support`.
    pub uploader_party: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
