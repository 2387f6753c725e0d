//! How fast one client address may open connections (issue 11): a token bucket per address,
//! and a short penalty window for an address that is refused.
//!
//! A refusal answered over HTTP costs a task, a parser and an answer written; one address
//! making a thousand connections a second costs every other client that much at p99. So an
//! address that opens connections faster than its bucket refills, or that holds its bound of
//! connections already (`conn_limits`), is put in a penalty window: its new connections are
//! closed right after `accept`, without a byte read or written. The first few refusals of a
//! window are still answered 503 `TOO_MANY_CONNECTIONS`, so that a well-behaved client learns
//! why.
//!
//! The logic here is pure: the caller passes the time, so the tests move it by hand. The
//! table of addresses is bounded ([`Settings::max_tracked`]): an address whose bucket is full
//! again and whose window is over holds nothing worth keeping and is swept out when room is
//! needed; an address that finds the table full of busy ones is let through untracked (the
//! server's bound on connections still holds it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::refused::Refused;

/// How new connections are paced; from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// New connections a second one address may open, sustained
    /// (`OKIENKO_ACCEPT_RATE_PER_CLIENT`).
    pub rate: u32,
    /// New connections one address may open at once before the rate applies
    /// (`OKIENKO_ACCEPT_BURST_PER_CLIENT`).
    pub burst: u32,
    /// Peers not paced (reverse proxies carry many clients' connections).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Addresses tracked at most.
    pub max_tracked: usize,
}

/// The sustained rate when `OKIENKO_ACCEPT_RATE_PER_CLIENT` does not say.
pub const DEFAULT_RATE: u32 = 64;
/// The burst when `OKIENKO_ACCEPT_BURST_PER_CLIENT` does not say: as many connections as one
/// address may hold (`conn_limits::DEFAULT_PER_CLIENT`), so that a carrier's NAT full of
/// citizens opening pages at once is not refused for it.
pub const DEFAULT_BURST: u32 = 256;
/// Addresses tracked at most: about 100 bytes each.
pub const MAX_TRACKED: usize = 65_536;
/// How long an address's new connections are refused once one is.
pub const PENALTY: Duration = Duration::from_secs(1);
/// Refusals of one window answered with 503; the later ones are closed unanswered.
pub const ANSWERED_PER_PENALTY: u32 = 4;
/// How often a full table is swept of idle addresses, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
            trusted_proxies: Vec::new(),
            max_tracked: MAX_TRACKED,
        }
    }
}

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it (its address's bound on connections still applies).
    Take,
    /// Refuse it: `why` opened the window; answered with 503, or closed at once.
    Refuse { why: Refused, answer: bool },
}

#[derive(Debug)]
struct Penalty {
    until: Instant,
    why: Refused,
    answered: u32,
}

impl Penalty {
    fn refuse(&mut self) -> Verdict {
        let answer = self.answered < ANSWERED_PER_PENALTY;
        if answer {
            self.answered += 1;
        }
        Verdict::Refuse {
            why: self.why,
            answer,
        }
    }
}

#[derive(Debug)]
struct Entry {
    tokens: f64,
    at: Instant,
    penalty: Option<Penalty>,
}

impl Entry {
    fn fresh(now: Instant, s: &Settings) -> Entry {
        Entry {
            tokens: f64::from(s.burst),
            at: now,
            penalty: None,
        }
    }

    /// The tokens at `now` (never fewer than at the last look: time does not run back).
    fn tokens_at(&self, now: Instant, s: &Settings) -> f64 {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + dt * f64::from(s.rate)).min(f64::from(s.burst))
    }

    fn refill(&mut self, now: Instant, s: &Settings) {
        self.tokens = self.tokens_at(now, s);
        self.at = self.at.max(now);
    }

    /// Its window, if one is open at `now`.
    fn penalty_at(&mut self, now: Instant) -> Option<&mut Penalty> {
        if self.penalty.as_ref().is_some_and(|p| now >= p.until) {
            self.penalty = None;
        }
        self.penalty.as_mut()
    }

    fn penalise(&mut self, now: Instant, why: Refused) -> Verdict {
        self.penalty
            .insert(Penalty {
                until: now + PENALTY,
                why,
                answered: 0,
            })
            .refuse()
    }

    /// Nothing to remember: as a new address would be.
    fn idle(&self, now: Instant, s: &Settings) -> bool {
        self.penalty.as_ref().is_none_or(|p| now >= p.until)
            && self.tokens_at(now, s) >= f64::from(s.burst)
    }
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<IpAddr, Entry>,
    swept_at: Option<Instant>,
}

