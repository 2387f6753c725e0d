//! End to end over HTTP against the real binary, one flow per city.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

/// ZG: immediate booking with vehicle data, e-mail with code and cancellation link, then
/// cancellation frees the seat at once (ZG-4, ZG-11).
#[tokio::test]
async fn zielona_gora_immediate_booking_then_cancellation() {
    let (s, service, start, before) =
        Server::with_free_slot("zielona-gora", "rejestracja-pojazdu", "2026-12-02").await;
    let v = s
        .book("zielona-gora", zielona_gora_vehicle(&service, &start))
        .await;
    let created = &v["data"]["createBooking"];
    assert_eq!(created["booking"]["status"], "CONFIRMED", "{v}");
    let token = created["managementToken"].as_str().unwrap().to_string();
    let code = created["booking"]["code"].as_str().unwrap().to_string();
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before - 1
    );

    let mail = mail_to(&s.mail_dir(), &code, "jan@example.pl").await;
    assert!(
        mail.contains(&format!("/t/zielona-gora/rezerwacja/{token}")),
        "{mail}"
    );
    assert!(mail.contains("Urząd Miasta Zielona Góra"), "{mail}");
    assert!(
        mail.contains("BEGIN:VCALENDAR"),
        "an .ics attachment: {mail}"
    );

    // The page behind the link offers the button; the button cancels.
    let (status, page) = s.get(&format!("/t/zielona-gora/rezerwacja/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Anuluj rezerwację") && page.contains(&code));

    let v = s.cancel("zielona-gora", &token).await;
    assert_eq!(v["data"]["cancelBooking"]["status"], "CANCELLED", "{v}");
    let mail = wait_for_mail(&s.mail_dir(), "wizyta została odwołana").await;
    assert!(mail.contains(&code), "{mail}");
    // ZG-12: the seat is not handed straight to whoever books next; it comes back after the
    // city's delay (15 minutes plus a random part of it, at most 30 minutes).
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before - 1
    );

    let v = s.cancel("zielona-gora", &token).await;
    assert_eq!(code_of(&v), "ALREADY_CANCELLED", "{v}");

    let s = s.restart_at("2026-12-01T08:31:00Z").await;
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before,
        "{}",
        s.log()
    );
}

fn gdynia_input(service: &str, start: &str) -> serde_json::Value {
    rodo_input(
        service,
        start,
        json!({ "name": "Anna Nowak", "email": "anna@example.pl" }),
    )
}

