//! The availability cache: the seats taken per slot of one service, quota and range of slot
//! starts, as the database last answered. Only these usage rows are cached; the calendar
//! (slots already begun, the booking window, closures) is computed anew for every request,
//! so the answer follows the clock.
//!
//! Entries are keyed by the usage generation of their (tenant, service) read before the
//! query (`okienko_store::usage_events`): every change of usage (a booking, confirmation
//! expiry, cancellation, rejection, reschedule, delayed seat release, lateness cancel, phone
//! booking) raises it after its commit, here or, through PostgreSQL's NOTIFY, in another
//! replica; a configuration edit raises the tenant's. A stale entry is never read again and
//! falls out by size or age. Concurrent misses of one key run one query. Bookings never rely
//! on the cache: a seat is taken by the store's conditional upsert.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use okienko_store::{usage_events, Db, StoreError, TenantId};

/// (tenant, service, quota, first slot start, last slot start + 1, generation).
type Key = (i64, i64, &'static str, i64, i64, u64);
pub type Usage = Arc<HashMap<i64, i64>>;

/// Entries kept at most (each is one service's usage over at most a few weeks of slots).
const MAX_ENTRIES: u64 = 20_000;
/// Age after which an entry is dropped even without a change (a bound on staleness should a
/// notification from another replica be lost).
const TIME_TO_LIVE: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct UsageCache {
    inner: Cache<Key, Usage>,
}

impl Default for UsageCache {
    fn default() -> Self {
        UsageCache {
            inner: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(TIME_TO_LIVE)
                .build(),
        }
    }
}

impl std::fmt::Debug for UsageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl UsageCache {
    /// The usage of `[from, to)`, from the cache or the database.
    pub async fn slot_usage(
        &self,
        db: &Db,
        tenant: TenantId,
        service: i64,
        quota: &'static str,
        from: i64,
        to: i64,
    ) -> Result<Usage, StoreError> {
        let generation = usage_events::usage_generation(tenant, service);
        let key = (tenant.0, service, quota, from, to, generation);
        self.inner
            .try_get_with(key, async move {
                okienko_store::slot_usage(db, tenant, service, quota, from, to)
                    .await
                    .map(|rows| Arc::new(rows.into_iter().collect::<HashMap<_, _>>()))
            })
            .await
            .map_err(|e| match &*e {
                StoreError::SlotFull => StoreError::SlotFull,
                StoreError::NotFound => StoreError::NotFound,
                StoreError::Conflict => StoreError::Conflict,
                other => StoreError::Db(sqlx_error(other)),
            })
    }
}

fn sqlx_error(e: &StoreError) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}
