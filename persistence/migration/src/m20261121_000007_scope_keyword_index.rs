//! Scopes the keyword index: each case's entry also carries a token per partner domain recorded
//! on the case (`~p<id>`) and one for its customer's domain (`~c<id>`), so that a partner's or
//! a customer's search reads only its own matches. At a million cases a common word matched
//! sixty thousand cases, of which one reseller sees six hundred; every search paid for the
//! rest.
//!
//! SQLite: the FTS5 table gains a `scope` column (rebuilt, since FTS5 tables cannot be altered)
//! and is filled again from the cases. PostgreSQL: the tokens join the `tsvector` verbatim; the
//! `~` keeps them apart from any word a query can hold.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A case's searchable text as the service writes it: description, then comments in order.
const SQLITE_BODY: &str = "c.description || char(10) || COALESCE((SELECT group_concat(body, char(10)) \
     FROM (SELECT body FROM case_comments cc WHERE cc.case_id = c.id ORDER BY cc.create_time)), '')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("DROP TABLE case_search").await?;
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE case_search USING fts5(title, body, scope, \
                     content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO case_search (rowid, title, body, scope) \
                     SELECT c.case_number, c.title, {SQLITE_BODY}, \
                       COALESCE((SELECT group_concat('~p' || lower(hex(a.domain_id)), ' ') \
                                 FROM case_access a WHERE a.case_id = c.id) || ' ', '') \
                       || '~c' || lower(hex(cu.domain_id)) \
                     FROM cases c JOIN customers cu ON cu.id = c.customer_id"
                ))
                .await?;
            }
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "UPDATE case_search s SET document = s.document || array_to_tsvector(ARRAY( \
                       SELECT '~p' || replace(a.domain_id::text, '-', '') \
                       FROM cases c JOIN case_access a ON a.case_id = c.id \
                       WHERE c.case_number = s.case_number \
                       UNION ALL \
                       SELECT '~c' || replace(cu.domain_id::text, '-', '') \
                       FROM cases c JOIN customers cu ON cu.id = c.customer_id \
                       WHERE c.case_number = s.case_number))",
                )
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

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("DROP TABLE case_search").await?;
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE case_search USING fts5(title, body, \
                     content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO case_search (rowid, title, body) \
                     SELECT c.case_number, c.title, {SQLITE_BODY} FROM cases c"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "UPDATE case_search SET document = ts_delete(document, ARRAY( \
                       SELECT lexeme FROM unnest(document) WHERE lexeme LIKE '~%'))",
                )
                .await?;
            }
        }
        Ok(())
    }
}
