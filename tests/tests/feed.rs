//! The change feed (`GET /v1/events`) through the real server, on SQLite and PostgreSQL: a
//! follower of `next_cursor` receives every event exactly once, also while many clients write
//! at once and while a transaction that wrote first is still open; what a domain receives is
//! what it may see; cursors are bound to the domain and the query.
//!
//! On PostgreSQL a transaction anywhere on the server (another test's) may hold the feed back
//! for a moment, so a follower polls until what it waits for has come; an absence is asserted
//! only once a later event, written after the absent ones could have been, has come.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_api::Clock;
use casebridge_domain::{CaseId, CustomerId, DomainId, DomainName, EventType, Realm, Viewer};
use casebridge_persistence::Backend;
use casebridge_persistence::repo::audit::{self, AuditActor, NewEvent};
use casebridge_persistence::repo::feed::{self as feed_repo, FeedQuery};
use casebridge_persistence::repo::identity;
use casebridge_tests::{FreshDatabase, Session, TestApp, World, spawn_app};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// One page of the feed: its events and `next_cursor`.
async fn page(app: &TestApp, who: &Session, query: &str, cursor: &str) -> (Vec<Value>, String) {
    let res = app
        .get_as(who, &format!("/v1/events?{query}&cursor={cursor}"))
        .await;
    res.assert_status(200);
    let next = res.body["next_cursor"]
        .as_str()
        .expect("next_cursor is always present")
        .to_owned();
    assert!(!next.is_empty(), "{}", res.text());
    (res.body["events"].as_array().unwrap().clone(), next)
}

/// Reads pages from `cursor` until one comes back short: what is final now.
async fn drain(app: &TestApp, who: &Session, query: &str, cursor: &str) -> (Vec<Value>, String) {
    let mut all = Vec::new();
    let mut cursor = cursor.to_owned();
    loop {
        let (events, next) = page(app, who, &format!("{query}&page_size=10"), &cursor).await;
        let short = events.len() < 10;
        all.extend(events);
        cursor = next;
        if short {
            return (all, cursor);
        }
    }
}

