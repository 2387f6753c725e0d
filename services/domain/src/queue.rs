//! The electronic queue: its configuration (queues, desks, the `[queue]` rules) and the pure
//! rules of tickets — numbers, the order of calling, check-in windows, recalls, the voice call.
//!
//! Times are UTC seconds (`i64`) as the store keeps them; local times are Europe/Warsaw.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::calendar::{local_to_utc, public_holiday, to_local, WeeklyHours};
use crate::config::TenantConfig;
pub use crate::queue_config::{is_letter, BookedTickets, DeskConfig, QueueConfig, QueueRules};

impl TenantConfig {
    pub fn queues_of<'a>(&'a self, office: &'a str) -> impl Iterator<Item = &'a QueueConfig> + 'a {
        self.queues.iter().filter(move |q| q.office == office)
    }

    pub fn queue_of(&self, office: &str, letter: &str) -> Option<&QueueConfig> {
        self.queues
            .iter()
            .find(|q| q.office == office && q.letter == letter)
    }

    pub fn desk_of(&self, office: &str, number: u32) -> Option<&DeskConfig> {
        self.desks
            .iter()
            .find(|d| d.office == office && d.number == number)
    }

    /// The queue a checked-in booking of this service waits in (CI-18: its service's queue;
    /// DG-8: the office's check-in queue "U").
    pub fn booked_queue(&self, office: &str, service: &str) -> Option<&QueueConfig> {
        let mut mine = self.queues.iter().filter(|q| q.office == office);
        match self.queue.booked_tickets {
            BookedTickets::CheckInQueue => mine.find(|q| q.check_in),
            BookedTickets::ServiceQueue => mine.find(|q| q.services.iter().any(|s| s == service)),
        }
    }

    /// Whether a desk calls a waiting ticket of `queue` (a booked visit's: of `service`). A desk
    /// calls from its queues; in the check-in queue ("U", DG-8) it takes the booked visits of
    /// the services its other queues serve — all of them when it serves no other queue, or the
    /// service has no queue of its own.
    pub fn desk_takes(&self, desk: &DeskConfig, queue: &str, service: Option<&str>) -> bool {
        if !desk.queues.iter().any(|q| q == queue) {
            return false;
        }
        let check_in = self
            .queue_of(&desk.office, queue)
            .is_some_and(|q| q.check_in);
        let (true, BookedTickets::CheckInQueue, Some(service)) =
            (check_in, self.queue.booked_tickets, service)
        else {
            return true;
        };
        let own = self
            .queues_of(&desk.office)
            .find(|q| !q.check_in && q.services.iter().any(|s| s == service));
        let only_check_in = desk
            .queues
            .iter()
            .all(|l| self.queue_of(&desk.office, l).is_some_and(|q| q.check_in));
        match own {
            None => true,
            Some(q) => only_check_in || desk.queues.contains(&q.letter),
        }
    }

    /// Whether a booked visit of `service` is on a desk's admission list (OP-9): the desk would
    /// call its ticket.
    pub fn desk_admits(&self, desk: &DeskConfig, service: &str) -> bool {
        self.booked_queue(&desk.office, service)
            .is_some_and(|q| self.desk_takes(desk, &q.letter, Some(service)))
    }
}

// ---------------------------------------------------------------------------------------------
// Tickets

/// The number printed on a ticket and shown on the displays: the letter and at least three
/// digits (A001, A002 … A999, A1000).
pub fn ticket_label(letter: &str, number: i64) -> String {
    format!("{letter}{number:03}")
}

/// The Polish text of the voice call (CI-7): the ticket's letters and digits one by one, then
/// the desk, e.g. "Numer A 0 2 3, stanowisko 4".
pub fn voice_text(label: &str, desk: i64) -> String {
    let spelled: Vec<String> = label.chars().map(|c| c.to_string()).collect();
    format!("Numer {}, stanowisko {desk}", spelled.join(" "))
}

/// A waiting ticket, as the order of calling sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub queue: String,
    pub number: i64,
    /// The booked time, for a checked-in booked visit.
    pub booked_at: Option<i64>,
    /// When the client first took a ticket (kept through transfers).
    pub arrived_at: i64,
}

