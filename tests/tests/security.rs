//! The security suite: tenant isolation for every id-taking path of the OpenAPI document (a new
//! endpoint cannot escape it), attacks on tokens, hostile bodies, and SQL metacharacters and
//! Unicode edge cases in text fields and filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_tests::{Session, TestApp, World, case_body, spawn_app};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Ids of one domain's resources, by path parameter name.
async fn victim_world(app: &TestApp) -> (World, BTreeMap<&'static str, String>) {
    let w = app.world().await;
    app.add_support_partner(&w.customer_admin, "helpdesk.example")
        .await;
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Victim case")
        .await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    let comment = app
        .post_as(
            &w.reseller,
            &format!("/v1/cases/{case_id}/comments"),
            json!({"body": "victim comment"}),
        )
        .await;
    let form = Form::new().part(
        "file",
        Part::bytes(b"victim bytes".to_vec()).file_name("v.txt"),
    );
    let attachment = app
        .api
        .post(&format!("/v1/cases/{case_id}/attachments"))
        .token(&w.reseller.token)
        .multipart(form)
        .send()
        .await;
    attachment.assert_status(201);
    let user = app
        .user_with_roles(&w.reseller, "victim", &["reseller_admin"])
        .await;
    let role = app
        .custom_role(&w.reseller, "Victim role", &["support"])
        .await;
    // A webhook of the victim's and a delivery of it (a ping, to an address the worker cannot
    // reach from here: it stays the victim's either way).
    let hook = app
        .post_as(
            &w.reseller,
            "/v1/admin/webhooks",
            json!({"url": "https://93.184.215.14/victim", "event_types": ["case.created"]}),
        )
        .await;
    hook.assert_status(201);
    let webhook_id = hook.body["id"].as_str().unwrap().to_owned();
    let ping = app
        .post_as(
            &w.reseller,
            &format!("/v1/admin/webhooks/{webhook_id}/ping"),
            json!({}),
        )
        .await;
    ping.assert_status(202);
    let mut ids = BTreeMap::new();
    ids.insert("webhook_id", webhook_id);
    ids.insert("delivery_id", ping.body["id"].as_str().unwrap().to_owned());
    ids.insert("case_id", case_id);
    ids.insert(
        "comment_id",
        comment.body["id"].as_str().unwrap().to_owned(),
    );
    ids.insert(
        "attachment_id",
        attachment.body["id"].as_str().unwrap().to_owned(),
    );
    ids.insert("customer_id", w.customer_id.clone());
    ids.insert("user_id", user.user_id.clone());
    ids.insert("role_id", role);
    ids.insert("partner_domain", "helpdesk.example".to_owned());
    ids.insert("domain_id", w.reseller.user_id.clone());
    (w, ids)
}

/// A valid body for every operation of an id-taking path that reads one: with an invalid
/// body the answer would be a validation problem, not the isolation under test.
fn body_for(method: &str, path: &str) -> Option<Value> {
    let body = match (method, path) {
        ("patch", "/v1/admin/users/{user_id}") => json!({"display_name": "Mallory"}),
        ("put", "/v1/admin/users/{user_id}/roles") => json!({"roles": []}),
        ("patch", "/v1/admin/webhooks/{webhook_id}") => json!({"enabled": false}),
        ("patch", "/v1/cases/{case_id}") => json!({"severity": "P1"}),
        ("post", "/v1/cases/{case_id}/comments") => json!({"body": "mallory was here"}),
        ("post", "/v1/cases/{case_id}/escalate") => {
            json!({"reason": "business_impact", "justification": "mallory"})
        }
        ("post", "/v1/customers/{customer_id}/cases") => case_body("Mallory's case"),
        ("post", "/v1/provider/cases/{case_id}/comments") => json!({"body": "mallory"}),
        ("post", "/v1/provider/cases/{case_id}/state") => json!({"status": "in_progress_support"}),
        ("patch", "/v1/provider/customers/{customer_id}") => json!({"name": "Mallory Inc"}),
        ("post", "/v1/provider/customers/{customer_id}/transfer") => {
            json!({"to_reseller_domain": "other-reseller.example"})
        }
        _ => return None,
    };
    Some(body)
}

async fn attack(
    app: &TestApp,
    who: &Session,
    method: &str,
    path: &str,
    url: &str,
    op: &Value,
) -> casebridge_tests::Response {
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app.api.request(m, url).token(&who.token);
    let content = &op["requestBody"]["content"];
    if content.get("multipart/form-data").is_some() {
        req = req.multipart(
            Form::new().part("file", Part::bytes(b"mallory".to_vec()).file_name("m.txt")),
        );
    } else if content.get("application/json").is_some() {
        let body = body_for(method, path).unwrap_or_else(|| {
            panic!("the security suite has no body for {method} {path}: add one")
        });
        req = req.json(&body);
    }
    req.send().await
}

