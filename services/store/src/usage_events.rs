//! Changes of slot usage, for the availability cache of the API.
//!
//! Every store function that changes `slot_usage` calls [`usage_changed`] after its commit:
//! it raises the generation of the (tenant, service) in this process and, on PostgreSQL,
//! sends `NOTIFY okienko_invalidate` with `tenant:service` so that the other replicas raise
//! theirs ([`apply_remote`], fed by the server's listener). A cached usage map is keyed by the
//! generation read before its query, so after a change no request reads it again.
//!
//! The generations are shared by the whole process: two databases in one process only
//! invalidate each other's entries more often than needed, never less.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use crate::{Db, TenantId};

/// The PostgreSQL channel of usage changes.
pub const INVALIDATE_CHANNEL: &str = "okienko_invalidate";

static EPOCH: AtomicU64 = AtomicU64::new(0);
static TENANTS: LazyLock<Mutex<HashMap<i64, u64>>> = LazyLock::new(Default::default);
static SERVICES: LazyLock<Mutex<HashMap<(i64, i64), u64>>> = LazyLock::new(Default::default);

/// The generation of one service's usage; it only grows, and grows with every change.
pub fn usage_generation(tenant: TenantId, service: i64) -> u64 {
    let epoch = EPOCH.load(Ordering::SeqCst);
    let t = TENANTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&tenant.0)
        .copied()
        .unwrap_or(0);
    let s = SERVICES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(tenant.0, service))
        .copied()
        .unwrap_or(0);
    epoch.wrapping_add(t).wrapping_add(s)
}

/// Every cached usage map of the process becomes stale (e.g. after the listener lost its
/// connection and may have missed notifications).
pub fn invalidate_all() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// Every cached usage map of one tenant becomes stale (e.g. after a configuration edit).
pub fn invalidate_tenant(tenant: TenantId) {
    *TENANTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(tenant.0)
        .or_insert(0) += 1;
}

fn invalidate_service(tenant: i64, service: i64) {
    *SERVICES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((tenant, service))
        .or_insert(0) += 1;
}

/// Applies a notification from another replica: `tenant:service`, `tenant:*` or anything
/// else (everything becomes stale).
pub fn apply_remote(payload: &str) {
    let mut parts = payload.splitn(2, ':');
    let tenant = parts.next().and_then(|t| t.parse::<i64>().ok());
    match (tenant, parts.next()) {
        (Some(t), Some("*")) => invalidate_tenant(TenantId(t)),
        (Some(t), Some(s)) => match s.parse::<i64>() {
            Ok(s) => invalidate_service(t, s),
            Err(_) => invalidate_all(),
        },
        _ => invalidate_all(),
    }
}

async fn notify(db: &Db, payload: String) {
    if let Db::Pg(pool) = db {
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(INVALIDATE_CHANNEL)
            .bind(&payload)
            .execute(pool)
            .await
        {
            tracing::warn!(error = %e, payload, "usage change not sent to other replicas");
        }
    }
}

/// Called after a commit that changed the usage of a service's slots.
pub async fn usage_changed(db: &Db, tenant: TenantId, service: i64) {
    invalidate_service(tenant.0, service);
    notify(db, format!("{}:{service}", tenant.0)).await;
}

/// Called after a commit that changed the usage of some of a tenant's services.
pub async fn tenant_usage_changed(db: &Db, tenant: TenantId) {
    invalidate_tenant(tenant);
    notify(db, format!("{}:*", tenant.0)).await;
}

/// On PostgreSQL, applies the other replicas' usage changes until `stop` turns true. After
/// every (re)connection everything cached becomes stale, since notifications may have been
/// missed meanwhile. On SQLite (one process) it returns at once.
pub async fn listen(db: Db, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Db::Pg(pool) = db else { return };
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(INVALIDATE_CHANNEL).await {
                Ok(()) => {
                    invalidate_all();
                    loop {
                        tokio::select! {
                            n = listener.try_recv() => match n {
                                Ok(Some(n)) => apply_remote(n.payload()),
                                // The connection was lost; the next call reconnects.
                                Ok(None) => invalidate_all(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "usage change listener");
                                    invalidate_all();
                                    break;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "usage change listener cannot listen"),
            },
            Err(e) => tracing::warn!(error = %e, "usage change listener cannot connect"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
