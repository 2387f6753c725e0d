//! `okienko-load`: the load scenarios of issue 6 (SPEC P-7), run with goose against a running
//! `okienko` server (the release binary; see `load-tests/bench.sh` and `load-tests/README.md`).
//!
//! Scenarios:
//! - `browse`: a browsing mix: availability of one day, a week or two weeks of a random
//!   service, now and then the list of services;
//! - `burst`: a release: N virtual clients (5,000 by default) race for the 200 seats of one day;
//! - `steady`: steady booking: read a day, pick a free slot, book it, think, again;
//! - `abuse`: polite clients alone, then the same beside one abusive client sending 1,000
//!   requests a second from one address;
//! - `throughput`: closed-loop runs of one request kind (`typename`, `availability`, `book`, and the citizens' `day-page`) for
//!   the benchmark script.
//!
//! Each virtual client sends `X-Forwarded-For: 10.x.y.z`, so the server's per-address limits see
//! distinct citizens: start the server with `OKIENKO_TRUSTED_PROXIES=127.0.0.1`. Latencies are
//! measured here in microseconds around each request (goose's own report rounds to
//! milliseconds); the exit status is non-zero when a scenario's invariant does not hold.

mod faults;
mod site;
mod stats;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

use site::{day_page, start as day_page_start};
use stats::{Answer, Report};

#[derive(Parser)]
#[command(about = "Load scenarios against a running okienko server")]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    host: String,
    /// The tenant loaded from load-tests/tenants.
    #[arg(long, default_value = "miasto-testowe", global = true)]
    tenant: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// (a) A browsing mix of availability queries.
    Browse {
        #[arg(long, default_value_t = 32)]
        users: usize,
        #[arg(long, default_value_t = 30)]
        run_time: usize,
        /// Mean think time between a user's requests.
        #[arg(long, default_value_t = 200)]
        think_ms: u64,
    },
    /// (b) A release burst: every client tries to book a seat of one day holding 200.
    Burst {
        #[arg(long, default_value_t = 5_000)]
        clients: usize,
        /// Clients started per second (5,000: all of them within the first second).
        #[arg(long, default_value_t = 5_000)]
        rate: usize,
        /// The seats the release day must hold before the burst.
        #[arg(long, default_value_t = 200)]
        seats: i64,
    },
    /// (c) Steady booking: read a day, book a free slot, think.
    Steady {
        #[arg(long, default_value_t = 16)]
        users: usize,
        #[arg(long, default_value_t = 60)]
        run_time: usize,
        #[arg(long, default_value_t = 1_000)]
        think_ms: u64,
    },
    /// (d) Polite clients alone, then beside one client sending `--abuser-rate` requests a second.
    Abuse {
        #[arg(long, default_value_t = 16)]
        polite: usize,
        #[arg(long, default_value_t = 20)]
        run_time: usize,
        #[arg(long, default_value_t = 1_000)]
        abuser_rate: u64,
        /// Mean think time of a polite client.
        #[arg(long, default_value_t = 500)]
        think_ms: u64,
    },
    /// Issue 11's clients: attackers from one address, a victim from another, booking loops.
    Faults {
        #[command(subcommand)]
        what: faults::Faults,
    },
    /// A closed loop of one request kind, for the benchmark script.
    Throughput {
        what: What,
        #[arg(long, default_value_t = 64)]
        users: usize,
        #[arg(long, default_value_t = 20)]
        run_time: usize,
        /// Seconds at the start whose requests are not counted (connections, cache filling).
        #[arg(long, default_value_t = 3)]
        warmup: u64,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum What {
    /// `{ __typename }`: the cost of the HTTP and GraphQL layers alone.
    Typename,
    /// A week of a random service from a random bookable day (cached after the first).
    Availability,
    /// createBooking into slots with free seats, spread over services and days.
    Book,
    /// The citizens' day page of a random service, each user with its own draft (`site`).
    DayPage,
}

pub const AVAILABILITY: &str = "query($s: ID!, $f: NaiveDate!, $t: NaiveDate!) \
    { availability(serviceId: $s, from: $f, to: $t) { date slots { start remaining } } }";
const SERVICES: &str = "{ services { id key name office { name } } }";
const CREATE: &str = "mutation($i: CreateBookingInput!) \
    { createBooking(input: $i) { booking { code status start } } }";

/// What the scenarios share, prepared before the attack from the server's own answers.
struct Ctx {
    path: String,
    /// The four services of the "ratusz" office.
    services: Vec<String>,
    /// Their bookable days.
    days: Vec<NaiveDate>,
    /// Slots with free seats (service, start), for `throughput book`.
    slots: Vec<(String, String)>,
    /// The release: the "filia" service, its day and that day's slot starts.
    burst: Option<(String, NaiveDate, Vec<String>)>,
    next_slot: AtomicUsize,
    seq: AtomicU64,
    abuser_period: Duration,
}

static CTX: OnceLock<Ctx> = OnceLock::new();

fn ctx() -> &'static Ctx {
    CTX.get()
        .expect("the context is set before the attack starts")
}

