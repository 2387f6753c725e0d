//! Issue 15, "SIGTERM during a booking burst", on SQLite and on PostgreSQL: 80 clients book
//! concurrently (each booking with its own client data, over three slots with seats to spare);
//! once a known number of requests has been sent the server gets SIGTERM, and the clients go on
//! sending until the port refuses them. Then, on a server restarted on the same data:
//! - every booking acknowledged (HTTP 200 with `data.createBooking`) is stored, as answered;
//! - the seats taken are exactly the acknowledged bookings, slot by slot: no request was cut
//!   mid-transaction, none was stored without its answer, nothing is half-written;
//! - no answer was a 5xx other than the documented refusal while stopping (503
//!   `SHUTTING_DOWN`); requests not taken found the port closed (or their connection closed
//!   before they were read, which the seat count shows);
//! - the process exited with status 0, within the drain and `OKIENKO_SHUTDOWN_TIMEOUT_MS`.
//!
//! The time from SIGTERM to exit is printed, never asserted (`load-tests/RESULTS.md`):
//! `OKIENKO_REQUIRE_POSTGRES=1 cargo test --test e2e_shutdown_burst -- --nocapture`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};

const SLUG: &str = "dabrowa-gornicza";
const SERVICE: &str = "rejestracja-dzialalnosci";
const DAY: &str = "2026-12-02";
/// Seats online per slot: more than the burst can take, so every booking is accepted.
const CAPACITY: i64 = 5000;
const SLOTS: usize = 3;
const CLIENTS: usize = 80;
/// SIGTERM goes once this many requests have been sent (all clients busy, some answered).
const SIGNAL_AFTER: usize = 160;
const DRAIN_MS: u64 = 300;
const TIMEOUT_MS: u64 = 15_000;

/// What one `createBooking` request came to.
#[derive(Debug)]
enum Outcome {
    /// HTTP 200 with `data.createBooking`: the slot's index, management token and code.
    Booked {
        slot: usize,
        token: String,
        code: String,
    },
    /// HTTP 200 refusing with `POLICY_ERROR`: the city's script ran out of its wall-clock
    /// deadline (50 ms, `okienko_policy::Limits`), which a saturated shared machine can cause at
    /// any time; allowed only as often as the server logged a passed deadline.
    PolicyDeadline,
    /// 503 `SHUTTING_DOWN`: the documented refusal while stopping.
    ShuttingDown,
    /// The port refused the connection (the listener was closed).
    Refused,
    /// The connection closed before an answer (a kept-alive connection closed at shutdown as
    /// the request went out, or one the listener never took).
    Unanswered(String),
    /// Anything else: a failure of the test.
    Other(String),
}

/// Sends one booking of `slot` for client number `n`.
async fn book(
    c: &reqwest::Client,
    url: &str,
    service: &str,
    slot: usize,
    start: &str,
    n: usize,
) -> Outcome {
    let r = match c
        .post(url)
        .json(&dabrowa_booking(service, start, n))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Outcome::Refused,
        Err(e) => return Outcome::Unanswered(format!("{e:?}")),
    };
    let status = r.status().as_u16();
    let text = match r.text().await {
        Ok(t) => t,
        Err(e) => return Outcome::Other(format!("HTTP {status}, body cut: {e:?}")),
    };
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    match (status, v.pointer("/data/createBooking/managementToken")) {
        (200, Some(Value::String(token))) if v["errors"].is_null() => Outcome::Booked {
            slot,
            token: token.clone(),
            code: str_at(&v, "/data/createBooking/booking/code"),
        },
        (200, None | Some(Value::Null)) if code_of(&v) == "POLICY_ERROR" => Outcome::PolicyDeadline,
        (503, _) if code_of(&v) == "SHUTTING_DOWN" => Outcome::ShuttingDown,
        _ => Outcome::Other(format!("HTTP {status}: {v}")),
    }
}

