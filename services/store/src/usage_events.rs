//! Changes one process makes that the other processes on the same database must learn of: slot
//! usage, for the availability cache of the API, configuration (catalog and policies), and the
//! call displays' events.
//!
//! Every store function that changes `slot_usage` calls [`usage_changed`] after its commit:
//! it raises the generation of the (tenant, service) in this process and, on PostgreSQL,
//! sends `NOTIFY okienko_invalidate` with `tenant:service` so that the other replicas raise
//! theirs ([`apply_remote`], fed by the server's listener). A cached usage map is keyed by the
//! generation read before its query, so after a change no request reads it again.
//!
//! Every store function that changes what the catalog or the policy host holds (a tenant's
//! configuration or status, a new tenant, an import, a policy activation) calls
//! [`config_changed`] after its commit: on PostgreSQL it sends `NOTIFY okienko_reload` with
//! `<tenant id>:<origin>` (`*` for the tenant when several may have changed), and each other
//! server's listener wakes [`Remote::reload`], on which the server reloads its catalog and
//! policies. `<origin>` is [`origin`], this process's random id: the process that made the
//! change has already reloaded and ignores its own notification.
//!
//! A call display's event published on one server goes out as `NOTIFY okienko_display` with a
//! JSON object (tenant, office, event, origin; [`display_event`]); the other servers hand it
//! to their displays through [`Remote::display`], the publishing one skips it (it delivered
//! the event when it published it). One connection listens on all three channels ([`listen`]).
//!
//! The generations are shared by the whole process: two databases in one process only
//! invalidate each other's entries more often than needed, never less.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection as _};
use futures_util::StreamExt as _;
use tokio::sync::Notify;

use crate::{checkout, Db, Result, TenantId};

/// The PostgreSQL channel of usage changes.
pub const INVALIDATE_CHANNEL: &str = "okienko_invalidate";
/// The PostgreSQL channel of configuration and policy changes.
pub const RELOAD_CHANNEL: &str = "okienko_reload";
/// The PostgreSQL channel of the call displays' events.
pub const DISPLAY_CHANNEL: &str = "okienko_display";
/// The longest notification payload PostgreSQL accepts, in bytes.
pub const MAX_PAYLOAD: usize = 7999;

static ORIGIN: LazyLock<String> = LazyLock::new(|| format!("{:016x}", rand::random::<u64>()));

/// This process's id in the notifications it sends (random, fixed for its lifetime).
pub fn origin() -> &'static str {
    &ORIGIN
}

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

// FOUNDATION: pub(crate), so that a booking's transaction sends its own NOTIFY and the
// booking path only invalidates this process's cache after the commit.
pub(crate) fn invalidate_service(tenant: i64, service: i64) {
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

async fn notify(db: &Db, channel: &str, payload: String) {
    if let Db::Pg(pool) = db {
        let sent = match checkout(pool).await {
            Ok(conn) => notify_on(&conn, channel, &payload).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, channel, payload, "change not sent to other replicas");
        }
    }
}

