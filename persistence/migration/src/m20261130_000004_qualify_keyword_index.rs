//! Qualifies the keyword index by scope (issue 17): besides its title and text, each case's
//! entry holds every distinct word of them once per scope that may see the case (each partner
//! domain recorded on it, its customer's domain) as `<tag><word>` (see [`crate::keyword`]),
//! and loses the bare scope tokens of [`super::m20261121_000007_scope_keyword_index`]. A
//! partner's or customer's search then walks the posting list of its own matches of a word
//! (a reseller's 620 of "calendar" at a million cases) instead of intersecting the word's
//! whole list (62,000) with its scope's.
//!
//! The entries are rebuilt here, in the migration's transaction (SQLite migrates in one
//! transaction, PostgreSQL each migration in its own), so that no search ever reads a
//! half-built index: the words are cut in Rust, by the same [`crate::keyword`] functions the
//! service writes and queries with, which SQL could not reproduce on both engines (Unicode
//! letters and lowercasing differ with the database's locale). Cases are read in batches by
//! case number. SQLite: the FTS5 table is created again with a `qualified` column in place of
//! `scope` (FTS5 tables cannot be altered). PostgreSQL: each `tsvector` is written again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;

use crate::keyword::{self, ScopeKind};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Cases rebuilt per batch: four parameters each in the write.
const BATCH: i64 = 500;

/// The FTS5 table's options, unchanged.
const FTS5_OPTIONS: &str =
    "content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'";

/// A PostgreSQL document, as the service writes it (`persistence::repo::search`).
const PG_DOCUMENT: &str = "setweight(to_tsvector('simple', {title}), 'A') \
     || to_tsvector('simple', {body}) || array_to_tsvector(string_to_array({qualified}, ' '))";

