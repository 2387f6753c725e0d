//! Open connections: a bound per client address and one for the whole server, kept below the
//! process's file limit (issue 11). Every connection is a file descriptor; when they run out,
//! the process can open neither a database connection nor a mail file, and answers nobody.
//!
//! A trusted proxy (`OKIENKO_TRUSTED_PROXIES`) carries many clients' requests on its
//! connections, so its address counts only against the server's bound; the clients behind it
//! are told apart per request (`admission`), where `X-Forwarded-For` is read.
//!
//! Before a connection is counted, its address's accept rate is looked at (`accept_rate`):
//! an address refused at its bound or opening connections too fast has its next ones closed
//! unanswered for a moment, so that a flood costs an `accept` and a `close` per connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use okienko_app::metrics::ConnectionsRefused;

use crate::accept_rate::{self, AcceptRate, Verdict};
pub use crate::refused::Refused;

/// How connections are bounded; from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connections open at once, WebSockets included (`OKIENKO_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Of those, connections from one address (`OKIENKO_MAX_CONNECTIONS_PER_CLIENT`).
    pub per_client: usize,
    /// How long a request's headers may take to arrive, the first request's and every
    /// following one's on a kept-alive connection (`OKIENKO_HEADER_TIMEOUT_MS`).
    pub header_timeout: Duration,
    /// New connections a second from one address, sustained (`OKIENKO_ACCEPT_RATE_PER_CLIENT`).
    pub accept_rate: u32,
    /// New connections from one address at once (`OKIENKO_ACCEPT_BURST_PER_CLIENT`).
    pub accept_burst: u32,
    /// Peers whose connections count only against `max_connections`, at any rate.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// File descriptors kept for what is not a client connection: the database pool (16 at
/// most), the listener, logs, mail files, the SMTP and SMS connections, the runtime's own.
pub const RESERVED_FILES: u64 = 128;
/// The bound on connections when the file limit cannot be read.
pub const FALLBACK_MAX_CONNECTIONS: usize = 1024 - RESERVED_FILES as usize;
/// Connections from one address when `OKIENKO_MAX_CONNECTIONS_PER_CLIENT` does not say.
pub const DEFAULT_PER_CLIENT: usize = 256;
/// The header timeout when `OKIENKO_HEADER_TIMEOUT_MS` does not set one.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: FALLBACK_MAX_CONNECTIONS,
            per_client: DEFAULT_PER_CLIENT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            accept_rate: accept_rate::DEFAULT_RATE,
            accept_burst: accept_rate::DEFAULT_BURST,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Raises the process's soft limit on open files to its hard limit and returns the soft limit
/// then in force (`RLIMIT_NOFILE`); `None` where it cannot be read.
pub fn file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let now = getrlimit(Resource::Nofile);
    if now.maximum != now.current {
        let raised = rustix::process::Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "the open-file limit stays as it is");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The default bound on connections under a file limit: all but [`RESERVED_FILES`] of it.
pub fn max_connections_for(file_limit: Option<u64>) -> usize {
    match file_limit {
        // An unlimited process still has the kernel's; a million is far beyond any here.
        None => 1_000_000,
        Some(n) => usize::try_from(n.saturating_sub(RESERVED_FILES))
            .unwrap_or(usize::MAX)
            .max(16),
    }
}

/// A connection not taken: why, and whether it is answered (503) or closed unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub why: Refused,
    pub answer: bool,
}

/// The connections open, in total and per address.
#[derive(Debug)]
pub struct Connections {
    settings: Settings,
    open: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    rate: AcceptRate,
    refused: ConnectionsRefused,
}

impl Connections {
    /// Bounds connections as `settings` say; refusals are counted in `refused`.
    pub fn new(settings: Settings, refused: ConnectionsRefused) -> Arc<Connections> {
        let rate = AcceptRate::new(accept_rate::Settings {
            rate: settings.accept_rate,
            burst: settings.accept_burst,
            trusted_proxies: settings.trusted_proxies.clone(),
            ..accept_rate::Settings::default()
        });
        Arc::new(Connections {
            settings,
            open: AtomicUsize::new(0),
            per_client: Mutex::default(),
            rate,
            refused,
        })
    }

    /// A new connection from `peer` at `now`: paced by its address's accept rate, then
    /// counted against the bounds (see [`admit`](Self::admit)). A refusal at the address's
    /// bound opens its penalty window too.
    pub fn accept(self: &Arc<Self>, peer: IpAddr, now: Instant) -> Result<Open, Refusal> {
        if let Verdict::Refuse { why, answer } = self.rate.judge(peer, now) {
            return Err(Refusal { why, answer });
        }
        match self.admit(peer) {
            Ok(open) => Ok(open),
            Err(Refused::Client) => match self.rate.over_bound(peer, now) {
                Verdict::Refuse { why, answer } => Err(Refusal { why, answer }),
                Verdict::Take => Err(Refusal {
                    why: Refused::Client,
                    answer: true,
                }),
            },
            Err(why) => Err(Refusal { why, answer: true }),
        }
    }

