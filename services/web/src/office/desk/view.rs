//! What the desk page shows: the desk's current ticket (with a booked visit's data to compare,
//! ZG-14), what the clerk may do with it, and the desk's queues — how many wait and for how
//! long, and who `callNext` would call now (CI-18 … CI-20, DG-3).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use okienko_app::auth::{ts, StaffRef};
use okienko_app::queue;
use okienko_app::records::{self, TicketRow};
use okienko_app::{App, TenantCtx};
use okienko_domain::calendar::to_local;
use okienko_domain::config::FieldKind;
use okienko_domain::queue::day_key;
use serde_json::Value;

use super::place::{self, Place};
use super::{chrome, home, Outcome};
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, Chrome, ErrorItem, Visit};
use crate::state::HttpState;

/// What an answer to an action adds to the page: the result, or the refusal and what was typed.
#[derive(Debug, Default)]
pub struct Shown {
    pub result: Option<String>,
    /// The control the refusal is about (the summary links to it) and the Polish message.
    pub error: Option<ErrorItem>,
    pub queue: String,
    pub reason: String,
    pub note: String,
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The recall button's state (CI-8): seconds until the server allows it, and what to say.
pub struct RecallView {
    pub wait: i64,
    pub hint: String,
    pub ready: String,
    pub countdown: String,
}

pub struct Current {
    pub id: i64,
    pub number: String,
    pub serving: bool,
    pub rows: Vec<(String, String)>,
    /// A booked visit's data to compare with the client's documents.
    pub booking: Option<Vec<(String, String)>>,
    pub recall: Option<RecallView>,
    pub transfer_to: Vec<Opt>,
    pub reasons: Vec<Opt>,
}

pub struct QueueLine {
    pub letter: String,
    pub name: String,
    pub waiting: usize,
    pub longest: String,
}

#[derive(Template)]
#[template(path = "office/desk/desk.html")]
struct DeskPage {
    chrome: Chrome,
    heading: String,
    place_line: String,
    change: String,
    base: String,
    result: Option<String>,
    current: Option<Current>,
    queues: Vec<QueueLine>,
    next: Option<String>,
    error_field: String,
    error_text: String,
    note: String,
}

/// The desk's called or serving ticket of today and the tickets waiting that it would call.
pub async fn tickets(
    app: &App,
    t: &TenantCtx,
    p: Place<'_>,
) -> Result<(Option<TicketRow>, Vec<TicketRow>), okienko_app::error::ApiError> {
    let day = day_key(app.clock.now());
    let all = records::tickets_of_day(app, t.id, p.office.id, &day, &[]).await?;
    let mut current = None;
    let mut waiting = Vec::new();
    for r in all {
        let here = r.desk == Some(i64::from(p.desk.number));
        match r.state.as_str() {
            "called" | "serving" if here => current = Some(r),
            "waiting" if takes(t, p, &r) => waiting.push(r),
            _ => {}
        }
    }
    Ok((current, waiting))
}

/// Whether the desk calls this waiting ticket, by the rule `callNext` applies.
fn takes(t: &TenantCtx, p: Place<'_>, r: &TicketRow) -> bool {
    let service = r
        .service_id
        .and_then(|s| t.service(s))
        .map(|s| s.cfg.key.as_str());
    t.cfg.desk_takes(p.desk, &r.queue, service)
}

/// "12 min", "1 godz. 5 min".
pub fn span(tr: &Tr, seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    if minutes < 60 {
        tr.t1("desk-minutes", "m", &minutes.to_string())
    } else {
        tr.ta(
            "desk-hours",
            &[
                ("h", &(minutes / 60).to_string()),
                ("m", &(minutes % 60).to_string()),
            ],
        )
    }
}

fn hhmm(t: i64) -> String {
    to_local(ts(t)).format("%H:%M").to_string()
}

fn countdown(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

fn queue_label(t: &TenantCtx, r: &TicketRow) -> String {
    match queue::queue_name(t, r.office_id, &r.queue) {
        Some(name) => format!("{} – {name}", r.queue),
        None => r.queue.clone(),
    }
}

/// The reasons the clerk picks from when refusing (ZG-14), by the ticket: the data of a booked
/// visit that do not match (the vehicle's and owner's for services that ask for a vehicle, as
/// Zielona Góra's rules name them), a matter other than the one booked, or another reason
/// described in the note.
pub fn reasons(t: &TenantCtx, r: Option<&TicketRow>) -> Vec<&'static str> {
    let service = r
        .and_then(|r| r.booking_id.and(r.service_id))
        .and_then(|s| t.service(s));
    let mut out = Vec::new();
    if let Some(s) = service {
        let vehicle = s
            .cfg
            .fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::RegistrationNumber | FieldKind::VinTail));
        if vehicle {
            out.extend(["pojazd", "wlasciciel"]);
        } else {
            out.push("dane");
        }
        out.push("sprawa");
    }
    out.push("inny");
    out
}

/// The catalogue id of a reason's label.
pub fn reason_id(key: &str) -> String {
    format!("desk-reason-{key}")
}

