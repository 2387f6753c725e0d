//! Availability cost against the number of bookings stored (issue 2).
//!
//! For each backend (SQLite always, PostgreSQL when `TestDb::postgres()` finds one) and each
//! size N (`OKIENKO_BENCH_SIZES`, default `0,100000,1000000`), a fresh database gets the
//! shipped Zielona Góra tenant and N bookings loaded with one `INSERT ... SELECT`, spread over
//! all its services and over the real slots from two years back to 60 days ahead, with the
//! `slot_usage` rows those bookings imply. Then `booking::availability` is timed for a 60-day
//! range of one service. The design claims its cost depends only on the usage rows of the
//! range (primary key `(tenant_id, service_id, quota, slot_start)`), not on N.
//!
//! Run: `cargo bench -p okienko-app --bench availability`.
//! `OKIENKO_BENCH_BACKENDS=sqlite,postgres` picks backends. Load times go to stderr.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::SimpleAsyncConnection as _;
use okienko_app::booking::{self, DaySlots};
use okienko_app::{ApiSettings, App, Catalog, TenantCtx};
use okienko_domain::clock::ManualClock;
use okienko_domain::config::TenantConfig;
use okienko_store::{import_tenants, in_tx, Db, TenantImport};
use okienko_test_support::{sql, Backend, TestDb};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

const SLUG: &str = "zielona-gora";
/// Rows per literal `INSERT ... VALUES` when filling the helper table.
const BATCH: usize = 1000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn sizes() -> Vec<u64> {
    env_list("OKIENKO_BENCH_SIZES", "0,100000,1000000")
        .iter()
        .map(|s| {
            s.replace('_', "")
                .parse()
                .expect("OKIENKO_BENCH_SIZES: comma list of numbers")
        })
        .collect()
}

fn backends() -> Vec<Backend> {
    env_list("OKIENKO_BENCH_BACKENDS", "sqlite,postgres")
        .iter()
        .map(|s| match s.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("OKIENKO_BENCH_BACKENDS: unknown backend {other:?}"),
        })
        .collect()
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The shipped tenant, converted as `okienko import` does (services/server/src/import.rs).
fn tenant_import() -> TenantImport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(SLUG)
        .join("tenant.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = TenantConfig::parse(&path.display().to_string(), &text).unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    TenantImport {
        slug: cfg.slug.clone(),
        name: cfg.name.clone(),
        config_hash: hex::encode(Sha256::digest(json.as_bytes())),
        config_json: json,
        offices: cfg
            .offices
            .iter()
            .map(|o| (o.key.clone(), o.name.clone()))
            .collect(),
        services: cfg
            .services
            .iter()
            .map(|s| (s.key.clone(), s.office.clone(), s.name.clone()))
            .collect(),
    }
}

async fn app_for(db: Db) -> (App, Arc<TenantCtx>) {
    import_tenants(&db, &[tenant_import()], now().timestamp(), false)
        .await
        .unwrap();
    let catalog = Catalog::default();
    catalog.reload(&db).await.unwrap();
    let app = App {
        db,
        clock: Arc::new(ManualClock::at(now())),
        catalog,
        secret: b"bench-secret".to_vec(),
        settings: ApiSettings::default(),
        outbox_wake: Arc::new(Notify::new()),
        policies: Default::default(),
        resident: Default::default(),
        oidc: Default::default(),
        usage_cache: Default::default(),
        rate_limits: Default::default(),
        bus: Default::default(),
        metrics: Default::default(),
    };
    let tenant = app.catalog.get(SLUG).expect("tenant imported");
    (app, tenant)
}

/// One (service, slot) a booking can be for.
struct Pair {
    service_id: i64,
    start: i64,
    end: i64,
    /// How many of the pair's bookings hold a seat: the k-th booking of a pair (k = 0, 1, 2, ...)
    /// is online, staff, online, then online again; those with k < holds are confirmed, the rest
    /// cancelled. 3 fills a past slot (2 online + 1 staff); future slots get 0..=3 in turn so
    /// the range asked for is partly booked.
    holds: i64,
    accepted_at: i64,
}

/// Every real slot of every bookable service from two years back to 60 days ahead, day by day.
fn pairs(tenant: &TenantCtx) -> Vec<Pair> {
    let now = now().timestamp();
    let mut out = Vec::new();
    let mut d = date(2024, 12, 1);
    while d <= date(2027, 1, 30) {
        for s in tenant.services.iter().filter(|s| s.cfg.bookable) {
            for slot in tenant.calendar(s).slots_on(d) {
                let start = slot.start.timestamp();
                let holds = if start <= now {
                    3
                } else {
                    (out.len() % 4) as i64
                };
                out.push(Pair {
                    service_id: s.id,
                    start,
                    end: slot.end.timestamp(),
                    holds,
                    accepted_at: (start - 14 * 86_400).min(now - 600),
                });
            }
        }
        d = d.succ_opt().unwrap();
    }
    out
}

