//! `casebridge demo` and `casebridge seed`, through the real binary, then the real server on
//! the database they filled: what they print lets one sign in, and what they wrote is what the
//! API shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::{Command, Output};

use casebridge_tests::{ScratchDatabase, TestApp, spawn_app_with};

fn casebridge(db: &ScratchDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casebridge"))
        .env_clear()
        .env("CASEBRIDGE_DATABASE_URL", &db.url)
        .env("CASEBRIDGE_DATA_DIR", db.dir())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn app_on(db: &ScratchDatabase) -> TestApp {
    let url = db.url.clone();
    spawn_app_with(move |s| s.database_url = url).await
}

#[tokio::test]
async fn demo_fills_an_empty_database_with_a_world_to_sign_in_to() {
    let db = ScratchDatabase::new().await;
    let printed = stdout(&casebridge(&db, &["demo"]));
    let password = printed
        .lines()
        .find_map(|l| l.split("Every account's password: ").nth(1))
        .expect("the password")
        .trim()
        .to_owned();
    // A second run refuses: demo fills only an empty database. (Before the service starts:
    // while it runs, it holds the SQLite file and no command may open it.)
    let again = casebridge(&db, &["demo"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    let app = app_on(&db).await;
    // Every printed account signs in.
    let mut accounts = 0;
    for line in printed.lines().filter(|l| l.contains(" domain ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = |key: &str| words[words.iter().position(|w| *w == key).unwrap() + 1];
        app.sign_in(at("domain"), at("email"), &password).await;
        accounts += 1;
    }
    assert_eq!(accounts, 7, "{printed}");
    // The provider's support agent works every case, and provisions nothing.
    let support = app
        .sign_in(
            "support.casebridge.example",
            "agent@support.casebridge.example",
            &password,
        )
        .await;
    let all = app.get_as(&support, "/v1/provider/cases").await;
    all.assert_status(200);
    assert!(all.body["total_size"].as_u64().unwrap() > 0);
    app.post_as(
        &support,
        "/v1/provider/domains",
        serde_json::json!({"name": "x.example", "realm": "reseller",
            "super_admin": {"email": "a@x.example", "display_name": "A"}}),
    )
    .await
    .assert_problem(403, "super_admin_required");

    // Northwind's agent sees Fabrikam's cases, one in every status, newest update first.
    let agent = app
        .sign_in("northwind.example", "agent@northwind.example", &password)
        .await;
    let cases = app.get_as(&agent, "/v1/cases").await;
    cases.assert_status(200);
    let statuses: BTreeSet<&str> = cases.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            "new",
            "in_progress_support",
            "action_required",
            "solution_offered",
            "closed"
        ])
    );
    let case = &cases.body["cases"][0];
    let comments = app
        .get_as(
            &agent,
            &format!("/v1/cases/{}/comments", case["id"].as_str().unwrap()),
        )
        .await;
    assert!(!comments.body["comments"].as_array().unwrap().is_empty());
    // Its customers: on several tiers, one that has not authorised it yet.
    let customers = app.get_as(&agent, "/v1/customers").await;
    let tiers: BTreeSet<&str> = customers.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support_tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, BTreeSet::from(["enhanced", "premium", "standard"]));
    assert!(
        customers.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reseller_access"] == "revoked")
    );
    // Northwind Europe holds an escalated case, and supports Litware as a support partner.
    let eu = app
        .sign_in(
            "northwind-eu.example",
            "admin@northwind-eu.example",
            &password,
        )
        .await;
    let eu_cases = app.get_as(&eu, "/v1/cases").await;
    assert!(
        eu_cases.body["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["escalated"] == true)
    );
    let eu_customers = app.get_as(&eu, "/v1/customers").await;
    assert!(
        eu_customers.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["relationship"] == "support_partner")
    );
}

#[tokio::test]
async fn seed_writes_the_asked_for_cases_spread_over_resellers_and_customers() {
    let db = ScratchDatabase::new().await;
    let printed = stdout(&casebridge(
        &db,
        &[
            "seed",
            "--cases",
            "500",
            "--resellers",
            "3",
            "--customers",
            "30",
            "--password",
            "seed pass phrase 1",
        ],
    ));
    assert!(
        printed.contains("Seeded 3 reseller domains") && printed.contains("500 cases"),
        "{printed}"
    );
    let app = app_on(&db).await;
    // Customer j belongs to reseller j % 3 and case k to customer k % 30: reseller 0 holds
    // the cases with k % 3 == 0.
    let admin = app
        .sign_in(
            "reseller-000.seed.example",
            "admin@reseller-000.seed.example",
            "seed pass phrase 1",
        )
        .await;
    let all = app.get_as(&admin, "/v1/cases?page_size=100").await;
    all.assert_status(200);
    assert_eq!(
        all.body["total_size"],
        (0..500).filter(|k| k % 3 == 0).count()
    );
    let customers = app.get_as(&admin, "/v1/customers").await;
    assert_eq!(customers.body["total_size"], 10);
    // Each case has its comments, and the keyword index knows them.
    let case = &all.body["cases"][0];
    let comments = app
        .get_as(
            &admin,
            &format!("/v1/cases/{}/comments", case["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(comments.body["comments"].as_array().unwrap().len(), 3);
    let word = case["title"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_lowercase();
    let found = app.get_as(&admin, &format!("/v1/cases?q={word}")).await;
    found.assert_status(200);
    assert!(found.body["total_size"].as_u64().unwrap() >= 1);
    // New cases number on from the seeded ones.
    let numbers: Vec<i64> = all.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_number"].as_i64().unwrap())
        .collect();
    assert!(numbers.iter().all(|n| (1..=500).contains(n)));

    let again = casebridge(&db, &["seed", "--cases", "1", "--password", "x"]);
    assert!(!again.status.success());
}
