//! Store conformance suite: every scenario is written once and runs on both backends,
//! SQLite and PostgreSQL, so the one query layer behaves the same on each.
//!
//! `OKIENKO_REQUIRE_POSTGRES=1 cargo test -p okienko-store --test conformance`
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use okienko_store::{
    activate_policy, active_by_identity, active_for_identities, active_policy, policy_history,
    recent_no_shows, record_no_show, release_booking_at, release_due_seats, reschedule_booking,
    update_booking_client,
};
use okienko_store::{
    active_services, booking_by_code, booking_by_id, booking_by_manage_hash, claim_due,
    claim_due_for, confirm_booking, count_failed_code, create_booking, due_for_expiry,
    import_tenants, list_tenants, mark_failed, mark_sent, outbox_for_booking, release_all_claims,
    release_booking, release_claims_of, renew_claims, slot_usage, tenant_by_slug, Created, Db,
    ImportOutcome, NewBooking, NewOutbox, StoreError, TenantId, TenantImport,
};
use okienko_store::{
    api_key_by_hash, audit_page, create_api_key, create_device, create_tenant, create_user,
    device_by_token, list_api_keys, list_devices, list_users, record_audit, record_failed_login,
    revoke_api_key, revoke_device, revoke_session, session_user, set_tenant_status,
    set_user_status, start_session, tenant_by_id, update_tenant_config, user_by_id, user_by_login,
    NewAudit, NewUser, Scope,
};
use okienko_test_support::{both, confirmed_booking, sql, stored_booking, Backend, TestDb};

/// 2026-01-01T00:00:00Z: a fixed "now" in UTC seconds.
const NOW: i64 = 1_767_225_600;
/// A 15-minute slot on the next day.
const SLOT: i64 = NOW + 86_400 + 9 * 3600;
const LEN: i64 = 900;

both! {
    scenario_import, import_sqlite, import_postgres;
    scenario_capacity, capacity_sqlite, capacity_postgres;
    scenario_quotas, quotas_sqlite, quotas_postgres;
    scenario_idempotency, idempotency_sqlite, idempotency_postgres;
    scenario_concurrent_retries, concurrent_retries_sqlite, concurrent_retries_postgres;
    scenario_concurrent_retries_last_seat, concurrent_retries_last_seat_sqlite, concurrent_retries_last_seat_postgres;
    scenario_code_unique, code_unique_sqlite, code_unique_postgres;
    scenario_release, release_sqlite, release_postgres;
    scenario_confirm, confirm_sqlite, confirm_postgres;
    scenario_isolation, isolation_sqlite, isolation_postgres;
    scenario_outbox, outbox_sqlite, outbox_postgres;
    scenario_outbox_claims, outbox_claims_sqlite, outbox_claims_postgres;
    scenario_delayed_release, delayed_release_sqlite, delayed_release_postgres;
    scenario_identities, identities_sqlite, identities_postgres;
    scenario_policies, policies_sqlite, policies_postgres;
    scenario_reschedule, reschedule_sqlite, reschedule_postgres;
    scenario_failed_code, failed_code_sqlite, failed_code_postgres;
    scenario_slot_usage_range, slot_usage_range_sqlite, slot_usage_range_postgres;
    scenario_users, users_sqlite, users_postgres;
    scenario_sessions, sessions_sqlite, sessions_postgres;
    scenario_devices_and_keys, devices_and_keys_sqlite, devices_and_keys_postgres;
    scenario_audit, audit_sqlite, audit_postgres;
    scenario_tenant_config, tenant_config_sqlite, tenant_config_postgres;
}

// ---------------------------------------------------------------------------------------------
// Fixture and helpers
// ---------------------------------------------------------------------------------------------

struct Fx {
    a: TenantId,
    b: TenantId,
    /// Tenant a's service.
    sa: i64,
    /// Tenant b's service.
    sb: i64,
}

fn tenant_import(slug: &str, hash: &str, services: &[&str]) -> TenantImport {
    TenantImport {
        slug: slug.to_string(),
        name: format!("Urząd Miejski {slug}"),
        config_json: format!("{{\"hash\":\"{hash}\"}}"),
        config_hash: hash.to_string(),
        offices: vec![("ratusz".to_string(), "Ratusz".to_string())],
        services: services
            .iter()
            .map(|k| (k.to_string(), "ratusz".to_string(), format!("Sprawa {k}")))
            .collect(),
    }
}

fn imports() -> Vec<TenantImport> {
    vec![
        tenant_import("a", "ha1", &["dowod"]),
        tenant_import("b", "hb1", &["dowod"]),
    ]
}

async fn fixture(db: &Db) -> Fx {
    let out = import_tenants(db, &imports(), NOW, false).await.unwrap();
    assert_eq!(out, vec![ImportOutcome::Created, ImportOutcome::Created]);
    let tenants = list_tenants(db).await.unwrap();
    let id = |slug: &str| TenantId(tenants.iter().find(|t| t.slug == slug).unwrap().id);
    let (a, b) = (id("a"), id("b"));
    assert_ne!(a, b);
    let sa = active_services(db, a).await.unwrap();
    let sb = active_services(db, b).await.unwrap();
    assert_eq!(sa.len(), 1);
    assert_eq!(sb.len(), 1);
    Fx {
        a,
        b,
        sa: sa[0].id,
        sb: sb[0].id,
    }
}

/// A confirmed online booking (no confirmation step).
fn nb(tenant: TenantId, service_id: i64, code: &str, slot_start: i64) -> NewBooking {
    confirmed_booking(
        tenant,
        service_id,
        code,
        (slot_start, slot_start + LEN),
        NOW,
    )
}

/// A booking waiting for its e-mail confirmation until `expires_at`.
fn pending(
    tenant: TenantId,
    service_id: i64,
    code: &str,
    slot_start: i64,
    expires_at: i64,
) -> NewBooking {
    NewBooking {
        status: "pending",
        confirmation_mode: "email_code",
        confirm_channel: Some("email"),
        confirm_secret_hash: Some(format!("secret-{code}")),
        confirm_expires_at: Some(expires_at),
        confirmed_at: None,
        ..nb(tenant, service_id, code, slot_start)
    }
}

fn msg(text: &str) -> NewOutbox {
    NewOutbox {
        channel: "email",
        recipient: "jan@example.pl".to_string(),
        payload_json: format!("{{\"text\":\"{text}\"}}"),
    }
}

/// Seats used in one slot and quota (0 when no usage row).
async fn used(db: &Db, tenant: TenantId, service: i64, quota: &str, slot: i64) -> i64 {
    let rows = slot_usage(db, tenant, service, quota, slot, slot + 1)
        .await
        .unwrap();
    assert!(rows.len() <= 1, "one usage row per slot: {rows:?}");
    rows.first().map(|r| r.1).unwrap_or(0)
}

async fn count_bookings_in_slot(db: &Db, tenant: TenantId, service: i64, slot: i64) -> i64 {
    sql::count(
        db,
        &format!(
            "SELECT COUNT(*) AS n FROM bookings WHERE tenant_id = {} AND service_id = {service} AND slot_start = {slot}",
            tenant.0
        ),
    )
    .await
}

async fn count_outbox(db: &Db) -> i64 {
    sql::count(db, "SELECT COUNT(*) AS n FROM outbox").await
}

// ---------------------------------------------------------------------------------------------
// 1. Migrations: idempotent, and the same tables and columns on both backends
// ---------------------------------------------------------------------------------------------

/// (table, column, nullable) of the application's tables.
type Columns = BTreeSet<(String, String, bool)>;

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = BigInt)]
    notnull: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

/// The migrations' own bookkeeping, which is not the application's.
const BOOKKEEPING: &str = "('_sqlx_migrations', '__diesel_schema_migrations')";

