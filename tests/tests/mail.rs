//! Case mail through a real SMTP server: the right people hear of the right changes, and mail
//! written while the server is down arrives once it is back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use casebridge_api::settings::{SmtpSettings, SmtpTls};
use casebridge_persistence::Backend;
use casebridge_tests::smtp::SmtpSink;
use casebridge_tests::{PASSWORD, TestApp, spawn_app_with};
use serde_json::{Value, json};

async fn app_with_smtp(sink: &SmtpSink) -> TestApp {
    let port = sink.port();
    spawn_app_with(move |s| {
        s.smtp = Some(SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port,
            credentials: None,
            tls: SmtpTls::None,
        });
    })
    .await
}

fn subjects_to(messages: &[Value], rcpt: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == rcpt))
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn subscribers_and_the_creator_get_mail_for_every_notifying_change() {
    let sink = SmtpSink::start();
    let app = app_with_smtp(&sink).await;
    let w = app.world().await;
    // The creator's case mail goes to its desk's shared mailbox.
    let agent = app
        .user_with_roles(&w.reseller, "agent", &["reseller_admin"])
        .await;
    app.api
        .patch(&format!("/v1/admin/users/{}", agent.user_id))
        .token(&w.reseller.token)
        .json(&json!({"notification_email": "desk@reseller.example"}))
        .send()
        .await
        .assert_status(200);
    let agent = app
        .sign_in("reseller.example", "agent@reseller.example", PASSWORD)
        .await;
    let case = app
        .file_case(&agent, &w.customer_id, "Calendar invites vanish")
        .await;
    let id = case["id"].as_str().unwrap().to_owned();
    let number = case["case_number"].as_i64().unwrap();
    let steps: Vec<(&casebridge_tests::Session, String, Value)> = vec![
        (
            &w.provider,
            format!("/v1/provider/cases/{id}/comments"),
            json!({"body": "Which calendar client do the users run?"}),
        ),
        (
            &w.provider,
            format!("/v1/provider/cases/{id}/state"),
            json!({"status": "in_progress_support"}),
        ),
        (
            &agent,
            format!("/v1/cases/{id}/escalate"),
            json!({"reason": "business_impact", "justification": "Board meetings are missed."}),
        ),
        (&agent, format!("/v1/cases/{id}/close"), json!({})),
        (&agent, format!("/v1/cases/{id}/reopen"), json!({})),
    ];
    for (who, path, body) in steps {
        let res = app.post_as(who, &path, body).await;
        assert!(res.status.is_success(), "{path}: {}", res.text());
    }
    // A partner's comment and a severity change send no mail.
    app.post_as(
        &agent,
        &format!("/v1/cases/{id}/comments"),
        json!({"body": "Thunderbird and Outlook."}),
    )
    .await
    .assert_status(201);
    let messages = sink.wait_for(12, Duration::from_secs(20)).await;
    let expected: Vec<String> = [
        "Case filed",
        "Support replied",
        "Status changed from new to in_progress_support",
        "Case escalated",
        "Case closed",
        "Case reopened",
    ]
    .iter()
    .map(|h| format!("[Case #{number}] {h} — Calendar invites vanish"))
    .collect();
    for rcpt in ["desk@reseller.example", "it-lead@acme.example"] {
        let mut got = subjects_to(&messages, rcpt);
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "mail to {rcpt}");
    }
    // Nobody else, and not the creator's own address (it is redirected).
    assert_eq!(messages.len(), 12, "{messages:#?}");
    assert!(subjects_to(&messages, "agent@reseller.example").is_empty());
    // The support reply carries its text.
    let reply = messages
        .iter()
        .find(|m| m["subject"].as_str().unwrap().contains("Support replied"))
        .unwrap();
    assert!(
        reply["body"]
            .as_str()
            .unwrap()
            .contains("Which calendar client")
    );
    assert_eq!(reply["mail_from"], "casebridge@casebridge.test");
}

#[tokio::test]
async fn with_the_smtp_server_down_changes_succeed_and_the_mail_arrives_once_it_is_back() {
    let mut sink = SmtpSink::start();
    let app = app_with_smtp(&sink).await;
    let w = app.world().await;
    sink.stop();
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Drive sync stalls")
        .await;
    let id = case["id"].as_str().unwrap();
    app.post_as(&w.reseller, &format!("/v1/cases/{id}/close"), json!({}))
        .await
        .assert_status(200);
    // Give the worker time to fail at least once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(sink.messages().is_empty());
    sink.resume();
    // Past the back-off, the retry goes out.
    app.clock.advance(time::Duration::hours(2));
    let messages = sink.wait_for(4, Duration::from_secs(20)).await;
    let subjects: Vec<&str> = messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 4, "{subjects:?}");
    assert_eq!(
        subjects.iter().filter(|s| s.contains("Case filed")).count(),
        2
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("Case closed"))
            .count(),
        2
    );
    // Each mail once: a sent mail is not sent again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.messages().len(), 4);
}

#[tokio::test]
async fn without_an_smtp_server_mail_waits_in_the_outbox() {
    let app = casebridge_tests::spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Keep notes")
        .await;
    // The application's own handle: SQLite admits no second process on its file.
    let db = app.db.clone();
    let queued = casebridge_persistence::repo::outbox::for_case(
        db.reader(),
        case["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap();
    let recipients: Vec<&str> = queued.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        recipients,
        vec!["admin@reseller.example", "it-lead@acme.example"]
    );
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_mail_once() {
    let mut sink = SmtpSink::start();
    let app = app_with_smtp(&sink).await;
    let w = app.world().await;
    // Mail piles up while the server is down, then both instances' workers race for it
    // (on PostgreSQL; SQLite serves one instance, and its one worker sends it all).
    sink.stop();
    let sibling = match app.backend {
        Backend::Postgres => Some(app.spawn_sibling().await),
        Backend::Sqlite => None,
    };
    for i in 0..15 {
        app.file_case(&w.reseller, &w.customer_id, &format!("Case {i}"))
            .await;
    }
    sink.resume();
    app.clock.advance(time::Duration::hours(2));
    let messages = sink.wait_for(30, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = if messages.len() < 30 {
        messages
    } else {
        sink.messages()
    };
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 30, "{} mails arrived", ids.len());
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30, "a mail was sent twice");
    drop(sibling);
}
