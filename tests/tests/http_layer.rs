//! Requests that actix-http refuses itself, before any of our code runs (more than 96
//! headers, a negative `Content-Length`): what the client hears and what the log says.
//! A test binary of its own, because it installs the process's log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casebridge_api::settings::LogFormat;
use casebridge_tests::spawn_app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Everything the service logs, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends raw bytes on a fresh connection and returns the answer's status line.
async fn raw(address: &str, request: String) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn requests_the_http_layer_refuses_are_logged_below_error() {
    let log = Captured::default();
    let writer = log.clone();
    tracing::subscriber::set_global_default(casebridge_api::telemetry::subscriber(
        LogFormat::Json,
        "info",
        move || writer.clone(),
    ))
    .unwrap();
    let app = spawn_app().await;
    let headers: String = (0..100).map(|i| format!("x-filler-{i}: {i}\r\n")).collect();
    let too_many = raw(
        &app.address,
        format!("GET /healthz HTTP/1.1\r\nhost: casebridge\r\n{headers}\r\n"),
    )
    .await;
    assert!(too_many.starts_with("HTTP/1.1 431"), "{too_many}");
    let negative = raw(
        &app.address,
        "POST /v1/auth/token HTTP/1.1\r\nhost: casebridge\r\ncontent-type: application/json\r\ncontent-length: -1\r\n\r\n{}"
            .to_owned(),
    )
    .await;
    assert!(negative.starts_with("HTTP/1.1 400"), "{negative}");
    // A well-formed request still answers, and is logged as before.
    app.api.get("/healthz").send().await.assert_status(200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let said = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let events: Vec<serde_json::Value> = said
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let refused: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["message"] == "malformed request refused by the HTTP layer")
        .collect();
    assert_eq!(refused.len(), 2, "{said}");
    assert!(refused.iter().all(|e| e["level"] == "INFO"), "{said}");
    assert!(
        events.iter().all(|e| e["level"] != "ERROR"),
        "an anonymous client's mistake reached the error log: {said}"
    );
    assert!(events.iter().any(|e| e["message"] == "answered"), "{said}");
}