/// Sends a notification on `conn`; inside a transaction PostgreSQL delivers it at the commit,
/// and not at all when the transaction rolls back.
/// A shared reference is enough: a booking's transaction sends it pipelined with its last
/// statements.
pub(crate) async fn notify_on(
    mut conn: &AsyncPgConnection,
    channel: &str,
    payload: &str,
) -> Result<()> {
    use diesel_async::RunQueryDsl as _;
    // Text: `pg_notify` is PostgreSQL's own function, with nothing to check against schema.rs.
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(channel)
        .bind::<Text, _>(payload)
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// What [`usage_changed`] sends, for a booking's transaction to send it itself.
pub(crate) fn usage_payload(tenant: TenantId, service: i64) -> (&'static str, String) {
    (INVALIDATE_CHANNEL, format!("{}:{service}", tenant.0))
}

/// Called after a commit that changed the usage of a service's slots.
pub async fn usage_changed(db: &Db, tenant: TenantId, service: i64) {
    invalidate_service(tenant.0, service);
    let (channel, payload) = usage_payload(tenant, service);
    notify(db, channel, payload).await;
}

/// Called after a commit that changed the usage of some of a tenant's services.
pub async fn tenant_usage_changed(db: &Db, tenant: TenantId) {
    invalidate_tenant(tenant);
    notify(db, INVALIDATE_CHANNEL, format!("{}:*", tenant.0)).await;
}

/// Called after a commit that changed a tenant's configuration, status or active policy
/// (`None`: possibly several tenants). The other servers on the same PostgreSQL database
/// reload their catalog and policies; this process reloads on its own (`App::reload`).
pub async fn config_changed(db: &Db, tenant: Option<TenantId>) {
    let tenant = tenant.map_or_else(|| "*".to_string(), |t| t.0.to_string());
    notify(db, RELOAD_CHANNEL, format!("{tenant}:{}", origin())).await;
}

/// Whether a reload notification came from another process (and so must be acted on).
fn reload_is_foreign(payload: &str) -> bool {
    payload
        .rsplit_once(':')
        .is_none_or(|(_, from)| from != origin())
}

/// Sends a call display's event (a JSON object; the API's `queue::OfficeEvent`) to the other
/// servers on the database, with [`origin`] added as `origin` so that this process does not
/// deliver it twice. On SQLite nothing is sent; an event too large for a notification is
/// logged and not sent (a display catches up through its `board`).
pub async fn display_event(db: &Db, mut event: serde_json::Map<String, serde_json::Value>) {
    if !matches!(db, Db::Pg(_)) {
        return;
    }
    event.insert("origin".into(), origin().into());
    let payload = serde_json::Value::Object(event).to_string();
    if payload.len() > MAX_PAYLOAD {
        tracing::warn!(
            bytes = payload.len(),
            "display event too large for a notification; not sent to other replicas"
        );
        return;
    }
    notify(db, DISPLAY_CHANNEL, payload).await;
}

/// What the listener hands on to the rest of the server.
#[derive(Clone, Default)]
pub struct Remote {
    /// Woken when the catalog and the active policies must be read again: another process
    /// changed them, or the listener (re)connected and may have missed notifications. Wake-ups
    /// that arrive before the reload starts make one reload (`Notify` keeps a single permit).
    pub reload: Arc<Notify>,
    /// Where the call displays' events of other processes go, each once, without `origin`.
    pub display: Option<tokio::sync::mpsc::UnboundedSender<serde_json::Value>>,
    /// What the listener did, read by the metrics scrape (`okienko_db_listener_connected`,
    /// `okienko_db_notifications_total`; docs/metrics.md).
    pub stats: Arc<ListenStats>,
}

/// The listener's state and the notifications it received, per channel.
#[derive(Debug, Default)]
pub struct ListenStats {
    /// True once [`listen`] runs on PostgreSQL (the listener exists at all).
    pub served: AtomicBool,
    /// True while a connection listens.
    pub connected: AtomicBool,
    invalidate: AtomicU64,
    reload: AtomicU64,
    display: AtomicU64,
}

impl ListenStats {
    /// The notifications received so far, per channel name.
    pub fn received(&self) -> [(&'static str, u64); 3] {
        [
            (INVALIDATE_CHANNEL, self.invalidate.load(Ordering::Relaxed)),
            (RELOAD_CHANNEL, self.reload.load(Ordering::Relaxed)),
            (DISPLAY_CHANNEL, self.display.load(Ordering::Relaxed)),
        ]
    }

    fn count(&self, channel: &str) {
        let c = match channel {
            RELOAD_CHANNEL => &self.reload,
            DISPLAY_CHANNEL => &self.display,
            _ => &self.invalidate,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Applies or hands on one notification.
fn dispatch(channel: &str, payload: &str, remote: &Remote) {
    remote.stats.count(channel);
    match channel {
        RELOAD_CHANNEL => {
            if reload_is_foreign(payload) {
                remote.reload.notify_one();
            }
        }
        DISPLAY_CHANNEL => {
            let Some(tx) = &remote.display else { return };
            let mut event = match serde_json::from_str::<serde_json::Value>(payload) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    tracing::warn!(payload, "unreadable display event from another replica");
                    return;
                }
            };
            // This process delivered its own events when it published them.
            if event
                .remove("origin")
                .and_then(|o| o.as_str().map(str::to_string))
                != Some(origin().to_string())
            {
                let _ = tx.send(serde_json::Value::Object(event));
            }
        }
        _ => apply_remote(payload),
    }
}

/// After a (re)connection: notifications may have been missed meanwhile.
fn missed_some(remote: &Remote) {
    invalidate_all();
    remote.reload.notify_one();
}

/// On PostgreSQL, applies the other replicas' usage changes and hands their configuration
/// changes to `remote` until `stop` turns true. Once listening on a (new) connection,
/// everything cached becomes stale and a reload is asked for, since notifications may have been
/// missed while it did not listen (the first connection included: a change may have come
/// between the server's loading and its listening). A lost connection is replaced at once,
/// then every second while that fails. On SQLite (one process) it returns at once.
pub async fn listen(db: Db, mut stop: tokio::sync::watch::Receiver<bool>, remote: Remote) {
    let Db::Pg(pool) = db else { return };
    remote.stats.served.store(true, Ordering::Relaxed);
    loop {
        remote.stats.connected.store(false, Ordering::Relaxed);
        // A connection of its own, taken out of the pool: it listens for as long as it lives.
        match checkout(&pool).await.map(crate::Checked::take) {
            Ok(mut conn) => match conn
                .batch_execute(&format!(
                    "LISTEN {INVALIDATE_CHANNEL}; LISTEN {RELOAD_CHANNEL}; LISTEN {DISPLAY_CHANNEL}"
                ))
                .await
            {
                Ok(()) => {
                    tracing::info!("listening for changes made by other servers");
                    // Listening from here on: what changed before is read anew.
                    missed_some(&remote);
                    remote.stats.connected.store(true, Ordering::Relaxed);
                    let mut notifications = std::pin::pin!(conn.notifications_stream());
                    loop {
                        tokio::select! {
                            n = notifications.next() => match n {
                                Some(Ok(n)) => dispatch(&n.channel, &n.payload, &remote),
                                None => {
                                    tracing::warn!("change listener lost its connection; reconnecting");
                                    break;
                                }
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "change listener; reconnecting");
                                    break;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                    // A new listener at once; `missed_some` runs when it listens.
                    continue;
                }
                Err(e) => tracing::warn!(error = %e, "change listener cannot listen"),
            },
            Err(e) => tracing::warn!(error = %e, "change listener cannot connect"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    /// Whether a reload is due now, taking the permit if so.
    fn woken(n: &Notify) -> bool {
        let mut f = std::pin::pin!(n.notified());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        f.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn reloads_are_asked_for_by_other_processes_only() {
        let remote = Remote::default();
        dispatch(RELOAD_CHANNEL, &format!("7:{}", origin()), &remote);
        assert!(!woken(&remote.reload), "woken by its own change");

        dispatch(RELOAD_CHANNEL, "7:0123456789abcdef", &remote);
        dispatch(RELOAD_CHANNEL, "*:fedcba9876543210", &remote);
        // A burst makes one reload.
        assert!(woken(&remote.reload));
        assert!(!woken(&remote.reload), "two reloads for one burst");

        missed_some(&remote);
        assert!(woken(&remote.reload), "no reload after a reconnection");
    }

    #[test]
    fn display_events_of_other_processes_are_handed_on_once_without_origin() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let remote = Remote {
            display: Some(tx),
            ..Remote::default()
        };
        let own = serde_json::json!({ "origin": origin(), "tenant": 1, "office": 2 });
        dispatch(DISPLAY_CHANNEL, &own.to_string(), &remote);
        let other = serde_json::json!({ "origin": "0123456789abcdef", "tenant": 1, "office": 2 });
        dispatch(DISPLAY_CHANNEL, &other.to_string(), &remote);
        dispatch(DISPLAY_CHANNEL, "not json", &remote);
        assert_eq!(
            rx.try_recv().ok(),
            Some(serde_json::json!({ "tenant": 1, "office": 2 }))
        );
        assert!(rx.try_recv().is_err(), "delivered more than once");
    }

    #[test]
    fn usage_notifications_raise_generations() {
        let before = usage_generation(TenantId(-5), 3);
        dispatch(INVALIDATE_CHANNEL, "-5:3", &Remote::default());
        assert!(usage_generation(TenantId(-5), 3) > before);
    }
}