#[tokio::test]
async fn every_id_taking_path_answers_another_domain_with_404_or_its_documented_403() {
    let app = spawn_app().await;
    let (w, ids) = victim_world(&app).await;
    // Attackers: another reseller's super admin, and another customer organisation's.
    let other_customer = app
        .domain_admin(&w.provider, "globex.example", "customer")
        .await;
    app.create_customer(
        &w.provider,
        "Globex",
        "globex.example",
        "other-reseller.example",
        "premium",
    )
    .await;
    app.set_reseller_access(&other_customer, true).await;
    let attackers = [&w.other_reseller, &other_customer];
    let doc = serde_json::to_value(casebridge_api::openapi::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') || path.starts_with("/legacy/") {
            continue;
        }
        let mut url = path.clone();
        for (name, value) in &ids {
            url = url.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !url.contains('{'),
            "the security suite knows no id for a parameter of {path}"
        );
        for (method, op) in item.as_object().unwrap() {
            for who in attackers {
                let res = attack(&app, who, method, path, &url, op).await;
                let status = res.status.as_u16();
                let documented = op["responses"].get(status.to_string()).is_some();
                assert!(
                    (status == 404 || status == 403) && documented,
                    "{method} {path} as {}: {status} {}",
                    who.domain,
                    res.text()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} checks");
    // And nothing happened to the victim's data.
    let case = app
        .get_as(&w.reseller, &format!("/v1/cases/{}", ids["case_id"]))
        .await;
    assert_eq!(case.body["severity"], "P2");
    assert_eq!(case.body["status"], "new");
    assert_eq!(case.body["escalated"], false);
    let comments = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{}/comments", ids["case_id"]),
        )
        .await;
    assert_eq!(comments.body["total_size"], 1);
    let attachments = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{}/attachments", ids["case_id"]),
        )
        .await;
    assert_eq!(attachments.body["total_size"], 1);
    let user = app
        .get_as(&w.reseller, &format!("/v1/admin/users/{}", ids["user_id"]))
        .await;
    assert_eq!(user.body["display_name"], "victim");
    assert_eq!(
        app.get_as(&w.reseller, "/v1/cases").await.body["total_size"],
        1
    );
}

/// Every creating operation a partner calls that honours `Idempotency-Key`, from the OpenAPI
/// document: a new one is covered without being listed here.
fn idempotent_partner_creates(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/v1/provider/") || path.starts_with("/legacy/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let takes_key = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "Idempotency-Key");
            if takes_key {
                ops.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn idempotent_replay_of_every_create_is_refused_once_access_has_ended() {
    let app = spawn_app().await;
    let (w, ids) = victim_world(&app).await;
    let doc = serde_json::to_value(casebridge_api::openapi::openapi()).unwrap();
    let ops = idempotent_partner_creates(&doc);
    assert!(
        ops.len() >= 3,
        "only {} idempotent creates found",
        ops.len()
    );
    let send = |method: &str, path: &str, op: &Value| {
        let mut url = path.to_owned();
        for (name, value) in &ids {
            url = url.replace(&format!("{{{name}}}"), value);
        }
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = app.api.request(m, &url).token(&w.reseller.token).header(
            "idempotency-key",
            &format!("replay-{method}{}", path.replace(['{', '}'], "")),
        );
        let content = &op["requestBody"]["content"];
        if content.get("multipart/form-data").is_some() {
            req = req.multipart(Form::new().part(
                "file",
                Part::bytes(b"same bytes".to_vec()).file_name("r.txt"),
            ));
        } else {
            req = req.json(&body_for(method, path).unwrap_or_else(|| {
                panic!("the security suite has no body for {method} {path}: add one")
            }));
        }
        req.send()
    };
    for (method, path, op) in &ops {
        send(method, path, op).await.assert_status(201);
        let replayed = send(method, path, op).await;
        replayed.assert_status(201);
        assert_eq!(
            replayed.header("idempotent-replayed").as_deref(),
            Some("true")
        );
    }
    // The customer withdraws its reseller's authorisation: the stored answers stay unreachable.
    app.set_reseller_access(&w.customer_admin, false).await;
    for (method, path, op) in &ops {
        let res = send(method, path, op).await;
        let status = res.status.as_u16();
        assert!(
            (status == 403 || status == 404)
                && op["responses"].get(status.to_string()).is_some()
                && res.header("idempotent-replayed").is_none(),
            "{method} {path} replayed after access ended: {status} {}",
            res.text()
        );
    }
}

fn parts(token: &str) -> (Value, Value) {
    let p: Vec<&str> = token.split('.').collect();
    (
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p[0]).unwrap()).unwrap(),
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p[1]).unwrap()).unwrap(),
    )
}

