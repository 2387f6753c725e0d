//! The ticket kiosk's pages (issue 14, W-7) against the real binary over HTTP: only a paired
//! kiosk of the city sees them (tenant isolation, P-1), walk-in tickets by POST (CI-6) and a
//! repeated POST of one form being one ticket, closed queues greyed with why (CI-4), Cieszyn's
//! code check-in in lower case (CI-16) and Dąbrowa's phone check-in too early, in time and too
//! late (DG-4, DG-8). The clock is set by OKIENKO_NOW at start or restart.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const ISSUE: &str = "mutation($q: String!) { issueTicket(queue: $q) { number } }";

/// A browser-like client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    location: String,
    csp: String,
    body: String,
}

async fn answer(r: reqwest::Response) -> Answer {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (status, location, csp) = (
        r.status().as_u16(),
        header("location"),
        header("content-security-policy"),
    );
    Answer {
        status,
        location,
        csp,
        body: r.text().await.unwrap(),
    }
}

fn device_cookie(token: Option<&str>) -> String {
    token.map_or(String::new(), |t| format!("okienko_device={t}"))
}

async fn get(s: &Server, path: &str, token: Option<&str>) -> Answer {
    let r = client()
        .get(format!("{}{path}", s.base))
        .header("cookie", device_cookie(token))
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// POSTs a form as the kiosk's own page would (`Sec-Fetch-Site: same-origin`).
async fn post(s: &Server, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Answer {
    post_from(s, path, token, form, "same-origin").await
}

async fn post_from(
    s: &Server,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
    site: &str,
) -> Answer {
    let r = client()
        .post(format!("{}{path}", s.base))
        .header("cookie", device_cookie(token))
        .header("sec-fetch-site", site)
        .form(form)
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// The form nonce on a kiosk screen.
fn nonce_of(html: &str) -> String {
    let at = html
        .find("name=\"nonce\" value=\"")
        .unwrap_or_else(|| panic!("no nonce in {html}"));
    html[at + 20..at + 52].to_string()
}

async fn issue(s: &Server, slug: &str, token: &str, queue: &str) -> Value {
    let (status, v) = s
        .post_path(
            &format!("/t/{slug}/kiosk/graphql"),
            Some(token),
            json!({ "query": ISSUE, "variables": { "q": queue } }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Checks in at Dąbrowa's kiosk with `phone` typed, from a fresh keypad screen.
async fn phone_check_in(s: &Server, kiosk: Option<&str>, phone: &str) -> Answer {
    let path = "/t/dabrowa-gornicza/kiosk/rezerwacja";
    let n = nonce_of(&get(s, path, kiosk).await.body);
    post(
        s,
        path,
        kiosk,
        &[("typed", phone), ("go", "1"), ("nonce", &n)],
    )
    .await
}

/// How many walk-in buttons (forms) and greyed queues a start screen shows.
fn counts(html: &str) -> (usize, usize) {
    (
        html.matches("name=\"queue\"").count(),
        html.matches("k-queue k-closed").count(),
    )
}

#[tokio::test]
async fn only_a_paired_kiosk_of_this_city_sees_the_kiosk() {
    let s = Server::start().await;
    let cieszyn = staff(&s, "cieszyn").await;
    let gdynia = staff(&s, "gdynia").await;

    // Without a device cookie, with a display's token, with another city's kiosk token: the
    // pairing page of this city.
    for token in [
        None,
        Some(cieszyn.display.as_str()),
        Some(gdynia.kiosk.as_str()),
    ] {
        let a = get(&s, "/t/cieszyn/kiosk", token).await;
        assert_eq!(
            (a.status, a.location.as_str()),
            (303, "/t/cieszyn/urzadzenie")
        );
        let a = get(&s, "/t/cieszyn/kiosk/rezerwacja", token).await;
        assert_eq!(a.location, "/t/cieszyn/urzadzenie");
    }
    // Gdynia's kiosk cannot print a Cieszyn ticket either.
    let start = get(&s, "/t/cieszyn/kiosk", Some(&cieszyn.kiosk)).await;
    let n = nonce_of(&start.body);
    let a = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        Some(&gdynia.kiosk),
        &[("queue", "M"), ("nonce", &n)],
    )
    .await;
    assert_eq!(a.location, "/t/cieszyn/urzadzenie");
    let v = issue(&s, "cieszyn", &cieszyn.kiosk, "M").await;
    assert_eq!(v["data"]["issueTicket"]["number"], "M001", "{v}");

    // The city's own kiosk: six of the nine CI-5 queues, then the other three (W-7).
    assert_eq!(start.status, 200, "{}", start.body);
    assert!(start.csp.contains("script-src 'self'"), "{}", start.csp);
    // No inline script or style for the CSP to refuse.
    assert!(!start.body.contains("style="), "{}", start.body);
    assert_eq!(
        start.body.matches("<script").count(),
        start.body.matches("<script src=\"/assets/").count()
    );
    assert!(start.body.contains("<html lang=\"pl\">"));
    assert!(start
        .body
        .contains("Odbierz bilet zarejestrowany przez Internet"));
    assert!(start.body.contains("href=\"/t/cieszyn/kiosk/rezerwacja\""));
    assert!(start.body.contains("Strona 1 z 2"), "{}", start.body);
    assert_eq!(counts(&start.body), (5, 0), "the check-in entry is a link");
    assert!(start.body.contains("href=\"/t/cieszyn/kiosk?strona=2\""));
    let second = get(&s, "/t/cieszyn/kiosk?strona=2", Some(&cieszyn.kiosk)).await;
    assert!(second.body.contains("Strona 2 z 2"));
    assert_eq!(counts(&second.body), (3, 0));
    assert!(second.body.contains("Rejestr wyborców"), "{}", second.body);
    assert!(second.body.contains("href=\"/t/cieszyn/kiosk?strona=1\""));
    assert!(
        second.body.contains("data-idle=\"60\""),
        "back to the first screen"
    );
    // In English, the language goes along in the links and the forms, never in a cookie.
    let en = get(&s, "/t/cieszyn/kiosk?lang=en", Some(&cieszyn.kiosk)).await;
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("Choose your matter"));
    assert!(en.body.contains("/t/cieszyn/kiosk?strona=2&#38;lang=en"));
    assert!(en.body.contains("name=\"lang\" value=\"en\""));
}

#[tokio::test]
async fn a_walk_in_ticket_by_post_and_a_repeated_post_is_the_same_ticket() {
    let s = Server::start().await;
    let st = staff(&s, "cieszyn").await;
    let k = Some(st.kiosk.as_str());
    let start = get(&s, "/t/cieszyn/kiosk", k).await;
    let n = nonce_of(&start.body);

    let first = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "M"), ("nonce", &n)],
    )
    .await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert!(
        first.location.starts_with("/t/cieszyn/kiosk/bilet/"),
        "{}",
        first.location
    );
    // CI-3: print date and time, queue name, number.
    let ticket = get(&s, &first.location, k).await;
    assert_eq!(ticket.status, 200, "{}", ticket.body);
    for text in ["M001", "Meldunek", "01.12.2026 09:0", "data-print=\"1\""] {
        assert!(ticket.body.contains(text), "{text}: {}", ticket.body);
    }
    assert!(ticket
        .body
        .contains("data-speak=\"Twój numer: M 0 0 1. Meldunek."));

    // The same form again (a double tap): the same ticket, nothing new issued.
    let again = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "M"), ("nonce", &n)],
    )
    .await;
    assert_eq!(again.location, first.location);
    // A cross-site form is refused and prints nothing.
    let forged = post_from(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "M"), ("nonce", &nonce_of(&start.body))],
        "cross-site",
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // A form without a nonce is not a kiosk screen's: back to the start.
    let bare = post(&s, "/t/cieszyn/kiosk/bilet", k, &[("queue", "M")]).await;
    assert_eq!(bare.location, "/t/cieszyn/kiosk");
    // The next screen's form is the next ticket.
    let n2 = nonce_of(&get(&s, "/t/cieszyn/kiosk", k).await.body);
    assert_ne!(n, n2);
    let second = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "M"), ("nonce", &n2)],
    )
    .await;
    assert_ne!(second.location, first.location);
    assert!(get(&s, &second.location, k).await.body.contains("M002"));
    // Two taps that arrive at once: one ticket, both shown it.
    let n3 = nonce_of(&get(&s, "/t/cieszyn/kiosk", k).await.body);
    let form = [("queue", "D"), ("nonce", n3.as_str())];
    let (a, b) = tokio::join!(
        post(&s, "/t/cieszyn/kiosk/bilet", k, &form),
        post(&s, "/t/cieszyn/kiosk/bilet", k, &form)
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, b.location);
    assert!(get(&s, &a.location, k).await.body.contains("D001"));
    let v = issue(&s, "cieszyn", &st.kiosk, "M").await;
    assert_eq!(v["data"]["issueTicket"]["number"], "M003", "{v}");
    let v = issue(&s, "cieszyn", &st.kiosk, "D").await;
    assert_eq!(v["data"]["issueTicket"]["number"], "D002", "{v}");

    // Only tickets of this kiosk's office, shortly after they were printed, are shown.
    let gone = get(&s, "/t/cieszyn/kiosk/bilet/999999", k).await;
    assert_eq!(gone.location, "/t/cieszyn/kiosk");
    let gdynia = staff(&s, "gdynia").await;
    let elsewhere = first.location.replace("/t/cieszyn/", "/t/gdynia/");
    let a = get(&s, &elsewhere, Some(&gdynia.kiosk)).await;
    assert_eq!(
        a.location, "/t/gdynia/kiosk",
        "another city's ticket is not shown"
    );
    // The check-in entry prints no walk-in ticket: a plain Polish screen says so.
    let n4 = nonce_of(&get(&s, "/t/cieszyn/kiosk", k).await.body);
    let r = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "R"), ("nonce", &n4)],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("Nie można wydać biletu"), "{}", r.body);
}

