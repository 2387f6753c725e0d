//! Test databases on both backends, and helpers for reading what the product sent.
//!
//! PostgreSQL, the first that answers:
//! 1. `TEST_DATABASE_URL`: what the developer or CI named wins;
//! 2. the local server on 127.0.0.1:5432 (user postgres, trust): already running, it costs
//!    nothing to start;
//! 3. a container from a Docker engine that answers and has `postgres:16-alpine`
//!    ([`container`]; never pulled, and without an engine this step fails at once);
//! 4. a throwaway cluster made with the local `initdb`/`pg_ctl` (kept under the temp dir and
//!    reused by later test processes): last, as it needs PostgreSQL's binaries installed.
//!
//! With none of these, Postgres tests fail when `OKIENKO_REQUIRE_POSTGRES=1` (CI) and are
//! skipped with a notice otherwise. Each test gets a database of its own, dropped when the test
//! ends.
#![allow(clippy::unwrap_used)]

pub mod answers;
pub mod container;
pub mod oidc_provider;
pub mod sql;

pub use answers::{assert_refused_without_dev, audit_actions, booking_code, status_retry_json};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection as PgConnection, SimpleAsyncConnection};
use okienko_store::Db;
use tokio::sync::OnceCell;

/// Generates `$sqlite` and `$postgres` tests that run `$scenario` (an `async fn(Db)`) on a
/// fresh database of each backend, for each `$scenario, $sqlite, $postgres;` given. The
/// `TestDb` lives until the end of the test (it drops its database on `Drop`). The calling
/// file needs `TestDb` in scope.
#[macro_export]
macro_rules! both {
    ($($scenario:ident, $sqlite:ident, $postgres:ident);+ $(;)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $sqlite() {
                let t = TestDb::sqlite().await;
                let db = t.connect().await;
                $scenario(db.clone()).await;
                db.close().await;
                drop(t);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $postgres() {
                let Some(t) = TestDb::postgres().await else {
                    return;
                };
                let db = t.connect().await;
                $scenario(db.clone()).await;
                db.close().await;
                drop(t);
            }
        )+
    };
}

/// The booking `id` as stored in `tenant`; panics when there is none.
pub async fn stored_booking(
    db: &Db,
    tenant: okienko_store::TenantId,
    id: i64,
) -> okienko_store::BookingRow {
    okienko_store::booking_by_id(db, tenant, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("booking {id} not stored"))
}

/// A confirmed online booking (no confirmation step) of `service_id` for `(start, end)`, made
/// at `now` by Jan Kowalski <jan@example.pl>, with no identities; a test changes what its
/// scenario needs with `NewBooking { …, ..confirmed_booking(…) }`.
pub fn confirmed_booking(
    tenant: okienko_store::TenantId,
    service_id: i64,
    code: &str,
    (slot_start, slot_end): (i64, i64),
    now: i64,
) -> okienko_store::NewBooking {
    okienko_store::NewBooking {
        tenant,
        service_id,
        code: code.to_string(),
        status: "confirmed",
        quota: "online",
        source: "online",
        slot_start,
        slot_end,
        client_name: Some("Jan Kowalski".to_string()),
        client_email: Some("jan@example.pl".to_string()),
        client_phone: None,
        fields_json: "{}".to_string(),
        terms_version: "2026-01".to_string(),
        consents_json: "[]".to_string(),
        confirmation_mode: "immediate",
        confirm_channel: None,
        confirm_secret_hash: None,
        confirm_expires_at: None,
        confirmed_at: Some(now),
        manage_token_hash: format!("manage-{code}"),
        manage_nonce: None,
        idempotency_key: None,
        request_hash: None,
        identities: Vec::new(),
        now,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        TestDb {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            drop_pg: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a printed notice) when no server can be had
    /// and `OKIENKO_REQUIRE_POSTGRES` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match postgres_admin_url().await {
            Some(u) => u,
            None => {
                if std::env::var("OKIENKO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!(
                        "OKIENKO_REQUIRE_POSTGRES=1 but no PostgreSQL could be found or started: \
                         set TEST_DATABASE_URL, run a server on 127.0.0.1:5432, give Docker \
                         the postgres:16-alpine image, or install initdb/pg_ctl"
                    );
                }
                eprintln!("notice: PostgreSQL not available; skipping a PostgreSQL test");
                return None;
            }
        };
        let name = format!("okienko_t_{}", rand::random::<u64>());
        let mut c = PgConnection::establish(&admin)
            .await
            .expect("connect to PostgreSQL");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        drop(c);
        let url = with_database(&admin, &name);
        Some(TestDb {
            url,
            backend: Backend::Postgres,
            _dir: None,
            drop_pg: Some((admin, name)),
        })
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.expect("connect and migrate")
    }

    pub async fn of(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite().await),
            Backend::Postgres => TestDb::postgres().await,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_pg.take() {
            // Drop runs outside any runtime we may block: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut c = PgConnection::establish(&admin).await.ok()?;
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Replaces the database name in a postgres URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

static ADMIN: OnceCell<Option<String>> = OnceCell::const_new();

/// A URL to a database from which test databases can be created.
pub async fn postgres_admin_url() -> Option<String> {
    ADMIN
        .get_or_init(|| async {
            if let Ok(u) = std::env::var("TEST_DATABASE_URL") {
                return Some(u);
            }
            let local = "postgres://postgres@127.0.0.1:5432/postgres".to_string();
            if answers(&local).await {
                return Some(local);
            }
            if let Some(url) = container::postgres().await {
                if answers_soon(&url).await {
                    return Some(url);
                }
            }
            local_cluster().await
        })
        .await
        .clone()
}

async fn answers(url: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(3), PgConnection::establish(url)).await,
        Ok(Ok(_))
    )
}

