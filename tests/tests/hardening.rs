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

/// A reseller_admin created without a password, signed in with the one-time password it got.
async fn one_time_password_user(app: &casebridge_tests::TestApp) -> (String, String, String) {
    let w = app.world().await;
    let created = app
        .post_as(
            &w.reseller,
            "/v1/admin/users",
            serde_json::json!({"email": "newcomer@reseller.example", "display_name": "Newcomer"}),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let otp = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    app.api
        .put(&format!("/v1/admin/users/{id}/roles"))
        .token(&w.reseller.token)
        .json(&serde_json::json!({"roles": ["reseller_admin"]}))
        .send()
        .await
        .assert_status(200);
    let res = app
        .try_sign_in("reseller.example", "newcomer@reseller.example", &otp)
        .await;
    res.assert_status(200);
    assert_eq!(res.body["must_change_password"], true);
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    (token, otp, w.customer_id)
}

#[tokio::test]
async fn a_one_time_password_reaches_only_me_its_change_and_logout_until_changed() {
    let app = spawn_app().await;
    let (token, otp, customer_id) = one_time_password_user(&app).await;
    app.api
        .get("/v1/me")
        .token(&token)
        .send()
        .await
        .assert_status(200);
    for path in [
        "/v1/cases".to_owned(),
        "/v1/customers".to_owned(),
        format!("/v1/customers/{customer_id}"),
        "/legacy/support-center/cases".to_owned(),
    ] {
        app.api
            .get(&path)
            .token(&token)
            .send()
            .await
            .assert_problem(403, "password_change_required");
    }
    app.api
        .post(&format!("/v1/customers/{customer_id}/cases"))
        .token(&token)
        .json(&casebridge_tests::case_body(
            "Filed with a one-time password",
        ))
        .send()
        .await
        .assert_problem(403, "password_change_required");
    app.api
        .post("/v1/me/password")
        .token(&token)
        .json(&serde_json::json!({"current_password": otp, "new_password": "a fresh and private passphrase"}))
        .send()
        .await
        .assert_status(204);
    let fresh = app
        .sign_in(
            "reseller.example",
            "newcomer@reseller.example",
            "a fresh and private passphrase",
        )
        .await;
    app.get_as(&fresh, "/v1/cases").await.assert_status(200);
    app.get_as(&fresh, &format!("/v1/customers/{customer_id}"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn every_documented_operation_but_three_refuses_a_one_time_password_as_documented() {
    let app = spawn_app().await;
    let (token, _, _) = one_time_password_user(&app).await;
    let doc = serde_json::to_value(casebridge_api::openapi::openapi()).unwrap();
    let open = casebridge_api::openapi::OPEN_TO_ONE_TIME_PASSWORDS;
    let mut refused = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            if !secured || open.contains(&path.as_str()) {
                continue;
            }
            let documented = op["responses"]["403"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                documented.contains("password_change_required"),
                "{method} {path} does not document password_change_required"
            );
            let url = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        uuid::Uuid::now_v7().to_string()
                    } else {
                        segment.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = app.api.request(method.clone(), &url).token(&token);
            if op["requestBody"]["content"]
                .get("multipart/form-data")
                .is_some()
            {
                req = req.multipart(reqwest::multipart::Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
                ));
            } else if op["requestBody"].is_object() {
                req = req.json(&serde_json::json!({}));
            }
            let res = req.send().await;
            assert_eq!(
                (res.status.as_u16(), res.body["code"].as_str()),
                (403, Some("password_change_required")),
                "{method} {path}: {}",
                res.text()
            );
            refused += 1;
        }
    }
    assert!(refused > 40, "only {refused} operations checked");
}

#[tokio::test]
async fn bidi_and_zero_width_characters_are_stripped_from_attachment_file_names() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Spoofed file")
        .await;
    let case = case["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"MZ not really".to_vec())
            .file_name("invoice\u{202E}gpj.exe\u{200B}"),
    );
    let res = app
        .api
        .post(&format!("/v1/cases/{case}/attachments"))
        .token(&w.reseller.token)
        .multipart(form)
        .send()
        .await;
    res.assert_status(201);
    assert_eq!(res.body["filename"], "invoicegpj.exe");
    let id = res.body["id"].as_str().unwrap();
    let download = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{case}/attachments/{id}/content"),
        )
        .await;
    download.assert_status(200);
    let disposition = download.header("content-disposition").unwrap();
    assert!(disposition.contains("invoicegpj.exe"), "{disposition}");
    assert!(!disposition.contains('\u{202E}'), "{disposition}");
}

