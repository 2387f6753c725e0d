//! Every confirmation mode ends with an e-mail whose cancellation link, and its `.ics`, open
//! the booking's page, where the visit is cancelled after one confirming step (CI-15, ZG-11,
//! GD-13, DG-11; issue 10). The link is taken from the LAST e-mail the client received.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use okienko_test_support::eml_text;
use serde_json::{json, Value};

const CONFIRM: &str =
    "mutation($t: String!, $c: String) { confirmBooking(token: $t, code: $c) { status } }";

/// All e-mails to `to` so far, oldest first, decoded (file names are outbox ids).
fn mails_to(s: &Server, to: &str) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(s.mail_dir())
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|raw| raw.contains(&format!("To: {to}")))
        .collect()
}

/// Waits (bounded) until `to` has `n` e-mails; returns the last one, raw.
async fn last_mail(s: &Server, to: &str, n: usize) -> String {
    for _ in 0..200 {
        let m = mails_to(s, to);
        if m.len() >= n {
            return m.last().unwrap().clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} e-mails to {to}:\n{}", s.log());
}

/// The path after the server's base in the line `label: http…` of a decoded mail.
fn link_path(s: &Server, text: &str, label: &str) -> String {
    let url = after(text, &format!("{label}:"));
    url.strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("{url} is not on {}", s.base))
        .to_string()
}

/// The calendar entry of a raw e-mail, its transfer encoding undone and lines unfolded.
fn ics_of(raw: &str) -> String {
    let part = raw
        .split("Content-Type: text/calendar")
        .nth(1)
        .unwrap_or_else(|| panic!("no calendar entry in:\n{raw}"));
    let (headers, body) = part
        .split_once("\r\n\r\n")
        .or_else(|| part.split_once("\n\n"))
        .unwrap();
    let body = body.split("\r\n--").next().unwrap_or(body);
    let text = if headers.contains("Content-Transfer-Encoding: base64") {
        use base64::Engine;
        let b64: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    } else {
        eml_text(body)
    };
    text.replace("\r\n ", "").replace("\n ", "")
}

/// Follows the last e-mail's cancellation link: the booking page, its cancel button (a GET to
/// the page asking "Czy na pewno…?"), then that page's POST; the `.ics` carries the same link.
async fn cancel_by_last_mail(s: &Server, slug: &str, to: &str, n: usize) {
    let raw = last_mail(s, to, n).await;
    let text = eml_text(&raw);
    assert!(
        text.contains("Potwierdzenie wizyty"),
        "the last e-mail confirms the visit:\n{text}"
    );
    let path = link_path(s, &text, "Link do anulowania terminu");
    assert!(
        path.starts_with(&format!("/t/{slug}/rezerwacja/")) && path.len() > 40,
        "{path}"
    );
    let ics = ics_of(&raw);
    assert!(
        ics.contains(&format!("URL:{}{path}", s.base)),
        "the .ics links to the booking:\n{ics}"
    );
    assert!(
        ics.contains(&format!("Odwołanie: {}{path}", s.base)),
        "{ics}"
    );

    let (status, page) = s.get(&path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>Twoja rezerwacja</h1>"), "{page}");
    assert!(page.contains("potwierdzona"), "{page}");
    let ask = format!("{path}/anuluj");
    assert!(
        page.contains(&format!("<form method=\"get\" action=\"{ask}\">")),
        "{page}"
    );
    // The page offers the same calendar entry as a download (issue 13).
    let ics_path = format!("{path}/wizyta.ics");
    assert!(
        page.contains(&format!("<a href=\"{ics_path}\" download>")),
        "{page}"
    );
    let r = reqwest::get(format!("{}{ics_path}", s.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), "text/calendar; charset=utf-8");
    assert!(header("content-disposition").starts_with("attachment; filename=\"wizyta-"));
    assert_eq!(header("cache-control"), "no-store");
    let download = r.text().await.unwrap().replace("\r\n ", "");
    let line = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .to_string()
    };
    for key in [
        "UID:",
        "DTSTART:",
        "DTEND:",
        "SUMMARY:",
        "LOCATION:",
        "URL:",
    ] {
        assert_eq!(line(&download, key), line(&ics, key), "{download}");
    }
    let (status, confirm) = s.get(&ask).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("Czy na pewno"), "{confirm}");
    assert!(
        confirm.contains(&format!("<form method=\"post\" action=\"{ask}\">")),
        "{confirm}"
    );
    // Nothing changed by the GETs.
    let (_, again) = s.get(&path).await;
    assert!(again.contains("potwierdzona"), "{again}");

    let (status, done) = s.post_form(&ask).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Rezerwacja anulowana"), "{done}");
    let (_, after_page) = s.get(&path).await;
    assert!(after_page.contains("anulowana"), "{after_page}");
    assert!(!after_page.contains("Anuluj rezerwację"), "{after_page}");
    assert!(!after_page.contains("wizyta.ics"), "{after_page}");
    let (status, _) = s.get(&ics_path).await;
    assert_eq!(status, 404, "no calendar entry for a cancelled visit");

    // The cancellation e-mail links to the city's booking start.
    let cancelled = eml_text(&last_mail(s, to, n + 1).await);
    assert!(cancelled.contains("odwołana"), "{cancelled}");
    assert_eq!(
        link_path(s, &cancelled, "Umów nową wizytę"),
        format!("/t/{slug}/")
    );
}

