//! A real HTTP receiver for webhook tests: listens on 127.0.0.1, records every request it gets
//! (headers and exact body), and answers with the statuses a test scripts (200 once the script
//! runs out). Signatures are checked by `verify`, which hands what was received to the
//! `standardwebhooks` package from PyPI (tests/tools/verify_webhooks.py).

use std::collections::{HashMap, VecDeque};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// Headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// The exact body.
    pub body: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<(u16, Vec<u8>)>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    port: u16,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, shared).await;
                });
            }
        });
        Self { port, inner, task }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers the next requests with these statuses, in order (then 200 again).
    pub fn answer_with(&self, statuses: &[u16]) {
        for status in statuses {
            self.answer_once(*status, format!("status {status}").as_bytes());
        }
    }

    /// Answers the next request not yet scripted with this status and body.
    pub fn answer_once(&self, status: u16, body: &[u8]) {
        self.inner
            .lock()
            .expect("the receiver")
            .script
            .push_back((status, body.to_vec()));
    }

    /// What was received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("the receiver").received.clone()
    }

    /// Waits (up to 30 s) until `count` requests have come, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {count} webhook requests; got {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(mut stream: TcpStream, inner: Arc<Mutex<Inner>>) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).to_string();
    let status = {
        let mut inner = inner.lock().expect("the receiver");
        inner.received.push(Received {
            path,
            headers,
            body,
        });
        inner
            .script
            .pop_front()
            .unwrap_or_else(|| (200, b"status 200".to_vec()))
    };
    let (status, answer) = status;
    let head = format!(
        "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&answer).await?;
    stream.shutdown().await
}

/// Whether each request's signature verifies with `secret`, according to the
/// `standardwebhooks` package, on a receiver whose clock reads `now` (Unix seconds: the
/// service's clock, which the tests move): `Ok(())` or the package's refusal, one per request.
pub fn verify(secret: &str, requests: &[Received], now: i64) -> Vec<Result<(), String>> {
    let checks: Vec<Value> = requests
        .iter()
        .map(|r| {
            json!({
                "secret": secret,
                "headers": {
                    "webhook-id": r.header("webhook-id"),
                    "webhook-timestamp": r.header("webhook-timestamp"),
                    "webhook-signature": r.header("webhook-signature"),
                },
                "body": r.body,
                "now": now,
            })
        })
        .collect();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_webhooks.py");
    let mut child = Command::new(crate::smtp::python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the verifier starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("its stdin");
        stdin
            .write_all(Value::from(checks).to_string().as_bytes())
            .expect("the checks are written");
    }
    let output = child.wait_with_output().expect("the verifier ends");
    assert!(output.status.success(), "the verifier failed");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("its JSON answer");
    results
        .into_iter()
        .map(|r| match r {
            Value::Bool(true) => Ok(()),
            other => Err(other.to_string()),
        })
        .collect()
}
