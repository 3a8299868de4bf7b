//! Several instances of the real application on one database, as behind a load balancer:
//! everything they share lives in the database, so a request may land on any of them. On
//! PostgreSQL the tests spread one story over two instances; on SQLite, which serves one
//! instance, they show that a second instance on the same file refuses to start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_persistence::Backend;
use casebridge_tests::{PASSWORD, Session, Sibling, TestApp, TestClient, World, spawn_app};
use serde_json::json;

/// The second instance on PostgreSQL; on SQLite, checks that it refuses to start and says why.
async fn second_instance(app: &TestApp) -> Option<Sibling> {
    match (app.backend, app.try_spawn_sibling().await) {
        (Backend::Postgres, Ok(sibling)) => Some(sibling),
        (Backend::Postgres, Err(e)) => panic!("the second instance did not start: {e}"),
        (Backend::Sqlite, Ok(_)) => panic!("a second instance started on a held SQLite file"),
        (Backend::Sqlite, Err(e)) => {
            let message = e.to_string();
            assert!(message.contains("casebridge.db"), "{message}");
            assert!(message.contains("PostgreSQL"), "{message}");
            None
        }
    }
}

async fn me(api: &TestClient, token: &str) -> u16 {
    api.get("/v1/me").token(token).send().await.status.as_u16()
}

#[tokio::test]
async fn an_attachment_uploaded_through_one_instance_downloads_through_the_other() {
    let app = spawn_app().await;
    let Some(b) = second_instance(&app).await else {
        return;
    };
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Log file attached")
        .await;
    let id = case["id"].as_str().unwrap();
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("trace.bin"),
    );
    let uploaded = app
        .api
        .post(&format!("/v1/cases/{id}/attachments"))
        .token(&w.reseller.token)
        .multipart(form)
        .send()
        .await;
    uploaded.assert_status(201);
    let attachment = uploaded.body["id"].as_str().unwrap();
    let downloaded = b
        .api
        .get(&format!("/v1/cases/{id}/attachments/{attachment}/content"))
        .token(&w.reseller.token)
        .send()
        .await;
    downloaded.assert_status(200);
    assert_eq!(downloaded.bytes.len(), bytes.len());
    assert!(downloaded.bytes == bytes, "the bytes differ");
}

#[tokio::test]
async fn a_token_logged_out_through_one_instance_is_refused_by_the_other_at_once() {
    let app = spawn_app().await;
    let Some(b) = second_instance(&app).await else {
        return;
    };
    let provider = app.provider_admin().await;
    let admin = app
        .domain_admin(&provider, "shared.example", "reseller")
        .await;
    // The other instance has seen (and may have cached) the token's user.
    assert_eq!(me(&b.api, &admin.token).await, 200);
    app.api
        .post("/v1/auth/logout")
        .token(&admin.token)
        .send()
        .await
        .assert_status(204);
    assert_eq!(me(&b.api, &admin.token).await, 401);
}

