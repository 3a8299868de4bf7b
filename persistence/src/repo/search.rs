//! The keyword index over titles, descriptions and comments, in one place for the API and the
//! importer: what a case's entry holds, writing it on both engines (PostgreSQL full-text,
//! SQLite FTS5), and the keyword search of a case list.

use std::collections::{HashMap, HashSet};

use casebridge_domain::{CaseId, CustomerId, DomainId, Viewer};
use casebridge_migration::keyword::{self, ScopeKind};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    Statement, Value,
};
use uuid::Uuid;

use super::cases::{CaseRecord, case_select, fetch_cases};
use super::listing::{CaseQuery, add_filters, count_cases, from_visible, keyset_page, sort_time};
use crate::entities::{case_access, case_comments, cases, customers};
use crate::read::{Reads, Writes};
use crate::write::WriteTransaction;
use crate::{Backend, Database, PersistenceError};

// ---------------------------------------------------------------- writing the index

/// A case's keyword index entry: its title, its text (the description, then the comments
/// oldest first) and its words qualified by each scope that may see it (see
/// [`casebridge_migration::keyword`]).
pub(crate) struct IndexEntry<'a> {
    case_number: i64,
    title: &'a str,
    body: String,
    qualified: String,
}

impl<'a> IndexEntry<'a> {
    /// The entry of a case from its title, description and comments (oldest first), the
    /// partner domains recorded on it and its customer's domain.
    pub(crate) fn new<'c>(
        case_number: i64,
        title: &'a str,
        description: &str,
        comments: impl IntoIterator<Item = &'c str>,
        partners: impl IntoIterator<Item = Uuid>,
        customer_domain: Uuid,
    ) -> Self {
        let comments: Vec<&str> = comments.into_iter().collect();
        let tags = scope_tags(partners, customer_domain);
        let qualified = keyword::qualified_words(
            [title, description]
                .into_iter()
                .chain(comments.iter().copied()),
            &tags,
        );
        Self {
            case_number,
            title,
            body: format!("{description}\n{}", comments.join("\n")),
            qualified,
        }
    }
}

impl IndexEntry<'_> {
    /// The same entry under the case's number, once it is known.
    pub(crate) fn numbered(self, case_number: i64) -> Self {
        Self {
            case_number,
            ..self
        }
    }
}

/// Rewrites the case's keyword index entry from its title, description and comments, in the
/// caller's transaction.
pub async fn reindex(conn: &impl ConnectionTrait, id: CaseId) -> Result<(), PersistenceError> {
    let Some(case) = cases::Entity::find_by_id(id.as_uuid()).one(conn).await? else {
        return Ok(());
    };
    let comments: Vec<String> = case_comments::Entity::find()
        .filter(case_comments::Column::CaseId.eq(id.as_uuid()))
        .order_by_asc(case_comments::Column::CreateTime)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.body)
        .collect();
    let partners = case_access::Entity::find()
        .filter(case_access::Column::CaseId.eq(id.as_uuid()))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| a.domain_id);
    let customer_domain = customers::Entity::find_by_id(case.customer_id)
        .one(conn)
        .await?
        .ok_or_else(|| PersistenceError::Corrupt(format!("case {id} has no customer")))?
        .domain_id;
    let entry = IndexEntry::new(
        case.case_number,
        &case.title,
        &case.description,
        comments.iter().map(String::as_str),
        partners,
        customer_domain,
    );
    write_index(conn, &[entry], true).await
}

/// A new case to index in bulk; its customer's domain, for the scope, is looked up.
pub(crate) struct IndexedCase<'a> {
    /// Id.
    pub(crate) id: CaseId,
    /// Number.
    pub(crate) case_number: i64,
    /// Title.
    pub(crate) title: &'a str,
    /// Description.
    pub(crate) description: &'a str,
    /// Comments, oldest first.
    pub(crate) comments: Vec<&'a str>,
    /// The partner domains recorded on it.
    pub(crate) partner_domains: &'a [DomainId],
    /// Its customer.
    pub(crate) customer_id: CustomerId,
}

