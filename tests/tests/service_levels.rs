//! Service levels through the real server, on SQLite and PostgreSQL, with the application's
//! clock set to the instants the rules are about: first-response targets from the support tier
//! and the severity, business hours in the case's own time zone, breaches recorded once on the
//! timeline, and support's queue ordered by what is due first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use casebridge_tests::{Session, TestApp, World, case_body, spawn_app};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a timestamp"), &Rfc3339).expect("RFC 3339")
}

/// A world whose customer is on `tier`, built with the clock a few minutes before `filing`
/// (tokens are issued on the application's clock).
async fn world_at(app: &TestApp, tier: &str, filing: OffsetDateTime) -> World {
    app.clock.set(filing - time::Duration::minutes(5));
    app.world_with_tier(tier).await
}

async fn file(
    app: &TestApp,
    w: &World,
    title: &str,
    severity: &str,
    zone: &str,
    filing: OffsetDateTime,
) -> Value {
    app.clock.set(filing);
    let mut body = case_body(title);
    body["severity"] = json!(severity);
    body["time_zone"] = json!(zone);
    let res = app.try_file_case(&w.reseller, &w.customer_id, body).await;
    res.assert_status(201);
    res.body
}

async fn case(app: &TestApp, who: &Session, id: &str) -> Value {
    let res = app.get_as(who, &format!("/v1/cases/{id}")).await;
    res.assert_status(200);
    res.body
}

async fn reply(app: &TestApp, w: &World, id: &str) {
    app.post_as(
        &w.provider,
        &format!("/v1/provider/cases/{id}/comments"),
        json!({"body": "We are looking into the bounces now."}),
    )
    .await
    .assert_status(201);
}

async fn breaches(app: &TestApp, who: &Session, id: &str) -> Vec<Value> {
    let res = app
        .get_as(who, &format!("/v1/cases/{id}/events?page_size=100"))
        .await;
    res.assert_status(200);
    res.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "case.service_level_breached")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_premium_p1_is_due_in_fifteen_minutes_and_met_by_a_reply_within_them() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(&app, &w, "Mail is down", "P1", "Europe/London", filed_at).await;
    let sl = &c["service_level"];
    assert_eq!(sl["first_response_target_minutes"], 15, "{c}");
    assert_eq!(sl["hours"], "24x7");
    assert_eq!(sl["state"], "running");
    assert!(sl.get("first_responded_time").is_none());
    let created = at(&c["create_time"]);
    assert_eq!(
        at(&sl["first_response_due_time"]),
        created + time::Duration::minutes(15)
    );

    app.clock.set(datetime!(2027-03-01 10:10 UTC));
    let id = c["id"].as_str().unwrap();
    reply(&app, &w, id).await;
    let sl = case(&app, &w.reseller, id).await["service_level"].clone();
    assert_eq!(sl["state"], "met", "{sl}");
    let responded = at(&sl["first_responded_time"]);
    assert!(
        responded >= datetime!(2027-03-01 10:10 UTC)
            && responded < created + time::Duration::minutes(15)
    );

    // Met stays met, and no breach is ever recorded for it.
    app.clock.set(datetime!(2027-03-01 10:45 UTC));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        case(&app, &w.reseller, id).await["service_level"]["state"],
        "met"
    );
    assert!(breaches(&app, &w.reseller, id).await.is_empty());
}