/// Follows the feed from `cursor` until `enough` holds for what was received, polling again
/// after a short page. Bounded only so that a broken feed fails instead of hanging.
async fn follow_until(
    app: &TestApp,
    who: &Session,
    query: &str,
    cursor: &str,
    enough: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, String) {
    let mut all = Vec::new();
    let mut cursor = cursor.to_owned();
    for _ in 0..4000 {
        let (events, next) = drain(app, who, query, &cursor).await;
        all.extend(events);
        cursor = next;
        if enough(&all) {
            return (all, cursor);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the feed never delivered what was awaited; received {all:#?}");
}

fn event_id(e: &Value) -> &str {
    e["event"]["id"].as_str().unwrap()
}

fn has_event(events: &[Value], id: &str) -> bool {
    events.iter().any(|e| event_id(e) == id)
}

/// The feed position a cursor carries (the token's payload is signed, not secret).
fn position(cursor: &str) -> (i64, i64) {
    let payload = cursor.split_once('.').unwrap().0;
    let envelope: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    (
        envelope["p"]["tx"].as_i64().unwrap(),
        envelope["p"]["seq"].as_i64().unwrap(),
    )
}

/// Asserts no event comes twice and positions strictly increase.
fn assert_once_in_order(events: &[Value]) {
    let mut ids = HashSet::new();
    for e in events {
        assert!(ids.insert(event_id(e).to_owned()), "twice: {e}");
    }
    for pair in events.windows(2) {
        let (a, b) = (
            position(pair[0]["cursor"].as_str().unwrap()),
            position(pair[1]["cursor"].as_str().unwrap()),
        );
        assert!(a < b, "out of order: {a:?} then {b:?}");
    }
}

/// A case's timeline, whole.
async fn timeline(app: &TestApp, who: &Session, case: &str) -> Vec<Value> {
    let res = app
        .get_as(who, &format!("/v1/cases/{case}/events?page_size=100"))
        .await;
    res.assert_status(200);
    res.body["events"].as_array().unwrap().clone()
}

async fn comment(app: &TestApp, who: &Session, case: &str, body: &str) -> Value {
    let res = app
        .post_as(
            who,
            &format!("/v1/cases/{case}/comments"),
            json!({ "body": body }),
        )
        .await;
    res.assert_status(201);
    res.body
}

/// Another customer of the world's reseller, with access granted; returns its id and admin.
async fn another_customer(app: &TestApp, w: &World, name: &str) -> (String, Session) {
    let admin = app.domain_admin(&w.provider, name, "customer").await;
    let id = app
        .create_customer(&w.provider, name, name, "reseller.example", "standard")
        .await;
    app.set_reseller_access(&admin, true).await;
    (id, admin)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Records a case event in a transaction that stays open `hold` after writing it, as a slow
/// request's would; returns the event's id.
async fn slow_event(app: &TestApp, customer: &str, case: &str, hold: Duration) -> String {
    let tx = app.db.begin().await.unwrap();
    let id = audit::record(
        &tx,
        &AuditActor::default(),
        NewEvent {
            action: "case.updated",
            subject_type: "case",
            subject_id: case.to_owned(),
            customer_id: Some(customer.parse::<CustomerId>().unwrap()),
            case_id: Some(case.parse::<CaseId>().unwrap()),
            details: json!({"title_changed": true}),
            audience: Vec::new(),
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    tokio::time::sleep(hold).await;
    tx.commit().await.unwrap();
    id.to_string()
}

#[tokio::test]
async fn a_follower_receives_every_comment_of_twenty_concurrent_writers_exactly_once() {
    let app = spawn_app().await;
    let w = app.world().await;
    // Four customers, so that writers do not all queue for one customer's lock: their
    // transactions overlap and commit in another order than they began.
    let mut customers = vec![w.customer_id.clone()];
    for i in 0..3 {
        customers.push(another_customer(&app, &w, &format!("c{i}.example")).await.0);
    }
    let mut cases = Vec::new();
    for i in 0..20 {
        let case = app
            .file_case(&w.reseller, &customers[i % 4], &format!("Mail delay {i}"))
            .await;
        cases.push((customers[i % 4].clone(), id_of(&case)));
    }
    let (_, start) = drain(&app, &w.reseller, "", "").await;
    const COMMENTS: usize = 5;
    const SLOW: usize = 12;
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        let done = done.clone();
        async move {
            // The follower: small pages, polling again at once while the writers write, then
            // until everything has come (a while at most, so that a lost event fails the test
            // instead of hanging it).
            let mut received = Vec::new();
            let mut cursor = start;
            let mut tail = 0;
            while tail < 2000 {
                let res = api
                    .get(&format!("/v1/events?page_size=7&cursor={cursor}"))
                    .token(&token)
                    .send()
                    .await;
                res.assert_status(200);
                let events = res.body["events"].as_array().unwrap().clone();
                let short = events.len() < 7;
                received.extend(events);
                cursor = res.body["next_cursor"].as_str().unwrap().to_owned();
                let count = |t: &str| received.iter().filter(|e| e["type"] == t).count();
                if done.load(Ordering::SeqCst) {
                    if count("case.commented") >= 20 * COMMENTS && count("case.updated") >= 2 * SLOW
                    {
                        break;
                    }
                    if short {
                        tail += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (received, cursor)
        }
    };
    // Twenty clients comment through the API…
    let writers = cases.iter().map(|(_, case)| {
        let (api, token) = (app.api.clone(), w.reseller.token.clone());
        async move {
            for n in 0..COMMENTS {
                api.post(&format!("/v1/cases/{case}/comments"))
                    .token(&token)
                    .json(&json!({ "body": format!("Observation {n} from the desk.") }))
                    .send()
                    .await
                    .assert_status(201);
            }
        }
    });
    // …while two slow writers keep their transactions open a little after writing, so that
    // transactions that began later commit first.
    let slow = (0..2).map(|k| {
        let app = &app;
        let (customer, case) = cases[k].clone();
        async move {
            for n in 0..SLOW {
                let hold = Duration::from_millis(20 + ((n * 7 + k * 3) % 13) as u64 * 3);
                slow_event(app, &customer, &case, hold).await;
            }
        }
    });
    let writing = async {
        tokio::join!(join_all(writers), join_all(slow));
        done.store(true, Ordering::SeqCst);
    };
    let ((received, cursor), ()) = tokio::join!(poller, writing);

    // Exactly the events the timelines hold, each once, in feed order.
    assert_once_in_order(&received);
    let mut expected = HashSet::new();
    for (_, case) in &cases {
        for e in timeline(&app, &w.reseller, case).await {
            if e["action"] == "case.commented" || e["action"] == "case.updated" {
                expected.insert(id_of(&e));
            }
        }
    }
    assert_eq!(expected.len(), 20 * COMMENTS + 2 * SLOW);
    let got: HashSet<String> = received
        .iter()
        .filter(|e| e["type"] == "case.commented" || e["type"] == "case.updated")
        .map(|e| event_id(e).to_owned())
        .collect();
    let missing: Vec<&String> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "{} never came: {missing:?}",
        missing.len()
    );
    assert!(got.is_subset(&expected));
    // A last poll after every writer finished repeats nothing.
    let (after, _) = drain(&app, &w.reseller, "", &cursor).await;
    assert!(
        after.iter().all(|e| !has_event(&received, event_id(e))),
        "{after:#?}"
    );
    // Each case's comments come in its timeline's order.
    for (_, case) in &cases {
        let in_feed: Vec<&str> = received
            .iter()
            .filter(|e| e["case_id"] == case.as_str() && e["type"] == "case.commented")
            .map(event_id)
            .collect();
        let on_timeline: Vec<String> = timeline(&app, &w.reseller, case)
            .await
            .iter()
            .filter(|e| e["action"] == "case.commented")
            .map(id_of)
            .collect();
        assert_eq!(in_feed, on_timeline, "case {case}");
    }
}

#[tokio::test]
async fn an_event_of_an_open_transaction_holds_back_later_ones_until_it_commits() {
    let app = spawn_app().await;
    let w = app.world().await;
    let first = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Mail delay")
            .await,
    );
    let second = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Drive sync")
            .await,
    );
    let (_, cursor) = drain(&app, &w.reseller, "", "").await;

    // A transaction writes an event first and stays open…
    let tx = app.db.begin().await.unwrap();
    let early = audit::record(
        &tx,
        &AuditActor::default(),
        NewEvent {
            action: "case.updated",
            subject_type: "case",
            subject_id: first.clone(),
            customer_id: Some(w.customer_id.parse::<CustomerId>().unwrap()),
            case_id: Some(first.parse::<CaseId>().unwrap()),
            details: json!({"title_changed": true}),
            audience: Vec::new(),
        },
        app.clock.now(),
    )
    .await
    .unwrap()
    .to_string();

    if app.backend == Backend::Postgres {
        // …while a later one commits.
        let late = id_of(&comment(&app, &w.reseller, &second, "Still failing here.").await);
        let late_event = timeline(&app, &w.reseller, &second)
            .await
            .iter()
            .find(|e| e["details"]["comment_id"] == late.as_str())
            .map(id_of)
            .unwrap();
        // The later event is not handed out while the earlier transaction runs: a follower
        // resuming after it would never see the earlier one.
        let (held, held_cursor) = drain(&app, &w.reseller, "", &cursor).await;
        assert!(!has_event(&held, &late_event), "{held:#?}");
        assert!(!has_event(&held, &early));
        tx.commit().await.unwrap();
        let (events, _) = follow_until(&app, &w.reseller, "", &held_cursor, |got| {
            has_event(got, &early) && has_event(got, &late_event)
        })
        .await;
        assert_once_in_order(&events);
        let at = |id: &str| events.iter().position(|e| event_id(e) == id).unwrap();
        assert!(
            at(&early) < at(&late_event),
            "in the order they were written"
        );
    } else {
        // SQLite has one writer: nothing else commits meanwhile, and the open transaction's
        // event is not handed out until it commits, after the cursor read meanwhile.
        let (held, held_cursor) = drain(&app, &w.reseller, "", &cursor).await;
        assert!(!has_event(&held, &early));
        tx.commit().await.unwrap();
        let (events, _) = drain(&app, &w.reseller, "", &held_cursor).await;
        assert_eq!(
            events.iter().map(event_id).collect::<Vec<_>>(),
            vec![early.as_str()]
        );
    }
}

#[tokio::test]
async fn without_a_cursor_the_feed_starts_at_the_oldest_and_an_empty_page_is_a_resume_point() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Mail delay")
            .await,
    );
    comment(&app, &w.reseller, &case, "First observation.").await;
    let (everything, end) = follow_until(&app, &w.reseller, "", "", |got| {
        got.iter().any(|e| e["type"] == "case.commented")
    })
    .await;
    // The world's grant of access came first, then the case's events in timeline order.
    let types: Vec<&str> = everything
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "customer.reseller_access_granted",
            "case.created",
            "case.commented"
        ]
    );
    assert_once_in_order(&everything);
    // One event a page walks the same sequence.
    let mut one_by_one = Vec::new();
    let mut cursor = String::new();
    loop {
        let (events, next) = page(&app, &w.reseller, "page_size=1", &cursor).await;
        cursor = next;
        if events.is_empty() {
            break;
        }
        one_by_one.extend(events);
    }
    assert_eq!(one_by_one, everything);
    // Each event is the case timeline's entry, and its cursor resumes right after it.
    let on_timeline = timeline(&app, &w.reseller, &case).await;
    assert_eq!(everything[1]["event"], on_timeline[0]);
    assert_eq!(everything[2]["event"], on_timeline[1]);
    assert_eq!(everything[1]["case_id"], case.as_str());
    assert_eq!(everything[1]["customer_id"], w.customer_id.as_str());
    assert_eq!(everything[1]["timestamp"], on_timeline[0]["time"]);
    assert!(everything[0].get("case_id").is_none(), "a customer event");
    let (rest, _) = drain(
        &app,
        &w.reseller,
        "",
        everything[1]["cursor"].as_str().unwrap(),
    )
    .await;
    assert_eq!(rest, everything[2..]);

    // An empty page still says where to resume, and what happens later comes from there.
    let (none, resume) = page(&app, &w.reseller, "", &end).await;
    assert!(none.is_empty(), "{none:#?}");
    let later = comment(&app, &w.reseller, &case, "Second observation.").await;
    let (events, _) = follow_until(&app, &w.reseller, "", &resume, |got| !got.is_empty()).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["type"], "case.commented");
    assert_eq!(
        events[0]["event"]["details"]["comment_id"], later["id"],
        "{events:#?}"
    );
}