#[tokio::test]
async fn bidi_and_zero_width_characters_in_names_and_titles_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let w = app.world().await;
    let spoof = "invoice\u{202E}gpj.exe";
    let refused_at = |res: &casebridge_tests::Response, field: &str| {
        res.assert_problem(422, "invalid_request");
        let issue = &res.body["errors"][0];
        assert_eq!(issue["field"], field, "{}", res.text());
        assert_eq!(issue["code"], "invalid_characters", "{}", res.text());
    };
    let res = app
        .try_file_case(
            &w.reseller,
            &w.customer_id,
            casebridge_tests::case_body(spoof),
        )
        .await;
    refused_at(&res, "title");
    let case = app.file_case(&w.reseller, &w.customer_id, "Plain").await;
    let res = app
        .api
        .patch(&format!("/v1/cases/{}", case["id"].as_str().unwrap()))
        .token(&w.reseller.token)
        .json(&serde_json::json!({"title": "ad\u{200D}min"}))
        .send()
        .await;
    refused_at(&res, "title");
    let res = app
        .post_as(
            &w.reseller,
            "/v1/admin/users",
            serde_json::json!({"email": "mallory@reseller.example", "display_name": "Ad\u{200B}min"}),
        )
        .await;
    refused_at(&res, "display_name");
    let res = app
        .post_as(
            &w.reseller,
            "/v1/admin/roles",
            serde_json::json!({"name": "\u{2066}Owners\u{2069}", "privileges": ["support"]}),
        )
        .await;
    refused_at(&res, "name");
    // Right-to-left scripts themselves are welcome.
    app.file_case(&w.reseller, &w.customer_id, "עברית ועربية")
        .await;
}

/// Replaces a user's stored password hash, as the legacy import stores the old system's.
async fn store_hash(app: &casebridge_tests::TestApp, user_id: &str, hash: &str) {
    use casebridge_persistence::entities::users;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    // The application's own handle: SQLite admits no second process on its file.
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash.to_owned()))
        .filter(users::Column::Id.eq(user_id.parse::<uuid::Uuid>().unwrap()))
        .exec(app.db.writer())
        .await
        .unwrap();
}

#[tokio::test]
async fn every_failed_sign_in_takes_the_same_floor_whatever_the_account_s_hash() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let app = spawn_app().await;
    let w = app.world().await;
    let bcrypt_user = app
        .user_with_roles(&w.reseller, "imported-bcrypt", &[])
        .await;
    store_hash(
        &app,
        &bcrypt_user.user_id,
        &bcrypt::hash("an old password", 12).unwrap(),
    )
    .await;
    let weak_user = app.user_with_roles(&w.reseller, "imported-weak", &[]).await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(1024, 1, 1, None).unwrap(),
    )
    .hash_password(
        b"an old password",
        &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng),
    )
    .unwrap()
    .to_string();
    store_hash(&app, &weak_user.user_id, &weak).await;
    let floor = casebridge_api::routes::auth::FAILED_SIGN_IN_FLOOR;
    let attempts = [
        ("reseller.example", "admin@reseller.example"),
        ("reseller.example", "imported-bcrypt@reseller.example"),
        ("reseller.example", "imported-weak@reseller.example"),
        ("reseller.example", "nobody@reseller.example"),
        ("unknown.example", "admin@unknown.example"),
        ("not a domain", "not an email"),
    ];
    for round in 0..2 {
        for (domain, email) in attempts {
            let started = std::time::Instant::now();
            app.try_sign_in(domain, email, "a wrong password")
                .await
                .assert_problem(401, "invalid_credentials");
            let took = started.elapsed();
            assert!(
                took >= floor,
                "round {round}: {email} failed in {took:?}, under the floor of {floor:?}"
            );
            // No upper bound: how long a slow hash takes beyond the floor depends on the
            // machine's load, and timings are the benchmarks' business, not a test's.
        }
    }
    // The imported accounts still sign in with their passwords.
    app.sign_in(
        "reseller.example",
        "imported-bcrypt@reseller.example",
        "an old password",
    )
    .await;
}