/// CI, DG, ZG: confirmed at once; the one e-mail carries the link.
#[tokio::test]
async fn immediate_confirmation() {
    let (s, service, start, _) = Server::with_free_slot("cieszyn", "meldunek", "2026-12-02").await;
    let to = "natychmiast@example.pl";
    let v = s.book("cieszyn", cieszyn_input(&service, &start, to)).await;
    management_token(&v);
    cancel_by_last_mail(&s, "cieszyn", to, 1).await;
}

/// GD-7, GD-8: the preliminary e-mail's link confirms; the confirmation that follows has a
/// link of its own that works.
#[tokio::test]
async fn email_link_confirmation() {
    let s = Server::start().await;
    let to = "link@example.pl";
    let v = s.book_gdynia(to).await;
    management_token(&v);
    let first = eml_text(&last_mail(&s, to, 1).await);
    let confirm = link_path(&s, &first, "Potwierdź rezerwację");
    let (status, page) = s.get(&confirm).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Zameldowanie i wymeldowanie"),
        "what is confirmed: {page}"
    );
    let (status, done) = s.post_form(&confirm).await;
    assert_eq!(status, 200, "{done}");
    // GD-8: number, desk, date and time.
    let second = eml_text(&last_mail(&s, to, 2).await);
    assert!(second.contains("Stanowisko: 3\n"), "{second}");
    assert!(second.contains("Data wizyty: 03.12.2026"), "{second}");
    cancel_by_last_mail(&s, "gdynia", to, 2).await;
}