#[tokio::test]
async fn other_resellers_receive_nothing_of_the_cases_they_do_not_see() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Mail delay")
            .await,
    );
    comment(&app, &w.reseller, &case, "First observation.").await;
    // A customer of the other reseller: its case, filed last, marks the end of what to read.
    let theirs_admin = app
        .domain_admin(&w.provider, "theirs.example", "customer")
        .await;
    let theirs = app
        .create_customer(
            &w.provider,
            "Theirs",
            "theirs.example",
            "other-reseller.example",
            "standard",
        )
        .await;
    app.set_reseller_access(&theirs_admin, true).await;
    let marker = id_of(
        &app.file_case(&w.other_reseller, &theirs, "Calendar sync")
            .await,
    );
    let (events, _) = follow_until(&app, &w.other_reseller, "", "", |got| {
        got.iter().any(|e| e["case_id"] == marker.as_str())
    })
    .await;
    assert!(
        events
            .iter()
            .all(|e| e["customer_id"] == theirs.as_str() && e["case_id"] != case.as_str()),
        "{events:#?}"
    );
    // A domain with no relationship at all receives nothing of either.
    let (none, _) = drain(&app, &w.partner, "", "").await;
    assert!(none.is_empty(), "{none:#?}");
    // The provider receives both customers' events; the customer its own.
    let (all, _) = follow_until(&app, &w.provider, "", "", |got| {
        got.iter().any(|e| e["case_id"] == marker.as_str())
    })
    .await;
    assert!(all.iter().any(|e| e["case_id"] == case.as_str()));
    // Only published types: the provider's customer.created events stay in the audit trail.
    assert!(
        all.iter()
            .any(|e| e["type"] == "customer.reseller_access_granted")
    );
    assert!(
        all.iter().all(|e| e["type"] != "customer.created"),
        "{all:#?}"
    );
    let (own, _) = follow_until(&app, &w.customer_admin, "", "", |got| {
        got.iter().any(|e| e["type"] == "case.commented")
    })
    .await;
    assert!(
        own.iter()
            .all(|e| e["customer_id"] == w.customer_id.as_str()),
        "{own:#?}"
    );
}

