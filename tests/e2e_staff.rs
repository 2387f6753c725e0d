//! Staff operations end to end (issue 5, phase B), against the real binary: phone bookings on
//! the staff quota (ZG-10, GD-2, GD-4, OP-3, CI-22), rejection (ZG-13), the day's bookings in
//! Relay pages with their history, visit outcomes (ZG-14, OP-14), personal-data export,
//! correction and erasure and the retention schedule (P-5, GD-14), complaints (CI-23) and who
//! may do what.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const PHONE: &str = "mutation($i: PhoneBookingInput!) { createPhoneBooking(input: $i) { code replayed \
    booking { id code status quota source clientName clientEmail clientPhone personalDataExpiresAt createdBy \
    localDate localTime consents termsVersion service { key desk } history { kind actor detail } } } }";

const STAFF_AVAILABILITY: &str = "query($s: ID!, $f: NaiveDate!, $t: NaiveDate!) { \
    staffAvailability(serviceId: $s, from: $f, to: $t) { date slots { start remaining } } }";

const BOOKING: &str = "query($id: ID!) { booking(id: $id) { id code status quota source clientName clientEmail \
    clientPhone fields erasedAt outcome outcomeNote cancelReason history { kind actor detail at } } }";

/// An administrator, a call-centre operator and a clerk of one city, with their passwords (a
/// restart moves the clock past their sessions).
struct Team {
    slug: &'static str,
    logins: Vec<(String, String)>,
}

impl Team {
    async fn new(s: &Server, slug: &'static str) -> Team {
        let op = s.operator_token().await;
        let admin_login = format!("admin@{slug}.example.pl");
        let admin_password = s.create_tenant_admin(&op, slug, &admin_login).await;
        let admin = s.staff_login(slug, &admin_login, &admin_password).await;
        let mut logins = vec![(admin_login, admin_password)];
        for (role, who) in [("CALL_CENTRE", "infolinia"), ("CLERK", "urzednik")] {
            let login = format!("{who}@{slug}.example.pl");
            let password = format!("haslo-{who}-12345");
            let v = s
                .admin(
                    slug,
                    Some(&admin),
                    &format!("mutation($l: String!, $p: String!) {{ createUser(login: $l, displayName: \"Pracownik Urzędu\", role: {role}, password: $p) {{ id }} }}"),
                    json!({ "l": login, "p": password }),
                )
                .await;
            assert!(v["errors"].is_null(), "{v}");
            logins.push((login, password));
        }
        Team { slug, logins }
    }

    /// Fresh sessions: (admin, call centre, clerk).
    async fn tokens(&self, s: &Server) -> (String, String, String) {
        let mut t = Vec::new();
        for (l, p) in &self.logins {
            t.push(s.staff_login(self.slug, l, p).await);
        }
        (t[0].clone(), t[1].clone(), t[2].clone())
    }
}

fn ok(v: &Value) -> &Value {
    assert!(v["errors"].is_null(), "{v}");
    &v["data"]
}

/// The first slot from `from` on with a staff seat left, and the seats left.
async fn first_staff_slot(
    s: &Server,
    slug: &str,
    token: &str,
    service: &str,
    from: &str,
) -> (String, i64) {
    let to =
        chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap() + chrono::Duration::days(14);
    let v = s
        .admin(
            slug,
            Some(token),
            STAFF_AVAILABILITY,
            json!({ "s": service, "f": from, "t": to.to_string() }),
        )
        .await;
    for day in ok(&v)["staffAvailability"].as_array().unwrap() {
        for slot in day["slots"].as_array().unwrap() {
            if slot["remaining"].as_i64().unwrap() > 0 {
                return (
                    slot["start"].as_str().unwrap().to_string(),
                    slot["remaining"].as_i64().unwrap(),
                );
            }
        }
    }
    panic!("no staff seat: {v}");
}

async fn staff_remaining(s: &Server, slug: &str, token: &str, service: &str, start: &str) -> i64 {
    let date = local_date(start);
    let v = s
        .admin(
            slug,
            Some(token),
            STAFF_AVAILABILITY,
            json!({ "s": service, "f": date, "t": date }),
        )
        .await;
    let want = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    ok(&v)["staffAvailability"][0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            chrono::DateTime::parse_from_rfc3339(x["start"].as_str().unwrap()).unwrap() == want
        })
        .map(|x| x["remaining"].as_i64().unwrap())
        .unwrap_or_else(|| panic!("slot {start} not offered: {v}"))
}

fn local_date(start: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Warsaw)
        .date_naive()
        .to_string()
}

/// An instant as RFC 3339 in UTC, `days` days and `hm` local time after the local day of
/// `start` (Europe/Warsaw in winter is UTC+1).
fn local_day_at(start: &str, days: i64, hm: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(&local_date(start), "%Y-%m-%d").unwrap()
        + chrono::Duration::days(days);
    let t = chrono::NaiveTime::parse_from_str(hm, "%H:%M").unwrap();
    let local = d.and_time(t);
    let utc = local - chrono::Duration::hours(1);
    format!("{}Z", utc.format("%Y-%m-%dT%H:%M:%S"))
}