/// `10.<net>.x.y` for client number `n` of a network: distinct clients, distinct addresses.
fn address(net: u8, n: u64) -> String {
    format!("10.{net}.{}.{}", (n >> 8) & 255, n & 255)
}

/// A random address among 65,536: anonymous browsing citizens.
fn random_address(net: u8) -> String {
    address(net, rand::thread_rng().gen_range(0..65_536))
}

/// One GraphQL request through goose, timed and tallied.
/// `keep`: the caller reads the answer's data; otherwise a successful body is not parsed (the
/// load client shares the machine's cores with the server).
async fn gql(
    user: &mut GooseUser,
    keep: bool,
    name: &'static str,
    from: &str,
    query: &str,
    variables: Value,
) -> Result<Answer, Box<TransactionError>> {
    let body = json!({ "query": query, "variables": variables });
    let builder = user
        .get_request_builder(&GooseMethod::Post, &ctx().path)?
        .header("x-forwarded-for", from)
        .json(&body);
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name(name)
        .build();
    send(user, name, request, |status, bytes| {
        Answer::from_bytes(status, bytes, keep)
    })
    .await
}

/// Sends one request through goose, reads its answer with `read` (status, body), times and
/// tallies it; a broken connection is the answer `TRANSPORT`.
async fn send(
    user: &mut GooseUser,
    name: &'static str,
    request: GooseRequest<'_>,
    read: impl FnOnce(u16, &[u8]) -> Answer,
) -> Result<Answer, Box<TransactionError>> {
    let started = Instant::now();
    let goose = user.request(request).await?;
    let answer = match goose.response {
        Ok(r) => {
            let status = r.status().as_u16();
            let bytes = r.bytes().await.unwrap_or_default();
            read(status, &bytes)
        }
        Err(_) => Answer::new(0, Value::Null, None),
    };
    stats::record(name, started.elapsed(), &answer);
    Ok(answer)
}

fn booking_input(service: &str, start: &str, n: u64) -> Value {
    json!({ "i": {
        "serviceId": service,
        "start": start,
        "client": { "name": format!("Klient Testowy {n}"), "email": format!("klient{n}@example.pl") },
        "acceptedTermsVersion": "1.0",
        "consents": ["rodo"],
    } })
}

/// The slots of an availability answer with at least one seat left.
fn free_slots(answer: &Answer) -> Vec<String> {
    answer.body["data"]["availability"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["remaining"].as_i64().unwrap_or(0) > 0)
        .filter_map(|s| s["start"].as_str().map(String::from))
        .collect()
}

/// An availability read of a random service of the ratusz, `len` days from a random bookable
/// day: (service, the query's variables).
fn random_range(len: i64) -> (String, Value) {
    let c = ctx();
    let mut rng = rand::thread_rng();
    let s = c.services.choose(&mut rng).cloned().unwrap_or_default();
    let d = c.days.choose(&mut rng).copied().unwrap_or_default();
    let t = d + chrono::Duration::days(len - 1);
    let vars = json!({ "s": s, "f": d.to_string(), "t": t.to_string() });
    (s, vars)
}

async fn browse(user: &mut GooseUser) -> TransactionResult {
    let from = random_address(1);
    let services_only = rand::thread_rng().gen_ratio(1, 5);
    if services_only {
        gql(user, false, "services", &from, SERVICES, json!({})).await?;
    } else {
        let len = *[1i64, 7, 14].choose(&mut rand::thread_rng()).unwrap_or(&1);
        let (_, vars) = random_range(len);
        gql(user, false, "availability", &from, AVAILABILITY, vars).await?;
    }
    Ok(())
}

async fn typename(user: &mut GooseUser) -> TransactionResult {
    let from = random_address(1);
    gql(user, false, "typename", &from, "{ __typename }", json!({})).await?;
    Ok(())
}