#[tokio::test]
async fn an_unanswered_p1_is_breached_after_its_due_time_with_one_timeline_event() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(
        &app,
        &w,
        "Calendar is down",
        "P1",
        "Europe/London",
        filed_at,
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let due = at(&c["service_level"]["first_response_due_time"]);
    let before = case(&app, &w.reseller, &id).await;

    // A second instance sweeps too where the database allows several (PostgreSQL).
    let sibling = app.try_spawn_sibling().await.ok();
    app.clock.set(datetime!(2027-03-01 10:16 UTC));
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = breaches(&app, &w.reseller, &id).await;
        if !recorded.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both sweepers have had several more turns: still one event.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let recorded_later = breaches(&app, &w.reseller, &id).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded_later.len(), 1, "{recorded_later:?}");
    assert_eq!(at(&recorded[0]["time"]), due, "stamped with the due time");

    let after = case(&app, &w.reseller, &id).await;
    assert_eq!(after["service_level"]["state"], "breached", "{after}");
    assert_eq!(
        after["update_time"], before["update_time"],
        "a breach is not a change"
    );
    // A late reply does not make it met.
    reply(&app, &w, &id).await;
    assert_eq!(
        case(&app, &w.reseller, &id).await["service_level"]["state"],
        "breached"
    );
    drop(sibling);
}

#[tokio::test]
async fn business_hours_count_in_the_case_s_own_time_zone_across_weekends_and_dst() {
    let app = spawn_app().await;
    // Friday 2027-02-05 16:00 in New York (EST, UTC-5).
    let friday = datetime!(2027-02-05 21:00 UTC);
    let w = world_at(&app, "standard", friday).await;
    let c = file(
        &app,
        &w,
        "Drive sync slow",
        "P3",
        "America/New_York",
        friday,
    )
    .await;
    let sl = &c["service_level"];
    assert_eq!(sl["first_response_target_minutes"], 480, "{c}");
    assert_eq!(sl["hours"], "business");
    // One business hour on Friday, seven on Monday: Monday 16:00 New York time.
    let due = at(&sl["first_response_due_time"]).to_offset(UtcOffset::from_hms(-5, 0, 0).unwrap());
    assert_eq!(due.weekday(), time::Weekday::Monday);
    assert_eq!(due.date(), time::macros::date!(2027 - 02 - 08));
    assert_eq!((due.hour(), due.minute()), (16, 0), "{due}");
}

#[tokio::test]
async fn a_case_filed_the_saturday_before_daylight_saving_starts_is_due_at_the_right_instant() {
    let app = spawn_app().await;
    // Saturday 2027-03-13 10:00 EST; clocks go forward on Sunday: counting starts Monday
    // 09:00 EDT (13:00 UTC), so eight business hours end at 17:00 EDT, 21:00 UTC.
    let saturday = datetime!(2027-03-13 15:00 UTC);
    let w = world_at(&app, "standard", saturday).await;
    let c = file(
        &app,
        &w,
        "Meet recordings missing",
        "P3",
        "America/New_York",
        saturday,
    )
    .await;
    let due = at(&c["service_level"]["first_response_due_time"]);
    assert_eq!(due.date(), time::macros::date!(2027 - 03 - 15));
    assert_eq!((due.hour(), due.minute()), (21, 0), "{due}");

    // Standard support has no P1 target.
    let c = file(
        &app,
        &w,
        "Everything is down",
        "P1",
        "America/New_York",
        saturday,
    )
    .await;
    assert!(c.get("service_level").is_none(), "{c}");
}

#[tokio::test]
async fn a_severity_change_before_the_first_reply_moves_the_due_time_and_after_it_does_not() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(
        &app,
        &w,
        "Shared drive slow",
        "P3",
        "Europe/London",
        filed_at,
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let created = at(&c["create_time"]);
    assert_eq!(
        at(&c["service_level"]["first_response_due_time"]),
        created + time::Duration::hours(4),
        "premium P3: four business hours"
    );

    app.clock.set(datetime!(2027-03-01 10:05 UTC));
    let raised = app
        .patch_as(
            &w.reseller,
            &format!("/v1/cases/{id}"),
            json!({"severity": "P1"}),
        )
        .await;
    raised.assert_status(200);
    let sl = &raised.body["service_level"];
    assert_eq!(sl["first_response_target_minutes"], 15, "{}", raised.text());
    assert_eq!(sl["hours"], "24x7");
    assert_eq!(
        at(&sl["first_response_due_time"]),
        created + time::Duration::minutes(15),
        "recomputed from the case's create_time"
    );

    reply(&app, &w, &id).await;
    let lowered = app
        .patch_as(
            &w.reseller,
            &format!("/v1/cases/{id}"),
            json!({"severity": "P4"}),
        )
        .await;
    lowered.assert_status(200);
    let sl = &lowered.body["service_level"];
    assert_eq!(
        sl["first_response_target_minutes"], 15,
        "after the reply the target stays"
    );
    assert_eq!(
        at(&sl["first_response_due_time"]),
        created + time::Duration::minutes(15)
    );
    assert_eq!(sl["state"], "met");
}

