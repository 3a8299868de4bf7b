//! The `case_classifications` table: the catalogue of case categories.

use sea_orm::entity::prelude::*;

/// A row of `case_classifications`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_classifications")]
pub struct Model {
    /// Id (fixed by the catalogue).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `Area > Topic > Problem`.
    pub display_name: String,
    /// The product it belongs to.
    pub product_type: String,
    /// JSON array of search keywords.
    pub keywords: String,
    /// Lower-cased display name and keywords, for keyword search.
    pub search_text: String,
    /// JSON array of `{id, text, required}`.
    pub questions: String,
}

/// No relations are navigated through the ORM; queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
