//! The foundation: operations endpoints, the error model for unrouted requests, request ids,
//! the docs and the committed OpenAPI document.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_tests::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = app.api.get("/healthz").send().await;
    res.assert_status(200);
    assert_eq!(res.text(), "ok");
}

#[tokio::test]
async fn readyz_answers_ok_while_the_database_answers() {
    let app = spawn_app().await;
    app.api.get("/readyz").send().await.assert_status(200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    app.take_database_away().await;
    let res = app.api.get("/readyz").send().await;
    res.assert_problem(503, "service_unavailable");
    // The process itself is still alive.
    app.api.get("/healthz").send().await.assert_status(200);
}

/// PostgreSQL may cut the service's connections (a restart, a proxy's idle timeout, an
/// administrator). The pool hands a connection that was just in use straight back to work,
/// since a check would cost every request a round trip: a request that
/// meets a cut one is told the service is unavailable for a moment (503, never a 500), and the
/// pool drops that connection, so that the requests after it are answered. SQLite has no
/// connection to cut: PostgreSQL only.
#[tokio::test]
async fn a_connection_postgresql_cut_costs_a_request_at_most_a_503_and_is_replaced() {
    let app = spawn_app().await;
    if app.backend != casebridge_persistence::Backend::Postgres {
        return;
    }
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Calendar sync")
        .await;
    let path = format!("/v1/cases/{}", case["id"].as_str().unwrap());
    app.get_as(&w.reseller, &path).await.assert_status(200);

    cut_the_service_s_connections(&app).await;
    for _ in 0..8 {
        let res = app.get_as(&w.reseller, &path).await;
        if res.status != 200 {
            res.assert_problem(503, "service_unavailable");
            assert!(
                res.header("retry-after").is_some(),
                "a 503 says when to retry"
            );
        }
    }
    for _ in 0..8 {
        app.get_as(&w.reseller, &path).await.assert_status(200);
    }
}

/// A fresh database, when the tests run on PostgreSQL.
async fn fresh_postgresql() -> Option<casebridge_tests::FreshDatabase> {
    let fresh = casebridge_tests::FreshDatabase::new().await;
    (fresh.db.backend() == casebridge_persistence::Backend::Postgres).then_some(fresh)
}

casebridge_persistence::read_row! {
    #[derive(Debug)]
    struct ServerProcess {
        pid: i32,
    }
}

/// The PostgreSQL server process that answers a read outside a transaction.
async fn server_process(
    db: &casebridge_persistence::Database,
) -> Result<i32, casebridge_persistence::PersistenceError> {
    use casebridge_persistence::Reads;

    let statement = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT pg_backend_pid() AS pid",
    );
    let rows: Vec<ServerProcess> = db.reads().rows(statement).await?;
    Ok(rows[0].pid)
}

/// On PostgreSQL the reads outside transactions run on a pool of their own that hands a
/// connection back to work without a round trip (casebridge_persistence::read::PgReaders). A
/// connection whose server process ended fails its one read as the database being
/// unavailable, is not handed out again, and the next read opens a fresh one.
#[tokio::test]
async fn a_read_connection_whose_server_process_ended_fails_one_read_and_is_replaced() {
    use sea_orm::ConnectionTrait;

    let Some(fresh) = fresh_postgresql().await else {
        return;
    };
    let first = server_process(&fresh.db).await.expect("a read");
    assert_eq!(
        server_process(&fresh.db).await.expect("a read"),
        first,
        "an idle connection goes back to work"
    );
    fresh
        .db
        .writer()
        .execute_unprepared(&format!("SELECT pg_terminate_backend({first})"))
        .await
        .expect("the read connection's server process ended");
    // pg_terminate_backend signals; the process ends a moment later.
    let gone = format!("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid = {first}");
    let mut waited = 0;
    while count_rows(fresh.db.writer(), &gone).await > 0 {
        assert!(waited < 100, "server process {first} did not end");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }

    let cut = server_process(&fresh.db).await;
    assert!(
        matches!(
            cut,
            Err(casebridge_persistence::PersistenceError::Unavailable(_))
        ),
        "the read on the cut connection: {cut:?}"
    );
    let next = server_process(&fresh.db).await.expect("a fresh connection");
    assert_ne!(next, first);
    assert_eq!(server_process(&fresh.db).await.expect("a read"), next);
}