fn kinds(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Phone bookings (ZG-10, GD-2, GD-4, OP-3, CI-22) and rejection (ZG-13), on both backends
// ---------------------------------------------------------------------------------------------

async fn phone_bookings_and_rejection(backend: Backend) {
    let Some((_db, s)) = Server::for_backend(backend).await else {
        return;
    };
    let team = Team::new(&s, "gdynia").await;
    let (admin, cc, clerk) = team.tokens(&s).await;
    let service = s.service_id("gdynia", "meldunek").await;
    let (start, staff_before) = first_staff_slot(&s, "gdynia", &cc, &service, "2026-12-02").await;
    assert_eq!(staff_before, 2, "Gdynia's staff quota for the service");
    let online_before = s.remaining("gdynia", &service, &start).await;

    // GD-2: the name is required; e-mail and phone are optional.
    let input = |client: Value| json!({ "i": { "serviceId": service, "start": start, "client": client, "consents": ["rodo"] } });
    let v = s
        .admin("gdynia", Some(&cc), PHONE, input(json!({ "name": " " })))
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "client.name");

    // GD-4: without an e-mail the operator reads the number out.
    let v = s
        .admin(
            "gdynia",
            Some(&cc),
            PHONE,
            input(json!({ "name": "Halina Telefoniczna" })),
        )
        .await;
    let p = &ok(&v)["createPhoneBooking"];
    let silent_code = p["code"].as_str().unwrap().to_string();
    assert_eq!(silent_code.len(), 6);
    assert_eq!(p["booking"]["status"], "CONFIRMED", "confirmed at once");
    assert_eq!(p["booking"]["quota"], "STAFF");
    assert_eq!(p["booking"]["source"], "phone");
    assert_eq!(p["booking"]["clientEmail"], Value::Null);
    assert_eq!(p["booking"]["consents"], json!([["rodo", "1.0"]]), "P-4");
    assert_eq!(p["booking"]["termsVersion"], "1.0");
    assert!(p["booking"]["createdBy"]
        .as_str()
        .unwrap()
        .contains("(call_centre)"));
    // GD-14: marked for erasure at the end of the visit day.
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(
            p["booking"]["personalDataExpiresAt"].as_str().unwrap()
        )
        .unwrap(),
        chrono::DateTime::parse_from_rfc3339(&local_day_at(&start, 1, "00:00")).unwrap(),
        "{v}"
    );
    assert_eq!(kinds(&p["booking"]["history"]), ["created"]);
    assert!(p["booking"]["history"][0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("user:"));

    // GD-4: with an e-mail, the confirmation carries number, desk, date and time.
    let v = s
        .admin(
            "gdynia",
            Some(&cc),
            PHONE,
            input(json!({ "name": "Zofia Dzwoniąca", "email": "zofia@example.pl", "phone": "601 222 333" })),
        )
        .await;
    let p = &ok(&v)["createPhoneBooking"];
    let code = p["code"].as_str().unwrap().to_string();
    assert_eq!(p["booking"]["clientPhone"], "48601222333");
    let mail = mail_to(&s.mail_dir(), &code, "zofia@example.pl").await;
    assert!(
        mail.contains(&format!("Numer rezerwacji (kod): {code}")),
        "{mail}"
    );
    // GD-8: the desk, named once (not "Stanowisko: Stanowisko 3").
    assert!(mail.contains("Stanowisko: 3\n"), "{mail}");
    let local = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Warsaw);
    assert!(
        mail.contains(&format!("Data wizyty: {}", local.format("%d.%m.%Y"))),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("Godzina wizyty: {}", local.format("%H:%M"))),
        "{mail}"
    );
    let mails: Vec<String> = std::fs::read_dir(s.mail_dir())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        mails.iter().all(|m| !m.contains(&silent_code)),
        "no e-mail for the booking without an address"
    );

    // P-3: the staff quota went down by two; the online seats are untouched.
    assert_eq!(s.remaining("gdynia", &service, &start).await, online_before);
    assert_eq!(
        staff_remaining(&s, "gdynia", &cc, &service, &start).await,
        0
    );
    let v = s
        .admin(
            "gdynia",
            Some(&cc),
            PHONE,
            input(json!({ "name": "Trzeci Rozmówca" })),
        )
        .await;
    assert_code(&v, "SLOT_FULL");

    // A retried request with its idempotency key gets the first booking.
    let (start2, _) = first_staff_slot(&s, "gdynia", &cc, &service, &local_date(&start)).await;
    let retry = json!({ "i": { "serviceId": service, "start": start2, "client": { "name": "Jan Ponowny" }, "idempotencyKey": "rozmowa-17" } });
    let first = s.admin("gdynia", Some(&cc), PHONE, retry.clone()).await;
    let again = s.admin("gdynia", Some(&cc), PHONE, retry).await;
    assert_eq!(
        ok(&first)["createPhoneBooking"]["code"],
        ok(&again)["createPhoneBooking"]["code"]
    );
    assert_eq!(again["data"]["createPhoneBooking"]["replayed"], true);

    // A clerk does not book for clients.
    let v = s
        .admin(
            "gdynia",
            Some(&clerk),
            PHONE,
            input(json!({ "name": "Ktoś Inny" })),
        )
        .await;
    assert_code(&v, "FORBIDDEN");

    // ZG-13: the administrator rejects with a reason; the seat is free at once; the client is
    // told why. A clerk and the call centre cannot reject.
    let id = p["booking"]["id"].as_str().unwrap().to_string();
    let reject = "mutation($id: ID!, $r: String!) { rejectBooking(id: $id, reason: $r) { status cancelReason history { kind detail } } }";
    let reason = "Wybrano niewłaściwą usługę: sprawa dotyczy zameldowania cudzoziemca.";
    for who in [&clerk, &cc] {
        let v = s
            .admin(
                "gdynia",
                Some(who),
                reject,
                json!({ "id": id, "r": reason }),
            )
            .await;
        assert_code(&v, "FORBIDDEN");
    }
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            reject,
            json!({ "id": id, "r": "x" }),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            reject,
            json!({ "id": id, "r": reason }),
        )
        .await;
    let r = &ok(&v)["rejectBooking"];
    assert_eq!(r["status"], "REJECTED");
    assert_eq!(r["cancelReason"], reason);
    assert_eq!(kinds(&r["history"]), ["created", "rejected"]);
    assert_eq!(r["history"][1]["detail"]["reason"], reason);
    assert_eq!(
        staff_remaining(&s, "gdynia", &cc, &service, &start).await,
        1
    );
    let mail = wait_for_mail(&s.mail_dir(), "została odrzucona").await;
    assert!(mail.contains(&format!("Powód: {reason}")), "{mail}");
    assert!(
        mail.contains(&code) && mail.contains("To: zofia@example.pl"),
        "{mail}"
    );
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            reject,
            json!({ "id": id, "r": reason }),
        )
        .await;
    assert_code(&v, "ALREADY_CANCELLED");

    // The audit log names who did it, without the client's data.
    let v = s
        .admin(
            "gdynia",
            Some(&admin),
            "{ auditLog(first: 50) { entries { actor action target before after } } }",
            json!({}),
        )
        .await;
    let entries = ok(&v)["auditLog"]["entries"].as_array().unwrap().clone();
    let rejected = entries
        .iter()
        .find(|e| e["action"] == "booking.reject")
        .unwrap();
    assert_eq!(rejected["target"], format!("booking:{id}"));
    assert!(rejected["actor"].as_str().unwrap().contains("(admin)"));
    assert!(rejected["after"].as_str().unwrap().contains("rejected"));
    let created = entries
        .iter()
        .filter(|e| e["action"] == "booking.phone_create")
        .count();
    assert_eq!(created, 3);
    assert!(entries
        .iter()
        .all(|e| !e.to_string().contains("zofia@example.pl") && !e.to_string().contains("Zofia")));
}