#[tokio::test]
async fn support_s_queue_lists_exactly_the_running_cases_soonest_first_across_pages() {
    let app = spawn_app().await;
    let start = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", start).await;
    // Due at 10:15 (P1), 12:00 (P2), 14:00 (P3, business hours in London), and a P1 that
    // support answers (met): filed in an order unlike their due times.
    let p3 = file(&app, &w, "Sites slow", "P3", "Europe/London", start).await;
    let p1 = file(&app, &w, "Mail down", "P1", "Europe/London", start).await;
    let answered = file(&app, &w, "Chat down", "P1", "Europe/London", start).await;
    let p2 = file(&app, &w, "Docs slow", "P2", "Europe/London", start).await;
    reply(&app, &w, answered["id"].as_str().unwrap()).await;
    let id = |c: &Value| c["id"].as_str().unwrap().to_owned();

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let res = app
            .get_as(
                &w.provider,
                &format!(
                    "/v1/provider/cases?service_level=running&order_by=first_response_due_time&page_size=1&page_token={token}"
                ),
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.body["total_size"], 3, "{}", res.text());
        seen.extend(TestApp::case_ids(&res));
        token = res.body["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
        assert!(seen.len() <= 3, "{seen:?}");
    }
    assert_eq!(seen, vec![id(&p1), id(&p2), id(&p3)]);
    // A page token is bound to its filter and order.
    let first = app
        .get_as(
            &w.provider,
            "/v1/provider/cases?service_level=running&order_by=first_response_due_time&page_size=1",
        )
        .await;
    let token = first.body["next_page_token"].as_str().unwrap();
    app.get_as(
        &w.provider,
        &format!("/v1/provider/cases?service_level=met&order_by=first_response_due_time&page_size=1&page_token={token}"),
    )
    .await
    .assert_problem(400, "invalid_page_token");

    // The filter is bound to the token; the other states list the rest.
    let met = app.get_as(&w.reseller, "/v1/cases?service_level=met").await;
    assert_eq!(TestApp::case_ids(&met), vec![id(&answered)]);
    app.clock.set(datetime!(2027-03-01 10:20 UTC));
    let breached = app
        .get_as(&w.reseller, "/v1/cases?service_level=breached")
        .await;
    assert_eq!(
        TestApp::case_ids(&breached),
        vec![id(&p1)],
        "{}",
        breached.text()
    );
}