/// Writes the keyword index entries of many new cases: one query for their customers' domains,
/// one multi-row statement. The caller keeps `cases` to a few hundred (four parameters each).
pub(crate) async fn index_many(
    conn: &impl ConnectionTrait,
    cases: &[IndexedCase<'_>],
) -> Result<(), PersistenceError> {
    if cases.is_empty() {
        return Ok(());
    }
    let customer_domains: HashMap<Uuid, Uuid> = customers::Entity::find()
        .filter(
            customers::Column::Id.is_in(
                cases
                    .iter()
                    .map(|c| c.customer_id.as_uuid())
                    .collect::<HashSet<_>>(),
            ),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.domain_id))
        .collect();
    let entries = cases
        .iter()
        .map(|c| {
            let customer_domain = customer_domains
                .get(&c.customer_id.as_uuid())
                .copied()
                .ok_or_else(|| {
                    PersistenceError::Corrupt(format!("case {} has no customer", c.id))
                })?;
            Ok(IndexEntry::new(
                c.case_number,
                c.title,
                c.description,
                c.comments.iter().copied(),
                c.partner_domains.iter().map(|d| d.as_uuid()),
                customer_domain,
            ))
        })
        .collect::<Result<Vec<_>, PersistenceError>>()?;
    write_index(conn, &entries, false).await
}

