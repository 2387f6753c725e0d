//! The five cities' configuration files shipped in `policies/<slug>/tenant.toml` parse, pass the
//! checks, and state what the regulations say (rule IDs from SPEC.md).

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime};
use okienko_domain::config::{
    CancellationCutoff, ClientField, ConfirmationMode, FieldKind, MinNotice, Service, TenantConfig,
};
use okienko_domain::queue::BookedTickets;

const SLUGS: [&str; 5] = [
    "zielona-gora",
    "gdynia",
    "opole",
    "dabrowa-gornicza",
    "cieszyn",
];

const DEFAULT_MARK: &str = "# default, not from the regulation";

fn path_of(slug: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(slug)
        .join("tenant.toml")
}

fn text_of(slug: &str) -> String {
    let p = path_of(slug);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(slug: &str) -> TenantConfig {
    let file = format!("policies/{slug}/tenant.toml");
    TenantConfig::parse(&file, &text_of(slug)).unwrap_or_else(|e| panic!("{e}"))
}

fn service<'a>(cfg: &'a TenantConfig, key: &str) -> &'a Service {
    cfg.service(key)
        .unwrap_or_else(|| panic!("{}: no service `{key}`", cfg.slug))
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn hm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").expect("test time")
}

fn fields(cfg: &TenantConfig) -> BTreeSet<ClientField> {
    cfg.booking.required_client_fields.iter().copied().collect()
}

fn line_no(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|n| n + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
}

#[test]
fn every_shipped_tenant_parses_and_its_slug_is_its_directory() {
    for slug in SLUGS {
        let cfg = load(slug);
        assert_eq!(cfg.slug, slug);
        assert!(!cfg.offices.is_empty(), "{slug}");
        assert!(!cfg.terms.text.trim().is_empty(), "{slug}: terms text");
        assert!(!cfg.terms.version.is_empty(), "{slug}: terms version");
        assert!(
            cfg.consents
                .iter()
                .any(|c| c.key == "rodo" && c.required && !c.version.is_empty()),
            "{slug}: required `rodo` consent"
        );
        assert_eq!(
            cfg.branding.logo_url.as_deref(),
            Some(format!("/static/{slug}/logo.svg").as_str())
        );
        assert!(cfg.branding.email_from.is_some(), "{slug}: email_from");
        for s in &cfg.services {
            if s.bookable {
                assert!(!cfg.hours_of(s).is_empty(), "{slug}/{}: no hours", s.key);
                assert!(
                    s.capacity_online > 0,
                    "{slug}/{}: no online capacity",
                    s.key
                );
            } else {
                assert!(s.info.is_some(), "{slug}/{}: info", s.key);
            }
        }
    }
}

#[test]
fn invented_hours_are_marked_as_defaults() {
    // Only Zielona Góra's regulation gives opening hours (ZG-7).
    for slug in ["gdynia", "opole", "dabrowa-gornicza", "cieszyn"] {
        let text = text_of(slug);
        let hours = text
            .lines()
            .find(|l| l.trim_start().starts_with("hours ="))
            .unwrap_or_else(|| panic!("{slug}: no hours line"));
        assert!(hours.contains(DEFAULT_MARK), "{slug}: {hours}");
    }
    let zg = text_of("zielona-gora");
    let hours = zg
        .lines()
        .find(|l| l.trim_start().starts_with("hours ="))
        .expect("zielona-gora hours line");
    assert!(!hours.contains(DEFAULT_MARK), "{hours}");
}