/// A server just started may log that it is ready a moment before it accepts connections.
async fn answers_soon(url: &str) -> bool {
    for _ in 0..20 {
        if answers(url).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().or_else(|| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    })
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root (PostgreSQL refuses to
/// run as root); whether it succeeded.
fn run_pg(args: &[String]) -> bool {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]);
        c.args(args);
        c
    } else {
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        c
    };
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

/// Gives `dir` to the `postgres` user when we are root.
fn own_dir(dir: &Path) {
    if is_root() {
        let _ = Command::new("chown")
            .args(["-R", "postgres", &dir.display().to_string()])
            .status();
    }
}

/// `initdb` of a trust-auth cluster in `data`.
fn init_cluster(initdb: &Path, data: &Path) -> bool {
    run_pg(&[
        initdb.display().to_string(),
        "-D".into(),
        data.display().to_string(),
        "-U".into(),
        "postgres".into(),
        "--auth=trust".into(),
        "--no-sync".into(),
    ])
}

/// `pg_ctl start` of the cluster in `dir/data` on `port`, its socket and log in `dir`; waits.
fn start_cluster(pg_ctl: &Path, dir: &Path, port: u16) -> bool {
    run_pg(&[
        pg_ctl.display().to_string(),
        "-D".into(),
        dir.join("data").display().to_string(),
        "-l".into(),
        dir.join("log").display().to_string(),
        "-o".into(),
        format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        ),
        "-w".into(),
        "start".into(),
    ])
}

/// A PostgreSQL cluster owned by one test, which it may stop and start (an outage): made with
/// the local `initdb` in a temporary directory, on a port of its own, removed when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    pg_ctl: PathBuf,
}

impl Cluster {
    /// A new running cluster, or `None` (with a notice) when `initdb`/`pg_ctl` are not
    /// installed; with `OKIENKO_REQUIRE_POSTGRES=1` that fails the test instead.
    pub async fn start() -> Option<Cluster> {
        let tools = pg_bin("initdb").zip(pg_bin("pg_ctl"));
        let Some((initdb, pg_ctl)) = tools else {
            if std::env::var("OKIENKO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("OKIENKO_REQUIRE_POSTGRES=1 but initdb/pg_ctl are not installed");
            }
            eprintln!("notice: initdb/pg_ctl not available; skipping a PostgreSQL outage test");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        own_dir(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        assert!(
            init_cluster(&initdb, &dir.path().join("data")),
            "initdb failed"
        );
        let c = Cluster { dir, port, pg_ctl };
        c.up();
        assert!(answers(&c.admin_url()).await, "the cluster did not start");
        Some(c)
    }

    fn ctl(&self, args: &[&str]) -> bool {
        let mut all = vec![
            self.pg_ctl.display().to_string(),
            "-D".into(),
            self.dir.path().join("data").display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        run_pg(&all)
    }

    /// Starts the (stopped) cluster and waits until it accepts connections.
    pub fn up(&self) {
        assert!(
            start_cluster(&self.pg_ctl, self.dir.path(), self.port),
            "pg_ctl start failed"
        );
    }

    /// Stops the cluster at once, as a crash or an outage would (`-m immediate`).
    pub fn down(&self) {
        assert!(
            self.ctl(&["-m", "immediate", "-w", "stop"]),
            "pg_ctl stop failed"
        );
    }

    /// The `postgres` database, to create test databases in.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database in this cluster.
    pub async fn database(&self) -> String {
        let name = format!("okienko_t_{}", rand::random::<u64>());
        let mut c = PgConnection::establish(&self.admin_url())
            .await
            .expect("connect to the cluster");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        drop(c);
        with_database(&self.admin_url(), &name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.ctl(&["-m", "immediate", "stop"]);
    }
}

/// A cluster of our own: `initdb` + `pg_ctl start` on port 55432 under the temp dir.
async fn local_cluster() -> Option<String> {
    const PORT: u16 = 55432;
    let url = format!("postgres://postgres@127.0.0.1:{PORT}/postgres");
    if answers(&url).await {
        return Some(url);
    }
    let (initdb, pg_ctl) = (pg_bin("initdb")?, pg_bin("pg_ctl")?);
    let dir = std::env::temp_dir().join("okienko-test-pg");
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).ok()?;
    own_dir(&dir);
    if !data.join("PG_VERSION").exists() && !init_cluster(&initdb, &data) {
        return None;
    }
    start_cluster(&pg_ctl, &dir, PORT);
    answers(&url).await.then_some(url)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// Decodes quoted-printable soft breaks and `=XX` escapes, leaving other text as is,
/// so a test can search an `.eml` file for Polish text.
pub fn eml_text(raw: &str) -> String {
    let bytes = raw.replace("=\r\n", "").replace("=\n", "");
    let b = bytes.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// Waits (bounded) for a file in `dir` whose decoded text contains `needle`.
pub async fn wait_for_mail(dir: &Path, needle: &str) -> String {
    for _ in 0..200 {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            // `.eml` files or a maildir's; never the temporary `.name.tmp` files being written.
            let is_mail = |p: &&PathBuf| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            };
            for p in paths.iter().filter(is_mail) {
                let text = eml_text(&std::fs::read_to_string(p).unwrap_or_default());
                if text.contains(needle) {
                    return text;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no e-mail containing {needle:?} arrived in {}",
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/db?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(eml_text("Urz=C4=85d =\r\nMiejski a=b"), "Urząd Miejski a=b");
    }
}
