//! A real SMTP server for the tests: Python's aiosmtpd, run as a separate process that writes
//! every message it accepts to a file. The Python tools the tests use (aiosmtpd, jsonschema) are
//! installed once into a virtual environment under `target/test-tools` (from PyPI) when the
//! machine lacks them.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools")
}

/// The Python packages the tests use, pinned: a real SMTP server, a JSON Schema validator, an
/// S3-compatible server (moto's server mode, a stand-in for Amazon S3) and an independent
/// verifier of Standard Webhooks signatures.
const PACKAGES: [&str; 4] = [
    "aiosmtpd==1.4.6",
    "jsonschema==4.23.0",
    "moto[server]==5.2.5",
    "standardwebhooks==1.1.0",
];

fn has_tools(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import aiosmtpd, jsonschema, moto.server, standardwebhooks",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python interpreter that has the test tools, installing them if need be.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(p) = std::env::var_os("CASEBRIDGE_TEST_PYTHON") {
            return PathBuf::from(p);
        }
        let venv = tools_dir().join("venv");
        let venv_python = venv.join("bin/python");
        if has_tools(&venv_python) {
            return venv_python;
        }
        let system = PathBuf::from("python3");
        if has_tools(&system) {
            return system;
        }
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            created,
            "could not create a Python virtual environment for aiosmtpd"
        );
        let installed = Command::new(&venv_python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES)
            .status()
            .is_ok_and(|s| s.success());
        assert!(installed, "could not install the test tools from PyPI");
        venv_python
    })
}

/// A running SMTP sink.
pub struct SmtpSink {
    port: u16,
    delay: Duration,
    file: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> Self {
        Self::start_slow(Duration::ZERO)
    }

    /// Starts a sink that takes `delay` to accept each message, as a slow relay does.
    pub fn start_slow(delay: Duration) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut sink = Self {
            port,
            delay,
            file: dir.path().join("mail.jsonl"),
            child: None,
            _dir: dir,
        };
        sink.resume();
        sink
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (the messages received so far stay readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn resume(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/smtp_sink.py");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut child = Command::new(python())
                .arg(&script)
                .arg(self.port.to_string())
                .arg(&self.file)
                .arg(self.delay.as_secs_f64().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the SMTP sink starts");
            let mut line = String::new();
            if let Some(out) = child.stdout.take() {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            if line.trim() == "ready" {
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            // The port may still be held by the previous process for a moment.
            assert!(Instant::now() < deadline, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most `timeout`), and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
