//! The `okienko` server: configuration, start-up, workers and the HTTP listener.

pub mod config;
pub mod demo;
pub mod import;
pub mod telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use okienko_app::policy_host::PolicyHost;
use okienko_app::queue::OfficeEvent;
use okienko_app::resident::ResidentVerifier;
use okienko_app::{ApiSettings, App, Catalog};
use okienko_notify::{Deliverer, EmailBackend, HttpSmsGateway, LogSms, SmsProvider};
use okienko_store::{Db, ImportOutcome};
use tokio::sync::{mpsc, watch, Notify};

pub use config::{Config, SmsConfig};

/// How often the expiry worker looks for pending bookings past their limit (and the lateness
/// worker for booked visits not checked in).
const EXPIRY_EVERY: Duration = Duration::from_secs(15);
/// How often the retention worker erases the personal data past each tenant's schedule (P-5),
/// in rounds of the expiry worker.
const RETENTION_EVERY_ROUNDS: u32 = 40;
/// How often the outbox worker looks for due messages when nobody wakes it.
const OUTBOX_EVERY: Duration = Duration::from_secs(5);
/// How long a failed reload of the catalog and policies waits before it is tried again.
const RELOAD_RETRY: Duration = Duration::from_secs(1);

fn secret(cfg: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = &cfg.secret {
        return Ok(s.as_bytes().to_vec());
    }
    let path = cfg.data_dir.join("secret.key");
    if let Ok(s) = std::fs::read(&path) {
        return Ok(s);
    }
    let s: [u8; 32] = rand::random();
    let text = hex::encode(s);
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(text.into_bytes())
}

/// Opens the database and imports the shipped tenants that are not there yet.
pub async fn prepare(cfg: &Config) -> anyhow::Result<(Db, Arc<dyn okienko_domain::clock::Clock>)> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let clock = cfg.clock();
    let db = Db::connect(&cfg.database_url).await.context("database")?;
    if cfg.policies_dir.is_dir() {
        let now = clock.now().timestamp();
        for (slug, outcome) in import::import_dir(&db, &cfg.policies_dir, now, false).await? {
            match outcome {
                ImportOutcome::Created => tracing::info!(tenant = %slug, "tenant imported"),
                ImportOutcome::KeptExisting => tracing::warn!(
                    tenant = %slug,
                    "tenant.toml differs from the database copy, which is kept; run `okienko tenants import` to apply the file"
                ),
                _ => {}
            }
        }
    }
    Ok((db, clock))
}

/// The shared application over a prepared database, with its catalog and policies loaded.
pub async fn build_app(
    cfg: &Config,
    db: Db,
    clock: Arc<dyn okienko_domain::clock::Clock>,
) -> anyhow::Result<Arc<App>> {
    let metrics = Arc::new(okienko_app::metrics::Metrics::new(env!(
        "CARGO_PKG_VERSION"
    )));
    let app = Arc::new(App {
        db,
        clock,
        catalog: Catalog::default(),
        secret: secret(cfg)?,
        settings: ApiSettings {
            public_url: cfg.public_url.clone(),
            // Links carry secrets: logged only while e-mail is written to files.
            log_links: cfg.smtp_url.is_none(),
            ..ApiSettings::default()
        },
        outbox_wake: Arc::new(Notify::new()),
        policies: PolicyHost::new(cfg.policy_turns()).with_metrics(metrics.clone()),
        resident: ResidentVerifier::default(),
        oidc: Default::default(),
        usage_cache: Default::default(),
        rate_limits: okienko_app::rate_limit::RateLimits::new(cfg.rate_limits),
        bus: Default::default(),
        metrics,
    });
    app.reload().await?;
    Ok(app)
}

pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let (db, clock) = prepare(&cfg).await?;
    let app = build_app(&cfg, db.clone(), clock.clone()).await?;
    if cfg.policies_dir.is_dir() {
        for (slug, outcome) in import::import_policies(&app, &cfg.policies_dir, false).await? {
            tracing::info!(tenant = %slug, "policy {outcome}");
        }
    }
    let email = match &cfg.smtp_url {
        Some(url) => EmailBackend::smtp(url)?,
        None => EmailBackend::Files(cfg.mail_dir()),
    };
    let sms: Arc<dyn SmsProvider> = match &cfg.sms {
        SmsConfig::Log => Arc::new(LogSms {
            file: Some(cfg.data_dir.join("sms.log")),
        }),
        SmsConfig::Http { url, token, sender } => Arc::new(HttpSmsGateway::new(
            url.clone(),
            token.clone(),
            sender.clone(),
        )?),
    };
    let wake = app.outbox_wake.clone();

    // Settle what fell due while the server was down before answering anyone.
    let expired = okienko_app::booking::expire_due(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let freed = okienko_app::booking::release_due(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let late = okienko_app::queue::cancel_late(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    if expired + freed + late > 0 {
        tracing::info!(
            expired,
            freed,
            late,
            "settled at start: pending bookings expired, cancelled seats offered again, bookings not checked in cancelled"
        );
    }
    let erased = okienko_app::staff_ops::personal_data::run_retention(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    if erased > 0 {
        tracing::info!(
            erased,
            "settled at start: personal data erased on the retention schedule"
        );
    }

    // SQLite is one process: claims still held are those of a process that died mid-delivery,
    // and go out again now rather than when their lease lapses.
    if let Db::Sqlite { .. } = &db {
        let taken_back = okienko_store::release_all_claims(&db).await?;
        if taken_back > 0 {
            tracing::info!(
                taken_back,
                "settled at start: messages claimed by a process that stopped are due again"
            );
        }
    }

    let mut term = term_signal();
    let (stop_tx, stop_rx) = watch::channel(false);
    let deliverer = Deliverer {
        db: db.clone(),
        email: email.clone(),
        sms,
        default_from: cfg.mail_from.clone(),
        clock: clock.clone(),
        worker: okienko_notify::worker::worker_name(),
        observer: Some(Arc::new(okienko_app::metrics::OutboxObserver(app.clone()))),
    };
    let outbox_task = tokio::spawn(deliverer.run(wake.clone(), stop_rx.clone(), OUTBOX_EVERY));
    let expiry_task = tokio::spawn(expiry_worker(app.clone(), stop_rx.clone()));
    okienko_app::metrics::refresh_gauges(&app, true).await;
    let gauges_task = tokio::spawn(okienko_app::metrics::run_gauges(
        app.clone(),
        stop_rx.clone(),
    ));
    let metrics_task = match cfg.metrics_listen {
        Some(addr) => Some(serve_metrics(app.clone(), addr, stop_rx.clone()).await?),
        None => None,
    };
    // Changes made by other replicas (PostgreSQL NOTIFY): usage reaches the availability
    // cache, configuration and policy changes reload the catalog and the policies here, and
    // display events reach this process's displays. This process's display events go out.
    let (display_in, display_rx) = mpsc::unbounded_channel();
    let remote = okienko_store::usage_events::Remote {
        display: Some(display_in),
        stats: app.metrics.listener.clone(),
        ..Default::default()
    };
    let listen_task = tokio::spawn(okienko_store::usage_events::listen(
        db.clone(),
        stop_rx.clone(),
        remote.clone(),
    ));
    let reload_task = tokio::spawn(reload_worker(
        app.clone(),
        remote.reload.clone(),
        stop_rx.clone(),
    ));
    let display_in_task = tokio::spawn(display_events_in(app.clone(), display_rx, stop_rx.clone()));
    let display_out_task = match &db {
        Db::Pg(_) => app
            .bus
            .replicate()
            .map(|out| tokio::spawn(display_events_out(db.clone(), out, stop_rx.clone()))),
        Db::Sqlite { .. } => None,
    };

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    tracing::info!(
        listen = %cfg.listen,
        database = db.backend(),
        mail = %email.describe(),
        tenants = ?app.catalog.slugs(),
        dev_clock = ?cfg.start_at,
        max_connections = cfg.limits.max_connections,
        max_websockets = cfg.limits.max_websockets,
        "okienko ready"
    );
    // Issue 15, graceful shutdown. The first SIGTERM or SIGINT turns readiness false, closes the
    // display WebSockets (1012) and stops the workers after their current row; new connections
    // are still taken for `shutdown_drain` (the load balancer takes the replica out meanwhile),
    // then the port is closed and the requests in flight have `shutdown_timeout` to finish. A
    // second signal ends the process at once.
    let web = cfg.web();
    let stopping = web.stopping.clone();
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<Instant>();
    let (drain, finish_within) = (cfg.shutdown_drain, cfg.shutdown_timeout);
    tokio::spawn(async move {
        let first = next_signal(&mut term).await;
        let at = Instant::now();
        tracing::info!(
            signal = first,
            drain_ms = drain.as_millis() as u64,
            timeout_ms = finish_within.as_millis() as u64,
            "shutting down: not ready any more, requests in flight finish"
        );
        stopping.begin();
        let _ = stop_tx.send(true);
        let _ = signalled_tx.send(at);
        let second = next_signal(&mut term).await;
        tracing::warn!(signal = second, "second signal: exiting at once");
        std::process::exit(1);
    });
    let signalled_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let accept_until = {
        let signalled_at = signalled_at.clone();
        async move {
            match signalled_rx.await {
                Ok(at) => {
                    let _ = signalled_at.set(at);
                    tokio::time::sleep(drain).await;
                    tracing::info!("no new connections taken");
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
    };
    okienko_web::listener::serve(
        listener,
        okienko_web::http::router(app.clone(), web),
        okienko_web::conn_limits::Connections::new(
            cfg.connections(),
            app.metrics.connections_refused.clone(),
        ),
        accept_until,
        finish_within,
    )
    .await;
    // The workers were told at the signal; what is left of the bound is theirs and the pool's.
    let at = signalled_at.get().copied().unwrap_or_else(Instant::now);
    let deadline = tokio::time::Instant::from_std(at + drain + finish_within);
    let workers = async {
        let _ = tokio::join!(
            outbox_task,
            expiry_task,
            listen_task,
            reload_task,
            display_in_task,
            gauges_task
        );
        for t in [display_out_task, metrics_task].into_iter().flatten() {
            let _ = t.await;
        }
        db.close().await;
    };
    if tokio::time::timeout_at(deadline, workers).await.is_err() {
        tracing::warn!("workers still busy at the shutdown timeout are cut");
    }
    tracing::info!(
        after_ms = at.elapsed().as_millis() as u64,
        "okienko stopped"
    );
    Ok(())
}

/// Serves `GET /metrics` on its own address (`OKIENKO_METRICS_LISTEN`) until `stop` turns true.
async fn serve_metrics(
    app: Arc<App>,
    addr: std::net::SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (OKIENKO_METRICS_LISTEN)"))?;
    tracing::info!(listen = %addr, "metrics served at /metrics");
    let router = okienko_web::metrics_http::router(app);
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "metrics listener");
        }
    }))
}

/// Counts one round of a worker and logs its error.
fn worker_round<T>(app: &App, worker: &'static str, r: &Result<T, okienko_app::ApiError>) {
    app.metrics.worker_round(worker, r.is_ok(), app.clock.now());
}

async fn expiry_worker(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut round: u32 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EXPIRY_EVERY) => {}
            _ = stop.changed() => return,
        }
        let r = okienko_app::booking::expire_due(&app).await;
        worker_round(&app, "expiry", &r);
        match r {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "pending bookings expired"),
            Err(e) => tracing::error!(error = ?e, "expiry worker"),
        }
        // Issue 15: at shutdown the worker stops after the step it is in.
        if *stop.borrow() {
            return;
        }
        let r = okienko_app::booking::release_due(&app).await;
        worker_round(&app, "seat_release", &r);
        match r {
            Ok(0) => {}
            Ok(n) => tracing::info!(freed = n, "cancelled seats offered again"),
            Err(e) => tracing::error!(error = ?e, "seat release worker"),
        }
        // CI-17, GD-11, DG-8: booked visits not checked in by their time plus the city's delay.
        if *stop.borrow() {
            return;
        }
        let r = okienko_app::queue::cancel_late(&app).await;
        worker_round(&app, "lateness", &r);
        match r {
            Ok(0) => {}
            Ok(n) => tracing::info!(cancelled = n, "bookings not checked in cancelled"),
            Err(e) => tracing::error!(error = ?e, "lateness worker"),
        }
        round = round.wrapping_add(1);
        if round.is_multiple_of(RETENTION_EVERY_ROUNDS) {
            let r = okienko_app::staff_ops::personal_data::run_retention(&app).await;
            worker_round(&app, "retention", &r);
            if let Err(e) = r {
                tracing::error!(error = ?e, "retention worker");
            }
        }
    }
}

