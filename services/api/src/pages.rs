//! The pages behind e-mailed links: see a booking and cancel it (CI-15, ZG-11), confirm a
//! preliminary booking (GD-7). A GET only shows; the action is a POST from a button, so
//! mail scanners that open links change nothing. Plain HTML, no JavaScript, Polish.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::booking;
use crate::error::ApiError;
use crate::http::{tenant_of, HttpState};
use crate::TenantCtx;
use okienko_domain::calendar::to_local;
use okienko_store::BookingRow;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(t: &TenantCtx, status: StatusCode, title: &str, body: &str) -> Response {
    let b = &t.cfg.branding;
    let html = format!(
        "<!doctype html><html lang=\"pl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – {name}</title>\
         <style>body{{font-family:system-ui,sans-serif;font-size:1.25rem;line-height:1.5;margin:0;color:#0b0c0c}}\
         header{{background:{primary};color:{secondary};padding:1rem 1.5rem}}main{{max-width:40rem;padding:1.5rem}}\
         button{{font-size:1.25rem;padding:.6rem 1.2rem;background:{primary};color:{secondary};border:0;border-radius:.25rem}}\
         button:focus{{outline:3px solid #fd0;outline-offset:2px}}dt{{font-weight:bold}}</style></head>\
         <body><header><p>{name}</p></header><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
        name = escape(&b.display_name),
        primary = escape(&b.primary_color),
        secondary = escape(&b.secondary_color),
    );
    (status, Html(html)).into_response()
}

fn details(t: &TenantCtx, b: &BookingRow) -> String {
    let local = to_local(chrono::DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default());
    let service = t
        .service(b.service_id)
        .map(|s| s.cfg.name.clone())
        .unwrap_or_default();
    let status = match booking::status_of(b) {
        okienko_domain::booking::BookingStatus::Pending => "oczekuje na potwierdzenie",
        okienko_domain::booking::BookingStatus::Confirmed => "potwierdzona",
        okienko_domain::booking::BookingStatus::Cancelled => "odwołana",
        okienko_domain::booking::BookingStatus::Expired => "wygasła (niepotwierdzona)",
        okienko_domain::booking::BookingStatus::Rejected => "odrzucona przez urząd",
    };
    format!(
        "<dl><dt>Numer rezerwacji</dt><dd>{}</dd><dt>Sprawa</dt><dd>{}</dd>\
         <dt>Termin</dt><dd>{}, godz. {}</dd><dt>Stan</dt><dd>{}</dd></dl>",
        escape(&b.code),
        escape(&service),
        local.format("%d.%m.%Y"),
        local.format("%H:%M"),
        status
    )
}

fn error_page(t: &TenantCtx, e: ApiError) -> Response {
    let d = e.domain();
    let status = match d.code() {
        "INVALID_TOKEN" | "NOT_FOUND" => StatusCode::NOT_FOUND,
        "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    };
    page(
        t,
        status,
        "Nie udało się",
        &format!("<p>{}</p>", escape(&d.to_string())),
    )
}

pub async fn manage_page(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match booking::by_token(&s.app, &t, &token).await {
        Ok(b) => {
            let mut body = details(&t, &b);
            if booking::status_of(&b).holds_seat() {
                body += &format!(
                    "<form method=\"post\" action=\"/t/{}/rezerwacja/{}/anuluj\"><button type=\"submit\">Anuluj rezerwację</button></form>",
                    escape(&t.slug),
                    escape(&token)
                );
            }
            page(&t, StatusCode::OK, "Twoja rezerwacja", &body)
        }
        Err(e) => error_page(&t, e),
    }
}

pub async fn cancel_action(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match booking::cancel(&s.app, &t, &token).await {
        Ok(b) => page(
            &t,
            StatusCode::OK,
            "Rezerwacja anulowana",
            &format!(
                "{}<p>Termin jest wolny dla innych osób. Dziękujemy.</p>",
                details(&t, &b)
            ),
        ),
        Err(e) => error_page(&t, e),
    }
}

pub async fn confirm_page(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = format!(
        "<p>Aby potwierdzić wstępną rezerwację wizyty, naciśnij przycisk.</p>\
         <form method=\"post\" action=\"/t/{}/potwierdz/{}\"><button type=\"submit\">Potwierdź rezerwację</button></form>",
        escape(&t.slug),
        escape(&token)
    );
    page(&t, StatusCode::OK, "Potwierdzenie rezerwacji", &body)
}

pub async fn confirm_action(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match booking::confirm(&s.app, &t, &token, None).await {
        Ok(b) => page(
            &t,
            StatusCode::OK,
            "Rezerwacja potwierdzona",
            &format!(
                "{}<p>Potwierdzenie wysłaliśmy e-mailem.</p>",
                details(&t, &b)
            ),
        ),
        Err(e) => error_page(&t, e),
    }
}
