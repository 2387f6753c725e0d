//! `okienko`: serve (the default), migrate, import tenants, print the schema or the error codes,
//! set up the demo cities' staff and devices.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use okienko_server::{import, prepare, serve, Config};

#[derive(Parser)]
#[command(
    name = "okienko",
    version,
    about = "Rezerwacja wizyt i kolejka w urzędach miast"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage tenants.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Print a GraphQL schema's SDL.
    Schema {
        #[arg(value_enum, default_value = "public")]
        which: SchemaKind,
    },
    /// Print the documentation of every error code (`docs/error-codes.md`).
    Codes,
    /// Manage platform users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// City policy scripts (P-6).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// For each demo city: an administrator and a clerk with generated passwords, and pairing
    /// links for a kiosk, a hall display and a door display; prints where to open each.
    Demo {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Run the cases in `<dir>/tests/*.toml` against `<dir>/policy.rhai`; non-zero exit on a failure.
    Test { dir: PathBuf },
    /// Compile `<file>`, run the tests beside it (`tests/*.toml`), and only if all pass make it the
    /// tenant's active policy; otherwise the old version stays active.
    Activate {
        tenant: String,
        file: PathBuf,
        /// Recorded as the version's author.
        #[arg(long, default_value = "cli")]
        author: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemaKind {
    /// `/t/{slug}/graphql`
    Public,
    /// `/t/{slug}/admin/graphql`
    Admin,
    /// `/platform/graphql`
    Platform,
    /// `/t/{slug}/kiosk/graphql`
    Kiosk,
    /// `/t/{slug}/desk/graphql`
    Desk,
    /// `/t/{slug}/display/graphql` and `/t/{slug}/display/ws`
    Display,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a platform operator and print its generated password once; refused when the
    /// login exists.
    CreateOperator {
        /// The operator's e-mail address.
        login: String,
        /// The name shown in the audit log (the login by default).
        #[arg(long)]
        name: Option<String>,
        /// Print `{ "id", "login", "password" }` as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Import `<dir>/tenant.toml` or every `<dir>/*/tenant.toml`, all or nothing; re-running is harmless.
    Import { dir: PathBuf },
}

/// Logging and tracing are set up before the runtime starts, and the traces flushed after it
/// stopped (`telemetry`: the exporter's blocking client must not live on an async thread).
fn main() -> std::process::ExitCode {
    // Before anything logs: a bad format is refused before the server starts.
    let format = match okienko_server::config::LogFormat::from_env() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("okienko: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let traces = match okienko_server::telemetry::Traces::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("okienko: OTEL_EXPORTER_OTLP_ENDPOINT: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    init_logs(format, traces.as_ref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("okienko: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match run(Cli::parse()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("okienko: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    });
    drop(runtime);
    if let Some(t) = traces {
        t.shutdown();
    }
    code
}

/// The log lines on stderr (human or JSON), and the spans to OTLP when traces are exported.
fn init_logs(
    format: okienko_server::config::LogFormat,
    traces: Option<&okienko_server::telemetry::Traces>,
) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tokio_postgres=warn"));
    let otel = traces.map(|t| tracing_opentelemetry::layer().with_tracer(t.tracer()));
    let logs = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        okienko_server::config::LogFormat::Human => logs
            .with(fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
            .init(),
        okienko_server::config::LogFormat::Json => logs
            .with(fmt.json().with_current_span(true).with_span_list(true))
            .init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(Config::from_env()?).await,
        Command::Migrate => {
            let cfg = Config::from_env()?;
            std::fs::create_dir_all(&cfg.data_dir)?;
            let db = okienko_store::Db::connect(&cfg.database_url).await?;
            println!("migrated ({})", db.backend());
            Ok(())
        }
        Command::Tenants {
            command: TenantsCommand::Import { dir },
        } => {
            let cfg = Config {
                policies_dir: PathBuf::from("/nonexistent"),
                ..Config::from_env()?
            };
            let (db, clock) = prepare(&cfg).await?;
            for (slug, outcome) in
                import::import_dir(&db, &dir, clock.now().timestamp(), true).await?
            {
                println!("{slug}: {outcome:?}");
            }
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Test { dir },
        } => {
            let engine = okienko_policy::PolicyEngine::new(okienko_policy::Limits::default());
            let report = okienko_policy::testing::run_dir(&engine, &dir)?;
            println!("{report}");
            if !report.ok() || report.passed.is_empty() {
                anyhow::bail!("policy tests failed for {}", dir.display());
            }
            Ok(())
        }
        Command::Policy {
            command:
                PolicyCommand::Activate {
                    tenant,
                    file,
                    author,
                },
        } => {
            let cfg = Config {
                policies_dir: PathBuf::from("/nonexistent"),
                ..Config::from_env()?
            };
            let (db, clock) = prepare(&cfg).await?;
            let app = okienko_server::build_app(&cfg, db, clock).await?;
            let t = app
                .catalog
                .get(&tenant)
                .ok_or_else(|| anyhow::anyhow!("no tenant {tenant:?}"))?;
            let source = std::fs::read_to_string(&file)?;
            let tests = okienko_policy::testing::read_tests(
                &file
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("tests"),
            )?;
            let now = app.clock.now().timestamp();
            let (row, report) = okienko_app::policy_host::activate(
                &app.db,
                &app.policies,
                t.id,
                &t.cfg,
                &source,
                &tests,
                &author,
                now,
            )
            .await?;
            println!("{report}");
            println!(
                "{tenant}: policy version {} active ({})",
                row.version, row.hash
            );
            Ok(())
        }
        Command::Schema { which } => {
            print!(
                "{}",
                match which {
                    SchemaKind::Public => okienko_graphql::public::sdl(),
                    SchemaKind::Admin => okienko_graphql::admin::sdl(),
                    SchemaKind::Platform => okienko_graphql::platform::sdl(),
                    SchemaKind::Kiosk => okienko_graphql::kiosk::sdl(),
                    SchemaKind::Desk => okienko_graphql::desk::sdl(),
                    SchemaKind::Display => okienko_graphql::display::sdl(),
                }
            );
            Ok(())
        }
        Command::Codes => {
            print!("{}", okienko_domain::codes::markdown());
            Ok(())
        }
        Command::Users {
            command: UsersCommand::CreateOperator { login, name, json },
        } => {
            let cfg = Config {
                policies_dir: PathBuf::from("/nonexistent"),
                ..Config::from_env()?
            };
            let (db, clock) = prepare(&cfg).await?;
            let name = name.unwrap_or_else(|| login.clone());
            let (user, password) =
                okienko_app::auth::create_operator(&db, clock.now().timestamp(), &login, &name)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let v = serde_json::json!({ "id": user.id.to_string(), "login": user.login, "password": password });
                println!("{v}");
            } else {
                println!("operator {} created (id {})", user.login, user.id);
                println!("password: {password}");
                println!("The password is shown only now; log in at /platform/graphql.");
            }
            Ok(())
        }
        Command::Demo { json } => {
            let cfg = Config::from_env()?;
            let (db, clock) = prepare(&cfg).await?;
            let app = okienko_server::build_app(&cfg, db, clock).await?;
            let base = cfg.public_url.trim_end_matches('/').to_string();
            let v = okienko_server::demo::run(&app, &cfg.policies_dir, &base).await?;
            if json {
                println!("{v}");
            } else {
                print!("{}", okienko_server::demo::text(&v));
            }
            Ok(())
        }
    }
}