impl Table {
    /// `peer`'s entry, made if there is room (sweeping idle ones out at most once a
    /// [`SWEEP_EVERY`]); `None` when the table is full of busy addresses.
    fn entry(&mut self, peer: IpAddr, now: Instant, s: &Settings) -> Option<&mut Entry> {
        if !self.entries.contains_key(&peer) && self.entries.len() >= s.max_tracked {
            let due = self
                .swept_at
                .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY);
            if due {
                self.swept_at = Some(now);
                self.entries.retain(|_, e| !e.idle(now, s));
            }
            if self.entries.len() >= s.max_tracked {
                return None;
            }
        }
        Some(
            self.entries
                .entry(peer)
                .or_insert_with(|| Entry::fresh(now, s)),
        )
    }
}

/// The buckets and windows of the addresses seen lately.
#[derive(Debug)]
pub struct AcceptRate {
    settings: Settings,
    table: Mutex<Table>,
}

impl AcceptRate {
    pub fn new(settings: Settings) -> AcceptRate {
        AcceptRate {
            settings,
            table: Mutex::default(),
        }
    }

    fn exempt(&self, peer: IpAddr) -> bool {
        self.settings
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Buckets only: a panic elsewhere leaves nothing half-done here.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection from `peer` at `now`: taken (one token spent), or refused while its
    /// window is open or when its bucket is empty (which opens a window).
    pub fn judge(&self, peer: IpAddr, now: Instant) -> Verdict {
        if self.exempt(peer) {
            return Verdict::Take;
        }
        let s = &self.settings;
        let mut table = self.lock();
        let Some(e) = table.entry(peer, now, s) else {
            return Verdict::Take;
        };
        e.refill(now, s);
        if let Some(p) = e.penalty_at(now) {
            return p.refuse();
        }
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Verdict::Take
        } else {
            e.penalise(now, Refused::Rate)
        }
    }

