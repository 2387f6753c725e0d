//! The electronic queue end to end (issue 4), over HTTP and WebSocket against the real binary:
//! kiosks, desks, call displays, check-in windows, recalls, the lateness worker, the admission
//! list and the statistics. Time moves by restarting the server with a later `OKIENKO_NOW`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn api(s: &Server, path: &str, token: Option<&str>, query: &str, vars: Value) -> Value {
    let (status, v) = s
        .post_path(
            path,
            token,
            json!({ "query": query, "variables": vars }).to_string(),
        )
        .await;
    assert!(status == 200 || status == 400, "HTTP {status}: {v}");
    v
}

async fn kiosk(s: &Server, slug: &str, token: &str, query: &str, vars: Value) -> Value {
    api(
        s,
        &format!("/t/{slug}/kiosk/graphql"),
        Some(token),
        query,
        vars,
    )
    .await
}

async fn desk(s: &Server, slug: &str, token: &str, query: &str, vars: Value) -> Value {
    api(
        s,
        &format!("/t/{slug}/desk/graphql"),
        Some(token),
        query,
        vars,
    )
    .await
}

const ISSUE: &str = "mutation($q: String!) { issueTicket(queue: $q) { id number queue queueName officeName printedDate printedTime priority lines } }";
const CHECK_IN: &str =
    "mutation($c: String!) { checkIn(code: $c) { id number queue queueName priority bookedTime printedTime } }";
const CHECK_IN_PHONE: &str =
    "mutation($p: String!) { checkInByPhone(phone: $p) { id number queue queueName priority bookedTime } }";
const CALL_NEXT: &str = "mutation($o: ID!, $d: Int!) { callNext(officeId: $o, desk: $d) { id number queue state kind desk callCount voiceText bookingCode } }";
const RECALL: &str = "mutation($t: ID!) { recall(ticketId: $t) { id number state callCount } }";

