//! Configuration from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use okienko_domain::clock::{Clock, OffsetClock, SystemClock};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
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
        let trusted_proxies = okienko_api::rate_limit::parse_trusted(
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
}
