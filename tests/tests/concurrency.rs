//! Concurrent writes through the real server: no deadlock answered as 500, no spurious conflict
//! for a request that asked for no precondition, no rule raced past, and instances and mail
//! workers that share one database without stepping on each other. The deadlocks and lost
//! races show on PostgreSQL; SQLite serialises its writers, and the same tests hold there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use casebridge_api::Application;
use casebridge_api::settings::{SmtpSettings, SmtpTls};
use casebridge_tests::smtp::SmtpSink;
use casebridge_tests::{
    PASSWORD, ScratchDatabase, Session, TestApp, spawn_app, spawn_app_with, test_settings,
};
use futures_util::future::join_all;
use serde_json::json;

#[tokio::test]
async fn concurrent_severity_changes_of_one_customer_s_cases_never_fail() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut cases = Vec::new();
    for i in 0..8 {
        let case = app
            .file_case(&w.reseller, &w.customer_id, &format!("Mail delay {i}"))
            .await;
        cases.push(case["id"].as_str().unwrap().to_owned());
    }
    // Each client flips its own case between P2 and P3: the running counts of the customer
    // are decremented and incremented in opposite orders by neighbouring requests.
    let clients = cases.iter().map(|id| {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        async move {
            let mut failures = Vec::new();
            for round in 0..25 {
                let severity = if round % 2 == 0 { "P3" } else { "P2" };
                let res = api
                    .patch(&format!("/v1/cases/{id}"))
                    .token(&token)
                    .json(&json!({ "severity": severity }))
                    .send()
                    .await;
                if res.status != 200 {
                    failures.push((res.status.as_u16(), res.text()));
                }
            }
            failures
        }
    });
    let failures: Vec<_> = join_all(clients).await.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    // The counts stayed exact: the list's total is the number of cases of each severity.
    let p3 = app
        .get_as(&w.reseller, "/v1/cases?severity=P3&page_size=100")
        .await;
    assert_eq!(p3.body["total_size"], 8, "{}", p3.text());
    assert_eq!(TestApp::case_ids(&p3).len(), 8);
}

#[tokio::test]
async fn ten_parallel_comments_without_if_match_all_succeed() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Shared drive is slow")
        .await;
    let id = case["id"].as_str().unwrap();
    let comments = (0..10).map(|i| {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        async move {
            api.post(&format!("/v1/cases/{id}/comments"))
                .token(&token)
                .header("idempotency-key", &format!("comment-{i}"))
                .json(&json!({ "body": format!("Observation number {i} from the desk.") }))
                .send()
                .await
        }
    });
    for res in join_all(comments).await {
        res.assert_status(201);
    }
    let listed = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{id}/comments?page_size=100"),
        )
        .await;
    assert_eq!(listed.body["total_size"], 10, "{}", listed.text());
}

#[tokio::test]
async fn parallel_lifecycle_changes_without_if_match_wait_their_turn() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Calendar sync stalls")
        .await;
    let id = case["id"].as_str().unwrap();
    // Close and reopen race each other: each is decided on the state the other left, so every
    // answer is the rule's (200, or 409 for the wrong state), never a generic conflict.
    let actions = (0..10).map(|i| {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        let action = if i % 2 == 0 { "close" } else { "reopen" };
        async move {
            api.post(&format!("/v1/cases/{id}/{action}"))
                .token(&token)
                .json(&json!({}))
                .send()
                .await
        }
    });
    for res in join_all(actions).await {
        match res.status.as_u16() {
            200 => {}
            409 => assert!(
                ["case_closed", "case_not_closed"].contains(&res.body["code"].as_str().unwrap()),
                "{}",
                res.text()
            ),
            other => panic!("{other}: {}", res.text()),
        }
    }
}