#[tokio::test]
async fn a_provider_user_works_cases_only_with_the_support_privilege_and_never_provisions() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Needs support")
        .await;
    let case = case["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"log".to_vec()).file_name("a.log"),
    );
    let attachment = app
        .api
        .post(&format!("/v1/cases/{case}/attachments"))
        .token(&w.reseller.token)
        .multipart(form)
        .send()
        .await;
    attachment.assert_status(201);
    let attachment = attachment.body["id"].as_str().unwrap().to_owned();
    // Created without a role: nothing of the cases.
    let bare = app.user_with_roles(&w.provider, "newhire", &[]).await;
    let me = app.get_as(&bare, "/v1/me").await;
    assert_eq!(me.body["portal_access"], false);
    assert_eq!(
        me.body["missing_privileges"],
        serde_json::json!(["support"])
    );
    for res in [
        app.get_as(&bare, "/v1/provider/cases").await,
        app.get_as(&bare, &format!("/v1/cases/{case}")).await,
        app.get_as(
            &bare,
            &format!("/v1/cases/{case}/attachments/{attachment}/content"),
        )
        .await,
        app.post_as(
            &bare,
            &format!("/v1/provider/cases/{case}/comments"),
            serde_json::json!({"body": "hello"}),
        )
        .await,
        app.post_as(
            &bare,
            &format!("/v1/provider/cases/{case}/state"),
            serde_json::json!({"status": "in_progress_support"}),
        )
        .await,
        app.api
            .delete(&format!(
                "/v1/provider/cases/{case}/attachments/{attachment}"
            ))
            .token(&bare.token)
            .send()
            .await,
    ] {
        res.assert_problem(403, "portal_access_required");
    }
    // With the built-in support_agent role: every case, and still no provisioning.
    let agent = app
        .user_with_roles(&w.provider, "agent", &["support_agent"])
        .await;
    let all = app.get_as(&agent, "/v1/provider/cases").await;
    all.assert_status(200);
    assert_eq!(all.body["total_size"], 1);
    app.post_as(
        &agent,
        &format!("/v1/provider/cases/{case}/comments"),
        serde_json::json!({"body": "Looking into it."}),
    )
    .await
    .assert_status(201);
    app.post_as(
        &agent,
        "/v1/provider/domains",
        serde_json::json!({"name": "agent-made.example", "realm": "reseller",
            "super_admin": {"email": "a@agent-made.example", "display_name": "A"}}),
    )
    .await
    .assert_problem(403, "super_admin_required");
    app.post_as(
        &agent,
        &format!("/v1/provider/customers/{}/transfer", w.customer_id),
        serde_json::json!({"to_reseller_domain": "other-reseller.example"}),
    )
    .await
    .assert_problem(403, "super_admin_required");
    // The role is the provider's alone, and listed there.
    let reseller_user = app.user_with_roles(&w.reseller, "someone", &[]).await;
    app.api
        .put(&format!("/v1/admin/users/{}/roles", reseller_user.user_id))
        .token(&w.reseller.token)
        .json(&serde_json::json!({"roles": ["support_agent"]}))
        .send()
        .await
        .assert_problem(422, "role_not_available_in_realm");
    let roles = app.get_as(&w.provider, "/v1/admin/roles").await;
    assert!(
        roles.body["roles"].as_array().unwrap().iter().any(
            |r| r["id"] == "support_agent" && r["privileges"] == serde_json::json!(["support"])
        ),
        "{}",
        roles.text()
    );
}

