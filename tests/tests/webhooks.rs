//! Webhooks through the real server, on SQLite and PostgreSQL: endpoints registered by a
//! domain's super admin, events posted to a real HTTP receiver on this machine (allowed by
//! `CASEBRIDGE_WEBHOOKS_ALLOW_LOCAL`), their signatures verified by the `standardwebhooks`
//! package from PyPI, retries with one `webhook-id`, `410 Gone`, the three-day give-up, the
//! address rules without the development flag, and who receives what.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use casebridge_tests::receiver::{Receiver, verify};
use casebridge_tests::{PASSWORD, Session, TestApp, World, spawn_app, spawn_app_with};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

async fn app_with_local_hooks() -> TestApp {
    spawn_app_with(|s| s.webhooks_allow_local = true).await
}

/// Registers an endpoint for `types`; returns its id and secret.
async fn register(app: &TestApp, admin: &Session, url: &str, types: &[&str]) -> (String, String) {
    let res = app
        .post_as(
            admin,
            "/v1/admin/webhooks",
            json!({"url": url, "event_types": types, "description": "CRM sync"}),
        )
        .await;
    res.assert_status(201);
    let secret = res.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (res.body["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, admin: &Session, hook: &str) -> Vec<Value> {
    let res = app
        .get_as(
            admin,
            &format!("/v1/admin/webhooks/{hook}/deliveries?page_size=100"),
        )
        .await;
    res.assert_status(200);
    res.body["deliveries"].as_array().unwrap().clone()
}

/// Waits until the endpoint's newest delivery satisfies `done`.
async fn newest_delivery(
    app: &TestApp,
    admin: &Session,
    hook: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        if let Some(d) = deliveries(app, admin, hook).await.first()
            && done(d)
        {
            return d.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the delivery never got there: {:?}",
        deliveries(app, admin, hook).await
    );
}

async fn webhook(app: &TestApp, admin: &Session, hook: &str) -> Value {
    let res = app
        .get_as(admin, &format!("/v1/admin/webhooks/{hook}"))
        .await;
    res.assert_status(200);
    res.body
}

/// The service's clock in Unix seconds: what the receiver's clock reads.
fn now(app: &TestApp) -> i64 {
    use casebridge_api::clock::Clock;
    app.clock.now().unix_timestamp()
}

async fn again(app: &TestApp, who: &Session) -> Session {
    app.sign_in(&who.domain, &who.email, PASSWORD).await
}

#[tokio::test]
async fn a_filing_is_posted_at_once_signed_so_that_standardwebhooks_verifies_it() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    let (hook, secret) = register(
        &app,
        &w.reseller,
        &receiver.url("/hooks"),
        &["case.created"],
    )
    .await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Mail bounces")
        .await;

    let got = receiver.wait_for(1).await;
    let request = &got[0];
    assert_eq!(request.path, "/hooks");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.header("webhook-id").starts_with("msg_"));
    assert_eq!(verify(&secret, &got, now(&app)), vec![Ok(())]);
    let body = request.json();
    assert_eq!(body["type"], "case.created");
    assert_eq!(body["data"]["event"]["action"], "case.created");
    assert_eq!(body["data"]["event"]["actor"]["domain"], "reseller.example");
    assert_eq!(body["data"]["case"]["id"], case["id"]);
    assert_eq!(body["data"]["case"]["title"], "Mail bounces");
    // The case is as GET returns it.
    let read = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{}", case["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(body["data"]["case"], read.body);
    // Another secret does not verify it.
    let stranger = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(verify(stranger, &got, now(&app))[0].is_err());

    let delivered = newest_delivery(&app, &w.reseller, &hook, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["last_http_status"], 200);
    assert_eq!(delivered["type"], "case.created");
    assert_eq!(
        request.header("webhook-id"),
        format!("msg_{}", delivered["id"].as_str().unwrap().replace('-', ""))
    );
}

