//! Cases: the reseller's whole story, tenants, idempotency, preconditions, personal data,
//! pagination, support's work and the customer's view.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_tests::{BOUNCED, TestApp, case_body, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn the_whole_reseller_story_runs_end_to_end() {
    let app = spawn_app().await;
    let w = app.world().await;
    // Sign in (the world did), find the customer.
    let found = app.get_as(&w.reseller, "/v1/customers?q=acme").await;
    let customer_id = found.body["customers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(customer_id, w.customer_id);
    // Pick a category by keyword and read its questions.
    let categories = app
        .get_as(&w.reseller, "/v1/case-classifications?q=bounce")
        .await;
    categories.assert_status(200);
    let category = &categories.body["case_classifications"][0];
    assert_eq!(
        category["display_name"],
        "Gmail > Mail delivery > Messages bounced"
    );
    let required: Vec<&str> = category["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["required"] == true)
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(required, vec!["bounce_message", "affected_users_count"]);
    // File a case with severity, language, time zone and subscribers.
    let filed = app
        .try_file_case(
            &w.reseller,
            &customer_id,
            case_body("Mail to partner bounces"),
        )
        .await;
    filed.assert_status(201);
    let case = filed.body.clone();
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(filed.header("location"), Some(format!("/v1/cases/{id}")));
    assert!(filed.header("etag").is_some());
    assert_eq!(case["status"], "new");
    assert_eq!(case["severity"], "P2");
    assert_eq!(case["language_code"], "en-GB");
    assert_eq!(case["time_zone"], "Europe/London");
    assert_eq!(case["subscriber_emails"], json!(["it-lead@acme.example"]));
    assert_eq!(case["creator"]["email"], "admin@reseller.example");
    assert_eq!(case["creator"]["domain"], "reseller.example");
    assert_eq!(case["reseller_domain"], "reseller.example");
    assert_eq!(
        case["classification"]["display_name"],
        "Gmail > Mail delivery > Messages bounced"
    );
    assert_eq!(case["escalated"], false);
    assert!(case["case_number"].as_i64().unwrap() >= 1);
    // The 201 answers the case exactly as reading it does (the filing reads it back from its
    // own INSERT), version tag included.
    let read = app.get_as(&w.reseller, &format!("/v1/cases/{id}")).await;
    read.assert_status(200);
    assert_eq!(read.body, case);
    assert_eq!(read.header("etag"), filed.header("etag"));
    // It is at the top of My cases at once.
    let older = app
        .file_case(&w.reseller, &customer_id, "An older question")
        .await;
    let newest = app
        .file_case(&w.reseller, &customer_id, "Calendar sync")
        .await;
    let mine = app.get_as(&w.reseller, "/v1/cases").await;
    assert_eq!(TestApp::case_ids(&mine)[0], newest["id"].as_str().unwrap());
    assert_eq!(mine.body["total_size"], 3);
    // Filter it by keyword, status and severity.
    let by_keyword = app.get_as(&w.reseller, "/v1/cases?q=mail%20partner").await;
    assert_eq!(TestApp::case_ids(&by_keyword), vec![id.clone()]);
    let by_prefix = app.get_as(&w.reseller, "/v1/cases?q=bounc").await;
    assert_eq!(
        by_prefix.body["total_size"], 3,
        "the description of all three mentions bounces"
    );
    let by_status = app
        .get_as(&w.reseller, "/v1/cases?status=new&severity=P2")
        .await;
    assert_eq!(by_status.body["total_size"], 3);
    let none = app.get_as(&w.reseller, "/v1/cases?severity=P1").await;
    assert_eq!(none.body["total_size"], 0);
    // Change its severity.
    let path = format!("/v1/cases/{id}");
    let changed = app
        .api
        .patch(&path)
        .token(&w.reseller.token)
        .json(&json!({"severity": "P1"}))
        .send()
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["severity"], "P1");
    let by_severity = app.get_as(&w.reseller, "/v1/cases?severity=P1").await;
    assert_eq!(TestApp::case_ids(&by_severity), vec![id.clone()]);
    let ordered = app.get_as(&w.reseller, "/v1/cases?order_by=severity").await;
    assert_eq!(TestApp::case_ids(&ordered)[0], id);
    // Comment.
    let comment = app
        .post_as(
            &w.reseller,
            &format!("{path}/comments"),
            json!({"body": "The MX still refuses our mail after the DNS change."}),
        )
        .await;
    comment.assert_status(201);
    let by_comment = app.get_as(&w.reseller, "/v1/cases?q=refuses").await;
    assert_eq!(TestApp::case_ids(&by_comment), vec![id.clone()]);
    let history = app.get_as(&w.reseller, &format!("{path}/comments")).await;
    assert_eq!(history.body["comments"][0]["author"]["party"], "partner");
    // Escalate it: a premium customer.
    let escalated = app
        .post_as(
            &w.reseller,
            &format!("{path}/escalate"),
            json!({"reason": "business_impact", "justification": "The whole sales team cannot mail customers."}),
        )
        .await;
    escalated.assert_status(200);
    assert_eq!(escalated.body["escalated"], true);
    assert_eq!(escalated.body["escalation"]["reason"], "business_impact");
    app.post_as(
        &w.reseller,
        &format!("{path}/escalate"),
        json!({"reason": "resolution_time", "justification": "Again"}),
    )
    .await
    .assert_problem(409, "already_escalated");
    // Close it, reopen it.
    let closed = app
        .post_as(&w.reseller, &format!("{path}/close"), json!({}))
        .await;
    closed.assert_status(200);
    assert_eq!(closed.body["status"], "closed");
    assert!(closed.body["close_time"].is_string());
    let open_only = app.get_as(&w.reseller, "/v1/cases?status=open").await;
    assert!(!TestApp::case_ids(&open_only).contains(&id));
    let reopened = app
        .post_as(&w.reseller, &format!("{path}/reopen"), json!({}))
        .await;
    reopened.assert_status(200);
    assert_eq!(reopened.body["status"], "in_progress_support");
    // Close again and be refused a reopen 31 days later.
    app.post_as(&w.reseller, &format!("{path}/close"), json!({}))
        .await
        .assert_status(200);
    app.clock.advance(time::Duration::days(31));
    let fresh = app
        .sign_in(
            "reseller.example",
            "admin@reseller.example",
            casebridge_tests::PASSWORD,
        )
        .await;
    app.post_as(&fresh, &format!("{path}/reopen"), json!({}))
        .await
        .assert_problem(409, "reopen_window_expired");
    // A follow-up is filed instead.
    let mut follow_up = case_body("Mail still bounces");
    follow_up["follow_up_of"] = json!(id);
    let followed = app.try_file_case(&fresh, &customer_id, follow_up).await;
    followed.assert_status(201);
    assert_eq!(followed.body["follow_up_of"], json!(id));
    // The timeline tells the story.
    let events = app
        .get_as(&fresh, &format!("{path}/events?page_size=100"))
        .await;
    let actions: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "case.created",
            "case.updated",
            "case.commented",
            "case.escalated",
            "case.closed",
            "case.reopened",
            "case.closed"
        ]
    );
    assert_eq!(
        events.body["events"][0]["actor"]["domain"],
        "reseller.example"
    );
    let _ = older;
}

