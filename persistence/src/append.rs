//! Rows a PostgreSQL transaction appends and never reads back, sent with its next statement.
//!
//! A filing wrote its audit event, then looked up the webhooks that want it, then queued its
//! mail: three round trips to PostgreSQL, of a filing's eleven, of which only the look-up
//! answers anything the code needs. [`Writes::append`](crate::Writes::append) lets such an
//! `INSERT` wait: on a [`crate::Write`] over PostgreSQL it is held and sent as a
//! data-modifying `WITH` in front of the transaction's next statement, or just before its
//! commit, so the three are one round trip. Elsewhere it runs at once (SQLite's statements
//! are calls in the process, not round trips).
//!
//! Held rows are invisible to the statement that carries them (PostgreSQL runs a `WITH`'s
//! parts on one snapshot). So only the tables of [`APPEND_ONLY`] are held, which no
//! transaction reads or changes after appending to them, no trigger reads, and whose inserts
//! draw their own keys; and a statement that names one of the held tables is not a carrier:
//! the held rows go first, on their own. The one difference left: an error in a held insert
//! (which only a fault can cause) is reported by the statement that carried it.

use std::sync::{Mutex, PoisonError};

#[cfg(test)]
use sea_orm::sea_query::Value;
use sea_orm::{DbBackend, Statement};

/// The tables whose inserts may be held (see the module's documentation): the audit trail,
/// the audiences of its events, and the mail outbox.
pub const APPEND_ONLY: &[&str] = &["audit_events", "event_audiences", "outbox"];

/// The inserts a [`crate::Write`] holds, in the order appended.
#[derive(Debug, Default)]
pub struct Held {
    held: Mutex<Vec<Statement>>,
}

impl Held {
    /// Holds `statement` and answers `None`, when it may be held (an `INSERT` without
    /// `RETURNING` into a table of [`APPEND_ONLY`], on PostgreSQL); otherwise hands it back to
    /// be run at once.
    pub(crate) fn hold(&self, statement: Statement) -> Option<Statement> {
        let holdable = statement.db_backend == DbBackend::Postgres
            && inserted_table(&statement.sql).is_some_and(|t| APPEND_ONLY.contains(&t))
            && !mentions(&statement.sql, "RETURNING");
        if !holdable {
            return Some(statement);
        }
        self.lock().push(statement);
        None
    }

    /// What to send for `next`: the held inserts folded in front of it when it can carry them
    /// (the second item), or the held inserts as a statement of their own to send first (the
    /// first) and `next` unchanged. Either way nothing is held afterwards.
    pub(crate) fn carry(&self, next: Statement) -> (Option<Statement>, Statement) {
        let held = std::mem::take(&mut *self.lock());
        if held.is_empty() {
            return (None, next);
        }
        let carries = starts_with_keyword(&next.sql, &["SELECT", "INSERT", "UPDATE", "DELETE"])
            && !held
                .iter()
                .any(|h| inserted_table(&h.sql).is_some_and(|table| mentions(&next.sql, table)));
        if carries {
            (None, with(next, held))
        } else {
            (Self::alone(held), next)
        }
    }

    /// The held inserts as one statement, to send before the commit; nothing is held after.
    pub(crate) fn take(&self) -> Option<Statement> {
        Self::alone(std::mem::take(&mut *self.lock()))
    }

    fn alone(mut held: Vec<Statement>) -> Option<Statement> {
        if held.is_empty() {
            return None;
        }
        let first = held.remove(0);
        Some(if held.is_empty() {
            first
        } else {
            with(first, held)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `main` with `parts` as data-modifying queries of a `WITH` in front of it, their parameters
/// numbered after `main`'s.
fn with(main: Statement, parts: Vec<Statement>) -> Statement {
    let mut values = main.values.map(|v| v.0).unwrap_or_default();
    let mut ctes = String::new();
    for (n, part) in parts.into_iter().enumerate() {
        let sql = renumbered(&part.sql, values.len());
        values.extend(part.values.map(|v| v.0).unwrap_or_default());
        ctes.push_str(&format!("casebridge_appended_{n} AS ({sql}), "));
    }
    let sql = match strip_keyword(&main.sql, "WITH") {
        // `WITH [RECURSIVE] a AS (…) …`: the parts join the list (a part never refers to
        // another query of the list, so RECURSIVE changes nothing for them).
        Some(rest) => match strip_keyword(rest, "RECURSIVE") {
            Some(rest) => format!("WITH RECURSIVE {ctes}{rest}"),
            None => format!("WITH {ctes}{rest}"),
        },
        None => format!("WITH {} {}", ctes.trim_end_matches(", "), main.sql),
    };
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// `sql` with each placeholder `$n` outside quotes made `$(n + by)`.
fn renumbered(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        out.push(c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                match digits.parse::<usize>() {
                    Ok(n) => out.push_str(&(n + by).to_string()),
                    Err(_) => out.push_str(&digits),
                }
            }
            (None, _) => {}
        }
    }
    out
}

/// The table an `INSERT INTO "table" …` statement writes to.
fn inserted_table(sql: &str) -> Option<&str> {
    let rest = strip_keyword(sql, "INSERT")?;
    let rest = strip_keyword(rest, "INTO")?;
    let quoted = rest.strip_prefix('"')?;
    quoted.split('"').next()
}

/// Whether `sql` names `word` as a whole word, quoted or not, in any case.
fn mentions(sql: &str, word: &str) -> bool {
    let (sql, word) = (sql.to_ascii_lowercase(), word.to_ascii_lowercase());
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(&word).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + word.len()..].chars().next();
        !before.is_some_and(is_part) && !after.is_some_and(is_part)
    })
}

