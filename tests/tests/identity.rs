//! Identity: domain-scoped sign-in, tokens and their revocation, users and roles, portal
//! access, the retired role, throttling and the old support center's redirect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_tests::{PASSWORD, Session, TestApp, spawn_app};
use serde_json::{Value, json};

async fn reseller(app: &TestApp, provider: &Session, name: &str) -> Session {
    app.domain_admin(provider, name, "reseller").await
}

#[tokio::test]
async fn signing_in_yields_a_token_for_one_domain_with_the_contract_s_claims() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    reseller(&app, &provider, "alpha.example").await;
    let res = app
        .try_sign_in("alpha.example", "admin@alpha.example", PASSWORD)
        .await;
    res.assert_status(200);
    assert_eq!(res.body["token_type"], "Bearer");
    assert_eq!(res.body["domain"], "alpha.example");
    assert_eq!(res.body["realm"], "reseller");
    assert_eq!(res.body["expires_in"], 3600);
    let token = res.body["access_token"].as_str().unwrap_or_default();
    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert!(header["kid"].is_string());
    assert_eq!(claims["aud"], "alpha.example");
    assert_eq!(claims["iss"], "casebridge");
    assert_eq!(claims["realm"], "reseller");
    for claim in ["sub", "exp", "iat", "nbf", "jti"] {
        assert!(!claims[claim].is_null(), "{claim} missing");
    }
}

#[tokio::test]
async fn the_same_email_on_two_domains_is_two_accounts() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let a = reseller(&app, &provider, "alpha.example").await;
    let b = reseller(&app, &provider, "beta.example").await;
    // A person with accounts on two domains of one partner: same local part, two sign-ins.
    let on_a = app.user_with_roles(&a, "pat", &["reseller_admin"]).await;
    let on_b = app.user_with_roles(&b, "pat", &["reseller_admin"]).await;
    assert_ne!(on_a.user_id, on_b.user_id);
    // A's credentials do not open B.
    app.try_sign_in("beta.example", "pat@alpha.example", PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn a_token_of_one_domain_gets_404_for_every_resource_of_another() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let a = reseller(&app, &provider, "alpha.example").await;
    let b = reseller(&app, &provider, "beta.example").await;
    let b_user = app.user_with_roles(&b, "bob", &[]).await;
    let b_role = app.custom_role(&b, "Desk", &["support"]).await;
    let user_path = format!("/v1/admin/users/{}", b_user.user_id);
    app.get_as(&a, &user_path)
        .await
        .assert_problem(404, "not_found");
    app.api
        .patch(&user_path)
        .token(&a.token)
        .json(&json!({"suspended": true}))
        .send()
        .await
        .assert_problem(404, "not_found");
    app.api
        .put(&format!("{user_path}/roles"))
        .token(&a.token)
        .json(&json!({"roles": ["reseller_admin"]}))
        .send()
        .await
        .assert_problem(404, "not_found");
    app.api
        .delete(&format!("/v1/admin/roles/{b_role}"))
        .token(&a.token)
        .send()
        .await
        .assert_problem(404, "not_found");
    // Assigning B's role to a user of A: the role does not exist for A.
    let a_user = app.user_with_roles(&a, "amy", &[]).await;
    let res = app
        .api
        .put(&format!("/v1/admin/users/{}/roles", a_user.user_id))
        .token(&a.token)
        .json(&json!({"roles": [b_role]}))
        .send()
        .await;
    res.assert_problem(422, "invalid_request");
    assert_eq!(res.body["errors"][0]["code"], "unknown_role");
    // And A's listing shows only A's users.
    let list = app.get_as(&a, "/v1/admin/users").await;
    let emails: Vec<&str> = list.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, vec!["admin@alpha.example", "amy@alpha.example"]);
}

