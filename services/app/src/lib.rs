//! The use cases: booking, the queue, staff operations, personal data and complaints, with
//! the tenant catalog, the policy host and its scheduling, the availability cache, rate limits,
//! staff authentication and permissions, tokens and the resident-card check and login. Plain Rust values
//! in, plain values or an [`ApiError`] out: no GraphQL and no HTTP here (`okienko-graphql` and
//! `okienko-web` are the faces; see docs/adr/0003-crates-and-layers.md).

pub mod auth;
pub mod booking;
pub mod catalog;
pub mod client;
pub mod config_edit;
pub mod devices;
pub mod error;
pub mod history;
pub mod metrics;
pub mod oidc;
pub mod policy_host;
pub mod policy_sched;
pub mod queue;
pub mod rate_limit;
pub mod records;
pub mod resident;
pub mod staff_ops;
pub mod tokens;
pub mod usage_cache;

use std::sync::Arc;

use okienko_domain::clock::Clock;
use okienko_store::Db;
use tokio::sync::Notify;

pub use catalog::{Catalog, TenantCtx};
pub use error::ApiError;

/// Settings the API needs from the server's configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Base of links in e-mails, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Whether GraphiQL and SDL introspection are offered.
    pub graphiql: bool,
    /// Whether booking links (which carry secrets) may be written to the log: only while
    /// e-mail goes to files, never with SMTP configured.
    pub log_links: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            public_url: "http://127.0.0.1:8080".into(),
            graphiql: true,
            log_links: false,
        }
    }
}

/// Everything a request needs, shared.
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub catalog: Catalog,
    /// Key for tokens derived from idempotency keys (see `tokens`).
    pub secret: Vec<u8>,
    pub settings: ApiSettings,
    /// Wakes the outbox worker after a commit that wrote messages.
    pub outbox_wake: Arc<Notify>,
    /// The cities' active policy scripts.
    pub policies: policy_host::PolicyHost,
    /// Verifies resident-card logins (GD-5).
    pub resident: resident::ResidentVerifier,
    /// The resident-card login on the city's pages: OpenID Connect (GD-5).
    pub oidc: oidc::OidcClient,
    /// Computed availability: the usage rows per service and range (`usage_cache`).
    pub usage_cache: usage_cache::UsageCache,
    /// Requests per client address and API key (`rate_limit`).
    pub rate_limits: rate_limit::RateLimits,
    /// The call displays' events, per office (`queue::Bus`).
    pub bus: Arc<queue::Bus>,
    /// The Prometheus families of this server (`metrics`, docs/metrics.md).
    pub metrics: Arc<metrics::Metrics>,
}

impl App {
    /// Rebuilds the tenant catalog and the active policies from the database: at start, after
    /// a change made by this process, and when another process on the same PostgreSQL database
    /// made one (the store functions that make them send `NOTIFY okienko_reload`; the server's
    /// listener wakes a task that calls this).
    pub async fn reload(&self) -> Result<(), okienko_store::StoreError> {
        self.catalog.reload(&self.db).await?;
        // A configuration edit may change any service of the tenant: its cached usage goes.
        okienko_store::usage_events::invalidate_all();
        let tenants: Vec<_> = self
            .catalog
            .slugs()
            .iter()
            .filter_map(|s| self.catalog.get(s))
            .collect();
        self.policies.reload(&self.db, &tenants).await
    }
}

pub type AppRef = Arc<App>;