#[tokio::test]
async fn a_reseller_whose_access_is_revoked_receives_the_revocation_and_nothing_after() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (other_customer, _) = another_customer(&app, &w, "c1.example").await;
    let case = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Mail delay")
            .await,
    );
    comment(&app, &w.reseller, &case, "First observation.").await;
    let (_, cursor) = follow_until(&app, &w.reseller, "", "", |got| {
        got.iter().any(|e| e["type"] == "case.commented")
    })
    .await;

    app.set_reseller_access(&w.customer_admin, false).await;
    // The customer goes on working its case; then a case of another customer marks the end.
    comment(&app, &w.customer_admin, &case, "We see it too.").await;
    let marker = id_of(
        &app.file_case(&w.reseller, &other_customer, "Drive sync")
            .await,
    );
    let (after, _) = follow_until(&app, &w.reseller, "", &cursor, |got| {
        got.iter().any(|e| e["case_id"] == marker.as_str())
    })
    .await;
    let types: Vec<(&str, &str)> = after
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["customer_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("customer.reseller_access_revoked", w.customer_id.as_str()),
            ("case.created", other_customer.as_str()),
        ]
    );
    assert_eq!(
        after[0]["event"]["details"]["reseller_domain"],
        "reseller.example"
    );
    // From the start, too: the customer's cases are out of sight, their earlier events with
    // them; the customer events addressed to the reseller stay.
    let (from_start, _) = drain(&app, &w.reseller, "", "").await;
    let of_customer: Vec<&str> = from_start
        .iter()
        .filter(|e| e["customer_id"] == w.customer_id.as_str())
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        of_customer,
        [
            "customer.reseller_access_granted",
            "customer.reseller_access_revoked"
        ]
    );
    // The other reseller, never addressed, received neither.
    let (others, _) = drain(&app, &w.other_reseller, "", "").await;
    assert!(others.is_empty(), "{others:#?}");
}