#[tokio::test]
async fn a_suspended_or_demoted_user_is_refused_by_the_other_instance_at_once() {
    let app = spawn_app().await;
    let Some(b) = second_instance(&app).await else {
        return;
    };
    let provider = app.provider_admin().await;
    let admin = app
        .domain_admin(&provider, "shared.example", "reseller")
        .await;
    let agent = app
        .user_with_roles(&admin, "agent", &["reseller_admin"])
        .await;
    assert_eq!(me(&b.api, &agent.token).await, 200);
    app.api
        .put(&format!("/v1/admin/users/{}/roles", agent.user_id))
        .token(&admin.token)
        .json(&json!({"roles": []}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(me(&b.api, &agent.token).await, 401);

    let agent = app.sign_in("shared.example", &agent.email, PASSWORD).await;
    assert_eq!(me(&b.api, &agent.token).await, 200);
    app.api
        .patch(&format!("/v1/admin/users/{}", agent.user_id))
        .token(&admin.token)
        .json(&json!({"suspended": true}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(me(&b.api, &agent.token).await, 401);
}

#[tokio::test]
async fn wrong_passwords_alternated_over_two_instances_reach_the_limit_as_on_one() {
    let app = spawn_app().await;
    let Some(b) = second_instance(&app).await else {
        return;
    };
    let provider = app.provider_admin().await;
    app.domain_admin(&provider, "shared.example", "reseller")
        .await;
    let attempt = |api: TestClient| async move {
        api.post("/v1/auth/token")
            .json(&json!({
                "domain": "shared.example",
                "email": "admin@shared.example",
                "password": "a wrong password entirely"
            }))
            .send()
            .await
    };
    for i in 0..5 {
        let api = if i % 2 == 0 {
            app.api.clone()
        } else {
            b.api.clone()
        };
        attempt(api)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    for api in [b.api.clone(), app.api.clone()] {
        let refused = attempt(api).await;
        refused.assert_problem(429, "too_many_requests");
        assert!(refused.header("retry-after").is_some());
    }
}

#[tokio::test]
async fn a_reseller_s_day_runs_with_its_requests_spread_over_two_instances() {
    let app = spawn_app().await;
    let Some(b) = second_instance(&app).await else {
        return;
    };
    let w = app.world().await;
    let (a, b) = (&app.api, &b.api);
    let token = &w.reseller.token;
    let filed = b
        .post(&format!("/v1/customers/{}/cases", w.customer_id))
        .token(token)
        .header("idempotency-key", "spread-1")
        .json(&casebridge_tests::case_body("Spread over instances"))
        .send()
        .await;
    filed.assert_status(201);
    let id = filed.body["id"].as_str().unwrap();
    // The retry lands on the other instance and gets the same answer.
    let again = a
        .post(&format!("/v1/customers/{}/cases", w.customer_id))
        .token(token)
        .header("idempotency-key", "spread-1")
        .json(&casebridge_tests::case_body("Spread over instances"))
        .send()
        .await;
    again.assert_status(201);
    assert_eq!(again.body["id"], filed.body["id"]);
    a.post(&format!("/v1/cases/{id}/comments"))
        .token(token)
        .json(&json!({"body": "The bounce started after the MX change."}))
        .send()
        .await
        .assert_status(201);
    let comments = b
        .get(&format!("/v1/cases/{id}/comments"))
        .token(token)
        .send()
        .await;
    assert_eq!(comments.body["total_size"], 1);
    a.post(&format!("/v1/cases/{id}/close"))
        .token(token)
        .json(&json!({}))
        .send()
        .await
        .assert_status(200);
    let listed = b.get("/v1/cases?status=closed").token(token).send().await;
    assert_eq!(listed.body["total_size"], 1);
    let reopened = b
        .post(&format!("/v1/cases/{id}/reopen"))
        .token(token)
        .json(&json!({}))
        .send()
        .await;
    reopened.assert_status(200);
    let case = a.get(&format!("/v1/cases/{id}")).token(token).send().await;
    assert_ne!(case.body["status"], "closed");
    assert_eq!(case.body["status"], reopened.body["status"]);
    assert_eq!(case.header("etag"), reopened.header("etag"));
}

/// What the tests of the carried standing share: a case the reseller filed, and two of its
/// admins whose standing changes through the first instance while another one (on
/// PostgreSQL; on SQLite, one instance, the same) is asked.
struct StandingStage {
    app: TestApp,
    sibling: Option<Sibling>,
    w: World,
    case: serde_json::Value,
    /// Signed out by [`StandingStage::sign_out`].
    leaving: Session,
    /// Stripped of every role by [`StandingStage::demote`].
    demoted: Session,
}

impl StandingStage {
    async fn new() -> Self {
        let app = spawn_app().await;
        let sibling = second_instance(&app).await;
        let w = app.world().await;
        let case = app
            .file_case(&w.reseller, &w.customer_id, "Calendar sync fails")
            .await;
        let leaving = app
            .user_with_roles(&w.reseller, "leaving", &["reseller_admin"])
            .await;
        let demoted = app
            .user_with_roles(&w.reseller, "demoted", &["reseller_admin"])
            .await;
        StandingStage {
            app,
            sibling,
            w,
            case,
            leaving,
            demoted,
        }
    }

    /// The instance that is asked.
    fn reader(&self) -> &TestClient {
        self.sibling.as_ref().map_or(&self.app.api, |b| &b.api)
    }

    /// Signs `leaving` out, through the first instance.
    async fn sign_out(&self) {
        self.app
            .api
            .post("/v1/auth/logout")
            .token(&self.leaving.token)
            .send()
            .await
            .assert_status(204);
    }

    /// Takes every role from `demoted`, through the first instance.
    async fn demote(&self) {
        self.app
            .api
            .put(&format!("/v1/admin/users/{}/roles", self.demoted.user_id))
            .token(&self.w.reseller.token)
            .json(&json!({"roles": []}))
            .send()
            .await
            .assert_status(200);
    }
}

/// `GET /v1/cases/{id}` reads the token's standing in the case's own statement on PostgreSQL
/// (auth::actor::Carrying): a token signed out, or whose user lost its roles, through the
/// other instance is refused there at once, with 401 before anything about the case (not
/// even that it does not exist, which leaves no row to carry the standing). On SQLite, one
/// instance: the same through it.
#[tokio::test]
async fn a_case_read_carries_the_token_s_standing_and_refuses_a_revoked_one_first() {
    let stage = StandingStage::new().await;
    let (leaving, demoted) = (&stage.leaving, &stage.demoted);
    let status = |path: String, token: String| {
        let reader = stage.reader();
        async move { reader.get(&path).token(&token).send().await.status.as_u16() }
    };
    let id = stage.case["id"].as_str().unwrap();
    let case_path = format!("/v1/cases/{id}");
    let unknown = format!("/v1/cases/{}", uuid::Uuid::now_v7());
    let malformed = "/v1/cases/not-an-id".to_owned();
    for token in [&leaving.token, &demoted.token] {
        assert_eq!(status(case_path.clone(), token.clone()).await, 200);
    }
    assert_eq!(status(unknown.clone(), leaving.token.clone()).await, 404);
    assert_eq!(status(malformed.clone(), leaving.token.clone()).await, 400);
    // The other domain's admin does not see the case.
    let other = stage.w.other_reseller.token.clone();
    assert_eq!(status(case_path.clone(), other).await, 404);

    stage.sign_out().await;
    for path in [case_path.clone(), unknown, malformed] {
        assert_eq!(
            status(path.clone(), leaving.token.clone()).await,
            401,
            "{path}"
        );
    }

    stage.demote().await;
    assert_eq!(status(case_path, demoted.token.clone()).await, 401);
}

/// `GET /v1/cases` reads the token's standing in its page's own statement on PostgreSQL, as
/// the case read does: a token signed out, or whose user lost its roles, through the other
/// instance is refused there at once, with 401 before anything about the list: a bad
/// parameter or page token, an empty page (which has no row to carry the standing) and a
/// keyword search (which reads it apart) included. On SQLite, one instance: the same through it.
#[tokio::test]
async fn a_case_list_carries_the_token_s_standing_and_refuses_a_revoked_one_first() {
    let stage = StandingStage::new().await;
    let (leaving, demoted) = (&stage.leaving, &stage.demoted);
    let list = |path: &'static str, token: String| {
        let reader = stage.reader();
        async move {
            let answer = reader.get(path).token(&token).send().await;
            (answer.status.as_u16(), answer.body)
        }
    };
    let page = "/v1/cases?page_size=5";
    let lists = [
        (page, 200),
        ("/v1/cases?status=closed", 200),
        ("/v1/cases?q=calendar", 200),
        ("/v1/cases?status=bogus", 400),
        ("/v1/cases?page_token=not-a-token", 400),
    ];
    for (path, expected) in lists {
        assert_eq!(
            list(path, leaving.token.clone()).await.0,
            expected,
            "{path}"
        );
    }
    for token in [&leaving.token, &demoted.token] {
        let (status, body) = list(page, token.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(body["total_size"], 1, "{body}");
        assert_eq!(body["cases"][0]["id"], stage.case["id"], "{body}");
    }
    let (_, empty) = list("/v1/cases?status=closed", leaving.token.clone()).await;
    assert_eq!(empty["total_size"], 0, "{empty}");
    // The other domain's admin sees none of it.
    let (_, other) = list(page, stage.w.other_reseller.token.clone()).await;
    assert_eq!(other["total_size"], 0, "{other}");

    stage.sign_out().await;
    for (path, _) in lists {
        assert_eq!(list(path, leaving.token.clone()).await.0, 401, "{path}");
    }

    stage.demote().await;
    for (path, _) in lists {
        assert_eq!(list(path, demoted.token.clone()).await.0, 401, "{path}");
    }
}
