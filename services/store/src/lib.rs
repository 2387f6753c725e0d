//! The one query layer for both backends.
//!
//! Every query is written once, with `$n` placeholders that PostgreSQL and SQLite both accept,
//! and runs on whichever pool is live through [`on_db!`]. Instants are UTC seconds (`i64`).
//! Invariants live in the database: capacity is a conditional increment, codes and
//! idempotency keys are unique per tenant.

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

pub mod migrations;
pub mod schema;
pub mod seats;

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
    /// The tenant column's value in the scope (NULL for the platform).
    pub fn tenant_id(self) -> Option<i64> {
        match self {
            Scope::Platform => None,
            Scope::Tenant(t) => Some(t.0),
        }
    }
}

/// A pooled PostgreSQL connection's pool.
pub type PgPool = Pool<AsyncPgConnection>;
/// diesel's SQLite connection is synchronous; the wrapper runs its queries on the blocking pool.
pub type SqliteConnection = SyncConnectionWrapper<diesel::SqliteConnection>;
pub type SqlitePool = Pool<SqliteConnection>;

/// The live database.
#[derive(Clone)]
pub enum Db {
    Pg(PgPool),
    /// SQLite has one writer at a time; a one-connection write pool queues writers in-process
    /// instead of letting them fail on the file lock, while readers use WAL snapshots.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.backend())
    }
}

/// One borrowed connection of either backend, for a step that a query's body hands on (an
/// outbox row written inside a booking's transaction): the step expands its query per backend
/// with [`on_conn!`], or matches to write a statement that only one backend understands.
pub enum Conn<'a> {
    Pg(&'a mut AsyncPgConnection),
    Sqlite(&'a mut SqliteConnection),
}

/// Both connection types, so that a body expanded per backend can hand its connection on.
pub trait AnyConn: AsyncConnection + Send {
    fn conn(&mut self) -> Conn<'_>;
}

impl AnyConn for AsyncPgConnection {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Pg(self)
    }
}

impl AnyConn for SqliteConnection {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Sqlite(self)
    }
}

/// Runs the same body, written once in diesel's DSL, on the writer of whichever backend is
/// live: `$c` is a `&mut` connection of the concrete type, so each arm is type-checked and
/// compiled for its backend. A connection that cannot be had returns `StoreError::Unavailable`
/// from the enclosing function.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::Db::Pg(pool) => {
                let mut conn = $crate::checkout(pool).await?;
                let $c = &mut *conn;
                $body
            }
            $crate::Db::Sqlite { write, .. } => {
                let mut conn = $crate::checkout(write).await?;
                let $c = &mut *conn;
                $body
            }
        }
    };
}

/// [`on_db!`] on a reader: on SQLite a connection of the read pool (a WAL snapshot).
#[macro_export]
macro_rules! on_read {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::Db::Pg(pool) => {
                let mut conn = $crate::checkout(pool).await?;
                let $c = &mut *conn;
                $body
            }
            $crate::Db::Sqlite { read, .. } => {
                let mut conn = $crate::checkout(read).await?;
                let $c = &mut *conn;
                $body
            }
        }
    };
}

/// Runs `$body` (a block that may `.await` and `?`, returning `Result<T, StoreError>`) in one
/// transaction on the writer: committed when it returns `Ok`, rolled back on `Err`. A request
/// cancelled inside it drops the connection: the pool discards a connection whose transaction
/// is still open, and the database rolls the transaction back when the connection closes.
#[macro_export]
macro_rules! in_tx {
    ($db:expr, $c:ident => $body:block) => {
        $crate::on_db!($db, conn => {
            $crate::__private::AsyncConnection::transaction::<_, $crate::StoreError, _>(
                conn,
                async |$c| $body,
            )
            .await
        })
    };
}

/// Expands `$body` for the connection behind a [`Conn`].
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::Conn::Pg($c) => $body,
            $crate::Conn::Sqlite($c) => $body,
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use diesel_async::AsyncConnection;
}

/// A connection from `pool`; when none can be had in time, the database is unavailable.
#[doc(hidden)]
pub async fn checkout<C>(pool: &Pool<C>) -> Result<Checked<C>>
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
    <AsyncDieselConnectionManager<C> as deadpool::managed::Manager>::Error: std::fmt::Display,
{
    match pool.get().await {
        Ok(conn) => Ok(Checked(Some(conn))),
        Err(e) => Err(StoreError::Unavailable(e.to_string())),
    }
}

/// A pooled connection that is closed, not given back, when it is dropped inside a
/// transaction (a request cancelled mid-way): the pool would keep it idle with the
/// transaction open, and its locks held, until its next checkout; closed, the database rolls
/// the transaction back at once.
#[doc(hidden)]
pub struct Checked<C>(Option<deadpool::managed::Object<AsyncDieselConnectionManager<C>>>)
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>;

impl<C> std::ops::Deref for Checked<C>
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    type Target = C;
    fn deref(&self) -> &C {
        self.0.as_ref().expect("present until dropped")
    }
}

impl<C> std::ops::DerefMut for Checked<C>
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    fn deref_mut(&mut self) -> &mut C {
        self.0.as_mut().expect("present until dropped")
    }
}