#[tokio::test]
async fn escalation_is_refused_for_a_standard_support_customer() {
    let app = spawn_app().await;
    let w = app.world_with_tier("standard").await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Slow calendar")
        .await;
    app.post_as(
        &w.reseller,
        &format!("/v1/cases/{}/escalate", case["id"].as_str().unwrap()),
        json!({"reason": "resolution_time", "justification": "It has been a week."}),
    )
    .await
    .assert_problem(403, "escalation_requires_premium_support");
}

#[tokio::test]
async fn filing_needs_the_customer_s_authorisation_and_its_management() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.set_reseller_access(&w.customer_admin, false).await;
    app.try_file_case(&w.reseller, &w.customer_id, case_body("x"))
        .await
        .assert_problem(403, "reseller_access_not_granted");
    app.try_file_case(&w.other_reseller, &w.customer_id, case_body("x"))
        .await
        .assert_problem(404, "not_found");
    app.set_reseller_access(&w.customer_admin, true).await;
    app.try_file_case(&w.reseller, &w.customer_id, case_body("x"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn required_answers_languages_time_zones_and_categories_are_checked() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut missing = case_body("x");
    missing["answers"] = json!({"bounce_message": "550"});
    let res = app
        .try_file_case(&w.reseller, &w.customer_id, missing)
        .await;
    res.assert_problem(422, "required_answer_missing");
    assert_eq!(
        res.body["errors"][0]["field"],
        "answers.affected_users_count"
    );
    let mut bad = case_body("");
    bad["language_code"] = json!("english please");
    bad["time_zone"] = json!("Mars/Olympus");
    let res = app.try_file_case(&w.reseller, &w.customer_id, bad).await;
    res.assert_problem(422, "invalid_request");
    let fields: Vec<&str> = res.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["title", "language_code", "time_zone"]);
    let mut unknown = case_body("x");
    unknown["classification_id"] = json!("0193a5c0-0000-7000-8000-0000000fffff");
    app.try_file_case(&w.reseller, &w.customer_id, unknown)
        .await
        .assert_problem(422, "invalid_request");
    let mut severity = case_body("x");
    severity["severity"] = json!("P9");
    let res = app
        .try_file_case(&w.reseller, &w.customer_id, severity)
        .await;
    res.assert_problem(422, "invalid_request");
    assert_eq!(res.body["errors"][0]["field"], "severity");
}

