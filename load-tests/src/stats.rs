//! Latencies (µs) and answers per request kind, gathered across goose's users.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One answer: HTTP status, body and its outcome ("ok", the GraphQL code, or "HTTP n").
pub struct Answer {
    pub body: Value,
    pub outcome: String,
}

impl Answer {
    /// A successful body is parsed only when `keep` (or when it carries errors).
    pub fn from_bytes(status: u16, bytes: &[u8], keep: bool) -> Answer {
        let has_errors = bytes.windows(8).any(|w| w == b"\"errors\"");
        if status == 200 && !keep && !has_errors && bytes.starts_with(b"{\"data\"") {
            return Answer::new(status, Value::Null, Some("ok"));
        }
        let body = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        Answer::new(status, body, None)
    }

    pub fn new(status: u16, body: Value, known: Option<&str>) -> Answer {
        let code = body["errors"][0]["extensions"]["code"].as_str();
        let outcome = match (status, code) {
            _ if known.is_some() => known.unwrap_or_default().to_string(),
            (0, _) => "TRANSPORT".to_string(),
            (_, Some(code)) => code.to_string(),
            (200, None) if body.get("data").is_some() => "ok".to_string(),
            (s, None) => format!("HTTP {s}"),
        };
        stats().lock().unwrap_or_else(|e| e.into_inner()).status[status_class(status)] += 1;
        Answer { body, outcome }
    }
}

