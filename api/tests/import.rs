//! `casebridge import-legacy`, through the real binary: the example export imports, its users
//! sign in with their old passwords, its cases carry on, and runs are all-or-nothing and
//! idempotent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use casebridge_tests::{ScratchDatabase, TestApp, spawn_app_with};
use serde_json::json;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/legacy-import.example.jsonl"
);

fn import(db: &ScratchDatabase, file: &Path, dry_run: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebridge"));
    cmd.env_clear()
        .env("CASEBRIDGE_DATABASE_URL", &db.url)
        .env("CASEBRIDGE_DATA_DIR", db.dir())
        .env("RUST_LOG", "warn")
        .arg("import-legacy")
        .arg(file);
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn row<'a>(report: &'a str, kind: &str) -> Vec<&'a str> {
    report
        .lines()
        .find(|l| l.starts_with(kind))
        .map(|l| l.split_whitespace().skip(1).collect())
        .unwrap_or_default()
}

async fn app_on(db: &ScratchDatabase) -> TestApp {
    let url = db.url.clone();
    spawn_app_with(move |s| s.database_url = url).await
}

fn edited(db: &ScratchDatabase, name: &str, edit: impl Fn(usize, &str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let out: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| edit(i + 1, l))
        .collect();
    let path = db.dir().join(name);
    std::fs::write(&path, out.join("\n")).unwrap();
    path
}