#[tokio::test]
async fn cursors_are_bound_to_the_domain_and_the_query_and_bad_parameters_are_refused() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (_, cursor) = drain(&app, &w.reseller, "", "").await;
    let (_, commented) = drain(&app, &w.reseller, "event_type=case.commented", "").await;

    // Another domain's cursor.
    app.get_as(&w.other_reseller, &format!("/v1/events?cursor={cursor}"))
        .await
        .assert_problem(400, "invalid_page_token");
    // The same domain with other filters.
    for query in [
        format!("cursor={cursor}&event_type=case.commented"),
        format!("cursor={commented}"),
        format!("cursor={commented}&event_type=case.commented&event_type=case.closed"),
        format!("cursor={cursor}&customer_id={}", w.customer_id),
    ] {
        app.get_as(&w.reseller, &format!("/v1/events?{query}"))
            .await
            .assert_problem(400, "invalid_page_token");
    }
    // A cursor nobody issued.
    app.get_as(&w.reseller, "/v1/events?cursor=eyJxIjoieCJ9.AAAA")
        .await
        .assert_problem(400, "invalid_page_token");
    // Its own query takes it.
    app.get_as(&w.reseller, &format!("/v1/events?cursor={cursor}"))
        .await
        .assert_status(200);
    app.get_as(
        &w.reseller,
        &format!("/v1/events?cursor={commented}&event_type=case.commented"),
    )
    .await
    .assert_status(200);

    for (query, field) in [
        ("event_type=case.nonsense", "event_type"),
        ("event_type=customer.updated", "event_type"),
        ("customer_id=acme", "customer_id"),
        ("page_size=-1", "page_size"),
    ] {
        let res = app
            .get_as(&w.reseller, &format!("/v1/events?{query}"))
            .await;
        res.assert_problem(400, "invalid_query_parameter");
        let named = res.body["errors"][0]["field"].as_str().unwrap();
        assert!(named.starts_with(field), "{}", res.text());
    }
    // Without the privilege to work cases, no feed.
    let viewer = app.user_with_roles(&w.reseller, "viewer", &[]).await;
    let res = app.get_as(&viewer, "/v1/events").await;
    assert_eq!(res.status.as_u16(), 403, "{}", res.text());
}