#[tokio::test]
async fn after_a_rotation_deliveries_verify_with_the_new_secret_and_for_a_day_the_old_one() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    let (hook, old) = register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    let rotated = app
        .post_as(
            &w.reseller,
            &format!("/v1/admin/webhooks/{hook}/rotate-secret"),
            json!({}),
        )
        .await;
    rotated.assert_status(200);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(webhook(&app, &w.reseller, &hook).await["previous_secret_expire_time"].is_string());

    app.file_case(&w.reseller, &w.customer_id, "Within the day")
        .await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert_eq!(verify(&new, &got, now(&app)), vec![Ok(())]);
    assert_eq!(verify(&old, &got, now(&app)), vec![Ok(())]);

    // A day later only the new secret signs.
    app.clock
        .advance(time::Duration::hours(24) + time::Duration::minutes(1));
    let reseller = again(&app, &w.reseller).await;
    app.file_case(&reseller, &w.customer_id, "The next day")
        .await;
    let got = receiver.wait_for(2).await;
    let later = &got[1..];
    assert_eq!(later[0].header("webhook-signature").split(' ').count(), 1);
    assert_eq!(verify(&new, later, now(&app)), vec![Ok(())]);
    assert!(verify(&old, later, now(&app))[0].is_err());
    assert!(webhook(&app, &reseller, &hook).await["previous_secret_expire_time"].is_null());
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_event_three_times_under_one_webhook_id() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500, 500]);
    let (hook, secret) = register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    app.file_case(&w.reseller, &w.customer_id, "Retried").await;

    receiver.wait_for(1).await;
    let first = newest_delivery(&app, &w.reseller, &hook, |d| d["attempts"] == 1).await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["last_http_status"], 500);
    assert_eq!(first["last_response"], "status 500");
    let due = first["next_attempt_time"].as_str().unwrap().to_owned();
    // The first retry is due within 30 seconds: move the clock there.
    app.clock.advance(time::Duration::seconds(30));
    receiver.wait_for(2).await;
    newest_delivery(&app, &w.reseller, &hook, |d| d["attempts"] == 2).await;
    app.clock.advance(time::Duration::seconds(60));
    let got = receiver.wait_for(3).await;

    let delivered = newest_delivery(&app, &w.reseller, &hook, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["attempts"], 3);
    assert_eq!(delivered["last_http_status"], 200);
    assert!(delivered.get("next_attempt_time").is_none());
    assert!(!due.is_empty());
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(verify(&secret, &got, now(&app)).iter().all(Result::is_ok));
    assert_eq!(got[0].body, got[2].body, "the same event each time");
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_nothing_more_is_sent_to_it() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[410]);
    let (hook, _) = register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    app.file_case(&w.reseller, &w.customer_id, "Gone").await;
    receiver.wait_for(1).await;
    let failed = newest_delivery(&app, &w.reseller, &hook, |d| d["status"] == "failed").await;
    assert_eq!(failed["last_http_status"], 410);
    let endpoint = webhook(&app, &w.reseller, &hook).await;
    assert_eq!(endpoint["enabled"], false);
    assert_eq!(endpoint["disabled_reason"], "gone");

    // Nothing is written for a disabled endpoint, and a ping or a retry is refused.
    app.file_case(&w.reseller, &w.customer_id, "After it went")
        .await;
    assert_eq!(deliveries(&app, &w.reseller, &hook).await.len(), 1);
    let ping = app
        .post_as(
            &w.reseller,
            &format!("/v1/admin/webhooks/{hook}/ping"),
            json!({}),
        )
        .await;
    ping.assert_status(409);
    assert_eq!(ping.body["code"], "webhook_disabled");

    // Enabled again by its owner, it receives events again.
    app.patch_as(
        &w.reseller,
        &format!("/v1/admin/webhooks/{hook}"),
        json!({"enabled": true}),
    )
    .await
    .assert_status(200);
    app.file_case(&w.reseller, &w.customer_id, "Back").await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].json()["data"]["case"]["title"], "Back");
    assert_eq!(receiver.received().len(), 2);
}

