//! The ticket's screen after a POST printed it (CI-3): print date and time, queue name and
//! number, for a booked visit its time. The print stylesheet lays out only the ticket, for an
//! 80 mm thermal printer; kiosk.js prints it when the screen opens.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use okienko_app::queue;
use okienko_app::records::TicketRow;
use okienko_app::TenantCtx;

use super::frame::{self, kiosk, screen, start_path, with_lang, Frame};
use super::start::StartQuery;
use crate::site::i18n::Tr;
use crate::site::see_other;
use crate::state::HttpState;

/// A ticket is shown on its kiosk for this long after it was printed; later its address
/// leads to the start.
const SHOWN_FOR_SECONDS: i64 = 600;

/// What the ticket says (CI-3).
pub struct TicketView {
    pub number: String,
    pub queue_name: String,
    pub office_name: String,
    pub date: String,
    pub time: String,
    /// A booked visit's time.
    pub booked_time: Option<String>,
}

impl TicketView {
    pub fn of(t: &TenantCtx, row: &TicketRow) -> TicketView {
        let (date, time) = queue::printed(row.issued_at);
        TicketView {
            number: row.label.clone(),
            queue_name: queue::queue_name(t, row.office_id, &row.queue).unwrap_or_default(),
            office_name: t
                .office(row.office_id)
                .map(|o| o.cfg.name.clone())
                .unwrap_or_default(),
            date,
            time,
            booked_time: row.booked_at.map(|b| queue::printed(b).1),
        }
    }
}

#[derive(Template)]
#[template(path = "office/kiosk/ticket.html")]
struct TicketPage {
    f: Frame,
    ticket: TicketView,
}

/// `GET /t/{slug}/kiosk/bilet/{id}`: only on the kiosk of the ticket's office, shortly after.
pub async fn page(
    State(s): State<HttpState>,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = frame::lang(q.lang.as_deref());
    let (t, device) = match kiosk(&s, &slug, lang, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let start = with_lang(&start_path(&t), lang);
    let Ok(id) = id.parse::<i64>() else {
        return see_other(&start, &[]);
    };
    let now = s.app.clock.now().timestamp();
    let row = match queue::ticket(&s.app, &t, id).await {
        Ok(row)
            if row.office_id == device.office
                && (0..=SHOWN_FOR_SECONDS).contains(&(now - row.issued_at)) =>
        {
            row
        }
        _ => return see_other(&start, &[]),
    };
    let tr = Tr::new(lang);
    let ticket = TicketView::of(&t, &row);
    let path = format!("{}/bilet/{id}", start_path(&t));
    let mut f = Frame::new(lang, &t, &path, tr.t("kiosk-ticket-title"));
    f.print = true;
    f.speak = speak(tr, &ticket);
    screen(&TicketPage { f, ticket })
}

/// "Twój numer: M 0 0 1. Meldunek. …": the number spelled, as the call displays say it.
fn speak(tr: Tr, t: &TicketView) -> String {
    let spelled: Vec<String> = t.number.chars().map(String::from).collect();
    let mut text = vec![
        tr.t1("kiosk-ticket-speak", "number", &spelled.join(" ")),
        format!("{}.", t.queue_name),
    ];
    if let Some(b) = &t.booked_time {
        text.push(tr.t1("kiosk-ticket-booked", "time", b));
    }
    text.push(tr.t("kiosk-ticket-wait"));
    text.join(" ")
}