/// GD: a preliminary booking confirmed by the e-mailed link (GD-7, GD-9), then the
/// confirmation with number, desk, date and time (GD-8).
#[tokio::test]
async fn gdynia_pending_confirmed_by_link() {
    let (s, service, start, _) = Server::with_free_slot("gdynia", "meldunek", "2026-12-03").await;
    let v = s.book("gdynia", gdynia_input(&service, &start)).await;
    let b = &v["data"]["createBooking"]["booking"];
    assert_eq!(b["status"], "PENDING", "{v}");
    assert_eq!(
        b["confirmBy"], "2026-12-01T09:00:00+00:00",
        "60 minutes from now: {v}"
    );
    let code = b["code"].as_str().unwrap().to_string();
    let token = management_token(&v);

    let mail = wait_for_mail(&s.mail_dir(), "Aby potwierdzić rezerwację").await;
    let link = after(&mail, "Potwierdź rezerwację:").to_string();
    let path = link.strip_prefix(&s.base).unwrap().to_string();
    assert!(path.starts_with("/t/gdynia/potwierdz/"));

    // The management token is not the confirmation token: the form cannot skip the e-mail.
    let v = s.confirm("gdynia", &token, None).await;
    assert_eq!(code_of(&v), "INVALID_TOKEN", "{v}");

    // Opening the link only shows a button; pressing it confirms.
    let (status, page) = s.get(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Potwierdź rezerwację"));
    assert_eq!(
        s.gql("gdynia", BOOKING, json!({ "t": token })).await["data"]["booking"]["status"],
        "PENDING"
    );
    let (status, page) = s.post_form(&path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Rezerwacja potwierdzona"));
    assert_eq!(
        s.gql("gdynia", BOOKING, json!({ "t": token })).await["data"]["booking"]["status"],
        "CONFIRMED"
    );

    let mail = wait_for_mail(&s.mail_dir(), "potwierdza umówioną wizytę").await;
    assert!(
        mail.contains(&format!("Numer rezerwacji (kod): {code}")),
        "{mail}"
    );
    // GD-8: the desk, named once; Gdynia writes dates dd.mm.yyyy, without the phone line of DG-7.
    assert!(mail.contains("Stanowisko: 3\n"), "{mail}");
    assert!(
        mail.contains("Data wizyty: 03.12.2026") && mail.contains("Godzina wizyty: "),
        "{mail}"
    );
    assert!(!mail.contains("identyfikator"), "{mail}");

    // GD-13: cancelling is possible until the day before, not on the day.
    let v = s.booking("gdynia", &token, "cancellableUntil start").await;
    let until = v["data"]["booking"]["cancellableUntil"].as_str().unwrap();
    assert!(until < start.as_str(), "{until} before {start}");
}

/// GD: unconfirmed for 60 minutes → expired and the seat is free again (GD-9), crossed by
/// restarting the server with a later clock.
#[tokio::test]
async fn gdynia_pending_expires_after_sixty_minutes() {
    let (s, service, start, before) =
        Server::with_free_slot("gdynia", "meldunek", "2026-12-03").await;
    let v = s.book("gdynia", gdynia_input(&service, &start)).await;
    let token = management_token(&v);
    assert_eq!(s.remaining("gdynia", &service, &start).await, before - 1);
    let mail = wait_for_mail(&s.mail_dir(), "Aby potwierdzić rezerwację").await;
    let link = after(&mail, "otwórz link:\n").to_string();
    let confirm_token = link.rsplit('/').next().unwrap().to_string();

    // 59 minutes later it still holds its seat.
    let s = s.restart_at("2026-12-01T08:59:00Z").await;
    assert_eq!(
        s.gql("gdynia", BOOKING, json!({ "t": token })).await["data"]["booking"]["status"],
        "PENDING"
    );

    let s = s.restart_at("2026-12-01T09:01:00Z").await;
    assert_eq!(
        s.gql("gdynia", BOOKING, json!({ "t": token })).await["data"]["booking"]["status"],
        "EXPIRED"
    );
    assert_eq!(s.remaining("gdynia", &service, &start).await, before);
    let v = s.confirm("gdynia", &confirm_token, None).await;
    assert_eq!(code_of(&v), "BOOKING_EXPIRED", "{v}");
    wait_for_mail(
        &s.mail_dir(),
        "nie została potwierdzona w wyznaczonym czasie",
    )
    .await;
}

fn opole_input(service: &str, start: &str, email: &str) -> serde_json::Value {
    json!({
        "serviceId": service, "start": start,
        "client": { "name": "Ewa Wiśniewska", "email": email },
        "fields": [ { "key": "application_number", "value": "DO/123456/2026" } ],
        "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"]
    })
}

const CONFIRM_CODE: &str =
    "mutation($t: String!, $c: String) { confirmBooking(token: $t, code: $c) { status } }";

/// OP: confirmed by the e-mailed code (OP-7); a wrong code is refused and counted; after
/// five wrong codes the booking cannot be confirmed by code any more.
#[tokio::test]
async fn opole_confirmed_by_code_and_wrong_codes_refused() {
    let (s, service, start, _) =
        Server::with_free_slot("opole", "dowod-osobisty-odbior", "2026-12-02").await;
    let v = s
        .book("opole", opole_input(&service, &start, "ewa@example.pl"))
        .await;
    assert_eq!(created_status(&v), "PENDING", "{v}");
    let token = management_token(&v);
    let mail = wait_for_mail(&s.mail_dir(), "Kod potwierdzenia: ").await;
    let code = after(&mail, "Kod potwierdzenia: ").to_string();
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let v = s
        .gql("opole", CONFIRM_CODE, json!({ "t": token, "c": wrong }))
        .await;
    assert_refused(&v, "INVALID_CODE", "Pozostało prób: 4");
    let v = s
        .gql("opole", CONFIRM_CODE, json!({ "t": token, "c": code }))
        .await;
    assert_eq!(v["data"]["confirmBooking"]["status"], "CONFIRMED", "{v}");

    // A second booking: five wrong codes lock it, and then even the right one is refused.
    let (start2, _) = s.first_free_slot("opole", &service, "2026-12-03").await;
    let v = s
        .book("opole", opole_input(&service, &start2, "adam@example.pl"))
        .await;
    let token2 = management_token(&v);
    let mail2 = wait_for_mail(&s.mail_dir(), "To: adam@example.pl").await;
    let code2 = after(&mail2, "Kod potwierdzenia: ").to_string();
    let wrong2 = if code2 == "000000" {
        "111111"
    } else {
        "000000"
    };
    for i in 0..4 {
        let v = s
            .gql("opole", CONFIRM_CODE, json!({ "t": token2, "c": wrong2 }))
            .await;
        assert_eq!(code_of(&v), "INVALID_CODE", "try {i}: {v}");
    }
    let v = s
        .gql("opole", CONFIRM_CODE, json!({ "t": token2, "c": wrong2 }))
        .await;
    assert_eq!(code_of(&v), "CODE_LOCKED", "{v}");
    let v = s
        .gql("opole", CONFIRM_CODE, json!({ "t": token2, "c": code2 }))
        .await;
    assert_eq!(code_of(&v), "CODE_LOCKED", "{v}");

    // OP-10: ID pickup requires the application number.
    let mut input = opole_input(&service, &start2, "x@example.pl");
    input["fields"] = json!([]);
    let v = s.book("opole", input).await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"],
        "fields.application_number"
    );
}

