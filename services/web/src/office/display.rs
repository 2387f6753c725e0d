//! The hall display at `/t/{slug}/tablica` and the door display of a desk at
//! `/t/{slug}/tablica/stanowisko/{n}`, with the spoken call (CI-7, W-8), for a paired display
//! (its device cookie, `session::device`).
//!
//! The page is rendered with what the office's board holds now, so that it shows the calls at
//! once and, without JavaScript, stays a board that reloads itself every few seconds (a
//! `<meta http-equiv="refresh">` inside `<noscript>`). With JavaScript, `assets/office/display.js`
//! keeps it live over the display WebSocket, which the same cookie authenticates
//! (`queue_http::display_ws`), chimes and speaks each call: the audio from
//! `/t/{slug}/tablica/zapowiedz` ([`voice`]) when the server has `espeak-ng`, the browser's
//! speech synthesis otherwise.

mod voice;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use okienko_app::auth::DeviceKind;
use okienko_app::catalog::OfficeCtx;
use okienko_app::{queue, records, TenantCtx};
use okienko_domain::queue::day_key;
use okienko_domain::Code;
use serde::Deserialize;

use crate::office::session;
use crate::respond::error_json;
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, Chrome, Visit};
use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/t/{slug}/tablica", get(hall_page))
        .route("/t/{slug}/tablica/stanowisko/{desk}", get(door_page))
        .route("/t/{slug}/tablica/zapowiedz", get(announcement))
}

/// Calls shown large on the hall display, then the previous ones below.
const CURRENT: usize = 3;
const PREVIOUS: usize = 6;
/// Board rows read for the first state (the GraphQL `board` reads as many).
const BOARD_ROWS: i64 = 12;
/// A call this recent is highlighted in the first state (the script highlights new ones).
const FRESH_SECS: i64 = 10;
/// Without JavaScript the page reloads itself this often.
const REFRESH_SECS: u32 = 10;

/// One ticket on the board.
pub struct Row {
    pub number: String,
    pub desk: i64,
    pub queue_name: String,
    pub serving: bool,
    pub fresh: bool,
}

/// What both displays' pages share (`templates/office/display/base.html`).
pub struct Frame {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    /// The office, with the city's name unless the office's name has it.
    pub place: String,
    pub css: String,
    pub js: String,
    /// `hall` or `door`.
    pub kind: &'static str,
    pub desk: Option<u32>,
    pub ws: String,
    /// `server` (espeak-ng renders the call) or `browser` (speech synthesis).
    pub voice: &'static str,
    pub voice_url: String,
    pub chime: String,
    pub refresh: u32,
    pub current_size: usize,
    pub previous_size: usize,
}

impl Frame {
    pub fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }
}

#[derive(Template)]
#[template(path = "office/display/hall.html")]
struct HallPage {
    frame: Frame,
    current: Vec<Row>,
    previous: Vec<Row>,
}

#[derive(Template)]
#[template(path = "office/display/door.html")]
struct DoorPage {
    frame: Frame,
    call: Option<Row>,
}

/// The display's tenant, office and language, or the page to answer with instead (the
/// pairing page for a browser that is no display of this city).
/// The office is returned by its place in `t.offices`.
async fn display_of(
    s: &HttpState,
    slug: &str,
    v: &Visit,
    path: &str,
) -> Result<(Arc<TenantCtx>, usize), Response> {
    let t = site::tenant(s, slug, v.lang, path)?;
    let device = session::device(&s.app, &t, &v.headers, DeviceKind::Display).await?;
    match t.offices.iter().position(|o| o.id == device.office) {
        Some(i) => Ok((t, i)),
        None => Err(not_here(&t, v.lang, path, "display-no-office", &[])),
    }
}

fn not_here(t: &TenantCtx, lang: Lang, path: &str, id: &str, args: &[(&str, &str)]) -> Response {
    let tr = Tr::new(lang);
    site::message(
        StatusCode::NOT_FOUND,
        Chrome::new(lang, path, tr.t("display-hall-title"), Some(t)),
        vec![tr.ta(id, args)],
        None,
    )
}

fn place(t: &TenantCtx, o: &OfficeCtx) -> String {
    if o.cfg.name.contains(&t.cfg.name) {
        o.cfg.name.clone()
    } else {
        format!("{} – {}", t.cfg.name, o.cfg.name)
    }
}

fn frame(t: &TenantCtx, o: &OfficeCtx, lang: Lang, title: String, desk: Option<u32>) -> Frame {
    Frame {
        tr: Tr::new(lang),
        lang: lang.code(),
        title,
        place: place(t, o),
        css: crate::assets::url("display.css"),
        js: crate::assets::url("display.js"),
        kind: if desk.is_some() { "door" } else { "hall" },
        desk,
        ws: format!("/t/{}/display/ws", t.slug),
        voice: if voice::available() {
            "server"
        } else {
            "browser"
        },
        voice_url: format!("/t/{}/tablica/zapowiedz", t.slug),
        chime: crate::assets::url("chime.wav"),
        refresh: REFRESH_SECS,
        current_size: CURRENT,
        previous_size: PREVIOUS,
    }
}

/// The office's board now, latest call first. A database that does not answer shows an
/// empty board: the page reloads (without JavaScript) or the script reads `board` once its
/// socket is live, so the display recovers by itself.
async fn board(s: &HttpState, t: &TenantCtx, o: &OfficeCtx) -> Vec<Row> {
    let now = s.app.clock.now();
    let rows = match records::board_tickets(&s.app, t.id, o.id, &day_key(now), BOARD_ROWS).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e.domain(), "display page: the board could not be read");
            Vec::new()
        }
    };
    rows.into_iter()
        .filter_map(|r| {
            let desk = r.desk?;
            Some(Row {
                queue_name: queue::queue_name(t, r.office_id, &r.queue).unwrap_or_default(),
                serving: r.state == "serving",
                fresh: r
                    .last_called_at
                    .is_some_and(|at| now.timestamp() - at <= FRESH_SECS),
                desk,
                number: r.label,
            })
        })
        .collect()
}

