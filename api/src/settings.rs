//! Configuration: one `Settings` struct, read from `CASEBRIDGE_*` environment variables and
//! flags, with defaults that run on a laptop (embedded SQLite under `./data`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use casebridge_persistence::PoolSettings;
use clap::{Args, ValueEnum};

use crate::auth::jwt::{SigningKey, check_token_ttl};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The flags and environment variables every command shares.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "CASEBRIDGE_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Database URL: `sqlite://…` or `postgres://…`. Also read from `DATABASE_URL`.
    /// Default: an SQLite file in the data directory.
    #[arg(long, env = "CASEBRIDGE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database, the generated signing key and attachments.
    #[arg(
        long,
        env = "CASEBRIDGE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Log format.
    #[arg(
        long,
        env = "CASEBRIDGE_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// JWT signing keys as `kid:secret` pairs separated by commas; the first signs, all verify
    /// (so a key can be rotated). Secrets need at least 32 characters. Default: a random key
    /// generated on first start and kept in the data directory.
    #[arg(
        long,
        env = "CASEBRIDGE_JWT_KEYS",
        global = true,
        hide_env_values = true
    )]
    pub jwt_keys: Option<String>,

    /// The `iss` claim of issued tokens.
    #[arg(
        long,
        env = "CASEBRIDGE_JWT_ISSUER",
        default_value = "casebridge",
        global = true
    )]
    pub jwt_issuer: String,

    /// Lifetime of issued tokens, in seconds.
    #[arg(
        long,
        env = "CASEBRIDGE_TOKEN_TTL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub token_ttl_secs: u64,

    /// Most database connections in the pool (the reader pool, on SQLite; on PostgreSQL the
    /// instance's total, half of them for the reads outside transactions).
    #[arg(
        long,
        env = "CASEBRIDGE_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Database connections kept open while idle.
    #[arg(
        long,
        env = "CASEBRIDGE_DB_MIN_CONNECTIONS",
        default_value_t = 1,
        global = true
    )]
    pub db_min_connections: u32,

    /// Seconds a request waits for a free database connection.
    #[arg(
        long,
        env = "CASEBRIDGE_DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,

    /// Largest JSON request body accepted, in bytes.
    #[arg(
        long,
        env = "CASEBRIDGE_JSON_LIMIT_BYTES",
        default_value_t = 1_048_576,
        global = true
    )]
    pub json_limit_bytes: usize,

    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "CASEBRIDGE_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Largest attachment accepted, in bytes.
    #[arg(long, env = "CASEBRIDGE_ATTACHMENT_MAX_BYTES", default_value_t = 50 * 1024 * 1024, global = true)]
    pub attachment_max_bytes: u64,

    /// Most attachments one case holds.
    #[arg(
        long,
        env = "CASEBRIDGE_ATTACHMENTS_PER_CASE",
        default_value_t = 100,
        global = true
    )]
    pub attachments_per_case: u64,

    /// SMTP server that sends case mail; without one, mail waits in the outbox.
    #[arg(long, env = "CASEBRIDGE_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,

    /// SMTP port; default 25 without TLS, 587 with STARTTLS, 465 with TLS.
    #[arg(long, env = "CASEBRIDGE_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,

    /// SMTP user name.
    #[arg(long, env = "CASEBRIDGE_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,

    /// SMTP password.
    #[arg(
        long,
        env = "CASEBRIDGE_SMTP_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub smtp_password: Option<String>,

    /// SMTP transport security.
    #[arg(
        long,
        env = "CASEBRIDGE_SMTP_TLS",
        value_enum,
        default_value = "starttls",
        global = true
    )]
    pub smtp_tls: SmtpTls,

    /// The sender of case mail.
    #[arg(
        long,
        env = "CASEBRIDGE_MAIL_FROM",
        default_value = "casebridge <casebridge@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Seconds a mail worker holds the mail it claimed; renewed every third of it while the
    /// worker sends, so it only runs out when the worker is gone.
    #[arg(
        long,
        env = "CASEBRIDGE_MAIL_LEASE_SECS",
        default_value_t = 15,
        global = true
    )]
    pub mail_lease_secs: u64,

    /// Seconds between looks for first-response targets that have passed their due time
    /// (each breach is recorded on its case's timeline within this long, by one instance).
    #[arg(
        long,
        env = "CASEBRIDGE_BREACH_SWEEP_SECS",
        default_value_t = 20,
        global = true
    )]
    pub breach_sweep_secs: u64,

    /// Where attachments' bytes live: `local` (files under the data directory; the default on
    /// SQLite), `database` (in the database, reached by every instance; the default on
    /// PostgreSQL) or `s3://bucket/prefix` (an S3-compatible object store, configured by the
    /// usual `AWS_*` variables).
    #[arg(long, env = "CASEBRIDGE_ATTACHMENT_STORE", value_parser = parse_store, global = true)]
    pub attachment_store: Option<AttachmentStoreKind>,

    /// For development and tests only: lets webhooks use `http://` and local or private
    /// addresses (`true`/`false`). The service warns at start while it is set.
    #[arg(
        long,
        env = "CASEBRIDGE_WEBHOOKS_ALLOW_LOCAL",
        default_value = "false",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set,
        global = true
    )]
    pub webhooks_allow_local: bool,
}