    /// Counts a refused connection in `okienko_connections_refused_total`.
    pub fn count_refused(&self, why: Refused, answered: bool) {
        self.refused.count(why.reason(), answered);
    }

    /// Addresses whose accept rate is tracked now.
    pub fn paced(&self) -> usize {
        self.rate.tracked()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Counts a new connection from `peer`, or says why it is not taken. The connection is
    /// counted until the guard drops.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Open, Refused> {
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        if open >= self.settings.max_connections {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::Server);
        }
        let counted = !self
            .settings
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer));
        if counted {
            let mut per = self.lock();
            let n = per.entry(peer).or_insert(0);
            if *n >= self.settings.per_client {
                drop(per);
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::Client);
            }
            *n += 1;
        }
        Ok(Open {
            connections: self.clone(),
            peer: counted.then_some(peer),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counters only: a panic elsewhere leaves nothing half-done here.
        self.per_client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Addresses with a connection open.
    pub fn clients(&self) -> usize {
        self.lock().len()
    }
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub struct Open {
    connections: Arc<Connections>,
    peer: Option<IpAddr>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(peer) = self.peer {
            let mut per = self.connections.lock();
            if let Some(n) = per.get_mut(&peer) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&peer);
                }
            }
        }
        self.connections.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_client_and_total_bounds() {
        let c = Connections::new(
            Settings {
                max_connections: 5,
                per_client: 2,
                trusted_proxies: vec!["10.9.0.0/16".parse().unwrap()],
                ..Settings::default()
            },
            ConnectionsRefused::default(),
        );
        let a1 = c.admit(ip("10.0.0.1")).unwrap();
        let _a2 = c.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(c.admit(ip("10.0.0.1")).unwrap_err(), Refused::Client);
        let _b = c.admit(ip("10.0.0.2")).unwrap();
        // A trusted proxy is bounded by the total only.
        let _p1 = c.admit(ip("10.9.0.1")).unwrap();
        let _p2 = c.admit(ip("10.9.0.1")).unwrap();
        assert_eq!(c.open(), 5);
        assert_eq!(c.admit(ip("10.0.0.3")).unwrap_err(), Refused::Server);
        drop(a1);
        assert_eq!(c.open(), 4);
        let _a3 = c.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(c.clients(), 2);
    }

    #[test]
    fn entries_go_with_their_last_connection() {
        let c = Connections::new(Settings::default(), ConnectionsRefused::default());
        let all: Vec<_> = (1..=50u8)
            .map(|i| c.admit(IpAddr::from([10, 0, 1, i])).unwrap())
            .collect();
        assert_eq!(c.clients(), 50);
        drop(all);
        assert_eq!((c.clients(), c.open()), (0, 0));
    }

    #[test]
    fn an_address_refused_at_its_bound_is_closed_unanswered_for_a_while() {
        let c = Connections::new(
            Settings {
                per_client: 2,
                trusted_proxies: vec!["10.9.0.0/16".parse().unwrap()],
                ..Settings::default()
            },
            ConnectionsRefused::default(),
        );
        let (t0, a) = (Instant::now(), ip("10.0.0.1"));
        let held = [c.accept(a, t0).unwrap(), c.accept(a, t0).unwrap()];
        let refused = |answer| {
            Err::<(), _>(Refusal {
                why: Refused::Client,
                answer,
            })
        };
        assert_eq!(c.accept(a, t0).map(drop), refused(true));
        // A connection given up makes room, but not before the window ends.
        drop(held);
        let answered = accept_rate::ANSWERED_PER_PENALTY as usize;
        let next: Vec<_> = (0..answered + 3)
            .map(|_| c.accept(a, t0).map(drop))
            .collect();
        assert!(next[..answered - 1].iter().all(|r| *r == refused(true)));
        assert!(next[answered - 1..].iter().all(|r| *r == refused(false)));
        assert_eq!(c.open(), 0);
        assert!(c.accept(a, t0 + accept_rate::PENALTY).is_ok());
        // A trusted proxy is held by the total only, at any rate.
        let proxied: Vec<_> = (0..300)
            .map(|_| c.accept(ip("10.9.0.1"), t0).unwrap())
            .collect();
        assert_eq!(proxied.len(), 300);
        assert_eq!(c.paced(), 1);
    }

    #[test]
    fn refusals_are_counted_by_reason_and_outcome() {
        let counted = ConnectionsRefused::default();
        let c = Connections::new(Settings::default(), counted.clone());
        c.count_refused(Refused::Rate, false);
        c.count_refused(Refused::Rate, false);
        c.count_refused(Refused::Client, true);
        assert_eq!(counted.get("rate", false), 2);
        assert_eq!(counted.get("client", true), 1);
        assert_eq!(counted.get("server", true), 0);
    }

    #[test]
    fn the_bound_leaves_room_below_the_file_limit() {
        assert_eq!(
            max_connections_for(Some(20_000)),
            20_000 - RESERVED_FILES as usize
        );
        assert_eq!(max_connections_for(Some(100)), 16);
        assert!(file_limit().is_some_and(|n| n > 0));
    }
}