async fn columns(db: &Db) -> Columns {
    match db {
        Db::Pg(_) => sql::rows::<PgColumn>(
            db,
            &format!(
                "SELECT CAST(table_name AS TEXT) AS table_name, CAST(column_name AS TEXT) AS column_name, \
                 CAST(is_nullable AS TEXT) AS is_nullable FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT IN {BOOKKEEPING}"
            ),
        )
        .await
        .into_iter()
        .map(|r| (r.table_name, r.column_name, r.is_nullable == "YES"))
        .collect(),
        Db::Sqlite { .. } => sql::rows::<SqliteColumn>(
            db,
            &format!(
                "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS \"notnull\", p.pk AS pk \
                 FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT IN {BOOKKEEPING}"
            ),
        )
        .await
        .into_iter()
        // SQLite reports an INTEGER PRIMARY KEY as nullable; it is the rowid and never NULL.
        .map(|r| (r.table_name, r.column_name, r.notnull == 0 && r.pk == 0))
        .collect(),
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

async fn migration_versions(db: &Db) -> Vec<i64> {
    sql::rows::<Version>(
        db,
        "SELECT version FROM __diesel_schema_migrations ORDER BY version",
    )
    .await
    .into_iter()
    .map(|v| v.version.parse().expect("a numbered migration"))
    .collect()
}

/// Connects twice to the same database; the second connect (and an explicit migrate) must
/// change nothing and keep the data. Returns the schema and the applied migrations.
async fn migrate_twice(t: &TestDb) -> (Columns, Vec<i64>) {
    let first = t.connect().await;
    import_tenants(&first, &imports(), NOW, false)
        .await
        .unwrap();
    let versions = migration_versions(&first).await;
    let cols = columns(&first).await;

    let second = Db::connect(&t.url)
        .await
        .expect("second connect on the same URL");
    second.migrate().await.expect("migrate again");
    assert_eq!(
        migration_versions(&second).await,
        versions,
        "{}: migrations applied twice",
        second.backend()
    );
    assert_eq!(columns(&second).await, cols);
    let slugs: Vec<String> = list_tenants(&second)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(
        slugs,
        ["a", "b"],
        "{}: data lost on reconnect",
        second.backend()
    );
    first.close().await;
    second.close().await;
    (cols, versions)
}

/// A database as the sqlx-based store left it: its migrations table and five demo cities
/// (`okienko migrate` and `okienko tenants import policies`, then dumped; issue 16).
fn sqlx_made(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => include_str!("fixtures/sqlx-made.sqlite.sql"),
        Backend::Postgres => include_str!("fixtures/sqlx-made.postgres.sql"),
    }
}

/// Writes `sql` into the empty database of `t` without migrating it.
async fn load_raw(t: &TestDb, sql: &str) {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    match t.backend {
        Backend::Sqlite => {
            let path = t.url.trim_start_matches("sqlite://");
            let mut c = okienko_store::SqliteConnection::establish(path)
                .await
                .unwrap();
            // The dump writes each table with its rows, in the order of the tables' names.
            c.batch_execute("PRAGMA foreign_keys = OFF").await.unwrap();
            c.batch_execute(sql).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = diesel_async::AsyncPgConnection::establish(&t.url)
                .await
                .unwrap();
            c.batch_execute(sql).await.unwrap();
        }
    }
}

async fn carried_over(backend: Backend) {
    let Some(t) = TestDb::of(backend).await else {
        return;
    };
    load_raw(&t, sqlx_made(backend)).await;
    let db = t.connect().await;
    assert_eq!(migration_versions(&db).await, (1..=8).collect::<Vec<i64>>());
    let slugs: Vec<String> = list_tenants(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(
        slugs.len(),
        5,
        "{}: the cities were kept: {slugs:?}",
        db.backend()
    );
    // The same tables and columns as a database made by diesel's migrations.
    let fresh = TestDb::of(backend)
        .await
        .expect("the backend answered above");
    let fresh_db = fresh.connect().await;
    assert_eq!(columns(&db).await, columns(&fresh_db).await);
    db.close().await;
    fresh_db.close().await;
}

/// A sqlx-made database is refused, untouched, when it does not match this build.
async fn refused_when_foreign(backend: Backend) {
    for (tamper, says) in [
        (
            "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 3",
            "differs",
        ),
        (
            "INSERT INTO _sqlx_migrations SELECT 9, 'later', installed_on, success, checksum, 1 \
             FROM _sqlx_migrations WHERE version = 8",
            "does not know",
        ),
        (
            "UPDATE _sqlx_migrations SET success = false WHERE version = 8",
            "failed",
        ),
    ] {
        let Some(t) = TestDb::of(backend).await else {
            return;
        };
        let tamper = match backend {
            // The dump leaves the search path empty.
            Backend::Postgres => format!(
                "SET search_path TO public; {}",
                tamper.replace("X'00'", "'\\x00'::bytea")
            ),
            Backend::Sqlite => tamper.replace("false", "0"),
        };
        load_raw(&t, &format!("{}\n{tamper};", sqlx_made(backend))).await;
        let refused = Db::connect(&t.url).await;
        let Err(StoreError::Migrate(message)) = refused else {
            panic!("{tamper}: expected a refusal, got {refused:?}");
        };
        assert!(message.contains(says), "{tamper}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlx_made_databases_are_carried_over_sqlite() {
    carried_over(Backend::Sqlite).await;
    refused_when_foreign(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlx_made_databases_are_carried_over_postgres() {
    carried_over(Backend::Postgres).await;
    refused_when_foreign(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_match_across_backends() {
    let lite = TestDb::sqlite().await;
    let (lite_cols, lite_versions) = migrate_twice(&lite).await;
    assert!(!lite_versions.is_empty());
    for t in [
        "tenants",
        "offices",
        "services",
        "slot_usage",
        "bookings",
        "outbox",
        "users",
        "sessions",
        "devices",
        "api_keys",
        "audit_log",
        "tickets",
        "queue_counters",
        "queue_facts",
    ] {
        assert!(
            lite_cols.iter().any(|c| c.0 == t),
            "sqlite: table {t} missing"
        );
    }
    assert!(lite_cols.contains(&("bookings".to_string(), "code".to_string(), false)));

    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let (pg_cols, pg_versions) = migrate_twice(&pg).await;
    assert_eq!(
        pg_versions, lite_versions,
        "both backends have the same migration versions"
    );
    let only_pg: Vec<_> = pg_cols.difference(&lite_cols).collect();
    let only_lite: Vec<_> = lite_cols.difference(&pg_cols).collect();
    assert!(
        only_pg.is_empty() && only_lite.is_empty(),
        "schemas differ\nonly in PostgreSQL: {only_pg:?}\nonly in SQLite: {only_lite:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Import: idempotent, force semantics, deactivation, all-or-nothing
// ---------------------------------------------------------------------------------------------

async fn scenario_import(db: Db) {
    let items = imports();
    assert_eq!(
        import_tenants(&db, &items, NOW, false).await.unwrap(),
        [ImportOutcome::Created, ImportOutcome::Created]
    );
    assert_eq!(
        import_tenants(&db, &items, NOW + 1, false).await.unwrap(),
        [ImportOutcome::Unchanged, ImportOutcome::Unchanged]
    );
    let a = tenant_by_slug(&db, "a").await.unwrap().unwrap();
    let b = tenant_by_slug(&db, "b").await.unwrap().unwrap();
    let a_id = TenantId(a.id);
    let b_services = active_services(&db, TenantId(b.id)).await.unwrap();

    // Changed file, no force: the database copy wins.
    let changed = vec![
        tenant_import("a", "ha2", &["dowod"]),
        tenant_import("b", "hb1", &["dowod"]),
    ];
    assert_eq!(
        import_tenants(&db, &changed, NOW + 2, false).await.unwrap(),
        [ImportOutcome::KeptExisting, ImportOutcome::Unchanged]
    );
    let kept = tenant_by_slug(&db, "a").await.unwrap().unwrap();
    assert_eq!(
        (kept.config_hash.as_str(), kept.config_json.as_str()),
        ("ha1", a.config_json.as_str())
    );

    // With force: updated.
    assert_eq!(
        import_tenants(&db, &changed, NOW + 3, true).await.unwrap(),
        [ImportOutcome::Updated, ImportOutcome::Unchanged]
    );
    let updated = tenant_by_slug(&db, "a").await.unwrap().unwrap();
    assert_eq!(updated.id, a.id, "an update keeps the tenant id");
    assert_eq!(updated.config_hash, "ha2");
    assert_eq!(updated.config_json, "{\"hash\":\"ha2\"}");

    // A service dropped from the file becomes inactive; a new one is active; ids are stable.
    let before = active_services(&db, a_id).await.unwrap();
    assert_eq!(before.len(), 1);
    let next = vec![
        tenant_import("a", "ha3", &["paszport"]),
        tenant_import("b", "hb1", &["dowod"]),
    ];
    assert_eq!(
        import_tenants(&db, &next, NOW + 4, true).await.unwrap(),
        [ImportOutcome::Updated, ImportOutcome::Unchanged]
    );
    let after = active_services(&db, a_id).await.unwrap();
    assert_eq!(
        after.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["paszport"]
    );
    assert!(
        after.iter().all(|s| s.id != before[0].id),
        "the removed service is not active"
    );
    let back = vec![
        tenant_import("a", "ha4", &["dowod", "paszport"]),
        tenant_import("b", "hb1", &["dowod"]),
    ];
    import_tenants(&db, &back, NOW + 5, true).await.unwrap();
    let restored = active_services(&db, a_id).await.unwrap();
    assert_eq!(restored.len(), 2);
    assert!(
        restored.iter().any(|s| s.id == before[0].id),
        "a re-added service keeps its id"
    );
    assert_eq!(
        active_services(&db, TenantId(b.id))
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        b_services.iter().map(|s| s.id).collect::<Vec<_>>(),
        "tenant b's services untouched"
    );

    // All or nothing: make the second tenant's import fail (a test-only unique index on new
    // office names); the first tenant of the same call must not be stored either.
    sql::execute(
        &db,
        "CREATE UNIQUE INDEX test_only_office_name ON offices (name) WHERE name <> 'Ratusz'",
    )
    .await;
    let tenants_before = list_tenants(&db).await.unwrap().len();
    let mut c = tenant_import("c", "hc1", &["dowod"]);
    c.offices = vec![("ratusz".to_string(), "Jedyne biuro".to_string())];
    let mut d = tenant_import("d", "hd1", &["dowod"]);
    d.offices = vec![("ratusz".to_string(), "Jedyne biuro".to_string())];
    let failed = import_tenants(&db, &[c, d], NOW + 6, false).await;
    assert!(
        matches!(failed, Err(StoreError::Db(_))),
        "expected a database error, got {failed:?}"
    );
    assert!(
        tenant_by_slug(&db, "c").await.unwrap().is_none(),
        "a failed import stores nothing"
    );
    assert_eq!(list_tenants(&db).await.unwrap().len(), tenants_before);
}

// ---------------------------------------------------------------------------------------------
// 3. Capacity under concurrency (P-3)
// ---------------------------------------------------------------------------------------------

async fn scenario_capacity(db: Db) {
    let fx = fixture(&db).await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let db = db.clone();
        let b = nb(fx.a, fx.sa, &format!("CAP-{i:03}"), SLOT);
        tasks.push(tokio::spawn(async move {
            create_booking(&db, &b, 2, &[msg("created")]).await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                assert!(!c.replayed);
                ok += 1;
            }
            Err(StoreError::SlotFull) => full += 1,
            Err(e) => panic!(
                "{}: only SlotFull may fail a booking, got {e:?}",
                db.backend()
            ),
        }
    }
    assert_eq!((ok, full), (2, 98));
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 2);
    assert_eq!(count_bookings_in_slot(&db, fx.a, fx.sa, SLOT).await, 2);
    assert_eq!(
        count_outbox(&db).await,
        2,
        "only the successful bookings wrote messages"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Separate quotas on one slot
// ---------------------------------------------------------------------------------------------

async fn scenario_quotas(db: Db) {
    let fx = fixture(&db).await;
    create_booking(&db, &nb(fx.a, fx.sa, "Q-ON-1", SLOT), 1, &[])
        .await
        .unwrap();
    let staff = NewBooking {
        quota: "staff",
        source: "staff",
        ..nb(fx.a, fx.sa, "Q-ST-1", SLOT)
    };
    let c = create_booking(&db, &staff, 1, &[]).await.unwrap();
    assert_eq!(c.booking.quota, "staff");
    let second = create_booking(&db, &nb(fx.a, fx.sa, "Q-ON-2", SLOT), 1, &[]).await;
    assert!(
        matches!(second, Err(StoreError::SlotFull)),
        "got {second:?}"
    );
    let staff2 = NewBooking {
        quota: "staff",
        source: "staff",
        ..nb(fx.a, fx.sa, "Q-ST-2", SLOT)
    };
    assert!(matches!(
        create_booking(&db, &staff2, 1, &[]).await,
        Err(StoreError::SlotFull)
    ));
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);
    assert_eq!(used(&db, fx.a, fx.sa, "staff", SLOT).await, 1);
    assert_eq!(count_bookings_in_slot(&db, fx.a, fx.sa, SLOT).await, 2);
}

// ---------------------------------------------------------------------------------------------
// 5. Idempotency keys
// ---------------------------------------------------------------------------------------------

async fn scenario_idempotency(db: Db) {
    let fx = fixture(&db).await;
    let keyed = |tenant, service, code: &str| NewBooking {
        idempotency_key: Some("key-1".to_string()),
        request_hash: Some("req-1".to_string()),
        ..nb(tenant, service, code, SLOT)
    };
    let first = create_booking(&db, &keyed(fx.a, fx.sa, "ID-1"), 3, &[msg("created")])
        .await
        .unwrap();
    assert!(!first.replayed);
    // A retry (the client generated a new code before retrying: the key decides).
    let again = create_booking(&db, &keyed(fx.a, fx.sa, "ID-2"), 3, &[msg("created")])
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.booking.id, first.booking.id);
    assert_eq!(again.booking.code, "ID-1");
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);
    assert_eq!(count_bookings_in_slot(&db, fx.a, fx.sa, SLOT).await, 1);
    assert_eq!(
        outbox_for_booking(&db, fx.a, first.booking.id)
            .await
            .unwrap()
            .len(),
        1,
        "a replay writes no message"
    );

    // The same key in another tenant is another request.
    let other = create_booking(&db, &keyed(fx.b, fx.sb, "ID-1"), 3, &[])
        .await
        .unwrap();
    assert!(!other.replayed);
    assert_ne!(other.booking.id, first.booking.id);
    assert_eq!(other.booking.tenant_id, fx.b.0);
    assert_eq!(used(&db, fx.b, fx.sb, "online", SLOT).await, 1);
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);
}

// ---------------------------------------------------------------------------------------------
// 6. Concurrent retries with one key
// ---------------------------------------------------------------------------------------------

async fn scenario_concurrent_retries(db: Db) {
    concurrent_retries(&db, 5).await;
}

/// Retries racing the first request for the slot's last seat still get its booking back,
/// not `SlotFull`.
async fn scenario_concurrent_retries_last_seat(db: Db) {
    concurrent_retries(&db, 1).await;
}

async fn concurrent_retries(db: &Db, capacity: i64) {
    let fx = fixture(db).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        let b = NewBooking {
            idempotency_key: Some("retry-key".to_string()),
            ..nb(fx.a, fx.sa, &format!("RT-{i:02}"), SLOT)
        };
        tasks.push(tokio::spawn(async move {
            create_booking(&db, &b, capacity, &[msg("created")]).await
        }));
    }
    let mut results: Vec<Created> = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => results.push(c),
            Err(e) => panic!(
                "{} (capacity {capacity}): a retry must replay, got {e:?}",
                db.backend()
            ),
        }
    }
    let ids: BTreeSet<i64> = results.iter().map(|c| c.booking.id).collect();
    assert_eq!(ids.len(), 1, "all retries see one booking: {ids:?}");
    assert_eq!(
        results.iter().filter(|c| !c.replayed).count(),
        1,
        "exactly one call created it"
    );
    assert_eq!(used(db, fx.a, fx.sa, "online", SLOT).await, 1);
    assert_eq!(count_bookings_in_slot(db, fx.a, fx.sa, SLOT).await, 1);
    assert_eq!(count_outbox(db).await, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Human code unique per tenant
// ---------------------------------------------------------------------------------------------

async fn scenario_code_unique(db: Db) {
    let fx = fixture(&db).await;
    create_booking(&db, &nb(fx.a, fx.sa, "ABC-123", SLOT), 5, &[msg("created")])
        .await
        .unwrap();
    let outbox_before = count_outbox(&db).await;
    let dup = NewBooking {
        manage_token_hash: "manage-other".to_string(),
        manage_nonce: None,
        ..nb(fx.a, fx.sa, "ABC-123", SLOT)
    };
    let r = create_booking(&db, &dup, 5, &[msg("created")]).await;
    assert!(matches!(r, Err(StoreError::Unique("code"))), "got {r:?}");
    assert_eq!(
        used(&db, fx.a, fx.sa, "online", SLOT).await,
        1,
        "the seat was given back"
    );
    assert_eq!(count_bookings_in_slot(&db, fx.a, fx.sa, SLOT).await, 1);
    assert_eq!(
        count_outbox(&db).await,
        outbox_before,
        "no message from the failed booking"
    );

    // Another slot: the code is still taken in this tenant, and that slot's seat is not kept.
    let r = create_booking(&db, &nb(fx.a, fx.sa, "ABC-123", SLOT + LEN), 5, &[]).await;
    assert!(matches!(r, Err(StoreError::Unique("code"))), "got {r:?}");
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT + LEN).await, 0);

    let in_b = create_booking(&db, &nb(fx.b, fx.sb, "ABC-123", SLOT), 5, &[])
        .await
        .unwrap();
    assert_eq!(in_b.booking.code, "ABC-123");
    assert_eq!(in_b.booking.tenant_id, fx.b.0);
}

// ---------------------------------------------------------------------------------------------
// 8. A seat is released exactly once
// ---------------------------------------------------------------------------------------------

async fn scenario_release(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(&db, &nb(fx.a, fx.sa, "REL-1", SLOT), 2, &[msg("created")])
        .await
        .unwrap()
        .booking;
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);

    let r = release_booking(
        &db,
        fx.a,
        b.id,
        "cancelled",
        Some("client"),
        NOW + 10,
        &[msg("cancelled")],
    )
    .await
    .unwrap();
    assert_eq!(r.status, "cancelled");
    assert_eq!(r.cancelled_at, Some(NOW + 10));
    assert_eq!(r.cancel_reason.as_deref(), Some("client"));
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 0);
    let out = outbox_for_booking(&db, fx.a, b.id).await.unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].payload_json, msg("cancelled").payload_json);

    let again = release_booking(
        &db,
        fx.a,
        b.id,
        "cancelled",
        Some("client"),
        NOW + 11,
        &[msg("cancelled")],
    )
    .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "got {again:?}");
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 0);
    assert_eq!(
        outbox_for_booking(&db, fx.a, b.id).await.unwrap().len(),
        2,
        "no message from a failed release"
    );
    let stored = stored_booking(&db, fx.a, b.id).await;
    assert_eq!(
        stored.cancelled_at,
        Some(NOW + 10),
        "the second release changed nothing"
    );

    // Concurrent releases of one booking, next to another booking in the same slot: exactly
    // one wins and exactly one seat is given back (a double release would show used = 0).
    let slot = SLOT + LEN;
    let keep = create_booking(&db, &nb(fx.a, fx.sa, "REL-KEEP", slot), 2, &[])
        .await
        .unwrap()
        .booking;
    let target = create_booking(&db, &nb(fx.a, fx.sa, "REL-2", slot), 2, &[])
        .await
        .unwrap()
        .booking;
    assert_eq!(used(&db, fx.a, fx.sa, "online", slot).await, 2);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        let (tenant, id) = (fx.a, target.id);
        tasks.push(tokio::spawn(async move {
            release_booking(
                &db,
                tenant,
                id,
                "cancelled",
                None,
                NOW + 20 + i,
                &[msg("cancelled")],
            )
            .await
        }));
    }
    let (mut ok, mut conflict) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict) => conflict += 1,
            Err(e) => panic!(
                "{}: only Conflict may fail a release, got {e:?}",
                db.backend()
            ),
        }
    }
    assert_eq!((ok, conflict), (1, 19));
    assert_eq!(used(&db, fx.a, fx.sa, "online", slot).await, 1);
    assert_eq!(
        outbox_for_booking(&db, fx.a, target.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(stored_booking(&db, fx.a, keep.id).await.status, "confirmed");
}

// ---------------------------------------------------------------------------------------------
// 9. Confirmation and expiry
// ---------------------------------------------------------------------------------------------

async fn scenario_confirm(db: Db) {
    let fx = fixture(&db).await;
    let live = create_booking(
        &db,
        &pending(fx.a, fx.sa, "CF-LIVE", SLOT, NOW + 600),
        5,
        &[],
    )
    .await
    .unwrap()
    .booking;
    let late = create_booking(
        &db,
        &pending(fx.a, fx.sa, "CF-LATE", SLOT, NOW - 10),
        5,
        &[],
    )
    .await
    .unwrap()
    .booking;
    let late_b = create_booking(&db, &pending(fx.b, fx.sb, "CF-LATE", SLOT, NOW - 5), 5, &[])
        .await
        .unwrap()
        .booking;
    // A confirmed booking whose (old) confirmation limit has passed is not due for expiry.
    let done = NewBooking {
        confirm_expires_at: Some(NOW - 100),
        ..nb(fx.a, fx.sa, "CF-DONE", SLOT)
    };
    let done = create_booking(&db, &done, 5, &[]).await.unwrap().booking;

    let c = confirm_booking(&db, fx.a, live.id, NOW + 1, &[msg("confirmed")])
        .await
        .unwrap();
    assert_eq!(c.status, "confirmed");
    assert_eq!(c.confirmed_at, Some(NOW + 1));
    assert_eq!(stored_booking(&db, fx.a, live.id).await.status, "confirmed");
    assert_eq!(
        outbox_for_booking(&db, fx.a, live.id).await.unwrap().len(),
        1
    );
    let twice = confirm_booking(&db, fx.a, live.id, NOW + 2, &[msg("confirmed")]).await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "got {twice:?}");

    let r = confirm_booking(&db, fx.a, late.id, NOW, &[msg("confirmed")]).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "got {r:?}");
    let still = stored_booking(&db, fx.a, late.id).await;
    assert_eq!(
        (still.status.as_str(), still.confirmed_at),
        ("pending", None)
    );
    assert!(outbox_for_booking(&db, fx.a, late.id)
        .await
        .unwrap()
        .is_empty());
    // The limit itself is already too late.
    let at_limit = confirm_booking(&db, fx.b, late_b.id, NOW - 5, &[]).await;
    assert!(
        matches!(at_limit, Err(StoreError::Conflict)),
        "got {at_limit:?}"
    );

    let due = due_for_expiry(&db, NOW, 100).await.unwrap();
    assert_eq!(
        due,
        vec![(fx.a, late.id), (fx.b, late_b.id)],
        "oldest limit first, with the tenant"
    );
    assert!(!due.iter().any(|d| d.1 == done.id || d.1 == live.id));
    assert_eq!(
        due_for_expiry(&db, NOW, 1).await.unwrap(),
        vec![(fx.a, late.id)],
        "limit honoured"
    );
    assert!(due_for_expiry(&db, NOW - 11, 100).await.unwrap().is_empty());

    // The expiry worker releases it through its own tenant.
    release_booking(
        &db,
        due[0].0,
        due[0].1,
        "expired",
        Some("not confirmed in time"),
        NOW,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        due_for_expiry(&db, NOW, 100).await.unwrap(),
        vec![(fx.b, late_b.id)]
    );
    assert_eq!(
        used(&db, fx.a, fx.sa, "online", SLOT).await,
        2,
        "live + done keep their seats"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Tenant isolation
// ---------------------------------------------------------------------------------------------

async fn scenario_isolation(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(
        &db,
        &pending(fx.a, fx.sa, "ISO-1", SLOT, NOW + 600),
        5,
        &[msg("created")],
    )
    .await
    .unwrap()
    .booking;
    let other = fx.b;

    assert!(booking_by_manage_hash(&db, other, &b.manage_token_hash)
        .await
        .unwrap()
        .is_none());
    assert!(booking_by_code(&db, other, &b.code)
        .await
        .unwrap()
        .is_none());
    assert!(booking_by_id(&db, other, b.id).await.unwrap().is_none());
    let r = release_booking(
        &db,
        other,
        b.id,
        "cancelled",
        Some("x"),
        NOW + 1,
        &[msg("cancelled")],
    )
    .await;
    assert!(matches!(r, Err(StoreError::Conflict)), "got {r:?}");
    let r = confirm_booking(&db, other, b.id, NOW + 1, &[msg("confirmed")]).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "got {r:?}");
    let r = count_failed_code(&db, other, b.id, NOW + 1).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "got {r:?}");
    assert!(
        slot_usage(&db, other, fx.sa, "online", SLOT - 86_400, SLOT + 86_400)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(outbox_for_booking(&db, other, b.id)
        .await
        .unwrap()
        .is_empty());

    // Tenant a's row is exactly as it was, and still reachable in its own tenant.
    assert_eq!(
        booking_by_id(&db, fx.a, b.id).await.unwrap().as_ref(),
        Some(&b)
    );
    assert_eq!(
        booking_by_manage_hash(&db, fx.a, &b.manage_token_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&b)
    );
    assert_eq!(
        booking_by_code(&db, fx.a, &b.code).await.unwrap().as_ref(),
        Some(&b)
    );
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);
    assert_eq!(outbox_for_booking(&db, fx.a, b.id).await.unwrap().len(), 1);
    assert_eq!(
        count_outbox(&db).await,
        1,
        "no message written by the other tenant's calls"
    );
}

