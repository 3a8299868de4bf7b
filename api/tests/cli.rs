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
    let db = ScratchDatabase::new().await;
    for _ in 0..2 {
        let out = casebridge(&db).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
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