impl<C> Checked<C>
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    /// The connection, out of the pool for good (a listener's, the migrations').
    pub fn take(mut self) -> C {
        let conn = self.0.take().expect("present until dropped");
        deadpool::managed::Object::take(conn)
    }
}

impl<C> Drop for Checked<C>
where
    C: PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            if conn.is_broken() {
                drop(deadpool::managed::Object::take(conn));
            }
        }
    }
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
    Db(#[from] DieselError),
    /// No connection could be had: the database is down, restarting, or the pool is exhausted.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration: {0}")]
    Migrate(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The database could not be reached or went away (an outage, a restart, a full pool),
    /// as opposed to a query it refused: the request may succeed when tried again later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Db(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
                ) || is_shutdown_message(info.message())
            }
            StoreError::Db(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }
}

impl StoreError {
    /// The same error for another waiter on one shared answer (database errors are not
    /// `Clone`): its kind and whether the database is unavailable are kept, its text too.
    pub fn copy_of(&self) -> StoreError {
        match self {
            StoreError::SlotFull => StoreError::SlotFull,
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Unique(k) => StoreError::Unique(k),
            StoreError::Conflict => StoreError::Conflict,
            StoreError::BadUrl(u) => StoreError::BadUrl(u.clone()),
            StoreError::Migrate(m) => StoreError::Migrate(m.clone()),
            e if e.is_unavailable() => StoreError::Unavailable(e.to_string()),
            e => StoreError::Db(DieselError::QueryBuilderError(e.to_string().into())),
        }
    }
}

/// PostgreSQL's messages for its classes 08 and 57P0x (shutting down, starting up), which
/// diesel reports with no kind of their own.
fn is_shutdown_message(message: &str) -> bool {
    [
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "server closed the connection",
    ]
    .iter()
    .any(|s| message.contains(s))
}

/// Maps a unique violation on one of `keys` to `StoreError::Unique(key)`.
pub(crate) fn unique(e: DieselError, keys: &[&'static str]) -> StoreError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &e {
        // PostgreSQL names the constraint; SQLite names the columns in its message.
        let hay = format!(
            "{} {}",
            info.constraint_name().unwrap_or(""),
            info.message()
        );
        for k in keys {
            if hay.contains(k) {
                return StoreError::Unique(k);
            }
        }
    }
    StoreError::Db(e)
}

/// How long a request waits for a PostgreSQL connection: when the database is down, the
/// answer is `SERVICE_UNAVAILABLE` well before the request timeout.
pub const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections of the PostgreSQL pool.
pub const PG_POOL_SIZE: usize = 16;

impl Db {
    /// Opens (and for SQLite creates) the database and applies the migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Pg(pg_pool(url, PG_POOL_SIZE)?)
        } else if let Some(path) = sqlite_path(url) {
            Db::Sqlite {
                write: sqlite_pool(&path, 1, Duration::from_secs(30))?,
                read: sqlite_pool(&path, 8, Duration::from_secs(30))?,
            }
        } else {
            return Err(StoreError::BadUrl(
                url.split(':').next().unwrap_or("").to_string(),
            ));
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the pending migrations (a database made before the store moved to diesel is
    /// carried over first: see [`migrations`]).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Pg(pool) => migrations::run_pg(checkout(pool).await?).await,
            Db::Sqlite { write, .. } => migrations::run_sqlite(checkout(write).await?).await,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgres",
            Db::Sqlite { .. } => "sqlite",
        }
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, c => c.batch_execute("SELECT 1").await)?;
        Ok(())
    }

    /// Runs statements given as text, for tests and tools (no result rows).
    pub async fn batch_execute(&self, sql: &str) -> Result<()> {
        on_db!(self, c => c.batch_execute(sql).await)?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p) => p.close(),
            Db::Sqlite { write, read } => {
                write.close();
                read.close();
            }
        }
    }
}

/// The file of a `sqlite:` URL (`sqlite://path`, `sqlite:path`, with or without `?options`).
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty()).then(|| path.to_string())
}

fn pg_pool(url: &str, size: usize) -> Result<PgPool> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // A checkout costs no round trip: a connection that went away fails its first query, which
    // answers `SERVICE_UNAVAILABLE`, and the pool discards it.
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(PG_ACQUIRE_TIMEOUT))
        .create_timeout(Some(PG_ACQUIRE_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::BadUrl(e.to_string()))
}

/// Each SQLite connection: WAL with `synchronous = NORMAL` (a commit is durable at the next
/// checkpoint, never corrupt), a busy timeout for the readers beside the one writer, and
/// foreign keys enforced.
const SQLITE_SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
    PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

fn sqlite_pool(path: &str, size: usize, wait: Duration) -> Result<SqlitePool> {
    let mut config = ManagerConfig::<SqliteConnection>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(|path| {
        let path = path.to_string();
        Box::pin(async move {
            let mut conn = SqliteConnection::establish(&path).await?;
            conn.batch_execute(SQLITE_SETUP)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::new_with_config(path, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(wait))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::BadUrl(e.to_string()))
}