/// Writes keyword index entries in one statement; `replace` when they may exist already.
pub(crate) async fn write_index(
    conn: &impl Writes,
    entries: &[IndexEntry<'_>],
    replace: bool,
) -> Result<(), PersistenceError> {
    if entries.is_empty() {
        return Ok(());
    }
    let backend = conn.backend();
    if replace && backend != DbBackend::Postgres {
        // An FTS5 table has no upsert: the old entry goes first.
        for e in entries {
            conn.run(Statement::from_sql_and_values(
                backend,
                "DELETE FROM case_search WHERE rowid = ?",
                [e.case_number.into()],
            ))
            .await?;
        }
    }
    let mut values: Vec<Value> = Vec::with_capacity(entries.len() * 4);
    let mut rows: Vec<String> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        values.extend([
            e.case_number.into(),
            e.title.into(),
            e.body.as_str().into(),
            e.qualified.as_str().into(),
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
    conn.run(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

crate::read_row! {
    /// SQLite's count of the rows its connection has changed since it opened.
    struct TotalChanges {
        changes: i64,
    }
}

/// Merges about `pages` pages of SQLite's keyword index into fewer, larger b-trees, in one
/// write transaction, and says whether there was anything to merge. A commit only adds its
/// entries' b-tree to the index (migration `m20261201_000001_defer_keyword_merges`); this is
/// where they are merged, a level at a time once it holds FTS5's `usermerge` (4) of them,
/// whenever the service finds the writer idle (`api::housekeeping`) and at the end of a bulk
/// load. PostgreSQL has nothing to merge.
pub async fn merge_index(db: &Database, pages: u32) -> Result<bool, PersistenceError> {
    if db.backend() != Backend::Sqlite {
        return Ok(false);
    }
    let tx = db.begin_write().await?;
    let before = total_changes(&tx).await?;
    tx.run(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO case_search (case_search, rank) VALUES ('merge', ?)",
        [pages.into()],
    ))
    .await?;
    // FTS5's own test of work done: a merge that wrote nothing changed at most the one row of
    // the command itself.
    let merged = total_changes(&tx).await? - before >= 2;
    tx.commit().await?;
    Ok(merged)
}

/// Merges SQLite's keyword index as far as [`merge_index`] goes, slice after slice: for the
/// end of a bulk load, before anyone searches.
pub async fn merge_index_fully(db: &Database) -> Result<(), PersistenceError> {
    /// Pages per transaction: large, as nobody waits.
    const BULK: u32 = 10_000;
    while merge_index(db, BULK).await? {}
    Ok(())
}

async fn total_changes(tx: &impl Writes) -> Result<i64, PersistenceError> {
    let rows: Vec<TotalChanges> = tx
        .rows(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT total_changes() AS changes",
        ))
        .await?;
    Ok(rows.first().map_or(0, |r| r.changes))
}

/// On PostgreSQL, the `INSERT` of a new case's entry that takes the case's number from the
/// `RETURNING` of the `filed` query the caller's statement names (see `cases::insert_case`),
/// with its three parameters numbered from `$first`; the entry's own number is not used.
pub(crate) fn insert_filed_entry(
    entry: &IndexEntry<'_>,
    filed: &str,
    first: usize,
) -> (String, [Value; 3]) {
    let document = PG_DOCUMENT
        .replace("{title}", &format!("${first}"))
        .replace("{body}", &format!("${}", first + 1))
        .replace("{qualified}", &format!("${}", first + 2));
    (
        format!(
            "INSERT INTO case_search (case_number, document) \
             SELECT {filed}.case_number, {document} FROM {filed}"
        ),
        [
            entry.title.into(),
            entry.body.as_str().into(),
            entry.qualified.as_str().into(),
        ],
    )
}

/// A case's PostgreSQL index document from its `{title}`, `{body}` and `{qualified}`
/// parameters: the title weighs more than the rest; the qualified words are kept verbatim
/// (cut by [`keyword::words`], as the queries' terms are), not parsed again.
const PG_DOCUMENT: &str = "setweight(to_tsvector('simple', {title}), 'A') \
     || to_tsvector('simple', {body}) || array_to_tsvector(string_to_array({qualified}, ' '))";

/// The tags of a case's scopes: each partner domain recorded on it, its customer's domain.
fn scope_tags(partners: impl IntoIterator<Item = Uuid>, customer_domain: Uuid) -> Vec<String> {
    let mut tags: Vec<String> = partners
        .into_iter()
        .map(|d| keyword::scope_tag(ScopeKind::Partner, d))
        .chain([keyword::scope_tag(ScopeKind::Customer, customer_domain)])
        .collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

// ---------------------------------------------------------------- searching it

/// The words of a keyword query, reduced to letters and digits: what both full-text engines
/// match on, and nothing they could read as syntax.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// The viewer's own scope tag; the provider's staff search everything.
fn viewer_tag(viewer: Viewer) -> Option<String> {
    match viewer {
        Viewer::Partner(domain) => Some(keyword::scope_tag(ScopeKind::Partner, domain.as_uuid())),
        Viewer::Customer(domain) => Some(keyword::scope_tag(ScopeKind::Customer, domain.as_uuid())),
        Viewer::Provider => None,
    }
}

/// `SELECT case_number` of the cases matching every term as a prefix: for a partner or a
/// customer, of the words qualified by its own tag, so that the engine reads only the posting
/// lists of its own matches (and of any scope sharing its tag, which the visibility rule,
/// applied by the caller, turns away); for the provider, of the title and the text.
pub(crate) fn keyword_matches(
    backend: DbBackend,
    terms: &[String],
    viewer: Viewer,
) -> SelectStatement {
    let tag = viewer_tag(viewer);
    match backend {
        DbBackend::Postgres => {
            let condition = match tag {
                // Verbatim lexemes, as written by `array_to_tsvector`: a `tsquery` literal,
                // not `to_tsquery`, which would parse them again.
                Some(tag) => Expr::cust_with_values(
                    "document @@ $1::tsquery",
                    [terms
                        .iter()
                        .map(|t| format!("'{}':*", keyword::qualified(&tag, t)))
                        .collect::<Vec<_>>()
                        .join(" & ")],
                ),
                None => Expr::cust_with_values(
                    "document @@ to_tsquery('simple', $1)",
                    [terms
                        .iter()
                        .map(|t| format!("{t}:*"))
                        .collect::<Vec<_>>()
                        .join(" & ")],
                ),
            };
            Query::select()
                .column(Alias::new("case_number"))
                .from(Alias::new("case_search"))
                .and_where(condition)
                .to_owned()
        }
        _ => {
            let query = terms
                .iter()
                .map(|t| match &tag {
                    Some(tag) => format!("qualified : \"{}\"*", keyword::qualified(tag, t)),
                    None => format!("{{title body}} : \"{t}\"*"),
                })
                .collect::<Vec<_>>();
            Query::select()
                .expr_as(Expr::cust("rowid"), Alias::new("case_number"))
                .from(Alias::new("case_search"))
                .and_where(Expr::cust_with_values(
                    "case_search MATCH ?",
                    [query.join(" AND ")],
                ))
                .to_owned()
        }
    }
}

/// The keyword matches a statement should read from first, if any, going from each straight
/// to the viewer's record of it.
///
/// SQLite, a partner or a customer: without table statistics SQLite's planner takes a
/// viewer's `case_access` range for a handful of rows and walks it, looking every case up to
/// probe the matches (50–100 ms for a reseller with 10,000 cases); reading the few scoped
/// matches outward (`CROSS JOIN` fixes that order) costs a lookup per match.
///
/// PostgreSQL, a partner: through `cases`, PostgreSQL read each match's case and customer
/// row (15–17 ms a search at a million cases, 620 matches); from the matches to the partner's
/// records (`ix_case_access_match`, migration `m20261202_000002`), 5–6 ms, and less since
/// each record is a look-up of its own (see `listing::from_visible`). The matches are
/// fenced off (`OFFSET 0`: a subquery with an offset is planned on its own) so that
/// PostgreSQL finds them first; planned together with the records, it walked the partner's
/// records and tested the query against each one's document instead (5.5 ms at 100,000
/// cases, against 0.5). A customer's search on PostgreSQL keeps the `IN` form, as does the
/// provider's everywhere, whose unscoped matches can be most of the database.
pub(crate) fn drives_from_matches(
    backend: DbBackend,
    query: &CaseQuery,
) -> Option<SelectStatement> {
    let drives = match (backend, query.viewer) {
        (_, Viewer::Provider) => false,
        (DbBackend::Postgres, viewer) => matches!(viewer, Viewer::Partner(_)),
        _ => true,
    };
    if !drives {
        return None;
    }
    let terms = search_terms(query.q.as_deref()?);
    (!terms.is_empty()).then(|| {
        let mut matches = keyword_matches(backend, &terms, query.viewer);
        if backend == DbBackend::Postgres {
            matches.offset(0);
        }
        matches
    })
}

/// A keyword search in one pass over its matches. Counting them for `total_size` visits every
/// visible match anyway, so the same pass yields the page: a materialised common table
/// expression keeps each visible match's sort keys once, the statement counts all of it (an
/// uncorrelated subquery, run once) and takes the page from it past the cursor; then only the
/// page's cases are read whole. A page past the end has no row to carry the count, which is
/// then counted apart.
///
/// The table expression rather than a window (`COUNT(*) OVER ()` over the matches, then the
/// page): SQLite buffers a window's rows through a machinery of its own that cost more than
/// the matches' index look-ups. Counted with callgrind at a million cases (reseller-000,
/// "calendar", 620 matches), the statement executes 7.97 million instructions instead of 9.27
/// million.
pub(crate) async fn search_cases(
    conn: &impl Reads,
    query: &CaseQuery,
) -> Result<(Vec<CaseRecord>, u64), PersistenceError> {
    let backend = conn.backend();
    let mut ids = Vec::new();
    let mut total = None;
    for hit in conn.rows::<Hit>(search_page(backend, query)).await? {
        ids.push(hit.hit_id);
        total = Some(hit.hit_total);
    }
    let total = match total {
        Some(n) => u64::try_from(n).unwrap_or(0),
        None => count_cases(conn, query).await?,
    };
    if ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    let mut whole = case_select();
    whole.and_where(Expr::col((cases::Entity, cases::Column::Id)).is_in(ids.clone()));
    let mut by_id: HashMap<Uuid, CaseRecord> = fetch_cases(conn, &whole)
        .await?
        .into_iter()
        .map(|c| (c.id.as_uuid(), c))
        .collect();
    let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok((rows, total))
}

/// The statement of [`search_cases`] that finds the page's cases and counts every visible
/// match: `hit_id` and `hit_total` a row.
fn search_page(backend: DbBackend, query: &CaseQuery) -> Statement {
    let matches = drives_from_matches(backend, query);
    let from_matches = matches.is_some();
    let mut hits = Query::select();
    let (t, id_col) = from_visible(&mut hits, backend, matches, query);
    add_filters(&mut hits, &t, query, backend, from_matches);
    let (hit_id, hit_severity, hit_time) = (
        Alias::new("hit_id"),
        Alias::new("hit_severity"),
        Alias::new("hit_time"),
    );
    hits.expr_as(Expr::col((t.clone(), id_col)), hit_id.clone())
        .expr_as(
            Expr::col((t.clone(), Alias::new("severity"))),
            hit_severity.clone(),
        )
        .expr_as(sort_time(query.order, &t), hit_time.clone());
    let h = Alias::new("hits");
    let mut all = CommonTableExpression::new();
    all.table_name(h.clone()).query(hits).materialized(true);
    let count = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(h.clone())
        .to_owned();
    let mut page = Query::select();
    page.column((h.clone(), hit_id.clone()))
        .expr_as(
            Expr::SubQuery(None, Box::new(count.into_sub_query_statement())),
            Alias::new("hit_total"),
        )
        .from(h.clone())
        .with_cte(all);
    let keys = [
        Expr::col((h.clone(), hit_severity)),
        Expr::col((h.clone(), hit_time)),
        Expr::col((h.clone(), hit_id.clone())),
    ];
    keyset_page(&mut page, query, keys);
    backend.build(&page)
}

crate::read_row! {
    /// A case a keyword search found, and how many it found in all.
    struct Hit {
        hit_id: Uuid,
        hit_total: i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PoolSettings;
    use crate::repo::listing::CaseOrder;
    use sea_orm::ConnectionTrait;

    /// SQLite plans without statistics, so an index or a reworded join can change how a
    /// partner's search reads its matches; the plan is what makes it cost what bench/RESULTS.md
    /// says. Each match's record must be one covering descent of `ix_case_access_match` on
    /// its two key columns: with any more columns constrained (a `customer_id` placed where
    /// the `IN` list reaches it), SQLite probes the index once per listed customer, 20 times
    /// slower at a million cases.
    #[tokio::test]
    async fn a_partner_search_reads_each_match_in_one_covering_descent() {
        let db = crate::Database::connect("sqlite::memory:", &PoolSettings::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let query = CaseQuery {
            viewer: Viewer::Partner(DomainId::generate()),
            customer: None,
            q: Some("calendar".to_owned()),
            statuses: Vec::new(),
            severities: Vec::new(),
            updated_after: None,
            service_level: None,
            now: time::OffsetDateTime::now_utc(),
            order: CaseOrder::UpdateTimeDesc,
            after: None,
            limit: 11,
        };
        let statement = search_page(DbBackend::Sqlite, &query);
        let explain = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {}", statement.sql),
            statement.values.map(|v| v.0).unwrap_or_default(),
        );
        let plan: Vec<String> = db
            .reader()
            .query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "detail").unwrap())
            .collect();
        assert!(
            plan.iter().any(|step| step
                == "SEARCH access USING COVERING INDEX ix_case_access_match \
                    (case_number=? AND domain_id=?)"),
            "{plan:#?}"
        );
        let matches = plan.iter().position(|s| s.contains("VIRTUAL TABLE"));
        let records = plan.iter().position(|s| s.starts_with("SEARCH access"));
        assert!(matches < records, "the matches drive: {plan:#?}");
    }

    #[test]
    fn search_terms_keep_letters_and_digits_only() {
        assert_eq!(
            search_terms("Bounce \"550\" AND (gmail*) -NOT ü"),
            vec!["bounce", "550", "and", "gmail", "not", "ü"]
        );
        assert!(search_terms("\"'*()").is_empty());
    }
}