/// A server on `backend` whose Dąbrowa service has `CAPACITY` seats a slot: (server, service
/// id, the day's first `SLOTS` slot starts).
async fn server_with_seats(backend: Backend, db: &Option<TestDb>) -> (Server, String, Vec<String>) {
    let mut b = Server::builder()
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", &DRAIN_MS.to_string())
        .env("OKIENKO_SHUTDOWN_TIMEOUT_MS", &TIMEOUT_MS.to_string());
    if let Some(db) = db {
        b = b.database(&db.url);
    }
    let s = b.start().await;
    let want = match backend {
        Backend::Postgres => "database=\"postgres\"",
        Backend::Sqlite => "database=\"sqlite\"",
    };
    assert!(s.log().contains(want), "not on {backend:?}:\n{}", s.log());
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, SLUG).await;
    let set = s
        .admin(
            SLUG,
            Some(&admin),
            "mutation($k: String!, $n: Int!) { setCapacity(serviceKey: $k, online: $n, staff: 1) { hash } }",
            json!({ "k": SERVICE, "n": CAPACITY }),
        )
        .await;
    assert!(set["errors"].is_null(), "{set}");
    let service = s.service_id(SLUG, SERVICE).await;
    let days = s.availability(SLUG, &service, DAY, DAY).await;
    let slots: Vec<String> = days[0]["slots"]
        .as_array()
        .unwrap_or_else(|| panic!("{days}"))
        .iter()
        .filter(|slot| slot["remaining"].as_i64() == Some(CAPACITY))
        .take(SLOTS)
        .map(|slot| slot["start"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slots.len(), SLOTS, "{days}");
    (s, service, slots)
}