/// Reloads the catalog and the policies whenever the change listener asks: another process
/// changed a configuration or a policy, or the listener (re)connected. Requests that come while
/// a reload runs make one more reload after it, which reads everything committed by then. A
/// failed reload is tried again a second later.
async fn reload_worker(app: Arc<App>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
        match app.reload().await {
            Ok(()) => tracing::info!("catalog and policies reloaded after a change elsewhere"),
            Err(e) => {
                tracing::error!(error = ?e, "reload after a change elsewhere failed; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_RETRY) => wake.notify_one(),
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// Sends this process's display events to the other servers, one at a time in the order they
/// were published (a display sees a call before its clearing).
async fn display_events_out(
    db: Db,
    mut events: mpsc::UnboundedReceiver<OfficeEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let e = tokio::select! {
            e = events.recv() => e,
            _ = stop.changed() => return,
        };
        let Some(e) = e else { return };
        match serde_json::to_value(&e) {
            Ok(serde_json::Value::Object(m)) => {
                okienko_store::usage_events::display_event(&db, m).await
            }
            _ => tracing::error!(event = ?e, "display event not encoded"),
        }
    }
}

/// Hands the display events other servers published to this process's displays.
async fn display_events_in(
    app: Arc<App>,
    mut events: mpsc::UnboundedReceiver<serde_json::Value>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let v = tokio::select! {
            v = events.recv() => v,
            _ = stop.changed() => return,
        };
        let Some(v) = v else { return };
        match serde_json::from_value::<OfficeEvent>(v) {
            Ok(e) => app.bus.deliver(e.tenant, e.office, e.event),
            Err(e) => tracing::warn!(error = %e, "unreadable display event from another replica"),
        }
    }
}

#[cfg(unix)]
type Term = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Term = ();

/// Registers for SIGTERM at once, so a signal that comes while the server starts is not lost
/// (nor kills it with the default action once serving).
fn term_signal() -> Term {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
    }
}

/// The next SIGINT or SIGTERM: its name.
async fn next_signal(term: &mut Term) -> &'static str {
    #[cfg(unix)]
    let term_recv = async {
        match term {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term_recv = {
        let _ = term;
        std::future::pending::<()>()
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "sigint",
        () = term_recv => "sigterm",
    }
}
