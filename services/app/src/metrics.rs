//! The Prometheus metrics: every family of `docs/metrics.md` (the contract with the Helm chart's
//! dashboard and alerts; names, types, labels and buckets are taken from there), defined once
//! here and held by the [`App`], never in a process-wide global: several servers in one test
//! process keep their own figures.
//!
//! Three kinds of figures:
//! - counted where they happen, through the methods below (bookings, tickets, HTTP, policies,
//!   the outbox worker, the workers' rounds);
//! - read from the database by [`refresh_gauges`], a periodic task (seats, queues, the outbox
//!   backlog), so a scrape never waits on the database;
//! - the process's own counts read at scrape time by [`render`] (pools, caches, rate limits, the
//!   change listener), from the atomics the components keep without knowing of Prometheus.
//!
//! Label values are bounded: slugs of configured cities (`none` otherwise), keys and letters
//! from `tenant.toml`, route patterns, fixed words. Nothing from a request goes in as it is.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use okienko_domain::booking::Quota;
use okienko_domain::calendar::local_date;
use okienko_notify::worker::{Attempt, Observer};
use okienko_store::usage_events::ListenStats;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::EncodeMetric as Metric;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::catalog::TenantCtx;
use crate::App;

/// The `tenant` label of requests and rows that name no configured city.
pub const NO_TENANT: &str = "none";
/// Days ahead the seat gauges cover, today included (docs/metrics.md, "day").
pub const SEAT_DAYS: u32 = 7;
/// How often [`run_gauges`] reads the queues and the outbox backlog.
pub const GAUGES_EVERY: Duration = Duration::from_secs(15);
/// How often it computes the seats (in rounds of [`GAUGES_EVERY`]: once a minute).
const SEATS_EVERY_ROUNDS: u32 = 4;

const HTTP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const QUEUE_WAIT_BUCKETS: [f64; 12] = [
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0,
];
const OUTBOX_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const POLICY_BUCKETS: [f64; 9] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

