//! Graceful shutdown (issue 15): at the first SIGTERM or SIGINT readiness goes false, display
//! WebSockets close with 1012, new connections are taken only for a short drain, requests in
//! flight finish within `OKIENKO_SHUTDOWN_TIMEOUT_MS`, and a second signal ends at once.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const SLUG: &str = "gdynia";
const BODY: &str = r#"{"query":"{ __typename }"}"#;

/// A request in flight: its head sent with `Expect: 100-continue`, and the server's
/// `100 Continue` read, so the handler is waiting for the body the test has not sent yet.
async fn request_in_flight(s: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port_of(s))).await.unwrap();
    let head = format!(
        "POST /t/{SLUG}/graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        BODY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("100 Continue within 10 s")
            .unwrap();
        assert!(n > 0, "closed before 100 Continue");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    stream
}

async fn readyz(s: &Server) -> Option<u16> {
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    c.get(format!("{}/readyz", s.base))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Polls until `f` holds (at most 20 s).
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 20 s");
}

async fn display_socket(s: &Server) -> Result<Ws, u16> {
    let stream = TcpStream::connect(("127.0.0.1", port_of(s))).await.unwrap();
    display_socket_over(s, SLUG, stream).await
}

#[tokio::test]
async fn sigterm_readiness_first_sockets_1012_port_closes_in_flight_finishes_then_exit() {
    let mut s = Server::builder()
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", "1500")
        .env("OKIENKO_BODY_TIMEOUT_MS", "60000")
        .start()
        .await;
    let token = staff(&s, SLUG).await.display;
    let mut ws = display_socket(&s).await.unwrap();
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": { "token": token } }).to_string(),
    ))
    .await
    .unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack}");
    let mut in_flight = request_in_flight(&s).await;
    assert_eq!(readyz(&s).await, Some(200));

    s.signal("TERM");
    // 1. Readiness goes false while the port still takes connections.
    until("readyz 503", || async { readyz(&s).await == Some(503) }).await;
    // 2. The display is told to reconnect elsewhere; a new socket here is refused.
    assert_eq!(closed_with(&mut ws).await, Some(1012));
    assert_eq!(display_socket(&s).await.err(), Some(503));
    // 3. After the drain, no new connections: the port refuses them, while the process lives
    //    on for the request in flight.
    until("port closed", || async {
        TcpStream::connect(("127.0.0.1", port_of(&s)))
            .await
            .is_err()
    })
    .await;
    assert!(s.exited().is_none(), "exited with a request in flight");
    // 4. The request in flight finishes with its answer.
    in_flight.write_all(BODY.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut in_flight).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""__typename":"Query""#), "{answer}");
    // 5. Then the process exits, successfully.
    let status = s.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}\n{}", s.log());
    let log = s.log();
    let order = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{log}"))
    };
    assert!(order("shutting down") < order("no new connections taken"));
    assert!(order("no new connections taken") < order("okienko stopped"));
}

#[tokio::test]
async fn requests_in_flight_are_cut_at_the_shutdown_timeout() {
    let mut s = Server::builder()
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", "0")
        .env("OKIENKO_SHUTDOWN_TIMEOUT_MS", "300")
        .env("OKIENKO_BODY_TIMEOUT_MS", "60000")
        .start()
        .await;
    let mut in_flight = request_in_flight(&s).await;
    let signalled = Instant::now();
    s.signal("TERM");
    // The body never comes: the process exits anyway, well before the body timeout.
    let status = s.wait_exit(Duration::from_secs(20)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "{status}\n{}", s.log());
    assert!(took < Duration::from_secs(20), "{took:?}");
    let answer = read_until_closed(&mut in_flight).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(
        s.log()
            .contains("requests still in flight at the shutdown timeout are cut"),
        "{}",
        s.log()
    );
}

#[tokio::test]
async fn a_second_signal_ends_at_once() {
    // Drain and timeout of a minute each: a graceful stop would take that long.
    let mut s = Server::builder()
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", "60000")
        .env("OKIENKO_SHUTDOWN_TIMEOUT_MS", "60000")
        .env("OKIENKO_BODY_TIMEOUT_MS", "60000")
        .start()
        .await;
    let _in_flight = request_in_flight(&s).await;
    s.signal("INT");
    until("readyz 503", || async { readyz(&s).await == Some(503) }).await;
    assert!(s.exited().is_none());
    s.signal("TERM");
    let status = s.wait_exit(Duration::from_secs(20)).await;
    assert!(!status.success(), "{status}");
    assert!(
        s.log().contains("second signal: exiting at once"),
        "{}",
        s.log()
    );
}

/// Issue 15's measure: SIGTERM to exit while 16 clients ask `{ __typename }` in a loop. Every
/// answer that arrives is 200 (requests are finished or never taken, never cut); the figure is
/// printed (`cargo test --test e2e_shutdown -- --nocapture sigterm_under_load`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_exits_within_the_bound() {
    let drain_ms: u64 = 500;
    let mut s = Server::builder()
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", &drain_ms.to_string())
        .start()
        .await;
    let url = format!("{}/t/{SLUG}/graphql", s.base);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (url, stop, answered) = (url.clone(), stop.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let (mut ok, mut refused, mut other) = (0u32, 0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match c
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(BODY)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        ok += 1;
                        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(r) => other.push(r.status().as_u16()),
                    Err(_) => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            (ok, refused, other)
        }));
    }
    // The load is on once every client has been answered a few times.
    until("load", || async {
        answered.load(std::sync::atomic::Ordering::Relaxed) >= 16 * 20
    })
    .await;
    let signalled = Instant::now();
    s.signal("TERM");
    let status = s.wait_exit(Duration::from_secs(30)).await;
    let took = signalled.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut refused) = (0, 0);
    for c in clients {
        let (o, r, other) = c.await.unwrap();
        assert!(other.is_empty(), "answers other than 200: {other:?}");
        ok += o;
        refused += r;
    }
    assert!(status.success(), "{status}");
    assert!(ok > 0);
    eprintln!(
        "graceful shutdown under 16 clients: SIGTERM to exit {} ms (drain {drain_ms} ms); {ok} answered 200, {refused} not taken",
        took.as_millis()
    );
    // Drain, then the requests in flight (milliseconds each): far below drain + the timeout.
    assert!(took >= Duration::from_millis(drain_ms), "{took:?}");
    assert!(took < Duration::from_millis(drain_ms + 10_000), "{took:?}");
}
