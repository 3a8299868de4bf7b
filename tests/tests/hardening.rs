//! What a hostile tester found (issue 14): forged page tokens, unbounded token lifetimes,
//! unknown critical JWT extensions, throttled answers without their headers, one-time
//! passwords, malformed requests answered by the HTTP layer, format characters in names,
//! sign-in timing, provider least privilege and returning customers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_tests::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_page_token_whose_mac_is_cut_short_is_refused() {
    let app = spawn_app().await;
    let w = app.world().await;
    for i in 0..3 {
        app.file_case(&w.reseller, &w.customer_id, &format!("case {i}"))
            .await;
    }
    let first = app.get_as(&w.reseller, "/v1/cases?page_size=1").await;
    let token = first.body["next_page_token"].as_str().unwrap().to_owned();
    app.get_as(
        &w.reseller,
        &format!("/v1/cases?page_size=1&page_token={token}"),
    )
    .await
    .assert_status(200);
    let (payload, tag) = token.split_once('.').unwrap();
    let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
    for len in [1, 2, 16, tag.len() - 1] {
        let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..len]));
        app.get_as(
            &w.reseller,
            &format!("/v1/cases?page_size=1&page_token={short}"),
        )
        .await
        .assert_problem(400, "invalid_page_token");
    }
}

#[tokio::test]
async fn the_application_refuses_to_start_with_a_token_lifetime_over_seven_days() {
    let scratch = casebridge_tests::ScratchDatabase::new().await;
    let app = spawn_app().await;
    let mut settings = app.settings.clone();
    settings.database_url = scratch.url.clone();
    settings.token_ttl = Duration::from_secs(7 * 24 * 3600 + 1);
    let refused = casebridge_api::Application::build(settings.clone()).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("7 days")),
        "{:?}",
        refused.err()
    );
    settings.token_ttl = Duration::from_secs(u64::MAX);
    assert!(casebridge_api::Application::build(settings).await.is_err());
}

#[tokio::test]
async fn a_token_of_the_longest_lifetime_is_issued_and_revoked_by_logout() {
    let app = spawn_app_with(|s| s.token_ttl = Duration::from_secs(7 * 24 * 3600)).await;
    app.world().await;
    let res = app
        .try_sign_in("reseller.example", "admin@reseller.example", PASSWORD)
        .await;
    res.assert_status(200);
    assert_eq!(res.body["expires_in"], 7 * 24 * 3600);
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    app.api
        .get("/v1/me")
        .token(&token)
        .send()
        .await
        .assert_status(200);
    app.api
        .post("/v1/auth/logout")
        .token(&token)
        .send()
        .await
        .assert_status(204);
    app.api
        .get("/v1/me")
        .token(&token)
        .send()
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_token_with_a_crit_header_is_refused_with_401() {
    let app = spawn_app().await;
    let w = app.world().await;
    let claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(w.reseller.token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let key = &app.settings.jwt_keys[0];
    let signed = |crit: Option<Vec<String>>| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        header.crit = crit;
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(key.secret()),
        )
        .unwrap()
    };
    // The same claims, signed by the right key without `crit`, are accepted.
    app.api
        .get("/v1/me")
        .token(&signed(None))
        .send()
        .await
        .assert_status(200);
    for crit in [vec!["exp"], vec!["b64"], vec!["http://example.com/ext"]] {
        let res = app
            .api
            .get("/v1/me")
            .token(&signed(Some(crit.iter().map(|s| s.to_string()).collect())))
            .send()
            .await;
        res.assert_problem(401, "unauthenticated");
        assert!(res.header("www-authenticate").is_some());
    }
}

#[tokio::test]
async fn a_throttled_sign_in_names_its_rate_limit_policy_and_reset() {
    let app = spawn_app().await;
    app.world().await;
    for _ in 0..5 {
        app.try_sign_in(
            "reseller.example",
            "admin@reseller.example",
            "wrong password!",
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    let res = app
        .try_sign_in("reseller.example", "admin@reseller.example", PASSWORD)
        .await;
    res.assert_problem(429, "too_many_requests");
    let retry_after: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(
        res.header("ratelimit-policy").as_deref(),
        Some("\"sign-in-account\";q=5;w=900")
    );
    assert_eq!(
        res.header("ratelimit"),
        Some(format!("\"sign-in-account\";r=0;t={retry_after}"))
    );
}