fn status_class(status: u16) -> usize {
    match status {
        0 => 0,
        200..=299 => 1,
        429 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

const CLASSES: [&str; 5] = ["transport errors", "2xx", "429", "other 4xx", "5xx"];

#[derive(Default)]
struct Kind {
    micros: Vec<u32>,
    outcomes: BTreeMap<String, u64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

#[derive(Default)]
struct Stats {
    kinds: HashMap<&'static str, Kind>,
    finals: BTreeMap<String, u64>,
    status: [u64; 5],
}

fn stats() -> &'static Mutex<Stats> {
    static STATS: LazyLock<Mutex<Stats>> = LazyLock::new(Default::default);
    &STATS
}

/// Requests answered before this instant are not counted (warm-up).
static COUNT_FROM: OnceLock<Instant> = OnceLock::new();

pub fn count_after(warmup: Duration) {
    let _ = COUNT_FROM.set(Instant::now() + warmup);
}

pub fn record(name: &'static str, took: Duration, answer: &Answer) {
    let now = Instant::now();
    if COUNT_FROM.get().is_some_and(|from| now < *from) {
        return;
    }
    let mut s = stats().lock().unwrap_or_else(|e| e.into_inner());
    let k = s.kinds.entry(name).or_default();
    k.micros
        .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    *k.outcomes.entry(answer.outcome.clone()).or_default() += 1;
    k.first.get_or_insert(now);
    k.last = Some(now);
}

/// The last createBooking answer of one burst client.
pub fn record_final(outcome: &str) {
    let mut s = stats().lock().unwrap_or_else(|e| e.into_inner());
    *s.finals.entry(outcome.to_string()).or_default() += 1;
}

pub struct KindReport {
    pub count: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub outcomes: BTreeMap<String, u64>,
}

pub struct Report {
    kinds: BTreeMap<&'static str, KindReport>,
    finals: BTreeMap<String, u64>,
    status: [u64; 5],
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

impl Report {
    /// Everything gathered since the last call; the counters start again from zero.
    pub fn take() -> Report {
        let s = std::mem::take(&mut *stats().lock().unwrap_or_else(|e| e.into_inner()));
        let kinds = s
            .kinds
            .into_iter()
            .map(|(name, mut k)| {
                k.micros.sort_unstable();
                let span = match (k.first, k.last) {
                    (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
                    _ => 0.0,
                };
                let count = k.micros.len();
                let report = KindReport {
                    count,
                    per_second: if span > 0.0 { count as f64 / span } else { 0.0 },
                    p50_ms: percentile(&k.micros, 0.50),
                    p99_ms: percentile(&k.micros, 0.99),
                    max_ms: percentile(&k.micros, 1.0),
                    outcomes: k.outcomes,
                };
                (name, report)
            })
            .collect();
        Report {
            kinds,
            finals: s.finals,
            status: s.status,
        }
    }

    pub fn kind(&self, name: &str) -> Option<&KindReport> {
        self.kinds.get(name)
    }

    pub fn server_errors(&self) -> u64 {
        self.status[0] + self.status[4]
    }

    pub fn print(&self, title: &str) {
        println!("== {title}");
        for (name, k) in &self.kinds {
            println!(
                "  {name:<14} {:>8} requests  {:>9.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
                k.count, k.per_second, k.p50_ms, k.p99_ms, k.max_ms
            );
            let outcomes: Vec<String> =
                k.outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
            println!("  {:<14} answers: {}", "", outcomes.join(", "));
        }
        let status: Vec<String> = CLASSES
            .iter()
            .zip(self.status)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!("  HTTP: {}", status.join(", "));
        if !self.finals.is_empty() {
            let finals: Vec<String> = self
                .finals
                .iter()
                .map(|(o, n)| format!("{o} {n}"))
                .collect();
            println!(
                "  clients' last createBooking answer: {}",
                finals.join(", ")
            );
        }
    }

    /// One line for scripts: `RESULT name count per_second p50_ms p99_ms`.
    pub fn print_machine(&self, name: &str) {
        if let Some(k) = self.kinds.get(name) {
            println!(
                "RESULT {name} {} {:.1} {:.3} {:.3}",
                k.count, k.per_second, k.p50_ms, k.p99_ms
            );
        }
    }

    /// The release's invariants: exactly `seats` bookings, nothing left, every other client
    /// refused with SLOT_FULL or RATE_LIMITED, no 5xx and no broken connection.
    pub fn check_burst(&self, clients: usize, seats: i64, left: i64) -> bool {
        let booked = self.finals.get("ok").copied().unwrap_or(0);
        let others: u64 = self
            .finals
            .iter()
            .filter(|(o, _)| !matches!(o.as_str(), "ok" | "SLOT_FULL" | "RATE_LIMITED"))
            .map(|(_, n)| n)
            .sum();
        let answered: u64 = self.finals.values().sum();
        let ok = i64::try_from(booked).unwrap_or(-1) == seats
            && left == 0
            && others == 0
            && answered == clients as u64
            && self.server_errors() == 0;
        println!(
            "BURST clients {clients} answered {answered} booked {booked} of {seats} seats, left {left}, \
             unexpected answers {others}, 5xx/transport {} -> {}",
            self.server_errors(),
            if ok { "PASS" } else { "FAIL" }
        );
        ok
    }
}

/// Polite clients' p99 beside the abuser against alone (target ≤ 1.5×); the abuser shed by 429.
pub fn compare_abuse(alone: &Report, beside: &Report) -> bool {
    let (Some(a), Some(b)) = (alone.kind("polite"), beside.kind("polite")) else {
        println!("ABUSE no polite answers recorded -> FAIL");
        return false;
    };
    let ratio = if a.p99_ms > 0.0 {
        b.p99_ms / a.p99_ms
    } else {
        0.0
    };
    let (sent, shed) = beside
        .kind("abuser")
        .map(|k| {
            let shed = k.outcomes.get("RATE_LIMITED").copied().unwrap_or(0);
            (k.count as u64, shed)
        })
        .unwrap_or((0, 0));
    let polite_limited = b.outcomes.get("RATE_LIMITED").copied().unwrap_or(0);
    let abuser_rate = beside.kind("abuser").map(|k| k.per_second).unwrap_or(0.0);
    println!(
        "ABUSE polite p99 alone {:.2} ms, beside the abuser {:.2} ms (x{ratio:.2}); \
         abuser sent {sent} at {abuser_rate:.0}/s, {shed} answered 429; polite clients limited {polite_limited}",
        a.p99_ms, b.p99_ms
    );
    let ok = shed > 0
        && polite_limited == 0
        && alone.server_errors() == 0
        && beside.server_errors() == 0;
    println!("ABUSE {}", if ok { "PASS" } else { "FAIL" });
    ok
}
