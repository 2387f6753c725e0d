//! Rate limits (issue 6): per tenant and client address for the public API, stricter for
//! `createBooking` and for confirmation codes, per API key for partners. The numbers come from
//! the tenant's `[rate_limits]` (per minute, the same number as the burst). Over the limit the
//! answer is HTTP 429 with `Retry-After` and the code `RATE_LIMITED`.
//!
//! Each (kind, tenant, quota) has one keyed governor limiter whose keys are 64-bit hashes of
//! the client address or API key: a key costs a few dozen bytes. Every 4,096 checks the keys
//! whose window is full again (idle for up to a minute) are dropped, as they would answer like
//! new ones; should more than 100,000 keys of one limiter still be in their window (addresses
//! churning faster than that a minute), the limiter starts afresh. So memory stays bounded
//! however the addresses churn.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Keyed = RateLimiter<
    u64,
    DefaultKeyedStateStore<u64>,
    DefaultClock,
    governor::middleware::NoOpMiddleware<<DefaultClock as Clock>::Instant>,
>;

/// What a request is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Any public request (tenant, client address).
    Read,
    /// `createBooking` (tenant, client address).
    Booking,
    /// A confirmation code tried (tenant, client address).
    Code,
    /// A partner's request with an API key (tenant, key).
    Partner,
}

impl Kind {
    /// Its name in the metrics' `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Booking => "booking",
            Kind::Code => "code",
            Kind::Partner => "partner",
        }
    }

    const ALL: [Kind; 4] = [Kind::Read, Kind::Booking, Kind::Code, Kind::Partner];
}

/// Keys of one limiter still in their window kept at most; beyond, the limiter starts afresh.
pub const MAX_KEYS: usize = 100_000;
/// Checks between two sweeps of the keys whose window is full again.
const SWEEP_EVERY: u64 = 4096;

pub struct RateLimits {
    limiters: Mutex<HashMap<(Kind, i64, u32), Arc<Keyed>>>,
    checks: AtomicU64,
    enabled: bool,
    /// Requests refused, per kind and tenant id (`okienko_rate_limited_total`).
    refused: Mutex<HashMap<(Kind, i64), u64>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.enabled)
            .field("keys", &self.tracked())
            .finish()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::new(true)
    }
}

/// Over the limit: try again after this long.
#[derive(Debug, Clone, Copy)]
pub struct Limited(pub Duration);

impl Limited {
    /// Whole seconds for `Retry-After`, at least one.
    pub fn retry_after_secs(self) -> u64 {
        let s = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        s.max(1)
    }

    pub fn message(self) -> String {
        format!(
            "Zbyt wiele zapytań. Spróbuj ponownie za {} s.",
            self.retry_after_secs()
        )
    }
}

impl RateLimits {
    /// `enabled: false` lets everything through (development and tests only).
    pub fn new(enabled: bool) -> Self {
        RateLimits {
            limiters: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
            enabled,
            refused: Mutex::default(),
        }
    }

    /// Counts one request of `kind` for `key` (an address, an API key) in `tenant`,
    /// `per_minute` allowed (0: no limit).
    pub async fn check(
        &self,
        kind: Kind,
        tenant: i64,
        key: &(impl Hash + ?Sized),
        per_minute: u32,
    ) -> Result<(), Limited> {
        let Some(n) = NonZeroU32::new(per_minute).filter(|_| self.enabled) else {
            return Ok(());
        };
        let limiter = self
            .lock()
            .entry((kind, tenant, per_minute))
            .or_insert_with(|| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
            .clone();
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let answer = limiter
            .check_key(&h.finish())
            .map_err(|not_until| Limited(not_until.wait_time_from(DefaultClock::default().now())));
        if answer.is_err() {
            *self
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry((kind, tenant))
                .or_default() += 1;
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Kind, i64, u32), Arc<Keyed>>> {
        self.limiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the keys whose window is full again, the limiters left without keys, and the
    /// keys of a limiter holding more than [`MAX_KEYS`] still in their window.
    pub fn sweep(&self) {
        let mut limiters = self.lock();
        limiters.retain(|_, l| {
            l.retain_recent();
            l.shrink_to_fit();
            !l.is_empty() && l.len() <= MAX_KEYS
        });
    }

    /// Requests refused so far: (kind, tenant id, how many).
    pub fn refused(&self) -> Vec<(Kind, i64, u64)> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.iter().map(|(&(k, t), &n)| (k, t, n)).collect()
    }

    /// Keys held now, per kind of limiter.
    pub fn tracked_by_kind(&self) -> [(Kind, usize); 4] {
        let limiters = self.lock();
        Kind::ALL.map(|kind| {
            let n = limiters
                .iter()
                .filter(|((k, _, _), _)| *k == kind)
                .map(|(_, l)| l.len())
                .sum();
            (kind, n)
        })
    }

    /// Keys held across all limiters.
    pub fn tracked(&self) -> usize {
        self.lock().values().map(|l| l.len()).sum()
    }
}

/// The client's address: the socket's peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one of the trusted proxies.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_gets_its_quota_then_a_retry_time_and_others_are_apart() {
        let limits = RateLimits::new(true);
        for _ in 0..3 {
            assert!(limits.check(Kind::Booking, 1, "10.0.0.1", 3).await.is_ok());
        }
        let refused = limits.check(Kind::Booking, 1, "10.0.0.1", 3).await;
        let secs = refused.map(|()| 0).unwrap_or_else(|l| l.retry_after_secs());
        assert!((1..=20).contains(&secs), "retry after {secs} s");
        // Another address, another tenant, another kind: each has its own budget.
        assert!(limits.check(Kind::Booking, 1, "10.0.0.2", 3).await.is_ok());
        assert!(limits.check(Kind::Booking, 2, "10.0.0.1", 3).await.is_ok());
        assert!(limits.check(Kind::Read, 1, "10.0.0.1", 3).await.is_ok());
        // 0: no limit; disabled: everything through.
        for _ in 0..10 {
            assert!(limits.check(Kind::Code, 1, "10.0.0.1", 0).await.is_ok());
        }
        let off = RateLimits::new(false);
        for _ in 0..10 {
            assert!(off.check(Kind::Booking, 1, "10.0.0.1", 3).await.is_ok());
        }
        assert_eq!(off.tracked(), 0);
    }

    #[tokio::test]
    async fn churning_addresses_keep_memory_bounded() {
        let limits = RateLimits::new(true);
        let churn = MAX_KEYS + 3 * SWEEP_EVERY as usize + 17;
        for i in 0..churn {
            let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            let _ = limits.check(Kind::Read, 1, &ip, 300).await;
            assert!(
                limits.tracked() <= MAX_KEYS + SWEEP_EVERY as usize,
                "{} keys after {i} addresses",
                limits.tracked()
            );
        }
        // An abusive address keeps being refused while others churn below the bound.
        let limits = RateLimits::new(true);
        for _ in 0..5 {
            let _ = limits.check(Kind::Read, 1, "10.66.6.6", 5).await;
        }
        for i in 0..2 * SWEEP_EVERY {
            let _ = limits
                .check(Kind::Read, 1, &format!("192.168.{}.{}", i >> 8, i & 255), 5)
                .await;
        }
        assert!(limits.check(Kind::Read, 1, "10.66.6.6", 5).await.is_err());
    }
}