#[tokio::test]
async fn closed_queues_are_greyed_with_why() {
    // Tuesday 1 December 2026, 18:00 in Warsaw: after Cieszyn's hours (CI-4).
    let s = Server::builder().now("2026-12-01T17:00:00Z").start().await;
    let st = staff(&s, "cieszyn").await;
    let k = Some(st.kiosk.as_str());
    let start = get(&s, "/t/cieszyn/kiosk", k).await;
    assert_eq!(counts(&start.body), (0, 6), "{}", start.body);
    assert!(start.body.contains("Na dziś zakończono wydawanie biletów."));
    // No button to tap, so no form; a nonce as a screen would give.
    let n = "00112233445566778899aabbccddeeff";
    // No tickets by POST either; the screen says why.
    let r = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "M"), ("nonce", n)],
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("Na dziś zakończono wydawanie biletów."),
        "{}",
        r.body
    );

    // Friday 25 December, 10:00: a public holiday.
    let s = s.restart_at("2026-12-25T09:00:00Z").await;
    let start = get(&s, "/t/cieszyn/kiosk", k).await;
    assert_eq!(counts(&start.body), (0, 6));
    assert!(start.body.contains("Boże Narodzenie"), "{}", start.body);

    // Monday 28 December, 09:00: open; a queue whose daily capacity is used up is greyed alone.
    let s = s.restart_at("2026-12-28T08:00:00Z").await;
    for _ in 0..40 {
        issue(&s, "cieszyn", &st.kiosk, "G").await;
    }
    let start = get(&s, "/t/cieszyn/kiosk", k).await;
    assert_eq!(counts(&start.body), (4, 1), "{}", start.body);
    assert!(start
        .body
        .contains("Na dziś wydano już wszystkie bilety do tej sprawy."));
    let n = nonce_of(&start.body);
    let r = post(
        &s,
        "/t/cieszyn/kiosk/bilet",
        k,
        &[("queue", "G"), ("nonce", &n)],
    )
    .await;
    assert!(
        r.body.contains("Zapytaj w punkcie informacji"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn cieszyn_checks_a_booking_in_by_its_code_in_lower_case() {
    let s = Server::start().await;
    let st = staff(&s, "cieszyn").await;
    let meldunek = s.service_id("cieszyn", "meldunek").await;
    // Wednesday 2 December 2026, 09:00 in Warsaw.
    let v = s
        .book(
            "cieszyn",
            cieszyn_input(&meldunek, "2026-12-02T08:00:00Z", "ola@example.pl"),
        )
        .await;
    let code = str_at(&v, "/data/createBooking/booking/code");
    // 08:30: within CI-16's 60 minutes.
    let s = s.restart_at("2026-12-02T07:30:00Z").await;
    let k = Some(st.kiosk.as_str());
    let page = get(&s, "/t/cieszyn/kiosk/rezerwacja", k).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Kod rezerwacji"));
    assert!(page.body.contains("najwcześniej 60 minut"), "{}", page.body);
    let n = nonce_of(&page.body);

    // Without JavaScript each key is a POST answering the keypad with the key added.
    let typed = code[..2].to_lowercase();
    let key = &code[2..3];
    let a = post(
        &s,
        "/t/cieszyn/kiosk/rezerwacja",
        k,
        &[("typed", &typed), ("key", key), ("nonce", &n)],
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(
        a.body.contains(&format!("value=\"{typed}{key}\"")),
        "{}",
        a.body
    );
    // An unknown code: check it or ask at the information desk; what was typed stays.
    let a = post(
        &s,
        "/t/cieszyn/kiosk/rezerwacja",
        k,
        &[("typed", "xxxxxx"), ("go", "1"), ("nonce", &n)],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("Sprawdź kod"), "{}", a.body);
    assert!(a.body.contains("punkcie informacji"));
    assert!(a.body.contains("value=\"xxxxxx\""));

    let lower = code.to_lowercase();
    let a = post(
        &s,
        "/t/cieszyn/kiosk/rezerwacja",
        k,
        &[("typed", &lower), ("go", "1"), ("nonce", &n)],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let ticket = get(&s, &a.location, k).await;
    for text in [
        "M001",
        "Meldunek",
        "Wizyta umówiona na godz. 09:00",
        "02.12.2026 08:3",
    ] {
        assert!(ticket.body.contains(text), "{text}: {}", ticket.body);
    }
    // The same form again: the same ticket, not "already issued".
    let again = post(
        &s,
        "/t/cieszyn/kiosk/rezerwacja",
        k,
        &[("typed", &lower), ("go", "1"), ("nonce", &n)],
    )
    .await;
    assert_eq!(again.location, a.location);
    // Another screen's form: the ticket was issued already.
    let n2 = nonce_of(&get(&s, "/t/cieszyn/kiosk/rezerwacja", k).await.body);
    let a = post(
        &s,
        "/t/cieszyn/kiosk/rezerwacja",
        k,
        &[("typed", &code), ("go", "1"), ("nonce", &n2)],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("został już wydany"), "{}", a.body);
}

#[tokio::test]
async fn dabrowa_checks_in_by_phone_too_early_in_time_too_late() {
    let s = Server::start().await;
    let st = staff(&s, "dabrowa-gornicza").await;
    let service = s
        .service_id("dabrowa-gornicza", "rejestracja-dzialalnosci")
        .await;
    let input = |start: &str| {
        rodo_input(
            &service,
            start,
            json!({ "name": "Piotr Zieliński", "email": "piotr@example.pl", "phone": "600 100 200" }),
        )
    };
    // Wednesday 2 December 2026, 09:00 and 10:00 in Warsaw: two visits, one phone number.
    for start in ["2026-12-02T08:00:00Z", "2026-12-02T09:00:00Z"] {
        let v = s.book("dabrowa-gornicza", input(start)).await;
        assert!(v["errors"].is_null(), "{v}");
    }
    let path = "/t/dabrowa-gornicza/kiosk/rezerwacja";
    let k = Some(st.kiosk.as_str());

    // 08:20: too early; from when (DG-4: 30 minutes before).
    let s = s.restart_at("2026-12-02T07:20:00Z").await;
    let page = get(&s, path, k).await;
    assert!(page.body.contains("Numer telefonu"), "{}", page.body);
    assert!(page.body.contains("najwcześniej 30 minut"));
    assert!(page.body.contains("data-key=\"0\""), "a phone keypad");
    let a = phone_check_in(&s, k, "+48 600-100-200").await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(
        a.body.contains("Jest jeszcze za wcześnie") && a.body.contains("od godziny 08:30"),
        "{}",
        a.body
    );
    assert!(a.body.contains("o godzinie 09:00"));
    let a = phone_check_in(&s, k, "12345").await;
    assert!(a.body.contains("9 cyfr"), "{}", a.body);
    let a = phone_check_in(&s, k, "600 000 000").await;
    assert!(a.body.contains("Sprawdź numer"), "{}", a.body);

    // 08:35: in time for the 09:00 visit: the U ticket (DG-8); once more: the 10:00 one is
    // not yet due (one ticket per check-in).
    let s = s.restart_at("2026-12-02T07:35:00Z").await;
    let a = phone_check_in(&s, k, "600100200").await;
    assert_eq!(a.status, 303, "{}", a.body);
    let ticket = get(&s, &a.location, k).await;
    for text in [
        "U001",
        "Potwierdzenie umówionej internetowo wizyty",
        "Wizyta umówiona na godz. 09:00",
    ] {
        assert!(ticket.body.contains(text), "{text}: {}", ticket.body);
    }
    let a = phone_check_in(&s, k, "48600100200").await;
    assert!(a.body.contains("od godziny 09:30"), "{}", a.body);

    // 10:05: the 10:00 visit was not checked in by its time: lost, and the screen says what
    // to do instead.
    let s = s.restart_at("2026-12-02T09:05:00Z").await;
    let a = phone_check_in(&s, k, "+48 600-100-200").await;
    assert_eq!(a.status, 422);
    assert!(
        a.body
            .contains("wizyta umówiona na godzinę 10:00 została anulowana"),
        "{}",
        a.body
    );
    assert!(a.body.contains("Weź zwykły bilet"));
    drop(s);
}
