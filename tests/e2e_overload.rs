//! Slow and greedy clients against the binary (issue 11): bodies that stall hold no turn of
//! the requests in flight, one address's connections are bounded, answers after which the
//! server closes say `Connection: close`, and `/readyz` reports saturation it cannot serve
//! through. Clients of different addresses are loopback addresses 127.0.0.x.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

const SLUG: &str = "gdynia";

/// Sends headers announcing a 200-byte body and half of it, then nothing.
async fn stall(s: &Server, from: [u8; 4]) -> tokio::net::TcpStream {
    let mut c = connect_from(s, from).await;
    let head = format!(
        "POST /t/{SLUG}/graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"query\": \"{{ services {{"
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c
}

async fn services_from(s: &Server, from: [u8; 4]) -> (u16, Value) {
    let r = client_from(from)
        .post(format!("{}/t/{SLUG}/graphql", s.base))
        .json(&json!({ "query": "{ services { key } }" }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// With more stalled bodies from one address than there are turns in flight, another address
/// is answered and the server stays ready; the stalled ones end with 408 `BODY_TIMEOUT` and
/// the connection closed.
#[tokio::test]
async fn stalled_bodies_from_one_address_do_not_starve_another() {
    let s = Server::with_env(&[
        ("OKIENKO_MAX_IN_FLIGHT", "8"),
        ("OKIENKO_BODY_TIMEOUT_MS", "3000"),
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        stalled.push(stall(&s, [127, 0, 0, 2]).await);
    }
    // The stalled bodies are being read (their requests were routed) when the victim comes.
    let (status, v) = services_from(&s, [127, 0, 0, 3]).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["data"]["services"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{v}"
    );
    let (status, text) = s.get("/readyz").await;
    assert_eq!(status, 200, "{text}");
    for mut c in stalled {
        let answer = read_until_closed(&mut c).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.to_lowercase().contains("connection: close"),
            "{answer}"
        );
        assert!(answer.contains("BODY_TIMEOUT"), "{answer}");
    }
}

/// One address holds at most its bound of connections; the next is refused with 503
/// `TOO_MANY_CONNECTIONS`, `Retry-After` and `Connection: close`; another address is served.
#[tokio::test]
async fn connections_of_one_address_are_bounded() {
    let s = Server::with_env(&[
        ("OKIENKO_MAX_CONNECTIONS_PER_CLIENT", "4"),
        ("OKIENKO_HEADER_TIMEOUT_MS", "60000"),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect_from(&s, [127, 0, 0, 4]).await);
    }
    let mut fifth = connect_from(&s, [127, 0, 0, 4]).await;
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut fifth).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_lowercase();
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(lower.contains("retry-after: 5"), "{answer}");
    assert!(answer.contains("TOO_MANY_CONNECTIONS"), "{answer}");
    assert!(answer.contains("Zbyt wiele otwartych połączeń"), "{answer}");

    let (status, v) = services_from(&s, [127, 0, 0, 5]).await;
    assert_eq!(status, 200, "{v}");
    // A connection given up makes room for the next.
    drop(idle.pop());
    // The refusal opened the address's penalty window: until it ends, its connections are
    // answered 503 or closed unanswered, whatever room there is.
    let mut again = Err(None);
    for _ in 0..50 {
        let r = client_from([127, 0, 0, 4])
            .post(format!("{}/t/{SLUG}/graphql", s.base))
            .json(&json!({ "query": "{ services { key } }" }))
            .send()
            .await;
        match r.map(|r| r.status().as_u16()) {
            Ok(200) => {
                again = Ok(());
                break;
            }
            Ok(status) => again = Err(Some(status)),
            Err(_) => again = Err(None),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(again, Ok(()));
}

/// A `GET /healthz` on a new connection from `from`, sent at once; `None` when the connection
/// was reset before it was established on this side (refused unanswered).
async fn send_healthz(s: &Server, from: [u8; 4]) -> Option<tokio::net::TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port_of(s)));
    let mut c = sock.connect(to).await.ok()?;
    // Refused unanswered, the connection may be reset before or while this is written.
    let _ = c
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await;
    Some(c)
}

/// What was answered on `c`, as text; empty when the server closed it without an answer.
async fn answer_on(c: Option<tokio::net::TcpStream>) -> String {
    match c {
        Some(mut c) => read_until_closed(&mut c).await,
        None => String::new(),
    }
}

/// The sample `name{labels}` of an OpenMetrics text; 0 when there is none.
fn sample(text: &str, name_and_labels: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0)
}

/// One address opening connections faster than its accept rate is refused before HTTP: past
/// its burst, the first refusals are answered 503 `TOO_MANY_CONNECTIONS` (with the Polish
/// message), the others closed without a byte; each refusal is counted; another address is
/// answered 200 throughout.
#[tokio::test]
async fn an_address_opening_connections_too_fast_is_refused_before_http() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let s = Server::with_env(&[
        ("OKIENKO_ACCEPT_RATE_PER_CLIENT", "1"),
        ("OKIENKO_ACCEPT_BURST_PER_CLIENT", "8"),
        ("OKIENKO_METRICS_LISTEN", &metrics),
    ])
    .await;
    let (flood, victim) = ([127, 0, 0, 7], [127, 0, 0, 8]);
    // Each judged at its accept, in the order opened; the answers are read at the end.
    let mut opened = Vec::new();
    for i in 0..40 {
        opened.push(send_healthz(&s, flood).await);
        if i % 10 == 9 {
            let (status, v) = services_from(&s, victim).await;
            assert_eq!(
                status,
                200,
                "the other address, after {} connections: {v}",
                i + 1
            );
        }
    }
    let answers = futures_util::future::join_all(opened.into_iter().map(answer_on)).await;
    let (served, answered, closed) = (
        answers
            .iter()
            .filter(|a| a.starts_with("HTTP/1.1 200"))
            .count(),
        answers
            .iter()
            .filter(|a| a.starts_with("HTTP/1.1 503"))
            .count(),
        answers.iter().filter(|a| a.is_empty()).count(),
    );
    assert_eq!(served + answered + closed, 40, "{answers:#?}");
    // The burst is served, the next connection is the first refusal of a window: answered.
    assert!(
        answers[..8].iter().all(|a| a.starts_with("HTTP/1.1 200")),
        "{answers:#?}"
    );
    let first = &answers[8];
    assert!(first.starts_with("HTTP/1.1 503"), "{answers:#?}");
    assert!(first.contains("TOO_MANY_CONNECTIONS"), "{first}");
    assert!(first.contains("Zbyt wiele otwartych połączeń"), "{first}");
    let lower = first.to_lowercase();
    assert!(lower.contains("retry-after: 5"), "{first}");
    assert!(lower.contains("connection: close"), "{first}");
    assert!(closed > 0, "none closed unanswered: {answers:#?}");

    let (status, v) = services_from(&s, victim).await;
    assert_eq!(status, 200, "{v}");
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = |outcome: &str| {
        sample(
            &text,
            &format!("okienko_connections_refused_total{{reason=\"rate\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(
        (refused("answered"), refused("closed")),
        (answered as u64, closed as u64),
        "{text}"
    );
}

/// A body over the limit is answered 413 with `Connection: close`, and the connection ends.
#[tokio::test]
async fn a_413_says_the_connection_closes() {
    let s = Server::start().await;
    let mut c = connect_from(&s, [127, 0, 0, 6]).await;
    let head = format!(
        "POST /t/{SLUG}/graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 300000\r\n\r\n"
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&[b' '; 4096]).await.unwrap();
    let answer = read_until_closed(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
}

/// Bookings stuck behind a held database lock fill the turns in flight; once one has waited
/// past `OKIENKO_READY_MAX_WAIT_MS`, `/readyz` says not ready, and ready again after.
#[tokio::test]
async fn readyz_reports_saturation_it_cannot_serve_through() {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    let s = Server::with_env(&[
        ("OKIENKO_MAX_IN_FLIGHT", "2"),
        ("OKIENKO_READY_MAX_WAIT_MS", "1"),
    ])
    .await;
    let slug = "dabrowa-gornicza";
    let service = s.service_id(slug, "rejestracja-dzialalnosci").await;
    let (start, _) = s.first_free_slot(slug, &service, "2026-12-02").await;
    let (status, _) = s.get("/readyz").await;
    assert_eq!(status, 200);

    let path = format!("{}/okienko.db", s.data.display());
    let mut lock = okienko_store::SqliteConnection::establish(&path)
        .await
        .unwrap();
    lock.batch_execute("BEGIN IMMEDIATE").await.unwrap();
    let url = format!("{}/t/{slug}/graphql", s.base);
    let stuck: Vec<_> = (0..4)
        .map(|i| {
            let (url, body) = (url.clone(), dabrowa_booking(&service, &start, i));
            tokio::spawn(async move {
                client_from([127, 0, 0, 10 + i as u8])
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut saw = None;
    for _ in 0..100 {
        let (status, text) = s.get("/readyz").await;
        if status == 503 {
            saw = Some(text);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = saw.expect("/readyz never reported the saturation");
    assert!(text.contains("saturated"), "{text}");
    lock.batch_execute("ROLLBACK").await.unwrap();
    for t in stuck {
        // Booked, or cut off by the request timeout: either way answered.
        let status = t.await.unwrap().unwrap();
        assert!(status == 200 || status == 503, "{status}");
    }
    let (status, text) = s.get("/readyz").await;
    assert_eq!(status, 200, "{text}");
}
