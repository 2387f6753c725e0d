//! The desk clerk's screen `/t/{slug}/stanowisko` end to end (issue 14, W-9): who may open it,
//! the desk remembered per computer, calling (CI-18 … CI-20, DG-3 as `callNext`), recalls and
//! the void after the last one (CI-8), transfers, serving, refusal with a reason (ZG-14), and
//! the desk's calls on a display's socket. Pages are read as a browser without JavaScript reads
//! them (`common::Browser`: forms posted, redirects not followed). Time moves by restarting the
//! server with a later `OKIENKO_NOW`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ISSUE: &str = "mutation($q: String!) { issueTicket(queue: $q) { id number } }";
const CHECK_IN: &str = "mutation($c: String!) { checkIn(code: $c) { id number queue } }";

async fn kiosk(s: &Server, slug: &str, token: &str, query: &str, vars: Value) -> Value {
    let (status, v) = s
        .post_path(
            &format!("/t/{slug}/kiosk/graphql"),
            Some(token),
            json!({ "query": query, "variables": vars }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["errors"].is_null(), "{v}");
    v["data"].clone()
}

/// A walk-in ticket of `queue` from the city's kiosk: its number.
async fn walk_in(s: &Server, slug: &str, st: &Staff, queue: &str) -> String {
    kiosk(s, slug, &st.kiosk, ISSUE, json!({ "q": queue })).await["issueTicket"]["number"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A browser with the staff session `token` in its cookie, as the login page leaves it.
fn logged_in(s: &Server, token: &str) -> Browser {
    let mut b = Browser::new(&s.base);
    b.cookies.insert("okienko_staff".into(), token.into());
    b
}

/// The clerk's browser at `slug`, at desk `desk` of the first office (chosen on the page).
async fn at_desk(s: &Server, slug: &str, st: &Staff, desk: u32) -> Browser {
    let mut b = logged_in(s, &st.clerk);
    let a = b.get(&format!("/t/{slug}/stanowisko")).await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.location.as_deref(),
        Some(format!("/t/{slug}/stanowisko/wybor").as_str())
    );
    let a = b.get(&format!("/t/{slug}/stanowisko/wybor")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let value = format!("{}-{desk}", st.office_id);
    assert!(a.body.contains(&format!("value=\"{value}\"")), "{}", a.body);
    let a = b
        .post(
            &format!("/t/{slug}/stanowisko/wybor"),
            &[("stanowisko", &value)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(b.cookies.get("okienko_desk"), Some(&value));
    let a = b.get(a.location.as_deref().unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains(&format!("<h1>Stanowisko {desk}</h1>")),
        "{}",
        a.body
    );
    b
}

/// The page's current ticket id (the forms' hidden `bilet`).
fn ticket_on(page: &str) -> String {
    let at = page
        .find("name=\"bilet\" value=\"")
        .unwrap_or_else(|| panic!("no current ticket on: {page}"));
    let rest = &page[at + 20..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Posts the desk's form `action` and follows the redirect: the page shown after it.
async fn act(b: &mut Browser, slug: &str, action: &str, form: &[(&str, &str)]) -> String {
    let a = b
        .post(&format!("/t/{slug}/stanowisko/{action}"), form)
        .await;
    assert_eq!(a.status, 303, "{action}: {}", a.body);
    let to = a.location.unwrap();
    assert!(
        to.starts_with(&format!("/t/{slug}/stanowisko?wynik=")),
        "{to}"
    );
    let page = b.get(&to).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

/// Posts a form the desk refuses: (status, page), the page with its error summary.
async fn refused(
    b: &mut Browser,
    slug: &str,
    action: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let a = b
        .post(&format!("/t/{slug}/stanowisko/{action}"), form)
        .await;
    assert!(a.location.is_none(), "{action} was not refused");
    assert!(a.body.contains("id=\"error-summary\""), "{}", a.body);
    assert!(a.body.contains("<title>Błąd: "), "{}", a.body);
    (a.status, a.body)
}

fn login_redirect(a: &Answer, slug: &str) {
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        a.location.as_deref(),
        Some(format!("/t/{slug}/personel/logowanie?next=%2Ft%2F{slug}%2Fstanowisko").as_str()),
    );
}

// ---------------------------------------------------------------------------------------------
// A display's socket (graphql-transport-ws), subscribed to its office's events.

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message from the display socket")
            .expect("the socket open")
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "ping" {
                ws_send(ws, json!({ "type": "pong" })).await;
                continue;
            }
            return v;
        }
    }
}

async fn display(s: &Server, slug: &str, token: &str) -> Ws {
    let stream = tokio::net::TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut ws = display_socket_over(s, slug, stream).await.unwrap();
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "token": token } }),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { events { kind number desk callCount } }" } }),
    )
    .await;
    assert_eq!(
        ws_next(&mut ws).await["payload"]["data"]["events"]["kind"],
        "CONNECTED"
    );
    ws
}