async fn call_next(s: &Server, slug: &str, st: &Staff, desk_no: i64) -> Value {
    let v = desk(
        s,
        slug,
        &st.clerk,
        CALL_NEXT,
        json!({ "o": st.office_id, "d": desk_no }),
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
    v["data"]["callNext"].clone()
}

/// Serves and finishes a called ticket: its desk may call the next one.
async fn done(s: &Server, slug: &str, st: &Staff, ticket: &Value) {
    let v = desk(
        s,
        slug,
        &st.clerk,
        "mutation($t: ID!) { a: startService(ticketId: $t) { state } b: finishService(ticketId: $t) { state } }",
        json!({ "t": ticket["id"] }),
    )
    .await;
    assert_eq!(v["data"]["b"]["state"], "DONE", "{v}");
}

/// Books a visit; returns (code, management token).
async fn book_visit(s: &Server, slug: &str, input: Value) -> (String, String) {
    let v = s.book(slug, input).await;
    let b = &v["data"]["createBooking"];
    (
        b["booking"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string(),
        b["managementToken"].as_str().unwrap().to_string(),
    )
}

async fn booking_status(s: &Server, slug: &str, token: &str) -> String {
    let v = s.gql(slug, BOOKING, json!({ "t": token })).await;
    v["data"]["booking"]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// A call display over WebSocket (graphql-transport-ws)

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(s: &Server, slug: &str, query: &str) -> Result<Ws, u16> {
    let url = format!(
        "{}/t/{slug}/display/ws{query}",
        s.base.replace("http", "ws")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next JSON message, skipping pings; None when the server closed the connection.
async fn ws_next(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message from the display socket within 15 s")?;
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "ping" {
                    ws_send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(v);
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A display subscribed to its office's events, the subscription live (CONNECTED seen).
async fn subscribed_display(s: &Server, slug: &str, token: &str) -> Ws {
    let mut ws = ws_connect(s, slug, "").await.unwrap();
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "token": token } }),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await.unwrap()["type"], "connection_ack");
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { events { kind number desk queue queueName callCount voiceText } }" } }),
    )
    .await;
    let first = ws_next(&mut ws).await.unwrap();
    assert_eq!(
        first["payload"]["data"]["events"]["kind"], "CONNECTED",
        "{first}"
    );
    ws
}

async fn next_event(ws: &mut Ws) -> Value {
    let v = ws_next(ws).await.expect("an event");
    assert_eq!(v["type"], "next", "{v}");
    v["payload"]["data"]["events"].clone()
}

// ---------------------------------------------------------------------------------------------

/// CI-6, CI-3, CI-7: a walk-in ticket from the kiosk, called to a desk, shown and spoken on
/// the display; roles and devices are kept apart; the day's statistics record it.
#[tokio::test]
async fn cieszyn_walk_in_is_called_and_shown_on_the_display() {
    let s = Server::start().await;
    let st = staff(&s, "cieszyn").await;
    let mut ws = subscribed_display(&s, "cieszyn", &st.display).await;

    // The kiosk's office and its nine CI-5 queues, open on Tuesday at 09:00 (CI-4).
    let v = kiosk(
        &s,
        "cieszyn",
        &st.kiosk,
        "{ office { id name } queues { letter name open checkIn remaining } }",
        json!({}),
    )
    .await;
    assert_eq!(v["data"]["office"]["id"], st.office_id.as_str(), "{v}");
    let queues = v["data"]["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 9, "{v}");
    assert!(queues.iter().all(|q| q["open"] == true), "{v}");
    let m = queues.iter().find(|q| q["letter"] == "M").unwrap();
    assert_eq!(
        (m["name"].as_str(), m["remaining"].as_i64()),
        (Some("Meldunek"), Some(80))
    );

    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "M" })).await;
    let t = &v["data"]["issueTicket"];
    assert_eq!(t["number"], "M001", "{v}");
    assert_eq!(t["queueName"], "Meldunek");
    assert_eq!(t["printedDate"], "01.12.2026");
    assert!(
        t["printedTime"].as_str().unwrap().starts_with("09:0"),
        "{v}"
    );
    assert_eq!(t["priority"], false);
    assert!(t["lines"].as_array().unwrap().iter().any(|l| l == "M001"));
    // The check-in entry prints no walk-in tickets; unknown queues are refused.
    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "R" })).await;
    assert_eq!(code_of(&v), "CHECK_IN_ONLY", "{v}");
    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "Ż" })).await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");

    // Desk 3 (M, D) calls it; the display shows and speaks it.
    let c = call_next(&s, "cieszyn", &st, 3).await;
    assert_eq!(c["number"], "M001", "{c}");
    assert_eq!(
        (c["state"].as_str(), c["desk"].as_i64()),
        (Some("CALLED"), Some(3))
    );
    assert_eq!(c["voiceText"], "Numer M 0 0 1, stanowisko 3");
    let e = next_event(&mut ws).await;
    assert_eq!(e["kind"], "CALLED", "{e}");
    assert_eq!(e["number"], "M001");
    assert_eq!(e["desk"], 3);
    assert_eq!(e["queueName"], "Meldunek");
    assert_eq!(e["voiceText"], "Numer M 0 0 1, stanowisko 3");
    // A display that reconnects reads the board.
    let v = api(
        &s,
        "/t/cieszyn/display/graphql",
        Some(&st.display),
        "{ board { officeName calls { number desk voiceText serving } } }",
        json!({}),
    )
    .await;
    assert_eq!(v["data"]["board"]["calls"][0]["number"], "M001", "{v}");
    assert_eq!(v["data"]["board"]["calls"][0]["desk"], 3);
    // A desk holds one called ticket: the next call waits until this one is dealt with.
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        CALL_NEXT,
        json!({ "o": st.office_id, "d": 3 }),
    )
    .await;
    assert_eq!(code_of(&v), "DESK_BUSY", "{v}");
    assert!(message_of(&v).contains("bilet M001"), "{v}");

    // Served and finished: the ticket leaves the display.
    let id = c["id"].clone();
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "mutation($t: ID!) { startService(ticketId: $t) { state } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(v["data"]["startService"]["state"], "SERVING", "{v}");
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "mutation($t: ID!) { finishService(ticketId: $t) { state finishedAt } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(v["data"]["finishService"]["state"], "DONE", "{v}");
    // Nobody else waits in desk 3's queues.
    assert!(call_next(&s, "cieszyn", &st, 3).await.is_null());
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "mutation($t: ID!) { finishService(ticketId: $t) { state } }",
        json!({ "t": id }),
    )
    .await;
    assert_eq!(code_of(&v), "TICKET_STATE", "{v}");
    let e = next_event(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["number"].as_str()),
        (Some("CLEARED"), Some("M001")),
        "{e}"
    );

    // Transfer keeps the visit going in another queue; refusal records its reason (ZG-14).
    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "D" })).await;
    assert_eq!(v["data"]["issueTicket"]["number"], "D001", "{v}");
    let c = call_next(&s, "cieszyn", &st, 4).await;
    assert_eq!(c["number"], "D001");
    let v = desk(&s, "cieszyn", &st.clerk, "mutation($t: ID!) { transfer(ticketId: $t, queue: \"G\") { number queue state arrivedAt } }", json!({ "t": c["id"] })).await;
    assert_eq!(v["data"]["transfer"]["queue"], "G", "{v}");
    assert_eq!(v["data"]["transfer"]["state"], "WAITING");
    assert_eq!(v["data"]["transfer"]["number"], "D001");
    let c = call_next(&s, "cieszyn", &st, 5).await;
    assert_eq!(
        (c["number"].as_str(), c["queue"].as_str()),
        (Some("D001"), Some("G")),
        "{c}"
    );
    let v = desk(&s, "cieszyn", &st.clerk, "mutation($t: ID!) { refuseService(ticketId: $t, reason: \"Brak wymaganych dokumentów\") { state refusalReason } }", json!({ "t": c["id"] })).await;
    assert_eq!(v["data"]["refuseService"]["state"], "REFUSED", "{v}");
    assert_eq!(
        v["data"]["refuseService"]["refusalReason"],
        "Brak wymaganych dokumentów"
    );

    // Roles: devices stay out of the desk API and each other's; a clerk is not a kiosk; a
    // token of another city is unknown.
    let v = desk(
        &s,
        "cieszyn",
        &st.kiosk,
        CALL_NEXT,
        json!({ "o": st.office_id, "d": 3 }),
    )
    .await;
    assert_eq!(code_of(&v), "FORBIDDEN", "{v}");
    let v = kiosk(&s, "cieszyn", &st.display, ISSUE, json!({ "q": "M" })).await;
    assert_eq!(code_of(&v), "FORBIDDEN", "{v}");
    let v = kiosk(&s, "cieszyn", &st.clerk, ISSUE, json!({ "q": "M" })).await;
    assert_eq!(code_of(&v), "FORBIDDEN", "{v}");
    let v = api(
        &s,
        "/t/cieszyn/kiosk/graphql",
        None,
        ISSUE,
        json!({ "q": "M" }),
    )
    .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let v = api(
        &s,
        "/t/cieszyn/display/graphql",
        Some(&st.kiosk),
        "{ board { officeName } }",
        json!({}),
    )
    .await;
    assert_eq!(code_of(&v), "FORBIDDEN", "{v}");
    let v = kiosk(&s, "opole", &st.kiosk, ISSUE, json!({ "q": "M" })).await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    let v = desk(
        &s,
        "opole",
        &st.clerk,
        CALL_NEXT,
        json!({ "o": st.office_id, "d": 1 }),
    )
    .await;
    assert_eq!(code_of(&v), "UNAUTHENTICATED", "{v}");
    // A clerk cannot change the queue's configuration.
    let v = s
        .admin(
            "cieszyn",
            Some(&st.clerk),
            "mutation { removeDesk(office: \"kochanowskiego\", number: 6) { hash } }",
            json!({}),
        )
        .await;
    assert_eq!(code_of(&v), "FORBIDDEN", "{v}");
    assert!(message_of(&v).contains("zmiana konfiguracji"), "{v}");
    // A kiosk's token does not open a display socket.
    assert_eq!(
        ws_connect(&s, "cieszyn", &format!("?token={}", st.kiosk))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        ws_connect(&s, "cieszyn", "?token=okd_nieznany").await.err(),
        Some(401)
    );
    let mut bad = ws_connect(&s, "cieszyn", "").await.unwrap();
    ws_send(
        &mut bad,
        json!({ "type": "connection_init", "payload": { "token": st.kiosk } }),
    )
    .await;
    let answer = ws_next(&mut bad).await;
    assert!(
        answer
            .as_ref()
            .is_none_or(|v| v["type"] != "connection_ack"),
        "{answer:?}"
    );

    // CI-4: the administrator sets a daily capacity; when it is used up the queue closes.
    let v = s
        .admin(
            "cieszyn",
            Some(&st.admin),
            "mutation { updateQueue(input: { office: \"kochanowskiego\", letter: \"W\", name: \"Rejestr wyborców\", services: [\"rejestr-wyborcow\"], dailyCapacity: 1 }) { hash } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "W" })).await;
    assert_eq!(v["data"]["issueTicket"]["number"], "W001", "{v}");
    let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "W" })).await;
    assert_eq!(code_of(&v), "QUEUE_FULL", "{v}");
    let v = kiosk(
        &s,
        "cieszyn",
        &st.kiosk,
        "{ queues { letter open closedReason remaining } }",
        json!({}),
    )
    .await;
    let w = v["data"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["letter"] == "W")
        .unwrap()
        .clone();
    assert_eq!(
        (w["open"].as_bool(), w["remaining"].as_i64()),
        (Some(false), Some(0)),
        "{v}"
    );

    // Statistics of the day: anonymous waiting and service times per queue (P-5).
    let v = desk(
        &s,
        "cieszyn",
        &st.admin,
        "{ queueStatistics(from: \"2026-12-01\", to: \"2026-12-01\") { day queue queueName ticketsIssued walkIns calls averageWaitSeconds served averageServiceSeconds maxServiceSeconds noShows } }",
        json!({}),
    )
    .await;
    let rows = v["data"]["queueStatistics"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    let m = rows.iter().find(|r| r["queue"] == "M").unwrap();
    assert_eq!(m["ticketsIssued"], 1, "{v}");
    assert_eq!(
        (
            m["calls"].as_i64(),
            m["served"].as_i64(),
            m["noShows"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert!(m["averageWaitSeconds"].as_i64().unwrap() >= 0);
    assert!(m["averageServiceSeconds"].as_i64().is_some());
    assert!(
        !rows.iter().any(|r| r["queue"] == "G"),
        "a transfer is no new ticket nor a new wait: {v}"
    );
    let d = rows.iter().find(|r| r["queue"] == "D").unwrap();
    assert_eq!(d["calls"], 1, "{v}");
}

/// CI-16: check-in by code at most 60 minutes before; CI-18, CI-20: the checked-in booked
/// client is called before walk-ins who came earlier; CI-19: a booked client with nobody else
/// waiting in the queue is called early. OP-9: the day's admission list.
#[tokio::test]
async fn cieszyn_checked_in_booking_is_called_before_earlier_walk_ins() {
    let s = Server::start().await;
    let mut st = staff(&s, "cieszyn").await;
    let meldunek = s.service_id("cieszyn", "meldunek").await;
    let dowody = s.service_id("cieszyn", "dowody-osobiste").await;
    // Wednesday 2 December 2026: 09:00 and 10:00 in Warsaw.
    let (code_m, _) = book_visit(
        &s,
        "cieszyn",
        cieszyn_input(&meldunek, "2026-12-02T08:00:00Z", "ola@example.pl"),
    )
    .await;
    let (code_d, _) = book_visit(
        &s,
        "cieszyn",
        cieszyn_input(&dowody, "2026-12-02T09:00:00Z", "piotr@example.pl"),
    )
    .await;

    // OP-9: the admission list of the day, per desk or department: codes and times, no names.
    let list = "query($o: ID, $d: Int, $w: String) { admissionList(date: \"2026-12-02\", officeId: $o, desk: $d, department: $w) { code localTime service checkedIn queue } }";
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        list,
        json!({ "o": st.office_id, "d": 3 }),
    )
    .await;
    let rows = v["data"]["admissionList"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(
        (rows[0]["code"].as_str(), rows[0]["localTime"].as_str()),
        (Some(code_m.as_str()), Some("09:00"))
    );
    assert_eq!(
        (rows[1]["code"].as_str(), rows[1]["localTime"].as_str()),
        (Some(code_d.as_str()), Some("10:00"))
    );
    assert_eq!(rows[0]["queue"], "M");
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        list,
        json!({ "o": st.office_id, "d": 1 }),
    )
    .await;
    assert_eq!(v["data"]["admissionList"], json!([]), "{v}");
    let v = desk(&s, "cieszyn", &st.clerk, list, json!({ "w": "wsodg" })).await;
    assert_eq!(
        v["data"]["admissionList"].as_array().unwrap().len(),
        2,
        "{v}"
    );
    let v = desk(&s, "cieszyn", &st.clerk, list, json!({ "w": "usc" })).await;
    assert_eq!(v["data"]["admissionList"], json!([]), "{v}");
    // … and as a page to print, for staff only.
    let page = reqwest::Client::new()
        .get(format!(
            "{}/t/cieszyn/staff/przyjecia?dzien=2026-12-02&urzad=kochanowskiego&stanowisko=3",
            s.base
        ))
        .bearer_auth(&st.clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Lista przyjęć – 02.12.2026"), "{html}");
    assert!(
        html.contains(&code_m) && html.contains(&code_d) && html.contains("09:00"),
        "{html}"
    );
    assert!(
        !html.contains("ola@example.pl"),
        "no personal data on the list"
    );
    // Without a header or a session cookie: the staff login, coming back here (issue 14).
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!(
            "{}/t/cieszyn/staff/przyjecia?dzien=2026-12-02",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 303);
    assert_eq!(
        bare.headers()["location"],
        "/t/cieszyn/personel/logowanie?next=%2Ft%2Fcieszyn%2Fstaff%2Fprzyjecia%3Fdzien%3D2026-12-02"
    );
    let page = reqwest::Client::new()
        .get(format!(
            "{}/t/cieszyn/staff/przyjecia?dzien=2026-12-02&wydzial=wsodg",
            s.base
        ))
        .bearer_auth(&st.kiosk)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 403);

    // 07:59: too early for the 09:00 visit (CI-16: from 08:00); two walk-ins take tickets.
    let s = s.restart_at("2026-12-02T06:59:00Z").await;
    st.next_day(&s, "cieszyn").await;
    let v = kiosk(&s, "cieszyn", &st.kiosk, CHECK_IN, json!({ "c": code_m })).await;
    assert_eq!(code_of(&v), "CHECK_IN_TOO_EARLY", "{v}");
    assert!(message_of(&v).contains("08:00"), "{v}");
    for want in ["M001", "M002"] {
        let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "M" })).await;
        assert_eq!(v["data"]["issueTicket"]["number"], want, "{v}");
    }

    // 08:05: checked in; a priority ticket in its category's queue (CI-18). Once only.
    let s = s.restart_at("2026-12-02T07:05:00Z").await;
    st.next_day(&s, "cieszyn").await;
    let v = kiosk(
        &s,
        "cieszyn",
        &st.kiosk,
        CHECK_IN,
        json!({ "c": code_m.to_lowercase() }),
    )
    .await;
    let t = &v["data"]["checkIn"];
    assert_eq!(t["number"], "M003", "{v}");
    assert_eq!(
        (t["priority"].as_bool(), t["bookedTime"].as_str()),
        (Some(true), Some("09:00"))
    );
    let v = kiosk(&s, "cieszyn", &st.kiosk, CHECK_IN, json!({ "c": code_m })).await;
    assert_eq!(code_of(&v), "ALREADY_CHECKED_IN", "{v}");
    let v = kiosk(&s, "cieszyn", &st.kiosk, CHECK_IN, json!({ "c": "XXXXXX" })).await;
    assert_eq!(code_of(&v), "BOOKING_NOT_FOUND", "{v}");

    // 09:00: the booked client goes first, then the walk-ins in their order.
    let s = s.restart_at("2026-12-02T08:00:00Z").await;
    st.next_day(&s, "cieszyn").await;
    let v = kiosk(&s, "cieszyn", &st.kiosk, CHECK_IN, json!({ "c": code_d })).await;
    assert_eq!(v["data"]["checkIn"]["number"], "D001", "{v}");
    // OP-9: the list takes the office id every API returns, names the city once and shows
    // who checked in (both visits now).
    let page = reqwest::Client::new()
        .get(format!(
            "{}/t/cieszyn/staff/przyjecia?dzien=2026-12-02&urzad={}",
            s.base, st.office_id
        ))
        .bearer_auth(&st.clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<th scope=\"col\">Przybycie</th>"), "{html}");
    assert_eq!(html.matches("<td>potwierdzone</td>").count(), 2, "{html}");
    // The page's header names the city as every page of the city does; the list itself
    // names it once.
    let main = html
        .split_once("<main")
        .and_then(|(_, m)| m.split_once("</main>"))
        .map_or("", |(m, _)| m);
    assert_eq!(
        main.matches("Urząd Miejski w Cieszynie").count(),
        1,
        "the city once: {main}"
    );
    let first = call_next(&s, "cieszyn", &st, 3).await;
    assert_eq!(
        (first["number"].as_str(), first["kind"].as_str()),
        (Some("M003"), Some("BOOKED")),
        "{first}"
    );
    assert_eq!(first["bookingCode"], code_m.as_str());
    done(&s, "cieszyn", &st, &first).await;
    // CI-19: the 10:00 visit may be called early: nobody else waits in its queue (D).
    let early = call_next(&s, "cieszyn", &st, 3).await;
    assert_eq!(
        (early["number"].as_str(), early["kind"].as_str()),
        (Some("D001"), Some("BOOKED")),
        "{early}"
    );
    done(&s, "cieszyn", &st, &early).await;
    let second = call_next(&s, "cieszyn", &st, 3).await;
    assert_eq!(second["number"], "M001", "{second}");
    done(&s, "cieszyn", &st, &second).await;
    let third = call_next(&s, "cieszyn", &st, 3).await;
    assert_eq!(third["number"], "M002", "{third}");
    done(&s, "cieszyn", &st, &third).await;
    assert!(call_next(&s, "cieszyn", &st, 3).await.is_null());
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        list,
        json!({ "o": st.office_id, "d": 3 }),
    )
    .await;
    assert!(
        v["data"]["admissionList"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["checkedIn"] == true),
        "{v}"
    );
}