async fn week(user: &mut GooseUser) -> TransactionResult {
    let (_, vars) = random_range(7);
    let from = random_address(1);
    gql(user, false, "availability", &from, AVAILABILITY, vars).await?;
    Ok(())
}

/// createBooking round-robin over every slot that had seats, so concurrent bookings spread.
async fn book(user: &mut GooseUser) -> TransactionResult {
    let c = ctx();
    if c.slots.is_empty() {
        return Ok(());
    }
    let i = c.next_slot.fetch_add(1, Ordering::Relaxed) % c.slots.len();
    let (service, start) = &c.slots[i];
    let n = c.seq.fetch_add(1, Ordering::Relaxed);
    let from = random_address(4);
    gql(
        user,
        false,
        "createBooking",
        &from,
        CREATE,
        booking_input(service, start, n),
    )
    .await?;
    Ok(())
}

/// A citizen: reads one day of a service, books a free slot of it.
async fn steady(user: &mut GooseUser) -> TransactionResult {
    let c = ctx();
    let (service, vars) = random_range(1);
    let from = random_address(5);
    let a = gql(user, true, "availability", &from, AVAILABILITY, vars).await?;
    let start = free_slots(&a).choose(&mut rand::thread_rng()).cloned();
    if let Some(start) = start {
        let n = c.seq.fetch_add(1, Ordering::Relaxed);
        let input = booking_input(&service, &start, n);
        gql(user, false, "createBooking", &from, CREATE, input).await?;
    }
    Ok(())
}

/// One client of the release: reads the day, books a free slot; on SLOT_FULL reads again and
/// tries another, at most three times. A client who sees no free seat still tries one slot
/// (a page opened before the release), so every client gets a createBooking answer.
async fn burst(user: &mut GooseUser) -> TransactionResult {
    let c = ctx();
    let Some((service, day, starts)) = &c.burst else {
        return Ok(());
    };
    let from = address(3, user.weighted_users_index as u64);
    let n = c.seq.fetch_add(1, Ordering::Relaxed);
    let mut last = String::new();
    for _ in 0..3 {
        let vars = json!({ "s": service, "f": day.to_string(), "t": day.to_string() });
        let a = gql(user, true, "availability", &from, AVAILABILITY, vars).await?;
        let free = free_slots(&a);
        let start = {
            let mut rng = rand::thread_rng();
            free.choose(&mut rng)
                .or_else(|| starts.choose(&mut rng))
                .cloned()
                .unwrap_or_default()
        };
        let input = booking_input(service, &start, n);
        let b = gql(user, false, "createBooking", &from, CREATE, input).await?;
        last = b.outcome.clone();
        if b.outcome != "SLOT_FULL" || free.is_empty() {
            break;
        }
    }
    stats::record_final(&last);
    Ok(())
}

/// The abusive client: one address, paced to `abuser_rate` requests a second over its users.
async fn abuser(user: &mut GooseUser) -> TransactionResult {
    let c = ctx();
    let now = tokio::time::Instant::now();
    let next = match user.get_session_data::<tokio::time::Instant>() {
        Some(n) if *n + c.abuser_period >= now => *n + c.abuser_period,
        _ => now,
    };
    user.set_session_data(next);
    tokio::time::sleep_until(next).await;
    let (_, vars) = random_range(1);
    gql(user, false, "abuser", "10.66.6.6", AVAILABILITY, vars).await?;
    Ok(())
}

async fn polite(user: &mut GooseUser) -> TransactionResult {
    let (_, vars) = random_range(7);
    let from = address(2, user.weighted_users_index as u64);
    gql(user, false, "polite", &from, AVAILABILITY, vars).await?;
    Ok(())
}

fn think(ms: u64) -> (Duration, Duration) {
    (
        Duration::from_millis(ms / 2),
        Duration::from_millis(ms * 3 / 2),
    )
}

/// Runs one goose attack with the given scenarios and users.
async fn attack(
    host: &str,
    scenarios: Vec<Scenario>,
    users: usize,
    hatch_rate: usize,
    run_time: Option<usize>,
    iterations: Option<usize>,
) -> anyhow::Result<()> {
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?;
    for s in scenarios {
        attack = attack.register_scenario(s);
    }
    let mut attack = *attack.set_default(GooseDefault::Host, host)?;
    attack = *attack.set_default(GooseDefault::Users, users)?;
    attack = *attack.set_default(GooseDefault::IncreaseRate, hatch_rate.to_string().as_str())?;
    if let Some(t) = run_time {
        attack = *attack.set_default(GooseDefault::RunTime, t)?;
    }
    match iterations {
        Some(i) => attack = *attack.set_default(GooseDefault::Iterations, i)?,
        // (with iterations, metrics are never reset anyway)
        None => attack = *attack.set_default(GooseDefault::NoResetMetrics, true)?,
    }
    attack = *attack.set_default(GooseDefault::NoTelnet, true)?;
    attack = *attack.set_default(GooseDefault::Quiet, 1)?;
    attack = *attack.set_default(GooseDefault::NoPrintMetrics, true)?;
    attack = *attack.set_default(GooseDefault::NoErrorSummary, true)?;
    attack
        .execute()
        .await
        .map_err(|e| anyhow::anyhow!("goose: {e:?}"))?;
    Ok(())
}

