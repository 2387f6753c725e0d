//! `okienko`: serve (the default), migrate, import tenants, print the schema.

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
    /// Print a GraphQL schema's SDL (public).
    Schema,
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Import `<dir>/tenant.toml` or every `<dir>/*/tenant.toml`, all or nothing; re-running is harmless.
    Import { dir: PathBuf },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("okienko: {e:#}");
            std::process::ExitCode::FAILURE
        }
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
        Command::Schema => {
            print!("{}", okienko_api::public::sdl());
            Ok(())
        }
    }
}
