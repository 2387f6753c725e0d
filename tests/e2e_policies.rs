//! The city policies (P-6) end to end: the shipped scripts as the running server applies them.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn zg_input(service: &str, start: &str, email: &str, fields: Value) -> Value {
    json!({
        "serviceId": service, "start": start,
        "client": { "name": "Jan Kowalski", "email": email, "phone": "601234567" },
        "fields": fields,
        "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"]
    })
}

/// ZG-13 and ZG-4: vehicle data required and fictitious values refused; ZG-12: a cap on
/// active bookings per identity.
#[tokio::test]
async fn zielona_gora_vehicle_rules_and_identity_cap() {
    let (s, service, start, _) =
        Server::with_free_slot("zielona-gora", "rejestracja-pojazdu", "2026-12-02").await;
    let owner = json!({ "key": "owner_name", "value": "Jan Kowalski" });
    let cases = [
        (json!([owner]), "VEHICLE_ID_REQUIRED"),
        (
            json!([owner, { "key": "vin_tail", "value": "00000" }]),
            "VIN_INVALID",
        ),
        (
            json!([owner, { "key": "vin_tail", "value": "12345" }]),
            "VIN_INVALID",
        ),
        (
            json!([owner, { "key": "registration_number", "value": "FZ 11111" }]),
            "REGISTRATION_INVALID",
        ),
    ];
    for (fields, code) in cases {
        let v = s
            .book(
                "zielona-gora",
                zg_input(&service, &start, "jan@example.pl", fields),
            )
            .await;
        assert_eq!(code_of(&v), code, "{v}");
        assert!(!v["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    // The cap is 2 active bookings per e-mail, phone or vehicle.
    let mut starts = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    while starts.len() < 3 {
        let (st, _) = s
            .first_free_slot("zielona-gora", &service, &day.to_string())
            .await;
        starts.push(st);
        day += chrono::Duration::days(1);
    }
    let ok = |i: usize| json!([owner, { "key": "vin_tail", "value": format!("A7K2{i}") }]);
    for (i, st) in starts.iter().take(2).enumerate() {
        let v = s
            .book(
                "zielona-gora",
                zg_input(&service, st, "cap@example.pl", ok(i)),
            )
            .await;
        assert_eq!(created_status(&v), "CONFIRMED", "{v}");
    }
    let v = s
        .book(
            "zielona-gora",
            zg_input(&service, &starts[2], "cap@example.pl", ok(2)),
        )
        .await;
    assert_refused(&v, "IDENTITY_CAP_REACHED", "najwyżej 2");
    // Another person is not affected.
    let mut other = zg_input(&service, &starts[2], "inna@example.pl", ok(2));
    other["client"]["phone"] = json!("602000111");
    let v = s.book("zielona-gora", other).await;
    assert_eq!(created_status(&v), "CONFIRMED", "{v}");
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A copy of the shipped cities with Gdynia's identity provider keys served from this machine.
fn policies_with_local_idp(dir: &Path, jwks_url: &str) {
    copy_policies(dir, true);
    let gd = dir.join("gdynia/tenant.toml");
    let text = std::fs::read_to_string(&gd)
        .unwrap()
        .replace("https://konto.gdynia.pl/.well-known/jwks.json", jwks_url);
    std::fs::write(gd, text).unwrap();
}

fn token(alg: jsonwebtoken::Algorithm, claims: Value) -> String {
    let (kid, key) = match alg {
        jsonwebtoken::Algorithm::RS256 => (
            "test-rs",
            jsonwebtoken::EncodingKey::from_rsa_pem(
                &std::fs::read(fixtures().join("resident-rs256.pem")).unwrap(),
            )
            .unwrap(),
        ),
        _ => (
            "test-es",
            jsonwebtoken::EncodingKey::from_ec_pem(
                &std::fs::read(fixtures().join("resident-es256.pem")).unwrap(),
            )
            .unwrap(),
        ),
    };
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// GD-5: booking after a resident-card login, the client's data from the token's claims;
/// signature, issuer, audience and expiry checked. GD-12: the person cannot be changed.
#[tokio::test]
async fn gdynia_resident_card_login_and_person_unchangeable() {
    let port = free_port();
    let (port_arg, keys) = (port.to_string(), fixtures());
    let keys = keys.to_str().unwrap();
    let args = [
        "-m",
        "http.server",
        &port_arg,
        "--bind",
        "127.0.0.1",
        "--directory",
        keys,
    ];
    let _idp = serve_python(&args, port).await;
    let policies = tempfile::tempdir().unwrap();
    policies_with_local_idp(
        policies.path(),
        &format!("http://127.0.0.1:{port}/resident-jwks.json"),
    );
    let s = Server::builder()
        .env("OKIENKO_POLICIES", policies.path().to_str().unwrap())
        .start()
        .await;
    let (service, start, _) = s.free_slot_of("gdynia", "meldunek", "2026-12-03").await;

    // The dev clock starts at 2026-12-01T08:00:00Z.
    let now = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp();
    let claims = |exp: i64, aud: &str| {
        json!({ "iss": "https://konto.gdynia.pl", "aud": aud, "sub": "km-123", "exp": exp, "iat": now,
                "given_name": "Anna", "family_name": "Mieszkańska", "email": "Anna@Example.PL", "email_verified": true,
                "phone_number": "+48 601 222 333" })
    };
    let input = |tok: String| {
        json!({ "serviceId": service, "start": start, "client": {}, "residentToken": tok,
                "acceptedTermsVersion": "1.0", "consents": ["rodo"] })
    };
    for (tok, why) in [
        (
            token(
                jsonwebtoken::Algorithm::RS256,
                claims(now - 3600, "okienko-gdynia"),
            ),
            "expired",
        ),
        (
            token(
                jsonwebtoken::Algorithm::RS256,
                claims(now + 600, "someone-else"),
            ),
            "wrong audience",
        ),
        ("eyJhbGciOiJub25lIn0.e30.".to_string(), "unsigned"),
        ("not a token".to_string(), "garbage"),
    ] {
        let v = s.book("gdynia", input(tok)).await;
        assert_eq!(code_of(&v), "RESIDENT_TOKEN_INVALID", "{why}: {v}");
    }
    // A token signed with the right key but tampered with is refused.
    let good = token(
        jsonwebtoken::Algorithm::RS256,
        claims(now + 600, "okienko-gdynia"),
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = parts[1].chars().rev().collect();
    let v = s.book("gdynia", input(parts.join("."))).await;
    assert_eq!(code_of(&v), "RESIDENT_TOKEN_INVALID", "{v}");

    for alg in [
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ] {
        let v = s
            .book(
                "gdynia",
                input(token(alg, claims(now + 600, "okienko-gdynia"))),
            )
            .await;
        let created = &v["data"]["createBooking"];
        assert_eq!(created["booking"]["status"], "PENDING", "{alg:?}: {v}");
        assert_eq!(created["booking"]["clientPhone"], "48601222333");
        let t = created["managementToken"].as_str().unwrap().to_string();
        let b = s.booking("gdynia", &t, "clientName clientEmail").await;
        assert_eq!(
            b["data"]["booking"]["clientName"], "Anna Mieszkańska",
            "{b}"
        );
        assert_eq!(
            b["data"]["booking"]["clientEmail"], "Anna@example.pl",
            "{b}"
        );

        // GD-12: the contact data may be corrected, the person may not change.
        let update = "mutation($t: String!, $c: ClientInput!) { updateBookingClient(token: $t, client: $c) { clientName clientEmail } }";
        let v = s
            .gql("gdynia", update, json!({ "t": t, "c": { "name": "Anna Mieszkańska", "email": "anna.m@example.pl" } }))
            .await;
        assert_eq!(
            v["data"]["updateBookingClient"]["clientEmail"], "anna.m@example.pl",
            "{v}"
        );
        let v = s
            .gql(
                "gdynia",
                update,
                json!({ "t": t, "c": { "name": "Ktoś Inny", "email": "anna.m@example.pl" } }),
            )
            .await;
        assert_eq!(code_of(&v), "PERSON_CHANGE_REFUSED", "{v}");
    }

    // Without a resident-card configuration the city refuses such logins.
    let zg = s.service_id("zielona-gora", "prawo-jazdy").await;
    let v = s
        .book(
            "zielona-gora",
            json!({ "serviceId": zg, "start": start, "client": {}, "residentToken": good,
                    "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] }),
        )
        .await;
    assert_eq!(code_of(&v), "RESIDENT_CARD_NOT_OFFERED", "{v}");
}

/// OP-14: after a no-show, online booking in the department is blocked, with a message saying
/// until when. The no-show is recorded in the server's database as the queue will record it.
#[tokio::test]
async fn opole_no_show_blocks_online_booking() {
    let (s, service, start, _) =
        Server::with_free_slot("opole", "zameldowanie-wymeldowanie", "2026-12-02").await;
    let input = |start: &str| {
        json!({ "serviceId": service, "start": start, "client": { "name": "Olga Nowak", "email": "olga@example.pl" },
                "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"] })
    };
    let v = s.book("opole", input(&start)).await;
    let code = booking_code(&v);

    // OP-5: one matter a day in the department for one person: a second slot that day is refused.
    let date = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Warsaw)
        .date_naive();
    let (same_day, _) = s
        .first_free_slot("opole", &service, &date.to_string())
        .await;
    assert_ne!(same_day, start);
    let v = s.book("opole", input(&same_day)).await;
    assert_eq!(code_of(&v), "ONE_MATTER_PER_DAY", "{v}");

    let db = okienko_store::Db::connect(&format!("sqlite://{}/okienko.db", s.data.display()))
        .await
        .unwrap();
    let tenant = okienko_store::tenant_by_slug(&db, "opole")
        .await
        .unwrap()
        .unwrap();
    let tid = okienko_store::TenantId(tenant.id);
    let booking = okienko_store::booking_by_code(&db, tid, &code)
        .await
        .unwrap()
        .unwrap();
    okienko_store::record_no_show(
        &db,
        tid,
        booking.id,
        Some("ewidencja-ludnosci"),
        chrono::DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .timestamp(),
    )
    .await
    .unwrap();
    db.close().await;

    let (later, _) = s.first_free_slot("opole", &service, "2026-12-07").await;
    let v = s.book("opole", input(&later)).await;
    assert_eq!(code_of(&v), "NO_SHOW_BLOCKED", "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("zablokowana do 31.12.2026"), "{msg}");
}

/// CI-21: no rescheduling in Cieszyn; elsewhere a booking moves with its seat.
#[tokio::test]
async fn rescheduling_refused_in_cieszyn_allowed_elsewhere() {
    let s = Server::start().await;
    let reschedule = "mutation($t: String!, $s: DateTime!) { rescheduleBooking(token: $t, start: $s) { start status } }";

    let (ci, a, _) = s.free_slot_of("cieszyn", "meldunek", "2026-12-02").await;
    let v = s
        .book("cieszyn", cieszyn_input(&ci, &a, "r@example.pl"))
        .await;
    let t = management_token(&v);
    let (b, _) = s.first_free_slot("cieszyn", &ci, "2026-12-04").await;
    let v = s
        .gql("cieszyn", reschedule, json!({ "t": t, "s": b }))
        .await;
    assert_eq!(code_of(&v), "RESCHEDULE_NOT_ALLOWED", "{v}");

    let (dg, a, before) = s
        .free_slot_of("dabrowa-gornicza", "rejestracja-dzialalnosci", "2026-12-02")
        .await;
    let client = json!({ "name": "Piotr", "email": "p@example.pl", "phone": "662138278" });
    let v = s
        .book("dabrowa-gornicza", rodo_input(&dg, &a, client))
        .await;
    let t = management_token(&v);
    let (b, _) = s
        .first_free_slot("dabrowa-gornicza", &dg, "2026-12-04")
        .await;
    let v = s
        .gql("dabrowa-gornicza", reschedule, json!({ "t": t, "s": b }))
        .await;
    assert_eq!(v["data"]["rescheduleBooking"]["status"], "CONFIRMED", "{v}");
    assert_eq!(s.remaining("dabrowa-gornicza", &dg, &a).await, before);
    let v = s.gql("dabrowa-gornicza", BOOKING, json!({ "t": t })).await;
    let moved =
        chrono::DateTime::parse_from_rfc3339(v["data"]["booking"]["start"].as_str().unwrap())
            .unwrap();
    assert_eq!(moved, chrono::DateTime::parse_from_rfc3339(&b).unwrap());
}

/// Writes `script` to `<dir>/policy.rhai` (and `case`, when given, to `<dir>/tests/a.toml`),
/// then runs `okienko policy activate cieszyn <dir>/policy.rhai`, then `more`, on `data`.
fn activate(
    data: &Path,
    dir: &Path,
    script: &str,
    case: Option<&str>,
    more: &[&str],
) -> std::process::Output {
    let policy = dir.join("policy.rhai");
    std::fs::write(&policy, script).unwrap();
    if let Some(case) = case {
        std::fs::write(dir.join("tests/a.toml"), case).unwrap();
    }
    let mut args = vec!["policy", "activate", "cieszyn", policy.to_str().unwrap()];
    args.extend_from_slice(more);
    Command::new(env!("CARGO_BIN_EXE_okienko"))
        .args(args)
        .env("OKIENKO_DATA_DIR", data)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

/// A new version runs its tests before activation; on a failure the old one stays. A hostile
/// script that is active anyway is stopped within its budget: POLICY_ERROR for its city, and
/// every other city goes on.
#[tokio::test]
async fn activation_keeps_the_old_version_and_hostile_scripts_are_contained() {
    let s = Server::start().await;
    let data = s.data.clone();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cieszyn");
    std::fs::create_dir_all(dir.join("tests")).unwrap();

    // A version whose own tests fail is refused, with the failures returned.
    let out = activate(
        &data,
        &dir,
        "fn validate_booking(ctx) { throw #{ code: \"ZAWSZE_NIE\", message: \"Nie.\" }; }",
        Some("[[case]]\nname = \"przyjmuje\"\nexpect = \"accepted\"\n"),
        &[],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("FAIL a: przyjmuje") && text.contains("0 passed, 1 failed"),
        "{text}"
    );

    // A hook without a test case of its own is refused too, though every case passes.
    let out = activate(
        &data,
        &dir,
        "fn validate_booking(ctx) { () } fn identity_keys(ctx) { [] }",
        None,
        &[],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("FAIL hook `identity_keys`: no test case")
            && text.contains("1 passed, 1 failed"),
        "{text}"
    );

    // A hostile version whose test expects exactly that failure is activated.
    let out = activate(
        &data,
        &dir,
        "fn validate_booking(ctx) { let x = 0; loop { x += 1; } }",
        Some("[[case]]\nname = \"zatrzymany\"\nexpect = { error = \"POLICY_ERROR\" }\n"),
        &["--author", "test"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("policy version 2 active"));

    let s = s.restart_at(NOW).await;
    let (ci, a, _) = s.free_slot_of("cieszyn", "meldunek", "2026-12-02").await;
    let input = cieszyn_input(&ci, &a, "h@example.pl");
    let (v, other) = tokio::join!(s.book("cieszyn", input), async {
        let (dg, b, _) = s
            .free_slot_of("dabrowa-gornicza", "rejestracja-dzialalnosci", "2026-12-02")
            .await;
        s.book(
            "dabrowa-gornicza",
            rodo_input(
                &dg,
                &b,
                json!({ "name": "Piotr", "email": "q@example.pl", "phone": "662138279" }),
            ),
        )
        .await
    });
    assert_eq!(code_of(&v), "POLICY_ERROR", "{v}");
    assert!(
        !v["errors"][0]["message"].as_str().unwrap().contains("loop"),
        "no script details leak: {v}"
    );
    assert_eq!(created_status(&other), "CONFIRMED", "{other}");
    assert_eq!(s.get("/healthz").await.0, 200);
    assert_eq!(
        s.remaining("cieszyn", &ci, &a).await,
        1,
        "nothing stored for the refused booking"
    );
}