#[tokio::test]
async fn a_missing_or_malformed_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let res = app.api.get("/v1/me").send().await;
    res.assert_problem(401, "unauthenticated");
    assert!(
        res.header("www-authenticate")
            .unwrap_or_default()
            .starts_with("Bearer")
    );
    app.api
        .get("/v1/me")
        .token("not-a-jwt")
        .send()
        .await
        .assert_problem(401, "unauthenticated");
    app.api
        .get("/v1/me")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_token_stops_working_once_expired() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    app.get_as(&provider, "/v1/me").await.assert_status(200);
    app.clock.advance(time::Duration::hours(2));
    app.get_as(&provider, "/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let parts: Vec<&str> = provider.token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["realm"] = "reseller".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    app.api
        .get("/v1/me")
        .token(&forged)
        .send()
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_refused() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let stranger = casebridge_api::auth::jwt::TokenService::new(
        &[casebridge_api::auth::jwt::SigningKey::generate()],
        "casebridge",
        std::time::Duration::from_secs(600),
    );
    let me = app.get_as(&provider, "/v1/me").await;
    let user: casebridge_domain::UserId = me.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let token = stranger
        .issue(
            user,
            casebridge_tests::PROVIDER_DOMAIN,
            casebridge_domain::Realm::Provider,
            0,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap()
        .token;
    app.api
        .get("/v1/me")
        .token(&token)
        .send()
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn logging_out_revokes_the_presented_token_only() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let other = app
        .sign_in(casebridge_tests::PROVIDER_DOMAIN, &provider.email, PASSWORD)
        .await;
    app.api
        .post("/v1/auth/logout")
        .token(&provider.token)
        .send()
        .await
        .assert_status(204);
    app.get_as(&provider, "/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    // Another tab's token of the same user still works.
    app.get_as(&other, "/v1/me").await.assert_status(200);
}

#[tokio::test]
async fn suspension_password_change_and_role_change_each_end_every_token_of_the_user() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let cases = [
        json!({"suspended": true}),
        json!({"password": "another long passphrase"}),
    ];
    for (i, change) in cases.into_iter().enumerate() {
        let user = app
            .user_with_roles(&admin, &format!("u{i}"), &["reseller_admin"])
            .await;
        app.get_as(&user, "/v1/me").await.assert_status(200);
        app.api
            .patch(&format!("/v1/admin/users/{}", user.user_id))
            .token(&admin.token)
            .json(&change)
            .send()
            .await
            .assert_status(200);
        app.get_as(&user, "/v1/me")
            .await
            .assert_problem(401, "unauthenticated");
    }
    let user = app
        .user_with_roles(&admin, "roles", &["reseller_admin"])
        .await;
    app.api
        .put(&format!("/v1/admin/users/{}/roles", user.user_id))
        .token(&admin.token)
        .json(&json!({"roles": []}))
        .send()
        .await
        .assert_status(200);
    app.get_as(&user, "/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    // The next sign-in carries the new roles.
    let again = app
        .sign_in("alpha.example", "roles@alpha.example", PASSWORD)
        .await;
    let me = app.get_as(&again, "/v1/me").await;
    assert_eq!(me.body["roles"], json!([]));
    assert_eq!(me.body["portal_access"], false);
}

#[tokio::test]
async fn a_suspended_user_cannot_sign_in_and_a_restored_one_can() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let user = app.user_with_roles(&admin, "sam", &[]).await;
    let path = format!("/v1/admin/users/{}", user.user_id);
    let patch = |body: Value| app.api.patch(&path).token(&admin.token).json(&body).send();
    patch(json!({"suspended": true})).await.assert_status(200);
    app.try_sign_in("alpha.example", "sam@alpha.example", PASSWORD)
        .await
        .assert_problem(403, "account_suspended");
    patch(json!({"suspended": false})).await.assert_status(200);
    app.sign_in("alpha.example", "sam@alpha.example", PASSWORD)
        .await;
}

#[tokio::test]
async fn wrong_domain_unknown_user_and_wrong_password_answer_alike() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    reseller(&app, &provider, "alpha.example").await;
    let attempts = [
        ("nowhere.example", "admin@alpha.example", PASSWORD),
        ("alpha.example", "ghost@alpha.example", PASSWORD),
        (
            "alpha.example",
            "admin@alpha.example",
            "wrong password entirely",
        ),
    ];
    let mut bodies = Vec::new();
    for (domain, email, password) in attempts {
        let res = app.try_sign_in(domain, email, password).await;
        res.assert_problem(401, "invalid_credentials");
        bodies.push(res.body.clone());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

#[tokio::test]
async fn repeated_failures_are_throttled_until_the_window_passes() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    reseller(&app, &provider, "alpha.example").await;
    for _ in 0..5 {
        app.try_sign_in("alpha.example", "admin@alpha.example", "not the password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let refused = app
        .try_sign_in("alpha.example", "admin@alpha.example", PASSWORD)
        .await;
    refused.assert_problem(429, "too_many_requests");
    let wait: i64 = refused
        .header("retry-after")
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    assert!(wait > 0 && wait <= 900, "Retry-After {wait}");
    app.clock.advance(time::Duration::seconds(wait + 1));
    app.try_sign_in("alpha.example", "admin@alpha.example", PASSWORD)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn me_tells_roles_privileges_and_portal_access() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let me = app.get_as(&admin, "/v1/me").await;
    me.assert_status(200);
    assert_eq!(me.body["domain"], "alpha.example");
    assert_eq!(me.body["realm"], "reseller");
    assert_eq!(me.body["portal_access"], true);
    assert_eq!(me.body["roles"][0]["id"], "super_admin");
    assert_eq!(me.body["missing_privileges"], json!([]));
    let partial = app.custom_role(&admin, "Viewer", &["view_customers"]).await;
    let user = app.user_with_roles(&admin, "vic", &[&partial]).await;
    let me = app.get_as(&user, "/v1/me").await;
    assert_eq!(me.body["portal_access"], false);
    assert_eq!(
        me.body["missing_privileges"],
        json!(["support", "access_customer_support_cases"])
    );
    assert_eq!(me.body["privileges"], json!(["view_customers"]));
}

#[tokio::test]
async fn assigning_the_retired_support_manager_role_is_422_role_retired() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let user = app.user_with_roles(&admin, "old", &[]).await;
    app.api
        .put(&format!("/v1/admin/users/{}/roles", user.user_id))
        .token(&admin.token)
        .json(&json!({"roles": ["support_manager"]}))
        .send()
        .await
        .assert_problem(422, "role_retired");
}

#[tokio::test]
async fn a_user_still_holding_support_manager_from_an_import_sees_a_notice_and_no_access() {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let created = app
        .post_as(
            &admin,
            "/v1/admin/users",
            json!({"email": "legacy@alpha.example", "display_name": "Legacy", "password": PASSWORD}),
        )
        .await;
    created.assert_status(201);
    let user_id = created.body["id"].as_str().unwrap().to_owned();
    // What an import of the old support center leaves behind.
    // The application's own handle: SQLite admits no second process on its file.
    let db = app.db.clone();
    casebridge_persistence::entities::user_roles::Entity::insert(
        casebridge_persistence::entities::user_roles::ActiveModel {
            user_id: Set(user_id.parse().unwrap()),
            role: Set("support_manager".to_owned()),
            custom_role_id: Set(None),
        },
    )
    .exec_without_returning(db.writer())
    .await
    .unwrap();
    let again = app
        .sign_in("alpha.example", "legacy@alpha.example", PASSWORD)
        .await;
    let me = app.get_as(&again, "/v1/me").await;
    assert_eq!(
        me.body["notices"][0]["code"],
        "support_manager_role_retired"
    );
    assert_eq!(me.body["portal_access"], false);
    assert_eq!(me.body["roles"][0]["retired"], true);
    assert_eq!(me.body["privileges"], json!([]));
}

#[tokio::test]
async fn a_super_admin_on_a_consumer_address_is_422() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let res = app
        .post_as(
            &provider,
            "/v1/provider/domains",
            json!({
                "name": "gamma.example",
                "realm": "reseller",
                "super_admin": {"email": "boss@gmail.com", "display_name": "Boss"}
            }),
        )
        .await;
    res.assert_problem(422, "consumer_account_not_allowed");
}

#[tokio::test]
async fn provisioning_a_domain_returns_its_super_admin_and_a_one_time_password() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let res = app
        .post_as(
            &provider,
            "/v1/provider/domains",
            json!({
                "name": "gamma.example",
                "realm": "customer",
                "super_admin": {"email": "it@gamma.example", "display_name": "IT"}
            }),
        )
        .await;
    res.assert_status(201);
    assert_eq!(res.body["realm"], "customer");
    let otp = res.body["super_admin"]["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed = app
        .try_sign_in("gamma.example", "it@gamma.example", &otp)
        .await;
    signed.assert_status(200);
    assert_eq!(signed.body["must_change_password"], true);
    let again = app
        .post_as(
            &provider,
            "/v1/provider/domains",
            json!({
                "name": "gamma.example",
                "realm": "reseller",
                "super_admin": {"email": "x@gamma.example", "display_name": "X"}
            }),
        )
        .await;
    again.assert_problem(409, "domain_exists");
}

#[tokio::test]
async fn a_one_time_password_is_changed_with_the_current_one() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let created = app
        .post_as(
            &admin,
            "/v1/admin/users",
            json!({"email": "new@alpha.example", "display_name": "New"}),
        )
        .await;
    created.assert_status(201);
    let otp = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = app
        .sign_in("alpha.example", "new@alpha.example", &otp)
        .await;
    app.post_as(
        &session,
        "/v1/me/password",
        json!({"current_password": "wrong one", "new_password": "my own long passphrase"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.post_as(
        &session,
        "/v1/me/password",
        json!({"current_password": otp, "new_password": "my own long passphrase"}),
    )
    .await
    .assert_status(204);
    app.get_as(&session, "/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    let signed = app
        .try_sign_in(
            "alpha.example",
            "new@alpha.example",
            "my own long passphrase",
        )
        .await;
    assert_eq!(signed.body["must_change_password"], false);
}

#[tokio::test]
async fn admin_users_need_an_email_of_the_domain_and_a_policy_password() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    app.post_as(
        &admin,
        "/v1/admin/users",
        json!({"email": "x@beta.example", "display_name": "X"}),
    )
    .await
    .assert_problem(422, "email_domain_mismatch");
    let weak = app
        .post_as(
            &admin,
            "/v1/admin/users",
            json!({"email": "x@alpha.example", "display_name": "X", "password": "short"}),
        )
        .await;
    weak.assert_problem(422, "invalid_request");
    assert_eq!(weak.body["errors"][0]["field"], "password");
    app.user_with_roles(&admin, "dup", &[]).await;
    app.post_as(
        &admin,
        "/v1/admin/users",
        json!({"email": "dup@alpha.example", "display_name": "Dup"}),
    )
    .await
    .assert_problem(409, "user_exists");
}

#[tokio::test]
async fn only_super_admins_administer_the_domain() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let agent = app
        .user_with_roles(&admin, "agent", &["reseller_admin"])
        .await;
    app.get_as(&agent, "/v1/admin/users")
        .await
        .assert_problem(403, "super_admin_required");
    app.post_as(
        &agent,
        "/v1/admin/roles",
        json!({"name": "x", "privileges": []}),
    )
    .await
    .assert_problem(403, "super_admin_required");
    // Provisioning is the provider's.
    app.post_as(
        &admin,
        "/v1/provider/domains",
        json!({"name": "z.example", "realm": "reseller", "super_admin": {"email": "a@z.example", "display_name": "A"}}),
    )
    .await
    .assert_problem(403, "wrong_realm");
}

#[tokio::test]
async fn the_super_admin_sees_who_lacks_portal_access_and_why() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let viewer = app.custom_role(&admin, "Viewer", &["view_customers"]).await;
    let full = app
        .custom_role(
            &admin,
            "Full",
            &["support", "view_customers", "access_customer_support_cases"],
        )
        .await;
    app.user_with_roles(&admin, "a-none", &[]).await;
    app.user_with_roles(&admin, "b-viewer", &[&viewer]).await;
    app.user_with_roles(&admin, "c-full", &[&full]).await;
    app.user_with_roles(&admin, "d-legacy-holder", &["reseller_admin"])
        .await;
    let lacking = app
        .get_as(&admin, "/v1/admin/users?portal_access=false")
        .await;
    lacking.assert_status(200);
    let users = lacking.body["users"].as_array().unwrap();
    let rows: Vec<(&str, &Value)> = users
        .iter()
        .map(|u| (u["email"].as_str().unwrap(), &u["missing_privileges"]))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "a-none@alpha.example",
                &json!(["support", "view_customers", "access_customer_support_cases"])
            ),
            (
                "b-viewer@alpha.example",
                &json!(["support", "access_customer_support_cases"])
            ),
        ]
    );
    assert_eq!(lacking.body["total_size"], 2);
    let having = app
        .get_as(&admin, "/v1/admin/users?portal_access=true")
        .await;
    assert_eq!(having.body["total_size"], 3);
}