/// DG-4, DG-8: check-in by phone 48xxxxxxxxx not earlier than 30 minutes before, one ticket
/// per check-in, the earliest visit first; after the booked time the booking is lost. DG-3:
/// the U ticket is called by a desk of its service.
#[tokio::test]
async fn dabrowa_check_in_by_phone_too_early_in_time_too_late() {
    let s = Server::start().await;
    let mut st = staff(&s, "dabrowa-gornicza").await;
    let service = s
        .service_id("dabrowa-gornicza", "rejestracja-dzialalnosci")
        .await;
    let input = |start: &str| {
        rodo_input(
            &service,
            start,
            json!({ "name": "Piotr Zieliński", "email": "piotr@example.pl", "phone": "662 138 278" }),
        )
    };
    // Wednesday 2 December 2026, 09:00 and 10:00 in Warsaw.
    let (_, first) = book_visit(&s, "dabrowa-gornicza", input("2026-12-02T08:00:00Z")).await;
    let (_, second) = book_visit(&s, "dabrowa-gornicza", input("2026-12-02T09:00:00Z")).await;

    // 08:20: too early; the message says from when.
    let s = s.restart_at("2026-12-02T07:20:00Z").await;
    st.next_day(&s, "dabrowa-gornicza").await;
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "48662138278" }),
    )
    .await;
    assert_eq!(code_of(&v), "CHECK_IN_TOO_EARLY", "{v}");
    assert!(message_of(&v).contains("08:30"), "{v}");
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "12345" }),
    )
    .await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "48600000000" }),
    )
    .await;
    assert_eq!(code_of(&v), "BOOKING_NOT_FOUND", "{v}");

    // 08:35: in time for the 09:00 visit: the U ticket (DG-8). The 10:00 one is not yet due.
    let s = s.restart_at("2026-12-02T07:35:00Z").await;
    st.next_day(&s, "dabrowa-gornicza").await;
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "48662138278" }),
    )
    .await;
    let t = &v["data"]["checkInByPhone"];
    assert_eq!(t["number"], "U001", "{v}");
    assert_eq!(t["queueName"], "Potwierdzenie umówionej internetowo wizyty");
    assert_eq!(
        (t["priority"].as_bool(), t["bookedTime"].as_str()),
        (Some(true), Some("09:00"))
    );
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "+48 662-138-278" }),
    )
    .await;
    assert_eq!(code_of(&v), "CHECK_IN_TOO_EARLY", "{v}");
    assert!(message_of(&v).contains("09:30"), "{v}");
    // A walk-in in R came earlier than the booked client's time.
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        ISSUE,
        json!({ "q": "R" }),
    )
    .await;
    assert_eq!(v["data"]["issueTicket"]["number"], "R001", "{v}");

    // 10:05: the 10:00 visit was not checked in by its time: lost (DG-8), the booking cancelled.
    let s = s.restart_at("2026-12-02T09:05:00Z").await;
    st.next_day(&s, "dabrowa-gornicza").await;
    let v = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        CHECK_IN_PHONE,
        json!({ "p": "48662138278" }),
    )
    .await;
    assert_eq!(code_of(&v), "CHECK_IN_TOO_LATE", "{v}");
    assert!(message_of(&v).contains("10:00"), "{v}");
    assert_eq!(
        booking_status(&s, "dabrowa-gornicza", &second).await,
        "CANCELLED"
    );
    assert_eq!(
        booking_status(&s, "dabrowa-gornicza", &first).await,
        "CONFIRMED"
    );

    // DG-3: the booked client first, at a desk of the service's department; desk 1
    // (geodesy) does not take a U ticket of business registration.
    assert!(call_next(&s, "dabrowa-gornicza", &st, 1).await.is_null());
    let c = call_next(&s, "dabrowa-gornicza", &st, 2).await;
    assert_eq!(
        (c["number"].as_str(), c["kind"].as_str()),
        (Some("U001"), Some("BOOKED")),
        "{c}"
    );
    assert_eq!(c["voiceText"], "Numer U 0 0 1, stanowisko 2");
    done(&s, "dabrowa-gornicza", &st, &c).await;
    let c = call_next(&s, "dabrowa-gornicza", &st, 2).await;
    assert_eq!(c["number"], "R001", "{c}");
}