#[tokio::test]
async fn two_super_admins_suspending_each_other_leave_exactly_one_active() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let first = app
        .domain_admin(&provider, "mutual.example", "reseller")
        .await;
    let second = app
        .user_with_roles(&first, "second", &["super_admin"])
        .await;
    let (mut a, mut b) = (first, second);
    for round in 0..20 {
        let suspend = |who: &Session, whom: &Session| {
            let (api, token, target) = (app.api.clone(), who.token.clone(), whom.user_id.clone());
            async move {
                api.patch(&format!("/v1/admin/users/{target}"))
                    .token(&token)
                    .json(&json!({ "suspended": true }))
                    .send()
                    .await
            }
        };
        let (ra, rb) = tokio::join!(suspend(&a, &b), suspend(&b, &a));
        let won: Vec<bool> = [&ra, &rb].iter().map(|r| r.status == 200).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {} / {}",
            ra.text(),
            rb.text()
        );
        for r in [&ra, &rb] {
            if r.status != 200 {
                // The loser either lost the rule or was already suspended when it asked.
                assert!(
                    [409, 401, 403].contains(&r.status.as_u16()),
                    "round {round}: {}",
                    r.text()
                );
            }
        }
        let (winner, loser) = if won[0] { (&a, &b) } else { (&b, &a) };
        app.api
            .patch(&format!("/v1/admin/users/{}", loser.user_id))
            .token(&winner.token)
            .json(&json!({ "suspended": false }))
            .send()
            .await
            .assert_status(200);
        let loser = app.sign_in("mutual.example", &loser.email, PASSWORD).await;
        let winner = winner.clone();
        (a, b) = if won[0] {
            (winner, loser)
        } else {
            (loser, winner)
        };
    }
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_at_most_the_limit_through() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    app.domain_admin(&provider, "burst.example", "reseller")
        .await;
    let attempts = (0..30).map(|_| {
        let api = app.api.clone();
        async move {
            api.post("/v1/auth/token")
                .json(&json!({
                    "domain": "burst.example",
                    "email": "admin@burst.example",
                    "password": "not the password at all"
                }))
                .send()
                .await
        }
    });
    let answers = join_all(attempts).await;
    let verified = answers.iter().filter(|r| r.status == 401).count();
    let refused = answers.iter().filter(|r| r.status == 429).count();
    assert!(verified <= 5, "{verified} wrong passwords were verified");
    assert_eq!(verified + refused, 30);
    for r in answers.iter().filter(|r| r.status == 429) {
        assert!(r.header("retry-after").is_some());
    }
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_sign_ins() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = app
        .domain_admin(&provider, "guess.example", "reseller")
        .await;
    let change = |current: &str| {
        app.api
            .post("/v1/me/password")
            .token(&admin.token)
            .json(&json!({
                "current_password": current,
                "new_password": "a brand new passphrase"
            }))
            .send()
    };
    for i in 0..5 {
        change(&format!("wrong guess {i}"))
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let refused = change("wrong guess 6").await;
    refused.assert_problem(429, "too_many_requests");
    assert!(refused.header("retry-after").is_some());
    // Even the right password waits out the limit: the guesses are what is limited.
    change(PASSWORD)
        .await
        .assert_problem(429, "too_many_requests");
}

#[tokio::test]
async fn instances_started_at_once_on_an_empty_database_migrate_in_turn() {
    let scratch = ScratchDatabase::new().await;
    let starts = (0..3).map(|i| {
        let url = scratch.url.clone();
        let dir = scratch.dir().join(format!("instance-{i}"));
        async move { Application::build(test_settings(url, dir)).await }
    });
    let built = join_all(starts).await;
    let mut servers = Vec::new();
    let mut refused = Vec::new();
    for b in built {
        match b {
            Ok(app) => {
                let port = app.port();
                servers.push(tokio::spawn(app.run_until_stopped()));
                let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
                    .await
                    .unwrap();
                assert_eq!(ready.status(), 200);
            }
            Err(e) => refused.push(e.to_string()),
        }
    }
    if scratch.url.starts_with("postgres") {
        assert_eq!(servers.len(), 3, "{refused:?}");
    } else {
        // SQLite serves one instance: the first to take the file migrates and serves, the
        // others refuse to start and say why.
        assert_eq!(servers.len(), 1, "{refused:?}");
        for r in &refused {
            assert!(r.contains("in use by another casebridge process"), "{r}");
        }
    }
    for s in servers {
        s.abort();
    }
}

