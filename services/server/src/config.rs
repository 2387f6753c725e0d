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
        let request_timeout = match var("OKIENKO_REQUEST_TIMEOUT_MS") {
            None => okienko_api::http::DEFAULT_REQUEST_TIMEOUT,
            Some(v) => parse_timeout_ms(&v).with_context(|| {
                format!(
                    "OKIENKO_REQUEST_TIMEOUT_MS: expected a whole number of milliseconds from 1 to {MAX_REQUEST_TIMEOUT_MS}, got {v:?}"
                )
            })?,
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
            request_timeout,
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
}