#[tokio::test]
async fn the_user_list_pages_with_tokens_bound_to_their_filters() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    for i in 0..4 {
        app.user_with_roles(&admin, &format!("user{i}"), &[]).await;
    }
    let first = app.get_as(&admin, "/v1/admin/users?page_size=2").await;
    assert_eq!(first.body["users"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["total_size"], 5);
    let token = first.body["next_page_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let mut seen: Vec<String> = first.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    let mut next = token.clone();
    while !next.is_empty() {
        let page = app
            .get_as(
                &admin,
                &format!("/v1/admin/users?page_size=2&page_token={next}"),
            )
            .await;
        page.assert_status(200);
        for u in page.body["users"].as_array().unwrap() {
            seen.push(u["email"].as_str().unwrap().to_owned());
        }
        next = page.body["next_page_token"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    app.get_as(
        &admin,
        &format!("/v1/admin/users?page_size=2&portal_access=false&page_token={token}"),
    )
    .await
    .assert_problem(400, "invalid_page_token");
    app.get_as(&admin, "/v1/admin/users?page_size=-1")
        .await
        .assert_problem(400, "invalid_query_parameter");
}

#[tokio::test]
async fn the_last_active_super_admin_cannot_be_removed_and_nobody_suspends_themselves() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    app.api
        .patch(&format!("/v1/admin/users/{}", admin.user_id))
        .token(&admin.token)
        .json(&json!({"suspended": true}))
        .send()
        .await
        .assert_problem(409, "cannot_suspend_self");
    app.api
        .put(&format!("/v1/admin/users/{}/roles", admin.user_id))
        .token(&admin.token)
        .json(&json!({"roles": ["reseller_admin"]}))
        .send()
        .await
        .assert_problem(409, "last_super_admin");
}

#[tokio::test]
async fn an_admin_changes_their_own_password_only_with_the_current_one() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    for change in [
        json!({"password": "a brand new pass phrase"}),
        json!({"reset_password": true}),
    ] {
        app.api
            .patch(&format!("/v1/admin/users/{}", admin.user_id))
            .token(&admin.token)
            .json(&change)
            .send()
            .await
            .assert_problem(403, "current_password_required");
    }
    // Nothing changed: the token still works and the old password still signs in.
    app.get_as(&admin, "/v1/me").await.assert_status(200);
    app.sign_in("alpha.example", "admin@alpha.example", PASSWORD)
        .await;
    // Another user's password the admin may reset.
    let other = app.user_with_roles(&admin, "other", &[]).await;
    let reset = app
        .api
        .patch(&format!("/v1/admin/users/{}", other.user_id))
        .token(&admin.token)
        .json(&json!({"reset_password": true}))
        .send()
        .await;
    reset.assert_status(200);
    assert!(reset.body["one_time_password"].is_string());
}

#[tokio::test]
async fn custom_roles_are_created_listed_and_deleted_with_their_holders_losing_them() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let role = app
        .custom_role(
            &admin,
            "Full",
            &["support", "view_customers", "access_customer_support_cases"],
        )
        .await;
    app.post_as(
        &admin,
        "/v1/admin/roles",
        json!({"name": "Full", "privileges": []}),
    )
    .await
    .assert_problem(409, "role_exists");
    // Built-in roles hold their names in every domain, and cannot be deleted.
    app.post_as(
        &admin,
        "/v1/admin/roles",
        json!({"name": "super_admin", "privileges": ["support"]}),
    )
    .await
    .assert_problem(409, "role_exists");
    for built_in in ["super_admin", "reseller_admin", "support_manager"] {
        app.api
            .delete(&format!("/v1/admin/roles/{built_in}"))
            .token(&admin.token)
            .send()
            .await
            .assert_problem(409, "built_in_role");
    }
    let bad = app
        .post_as(
            &admin,
            "/v1/admin/roles",
            json!({"name": "Bad", "privileges": ["root"]}),
        )
        .await;
    bad.assert_problem(422, "invalid_request");
    assert_eq!(bad.body["errors"][0]["field"], "privileges[0]");
    let list = app.get_as(&admin, "/v1/admin/roles").await;
    let ids: Vec<&str> = list.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "super_admin",
            "reseller_admin",
            "support_manager",
            role.as_str()
        ]
    );
    let holder = app.user_with_roles(&admin, "holder", &[&role]).await;
    assert_eq!(
        app.get_as(&holder, "/v1/me").await.body["portal_access"],
        true
    );
    app.api
        .delete(&format!("/v1/admin/roles/{role}"))
        .token(&admin.token)
        .send()
        .await
        .assert_status(204);
    app.get_as(&holder, "/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    let again = app
        .sign_in("alpha.example", "holder@alpha.example", PASSWORD)
        .await;
    assert_eq!(
        app.get_as(&again, "/v1/me").await.body["portal_access"],
        false
    );
}

