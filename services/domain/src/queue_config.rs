//! The electronic queue's configuration: the queues (categories) and desks of each office and
//! the `[queue]` rules, and their check. A leaf under the tenant's configuration, which holds
//! them; the queue's rules (`queue`) read them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A queue (category) of one office: a kiosk button and the letter of its tickets
/// (CI-5, CI-6; DG-7's letters).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The office's key.
    pub office: String,
    /// The ticket letter, unique in the office ("A" → tickets A001, A002 …).
    pub letter: String,
    /// The Polish name on the kiosk button and the ticket (CI-3).
    pub name: String,
    /// Keys of the services this queue serves; a booked visit of one of them is checked in here
    /// (with `booked_tickets = "service_queue"`).
    #[serde(default)]
    pub services: Vec<String>,
    /// Walk-in tickets a day; issuing stops when they are used up (CI-4). None: no limit.
    #[serde(default)]
    pub daily_capacity: Option<u32>,
    /// The kiosk's entry for booked visits ("Odbierz bilet zarejestrowany przez Internet", CI-16;
    /// "Potwierdzenie umówionej internetowo wizyty (U)", DG-8): no walk-in tickets are issued in
    /// it; with `booked_tickets = "check_in_queue"` the booked visits' tickets wait in it.
    #[serde(default)]
    pub check_in: bool,
}

/// A desk (stanowisko) of one office and the queues it calls from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeskConfig {
    pub office: String,
    /// The number shown on the displays and spoken in the call (CI-7).
    pub number: u32,
    /// Letters of the office's queues this desk serves.
    pub queues: Vec<String>,
}

/// Where a checked-in booked visit's priority ticket waits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum BookedTickets {
    /// In the queue that serves the booking's service (CI-18).
    #[default]
    ServiceQueue,
    /// In the office's check-in queue ("U", DG-8).
    CheckInQueue,
}

/// The queue's timing rules of a tenant: the `[queue]` table of `tenant.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QueueRules {
    /// A booked visit is checked in at the kiosk at most this many minutes before its time
    /// (CI-16: 60; DG-4, DG-8: 30).
    #[serde(default = "default_check_in_before")]
    pub check_in_before_minutes: u32,
    /// A booked visit not checked in this many minutes after its start is cancelled, and later
    /// check-in is refused (CI-17: 10; GD-11, DG-8: 0, at the start). None: never.
    #[serde(default)]
    pub cancel_unchecked_after_minutes: Option<u32>,
    /// Least time between two calls of one ticket (CI-8: at least 10 minutes).
    #[serde(default = "default_recall_interval")]
    pub recall_interval_minutes: u32,
    /// Calls without an answer after which the ticket is void (CI-8: three).
    #[serde(default = "default_max_calls")]
    pub max_calls: u32,
    #[serde(default)]
    pub booked_tickets: BookedTickets,
}

fn default_check_in_before() -> u32 {
    30
}

fn default_recall_interval() -> u32 {
    10
}

fn default_max_calls() -> u32 {
    3
}

impl Default for QueueRules {
    fn default() -> Self {
        QueueRules {
            check_in_before_minutes: default_check_in_before(),
            cancel_unchecked_after_minutes: None,
            recall_interval_minutes: default_recall_interval(),
            max_calls: default_max_calls(),
            booked_tickets: BookedTickets::default(),
        }
    }
}

/// A queue letter: one to three capital letters A–Z.
pub fn is_letter(s: &str) -> bool {
    (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks the queues, desks and rules of a configuration, given whether an office key is
/// configured and the office of a service key. Returns (field path, message).
pub(crate) fn check<'a>(
    r: &QueueRules,
    queues: &[QueueConfig],
    desks: &[DeskConfig],
    office_known: impl Fn(&str) -> bool,
    service_office: impl Fn(&str) -> Option<&'a str>,
) -> Result<(), (String, String)> {
    let err = |f: String, m: &str| Err((f, m.to_string()));
    if r.check_in_before_minutes > 8 * 60 {
        return err(
            "queue.check_in_before_minutes".into(),
            "liczba minut od 0 do 480",
        );
    }
    if r.cancel_unchecked_after_minutes.is_some_and(|m| m > 240) {
        return err(
            "queue.cancel_unchecked_after_minutes".into(),
            "liczba minut od 0 do 240",
        );
    }
    if !(1..=120).contains(&r.recall_interval_minutes) {
        return err(
            "queue.recall_interval_minutes".into(),
            "liczba minut od 1 do 120",
        );
    }
    if !(1..=10).contains(&r.max_calls) {
        return err("queue.max_calls".into(), "liczba wywołań od 1 do 10");
    }
    let mut letters = BTreeSet::new();
    let mut served = BTreeSet::new();
    let mut check_in_offices = BTreeSet::new();
    for (i, q) in queues.iter().enumerate() {
        let at = |f: &str| format!("queues[{i}].{f}");
        if !office_known(&q.office) {
            return err(at("office"), "nieznany urząd");
        }
        if !is_letter(&q.letter) {
            return err(at("letter"), "od jednej do trzech wielkich liter A–Z");
        }
        if !letters.insert((q.office.as_str(), q.letter.as_str())) {
            return err(at("letter"), "ta litera jest już użyta w tym urzędzie");
        }
        if q.name.trim().is_empty() {
            return err(at("name"), "nazwa nie może być pusta");
        }
        if q.daily_capacity == Some(0) {
            return err(
                at("daily_capacity"),
                "limit biletów musi być dodatni (albo pominięty)",
            );
        }
        if q.check_in && !check_in_offices.insert(q.office.as_str()) {
            return err(
                at("check_in"),
                "urząd może mieć tylko jedną kolejkę potwierdzania rezerwacji",
            );
        }
        for (j, key) in q.services.iter().enumerate() {
            match service_office(key) {
                None => return err(at(&format!("services[{j}]")), "nieznana usługa"),
                Some(office) if office != q.office => {
                    return err(
                        at(&format!("services[{j}]")),
                        "usługa należy do innego urzędu",
                    )
                }
                Some(_) => {}
            }
            if !served.insert(key.as_str()) {
                return err(
                    at(&format!("services[{j}]")),
                    "usługa jest już obsługiwana przez inną kolejkę",
                );
            }
        }
    }
    if r.booked_tickets == BookedTickets::CheckInQueue {
        for (i, q) in queues.iter().enumerate() {
            if !check_in_offices.contains(q.office.as_str()) {
                return err(
                    format!("queues[{i}].office"),
                    "bilety wizyt umówionych trafiają do kolejki potwierdzania rezerwacji (check_in), a ten urząd jej nie ma",
                );
            }
        }
    }
    let mut numbers = BTreeSet::new();
    for (i, d) in desks.iter().enumerate() {
        let at = |f: &str| format!("desks[{i}].{f}");
        if !office_known(&d.office) {
            return err(at("office"), "nieznany urząd");
        }
        if d.number == 0 || d.number > 9999 {
            return err(at("number"), "numer stanowiska od 1 do 9999");
        }
        if !numbers.insert((d.office.as_str(), d.number)) {
            return err(
                at("number"),
                "ten numer stanowiska jest już użyty w tym urzędzie",
            );
        }
        if d.queues.is_empty() {
            return err(
                at("queues"),
                "stanowisko musi obsługiwać co najmniej jedną kolejkę",
            );
        }
        for (j, l) in d.queues.iter().enumerate() {
            if !letters.contains(&(d.office.as_str(), l.as_str())) {
                return err(
                    at(&format!("queues[{j}]")),
                    "nie ma takiej kolejki w tym urzędzie",
                );
            }
        }
    }
    Ok(())
}