fn starts_with_keyword(sql: &str, keywords: &[&str]) -> bool {
    strip_keyword(sql, "WITH").is_some() || keywords.iter().any(|k| strip_keyword(sql, k).is_some())
}

/// What follows `keyword` (in any case, as a whole word) at the start of `sql`.
fn strip_keyword<'a>(sql: &'a str, keyword: &str) -> Option<&'a str> {
    let sql = sql.trim_start();
    let head = sql.get(..keyword.len())?;
    let rest = &sql[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword) && rest.starts_with(|c: char| c.is_whitespace()))
        .then(|| rest.trim_start())
}

/// The values of a statement, for tests.
#[cfg(test)]
fn values_of(statement: &Statement) -> Vec<Value> {
    statement.values.clone().map(|v| v.0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    }

    fn outbox(id: i64) -> Statement {
        pg(
            r#"INSERT INTO "outbox" ("id", "body") VALUES ($1, $2)"#,
            vec![id.into(), "it costs $3".into()],
        )
    }

    #[test]
    fn held_inserts_ride_in_front_of_the_next_statement_numbered_after_it() {
        let held = Held::default();
        assert!(held.hold(outbox(7)).is_none());
        assert!(held.hold(outbox(8)).is_none());
        let next = pg(
            "SELECT w.id FROM webhooks w WHERE w.domain_id = $1 FOR KEY SHARE OF w",
            vec![1.into()],
        );
        let (first, sent) = held.carry(next);
        assert!(first.is_none());
        assert_eq!(
            sent.sql,
            "WITH casebridge_appended_0 AS (INSERT INTO \"outbox\" (\"id\", \"body\") VALUES \
             ($2, $3)), casebridge_appended_1 AS (INSERT INTO \"outbox\" (\"id\", \"body\") \
             VALUES ($4, $5)) SELECT w.id FROM webhooks w WHERE w.domain_id = $1 FOR KEY \
             SHARE OF w"
        );
        assert_eq!(
            values_of(&sent),
            vec![
                1.into(),
                7i64.into(),
                "it costs $3".into(),
                8i64.into(),
                "it costs $3".into()
            ]
        );
        // Carried: nothing is held any more.
        assert!(held.take().is_none());
    }

    #[test]
    fn a_statement_with_its_own_with_list_takes_them_into_it() {
        let held = Held::default();
        assert!(held.hold(outbox(7)).is_none());
        let (first, sent) = held.carry(pg(
            "with recursive t AS (SELECT $1) SELECT * FROM t",
            vec![1.into()],
        ));
        assert!(first.is_none());
        assert_eq!(
            sent.sql,
            "WITH RECURSIVE casebridge_appended_0 AS (INSERT INTO \"outbox\" (\"id\", \
             \"body\") VALUES ($2, $3)), t AS (SELECT $1) SELECT * FROM t"
        );
    }

    #[test]
    fn a_statement_that_names_a_held_table_is_sent_after_them() {
        for next in [
            r#"SELECT COUNT(*) FROM "outbox""#,
            "UPDATE outbox SET attempts = 1",
            // Not a statement a WITH can lead.
            "LOCK TABLE customers",
        ] {
            let held = Held::default();
            assert!(held.hold(outbox(7)).is_none());
            assert!(held.hold(outbox(8)).is_none());
            let (first, sent) = held.carry(pg(next, vec![]));
            assert_eq!(sent.sql, next);
            let first = first.expect("the held inserts go first");
            assert_eq!(values_of(&first).len(), 4, "{}", first.sql);
            assert!(
                first
                    .sql
                    .ends_with(r#"INSERT INTO "outbox" ("id", "body") VALUES ($1, $2)"#)
            );
            assert!(held.take().is_none());
        }
    }

    #[test]
    fn only_returningless_inserts_into_append_only_tables_on_postgres_are_held() {
        let held = Held::default();
        for statement in [
            pg(r#"INSERT INTO "cases" ("id") VALUES ($1)"#, vec![1.into()]),
            pg(
                r#"INSERT INTO "outbox" ("id") VALUES ($1) RETURNING "id""#,
                vec![1.into()],
            ),
            pg(r#"UPDATE "outbox" SET "attempts" = $1"#, vec![1.into()]),
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                r#"INSERT INTO "outbox" ("id") VALUES (?)"#,
                [1.into()],
            ),
        ] {
            assert!(held.hold(statement).is_some());
        }
        assert!(held.take().is_none());
        assert!(held.hold(outbox(1)).is_none());
        assert_eq!(held.take().map(|s| s.sql), Some(outbox(1).sql));
    }

    #[test]
    fn placeholders_inside_quotes_are_left_alone() {
        assert_eq!(
            renumbered(r#"SELECT $1, '$2', "a$3", $10"#, 5),
            r#"SELECT $6, '$2', "a$3", $15"#
        );
    }

    #[test]
    fn a_table_is_named_only_as_a_whole_word() {
        assert!(mentions("SELECT 1 FROM outbox o", "outbox"));
        assert!(mentions(r#"SELECT 1 FROM "outbox""#, "outbox"));
        assert!(!mentions("SELECT 1 FROM outbox_claims", "outbox"));
        assert!(!mentions("SELECT 1 FROM my_outbox", "outbox"));
        assert!(mentions(
            "insert into t values (1) returning id",
            "RETURNING"
        ));
        assert!(mentions("SELECT 1 FROM AUDIT_EVENTS", "audit_events"));
    }
}