/// CI-8: a ticket is called at most three times, at least 10 minutes apart; an early recall is
/// refused; after the third unanswered call it is void, and for a booked visit a no-show is
/// recorded — which blocks Opole's online booking in that department (OP-14).
#[tokio::test]
async fn three_unanswered_calls_void_the_ticket_and_record_a_no_show() {
    let s = Server::start().await;
    let mut st = staff(&s, "opole").await;
    let service = s.service_id("opole", "zameldowanie-wymeldowanie").await;
    let input = |start: &str| {
        json!({ "serviceId": service, "start": start, "client": { "name": "Olga Nowak", "email": "olga@example.pl" },
                "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] })
    };
    // Wednesday 2 December 2026, 09:00 in Warsaw; confirmed with the e-mailed code (OP-7).
    let (code, token) = book_visit(&s, "opole", input("2026-12-02T08:00:00Z")).await;
    let mail = wait_for_mail(&s.mail_dir(), "Kod potwierdzenia: ").await;
    let secret = after(&mail, "Kod potwierdzenia: ").to_string();
    let v = s
        .gql(
            "opole",
            "mutation($t: String!, $c: String) { confirmBooking(token: $t, code: $c) { status } }",
            json!({ "t": token, "c": secret }),
        )
        .await;
    assert_eq!(v["data"]["confirmBooking"]["status"], "CONFIRMED", "{v}");

    // 08:45: checked in; desk 3 calls the visit early, nobody else waits (CI-19).
    let s = s.restart_at("2026-12-02T07:45:00Z").await;
    st.next_day(&s, "opole").await;
    let v = kiosk(&s, "opole", &st.kiosk, CHECK_IN, json!({ "c": code })).await;
    assert_eq!(v["data"]["checkIn"]["number"], "M001", "{v}");
    let c = call_next(&s, "opole", &st, 3).await;
    assert_eq!(
        (c["number"].as_str(), c["callCount"].as_i64()),
        (Some("M001"), Some(1)),
        "{c}"
    );
    let id = c["id"].clone();
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(code_of(&v), "RECALL_TOO_SOON", "{v}");
    assert!(message_of(&v).contains("08:55"), "{v}");

    // Second and third calls, each 11 minutes later.
    let s = s.restart_at("2026-12-02T07:56:00Z").await;
    st.next_day(&s, "opole").await;
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(v["data"]["recall"]["callCount"], 2, "{v}");
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(code_of(&v), "RECALL_TOO_SOON", "{v}");
    let s = s.restart_at("2026-12-02T08:07:00Z").await;
    st.next_day(&s, "opole").await;
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(v["data"]["recall"]["callCount"], 3, "{v}");
    assert_eq!(v["data"]["recall"]["state"], "CALLED");

    // No answer to the third call: the ticket is void and the no-show recorded.
    let s = s.restart_at("2026-12-02T08:18:00Z").await;
    st.next_day(&s, "opole").await;
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(v["data"]["recall"]["state"], "VOID", "{v}");
    let v = desk(&s, "opole", &st.clerk, RECALL, json!({ "t": id })).await;
    assert_eq!(code_of(&v), "TICKET_STATE", "{v}");
    let v = desk(
        &s,
        "opole",
        &st.clerk,
        "{ queueStatistics(from: \"2026-12-02\", to: \"2026-12-02\") { queue noShows calls } }",
        json!({}),
    )
    .await;
    let m = v["data"]["queueStatistics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["queue"] == "M")
        .unwrap()
        .clone();
    assert_eq!(
        (m["noShows"].as_i64(), m["calls"].as_i64()),
        (Some(1), Some(1)),
        "{v}"
    );

    // OP-14: online booking in the department is blocked after the no-show.
    let (later, _) = s.first_free_slot("opole", &service, "2026-12-07").await;
    let v = s.book("opole", input(&later)).await;
    assert_eq!(code_of(&v), "NO_SHOW_BLOCKED", "{v}");
}

/// CI-17: a booking not checked in is cancelled 10 minutes after its time by the worker (run
/// at start and then every 15 seconds); the no-show is counted in the day's statistics, and a
/// late check-in is refused.
#[tokio::test]
async fn lateness_worker_cancels_an_unchecked_booking_after_the_city_delay() {
    let s = Server::start().await;
    let mut st = staff(&s, "cieszyn").await;
    let service = s.service_id("cieszyn", "meldunek").await;
    let (code, token) = book_visit(
        &s,
        "cieszyn",
        cieszyn_input(&service, "2026-12-02T08:00:00Z", "jan@example.pl"),
    )
    .await;

    // 09:09: nine minutes after the time, still valid.
    let s = s.restart_at("2026-12-02T08:09:00Z").await;
    st.next_day(&s, "cieszyn").await;
    assert_eq!(booking_status(&s, "cieszyn", &token).await, "CONFIRMED");
    // 09:11: cancelled at start-up, before the server answered anyone.
    let s = s.restart_at("2026-12-02T08:11:00Z").await;
    st.next_day(&s, "cieszyn").await;
    assert_eq!(booking_status(&s, "cieszyn", &token).await, "CANCELLED");
    let v = kiosk(&s, "cieszyn", &st.kiosk, CHECK_IN, json!({ "c": code })).await;
    assert_eq!(code_of(&v), "CHECK_IN_TOO_LATE", "{v}");
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "{ queueStatistics(from: \"2026-12-02\", to: \"2026-12-02\") { queue noShows } }",
        json!({}),
    )
    .await;
    let rows = v["data"]["queueStatistics"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(
        (rows[0]["queue"].as_str(), rows[0]["noShows"].as_i64()),
        (Some("M"), Some(1))
    );
    // The admission list no longer shows it.
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "{ admissionList(date: \"2026-12-02\") { code } }",
        json!({}),
    )
    .await;
    assert_eq!(v["data"]["admissionList"], json!([]), "{v}");
}

/// A server on `backend` (None where it is unavailable) with Cieszyn's staff; the database
/// lives as long as the third part.
async fn cieszyn_on(backend: Backend) -> Option<(Server, Staff, Option<TestDb>)> {
    let (db, s) = Server::for_backend(backend).await?;
    let st = staff(&s, "cieszyn").await;
    Some((s, st, db))
}

/// Eight clerks at two desks calling at once over HTTP never get the same ticket, and a desk
/// never holds two: 20 tickets, each called exactly once, on both backends. A clerk whose desk
/// is busy (`DESK_BUSY`) tries again once the other clerk there has finished.
async fn concurrent_calls(backend: Backend) {
    let Some((s, st, _db)) = cieszyn_on(backend).await else {
        return;
    };
    for i in 0..20 {
        let q = if i % 2 == 0 { "M" } else { "D" };
        let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": q })).await;
        assert!(v["errors"].is_null(), "{v}");
    }
    let s = std::sync::Arc::new(s);
    let st = std::sync::Arc::new(st);
    let mut tasks = Vec::new();
    for caller in 0..8_i64 {
        let (s, st) = (s.clone(), st.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            // Bounded: 20 tickets and 8 clerks need far fewer turns.
            for _ in 0..5_000 {
                // Desks 3 and 4 both serve M and D.
                let d = 3 + caller % 2;
                let v = desk(
                    &s,
                    "cieszyn",
                    &st.clerk,
                    CALL_NEXT,
                    json!({ "o": st.office_id, "d": d }),
                )
                .await;
                match (code_of(&v), &v["data"]["callNext"]) {
                    ("DESK_BUSY", _) => tokio::task::yield_now().await,
                    ("", Value::Null) => return got,
                    ("", c) => {
                        assert_eq!(c["desk"], d, "{c}");
                        got.push(c["number"].as_str().unwrap().to_string());
                        done(&s, "cieszyn", &st, c).await;
                    }
                    (code, _) => panic!("{code}: {v}"),
                }
            }
            panic!("clerk {caller} never finished");
        }));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for t in tasks {
        for n in t.await.unwrap() {
            *seen.entry(n).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 20, "{seen:?}");
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}

on_both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] concurrent_calls_never_share_a_ticket_sqlite, concurrent_calls_never_share_a_ticket_postgres => concurrent_calls);