/// `GET /t/{slug}/tablica`: the hall display.
async fn hall_page(State(s): State<HttpState>, Path(slug): Path<String>, v: Visit) -> Response {
    let path = format!("/t/{slug}/tablica");
    let (t, i) = match display_of(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (o, lang) = (&t.offices[i], v.lang);
    let mut rows = board(&s, &t, o).await;
    let previous: Vec<Row> = rows
        .drain(CURRENT.min(rows.len())..)
        .take(PREVIOUS)
        .collect();
    let title = Tr::new(lang).t("display-hall-title");
    site::html(
        StatusCode::OK,
        &HallPage {
            frame: frame(&t, o, lang, title, None),
            current: rows,
            previous,
        },
        &v.cookies,
        true,
    )
}

/// `GET /t/{slug}/tablica/stanowisko/{n}`: the door display of desk `n` of the display's office.
async fn door_page(
    State(s): State<HttpState>,
    Path((slug, desk)): Path<(String, String)>,
    v: Visit,
) -> Response {
    let path = format!("/t/{slug}/tablica/stanowisko/{desk}");
    let (t, i) = match display_of(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (o, lang) = (&t.offices[i], v.lang);
    let shown: String = desk.chars().take(8).collect();
    let Some(n) = desk
        .parse::<u32>()
        .ok()
        .filter(|n| t.cfg.desk_of(&o.cfg.key, *n).is_some())
    else {
        return not_here(&t, lang, &path, "display-no-desk", &[("desk", &shown)]);
    };
    let call = board(&s, &t, o)
        .await
        .into_iter()
        .find(|r| r.desk == i64::from(n));
    let title = Tr::new(lang).t1("display-door-title", "desk", &n.to_string());
    site::html(
        StatusCode::OK,
        &DoorPage {
            frame: frame(&t, o, lang, title, Some(n)),
            call,
        },
        &v.cookies,
        true,
    )
}

#[derive(Debug, Default, Deserialize)]
struct AnnouncementQuery {
    numer: Option<String>,
    stanowisko: Option<String>,
}

fn refused(status: StatusCode, code: Code, message: &str) -> Response {
    error_json(status, code, message)
}

/// `GET /t/{slug}/tablica/zapowiedz?numer=A023&stanowisko=4`: the spoken call as `audio/wav`,
/// for a paired display of this city only. The text is built here from a ticket number and a
/// desk of the display's office; anything else is refused with `VALIDATION_FAILED`. The header
/// `x-okienko-cache` says whether the audio was rendered for this request (`miss`) or kept.
async fn announcement(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    v: Visit,
) -> Response {
    let Some(t) = s.app.catalog.get(&slug) else {
        return refused(
            StatusCode::NOT_FOUND,
            Code::TenantNotFound,
            "Nie ma takiego urzędu w tym serwisie.",
        );
    };
    let Ok(device) = session::device(&s.app, &t, &v.headers, DeviceKind::Display).await else {
        return refused(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "Zapowiedzi odtwarzają tylko sparowane wyświetlacze tego urzędu.",
        );
    };
    let Some(o) = t.office(device.office) else {
        return refused(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Nie ma już urzędu tego wyświetlacza.",
        );
    };
    let known = ["numer", "stanowisko", "lang"];
    if let Some(other) = q.keys().find(|k| !known.contains(&k.as_str())) {
        let shown: String = other.chars().take(32).collect();
        return refused(
            StatusCode::BAD_REQUEST,
            Code::ValidationFailed,
            &format!(
                "Zapowiedź składa się tylko z numeru i stanowiska; nieznany parametr „{shown}”."
            ),
        );
    }
    let q = AnnouncementQuery {
        numer: q.get("numer").cloned(),
        stanowisko: q.get("stanowisko").cloned(),
    };
    let desk = q
        .stanowisko
        .as_deref()
        .and_then(|d| d.trim().parse::<u32>().ok())
        .filter(|n| t.cfg.desk_of(&o.cfg.key, *n).is_some());
    let Some(desk) = desk else {
        return refused(
            StatusCode::BAD_REQUEST,
            Code::ValidationFailed,
            "stanowisko: numer stanowiska tego urzędu, np. 4.",
        );
    };
    let Some(text) = voice::announcement(q.numer.as_deref().unwrap_or_default().trim(), desk)
    else {
        return refused(
            StatusCode::BAD_REQUEST,
            Code::ValidationFailed,
            "numer: numer biletu, np. A023 (litera i co najmniej trzy cyfry).",
        );
    };
    match voice::wav(&text).await {
        Ok((wav, hit)) => {
            let mut r = (StatusCode::OK, wav).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400"),
            );
            h.insert(
                "x-okienko-cache",
                HeaderValue::from_static(if hit { "hit" } else { "miss" }),
            );
            r
        }
        Err(voice::VoiceError::Unavailable) => refused(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Ten serwer nie odtwarza zapowiedzi (brak programu espeak-ng); wyświetlacz mówi głosem przeglądarki.",
        ),
        Err(voice::VoiceError::Failed(why)) => {
            tracing::error!(%why, "the spoken call could not be rendered");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                "Nie udało się przygotować zapowiedzi; wyświetlacz mówi głosem przeglądarki.",
            )
        }
    }
}