/// Where attachments' bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentStoreKind {
    /// Files under the data directory: one instance's disk.
    Local,
    /// The database itself, in chunks: shared by every instance.
    Database,
    /// An S3-compatible object store: `s3://bucket/prefix`.
    S3(String),
}

fn parse_store(raw: &str) -> Result<AttachmentStoreKind, String> {
    match raw {
        "local" => Ok(AttachmentStoreKind::Local),
        "database" => Ok(AttachmentStoreKind::Database),
        url if url.starts_with("s3://") && url.len() > "s3://".len() => {
            Ok(AttachmentStoreKind::S3(url.to_owned()))
        }
        other => Err(format!(
            "{other:?} is not an attachment store: use local, database or s3://bucket/prefix"
        )),
    }
}

/// The attachment store asked for, or the backend's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentStoreChoice(pub Option<AttachmentStoreKind>);

impl AttachmentStoreChoice {
    /// The store to use on `backend`: as configured, else the local directory on SQLite and
    /// the database on PostgreSQL (several instances share it).
    pub fn resolve(&self, backend: casebridge_persistence::Backend) -> AttachmentStoreKind {
        self.0.clone().unwrap_or(match backend {
            casebridge_persistence::Backend::Sqlite => AttachmentStoreKind::Local,
            casebridge_persistence::Backend::Postgres => AttachmentStoreKind::Database,
        })
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Upgrade with STARTTLS (submission, port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where case mail is sent.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Credentials.
    pub credentials: Option<(String, String)>,
    /// Transport security.
    pub tls: SmtpTls,
}

/// Everything the service needs to start, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Signing keys; the first signs.
    pub jwt_keys: Vec<SigningKey>,
    /// `iss` of issued tokens.
    pub jwt_issuer: String,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Database pool.
    pub pool: PoolSettings,
    /// Largest JSON body.
    pub json_limit_bytes: usize,
    /// HTTP worker threads.
    pub workers: Option<usize>,
    /// Largest attachment, in bytes.
    pub attachment_max_bytes: u64,
    /// Most attachments per case.
    pub attachments_per_case: u64,
    /// Where mail goes; `None` keeps it in the outbox.
    pub smtp: Option<SmtpSettings>,
    /// The sender of case mail.
    pub mail_from: String,
    /// How long a mail worker's claim lasts unless renewed.
    pub mail_lease: Duration,
    /// How often breaches of first-response targets are looked for.
    pub breach_sweep: Duration,
    /// Where attachments' bytes live.
    pub attachment_store: AttachmentStoreChoice,
    /// Whether webhooks may use `http://` and local addresses (development and tests).
    pub webhooks_allow_local: bool,
}

/// Why settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The data directory or key file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl SettingsArgs {
    /// Resolves defaults that depend on the environment: the database URL falls back to
    /// `DATABASE_URL` and then to an SQLite file in the data directory; the signing key to
    /// one generated and kept there.
    pub fn resolve(self) -> Result<Settings, SettingsError> {
        let database_url = self
            .database_url
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| default_sqlite_url(&self.data_dir));
        let jwt_keys = match &self.jwt_keys {
            Some(spec) => SigningKey::parse_list(spec).map_err(SettingsError::Invalid)?,
            None => vec![load_or_create_key(&self.data_dir)?],
        };
        if !(1..=60).contains(&self.breach_sweep_secs) {
            return Err(SettingsError::Invalid(
                "CASEBRIDGE_BREACH_SWEEP_SECS must be from 1 to 60".to_owned(),
            ));
        }
        if self.mail_lease_secs < 3 {
            return Err(SettingsError::Invalid(
                "CASEBRIDGE_MAIL_LEASE_SECS must be at least 3".to_owned(),
            ));
        }
        let token_ttl = Duration::from_secs(self.token_ttl_secs);
        check_token_ttl(token_ttl).map_err(SettingsError::Invalid)?;
        Ok(Settings {
            bind: self.bind,
            database_url,
            data_dir: self.data_dir,
            log_format: self.log_format,
            jwt_keys,
            jwt_issuer: self.jwt_issuer,
            token_ttl,
            pool: PoolSettings {
                max_connections: self.db_max_connections,
                min_connections: self.db_min_connections,
                acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs),
            },
            json_limit_bytes: self.json_limit_bytes,
            workers: self.workers,
            attachment_max_bytes: self.attachment_max_bytes,
            attachments_per_case: self.attachments_per_case,
            smtp: self
                .smtp_host
                .filter(|h| !h.is_empty())
                .map(|host| SmtpSettings {
                    port: self.smtp_port.unwrap_or(match self.smtp_tls {
                        SmtpTls::None => 25,
                        SmtpTls::Starttls => 587,
                        SmtpTls::Tls => 465,
                    }),
                    host,
                    credentials: self.smtp_username.zip(self.smtp_password),
                    tls: self.smtp_tls,
                }),
            mail_from: self.mail_from,
            mail_lease: Duration::from_secs(self.mail_lease_secs),
            breach_sweep: Duration::from_secs(self.breach_sweep_secs),
            attachment_store: AttachmentStoreChoice(self.attachment_store),
            webhooks_allow_local: self.webhooks_allow_local,
        })
    }
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("casebridge.db").display()
    )
}

const KEY_FILE: &str = "jwt-signing.key";

/// Reads the generated signing key from the data directory, creating it (mode 0600) on first
/// start so that tokens survive a restart.
fn load_or_create_key(data_dir: &Path) -> Result<SigningKey, SettingsError> {
    let io = |context: String| move |source| SettingsError::Io { context, source };
    std::fs::create_dir_all(data_dir).map_err(io(format!(
        "creating the data directory {}",
        data_dir.display()
    )))?;
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => SigningKey::parse(text.trim()).map_err(|e| {
            SettingsError::Invalid(format!("the key file {} is unusable: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate();
            write_private_file(&path, &key.to_spec())
                .map_err(io(format!("writing the key file {}", path.display())))?;
            tracing::info!(path = %path.display(), kid = %key.kid(), "generated a JWT signing key");
            Ok(key)
        }
        Err(e) => Err(io(format!("reading the key file {}", path.display()))(e)),
    }
}

/// Writes a file only its owner can read, without a window where it is readable by others.
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_generated_key_is_kept_with_owner_only_permissions_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_key(dir.path()).unwrap();
        let second = load_or_create_key(dir.path()).unwrap();
        assert_eq!(first.kid(), second.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
