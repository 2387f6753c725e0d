//! The call displays' WebSockets are bounded (issue 11): a socket that does not authenticate
//! in time is closed with 4408, sockets are capped per address, per display device and in
//! all, and an idle socket is pinged and closed when it no longer answers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const SLUG: &str = "gdynia";

/// Opens the display socket from loopback address `from`; the HTTP status when refused.
async fn open(s: &Server, from: [u8; 4]) -> Result<Ws, u16> {
    display_socket_over(s, SLUG, connect_from(s, from).await).await
}

/// A display device of the tenant's first office: its token.
async fn display_token(s: &Server) -> String {
    staff(s, SLUG).await.display
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next text message as JSON (pings are answered by the client library while reading).
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(15), ws.next())
            .await
            .unwrap()?
        {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn init(ws: &mut Ws, token: &str) -> Option<Value> {
    send(
        ws,
        json!({ "type": "connection_init", "payload": { "token": token } }),
    )
    .await;
    next_json(ws).await
}

/// A socket from `from` initialised with the display `token`, acknowledged.
async fn acknowledged(s: &Server, from: [u8; 4], token: &str) -> Ws {
    let mut ws = open(s, from).await.unwrap();
    assert_eq!(
        init(&mut ws, token).await.unwrap()["type"],
        "connection_ack"
    );
    ws
}

#[tokio::test]
async fn a_socket_that_never_initialises_is_closed_with_4408() {
    let s = Server::with_env(&[("OKIENKO_WS_INIT_TIMEOUT_MS", "300")]).await;
    let mut ws = open(&s, [127, 0, 0, 2]).await.unwrap();
    assert_eq!(closed_with(&mut ws).await, Some(4408));
    // Sending nothing but a wrong token is no better.
    let mut ws = open(&s, [127, 0, 0, 2]).await.unwrap();
    let refused = init(&mut ws, "nie-token").await;
    assert!(
        refused
            .as_ref()
            .is_none_or(|v| v["type"] != "connection_ack"),
        "{refused:?}"
    );
    // An authenticated one stays past the init timeout.
    let token = display_token(&s).await;
    let mut ok = acknowledged(&s, [127, 0, 0, 3], &token).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    send(
        &mut ok,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { events { kind } }" } }),
    )
    .await;
    let first = next_json(&mut ok).await.unwrap();
    assert_eq!(
        first["payload"]["data"]["events"]["kind"], "CONNECTED",
        "{first}"
    );
}

#[tokio::test]
async fn sockets_are_capped_per_address_and_in_all() {
    let s = Server::with_env(&[
        ("OKIENKO_MAX_WEBSOCKETS", "4"),
        ("OKIENKO_MAX_WEBSOCKETS_PER_CLIENT", "2"),
    ])
    .await;
    let mut held = vec![
        open(&s, [127, 0, 0, 2]).await.unwrap(),
        open(&s, [127, 0, 0, 2]).await.unwrap(),
    ];
    assert_eq!(open(&s, [127, 0, 0, 2]).await.err(), Some(503));
    held.push(open(&s, [127, 0, 0, 3]).await.unwrap());
    held.push(open(&s, [127, 0, 0, 3]).await.unwrap());
    assert_eq!(open(&s, [127, 0, 0, 4]).await.err(), Some(503));
    // Normal requests are still served.
    let v = s.gql(SLUG, "{ services { key } }", json!({})).await;
    assert!(v["errors"].is_null(), "{v}");
    // A closed socket makes room.
    let mut gone = held.pop().unwrap();
    gone.close(None).await.unwrap();
    let _ = closed_with(&mut gone).await;
    let mut reopened = Err(0);
    for _ in 0..50 {
        reopened = open(&s, [127, 0, 0, 4]).await.map(|_| ());
        if reopened.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reopened, Ok(()));
}

#[tokio::test]
async fn one_display_holds_at_most_its_sockets() {
    let s = Server::with_env(&[("OKIENKO_MAX_WEBSOCKETS_PER_DEVICE", "1")]).await;
    let token = display_token(&s).await;
    let mut first = acknowledged(&s, [127, 0, 0, 2], &token).await;
    let mut second = open(&s, [127, 0, 0, 3]).await.unwrap();
    // Refused: the socket is closed instead of acknowledged.
    let refused = init(&mut second, &token).await;
    assert!(refused.is_none(), "{refused:?}");
    // The first display is not disturbed; once it is gone, the device may connect again.
    first.close(None).await.unwrap();
    let _ = closed_with(&mut first).await;
    let mut acked = false;
    for _ in 0..50 {
        let mut again = open(&s, [127, 0, 0, 3]).await.unwrap();
        if init(&mut again, &token)
            .await
            .is_some_and(|v| v["type"] == "connection_ack")
        {
            acked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(acked);
}

/// A socket is pinged; one that stops answering (its client reads nothing, so it sends no
/// pongs) is closed with 1001.
#[tokio::test]
async fn idle_sockets_are_pinged_and_closed_when_silent() {
    let s = Server::with_env(&[("OKIENKO_WS_PING_MS", "200")]).await;
    let token = display_token(&s).await;
    let mut ws = acknowledged(&s, [127, 0, 0, 2], &token).await;
    // Not read for a while: the pings queue up unanswered.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let mut pings = 0;
    let code = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(30), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(f))) => break f.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert!(pings >= 1, "no ping before the close");
    assert_eq!(code, Some(CloseCode::Away));
}