#[tokio::test]
async fn the_type_and_customer_filters_narrow_the_feed() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (other_customer, _) = another_customer(&app, &w, "c1.example").await;
    let mine = id_of(
        &app.file_case(&w.reseller, &w.customer_id, "Mail delay")
            .await,
    );
    let theirs = id_of(
        &app.file_case(&w.reseller, &other_customer, "Drive sync")
            .await,
    );
    comment(&app, &w.reseller, &mine, "First observation.").await;
    comment(&app, &w.reseller, &theirs, "Another observation.").await;
    app.post_as(&w.reseller, &format!("/v1/cases/{theirs}/close"), json!({}))
        .await
        .assert_status(200);
    let (all, _) = follow_until(&app, &w.reseller, "", "", |got| {
        got.iter().any(|e| e["type"] == "case.closed")
    })
    .await;

    let (comments, _) = drain(&app, &w.reseller, "event_type=case.commented", "").await;
    assert_eq!(comments.len(), 2);
    assert!(comments.iter().all(|e| e["type"] == "case.commented"));
    let (two_types, _) = drain(
        &app,
        &w.reseller,
        "event_type=case.created&event_type=case.closed",
        "",
    )
    .await;
    let types: Vec<&str> = two_types
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["case.created", "case.created", "case.closed"]);
    let (of_other, _) = drain(
        &app,
        &w.reseller,
        &format!("customer_id={other_customer}"),
        "",
    )
    .await;
    // The same events as unfiltered, with cursors of their own query.
    let expected: Vec<&str> = all
        .iter()
        .filter(|e| e["customer_id"] == other_customer.as_str())
        .map(event_id)
        .collect();
    assert_eq!(of_other.iter().map(event_id).collect::<Vec<_>>(), expected);
    assert!(of_other.iter().any(|e| e["case_id"] == theirs.as_str()));
    assert!(of_other.iter().all(|e| e["case_id"] != mine.as_str()));
    // The filters together.
    let (both, _) = drain(
        &app,
        &w.reseller,
        &format!("customer_id={}&event_type=case.commented", w.customer_id),
        "",
    )
    .await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["case_id"], mine.as_str());
    // Customer events by type.
    let (grants, _) = drain(
        &app,
        &w.reseller,
        "event_type=customer.reseller_access_granted",
        "",
    )
    .await;
    let granted: BTreeMap<&str, usize> = grants.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["customer_id"].as_str().unwrap()).or_default() += 1;
        m
    });
    assert_eq!(
        granted,
        BTreeMap::from([(w.customer_id.as_str(), 1), (other_customer.as_str(), 1)])
    );
}

#[tokio::test]
async fn the_upgrade_orders_earlier_events_by_time_and_addresses_customer_events_by_their_details()
{
    use casebridge_migration::{Migrator, MigratorTrait};
    let fresh = FreshDatabase::new().await;
    let db = &fresh.db;
    let now = time::OffsetDateTime::now_utc();
    let domain = async |name: &str| {
        identity::insert_domain(
            db.writer(),
            DomainId::generate(),
            &DomainName::parse(name).unwrap(),
            Realm::Reseller,
            now,
        )
        .await
        .unwrap()
        .id
    };
    let (first, second) = (
        domain("first.example").await,
        domain("second.example").await,
    );
    let customer = CustomerId::generate();
    // Recorded newest first: the upgrade orders by time, not by the order of writing.
    let mut ids = Vec::new();
    for (action, details, audience, seconds) in [
        (
            "customer.transferred",
            json!({"from_reseller_domain": "first.example", "to_reseller_domain": "second.example"}),
            vec![first, second],
            2,
        ),
        (
            "customer.reseller_access_granted",
            json!({"reseller_domain": "first.example"}),
            vec![first],
            1,
        ),
    ] {
        let id = audit::record(
            db.writer(),
            &AuditActor::default(),
            NewEvent {
                action,
                subject_type: "customer",
                subject_id: customer.to_string(),
                customer_id: Some(customer),
                case_id: None,
                details,
                audience,
            },
            now + time::Duration::seconds(seconds),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // Undo this migration (and any after it), and apply it again.
    let migrations = Migrator::migrations();
    let at = migrations
        .iter()
        .position(|m| m.name() == "m20261130_000005_order_events")
        .unwrap();
    let steps = u32::try_from(migrations.len() - at).unwrap();
    Migrator::down(db.writer(), Some(steps)).await.unwrap();
    Migrator::up(db.writer(), None).await.unwrap();

    let read = async |viewer: Viewer| {
        feed_repo::read_feed(
            db.reader(),
            &FeedQuery {
                viewer,
                types: EventType::ALL.to_vec(),
                customer: None,
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.event.id)
        .collect::<Vec<_>>()
    };
    // Numbered in time order, before anything written later; each addressed as its details say.
    assert_eq!(read(Viewer::Provider).await, vec![ids[1], ids[0]]);
    assert_eq!(read(Viewer::Partner(first)).await, vec![ids[1], ids[0]]);
    assert_eq!(read(Viewer::Partner(second)).await, vec![ids[0]]);
    let later = audit::record(
        db.writer(),
        &AuditActor::default(),
        NewEvent {
            action: "customer.support_partner_added",
            subject_type: "customer",
            subject_id: customer.to_string(),
            customer_id: Some(customer),
            case_id: None,
            details: json!({"partner_domain": "second.example"}),
            audience: vec![second],
        },
        now,
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        seen = read(Viewer::Partner(second)).await;
        if seen.len() == 2 {
            break;
        }
        // On PostgreSQL another test's transaction may hold the feed back a moment.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, vec![ids[0], later]);
}