fn at(value: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        value.as_str().expect("a timestamp"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339")
}

#[tokio::test]
async fn an_endpoint_failing_for_three_days_is_disabled_at_the_last_retry_and_its_super_admins_mailed()
 {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[503; 20]);
    let (hook, _) = register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    app.file_case(&w.reseller, &w.customer_id, "Down for days")
        .await;
    receiver.wait_for(1).await;
    let first = newest_delivery(&app, &w.reseller, &hook, |d| d["attempts"] == 1).await;
    let event_time = at(&first["create_time"]);
    let end = event_time + time::Duration::days(3);

    // Hours of failed retries later, a minute before the three days are over...
    app.clock.set(end - time::Duration::minutes(1));
    let mut admin = again(&app, &w.reseller).await;
    receiver.wait_for(2).await;
    let mut attempts = 2;
    let mut last_due = None;
    // ... each retry comes when it is due, the last exactly when the three days end.
    loop {
        let d = newest_delivery(&app, &admin, &hook, |d| d["attempts"] == attempts).await;
        if d["status"] == "failed" {
            break;
        }
        assert_eq!(d["status"], "pending");
        assert_eq!(webhook(&app, &admin, &hook).await["enabled"], true);
        let due = at(&d["next_attempt_time"]);
        assert!(due <= end, "no retry after the three days: {due}");
        last_due = Some(due);
        app.clock.set(due);
        admin = again(&app, &admin).await;
        attempts += 1;
        receiver.wait_for(usize::try_from(attempts).unwrap()).await;
    }
    assert_eq!(
        last_due,
        Some(end),
        "the last attempt ends the period, and disables"
    );
    let endpoint = webhook(&app, &admin, &hook).await;
    assert_eq!(endpoint["enabled"], false);
    assert_eq!(endpoint["disabled_reason"], "failing");
    let mails = app
        .db
        .writer()
        .query_all_raw(Statement::from_string(
            app.db.writer().get_database_backend(),
            "SELECT recipient, subject, body FROM outbox WHERE case_id IS NULL",
        ))
        .await
        .unwrap();
    let to_admin: Vec<_> = mails
        .iter()
        .filter(|r| r.try_get::<String>("", "recipient").unwrap() == w.reseller.email)
        .collect();
    assert_eq!(to_admin.len(), 1, "one mail, however many attempts failed");
    let body: String = to_admin[0].try_get("", "body").unwrap();
    assert!(body.contains(&hook), "{body}");
}

#[tokio::test]
async fn a_reply_is_posted_with_the_case_as_the_reply_left_it() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    // An answer PostgreSQL's text could not hold (a NUL byte) is kept all the same.
    receiver.answer_once(200, b"ok\0binary");
    let (hook, _) = register(
        &app,
        &w.customer_admin,
        &receiver.url("/"),
        &["case.support_replied"],
    )
    .await;
    let case = app.file_case(&w.reseller, &w.customer_id, "Replied").await;
    let id = case["id"].as_str().unwrap();
    app.post_as(
        &w.provider,
        &format!("/v1/provider/cases/{id}/comments"),
        json!({"body": "We are looking into the bounces now."}),
    )
    .await
    .assert_status(201);
    let got = receiver.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["type"], "case.support_replied");
    let read = app
        .get_as(&w.customer_admin, &format!("/v1/cases/{id}"))
        .await;
    assert_eq!(body["data"]["case"], read.body);
    assert!(body["data"]["case"]["service_level"]["first_responded_time"].is_string());
    let delivered = newest_delivery(&app, &w.customer_admin, &hook, |d| {
        d["status"] == "delivered"
    })
    .await;
    assert!(
        delivered["last_response"]
            .as_str()
            .unwrap()
            .starts_with("ok")
    );
}

#[tokio::test]
async fn an_endpoint_disabled_by_its_owner_gives_up_what_it_was_owed() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500]);
    let (hook, _) = register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    app.file_case(&w.reseller, &w.customer_id, "Owed").await;
    receiver.wait_for(1).await;
    newest_delivery(&app, &w.reseller, &hook, |d| d["attempts"] == 1).await;
    app.patch_as(
        &w.reseller,
        &format!("/v1/admin/webhooks/{hook}"),
        json!({"enabled": false}),
    )
    .await
    .assert_status(200);
    let given_up = deliveries(&app, &w.reseller, &hook).await;
    assert_eq!(given_up[0]["status"], "failed");
    assert!(given_up[0].get("next_attempt_time").is_none());

    // Enabled again, it receives what happens from then on, not the old event.
    app.patch_as(
        &w.reseller,
        &format!("/v1/admin/webhooks/{hook}"),
        json!({"enabled": true}),
    )
    .await
    .assert_status(200);
    app.clock.advance(time::Duration::minutes(5));
    let reseller = again(&app, &w.reseller).await;
    app.file_case(&reseller, &w.customer_id, "New").await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].json()["data"]["case"]["title"], "New");
    // A retry by hand sends the old one once more, under its own id.
    let old = &given_up[0]["id"];
    let retried = app
        .post_as(
            &reseller,
            &format!(
                "/v1/admin/webhooks/{hook}/deliveries/{}/retry",
                old.as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    retried.assert_status(202);
    assert_eq!(retried.body["status"], "pending");
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].header("webhook-id"), got[0].header("webhook-id"));
}