#[tokio::test]
async fn the_old_support_center_redirects_privileged_users_and_refuses_the_rest() {
    let app = spawn_app().await;
    let provider = app.provider_admin().await;
    let admin = reseller(&app, &provider, "alpha.example").await;
    let legacy = app
        .custom_role(&admin, "Old", &["legacy_reseller_enterprise_support"])
        .await;
    let pair = app
        .custom_role(
            &admin,
            "Pair",
            &["view_customers", "access_customer_support_cases"],
        )
        .await;
    let support_only = app.custom_role(&admin, "SupportOnly", &["support"]).await;
    let privileged = [
        admin.clone(),
        app.user_with_roles(&admin, "legacy", &[&legacy]).await,
        app.user_with_roles(&admin, "pair", &[&pair]).await,
    ];
    let routes = [
        ("cases/12345", "/v1/cases/12345"),
        ("customers", "/v1/customers"),
        ("reports/weekly", "/v1/cases"),
    ];
    for who in &privileged {
        for (rest, target) in routes {
            let res = app
                .get_as(who, &format!("/legacy/support-center/{rest}"))
                .await;
            res.assert_status(308);
            assert_eq!(res.header("location").as_deref(), Some(target), "{rest}");
        }
    }
    let refused = app.user_with_roles(&admin, "plain", &[&support_only]).await;
    app.get_as(&refused, "/legacy/support-center/cases/1")
        .await
        .assert_problem(403, "legacy_support_center_retired");
    app.api
        .get("/legacy/support-center/cases/1")
        .send()
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn malformed_json_wrong_types_wrong_content_type_and_oversize_bodies_are_problems() {
    let app = spawn_app().await;
    app.api
        .post("/v1/auth/token")
        .body("application/json", "{\"domain\": ")
        .send()
        .await
        .assert_problem(400, "malformed_json");
    let typed = app
        .api
        .post("/v1/auth/token")
        .json(&json!({"domain": 5, "email": "a@b.example", "password": "x"}))
        .send()
        .await;
    typed.assert_problem(422, "invalid_request");
    assert_eq!(typed.body["errors"][0]["field"], "domain");
    app.api
        .post("/v1/auth/token")
        .body("text/plain", "domain=x")
        .send()
        .await
        .assert_problem(415, "unsupported_media_type");
    let huge = format!("{{\"domain\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    app.api
        .post("/v1/auth/token")
        .body("application/json", huge)
        .send()
        .await
        .assert_problem(413, "payload_too_large");
    // Deep nesting never reaches a recursive parse: the shape is refused at the first level.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    app.api
        .post("/v1/auth/token")
        .body("application/json", deep)
        .send()
        .await
        .assert_problem(422, "invalid_request");
}

#[test]
fn the_openapi_document_declares_the_bearer_scheme_and_every_secured_endpoint_s_401() {
    let doc = serde_json::to_value(casebridge_api::openapi::openapi()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            // Public operations declare an empty `security` list; the others name the scheme.
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert!(
                op.get("security").is_some(),
                "{method} {path} declares no security"
            );
            if secured {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            let errors: Vec<&String> = responses.keys().filter(|k| k.starts_with('4')).collect();
            assert!(
                !errors.is_empty(),
                "{method} {path} documents no client error"
            );
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
        }
    }
}