/// The reason as recorded on the ticket and the booking (always Polish: the record and the
/// client's e-mail are), with the clerk's note.
pub fn reason_text(key: &str, note: &str) -> String {
    let label = Tr::new(Lang::Pl).t(&reason_id(key));
    match (key, note.trim()) {
        (_, "") => label,
        ("inny", n) => n.to_string(),
        (_, n) => format!("{label}: {n}"),
    }
}

async fn booking_rows(app: &App, t: &TenantCtx, tr: &Tr, r: &TicketRow) -> Vec<(String, String)> {
    let Some(id) = r.booking_id else {
        return Vec::new();
    };
    let Ok(Some(visit)) = records::visit_by_id(app, t.id, id).await else {
        return Vec::new();
    };
    let service = t.service(visit.service_id);
    let mut rows = vec![
        (tr.t("desk-booking-code"), visit.code.clone()),
        (
            tr.t("desk-booking-service"),
            service.map(|s| s.cfg.name.clone()).unwrap_or_default(),
        ),
        (tr.t("desk-booking-time"), hhmm(visit.slot_start)),
    ];
    let Ok(Some(b)) = records::staff_booking_by_code(app, t.id, &visit.code).await else {
        return rows;
    };
    if b.erased_at.is_some() {
        rows.push((tr.t("desk-booking-client"), tr.t("desk-booking-erased")));
        return rows;
    }
    if let Some(name) = b.booking.client_name.filter(|n| !n.trim().is_empty()) {
        rows.push((tr.t("desk-booking-client"), name));
    }
    let fields: Value = serde_json::from_str(&b.booking.fields_json).unwrap_or(Value::Null);
    for f in service.map(|s| s.cfg.fields.as_slice()).unwrap_or_default() {
        let value = match &fields[&f.key] {
            Value::String(s) => s.trim().to_string(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if !value.is_empty() {
            rows.push((f.label.clone(), value));
        }
    }
    rows
}

async fn current(app: &App, t: &TenantCtx, tr: &Tr, r: &TicketRow, shown: &Shown) -> Current {
    let now = app.clock.now().timestamp();
    let rules = &t.cfg.queue;
    let serving = r.state == "serving";
    let state = if serving {
        tr.t("desk-state-serving")
    } else {
        tr.t("desk-state-called")
    };
    let called = r.first_called_at.unwrap_or(now);
    let mut rows = vec![
        (tr.t("desk-queue"), queue_label(t, r)),
        (tr.t("desk-state"), state),
        (
            tr.t("desk-kind"),
            if r.booking_id.is_some() {
                tr.t("desk-kind-booked")
            } else {
                tr.t("desk-kind-walk-in")
            },
        ),
        (tr.t("desk-arrived"), hhmm(r.arrived_at)),
        (tr.t("desk-waited"), span(tr, called - r.arrived_at)),
    ];
    if let Some(last) = r.last_called_at {
        rows.push((
            tr.t("desk-calls"),
            tr.ta(
                "desk-calls-value",
                &[
                    ("count", &r.call_count.to_string()),
                    ("max", &rules.max_calls.to_string()),
                    ("time", &hhmm(last)),
                ],
            ),
        ));
    }
    let recall = (!serving).then(|| {
        let from =
            r.last_called_at.unwrap_or(r.issued_at) + i64::from(rules.recall_interval_minutes) * 60;
        let wait = (from - now).max(0);
        let ready = if r.call_count >= i64::from(rules.max_calls) {
            tr.t1("desk-recall-voids", "max", &rules.max_calls.to_string())
        } else {
            tr.t("desk-recall-now")
        };
        RecallView {
            wait,
            hint: tr.t1("desk-recall-from", "time", &hhmm(from)),
            ready,
            countdown: countdown(wait),
        }
    });
    let transfer_to = t
        .office(r.office_id)
        .map(|o| {
            t.cfg
                .queues_of(&o.cfg.key)
                .filter(|q| !q.check_in && q.letter != r.queue)
                .map(|q| Opt {
                    selected: shown.queue == q.letter,
                    value: q.letter.clone(),
                    label: format!("{} – {}", q.letter, q.name),
                })
                .collect()
        })
        .unwrap_or_default();
    let reasons = reasons(t, Some(r))
        .into_iter()
        .map(|k| Opt {
            selected: shown.reason == k,
            value: k.to_string(),
            label: tr.t(&reason_id(k)),
        })
        .collect();
    let booking = match booking_rows(app, t, tr, r).await {
        rows if rows.is_empty() => None,
        rows => Some(rows),
    };
    Current {
        id: r.id,
        number: r.label.clone(),
        serving,
        rows,
        booking,
        recall,
        transfer_to,
        reasons,
    }
}

fn queue_lines(
    t: &TenantCtx,
    p: Place<'_>,
    tr: &Tr,
    waiting: &[TicketRow],
    now: i64,
) -> Vec<QueueLine> {
    p.desk
        .queues
        .iter()
        .map(|letter| {
            let mine: Vec<&TicketRow> = waiting.iter().filter(|r| &r.queue == letter).collect();
            let longest = mine.iter().map(|r| now - r.arrived_at).max();
            QueueLine {
                letter: letter.clone(),
                name: t
                    .cfg
                    .queue_of(&p.office.cfg.key, letter)
                    .map(|q| q.name.clone())
                    .unwrap_or_default(),
                waiting: mine.len(),
                longest: longest.map_or_else(|| "–".to_string(), |s| span(tr, s)),
            }
        })
        .collect()
}

/// The sentence after an action, read back from the ticket it named (scoped to the city).
pub async fn outcome(app: &App, t: &TenantCtx, tr: &Tr, o: &Outcome) -> Option<String> {
    let kind = o.wynik.as_deref()?;
    if kind == "pusto" {
        return Some(tr.t("desk-result-empty"));
    }
    if kind == "wybrano" {
        return Some(tr.t("desk-result-chosen"));
    }
    let id = o.bilet.as_deref()?.trim().parse().ok()?;
    let r = queue::ticket(app, t, id).await.ok()?;
    let n = r.label.as_str();
    Some(match kind {
        "wywolano" => tr.t1("desk-result-called", "number", n),
        "ponowiono" if r.state == "void" => tr.t1("desk-result-void", "number", n),
        "ponowiono" => tr.ta(
            "desk-result-recalled",
            &[("number", n), ("count", &r.call_count.to_string())],
        ),
        "rozpoczeto" => tr.t1("desk-result-started", "number", n),
        "zakonczono" => tr.t1("desk-result-finished", "number", n),
        "odmowiono" => tr.t1("desk-result-refused", "number", n),
        // The client keeps the ticket's number in the new queue.
        "przekazano" => tr.ta(
            "desk-result-transferred",
            &[("number", n), ("queue", &queue_label(t, &r))],
        ),
        _ => return None,
    })
}

/// The desk page with what `shown` adds.
pub async fn render(
    s: &HttpState,
    t: &TenantCtx,
    who: &StaffRef,
    v: &Visit,
    p: Place<'_>,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let tr = Tr::new(v.lang);
    let path = home(t);
    let heading = tr.t1("desk-heading", "desk", &p.desk.number.to_string());
    let mut chrome = chrome(v, &path, heading.clone(), t);
    let (row, waiting) = match tickets(&s.app, t, p).await {
        Ok(x) => x,
        Err(e) => {
            return site::message(
                StatusCode::SERVICE_UNAVAILABLE,
                chrome,
                vec![e.domain().to_string()],
                None,
            )
        }
    };
    let now = s.app.clock.now();
    let current = match &row {
        Some(r) => Some(current(&s.app, t, &tr, r, &shown).await),
        None => None,
    };
    let next = queue::call_candidates(&s.app, t, &waiting, now)
        .await
        .first()
        .and_then(|id| waiting.iter().find(|r| r.id == *id))
        .map(|r| tr.t1("desk-next", "number", &r.label));
    let (error_field, error_text) = match &shown.error {
        Some(e) => (e.id.clone(), e.text.clone()),
        None => (String::new(), String::new()),
    };
    chrome.errors = shown.error.into_iter().collect();
    let page = DeskPage {
        heading,
        place_line: tr.ta(
            "desk-place",
            &[
                ("office", &p.office.cfg.name),
                ("name", &who.user.display_name),
            ],
        ),
        change: place::path(t),
        base: path,
        result: shown.result,
        queues: queue_lines(t, p, &tr, &waiting, now.timestamp()),
        current,
        next,
        error_field,
        error_text,
        note: shown.note,
        chrome,
    };
    site::html(status, &page, &v.cookies, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_countdowns_read_as_the_clerk_reads_them() {
        let tr = Tr::new(Lang::Pl);
        assert_eq!(span(&tr, 59), "0 min");
        assert_eq!(span(&tr, 12 * 60 + 30), "12 min");
        assert_eq!(span(&tr, 77 * 60), "1 godz. 17 min");
        assert_eq!(span(&tr, -5), "0 min");
        assert_eq!(countdown(600), "10:00");
        assert_eq!(countdown(65), "1:05");
        assert_eq!(countdown(-1), "0:00");
    }

    /// ZG-14: the recorded reason is Polish whatever the page's language, with the note.
    #[test]
    fn the_recorded_reason_is_the_label_and_the_note() {
        assert_eq!(
            reason_text("pojazd", " VIN inny "),
            "Dane pojazdu niezgodne z rezerwacją: VIN inny"
        );
        assert_eq!(
            reason_text("wlasciciel", ""),
            "Dane właściciela pojazdu niezgodne z rezerwacją"
        );
        assert_eq!(
            reason_text("inny", "brak pełnomocnictwa"),
            "brak pełnomocnictwa"
        );
        for key in ["pojazd", "wlasciciel", "dane", "sprawa", "inny"] {
            for lang in Lang::ALL {
                let label = Tr::new(lang).t(&reason_id(key));
                assert_ne!(label, reason_id(key), "{key} in {}", lang.code());
            }
        }
    }
}
