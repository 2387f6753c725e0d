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
//!
//! On top of the usage rows, whole answers of the public API to requests that read nothing but
//! availability are kept ([`Answers`]): the request's exact bytes, the minute it was computed in
//! and the usage generation of every service it read. An answer is served again only in the
//! same minute (every slot start and booking notice is a whole minute, so the calendar part
//! cannot change within one) and while none of those generations has moved; otherwise the
//! request runs as usual. A hit skips GraphQL parsing and execution altogether.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
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

/// Bytes of whole answers kept at most (a week of one service is about 10 KiB).
const MAX_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone)]
pub struct UsageCache {
    inner: Cache<Key, Usage>,
    answers: Cache<(i64, u64), Arc<Answer>>,
    counts: Arc<Counts>,
}

/// Hits and misses of both caches, read by the metrics scrape (`okienko_app::metrics`).
#[derive(Debug, Default)]
struct Counts {
    usage_hits: AtomicU64,
    usage_misses: AtomicU64,
    answer_hits: AtomicU64,
    answer_misses: AtomicU64,
}

/// One cache's figures: `usage` or `answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub cache: &'static str,
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
}

impl Default for UsageCache {
    fn default() -> Self {
        UsageCache {
            inner: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(TIME_TO_LIVE)
                .build(),
            answers: Cache::builder()
                .max_capacity(MAX_ANSWER_BYTES)
                .weigher(|_, a: &Arc<Answer>| {
                    u32::try_from(a.request.len() + a.body.len() + 128).unwrap_or(u32::MAX)
                })
                .time_to_live(TIME_TO_LIVE)
                .build(),
            counts: Arc::default(),
        }
    }
}

impl std::fmt::Debug for UsageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageCache")
            .field("entries", &self.inner.entry_count())
            .field("answers", &self.answers.entry_count())
            .finish()
    }
}

/// A usage generation an answer was computed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dep {
    tenant: TenantId,
    service: i64,
    generation: u64,
}

impl Dep {
    fn current(&self) -> bool {
        usage_events::usage_generation(self.tenant, self.service) == self.generation
    }
}

/// The services an availability read used, noted by the resolver *before* it reads their
/// usage (so a change racing with the read leaves the answer stale, never wrong).
#[derive(Debug, Default)]
pub struct ReadDeps(Mutex<Vec<Dep>>);

impl ReadDeps {
    pub fn note(&self, tenant: TenantId, service: i64) {
        let generation = usage_events::usage_generation(tenant, service);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(Dep {
            tenant,
            service,
            generation,
        });
    }

    fn take(&self) -> Vec<Dep> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A whole answer kept for its exact request.
#[derive(Debug)]
pub struct Answer {
    request: Bytes,
    minute: i64,
    deps: Vec<Dep>,
    body: Bytes,
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

fn request_hash(request: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    request.hash(&mut h);
    h.finish()
}

impl UsageCache {
    /// Hits, misses and entries of the usage rows and of the whole answers.
    pub fn stats(&self) -> [CacheStats; 2] {
        let c = &self.counts;
        [
            CacheStats {
                cache: "usage",
                hits: c.usage_hits.load(Ordering::Relaxed),
                misses: c.usage_misses.load(Ordering::Relaxed),
                entries: self.inner.entry_count(),
            },
            CacheStats {
                cache: "answer",
                hits: c.answer_hits.load(Ordering::Relaxed),
                misses: c.answer_misses.load(Ordering::Relaxed),
                entries: self.answers.entry_count(),
            },
        ]
    }

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
        let counts = &self.counts;
        // A miss runs the query; concurrent misses of one key count one (one query ran).
        let missed = std::sync::atomic::AtomicBool::new(false);
        let answer = self
            .inner
            .try_get_with(key, async {
                missed.store(true, Ordering::Relaxed);
                okienko_store::slot_usage(db, tenant, service, quota, from, to)
                    .await
                    .map(|rows| Arc::new(rows.into_iter().collect::<HashMap<_, _>>()))
            })
            .await;
        match missed.load(Ordering::Relaxed) {
            true => counts.usage_misses.fetch_add(1, Ordering::Relaxed),
            false => counts.usage_hits.fetch_add(1, Ordering::Relaxed),
        };
        answer.map_err(|e| e.copy_of())
    }
}

impl UsageCache {
    /// A kept answer to exactly these request bytes, if computed in this minute and no usage
    /// it read has changed since.
    pub async fn answer(
        &self,
        tenant: TenantId,
        request: &[u8],
        now: DateTime<Utc>,
    ) -> Option<Bytes> {
        let kept = self
            .answers
            .get(&(tenant.0, request_hash(request)))
            .await
            .filter(|a| {
                a.request == request
                    && a.minute == minute_of(now)
                    && a.deps.iter().all(Dep::current)
            });
        let count = match kept {
            Some(_) => &self.counts.answer_hits,
            None => &self.counts.answer_misses,
        };
        count.fetch_add(1, Ordering::Relaxed);
        kept.map(|a| a.body.clone())
    }

