//! The schema's migrations, embedded per backend and applied by diesel_migrations at start.
//!
//! A database made before the store moved to diesel records its migrations in sqlx's table
//! (`_sqlx_migrations`, with a SHA-384 of each file). On first start it is carried over: when
//! every migration it lists is one of ours, applied and unchanged, those versions are written
//! to diesel's table (`__diesel_schema_migrations`) and the rest run as usual. A database that
//! lists a migration this build does not know, a failed one, or one whose text differs is
//! refused with a message that says what to do; nothing is re-created or dropped.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use sha2::{Digest, Sha384};

use crate::{Checked, Result, SqliteConnection, StoreError};

pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

macro_rules! include_texts {
    ($backend:literal) => {
        [
            (
                1,
                include_str!(concat!("../migrations/", $backend, "/0001_core/up.sql")),
            ),
            (
                2,
                include_str!(concat!("../migrations/", $backend, "/0002_policies/up.sql")),
            ),
            (
                3,
                include_str!(concat!("../migrations/", $backend, "/0003_staff/up.sql")),
            ),
            (
                4,
                include_str!(concat!("../migrations/", $backend, "/0004_queue/up.sql")),
            ),
            (
                5,
                include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0005_staff_ops/up.sql"
                )),
            ),
            (
                6,
                include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0006_links_and_desks/up.sql"
                )),
            ),
            (
                7,
                include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0007_outbox_claims/up.sql"
                )),
            ),
            (
                8,
                include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0008_pairing_codes/up.sql"
                )),
            ),
        ]
    };
}
/// The migrations' texts as sqlx saw them, by version, for the carry-over's checksum.
const POSTGRES_TEXTS: &[(i64, &str)] = &include_texts!("postgres");
const SQLITE_TEXTS: &[(i64, &str)] = &include_texts!("sqlite");

/// Applies PostgreSQL's pending migrations on a connection taken out of the pool.
pub(crate) async fn run_pg(conn: Checked<AsyncPgConnection>) -> Result<()> {
    let conn = conn.take();
    tokio::task::spawn_blocking(move || {
        let mut sync: AsyncConnectionWrapper<AsyncPgConnection> = conn.into();
        // One start at a time: replicas starting together wait for the first one's migrations.
        sync.batch_execute("SELECT pg_advisory_lock(7268431)")?;
        let done = apply(&mut sync, POSTGRES, POSTGRES_TEXTS, Backend::Pg);
        sync.batch_execute("SELECT pg_advisory_unlock(7268431)")?;
        done
    })
    .await
    .map_err(|e| StoreError::Migrate(e.to_string()))?
}

/// Applies SQLite's pending migrations on the writer.
pub(crate) async fn run_sqlite(mut conn: Checked<SqliteConnection>) -> Result<()> {
    let done = conn
        .spawn_blocking(|sync| {
            Ok(apply(sync, SQLITE, SQLITE_TEXTS, Backend::Sqlite).map_err(|e| e.to_string()))
        })
        .await?;
    done.map_err(StoreError::Migrate)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Pg,
    Sqlite,
}

fn apply<C>(
    conn: &mut C,
    source: EmbeddedMigrations,
    texts: &[(i64, &str)],
    backend: Backend,
) -> Result<()>
where
    C: CarryOver + MigrationHarness<C::Backend>,
    EmbeddedMigrations: MigrationSource<C::Backend>,
{
    conn.carry_over(texts, backend)?;
    conn.run_pending_migrations(source)
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(())
}

/// The carry-over, written once and expanded for each backend's synchronous connection.
trait CarryOver: Connection {
    fn carry_over(&mut self, texts: &[(i64, &str)], backend: Backend) -> Result<()>;
}

macro_rules! carry_over_on {
    ($conn:ty) => {
        impl CarryOver for $conn {
            fn carry_over(&mut self, texts: &[(i64, &str)], backend: Backend) -> Result<()> {
                carry_over_body!(self, texts, backend)
            }
        }
    };
}

#[derive(QueryableByName)]
struct Present {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct SqlxMigration {
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Bool)]
    success: bool,
    #[diesel(sql_type = Text)]
    checksum: String,
}

/// Writes the versions a sqlx-made database applied into diesel's table, once.
macro_rules! carry_over_body {
    ($conn:expr, $texts:expr, $backend:expr) => {{
    let conn = $conn;
    let texts: &[(i64, &str)] = $texts;
    let backend: Backend = $backend;
    // Text, not the DSL: the catalogue and sqlx's table are not in schema.rs, and the names
    // put into the text are this function's own constants.
    let table_exists = |conn: &mut Self, name: &str| -> Result<bool> {
        let sql = match backend {
            Backend::Pg => format!(
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Backend::Sqlite => format!(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
            ),
        };
        let rows: Vec<Present> = diesel::sql_query(sql).load(conn)?;
        Ok(rows.first().is_some_and(|r| r.n > 0))
    };
    if !table_exists(conn, "_sqlx_migrations")? || table_exists(conn, "__diesel_schema_migrations")? {
        return Ok(());
    }
    // sqlx keeps the checksum as bytes; both backends can show it as hex text.
    let checksum = match backend {
        Backend::Pg => "encode(checksum, 'hex')",
        Backend::Sqlite => "lower(hex(checksum))",
    };
    let applied: Vec<SqlxMigration> = diesel::sql_query(format!(
        "SELECT version, success, {checksum} AS checksum FROM _sqlx_migrations ORDER BY version"
    ))
    .load(conn)?;
    for m in &applied {
        let Some((_, text)) = texts.iter().find(|(v, _)| *v == m.version) else {
            return Err(StoreError::Migrate(format!(
                "the database has migration {} applied, which this build of okienko does not know: \
                 run the okienko release that made it, or a newer one",
                m.version
            )));
        };
        if !m.success {
            return Err(StoreError::Migrate(format!(
                "migration {} failed earlier in this database; restore it from the backup taken \
                 before the upgrade, then start again",
                m.version
            )));
        }
        let ours = hex(&Sha384::digest(text.as_bytes()));
        if ours != m.checksum {
            return Err(StoreError::Migrate(format!(
                "migration {} in this database differs from this build's; the database was not \
                 made by an okienko release, so it is not carried over",
                m.version
            )));
        }
    }
    conn.transaction::<_, StoreError, _>(|conn| {
        conn.batch_execute(
            "CREATE TABLE __diesel_schema_migrations (\
             version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )?;
        for m in &applied {
            conn.batch_execute(&format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('{:04}')",
                m.version
            ))?;
        }
        Ok(())
    })?;
    tracing::info!(
        migrations = applied.len(),
        "carried the migrations of a sqlx-made database over to diesel"
    );
    Ok(())
}};
}

carry_over_on!(AsyncConnectionWrapper<AsyncPgConnection>);
carry_over_on!(diesel::SqliteConnection);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