/// A read dropped mid-statement (its request went away) leaves its connection with an answer
/// half read: that connection is not handed out again, so the next read gets an answer of its
/// own, on another connection.
#[tokio::test]
async fn a_read_dropped_mid_statement_leaves_nothing_for_the_next() {
    use casebridge_persistence::Reads;

    let Some(fresh) = fresh_postgresql().await else {
        return;
    };
    let first = server_process(&fresh.db).await.expect("a read");
    let slow = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT pg_backend_pid() + 1000000 AS pid FROM pg_sleep(0.5)",
    );
    let dropped = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        fresh.db.reads().rows::<ServerProcess>(slow),
    )
    .await;
    assert!(dropped.is_err(), "the slow read was dropped: {dropped:?}");
    let next = server_process(&fresh.db).await.expect("a read");
    assert!(
        next < 1_000_000,
        "the next read got the dropped one's answer"
    );
    assert_ne!(
        next, first,
        "the dropped read's connection was handed out again"
    );
}

casebridge_persistence::read_row! {
    #[derive(Debug)]
    struct Pair {
        n: i64,
        m: i64,
    }
}

/// The hot reads (rusqlite on SQLite, `PgReaders` on PostgreSQL) find each field's column by
/// name on a statement's first row and read the rows after it at the columns found: every row
/// reads its own values, in a statement whose columns stand in another order than the struct's
/// fields, for a pair of structs that select the same name, and a name no column has is an
/// error, not another column's value.
#[tokio::test]
async fn every_row_of_a_hot_read_reads_its_own_values_at_the_columns_the_first_found() {
    use casebridge_persistence::Reads;

    let fresh = casebridge_tests::FreshDatabase::new().await;
    let reads = fresh.db.reads();
    let rows_of = |columns: &str| {
        sea_orm::Statement::from_string(
            reads.backend(),
            format!("WITH v(x) AS (VALUES (1), (2), (3)) SELECT {columns} FROM v ORDER BY x"),
        )
    };
    let swapped: Vec<Pair> = reads
        .rows(rows_of(
            "CAST(x * 10 AS BIGINT) AS m, CAST(x AS BIGINT) AS n",
        ))
        .await
        .expect("a read");
    let read: Vec<(i64, i64)> = swapped.iter().map(|p| (p.n, p.m)).collect();
    assert_eq!(read, [(1, 10), (2, 20), (3, 30)]);

    let shared: Vec<(Pair, Count)> = reads
        .rows(rows_of(
            "CAST(x AS BIGINT) AS n, CAST(x * 10 AS BIGINT) AS m, CAST(x * 100 AS BIGINT) AS n",
        ))
        .await
        .expect("a read");
    let read: Vec<(i64, i64, i64)> = shared.iter().map(|(p, c)| (p.n, p.m, c.n)).collect();
    assert_eq!(read, [(1, 10, 100), (2, 20, 200), (3, 30, 300)]);

    let missing = reads
        .rows::<Pair>(rows_of("CAST(x AS BIGINT) AS n, CAST(x AS BIGINT) AS k"))
        .await;
    assert!(missing.is_err(), "{missing:?}");

    // A column of another type is refused, also when its first row holds NULL (whose value
    // has no type to check) and the text only comes after.
    let text_later = reads
        .rows::<Maybe>(rows_of(
            "CASE WHEN x = 1 THEN NULL ELSE CAST(x AS TEXT) END AS n",
        ))
        .await;
    assert!(text_later.is_err(), "{text_later:?}");
}

casebridge_persistence::read_row! {
    #[derive(Debug)]
    struct Maybe {
        n: Option<i64>,
    }
}

