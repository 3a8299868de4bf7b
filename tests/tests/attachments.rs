//! Attachments: streamed upload and download, the size and count limits, tenants, and
//! removal by support only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_tests::{TestApp, World, spawn_app};
use reqwest::multipart::{Form, Part};
use serde_json::json;
use sha2::{Digest, Sha256};

async fn case_of(app: &TestApp, w: &World) -> String {
    let case = app
        .file_case(&w.reseller, &w.customer_id, "Attachments")
        .await;
    case["id"].as_str().unwrap().to_owned()
}

async fn upload(
    app: &TestApp,
    token: &str,
    case: &str,
    name: &str,
    bytes: Vec<u8>,
) -> casebridge_tests::Response {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    app.api
        .post(&format!("/v1/cases/{case}/attachments"))
        .token(token)
        .multipart(form)
        .send()
        .await
}

/// Files in attachment storage, staging included.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.settings.data_dir.join("attachments"), &mut out);
    out
}

/// Everything an instance keeps of uploads: files under its data directory (the local store,
/// SQLite's default, and staging files) and attachments kept in the database (PostgreSQL's
/// default store), by storage key.
async fn stored_objects(app: &TestApp) -> Vec<String> {
    use sea_orm::{EntityTrait, QuerySelect};
    let mut out: Vec<String> = stored_files(app)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let keys: Vec<String> = casebridge_persistence::entities::attachment_chunks::Entity::find()
        .select_only()
        .column(casebridge_persistence::entities::attachment_chunks::Column::StorageKey)
        .distinct()
        .into_tuple()
        .all(app.db.reader())
        .await
        .unwrap();
    out.extend(keys);
    out
}

#[tokio::test]
async fn an_upload_downloads_again_byte_for_byte_with_its_hash() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..200_000u32).map(|i| (i % 251) as u8));
    let res = upload(
        &app,
        &w.reseller.token,
        &case,
        "../../screen shot: error.png",
        png.clone(),
    )
    .await;
    res.assert_status(201);
    let attachment = res.body.clone();
    assert_eq!(attachment["content_type"], "image/png");
    assert_eq!(attachment["size_bytes"], png.len());
    assert_eq!(attachment["sha256"], hex::encode(Sha256::digest(&png)));
    assert_eq!(attachment["filename"], "screen shot error.png");
    assert_eq!(attachment["uploader"]["party"], "partner");
    let id = attachment["id"].as_str().unwrap();
    let download = app
        .get_as(
            &w.reseller,
            &format!("/v1/cases/{case}/attachments/{id}/content"),
        )
        .await;
    download.assert_status(200);
    assert_eq!(download.bytes, png);
    // Served as opaque bytes whatever they are, so that nothing renders them in place; their
    // type is in the metadata.
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        download.header("content-length"),
        Some(png.len().to_string())
    );
    assert_eq!(
        download.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    // The customer sees what its partner attached.
    app.get_as(
        &w.customer_admin,
        &format!("/v1/cases/{case}/attachments/{id}/content"),
    )
    .await
    .assert_status(200);
    let listed = app
        .get_as(&w.reseller, &format!("/v1/cases/{case}/attachments"))
        .await;
    assert_eq!(listed.body["total_size"], 1);
    assert_eq!(listed.body["attachments"][0]["id"], id);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_leaves_no_file_and_no_row() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    // Just over the limit: passes the declared-length check, caught while streaming.
    let limit = usize::try_from(app.settings.attachment_max_bytes).unwrap();
    upload(
        &app,
        &w.reseller.token,
        &case,
        "big.bin",
        vec![7u8; limit + 1],
    )
    .await
    .assert_problem(413, "attachment_too_large");
    // Far over the limit: refused before a byte is read.
    upload(
        &app,
        &w.reseller.token,
        &case,
        "huge.bin",
        vec![7u8; limit * 3],
    )
    .await
    .assert_problem(413, "attachment_too_large");
    let stored = stored_objects(&app).await;
    assert!(stored.is_empty(), "{stored:?}");
    let listed = app
        .get_as(&w.reseller, &format!("/v1/cases/{case}/attachments"))
        .await;
    assert_eq!(listed.body["total_size"], 0);
    // Exactly at the limit is fine.
    upload(&app, &w.reseller.token, &case, "edge.bin", vec![7u8; limit])
        .await
        .assert_status(201);
}

