//! The `casebridge` binary's commands, run as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use casebridge_tests::ScratchDatabase;

fn casebridge(db: &ScratchDatabase) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebridge"));
    cmd.env_clear()
        .env("CASEBRIDGE_DATABASE_URL", &db.url)
        .env("CASEBRIDGE_DATA_DIR", db.dir())
        .env("RUST_LOG", "warn");
    cmd
}

#[tokio::test]
async fn bootstrap_creates_the_provider_domain_once_and_prints_a_one_time_password() {
    let db = ScratchDatabase::new().await;
    let out = casebridge(&db)
        .args([
            "bootstrap",
            "--domain",
            "support.example.com",
            "--email",
            "admin@support.example.com",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let otp = stdout
        .lines()
        .find_map(|l| l.strip_prefix("One-time password: "))
        .expect("a one-time password")
        .trim()
        .to_owned();
    assert_eq!(otp.len(), 20);
    let again = casebridge(&db)
        .args([
            "bootstrap",
            "--domain",
            "other.example.com",
            "--email",
            "admin@other.example.com",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("provider domain exists already"));
    let consumer = casebridge(&ScratchDatabase::new().await)
        .args([
            "bootstrap",
            "--domain",
            "gmail.com",
            "--email",
            "boss@gmail.com",
        ])
        .output()
        .unwrap();
    assert!(!consumer.status.success());
}

#[tokio::test]
async fn migrate_applies_the_migrations_and_is_idempotent() {
    use casebridge_migration::MigratorTrait;
    use sea_orm::ConnectionTrait;
    let db = ScratchDatabase::new().await;
    for _ in 0..2 {
        let out = casebridge(&db).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every migration is recorded once, and the schema it made is there to use.
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let backend = conn.get_database_backend();
    let applied = conn
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(
        applied,
        casebridge_migration::Migrator::migrations().len() as i64
    );
    for table in [
        "domains",
        "cases",
        "case_access",
        "attachment_chunks",
        "sign_in_failures",
    ] {
        conn.execute_unprepared(&format!("SELECT COUNT(*) FROM {table}"))
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn openapi_prints_the_committed_document() {
    let db = ScratchDatabase::new().await;
    let out = casebridge(&db).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
    let json = casebridge(&db)
        .args(["openapi", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

/// A `casebridge serve` process on a free port, killed (by its pid) when dropped.
struct Served {
    child: std::process::Child,
    api: casebridge_tests::TestClient,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts `casebridge serve` with these variables; waits until it is ready, or returns the
/// output of a process that exited instead.
async fn serve(vars: &[(&str, &str)]) -> Result<Served, std::process::Output> {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebridge"));
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .env("CASEBRIDGE_BIND", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let api = casebridge_tests::TestClient::new(&format!("http://127.0.0.1:{port}"));
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            return Err(child.wait_with_output().unwrap());
        }
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status() == 200
        {
            return Ok(Served { child, api });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("casebridge serve did not become ready");
}

#[tokio::test]
async fn a_second_instance_on_a_held_sqlite_file_refuses_to_start() {
    let db = ScratchDatabase::new().await;
    let dir = db.dir().to_str().unwrap().to_owned();
    let vars = [
        ("CASEBRIDGE_DATABASE_URL", db.url.as_str()),
        ("CASEBRIDGE_DATA_DIR", dir.as_str()),
    ];
    let first = serve(&vars).await.expect("the first instance starts");
    let second = serve(&vars).await;
    if db.url.starts_with("sqlite") {
        let out = second.err().expect("the second instance refuses to start");
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("casebridge.db"), "{said}");
        assert!(
            said.contains("in use by another casebridge process"),
            "{said}"
        );
        assert!(said.contains("PostgreSQL"), "{said}");
        // Once the first has stopped, the file is free again.
        drop(first);
        serve(&vars)
            .await
            .expect("an instance starts on the freed file");
    } else {
        // PostgreSQL is shared by any number of instances.
        let second = second.expect("a second instance on PostgreSQL starts");
        for s in [&first, &second] {
            s.api.get("/readyz").send().await.assert_status(200);
        }
    }
}

/// The demo world the `demo` command printed: every account's password, and each account's
/// domain and email.
struct Demo {
    password: String,
    accounts: Vec<(String, String)>,
}

impl Demo {
    /// Runs `casebridge demo` with these variables.
    fn run(vars: &[(&str, &str)]) -> Self {
        let mut demo = Command::new(env!("CARGO_BIN_EXE_casebridge"));
        demo.env_clear().env("RUST_LOG", "warn").arg("demo");
        for (k, v) in vars {
            demo.env(k, v);
        }
        let out = demo.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout).to_string();
        let password = printed
            .lines()
            .find_map(|l| l.split("Every account's password: ").nth(1))
            .unwrap()
            .trim()
            .to_owned();
        let accounts = printed
            .lines()
            .filter_map(|l| {
                let domain = l.split(" domain ").nth(1)?.split_whitespace().next()?;
                let email = l.split(" email ").nth(1)?.trim();
                Some((domain.to_owned(), email.to_owned()))
            })
            .collect();
        Self { password, accounts }
    }

    /// The first account of the provider's domain (`support.…`), or of any other.
    fn account(&self, provider: bool) -> (String, String) {
        self.accounts
            .iter()
            .find(|(d, _)| d.starts_with("support") == provider)
            .cloned()
            .unwrap()
    }
}

/// Signs in through the API; the token.
async fn token(
    api: &casebridge_tests::TestClient,
    domain: &str,
    email: &str,
    password: &str,
) -> String {
    let res = api
        .post("/v1/auth/token")
        .json(&serde_json::json!({"domain": domain, "email": email, "password": password}))
        .send()
        .await;
    res.assert_status(200);
    res.body["access_token"].as_str().unwrap().to_owned()
}

/// The change feed as a client follows it from the start: event ids in order, and the cursor to
/// resume from.
async fn feed(api: &casebridge_tests::TestClient, t: &str) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let res = api
            .get(&format!("/v1/events?page_size=100&cursor={cursor}"))
            .token(t)
            .send()
            .await;
        res.assert_status(200);
        let events = res.body["events"].as_array().unwrap();
        ids.extend(
            events
                .iter()
                .map(|e| e["event"]["id"].as_str().unwrap().to_owned()),
        );
        cursor = res.body["next_cursor"].as_str().unwrap().to_owned();
        if events.len() < 100 {
            return (ids, cursor);
        }
    }
}

#[tokio::test]
async fn copy_data_moves_a_demo_deployment_with_its_attachments_and_refuses_a_second_run() {
    // The source is always the embedded default: SQLite with attachments on disk.
    let source_dir = tempfile::tempdir().unwrap();
    let source_url = format!(
        "sqlite://{}?mode=rwc",
        source_dir.path().join("casebridge.db").display()
    );
    let source_data = source_dir.path().to_str().unwrap().to_owned();
    let source_vars = [
        ("CASEBRIDGE_DATABASE_URL", source_url.as_str()),
        ("CASEBRIDGE_DATA_DIR", source_data.as_str()),
    ];
    let demo = Demo::run(&source_vars);
    let password = demo.password.clone();
    let (domain, email) = demo.account(false);

    // Through the source: a comment and an attachment on one of the partner's cases.
    let source = serve(&source_vars).await.expect("the source serves");
    let t = token(&source.api, &domain, &email, &password).await;
    let listed = source
        .api
        .get("/v1/cases?page_size=100")
        .token(&t)
        .send()
        .await;
    listed.assert_status(200);
    let case = listed.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] != "closed")
        .expect("an open case")
        .clone();
    let id = case["id"].as_str().unwrap().to_owned();
    source
        .api
        .post(&format!("/v1/cases/{id}/comments"))
        .token(&t)
        .json(&serde_json::json!({"body": "Copied along with everything else."}))
        .send()
        .await
        .assert_status(201);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("capture.bin"),
    );
    let attached = source
        .api
        .post(&format!("/v1/cases/{id}/attachments"))
        .token(&t)
        .multipart(form)
        .send()
        .await;
    attached.assert_status(201);
    let attachment = attached.body["id"].as_str().unwrap().to_owned();
    let read = |api: casebridge_tests::TestClient, t: String, id: String| async move {
        let case = api.get(&format!("/v1/cases/{id}")).token(&t).send().await;
        let comments = api
            .get(&format!("/v1/cases/{id}/comments?page_size=100"))
            .token(&t)
            .send()
            .await;
        let list = api.get("/v1/cases?page_size=5").token(&t).send().await;
        (case.body, comments.body, list.body["total_size"].clone())
    };
    let before = read(source.api.clone(), t.clone(), id.clone()).await;
    let (feed_before, _) = feed(&source.api, &t).await;
    assert!(feed_before.len() > 2, "{feed_before:?}");
    // The provider's own service levels, not the defaults a fresh database is seeded with.
    let (provider_domain, provider_email) = demo.account(true);
    let provider = token(&source.api, &provider_domain, &provider_email, &password).await;
    let policies = serde_json::json!({"policies": [
        {"support_tier": "enhanced", "severity": "P2", "first_response_minutes": 90, "hours": "business"},
    ]});
    source
        .api
        .put("/v1/provider/service-levels")
        .token(&provider)
        .json(&policies)
        .send()
        .await
        .assert_status(200);
    drop(source);

    // The target: PostgreSQL when the suite runs on it, another SQLite file otherwise.
    let target = ScratchDatabase::new().await;
    let target_data = target.dir().join("target-data");
    let copy = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebridge"));
        cmd.env_clear().env("RUST_LOG", "warn");
        for (k, v) in source_vars {
            cmd.env(k, v);
        }
        cmd.args(["copy-data", "--to", &target.url, "--to-data-dir"])
            .arg(&target_data);
        cmd.output().unwrap()
    };
    let out = copy();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("attachment bytes"), "{report}");
    assert!(report.contains("cases"), "{report}");

    let again = copy();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let target_dir = target_data.to_str().unwrap().to_owned();
    let copied = serve(&[
        ("CASEBRIDGE_DATABASE_URL", target.url.as_str()),
        ("CASEBRIDGE_DATA_DIR", target_dir.as_str()),
    ])
    .await
    .expect("an instance serves the copy");
    // The same password hash signs the same user in; the same case, comments and totals.
    let t = token(&copied.api, &domain, &email, &password).await;
    let after = read(copied.api.clone(), t.clone(), id.clone()).await;
    assert_eq!(after, before);
    // The change feed: the same events in the same order, and what the copy writes after them.
    let (feed_after, end) = feed(&copied.api, &t).await;
    assert_eq!(feed_after, feed_before);
    copied
        .api
        .post(&format!("/v1/cases/{id}/comments"))
        .token(&t)
        .json(&serde_json::json!({"body": "Written after the move."}))
        .send()
        .await
        .assert_status(201);
    let mut later = Vec::new();
    for _ in 0..1000 {
        let res = copied
            .api
            .get(&format!("/v1/events?cursor={end}"))
            .token(&t)
            .send()
            .await;
        res.assert_status(200);
        later = res.body["events"].as_array().unwrap().clone();
        if !later.is_empty() {
            break;
        }
        // On PostgreSQL a transaction elsewhere on the server may hold the feed back a moment.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0]["type"], "case.commented");
    let levels = copied
        .api
        .get("/v1/provider/service-levels")
        .token(&t)
        .send()
        .await;
    assert_eq!(levels.body, policies, "the service levels came along");
    let downloaded = copied
        .api
        .get(&format!("/v1/cases/{id}/attachments/{attachment}/content"))
        .token(&t)
        .send()
        .await;
    downloaded.assert_status(200);
    assert!(downloaded.bytes == bytes, "the attachment's bytes differ");
}

#[tokio::test]
async fn attachments_go_to_an_s3_compatible_store_and_come_back() {
    // moto's server mode stands in for Amazon S3 (which cannot be reached from here).
    let s3 = casebridge_tests::s3::S3Server::start().await;
    s3.create_bucket("casebridge-attachments").await;
    let db = ScratchDatabase::new().await;
    let dir = db.dir().to_str().unwrap().to_owned();
    let endpoint = s3.url();
    let vars = [
        ("CASEBRIDGE_DATABASE_URL", db.url.as_str()),
        ("CASEBRIDGE_DATA_DIR", dir.as_str()),
        (
            "CASEBRIDGE_ATTACHMENT_STORE",
            "s3://casebridge-attachments/tenant-a",
        ),
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    let demo = Demo::run(&vars);
    let password = demo.password.clone();
    let (domain, email) = demo.account(false);
    let served = serve(&vars)
        .await
        .expect("the service starts with an S3 store");
    let t = token(&served.api, &domain, &email, &password).await;
    let listed = served
        .api
        .get("/v1/cases?status=open")
        .token(&t)
        .send()
        .await;
    let id = listed.body["cases"][0]["id"].as_str().unwrap().to_owned();
    // Larger than one 8 MiB part: a real multipart upload.
    let bytes: Vec<u8> = (0..9_000_000u32).map(|i| (i % 241) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("dump.bin"),
    );
    let attached = served
        .api
        .post(&format!("/v1/cases/{id}/attachments"))
        .token(&t)
        .multipart(form)
        .send()
        .await;
    // The default limit is 50 MiB; 9 MB is accepted.
    attached.assert_status(201);
    let attachment = attached.body["id"].as_str().unwrap().to_owned();
    let content = format!("/v1/cases/{id}/attachments/{attachment}/content");
    let downloaded = served.api.get(&content).token(&t).send().await;
    downloaded.assert_status(200);
    assert!(downloaded.bytes == bytes, "the bytes differ");
    // Nothing but (empty) staging is kept on the instance's disk.
    let kept: Vec<_> = std::fs::read_dir(db.dir().join("attachments"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != ".staging")
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
    // Support removes it.
    let (pd, pe) = demo.account(true);
    let p = token(&served.api, &pd, &pe, &password).await;
    served
        .api
        .delete(&format!("/v1/provider/cases/{id}/attachments/{attachment}"))
        .token(&p)
        .send()
        .await
        .assert_status(204);
    served
        .api
        .get(&content)
        .token(&t)
        .send()
        .await
        .assert_status(404);
}

#[tokio::test]
async fn a_token_lifetime_over_seven_days_is_refused_at_start_up_with_a_message() {
    let db = ScratchDatabase::new().await;
    let out = casebridge(&db)
        .env("CASEBRIDGE_TOKEN_TTL_SECS", "604801")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("CASEBRIDGE_TOKEN_TTL_SECS"), "{said}");
    assert!(said.contains("7 days"), "{said}");
    let week = casebridge(&db)
        .env("CASEBRIDGE_TOKEN_TTL_SECS", "604800")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        week.status.success(),
        "{}",
        String::from_utf8_lossy(&week.stderr)
    );
}