#[test]
fn zielona_gora_zg2_services_zg7_hours_zg6_horizon() {
    let cfg = load("zielona-gora");
    // ZG-1 / ZG-2: one office (Wydział Komunikacji), six bookable services.
    assert_eq!(cfg.offices.len(), 1);
    assert_eq!(cfg.offices[0].name, "Wydział Komunikacji");
    let keys = [
        "rejestracja-pojazdu",
        "wymiana-fzi",
        "odbior-dowodu-rejestracyjnego",
        "pozostale-sprawy-rejestracyjne",
        "prawo-jazdy",
        "zbycie-nabycie-pojazdu",
    ];
    assert_eq!(cfg.services.len(), keys.len());
    for k in keys {
        assert!(service(&cfg, k).bookable, "{k}");
    }
    assert!(service(&cfg, "wymiana-fzi").name.contains("FZI"));

    // ZG-7, through the same path the slot computation uses. 2026-11-23 is a Monday.
    let week = [
        ("2026-11-23", Some(("07:30", "16:30"))),
        ("2026-11-24", Some(("07:30", "15:00"))),
        ("2026-11-25", Some(("07:30", "14:30"))),
        ("2026-11-26", Some(("07:30", "14:30"))),
        ("2026-11-27", Some(("07:30", "14:30"))),
        ("2026-11-28", None),
        ("2026-11-29", None),
    ];
    for s in &cfg.services {
        let hours = cfg.hours_of(s);
        for (d, want) in week {
            let want: Vec<(NaiveTime, NaiveTime)> =
                want.map(|(a, b)| vec![(hm(a), hm(b))]).unwrap_or_default();
            assert_eq!(hours.on(date(d)), want.as_slice(), "{} on {d}", s.key);
        }
    }
    let h = &cfg.offices[0].hours;
    assert_eq!(h.mon, ["07:30-16:30"]);
    assert_eq!(h.tue, ["07:30-15:00"]);
    for d in [&h.wed, &h.thu, &h.fri] {
        assert_eq!(d, &["07:30-14:30"]);
    }

    // ZG-6
    assert_eq!(cfg.booking.horizon_days, Some(60));
    assert_eq!(cfg.confirmation.mode, ConfirmationMode::Immediate);
    assert_eq!(
        cfg.booking.cancellation_cutoff,
        CancellationCutoff::SlotStart
    );
    // ZG-4: the booker's e-mail and phone are both required.
    assert_eq!(
        fields(&cfg),
        BTreeSet::from([ClientField::Name, ClientField::Email, ClientField::Phone])
    );
    // ZG-16
    assert!(cfg
        .consents
        .iter()
        .any(|c| c.key == "komunikacja_elektroniczna" && c.required));
}

#[test]
fn zielona_gora_zg4_vehicle_services_ask_for_vehicle_and_owner() {
    let cfg = load("zielona-gora");
    for k in [
        "rejestracja-pojazdu",
        "wymiana-fzi",
        "odbior-dowodu-rejestracyjnego",
        "pozostale-sprawy-rejestracyjne",
        "zbycie-nabycie-pojazdu",
    ] {
        let s = service(&cfg, k);
        let f = |key: &str| {
            s.fields
                .iter()
                .find(|f| f.key == key)
                .unwrap_or_else(|| panic!("{k}: no field `{key}`"))
        };
        // Either one of them: the "one of" rule is a policy script's, so both are optional here.
        assert_eq!(f("registration_number").kind, FieldKind::RegistrationNumber);
        assert!(!f("registration_number").required, "{k}");
        assert_eq!(f("vin_tail").kind, FieldKind::VinTail);
        assert!(!f("vin_tail").required, "{k}");
        assert!(f("owner_name").required, "{k}");
        assert!(!f("proxy_name").required, "{k}");
    }
    // Driving licences are not a vehicle matter.
    assert!(service(&cfg, "prawo-jazdy")
        .fields
        .iter()
        .all(|f| f.kind != FieldKind::RegistrationNumber && f.kind != FieldKind::VinTail));
}

