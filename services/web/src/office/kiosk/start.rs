//! The start screen: the office's queues as big buttons, six a screen (W-7), a closed one
//! greyed with why (CI-4); and the walk-in ticket a button's POST prints (CI-6).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use okienko_app::queue;
use serde::Deserialize;

use super::frame::{
    self, kiosk, office, office_closed, problem, refusal, screen, start_path, with_lang, Entry,
    Frame, KioskPost,
};
use super::nonce;
use crate::site::i18n::{Lang, Tr};
use crate::site::see_other;
use crate::state::HttpState;

/// At most six choices a screen (W-7).
pub const PER_SCREEN: usize = 6;

#[derive(Debug, Default, Deserialize)]
pub struct StartQuery {
    pub lang: Option<String>,
    /// The screen of queues, from 1.
    pub strona: Option<String>,
}

/// One button of the start screen.
pub struct Button {
    pub letter: String,
    pub name: String,
    /// The check-in entry's keypad; None for a walk-in queue (its form posts the letter).
    pub keypad: Option<String>,
    /// Why it is closed now, in the screen's language.
    pub closed: Option<String>,
}

#[derive(Template)]
#[template(path = "office/kiosk/start.html")]
struct StartPage {
    f: Frame,
    buttons: Vec<Button>,
    nonce: String,
    post: String,
    screens: usize,
    /// "Strona 1 z 2".
    page_of: String,
    prev: Option<String>,
    next: Option<String>,
    /// Why the whole office gives no tickets now.
    office_closed: Option<String>,
}

/// `GET /t/{slug}/kiosk`.
pub async fn page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = frame::lang(q.lang.as_deref());
    let (t, device) = match kiosk(&s, &slug, lang, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(o) = office(&t, &device) else {
        return see_other(&start_path(&t), &[]);
    };
    let tr = Tr::new(lang);
    let path = start_path(&t);
    let states = match queue::queue_states(&s.app, &t, o).await {
        Ok(q) => q,
        Err(e) => {
            let f = Frame::new(lang, &t, &path, tr.t("kiosk-problem-title"));
            let text = refusal(&s, &t, o, tr, &e.domain(), Entry::of(&t));
            return problem(StatusCode::SERVICE_UNAVAILABLE, f, text);
        }
    };
    let closed_now = office_closed(&s, &t, o, tr);
    let keypad = with_lang(&format!("{path}/rezerwacja"), lang);
    let all: Vec<Button> = states
        .into_iter()
        .map(|q| Button {
            closed: q.closed.map(|_| {
                closed_now
                    .clone()
                    .unwrap_or_else(|| tr.t("kiosk-closed-full"))
            }),
            keypad: q.cfg.check_in.then(|| keypad.clone()),
            letter: q.cfg.letter,
            name: q.cfg.name,
        })
        .collect();
    let screens = all.len().div_ceil(PER_SCREEN).max(1);
    let screen_no = q
        .strona
        .as_deref()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, screens);
    let link = |n: usize| {
        let mut href = format!("{path}?strona={n}");
        if lang != Lang::Pl {
            href.push_str(&format!("&lang={}", lang.code()));
        }
        href
    };
    let buttons: Vec<Button> = all
        .into_iter()
        .skip((screen_no - 1) * PER_SCREEN)
        .take(PER_SCREEN)
        .collect();
    let mut f = Frame::new(lang, &t, &path, tr.t("kiosk-start-title"));
    // The Polish first screen is where inactivity leads: no timer there.
    f.idle = (lang != Lang::Pl || screen_no > 1).then_some(frame::IDLE_ENTRY);
    f.speak = speak_start(tr, &f.title, &buttons, closed_now.as_deref());
    screen(&StartPage {
        f,
        nonce: nonce::fresh(),
        post: format!("{path}/bilet"),
        prev: (screen_no > 1).then(|| link(screen_no - 1)),
        next: (screen_no < screens).then(|| link(screen_no + 1)),
        buttons,
        screens,
        page_of: tr.ta(
            "kiosk-page-of",
            &[("n", &screen_no.to_string()), ("of", &screens.to_string())],
        ),
        office_closed: closed_now,
    })
}

/// The start screen read out: the title, then each choice (and why a closed one is closed).
fn speak_start(tr: Tr, title: &str, buttons: &[Button], closed: Option<&str>) -> String {
    let mut text = vec![frame::sentence(title)];
    if let Some(c) = closed {
        text.push(c.to_string());
    }
    for b in buttons {
        match &b.closed {
            Some(why) if closed.is_none() => {
                text.push(format!("{}: {} {why}", b.name, tr.t("kiosk-closed")))
            }
            _ => text.push(format!("{}.", b.name)),
        }
    }
    text.join(" ")
}

/// `POST /t/{slug}/kiosk/bilet` (`queue`, `nonce`, `lang`): a walk-in ticket (CI-6), then
/// its page; the same nonce posted again leads to the same ticket.
pub async fn walk_in(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let KioskPost {
        form,
        lang,
        t,
        device,
    } = match KioskPost::of(&s, &slug, &headers, &body).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let path = start_path(&t);
    let (Some(o), Some(n)) = (
        office(&t, &device),
        form.get("nonce").filter(|n| nonce::valid(n)),
    ) else {
        // A form from before a restart of the page, or not from it: show the start again.
        return see_other(&with_lang(&path, lang), &[]);
    };
    let letter: String = form
        .get("queue")
        .map(|q| q.trim().to_uppercase().chars().take(8).collect())
        .unwrap_or_default();
    let issued = nonce::once(device.id, n, format!("walk-in:{letter}"), async {
        queue::issue_walk_in(&s.app, &t, o, &letter)
            .await
            .map(|row| row.id)
    })
    .await;
    match issued {
        Ok(id) => see_other(&with_lang(&format!("{path}/bilet/{id}"), lang), &[]),
        Err(e) => {
            let tr = Tr::new(lang);
            let f = Frame::new(lang, &t, &path, tr.t("kiosk-problem-title"));
            let text = refusal(&s, &t, o, tr, &e.domain(), Entry::of(&t));
            problem(StatusCode::CONFLICT, f, text)
        }
    }
}
