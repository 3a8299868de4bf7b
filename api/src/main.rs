//! The `casebridge` binary: `serve` (the default), `migrate`, `openapi`.

use std::process::ExitCode;

use casebridge_api::settings::SettingsArgs;
use casebridge_api::{Application, openapi, telemetry};
use casebridge_persistence::Database;
use clap::{Parser, Subcommand, ValueEnum};

/// casebridge: file and manage support cases on your customers' behalf.
#[derive(Debug, Parser)]
#[command(name = "casebridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create the first provider domain and its super admin; prints a one-time password when
    /// no password is given.
    Bootstrap {
        /// The provider domain's name, e.g. `support.casebridge.internal`.
        #[arg(long)]
        domain: String,
        /// The super admin's email, an address of that domain.
        #[arg(long)]
        email: String,
        /// The super admin's password (12..=128 characters); omit to get a one-time password.
        #[arg(long, env = "CASEBRIDGE_BOOTSTRAP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The super admin's display name.
        #[arg(long, default_value = "Provider administrator")]
        display_name: String,
    },
    /// Import domains, users, customers and cases exported from the old support center
    /// (JSON Lines; see docs/legacy-import.md). All or nothing, and idempotent.
    ImportLegacy {
        /// The export file.
        file: std::path::PathBuf,
        /// Check everything and report what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill an empty database with a small world to try the API with (partners, customers on
    /// every support tier, cases in every status); prints how to sign in.
    Demo,
    /// Fill an empty database with a large data set, in bulk, for benchmarks.
    Seed {
        /// How many cases.
        #[arg(long)]
        cases: u64,
        /// Over how many reseller domains (`reseller-NNN.seed.example`).
        #[arg(long, default_value_t = 100)]
        resellers: u64,
        /// Over how many customers, spread evenly over the resellers.
        #[arg(long, default_value_t = 10_000)]
        customers: u64,
        /// Comments per case.
        #[arg(long, default_value_t = 3)]
        comments_per_case: u64,
        /// The password of every reseller domain's super admin (`admin@<domain>`).
        #[arg(long, env = "CASEBRIDGE_SEED_PASSWORD", hide_env_values = true)]
        password: String,
        /// Seed of the random choices: the same seed makes the same data set.
        #[arg(long, default_value_t = 1)]
        random_seed: u64,
    },
    /// Copy this deployment (its database and its attachments) into an empty database,
    /// PostgreSQL or another SQLite file, then verify the copy; for moving from SQLite to
    /// PostgreSQL. Stop the service first: on SQLite its file is locked while it runs.
    CopyData {
        /// The target database's URL (`postgres://…` or `sqlite://…`); it must be empty.
        #[arg(long)]
        to: String,
        /// For an SQLite target: the data directory its attachments go to (default: the
        /// directory of its database file).
        #[arg(long)]
        to_data_dir: Option<std::path::PathBuf>,
    },
    /// Ask the running service's `/healthz` (for container health checks); exit 0 when up.
    Healthcheck,
    /// Print the OpenAPI document.
    Openapi {
        /// Output format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: DocFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DocFormat {
    Yaml,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Openapi { format }) => return print_openapi(*format),
        Some(Command::Healthcheck) => return healthcheck(cli.settings.bind),
        _ => {}
    }
    telemetry::init(cli.settings.log_format);
    let settings = match cli.settings.resolve() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "invalid settings");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::ImportLegacy { file, dry_run } => {
                import_legacy(settings, &file, dry_run).await
            }
            Command::Bootstrap {
                domain,
                email,
                password,
                display_name,
            } => {
                bootstrap(
                    settings,
                    &domain,
                    &email,
                    password.as_deref(),
                    &display_name,
                )
                .await
            }
            Command::Demo => demo(settings).await,
            Command::CopyData { to, to_data_dir } => copy_data(settings, to, to_data_dir).await,
            Command::Seed {
                cases,
                resellers,
                customers,
                comments_per_case,
                password,
                random_seed,
            } => {
                seed(
                    settings,
                    casebridge_api::commands::seed::SeedOptions {
                        cases,
                        resellers,
                        customers,
                        comments_per_case,
                        password,
                        random_seed,
                        progress: std::io::IsTerminal::is_terminal(&std::io::stderr())
                            || std::env::var_os("CASEBRIDGE_PROGRESS").is_some(),
                    },
                )
                .await
            }
            Command::Openapi { .. } | Command::Healthcheck => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: casebridge_api::Settings) -> Result<(), String> {
    let bind = settings.bind;
    let database = redact(&settings.database_url);
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(%bind, port = app.port(), %database, "casebridge is serving; docs at /docs");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn migrate(settings: casebridge_api::Settings) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    tracing::info!("migrations applied");
    db.close().await;
    Ok(())
}