#[test]
fn gdynia_gd7_gd9_link_and_gd13_day_before() {
    let cfg = load("gdynia");
    assert_eq!(cfg.confirmation.mode, ConfirmationMode::EmailLink);
    assert_eq!(cfg.confirmation.ttl_minutes, 60);
    assert_eq!(
        cfg.booking.cancellation_cutoff,
        CancellationCutoff::DayBefore
    );
    assert_eq!(cfg.booking.horizon_days, Some(30));
    // GD-7: name and e-mail; phone optional.
    assert_eq!(
        fields(&cfg),
        BTreeSet::from([ClientField::Name, ClientField::Email])
    );
    assert!(cfg.services.iter().filter(|s| s.bookable).count() >= 3);
}

#[test]
fn opole_op1_bookable_op2_information_op7_code() {
    let cfg = load("opole");
    assert_eq!(cfg.confirmation.mode, ConfirmationMode::EmailCode);
    assert_eq!(cfg.confirmation.ttl_minutes, 60); // OP-8
    assert!(cfg.confirmation.sms_option); // OP-7
    assert_eq!(cfg.booking.horizon_days, Some(30));
    assert_eq!(
        fields(&cfg),
        BTreeSet::from([ClientField::Name, ClientField::Email])
    );

    // OP-1, OP-5: one person per slot online.
    for k in [
        "dowod-osobisty-wniosek",
        "dowod-osobisty-odbior",
        "zameldowanie-wymeldowanie",
        "zaswiadczenie",
        "nadanie-pesel",
    ] {
        let s = service(&cfg, k);
        assert!(s.bookable, "{k}");
        assert_eq!(s.capacity_online, 1, "{k}");
    }
    assert!(service(&cfg, "dowod-osobisty-wniosek")
        .name
        .contains("utraty"));

    // OP-2: not bookable, shown with room and phone.
    for (k, rooms, phone) in [
        (
            "wymeldowanie-postepowanie",
            &["pokój nr 5"][..],
            "77 54 11 357",
        ),
        ("rejestr-wyborcow", &["pokój nr 6"][..], "77 54 11 350"),
        ("udostepnianie-danych", &["9", "207A"][..], "77 54 11 359"),
    ] {
        let s = service(&cfg, k);
        assert!(!s.bookable, "{k}");
        let info = s.info.as_deref().unwrap_or_default();
        for r in rooms {
            assert!(info.contains(r), "{k}: {info}");
        }
        assert!(info.contains("tel.") && info.contains(phone), "{k}: {info}");
    }
    assert_eq!(cfg.services.iter().filter(|s| !s.bookable).count(), 3);

    // OP-10: ID pickup requires the application number.
    let pickup = service(&cfg, "dowod-osobisty-odbior");
    assert!(pickup
        .fields
        .iter()
        .any(|f| f.kind == FieldKind::ApplicationNumber && f.required));
    // The PESEL on the application is optional.
    let app = service(&cfg, "dowod-osobisty-wniosek");
    assert!(app
        .fields
        .iter()
        .all(|f| f.kind != FieldKind::Pesel || !f.required));
}

#[test]
fn dabrowa_dg1_departments_dg7_letters_dg2_horizon() {
    let cfg = load("dabrowa-gornicza");
    assert_eq!(cfg.booking.horizon_days, Some(14));
    assert_eq!(cfg.confirmation.mode, ConfirmationMode::Immediate);
    assert_eq!(
        fields(&cfg),
        BTreeSet::from([ClientField::Name, ClientField::Email, ClientField::Phone])
    );

    assert_eq!(cfg.offices.len(), 1);
    let deps = &cfg.offices[0].departments;
    let names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Wydział Geodezji i Kartografii",
            "Wydział Rozwoju, Przedsiębiorczości i Obsługi Inwestorów",
            "Wydział Spraw Obywatelskich",
            "Wydział Polityki Społecznej",
        ]
    );
    for d in deps {
        let n = cfg
            .services
            .iter()
            .filter(|s| s.department.as_deref() == Some(d.key.as_str()))
            .count();
        assert!(n >= 2, "{}: {n} services", d.name);
    }

    let mut letters = BTreeSet::new();
    for s in &cfg.services {
        assert!(
            s.bookable,
            "{}: DG-1 every queue service is bookable",
            s.key
        );
        assert!(s.department.is_some(), "{}", s.key);
        let l = s
            .letter
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no letter", s.key));
        // "U" is the check-in ticket (DG-8).
        assert_ne!(l, "U", "{}", s.key);
        assert!(letters.insert(l), "letter {l} used twice");
    }
    let r = cfg
        .services
        .iter()
        .find(|s| s.letter.as_deref() == Some("R"))
        .expect("DG-7: service R");
    assert_eq!(r.name, "Rejestracja działalności gospodarczej");
    let rozwoj = deps
        .iter()
        .find(|d| d.name.starts_with("Wydział Rozwoju"))
        .expect("development department");
    assert_eq!(r.department.as_deref(), Some(rozwoj.key.as_str()));
}