#[tokio::test]
async fn personal_data_in_any_free_text_field_is_refused_naming_field_and_kind() {
    let app = spawn_app().await;
    let w = app.world().await;
    let cases = [
        (
            "title",
            json!("Call +44 20 7946 0958 about this"),
            "phone_number",
        ),
        (
            "description",
            json!("Card 4111 1111 1111 1111 was charged twice"),
            "payment_card_number",
        ),
    ];
    for (field, value, kind) in cases {
        let mut body = case_body("x");
        body[field] = value;
        let res = app.try_file_case(&w.reseller, &w.customer_id, body).await;
        res.assert_problem(422, "pii_detected");
        assert_eq!(res.body["errors"][0]["field"], field);
        assert_eq!(res.body["errors"][0]["code"], kind);
        assert!(!res.text().contains("4111"));
    }
    let mut answer = case_body("x");
    answer["answers"]["bounce_message"] = json!("bounce for jane.doe@example.org, SSN 123-45-6789");
    let res = app.try_file_case(&w.reseller, &w.customer_id, answer).await;
    res.assert_problem(422, "pii_detected");
    let kinds: Vec<(&str, &str)> = res.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("answers.bounce_message", "national_id_number"),
            ("answers.bounce_message", "email_address")
        ]
    );
    // Comments too.
    let case = app.file_case(&w.reseller, &w.customer_id, "fine").await;
    let res = app
        .post_as(
            &w.reseller,
            &format!("/v1/cases/{}/comments", case["id"].as_str().unwrap()),
            json!({"body": "reach me on (415) 555-2671"}),
        )
        .await;
    res.assert_problem(422, "pii_detected");
    assert_eq!(res.body["errors"][0]["field"], "body");
}