#[tokio::test]
async fn only_the_provider_s_super_admin_sets_service_levels_and_bad_entries_name_their_field() {
    let app = spawn_app().await;
    let w = app.world().await;
    let defaults = app.get_as(&w.reseller, "/v1/provider/service-levels").await;
    defaults.assert_status(200);
    let entries = defaults.body["policies"].as_array().unwrap();
    assert_eq!(entries.len(), 11, "{}", defaults.text());
    assert!(entries.iter().any(|e| e
        == &json!({"support_tier": "premium", "severity": "P1", "first_response_minutes": 15, "hours": "24x7"})));
    assert!(
        !entries
            .iter()
            .any(|e| e["support_tier"] == "standard" && e["severity"] == "P1")
    );

    let policy = json!({"policies": [
        {"support_tier": "premium", "severity": "P1", "first_response_minutes": 30, "hours": "24x7"},
    ]});
    let put = |who: &Session, body: Value| {
        let (api, token) = (app.api.clone(), who.token.clone());
        async move {
            api.put("/v1/provider/service-levels")
                .token(&token)
                .json(&body)
                .send()
                .await
        }
    };
    put(&w.reseller, policy.clone())
        .await
        .assert_problem(403, "wrong_realm");
    let agent = app
        .user_with_roles(&w.provider, "agent", &["support_agent"])
        .await;
    put(&agent, policy.clone())
        .await
        .assert_problem(403, "super_admin_required");

    let negative = put(
        &w.provider,
        json!({"policies": [{"support_tier": "premium", "severity": "P1", "first_response_minutes": -5, "hours": "24x7"}]}),
    )
    .await;
    negative.assert_problem(422, "invalid_request");
    assert_eq!(
        negative.body["errors"][0]["field"],
        "policies[0].first_response_minutes",
        "{}",
        negative.text()
    );
    let unknown_tier = put(
        &w.provider,
        json!({"policies": [{"support_tier": "gold", "severity": "P1", "first_response_minutes": 5, "hours": "24x7"}]}),
    )
    .await;
    unknown_tier.assert_problem(422, "invalid_request");
    assert_eq!(
        unknown_tier.body["errors"][0]["field"],
        "policies[0].support_tier",
        "{}",
        unknown_tier.text()
    );
    let twice = put(
        &w.provider,
        json!({"policies": [
            {"support_tier": "premium", "severity": "P1", "first_response_minutes": 5, "hours": "24x7"},
            {"support_tier": "premium", "severity": "P1", "first_response_minutes": 9, "hours": "24x7"},
        ]}),
    )
    .await;
    twice.assert_problem(422, "invalid_request");
    assert_eq!(twice.body["errors"][0]["field"], "policies[1]");

    // A fraction is no whole number of minutes; a whole number written with a decimal point is.
    let fraction = put(
        &w.provider,
        json!({"policies": [{"support_tier": "premium", "severity": "P1", "first_response_minutes": 1.5, "hours": "24x7"}]}),
    )
    .await;
    fraction.assert_problem(422, "invalid_request");
    assert_eq!(
        fraction.body["errors"][0]["field"],
        "policies[0].first_response_minutes"
    );
    put(
        &w.provider,
        json!({"policies": [{"support_tier": "premium", "severity": "P1", "first_response_minutes": 30.0, "hours": "24x7"}]}),
    )
    .await
    .assert_status(200);

    let set = put(&w.provider, policy.clone()).await;
    set.assert_status(200);
    assert_eq!(set.body, policy);
    let read = app.get_as(&w.reseller, "/v1/provider/service-levels").await;
    assert_eq!(read.body, policy);
    // A case filed now gets the new target; a P2 none.
    let mut body = case_body("Mail down again");
    body["severity"] = json!("P1");
    let c = app.try_file_case(&w.reseller, &w.customer_id, body).await;
    assert_eq!(
        c.body["service_level"]["first_response_target_minutes"],
        30,
        "{}",
        c.text()
    );
    let p2 = app
        .file_case(&w.reseller, &w.customer_id, "Docs slow")
        .await;
    assert!(p2.get("service_level").is_none(), "{p2}");
    // With no entry at all, a filing still finds its category (read in the same statement as
    // the policy) and gets no target; an unknown category is still refused.
    put(&w.provider, json!({"policies": []}))
        .await
        .assert_status(200);
    let mut body = case_body("Mail down once more");
    body["severity"] = json!("P1");
    let c = app.try_file_case(&w.reseller, &w.customer_id, body).await;
    c.assert_status(201);
    assert!(c.body.get("service_level").is_none(), "{}", c.text());
    assert_eq!(
        c.body["classification"]["display_name"],
        "Gmail > Mail delivery > Messages bounced"
    );
    let mut unknown = case_body("Mail down once more");
    unknown["classification_id"] = json!("0193a5c0-0000-7000-8000-0000000fffff");
    app.try_file_case(&w.reseller, &w.customer_id, unknown)
        .await
        .assert_problem(422, "invalid_request");
}

