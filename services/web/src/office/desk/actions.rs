//! The desk's actions, each a form posting to `/t/{slug}/stanowisko/{action}`: the use cases of
//! `okienko_app::queue` called as the desk API calls them, then 303 back to the page with what
//! happened, or the page again with the refusal in Polish.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use okienko_app::auth::StaffRef;
use okienko_app::error::ApiError;
use okienko_app::queue;
use okienko_app::records::TicketRow;
use okienko_app::TenantCtx;
use okienko_domain::DomainError;

use super::place::{self, Place};
use super::view::{self, Shown};
use super::{clerk, home};
use crate::site::i18n::Tr;
use crate::site::{self, csrf, ErrorItem, Visit};
use crate::state::HttpState;

/// What a form asks: call the next client, or do something with the desk's current ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Call,
    Ticket(OnTicket),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnTicket {
    Recall,
    Start,
    Finish,
    Transfer,
    Refuse,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "wywolaj" => Action::Call,
            "ponow" => Action::Ticket(OnTicket::Recall),
            "rozpocznij" => Action::Ticket(OnTicket::Start),
            "zakoncz" => Action::Ticket(OnTicket::Finish),
            "przekaz" => Action::Ticket(OnTicket::Transfer),
            "odmow" => Action::Ticket(OnTicket::Refuse),
            _ => return None,
        })
    }

    /// The `wynik` the page is redirected with.
    fn done(self) -> &'static str {
        match self {
            Action::Call => "wywolano",
            Action::Ticket(OnTicket::Recall) => "ponowiono",
            Action::Ticket(OnTicket::Start) => "rozpoczeto",
            Action::Ticket(OnTicket::Finish) => "zakonczono",
            Action::Ticket(OnTicket::Transfer) => "przekazano",
            Action::Ticket(OnTicket::Refuse) => "odmowiono",
        }
    }

    /// The control a refusal of this action is about (the error summary links to it).
    fn control(self) -> &'static str {
        match self {
            Action::Call => "desk-call",
            Action::Ticket(OnTicket::Recall) => "desk-recall",
            Action::Ticket(OnTicket::Start) => "desk-start",
            Action::Ticket(OnTicket::Finish) => "desk-finish",
            Action::Ticket(OnTicket::Transfer) => "desk-transfer-to",
            Action::Ticket(OnTicket::Refuse) => "desk-reason",
        }
    }
}

/// A refusal: the control it is about, the Polish message, the status.
struct Refusal(&'static str, String, StatusCode);

impl Refusal {
    fn of(control: &'static str, e: &ApiError) -> Refusal {
        let d = e.domain();
        let status = match d {
            DomainError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        };
        // A ticket no longer in the state asked for, or a desk that still holds one: about
        // the current ticket, not the button.
        let control = if matches!(
            d,
            DomainError::TicketState { .. } | DomainError::DeskBusy { .. }
        ) {
            "desk-current"
        } else {
            control
        };
        Refusal(control, d.to_string(), status)
    }
}

type Form = HashMap<String, String>;

fn form(body: &[u8]) -> Form {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.chars().take(1000).collect()))
        .collect()
}

fn field<'a>(f: &'a Form, k: &str) -> &'a str {
    f.get(k).map_or("", |v| v.trim())
}

