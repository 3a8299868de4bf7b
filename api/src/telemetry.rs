//! Logging: pretty for a terminal, JSON when asked; `RUST_LOG` filters.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry};

use crate::settings::LogFormat;

/// The filter used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_server=warn";

/// Installs the global subscriber; a second call (as in tests) is a no-op.
pub fn init(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").unwrap_or_default();
    let _ = subscriber(format, &filter, std::io::stderr).try_init();
}

/// The subscriber [`init`] installs: `filter` in `RUST_LOG` syntax ([`DEFAULT_FILTER`] when
/// empty or unusable), writing to `writer` (tests capture what it says).
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = Some(filter)
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let output = tracing_subscriber::fmt::layer()
        .with_span_events(FmtSpan::NONE)
        .with_writer(writer);
    let output = match format {
        LogFormat::Pretty => output.compact().boxed(),
        LogFormat::Json => output
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    Registry::default()
        .with(filter)
        .with(output)
        .with(HttpLayerErrors)
}

/// Where actix-http's HTTP/1 dispatcher logs; it says `ERROR` for every request it could not
/// parse (too many headers, a negative `Content-Length` …) and answers such requests itself,
/// before any of our code runs.
const DISPATCHER: &str = "actix_http::h1::dispatcher";

/// Restates the dispatcher's errors at the level they deserve: a malformed or abandoned request
/// is the client's doing and logged at `INFO` (an anonymous client must not be able to flood
/// the error log), anything else stays an `ERROR`. Both under the `casebridge::http` target;
/// the original event is dropped.
struct HttpLayerErrors;

impl HttpLayerErrors {
    /// Whether the dispatcher's message describes a client's mistake or departure.
    fn caused_by_client(message: &str) -> bool {
        let error = message.strip_prefix("stream error: ").unwrap_or(message);
        [
            "request parse error",
            "request did not complete within the specified timeout",
            "I/O error",
            "handler dropped payload before reading EOF",
        ]
        .iter()
        .any(|client| error.starts_with(client))
    }
}

impl<S: Subscriber> Layer<S> for HttpLayerErrors {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if meta.target() != DISPATCHER || *meta.level() != Level::ERROR {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let message = message.0;
        if Self::caused_by_client(&message) {
            tracing::info!(target: "casebridge::http", error = %message, "malformed request refused by the HTTP layer");
        } else {
            tracing::error!(target: "casebridge::http", error = %message, "HTTP connection failed");
        }
        false
    }
}

/// An event's `message` field.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_told_from_server_failures() {
        for client in [
            "stream error: request parse error: request head is too large",
            "stream error: request parse error: invalid content length",
            "stream error: request did not complete within the specified timeout",
            "stream error: I/O error: connection reset by peer",
        ] {
            assert!(HttpLayerErrors::caused_by_client(client), "{client}");
        }
        for server in [
            "stream error: service error",
            "Response payload stream error: disk gone",
            "stream error: internal error",
        ] {
            assert!(!HttpLayerErrors::caused_by_client(server), "{server}");
        }
    }
}
