//! Configuration from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use okienko_domain::clock::{Clock, OffsetClock, SystemClock};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    /// `OKIENKO_METRICS_LISTEN`: where `GET /metrics` is served (never on `listen`); unset, nowhere.
    pub metrics_listen: Option<SocketAddr>,
    pub public_url: String,
    pub policies_dir: PathBuf,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub sms: SmsConfig,
    pub dev: bool,
    /// `OKIENKO_NOW`, accepted only with `OKIENKO_DEV=1`.
    pub start_at: Option<DateTime<Utc>>,
    pub secret: Option<String>,
    /// `OKIENKO_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// False with `OKIENKO_RATE_LIMITS=off`, accepted only with `OKIENKO_DEV=1` (tests).
    pub rate_limits: bool,
    /// `OKIENKO_REQUEST_TIMEOUT_MS`: how long a request may take (the display WebSocket aside).
    pub request_timeout: Duration,
    /// Timeouts and bounds of connections, requests, WebSockets and policy turns (issue 11).
    pub limits: Limits,
    /// `OKIENKO_SHUTDOWN_DRAIN_MS`: after the first SIGTERM/SIGINT, how long new connections are
    /// still taken (readiness already false) while the load balancer takes the replica out.
    pub shutdown_drain: Duration,
    /// `OKIENKO_SHUTDOWN_TIMEOUT_MS`: how long the requests in flight then have to finish
    /// before the process exits anyway.
    pub shutdown_timeout: Duration,
}

/// New connections are still taken for this long after the first signal, unless
/// `OKIENKO_SHUTDOWN_DRAIN_MS` says otherwise.
pub const DEFAULT_SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);

/// The bounds that keep one client, one script or one city from taking the service away from
/// the others, each from its own variable (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub connections_per_client: usize,
    pub accept_rate_per_client: usize,
    pub accept_burst_per_client: usize,
    pub max_in_flight: usize,
    pub in_flight_per_client: usize,
    pub ready_max_wait: Duration,
    pub ws_init_timeout: Duration,
    pub ws_ping_every: Duration,
    pub max_websockets: usize,
    pub websockets_per_client: usize,
    pub websockets_per_device: usize,
    pub policy_slots_per_tenant: usize,
    pub policy_queue_per_tenant: usize,
}

impl Limits {
    fn from_env() -> anyhow::Result<Limits> {
        use okienko_app::policy_sched as p;
        use okienko_web::{admission as a, conn_limits as c, ws_limits as w};
        let max_connections = count(
            "OKIENKO_MAX_CONNECTIONS",
            c::max_connections_for(c::file_limit()),
        )?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let max_in_flight = count("OKIENKO_MAX_IN_FLIGHT", a::DEFAULT_MAX_IN_FLIGHT)?;
        Ok(Limits {
            header_timeout: millis("OKIENKO_HEADER_TIMEOUT_MS", c::DEFAULT_HEADER_TIMEOUT)?,
            body_timeout: millis("OKIENKO_BODY_TIMEOUT_MS", a::DEFAULT_BODY_TIMEOUT)?,
            max_connections,
            connections_per_client: count(
                "OKIENKO_MAX_CONNECTIONS_PER_CLIENT",
                c::DEFAULT_PER_CLIENT,
            )?,
            accept_rate_per_client: count(
                "OKIENKO_ACCEPT_RATE_PER_CLIENT",
                okienko_web::accept_rate::DEFAULT_RATE as usize,
            )?,
            accept_burst_per_client: count(
                "OKIENKO_ACCEPT_BURST_PER_CLIENT",
                okienko_web::accept_rate::DEFAULT_BURST as usize,
            )?,
            max_in_flight,
            in_flight_per_client: count("OKIENKO_MAX_IN_FLIGHT_PER_CLIENT", a::DEFAULT_PER_CLIENT)?,
            ready_max_wait: millis("OKIENKO_READY_MAX_WAIT_MS", a::DEFAULT_READY_MAX_WAIT)?,
            ws_init_timeout: millis("OKIENKO_WS_INIT_TIMEOUT_MS", w::DEFAULT_INIT_TIMEOUT)?,
            ws_ping_every: millis("OKIENKO_WS_PING_MS", w::DEFAULT_PING_EVERY)?,
            max_websockets: count(
                "OKIENKO_MAX_WEBSOCKETS",
                w::max_sockets_for(max_connections),
            )?,
            websockets_per_client: count(
                "OKIENKO_MAX_WEBSOCKETS_PER_CLIENT",
                w::DEFAULT_PER_CLIENT,
            )?,
            websockets_per_device: count(
                "OKIENKO_MAX_WEBSOCKETS_PER_DEVICE",
                w::DEFAULT_PER_DEVICE,
            )?,
            policy_slots_per_tenant: count(
                "OKIENKO_POLICY_SLOTS_PER_TENANT",
                p::default_per_tenant(cores),
            )?,
            policy_queue_per_tenant: count(
                "OKIENKO_POLICY_QUEUE_PER_TENANT",
                p::default_queue_per_tenant(max_in_flight),
            )?,
        })
    }
}