fn opole(service: &str, start: &str, to: &str, channel: &str, phone: Option<&str>) -> Value {
    json!({ "serviceId": service, "start": start,
            "client": { "name": "Ewa Wiśniewska", "email": to, "phone": phone },
            "fields": [ { "key": "application_number", "value": "DO/123456/2026" } ],
            "confirmationChannel": channel,
            "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] })
}

/// Books Opole's `dowod-osobisty-odbior` at its first free slot from 2 December for `to`,
/// the code sent by `channel`: (service, start, seats left before, management token).
async fn book_opole(
    s: &Server,
    to: &str,
    channel: &str,
    phone: Option<&str>,
) -> (String, String, i64, String) {
    let (service, start, before) = s
        .free_slot_of("opole", "dowod-osobisty-odbior", "2026-12-02")
        .await;
    let t = management_token(
        &s.book("opole", opole(&service, &start, to, channel, phone))
            .await,
    );
    (service, start, before, t)
}

/// OP-7: the e-mailed code confirms; the confirmation e-mail that follows carries the link.
#[tokio::test]
async fn email_code_confirmation() {
    let s = Server::start().await;
    let to = "kod@example.pl";
    let (_, _, _, t) = book_opole(&s, to, "EMAIL", None).await;
    let first = eml_text(&last_mail(&s, to, 1).await);
    let code = after(&first, "Kod potwierdzenia:").to_string();
    let v = s.gql("opole", CONFIRM, json!({ "t": t, "c": code })).await;
    assert_eq!(v["data"]["confirmBooking"]["status"], "CONFIRMED", "{v}");
    cancel_by_last_mail(&s, "opole", to, 2).await;
}

/// OP-7: the code by SMS; the e-mail after confirmation carries the link.
#[tokio::test]
async fn sms_code_confirmation() {
    let s = Server::start().await;
    let to = "sms@example.pl";
    let (_, _, _, t) = book_opole(&s, to, "SMS", Some("+48 601 234 567")).await;
    let mut sms = String::new();
    for _ in 0..100 {
        sms = std::fs::read_to_string(s.data.join("sms.log")).unwrap_or_default();
        if sms.contains("kod potwierdzenia") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // "…: kod potwierdzenia wizyty 02.12.2026 08:00: 846307. Ważny do 10:00."
    let code: String = sms
        .split(": ")
        .find(|p| p.len() > 6 && p.as_bytes()[..6].iter().all(u8::is_ascii_digit))
        .map(|p| p[..6].to_string())
        .unwrap_or_else(|| panic!("no code in {sms}"));
    let v = s.gql("opole", CONFIRM, json!({ "t": t, "c": code })).await;
    assert_eq!(
        v["data"]["confirmBooking"]["status"], "CONFIRMED",
        "{v} {sms}"
    );
    cancel_by_last_mail(&s, "opole", to, 1).await;
}

/// GD-4: a phone booking with an e-mail address gets the confirmation with its link, though
/// the caller never saw the management token.
#[tokio::test]
async fn phone_booking_with_email() {
    let s = Server::start().await;
    let operator = s.operator_token().await;
    let admin = s.admin_token(&operator, "gdynia").await;
    let service = s.service_id("gdynia", "meldunek").await;
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            "query($s: ID!) { staffAvailability(serviceId: $s, from: \"2026-12-03\", to: \"2026-12-03\") { slots { start remaining } } }",
            json!({ "s": service }),
        )
        .await;
    let start = v["data"]["staffAvailability"][0]["slots"][0]["start"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let to = "telefon@example.pl";
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            "mutation($i: PhoneBookingInput!) { createPhoneBooking(input: $i) { code } }",
            json!({ "i": { "serviceId": service, "start": start,
                           "client": { "name": "Halina Telefoniczna", "email": to }, "consents": ["rodo"] } }),
        )
        .await;
    assert!(v["data"]["createPhoneBooking"]["code"].is_string(), "{v}");
    cancel_by_last_mail(&s, "gdynia", to, 1).await;
}

/// Five wrong codes (CODE_LOCKED): the booking can never be confirmed, so its seat is free at
/// once, not after the hour of OP-8; the client is told and a sixth try says locked again.
#[tokio::test]
async fn a_locked_code_frees_the_seat_at_once() {
    let s = Server::start().await;
    let to = "blokada@example.pl";
    let (service, start, before, t) = book_opole(&s, to, "EMAIL", None).await;
    assert_eq!(s.remaining("opole", &service, &start).await, before - 1);
    let code = after(&eml_text(&last_mail(&s, to, 1).await), "Kod potwierdzenia:").to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let v = s.gql("opole", CONFIRM, json!({ "t": t, "c": wrong })).await;
        assert_eq!(code_of(&v), "INVALID_CODE", "{v}");
    }
    let v = s.gql("opole", CONFIRM, json!({ "t": t, "c": wrong })).await;
    assert_eq!(code_of(&v), "CODE_LOCKED", "{v}");
    assert_eq!(
        s.remaining("opole", &service, &start).await,
        before,
        "the seat is free again"
    );
    let v = s.gql("opole", CONFIRM, json!({ "t": t, "c": code })).await;
    assert_eq!(code_of(&v), "CODE_LOCKED", "even the right code: {v}");
    let b = s.gql("opole", BOOKING, json!({ "t": t })).await;
    assert_eq!(b["data"]["booking"]["status"], "CANCELLED", "{b}");
    let told = eml_text(&last_mail(&s, to, 2).await);
    assert!(
        told.contains("Rezerwacja") && told.contains("anulowana"),
        "{told}"
    );
    assert_eq!(link_path(&s, &told, "Umów nową wizytę"), "/t/opole/");
}

/// OP-7 from the e-mail: the booking page behind the e-mailed link leads to the code field,
/// a wrong code is shown at the field ("Błąd:"), the right one confirms (issue 13).
#[tokio::test]
async fn the_code_is_entered_from_the_emailed_link() {
    let s = Server::start().await;
    let to = "kod.strona@example.pl";
    let (_, _, _, t) = book_opole(&s, to, "EMAIL", None).await;
    let code = after(&eml_text(&last_mail(&s, to, 1).await), "Kod potwierdzenia:").to_string();
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c
        .get(format!("{}/t/opole/rezerwacja/{t}", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = format!("/t/opole/rezerwacja/{t}/kod");
    assert!(page.contains(&href), "{page}");
    let post = |code: String| {
        c.post(format!("{}{href}", s.base))
            .header("sec-fetch-site", "same-origin")
            .form(&[("code", code)])
            .send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(wrong.into()).await.unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("<title>Błąd: ") && body.contains("href=\"#code\""),
        "{body}"
    );
    let r = post(code).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/t/opole/rezerwacja/{t}").as_str()
    );
}