async fn bootstrap(
    settings: casebridge_api::Settings,
    domain: &str,
    email: &str,
    password: Option<&str>,
    display_name: &str,
) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let created =
        casebridge_api::provisioning::bootstrap(&db, domain, email, password, display_name)
            .await
            .map_err(|e| e.to_string())?;
    db.close().await;
    println!(
        "Created the provider domain {} with its super admin {}.",
        created.domain.name, created.admin.email
    );
    match created.one_time_password {
        Some(otp) => println!(
            "One-time password: {otp}\nSign in with POST /v1/auth/token and change it with POST /v1/me/password."
        ),
        None => println!("Sign in with POST /v1/auth/token."),
    }
    Ok(())
}

async fn import_legacy(
    settings: casebridge_api::Settings,
    file: &std::path::Path,
    dry_run: bool,
) -> Result<(), String> {
    use std::io::IsTerminal;
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let options = casebridge_api::commands::import::Options {
        dry_run,
        progress: std::io::stderr().is_terminal()
            || std::env::var_os("CASEBRIDGE_PROGRESS").is_some(),
    };
    let result = casebridge_api::commands::import::run(&db, file, options).await;
    db.close().await;
    let summary = result
        .map_err(|e| format!("import-legacy {}: {e}; nothing was written", file.display()))?;
    print!("{}", summary.report(dry_run));
    Ok(())
}

async fn copy_data(
    settings: casebridge_api::Settings,
    to: String,
    to_data_dir: Option<std::path::PathBuf>,
) -> Result<(), String> {
    use std::io::IsTerminal;
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let store = casebridge_api::storage::for_deployment(
        &settings.attachment_store,
        &db,
        settings.data_dir.join("attachments"),
    )
    .map_err(|e| format!("attachment storage: {e}"))?;
    let target = casebridge_api::commands::copy_data::Target {
        url: to.clone(),
        data_dir: to_data_dir,
    };
    let progress =
        std::io::stderr().is_terminal() || std::env::var_os("CASEBRIDGE_PROGRESS").is_some();
    let result = casebridge_api::commands::copy_data::run(
        &db,
        store.as_ref(),
        &settings.data_dir.join("attachments"),
        &target,
        progress,
    )
    .await;
    db.close().await;
    let summary = result.map_err(|e| format!("copy-data to {}: {e}", redact(&to)))?;
    print!("{}", summary.report());
    Ok(())
}

async fn demo(settings: casebridge_api::Settings) -> Result<(), String> {
    let bind = settings.bind;
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let result = casebridge_api::commands::seed::demo(&db, time::OffsetDateTime::now_utc()).await;
    db.close().await;
    let world = result.map_err(|e| format!("demo: {e}"))?;
    println!(
        "The demo world is ready: {} cases. Every account's password: {}\n",
        world.cases, world.password
    );
    for s in &world.sign_ins {
        println!("  {:<48} domain {:<28} email {}", s.role, s.domain, s.email);
    }
    println!(
        "\nStart the service (casebridge serve), open http://{bind}/docs, sign in with \
         POST /v1/auth/token {{\"domain\", \"email\", \"password\"}} and use the token with Authorize."
    );
    Ok(())
}

async fn seed(
    settings: casebridge_api::Settings,
    options: casebridge_api::commands::seed::SeedOptions,
) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, &settings.pool)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let result = casebridge_api::commands::seed::seed(&db, &options).await;
    db.close().await;
    let s = result.map_err(|e| format!("seed: {e}"))?;
    println!(
        "Seeded {} reseller domains ({} … {}), {} customers, {} cases with {} comments in {:.1} s.",
        s.resellers,
        casebridge_api::commands::seed::seed_reseller_domain(0),
        casebridge_api::commands::seed::seed_reseller_domain(s.resellers - 1),
        s.customers,
        s.cases,
        s.comments,
        s.seconds
    );
    Ok(())
}

fn print_openapi(format: DocFormat) -> ExitCode {
    let text = match format {
        DocFormat::Yaml => openapi::openapi_yaml(),
        DocFormat::Json => openapi::openapi()
            .to_pretty_json()
            .map_err(|e| e.to_string()),
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot render the OpenAPI document: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A plain HTTP/1.0 request to `/healthz`: the runtime image needs no curl.
fn healthcheck(bind: std::net::SocketAddr) -> ExitCode {
    use std::io::{Read, Write};
    use std::time::Duration;
    let mut addr = bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unhealthy: /healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