async fn sigterm_during_booking_burst(backend: Backend) {
    let db = match backend {
        Backend::Sqlite => None,
        // Skipped only when PostgreSQL is missing and not required (TestDb::postgres panics
        // under OKIENKO_REQUIRE_POSTGRES=1).
        Backend::Postgres => match TestDb::postgres().await {
            Some(db) => Some(db),
            None => return,
        },
    };
    let (mut s, service, slots) = server_with_seats(backend, &db).await;
    let url = format!("{}/t/{SLUG}/graphql", s.base);
    let slots = Arc::new(slots);
    let sent = Arc::new(AtomicUsize::new(0));
    let signalled = Arc::new(AtomicBool::new(false));
    let give_up = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, service, slots) = (url.clone(), service.clone(), slots.clone());
            let (sent, signalled, give_up) = (sent.clone(), signalled.clone(), give_up.clone());
            tokio::spawn(async move {
                // Each client keeps its connection alive between bookings, as a partner does.
                let c = reqwest::Client::new();
                let mut outcomes = Vec::new();
                while !give_up.load(Ordering::Relaxed) {
                    let n = sent.fetch_add(1, Ordering::SeqCst);
                    let after_signal = signalled.load(Ordering::SeqCst);
                    let slot = n % SLOTS;
                    let o = book(&c, &url, &service, slot, &slots[slot], n).await;
                    let refused = matches!(o, Outcome::Refused);
                    outcomes.push((after_signal || signalled.load(Ordering::SeqCst), o));
                    if refused {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();

    // SIGTERM once a known number of requests is out, with every client mid-request.
    let wait_start = Instant::now();
    while sent.load(Ordering::SeqCst) < SIGNAL_AFTER {
        assert!(
            wait_start.elapsed() < Duration::from_secs(60),
            "the burst did not start"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    signalled.store(true, Ordering::SeqCst);
    let sent_at_signal = sent.load(Ordering::SeqCst);
    let at = Instant::now();
    s.signal("TERM");
    // The bound is drain + timeout; the limit here is generous, the figure is printed.
    let status = s.wait_exit(Duration::from_secs(60)).await;
    let took = at.elapsed();
    give_up.store(true, Ordering::Relaxed);

    let mut booked: Vec<(usize, String, String)> = Vec::new();
    let (mut shutting_down, mut refused, mut unanswered) = (0, 0, Vec::new());
    let mut over_deadline = 0;
    let mut wrong = Vec::new();
    for c in clients {
        for (after_signal, o) in c.await.unwrap() {
            match o {
                Outcome::Booked { slot, token, code } => booked.push((slot, token, code)),
                Outcome::PolicyDeadline => over_deadline += 1,
                Outcome::ShuttingDown if after_signal => shutting_down += 1,
                Outcome::Refused if after_signal => refused += 1,
                Outcome::Unanswered(e) if after_signal => unanswered.push(e),
                Outcome::Other(e) => wrong.push(e),
                o => wrong.push(format!("before the signal: {o:?}")),
            }
        }
    }
    let log = s.log();
    let deadlines = log
        .lines()
        .filter(|l| l.contains("deadline (") && l.contains("passed"))
        .count();
    if over_deadline > deadlines {
        wrong.push(format!(
            "{over_deadline} POLICY_ERROR answers, {deadlines} policy deadlines logged"
        ));
    }
    assert!(status.success(), "{status}\n{log}");
    for cut in [
        "requests still in flight at the shutdown timeout are cut",
        "workers still busy at the shutdown timeout are cut",
    ] {
        assert!(!log.contains(cut), "{cut}:\n{log}");
    }
    // A client sends its next request only once answered: by the signal, this many had been.
    assert!(
        booked.len() + over_deadline >= SIGNAL_AFTER - CLIENTS,
        "only {} bookings acknowledged",
        booked.len()
    );
    assert!(
        refused > 0,
        "no client was refused after the listener closed"
    );
    eprintln!(
        "booking burst on {backend:?}: SIGTERM to exit {} ms (drain {DRAIN_MS} ms, timeout {TIMEOUT_MS} ms); \
         {sent_at_signal} sent at the signal, {} acknowledged, {shutting_down} refused with SHUTTING_DOWN, \
         {refused} found the port closed, {} closed before an answer (first: {:?}), \
         {over_deadline} refused with POLICY_ERROR (policy deadline)",
        took.as_millis(),
        booked.len(),
        unanswered.len(),
        unanswered.first()
    );

    // Read back on a server restarted on the same data and database.
    let s = s.restart_at(NOW).await;
    let (s, slots) = (&s, &slots);
    let mismatched: Vec<String> = futures_util::stream::iter(booked.iter())
        .map(|(slot, token, code)| async move {
            let v = s.booking(SLUG, token, "code status start").await;
            let b = &v["data"]["booking"];
            let same_start = b["start"].as_str().is_some_and(|start| {
                chrono::DateTime::parse_from_rfc3339(start).ok()
                    == chrono::DateTime::parse_from_rfc3339(&slots[*slot]).ok()
            });
            (b["code"] != code.as_str() || b["status"] != "CONFIRMED" || !same_start)
                .then(|| format!("{code} at {}: {v}", slots[*slot]))
        })
        .buffer_unordered(16)
        .filter_map(|m| async move { m })
        .collect()
        .await;
    assert!(
        mismatched.is_empty(),
        "acknowledged but not stored as answered: {mismatched:?}"
    );
    let mut per_slot: HashMap<usize, i64> = HashMap::new();
    for (slot, _, _) in &booked {
        *per_slot.entry(*slot).or_default() += 1;
    }
    for (i, start) in slots.iter().enumerate() {
        let acknowledged = per_slot.get(&i).copied().unwrap_or(0);
        assert_eq!(
            s.remaining(SLUG, &service, start).await,
            CAPACITY - acknowledged,
            "seats taken at {start} are not the {acknowledged} acknowledged bookings"
        );
    }
    // Last, so that a failure also shows whether the data held.
    assert!(
        wrong.is_empty(),
        "answers other than a booking or a refusal while stopping: {wrong:?}\n{log}"
    );
}

on_both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] sigterm_during_a_booking_burst_keeps_every_acknowledged_booking_sqlite, sigterm_during_a_booking_burst_keeps_every_acknowledged_booking_postgres => sigterm_during_booking_burst);