#[test]
fn cieszyn_ci5_categories_ci14_window_ci11_email_only() {
    let cfg = load("cieszyn");
    assert_eq!(cfg.confirmation.mode, ConfirmationMode::Immediate);
    assert_eq!(cfg.booking.min_notice, MinNotice::NextWorkingDay);
    assert_eq!(cfg.booking.horizon_months, Some(1));
    assert_eq!(cfg.booking.horizon_days, None);
    assert_eq!(
        cfg.booking.cancellation_cutoff,
        CancellationCutoff::SlotStart
    );
    assert_eq!(fields(&cfg), BTreeSet::from([ClientField::Email]));
    for k in ["klauzula_informacyjna", "rodo"] {
        assert!(cfg.consents.iter().any(|c| c.key == k && c.required), "{k}");
    }

    assert_eq!(cfg.offices.len(), 1);
    let office = &cfg.offices[0];
    assert!(office.address.contains("ul. Jana Kochanowskiego 14"));
    let deps: Vec<&str> = office.departments.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        deps,
        [
            "Urząd Stanu Cywilnego",
            "Wydział Spraw Obywatelskich i Działalności Gospodarczej"
        ]
    );

    // CI-5 categories 2–9.
    let bookable: Vec<&str> = cfg
        .services
        .iter()
        .filter(|s| s.bookable)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        bookable,
        [
            "Rejestracja urodzenia. Rejestracja zgonu. Wydanie odpisu",
            "Pozostałe sprawy: małżeństwo; zmiana imienia/nazwiska; wpisanie aktu zagranicznego",
            "Meldunek",
            "Dowody osobiste",
            "Działalność gospodarcza / TAXI",
            "Zezwolenia na sprzedaż alkoholu",
            "Karta dużej rodziny lub karta seniora",
            "Rejestr wyborców",
        ]
    );
    let mut letters = BTreeSet::new();
    for s in cfg.services.iter().filter(|s| s.bookable) {
        let l = s
            .letter
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no letter", s.key));
        assert!(letters.insert(l), "letter {l} used twice");
        assert!(s.department.is_some(), "{}", s.key);
    }
    // CI-5 (1) is the kiosk's check-in, not a bookable category (CI-16).
    let kiosk: Vec<&Service> = cfg.services.iter().filter(|s| !s.bookable).collect();
    assert_eq!(kiosk.len(), 1);
    assert_eq!(kiosk[0].name, "Odbierz bilet zarejestrowany przez Internet");
    assert!(kiosk[0]
        .info
        .as_deref()
        .unwrap_or_default()
        .contains("kod rezerwacji"));
}