/// A desk holds at most one called or serving ticket: many `callNext` at one desk at once
/// call exactly one ticket, the others are refused with `DESK_BUSY`; on both backends.
async fn one_called_ticket_per_desk(backend: Backend) {
    let Some((s, st, _db)) = cieszyn_on(backend).await else {
        return;
    };
    for _ in 0..12 {
        let v = kiosk(&s, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "M" })).await;
        assert!(v["errors"].is_null(), "{v}");
    }
    let s = std::sync::Arc::new(s);
    let st = std::sync::Arc::new(st);
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let (s, st) = (s.clone(), st.clone());
            tokio::spawn(async move {
                desk(
                    &s,
                    "cieszyn",
                    &st.clerk,
                    CALL_NEXT,
                    json!({ "o": st.office_id, "d": 3 }),
                )
                .await
            })
        })
        .collect();
    let mut called = Vec::new();
    let mut busy = 0;
    for c in calls {
        let v = c.await.unwrap();
        match code_of(&v) {
            "" => called.push(v["data"]["callNext"].clone()),
            "DESK_BUSY" => {
                busy += 1;
                assert!(
                    message_of(&v).starts_with("Stanowisko 3 obsługuje już bilet M0"),
                    "{v}"
                );
            }
            other => panic!("{other}: {v}"),
        }
    }
    assert_eq!(called.len(), 1, "{called:?}");
    assert_eq!(busy, 11);
    let v = desk(
        &s,
        "cieszyn",
        &st.clerk,
        "query($o: ID!) { tickets(officeId: $o) { number state desk } }",
        json!({ "o": st.office_id }),
    )
    .await;
    let at_desk: Vec<_> = v["data"]["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .filter(|t| t["desk"] == 3 && (t["state"] == "CALLED" || t["state"] == "SERVING"))
        .collect();
    assert_eq!(at_desk.len(), 1, "{v}");
    // Once it is dealt with, the desk calls the next number.
    done(&s, "cieszyn", &st, &called[0]).await;
    let next = call_next(&s, "cieszyn", &st, 3).await;
    assert_ne!(next["number"], called[0]["number"], "{next}");
}

