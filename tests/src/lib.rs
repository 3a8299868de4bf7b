//! The end-to-end harness: `spawn_app()` starts the real application on port 0 against a fresh
//! database and returns a client for it.
//!
//! The database is a temporary SQLite file, or, when `TEST_DATABASE_URL` points at PostgreSQL,
//! a new database with a random name, created for the test and dropped afterwards. The same
//! tests run on both backends. Logs are printed only when `TEST_LOG` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod client;
pub mod receiver;
pub mod s3;
pub mod session;
pub mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

use casebridge_api::auth::jwt::SigningKey;
use casebridge_api::settings::LogFormat;
use casebridge_api::{Application, Settings, ShiftedClock};
use casebridge_persistence::{Backend, PoolSettings};
use sea_orm::ConnectionTrait;

pub use client::{Response, TestClient};
pub use session::{BOUNCED, PASSWORD, PROVIDER_DOMAIN, Session, World, case_body};

static TRACING: Once = Once::new();

fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some_and(|v| !v.is_empty()) {
            casebridge_api::telemetry::init(LogFormat::Pretty);
        }
    });
}

/// Where a test's data lives, and how to take it away again.
enum TestDatabase {
    Sqlite { file: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// A running application with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The application's clock, which tests may move forward.
    pub clock: Arc<ShiftedClock>,
    /// Which database backs the application.
    pub backend: Backend,
    /// The application's own database handle, for tests that look at or change rows directly
    /// (on SQLite no second process may open the file). Never close it.
    pub db: casebridge_persistence::Database,
    /// The settings it was started with (keys, data directory).
    pub settings: Settings,
    /// A client for the application's API.
    pub api: TestClient,
    database: TestDatabase,
    _data_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// An empty database for a test: a temporary SQLite file, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` says so. Dropped with the guard.
pub struct ScratchDatabase {
    /// Its URL.
    pub url: String,
    database: TestDatabase,
    dir: tempfile::TempDir,
}

impl ScratchDatabase {
    /// Creates it.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (url, database) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                let name = format!("casebridge_test_{}", uuid::Uuid::now_v7().simple());
                let admin = sea_orm::Database::connect(&url).await.expect("PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("creating the test database");
                let _ = admin.close().await;
                (
                    replace_database(&url, &name),
                    TestDatabase::Postgres {
                        admin_url: url,
                        name,
                    },
                )
            }
            _ => {
                let file = dir.path().join("casebridge.db");
                (
                    format!("sqlite://{}?mode=rwc", file.display()),
                    TestDatabase::Sqlite { file },
                )
            }
        };
        Self { url, database, dir }
    }

    /// A directory that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let handle = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_postgres_database(admin_url, name));
                }
            });
            let _ = handle.join();
        }
    }
}

/// A fresh, migrated database for tests of the repository itself.
pub struct FreshDatabase {
    /// The database.
    pub db: casebridge_persistence::Database,
    _scratch: ScratchDatabase,
}

impl FreshDatabase {
    /// Creates and migrates it.
    pub async fn new() -> Self {
        let scratch = ScratchDatabase::new().await;
        let db = casebridge_persistence::Database::connect(&scratch.url, &PoolSettings::default())
            .await
            .expect("the test database");
        db.migrate().await.expect("migrations");
        Self {
            db,
            _scratch: scratch,
        }
    }
}

/// The settings a test instance runs with: port 0, a fresh signing key, small pools and limits.
pub fn test_settings(database_url: String, data_dir: PathBuf) -> Settings {
    Settings {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        data_dir,
        log_format: LogFormat::Pretty,
        jwt_keys: vec![SigningKey::generate()],
        jwt_issuer: "casebridge".to_owned(),
        token_ttl: Duration::from_secs(3600),
        pool: PoolSettings {
            max_connections: 5,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
        },
        json_limit_bytes: 1_048_576,
        workers: Some(2),
        attachment_max_bytes: 1024 * 1024,
        attachments_per_case: 5,
        smtp: None,
        mail_from: "casebridge <casebridge@casebridge.test>".to_owned(),
        mail_lease: Duration::from_secs(15),
        breach_sweep: Duration::from_secs(1),
        attachment_store: Default::default(),
        webhooks_allow_local: false,
    }
}

/// Starts the application on port 0 against a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application with adjusted settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    let data_dir = tempfile::tempdir().expect("a temporary directory");
    let (database_url, database) = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("casebridge_test_{}", uuid::Uuid::now_v7().simple());
            let admin = sea_orm::Database::connect(&url)
                .await
                .expect("TEST_DATABASE_URL must reach PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("creating the test database");
            let _ = admin.close().await;
            (
                replace_database(&url, &name),
                TestDatabase::Postgres {
                    admin_url: url,
                    name,
                },
            )
        }
        _ => {
            let file = data_dir.path().join("casebridge.db");
            (
                format!("sqlite://{}?mode=rwc", file.display()),
                TestDatabase::Sqlite { file },
            )
        }
    };
    let mut settings = test_settings(database_url, data_dir.path().to_path_buf());
    adjust(&mut settings);
    let clock = Arc::new(ShiftedClock::new());
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let backend = app.state().db.backend();
    let db = app.state().db.clone();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        api: TestClient::new(&address),
        address,
        clock,
        backend,
        db,
        settings,
        database,
        _data_dir: data_dir,
        server,
    }
}

/// The URL with its database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A second instance of an application, on the same database.
pub struct Sibling {
    /// A client for it.
    pub api: TestClient,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _data_dir: tempfile::TempDir,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Starts another instance of the application on the same database and clock, as a
    /// second replica behind a load balancer would run.
    pub async fn spawn_sibling(&self) -> Sibling {
        self.try_spawn_sibling().await.expect("the sibling starts")
    }

    /// Starts another instance on the same database, or says why it would not start (on
    /// SQLite, which serves one instance, it refuses).
    pub async fn try_spawn_sibling(&self) -> Result<Sibling, casebridge_api::StartupError> {
        let mut settings = self.settings.clone();
        // Its own data directory, as another machine would have: only the database is shared.
        let dir = tempfile::tempdir().expect("a temporary directory");
        settings.data_dir = dir.path().to_path_buf();
        let app = Application::build_with_clock(settings, self.clock.clone()).await?;
        let api = TestClient::new(&format!("http://127.0.0.1:{}", app.port()));
        Ok(Sibling {
            api,
            server: tokio::spawn(app.run_until_stopped()),
            _data_dir: dir,
        })
    }

    /// Makes the database unreachable: the SQLite file is deleted, the PostgreSQL database
    /// dropped (its connections terminated).
    pub async fn take_database_away(&self) {
        match &self.database {
            TestDatabase::Sqlite { file } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = file.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                drop_postgres_database(admin_url.clone(), name.clone()).await;
            }
        }
    }
}

async fn drop_postgres_database(admin_url: String, name: String) {
    if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let TestDatabase::Postgres { admin_url, name } = &self.database {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a
            // runtime of its own drops the database before the test ends.
            let handle = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_postgres_database(admin_url, name));
                }
            });
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_postgres_urls() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/test?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
