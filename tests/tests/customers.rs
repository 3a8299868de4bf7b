//! Customers: the reseller's and support partner's view, reseller access, support partners,
//! transfers, the customer's own view, and realm boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_tests::{Session, TestApp, spawn_app};
use serde_json::json;

fn ids(res: &casebridge_tests::Response) -> Vec<String> {
    res.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn customer_of(app: &TestApp, provider: &Session, name: &str, reseller: &str) -> String {
    app.domain_admin(provider, name, "customer").await;
    app.create_customer(provider, name, name, reseller, "standard")
        .await
}

#[tokio::test]
async fn a_reseller_sees_exactly_its_customers_and_its_support_partner_customers_paginated() {
    let app = spawn_app().await;
    let w = app.world().await;
    let mut mine = vec![w.customer_id.clone()];
    for i in 0..3 {
        mine.push(
            customer_of(
                &app,
                &w.provider,
                &format!("c{i}.example"),
                "reseller.example",
            )
            .await,
        );
    }
    let theirs = customer_of(
        &app,
        &w.provider,
        "theirs.example",
        "other-reseller.example",
    )
    .await;
    // The other reseller's customer takes our domain on as its support partner.
    let supported_admin = app
        .sign_in(
            "theirs.example",
            "admin@theirs.example",
            casebridge_tests::PASSWORD,
        )
        .await;
    app.add_support_partner(&supported_admin, "reseller.example")
        .await;
    mine.push(theirs.clone());
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let res = app
            .get_as(
                &w.reseller,
                &format!("/v1/customers?page_size=2&page_token={token}"),
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.body["total_size"], 5);
        assert!(res.body["customers"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&res));
        token = res.body["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    let mut expected = mine.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected);
    let all = app.get_as(&w.reseller, "/v1/customers?page_size=100").await;
    let relationship = |id: &str| {
        all.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["relationship"].clone())
            .unwrap()
    };
    assert_eq!(relationship(&w.customer_id), "reseller");
    assert_eq!(relationship(&theirs), "support_partner");
    // The other reseller sees only its own.
    let other = app.get_as(&w.other_reseller, "/v1/customers").await;
    assert_eq!(ids(&other), vec![theirs]);
}

#[tokio::test]
async fn a_customer_item_carries_the_contract_s_fields() {
    let app = spawn_app().await;
    let w = app.world().await;
    let res = app
        .get_as(&w.reseller, &format!("/v1/customers/{}", w.customer_id))
        .await;
    res.assert_status(200);
    let c = &res.body;
    assert_eq!(c["name"], "Acme Corporation");
    assert_eq!(c["domain"], "acme.example");
    assert_eq!(c["relationship"], "reseller");
    assert_eq!(c["reseller_access"], "granted");
    assert_eq!(c["support_tier"], "premium");
    assert_eq!(c["postal_address"]["country_code"], "US");
    assert_eq!(c["contact"]["email"], "it@acme.example");
    assert!(c["managed_since"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn another_domain_s_customer_is_404() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}", w.customer_id);
    app.get_as(&w.other_reseller, &path)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&w.partner, &path)
        .await
        .assert_problem(404, "not_found");
    app.get_as(
        &w.reseller,
        "/v1/customers/0193a5c0-0000-7000-8000-00000000ffff",
    )
    .await
    .assert_problem(404, "not_found");
    app.get_as(&w.reseller, "/v1/customers/not-an-id")
        .await
        .assert_problem(400, "invalid_path_parameter");
}

#[tokio::test]
async fn revoking_reseller_access_shows_at_once_and_granting_it_back_restores_it() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}", w.customer_id);
    assert_eq!(
        app.get_as(&w.reseller, &path).await.body["reseller_access"],
        "granted"
    );
    app.set_reseller_access(&w.customer_admin, false).await;
    assert_eq!(
        app.get_as(&w.reseller, &path).await.body["reseller_access"],
        "revoked"
    );
    let listed = app.get_as(&w.reseller, "/v1/customers").await;
    assert_eq!(listed.body["customers"][0]["reseller_access"], "revoked");
    app.set_reseller_access(&w.customer_admin, true).await;
    assert_eq!(
        app.get_as(&w.reseller, &path).await.body["reseller_access"],
        "granted"
    );
    let view = app
        .get_as(&w.customer_admin, "/v1/customer/reseller-access")
        .await;
    assert_eq!(view.body["granted"], true);
    assert_eq!(view.body["reseller_domain"], "reseller.example");
}