on_both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] a_busy_desk_calls_no_second_ticket_sqlite, a_busy_desk_calls_no_second_ticket_postgres => one_called_ticket_per_desk);

/// Two servers on one PostgreSQL database: a desk's call made through one reaches a display
/// connected to the other (`NOTIFY okienko_display`), and every display gets every event once,
/// the publishing server's own included.
#[tokio::test]
async fn a_call_on_one_server_reaches_a_display_on_another() {
    let Some((_db, a, b)) = Server::two_on_postgres().await else {
        return;
    };
    let st = staff(&a, "cieszyn").await;
    // B hears what other servers publish from the moment its listener listens.
    let mut listening = false;
    for _ in 0..100 {
        listening = b
            .log()
            .contains("listening for changes made by other servers");
        if listening {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listening, "{}", b.log());
    let mut on_b = subscribed_display(&b, "cieszyn", &st.display).await;
    let mut on_a = subscribed_display(&a, "cieszyn", &st.display).await;

    let v = kiosk(&a, "cieszyn", &st.kiosk, ISSUE, json!({ "q": "M" })).await;
    assert_eq!(v["data"]["issueTicket"]["number"], "M001", "{v}");
    let c = call_next(&a, "cieszyn", &st, 3).await;
    assert_eq!(c["number"], "M001", "{c}");
    for (server, ws) in [("B", &mut on_b), ("A", &mut on_a)] {
        let e = next_event(ws).await;
        assert_eq!(e["kind"], "CALLED", "{server}: {e}");
        assert_eq!(e["number"], "M001", "{server}: {e}");
        assert_eq!(e["desk"], 3, "{server}: {e}");
        assert_eq!(e["queue"], "M", "{server}: {e}");
        assert_eq!(e["queueName"], "Meldunek", "{server}: {e}");
        assert_eq!(e["callCount"], 1, "{server}: {e}");
        assert_eq!(
            e["voiceText"], "Numer M 0 0 1, stanowisko 3",
            "{server}: {e}"
        );
    }

    // Served and finished through B this time: the next event on each display is the
    // clearing, not the call again.
    for m in [
        "mutation($t: ID!) { startService(ticketId: $t) { state } }",
        "mutation($t: ID!) { finishService(ticketId: $t) { state } }",
    ] {
        let v = desk(&b, "cieszyn", &st.clerk, m, json!({ "t": c["id"] })).await;
        assert!(v["errors"].is_null(), "{v}");
    }
    for (server, ws) in [("A", &mut on_a), ("B", &mut on_b)] {
        let e = next_event(ws).await;
        assert_eq!(
            (e["kind"].as_str(), e["number"].as_str()),
            (Some("CLEARED"), Some("M001")),
            "{server}: {e}"
        );
    }
}

/// The queue's endpoints answer malformed, oversized and unknown-city requests like the other
/// APIs: a status, a stable code and a Polish message.
#[tokio::test]
async fn queue_endpoints_refuse_malformed_requests_in_polish() {
    let s = Server::start().await;
    for api in ["kiosk", "desk", "display"] {
        let path = format!("/t/cieszyn/{api}/graphql");
        let (status, v) = s.post_path(&path, None, "{ not json").await;
        assert_eq!(status, 400, "{api}: {v}");
        assert_eq!(code_of(&v), "BAD_REQUEST");
        let huge =
            json!({ "query": "{ __typename }", "variables": { "x": "x".repeat(1024 * 1024) } });
        let (status, v) = s.post_path(&path, None, huge.to_string()).await;
        assert_eq!(status, 413, "{api}: {v}");
        assert_eq!(code_of(&v), "PAYLOAD_TOO_LARGE");
        let (status, v) = s
            .post_path(
                &format!("/t/nie-ma/{api}/graphql"),
                None,
                json!({ "query": "{ __typename }" }).to_string(),
            )
            .await;
        assert_eq!(status, 404, "{api}: {v}");
        assert_eq!(code_of(&v), "TENANT_NOT_FOUND");
        let (status, v) = s
            .post_path(&path, None, json!({ "query": "{ nope }" }).to_string())
            .await;
        assert_eq!(status, 400, "{api}: {v}");
        assert_eq!(code_of(&v), "INVALID_QUERY");
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{api}");
        assert!(
            page.contains("GraphiQL") || page.contains("graphiql"),
            "{api}"
        );
    }
    // The display socket without a WebSocket handshake.
    let (status, body) = s.get("/t/cieszyn/display/ws").await;
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code_of(&v), "BAD_REQUEST");
    let (status, _) = s.get("/t/nie-ma/display/ws").await;
    assert_eq!(status, 404);
    let (status, _) = s.get("/t/nie-ma/staff/przyjecia").await;
    assert_eq!(status, 404);
}