async fn event(ws: &mut Ws) -> Value {
    let v = ws_next(ws).await;
    assert_eq!(v["type"], "next", "{v}");
    v["payload"]["data"]["events"].clone()
}

// ---------------------------------------------------------------------------------------------

/// Only a staff session of this city whose role allows desk work opens the desk: no cookie, a
/// kiosk's device token (in either cookie), and another city's clerk are sent to the login page
/// with the way back; a call-centre operator is refused; a POST without a session does nothing.
#[tokio::test]
async fn the_desk_is_for_this_citys_clerks_only() {
    let s = Server::start().await;
    let opole = staff(&s, "opole").await;
    let gdynia = staff(&s, "gdynia").await;
    walk_in(&s, "opole", &opole, "M").await;

    let mut nobody = Browser::new(&s.base);
    login_redirect(&nobody.get("/t/opole/stanowisko").await, "opole");
    let a = nobody.post("/t/opole/stanowisko/wywolaj", &[]).await;
    login_redirect(&a, "opole");

    let mut kiosk_cookie = logged_in(&s, &opole.kiosk);
    login_redirect(&kiosk_cookie.get("/t/opole/stanowisko").await, "opole");
    let mut device = Browser::new(&s.base);
    device
        .cookies
        .insert("okienko_device".into(), opole.kiosk.clone());
    login_redirect(&device.get("/t/opole/stanowisko").await, "opole");

    // P-1: Gdynia's clerk, a valid session of Gdynia, is nobody at Opole — and cannot call
    // Opole's queue by posting there.
    let mut stranger = logged_in(&s, &gdynia.clerk);
    stranger
        .cookies
        .insert("okienko_desk".into(), format!("{}-3", opole.office_id));
    login_redirect(&stranger.get("/t/opole/stanowisko").await, "opole");
    login_redirect(
        &stranger.post("/t/opole/stanowisko/wywolaj", &[]).await,
        "opole",
    );
    login_redirect(&stranger.get("/t/opole/stanowisko/wybor").await, "opole");
    // … while at home the same session opens Gdynia's desk.
    assert_eq!(stranger.get("/t/gdynia/stanowisko").await.status, 303);
    assert_eq!(stranger.get("/t/gdynia/stanowisko/wybor").await.status, 200);

    // Nothing was called: Opole's ticket still waits for its desk.
    let mut clerk = at_desk(&s, "opole", &opole, 3).await;
    let page = clerk.get("/t/opole/stanowisko").await.body;
    assert!(page.contains("Następny do wywołania: M001."), "{page}");
    // An address edited by hand says nothing rather than failing.
    for q in ["wynik=wywolano&bilet=abc", "wynik=cos&bilet=1", "bilet=-1"] {
        let a = clerk.get(&format!("/t/opole/stanowisko?{q}")).await;
        assert_eq!(a.status, 200, "{q}");
        assert!(!a.body.contains("id=\"desk-result\""), "{q}: {}", a.body);
    }

    // A call-centre operator has no desk work (as the desk API's DeskWork permission).
    let made = s
        .admin(
            "opole",
            Some(&opole.admin),
            "mutation { createUser(login: \"infolinia@opole.example.pl\", displayName: \"Ewa Infolinia\", role: CALL_CENTRE, password: \"haslo-infolinii-1\") { id } }",
            json!({}),
        )
        .await;
    assert!(made["errors"].is_null(), "{made}");
    let token = s
        .staff_login("opole", "infolinia@opole.example.pl", "haslo-infolinii-1")
        .await;
    let a = logged_in(&s, &token).get("/t/opole/stanowisko").await;
    assert_eq!(a.status, 403);
    assert!(
        a.body
            .contains("Twoja rola nie pozwala na obsługę stanowiska"),
        "{}",
        a.body
    );

    // A cross-site form is refused and calls nobody (site::csrf).
    let r = clerk
        .http
        .post(format!("{}/t/opole/stanowisko/wywolaj", s.base))
        .header("sec-fetch-site", "cross-site")
        .header(
            "cookie",
            format!(
                "okienko_staff={}; okienko_desk={}-3",
                opole.clerk, opole.office_id
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let page = clerk.get("/t/opole/stanowisko").await.body;
    assert!(page.contains("Następny do wywołania: M001."), "{page}");
    // An unknown desk in the cookie asks for the choice again.
    clerk
        .cookies
        .insert("okienko_desk".into(), format!("{}-99", opole.office_id));
    let a = clerk.get("/t/opole/stanowisko").await;
    assert_eq!(a.location.as_deref(), Some("/t/opole/stanowisko/wybor"));
    let a = clerk
        .post("/t/opole/stanowisko/wybor", &[("stanowisko", "nie-ma")])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("Wybierz stanowisko z listy."), "{}", a.body);
}

/// CI-7, CI-8: a walk-in called from the page is on the display's socket as soon as the call
/// returns; a second call while it is called is refused as `callNext` refuses it (DESK_BUSY);
/// a recall within 10 minutes is refused with the time it is allowed from, and the page says it
/// too; after three calls without an answer the next recall voids the ticket, and the desk is
/// free again.
#[tokio::test]
async fn calls_recalls_and_the_void_after_the_third() {
    let s = Server::start().await;
    let st = staff(&s, "cieszyn").await;
    let mut ws = display(&s, "cieszyn", &st.display).await;
    assert_eq!(walk_in(&s, "cieszyn", &st, "M").await, "M001");
    assert_eq!(walk_in(&s, "cieszyn", &st, "M").await, "M002");
    let mut b = at_desk(&s, "cieszyn", &st, 3).await;
    let page = b.get("/t/cieszyn/stanowisko").await.body;
    // The desk's queues M and D: two wait in M.
    assert!(
        page.contains("<th scope=\"row\">M – Meldunek</th><td>2</td>"),
        "{page}"
    );
    assert!(page.contains("Następny do wywołania: M001."), "{page}");

    let sent = Instant::now();
    let page = act(&mut b, "cieszyn", "wywolaj", &[]).await;
    let e = event(&mut ws).await;
    println!(
        "the call reached the display {} ms after the page's POST was sent",
        sent.elapsed().as_millis()
    );
    assert_eq!(
        (e["kind"].as_str(), e["number"].as_str(), e["desk"].as_i64()),
        (Some("CALLED"), Some("M001"), Some(3)),
        "{e}"
    );
    assert!(page.contains("Wywołano numer M001."), "{page}");
    assert!(page.contains("id=\"desk-result\""), "{page}");
    assert!(
        page.contains("<span class=\"vh\">Numer: </span>M001</p>"),
        "{page}"
    );
    assert!(page.contains("1 z 3, ostatnie o 09:00"), "{page}");
    // The recall button knows how long to wait (CI-8: 10 minutes), and says until when.
    assert!(page.contains("data-wait=\"6"), "{page}");
    assert!(
        page.contains("Ponowne wywołanie będzie możliwe o 09:10."),
        "{page}"
    );
    assert!(
        page.contains("<th scope=\"row\">M – Meldunek</th><td>1</td>"),
        "{page}"
    );
    let ticket = ticket_on(&page);

    // A second call while M001 is called: DESK_BUSY's message, nobody else called.
    let (status, body) = refused(&mut b, "cieszyn", "wywolaj", &[]).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("Stanowisko 3 obsługuje już bilet M001."),
        "{body}"
    );
    assert!(body.contains("<a href=\"#desk-current\">"), "{body}");
    // Too early: refused with the time.
    let (status, body) = refused(&mut b, "cieszyn", "ponow", &[("bilet", &ticket)]).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("Ponowne wywołanie jest możliwe od godziny 09:10"),
        "{body}"
    );

    // 09:11 and 09:22: the second and third calls, each on the display.
    let mut s = s;
    for (now, count) in [("2026-12-01T08:11:00Z", 2), ("2026-12-01T08:22:00Z", 3)] {
        s = s.restart_at(now).await;
        b = moved(&b, &s);
        let mut ws = display(&s, "cieszyn", &st.display).await;
        let page = act(&mut b, "cieszyn", "ponow", &[("bilet", &ticket)]).await;
        assert!(
            page.contains(&format!(
                "Ponownie wywołano numer M001 ({count}. wywołanie)."
            )),
            "{page}"
        );
        let e = event(&mut ws).await;
        assert_eq!(
            (e["kind"].as_str(), e["callCount"].as_i64()),
            (Some("RECALLED"), Some(count)),
            "{e}"
        );
    }
    let page = b.get("/t/cieszyn/stanowisko").await.body;
    assert!(
        page.contains("Ponowne wywołanie będzie możliwe o 09:32."),
        "{page}"
    );
    assert!(
        page.contains("Klient nie podszedł po 3 wywołaniach: kolejne naciśnięcie unieważni bilet."),
        "{page}"
    );

    // 09:33: no answer to the third call; the recall voids the ticket (CI-8), the display
    // clears it, and the desk calls the next client.
    s = s.restart_at("2026-12-01T08:33:00Z").await;
    b = moved(&b, &s);
    let mut ws = display(&s, "cieszyn", &st.display).await;
    let page = act(&mut b, "cieszyn", "ponow", &[("bilet", &ticket)]).await;
    assert!(
        page.contains("Bilet M001 jest nieważny: klient nie podszedł po wywołaniach."),
        "{page}"
    );
    assert!(
        page.contains("Stanowisko nie ma wywołanego numeru."),
        "{page}"
    );
    let e = event(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["number"].as_str()),
        (Some("CLEARED"), Some("M001")),
        "{e}"
    );
    // The void ticket is nobody's any more: a recall of it (a page left open) is refused.
    let (status, body) = refused(&mut b, "cieszyn", "ponow", &[("bilet", &ticket)]).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("Bilet M001 nie jest już bieżącym klientem tego stanowiska."),
        "{body}"
    );
    let page = act(&mut b, "cieszyn", "wywolaj", &[]).await;
    assert!(page.contains("Wywołano numer M002."), "{page}");
}