#[tokio::test]
async fn a_support_partner_is_active_at_once_and_ending_it_removes_the_customer_from_view() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}", w.customer_id);
    app.get_as(&w.partner, &path)
        .await
        .assert_problem(404, "not_found");
    app.add_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    let seen = app.get_as(&w.partner, &path).await;
    seen.assert_status(200);
    assert_eq!(seen.body["relationship"], "support_partner");
    let listed = app
        .get_as(&w.customer_admin, "/v1/customer/support-partners")
        .await;
    assert_eq!(
        listed.body["support_partners"][0]["partner_domain"],
        "helpdesk.example"
    );
    assert_eq!(listed.body["total_size"], 1);
    app.post_as(
        &w.customer_admin,
        "/v1/customer/support-partners",
        json!({"partner_domain": "helpdesk.example"}),
    )
    .await
    .assert_problem(409, "support_partner_exists");
    app.remove_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    app.get_as(&w.partner, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&w.partner, "/v1/customers").await.body["total_size"],
        0
    );
    app.api
        .delete("/v1/customer/support-partners/helpdesk.example")
        .token(&w.customer_admin.token)
        .send()
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_support_partner_must_be_an_existing_reseller_domain_other_than_the_reseller() {
    let app = spawn_app().await;
    let w = app.world().await;
    for (domain, status, code) in [
        ("nowhere.example", 422, "invalid_request"),
        ("acme.example", 422, "invalid_request"),
        ("not a domain", 422, "invalid_request"),
        ("reseller.example", 409, "support_partner_is_reseller"),
    ] {
        app.post_as(
            &w.customer_admin,
            "/v1/customer/support-partners",
            json!({ "partner_domain": domain }),
        )
        .await
        .assert_problem(status, code);
    }
}

#[tokio::test]
async fn after_a_transfer_the_old_reseller_no_longer_sees_the_customer_and_the_new_one_does() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}", w.customer_id);
    let moved = app
        .post_as(
            &w.provider,
            &format!("/v1/provider/customers/{}/transfer", w.customer_id),
            json!({"to_reseller_domain": "other-reseller.example"}),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["reseller_domain"], "other-reseller.example");
    // The new reseller needs the customer's authorisation afresh.
    assert_eq!(moved.body["reseller_access"], "revoked");
    let history = moved.body["reseller_history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["reseller_domain"], "reseller.example");
    assert!(history[0]["end_time"].is_string());
    assert_eq!(history[1]["reseller_domain"], "other-reseller.example");
    assert!(history[1].get("end_time").is_none());
    app.get_as(&w.reseller, &path)
        .await
        .assert_problem(404, "not_found");
    let seen = app.get_as(&w.other_reseller, &path).await;
    seen.assert_status(200);
    assert_eq!(seen.body["relationship"], "reseller");
    app.post_as(
        &w.provider,
        &format!("/v1/provider/customers/{}/transfer", w.customer_id),
        json!({"to_reseller_domain": "other-reseller.example"}),
    )
    .await
    .assert_problem(409, "transfer_to_same_reseller");
}

#[tokio::test]
async fn customer_realm_endpoints_refuse_reseller_and_provider_tokens_and_vice_versa() {
    let app = spawn_app().await;
    let w = app.world().await;
    for who in [&w.reseller, &w.provider] {
        app.get_as(who, "/v1/customer/reseller-access")
            .await
            .assert_problem(403, "wrong_realm");
        app.get_as(who, "/v1/customer/support-partners")
            .await
            .assert_problem(403, "wrong_realm");
    }
    app.get_as(&w.customer_admin, "/v1/customers")
        .await
        .assert_problem(403, "wrong_realm");
    app.get_as(&w.provider, "/v1/customers")
        .await
        .assert_problem(403, "wrong_realm");
    app.post_as(&w.customer_admin, "/v1/provider/customers", json!({}))
        .await
        .assert_status(403);
    // Inside the customer realm, only its super admin decides.
    let user = app.user_with_roles(&w.customer_admin, "staff", &[]).await;
    app.get_as(&user, "/v1/customer/reseller-access")
        .await
        .assert_problem(403, "super_admin_required");
}