/// Waits (up to 10 s) for the sweep to record `n` breaches of the case.
async fn breaches_after_sweep(app: &TestApp, who: &Session, id: &str, n: usize) -> Vec<Value> {
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = breaches(app, who, id).await;
        if recorded.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sweep has had more turns since: nothing is recorded twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = breaches(app, who, id).await;
    assert_eq!(recorded.len(), later.len(), "{later:?}");
    later
}

#[tokio::test]
async fn a_reply_after_the_due_time_but_before_the_sweep_still_records_the_breach() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(&app, &w, "Mail is down", "P1", "Europe/London", filed_at).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let due = at(&c["service_level"]["first_response_due_time"]);
    // The reply comes 30 s late, within one sweep interval of the due time.
    app.clock.set(due + time::Duration::seconds(30));
    reply(&app, &w, &id).await;
    let sl = case(&app, &w.reseller, &id).await["service_level"].clone();
    assert_eq!(sl["state"], "breached", "{sl}");
    let recorded = breaches_after_sweep(&app, &w.reseller, &id, 1).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(at(&recorded[0]["time"]), due);
}

#[tokio::test]
async fn a_case_closed_before_its_due_time_stays_met_when_reopened() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(&app, &w, "Mail is down", "P1", "Europe/London", filed_at).await;
    let id = c["id"].as_str().unwrap().to_owned();
    app.clock.set(datetime!(2027-03-01 10:05 UTC));
    app.post_as(&w.reseller, &format!("/v1/cases/{id}/close"), json!({}))
        .await
        .assert_status(200);
    assert_eq!(
        case(&app, &w.reseller, &id).await["service_level"]["state"],
        "met"
    );
    app.clock.set(datetime!(2027-03-01 10:30 UTC));
    app.post_as(&w.reseller, &format!("/v1/cases/{id}/reopen"), json!({}))
        .await
        .assert_status(200);
    let sl = case(&app, &w.reseller, &id).await["service_level"].clone();
    assert_eq!(sl["state"], "met", "{sl}");
    assert!(
        sl.get("first_responded_time").is_none(),
        "support never replied"
    );
    assert!(
        breaches_after_sweep(&app, &w.reseller, &id, 1)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_severity_change_after_a_recorded_breach_can_be_breached_again() {
    let app = spawn_app().await;
    let filed_at = datetime!(2027-03-01 10:00 UTC);
    let w = world_at(&app, "premium", filed_at).await;
    let c = file(&app, &w, "Mail is down", "P1", "Europe/London", filed_at).await;
    let id = c["id"].as_str().unwrap().to_owned();
    app.clock.set(datetime!(2027-03-01 10:16 UTC));
    assert_eq!(
        breaches_after_sweep(&app, &w.reseller, &id, 1).await.len(),
        1
    );
    // Lowered to P2 (two hours around the clock): running again until 12:00.
    app.clock.set(datetime!(2027-03-01 10:20 UTC));
    let lowered = app
        .patch_as(
            &w.reseller,
            &format!("/v1/cases/{id}"),
            json!({"severity": "P2"}),
        )
        .await;
    lowered.assert_status(200);
    assert_eq!(
        lowered.body["service_level"]["state"],
        "running",
        "{}",
        lowered.text()
    );
    let due = at(&lowered.body["service_level"]["first_response_due_time"]);
    app.clock.set(datetime!(2027-03-01 12:01 UTC));
    // Tokens last an hour: sign in again at the later time.
    let reseller = app
        .sign_in(
            &w.reseller.domain,
            &w.reseller.email,
            casebridge_tests::PASSWORD,
        )
        .await;
    let recorded = breaches_after_sweep(&app, &reseller, &id, 2).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(at(&recorded[1]["time"]), due);
}