/// The order in which a desk calls the waiting tickets of its queues:
///
/// 1. checked-in booked clients, by booked time, ahead of everyone waiting (CI-18, CI-20,
///    DG-3) — those whose time has not come yet only when no walk-in client waits in their
///    queue (CI-19); the others wait for their time;
/// 2. everyone else first come, first served.
pub fn call_order(waiting: &[Candidate], now: i64) -> Vec<i64> {
    let walk_in_queues: BTreeSet<&str> = waiting
        .iter()
        .filter(|c| c.booked_at.is_none())
        .map(|c| c.queue.as_str())
        .collect();
    let mut booked: Vec<&Candidate> = Vec::new();
    let mut walk_ins: Vec<&Candidate> = Vec::new();
    for c in waiting {
        match c.booked_at {
            Some(t) if t <= now || !walk_in_queues.contains(c.queue.as_str()) => booked.push(c),
            Some(_) => {}
            None => walk_ins.push(c),
        }
    }
    booked.sort_by_key(|c| (c.booked_at, c.arrived_at, c.id));
    walk_ins.sort_by_key(|c| (c.arrived_at, c.number, c.id));
    booked.into_iter().chain(walk_ins).map(|c| c.id).collect()
}

/// Applies a policy's `queue_order` answer to the candidates: the ids it names, in its order,
/// then the candidates it left out in their default order. Ids that are not candidates are
/// ignored, so a script can reorder but never add a ticket.
pub fn reorder(default: &[i64], from_policy: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(default.len());
    for id in from_policy {
        if default.contains(id) && !out.contains(id) {
            out.push(*id);
        }
    }
    for id in default {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// Whether a booked visit may be checked in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInWindow {
    /// Not before this instant (CI-16, DG-4).
    TooEarly {
        from: i64,
    },
    InTime,
    /// Its time plus the tenant's lateness has passed (CI-17, GD-11, DG-8).
    TooLate,
}

pub fn check_in_window(rules: &QueueRules, start: i64, now: i64) -> CheckInWindow {
    let from = start - i64::from(rules.check_in_before_minutes) * 60;
    if now < from {
        return CheckInWindow::TooEarly { from };
    }
    match rules.cancel_unchecked_after_minutes {
        Some(m) if now > start + i64::from(m) * 60 => CheckInWindow::TooLate,
        _ => CheckInWindow::InTime,
    }
}

/// What a recall of a called ticket does (CI-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recall {
    /// Too soon after the last call; possible from this instant.
    TooSoon { from: i64 },
    /// Call it again.
    Call,
    /// The calls are used up without an answer: the ticket is void.
    Void,
}

pub fn recall(rules: &QueueRules, call_count: i64, last_called_at: i64, now: i64) -> Recall {
    let from = last_called_at + i64::from(rules.recall_interval_minutes) * 60;
    if now < from {
        Recall::TooSoon { from }
    } else if call_count >= i64::from(rules.max_calls) {
        Recall::Void
    } else {
        Recall::Call
    }
}

/// Why an office's kiosk issues no tickets now (CI-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Holiday(&'static str),
    Closure,
    NoHoursToday,
    /// Before the day's opening, at this local time.
    OpensAt(NaiveTime),
    AfterHours,
}

impl Closed {
    /// Polish, for the kiosk screen.
    pub fn message(&self) -> String {
        match self {
            Closed::Holiday(name) => format!("Dziś urząd jest nieczynny ({name})."),
            Closed::Closure => "Dziś urząd jest nieczynny.".into(),
            Closed::NoHoursToday => "Dziś urząd nie przyjmuje interesantów.".into(),
            Closed::OpensAt(t) => format!("Bilety są wydawane od godziny {}.", t.format("%H:%M")),
            Closed::AfterHours => "Na dziś zakończono wydawanie biletów.".into(),
        }
    }
}

/// Whether an office with these hours is open now (Europe/Warsaw, public holidays, closures).
pub fn office_open(
    hours: &WeeklyHours,
    closures: &[NaiveDate],
    now: DateTime<Utc>,
) -> Result<(), Closed> {
    let local = to_local(now);
    let day = local.date();
    if let Some(name) = public_holiday(day) {
        return Err(Closed::Holiday(name));
    }
    if closures.contains(&day) {
        return Err(Closed::Closure);
    }
    let ranges = hours.on(day);
    if ranges.is_empty() {
        return Err(Closed::NoHoursToday);
    }
    let t = local.time();
    if ranges.iter().any(|(a, b)| *a <= t && t < *b) {
        return Ok(());
    }
    match ranges.iter().find(|(a, _)| t < *a) {
        Some((a, _)) => Err(Closed::OpensAt(*a)),
        None => Err(Closed::AfterHours),
    }
}

/// The local day of an instant as the store keeps it ("YYYY-MM-DD").
pub fn day_key(now: DateTime<Utc>) -> String {
    to_local(now).date().to_string()
}