#[tokio::test]
async fn a_reseller_a_customer_returns_to_does_not_see_the_cases_of_its_earlier_tenure() {
    let app = spawn_app().await;
    let w = app.world().await;
    let transfer = |to: &'static str| {
        let (app, w) = (&app, &w);
        async move {
            app.post_as(
                &w.provider,
                &format!("/v1/provider/customers/{}/transfer", w.customer_id),
                serde_json::json!({ "to_reseller_domain": to }),
            )
            .await
            .assert_status(200);
            app.set_reseller_access(&w.customer_admin, true).await;
        }
    };
    let first = app
        .file_case(&w.reseller, &w.customer_id, "Filed in the first tenure")
        .await;
    let first = first["id"].as_str().unwrap().to_owned();
    transfer("other-reseller.example").await;
    let away = app
        .file_case(&w.other_reseller, &w.customer_id, "Filed while away")
        .await;
    let away = away["id"].as_str().unwrap().to_owned();
    transfer("reseller.example").await;
    let back = app
        .file_case(&w.reseller, &w.customer_id, "Filed after coming back")
        .await;
    let back = back["id"].as_str().unwrap().to_owned();
    // The returning reseller sees only its new tenure's case, and cannot touch the old one.
    let listed = app.get_as(&w.reseller, "/v1/cases").await;
    assert_eq!(
        casebridge_tests::TestApp::case_ids(&listed),
        vec![back.clone()]
    );
    assert_eq!(listed.body["total_size"], 1);
    for id in [&first, &away] {
        app.get_as(&w.reseller, &format!("/v1/cases/{id}"))
            .await
            .assert_problem(404, "not_found");
        app.post_as(
            &w.reseller,
            &format!("/v1/cases/{id}/comments"),
            serde_json::json!({"body": "Is this still open?"}),
        )
        .await
        .assert_problem(404, "not_found");
    }
    let by_customer = app
        .get_as(
            &w.reseller,
            &format!("/v1/customers/{}/cases", w.customer_id),
        )
        .await;
    assert_eq!(by_customer.body["total_size"], 1);
    // The reseller it left sees none of them; the customer sees all three.
    assert_eq!(
        app.get_as(&w.other_reseller, "/v1/cases").await.body["total_size"],
        0
    );
    assert_eq!(
        app.get_as(&w.customer_admin, "/v1/customer/cases")
            .await
            .body["total_size"],
        3
    );
}

/// Technical text that looks like personal data and must pass: what engineers write.
const TECHNICAL: [&str; 44] = [
    "IMEI 356938035643809 reports no signal",
    "device imei=490154203237518",
    "the counter overflowed at +2147483647",
    "chmod modes 0755 0644 0600 on the share",
    "fixed in commit ea123456b",
    "reverted rev ab123456c",
    "ticket 123456789 is a duplicate",
    "case 4711 follows up case 4710",
    "since 2024-03-15T10:22:31Z",
    "on 15.03.2024 at 10:22",
    "from 203.0.113.25 and 2001:db8::1",
    "MX 10 mx1.example.net, 20 mx2.example.net",
    "version 10.4.1234.5678 build 20240315",
    "error 0x80070005 (access denied)",
    "SMTP 550 5.7.1 client host blocked",
    "status 421 4.7.0 try again later",
    "Message-ID: <CAGx5sJ8a1b2c3d4e5f6@mail.gmail.com>",
    "bounce from mailer-daemon@googlemail.com",
    "sent to postmaster@acme.example",
    "clone git@github.com:acme/infra.git",
    "proxy https://user:secret@proxy.example:8080",
    "icon@2x.png is missing",
    "timestamp 1710498121123 ms",
    "ns 1710498121123456788",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uuid 0193a5c0-0000-7000-8000-000000000001",
    "UTC+01:00 and GMT +10:00",
    "quota 15 GB of 30 GB used",
    "port 8080 and 443 open",
    "order ORD-123-45-6789 shipped",
    "serial 0123-4567-8901",
    "reference 020-2024-0315",
    "about 40 users affected, score +15",
    "the list 41 11 11 11 11 11 11 11",
    "retry after 86400 seconds",
    "CVE-2024-12345 patched",
    "KB5034441 failed with 0x80070643",
    "DKIM selector s1._domainkey.acme.example",
    "SPF v=spf1 include:_spf.google.com ~all",
    "DMARC rua=mailto:dmarc-reports@acme.example",
    "routing 10.0.0.0/8 via 192.168.1.1",
    "build 4.1.1.1.1.1",
    "duration 00:15:30",
    "see https://support.example/kb/12345678",
];