// ---------------------------------------------------------------------------------------------
// 11. Outbox
// ---------------------------------------------------------------------------------------------

/// Claims are apart from retry times: renewed by their worker, all taken back at once after a
/// restart of the only process, and a lapsed lease makes the row due for anyone (issue 11).
async fn scenario_outbox_claims(db: Db) {
    let fx = fixture(&db).await;
    for (i, code) in ["OC-1", "OC-2"].iter().enumerate() {
        create_booking(
            &db,
            &nb(fx.a, fx.sa, code, SLOT + i as i64 * 900),
            1,
            &[msg("x")],
        )
        .await
        .unwrap();
    }
    let claimed = claim_due_for(&db, "w1", NOW, 30, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // Renewed while delivery runs: still held past the first lease.
    assert_eq!(renew_claims(&db, "w1", NOW + 60).await.unwrap(), 2);
    assert_eq!(renew_claims(&db, "w2", NOW + 60).await.unwrap(), 0);
    assert!(claim_due_for(&db, "w2", NOW + 45, 30, 10)
        .await
        .unwrap()
        .is_empty());
    // One fails and waits for its retry; a restart takes back the other claim only.
    mark_failed(&db, claimed[0].id, "smtp down", Some(NOW + 600))
        .await
        .unwrap();
    assert_eq!(release_all_claims(&db).await.unwrap(), 1);
    let again = claim_due_for(&db, "w3", NOW + 1, 30, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|r| r.id).collect::<Vec<_>>(),
        [claimed[1].id]
    );
    // A dead worker's lease lapses: the row is anyone's after it.
    assert!(claim_due_for(&db, "w4", NOW + 30, 30, 10)
        .await
        .unwrap()
        .is_empty());
    let lapsed = claim_due_for(&db, "w4", NOW + 31, 30, 10).await.unwrap();
    assert_eq!(lapsed.len(), 1);
    mark_sent(&db, lapsed[0].id, NOW + 32).await.unwrap();
    assert_eq!(release_all_claims(&db).await.unwrap(), 0);
    // A worker stopping (issue 15) gives back its own claims only: due for another at once.
    create_booking(&db, &nb(fx.a, fx.sa, "OC-3", SLOT + 1800), 1, &[msg("x")])
        .await
        .unwrap();
    assert_eq!(
        claim_due_for(&db, "w5", NOW + 40, 30, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(release_claims_of(&db, "w6").await.unwrap(), 0);
    assert_eq!(release_claims_of(&db, "w5").await.unwrap(), 1);
    assert_eq!(
        claim_due_for(&db, "w6", NOW + 41, 30, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn scenario_outbox(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(&db, &nb(fx.a, fx.sa, "OB-1", SLOT), 1, &[msg("created")])
        .await
        .unwrap()
        .booking;
    let rows = outbox_for_booking(&db, fx.a, b.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    let id = rows[0].id;
    assert_eq!(
        (
            rows[0].status.as_str(),
            rows[0].attempts,
            rows[0].next_attempt_at
        ),
        ("pending", 0, NOW)
    );

    let claimed = claim_due(&db, NOW, 60, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    assert_eq!(claimed[0].booking_id, Some(b.id));
    assert_eq!(claimed[0].tenant_id, fx.a.0);
    assert!(
        claim_due(&db, NOW + 1, 60, 10).await.unwrap().is_empty(),
        "leased"
    );
    assert!(
        claim_due(&db, NOW + 59, 60, 10).await.unwrap().is_empty(),
        "still leased"
    );

    mark_failed(&db, id, "smtp down", Some(NOW + 300))
        .await
        .unwrap();
    assert!(
        claim_due(&db, NOW + 299, 60, 10).await.unwrap().is_empty(),
        "not before retry_at"
    );
    let retried = claim_due(&db, NOW + 300, 60, 10).await.unwrap();
    assert_eq!(retried.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].last_error.as_deref(), Some("smtp down"));

    mark_sent(&db, id, NOW + 301).await.unwrap();
    assert!(
        claim_due(&db, NOW + 1_000_000, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent is never claimed"
    );
    let sent = &outbox_for_booking(&db, fx.a, b.id).await.unwrap()[0];
    assert_eq!(
        (
            sent.status.as_str(),
            sent.attempts,
            sent.last_error.as_deref()
        ),
        ("sent", 2, None)
    );

    // Given up: never claimed again either.
    let g = create_booking(
        &db,
        &nb(fx.a, fx.sa, "OB-G", SLOT + LEN),
        1,
        &[msg("created")],
    )
    .await
    .unwrap()
    .booking;
    let gid = outbox_for_booking(&db, fx.a, g.id).await.unwrap()[0].id;
    assert_eq!(
        claim_due(&db, NOW, 60, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [gid]
    );
    mark_failed(&db, gid, "bad address", None).await.unwrap();
    assert!(
        claim_due(&db, NOW + 1_000_000, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "failed is never claimed"
    );
    assert_eq!(
        outbox_for_booking(&db, fx.a, g.id).await.unwrap()[0].status,
        "failed"
    );

    // A booking whose transaction failed leaves no message.
    let before = count_outbox(&db).await;
    let full = create_booking(
        &db,
        &nb(fx.a, fx.sa, "OB-2", SLOT),
        1,
        &[msg("created"), msg("sms")],
    )
    .await;
    assert!(matches!(full, Err(StoreError::SlotFull)), "got {full:?}");
    assert_eq!(count_outbox(&db).await, before);

    // Two workers claiming at once never get the same row.
    for round in 0..10i64 {
        let now = NOW + 10_000 * (round + 1);
        let code = format!("OB-R{round}");
        let messages: Vec<NewOutbox> = (0..20).map(|i| msg(&format!("m{i}"))).collect();
        let nbk = NewBooking {
            now,
            ..nb(fx.a, fx.sa, &code, SLOT + 100 * LEN + round * LEN)
        };
        create_booking(&db, &nbk, 1, &messages).await.unwrap();
        let (d1, d2) = (db.clone(), db.clone());
        let h1 = tokio::spawn(async move { claim_due(&d1, now, 60, 15).await });
        let h2 = tokio::spawn(async move { claim_due(&d2, now, 60, 15).await });
        let (c1, c2) = (h1.await.unwrap().unwrap(), h2.await.unwrap().unwrap());
        let s1: BTreeSet<i64> = c1.iter().map(|r| r.id).collect();
        let s2: BTreeSet<i64> = c2.iter().map(|r| r.id).collect();
        assert_eq!(s1.len(), c1.len());
        assert_eq!(s2.len(), c2.len());
        assert!(
            s1.is_disjoint(&s2),
            "{} round {round}: one row claimed twice: {s1:?} {s2:?}",
            db.backend()
        );
        assert!(c1.len() <= 15 && c2.len() <= 15);
        assert_eq!(
            s1.len() + s2.len(),
            20,
            "round {round}: every due row claimed by one of them"
        );
        for r in c1.iter().chain(&c2) {
            mark_sent(&db, r.id, now).await.unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 12. Wrong confirmation codes are counted
// ---------------------------------------------------------------------------------------------

async fn scenario_failed_code(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(&db, &pending(fx.a, fx.sa, "FC-1", SLOT, NOW + 600), 5, &[])
        .await
        .unwrap()
        .booking;
    assert_eq!(b.confirm_attempts, 0);
    for expected in 1..=3 {
        assert_eq!(
            count_failed_code(&db, fx.a, b.id, NOW + expected)
                .await
                .unwrap(),
            expected
        );
    }
    let stored = stored_booking(&db, fx.a, b.id).await;
    assert_eq!((stored.confirm_attempts, stored.updated_at), (3, NOW + 3));
    let missing = count_failed_code(&db, fx.a, b.id + 1000, NOW).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound)),
        "got {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 13. Availability reads only the range asked for
// ---------------------------------------------------------------------------------------------

async fn scenario_slot_usage_range(db: Db) {
    let fx = fixture(&db).await;
    // A second service in tenant a, to check the service filter.
    let more = vec![
        tenant_import("a", "ha2", &["dowod", "paszport"]),
        tenant_import("b", "hb1", &["dowod"]),
    ];
    import_tenants(&db, &more, NOW, true).await.unwrap();
    let other_service = active_services(&db, fx.a)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == "paszport")
        .unwrap()
        .id;

    // Seats taken (slot offset in slots → seats), created out of order.
    let plan: BTreeMap<i64, i64> = [(3, 1), (1, 2), (0, 1), (2, 3), (4, 1), (-1, 2)]
        .into_iter()
        .collect();
    let mut n = 0;
    for (&k, &seats) in plan.iter().rev() {
        for _ in 0..seats {
            n += 1;
            create_booking(
                &db,
                &nb(fx.a, fx.sa, &format!("SU-{n}"), SLOT + k * LEN),
                10,
                &[],
            )
            .await
            .unwrap();
        }
    }
    // Noise: other quota, other service, other tenant, in the range.
    let staff = NewBooking {
        quota: "staff",
        ..nb(fx.a, fx.sa, "SU-ST", SLOT + LEN)
    };
    create_booking(&db, &staff, 10, &[]).await.unwrap();
    create_booking(
        &db,
        &nb(fx.a, other_service, "SU-OS", SLOT + 2 * LEN),
        10,
        &[],
    )
    .await
    .unwrap();
    create_booking(&db, &nb(fx.b, fx.sb, "SU-B", SLOT + 2 * LEN), 10, &[])
        .await
        .unwrap();

    let got = slot_usage(&db, fx.a, fx.sa, "online", SLOT, SLOT + 4 * LEN)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            (SLOT, 1),
            (SLOT + LEN, 2),
            (SLOT + 2 * LEN, 3),
            (SLOT + 3 * LEN, 1)
        ],
        "[from, to), ordered"
    );
    // `from` is inclusive, `to` exclusive, to the second.
    let got = slot_usage(&db, fx.a, fx.sa, "online", SLOT + 1, SLOT + 2 * LEN + 1)
        .await
        .unwrap();
    assert_eq!(got, vec![(SLOT + LEN, 2), (SLOT + 2 * LEN, 3)]);
    assert!(
        slot_usage(&db, fx.a, fx.sa, "online", SLOT + LEN, SLOT + LEN)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        slot_usage(&db, fx.a, fx.sa, "staff", SLOT, SLOT + 4 * LEN)
            .await
            .unwrap(),
        vec![(SLOT + LEN, 1)]
    );
    assert_eq!(
        slot_usage(&db, fx.a, other_service, "online", SLOT, SLOT + 4 * LEN)
            .await
            .unwrap(),
        vec![(SLOT + 2 * LEN, 1)]
    );
    assert_eq!(
        slot_usage(&db, fx.b, fx.sb, "online", SLOT, SLOT + 4 * LEN)
            .await
            .unwrap(),
        vec![(SLOT + 2 * LEN, 1)]
    );
}

// ---------------------------------------------------------------------------------------------
// 14. A cancelled seat comes back only after its delay, exactly once
// ---------------------------------------------------------------------------------------------

async fn scenario_delayed_release(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(&db, &nb(fx.a, fx.sa, "DL-1", SLOT), 1, &[])
        .await
        .unwrap()
        .booking;
    release_booking_at(
        &db,
        fx.a,
        b.id,
        "cancelled",
        Some("client"),
        NOW,
        Some(NOW + 1800),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        used(&db, fx.a, fx.sa, "online", SLOT).await,
        1,
        "still held during the delay"
    );
    assert_eq!(release_due_seats(&db, NOW + 1799).await.unwrap(), 0);
    let err = create_booking(&db, &nb(fx.a, fx.sa, "DL-2", SLOT), 1, &[]).await;
    assert!(matches!(err, Err(StoreError::SlotFull)), "{err:?}");
    // Two workers at once: the seat comes back once.
    let (x, y) = tokio::join!(
        release_due_seats(&db, NOW + 1800),
        release_due_seats(&db, NOW + 1800)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 0);
    assert_eq!(release_due_seats(&db, NOW + 9999).await.unwrap(), 0);
    // A past due time frees at once.
    let c = create_booking(&db, &nb(fx.a, fx.sa, "DL-3", SLOT), 1, &[])
        .await
        .unwrap()
        .booking;
    release_booking_at(&db, fx.a, c.id, "cancelled", None, NOW, Some(NOW - 1), &[])
        .await
        .unwrap();
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 0);
}

// ---------------------------------------------------------------------------------------------
// 15. Identity keys: counted per tenant, only for active future bookings; no-shows
// ---------------------------------------------------------------------------------------------

async fn scenario_identities(db: Db) {
    let fx = fixture(&db).await;
    let with_id = |tenant, service, code: &str, slot| NewBooking {
        identities: vec![
            ("email".to_string(), "h-email".to_string()),
            ("phone".to_string(), "h-phone".to_string()),
        ],
        ..nb(tenant, service, code, slot)
    };
    let one = create_booking(&db, &with_id(fx.a, fx.sa, "IK-1", SLOT), 5, &[])
        .await
        .unwrap()
        .booking;
    create_booking(&db, &with_id(fx.a, fx.sa, "IK-2", SLOT + LEN), 5, &[])
        .await
        .unwrap();
    create_booking(&db, &with_id(fx.b, fx.sb, "IK-3", SLOT), 5, &[])
        .await
        .unwrap();
    let hashes = vec!["h-email".to_string(), "h-other".to_string()];
    let counts = active_by_identity(&db, fx.a, &hashes, NOW).await.unwrap();
    assert_eq!(
        counts,
        vec![("h-email".to_string(), 2), ("h-other".to_string(), 0)]
    );
    // Past bookings and released ones do not count.
    assert_eq!(
        active_by_identity(&db, fx.a, &hashes[..1], SLOT + 1)
            .await
            .unwrap()[0]
            .1,
        1
    );
    release_booking(&db, fx.a, one.id, "cancelled", None, NOW, &[])
        .await
        .unwrap();
    assert_eq!(
        active_by_identity(&db, fx.a, &hashes[..1], NOW)
            .await
            .unwrap()[0]
            .1,
        1
    );
    let active = active_for_identities(&db, fx.a, &hashes, NOW)
        .await
        .unwrap();
    let shown: Vec<(i64, i64, &str)> = active.iter().map(|r| (r.1, r.2, r.3.as_str())).collect();
    assert_eq!(
        shown,
        vec![(fx.sa, SLOT + LEN, "h-email")],
        "only the active one, of tenant a"
    );

    record_no_show(&db, fx.a, one.id, Some("wso"), NOW + 10)
        .await
        .unwrap();
    let ns = recent_no_shows(&db, fx.a, &["h-phone".to_string()], NOW)
        .await
        .unwrap();
    assert_eq!(
        ns,
        vec![("h-phone".to_string(), Some("wso".to_string()), NOW + 10)]
    );
    assert!(
        recent_no_shows(&db, fx.a, &["h-phone".to_string()], NOW + 11)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        recent_no_shows(&db, fx.b, &["h-phone".to_string()], NOW)
            .await
            .unwrap()
            .is_empty(),
        "tenant b sees nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// 16. Policy versions: every one kept, exactly one active, per tenant
// ---------------------------------------------------------------------------------------------

async fn scenario_policies(db: Db) {
    let fx = fixture(&db).await;
    assert!(active_policy(&db, fx.a).await.unwrap().is_none());
    let v1 = activate_policy(&db, fx.a, "h1", "fn a() {}", "import", "ok", NOW)
        .await
        .unwrap();
    let v2 = activate_policy(&db, fx.a, "h2", "fn b() {}", "admin@a", "ok", NOW + 1)
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    let active = active_policy(&db, fx.a).await.unwrap().unwrap();
    assert_eq!(
        (active.version, active.hash.as_str(), active.author.as_str()),
        (2, "h2", "admin@a")
    );
    let history = policy_history(&db, fx.a).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|p| (p.version, p.active))
            .collect::<Vec<_>>(),
        vec![(2, 1), (1, 0)]
    );
    assert!(
        active_policy(&db, fx.b).await.unwrap().is_none(),
        "tenant b has none"
    );
    let b1 = activate_policy(&db, fx.b, "hb", "fn c() {}", "import", "ok", NOW)
        .await
        .unwrap();
    assert_eq!(b1.version, 1);
    assert_eq!(active_policy(&db, fx.a).await.unwrap().unwrap().version, 2);
}

// ---------------------------------------------------------------------------------------------
// 17. Rescheduling moves the seat in one transaction; client data corrections
// ---------------------------------------------------------------------------------------------

async fn scenario_reschedule(db: Db) {
    let fx = fixture(&db).await;
    let b = create_booking(&db, &nb(fx.a, fx.sa, "RS-1", SLOT), 1, &[])
        .await
        .unwrap()
        .booking;
    create_booking(&db, &nb(fx.a, fx.sa, "RS-2", SLOT + 2 * LEN), 1, &[])
        .await
        .unwrap();
    // The target is full: nothing moves.
    let full =
        reschedule_booking(&db, fx.a, b.id, SLOT + 2 * LEN, SLOT + 3 * LEN, 1, NOW, &[]).await;
    assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 1);
    // Another tenant cannot move it.
    let other = reschedule_booking(&db, fx.b, b.id, SLOT + LEN, SLOT + 2 * LEN, 1, NOW, &[]).await;
    assert!(matches!(other, Err(StoreError::Conflict)), "{other:?}");
    let moved = reschedule_booking(&db, fx.a, b.id, SLOT + LEN, SLOT + 2 * LEN, 1, NOW, &[])
        .await
        .unwrap();
    assert_eq!(
        (moved.slot_start, moved.slot_end),
        (SLOT + LEN, SLOT + 2 * LEN)
    );
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT).await, 0);
    assert_eq!(used(&db, fx.a, fx.sa, "online", SLOT + LEN).await, 1);

    let fixed = update_booking_client(
        &db,
        fx.a,
        b.id,
        Some("Jan"),
        Some("jan@example.pl"),
        None,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(fixed.client_email.as_deref(), Some("jan@example.pl"));
    let other = update_booking_client(&db, fx.b, b.id, Some("X"), None, None, NOW).await;
    assert!(matches!(other, Err(StoreError::Conflict)));
    assert_eq!(
        stored_booking(&db, fx.a, b.id).await.client_name.as_deref(),
        Some("Jan")
    );
}

// ---------------------------------------------------------------------------------------------
// 18. Staff: users per tenant and operators, lockout counting, sessions bound to their scope
// ---------------------------------------------------------------------------------------------

fn new_user(login: &str, role: &'static str) -> NewUser {
    NewUser {
        login: login.to_string(),
        display_name: format!("Osoba {login}"),
        password_hash: "$argon2id$test".to_string(),
        role,
    }
}

async fn audit_count(db: &Db, scope: Scope) -> usize {
    audit_page(db, scope, None, 1000).await.unwrap().len()
}

async fn scenario_users(db: Db) {
    let fx = fixture(&db).await;
    let (a, b) = (Scope::Tenant(fx.a), Scope::Tenant(fx.b));
    let audit = NewAudit::new("operator:1", "user.create", "");
    let ua = create_user(
        &db,
        a,
        &new_user("anna@example.pl", "admin"),
        Some(&audit),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(ua.tenant_id, Some(fx.a.0));
    assert_eq!((ua.status.as_str(), ua.failed_logins), ("active", 0));
    // The same login in another tenant and among operators is another person.
    let ub = create_user(&db, b, &new_user("anna@example.pl", "clerk"), None, NOW)
        .await
        .unwrap();
    let op = create_user(
        &db,
        Scope::Platform,
        &new_user("anna@example.pl", "operator"),
        None,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(op.tenant_id, None);
    assert!(matches!(
        create_user(&db, a, &new_user("anna@example.pl", "clerk"), None, NOW).await,
        Err(StoreError::Unique("login"))
    ));
    assert!(matches!(
        create_user(
            &db,
            Scope::Platform,
            &new_user("anna@example.pl", "operator"),
            None,
            NOW
        )
        .await,
        Err(StoreError::Unique("login"))
    ));
    // The schema keeps operators out of tenants and staff out of the platform.
    assert!(
        create_user(&db, a, &new_user("x@example.pl", "operator"), None, NOW)
            .await
            .is_err()
    );
    assert!(create_user(
        &db,
        Scope::Platform,
        &new_user("y@example.pl", "admin"),
        None,
        NOW
    )
    .await
    .is_err());

    // Every lookup stays in its scope.
    assert_eq!(
        user_by_login(&db, a, "anna@example.pl")
            .await
            .unwrap()
            .unwrap()
            .id,
        ua.id
    );
    assert_eq!(
        user_by_login(&db, b, "anna@example.pl")
            .await
            .unwrap()
            .unwrap()
            .id,
        ub.id
    );
    assert_eq!(
        user_by_login(&db, Scope::Platform, "anna@example.pl")
            .await
            .unwrap()
            .unwrap()
            .id,
        op.id
    );
    assert!(user_by_id(&db, b, ua.id).await.unwrap().is_none());
    assert!(user_by_id(&db, Scope::Platform, ua.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        list_users(&db, a)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [ua.id]
    );
    assert_eq!(
        list_users(&db, Scope::Platform)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [op.id]
    );
    let audits = audit_page(&db, a, None, 10).await.unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].target, format!("user:{}", ua.id));

    // Suspending through another tenant finds nothing and changes nothing.
    assert!(matches!(
        set_user_status(&db, b, ua.id, "suspended", None, NOW).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        user_by_id(&db, a, ua.id).await.unwrap().unwrap().status,
        "active"
    );
    let s = set_user_status(&db, a, ua.id, "suspended", Some(&audit), NOW + 1)
        .await
        .unwrap();
    assert_eq!(s.status, "suspended");
    assert_eq!(audit_count(&db, a).await, 2);
    assert_eq!(audit_count(&db, b).await, 0);

    // Lockout counting: the 5th wrong password in a row locks, and the count starts again.
    let lock = NOW + 900;
    for i in 1..5 {
        assert_eq!(
            record_failed_login(&db, b, ub.id, 5, lock, NOW + i)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        user_by_id(&db, b, ub.id)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        4
    );
    assert!(matches!(
        record_failed_login(&db, a, ub.id, 5, lock, NOW).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        record_failed_login(&db, b, ub.id, 5, lock, NOW + 5)
            .await
            .unwrap(),
        Some(lock)
    );
    let locked = user_by_id(&db, b, ub.id).await.unwrap().unwrap();
    assert_eq!((locked.failed_logins, locked.locked_until), (0, Some(lock)));
    // A later wrong password counts from zero and keeps the lock's end.
    assert_eq!(
        record_failed_login(&db, b, ub.id, 5, lock + 100, NOW + 6)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        user_by_id(&db, b, ub.id)
            .await
            .unwrap()
            .unwrap()
            .locked_until,
        Some(lock)
    );
}

async fn scenario_sessions(db: Db) {
    let fx = fixture(&db).await;
    let (a, b) = (Scope::Tenant(fx.a), Scope::Tenant(fx.b));
    let ua = create_user(&db, a, &new_user("anna@example.pl", "admin"), None, NOW)
        .await
        .unwrap();
    let op = create_user(
        &db,
        Scope::Platform,
        &new_user("ops@example.pl", "operator"),
        None,
        NOW,
    )
    .await
    .unwrap();
    record_failed_login(&db, a, ua.id, 5, NOW + 900, NOW)
        .await
        .unwrap();
    let s = start_session(&db, a, ua.id, "hash-a", NOW, NOW + 8 * 3600)
        .await
        .unwrap();
    assert_eq!(s.tenant_id, Some(fx.a.0));
    assert_eq!(
        user_by_id(&db, a, ua.id)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        0,
        "a successful login clears the count"
    );
    let (found, user) = session_user(&db, a, "hash-a", NOW + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, user.id), (s.id, ua.id));
    // Bound to its tenant: unknown elsewhere and on the platform.
    assert!(session_user(&db, b, "hash-a", NOW + 1)
        .await
        .unwrap()
        .is_none());
    assert!(session_user(&db, Scope::Platform, "hash-a", NOW + 1)
        .await
        .unwrap()
        .is_none());
    assert!(!revoke_session(&db, b, "hash-a", NOW + 2).await.unwrap());
    assert!(session_user(&db, a, "hash-a", NOW + 3)
        .await
        .unwrap()
        .is_some());
    // A session cannot be started for another tenant's user.
    assert!(matches!(
        start_session(&db, b, ua.id, "hash-x", NOW, NOW + 60).await,
        Err(StoreError::NotFound)
    ));
    // Expiry.
    assert!(session_user(&db, a, "hash-a", NOW + 8 * 3600)
        .await
        .unwrap()
        .is_none());
    // Revocation.
    start_session(&db, a, ua.id, "hash-a2", NOW, NOW + 60)
        .await
        .unwrap();
    assert!(revoke_session(&db, a, "hash-a2", NOW + 1).await.unwrap());
    assert!(!revoke_session(&db, a, "hash-a2", NOW + 2).await.unwrap());
    assert!(session_user(&db, a, "hash-a2", NOW + 3)
        .await
        .unwrap()
        .is_none());
    // Operator sessions are the platform's.
    start_session(&db, Scope::Platform, op.id, "hash-op", NOW, NOW + 60)
        .await
        .unwrap();
    assert!(session_user(&db, Scope::Platform, "hash-op", NOW + 1)
        .await
        .unwrap()
        .is_some());
    assert!(session_user(&db, a, "hash-op", NOW + 1)
        .await
        .unwrap()
        .is_none());
    // A token hash is unique.
    assert!(matches!(
        start_session(&db, Scope::Platform, op.id, "hash-op", NOW, NOW + 60).await,
        Err(StoreError::Unique("token_hash"))
    ));
    // Suspending a user ends its sessions.
    start_session(&db, a, ua.id, "hash-a3", NOW, NOW + 60)
        .await
        .unwrap();
    set_user_status(&db, a, ua.id, "suspended", None, NOW + 1)
        .await
        .unwrap();
    assert!(session_user(&db, a, "hash-a3", NOW + 2)
        .await
        .unwrap()
        .is_none());
    set_user_status(&db, a, ua.id, "active", None, NOW + 2)
        .await
        .unwrap();
    assert!(
        session_user(&db, a, "hash-a3", NOW + 3)
            .await
            .unwrap()
            .is_none(),
        "a resumed user logs in again"
    );
}

async fn scenario_devices_and_keys(db: Db) {
    let fx = fixture(&db).await;
    let office_a = okienko_store::active_offices(&db, fx.a).await.unwrap()[0].id;
    let audit = NewAudit::new("user:1", "device.create", "");
    let d = create_device(
        &db,
        fx.a,
        office_a,
        "kiosk",
        "Kiosk w holu",
        "dev-a",
        Some(&audit),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (d.tenant_id, d.office_id, d.kind.as_str()),
        (fx.a.0, office_a, "kiosk")
    );
    // Another tenant's office cannot hold a device of b.
    assert!(matches!(
        create_device(&db, fx.b, office_a, "display", "Obcy", "dev-b", None, NOW).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        device_by_token(&db, fx.a, "dev-a")
            .await
            .unwrap()
            .unwrap()
            .id,
        d.id
    );
    assert!(device_by_token(&db, fx.b, "dev-a").await.unwrap().is_none());
    assert!(list_devices(&db, fx.b).await.unwrap().is_empty());
    assert!(matches!(
        revoke_device(&db, fx.b, d.id, None, NOW).await,
        Err(StoreError::NotFound)
    ));
    assert!(device_by_token(&db, fx.a, "dev-a").await.unwrap().is_some());
    let r = revoke_device(&db, fx.a, d.id, None, NOW + 5).await.unwrap();
    assert_eq!(r.revoked_at, Some(NOW + 5));
    let again = revoke_device(&db, fx.a, d.id, None, NOW + 9).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(NOW + 5),
        "revoking twice keeps the first time"
    );
    assert!(device_by_token(&db, fx.a, "dev-a").await.unwrap().is_none());
    assert_eq!(list_devices(&db, fx.a).await.unwrap().len(), 1);

    let k = create_api_key(
        &db,
        fx.a,
        "Portal",
        "[\"bookings:read\"]",
        "key-a",
        None,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(k.scopes, "[\"bookings:read\"]");
    assert!(matches!(
        create_api_key(&db, fx.b, "Portal", "[]", "key-a", None, NOW).await,
        Err(StoreError::Unique("key_hash"))
    ));
    assert_eq!(
        api_key_by_hash(&db, fx.a, "key-a")
            .await
            .unwrap()
            .unwrap()
            .id,
        k.id
    );
    assert!(api_key_by_hash(&db, fx.b, "key-a").await.unwrap().is_none());
    assert!(list_api_keys(&db, fx.b).await.unwrap().is_empty());
    assert!(matches!(
        revoke_api_key(&db, fx.b, k.id, None, NOW).await,
        Err(StoreError::NotFound)
    ));
    revoke_api_key(&db, fx.a, k.id, None, NOW + 1)
        .await
        .unwrap();
    assert!(api_key_by_hash(&db, fx.a, "key-a").await.unwrap().is_none());
    assert_eq!(audit_count(&db, Scope::Tenant(fx.a)).await, 1);
    assert_eq!(audit_count(&db, Scope::Tenant(fx.b)).await, 0);
}

// ---------------------------------------------------------------------------------------------
// 19. Audit log: per scope, newest first, paged by cursor
// ---------------------------------------------------------------------------------------------

async fn scenario_audit(db: Db) {
    let fx = fixture(&db).await;
    let (a, b) = (Scope::Tenant(fx.a), Scope::Tenant(fx.b));
    for i in 0..5 {
        let e = NewAudit::new("user:1", "config.edit", &format!("office:{i}"))
            .before("{\"x\":1}")
            .after("{\"x\":2}");
        record_audit(&db, a, &e, NOW + i).await.unwrap();
    }
    record_audit(
        &db,
        b,
        &NewAudit::new("user:2", "user.create", "user:2"),
        NOW,
    )
    .await
    .unwrap();
    record_audit(
        &db,
        Scope::Platform,
        &NewAudit::new("operator:1", "tenant.create", "tenant:a"),
        NOW,
    )
    .await
    .unwrap();
    let first = audit_page(&db, a, None, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["office:4", "office:3"]
    );
    assert_eq!(first[0].before_json.as_deref(), Some("{\"x\":1}"));
    assert_eq!(first[0].after_json.as_deref(), Some("{\"x\":2}"));
    assert_eq!(first[0].tenant_id, Some(fx.a.0));
    let second = audit_page(&db, a, Some(first[1].id), 2).await.unwrap();
    assert_eq!(
        second.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["office:2", "office:1"]
    );
    let last = audit_page(&db, a, Some(second[1].id), 2).await.unwrap();
    assert_eq!(last.len(), 1);
    assert!(audit_page(&db, a, Some(last[0].id), 2)
        .await
        .unwrap()
        .is_empty());
    let of_b = audit_page(&db, b, None, 100).await.unwrap();
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0].actor, "user:2");
    let platform = audit_page(&db, Scope::Platform, None, 100).await.unwrap();
    assert_eq!(platform.len(), 1);
    assert_eq!(platform[0].tenant_id, None);
    // A cursor from another tenant's page shows nothing of that tenant.
    assert!(audit_page(&db, b, Some(first[0].id + 100), 100)
        .await
        .unwrap()
        .iter()
        .all(|r| r.tenant_id == Some(fx.b.0)));
}

// ---------------------------------------------------------------------------------------------
// 20. Tenant configuration edits: rows in step, optimistic concurrency, status, creation
// ---------------------------------------------------------------------------------------------

async fn scenario_tenant_config(db: Db) {
    let fx = fixture(&db).await;
    let before = active_services(&db, fx.a).await.unwrap();
    let b_before = tenant_by_id(&db, fx.b).await.unwrap().unwrap();
    let change = tenant_import("a", "ha2", &["dowod", "paszport"]);
    let audit = NewAudit::new("user:1", "config.create_service", "service:paszport")
        .before("{}")
        .after("{}");
    // A change made from a stale version stores nothing, not even its audit row.
    assert!(matches!(
        update_tenant_config(&db, fx.a, &change, "stale", Some(&audit), NOW + 1).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(active_services(&db, fx.a).await.unwrap().len(), 1);
    assert_eq!(audit_count(&db, Scope::Tenant(fx.a)).await, 0);

    update_tenant_config(&db, fx.a, &change, "ha1", Some(&audit), NOW + 1)
        .await
        .unwrap();
    let row = tenant_by_id(&db, fx.a).await.unwrap().unwrap();
    assert_eq!(row.config_hash, "ha2");
    let after = active_services(&db, fx.a).await.unwrap();
    assert_eq!(after.len(), 2);
    assert!(after
        .iter()
        .any(|s| s.id == before[0].id && s.key == "dowod"));
    assert_eq!(audit_count(&db, Scope::Tenant(fx.a)).await, 1);

    // Removing a service deactivates its row; re-adding it brings the same id back.
    update_tenant_config(
        &db,
        fx.a,
        &tenant_import("a", "ha3", &["paszport"]),
        "ha2",
        None,
        NOW + 2,
    )
    .await
    .unwrap();
    let only = active_services(&db, fx.a).await.unwrap();
    assert_eq!(
        only.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["paszport"]
    );
    update_tenant_config(
        &db,
        fx.a,
        &tenant_import("a", "ha4", &["dowod", "paszport"]),
        "ha3",
        None,
        NOW + 3,
    )
    .await
    .unwrap();
    assert!(active_services(&db, fx.a)
        .await
        .unwrap()
        .iter()
        .any(|s| s.id == before[0].id));
    // Tenant b untouched.
    let b_after = tenant_by_id(&db, fx.b).await.unwrap().unwrap();
    assert_eq!(b_after.config_hash, b_before.config_hash);
    assert_eq!(active_services(&db, fx.b).await.unwrap()[0].id, fx.sb);

    // Status: suspended and back, audited on the platform.
    let op = NewAudit::new("operator:1", "tenant.suspend", "tenant:b");
    let s = set_tenant_status(&db, fx.b, "suspended", Some(&op), NOW)
        .await
        .unwrap();
    assert_eq!(s.status, "suspended");
    assert_eq!(
        tenant_by_slug(&db, "b").await.unwrap().unwrap().status,
        "suspended"
    );
    assert_eq!(
        tenant_by_slug(&db, "a").await.unwrap().unwrap().status,
        "active"
    );
    set_tenant_status(&db, fx.b, "active", None, NOW)
        .await
        .unwrap();
    assert_eq!(
        tenant_by_slug(&db, "b").await.unwrap().unwrap().status,
        "active"
    );
    assert!(matches!(
        set_tenant_status(&db, TenantId(fx.b.0 + 1000), "active", None, NOW).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(audit_count(&db, Scope::Platform).await, 1);

    // Creation: a new slug gets its rows; a taken one is refused.
    let c = create_tenant(&db, &tenant_import("c", "hc1", &["dowod"]), None, NOW)
        .await
        .unwrap();
    assert_eq!(active_services(&db, c).await.unwrap().len(), 1);
    assert!(matches!(
        create_tenant(&db, &tenant_import("a", "hx", &["dowod"]), None, NOW).await,
        Err(StoreError::Unique("slug"))
    ));
}