/// A setup request outside goose.
async fn setup_gql(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    vars: Value,
) -> anyhow::Result<Value> {
    let r = http
        .post(url)
        .header("x-forwarded-for", "10.255.0.1")
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}: is the server running?"))?;
    let status = r.status();
    let v: Value = r.json().await.context("the server's answer is not JSON")?;
    if !status.is_success() || v.get("errors").is_some() {
        bail!("{url} answered {status}: {v}");
    }
    Ok(v)
}

/// Reads the tenant's services and free slots to build the shared context.
async fn prepare(cli: &Cli, burst_seats: Option<i64>) -> anyhow::Result<Ctx> {
    let http = reqwest::Client::new();
    let path = format!("/t/{}/graphql", cli.tenant);
    let url = format!("{}{path}", cli.host.trim_end_matches('/'));
    let v = setup_gql(&http, &url, SERVICES, json!({})).await?;
    let all: Vec<(String, String)> = v["data"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_string(),
                s["office"]["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let services: Vec<String> = all
        .iter()
        .filter(|(_, office)| office == "Ratusz")
        .map(|(id, _)| id.clone())
        .collect();
    let release = all.iter().find(|(_, office)| office == "Filia");
    if services.is_empty() || release.is_none() {
        bail!(
            "tenant {} lacks the ratusz/filia services of load-tests/tenants/miasto-testowe",
            cli.tenant
        );
    }
    let today = chrono::Utc::now().date_naive();
    let to = today + chrono::Duration::days(61);
    let mut days = std::collections::BTreeSet::new();
    let mut slots = Vec::new();
    let mut per_service = Vec::new();
    for s in &services {
        let vars = json!({ "s": s, "f": today.to_string(), "t": to.to_string() });
        let v = setup_gql(&http, &url, AVAILABILITY, vars).await?;
        let mut mine = Vec::new();
        for d in v["data"]["availability"].as_array().into_iter().flatten() {
            let day: NaiveDate = d["date"].as_str().unwrap_or_default().parse()?;
            for slot in d["slots"].as_array().into_iter().flatten() {
                days.insert(day);
                if slot["remaining"].as_i64().unwrap_or(0) > 0 {
                    mine.push((s.clone(), slot["start"].as_str().unwrap_or_default().into()));
                }
            }
        }
        per_service.push(mine);
    }
    // Interleave the services so that consecutive bookings go to different rows.
    let longest = per_service.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for list in &per_service {
            if let Some(x) = list.get(i) {
                slots.push(x.clone());
            }
        }
    }
    let mut burst = None;
    if let (Some(seats), Some((release, _))) = (burst_seats, release) {
        let vars = json!({ "s": release, "f": today.to_string(), "t": to.to_string() });
        let v = setup_gql(&http, &url, AVAILABILITY, vars).await?;
        for d in v["data"]["availability"].as_array().into_iter().flatten() {
            let list = d["slots"].as_array().cloned().unwrap_or_default();
            let free: i64 = list.iter().filter_map(|s| s["remaining"].as_i64()).sum();
            if free == seats {
                let day: NaiveDate = d["date"].as_str().unwrap_or_default().parse()?;
                let starts = list
                    .iter()
                    .filter_map(|s| s["start"].as_str().map(String::from))
                    .collect();
                burst = Some((release.clone(), day, starts));
                break;
            }
        }
        if burst.is_none() {
            bail!("no day of the release service has all its {seats} seats free");
        }
    }
    Ok(Ctx {
        path,
        services,
        days: days.into_iter().collect(),
        slots,
        burst,
        next_slot: AtomicUsize::new(0),
        seq: AtomicU64::new(rand::thread_rng().gen_range(0..1_000_000_000)),
        abuser_period: Duration::from_secs(1),
    })
}

fn scenario(name: &str, tx: Transaction, think_ms: Option<u64>) -> anyhow::Result<Scenario> {
    let s = Scenario::new(name).register_transaction(tx);
    Ok(match think_ms {
        Some(ms) => {
            let (min, max) = think(ms);
            s.set_wait_time(min, max)?
        }
        None => s,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let host = cli.host.trim_end_matches('/').to_string();
    if let Cmd::Faults { what } = cli.cmd {
        let ok = faults::run(&host, &cli.tenant, what).await?;
        std::process::exit(if ok { 0 } else { 1 });
    }
    let burst_seats = match &cli.cmd {
        Cmd::Burst { seats, .. } => Some(*seats),
        _ => None,
    };
    let mut c = prepare(&cli, burst_seats).await?;
    let abuser_users = 8;
    if let Cmd::Abuse { abuser_rate, .. } = &cli.cmd {
        let per_user = (*abuser_rate).max(1) / abuser_users as u64;
        c.abuser_period = Duration::from_micros(1_000_000 / per_user.max(1));
    }
    let (burst_service, burst_day) = match &c.burst {
        Some((s, d, _)) => (Some(s.clone()), Some(*d)),
        None => (None, None),
    };
    let _ = CTX.set(c);

    let ok = match cli.cmd {
        Cmd::Browse {
            users,
            run_time,
            think_ms,
        } => {
            let s = scenario("browse", transaction!(browse), Some(think_ms))?;
            attack(&host, vec![s], users, users, Some(run_time), None).await?;
            let r = Report::take();
            r.print("browse");
            r.server_errors() == 0
        }
        Cmd::Burst { clients, rate, .. } => {
            let s = scenario("burst", transaction!(burst), None)?;
            attack(&host, vec![s], clients, rate, None, Some(1)).await?;
            let r = Report::take();
            r.print("burst");
            let (service, day) = (burst_service.unwrap_or_default(), burst_day);
            let day = day.map(|d| d.to_string()).unwrap_or_default();
            let http = reqwest::Client::new();
            let url = format!("{host}{}", ctx().path);
            let vars = json!({ "s": service, "f": day, "t": day });
            let v = setup_gql(&http, &url, AVAILABILITY, vars).await?;
            let left: i64 = v["data"]["availability"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
                .filter_map(|s| s["remaining"].as_i64())
                .sum();
            r.check_burst(clients, burst_seats.unwrap_or(0), left)
        }
        Cmd::Steady {
            users,
            run_time,
            think_ms,
        } => {
            let s = scenario("steady", transaction!(steady), Some(think_ms))?;
            attack(&host, vec![s], users, users, Some(run_time), None).await?;
            let r = Report::take();
            r.print("steady");
            r.server_errors() == 0
        }
        Cmd::Abuse {
            polite: users,
            run_time,
            abuser_rate,
            think_ms,
        } => {
            let p = scenario("polite", transaction!(polite), Some(think_ms))?;
            attack(&host, vec![p], users, users, Some(run_time), None).await?;
            let alone = Report::take();
            alone.print("polite clients alone");
            let p = scenario("polite", transaction!(polite), Some(think_ms))?.set_weight(users)?;
            let a = scenario("abuser", transaction!(abuser), None)?.set_weight(abuser_users)?;
            let total = users + abuser_users;
            attack(&host, vec![p, a], total, total, Some(run_time), None).await?;
            let beside = Report::take();
            beside.print(&format!(
                "polite clients beside one client at {abuser_rate} requests/s"
            ));
            stats::compare_abuse(&alone, &beside)
        }
        // Dispatched above, before the set-up these scenarios need.
        Cmd::Faults { .. } => true,
        Cmd::Throughput {
            what,
            users,
            run_time,
            warmup,
        } => {
            let (name, tx) = match what {
                What::Typename => ("typename", transaction!(typename)),
                What::Availability => ("availability", transaction!(week)),
                What::Book => ("createBooking", transaction!(book)),
                What::DayPage => ("day-page", transaction!(day_page)),
            };
            stats::count_after(Duration::from_secs(warmup));
            let mut s = scenario(name, tx, None)?;
            if what == What::DayPage {
                s = s.register_transaction(transaction!(day_page_start).set_on_start());
            }
            attack(&host, vec![s], users, users.max(1), Some(run_time), None).await?;
            let r = Report::take();
            r.print(name);
            r.print_machine(name);
            r.server_errors() == 0
        }
    };
    if !ok {
        bail!("the scenario's invariant did not hold (see above)");
    }
    Ok(())
}
