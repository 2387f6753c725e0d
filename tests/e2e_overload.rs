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
    let mut again = Err(0);
    for _ in 0..50 {
        match services_from(&s, [127, 0, 0, 4]).await {
            (200, _) => {
                again = Ok(());
                break;
            }
            (status, _) => again = Err(status),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(again, Ok(()));
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