#[tokio::test]
async fn another_domain_gets_404_for_attachments() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    let res = upload(
        &app,
        &w.reseller.token,
        &case,
        "log.txt",
        b"line one\nline two\n".to_vec(),
    )
    .await;
    res.assert_status(201);
    assert_eq!(res.body["content_type"], "text/plain");
    let id = res.body["id"].as_str().unwrap();
    app.get_as(
        &w.other_reseller,
        &format!("/v1/cases/{case}/attachments/{id}/content"),
    )
    .await
    .assert_problem(404, "not_found");
    app.get_as(&w.other_reseller, &format!("/v1/cases/{case}/attachments"))
        .await
        .assert_problem(404, "not_found");
    upload(&app, &w.other_reseller.token, &case, "x.txt", b"x".to_vec())
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn partners_cannot_remove_attachments_and_support_can_with_the_removal_in_the_timeline() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    let res = upload(
        &app,
        &w.reseller.token,
        &case,
        "secret.txt",
        b"oops".to_vec(),
    )
    .await;
    let id = res.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/cases/{case}/attachments/{id}");
    for who in [&w.reseller, &w.customer_admin] {
        app.api
            .delete(&path)
            .token(&who.token)
            .send()
            .await
            .assert_problem(403, "attachment_removal_requires_support");
    }
    assert_eq!(stored_objects(&app).await.len(), 1);
    app.api
        .delete(&format!("/v1/provider/cases/{case}/attachments/{id}"))
        .token(&w.provider.token)
        .send()
        .await
        .assert_status(204);
    assert!(stored_objects(&app).await.is_empty());
    app.get_as(&w.reseller, &format!("{path}/content"))
        .await
        .assert_problem(404, "not_found");
    let events = app
        .get_as(&w.reseller, &format!("/v1/cases/{case}/events"))
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
            "case.attachment_added",
            "case.attachment_removed"
        ]
    );
}

#[tokio::test]
async fn a_case_holds_a_limited_number_of_attachments_and_a_closed_case_takes_none() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    for i in 0..app.settings.attachments_per_case {
        upload(
            &app,
            &w.reseller.token,
            &case,
            &format!("{i}.txt"),
            b"x".to_vec(),
        )
        .await
        .assert_status(201);
    }
    upload(
        &app,
        &w.reseller.token,
        &case,
        "one-more.txt",
        b"x".to_vec(),
    )
    .await
    .assert_problem(409, "attachment_limit_reached");
    let other = case_of(&app, &w).await;
    app.post_as(&w.reseller, &format!("/v1/cases/{other}/close"), json!({}))
        .await
        .assert_status(200);
    upload(&app, &w.reseller.token, &other, "late.txt", b"x".to_vec())
        .await
        .assert_problem(409, "case_closed");
}

#[tokio::test]
async fn a_body_that_is_not_a_form_with_a_file_is_a_problem() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    app.api
        .post(&format!("/v1/cases/{case}/attachments"))
        .token(&w.reseller.token)
        .json(&json!({"file": "not like this"}))
        .send()
        .await
        .assert_problem(415, "unsupported_media_type");
    let form = Form::new().text("note", "no file here");
    app.api
        .post(&format!("/v1/cases/{case}/attachments"))
        .token(&w.reseller.token)
        .multipart(form)
        .send()
        .await
        .assert_problem(422, "invalid_request");
    // The form takes exactly one part, named file, as JSON bodies take no unknown fields.
    let file = || Part::bytes(&b"log"[..]).file_name("a.txt");
    for (form, field, code) in [
        (
            Form::new().part("file", file()).text("note", "extra"),
            "note",
            "unknown_field",
        ),
        (
            Form::new().part("file", file()).part("file", file()),
            "file",
            "duplicate",
        ),
    ] {
        let refused = app
            .api
            .post(&format!("/v1/cases/{case}/attachments"))
            .token(&w.reseller.token)
            .multipart(form)
            .send()
            .await;
        refused.assert_problem(422, "invalid_request");
        assert_eq!(refused.body["errors"][0]["field"], field);
        assert_eq!(refused.body["errors"][0]["code"], code);
    }
    assert!(stored_objects(&app).await.is_empty());
}

#[tokio::test]
async fn an_upload_retried_with_its_idempotency_key_is_stored_once() {
    let app = spawn_app().await;
    let w = app.world().await;
    let case = case_of(&app, &w).await;
    let send = |bytes: &'static [u8]| {
        let form = Form::new().part("file", Part::bytes(bytes).file_name("a.txt"));
        app.api
            .post(&format!("/v1/cases/{case}/attachments"))
            .token(&w.reseller.token)
            .header("idempotency-key", "upload-1")
            .multipart(form)
            .send()
    };
    let first = send(b"same bytes").await;
    first.assert_status(201);
    let again = send(b"same bytes").await;
    again.assert_status(201);
    assert_eq!(again.body["id"], first.body["id"]);
    send(b"other bytes")
        .await
        .assert_problem(409, "idempotency_key_reused");
    assert_eq!(stored_objects(&app).await.len(), 1);
}