    /// Keeps an answer computed between `began` and `ended` from the usage `deps` noted.
    /// Nothing is kept when the computation crossed a minute or began on its first
    /// millisecond (where a slot exactly at the booking notice is still in), or read no
    /// availability.
    pub async fn keep_answer(
        &self,
        tenant: TenantId,
        request: Bytes,
        deps: &ReadDeps,
        began: DateTime<Utc>,
        ended: DateTime<Utc>,
        body: Bytes,
    ) {
        let deps = deps.take();
        let minute = minute_of(began);
        if deps.is_empty()
            || minute != minute_of(ended)
            || began.timestamp_millis().rem_euclid(60_000) == 0
        {
            return;
        }
        let key = (tenant.0, request_hash(&request));
        let answer = Answer {
            request,
            minute,
            deps,
            body,
        };
        self.answers.insert(key, Arc::new(answer)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32, ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, s)
            .single()
            .unwrap_or_default()
            + chrono::Duration::milliseconds(i64::from(ms))
    }

    const REQ: &[u8] = br#"{"query":"{ availability(serviceId: \"1\", from: \"2026-12-02\", to: \"2026-12-02\") { date } }"}"#;

    async fn kept(
        cache: &UsageCache,
        tenant: TenantId,
        began: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) {
        let deps = ReadDeps::default();
        deps.note(tenant, 7);
        let body = Bytes::from_static(b"{\"data\":{}}");
        cache
            .keep_answer(tenant, Bytes::from_static(REQ), &deps, began, ended, body)
            .await;
    }

    #[tokio::test]
    async fn an_answer_is_served_in_its_minute_while_its_usage_stands() {
        // Tenant ids of their own: the generations are shared by the process.
        let tenant = TenantId(900_001);
        let cache = UsageCache::default();
        kept(&cache, tenant, at(9, 0, 10, 0), at(9, 0, 10, 3)).await;
        assert!(cache.answer(tenant, REQ, at(9, 0, 59, 999)).await.is_some());
        assert!(
            cache.answer(tenant, b"{}", at(9, 0, 20, 0)).await.is_none(),
            "other bytes"
        );
        assert!(
            cache
                .answer(TenantId(900_002), REQ, at(9, 0, 20, 0))
                .await
                .is_none(),
            "other tenant"
        );
        assert!(
            cache.answer(tenant, REQ, at(9, 1, 0, 0)).await.is_none(),
            "next minute"
        );
        usage_events::apply_remote(&format!("{}:7", tenant.0));
        assert!(
            cache.answer(tenant, REQ, at(9, 0, 30, 0)).await.is_none(),
            "usage changed"
        );
    }

    #[tokio::test]
    async fn answers_across_a_minute_or_from_its_first_millisecond_are_not_kept() {
        let tenant = TenantId(900_003);
        let cache = UsageCache::default();
        kept(&cache, tenant, at(9, 0, 59, 999), at(9, 1, 0, 1)).await;
        assert!(cache.answer(tenant, REQ, at(9, 1, 0, 5)).await.is_none());
        assert!(cache.answer(tenant, REQ, at(9, 0, 59, 999)).await.is_none());
        kept(&cache, tenant, at(9, 2, 0, 0), at(9, 2, 0, 2)).await;
        assert!(cache.answer(tenant, REQ, at(9, 2, 30, 0)).await.is_none());
        // Without any availability read noted, nothing is kept either.
        let body = Bytes::from_static(b"{}");
        let none = ReadDeps::default();
        let req = Bytes::from_static(REQ);
        cache
            .keep_answer(tenant, req, &none, at(9, 3, 1, 0), at(9, 3, 1, 1), body)
            .await;
        assert!(cache.answer(tenant, REQ, at(9, 3, 2, 0)).await.is_none());
    }
}
