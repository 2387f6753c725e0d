//! The admission list as a page (OP-9): the day's booked visits of a department or desk —
//! booking code and time, no names — to print and post at the desk. For a staff member with
//! the session cookie of the login page, or with a session's bearer token (scripts, the
//! printing workstation).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::NaiveDate;
use okienko_app::auth::{self, Permission, Principal};
use okienko_app::queue::{self, AdmissionFilter};
use okienko_app::records::Scope;
use okienko_app::TenantCtx;
use okienko_domain::calendar::{local_date, to_local};
use okienko_domain::DomainError;

use crate::bearer::bearer;
use crate::site::i18n::{self, Lang, Tr};
use crate::site::{self, Chrome};
use crate::state::{tenant_of, HttpState};

struct Row {
    time: String,
    code: String,
    service: String,
    checked_in: bool,
}

#[derive(Template)]
#[template(path = "office/staff/admission.html")]
struct AdmissionPage {
    chrome: Chrome,
    office_css: String,
    place: String,
    scope: Option<String>,
    rows: Vec<Row>,
    error: Option<String>,
}

/// The page in `lang`, listing `rows`, or saying what went wrong.
struct Page<'a> {
    t: &'a TenantCtx,
    lang: Lang,
    path: String,
}

impl Page<'_> {
    fn render(&self, status: StatusCode, title: String, body: AdmissionPage) -> Response {
        let mut body = body;
        body.chrome = Chrome::new(self.lang, &self.path, title, Some(self.t));
        site::html(status, &body, &[], true)
    }

    fn error(&self, d: &DomainError) -> Response {
        let status = match d.code() {
            "UNAUTHENTICATED" | "SESSION_EXPIRED" => StatusCode::UNAUTHORIZED,
            "FORBIDDEN" => StatusCode::FORBIDDEN,
            "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
            "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let tr = Tr::new(self.lang);
        self.render(
            status,
            tr.t("admission-error-title"),
            AdmissionPage {
                chrome: Chrome::new(self.lang, &self.path, String::new(), Some(self.t)),
                office_css: crate::office::staff::office_css(),
                place: self.t.cfg.name.clone(),
                scope: None,
                rows: Vec::new(),
                error: Some(d.to_string()),
            },
        )
    }
}

fn staff_only() -> DomainError {
    DomainError::Forbidden("listę przyjęć widzą tylko pracownicy urzędu.".into())
}

/// `GET /t/{slug}/staff/przyjecia?dzien=YYYY-MM-DD&wydzial=…&urzad=…&stanowisko=…`: the list;
/// `dzien` defaults to today.
pub async fn admission_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (lang, _) = i18n::choose(params.get("lang").map(String::as_str), &headers);
    let page = Page {
        t: &t,
        lang,
        path: uri.path().to_string(),
    };
    if bearer(&headers).is_some() {
        let who = match auth::authenticate(&s.app, Scope::Tenant(t.id), bearer(&headers)).await {
            Ok(a) => a,
            Err(e) => return page.error(&e.domain()),
        };
        let staff = who.principal().and_then(|p| match p {
            Principal::Device { .. } | Principal::ApiKey { .. } => Err(staff_only()),
            p => p.staff_allowed(t.id, Permission::ReadBookings),
        });
        if let Err(d) = staff {
            return page.error(&d);
        }
    } else {
        // A browser without the header: the staff session cookie of the login page, or the
        // login page, coming back here afterwards (issue 14).
        let here = match uri.query() {
            Some(q) => format!("{}?{q}", uri.path()),
            None => uri.path().to_string(),
        };
        match crate::office::session::staff(&s.app, &t, &headers, &here).await {
            Ok((who, _)) if who.role.allows(Permission::ReadBookings) => {}
            Ok(_) => return page.error(&staff_only()),
            Err(to_login) => return to_login,
        }
    }
    let text = |k: &str| {
        params
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let day = match text("dzien") {
        Some(d) => match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                return page.error(&DomainError::invalid("dzien", "data w postaci RRRR-MM-DD"))
            }
        },
        None => local_date(s.app.clock.now()),
    };
    // The office by the id every API returns, or by its key.
    let office = match text("urzad") {
        Some(key) => match t
            .offices
            .iter()
            .find(|o| o.id.to_string() == key || o.cfg.key == key)
        {
            Some(o) => Some(o),
            None => return page.error(&DomainError::invalid("urzad", "nie ma takiego urzędu")),
        },
        None => None,
    };
    let desk = match text("stanowisko") {
        Some(n) => match n.parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => return page.error(&DomainError::invalid("stanowisko", "numer stanowiska od 1")),
        },
        None => None,
    };
    let department = text("wydzial");
    let f = AdmissionFilter {
        office_id: office.map(|o| o.id),
        desk,
        department: department.clone(),
    };
    let entries = match queue::admission_list(&s.app, &t, day, &f).await {
        Ok(e) => e,
        Err(e) => return page.error(&e.domain()),
    };
    // The city's name once: an office whose name includes it stands for it.
    let place = match office {
        Some(o) if o.cfg.name.contains(&t.cfg.name) => o.cfg.name.clone(),
        Some(o) => format!("{} – {}", t.cfg.name, o.cfg.name),
        None => t.cfg.name.clone(),
    };
    let tr = Tr::new(lang);
    let mut scope = Vec::new();
    if let Some(d) = &department {
        let name = t
            .cfg
            .offices
            .iter()
            .flat_map(|o| o.departments.iter())
            .find(|x| &x.key == d)
            .map_or(d.clone(), |x| x.name.clone());
        scope.push(name);
    }
    if let Some(n) = desk {
        scope.push(tr.t1("admission-desk", "desk", &n.to_string()));
    }
    let rows = entries
        .iter()
        .map(|e| Row {
            time: to_local(e.start).format("%H:%M").to_string(),
            code: e.code.clone(),
            service: e.service.clone(),
            checked_in: e.checked_in,
        })
        .collect();
    let title = tr.t1(
        "admission-title",
        "day",
        &t.cfg.messages.date_format.format(day),
    );
    page.render(
        StatusCode::OK,
        title,
        AdmissionPage {
            chrome: Chrome::new(lang, &page.path, String::new(), Some(&t)),
            office_css: crate::office::staff::office_css(),
            place,
            scope: (!scope.is_empty()).then(|| scope.join(", ")),
            rows,
            error: None,
        },
    )
}
