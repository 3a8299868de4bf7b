//! An S3-compatible server for the tests: moto in server mode (from PyPI, installed with the
//! other Python test tools), run as a separate process on a free port. It stands in for Amazon
//! S3, which cannot be reached from here; what the tests check is that the service speaks the
//! S3 protocol (multipart uploads, ranged reads, deletes) through the `object_store` crate.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct S3Server {
    port: u16,
    child: Child,
}

impl S3Server {
    /// Starts one on a free port and waits until it answers.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(crate::smtp::python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if reqwest::get(server.url()).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("moto did not start");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto takes unsigned requests).
    pub async fn create_bucket(&self, name: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}/{name}", self.url()))
            .send()
            .await
            .expect("moto answers");
        assert!(
            res.status().is_success(),
            "creating the bucket: {}",
            res.status()
        );
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