/// Label sets, by the names of docs/metrics.md.
pub mod labels {
    use prometheus_client::encoding::EncodeLabelSet;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Http {
        pub route: String,
        pub method: String,
        pub tenant: String,
        pub status: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct HttpTiming {
        pub route: String,
        pub method: String,
        pub tenant: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct GraphqlError {
        pub api: String,
        pub tenant: String,
        pub code: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Tenant {
        pub tenant: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct TenantOffice {
        pub tenant: String,
        pub office: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Created {
        pub tenant: String,
        pub source: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Cancelled {
        pub tenant: String,
        pub by: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Seats {
        pub tenant: String,
        pub office: String,
        pub service: String,
        pub quota: String,
        pub day: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Queue {
        pub tenant: String,
        pub office: String,
        pub queue: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct QueueKind {
        pub tenant: String,
        pub office: String,
        pub queue: String,
        pub kind: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Channel {
        pub channel: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct ChannelTenant {
        pub channel: String,
        pub tenant: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct OutboxFailure {
        pub channel: String,
        pub tenant: String,
        pub outcome: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct ConnectionRefused {
        pub reason: String,
        pub outcome: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Cache {
        pub cache: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct RateLimited {
        pub tenant: String,
        pub kind: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Kind {
        pub kind: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Hook {
        pub tenant: String,
        pub hook: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct HookFailure {
        pub tenant: String,
        pub hook: String,
        pub reason: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Pool {
        pub pool: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct PoolState {
        pub pool: String,
        pub state: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Worker {
        pub worker: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct WorkerRun {
        pub worker: String,
        pub outcome: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Version {
        pub version: String,
    }
}

use labels as l;

type Hist<L> = Family<L, Histogram, fn() -> Histogram>;

fn histogram<L: EncodeLabelSet + Clone + std::hash::Hash + Eq>(make: fn() -> Histogram) -> Hist<L> {
    Family::new_with_constructor(make)
}

/// The families counted as things happen, and the registry that serves them.
pub struct Metrics {
    registry: Registry,
    declared: Vec<Declared>,
    pub http_requests: Family<l::Http, Counter>,
    pub http_duration: Hist<l::HttpTiming>,
    pub http_in_flight: Gauge,
    pub graphql_errors: Family<l::GraphqlError, Counter>,
    pub display_connections: Family<l::TenantOffice, Gauge>,
    pub connections_refused: ConnectionsRefused,
    pub bookings_created: Family<l::Created, Counter>,
    pub bookings_confirmed: Family<l::Tenant, Counter>,
    pub bookings_expired: Family<l::Tenant, Counter>,
    pub bookings_cancelled: Family<l::Cancelled, Counter>,
    pub bookings_rejected: Family<l::Tenant, Counter>,
    pub seats_left: Family<l::Seats, Gauge>,
    pub seats_capacity: Family<l::Seats, Gauge>,
    pub tickets_issued: Family<l::QueueKind, Counter>,
    pub queue_waiting: Family<l::Queue, Gauge>,
    pub queue_oldest_wait: Family<l::Queue, Gauge>,
    pub queue_wait: Hist<l::QueueKind>,
    pub outbox_due: Family<l::Channel, Gauge>,
    pub outbox_oldest_due: Family<l::Channel, Gauge>,
    pub outbox_deliveries: Family<l::ChannelTenant, Counter>,
    pub outbox_failures: Family<l::OutboxFailure, Counter>,
    pub outbox_duration: Hist<l::Channel>,
    pub policy_duration: Hist<l::Hook>,
    pub policy_failures: Family<l::HookFailure, Counter>,
    pub worker_runs: Family<l::WorkerRun, Counter>,
    pub worker_last_success: Family<l::Worker, Gauge>,
    /// The change listener's state, handed to `okienko_store::usage_events::listen`.
    pub listener: Arc<ListenStats>,
    /// Read at every scrape by the parts that keep their own counts (the HTTP layer's turns).
    on_scrape: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(env!("CARGO_PKG_VERSION"))
    }
}

/// A family as registered: (name, help, type), so that one without samples yet is still
/// listed by its `# HELP` and `# TYPE` lines (the encoder leaves empty families out).
type Declared = (&'static str, &'static str, &'static str);

fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Info => "info",
        MetricType::Unknown => "unknown",
    }
}

/// Registers `m` as `name` and notes it in `declared`.
fn reg<M: Metric + TypedMetric + Clone + std::fmt::Debug + Send + Sync + 'static>(
    r: &mut Registry,
    declared: &mut Vec<Declared>,
    name: &'static str,
    help: &'static str,
    m: M,
) -> M {
    declared.push((name, help, type_name(M::TYPE)));
    r.register(name, help, m.clone());
    m
}

macro_rules! register {
    ($reg:expr, $name:literal, $help:literal, $metric:expr) => {
        reg(&mut $reg.0, &mut $reg.1, $name, $help, $metric)
    };
}

impl Metrics {
    /// Every family, registered under its name in docs/metrics.md (counters without `_total`,
    /// which the encoder adds).
    pub fn new(version: &str) -> Metrics {
        let mut r = (Registry::default(), Vec::new());
        let build = Family::<l::Version, Gauge>::default();
        build
            .get_or_create(&l::Version {
                version: version.to_string(),
            })
            .set(1);
        register!(
            r,
            "okienko_build_info",
            "The running version (always 1)",
            build
        );
        Metrics {
            http_requests: register!(
                r,
                "okienko_http_requests",
                "Requests answered",
                Family::default()
            ),
            http_duration: register!(
                r,
                "okienko_http_request_duration_seconds",
                "From the request's arrival to its answer's head",
                histogram(|| Histogram::new(HTTP_BUCKETS))
            ),
            http_in_flight: register!(
                r,
                "okienko_http_requests_in_flight",
                "Requests being answered now",
                Gauge::default()
            ),
            graphql_errors: register!(
                r,
                "okienko_graphql_errors",
                "GraphQL rejections by their extensions.code",
                Family::default()
            ),
            display_connections: register!(
                r,
                "okienko_display_connections",
                "Call displays connected by WebSocket now",
                Family::default()
            ),
            connections_refused: ConnectionsRefused::new(register!(
                r,
                "okienko_connections_refused",
                "Connections refused before HTTP, by the bound or rate that refused them",
                Family::default()
            )),
            bookings_created: register!(
                r,
                "okienko_bookings_created",
                "Bookings stored",
                Family::default()
            ),
            bookings_confirmed: register!(
                r,
                "okienko_bookings_confirmed",
                "Pending bookings confirmed",
                Family::default()
            ),
            bookings_expired: register!(
                r,
                "okienko_bookings_expired",
                "Pending bookings past their confirmation limit",
                Family::default()
            ),
            bookings_cancelled: register!(
                r,
                "okienko_bookings_cancelled",
                "Cancellations",
                Family::default()
            ),
            bookings_rejected: register!(
                r,
                "okienko_bookings_rejected",
                "Bookings rejected by staff",
                Family::default()
            ),
            seats_left: register!(
                r,
                "okienko_seats_left",
                "Seats still free on that day",
                Family::default()
            ),
            seats_capacity: register!(
                r,
                "okienko_seats_capacity",
                "The seats that day has in all",
                Family::default()
            ),
            tickets_issued: register!(
                r,
                "okienko_queue_tickets_issued",
                "Tickets issued",
                Family::default()
            ),
            queue_waiting: register!(
                r,
                "okienko_queue_waiting",
                "Tickets waiting to be called now",
                Family::default()
            ),
            queue_oldest_wait: register!(
                r,
                "okienko_queue_oldest_wait_seconds",
                "How long the longest-waiting ticket has waited",
                Family::default()
            ),
            queue_wait: register!(
                r,
                "okienko_queue_wait_seconds",
                "From arrival to the first call",
                histogram(|| Histogram::new(QUEUE_WAIT_BUCKETS))
            ),
            outbox_due: register!(
                r,
                "okienko_outbox_due",
                "Messages due and not yet sent",
                Family::default()
            ),
            outbox_oldest_due: register!(
                r,
                "okienko_outbox_oldest_due_seconds",
                "How long the oldest due message has been due",
                Family::default()
            ),
            outbox_deliveries: register!(
                r,
                "okienko_outbox_deliveries",
                "Messages delivered",
                Family::default()
            ),
            outbox_failures: register!(
                r,
                "okienko_outbox_failures",
                "Failed delivery attempts",
                Family::default()
            ),
            outbox_duration: register!(
                r,
                "okienko_outbox_delivery_duration_seconds",
                "One delivery attempt",
                histogram(|| Histogram::new(OUTBOX_BUCKETS))
            ),
            policy_duration: register!(
                r,
                "okienko_policy_duration_seconds",
                "One policy hook call, waiting for a script slot included",
                histogram(|| Histogram::new(POLICY_BUCKETS))
            ),
            policy_failures: register!(
                r,
                "okienko_policy_failures",
                "Policy calls that ended in POLICY_ERROR",
                Family::default()
            ),
            worker_runs: register!(
                r,
                "okienko_worker_runs",
                "Rounds of the workers",
                Family::default()
            ),
            worker_last_success: register!(
                r,
                "okienko_worker_last_success_timestamp_seconds",
                "When the worker last finished a round without an error (Unix time)",
                Family::default()
            ),
            listener: Arc::default(),
            on_scrape: Mutex::default(),
            registry: r.0,
            declared: r.1,
        }
    }

    /// Runs `f` before every scrape (it sets a gauge from a count kept elsewhere).
    pub fn on_scrape(&self, f: impl Fn() + Send + Sync + 'static) {
        self.on_scrape
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(f));
    }

    pub fn booking_created(&self, tenant: &TenantCtx, source: &str) {
        let source = if source == "phone" { "phone" } else { "online" };
        self.bookings_created
            .get_or_create(&l::Created {
                tenant: tenant.slug.clone(),
                source: source.into(),
            })
            .inc();
    }

    pub fn booking_confirmed(&self, tenant: &TenantCtx) {
        self.bookings_confirmed.get_or_create(&of(tenant)).inc();
    }

    pub fn bookings_expired(&self, tenant: &str, n: u64) {
        self.bookings_expired
            .get_or_create(&l::Tenant {
                tenant: tenant.into(),
            })
            .inc_by(n);
    }

    /// `by`: `client`, `staff` or `lateness`.
    pub fn booking_cancelled(&self, tenant: &str, by: &'static str) {
        self.bookings_cancelled
            .get_or_create(&l::Cancelled {
                tenant: tenant.into(),
                by: by.into(),
            })
            .inc();
    }

    pub fn booking_rejected(&self, tenant: &TenantCtx) {
        self.bookings_rejected.get_or_create(&of(tenant)).inc();
    }

    /// A call display connected to `office`: counted until the guard is dropped.
    pub fn display_connected(&self, tenant: &TenantCtx, office_id: i64) -> DisplayGuard {
        let g = self
            .display_connections
            .get_or_create(&l::TenantOffice {
                tenant: tenant.slug.clone(),
                office: office_key(tenant, office_id),
            })
            .clone();
        g.inc();
        DisplayGuard(g)
    }

    /// A ticket issued at an office's kiosk: `kind` is `walk_in` or `booked`.
    pub fn ticket_issued(&self, tenant: &TenantCtx, office_id: i64, queue: &str, kind: &str) {
        self.tickets_issued
            .get_or_create(&queue_kind(tenant, office_id, queue, kind))
            .inc();
    }

    /// A ticket called for the first time after `waited` seconds since its arrival.
    pub fn ticket_first_called(
        &self,
        tenant: &TenantCtx,
        office_id: i64,
        queue: &str,
        kind: &str,
        waited: i64,
    ) {
        self.queue_wait
            .get_or_create(&queue_kind(tenant, office_id, queue, kind))
            .observe(waited.max(0) as f64);
    }

    /// One policy hook call of `tenant` (its slug) that took `took`; `failure` is `error`,
    /// `limit` or `deadline` when it ended in `POLICY_ERROR`.
    pub fn policy_call(
        &self,
        tenant: &str,
        hook: &'static str,
        took: Duration,
        failure: Option<&'static str>,
    ) {
        let hook_labels = l::Hook {
            tenant: tenant.into(),
            hook: hook.into(),
        };
        self.policy_duration
            .get_or_create(&hook_labels)
            .observe(took.as_secs_f64());
        if let Some(reason) = failure {
            self.policy_failures
                .get_or_create(&l::HookFailure {
                    tenant: tenant.into(),
                    hook: hook.into(),
                    reason: reason.into(),
                })
                .inc();
        }
    }

    /// One round of a worker (`expiry`, `seat_release`, `lateness`, `retention`, `outbox`).
    pub fn worker_round(&self, worker: &'static str, ok: bool, now: DateTime<Utc>) {
        self.worker_runs
            .get_or_create(&l::WorkerRun {
                worker: worker.into(),
                outcome: if ok { "ok" } else { "error" }.into(),
            })
            .inc();
        if ok {
            self.worker_last_success
                .get_or_create(&l::Worker {
                    worker: worker.into(),
                })
                .set(now.timestamp());
        }
    }
}

/// `okienko_connections_refused_total`, counted by the accept loop for every connection it
/// refuses: its counters are made once, so a refusal costs one atomic addition.
#[derive(Clone, Debug)]
pub struct ConnectionsRefused {
    /// By [`ConnectionsRefused::REASONS`], answered then closed.
    counters: Arc<[[Counter; 2]; 3]>,
}

impl ConnectionsRefused {
    /// `client`: the address holds its bound of connections; `server`: the server holds its
    /// own; `rate`: the address opens connections faster than its accept rate.
    pub const REASONS: [&'static str; 3] = ["client", "server", "rate"];

    fn new(family: Family<l::ConnectionRefused, Counter>) -> ConnectionsRefused {
        let counters = Self::REASONS.map(|reason| {
            ["answered", "closed"].map(|outcome| {
                family
                    .get_or_create(&l::ConnectionRefused {
                        reason: reason.into(),
                        outcome: outcome.into(),
                    })
                    .clone()
            })
        });
        ConnectionsRefused {
            counters: Arc::new(counters),
        }
    }

    /// One connection refused for `reason` (one of [`REASONS`](Self::REASONS); another counts
    /// as `rate`), answered with 503 or closed unanswered.
    pub fn count(&self, reason: &str, answered: bool) {
        let r = Self::REASONS.iter().position(|x| *x == reason).unwrap_or(2);
        self.counters[r][usize::from(!answered)].inc();
    }

    /// The count of `reason`, answered or closed.
    pub fn get(&self, reason: &str, answered: bool) -> u64 {
        Self::REASONS
            .iter()
            .position(|x| *x == reason)
            .map_or(0, |r| self.counters[r][usize::from(!answered)].get())
    }
}

impl Default for ConnectionsRefused {
    /// Counters of their own, served nowhere (tests).
    fn default() -> Self {
        ConnectionsRefused::new(Family::default())
    }
}

/// One display connection counted in `okienko_display_connections` while it is held.
#[derive(Debug)]
pub struct DisplayGuard(Gauge);

impl Drop for DisplayGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn of(tenant: &TenantCtx) -> l::Tenant {
    l::Tenant {
        tenant: tenant.slug.clone(),
    }
}

/// An office's key from the tenant's configuration; `none` for an id it does not know.
fn office_key(tenant: &TenantCtx, office_id: i64) -> String {
    tenant
        .office(office_id)
        .map_or_else(|| NO_TENANT.to_string(), |o| o.cfg.key.clone())
}

/// A queue's letter, kept only when it is one of the office's configured queues' shape (a
/// few letters); stored letters come from the configuration, so this only bounds them.
fn queue_letter(queue: &str) -> String {
    if !queue.is_empty() && queue.len() <= 8 && queue.chars().all(|c| c.is_ascii_alphanumeric()) {
        queue.to_string()
    } else {
        "other".to_string()
    }
}

fn queue_kind(tenant: &TenantCtx, office_id: i64, queue: &str, kind: &str) -> l::QueueKind {
    l::QueueKind {
        tenant: tenant.slug.clone(),
        office: office_key(tenant, office_id),
        queue: queue_letter(queue),
        kind: if kind == "booked" {
            "booked"
        } else {
            "walk_in"
        }
        .into(),
    }
}

/// The outbox worker's reports, counted with the tenant's slug from the catalog.
pub struct OutboxObserver(pub Arc<App>);

impl Observer for OutboxObserver {
    fn attempt(&self, tenant_id: i64, channel: &str, took: Duration, outcome: Attempt) {
        let m = &self.0.metrics;
        let channel = if channel == "sms" { "sms" } else { "email" };
        let tenant = self
            .0
            .catalog
            .by_id(okienko_store::TenantId(tenant_id))
            .map_or_else(|| NO_TENANT.to_string(), |t| t.slug.clone());
        m.outbox_duration
            .get_or_create(&l::Channel {
                channel: channel.into(),
            })
            .observe(took.as_secs_f64());
        let labels = l::ChannelTenant {
            channel: channel.into(),
            tenant: tenant.clone(),
        };
        match outcome {
            Attempt::Delivered => m.outbox_deliveries.get_or_create(&labels).inc(),
            Attempt::Retry | Attempt::Failed => m
                .outbox_failures
                .get_or_create(&l::OutboxFailure {
                    channel: channel.into(),
                    tenant,
                    outcome: if outcome == Attempt::Retry {
                        "retry"
                    } else {
                        "failed"
                    }
                    .into(),
                })
                .inc(),
        };
    }

    fn round(&self, ok: bool) {
        self.0
            .metrics
            .worker_round("outbox", ok, self.0.clock.now());
    }
}

// ---------------------------------------------------------------------------------------------
// Read from the database by the periodic task

/// Reads the queues and the outbox backlog (and, on `with_seats`, the seats) into their gauges.
/// A failed read leaves the gauges as they were and is logged.
pub async fn refresh_gauges(app: &App, with_seats: bool) {
    let now = app.clock.now();
    let m = &app.metrics;
    match okienko_store::gauges::outbox_due(&app.db, now.timestamp()).await {
        Ok(rows) => {
            for channel in ["email", "sms"] {
                let row = rows.iter().find(|r| r.channel == channel);
                let labels = l::Channel {
                    channel: channel.into(),
                };
                m.outbox_due
                    .get_or_create(&labels)
                    .set(row.map_or(0, |r| r.due));
                m.outbox_oldest_due.get_or_create(&labels).set(
                    row.and_then(|r| r.oldest_due_at)
                        .map_or(0, |t| (now.timestamp() - t).max(0)),
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: outbox backlog not read"),
    }
    let today = local_date(now).format("%Y-%m-%d").to_string();
    match okienko_store::gauges::queue_waiting(&app.db, &today).await {
        Ok(rows) => {
            m.queue_waiting.clear();
            m.queue_oldest_wait.clear();
            for r in rows {
                let Some(t) = app.catalog.by_id(okienko_store::TenantId(r.tenant_id)) else {
                    continue;
                };
                let labels = l::Queue {
                    tenant: t.slug.clone(),
                    office: office_key(&t, r.office_id),
                    queue: queue_letter(&r.queue),
                };
                m.queue_waiting.get_or_create(&labels).set(r.waiting);
                m.queue_oldest_wait
                    .get_or_create(&labels)
                    .set((now.timestamp() - r.oldest_arrived_at).max(0));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: queues not read"),
    }
    if with_seats {
        refresh_seats(app, now).await;
    }
}

/// The seats of every bookable service for the next [`SEAT_DAYS`] days, both quotas, from the
/// availability the API answers with (through the usage cache).
async fn refresh_seats(app: &App, now: DateTime<Utc>) {
    let from = local_date(now);
    let to = from + chrono::Days::new(u64::from(SEAT_DAYS - 1));
    let mut fresh: Vec<(l::Seats, i64, i64)> = Vec::new();
    for slug in app.catalog.slugs() {
        let Some(t) = app.catalog.get(&slug) else {
            continue;
        };
        for s in t.services.iter().filter(|s| s.cfg.bookable) {
            for (quota, cap) in [
                (Quota::Online, s.cfg.capacity_online),
                (Quota::Staff, s.cfg.capacity_staff),
            ] {
                let id = s.id.to_string();
                let days = match crate::booking::availability_of(app, &t, &id, from, to, quota)
                    .await
                {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(tenant = %t.slug, service = %s.cfg.key, error = ?e, "metrics: seats not read");
                        continue;
                    }
                };
                let cal = t.calendar(s);
                for d in days {
                    let capacity = match d.closed {
                        Some(_) => 0,
                        None => cal.slots_on(d.date).len() as i64 * i64::from(cap),
                    };
                    let left: i64 = d.slots.iter().map(|x| x.remaining).sum();
                    let labels = l::Seats {
                        tenant: t.slug.clone(),
                        office: office_key(&t, s.office_id),
                        service: s.cfg.key.clone(),
                        quota: quota.as_str().into(),
                        day: d.date.format("%Y-%m-%d").to_string(),
                    };
                    fresh.push((labels, left, capacity));
                }
            }
        }
    }
    // Days that passed and services that went are dropped with the old figures.
    app.metrics.seats_left.clear();
    app.metrics.seats_capacity.clear();
    for (labels, left, capacity) in fresh {
        app.metrics.seats_left.get_or_create(&labels).set(left);
        app.metrics
            .seats_capacity
            .get_or_create(&labels)
            .set(capacity);
    }
}

/// Refreshes the gauges every [`GAUGES_EVERY`] (the seats once a minute) until `stop` turns
/// true. The server refreshes them once itself before it serves, so the first scrape has them.
pub async fn run_gauges(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut round: u32 = 1;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(GAUGES_EVERY) => {}
            _ = stop.changed() => return,
        }
        refresh_gauges(&app, round.is_multiple_of(SEATS_EVERY_ROUNDS)).await;
        round = round.wrapping_add(1);
    }
}

// ---------------------------------------------------------------------------------------------
// The scrape

/// The families whose figures the components keep themselves, filled at each scrape.
fn scrape_time(app: &App) -> (Registry, Vec<Declared>) {
    let mut r = (Registry::default(), Vec::new());
    let pools = Family::<l::PoolState, Gauge>::default();
    let pool_max = Family::<l::Pool, Gauge>::default();
    for p in app.db.pool_use() {
        for (state, n) in [("idle", p.idle), ("in_use", p.in_use)] {
            pools
                .get_or_create(&l::PoolState {
                    pool: p.pool.into(),
                    state: state.into(),
                })
                .set(i64::from(n));
        }
        pool_max
            .get_or_create(&l::Pool {
                pool: p.pool.into(),
            })
            .set(i64::from(p.max));
    }
    register!(
        r,
        "okienko_db_pool_connections",
        "Connections of a pool now",
        pools
    );
    register!(
        r,
        "okienko_db_pool_max_connections",
        "The pool's bound",
        pool_max
    );

    let stats = &app.metrics.listener;
    // Only PostgreSQL has a change listener (SQLite is one process).
    if matches!(app.db, okienko_store::Db::Pg(_)) {
        let connected = Gauge::<i64>::default();
        connected.set(i64::from(stats.connected.load(Ordering::Relaxed)));
        register!(
            r,
            "okienko_db_listener_connected",
            "1 while the LISTEN connection listens",
            connected
        );
        let received = Family::<l::Channel, Counter>::default();
        for (channel, n) in stats.received() {
            received
                .get_or_create(&l::Channel {
                    channel: channel.into(),
                })
                .inc_by(n);
        }
        register!(
            r,
            "okienko_db_notifications",
            "Notices received from other servers",
            received
        );
    }

    let (hits, misses, entries) = (
        Family::<l::Cache, Counter>::default(),
        Family::<l::Cache, Counter>::default(),
        Family::<l::Cache, Gauge>::default(),
    );
    for c in app.usage_cache.stats() {
        let labels = l::Cache {
            cache: c.cache.into(),
        };
        hits.get_or_create(&labels).inc_by(c.hits);
        misses.get_or_create(&labels).inc_by(c.misses);
        entries
            .get_or_create(&labels)
            .set(i64::try_from(c.entries).unwrap_or(i64::MAX));
    }
    register!(r, "okienko_cache_hits", "Cache hits", hits);
    register!(r, "okienko_cache_misses", "Cache misses", misses);
    register!(r, "okienko_cache_entries", "Entries held now", entries);

    let (limited, keys) = (
        Family::<l::RateLimited, Counter>::default(),
        Family::<l::Kind, Gauge>::default(),
    );
    for (kind, tenant, n) in app.rate_limits.refused() {
        let tenant = app
            .catalog
            .by_id(okienko_store::TenantId(tenant))
            .map_or_else(|| NO_TENANT.to_string(), |t| t.slug.clone());
        limited
            .get_or_create(&l::RateLimited {
                tenant,
                kind: kind.as_str().into(),
            })
            .inc_by(n);
    }
    for (kind, n) in app.rate_limits.tracked_by_kind() {
        keys.get_or_create(&l::Kind {
            kind: kind.as_str().into(),
        })
        .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    register!(
        r,
        "okienko_rate_limited",
        "Requests refused with 429 (RATE_LIMITED)",
        limited
    );
    register!(
        r,
        "okienko_rate_limit_keys",
        "Client addresses and API keys tracked in their window now",
        keys
    );
    r
}

/// The OpenMetrics text content type of [`render`]'s answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A family without samples yet (the encoder writes none of it): its `# HELP` and `# TYPE`
/// lines, so that every family of the contract is listed from the first scrape.
fn declare_if_empty(out: &mut String, (name, help, kind): &Declared) {
    if !out.contains(&format!("# TYPE {name} ")) {
        out.push_str(&format!("# HELP {name} {help}.\n# TYPE {name} {kind}\n"));
    }
}

/// Every family in the OpenMetrics text format (which Prometheus reads).
pub fn render(app: &App) -> String {
    for f in app
        .metrics
        .on_scrape
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        f();
    }
    let mut out = String::new();
    let (now, now_declared) = scrape_time(app);
    let encoded = encode_registry(&mut out, &app.metrics.registry)
        .and_then(|()| encode_registry(&mut out, &now))
        .map(|()| {
            for d in app.metrics.declared.iter().chain(&now_declared) {
                declare_if_empty(&mut out, d);
            }
        })
        .and_then(|()| encode_eof(&mut out));
    if let Err(e) = encoded {
        tracing::error!(error = %e, "metrics not encoded");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(name))
    }

    #[test]
    fn two_registries_in_one_process_keep_their_own_figures() {
        let (a, b) = (Metrics::new("1"), Metrics::new("1"));
        a.worker_round("expiry", true, Utc::now());
        a.worker_round("expiry", true, Utc::now());
        let mut text_a = String::new();
        let mut text_b = String::new();
        encode_registry(&mut text_a, &a.registry).unwrap_or_default();
        encode_registry(&mut text_b, &b.registry).unwrap_or_default();
        let runs = "okienko_worker_runs_total{worker=\"expiry\",outcome=\"ok\"}";
        assert_eq!(sample_line(&text_a, runs), Some(&*format!("{runs} 2")));
        assert_eq!(sample_line(&text_b, runs), None);
    }

    #[test]
    fn an_empty_family_is_still_declared() {
        let mut out = String::from("# HELP okienko_x X.\n# TYPE okienko_x gauge\n");
        declare_if_empty(&mut out, &("okienko_x", "X", "gauge"));
        declare_if_empty(&mut out, &("okienko_y", "Y", "counter"));
        assert_eq!(out.matches("# TYPE okienko_x ").count(), 1);
        assert!(out.ends_with("# HELP okienko_y Y.\n# TYPE okienko_y counter\n"));
    }

    #[test]
    fn queue_letters_are_bounded() {
        assert_eq!(queue_letter("M"), "M");
        assert_eq!(queue_letter("<script>"), "other");
        assert_eq!(queue_letter(""), "other");
    }
}