#[tokio::test]
async fn ordinary_technical_text_is_accepted() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut body = case_body("Case 100234 follow-up: 550 5.7.1 since v2.3.1 rollout");
    body["description"] = json!(
        "Since 2024-03-15T10:22:01Z mail from 192.168.10.254 and 2001:db8::1 fails with \
         Error 0x80070005 and HTTP 503; Chrome 120.0.6099.109 shows 421-4.7.0. \
         Message-ID <CAFoo1234567890abcdef@mail.gmail.com>. Ask it-lead@acme.example or postmaster@acme.example."
    );
    app.try_file_case(&w.reseller, &w.customer_id, body)
        .await
        .assert_status(201);
}

#[tokio::test]
async fn tenants_lose_sight_of_a_case_exactly_as_the_contract_says() {
    let app = spawn_app().await;
    let w = app.world().await;
    app.add_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Shared drive access")
        .await;
    let path = format!("/v1/cases/{}", case["id"].as_str().unwrap());
    // Another reseller domain never sees it.
    app.get_as(&w.other_reseller, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&w.other_reseller, "/v1/cases").await.body["total_size"],
        0
    );
    // The support partner sees it; the customer sees what its partner filed.
    app.get_as(&w.partner, &path).await.assert_status(200);
    let own = app.get_as(&w.customer_admin, "/v1/customer/cases").await;
    assert_eq!(
        TestApp::case_ids(&own),
        vec![case["id"].as_str().unwrap().to_owned()]
    );
    app.get_as(&w.customer_admin, &path)
        .await
        .assert_status(200);
    // Revoked reseller access: the reseller loses it, the support partner keeps it.
    app.set_reseller_access(&w.customer_admin, false).await;
    app.get_as(&w.reseller, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&w.reseller, "/v1/cases").await.body["total_size"],
        0
    );
    app.get_as(&w.partner, &path).await.assert_status(200);
    app.set_reseller_access(&w.customer_admin, true).await;
    app.get_as(&w.reseller, &path).await.assert_status(200);
    // An ended support partnership: the partner loses it.
    app.remove_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    app.get_as(&w.partner, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&w.partner, "/v1/cases").await.body["total_size"],
        0
    );
    // A transfer: neither the old nor the new reseller sees the earlier case.
    app.post_as(
        &w.provider,
        &format!("/v1/provider/customers/{}/transfer", w.customer_id),
        json!({"to_reseller_domain": "other-reseller.example"}),
    )
    .await
    .assert_status(200);
    app.set_reseller_access(&w.customer_admin, true).await;
    app.get_as(&w.reseller, &path)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&w.other_reseller, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&w.other_reseller, "/v1/cases").await.body["total_size"],
        0
    );
    // The new reseller files new cases and sees those.
    let newer = app
        .file_case(&w.other_reseller, &w.customer_id, "After the move")
        .await;
    let theirs = app.get_as(&w.other_reseller, "/v1/cases").await;
    assert_eq!(
        TestApp::case_ids(&theirs),
        vec![newer["id"].as_str().unwrap().to_owned()]
    );
    // The customer still sees both.
    assert_eq!(
        app.get_as(&w.customer_admin, "/v1/customer/cases")
            .await
            .body["total_size"],
        2
    );
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_same_case_and_a_reused_key_with_another_body_is_409() {
    let app = spawn_app().await;
    let w = app.world().await;
    let send = |body: Value, key: &'static str| {
        app.api
            .post(&format!("/v1/customers/{}/cases", w.customer_id))
            .token(&w.reseller.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send(case_body("Once only"), "key-1").await;
    first.assert_status(201);
    let retry = send(case_body("Once only"), "key-1").await;
    retry.assert_status(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(
        app.get_as(&w.reseller, "/v1/cases").await.body["total_size"],
        1
    );
    send(case_body("Something else"), "key-1")
        .await
        .assert_problem(409, "idempotency_key_reused");
    // Another user's same key is another key.
    let colleague = app
        .user_with_roles(&w.reseller, "colleague", &["reseller_admin"])
        .await;
    app.api
        .post(&format!("/v1/customers/{}/cases", w.customer_id))
        .token(&colleague.token)
        .header("idempotency-key", "key-1")
        .json(&case_body("Once only"))
        .send()
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_a_current_one_succeeds() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Drive quota")
        .await;
    let path = format!("/v1/cases/{}", case["id"].as_str().unwrap());
    let read = app.get_as(&w.reseller, &path).await;
    let etag = read.header("etag").unwrap();
    let changed = app
        .api
        .patch(&path)
        .token(&w.reseller.token)
        .header("if-match", &etag)
        .json(&json!({"title": "Drive quota exceeded"}))
        .send()
        .await;
    changed.assert_status(200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    app.api
        .patch(&path)
        .token(&w.reseller.token)
        .header("if-match", &etag)
        .json(&json!({"severity": "P4"}))
        .send()
        .await
        .assert_problem(412, "precondition_failed");
    app.api
        .post(&format!("{path}/close"))
        .token(&w.reseller.token)
        .header("if-match", &etag)
        .send()
        .await
        .assert_problem(412, "precondition_failed");
    // Something that is no entity tag matches nothing: the precondition fails.
    for malformed in ["null", "7", "\"7", "W/7"] {
        app.api
            .post(&format!("{path}/close"))
            .token(&w.reseller.token)
            .header("if-match", malformed)
            .send()
            .await
            .assert_problem(412, "precondition_failed");
    }
}

#[tokio::test]
async fn a_page_token_reused_with_other_filters_is_400() {
    let app = spawn_app().await;
    let w = app.world().await;
    for i in 0..3 {
        app.file_case(&w.reseller, &w.customer_id, &format!("case {i}"))
            .await;
    }
    let first = app
        .get_as(&w.reseller, "/v1/cases?page_size=1&status=open")
        .await;
    let token = first.body["next_page_token"].as_str().unwrap().to_owned();
    app.get_as(
        &w.reseller,
        &format!("/v1/cases?page_size=1&status=open&page_token={token}"),
    )
    .await
    .assert_status(200);
    app.get_as(
        &w.reseller,
        &format!("/v1/cases?page_size=1&status=closed&page_token={token}"),
    )
    .await
    .assert_problem(400, "invalid_page_token");
    app.get_as(
        &w.partner,
        &format!("/v1/cases?page_size=1&status=open&page_token={token}"),
    )
    .await
    .assert_problem(400, "invalid_page_token");
    app.get_as(&w.reseller, "/v1/cases?status=sleeping")
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get_as(&w.reseller, "/v1/cases?order_by=title")
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get_as(&w.reseller, "/v1/cases?updated_after=yesterday")
        .await
        .assert_problem(400, "invalid_query_parameter");
}

#[tokio::test]
async fn pagination_returns_every_case_exactly_once_while_cases_are_being_added() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut existing = Vec::new();
    for i in 0..7 {
        let c = app
            .file_case(&w.reseller, &w.customer_id, &format!("case {i}"))
            .await;
        existing.push(c["id"].as_str().unwrap().to_owned());
    }
    for order in ["update_time%20desc", "create_time%20desc", "severity"] {
        let mut seen: Vec<String> = Vec::new();
        let mut token = String::new();
        let mut added = 0;
        loop {
            let page = app
                .get_as(
                    &w.reseller,
                    &format!("/v1/cases?page_size=2&order_by={order}&page_token={token}"),
                )
                .await;
            page.assert_status(200);
            seen.extend(TestApp::case_ids(&page));
            // Someone files a case between every two pages.
            app.file_case(
                &w.reseller,
                &w.customer_id,
                &format!("added {order} {added}"),
            )
            .await;
            added += 1;
            token = page.body["next_page_token"].as_str().unwrap().to_owned();
            if token.is_empty() {
                break;
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{order}: a case was returned twice"
        );
        for id in &existing {
            assert!(seen.contains(id), "{order}: {id} was never returned");
        }
        existing = unique;
    }
}

#[tokio::test]
async fn support_moves_cases_through_their_working_states_replies_and_deescalates() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Meet drops calls")
        .await;
    let id = case["id"].as_str().unwrap();
    let all = app.get_as(&w.provider, "/v1/provider/cases").await;
    assert_eq!(TestApp::case_ids(&all), vec![id.to_owned()]);
    let state_path = format!("/v1/provider/cases/{id}/state");
    let state = |status: &str| app.post_as(&w.provider, &state_path, json!({"status": status}));
    state("in_progress_support").await.assert_status(200);
    state("action_required").await.assert_status(200);
    state("closed")
        .await
        .assert_problem(403, "action_not_allowed");
    state("new")
        .await
        .assert_problem(409, "invalid_status_transition");
    let reply = app
        .post_as(
            &w.provider,
            &format!("/v1/provider/cases/{id}/comments"),
            json!({"body": "Please send the meeting code."}),
        )
        .await;
    reply.assert_status(201);
    assert_eq!(reply.body["author"]["party"], "support");
    // The partner answers: the case goes back to support.
    app.post_as(
        &w.reseller,
        &format!("/v1/cases/{id}/comments"),
        json!({"body": "Meeting code abc-defg-hij."}),
    )
    .await
    .assert_status(201);
    let now = app.get_as(&w.reseller, &format!("/v1/cases/{id}")).await;
    assert_eq!(now.body["status"], "in_progress_support");
    app.post_as(
        &w.reseller,
        &format!("/v1/cases/{id}/escalate"),
        json!({"reason": "technical_expertise", "justification": "Needs a Meet specialist."}),
    )
    .await
    .assert_status(200);
    let calm = app
        .post_as(
            &w.provider,
            &format!("/v1/provider/cases/{id}/deescalate"),
            json!({}),
        )
        .await;
    calm.assert_status(200);
    assert_eq!(calm.body["escalated"], false);
    app.post_as(
        &w.provider,
        &format!("/v1/provider/cases/{id}/deescalate"),
        json!({}),
    )
    .await
    .assert_problem(409, "not_escalated");
    // Partners do not use support's endpoints, and support does not close.
    app.post_as(
        &w.reseller,
        &format!("/v1/provider/cases/{id}/state"),
        json!({"status": "solution_offered"}),
    )
    .await
    .assert_problem(403, "wrong_realm");
    app.post_as(&w.provider, &format!("/v1/cases/{id}/close"), json!({}))
        .await
        .assert_problem(403, "action_not_allowed");
}

#[tokio::test]
async fn the_customer_closes_and_reopens_the_cases_its_partner_filed() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Vault export")
        .await;
    let id = case["id"].as_str().unwrap();
    app.post_as(
        &w.customer_admin,
        &format!("/v1/cases/{id}/close"),
        json!({}),
    )
    .await
    .assert_status(200);
    app.post_as(
        &w.customer_admin,
        &format!("/v1/cases/{id}/reopen"),
        json!({}),
    )
    .await
    .assert_status(200);
    let listed = app
        .get_as(&w.customer_admin, "/v1/customer/cases?status=open")
        .await;
    assert_eq!(listed.body["total_size"], 1);
    // Customer realm users without support privilege have no portal access.
    let staff = app.user_with_roles(&w.customer_admin, "staff", &[]).await;
    app.get_as(&staff, "/v1/customer/cases")
        .await
        .assert_problem(403, "portal_access_required");
}

#[tokio::test]
async fn the_classification_catalogue_is_searchable_and_paged() {
    let app = spawn_app().await;
    let w = app.world().await;
    let all = app
        .get_as(&w.reseller, "/v1/case-classifications?page_size=100")
        .await;
    let total = all.body["total_size"].as_u64().unwrap();
    assert!(total >= 40, "{total}");
    let first = app
        .get_as(&w.reseller, "/v1/case-classifications?page_size=10")
        .await;
    assert_eq!(
        first.body["case_classifications"].as_array().unwrap().len(),
        10
    );
    assert!(!first.body["next_page_token"].as_str().unwrap().is_empty());
    let sign_in = app
        .get_as(&w.reseller, "/v1/case-classifications?q=cannot%20sign")
        .await;
    assert_eq!(
        sign_in.body["case_classifications"][0]["display_name"],
        "Admin console > Users > Users cannot sign in"
    );
    let bounced = app
        .get_as(&w.reseller, "/v1/case-classifications?q=ndr")
        .await;
    assert_eq!(bounced.body["case_classifications"][0]["id"], BOUNCED);
}

#[tokio::test]
async fn a_closed_case_accepts_no_changes_but_a_thank_you_comment() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Sites URL")
        .await;
    let path = format!("/v1/cases/{}", case["id"].as_str().unwrap());
    app.post_as(&w.reseller, &format!("{path}/close"), json!({}))
        .await
        .assert_status(200);
    app.api
        .patch(&path)
        .token(&w.reseller.token)
        .json(&json!({"severity": "P1"}))
        .send()
        .await
        .assert_problem(409, "case_closed");
    app.post_as(&w.reseller, &format!("{path}/close"), json!({}))
        .await
        .assert_problem(409, "case_closed");
    app.post_as(
        &w.reseller,
        &format!("{path}/comments"),
        json!({"body": "Thanks, all good now."}),
    )
    .await
    .assert_status(201);
    let mut follow = case_body("x");
    follow["follow_up_of"] =
        json!(app.file_case(&w.reseller, &w.customer_id, "open one").await["id"]);
    app.try_file_case(&w.reseller, &w.customer_id, follow)
        .await
        .assert_problem(422, "follow_up_requires_closed_case");
}