/// Personal data in the formats copy-paste and people produce: each must be refused.
const PERSONAL: [(&str, &str); 24] = [
    ("card 4111 1111 1111 1111", "payment_card_number"),
    (
        "card 4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "payment_card_number",
    ),
    ("card 4111.1111.1111.1111", "payment_card_number"),
    ("card 4111/1111/1111/1111", "payment_card_number"),
    (
        "card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        "payment_card_number",
    ),
    (
        "card ４１１１ １１１１ １１１１ １１１１",
        "payment_card_number",
    ),
    ("amex 3782 822463 10005", "payment_card_number"),
    ("mc 5555-5555-5555-4444", "payment_card_number"),
    ("SSN 123-45-6789", "national_id_number"),
    ("SSN 123456789", "national_id_number"),
    ("ssn 123.45.6789", "national_id_number"),
    ("ssn １２３-４５-６７８９", "national_id_number"),
    ("NI AB123456C", "national_id_number"),
    ("NI ab 12 34 56 c", "national_id_number"),
    ("call +1 415 555 2671", "phone_number"),
    ("call +44 20 7946 0958", "phone_number"),
    ("call ＋４４ ２０ ７９４６ ０９５８", "phone_number"),
    ("call 020 7946 0958", "phone_number"),
    ("call (415) 555-2671", "phone_number"),
    ("call +33 6 12 34 56 78", "phone_number"),
    ("mail jane.doe@gmail.com", "email_address"),
    ("mail jane.doe＠gmail.com", "email_address"),
    ("mail jane.\u{200b}doe@gmail.com", "email_address"),
    ("mail jane.doe@gm\u{200d}ail.com", "email_address"),
];

#[tokio::test]
async fn the_personal_data_scanner_refuses_what_copy_paste_produces_and_passes_what_engineers_write()
 {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Scanner table")
        .await;
    let comments = format!("/v1/cases/{}/comments", case["id"].as_str().unwrap());
    let mut wrong = Vec::new();
    for text in TECHNICAL {
        let res = app
            .post_as(&w.reseller, &comments, serde_json::json!({ "body": text }))
            .await;
        if res.status.as_u16() != 201 {
            wrong.push(format!("refused {text:?}: {}", res.text()));
        }
    }
    for (text, kind) in PERSONAL {
        let res = app
            .post_as(&w.reseller, &comments, serde_json::json!({ "body": text }))
            .await;
        let found = (
            res.status.as_u16(),
            res.body["errors"][0]["field"].clone(),
            res.body["errors"][0]["code"].clone(),
        );
        if found != (422, serde_json::json!("body"), serde_json::json!(kind)) {
            wrong.push(format!("{text:?} as {kind}: {}", res.text()));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_commenter_s_own_address_passes_and_role_names_are_scanned() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Who to reach")
        .await;
    let comments = format!("/v1/cases/{}/comments", case["id"].as_str().unwrap());
    app.post_as(
        &w.reseller,
        &comments,
        serde_json::json!({ "body": "Reach me at admin@reseller.example or my desk." }),
    )
    .await
    .assert_status(201);
    let colleague = app
        .user_with_roles(&w.reseller, "colleague", &["reseller_admin"])
        .await;
    app.post_as(
        &colleague,
        &comments,
        serde_json::json!({ "body": "Reach me at colleague@reseller.example." }),
    )
    .await
    .assert_status(201);
    let res = app
        .post_as(
            &w.reseller,
            "/v1/admin/roles",
            serde_json::json!({"name": "Escalate to jane.doe@gmail.com", "privileges": ["support"]}),
        )
        .await;
    res.assert_problem(422, "pii_detected");
    assert_eq!(res.body["errors"][0]["field"], "name");
}