#[tokio::test]
async fn a_ping_is_posted_signed() {
    let app = app_with_local_hooks().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    let (hook, secret) = register(
        &app,
        &w.customer_admin,
        &receiver.url("/ping"),
        &["case.closed"],
    )
    .await;
    let res = app
        .post_as(
            &w.customer_admin,
            &format!("/v1/admin/webhooks/{hook}/ping"),
            json!({}),
        )
        .await;
    res.assert_status(202);
    assert_eq!(res.body["type"], "webhook.ping");
    let got = receiver.wait_for(1).await;
    assert_eq!(verify(&secret, &got, now(&app)), vec![Ok(())]);
    let body = got[0].json();
    assert_eq!(body["type"], "webhook.ping");
    assert_eq!(body["data"]["webhook_id"], hook.as_str());
}

#[tokio::test]
async fn registration_refuses_local_private_and_link_local_addresses_without_the_flag() {
    let app = spawn_app().await;
    let w = app.world().await;
    for url in [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "ftp://crm.example.com/hook",
    ] {
        let res = app
            .post_as(
                &w.reseller,
                "/v1/admin/webhooks",
                json!({"url": url, "event_types": ["case.created"]}),
            )
            .await;
        res.assert_status(422);
        assert_eq!(res.body["code"], "webhook_url_refused", "{url}");
        assert_eq!(res.body["errors"][0]["field"], "url", "{url}");
    }
    // A public address is accepted (a literal one: this machine resolves no public names).
    register(
        &app,
        &w.reseller,
        "https://93.184.215.14/hook",
        &["case.created"],
    )
    .await;
    let res = app.get_as(&w.reseller, "/v1/admin/webhooks").await;
    res.assert_status(200);
    assert_eq!(res.body["total_size"], 1);
    assert!(res.body["webhooks"][0].get("secret").is_none());
}

#[tokio::test]
async fn another_reseller_receives_nothing_and_a_revoked_reseller_nothing_from_then_on() {
    let app = app_with_local_hooks().await;
    let w: World = app.world().await;
    let receiver = Receiver::start().await;
    let all = [
        "case.created",
        "case.support_replied",
        "customer.reseller_access_revoked",
    ];
    let (mine, _) = register(&app, &w.reseller, &receiver.url("/reseller"), &all).await;
    let (theirs, _) = register(&app, &w.other_reseller, &receiver.url("/other"), &all).await;
    let (customers, _) = register(&app, &w.customer_admin, &receiver.url("/customer"), &all).await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Seen by two")
        .await;
    let id = case["id"].as_str().unwrap();
    // Deliveries are written with the event, so what is not there was never sent.
    assert_eq!(deliveries(&app, &w.reseller, &mine).await.len(), 1);
    assert_eq!(
        deliveries(&app, &w.customer_admin, &customers).await.len(),
        1
    );
    assert!(
        deliveries(&app, &w.other_reseller, &theirs)
            .await
            .is_empty()
    );

    app.set_reseller_access(&w.customer_admin, false).await;
    app.post_as(
        &w.provider,
        &format!("/v1/provider/cases/{id}/comments"),
        json!({"body": "We are looking into the bounces now."}),
    )
    .await
    .assert_status(201);
    let reseller_types: Vec<Value> = deliveries(&app, &w.reseller, &mine)
        .await
        .iter()
        .map(|d| d["type"].clone())
        .collect();
    assert_eq!(
        reseller_types,
        vec![
            json!("customer.reseller_access_revoked"),
            json!("case.created")
        ]
    );
    let customer_types: Vec<Value> = deliveries(&app, &w.customer_admin, &customers)
        .await
        .iter()
        .map(|d| d["type"].clone())
        .collect();
    assert_eq!(
        customer_types,
        vec![
            json!("case.support_replied"),
            json!("customer.reseller_access_revoked"),
            json!("case.created")
        ]
    );
    assert!(
        deliveries(&app, &w.other_reseller, &theirs)
            .await
            .is_empty()
    );
    let got = receiver.wait_for(5).await;
    assert!(got.iter().all(|r| r.path != "/other"));
}

