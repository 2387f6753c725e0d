//! Which desk this computer is: chosen on `/t/{slug}/stanowisko/wybor` and kept in the cookie
//! `okienko_desk` (`{office id}-{desk number}`) of the desk page's path, for a year. The cookie
//! is read against the city's configuration every time, so a desk removed by the administrator
//! simply asks for a new choice.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use okienko_app::catalog::OfficeCtx;
use okienko_app::{App, TenantCtx};
use okienko_domain::queue::DeskConfig;

use super::{chrome, clerk, home};
use crate::site::i18n::Tr;
use crate::site::{self, csrf, Chrome, ErrorItem, Visit};
use crate::state::HttpState;

/// The cookie naming this computer's desk.
pub const DESK_COOKIE: &str = "okienko_desk";

/// A desk of one of the city's offices.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    pub office: &'a OfficeCtx,
    pub desk: &'a DeskConfig,
}

impl Place<'_> {
    fn value(&self) -> String {
        format!("{}-{}", self.office.id, self.desk.number)
    }
}

/// The choice page's address.
pub fn path(t: &TenantCtx) -> String {
    format!("{}/wybor", home(t))
}

/// Every desk of the city, office by office as configured.
fn places(t: &TenantCtx) -> Vec<Place<'_>> {
    t.offices
        .iter()
        .flat_map(|office| {
            t.cfg
                .desks
                .iter()
                .filter(move |d| d.office == office.cfg.key)
                .map(move |desk| Place { office, desk })
        })
        .collect()
}

fn parse<'a>(t: &'a TenantCtx, value: &str) -> Option<Place<'a>> {
    let value = value.trim();
    places(t).into_iter().find(|p| p.value() == value)
}

/// The desk this computer chose, if it still exists.
pub fn chosen<'a>(t: &'a TenantCtx, headers: &axum::http::HeaderMap) -> Option<Place<'a>> {
    site::cookie(headers, DESK_COOKIE).and_then(|v| parse(t, &v))
}

fn set_cookie(app: &App, t: &TenantCtx, value: &str) -> String {
    let secure = if app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{DESK_COOKIE}={value}; Path={}; Max-Age=31536000; HttpOnly; SameSite=Strict{secure}",
        home(t)
    )
}

struct Choice {
    id: String,
    value: String,
    label: String,
    hint: String,
    checked: bool,
}

struct OfficeGroup {
    name: String,
    choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "office/desk/choose.html")]
struct ChoosePage {
    chrome: Chrome,
    post: String,
    groups: Vec<OfficeGroup>,
    several: bool,
    error: Option<String>,
}

fn render(t: &TenantCtx, v: &Visit, current: Option<String>, error: Option<String>) -> Response {
    let tr = Tr::new(v.lang);
    let path = path(t);
    let mut chrome = chrome(v, &path, tr.t("desk-choose-title"), t);
    let all = places(t);
    let groups: Vec<OfficeGroup> = t
        .offices
        .iter()
        .map(|o| OfficeGroup {
            name: o.cfg.name.clone(),
            choices: all
                .iter()
                .filter(|p| p.office.id == o.id)
                .map(|p| Choice {
                    id: format!("stanowisko-{}", p.value()),
                    value: p.value(),
                    label: tr.t1("desk-heading", "desk", &p.desk.number.to_string()),
                    hint: tr.t1("desk-choose-queues", "queues", &queues_named(t, p)),
                    checked: current.as_deref() == Some(p.value().as_str()),
                })
                .collect(),
        })
        .filter(|g| !g.choices.is_empty())
        .collect();
    let first = groups
        .first()
        .and_then(|g| g.choices.first())
        .map(|c| c.id.clone())
        .unwrap_or_default();
    if let Some(e) = &error {
        chrome.errors = vec![ErrorItem {
            id: first,
            text: e.clone(),
        }];
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    site::html(
        status,
        &ChoosePage {
            chrome,
            post: path,
            several: groups.len() > 1,
            groups,
            error,
        },
        &v.cookies,
        true,
    )
}

/// "A – Sprawy meldunkowe, B – Dowody osobiste": the queues a desk calls from.
fn queues_named(t: &TenantCtx, p: &Place<'_>) -> String {
    p.desk
        .queues
        .iter()
        .map(|l| match t.cfg.queue_of(&p.office.cfg.key, l) {
            Some(q) => format!("{l} – {}", q.name),
            None => l.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `GET /t/{slug}/stanowisko/wybor`.
pub async fn page(State(s): State<HttpState>, Path(slug): Path<String>, v: Visit) -> Response {
    let path = format!("/t/{slug}/stanowisko/wybor");
    let (t, _) = match clerk(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if places(&t).is_empty() {
        let tr = Tr::new(v.lang);
        return site::message(
            StatusCode::OK,
            chrome(&v, &path, tr.t("desk-choose-title"), &t),
            vec![tr.t("desk-choose-none")],
            None,
        );
    }
    let current = chosen(&t, &v.headers).map(|p| p.value());
    render(&t, &v, current, None)
}

/// `POST /t/{slug}/stanowisko/wybor`: remembers the desk, then the desk page.
pub async fn submit(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    v: Visit,
    body: Bytes,
) -> Response {
    let path = format!("/t/{slug}/stanowisko/wybor");
    let (t, _) = match clerk(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !csrf::same_origin(&v.headers) {
        return super::cross_site(&t, &v, &path);
    }
    let value: String = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "stanowisko")
        .map(|(_, v)| v.chars().take(40).collect())
        .unwrap_or_default();
    match parse(&t, &value) {
        Some(p) => {
            let mut cookies = v.cookies.clone();
            cookies.push(set_cookie(&s.app, &t, &p.value()));
            site::see_other(&format!("{}?wynik=wybrano", home(&t)), &cookies)
        }
        None => render(
            &t,
            &v,
            None,
            Some(Tr::new(v.lang).t("desk-choose-required")),
        ),
    }
}