/// The electronic queue of every city: each office has queues, a check-in entry for booked
/// visits and desks; every bookable service has a queue for its checked-in visits.
#[test]
fn every_city_has_queues_desks_and_a_check_in() {
    for slug in SLUGS {
        let cfg = load(slug);
        for o in &cfg.offices {
            assert!(
                cfg.queues_of(&o.key).any(|q| q.check_in),
                "{slug}/{}",
                o.key
            );
            assert!(
                cfg.desks.iter().any(|d| d.office == o.key),
                "{slug}/{}",
                o.key
            );
        }
        for s in cfg.services.iter().filter(|s| s.bookable) {
            let q = cfg
                .booked_queue(&s.office, &s.key)
                .unwrap_or_else(|| panic!("{slug}/{}: no queue for its booked visits", s.key));
            assert!(
                cfg.desks
                    .iter()
                    .any(|d| cfg.desk_takes(d, &q.letter, Some(&s.key))),
                "{slug}/{}: no desk calls its booked visits",
                s.key
            );
        }
        let text = text_of(slug);
        for l in text.lines().filter(|l| l.starts_with("number = ")) {
            assert!(
                l.contains(DEFAULT_MARK),
                "{slug}: desk numbers are defaults: {l}"
            );
        }
    }
}

/// CI-5's nine categories, CI-16's 60 minutes, CI-17's 10 minutes, CI-8's three calls at least
/// 10 minutes apart, CI-18's priority ticket in the category's queue, CI-4's daily capacity.
#[test]
fn cieszyn_ci5_queues_ci8_ci16_ci17_rules() {
    let cfg = load("cieszyn");
    let names: Vec<&str> = cfg.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Odbierz bilet zarejestrowany przez Internet",
            "Rejestracja urodzenia. Rejestracja zgonu. Wydanie odpisu",
            "Pozostałe sprawy: małżeństwo; zmiana imienia/nazwiska; wpisanie aktu zagranicznego",
            "Meldunek",
            "Dowody osobiste",
            "Działalność gospodarcza / TAXI",
            "Zezwolenia na sprzedaż alkoholu",
            "Karta dużej rodziny lub karta seniora",
            "Rejestr wyborców",
        ]
    );
    assert!(cfg.queues[0].check_in && cfg.queues[0].services.is_empty());
    for q in &cfg.queues[1..] {
        assert_eq!(q.services.len(), 1, "{}", q.letter);
        assert_eq!(
            cfg.service(&q.services[0]).map(|s| s.name.as_str()),
            Some(q.name.as_str())
        );
        assert_eq!(
            cfg.service(&q.services[0])
                .and_then(|s| s.letter.as_deref()),
            Some(q.letter.as_str())
        );
        assert!(q.daily_capacity.is_some(), "CI-4: {}", q.letter);
    }
    let r = &cfg.queue;
    assert_eq!(r.check_in_before_minutes, 60);
    assert_eq!(r.cancel_unchecked_after_minutes, Some(10));
    assert_eq!((r.recall_interval_minutes, r.max_calls), (10, 3));
    assert_eq!(r.booked_tickets, BookedTickets::ServiceQueue);
}

/// DG-8's "U" ticket for booked visits, checked in 30 minutes before at most (DG-4), lost at
/// the booked time; the other queues carry the services' letters (DG-7). GD-11: lost at the
/// booked time.
#[test]
fn dabrowa_dg8_u_queue_and_gdynia_gd11_lateness() {
    let cfg = load("dabrowa-gornicza");
    let u = cfg
        .queues
        .iter()
        .find(|q| q.letter == "U")
        .expect("DG-8: U");
    assert!(u.check_in);
    assert_eq!(u.name, "Potwierdzenie umówionej internetowo wizyty");
    assert_eq!(cfg.queue.booked_tickets, BookedTickets::CheckInQueue);
    assert_eq!(cfg.queue.check_in_before_minutes, 30);
    assert_eq!(cfg.queue.cancel_unchecked_after_minutes, Some(0));
    for s in &cfg.services {
        let letter = s.letter.as_deref().unwrap_or_default();
        let q = cfg
            .queue_of(&s.office, letter)
            .expect("queue of the service's letter");
        assert_eq!(q.services, std::slice::from_ref(&s.key));
    }
    let gd = load("gdynia");
    assert_eq!(gd.queue.cancel_unchecked_after_minutes, Some(0));
}

