//! The one query layer for both backends.
//!
//! Every query is written once, with `$n` placeholders that PostgreSQL and SQLite both accept,
//! and runs on whichever pool is live through [`on_db!`]. Instants are UTC seconds (`i64`).
//! Invariants live in the database: capacity is a conditional increment, codes and
//! idempotency keys are unique per tenant.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod audit;
pub mod bookings;
pub mod outbox;
pub mod pairing;
pub mod policies;
pub mod queue;
pub mod staff;
pub mod tenants;
pub mod usage_events;

pub use audit::*;
pub use bookings::*;
pub use outbox::*;
pub use pairing::*;
pub use policies::*;
pub use queue::*;
pub use staff::*;
pub use tenants::*;

// Staff operations on bookings, personal-data rights and complaints (issue 5, phase B).
pub mod complaints;
pub mod events;
pub mod gauges;
pub mod personal_data;
pub mod staff_bookings;

pub use complaints::*;
pub use events::*;
pub use personal_data::*;
pub use staff_bookings::*;

/// A tenant's database id. Every store function that touches tenant data takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub i64);

/// Whose rows a query may see: the platform's (operators, platform audit; `tenant_id` NULL)
/// or one tenant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Platform,
    Tenant(TenantId),
}

impl Scope {
    /// The value bound as `$1` in queries built with [`Scope::cond`].
    pub fn tenant_id(self) -> Option<i64> {
        match self {
            Scope::Platform => None,
            Scope::Tenant(t) => Some(t.0),
        }
    }

    /// The condition on `column` that keeps a query inside the scope; the scope is bound as `$1`
    /// (`tenant_id()`), so both variants take the same parameters.
    pub(crate) fn cond(self, column: &str) -> String {
        match self {
            Scope::Platform => format!("{column} IS NULL AND CAST($1 AS BIGINT) IS NULL"),
            Scope::Tenant(_) => format!("{column} = $1"),
        }
    }
}

/// The live database.
#[derive(Debug, Clone)]
pub enum Db {
    Pg(PgPool),
    /// SQLite has one writer at a time; a one-connection write pool queues writers in-process
    /// instead of letting them fail on the file lock, while readers use WAL snapshots.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
}

/// Runs the same body on the writer of whichever backend is live.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Pg($pool) => $body,
            $crate::Db::Sqlite { write: $pool, .. } => $body,
        }
    };
}

/// Runs the same read-only body on a reader of whichever backend is live.
#[macro_export]
macro_rules! on_read {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Pg($pool) => $body,
            $crate::Db::Sqlite { read: $pool, .. } => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("slot is full")]
    SlotFull,
    #[error("not found")]
    NotFound,
    #[error("unique key {0} taken")]
    Unique(&'static str),
    #[error("state changed concurrently")]
    Conflict,
    #[error("unsupported DATABASE_URL: {0}")]
    BadUrl(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The database could not be reached or went away (an outage, a restart, a full pool),
    /// as opposed to a query it refused: the request may succeed when tried again later.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: connection exceptions (class 08), shutting down or starting up (57P0x).
            sqlx::Error::Database(d) => d
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
            _ => false,
        }
    }
}

/// Maps a unique violation on one of `keys` to `StoreError::Unique(key)`.
pub(crate) fn unique(e: sqlx::Error, keys: &[&'static str]) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            let hay = format!("{} {}", d.constraint().unwrap_or(""), d.message());
            for k in keys {
                if hay.contains(k) {
                    return StoreError::Unique(k);
                }
            }
        }
    }
    StoreError::Db(e)
}

/// How long a request waits for a PostgreSQL connection: when the database is down, the
/// answer is `SERVICE_UNAVAILABLE` well before the request timeout.
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Db {
    /// Opens (and for SQLite creates) the database and applies the migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await?;
            Db::Pg(pool)
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts.read_only(false))
                .await?;
            Db::Sqlite { write, read }
        } else {
            return Err(StoreError::BadUrl(
                url.split(':').next().unwrap_or("").to_string(),
            ));
        };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Pg(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
            Db::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite").run(write).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgres",
            Db::Sqlite { .. } => "sqlite",
        }
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p) => p.close().await,
            Db::Sqlite { write, read } => {
                write.close().await;
                read.close().await;
            }
        }
    }
}