/// Whether SQLite's keyword index holds b-trees to merge: a merge, tried and rolled back, that
/// changed more than the row of its own command (FTS5's documented test of work done).
async fn merges_pending(db: &casebridge_persistence::Database) -> bool {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let tx = db.writer().begin().await.unwrap();
    let changes = async |tx: &sea_orm::DatabaseTransaction| -> i64 {
        tx.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT total_changes() AS n",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
    };
    let before = changes(&tx).await;
    tx.execute_unprepared("INSERT INTO case_search (case_search, rank) VALUES ('merge', 1000)")
        .await
        .unwrap();
    let pending = changes(&tx).await - before >= 2;
    tx.rollback().await.unwrap();
    pending
}

#[tokio::test]
async fn the_keyword_index_is_merged_off_the_filings_path_and_finds_the_same_cases() {
    let app = spawn_app().await;
    let w = app.world().await;
    // Filed one after the other: on SQLite each commit adds a b-tree of its own to the index
    // and merges nothing.
    for i in 0..12 {
        app.file_case(&w.reseller, &w.customer_id, &format!("Quota warning {i}"))
            .await;
    }
    let found = app.get_as(&w.reseller, "/v1/cases?q=quota").await;
    assert_eq!(found.body["total_size"], 12);
    if app.backend == casebridge_persistence::Backend::Sqlite {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let automerge = app
            .db
            .reader()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT v FROM case_search_config WHERE k = 'automerge'",
            ))
            .await
            .unwrap()
            .expect("the setting is stored")
            .try_get::<i64>("", "v")
            .unwrap();
        assert_eq!(automerge, 0, "a commit merges nothing");
        // The server merges them in the background, while nobody writes (each second).
        let mut waited = 0;
        while merges_pending(&app.db).await {
            assert!(waited < 100, "the server never merged the keyword index");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
    }
    // Nothing is left to merge, on either engine, and the search finds the same cases.
    assert!(
        !casebridge_persistence::repo::search::merge_index(&app.db, 1000)
            .await
            .unwrap()
    );
    let again = app.get_as(&w.reseller, "/v1/cases?q=quota").await;
    assert_eq!(again.body["total_size"], 12);
    assert_eq!(TestApp::case_ids(&again), TestApp::case_ids(&found));
}