fn sign(app: &TestApp, alg: jsonwebtoken::Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let key = &app.settings.jwt_keys[0];
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(kid.unwrap_or(key.kid()).to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.secret()),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_premature_misaddressed_and_orphaned_tokens_are_refused() {
    let app = spawn_app().await;
    let w = app.world().await;
    let (header, claims) = parts(&w.reseller.token);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let refused = |token: String| {
        let app = &app;
        async move {
            app.api
                .get("/v1/me")
                .token(&token)
                .send()
                .await
                .assert_problem(401, "unauthenticated");
        }
    };
    // The real token works, and a re-signed copy of it too (the signer is right).
    app.api
        .get("/v1/me")
        .token(&sign(&app, jsonwebtoken::Algorithm::HS256, None, &claims))
        .send()
        .await
        .assert_status(200);
    // alg: none.
    let none_header = json!({"alg": "none", "typ": "JWT", "kid": header["kid"]});
    refused(format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(none_header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
    .await;
    // Algorithm confusion: another HMAC, and an asymmetric algorithm name over an HMAC.
    refused(sign(&app, jsonwebtoken::Algorithm::HS512, None, &claims)).await;
    let rs_header = json!({"alg": "RS256", "typ": "JWT", "kid": header["kid"]});
    let signature = w.reseller.token.split('.').nth(2).unwrap();
    refused(format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(rs_header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
    .await;
    // Expired, and not yet valid.
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["nbf"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    refused(sign(&app, jsonwebtoken::Algorithm::HS256, None, &expired)).await;
    let mut premature = claims.clone();
    premature["nbf"] = json!(now + 3600);
    premature["exp"] = json!(now + 7200);
    refused(sign(&app, jsonwebtoken::Algorithm::HS256, None, &premature)).await;
    // Another audience: the same user's token re-addressed to another domain.
    let mut misaddressed = claims.clone();
    misaddressed["aud"] = json!("other-reseller.example");
    refused(sign(
        &app,
        jsonwebtoken::Algorithm::HS256,
        None,
        &misaddressed,
    ))
    .await;
    let mut other_realm = claims.clone();
    other_realm["realm"] = json!("provider");
    refused(sign(
        &app,
        jsonwebtoken::Algorithm::HS256,
        None,
        &other_realm,
    ))
    .await;
    // Another issuer; missing claims; an unknown kid.
    let mut issuer = claims.clone();
    issuer["iss"] = json!("someone-else");
    refused(sign(&app, jsonwebtoken::Algorithm::HS256, None, &issuer)).await;
    let mut bare = claims.clone();
    bare.as_object_mut().unwrap().remove("jti");
    refused(sign(&app, jsonwebtoken::Algorithm::HS256, None, &bare)).await;
    refused(sign(
        &app,
        jsonwebtoken::Algorithm::HS256,
        Some("nope"),
        &claims,
    ))
    .await;
    // A token of a deleted user.
    let user = app
        .user_with_roles(&w.reseller, "leaver", &["reseller_admin"])
        .await;
    // The application's own handle: SQLite admits no second process on its file.
    let db = app.db.clone();
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        casebridge_persistence::entities::users::Entity::delete_many()
            .filter(
                casebridge_persistence::entities::users::Column::Id
                    .eq(user.user_id.parse::<uuid::Uuid>().unwrap()),
            )
            .exec(db.writer())
            .await
            .unwrap();
    }
    // The authentication cache holds a user for at most two seconds.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    refused(user.token.clone()).await;
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies_are_refused_as_problems() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}/cases", w.customer_id);
    let mut big = case_body("Big");
    big["description"] = json!("x".repeat(2 * 1024 * 1024));
    app.post_as(&w.reseller, &path, big)
        .await
        .assert_problem(413, "payload_too_large");
    let mut long = case_body("Long");
    long["description"] = json!("y".repeat(32_001));
    let res = app.post_as(&w.reseller, &path, long).await;
    res.assert_problem(422, "invalid_request");
    assert_eq!(res.body["errors"][0]["code"], "too_long");
    let nested = format!("{{\"title\": {}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let res = app
        .api
        .post(&path)
        .token(&w.reseller.token)
        .body("application/json", nested)
        .send()
        .await;
    assert!(res.status.is_client_error(), "{}", res.text());
    let deep_object = format!(
        "{}{}",
        "{\"a\":".repeat(3000),
        "1".to_owned() + &"}".repeat(3000)
    );
    let res = app
        .api
        .post(&path)
        .token(&w.reseller.token)
        .body("application/json", deep_object)
        .send()
        .await;
    assert!(res.status.is_client_error(), "{}", res.text());
}

const NASTY: [&str; 12] = [
    "Robert'); DROP TABLE cases;--",
    "' OR '1'='1",
    "50% off_sale \\ back\\slash",
    "\"quoted\" `ticked` ;semi; /*comment*/ -- dash",
    "emoji 🚀🔥 and 👩‍👩‍👧‍👦 family",
    "right\u{202E}to\u{202D}left override",
    "zero\u{200B}width\u{200D}joiner",
    "combining e\u{301}\u{301}\u{301} marks",
    "日本語のテキストと中文",
    "עברית ועربية",
    "MATCH NEAR(a b) OR NOT AND * ^ :",
    "ǅ ﬀ Ω Å ß ẞ",
];

#[tokio::test]
async fn sql_metacharacters_and_unicode_in_text_fields_and_filters_are_stored_and_found_safely() {
    let app = spawn_app().await;
    let w = app.world().await;
    let path = format!("/v1/customers/{}/cases", w.customer_id);
    for (i, text) in NASTY.iter().enumerate() {
        // Titles refuse bidi and zero-width characters (tests/hardening.rs); the longer texts
        // carry them.
        let title: String = text
            .chars()
            .filter(|c| !casebridge_domain::is_format_control(*c))
            .collect();
        let mut body = case_body(&title);
        body["description"] = json!(format!("{text}\nsecond line {i}"));
        body["answers"]["affected_users_count"] = json!(text);
        let res = app.post_as(&w.reseller, &path, body).await;
        res.assert_status(201);
        assert_eq!(res.body["title"], title);
        let id = res.body["id"].as_str().unwrap();
        app.post_as(
            &w.reseller,
            &format!("/v1/cases/{id}/comments"),
            json!({"body": text}),
        )
        .await
        .assert_status(201);
        let read = app.get_as(&w.reseller, &format!("/v1/cases/{id}")).await;
        assert_eq!(read.body["title"], title);
        assert_eq!(read.body["description"], format!("{text}\nsecond line {i}"));
    }
    let all = app.get_as(&w.reseller, "/v1/cases?page_size=100").await;
    assert_eq!(all.body["total_size"], NASTY.len());
    // Every filter takes every string without error, and the table is still there.
    let filters = [
        "/v1/cases?q=",
        "/v1/customers?q=",
        "/v1/case-classifications?q=",
        "/v1/admin/users?q=",
    ];
    for filter in filters {
        for text in NASTY {
            let url = format!("{filter}{}", urlencode(text));
            let res = app.get_as(&w.reseller, &url).await;
            assert_eq!(res.status.as_u16(), 200, "{url}: {}", res.text());
        }
    }
    let found = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases?q={}", urlencode("DROP TABLE")),
        )
        .await;
    assert_eq!(found.body["total_size"], 1);
    let emoji = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases?q={}", urlencode("日本語のテキストと中文")),
        )
        .await;
    assert_eq!(emoji.body["total_size"], 1);
    let percent = app
        .get_as(&w.reseller, &format!("/v1/customers?q={}", urlencode("%")))
        .await;
    assert_eq!(
        percent.body["total_size"], 0,
        "a % is a character, not a wildcard"
    );
    assert_eq!(
        app.get_as(&w.reseller, "/v1/cases?page_size=100")
            .await
            .body["total_size"],
        NASTY.len()
    );
    // Control characters are refused, never stored or sent to the database.
    let mut nul = case_body("nul\u{0}title");
    nul["description"] = json!("fine");
    app.post_as(&w.reseller, &path, nul)
        .await
        .assert_problem(422, "invalid_request");
    app.get_as(&w.reseller, "/v1/customers?q=a%00b")
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get_as(&w.reseller, "/v1/cases/%00")
        .await
        .assert_problem(400, "invalid_path_parameter");
    app.try_sign_in("reseller.example\u{0}", "admin@reseller.example", "x")
        .await
        .assert_problem(401, "invalid_credentials");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