on_both_backends!(#[tokio::test] phone_bookings_and_rejection_sqlite, phone_bookings_and_rejection_postgres => phone_bookings_and_rejection);

/// ZG-13 on an online booking: the seat comes back at once (not after the anti-resale delay of
/// a client's cancellation) and the e-mail says why.
#[tokio::test]
async fn rejection_of_an_online_booking_frees_its_seat_at_once() {
    let s = Server::start().await;
    let team = Team::new(&s, "zielona-gora").await;
    let (admin, _, _) = team.tokens(&s).await;
    let (service, start, before) = s
        .free_slot_of("zielona-gora", "rejestracja-pojazdu", "2026-12-02")
        .await;
    let v = s
        .book("zielona-gora", zielona_gora_vehicle(&service, &start))
        .await;
    let code = booking_code(&v);
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before - 1
    );
    let found = s
        .admin(
            "zielona-gora",
            Some(&admin),
            "query($c: String!) { bookingByCode(code: $c) { id quota source fields } }",
            json!({ "c": code.to_lowercase() }),
        )
        .await;
    let b = &ok(&found)["bookingByCode"];
    assert_eq!(
        (b["quota"].as_str(), b["source"].as_str()),
        (Some("ONLINE"), Some("online"))
    );
    assert_eq!(b["fields"]["registration_number"], "FZ4K7R2");
    let v = s
        .admin(
            "zielona-gora",
            Some(&admin),
            "mutation($id: ID!) { rejectBooking(id: $id, reason: \"Numer rejestracyjny nie istnieje w CEPiK.\") { status } }",
            json!({ "id": b["id"] }),
        )
        .await;
    assert_eq!(ok(&v)["rejectBooking"]["status"], "REJECTED");
    assert_eq!(s.remaining("zielona-gora", &service, &start).await, before);
    let mail = wait_for_mail(&s.mail_dir(), "Powód: Numer rejestracyjny nie istnieje").await;
    assert!(mail.contains(&code), "{mail}");
}

// ---------------------------------------------------------------------------------------------
// The day's bookings in Relay pages, and their history
// ---------------------------------------------------------------------------------------------

const PAGE: &str = "query($d: NaiveDate, $f: Int, $a: String, $l: Int, $b: String, $s: ID, $st: BookingStatus) { \
    bookings(date: $d, first: $f, after: $a, last: $l, before: $b, serviceId: $s, status: $st) { totalCount \
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id code start status service { key } } } } }";

#[tokio::test]
async fn relay_pages_walk_the_days_bookings_once() {
    let s = Server::start().await;
    let slug = "dabrowa-gornicza";
    let team = Team::new(&s, slug).await;
    let (admin, cc, clerk) = team.tokens(&s).await;
    let services = [
        s.service_id(slug, "rejestracja-dzialalnosci").await,
        s.service_id(slug, "meldunek").await,
        s.service_id(slug, "zmiany-ceidg").await,
    ];
    let (first_start, _) = first_staff_slot(&s, slug, &cc, &services[0], "2026-12-02").await;
    let day = local_date(&first_start);
    let mut codes = BTreeSet::new();
    // Phone bookings (one staff seat per slot) and online ones, on one day.
    for (i, service) in services.iter().enumerate() {
        for j in 0..2 {
            let (start, _) = first_staff_slot(&s, slug, &cc, service, &day).await;
            assert_eq!(local_date(&start), day);
            let v = s
                .admin(
                    slug,
                    Some(&cc),
                    PHONE,
                    json!({ "i": { "serviceId": service, "start": start,
                        "client": { "name": "Klient Telefoniczny", "phone": format!("60{i}10{j}000") } } }),
                )
                .await;
            codes.insert(
                ok(&v)["createPhoneBooking"]["code"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let (start, _) = s.first_free_slot(slug, service, &day).await;
        let v = s
            .book(
                slug,
                json!({
                    "serviceId": service, "start": start,
                    "client": { "name": "Klient Internetowy", "email": format!("k{i}@example.pl"), "phone": format!("70{i}200300") },
                    "acceptedTermsVersion": "1.0", "consents": ["rodo"]
                }),
            )
            .await;
        codes.insert(booking_code(&v));
    }
    assert_eq!(codes.len(), 9);

    // Forward, three at a time: every booking once, in slot order.
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let v = s
            .admin(
                slug,
                Some(&clerk),
                PAGE,
                json!({ "d": day, "f": 3, "a": after }),
            )
            .await;
        let conn = &ok(&v)["bookings"];
        assert_eq!(conn["totalCount"], 9);
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["code"].as_str().unwrap().to_string());
            starts.push(e["node"]["start"].as_str().unwrap().to_string());
        }
        pages += 1;
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], pages > 1);
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(pages < 10, "{v}");
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen.iter().cloned().collect::<BTreeSet<_>>(),
        codes,
        "no duplicates, none missing"
    );
    assert_eq!(seen.len(), 9);
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "sorted by slot start");

    // Backward, two at a time: the same list.
    let mut back = Vec::new();
    let mut before = Value::Null;
    loop {
        let v = s
            .admin(
                slug,
                Some(&cc),
                PAGE,
                json!({ "d": day, "l": 2, "b": before }),
            )
            .await;
        let conn = &ok(&v)["bookings"];
        let page: Vec<String> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["code"].as_str().unwrap().to_string())
            .collect();
        back.splice(0..0, page);
        if conn["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = conn["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(back, seen);

    // Filters: a service, a status; another day is empty.
    let v = s
        .admin(
            slug,
            Some(&admin),
            PAGE,
            json!({ "d": day, "s": services[1] }),
        )
        .await;
    let conn = &ok(&v)["bookings"];
    assert_eq!(conn["totalCount"], 3);
    assert!(conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["node"]["service"]["key"] == "meldunek"));
    let v = s
        .admin(
            slug,
            Some(&admin),
            PAGE,
            json!({ "d": day, "st": "CANCELLED" }),
        )
        .await;
    assert_eq!(ok(&v)["bookings"]["totalCount"], 0);
    let v = s
        .admin(slug, Some(&admin), PAGE, json!({ "d": "2026-12-31" }))
        .await;
    assert_eq!(ok(&v)["bookings"]["totalCount"], 0);
    // Bad page arguments and cursors are refused in Polish.
    for vars in [
        json!({ "f": 0 }),
        json!({ "f": 101 }),
        json!({ "f": 2, "l": 2 }),
        json!({ "a": "nie-kursor" }),
    ] {
        let v = s.admin(slug, Some(&admin), PAGE, vars).await;
        assert_code(&v, "VALIDATION_FAILED");
    }
}