#[tokio::test]
async fn the_example_imports_and_its_people_and_cases_carry_on() {
    let db = ScratchDatabase::new().await;
    let out = import(&db, Path::new(EXAMPLE), false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout(&out);
    assert_eq!(row(&report, "cases"), vec!["3", "0", "0"], "{report}");
    assert_eq!(row(&report, "users"), vec!["4", "0", "0"], "{report}");
    let app = app_on(&db).await;
    // Old passwords work: bcrypt and argon2 hashes, rehashed at first sign-in.
    let rita = app
        .sign_in(
            "northwind-partners.example",
            "rita@northwind-partners.example",
            "rita-old-password-2019",
        )
        .await;
    let again = app
        .sign_in(
            "northwind-partners.example",
            "rita@northwind-partners.example",
            "rita-old-password-2019",
        )
        .await;
    let pat = app
        .sign_in(
            "northwind-partners.example",
            "pat@northwind-partners.example",
            "pat-old-password-2022",
        )
        .await;
    let ian = app
        .sign_in(
            "contoso.example",
            "ian@contoso.example",
            "ian-old-password-2021",
        )
        .await;
    app.try_sign_in(
        "northwind-partners.example",
        "rita@northwind-partners.example",
        "wrong",
    )
    .await
    .assert_problem(401, "invalid_credentials");
    // The retired role came along, grants nothing and says so.
    let sam = app
        .sign_in(
            "northwind-partners.example",
            "sam@northwind-partners.example",
            "sam-old-password-2020",
        )
        .await;
    let me = app.get_as(&sam, "/v1/me").await;
    assert_eq!(
        me.body["notices"][0]["code"],
        "support_manager_role_retired"
    );
    app.get_as(&sam, "/v1/cases")
        .await
        .assert_problem(403, "portal_access_required");
    // Open cases are in My cases with their numbers, times, status and history.
    let open = app.get_as(&pat, "/v1/cases?status=open").await;
    open.assert_status(200);
    let numbers: Vec<i64> = open.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_number"].as_i64().unwrap())
        .collect();
    assert!(numbers.contains(&100234), "{numbers:?}");
    assert_eq!(open.body["total_size"], 2);
    let case = open.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_number"] == 100234)
        .unwrap()
        .clone();
    assert_eq!(case["status"], "in_progress_support");
    assert_eq!(case["create_time"], "2026-10-01T09:00:00Z");
    assert_eq!(case["update_time"], "2026-10-02T10:30:00Z");
    assert_eq!(case["creator"]["email"], "pat@northwind-partners.example");
    let id = case["id"].as_str().unwrap().to_owned();
    // Its first-response target as if filed then: premium P2, two hours around the clock;
    // support's first reply came the next day. The breach is history: no timeline event.
    let sl = &case["service_level"];
    assert_eq!(sl["first_response_target_minutes"], 120, "{case}");
    assert_eq!(sl["first_response_due_time"], "2026-10-01T11:00:00Z");
    assert_eq!(sl["first_responded_time"], "2026-10-02T10:30:00Z");
    assert_eq!(sl["state"], "breached");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let events = app.get_as(&pat, &format!("/v1/cases/{id}/events")).await;
    assert!(
        !events.text().contains("service_level_breached"),
        "{}",
        events.text()
    );
    let history = app.get_as(&pat, &format!("/v1/cases/{id}/comments")).await;
    let parties: Vec<&str> = history.body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"]["party"].as_str().unwrap())
        .collect();
    assert_eq!(parties, vec!["partner", "support"]);
    let escalated = app.get_as(&rita, "/v1/cases?severity=P1").await;
    assert_eq!(escalated.body["cases"][0]["escalated"], true);
    // They can be worked on.
    app.post_as(
        &pat,
        &format!("/v1/cases/{id}/comments"),
        json!({"body": "Retried: delivered."}),
    )
    .await
    .assert_status(201);
    app.post_as(&pat, &format!("/v1/cases/{id}/close"), json!({}))
        .await
        .assert_status(200);
    // The customer sees its cases; a new case continues the numbering.
    assert_eq!(
        app.get_as(&ian, "/v1/customer/cases").await.body["total_size"],
        3
    );
    let customer = app.get_as(&rita, "/v1/customers").await.body["customers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = casebridge_tests::case_body("After the move");
    body["subscriber_emails"] = json!([]);
    let filed = app.try_file_case(&again, &customer, body).await;
    filed.assert_status(201);
    assert!(filed.body["case_number"].as_i64().unwrap() > 100235);
    // Visibility holds: another reseller sees none of it.
    let provider = app.provider_admin().await;
    let stranger = app
        .domain_admin(&provider, "stranger.example", "reseller")
        .await;
    app.get_as(&stranger, &format!("/v1/cases/{id}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_second_run_of_the_same_file_changes_nothing_and_a_newer_export_updates_what_changed() {
    let db = ScratchDatabase::new().await;
    assert!(import(&db, Path::new(EXAMPLE), false).status.success());
    let second = import(&db, Path::new(EXAMPLE), false);
    assert!(second.status.success());
    let report = stdout(&second);
    assert!(report.contains("Nothing changed."), "{report}");
    assert_eq!(row(&report, "cases"), vec!["0", "0", "3"]);
    let newer = edited(&db, "newer.jsonl", |n, l| match n {
        7 => l.replace("Sam Support", "Samuel Support"),
        11 => l.replace(
            "\"status\":\"in_progress_support\"",
            "\"status\":\"solution_offered\"",
        ),
        _ => l.to_owned(),
    });
    let third = import(&db, &newer, false);
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    let report = stdout(&third);
    assert_eq!(row(&report, "users"), vec!["0", "1", "3"], "{report}");
    assert_eq!(row(&report, "cases"), vec!["0", "1", "2"], "{report}");
    let app = app_on(&db).await;
    let pat = app
        .sign_in(
            "northwind-partners.example",
            "pat@northwind-partners.example",
            "pat-old-password-2022",
        )
        .await;
    let offered = app.get_as(&pat, "/v1/cases?status=solution_offered").await;
    assert_eq!(offered.body["cases"][0]["case_number"], 100234);
    let comments = app
        .get_as(
            &pat,
            &format!(
                "/v1/cases/{}/comments",
                offered.body["cases"][0]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        comments.body["total_size"], 2,
        "comments are replaced, not doubled"
    );
}

#[tokio::test]
async fn a_file_with_one_broken_line_writes_nothing_and_names_the_line() {
    let db = ScratchDatabase::new().await;
    let broken = edited(&db, "broken.jsonl", |n, l| {
        if n == 8 {
            l.replace("pat@northwind-partners.example", "pat@elsewhere.example")
        } else {
            l.to_owned()
        }
    });
    let out = import(&db, &broken, false);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 8"), "{stderr}");
    assert!(stderr.contains("usr-3"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    // Personal data in a case stops the run too.
    let leaky = edited(&db, "leaky.jsonl", |n, l| {
        if n == 12 {
            l.replace(
                "A credit note for 10 licences was issued.",
                "Card 4111 1111 1111 1111 was refunded.",
            )
        } else {
            l.to_owned()
        }
    });
    let out = import(&db, &leaky, false);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 12") && stderr.contains("payment_card_number"),
        "{stderr}"
    );
    assert!(!stderr.contains("4111"), "{stderr}");
    // Nothing was written by either run: the example's domains do not exist. (The service
    // starts last: while it runs, it holds the SQLite file and no command may open it.)
    let app = app_on(&db).await;
    app.try_sign_in(
        "northwind-partners.example",
        "rita@northwind-partners.example",
        "rita-old-password-2019",
    )
    .await
    .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let db = ScratchDatabase::new().await;
    let out = import(&db, Path::new(EXAMPLE), true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout(&out);
    assert!(report.contains("Dry run: nothing was written."));
    assert_eq!(row(&report, "domains"), vec!["3", "0", "0"]);
    let again = import(&db, Path::new(EXAMPLE), true);
    assert_eq!(
        row(&stdout(&again), "domains"),
        vec!["3", "0", "0"],
        "the dry run wrote something"
    );
}

#[test]
fn the_example_export_conforms_to_the_published_json_schema() {
    let check = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
bad = []
for number, line in enumerate(open(sys.argv[2]), 1):
    for error in validator.iter_errors(json.loads(line)):
        bad.append(f"line {number}: {error.message}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;
    let out = Command::new(casebridge_tests::smtp::python())
        .args(["-c", check])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/legacy-import.schema.json"
        ))
        .arg(EXAMPLE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_imported_provider_user_gets_the_support_agent_role_to_keep_working_cases() {
    let db = ScratchDatabase::new().await;
    let rita_hash = std::fs::read_to_string(EXAMPLE)
        .unwrap()
        .lines()
        .find(|l| l.contains("rita@"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["password_hash"].clone())
        .unwrap();
    let lines = [
        json!({"kind":"export","format":"casebridge-legacy","version":1}),
        json!({"kind":"domain","id":"dom-p","name":"support.legacy.example","realm":"provider"}),
        json!({"kind":"user","id":"usr-p","domain":"dom-p","email":"old-hand@support.legacy.example",
               "display_name":"Old Hand","password_hash": rita_hash,"roles":[]}),
    ];
    let path = db.dir().join("provider.jsonl");
    std::fs::write(
        &path,
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = import(&db, &path, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = app_on(&db).await;
    let hand = app
        .sign_in(
            "support.legacy.example",
            "old-hand@support.legacy.example",
            "rita-old-password-2019",
        )
        .await;
    let me = app.get_as(&hand, "/v1/me").await;
    assert_eq!(me.body["roles"][0]["id"], "support_agent", "{}", me.text());
    assert_eq!(me.body["privileges"], json!(["support"]));
    app.get_as(&hand, "/v1/provider/cases")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_case_the_api_would_refuse_is_refused_with_its_line_as_the_api_refuses_it() {
    let db = ScratchDatabase::new().await;
    // Line 11 is the first case: give it 26 subscribers, one more than the API takes.
    let crowded = edited(&db, "crowded.jsonl", |n, l| {
        if n == 11 {
            let many: Vec<String> = (0..26)
                .map(|i| format!("\"s{i}@contoso.example\""))
                .collect();
            l.replace(
                "\"subscriber_emails\":[\"ian@contoso.example\"]",
                &format!("\"subscriber_emails\":[{}]", many.join(",")),
            )
        } else {
            l.to_owned()
        }
    });
    let out = import(&db, &crowded, false);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 11"), "{stderr}");
    assert!(stderr.contains("subscriber_emails"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    // A category that is not in the catalogue (the format knows one product, so "a category
    // of another product" is this), as the API refuses it.
    let misfiled = edited(&db, "misfiled.jsonl", |n, l| {
        if n == 11 {
            l.replace(
                "0193a5c0-0000-7000-8000-000000000001",
                "0193a5c0-0000-7000-8000-0000000000ff",
            )
        } else {
            l.to_owned()
        }
    });
    let out = import(&db, &misfiled, false);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 11"), "{stderr}");
    assert!(stderr.contains("classification_id"), "{stderr}");
}
