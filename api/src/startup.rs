//! Building and running the application: one `Application::build(settings)`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use casebridge_persistence::{Backend, Database, PersistenceError};
use tokio_util::sync::CancellationToken;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::AuthCache;
use crate::auth::actor::AUTH_CACHE_TTL;
use crate::auth::actor::authenticate_first;
use crate::auth::jwt::{TokenService, check_token_ttl};
use crate::cases::breaches;
use crate::clock::{Clock, SystemClock};
use crate::extract::JsonLimit;
use crate::housekeeping;
use crate::mail::{Mailer, run_worker};
use crate::metrics::Metrics;
use crate::middleware::observe;
use crate::openapi::openapi;
use crate::pagination::PageTokens;
use crate::routes;
use crate::routes::fallback::{RouteTable, docs_redirect, not_routed, problem_type};
use crate::settings::Settings;
use crate::state::{AppState, AttachmentLimits, SignInThrottles};
use crate::storage;
use crate::webhooks::deliver;
use crate::webhooks::guard::Policy;
use crate::webhooks::send::Sender;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] PersistenceError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Attachment storage could not be prepared.
    #[error("attachment storage: {0}")]
    Storage(std::io::Error),
    /// The mail settings are unusable.
    #[error("mail: {0}")]
    Mail(String),
    /// The webhook client could not be built.
    #[error("webhooks: {0}")]
    Webhooks(String),
    /// Another setting is unusable.
    #[error("{0}")]
    Settings(String),
}

/// A background task (the mail worker, the clean-up): asked to stop when the server has
/// stopped (the mail worker then gives back its claims); aborted when dropped without that, as
/// a crash would end it.
struct BackgroundTask {
    handle: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
}

impl BackgroundTask {
    fn spawn<F>(task: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        Self {
            handle: tokio::spawn(task(stop.clone())),
            stop,
        }
    }
}

impl Drop for BackgroundTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// A built application, bound to its port, not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    background: Vec<BackgroundTask>,
}

impl Application {
    /// Connects and migrates the database, binds the address (port 0 picks a free port) and
    /// prepares the server.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with another clock (tests move time forward).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        // Settings built in code (tests, embedders) skip `SettingsArgs::resolve`; the bound on
        // token lifetimes holds for them too.
        check_token_ttl(settings.token_ttl).map_err(StartupError::Settings)?;
        let db = Database::connect(&settings.database_url, &settings.pool).await?;
        db.migrate().await?;
        let tokens = Arc::new(TokenService::new(
            &settings.jwt_keys,
            &settings.jwt_issuer,
            settings.token_ttl,
        ));
        let pages = PageTokens::new(
            settings
                .jwt_keys
                .first()
                .map(|k| k.secret())
                .unwrap_or_default(),
        );
        let attachments_dir = settings.data_dir.join("attachments");
        let store = storage::for_deployment(&settings.attachment_store, &db, attachments_dir)
            .map_err(StartupError::Storage)?;
        // SQLite serves one instance (its file is locked): its counts may live in the process.
        let sign_in = match db.backend() {
            Backend::Sqlite => SignInThrottles::in_process(),
            Backend::Postgres => SignInThrottles::shared(db.clone()),
        };
        let state = AppState {
            db,
            tokens,
            clock,
            auth_cache: Arc::new(AuthCache::new(AUTH_CACHE_TTL)),
            sign_in: Arc::new(sign_in),
            pages,
            store,
            attachments: AttachmentLimits {
                max_bytes: settings.attachment_max_bytes,
                per_case: settings.attachments_per_case,
            },
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            webhook_policy: Policy {
                allow_local: settings.webhooks_allow_local,
            },
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
        };
        if settings.webhooks_allow_local {
            tracing::warn!(
                "CASEBRIDGE_WEBHOOKS_ALLOW_LOCAL is set: webhooks may use http:// and local or private addresses; never set it in production"
            );
        }
        let sender =
            Sender::new(state.webhook_policy).map_err(|e| StartupError::Webhooks(e.to_string()))?;
        let mail_worker = match &settings.smtp {
            Some(smtp) => {
                let mailer = Mailer::new(smtp, &settings.mail_from).map_err(StartupError::Mail)?;
                tracing::info!(host = %smtp.host, port = smtp.port, "sending case mail over SMTP");
                let (worker_state, wake) = (state.clone(), state.mail_wake.clone());
                Some(BackgroundTask::spawn(|stop| {
                    run_worker(worker_state, mailer, wake, settings.mail_lease, stop)
                }))
            }
            None => {
                tracing::warn!(
                    "no SMTP server configured (CASEBRIDGE_SMTP_HOST): case mail is kept in the outbox until one is"
                );
                None
            }
        };
        let (cleanup_state, breach_state) = (state.clone(), state.clone());
        let (index_db, counts_db) = (state.db.clone(), state.db.clone());
        let (hook_state, hook_wake) = (state.clone(), state.webhook_wake.clone());
        let breach_sweep = settings.breach_sweep;
        let attachments_root = settings.data_dir.join("attachments");
        let background: Vec<BackgroundTask> = mail_worker
            .into_iter()
            .chain([
                BackgroundTask::spawn(|stop| {
                    housekeeping::run(cleanup_state, attachments_root, stop)
                }),
                BackgroundTask::spawn(|stop| housekeeping::merge_keyword_index(index_db, stop)),
                BackgroundTask::spawn(|stop| housekeeping::fold_seen_counts(counts_db, stop)),
                BackgroundTask::spawn(|stop| breaches::run(breach_state, breach_sweep, stop)),
                BackgroundTask::spawn(|stop| deliver::run(hook_state, sender, hook_wake, stop)),
            ])
            .collect();
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.bind,
                source,
            })?
            .port();
        let server = run(listener, state.clone(), &settings)?;
        Ok(Self {
            port,
            server,
            state,
            background,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (for commands that run beside the server).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is asked to stop; then the background tasks stop, the mail
    /// worker giving back the mail it claimed but did not send, so that another instance sends
    /// it without waiting for a lease.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let served = (&mut self.server).await;
        for task in &self.background {
            task.stop.cancel();
        }
        for task in &mut self.background {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut task.handle).await;
        }
        served
    }
}

fn run(
    listener: TcpListener,
    state: AppState,
    settings: &Settings,
) -> Result<Server, StartupError> {
    let metrics = web::Data::new(Metrics::new()?);
    let doc = openapi();
    let table = web::Data::new(RouteTable::from_openapi(
        &doc,
        &[
            ("/openapi.json", Method::GET),
            ("/docs", Method::GET),
            ("/docs/{tail:.*}", Method::GET),
            ("/problems/{code}", Method::GET),
        ],
    ));
    let state = web::Data::new(state);
    let json_limit = JsonLimit(settings.json_limit_bytes);
    let mut server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .configure(routes::configure)
            .split_for_parts();
        app.app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(table.clone())
            .app_data(json_limit)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
            .route("/docs", web::get().to(docs_redirect))
            .route("/problems/{code}", web::get().to(problem_type))
            .default_service(web::to(not_routed))
            .wrap(from_fn(authenticate_first))
            .wrap(from_fn(observe))
    })
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: settings.bind,
        source,
    })?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.run())
}