#[tokio::test]
async fn endpoints_are_a_super_admins_and_their_domains_own() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (hook, _) = register(
        &app,
        &w.reseller,
        "https://93.184.215.14/a",
        &["case.created"],
    )
    .await;
    // Another domain's admin does not find it.
    app.get_as(&w.other_reseller, &format!("/v1/admin/webhooks/{hook}"))
        .await
        .assert_status(404);
    app.post_as(
        &w.other_reseller,
        &format!("/v1/admin/webhooks/{hook}/rotate-secret"),
        json!({}),
    )
    .await
    .assert_status(404);
    for (method, path) in [
        ("PATCH", format!("/v1/admin/webhooks/{hook}")),
        ("DELETE", format!("/v1/admin/webhooks/{hook}")),
        ("POST", format!("/v1/admin/webhooks/{hook}/ping")),
        ("GET", format!("/v1/admin/webhooks/{hook}/deliveries")),
        (
            "POST",
            format!(
                "/v1/admin/webhooks/{hook}/deliveries/{}/retry",
                uuid::Uuid::now_v7()
            ),
        ),
    ] {
        let res = match method {
            "PATCH" => {
                app.patch_as(&w.other_reseller, &path, json!({"enabled": false}))
                    .await
            }
            "DELETE" => {
                app.api
                    .delete(&path)
                    .token(&w.other_reseller.token)
                    .send()
                    .await
            }
            "GET" => app.get_as(&w.other_reseller, &path).await,
            _ => app.post_as(&w.other_reseller, &path, json!({})).await,
        };
        res.assert_status(404);
    }
    // A user who is not a super admin may not manage endpoints.
    let agent = app
        .user_with_roles(&w.reseller, "agent", &["reseller_admin"])
        .await;
    app.get_as(&agent, "/v1/admin/webhooks")
        .await
        .assert_status(403);

    // Changes: types, description cleared, disabled; the secret is never read back.
    let res = app
        .patch_as(
            &w.reseller,
            &format!("/v1/admin/webhooks/{hook}"),
            json!({"event_types": ["case.closed", "case.closed", "case.reopened"], "description": null, "enabled": false}),
        )
        .await;
    res.assert_status(200);
    assert_eq!(
        res.body["event_types"],
        json!(["case.closed", "case.reopened"])
    );
    assert!(res.body["description"].is_null());
    assert_eq!(res.body["enabled"], false);
    assert!(res.body.get("disabled_reason").is_none());
    assert!(res.body.get("secret").is_none());
    for bad in [
        json!({"event_types": []}),
        json!({"event_types": ["case.teleported"]}),
        json!({"description": "x".repeat(501)}),
        json!({"url": "https://10.1.2.3/x"}),
    ] {
        let res = app
            .patch_as(
                &w.reseller,
                &format!("/v1/admin/webhooks/{hook}"),
                bad.clone(),
            )
            .await;
        assert!(
            res.status == 422 || res.status == 400,
            "{bad}: {}",
            res.status
        );
    }

    // At most 20 endpoints per domain.
    for i in 1..20 {
        register(
            &app,
            &w.reseller,
            &format!("https://93.184.215.14/{i}"),
            &["case.created"],
        )
        .await;
    }
    let res = app
        .post_as(
            &w.reseller,
            "/v1/admin/webhooks",
            json!({"url": "https://93.184.215.14/21", "event_types": ["case.created"]}),
        )
        .await;
    res.assert_status(409);
    assert_eq!(res.body["code"], "webhook_limit_reached");

    app.api
        .delete(&format!("/v1/admin/webhooks/{hook}"))
        .token(&w.reseller.token)
        .send()
        .await
        .assert_status(204);
    app.get_as(&w.reseller, &format!("/v1/admin/webhooks/{hook}"))
        .await
        .assert_status(404);
}

#[tokio::test]
async fn two_instances_never_send_one_attempt_twice() {
    let app = app_with_local_hooks().await;
    if app.backend != casebridge_persistence::Backend::Postgres {
        // SQLite serves one instance; the claim with a lease is the same code path.
        return;
    }
    let _sibling = app.spawn_sibling().await;
    let w = app.world().await;
    let receiver = Receiver::start().await;
    register(&app, &w.reseller, &receiver.url("/"), &["case.created"]).await;
    for i in 0..12 {
        app.file_case(&w.reseller, &w.customer_id, &format!("Case {i}"))
            .await;
    }
    receiver.wait_for(12).await;
    // Both instances keep polling a while longer: nothing is sent again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12, "twelve events");
    assert_eq!(got.len(), 12, "each sent once");
}