async fn app_with_slow_smtp(sink: &SmtpSink) -> TestApp {
    let port = sink.port();
    spawn_app_with(move |s| {
        s.smtp = Some(SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port,
            credentials: None,
            tls: SmtpTls::None,
        });
        // Far shorter than one send: only a renewed claim keeps the other instance away.
        s.mail_lease = Duration::from_secs(3);
    })
    .await
}

#[tokio::test]
async fn two_instances_and_a_slow_smtp_server_deliver_every_mail_exactly_once() {
    let sink = SmtpSink::start_slow(Duration::from_secs(8));
    let app = app_with_slow_smtp(&sink).await;
    // SQLite serves one instance; there its single worker must not send twice either.
    let _sibling = match app.backend {
        casebridge_persistence::Backend::Postgres => Some(app.spawn_sibling().await),
        casebridge_persistence::Backend::Sqlite => None,
    };
    let w = app.world().await;
    // One filing mails its creator and its subscriber.
    app.file_case(&w.reseller, &w.customer_id, "Slow relay test")
        .await;
    let messages = sink.wait_for(2, Duration::from_secs(60)).await;
    assert_eq!(messages.len(), 2);
    // Long enough for a lapsed claim to be taken and sent again.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let messages = sink.messages();
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    assert_eq!(messages.len(), 2, "a mail was sent twice: {messages:?}");
}