/// OP-7: with a phone number and the SMS option, the code comes by SMS.
#[tokio::test]
async fn opole_code_by_sms() {
    let (s, service, start, _) =
        Server::with_free_slot("opole", "zameldowanie-wymeldowanie", "2026-12-02").await;
    let mut input = opole_input(&service, &start, "sms@example.pl");
    input["fields"] = json!([]);
    input["confirmationChannel"] = json!("SMS");
    let v = s.book("opole", input.clone()).await;
    assert_eq!(code_of(&v), "SMS_NEEDS_PHONE", "{v}");
    input["client"]["phone"] = json!("+48 601-234-567");
    let v = s.book("opole", input).await;
    let token = management_token(&v);
    let mut sms = String::new();
    for _ in 0..100 {
        sms = std::fs::read_to_string(s.data.join("sms.log")).unwrap_or_default();
        if !sms.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let line: serde_json::Value = serde_json::from_str(sms.lines().next().unwrap()).unwrap();
    assert_eq!(line["to"], "48601234567");
    let text = line["text"].as_str().unwrap();
    let code = after(text, "kod potwierdzenia wizyty ")
        .split(": ")
        .nth(1)
        .unwrap()[..6]
        .to_string();
    let v = s
        .gql("opole", CONFIRM_CODE, json!({ "t": token, "c": code }))
        .await;
    assert_eq!(v["data"]["confirmBooking"]["status"], "CONFIRMED", "{v}");
}

/// DG: the confirmation as DG-7 shows it: service with its letter, dd/mm/yyyy, and the phone
/// as a 48xxxxxxxxx identifier (DG-8), whatever form it was typed in.
#[tokio::test]
async fn dabrowa_confirmation_content() {
    let (s, service, start, _) =
        Server::with_free_slot("dabrowa-gornicza", "rejestracja-dzialalnosci", "2026-12-02").await;
    let client =
        json!({ "name": "Piotr", "email": "piotr@example.pl", "phone": "+48 662-138-278" });
    let v = s
        .book("dabrowa-gornicza", rodo_input(&service, &start, client))
        .await;
    let b = &v["data"]["createBooking"]["booking"];
    assert_eq!(b["status"], "CONFIRMED", "{v}");
    assert_eq!(b["clientPhone"], "48662138278");
    let mail = wait_for_mail(&s.mail_dir(), b["code"].as_str().unwrap()).await;
    let date =
        chrono::NaiveDate::parse_from_str(b["localDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert!(mail.contains("Klient: Piotr"), "{mail}");
    assert!(
        mail.contains("Usługa: R: Rejestracja działalności gospodarczej"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("Data wizyty: {}", date.format("%d/%m/%Y"))),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(
            "Godzina wizyty: {}",
            b["localTime"].as_str().unwrap()
        )),
        "{mail}"
    );
    assert!(
        mail.contains("Numer telefonu Klienta (identyfikator): 48662138278"),
        "{mail}"
    );

    // DG-6: the phone is required.
    let client = json!({ "name": "Piotr", "email": "p@example.pl" });
    let v = s
        .book("dabrowa-gornicza", rodo_input(&service, &start, client))
        .await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "client.phone");
}

/// CI: e-mail only (CI-11), the booking code on screen and in the e-mail (CI-12), bookable
/// from the next working day (CI-14), with a cancellation link (CI-15).
#[tokio::test]
async fn cieszyn_code_on_screen_and_in_mail() {
    // Friday 4 December 2026, 12:00 local: the first bookable day is Monday 7 December.
    let s = Server::builder().now("2026-12-04T11:00:00Z").start().await;
    let service = s.service_id("cieszyn", "meldunek").await;
    let v = s
        .gql(
            "cieszyn",
            "query($s: ID!) { bookingWindow(serviceId: $s) { firstDay lastDay } }",
            json!({ "s": service }),
        )
        .await;
    assert_eq!(v["data"]["bookingWindow"]["firstDay"], "2026-12-07", "{v}");
    assert_eq!(v["data"]["bookingWindow"]["lastDay"], "2027-01-04", "{v}");
    let (start, _) = s.first_free_slot("cieszyn", &service, "2026-12-04").await;
    assert!(start.starts_with("2026-12-07"), "{start}");
    let v = s
        .book("cieszyn", cieszyn_input(&service, &start, "ola@example.pl"))
        .await;
    let code = booking_code(&v);
    assert_eq!(code.len(), 6);
    let mail = wait_for_mail(&s.mail_dir(), &code).await;
    assert!(
        mail.contains(&format!("Numer rezerwacji (kod): {code}")),
        "{mail}"
    );
    assert!(mail.contains("Link do anulowania terminu: "), "{mail}");
    assert!(mail.contains("Urząd Miejski w Cieszynie"), "{mail}");
}