/// The same browser (its cookies) on a restarted server.
fn moved(b: &Browser, s: &Server) -> Browser {
    let mut n = Browser::new(&s.base);
    n.cookies = b.cookies.clone();
    n
}

/// A called client sent to another queue (the display clears the call; the client keeps the
/// ticket's number and waits in the new queue), then called there and served: started and
/// finished, each on the page and the finish on the display.
#[tokio::test]
async fn transfer_then_start_and_finish() {
    let s = Server::start().await;
    let st = staff(&s, "cieszyn").await;
    let mut ws = display(&s, "cieszyn", &st.display).await;
    assert_eq!(walk_in(&s, "cieszyn", &st, "M").await, "M001");
    let mut b = at_desk(&s, "cieszyn", &st, 3).await;
    let page = act(&mut b, "cieszyn", "wywolaj", &[]).await;
    assert!(page.contains("Wywołano numer M001."), "{page}");
    assert_eq!(event(&mut ws).await["number"], "M001");
    let ticket = ticket_on(&page);
    // The office's queues to transfer to, the ticket's own and the check-in queue aside.
    assert!(
        page.contains("<option value=\"D\">D – Dowody osobiste</option>"),
        "{page}"
    );
    assert!(!page.contains("<option value=\"M\">"), "{page}");
    assert!(!page.contains("<option value=\"R\">"), "{page}");

    let (status, body) = refused(
        &mut b,
        "cieszyn",
        "przekaz",
        &[("bilet", &ticket), ("kolejka", "")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains(
            "<a href=\"#desk-transfer-to\">Wybierz kolejkę, do której przekazać klienta.</a>"
        ),
        "{body}"
    );
    assert!(body.contains("id=\"desk-transfer-to-error\""), "{body}");
    let (_, body) = refused(
        &mut b,
        "cieszyn",
        "przekaz",
        &[("bilet", &ticket), ("kolejka", "Q")],
    )
    .await;
    assert!(
        body.contains("nie ma takiej kolejki w tym urzędzie"),
        "{body}"
    );

    let page = act(
        &mut b,
        "cieszyn",
        "przekaz",
        &[("bilet", &ticket), ("kolejka", "D")],
    )
    .await;
    assert!(
        page.contains("Numer M001 przekazano do kolejki D – Dowody osobiste."),
        "{page}"
    );
    assert!(
        page.contains("Stanowisko nie ma wywołanego numeru."),
        "{page}"
    );
    let e = event(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["number"].as_str()),
        (Some("CLEARED"), Some("M001")),
        "{e}"
    );
    // The client keeps the ticket's number; the desk calls from D too.
    let page = act(&mut b, "cieszyn", "wywolaj", &[]).await;
    assert!(page.contains("Wywołano numer M001."), "{page}");
    assert!(page.contains("<dd>D – Dowody osobiste</dd>"), "{page}");
    assert_eq!(event(&mut ws).await["number"], "M001");
    let ticket = ticket_on(&page);

    let page = act(&mut b, "cieszyn", "rozpocznij", &[("bilet", &ticket)]).await;
    assert!(page.contains("Rozpoczęto obsługę numeru M001."), "{page}");
    assert!(page.contains("<dd>w obsłudze</dd>"), "{page}");
    assert!(page.contains("id=\"desk-finish\""), "{page}");
    assert!(!page.contains("id=\"desk-recall\""), "{page}");
    // Starting twice: the ticket's state, in Polish.
    let (status, body) = refused(&mut b, "cieszyn", "rozpocznij", &[("bilet", &ticket)]).await;
    assert_eq!(status, 409);
    assert!(body.contains("bilet M001 jest w obsłudze"), "{body}");

    let page = act(&mut b, "cieszyn", "zakoncz", &[("bilet", &ticket)]).await;
    assert!(page.contains("Zakończono obsługę numeru M001."), "{page}");
    let e = event(&mut ws).await;
    assert_eq!(
        (e["kind"].as_str(), e["number"].as_str()),
        (Some("CLEARED"), Some("M001")),
        "{e}"
    );
    let page = act(&mut b, "cieszyn", "wywolaj", &[]).await;
    assert!(
        page.contains("Nikt nie czeka w kolejkach tego stanowiska."),
        "{page}"
    );
}