/// The UTC instants `[start, end)` of a local day.
pub fn day_bounds(day: NaiveDate) -> (i64, i64) {
    let start = local_to_utc(day.and_time(NaiveTime::MIN))
        .map(|t| t.timestamp())
        .unwrap_or_default();
    let end = day
        .succ_opt()
        .and_then(|d| local_to_utc(d.and_time(NaiveTime::MIN)))
        .map(|t| t.timestamp())
        .unwrap_or(start + 86_400);
    (start, end)
}

/// A phone number as a Dąbrowa kiosk takes it (DG-8): "48" and nine digits. Spaces, dashes,
/// dots, brackets, "+" and "00" before the country code are dropped; nine digits get "48".
pub fn normalize_phone_48(s: &str) -> Option<String> {
    let t = s.trim();
    let mut digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.chars()
        .any(|c| !(c.is_ascii_digit() || " -.()+".contains(c)))
    {
        return None;
    }
    if digits.starts_with("0048") {
        digits.drain(..2);
    }
    match digits.len() {
        9 => Some(format!("48{digits}")),
        11 if digits.starts_with("48") => Some(digits),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64, queue: &str, booked_at: Option<i64>, arrived_at: i64) -> Candidate {
        Candidate {
            id,
            queue: queue.into(),
            number: id,
            booked_at,
            arrived_at,
        }
    }

    #[test]
    fn labels_and_voice() {
        assert_eq!(ticket_label("A", 1), "A001");
        assert_eq!(ticket_label("U", 23), "U023");
        assert_eq!(ticket_label("M", 1234), "M1234");
        assert_eq!(voice_text("A023", 4), "Numer A 0 2 3, stanowisko 4");
    }

    #[test]
    fn booked_clients_whose_time_came_go_first() {
        // CI-18, CI-20, DG-3: a checked-in booking before earlier walk-ins.
        let w = [
            c(1, "M", None, 100),
            c(2, "M", None, 200),
            c(3, "M", Some(900), 800),
            c(4, "D", Some(850), 850),
        ];
        assert_eq!(call_order(&w, 1000), vec![4, 3, 1, 2]);
    }

    #[test]
    fn early_booked_only_when_nobody_else_waits_in_its_queue() {
        // CI-19: booked at 2000, now 1000.
        let w = [c(1, "M", None, 100), c(3, "M", Some(2000), 800)];
        assert_eq!(call_order(&w, 1000), vec![1]);
        let w = [c(3, "M", Some(2000), 800)];
        assert_eq!(call_order(&w, 1000), vec![3]);
        // Nobody else waits in its queue: ahead of the walk-ins of the desk's other queues.
        let w = [c(1, "D", None, 900), c(3, "M", Some(2000), 800)];
        assert_eq!(call_order(&w, 1000), vec![3, 1]);
    }

    #[test]
    fn policy_order_only_reorders() {
        assert_eq!(reorder(&[1, 2, 3], &[3, 9, 3, 1]), vec![3, 1, 2]);
        assert_eq!(reorder(&[1, 2], &[]), vec![1, 2]);
    }

    #[test]
    fn check_in_windows() {
        let mut r = QueueRules {
            check_in_before_minutes: 60,
            cancel_unchecked_after_minutes: Some(10),
            ..QueueRules::default()
        };
        let start = 10_000;
        assert_eq!(
            check_in_window(&r, start, start - 3601),
            CheckInWindow::TooEarly { from: start - 3600 }
        );
        assert_eq!(
            check_in_window(&r, start, start - 3600),
            CheckInWindow::InTime
        );
        assert_eq!(
            check_in_window(&r, start, start + 600),
            CheckInWindow::InTime
        );
        assert_eq!(
            check_in_window(&r, start, start + 601),
            CheckInWindow::TooLate
        );
        r.cancel_unchecked_after_minutes = Some(0);
        assert_eq!(
            check_in_window(&r, start, start + 1),
            CheckInWindow::TooLate
        );
        r.cancel_unchecked_after_minutes = None;
        assert_eq!(
            check_in_window(&r, start, start + 9999),
            CheckInWindow::InTime
        );
    }

    #[test]
    fn recalls_at_least_ten_minutes_apart_three_calls() {
        let r = QueueRules::default();
        assert_eq!(recall(&r, 1, 0, 599), Recall::TooSoon { from: 600 });
        assert_eq!(recall(&r, 1, 0, 600), Recall::Call);
        assert_eq!(recall(&r, 2, 0, 600), Recall::Call);
        assert_eq!(recall(&r, 3, 0, 600), Recall::Void);
    }

    #[test]
    fn desks_take_the_booked_visits_of_their_services_from_the_check_in_queue() {
        let mut cfg = crate::config::TenantConfig::parse(
            "t.toml",
            r##"
slug = "t"
name = "Urząd"
[branding]
display_name = "Urząd"
primary_color = "#123456"
[booking]
horizon_days = 14
min_notice = { kind = "minutes", minutes = 60 }
cancellation_cutoff = "slot_start"
required_client_fields = ["email"]
slot_minutes = 15
[confirmation]
mode = "immediate"
[terms]
version = "1"
title = "R"
text = "T"
[[offices]]
key = "o"
name = "O"
address = "A"
hours = { mon = ["08:00-16:00"] }
[[services]]
key = "r"
office = "o"
name = "R"
capacity_online = 1
[[services]]
key = "m"
office = "o"
name = "M"
capacity_online = 1
[queue]
booked_tickets = "check_in_queue"
[[queues]]
office = "o"
letter = "U"
name = "Umówieni"
check_in = true
[[queues]]
office = "o"
letter = "R"
name = "R"
services = ["r"]
[[queues]]
office = "o"
letter = "M"
name = "M"
services = ["m"]
[[desks]]
office = "o"
number = 1
queues = ["U", "R"]
[[desks]]
office = "o"
number = 2
queues = ["U"]
"##,
        )
        .expect("parses");
        let (d1, d2) = (cfg.desks[0].clone(), cfg.desks[1].clone());
        assert!(cfg.desk_takes(&d1, "U", Some("r")));
        assert!(!cfg.desk_takes(&d1, "U", Some("m")));
        assert!(cfg.desk_takes(&d1, "R", None));
        assert!(!cfg.desk_takes(&d1, "M", None));
        assert!(cfg.desk_takes(&d2, "U", Some("m")));
        assert!(cfg.desk_admits(&d1, "r") && !cfg.desk_admits(&d1, "m"));
        assert!(cfg.desk_admits(&d2, "m"));
        // In their service's queue (CI-18) the desk of that queue takes them.
        cfg.queue.booked_tickets = BookedTickets::ServiceQueue;
        assert!(cfg.desk_admits(&d1, "r") && !cfg.desk_admits(&d2, "r"));
        // A check-in queue is required per office in check-in mode.
        cfg.queue.booked_tickets = BookedTickets::CheckInQueue;
        cfg.queues.remove(0);
        cfg.desks
            .iter_mut()
            .for_each(|d| d.queues.retain(|q| q != "U"));
        cfg.desks.retain(|d| !d.queues.is_empty());
        assert!(cfg.check().is_err());
    }

    #[test]
    fn phones_as_48() {
        assert_eq!(
            normalize_phone_48("48601234567").as_deref(),
            Some("48601234567")
        );
        assert_eq!(
            normalize_phone_48("+48 601-234-567").as_deref(),
            Some("48601234567")
        );
        assert_eq!(
            normalize_phone_48("0048601234567").as_deref(),
            Some("48601234567")
        );
        assert_eq!(
            normalize_phone_48("601 234 567").as_deref(),
            Some("48601234567")
        );
        assert_eq!(normalize_phone_48("12345"), None);
        assert_eq!(normalize_phone_48("abc601234567"), None);
        assert_eq!(normalize_phone_48("49601234567"), None);
    }

    #[test]
    fn office_hours_open_and_closed() {
        let h = WeeklyHours::from_config(&crate::config::WeeklyHoursConfig {
            tue: vec!["07:30-15:30".into()],
            ..Default::default()
        })
        .expect("hours");
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("rfc3339")
                .with_timezone(&Utc)
        };
        // Tuesday 1 December 2026: 09:00 in Warsaw is 08:00 UTC.
        assert_eq!(office_open(&h, &[], at("2026-12-01T08:00:00Z")), Ok(()));
        assert_eq!(
            office_open(&h, &[], at("2026-12-01T06:00:00Z")),
            Err(Closed::OpensAt(
                NaiveTime::from_hms_opt(7, 30, 0).expect("time")
            ))
        );
        assert_eq!(
            office_open(&h, &[], at("2026-12-01T14:30:00Z")),
            Err(Closed::AfterHours)
        );
        assert_eq!(
            office_open(&h, &[], at("2026-12-02T08:00:00Z")),
            Err(Closed::NoHoursToday)
        );
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        assert_eq!(
            office_open(&h, &[d], at("2026-12-01T08:00:00Z")),
            Err(Closed::Closure)
        );
        assert_eq!(
            office_open(&h, &[], at("2026-12-24T08:00:00Z")),
            Err(Closed::Holiday("Wigilia Bożego Narodzenia"))
        );
    }
}