    /// `peer`, taken by [`judge`](Self::judge), holds its bound of connections already: the
    /// connection is refused and a window opens (or goes on).
    pub fn over_bound(&self, peer: IpAddr, now: Instant) -> Verdict {
        let refused = Verdict::Refuse {
            why: Refused::Client,
            answer: true,
        };
        if self.exempt(peer) {
            return refused;
        }
        let s = &self.settings;
        let mut table = self.lock();
        let Some(e) = table.entry(peer, now, s) else {
            return refused;
        };
        match e.penalty_at(now) {
            Some(p) => p.refuse(),
            None => e.penalise(now, Refused::Client),
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn gate(rate: u32, burst: u32) -> AcceptRate {
        AcceptRate::new(Settings {
            rate,
            burst,
            trusted_proxies: vec!["10.9.0.0/16".parse().unwrap()],
            ..Settings::default()
        })
    }

    const TAKE: Verdict = Verdict::Take;
    const ANSWER: Verdict = Verdict::Refuse {
        why: Refused::Rate,
        answer: true,
    };
    const CLOSE: Verdict = Verdict::Refuse {
        why: Refused::Rate,
        answer: false,
    };

    #[test]
    fn the_connection_past_the_burst_is_refused_and_only_the_first_refusals_are_answered() {
        let g = gate(32, 64);
        let (t0, a) = (Instant::now(), ip("10.0.0.1"));
        for i in 0..64 {
            assert_eq!(g.judge(a, t0), TAKE, "connection {}", i + 1);
        }
        // The 65th at the same instant opens a window.
        let in_window: Vec<_> = (0..10).map(|_| g.judge(a, t0)).collect();
        let answered = ANSWERED_PER_PENALTY as usize;
        assert!(in_window[..answered].iter().all(|v| *v == ANSWER));
        assert!(in_window[answered..].iter().all(|v| *v == CLOSE));
        // Another address is not touched.
        assert_eq!(g.judge(ip("10.0.0.2"), t0), TAKE);
    }

    #[test]
    fn the_rate_refills_the_bucket_once_the_window_is_over() {
        let g = gate(32, 64);
        let (t0, a) = (Instant::now(), ip("10.0.0.1"));
        for _ in 0..64 {
            assert_eq!(g.judge(a, t0), TAKE);
        }
        assert_eq!(g.judge(a, t0), ANSWER);
        // Within the window, refused although tokens came back meanwhile.
        let half = t0 + PENALTY / 2;
        assert!(matches!(g.judge(a, half), Verdict::Refuse { .. }));
        // After it, one second's worth of the rate (32) is there, and no more.
        let after = t0 + PENALTY;
        for i in 0..32 {
            assert_eq!(g.judge(a, after), TAKE, "refilled connection {}", i + 1);
        }
        assert_eq!(g.judge(a, after), ANSWER, "a new window, answered again");
        // A steady 32 a second is served for as long as it goes on.
        let mut t = after + PENALTY;
        let _ = g.judge(a, t);
        for i in 0..200 {
            t += Duration::from_millis(1000 / 32 + 1);
            assert_eq!(g.judge(a, t), TAKE, "steady connection {i}");
        }
    }

    #[test]
    fn an_address_over_its_bound_is_refused_for_a_window() {
        let g = gate(32, 64);
        let (t0, a) = (Instant::now(), ip("10.0.0.1"));
        assert_eq!(g.judge(a, t0), TAKE);
        let bound = |answer| Verdict::Refuse {
            why: Refused::Client,
            answer,
        };
        assert_eq!(g.over_bound(a, t0), bound(true));
        // Its next connections are refused before any bound is looked at.
        let next: Vec<_> = (0..8).map(|_| g.judge(a, t0)).collect();
        let answered = ANSWERED_PER_PENALTY as usize - 1;
        assert!(
            next[..answered].iter().all(|v| *v == bound(true)),
            "{next:?}"
        );
        assert!(
            next[answered..].iter().all(|v| *v == bound(false)),
            "{next:?}"
        );
        assert_eq!(g.judge(a, t0 + PENALTY), TAKE);
    }

    #[test]
    fn a_trusted_proxy_is_not_paced() {
        let g = gate(1, 2);
        let (t0, proxy) = (Instant::now(), ip("10.9.3.4"));
        for _ in 0..10_000 {
            assert_eq!(g.judge(proxy, t0), TAKE);
        }
        assert_eq!(g.tracked(), 0);
    }

    #[test]
    fn the_table_stays_bounded_and_idle_addresses_make_room() {
        let g = AcceptRate::new(Settings {
            rate: 10,
            burst: 5,
            max_tracked: 100,
            ..Settings::default()
        });
        let t0 = Instant::now();
        let many = |n: u32| IpAddr::from([10, 1, (n >> 8) as u8, n as u8]);
        for n in 0..1000 {
            // Past the table's room, addresses are let through untracked.
            assert_eq!(g.judge(many(n), t0), TAKE);
            assert!(g.tracked() <= 100);
        }
        assert_eq!(g.tracked(), 100);
        // A busy address of a full table: refused as before.
        for _ in 0..4 {
            let _ = g.judge(many(0), t0);
        }
        assert!(matches!(g.judge(many(0), t0), Verdict::Refuse { .. }));
        // Once the others' buckets are full again, a new address takes an idle one's place.
        let later = t0 + Duration::from_secs(1);
        let newcomer = ip("10.2.0.1");
        assert_eq!(g.judge(newcomer, later), TAKE);
        assert!(g.tracked() <= 100);
        for _ in 0..4 {
            let _ = g.judge(newcomer, later);
        }
        assert!(
            matches!(g.judge(newcomer, later), Verdict::Refuse { .. }),
            "the newcomer is tracked"
        );
    }
}