#[tokio::test]
async fn a_reseller_user_without_portal_access_gets_403_naming_what_is_missing() {
    let app = spawn_app().await;
    let w = app.world().await;
    let viewer = app
        .custom_role(&w.reseller, "Viewer", &["view_customers"])
        .await;
    let user = app.user_with_roles(&w.reseller, "vic", &[&viewer]).await;
    let res = app.get_as(&user, "/v1/customers").await;
    res.assert_problem(403, "portal_access_required");
    assert_eq!(
        res.body["missing_privileges"],
        json!(["support", "access_customer_support_cases"])
    );
    assert_eq!(res.body["support_reference"], "177584086");
    assert!(res.body["detail"].as_str().unwrap().contains("177584086"));
    // /v1/me still answers.
    app.get_as(&user, "/v1/me").await.assert_status(200);
}

#[tokio::test]
async fn reseller_admin_a_custom_role_of_the_three_privileges_or_a_legacy_privilege_open_the_portal()
 {
    let app = spawn_app().await;
    let w = app.world().await;
    let three = app
        .custom_role(
            &w.reseller,
            "Three",
            &["support", "view_customers", "access_customer_support_cases"],
        )
        .await;
    let legacy_a = app
        .custom_role(
            &w.reseller,
            "LegacyA",
            &["legacy_reseller_enterprise_support"],
        )
        .await;
    let legacy_b = app
        .custom_role(&w.reseller, "LegacyB", &["legacy_enterprise_support"])
        .await;
    for (name, role) in [
        ("ra", "reseller_admin"),
        ("three", three.as_str()),
        ("la", legacy_a.as_str()),
        ("lb", legacy_b.as_str()),
    ] {
        let user = app.user_with_roles(&w.reseller, name, &[role]).await;
        let res = app.get_as(&user, "/v1/customers").await;
        res.assert_status(200);
        assert_eq!(res.body["total_size"], 1, "{name}");
    }
}

#[tokio::test]
async fn the_provider_records_updates_and_lists_customers_and_the_audit_trail_keeps_it_all() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/provider/customers/{}", w.customer_id);
    let updated = app
        .api
        .patch(&path)
        .token(&w.provider.token)
        .json(&json!({"support_tier": "enhanced", "name": "Acme Corp"}))
        .send()
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["support_tier"], "enhanced");
    assert_eq!(updated.body["name"], "Acme Corp");
    let listed = app
        .get_as(&w.provider, "/v1/provider/customers?q=acme")
        .await;
    assert_eq!(listed.body["total_size"], 1);
    let none = app
        .get_as(&w.provider, "/v1/provider/customers?q=zzz")
        .await;
    assert_eq!(none.body["total_size"], 0);
    // A customer of a domain that already has one.
    let again = app
        .post_as(
            &w.provider,
            "/v1/provider/customers",
            json!({
                "name": "Acme again", "domain": "acme.example", "reseller_domain": "reseller.example",
                "support_tier": "standard",
                "postal_address": {"lines": ["x"], "locality": "y", "country_code": "US"},
                "contact": {"name": "n", "email": "n@acme.example"}
            }),
        )
        .await;
    again.assert_problem(409, "customer_exists");
    let wrong_realm = app
        .post_as(
            &w.provider,
            "/v1/provider/customers",
            json!({
                "name": "X", "domain": "reseller.example", "reseller_domain": "acme.example",
                "support_tier": "standard",
                "postal_address": {"lines": ["x"], "locality": "y", "country_code": "US"},
                "contact": {"name": "n", "email": "n@x.example"}
            }),
        )
        .await;
    wrong_realm.assert_problem(422, "invalid_request");
    assert_eq!(
        wrong_realm.body["errors"][0]["code"],
        "not_a_customer_domain"
    );
    let invalid = app
        .post_as(
            &w.provider,
            "/v1/provider/customers",
            json!({
                "name": "", "domain": "new.example", "reseller_domain": "reseller.example",
                "support_tier": "gold",
                "postal_address": {"lines": [], "locality": "y", "country_code": "USA"},
                "contact": {"name": "n", "email": "not-an-email"}
            }),
        )
        .await;
    invalid.assert_problem(422, "invalid_request");
    assert_eq!(invalid.body["errors"][0]["field"], "support_tier");
    // The audit trail, read directly: who did what, when.
    // The application's own handle: SQLite admits no second process on its file.
    let db = app.db.clone();
    let events = casebridge_persistence::repo::audit::customer_events(
        db.reader(),
        w.customer_id.parse().unwrap(),
    )
    .await
    .unwrap();
    let actions: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.actor.email.as_deref()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("customer.created", Some("admin@support.casebridge.test")),
            (
                "customer.reseller_access_granted",
                Some("admin@acme.example")
            ),
            ("customer.updated", Some("admin@support.casebridge.test")),
        ]
    );
}