/// A case's searchable text before this migration, as SQL: description, then comments.
const SQLITE_BODY: &str = "c.description || char(10) || COALESCE((SELECT group_concat(body, char(10)) \
     FROM (SELECT body FROM case_comments cc WHERE cc.case_id = c.id ORDER BY cc.create_time)), '')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        match backend {
            DbBackend::Sqlite => {
                db.execute_unprepared("DROP TABLE case_search").await?;
                db.execute_unprepared(&format!(
                    "CREATE VIRTUAL TABLE case_search USING fts5(title, body, qualified, \
                     {FTS5_OPTIONS})"
                ))
                .await?;
            }
            DbBackend::Postgres => {}
            other => {
                return Err(DbErr::Migration(format!(
                    "casebridge runs on SQLite and PostgreSQL, not {other:?}"
                )));
            }
        }
        let mut after = i64::MIN;
        loop {
            let cases = batch(db, backend, after).await?;
            let Some(last) = cases.last() else { break };
            after = last.number;
            write(db, backend, &cases).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // The entries of the scope tokens, as migration 7 wrote them.
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("DROP TABLE case_search").await?;
                db.execute_unprepared(&format!(
                    "CREATE VIRTUAL TABLE case_search USING fts5(title, body, scope, \
                     {FTS5_OPTIONS})"
                ))
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
            _ => {
                db.execute_unprepared(
                    "UPDATE case_search s SET document = \
                       setweight(to_tsvector('simple', c.title), 'A') \
                       || to_tsvector('simple', c.description || E'\\n' || COALESCE(( \
                            SELECT string_agg(cc.body, E'\\n' ORDER BY cc.create_time) \
                            FROM case_comments cc WHERE cc.case_id = c.id), '')) \
                       || array_to_tsvector(ARRAY( \
                            SELECT '~p' || replace(a.domain_id::text, '-', '') \
                            FROM case_access a WHERE a.case_id = c.id \
                            UNION ALL \
                            SELECT '~c' || replace(cu.domain_id::text, '-', '') \
                            FROM customers cu WHERE cu.id = c.customer_id)) \
                     FROM cases c WHERE c.case_number = s.case_number",
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// What a case's entry is made of.
struct Case {
    number: i64,
    title: String,
    description: String,
    comments: Vec<String>,
    tags: Vec<String>,
}

/// `$n` on PostgreSQL, `?` on SQLite.
fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// A domain id as 32 hex digits, in SQL.
fn hex_id(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("replace({column}::text, '-', '')"),
        _ => format!("lower(hex({column}))"),
    }
}

fn tag(kind: ScopeKind, hex: &str) -> Result<String, DbErr> {
    let id = Uuid::try_parse(hex).map_err(|e| DbErr::Migration(format!("domain id {hex}: {e}")))?;
    Ok(keyword::scope_tag(kind, id))
}

/// The next cases after case number `after`, with their comments (oldest first) and tags.
async fn batch(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
    after: i64,
) -> Result<Vec<Case>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT c.case_number, c.title, c.description, {} AS customer_domain \
                 FROM cases c JOIN customers cu ON cu.id = c.customer_id \
                 WHERE c.case_number > {} ORDER BY c.case_number LIMIT {BATCH}",
                hex_id(backend, "cu.domain_id"),
                param(backend, 1),
            ),
            [Value::from(after)],
        ))
        .await?;
    let mut cases = Vec::with_capacity(rows.len());
    for row in rows {
        let customer_domain: String = row.try_get("", "customer_domain")?;
        cases.push(Case {
            number: row.try_get("", "case_number")?,
            title: row.try_get("", "title")?,
            description: row.try_get("", "description")?,
            comments: Vec::new(),
            tags: vec![tag(ScopeKind::Customer, &customer_domain)?],
        });
    }
    let (Some(first), Some(last)) = (cases.first(), cases.last()) else {
        return Ok(cases);
    };
    let range = [Value::from(first.number), Value::from(last.number)];
    let within = format!(
        "c.case_number >= {} AND c.case_number <= {}",
        param(backend, 1),
        param(backend, 2)
    );
    let index = |number: i64| cases.binary_search_by_key(&number, |c| c.number);
    let comments = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT c.case_number, cc.body FROM case_comments cc \
                 JOIN cases c ON c.id = cc.case_id WHERE {within} \
                 ORDER BY c.case_number, cc.create_time"
            ),
            range.clone(),
        ))
        .await?;
    let mut bodies = Vec::with_capacity(comments.len());
    for row in comments {
        let number: i64 = row.try_get("", "case_number")?;
        bodies.push((index(number), row.try_get::<String>("", "body")?));
    }
    let access = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT c.case_number, {} AS domain FROM case_access a \
                 JOIN cases c ON c.id = a.case_id WHERE {within}",
                hex_id(backend, "a.domain_id")
            ),
            range,
        ))
        .await?;
    let mut tags = Vec::with_capacity(access.len());
    for row in access {
        let number: i64 = row.try_get("", "case_number")?;
        let domain: String = row.try_get("", "domain")?;
        tags.push((index(number), tag(ScopeKind::Partner, &domain)?));
    }
    for (i, body) in bodies {
        if let Ok(i) = i {
            cases[i].comments.push(body);
        }
    }
    for (i, tag) in tags {
        if let Ok(i) = i {
            cases[i].tags.push(tag);
        }
    }
    Ok(cases)
}

/// Writes the cases' entries in one statement.
async fn write(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
    cases: &[Case],
) -> Result<(), DbErr> {
    let mut values: Vec<Value> = Vec::with_capacity(cases.len() * 4);
    let mut rows = Vec::with_capacity(cases.len());
    for (i, c) in cases.iter().enumerate() {
        let mut tags = c.tags.clone();
        tags.sort_unstable();
        tags.dedup();
        let texts = [c.title.as_str(), c.description.as_str()]
            .into_iter()
            .chain(c.comments.iter().map(String::as_str));
        let body = format!("{}\n{}", c.description, c.comments.join("\n"));
        values.extend([
            Value::from(c.number),
            Value::from(c.title.clone()),
            Value::from(body),
            Value::from(keyword::qualified_words(texts, &tags)),
        ]);
        rows.push(match backend {
            DbBackend::Postgres => format!(
                "(${}, {})",
                4 * i + 1,
                PG_DOCUMENT
                    .replace("{title}", &format!("${}", 4 * i + 2))
                    .replace("{body}", &format!("${}", 4 * i + 3))
                    .replace("{qualified}", &format!("${}", 4 * i + 4))
            ),
            _ => "(?, ?, ?, ?)".to_owned(),
        });
    }
    let sql = match backend {
        DbBackend::Postgres => format!(
            "INSERT INTO case_search (case_number, document) VALUES {} \
             ON CONFLICT (case_number) DO UPDATE SET document = EXCLUDED.document",
            rows.join(", ")
        ),
        _ => format!(
            "INSERT INTO case_search (rowid, title, body, qualified) VALUES {}",
            rows.join(", ")
        ),
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}