/// `POST /t/{slug}/stanowisko/{action}`.
pub async fn submit(
    State(s): State<HttpState>,
    Path((slug, action)): Path<(String, String)>,
    v: Visit,
    body: Bytes,
) -> Response {
    let path = format!("/t/{slug}/stanowisko");
    let (t, who) = match clerk(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !csrf::same_origin(&v.headers) {
        return super::cross_site(&t, &v, &path);
    }
    let Some(action) = Action::parse(&action) else {
        return site::not_found(&t, v.lang, &path);
    };
    let Some(p) = place::chosen(&t, &v.headers) else {
        return site::see_other(&place::path(&t), &[]);
    };
    let f = form(&body);
    match run(&s, &t, &who, p, action, &f, &Tr::new(v.lang)).await {
        Ok(Some(ticket)) => site::see_other(
            &format!("{}?wynik={}&bilet={ticket}", home(&t), action.done()),
            &[],
        ),
        Ok(None) => site::see_other(&format!("{}?wynik=pusto", home(&t)), &[]),
        Err(Refusal(control, text, status)) => {
            let shown = Shown {
                error: Some(ErrorItem {
                    id: control.into(),
                    text,
                }),
                queue: field(&f, "kolejka").to_string(),
                reason: field(&f, "powod").to_string(),
                note: field(&f, "opis").to_string(),
                ..Shown::default()
            };
            view::render(&s, &t, &who, &v, p, shown, status).await
        }
    }
}

/// Runs the action; the ticket to report on, or none when nobody waited for a call.
async fn run(
    s: &HttpState,
    t: &TenantCtx,
    who: &StaffRef,
    p: Place<'_>,
    action: Action,
    f: &Form,
    tr: &Tr,
) -> Result<Option<i64>, Refusal> {
    let control = action.control();
    let app = &s.app;
    let on = match action {
        Action::Call => {
            return queue::call_next(app, &s.bus, t, p.office, p.desk.number, Some(who.user.id))
                .await
                .map(|t| t.map(|t| t.id))
                .map_err(|e| Refusal::of(control, &e))
        }
        Action::Ticket(on) => on,
    };
    let ticket = this_ticket(s, t, p, f, tr).await?;
    let id = ticket.id;
    let answer = match on {
        OnTicket::Recall => queue::recall(app, &s.bus, t, id).await,
        OnTicket::Start => queue::start_service(app, t, id).await,
        OnTicket::Finish => queue::finish_service(app, &s.bus, t, id).await,
        OnTicket::Transfer => {
            let letter = field(f, "kolejka");
            if letter.is_empty() {
                return Err(Refusal(
                    control,
                    tr.t("desk-err-queue"),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
            queue::transfer(app, &s.bus, t, id, letter).await
        }
        OnTicket::Refuse => {
            let reason = reason(t, &ticket, f, tr)?;
            queue::refuse(app, &s.bus, t, id, &reason).await
        }
    };
    answer
        .map(|r| Some(r.id))
        .map_err(|e| Refusal::of(control, &e))
}

/// The desk's current ticket, which must be the one the page showed (`bilet`): a page left
/// open while the ticket moved on acts on nothing.
async fn this_ticket(
    s: &HttpState,
    t: &TenantCtx,
    p: Place<'_>,
    f: &Form,
    tr: &Tr,
) -> Result<TicketRow, Refusal> {
    let (current, _) = view::tickets(&s.app, t, p)
        .await
        .map_err(|e| Refusal::of("desk-current", &e))?;
    let posted: Option<i64> = field(f, "bilet").parse().ok();
    match current {
        Some(c) if Some(c.id) == posted => Ok(c),
        _ => {
            let shown = match posted {
                Some(id) => queue::ticket(&s.app, t, id).await.ok().map(|r| r.label),
                None => None,
            };
            let text = match shown {
                Some(n) => tr.t1("desk-err-stale", "number", &n),
                None => tr.t("desk-err-no-ticket"),
            };
            Err(Refusal("desk-current", text, StatusCode::CONFLICT))
        }
    }
}

/// The refusal's reason (ZG-14): one of the offered ones, "inny" only with a description.
fn reason(t: &TenantCtx, ticket: &TicketRow, f: &Form, tr: &Tr) -> Result<String, Refusal> {
    let key = field(f, "powod");
    let note = field(f, "opis");
    if !view::reasons(t, Some(ticket)).contains(&key) {
        return Err(Refusal(
            "desk-reason",
            tr.t("desk-err-reason"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if key == "inny" && note.is_empty() {
        return Err(Refusal(
            "desk-note",
            tr.t("desk-err-note"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    Ok(view::reason_text(key, note))
}