/// The largest count any of the bounds accepts.
const MAX_COUNT: usize = 10_000_000;

fn count(name: &str, default: usize) -> anyhow::Result<usize> {
    let Some(v) = var(name) else {
        return Ok(default);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => bail!("{name}: expected a whole number from 1 to {MAX_COUNT}, got {v:?}"),
    }
}

fn millis(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match var(name) {
        None => Ok(default),
        Some(v) => parse_timeout_ms(&v).with_context(|| {
            format!(
                "{name}: expected a whole number of milliseconds from 1 to {MAX_REQUEST_TIMEOUT_MS}, got {v:?}"
            )
        }),
    }
}

/// How log lines are written (`OKIENKO_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event (the default).
    Human,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`), and
    /// `span`/`spans` inside spans (tracing-subscriber's own JSON formatter).
    Json,
}

impl LogFormat {
    /// `OKIENKO_LOG_FORMAT`: `human` (the default) or `json`; anything else is refused, so a
    /// typo does not leave an operator's log collector reading lines it cannot parse.
    pub fn from_env() -> anyhow::Result<LogFormat> {
        parse_log_format(var("OKIENKO_LOG_FORMAT").as_deref())
    }
}

fn parse_log_format(v: Option<&str>) -> anyhow::Result<LogFormat> {
    match v.map(str::trim) {
        None | Some("human") => Ok(LogFormat::Human),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => bail!(
            "OKIENKO_LOG_FORMAT: nieznany format dziennika {other:?}, dozwolone: human, json \
             (unknown log format {other:?}, expected human or json)"
        ),
    }
}

#[derive(Debug, Clone)]
pub enum SmsConfig {
    Log,
    Http {
        url: String,
        token: Option<String>,
        sender: String,
    },
}

/// The longest request timeout accepted: one hour.
const MAX_REQUEST_TIMEOUT_MS: u64 = 3_600_000;

fn parse_timeout_ms(v: &str) -> anyhow::Result<Duration> {
    let ms: u64 = v.trim().parse()?;
    if ms == 0 || ms > MAX_REQUEST_TIMEOUT_MS {
        bail!("out of range");
    }
    Ok(Duration::from_millis(ms))
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let data_dir = PathBuf::from(var("OKIENKO_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/okienko.db", data_dir.display()));
        let listen: SocketAddr = var("OKIENKO_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("OKIENKO_LISTEN: expected host:port, e.g. 127.0.0.1:8080")?;
        let metrics_listen = var("OKIENKO_METRICS_LISTEN")
            .map(|v| {
                v.trim().parse::<SocketAddr>().with_context(|| {
                    format!(
                        "OKIENKO_METRICS_LISTEN: expected host:port, e.g. 0.0.0.0:9090, got {v:?}"
                    )
                })
            })
            .transpose()?;
        if metrics_listen == Some(listen) {
            bail!("OKIENKO_METRICS_LISTEN must differ from OKIENKO_LISTEN: the metrics are never public");
        }
        let public_url = var("OKIENKO_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let dev = var("OKIENKO_DEV").as_deref() == Some("1");
        let start_at = match var("OKIENKO_NOW") {
            None => None,
            Some(_) if !dev => bail!(
                "OKIENKO_NOW is a development setting: it is accepted only with OKIENKO_DEV=1"
            ),
            Some(v) => Some(
                DateTime::parse_from_rfc3339(&v)
                    .with_context(|| {
                        format!("OKIENKO_NOW: expected an RFC 3339 instant, got {v:?}")
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let trusted_proxies = okienko_web::rate_limit::parse_trusted(
            &var("OKIENKO_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|e| anyhow::anyhow!("OKIENKO_TRUSTED_PROXIES: {e}"))?;
        let rate_limits = match var("OKIENKO_RATE_LIMITS").as_deref() {
            None | Some("on") => true,
            Some("off") if dev => false,
            Some("off") => bail!(
                "OKIENKO_RATE_LIMITS=off is a development setting: it is accepted only with OKIENKO_DEV=1"
            ),
            Some(other) => bail!("OKIENKO_RATE_LIMITS: expected on or off, got {other:?}"),
        };
        let request_timeout = millis(
            "OKIENKO_REQUEST_TIMEOUT_MS",
            okienko_web::admission::DEFAULT_REQUEST_TIMEOUT,
        )?;
        let limits = Limits::from_env()?;
        let shutdown_drain = match var("OKIENKO_SHUTDOWN_DRAIN_MS").as_deref().map(str::trim) {
            // No drain at all: stop accepting at the signal.
            Some("0") => Duration::ZERO,
            _ => millis("OKIENKO_SHUTDOWN_DRAIN_MS", DEFAULT_SHUTDOWN_DRAIN)?,
        };
        let shutdown_timeout = millis(
            "OKIENKO_SHUTDOWN_TIMEOUT_MS",
            okienko_web::listener::DEFAULT_SHUTDOWN_TIMEOUT,
        )?;
        let sms = match var("SMS_PROVIDER").as_deref() {
            None | Some("log") => SmsConfig::Log,
            Some("http") => SmsConfig::Http {
                url: var("SMS_HTTP_URL").context("SMS_PROVIDER=http needs SMS_HTTP_URL")?,
                token: var("SMS_HTTP_TOKEN"),
                sender: var("SMS_SENDER").unwrap_or_else(|| "okienko".into()),
            },
            Some(other) => bail!("SMS_PROVIDER: expected log or http, got {other:?}"),
        };
        Ok(Config {
            database_url,
            listen,
            metrics_listen,
            public_url,
            policies_dir: PathBuf::from(
                var("OKIENKO_POLICIES").unwrap_or_else(|| "./policies".into()),
            ),
            smtp_url: var("SMTP_URL"),
            mail_from: var("OKIENKO_MAIL_FROM")
                .unwrap_or_else(|| "okienko <noreply@okienko.local>".into()),
            sms,
            dev,
            start_at,
            secret: var("OKIENKO_SECRET"),
            trusted_proxies,
            rate_limits,
            request_timeout,
            limits,
            shutdown_drain,
            shutdown_timeout,
            data_dir,
        })
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        match self.start_at {
            Some(t) => Arc::new(OffsetClock::starting_at(t)),
            None => Arc::new(SystemClock),
        }
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// How requests are admitted (`okienko_web::admission`).
    pub fn admission(&self) -> okienko_web::admission::Settings {
        okienko_web::admission::Settings {
            request_timeout: self.request_timeout,
            body_timeout: self.limits.body_timeout,
            max_in_flight: self.limits.max_in_flight,
            per_client: self.limits.in_flight_per_client,
            ready_max_wait: self.limits.ready_max_wait,
            trusted_proxies: self.trusted_proxies.clone(),
            ..Default::default()
        }
    }

    /// How connections are bounded (`okienko_web::conn_limits`).
    pub fn connections(&self) -> okienko_web::conn_limits::Settings {
        okienko_web::conn_limits::Settings {
            max_connections: self.limits.max_connections,
            per_client: self.limits.connections_per_client,
            header_timeout: self.limits.header_timeout,
            accept_rate: u32::try_from(self.limits.accept_rate_per_client).unwrap_or(u32::MAX),
            accept_burst: u32::try_from(self.limits.accept_burst_per_client).unwrap_or(u32::MAX),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

    /// The HTTP layer's settings: admission and display WebSockets.
    pub fn web(&self) -> okienko_web::WebSettings {
        okienko_web::WebSettings {
            admission: self.admission(),
            websockets: self.websockets(),
            stopping: Default::default(),
        }
    }

    /// How display WebSockets are bounded (`okienko_web::ws_limits`).
    pub fn websockets(&self) -> okienko_web::ws_limits::Settings {
        okienko_web::ws_limits::Settings {
            init_timeout: self.limits.ws_init_timeout,
            ping_every: self.limits.ws_ping_every,
            max_sockets: self.limits.max_websockets,
            per_client: self.limits.websockets_per_client,
            per_device: self.limits.websockets_per_device,
        }
    }

    /// How script turns are shared between cities (`okienko_app::policy_sched`).
    pub fn policy_turns(&self) -> okienko_app::policy_sched::Settings {
        okienko_app::policy_sched::Settings {
            per_tenant: self.limits.policy_slots_per_tenant,
            queue_per_tenant: self.limits.policy_queue_per_tenant,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeout_in_milliseconds() {
        assert_eq!(
            parse_timeout_ms("2500").ok(),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_timeout_ms(" 10000 ").ok(),
            Some(Duration::from_secs(10))
        );
        for bad in ["0", "-1", "10s", "1.5", "", "3600001"] {
            assert!(parse_timeout_ms(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn log_format_human_by_default_json_on_request_others_refused() {
        assert_eq!(parse_log_format(None).ok(), Some(LogFormat::Human));
        assert_eq!(parse_log_format(Some("human")).ok(), Some(LogFormat::Human));
        assert_eq!(parse_log_format(Some(" json ")).ok(), Some(LogFormat::Json));
        for bad in ["JSON", "text", "logfmt"] {
            let e = match parse_log_format(Some(bad)) {
                Ok(f) => panic!("{bad:?} accepted as {f:?}"),
                Err(e) => e.to_string(),
            };
            assert!(e.contains("OKIENKO_LOG_FORMAT") && e.contains(bad), "{e}");
        }
    }
}
