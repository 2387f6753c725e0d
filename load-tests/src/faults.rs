//! `okienko-load faults …`: the clients of issue 11's measurements (`load-tests/faults.sh`):
//! a victim measured from one loopback address while another address attacks with stalled
//! bodies or WebSocket floods, and closed booking loops for the policy and crash runs. Plain
//! tokio tasks rather than goose: the attackers speak raw TCP from chosen source addresses.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{AVAILABILITY, CREATE};

#[derive(Subcommand)]
pub enum Faults {
    /// A closed loop of `{ services { key } }` from `--from`: prints its p50 and p99.
    Victim {
        #[arg(long, default_value = "127.0.0.4")]
        from: IpAddr,
        #[arg(long, default_value_t = 4)]
        conns: usize,
        #[arg(long, default_value_t = 10)]
        run_time: u64,
    },
    /// Keeps `--count` requests from `--from` whose body stalls half-way open for `--run-time`
    /// seconds (opening a new one whenever the server ends one).
    SlowBodies {
        #[arg(long, default_value = "127.0.0.2")]
        from: IpAddr,
        #[arg(long, default_value_t = 130)]
        count: usize,
        #[arg(long, default_value_t = 10)]
        run_time: u64,
    },
    /// `--attempts` display WebSocket upgrades from `--from`, `--concurrency` at a time; an
    /// upgraded socket stays open, sending nothing, until the server closes it.
    Websockets {
        #[arg(long, default_value = "127.0.0.3")]
        from: IpAddr,
        #[arg(long, default_value_t = 20_000)]
        attempts: usize,
        #[arg(long, default_value_t = 512)]
        concurrency: usize,
    },
    /// A closed loop of createBooking on `--service` of `--tenant` over the free slots of two
    /// weeks, each booking a new client; prints p50, p95, p99 and the answers' codes. With
    /// `--codes FILE`, the code of every booking acknowledged is appended to FILE at once.
    Book {
        #[arg(long)]
        service: String,
        #[arg(long, default_value_t = 8)]
        conns: usize,
        #[arg(long, default_value_t = 10)]
        run_time: u64,
        #[arg(long)]
        codes: Option<std::path::PathBuf>,
        /// Count booking numbers from here (distinct clients across runs).
        #[arg(long, default_value_t = 0)]
        first_client: u64,
        /// The consents the city asks for, comma-separated.
        #[arg(long, default_value = "rodo")]
        consents: String,
    },
}

pub async fn run(host: &str, tenant: &str, f: Faults) -> anyhow::Result<bool> {
    let target: SocketAddr = host
        .trim_start_matches("http://")
        .parse()
        .context("--host must be http://IP:PORT for the fault scenarios")?;
    match f {
        Faults::Victim {
            from,
            conns,
            run_time,
        } => victim(host, tenant, from, conns, run_time).await,
        Faults::SlowBodies {
            from,
            count,
            run_time,
        } => slow_bodies(target, tenant, from, count, run_time).await,
        Faults::Websockets {
            from,
            attempts,
            concurrency,
        } => websockets(target, tenant, from, attempts, concurrency).await,
        Faults::Book {
            service,
            conns,
            run_time,
            codes,
            first_client,
            consents,
        } => {
            let consents: Vec<&str> = consents.split(',').map(str::trim).collect();
            let plan = Plan {
                conns,
                run_time,
                codes,
                first_client,
                consents: json!(consents),
            };
            book(host, tenant, &service, plan).await
        }
    }
}