/// Administrators create, change and remove queues and desks and set the queue's rules; each
/// change is checked (a field named in Polish), audited and applied at once.
#[tokio::test]
async fn administrators_edit_queues_desks_and_rules() {
    let s = Server::start().await;
    let st = staff(&s, "zielona-gora").await;
    let admin = |q: &'static str, vars: Value| {
        let (s, token) = (&s, st.admin.clone());
        async move { s.admin("zielona-gora", Some(&token), q, vars).await }
    };
    let office = "wydzial-komunikacji";
    let v = admin(
        "mutation($i: QueueInput!) { createQueue(input: $i) { config } }",
        json!({ "i": { "office": office, "letter": "k", "name": "Kasa", "dailyCapacity": 50 } }),
    )
    .await;
    let queues = v["data"]["createQueue"]["config"]["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert!(
        queues
            .iter()
            .any(|q| q["letter"] == "K" && q["daily_capacity"] == 50),
        "{v}"
    );
    let v = admin(
        "mutation($i: QueueInput!) { createQueue(input: $i) { hash } }",
        json!({ "i": { "office": office, "letter": "K", "name": "Druga kasa" } }),
    )
    .await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    let v = admin(
        "mutation($i: DeskInput!) { createDesk(input: $i) { hash } }",
        json!({ "i": { "office": office, "number": 7, "queues": ["K", "X"] } }),
    )
    .await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"], "desks[4].queues[1]",
        "{v}"
    );
    let v = admin(
        "mutation($i: DeskInput!) { createDesk(input: $i) { hash } }",
        json!({ "i": { "office": office, "number": 7, "queues": ["K"] } }),
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
    // The kiosk and the desk see the change at once.
    let v = kiosk(&s, "zielona-gora", &st.kiosk, ISSUE, json!({ "q": "K" })).await;
    assert_eq!(v["data"]["issueTicket"]["number"], "K001", "{v}");
    assert_eq!(
        call_next(&s, "zielona-gora", &st, 7).await["number"],
        "K001"
    );
    let v = admin(
        "mutation { removeQueue(office: \"wydzial-komunikacji\", letter: \"K\") { hash } }",
        json!({}),
    )
    .await;
    assert_eq!(
        code_of(&v),
        "VALIDATION_FAILED",
        "a desk still calls from it: {v}"
    );
    let v = admin(
        "mutation { removeDesk(office: \"wydzial-komunikacji\", number: 7) { hash } }",
        json!({}),
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = admin(
        "mutation { removeQueue(office: \"wydzial-komunikacji\", letter: \"K\") { hash } }",
        json!({}),
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = kiosk(&s, "zielona-gora", &st.kiosk, ISSUE, json!({ "q": "K" })).await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");

    let v = admin(
        "mutation { setQueueRules(input: { checkInBeforeMinutes: 45, cancelUncheckedAfterMinutes: 5, recallIntervalMinutes: 0 }) { hash } }",
        json!({}),
    )
    .await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"],
        "queue.recall_interval_minutes"
    );
    let v = admin(
        "mutation { setQueueRules(input: { checkInBeforeMinutes: 45, cancelUncheckedAfterMinutes: 5 }) { config } }",
        json!({}),
    )
    .await;
    let rules = &v["data"]["setQueueRules"]["config"]["queue"];
    assert_eq!(rules["check_in_before_minutes"], 45, "{v}");
    assert_eq!(rules["cancel_unchecked_after_minutes"], 5);
    let v = admin(
        "{ auditLog(first: 10) { entries { action target } } }",
        json!({}),
    )
    .await;
    let actions: Vec<&str> = v["data"]["auditLog"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "config.create_queue",
        "config.create_desk",
        "config.remove_desk",
        "config.remove_queue",
        "config.set_queue_rules",
    ] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}
