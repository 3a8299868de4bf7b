//! What a hostile tester found (issue 14): forged page tokens, unbounded token lifetimes,
//! unknown critical JWT extensions, throttled answers without their headers, one-time
//! passwords, malformed requests answered by the HTTP layer, format characters in names,
//! sign-in timing, provider least privilege and returning customers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_tests::spawn_app;

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
    app.get_as(&w.reseller, &format!("/v1/cases?page_size=1&page_token={token}"))
        .await
        .assert_status(200);
    let (payload, tag) = token.split_once('.').unwrap();
    let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
    for len in [1, 2, 16, tag.len() - 1] {
        let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..len]));
        app.get_as(&w.reseller, &format!("/v1/cases?page_size=1&page_token={short}"))
            .await
            .assert_problem(400, "invalid_page_token");
    }
}
