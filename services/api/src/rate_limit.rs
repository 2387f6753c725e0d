//! Rate limits (issue 6): per tenant and client address for the public API, stricter for
//! `createBooking` and for confirmation codes, per API key for partners. The numbers come from
//! the tenant's `[rate_limits]` (per minute, the same number as the burst). Over the limit the
//! answer is HTTP 429 with `Retry-After` and the code `RATE_LIMITED`.
//!
//! Each (kind, tenant, key, quota) has its own governor limiter in a bounded moka cache: when
//! addresses churn, the least recently used limiters go, and one idle longer than its window
//! would be full again anyway, so dropping it changes no answer.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::ErrorExtensions;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use moka::future::Cache;

type Direct = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    governor::middleware::NoOpMiddleware,
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

/// Limiters kept at most; beyond, the least recently used go.
const MAX_LIMITERS: u64 = 100_000;
/// A limiter unused this long is dropped (its window, at most a minute, is full again).
const IDLE: Duration = Duration::from_secs(300);

type Key = (Kind, i64, String, u32);

pub struct RateLimits {
    limiters: Cache<Key, Arc<Direct>>,
    enabled: bool,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.enabled)
            .field("limiters", &self.limiters.entry_count())
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

    /// The GraphQL error: code `RATE_LIMITED`, `retryAfter` in seconds.
    pub fn to_gql(self) -> async_graphql::Error {
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", "RATE_LIMITED");
            ext.set("retryAfter", self.retry_after_secs());
        })
    }
}

impl RateLimits {
    /// `enabled: false` lets everything through (development and tests only).
    pub fn new(enabled: bool) -> Self {
        RateLimits {
            limiters: Cache::builder()
                .max_capacity(MAX_LIMITERS)
                .time_to_idle(IDLE)
                .build(),
            enabled,
        }
    }

    /// Counts one request of `kind` for `key` in `tenant`, `per_minute` allowed (0: no limit).
    pub async fn check(
        &self,
        kind: Kind,
        tenant: i64,
        key: &str,
        per_minute: u32,
    ) -> Result<(), Limited> {
        let Some(n) = NonZeroU32::new(per_minute).filter(|_| self.enabled) else {
            return Ok(());
        };
        let limiter = self
            .limiters
            .get_with((kind, tenant, key.to_string(), per_minute), async move {
                Arc::new(RateLimiter::direct(Quota::per_minute(n)))
            })
            .await;
        limiter
            .check()
            .map_err(|not_until| Limited(not_until.wait_time_from(DefaultClock::default().now())))
    }
}

/// The client's address: the socket's peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one of the trusted proxies.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn key(&self) -> String {
        self.0.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// The peer address of the connection, when the server provides it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Resolves the client's address from the peer and, for trusted proxies, the header.
pub fn client_ip(peer: Peer, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> ClientIp {
    let Some(peer) = peer.0 else {
        return ClientIp(None);
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return ClientIp(Some(peer));
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    let ip = forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    ClientIp(Some(ip))
}

/// Parses `OKIENKO_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks.
pub fn parse_trusted(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("not an address or CIDR network: {s:?}"))
        })
        .collect()
}