#[test]
fn a_broken_copy_is_rejected_with_line_and_field() {
    let file = "policies/zielona-gora/tenant.toml";
    let good = text_of("zielona-gora");

    // A semantic check: the colour is not #rrggbb.
    let bad = good.replacen(
        "primary_color = \"#1f7a3a\"",
        "primary_color = \"zielony\"",
        1,
    );
    assert_ne!(bad, good);
    let e = TenantConfig::parse(file, &bad).expect_err("bad colour must fail");
    assert_eq!(e.file, file);
    assert_eq!(e.field, "branding.primary_color");
    assert_eq!(e.line, line_no(&bad, "\"zielony\""));
    assert!(
        e.to_string().starts_with(&format!("{file}:{}:", e.line)),
        "{e}"
    );

    // Hours that end before they start (ZG-7 broken).
    let bad = good.replacen("mon = [\"07:30-16:30\"]", "mon = [\"16:30-07:30\"]", 1);
    assert_ne!(bad, good);
    let e = TenantConfig::parse(file, &bad).expect_err("bad hours must fail");
    assert_eq!(e.field, "offices[0].hours");
    assert_eq!(e.line, line_no(&bad, "16:30-07:30"));

    // A misspelt key is named (deny_unknown_fields).
    let bad = good.replacen("horizon_days = 60", "horyzont_dni = 60", 1);
    let e = TenantConfig::parse(file, &bad).expect_err("unknown key must fail");
    assert_eq!(e.field, "horyzont_dni");
    assert_eq!(e.line, line_no(&bad, "horyzont_dni"));

    // A value of the wrong type is located on its line.
    let bad = good.replacen("horizon_days = 60", "horizon_days = \"60\"", 1);
    let e = TenantConfig::parse(file, &bad).expect_err("wrong type must fail");
    assert_eq!(e.line, line_no(&bad, "horizon_days = \"60\""));
}

/// A rule ID such as "ZG-16" or "OP-10" in `text`.
fn rule_id(text: &str) -> Option<String> {
    const PREFIXES: [&str; 7] = ["ZG-", "GD-", "OP-", "DG-", "CI-", "P-", "W-"];
    for p in PREFIXES {
        let mut rest = text;
        while let Some(i) = rest.find(p) {
            let before = rest[..i].chars().last();
            let after = &rest[i + p.len()..];
            if !before.is_some_and(|c| c.is_alphanumeric())
                && after.starts_with(|c: char| c.is_ascii_digit())
            {
                return Some(format!(
                    "{p}{}",
                    after
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                ));
            }
            rest = &rest[i + p.len()..];
        }
    }
    None
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Rule IDs stay in code, tests and comments: no text of a city's configuration (names, terms,
/// consents, field labels and help, information) nor a message of its policy names one.
#[test]
fn citizen_texts_name_no_rule_ids() {
    assert_eq!(rule_id("zgoda (ZG-16)."), Some("ZG-16".into()));
    assert_eq!(rule_id("ul. Opolska 1"), None);
    for slug in SLUGS {
        let mut texts = Vec::new();
        strings(
            &serde_json::to_value(load(slug)).unwrap_or_default(),
            &mut texts,
        );
        for t in &texts {
            assert_eq!(rule_id(t), None, "{slug}/tenant.toml: {t}");
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../policies")
            .join(slug)
            .join("policy.rhai");
        let text = std::fs::read_to_string(&script).unwrap_or_default();
        for line in text.lines().filter(|l| l.contains("refuse(")) {
            // The message: the second quoted (or back-quoted) argument.
            let message = line.split(['"', '`']).nth(3).unwrap_or_default();
            assert_eq!(rule_id(message), None, "{}: {line}", script.display());
        }
    }
}
