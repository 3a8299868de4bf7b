//! The sender against real local HTTP servers: a tokio listener answering with hand-written
//! HTTP/1.1, which records what it received and how many connections it saw.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::*;
use crate::webhooks::secret::{Secret, sign};

const MSG_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const TIMESTAMP: i64 = 1_674_087_231;
const BODY: &[u8] = br#"{"type":"case.created","data":{"case_id":"c_1"}}"#;

/// One request as the receiver saw it.
#[derive(Debug)]
struct Received {
    /// Header names lowercased.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A local endpoint: its address, how many connections reached it, what it received.
struct Receiver {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/hook", self.addr.port())
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Starts an endpoint on 127.0.0.1:0 answering every request with `response`, or never
/// answering when it is `None`.
async fn serve(response: Option<Vec<u8>>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let (sent, requests) = mpsc::unbounded_channel();
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(socket, response.clone(), sent.clone()));
        }
    });
    Receiver {
        addr,
        connections,
        requests,
    }
}

/// Reads one request, records it, and writes `response` (or holds the connection open).
async fn answer(
    mut socket: TcpStream,
    response: Option<Vec<u8>>,
    sent: mpsc::UnboundedSender<Received>,
) {
    let received = read_request(&mut socket).await;
    sent.send(received).unwrap();
    match response {
        Some(bytes) => {
            // The client may hang up after 1 KB of a large answer; that is its right.
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Reads a request head and its `content-length` body.
async fn read_request(socket: &mut TcpStream) -> Received {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the client closed before sending a whole head");
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the client closed before sending the whole body");
        body.extend_from_slice(&chunk[..read]);
    }
    Received { headers, body }
}

/// A whole HTTP/1.1 answer with `status`, extra header lines and `body`.
fn response(status: &str, headers: &str, body: &[u8]) -> Option<Vec<u8>> {
    let head = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    Some([head.as_bytes(), body].concat())
}

fn sender(allow_local: bool) -> Sender {
    Sender::new(Policy { allow_local }).unwrap()
}

async fn deliver(sender: &Sender, url: &str) -> Attempt {
    sender
        .deliver(url, MSG_ID, TIMESTAMP, "v1,c2ln", BODY)
        .await
}

fn reason(attempt: &Attempt) -> &str {
    match &attempt.outcome {
        Outcome::Failed { reason } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Gives a connection that might have been opened a moment to be counted.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_literal_loopback_address_is_refused_without_connecting() {
    let receiver = serve(response("200 OK", "", b"")).await;
    let url = format!("https://127.0.0.1:{}/hook", receiver.addr.port());

    let attempt = deliver(&sender(false), &url).await;
    settle().await;

    assert!(
        reason(&attempt).contains("127.0.0.1 is a loopback address"),
        "{attempt:?}"
    );
    assert_eq!(attempt.status, None);
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn plain_http_is_refused_without_connecting_unless_local_is_allowed() {
    let receiver = serve(response("200 OK", "", b"")).await;

    let attempt = deliver(&sender(false), &receiver.url("127.0.0.1")).await;
    settle().await;

    assert!(reason(&attempt).contains("must use https"), "{attempt:?}");
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_the_resolver_without_connecting() {
    let receiver = serve(response("200 OK", "", b"")).await;
    let url = format!("https://localhost:{}/hook", receiver.addr.port());

    let attempt = deliver(&sender(false), &url).await;
    settle().await;

    let reason = reason(&attempt);
    assert!(
        reason.contains("localhost does not resolve to public addresses only"),
        "{attempt:?}"
    );
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn a_2xx_is_delivered_with_the_signed_headers_and_the_exact_body() {
    let mut receiver = serve(response("200 OK", "", b"thanks")).await;
    let signature = sign(&[Secret::generate()], MSG_ID, TIMESTAMP, BODY);

    let attempt = sender(true)
        .deliver(
            &receiver.url("127.0.0.1"),
            MSG_ID,
            TIMESTAMP,
            &signature,
            BODY,
        )
        .await;

    assert_eq!(attempt.outcome, Outcome::Delivered);
    assert_eq!(attempt.status, Some(200));
    assert_eq!(attempt.response_excerpt, "thanks");
    let seen = receiver.requests.recv().await.unwrap();
    assert_eq!(seen.body, BODY);
    assert_eq!(seen.headers["webhook-id"], MSG_ID);
    assert_eq!(seen.headers["webhook-timestamp"], "1674087231");
    assert_eq!(seen.headers["webhook-signature"], signature);
    assert_eq!(seen.headers["content-type"], "application/json");
    assert_eq!(seen.headers["user-agent"], USER_AGENT);
}

#[tokio::test]
async fn a_name_is_resolved_and_delivered_to_when_local_is_allowed() {
    let receiver = serve(response("204 No Content", "", b"")).await;

    let attempt = deliver(&sender(true), &receiver.url("localhost")).await;

    assert_eq!(attempt.outcome, Outcome::Delivered, "{attempt:?}");
    assert_eq!(receiver.connections(), 1);
}

#[tokio::test]
async fn a_500_fails_with_its_status_and_body() {
    let receiver = serve(response("500 Internal Server Error", "", b"boom")).await;

    let attempt = deliver(&sender(true), &receiver.url("127.0.0.1")).await;

    assert_eq!(attempt.status, Some(500));
    assert_eq!(attempt.response_excerpt, "boom");
    assert!(reason(&attempt).contains("500"), "{attempt:?}");
}

#[tokio::test]
async fn a_410_is_reported_as_gone() {
    let receiver = serve(response("410 Gone", "", b"")).await;

    let attempt = deliver(&sender(true), &receiver.url("127.0.0.1")).await;

    assert_eq!(attempt.outcome, Outcome::Gone);
    assert_eq!(attempt.status, Some(410));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let target = serve(response("200 OK", "", b"")).await;
    let location = format!("location: {}\r\n", target.url("127.0.0.1"));
    let receiver = serve(response("302 Found", &location, b"")).await;

    let attempt = deliver(&sender(true), &receiver.url("127.0.0.1")).await;
    settle().await;

    assert_eq!(attempt.status, Some(302));
    assert_eq!(reason(&attempt), "redirect not followed");
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn a_large_answer_keeps_exactly_1024_bytes() {
    let receiver = serve(response("200 OK", "", &[b'a'; 100 * 1024])).await;

    let attempt = deliver(&sender(true), &receiver.url("127.0.0.1")).await;

    assert_eq!(attempt.outcome, Outcome::Delivered);
    assert_eq!(attempt.response_excerpt.len(), 1024);
    assert!(attempt.response_excerpt.bytes().all(|b| b == b'a'));
}

#[tokio::test]
async fn a_silent_endpoint_fails_after_the_timeout() {
    let receiver = serve(None).await;
    let sender = Sender::with_timeout(Policy { allow_local: true }, Duration::from_millis(300));
    let started = Instant::now();

    let attempt = deliver(&sender.unwrap(), &receiver.url("127.0.0.1")).await;

    assert!(reason(&attempt).contains("timed out"), "{attempt:?}");
    assert_eq!(attempt.status, None);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(receiver.connections(), 1);
}

#[tokio::test]
async fn a_closed_port_fails_as_a_connection_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);

    let attempt = deliver(&sender(true), &format!("http://127.0.0.1:{port}/hook")).await;

    assert!(
        reason(&attempt).starts_with("connection failed"),
        "{attempt:?}"
    );
}

#[test]
fn an_excerpt_never_splits_a_character() {
    // "€" is three bytes: 341 of them fill 1,023 bytes and the 342nd is cut after one byte.
    let text = "€".repeat(400);

    let excerpt = excerpt_text(&text.as_bytes()[..EXCERPT_LIMIT]);

    assert_eq!(excerpt.len(), 1023);
    assert_eq!(excerpt, "€".repeat(341));
}

#[test]
fn an_excerpt_marks_invalid_bytes_and_stays_within_the_limit() {
    // U+FFFD takes three bytes where the invalid byte took one: the text is cut again.
    let mut bytes = vec![b'a'; 1000];
    bytes.push(0xff);
    bytes.extend_from_slice(&[b'b'; 23]);

    let excerpt = excerpt_text(&bytes);

    assert_eq!(excerpt.len(), EXCERPT_LIMIT);
    assert_eq!(
        excerpt,
        format!("{}\u{fffd}{}", "a".repeat(1000), "b".repeat(21))
    );
}