// ---------------------------------------------------------------------------------------------
// History and outcomes: the desk records what happened (ZG-14); a no-show blocks online
// booking in the department (OP-14)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn history_and_outcomes_with_a_no_show_blocking_online_booking() {
    let s = Server::start().await;
    let slug = "opole";
    let team = Team::new(&s, slug).await;
    let (_, cc, _) = team.tokens(&s).await;
    let service = s.service_id(slug, "zameldowanie-wymeldowanie").await;
    let (start, _) = first_staff_slot(&s, slug, &cc, &service, "2026-12-02").await;
    let v = s
        .admin(
            slug,
            Some(&cc),
            PHONE,
            json!({ "i": { "serviceId": service, "start": start,
                "client": { "name": "Olga Nowak", "email": "olga@example.pl" } } }),
        )
        .await;
    let id = ok(&v)["createPhoneBooking"]["booking"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (other_start, _) = first_staff_slot(&s, slug, &cc, &service, &local_date(&start)).await;
    let v = s
        .admin(
            slug,
            Some(&cc),
            PHONE,
            json!({ "i": { "serviceId": service, "start": other_start,
                "client": { "name": "Piotr Zieliński", "email": "piotr@example.pl" } } }),
        )
        .await;
    let other = ok(&v)["createPhoneBooking"]["booking"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outcome = "mutation($id: ID!, $o: VisitOutcome!, $n: String) { recordVisitOutcome(id: $id, outcome: $o, note: $n) { outcome outcomeNote outcomeBy history { kind detail } } }";

    // Before the visit day nothing can be recorded.
    let (_, _, clerk) = team.tokens(&s).await;
    let v = s
        .admin(
            slug,
            Some(&clerk),
            outcome,
            json!({ "id": id, "o": "ATTENDED" }),
        )
        .await;
    assert_code(&v, "CHANGE_NOT_ALLOWED");

    // An hour after the visit.
    let after_visit = {
        let t = chrono::DateTime::parse_from_rfc3339(&start).unwrap() + chrono::Duration::hours(1);
        t.to_rfc3339()
    };
    let s = s.restart_at(&after_visit).await;
    let (admin, cc, clerk) = team.tokens(&s).await;
    // The call centre does not record outcomes.
    let v = s
        .admin(
            slug,
            Some(&cc),
            outcome,
            json!({ "id": id, "o": "NO_SHOW" }),
        )
        .await;
    assert_code(&v, "FORBIDDEN");
    // ZG-14: a refusal needs its reason.
    let v = s
        .admin(
            slug,
            Some(&clerk),
            outcome,
            json!({ "id": other, "o": "REFUSED" }),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "note");
    let v = s
        .admin(
            slug,
            Some(&clerk),
            outcome,
            json!({ "id": other, "o": "REFUSED", "n": "Dane we wniosku niezgodne z dokumentem." }),
        )
        .await;
    let r = &ok(&v)["recordVisitOutcome"];
    assert_eq!(r["outcome"], "REFUSED");
    assert!(r["outcomeBy"].as_str().unwrap().contains("(clerk)"));
    let v = s
        .admin(
            slug,
            Some(&clerk),
            outcome,
            json!({ "id": id, "o": "NO_SHOW" }),
        )
        .await;
    let r = &ok(&v)["recordVisitOutcome"];
    assert_eq!(r["outcome"], "NO_SHOW");
    assert_eq!(kinds(&r["history"]), ["created", "outcome_recorded"]);
    assert_eq!(r["history"][1]["detail"]["outcome"], "no_show");

    // OP-14: the same person cannot book online in the department for a while.
    let (later, _) = s
        .first_free_slot(
            slug,
            &service,
            &local_date(&local_day_at(&start, 5, "12:00")),
        )
        .await;
    let v = s
        .book(
            slug,
            json!({ "serviceId": service, "start": later, "client": { "name": "Olga Nowak", "email": "olga@example.pl" },
                    "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] }),
        )
        .await;
    assert_eq!(code_of(&v), "NO_SHOW_BLOCKED", "{v}");

    // The history of the booking, for staff, with who did what.
    let v = s
        .admin(slug, Some(&admin), BOOKING, json!({ "id": id }))
        .await;
    let h = &ok(&v)["booking"]["history"];
    assert_eq!(kinds(h), ["created", "outcome_recorded"]);
    assert!(h[0]["actor"].as_str().unwrap().contains("(call_centre)"));
    assert!(h[1]["actor"].as_str().unwrap().contains("(clerk)"));
}

/// The events of the public booking flow show in the staff's history of a booking.
#[tokio::test]
async fn the_public_flow_writes_the_history() {
    let s = Server::start().await;
    let slug = "dabrowa-gornicza";
    let team = Team::new(&s, slug).await;
    let (admin, cc, _) = team.tokens(&s).await;
    let service = s.service_id(slug, "rejestracja-dzialalnosci").await;
    let (start, _) = s.first_free_slot(slug, &service, "2026-12-02").await;
    let v = s
        .book(
            slug,
            rodo_input(
                &service,
                &start,
                json!({ "name": "Anna Kowal", "email": "anna@example.pl", "phone": "601234567" }),
            ),
        )
        .await;
    let created = &v["data"]["createBooking"];
    let token = created["managementToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let code = created["booking"]["code"].as_str().unwrap().to_string();
    let (later, _) = s.first_free_slot(slug, &service, "2026-12-04").await;
    let v = s
        .gql(
            slug,
            "mutation($t: String!, $s: DateTime!) { rescheduleBooking(token: $t, start: $s) { status } }",
            json!({ "t": token, "s": later }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s
        .gql(
            slug,
            "mutation($t: String!) { updateBookingClient(token: $t, client: { name: \"Anna Kowal\", email: \"anna.k@example.pl\", phone: \"601234567\" }) { status } }",
            json!({ "t": token }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s.cancel(slug, &token).await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s
        .admin(
            slug,
            Some(&cc),
            "query($c: String!) { bookingByCode(code: $c) { history { kind actor detail } } }",
            json!({ "c": code }),
        )
        .await;
    let h = &ok(&v)["bookingByCode"]["history"];
    assert_eq!(
        kinds(h),
        ["created", "rescheduled", "client_updated", "cancelled"],
        "{v}"
    );
    assert!(h.as_array().unwrap().iter().all(|e| e["actor"] == "client"));
    assert_eq!(h[2]["detail"]["fields"], json!(["email"]));
    assert!(
        !h.to_string().contains("anna"),
        "no personal data in the history"
    );
    let _ = admin;
}

// ---------------------------------------------------------------------------------------------
// Personal-data rights (P-5): export, correction, erasure
// ---------------------------------------------------------------------------------------------

const EXPORT: &str = "query($c: ClientSelectorInput!) { exportClientData(client: $c) }";

#[tokio::test]
async fn export_correction_and_erasure_of_a_clients_data() {
    let s = Server::start().await;
    let slug = "zielona-gora";
    let team = Team::new(&s, slug).await;
    let (admin, cc, clerk) = team.tokens(&s).await;
    let other_city = Team::new(&s, "dabrowa-gornicza").await;
    let (dg_admin, _, _) = other_city.tokens(&s).await;
    let service = s.service_id(slug, "prawo-jazdy").await;
    let book = |name: &str, email: &str, phone: &str, start: &str| {
        json!({ "serviceId": service, "start": start,
                "client": { "name": name, "email": email, "phone": phone },
                "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] })
    };
    let (start, _) = s.first_free_slot(slug, &service, "2026-12-02").await;
    let v = s
        .book(
            slug,
            book("Marta Lis", "marta@example.pl", "601000111", &start),
        )
        .await;
    let marta = booking_code(&v);
    let v = s
        .book(
            slug,
            book("Karol Wilk", "karol@example.pl", "601000222", &start),
        )
        .await;
    let karol = booking_code(&v);
    // Marta by phone too, and in another city.
    let (phone_start, _) = first_staff_slot(&s, slug, &cc, &service, "2026-12-03").await;
    let v = s
        .admin(
            slug,
            Some(&cc),
            PHONE,
            json!({ "i": { "serviceId": service, "start": phone_start,
                "client": { "name": "Marta Lis", "phone": "+48 601 000 111" } } }),
        )
        .await;
    let marta_phone = ok(&v)["createPhoneBooking"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let (dg_service, dg_start, _) = s
        .free_slot_of("dabrowa-gornicza", "meldunek", "2026-12-02")
        .await;
    let client = json!({ "name": "Marta Lis", "email": "marta@example.pl", "phone": "601000111" });
    let v = s
        .book(
            "dabrowa-gornicza",
            rodo_input(&dg_service, &dg_start, client),
        )
        .await;
    let marta_dg = booking_code(&v);
    let v = s
        .gql(
            slug,
            "mutation($i: ComplaintInput!) { fileComplaint(input: $i) { reference } }",
            json!({ "i": { "text": "Nie otrzymałam potwierdzenia SMS.", "contactEmail": "marta@example.pl", "bookingCode": marta } }),
        )
        .await;
    let reference = v["data"]["fileComplaint"]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    wait_for_mail(&s.mail_dir(), &marta).await;

    // Only administrators handle personal data.
    for who in [&cc, &clerk] {
        let v = s
            .admin(
                slug,
                Some(who),
                EXPORT,
                json!({ "c": { "email": "marta@example.pl" } }),
            )
            .await;
        assert_code(&v, "FORBIDDEN");
        let v = s
            .admin(slug, Some(who), "mutation { eraseClientData(client: { email: \"marta@example.pl\" }, reason: \"Wniosek klientki\") { bookings } }", json!({}))
            .await;
        assert_code(&v, "FORBIDDEN");
    }
    let v = s
        .admin(slug, Some(&admin), EXPORT, json!({ "c": {} }))
        .await;
    assert_code(&v, "VALIDATION_FAILED");

    // Export by e-mail and phone: her bookings, messages and complaint; nothing of Karol's or of
    // the other city.
    let v = s
        .admin(
            slug,
            Some(&admin),
            EXPORT,
            json!({ "c": { "email": "MARTA@example.pl", "phone": "601 000 111" } }),
        )
        .await;
    let data = &ok(&v)["exportClientData"];
    let text = data.to_string();
    let codes: BTreeSet<&str> = data["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        BTreeSet::from([marta.as_str(), marta_phone.as_str()]),
        "{data}"
    );
    assert!(
        !text.contains(&karol) && !text.contains("karol@") && !text.contains("Karol"),
        "{data}"
    );
    assert!(!text.contains(&marta_dg), "another city's booking: {data}");
    let online = data["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == marta)
        .unwrap();
    assert_eq!(online["client"]["email"], "marta@example.pl");
    assert_eq!(
        online["consents"],
        json!([["rodo", "1.0"], ["komunikacja_elektroniczna", "1.0"]])
    );
    assert_eq!(online["termsVersion"], "1.0");
    assert_eq!(online["history"][0]["kind"], "created");
    assert!(data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["recipient"] == "marta@example.pl" && m["booking"] == marta));
    assert_eq!(data["complaints"][0]["reference"], reference);
    assert_eq!(data["complaints"][0]["bookingCode"], marta);
    // The other city's administrator finds nothing of hers in Zielona Góra's data.
    let v = s
        .admin(
            "dabrowa-gornicza",
            Some(&dg_admin),
            EXPORT,
            json!({ "c": { "email": "marta@example.pl" } }),
        )
        .await;
    let dg = &ok(&v)["exportClientData"];
    assert_eq!(dg["bookings"].as_array().unwrap().len(), 1);
    assert_eq!(dg["bookings"][0]["code"], marta_dg);
    assert!(dg["complaints"].as_array().unwrap().is_empty());

    // Correction of Karol's name on his bookings.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { correctClientData(client: { email: \"karol@example.pl\" }, name: \"Karol Wilczek\") { code clientName history { kind detail } } }",
            json!({}),
        )
        .await;
    let fixed = &ok(&v)["correctClientData"];
    assert_eq!(fixed[0]["code"], karol);
    assert_eq!(fixed[0]["clientName"], "Karol Wilczek");
    assert_eq!(kinds(&fixed[0]["history"]), ["created", "client_updated"]);
    assert_eq!(fixed[0]["history"][1]["detail"]["fields"], json!(["name"]));

    // Erasure: refused while her visits are ahead; after they are cancelled, her data go.
    let erase = "mutation($c: ClientSelectorInput!, $r: String!) { eraseClientData(client: $c, reason: $r) { bookings complaints messages } }";
    let who = json!({ "email": "marta@example.pl", "phone": "601000111" });
    let v = s
        .admin(
            slug,
            Some(&admin),
            erase,
            json!({ "c": who, "r": "Wniosek klientki o usunięcie danych (art. 17 RODO)" }),
        )
        .await;
    assert_code(&v, "CHANGE_NOT_ALLOWED");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains(&marta),
        "{v}"
    );
    for code in [&marta, &marta_phone] {
        let b = s
            .admin(
                slug,
                Some(&cc),
                "query($c: String!) { bookingByCode(code: $c) { id } }",
                json!({ "c": code }),
            )
            .await;
        let v = s
            .admin(
                slug,
                Some(&cc),
                "mutation($id: ID!) { cancelBookingForClient(id: $id) { status cancelReason } }",
                json!({ "id": ok(&b)["bookingByCode"]["id"] }),
            )
            .await;
        assert_eq!(ok(&v)["cancelBookingForClient"]["status"], "CANCELLED");
    }
    let v = s
        .admin(
            slug,
            Some(&admin),
            erase,
            json!({ "c": who, "r": "Wniosek klientki o usunięcie danych (art. 17 RODO)" }),
        )
        .await;
    let report = &ok(&v)["eraseClientData"];
    assert_eq!(report["bookings"], 2, "{v}");
    assert_eq!(report["complaints"], 1, "{v}");
    let b = s
        .admin(
            slug,
            Some(&admin),
            "query($c: String!) { bookingByCode(code: $c) { id } }",
            json!({ "c": marta }),
        )
        .await;
    let v = s
        .admin(
            slug,
            Some(&admin),
            BOOKING,
            json!({ "id": ok(&b)["bookingByCode"]["id"] }),
        )
        .await;
    let erased = &ok(&v)["booking"];
    assert_eq!(
        (
            &erased["clientName"],
            &erased["clientEmail"],
            &erased["clientPhone"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(erased["fields"], json!({}));
    assert!(erased["erasedAt"].is_string());
    assert_eq!(erased["status"], "CANCELLED", "the anonymous facts stay");
    let h = erased["history"].as_array().unwrap();
    assert_eq!(h.last().unwrap()["kind"], "erased");
    assert!(h.last().unwrap()["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("art. 17"));
    // Nothing of hers is left to export; Karol's and the other city's data stay.
    let v = s
        .admin(
            slug,
            Some(&admin),
            EXPORT,
            json!({ "c": { "email": "marta@example.pl" } }),
        )
        .await;
    let data = &ok(&v)["exportClientData"];
    assert!(data["bookings"].as_array().unwrap().is_empty(), "{data}");
    assert!(data["complaints"].as_array().unwrap().is_empty(), "{data}");
    assert!(data["messages"].as_array().unwrap().is_empty(), "{data}");
    let v = s
        .admin(
            slug,
            Some(&admin),
            EXPORT,
            json!({ "c": { "email": "karol@example.pl" } }),
        )
        .await;
    assert_eq!(
        ok(&v)["exportClientData"]["bookings"][0]["client"]["name"],
        "Karol Wilczek"
    );
    let v = s
        .admin(
            "dabrowa-gornicza",
            Some(&dg_admin),
            EXPORT,
            json!({ "c": { "email": "marta@example.pl" } }),
        )
        .await;
    assert_eq!(
        ok(&v)["exportClientData"]["bookings"][0]["client"]["name"],
        "Marta Lis"
    );
    // Asked again: nothing left to erase.
    let v = s
        .admin(
            slug,
            Some(&admin),
            erase,
            json!({ "c": who, "r": "Ponowny wniosek" }),
        )
        .await;
    assert_code(&v, "NOT_FOUND");
    // The audit log records the requests without her data.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "{ auditLog(first: 100) { entries { action target after } } }",
            json!({}),
        )
        .await;
    let entries = ok(&v)["auditLog"]["entries"].as_array().unwrap().clone();
    for action in [
        "personal_data.export",
        "personal_data.correct",
        "personal_data.erase",
        "booking.cancel",
    ] {
        assert!(entries.iter().any(|e| e["action"] == action), "{action}");
    }
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("marta") && !text.contains("Marta"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Retention (P-5, GD-14): time crossed by restarting with a later clock
// ---------------------------------------------------------------------------------------------

async fn day_list(s: &Server, token: &str, day: &str) -> Value {
    let v = s
        .admin("gdynia", Some(token), DAY_LIST, json!({ "d": day }))
        .await;
    ok(&v)["bookings"].clone()
}

const DAY_LIST: &str = "query($d: NaiveDate) { bookings(date: $d) { totalCount edges { node { code status source quota \
    service { key } clientName clientEmail erasedAt } } } }";

#[tokio::test]
async fn retention_erases_personal_data_on_schedule_and_keeps_the_counts() {
    let s = Server::start().await;
    let slug = "gdynia";
    let team = Team::new(&s, slug).await;
    let (_, cc, _) = team.tokens(&s).await;
    let service = s.service_id(slug, "meldunek").await;
    let (start, _) = first_staff_slot(&s, slug, &cc, &service, "2026-12-03").await;
    let day = local_date(&start);
    let v = s
        .admin(
            slug,
            Some(&cc),
            PHONE,
            json!({ "i": { "serviceId": service, "start": start,
                "client": { "name": "Tadeusz Telefon", "email": "tadeusz@example.pl", "phone": "602111222" } } }),
        )
        .await;
    let phone_code = ok(&v)["createPhoneBooking"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let (online_start, _) = s.first_free_slot(slug, &service, &day).await;
    assert_eq!(local_date(&online_start), day);
    let v = s
        .book(
            slug,
            rodo_input(
                &service,
                &online_start,
                json!({ "name": "Anna Nowak", "email": "anna@example.pl" }),
            ),
        )
        .await;
    let online_code = booking_code(&v);
    // Follow the e-mailed link (GD-7), so the booking is confirmed.
    let mail = wait_for_mail(&s.mail_dir(), "Aby potwierdzić rezerwację").await;
    let link = after(&mail, "otwórz link:\n").to_string();
    let path = link
        .split_once("://")
        .map(|(_, r)| &r[r.find('/').unwrap()..])
        .unwrap()
        .to_string();
    let (status, _) = s.post_form(&path).await;
    assert_eq!(status, 200);

    let node = |list: &Value, code: &str| {
        list["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|n| n["code"] == code)
            .unwrap_or_else(|| panic!("{code} not in {list}"))
    };

    // The evening of the visit day: everything is still there.
    let s = s.restart_at(&local_day_at(&start, 0, "20:00")).await;
    let (_, cc, _) = team.tokens(&s).await;
    let list = day_list(&s, &cc, &day).await;
    assert_eq!(node(&list, &phone_code)["clientName"], "Tadeusz Telefon");
    // Whatever the visit's state is by now (GD-11's lateness may have ended it), erasure keeps it.
    let status_before = node(&list, &phone_code)["status"]
        .as_str()
        .map(str::to_string);
    let online_status_before = node(&list, &online_code)["status"]
        .as_str()
        .map(str::to_string);

    // GD-14: the day after the visit, the phone booking's personal data are gone; the online
    // booking keeps them for the city's 30 days.
    let s = s.restart_at(&local_day_at(&start, 1, "00:30")).await;
    let (admin, cc, _) = team.tokens(&s).await;
    let list = day_list(&s, &cc, &day).await;
    assert_eq!(list["totalCount"], 2);
    let phone = node(&list, &phone_code);
    assert_eq!(
        (&phone["clientName"], &phone["clientEmail"]),
        (&Value::Null, &Value::Null)
    );
    assert!(phone["erasedAt"].is_string());
    assert_eq!(
        (
            phone["status"].as_str(),
            phone["source"].as_str(),
            phone["quota"].as_str()
        ),
        (status_before.as_deref(), Some("phone"), Some("STAFF"))
    );
    let online = node(&list, &online_code);
    assert_eq!(online["clientEmail"], "anna@example.pl");
    assert_eq!(online["status"].as_str(), online_status_before.as_deref());
    assert!(
        s.log()
            .contains("personal data erased on the retention schedule"),
        "{}",
        s.log()
    );

    // 30 days after the visit day: still kept; on the 31st: erased. Counts per day and service
    // survive.
    let s = s.restart_at(&local_day_at(&start, 30, "23:00")).await;
    let (_, cc, _) = team.tokens(&s).await;
    assert_eq!(
        node(&day_list(&s, &cc, &day).await, &online_code)["clientEmail"],
        "anna@example.pl"
    );
    let s = s.restart_at(&local_day_at(&start, 31, "00:30")).await;
    let (admin2, cc, _) = team.tokens(&s).await;
    let list = day_list(&s, &cc, &day).await;
    assert_eq!(list["totalCount"], 2);
    let online = node(&list, &online_code);
    assert_eq!(
        (&online["clientName"], &online["clientEmail"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(
        (online["status"].as_str(), online["service"]["key"].as_str()),
        (online_status_before.as_deref(), Some("meldunek"))
    );
    let v = s
        .admin(
            slug,
            Some(&admin2),
            "{ auditLog(first: 20) { entries { actor action after } } }",
            json!({}),
        )
        .await;
    let entries = ok(&v)["auditLog"]["entries"].as_array().unwrap().clone();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "retention.erase")
            .count(),
        2
    );
    let _ = admin;

    // The schedule is the city administrator's to change.
    let v = s
        .admin(slug, Some(&admin2), "mutation { setRetention(daysAfterVisit: 90, phoneDaysAfterVisit: 0) { daysAfterVisit phoneDaysAfterVisit } }", json!({}))
        .await;
    assert_eq!(ok(&v)["setRetention"]["daysAfterVisit"], 90);
    let v = s
        .admin(
            slug,
            Some(&admin2),
            "mutation { setRetention(daysAfterVisit: 99999) { daysAfterVisit } }",
            json!({}),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(
        v["errors"][0]["extensions"]["field"],
        "retention.days_after_visit"
    );
}

// ---------------------------------------------------------------------------------------------
// Complaints (CI-23): 14 calendar days, the overdue list
// ---------------------------------------------------------------------------------------------

const FILE: &str =
    "mutation($i: ComplaintInput!) { fileComplaint(input: $i) { reference filedAt deadline } }";
const COMPLAINTS: &str = "{ complaints(first: 10) { edges { node { id reference status channel text deadline overdue filedBy bookingCode } } } \
    overdueComplaints { reference } }";

#[tokio::test]
async fn complaints_are_answered_within_fourteen_days() {
    let s = Server::start().await;
    let slug = "cieszyn";
    let team = Team::new(&s, slug).await;
    let (_, cc, clerk) = team.tokens(&s).await;

    let v = s
        .gql(slug, FILE, json!({ "i": { "text": "Za krótko" } }))
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "text");
    let v = s
        .gql(
            slug,
            FILE,
            json!({ "i": { "text": "Biletomat nie wydał biletu.", "contactEmail": "nie-adres" } }),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    let v = s
        .gql(
            slug,
            FILE,
            json!({ "i": { "text": "Biletomat nie przyjął kodu rezerwacji i straciłem wizytę.", "contactEmail": "jerzy@example.pl", "bookingCode": "abc-def" } }),
        )
        .await;
    let r = &ok(&v)["fileComplaint"];
    assert_eq!(r["reference"], "RK-1");
    assert_eq!(
        r["deadline"], "2026-12-15",
        "14 calendar days from 1 December"
    );
    let mail = wait_for_mail(&s.mail_dir(), "Numer reklamacji: RK-1").await;
    assert!(mail.contains("najpóźniej do 15.12.2026"), "{mail}");
    assert!(mail.contains("To: jerzy@example.pl"), "{mail}");

    // A letter registered by the call centre.
    let register = "mutation($i: StaffComplaintInput!) { registerComplaint(input: $i) { reference channel filedBy deadline } }";
    let v = s
        .admin(
            slug,
            Some(&cc),
            register,
            json!({ "i": { "channel": "LETTER", "text": "Skarga pisemna na długi czas oczekiwania w kolejce." } }),
        )
        .await;
    let r = &ok(&v)["registerComplaint"];
    assert_eq!(
        (r["reference"].as_str(), r["channel"].as_str()),
        (Some("RK-2"), Some("LETTER"))
    );
    assert!(r["filedBy"].as_str().unwrap().contains("(call_centre)"));
    let v = s
        .admin(
            slug,
            Some(&clerk),
            register,
            json!({ "i": { "channel": "EMAIL", "text": "Urzędnik nie wie, czy może." } }),
        )
        .await;
    assert_code(&v, "FORBIDDEN");
    let v = s.admin(slug, Some(&clerk), COMPLAINTS, json!({})).await;
    assert_code(&v, "FORBIDDEN");
    let v = s.admin(slug, Some(&cc), COMPLAINTS, json!({})).await;
    let d = ok(&v);
    assert_eq!(d["complaints"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(d["complaints"]["edges"][1]["node"]["bookingCode"], "ABCDEF");
    assert!(d["overdueComplaints"].as_array().unwrap().is_empty());
    let first_id = d["complaints"]["edges"][1]["node"]["id"].clone();
    let answer = "mutation($id: ID!, $a: String!) { answerComplaint(id: $id, answer: $a) { status answer answeredBy } }";
    let v = s
        .admin(
            slug,
            Some(&cc),
            answer,
            json!({ "id": first_id, "a": "Odpowiedź" }),
        )
        .await;
    assert_code(&v, "FORBIDDEN");

    // The last day (15 December, 23:00 in Cieszyn): not yet overdue.
    let s = s.restart_at("2026-12-15T22:00:00Z").await;
    let (admin, cc, _) = team.tokens(&s).await;
    let v = s.admin(slug, Some(&cc), COMPLAINTS, json!({})).await;
    assert!(
        ok(&v)["overdueComplaints"].as_array().unwrap().is_empty(),
        "{v}"
    );
    // 16 December, 00:30: both open complaints are overdue.
    let s = s.restart_at("2026-12-15T23:30:00Z").await;
    let (admin2, cc, _) = team.tokens(&s).await;
    let _ = admin;
    let v = s.admin(slug, Some(&cc), COMPLAINTS, json!({})).await;
    let d = ok(&v);
    let overdue: Vec<&str> = d["overdueComplaints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, ["RK-1", "RK-2"]);
    assert_eq!(d["complaints"]["edges"][0]["node"]["overdue"], true);

    let v = s
        .admin(
            slug,
            Some(&admin2),
            answer,
            json!({ "id": first_id, "a": "Przepraszamy. Kod rezerwacji wpisuje się bez myślnika; biletomat został poprawiony." }),
        )
        .await;
    let r = &ok(&v)["answerComplaint"];
    assert_eq!(r["status"], "ANSWERED");
    assert!(r["answeredBy"].as_str().unwrap().contains("(admin)"));
    let mail = wait_for_mail(&s.mail_dir(), "biletomat został poprawiony").await;
    assert!(
        mail.contains("RK-1") && mail.contains("To: jerzy@example.pl"),
        "{mail}"
    );
    let v = s
        .admin(
            slug,
            Some(&admin2),
            answer,
            json!({ "id": first_id, "a": "Jeszcze raz" }),
        )
        .await;
    assert_code(&v, "CHANGE_NOT_ALLOWED");
    let v = s
        .admin(
            slug,
            Some(&cc),
            "{ overdueComplaints { reference } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ok(&v)["overdueComplaints"],
        json!([{ "reference": "RK-2" }])
    );
    let v = s
        .admin(
            slug,
            Some(&admin2),
            "mutation($id: ID!) { closeComplaint(id: $id) { status closedAt } }",
            json!({ "id": first_id }),
        )
        .await;
    assert_eq!(ok(&v)["closeComplaint"]["status"], "CLOSED");
    let v = s
        .admin(
            slug,
            Some(&admin2),
            "{ auditLog(first: 50) { entries { action } } }",
            json!({}),
        )
        .await;
    let actions = audit_actions(ok(&v));
    for a in ["complaint.file", "complaint.answer", "complaint.close"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn roles_devices_and_keys_cannot_overreach() {
    let s = Server::start().await;
    let slug = "dabrowa-gornicza";
    let team = Team::new(&s, slug).await;
    let (admin, cc, clerk) = team.tokens(&s).await;
    let office = s.offices(slug, &admin).await;
    let made = s
        .admin(
            slug,
            Some(&admin),
            "mutation($o: ID!) { kiosk: createDevice(officeId: $o, kind: KIOSK, name: \"Kiosk\") { token } \
                                  key: createApiKey(name: \"Portal\", scopes: [\"bookings:read\"]) { key } }",
            json!({ "o": office["data"]["configuration"]["offices"][0]["id"] }),
        )
        .await;
    let kiosk = ok(&made)["kiosk"]["token"].as_str().unwrap().to_string();
    let key = made["data"]["key"]["key"].as_str().unwrap().to_string();
    let service = s.service_id(slug, "meldunek").await;

    let reject = "mutation { rejectBooking(id: \"1\", reason: \"Fikcyjne dane\") { id } }";
    let erase = "mutation { eraseClientData(client: { email: \"a@example.pl\" }, reason: \"Wniosek\") { bookings } }";
    let export = "{ exportClientData(client: { email: \"a@example.pl\" }) }";
    let answer = "mutation { answerComplaint(id: \"1\", answer: \"Odpowiedź\") { id } }";
    let retention = "mutation { setRetention(daysAfterVisit: 1) { daysAfterVisit } }";
    let audit = "{ auditLog { entries { id } } }";
    let phone = format!("mutation {{ createPhoneBooking(input: {{ serviceId: \"{service}\", start: \"2026-12-02T08:00:00Z\", client: {{ name: \"Jan Nowak\" }} }}) {{ code }} }}");
    let outcome = "mutation { recordVisitOutcome(id: \"1\", outcome: ATTENDED) { id } }";
    let list = "{ bookings(first: 5) { totalCount } }";
    let complaints = "{ overdueComplaints { id } }";

    // A clerk cannot reject, erase, export, answer complaints or book by phone.
    for q in [
        reject,
        erase,
        export,
        answer,
        retention,
        audit,
        phone.as_str(),
        complaints,
    ] {
        assert_code(
            &s.admin(slug, Some(&clerk), q, json!({})).await,
            "FORBIDDEN",
        );
    }
    // The call centre cannot read the audit log, reject, erase or record outcomes.
    for q in [audit, reject, erase, export, answer, retention, outcome] {
        assert_code(&s.admin(slug, Some(&cc), q, json!({})).await, "FORBIDDEN");
    }
    // Both read the day's bookings.
    for who in [&clerk, &cc] {
        assert!(s.admin(slug, Some(who), list, json!({})).await["errors"].is_null());
    }
    // Kiosks and API keys have none of the staff operations.
    for token in [&kiosk, &key] {
        for q in [
            reject,
            erase,
            export,
            answer,
            retention,
            audit,
            phone.as_str(),
            outcome,
            list,
            complaints,
        ] {
            assert_code(&s.admin(slug, Some(token), q, json!({})).await, "FORBIDDEN");
        }
    }
    // Without a token: UNAUTHENTICATED.
    assert_code(
        &s.admin(slug, None, list, json!({})).await,
        "UNAUTHENTICATED",
    );
}