/// Loads `n` bookings and their `slot_usage` rows in one transaction; returns the load time.
async fn load(db: &Db, tenant: &TenantCtx, n: u64) -> Duration {
    let started = Instant::now();
    let pairs = pairs(tenant);
    let s = pairs.len();
    let t = tenant.id.0;
    let mut stmts = vec![
        "CREATE TABLE bench_pairs (p BIGINT PRIMARY KEY, service_id BIGINT NOT NULL, \
         slot_start BIGINT NOT NULL, slot_end BIGINT NOT NULL, holds BIGINT NOT NULL, \
         accepted_at BIGINT NOT NULL)"
            .to_string(),
    ];
    for (c, chunk) in pairs.chunks(BATCH).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "({}, {}, {}, {}, {}, {})",
                    c * BATCH + i,
                    p.service_id,
                    p.start,
                    p.end,
                    p.holds,
                    p.accepted_at
                )
            })
            .collect();
        stmts.push(format!(
            "INSERT INTO bench_pairs (p, service_id, slot_start, slot_end, holds, accepted_at) VALUES {}",
            values.join(", ")
        ));
    }
    // Booking number s.n (0-based) is the (s.n / S)-th booking of pair s.n % S.
    let (with, series) = match db {
        Db::Pg(_) => (
            String::new(),
            format!("generate_series(0::bigint, {}) AS s(n)", n - 1),
        ),
        Db::Sqlite { .. } => (
            format!(
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {n}) "
            ),
            "s".to_string(),
        ),
    };
    let k = format!("(s.n / {s})");
    let held = format!("{k} < p.holds");
    stmts.push(format!(
        "{with}INSERT INTO bookings (tenant_id, service_id, code, status, quota, source, \
         slot_start, slot_end, client_name, client_email, client_phone, fields_json, \
         terms_version, consents_json, accepted_at, confirmation_mode, confirm_attempts, \
         confirmed_at, manage_token_hash, cancelled_at, cancel_reason, created_at, updated_at) \
         SELECT {t}, p.service_id, 'B' || s.n, \
         CASE WHEN {held} THEN 'confirmed' ELSE 'cancelled' END, \
         CASE WHEN {k} = 1 THEN 'staff' ELSE 'online' END, \
         CASE WHEN {k} = 1 THEN 'staff' ELSE 'online' END, \
         p.slot_start, p.slot_end, 'Jan Kowalski', 'klient' || s.n || '@example.pl', '600100200', \
         '{{\"owner_name\":\"Jan Kowalski\",\"registration_number\":\"FZ 12345\"}}', '1.0', \
         '[\"rodo\",\"komunikacja_elektroniczna\"]', p.accepted_at, 'immediate', 0, \
         p.accepted_at, 'h' || s.n, \
         CASE WHEN {held} THEN NULL ELSE p.accepted_at + 3600 END, \
         CASE WHEN {held} THEN NULL ELSE 'client' END, \
         p.accepted_at, CASE WHEN {held} THEN p.accepted_at ELSE p.accepted_at + 3600 END \
         FROM {series} JOIN bench_pairs p ON p.p = s.n % {s}"
    ));
    // What the conditional increments and releases of create/cancel would have left: a row
    // per slot and quota ever booked, `used` = the bookings that still hold a seat there.
    // Rows go in in the order the first booking of each slot was made, as in production (the
    // physical order matters: SQLite's rowid table and PostgreSQL's heap are read per row).
    stmts.push(format!(
        "INSERT INTO slot_usage (tenant_id, service_id, slot_start, quota, used) \
         SELECT tenant_id, service_id, slot_start, quota, \
         SUM(CASE WHEN status IN ('pending', 'confirmed') THEN 1 ELSE 0 END) \
         FROM bookings WHERE tenant_id = {t} GROUP BY tenant_id, service_id, slot_start, quota \
         ORDER BY MIN(created_at), slot_start, service_id, quota"
    ));
    stmts.push("DROP TABLE bench_pairs".to_string());
    let stored: okienko_store::Result<()> = async {
        in_tx!(db, c => {
            for sql in &stmts {
                c.batch_execute(sql).await?;
            }
            Ok(())
        })
    }
    .await;
    stored.unwrap();
    let loaded = started.elapsed();
    // Steady state after a bulk load: PostgreSQL's autovacuum would have analysed the tables;
    // SQLite has no statistics unless someone runs ANALYZE, so it gets none here either,
    // only a checkpoint so that readers do not walk a WAL of the whole load.
    let settle = match db {
        Db::Pg(_) => "ANALYZE bookings; ANALYZE slot_usage",
        Db::Sqlite { .. } => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    sql::execute(db, settle).await;
    eprintln!(
        "[{}] loaded {n} bookings over {s} (service, slot) pairs in {:.1} s (+{:.1} s analyse/checkpoint)",
        db.backend(),
        loaded.as_secs_f64(),
        (started.elapsed() - loaded).as_secs_f64()
    );
    loaded
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// Checks the load against the schema's invariants and prints what the benchmark will see.
async fn report(app: &App, tenant: &TenantCtx, service_id: i64, days: &[DaySlots]) {
    let t = tenant.id.0;
    let q = |sql: String| async move { sql::count(&app.db, &sql).await };
    let (bookings, usage_rows, in_range, over) = (
        q(format!("SELECT COUNT(*) AS n FROM bookings WHERE tenant_id = {t}")).await,
        q(format!("SELECT COUNT(*) AS n FROM slot_usage WHERE tenant_id = {t}")).await,
        q(format!(
            "SELECT COUNT(*) AS n FROM slot_usage WHERE tenant_id = {t} AND service_id = {service_id} \
             AND quota = 'online' AND slot_start >= {} AND slot_start < {}",
            now().timestamp(),
            now().timestamp() + 61 * 86_400
        ))
        .await,
        q(format!(
            "SELECT COUNT(*) AS n FROM slot_usage WHERE tenant_id = {t} AND used > \
             CASE WHEN quota = 'online' THEN 2 ELSE 1 END"
        ))
        .await,
    );
    assert_eq!(over, 0, "a slot holds more seats than its capacity");
    let slots: Vec<i64> = days
        .iter()
        .flat_map(|d| d.slots.iter().map(|s| s.remaining))
        .collect();
    let count = |r: i64| slots.iter().filter(|&&x| x == r).count();
    eprintln!(
        "[{}] bookings {bookings}, slot_usage rows {usage_rows} ({in_range} in the range asked); \
         {} days, {} slots: {} free, {} with 1 seat left, {} full",
        app.db.backend(),
        days.len(),
        slots.len(),
        count(2),
        count(1),
        count(0)
    );
    let plan_sql = format!(
        "SELECT slot_start, used FROM slot_usage WHERE tenant_id = {t} AND service_id = {service_id} \
         AND quota = 'online' AND slot_start >= {} AND slot_start < {} ORDER BY slot_start",
        now().timestamp(),
        now().timestamp() + 61 * 86_400
    );
    let plan: Vec<String> = match &app.db {
        Db::Pg(_) => sql::rows::<PgPlan>(&app.db, &format!("EXPLAIN {plan_sql}"))
            .await
            .into_iter()
            .map(|r| r.line)
            .collect(),
        Db::Sqlite { .. } => {
            sql::rows::<SqlitePlan>(&app.db, &format!("EXPLAIN QUERY PLAN {plan_sql}"))
                .await
                .into_iter()
                .map(|r| r.detail)
                .collect()
        }
    };
    eprintln!(
        "[{}] plan of the slot_usage query: {}",
        app.db.backend(),
        plan.join(" | ")
    );
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let from = date(2026, 12, 1);
    let to = date(2027, 1, 29);
    let mut group = c.benchmark_group("availability_60d");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    for backend in backends() {
        for n in sizes() {
            let Some(test_db) = rt.block_on(TestDb::of(backend)) else {
                continue;
            };
            let (app, tenant) = rt.block_on(async {
                let db = test_db.connect().await;
                app_for(db).await
            });
            let service = &tenant.services[0];
            let service_id = service.id.to_string();
            if n > 0 {
                rt.block_on(load(&app.db, &tenant, n));
            }
            let days = rt
                .block_on(booking::availability(&app, &tenant, &service_id, from, to))
                .unwrap();
            rt.block_on(report(&app, &tenant, service.id, &days));
            // Uncached: every cached usage map is made stale first (one atomic increment), so
            // each call reads the usage rows from the database.
            group.bench_function(BenchmarkId::new(backend_name(backend), n), |b| {
                b.iter(|| {
                    okienko_store::usage_events::invalidate_all();
                    rt.block_on(booking::availability(&app, &tenant, &service_id, from, to))
                        .unwrap()
                })
            });
            // Cached usage rows: the calendar part alone.
            let cached = format!("{}-cached", backend_name(backend));
            group.bench_function(BenchmarkId::new(cached, n), |b| {
                b.iter(|| {
                    rt.block_on(booking::availability(&app, &tenant, &service_id, from, to))
                        .unwrap()
                })
            });
            rt.block_on(app.db.close());
            drop(test_db);
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