/// Every case a read returns carries its category's name, looked up by id in a subquery of
/// exactly this shape (`case_names` in casebridge_persistence::repo::cases). The lookup is one
/// index descent. On PostgreSQL it reads the name from `ix_case_classifications_name` alone,
/// which takes the catalogue's pages marked all-visible by the vacuum `Database::migrate` ends
/// with: without it the planner scans the whole catalogue once per case returned.
#[tokio::test]
async fn a_case_s_category_name_is_read_from_an_index() {
    use sea_orm::ConnectionTrait;

    let fresh = casebridge_tests::FreshDatabase::new().await;
    let lookup = "SELECT (SELECT case_classifications.display_name FROM case_classifications \
                  WHERE case_classifications.id = cases.classification_id) AS name FROM cases";
    let backend = fresh.db.reader().get_database_backend();
    let (explain, column) = match backend {
        sea_orm::DbBackend::Postgres => (format!("EXPLAIN {lookup}"), "QUERY PLAN"),
        _ => (format!("EXPLAIN QUERY PLAN {lookup}"), "detail"),
    };
    let plan: Vec<String> = fresh
        .db
        .reader()
        .query_all_raw(sea_orm::Statement::from_string(backend, explain))
        .await
        .expect("a plan")
        .iter()
        .map(|row| row.try_get::<String>("", column).expect("a plan's line"))
        .collect();
    let expected = match backend {
        sea_orm::DbBackend::Postgres => {
            "Index Only Scan using ix_case_classifications_name on case_classifications"
        }
        // SQLite looks an id up in the primary key's index whatever the catalogue's size.
        _ => "SEARCH case_classifications USING INDEX sqlite_autoindex_case_classifications_1",
    };
    assert!(plan.iter().any(|line| line.contains(expected)), "{plan:#?}");
}

/// The count `sql` answers (its one row's column `n`).
async fn count_rows(conn: &impl casebridge_persistence::Reads, sql: &str) -> i64 {
    let statement = sea_orm::Statement::from_string(conn.backend(), sql);
    let rows: Vec<Count> = conn.rows(statement).await.expect("a count");
    rows[0].n
}