/// ZG-14: a Zielona Góra booked visit checked in and called shows the booking's data to
/// compare (code, service, time, registration number, owner); the clerk refuses service with
/// a reason from the list, "Inny powód" only with a description; the booking becomes rejected
/// with that reason.
#[tokio::test]
async fn zielona_gora_refusal_with_a_reason() {
    let s = Server::start().await;
    let mut st = staff(&s, "zielona-gora").await;
    let (service, start, _) = s
        .free_slot_of("zielona-gora", "rejestracja-pojazdu", "2026-12-02")
        .await;
    let v = s
        .book("zielona-gora", zielona_gora_vehicle(&service, &start))
        .await;
    let code = str_at(&v, "/data/createBooking/booking/code");
    let token = str_at(&v, "/data/createBooking/managementToken");
    let time = str_at(&v, "/data/createBooking/booking/localTime");
    // On the visit's day, at its time (check-in from 30 minutes before).
    let s = s.restart_at(&start).await;
    st.next_day(&s, "zielona-gora").await;
    let t = kiosk(
        &s,
        "zielona-gora",
        &st.kiosk,
        CHECK_IN,
        json!({ "c": code }),
    )
    .await;
    assert_eq!(t["checkIn"]["queue"], "R", "{t}");
    let number = t["checkIn"]["number"].as_str().unwrap().to_string();
    let mut b = at_desk(&s, "zielona-gora", &st, 1).await;
    let page = act(&mut b, "zielona-gora", "wywolaj", &[]).await;
    assert!(
        page.contains(&format!("Wywołano numer {number}.")),
        "{page}"
    );
    for (label, value) in [
        ("Kod rezerwacji", code.as_str()),
        (
            "Sprawa",
            "Rejestracja pojazdu nowego, sprowadzonego lub zakupionego na terytorium RP",
        ),
        ("Godzina wizyty", time.as_str()),
        ("Rezerwujący", "Jan Kowalski"),
        ("Numer rejestracyjny pojazdu", "FZ4K7R2"),
        (
            "Imię i nazwisko lub nazwa właściciela pojazdu",
            "Jan Kowalski",
        ),
    ] {
        assert!(
            page.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")),
            "{label}: {page}"
        );
    }
    assert!(page.contains("<dd>wizyta zarezerwowana</dd>"), "{page}");
    // Only what the clerk compares: no e-mail or phone of the client.
    assert!(
        !page.contains("jan@example.pl") && !page.contains("601 234 567"),
        "{page}"
    );
    let ticket = ticket_on(&page);
    assert!(
        page.contains("<option value=\"pojazd\">Dane pojazdu niezgodne z rezerwacją</option>"),
        "{page}"
    );

    let (status, body) = refused(
        &mut b,
        "zielona-gora",
        "odmow",
        &[("bilet", &ticket), ("powod", "")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("<a href=\"#desk-reason\">Wybierz powód odmowy obsługi.</a>"),
        "{body}"
    );
    let (_, body) = refused(
        &mut b,
        "zielona-gora",
        "odmow",
        &[("bilet", &ticket), ("powod", "inny"), ("opis", "  ")],
    )
    .await;
    assert!(
        body.contains("<a href=\"#desk-note\">Opisz powód odmowy obsługi.</a>"),
        "{body}"
    );
    // What was chosen is kept.
    assert!(body.contains("<option value=\"inny\" selected>"), "{body}");

    let page = act(
        &mut b,
        "zielona-gora",
        "odmow",
        &[
            ("bilet", &ticket),
            ("powod", "pojazd"),
            ("opis", "numer VIN inny niż w dowodzie"),
        ],
    )
    .await;
    assert!(
        page.contains(&format!(
            "Odmówiono obsługi numeru {number}; powód zapisano."
        )),
        "{page}"
    );
    assert!(
        page.contains("Stanowisko nie ma wywołanego numeru."),
        "{page}"
    );
    let v = s.gql("zielona-gora", BOOKING, json!({ "t": token })).await;
    assert_eq!(v["data"]["booking"]["status"], "REJECTED", "{v}");
    let v = s
        .admin(
            "zielona-gora",
            Some(&st.clerk),
            "query($c: String!) { bookingByCode(code: $c) { status cancelReason } }",
            json!({ "c": code }),
        )
        .await;
    assert_eq!(
        v["data"]["bookingByCode"]["cancelReason"],
        "Dane pojazdu niezgodne z rezerwacją: numer VIN inny niż w dowodzie",
        "{v}"
    );
}

/// DG-3, DG-8: Dąbrowa's booked visits wait in the check-in queue U; each desk counts and calls
/// only the booked visits of the services it serves, as `callNext` does: the checked-in visit
/// goes before the walk-in who came first (no walk-in waits in U, so it may be early, CI-19).
#[tokio::test]
async fn dabrowa_desks_take_their_booked_visits_from_the_check_in_queue() {
    let s = Server::start().await;
    let mut st = staff(&s, "dabrowa-gornicza").await;
    let service = s
        .service_id("dabrowa-gornicza", "rejestracja-dzialalnosci")
        .await;
    // Wednesday 2 December 2026, 09:00 in Warsaw.
    let v = s
        .book(
            "dabrowa-gornicza",
            rodo_input(
                &service,
                "2026-12-02T08:00:00Z",
                json!({ "name": "Piotr Zieliński", "email": "piotr@example.pl", "phone": "662 138 278" }),
            ),
        )
        .await;
    let code = str_at(&v, "/data/createBooking/booking/code");

    // 08:35: a walk-in in R, then the booked client checked in by phone (U001).
    let s = s.restart_at("2026-12-02T07:35:00Z").await;
    st.next_day(&s, "dabrowa-gornicza").await;
    assert_eq!(walk_in(&s, "dabrowa-gornicza", &st, "R").await, "R001");
    let t = kiosk(
        &s,
        "dabrowa-gornicza",
        &st.kiosk,
        "mutation($p: String!) { checkInByPhone(phone: $p) { number } }",
        json!({ "p": "48662138278" }),
    )
    .await;
    assert_eq!(t["checkInByPhone"]["number"], "U001", "{t}");
    let mut two = at_desk(&s, "dabrowa-gornicza", &st, 2).await;
    let page = two.get("/t/dabrowa-gornicza/stanowisko").await.body;
    for letter in ["U", "R"] {
        let row = &page[page
            .find(&format!("<th scope=\"row\">{letter} – "))
            .unwrap()..];
        assert!(
            row[..row.find("</tr>").unwrap()].contains("<td>1</td>"),
            "{page}"
        );
    }
    assert!(page.contains("Następny do wywołania: U001."), "{page}");
    // Desk 1 serves other matters: neither the visit nor R001 is in its counts.
    let mut one = at_desk(&s, "dabrowa-gornicza", &st, 1).await;
    let page = one.get("/t/dabrowa-gornicza/stanowisko").await.body;
    let u = &page[page.find("<th scope=\"row\">U – ").unwrap()..];
    assert!(
        u[..u.find("</tr>").unwrap()].contains("<td>0</td>"),
        "{page}"
    );
    assert!(!page.contains("Następny do wywołania"), "{page}");

    let page = act(&mut two, "dabrowa-gornicza", "wywolaj", &[]).await;
    assert!(page.contains("Wywołano numer U001."), "{page}");
    assert!(
        page.contains(&format!("<dt>Kod rezerwacji</dt><dd>{code}</dd>")),
        "{page}"
    );
    assert!(
        page.contains("<dt>Godzina wizyty</dt><dd>09:00</dd>"),
        "{page}"
    );
    assert!(page.contains("Następny do wywołania: R001."), "{page}");
    let page = act(&mut one, "dabrowa-gornicza", "wywolaj", &[]).await;
    assert!(
        page.contains("Nikt nie czeka w kolejkach tego stanowiska."),
        "{page}"
    );
}
