//! One delivery attempt: a signed POST to the endpoint over a client that refuses, at
//! connection time, any address the [`Policy`] forbids, follows no redirect and keeps at most
//! 1 KB of the answer.

use std::error::Error as _;
use std::time::Duration;

use reqwest13::dns::{Addrs, Name, Resolve, Resolving};
use reqwest13::header::CONTENT_TYPE;
use reqwest13::{Client, Response, StatusCode};

use super::guard::{Policy, Refusal};

/// How long one delivery may take, from connecting to the end of the answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long establishing the connection may take, within the delivery timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of the answer kept for the delivery log.
pub const EXCERPT_LIMIT: usize = 1024;

/// The `User-Agent` of every delivery.
const USER_AGENT: &str = concat!("casebridge-webhooks/", env!("CARGO_PKG_VERSION"));

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// At most [`EXCERPT_LIMIT`] bytes of the answer's body, cut on a character boundary.
    pub response_excerpt: String,
    /// Whether the event counts as delivered.
    pub outcome: Outcome,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// The endpoint answered `410 Gone`: the caller disables it.
    Gone,
    /// Anything else; `reason` says what (a status, a timeout, a connection error, a
    /// forbidden address, a redirect not followed).
    Failed {
        /// A sentence for the delivery log.
        reason: String,
    },
}

impl Attempt {
    /// An attempt that got no answer.
    fn failed(reason: impl Into<String>) -> Self {
        Self {
            status: None,
            response_excerpt: String::new(),
            outcome: Outcome::Failed {
                reason: reason.into(),
            },
        }
    }
}

/// The client could not be built (its TLS configuration, typically).
#[derive(Debug, thiserror::Error)]
#[error("could not build the webhook HTTP client: {0}")]
pub struct BuildError(#[source] reqwest13::Error);

/// Delivers webhooks; build one and share it, since it holds the connection pool.
#[derive(Debug, Clone)]
pub struct Sender {
    client: Client,
    policy: Policy,
    timeout: Duration,
}

impl Sender {
    /// A sender under `policy` with the production timeout of 10 s.
    pub fn new(policy: Policy) -> Result<Self, BuildError> {
        Self::with_timeout(policy, DELIVERY_TIMEOUT)
    }

    /// A sender under `policy` whose deliveries give up after `timeout`.
    pub fn with_timeout(policy: Policy, timeout: Duration) -> Result<Self, BuildError> {
        // TLS through rustls with ring, the provider the service builds (as storage.rs does);
        // an error only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .redirect(reqwest13::redirect::Policy::none())
            // A proxy would connect on our behalf, out of reach of the resolver below.
            .no_proxy()
            .https_only(!policy.allow_local)
            .dns_resolver(GuardedResolver { policy })
            .build()
            .map_err(BuildError)?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// POSTs `body` to `url` with the Standard Webhooks headers and reports the outcome; it
    /// never fails, since every failure is an outcome to record.
    #[tracing::instrument(name = "webhook_delivery", skip_all, fields(webhook_id = msg_id))]
    pub async fn deliver(
        &self,
        url: &str,
        msg_id: &str,
        timestamp: i64,
        signature: &str,
        body: &[u8],
    ) -> Attempt {
        // The resolver is not consulted for a literal IP address: check it here.
        let url = match self.policy.check_form(url) {
            Ok(url) => url,
            Err(refusal) => return Attempt::failed(refusal.message()),
        };
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        let attempt = match sent {
            Ok(response) => answered(response).await,
            Err(error) => Attempt::failed(self.describe(error)),
        };
        tracing::debug!(status = attempt.status, outcome = ?attempt.outcome, "webhook attempt");
        attempt
    }

    /// Why a request got no answer, in one sentence without the URL (which may hold a token).
    fn describe(&self, error: reqwest13::Error) -> String {
        let error = error.without_url();
        let mut causes = std::iter::successors(error.source(), |&e| e.source());
        if let Some(refusal) = causes.find_map(|e| e.downcast_ref::<Refusal>()) {
            return refusal.message().to_owned();
        }
        if error.is_timeout() {
            return format!("no answer within {:?} (timed out)", self.timeout);
        }
        let kind = if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        format!("{kind}: {}", chain(&error))
    }
}

/// The attempt for an answer: its status decides, and at most 1 KB of its body is kept.
async fn answered(response: Response) -> Attempt {
    let status = response.status();
    Attempt {
        status: Some(status.as_u16()),
        response_excerpt: read_excerpt(response).await,
        outcome: outcome_for(status),
    }
}

/// Delivered on 2xx, gone on 410, failed otherwise; redirects are never followed.
fn outcome_for(status: StatusCode) -> Outcome {
    if status.is_success() {
        return Outcome::Delivered;
    }
    if status == StatusCode::GONE {
        return Outcome::Gone;
    }
    let reason = if status.is_redirection() {
        "redirect not followed".to_owned()
    } else {
        format!("the endpoint answered {status}")
    };
    Outcome::Failed { reason }
}

/// Reads the body chunk by chunk and stops once [`EXCERPT_LIMIT`] bytes are in hand, so a
/// large answer is never read whole; a body cut short by an error keeps what arrived.
async fn read_excerpt(mut response: Response) -> String {
    let mut kept = Vec::with_capacity(EXCERPT_LIMIT);
    while kept.len() < EXCERPT_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = EXCERPT_LIMIT - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    excerpt_text(&kept)
}

/// The bytes as text of at most [`EXCERPT_LIMIT`] bytes: invalid UTF-8 becomes U+FFFD, and a
/// character cut by the limit at the end is dropped rather than mangled.
fn excerpt_text(bytes: &[u8]) -> String {
    let cut = bytes.len() >= EXCERPT_LIMIT;
    let mut text = String::with_capacity(bytes.len());
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        text.push_str(chunk.valid());
        // Invalid bytes ending a cut excerpt are a character the cut split, not bad data.
        let split_by_cut = cut && chunks.peek().is_none();
        if !chunk.invalid().is_empty() && !split_by_cut {
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    text.truncate(text.floor_char_boundary(EXCERPT_LIMIT));
    text
}

/// An error and its causes, joined with ": ".
fn chain(error: &reqwest13::Error) -> String {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |&e| e.source()) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text
}

/// The client's DNS resolver: resolves the name and refuses the connection when any address
/// is forbidden, so the addresses checked are the very ones connected to (no rebinding).
#[derive(Debug)]
struct GuardedResolver {
    policy: Policy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the connector puts the URL's port in its place.
            let addrs = policy.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