/// Counts one more `key`.
fn tally(counts: &Mutex<BTreeMap<String, u64>>, key: String) {
    *counts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn victim(
    host: &str,
    tenant: &str,
    from: IpAddr,
    conns: usize,
    run_time: u64,
) -> anyhow::Result<bool> {
    let http = reqwest::Client::builder()
        .local_address(from)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{host}/t/{tenant}/graphql");
    let until = Instant::now() + Duration::from_secs(run_time);
    let micros = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (http, url, micros, failed) =
                (http.clone(), url.clone(), micros.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let t = Instant::now();
                    let r = http
                        .post(&url)
                        .json(&json!({ "query": "{ services { key } }" }))
                        .send()
                        .await;
                    let ok = match r {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        let us = t.elapsed().as_micros() as u64;
                        micros.lock().unwrap_or_else(|e| e.into_inner()).push(us);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let mut m = std::mem::take(&mut *micros.lock().unwrap_or_else(|e| e.into_inner()));
    m.sort_unstable();
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "RESULT victim {} {:.0} {:.2} {:.2} failed={failed}",
        m.len(),
        m.len() as f64 / run_time as f64,
        percentile(&m, 0.5),
        percentile(&m, 0.99)
    );
    Ok(failed == 0)
}

async fn connect(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = match from {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    s.bind(SocketAddr::new(from, 0))?;
    s.connect(to).await
}

/// The status code of the first answer line, after reading until the head ends or the
/// connection closes.
async fn read_status(c: &mut TcpStream, limit: Duration) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            match c.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(limit, read).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1)?.parse().ok()
}

async fn slow_bodies(
    to: SocketAddr,
    tenant: &str,
    from: IpAddr,
    count: usize,
    run_time: u64,
) -> anyhow::Result<bool> {
    let until = Instant::now() + Duration::from_secs(run_time);
    let answers = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let head = format!(
        "POST /t/{tenant}/graphql HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"query\": \"{{ services"
    );
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (answers, head) = (answers.clone(), head.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let Ok(mut c) = connect(from, to).await else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    if c.write_all(head.as_bytes()).await.is_err() {
                        continue;
                    }
                    let left = until.saturating_duration_since(Instant::now());
                    let key = match read_status(&mut c, left).await {
                        Some(s) => format!("HTTP {s}"),
                        None if Instant::now() >= until => "held to the end".into(),
                        None => "closed".into(),
                    };
                    tally(&answers, key);
                    // Then a new one, after a pause: a stalled upload, not a connection flood.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    println!(
        "SLOW_BODIES {count} from {from}: {:?}",
        answers.lock().unwrap_or_else(|e| e.into_inner())
    );
    Ok(true)
}

async fn websockets(
    to: SocketAddr,
    tenant: &str,
    from: IpAddr,
    attempts: usize,
    concurrency: usize,
) -> anyhow::Result<bool> {
    let req = format!(
        "GET /t/{tenant}/display/ws HTTP/1.1\r\nHost: {to}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    );
    let next = Arc::new(AtomicU64::new(0));
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (req, next, outcomes) = (req.clone(), next.clone(), outcomes.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < attempts as u64 {
                    let key = match connect(from, to).await {
                        Err(_) => "connect failed".to_string(),
                        Ok(mut c) => {
                            if c.write_all(req.as_bytes()).await.is_err() {
                                "write failed".to_string()
                            } else {
                                match read_status(&mut c, Duration::from_secs(30)).await {
                                    Some(101) => {
                                        // Held, sending nothing, until the server closes it.
                                        let mut sink = [0u8; 256];
                                        let wait = async {
                                            while let Ok(n) = c.read(&mut sink).await {
                                                if n == 0 {
                                                    break;
                                                }
                                            }
                                        };
                                        let _ = tokio::time::timeout(Duration::from_secs(60), wait)
                                            .await;
                                        "upgraded, then closed by the server".to_string()
                                    }
                                    Some(s) => format!("HTTP {s}"),
                                    None => "closed without an answer".to_string(),
                                }
                            }
                        }
                    };
                    tally(&outcomes, key);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    println!(
        "WEBSOCKETS {attempts} attempts from {from} in {:.1} s: {:?}",
        started.elapsed().as_secs_f64(),
        outcomes.lock().unwrap_or_else(|e| e.into_inner())
    );
    Ok(true)
}

/// The free slots of `service` over two weeks from tomorrow (the server's clock).
async fn free_slots(
    http: &reqwest::Client,
    url: &str,
    service: &str,
) -> anyhow::Result<Vec<String>> {
    let from = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let to = from + chrono::Duration::days(14);
    let v: Value = http
        .post(url)
        .json(&json!({ "query": AVAILABILITY, "variables": { "s": service, "f": from.to_string(), "t": to.to_string() } }))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["data"]["availability"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["remaining"].as_i64().unwrap_or(0) > 0)
        .filter_map(|s| s["start"].as_str().map(str::to_string))
        .collect())
}

async fn service_id(http: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<String> {
    let v: Value = http
        .post(url)
        .json(&json!({ "query": "{ services { id key } }" }))
        .send()
        .await?
        .json()
        .await?;
    v["data"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["key"] == key)
        .and_then(|s| s["id"].as_str().map(str::to_string))
        .with_context(|| format!("no service {key}: {v}"))
}

/// How a booking loop runs.
struct Plan {
    conns: usize,
    run_time: u64,
    codes: Option<std::path::PathBuf>,
    first_client: u64,
    consents: Value,
}

async fn book(host: &str, tenant: &str, service_key: &str, plan: Plan) -> anyhow::Result<bool> {
    let Plan {
        conns,
        run_time,
        codes,
        first_client,
        consents,
    } = plan;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{host}/t/{tenant}/graphql");
    let service = service_id(&http, &url, service_key).await?;
    let slots = Arc::new(free_slots(&http, &url, &service).await?);
    anyhow::ensure!(!slots.is_empty(), "no free slots of {service_key}");
    let codes = match codes {
        Some(p) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ))),
        None => None,
    };
    let until = Instant::now() + Duration::from_secs(run_time);
    let n = Arc::new(AtomicU64::new(first_client));
    let micros = Arc::new(Mutex::new(Vec::new()));
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let consents = consents.clone();
            let (http, url, service, slots, codes, n, micros, outcomes) = (
                http.clone(),
                url.clone(),
                service.clone(),
                slots.clone(),
                codes.clone(),
                n.clone(),
                micros.clone(),
                outcomes.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < until {
                    let i = n.fetch_add(1, Ordering::Relaxed);
                    let start = &slots[i as usize % slots.len()];
                    let body = json!({ "query": CREATE, "variables": { "i": {
                        "serviceId": service, "start": start,
                        "client": { "name": format!("Klient {i}"), "email": format!("k{i}@example.pl"),
                                    "phone": format!("48601{:06}", i % 1_000_000) },
                        "acceptedTermsVersion": "1.0", "consents": consents } } });
                    let t = Instant::now();
                    let outcome = match http.post(&url).json(&body).send().await {
                        Err(_) => "TRANSPORT".to_string(),
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let v: Value = r.json().await.unwrap_or(Value::Null);
                            match v["errors"][0]["extensions"]["code"].as_str() {
                                Some(code) => code.to_string(),
                                None => {
                                    let b = &v["data"]["createBooking"]["booking"];
                                    if let (Some(code), Some(f)) = (b["code"].as_str(), &codes) {
                                        let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                                        let _ = writeln!(f, "{code}");
                                        let _ = f.flush();
                                    }
                                    match b["status"].as_str() {
                                        Some(s) => s.to_string(),
                                        None => format!("HTTP {status}"),
                                    }
                                }
                            }
                        }
                    };
                    micros
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(t.elapsed().as_micros() as u64);
                    tally(&outcomes, outcome);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let mut m = std::mem::take(&mut *micros.lock().unwrap_or_else(|e| e.into_inner()));
    m.sort_unstable();
    println!(
        "RESULT book {tenant} {} {:.0} {:.2} {:.2} {:.2} {:?}",
        m.len(),
        m.len() as f64 / run_time as f64,
        percentile(&m, 0.5),
        percentile(&m, 0.95),
        percentile(&m, 0.99),
        outcomes.lock().unwrap_or_else(|e| e.into_inner())
    );
    Ok(true)
}