async fn cut_the_service_s_connections(app: &casebridge_tests::TestApp) {
    use sea_orm::ConnectionTrait;

    let admin = sea_orm::Database::connect(&app.settings.database_url)
        .await
        .unwrap();
    let cut = admin
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    assert!(
        cut.rows_affected() > 0,
        "the service's connections were cut"
    );
    let _ = admin.close().await;
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    app.api
        .get("/v1/no-such-thing")
        .send()
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_naming_the_allowed_ones() {
    let app = spawn_app().await;
    let res = app.api.delete("/healthz").send().await;
    res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow").as_deref(), Some("GET"));
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_echoed_when_given() {
    let app = spawn_app().await;
    let generated = app.api.get("/healthz").send().await;
    let id = generated.header("x-request-id").expect("a request id");
    assert_eq!(
        uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()),
        Ok(7)
    );
    let echoed = app
        .api
        .get("/healthz")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await;
    assert_eq!(
        echoed.header("x-request-id").as_deref(),
        Some("trace-abc-123")
    );
    // Problems carry it too, so a client can quote it.
    let problem = app
        .api
        .get("/nowhere")
        .header("x-request-id", "trace-xyz")
        .send()
        .await;
    assert_eq!(problem.header("x-request-id").as_deref(), Some("trace-xyz"));
}

#[tokio::test]
async fn an_unusable_client_request_id_is_replaced() {
    let app = spawn_app().await;
    let res = app
        .api
        .get("/healthz")
        .header("x-request-id", &"x".repeat(500))
        .send()
        .await;
    assert_ne!(res.header("x-request-id").map(|s| s.len()), Some(500));
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;
    let res = app.api.get("/healthz").send().await;
    assert_eq!(
        res.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(res.header("content-security-policy").is_some());
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.api.get("/healthz").send().await;
    app.api.get("/nowhere/at/all").send().await;
    let res = app.api.get("/metrics").send().await;
    res.assert_status(200);
    let text = res.text();
    assert!(
        text.contains(
            r#"casebridge_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("casebridge_http_request_duration_seconds_bucket"));
    // Raw paths never become labels.
    assert!(!text.contains("/nowhere/at/all"));
}

#[tokio::test]
async fn the_openapi_document_and_the_interactive_docs_are_served() {
    let app = spawn_app().await;
    let doc = app.api.get("/openapi.json").send().await;
    doc.assert_status(200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/healthz"]["get"].is_object());
    let redirect = app.api.get("/docs").send().await;
    redirect.assert_status(308);
    assert_eq!(redirect.header("location").as_deref(), Some("/docs/"));
    let page = app.api.get("/docs/").send().await;
    page.assert_status(200);
    assert!(page.text().contains("swagger-ui"));
    // Served from the binary: the bundle is there, no CDN.
    let bundle = app.api.get("/docs/swagger-ui-bundle.js").send().await;
    bundle.assert_status(200);
    assert!(bundle.bytes.len() > 100_000);
}

#[tokio::test]
async fn a_problem_type_uri_documents_its_code() {
    let app = spawn_app().await;
    let problem = app.api.get("/nowhere").send().await;
    let uri = problem.body["type"].as_str().expect("a type").to_owned();
    let doc = app.api.get(&uri).send().await;
    doc.assert_status(200);
    assert_eq!(doc.body["code"], "not_found");
    assert_eq!(doc.body["status"], 404);
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = casebridge_api::openapi::openapi_yaml().expect("the document renders");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is out of date with the code; regenerate it with\n\n    cargo run -- openapi > openapi.yaml\n"
    );
}

#[tokio::test]
async fn an_in_memory_sqlite_database_takes_no_file_lock() {
    let db = casebridge_persistence::Database::connect(
        "sqlite::memory:",
        &casebridge_persistence::PoolSettings::default(),
    )
    .await
    .expect("an in-memory database");
    db.migrate().await.expect("migrations");
    let stray: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lock") && n.contains("memory"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    // A second one beside it is another database, not a second instance of the first.
    let other = casebridge_persistence::Database::connect(
        "sqlite::memory:",
        &casebridge_persistence::PoolSettings::default(),
    )
    .await;
    assert!(other.is_ok());
}

/// An answered write is on disk, not only in the operating system's cache: the sessions that
/// write wait for the log's flush at every commit (SQLite `synchronous = FULL` in WAL mode,
/// PostgreSQL `synchronous_commit = on`). A power loss cannot be simulated here, so this
/// checks the setting each writing session actually runs with.
#[tokio::test]
async fn every_commit_waits_for_the_log_to_reach_the_disk() {
    let fresh = casebridge_tests::FreshDatabase::new().await;
    let (sql, durable) = match fresh.db.backend() {
        casebridge_persistence::Backend::Sqlite => ("PRAGMA synchronous", "2"),
        casebridge_persistence::Backend::Postgres => ("SHOW synchronous_commit", "on"),
    };
    assert_eq!(setting(fresh.db.writer(), sql).await, durable, "{sql}");
    // Inside a write transaction too: the kind a creation commits through.
    let tx = fresh.db.begin().await.expect("a write transaction");
    assert_eq!(setting(&tx, sql).await, durable, "{sql} in a transaction");
    tx.rollback().await.expect("rollback");
}

/// Every PostgreSQL search reads the keyword index's pending list whole (new entries wait
/// there, unsorted, until a merge), so filings must not let it grow long: at PostgreSQL's
/// default of 4 MB, some 3,400 filings made a search four times as slow. Two thousand
/// entries (some ninety pages) leave at most 256 kB of it, 32 pages of 8 kB, once the
/// migration that bounds it has run. SQLite's full-text index has no such list.
#[tokio::test]
async fn filings_leave_searches_a_short_pending_list_of_index_entries_to_read() {
    use sea_orm::ConnectionTrait;

    let Some(fresh) = fresh_postgresql().await else {
        return;
    };
    let db = fresh.db.writer();
    db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .await
        .expect("pgstattuple, from PostgreSQL's contrib modules");
    // Documents shaped as the service writes them: weighted title words, the text's words,
    // verbatim scope-qualified words.
    db.execute_unprepared(
        "INSERT INTO case_search (case_number, document) \
         SELECT n, setweight(to_tsvector('simple', 'Calendar sync fails ' || n), 'A') \
           || to_tsvector('simple', 'since monday shared drives do not sync on managed phones ' \
              || (n % 97) || ' ticket ' || n) \
           || array_to_tsvector(ARRAY['p' || n || 'calendar', 'p' || n || 'sync', 'c' || n]) \
         FROM generate_series(1, 2000) AS n",
    )
    .await
    .expect("entries");
    let pending = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pending_pages::bigint AS n FROM pgstatginindex('ix_case_search_document')",
        ))
        .await
        .expect("the index's statistics")
        .expect("one row")
        .try_get::<i64>("", "n")
        .expect("pending pages");
    assert!(pending <= 33, "{pending} pages of pending entries");
}

/// A session setting, as text.
async fn setting(conn: &impl sea_orm::ConnectionTrait, sql: &str) -> String {
    let statement = sea_orm::Statement::from_string(conn.get_database_backend(), sql);
    let row = conn
        .query_one_raw(statement)
        .await
        .expect("the setting")
        .expect("one row");
    row.try_get_by_index::<i64>(0)
        .map(|n| n.to_string())
        .or_else(|_| row.try_get_by_index::<String>(0))
        .expect("a value")
}

casebridge_persistence::read_row! {
    struct Count {
        n: i64,
    }
}

async fn count(conn: &impl casebridge_persistence::Reads, table: &str) -> i64 {
    count_rows(conn, &format!("SELECT COUNT(*) AS n FROM {table}")).await
}

/// Rows appended to the audit trail and the outbox (on PostgreSQL held and sent with the
/// transaction's next statement, casebridge_persistence::append) are written exactly as if run
/// at once: a statement of the same transaction that reads their table sees them, the commit
/// keeps them, a rollback drops them, and a held insert that fails fails the transaction.
#[tokio::test]
async fn appended_rows_are_read_committed_and_undone_like_any_write() {
    use casebridge_persistence::WriteTransaction;
    use casebridge_persistence::repo::audit::{self, AuditActor, NewEvent};
    use casebridge_persistence::repo::outbox::{self, Mail};

    let fresh = casebridge_tests::FreshDatabase::new().await;
    let db = &fresh.db;
    let now = time::OffsetDateTime::now_utc();
    let mail = |to: &str| Mail {
        recipient: to.to_owned(),
        subject: "subject".to_owned(),
        body: "body, costs $1".to_owned(),
        case_id: None,
    };
    let event = |audience: Vec<casebridge_domain::DomainId>| NewEvent {
        action: "customer.test",
        subject_type: "customer",
        subject_id: "c".to_owned(),
        customer_id: None,
        case_id: None,
        details: serde_json::json!({}),
        audience,
    };
    let domain = casebridge_domain::DomainId::generate();
    casebridge_persistence::repo::identity::insert_domain(
        db.writer(),
        domain,
        &"appended.example".parse().unwrap(),
        casebridge_domain::Realm::Reseller,
        now,
    )
    .await
    .unwrap();

    let tx = db.begin_write().await.unwrap();
    outbox::enqueue(&tx, &[mail("a@example.com"), mail("b@example.com")], now)
        .await
        .unwrap();
    assert_eq!(
        count(&tx, "outbox").await,
        2,
        "a read of the table sees them"
    );
    outbox::enqueue(&tx, &[mail("c@example.com")], now)
        .await
        .unwrap();
    audit::record(&tx, &AuditActor::default(), event(vec![domain]), now)
        .await
        .unwrap();
    // Carries the three held inserts (the mail, the event and its audience).
    assert!(count(&tx, "domains").await >= 1);
    tx.commit().await.unwrap();
    let reads = db.reads();
    assert_eq!(count(&reads, "outbox").await, 3);
    assert_eq!(count(&reads, "audit_events").await, 1);
    assert_eq!(count(&reads, "event_audiences").await, 1);

    // Held until the commit, and dropped with the rollback.
    let tx = db.begin_write().await.unwrap();
    outbox::enqueue(&tx, &[mail("d@example.com")], now)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&reads, "outbox").await, 3);

    // An audience that is no domain breaks a foreign key: the transaction fails (at the held
    // insert's carrier or its commit) and leaves nothing.
    let tx = db.begin_write().await.unwrap();
    outbox::enqueue(&tx, &[mail("e@example.com")], now)
        .await
        .unwrap();
    let written = audit::record(
        &tx,
        &AuditActor::default(),
        event(vec![casebridge_domain::DomainId::generate()]),
        now,
    )
    .await;
    let failed = match written {
        Err(_) => true,
        Ok(_) => tx.commit().await.is_err(),
    };
    assert!(failed, "the broken insert fails the transaction");
    assert_eq!(count(&reads, "outbox").await, 3);
    assert_eq!(count(&reads, "audit_events").await, 1);
}