#[tokio::test]
async fn parallel_requests_with_one_idempotency_key_create_one_case() {
    let app = spawn_app().await;
    let w = app.world().await;
    let body = casebridge_tests::case_body("Filed twenty times at once");
    let requests = (0..20).map(|_| {
        let (api, token, body) = (app.api.clone(), w.reseller.token.clone(), body.clone());
        let path = format!("/v1/customers/{}/cases", w.customer_id);
        async move {
            api.post(&path)
                .token(&token)
                .header("idempotency-key", "one-key-for-twenty")
                .json(&body)
                .send()
                .await
        }
    });
    let answers = join_all(requests).await;
    let mut ids = Vec::new();
    for r in &answers {
        match r.status.as_u16() {
            201 => ids.push(r.body["id"].as_str().unwrap().to_owned()),
            409 => {
                assert_eq!(r.body["code"], "idempotency_key_in_use", "{}", r.text());
                assert!(r.header("retry-after").is_some());
            }
            other => panic!("{other}: {}", r.text()),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let listed = app.get_as(&w.reseller, "/v1/cases").await;
    assert_eq!(listed.body["total_size"], 1);
}

#[tokio::test]
async fn idempotent_replay_is_refused_once_access_has_ended() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}/cases", w.customer_id);
    let body = casebridge_tests::case_body("Replayed after revocation");
    let file = || {
        app.api
            .post(&path)
            .token(&w.reseller.token)
            .header("idempotency-key", "replay-after-revocation")
            .json(&body)
            .send()
    };
    let first = file().await;
    first.assert_status(201);
    let id = first.body["id"].as_str().unwrap();
    let comment = || {
        app.api
            .post(&format!("/v1/cases/{id}/comments"))
            .token(&w.reseller.token)
            .header("idempotency-key", "comment-replay")
            .json(&json!({"body": "Any news from the mail team?"}))
            .send()
    };
    comment().await.assert_status(201);
    let replayed = comment().await;
    replayed.assert_status(201);
    assert_eq!(
        replayed.header("idempotent-replayed").as_deref(),
        Some("true")
    );

    app.set_reseller_access(&w.customer_admin, false).await;
    file()
        .await
        .assert_problem(403, "reseller_access_not_granted");
    comment().await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_filing_waits_for_a_revocation_in_flight_and_is_refused_by_it() {
    use casebridge_domain::{CustomerId, ResellerAccess};
    use casebridge_persistence::repo::{customers, locks};

    let app = spawn_app().await;
    let w = app.world().await;
    let customer: CustomerId = w.customer_id.parse().unwrap();
    // A revocation in flight: its transaction holds the customer, as the API's own does, and
    // has revoked but not yet committed.
    let revocation = app.db.begin().await.unwrap();
    locks::customer(&revocation, customer).await.unwrap();
    customers::set_reseller_access(
        &revocation,
        customer,
        ResellerAccess::Revoked,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();

    let (api, token, path) = (
        app.api.clone(),
        w.reseller.token.clone(),
        format!("/v1/customers/{}/cases", w.customer_id),
    );
    let filing = tokio::spawn(async move {
        api.post(&path)
            .token(&token)
            .json(&casebridge_tests::case_body(
                "Calendar invitations arrive late",
            ))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !filing.is_finished(),
        "the filing decides with the customer locked, so it waits for the revocation"
    );
    revocation.commit().await.unwrap();

    let res = filing.await.unwrap();
    assert_eq!(res.status, 403, "{}", res.text());
    assert_eq!(res.body["code"], "reseller_access_not_granted");
    let listed = app.get_as(&w.reseller, "/v1/cases").await;
    assert_eq!(listed.body["total_size"], 0, "{}", listed.text());
}

/// Filings of one customer share its lock: one in flight does not hold up the next, and a
/// change to the customer (its reseller's access revoked) waits for both. PostgreSQL only:
/// SQLite runs one write transaction at a time, which the burst test below puts to work.
#[tokio::test]
async fn filings_of_one_customer_run_side_by_side_and_a_revocation_waits_for_them() {
    use casebridge_domain::CustomerId;
    use casebridge_persistence::repo::customers;

    let app = spawn_app().await;
    if app.backend != casebridge_persistence::Backend::Postgres {
        return;
    }
    let w = app.world().await;
    let customer: CustomerId = w.customer_id.parse().unwrap();
    // A filing in flight: its transaction holds the customer as the API's filing does.
    let in_flight = app.db.begin().await.unwrap();
    customers::share_customer(&in_flight, customer)
        .await
        .unwrap()
        .unwrap();
    let filed = tokio::time::timeout(
        Duration::from_secs(10),
        app.post_as(
            &w.reseller,
            &format!("/v1/customers/{}/cases", w.customer_id),
            casebridge_tests::case_body("Calendar invitations arrive late"),
        ),
    )
    .await
    .expect("a filing does not wait for another filing of the customer");
    filed.assert_status(201);

    let (api, token) = (app.api.clone(), w.customer_admin.token.clone());
    let revocation = tokio::spawn(async move {
        api.put("/v1/customer/reseller-access")
            .token(&token)
            .json(&json!({ "granted": false }))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !revocation.is_finished(),
        "the revocation waits for the filing in flight"
    );
    in_flight.commit().await.unwrap();
    revocation.await.unwrap().assert_status(200);
}

/// A burst of filings, with comments on another case written at the same time: every filing
/// answered `201` is there when its answer arrives, with a case number of its own, and no
/// request fails. On SQLite the filings commit in batches on the writer's own connection while
/// the comments write through sea-orm's; both take turns. On PostgreSQL they run side by side,
/// each recording two partners whose counts all of them update at their commits.
#[tokio::test]
async fn a_burst_of_filings_and_comments_all_land_and_each_is_read_on_its_answer() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.add_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    let other = app
        .file_case(&w.reseller, &w.customer_id, "Shared drive is slow")
        .await;
    let other = other["id"].as_str().unwrap().to_owned();
    let filings = (0..40).map(|i| {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        let path = format!("/v1/customers/{}/cases", w.customer_id);
        async move {
            let filed = api
                .post(&path)
                .token(&token)
                .json(&casebridge_tests::case_body(&format!("Burst filing {i}")))
                .send()
                .await;
            filed.assert_status(201);
            let id = filed.body["id"].as_str().unwrap().to_owned();
            let read = api
                .get(&format!("/v1/cases/{id}"))
                .token(&token)
                .send()
                .await;
            read.assert_status(200);
            assert_eq!(read.body["title"], format!("Burst filing {i}"));
            (id, filed.body["case_number"].as_i64().unwrap())
        }
    });
    let comments = (0..10).map(|i| {
        let (api, token, other) = (app.api.clone(), w.reseller.token.clone(), other.clone());
        async move {
            api.post(&format!("/v1/cases/{other}/comments"))
                .token(&token)
                .json(&json!({ "body": format!("Observation number {i} from the desk.") }))
                .send()
                .await
                .assert_status(201);
        }
    });
    let (filed, _) = tokio::join!(join_all(filings), join_all(comments));
    let mut numbers: Vec<i64> = filed.iter().map(|(_, n)| *n).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 40, "every case has a number of its own");
    let listed = app.get_as(&w.reseller, "/v1/cases?page_size=100").await;
    assert_eq!(listed.body["total_size"], 41, "{}", listed.text());
    assert_eq!(TestApp::case_ids(&listed).len(), 41);
    let partner = app.get_as(&w.partner, "/v1/cases?page_size=100").await;
    assert_eq!(partner.body["total_size"], 41, "{}", partner.text());
    let comments = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{other}/comments?page_size=100"),
        )
        .await;
    assert_eq!(comments.body["total_size"], 10, "{}", comments.text());
}

/// A partner's `total_size` stays exact while filings race with changes of who sees the
/// customer: its reseller's access revoked and granted again, a support partnership ended and
/// started again, all during a burst of filings by both partners. On PostgreSQL the totals are
/// sums of rows each change adds (migration `m20261203_000001_count_seen_cases_on_postgres`),
/// and what keeps them exact is the customer's lock, which every one of those changes takes;
/// this is where a change that slipped past it would show. At the end each partner's total is
/// what its list holds, before and after housekeeping folds the rows.
#[tokio::test]
async fn totals_stay_exact_while_filings_race_changes_of_who_sees_the_customer() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.add_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    let filings = (0..30).map(|i| {
        let session = if i % 3 == 0 { &w.partner } else { &w.reseller };
        let (api, token) = (app.api.clone(), session.token.clone());
        let path = format!("/v1/customers/{}/cases", w.customer_id);
        async move {
            let filed = api
                .post(&path)
                .token(&token)
                .json(&casebridge_tests::case_body(&format!("Racing filing {i}")))
                .send()
                .await;
            // Refused while the filer does not act for the customer; never a server error.
            let status = filed.status.as_u16();
            assert!(
                status == 201 || (400..500).contains(&status),
                "{status}: {}",
                filed.text()
            );
        }
    });
    let access = async {
        for granted in [false, true, false, true] {
            app.api
                .put("/v1/customer/reseller-access")
                .token(&w.customer_admin.token)
                .json(&json!({ "granted": granted }))
                .send()
                .await
                .assert_status(200);
        }
    };
    let partnership = async {
        for _ in 0..2 {
            app.remove_support_partner(&w.customer_admin, "helpdesk.example")
                .await;
            app.add_support_partner(&w.customer_admin, "helpdesk.example")
                .await;
        }
    };
    tokio::join!(join_all(filings), access, partnership);
    let exact = async |step: &str| {
        for viewer in [&w.reseller, &w.partner] {
            let listed = app.get_as(viewer, "/v1/cases?page_size=100").await;
            listed.assert_status(200);
            assert_eq!(
                listed.body["total_size"].as_u64().unwrap(),
                TestApp::case_ids(&listed).len() as u64,
                "{step}: {}",
                listed.text()
            );
        }
    };
    exact("raced").await;
    casebridge_persistence::repo::housekeeping::fold_seen_counts(&app.db)
        .await
        .unwrap()
        .unwrap();
    exact("folded").await;
}
