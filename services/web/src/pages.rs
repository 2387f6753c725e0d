//! The pages behind e-mailed links (W-6): see a booking and cancel it with one confirming step
//! (CI-15, ZG-11), confirm a preliminary booking (GD-7). A GET only shows; every action is a
//! POST from a button, so mail scanners that open links change nothing, and a cross-site POST
//! is refused. Plain HTML from askama templates, no JavaScript, Polish, in the city's colours
//! and its date format.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use okienko_app::records::{self, BookingRow};
use okienko_domain::booking::BookingStatus;
use okienko_domain::calendar::to_local;
use okienko_domain::config::ConfirmationMode;
use okienko_domain::{Code, DomainError};

use crate::state::{tenant_of, HttpState};
use okienko_app::booking;
use okienko_app::error::ApiError;
use okienko_app::tokens;
use okienko_app::{App, TenantCtx};

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// No script, no third-party requests, forms only to this server.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What every page shows around its content: the city's name and colours.
pub(crate) struct Layout {
    pub(crate) title: String,
    pub(crate) city: String,
    pub(crate) primary: String,
    pub(crate) secondary: String,
}

impl Layout {
    pub(crate) fn of(t: &TenantCtx, title: &str) -> Layout {
        let b = &t.cfg.branding;
        Layout {
            title: title.to_string(),
            city: b.display_name.clone(),
            primary: b.primary_color.clone(),
            secondary: b.secondary_color.clone(),
        }
    }
}

/// A booking as the pages show it, in the city's date format.
struct Details {
    code: String,
    service: String,
    date: String,
    time: String,
    place: String,
    status: &'static str,
}

impl Details {
    fn of(t: &TenantCtx, b: &BookingRow) -> Details {
        let local = to_local(DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default());
        let service = t.service(b.service_id);
        let office = service.and_then(|s| t.office(s.office_id));
        Details {
            code: b.code.clone(),
            service: service.map(|s| s.cfg.name.clone()).unwrap_or_default(),
            date: t.cfg.messages.date_format.format(local.date()),
            time: local.format("%H:%M").to_string(),
            place: office
                .map(|o| format!("{}, {}", o.cfg.name, o.cfg.address))
                .unwrap_or_default(),
            status: match booking::status_of(b) {
                BookingStatus::Pending => "oczekuje na potwierdzenie",
                BookingStatus::Confirmed => "potwierdzona",
                BookingStatus::Cancelled => "anulowana",
                BookingStatus::Expired => "wygasła (niepotwierdzona)",
                BookingStatus::Rejected => "odrzucona przez urząd",
            },
        }
    }
}

/// What the booking page offers.
enum BookingAction {
    /// Cancelling, through the confirming page at this address.
    Cancel(String),
    /// The cutoff has passed: until when it was possible, and whom to phone.
    TooLate(String, Option<String>),
    None,
}

#[derive(Template)]
#[template(path = "pages/booking.html")]
struct BookingPage {
    layout: Layout,
    d: Details,
    action: BookingAction,
    /// Where the code from the e-mail is entered, while the booking waits for it (OP-7).
    code_url: Option<String>,
    /// The visit as a calendar file, while the booking holds its seat.
    ics_url: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/cancel.html")]
struct CancelPage {
    layout: Layout,
    d: Details,
    post_url: String,
    back_url: String,
}

#[derive(Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    d: Details,
    until: String,
    post_url: String,
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage {
    layout: Layout,
    paragraphs: Vec<String>,
    details: Option<Details>,
    /// (text, href)
    link: Option<(String, String)>,
}

/// An HTML page under the content security policy `csp`.
pub(crate) fn with_csp(status: StatusCode, csp: &'static str, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        )],
        Html(body),
    )
        .into_response()
}

pub(crate) fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => with_csp(status, CSP, body),
        Err(e) => {
            tracing::error!(error = %e, "page template");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Wewnętrzny błąd serwera.",
            )
                .into_response()
        }
    }
}

fn message(
    t: &TenantCtx,
    status: StatusCode,
    title: &str,
    paragraphs: Vec<String>,
    details: Option<Details>,
) -> Response {
    html(
        status,
        MessagePage {
            layout: Layout::of(t, title),
            paragraphs,
            details,
            link: None,
        },
    )
}

/// A message page with a link on, for other modules' answers (the resident-card login).
pub(crate) fn notice(
    t: &TenantCtx,
    status: StatusCode,
    title: &str,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
) -> Response {
    html(
        status,
        MessagePage {
            layout: Layout::of(t, title),
            paragraphs,
            details: None,
            link,
        },
    )
}

/// The city of the path's `{slug}` (or the page saying there is none) and the path's `{token}`.
async fn city_and_token(
    parts: &mut Parts,
    s: &HttpState,
) -> Result<(Arc<TenantCtx>, String), Response> {
    let Path((slug, token)) = Path::<(String, String)>::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    let t = tenant_of(&s.app, &slug)?;
    Ok((t, token))
}

/// The city of the path's `{slug}` and its booking behind the path's `{token}`; refused with
/// the page that says why not.
pub struct TokenBooking {
    t: Arc<TenantCtx>,
    b: BookingRow,
    token: String,
}

impl FromRequestParts<HttpState> for TokenBooking {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &HttpState) -> Result<Self, Response> {
        let (t, token) = city_and_token(parts, s).await?;
        match booking::by_token(&s.app, &t, &token).await {
            Ok(b) => Ok(TokenBooking { t, b, token }),
            Err(e) => Err(error_page(&t, e)),
        }
    }
}

/// For a form posted to a booking's address: the city of the path's `{slug}` and the path's
/// `{token}`; refused when there is no such city or the form comes from another site.
pub struct TokenPost {
    t: Arc<TenantCtx>,
    token: String,
}

impl FromRequestParts<HttpState> for TokenPost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &HttpState) -> Result<Self, Response> {
        let (t, token) = city_and_token(parts, s).await?;
        if cross_site(&parts.headers) {
            return Err(refused_cross_site(&t));
        }
        Ok(TokenPost { t, token })
    }
}

fn error_page(t: &TenantCtx, e: ApiError) -> Response {
    let d = e.domain();
    let status = match d.listed_code() {
        Some(Code::InvalidToken | Code::NotFound) => StatusCode::NOT_FOUND,
        Some(Code::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    };
    message(t, status, "Nie udało się", vec![d.to_string()], None)
}

/// A local instant in the city's date format; midnight as the end of the day before
/// ("do końca dnia 30.11.2026" rather than "do 01.12.2026, godz. 00:00").
fn local_when(t: &TenantCtx, at: DateTime<Utc>) -> String {
    let l = to_local(at);
    if l.time() == chrono::NaiveTime::MIN {
        if let Some(day) = l.date().pred_opt() {
            return format!("końca dnia {}", t.cfg.messages.date_format.format(day));
        }
    }
    format!(
        "{}, godz. {}",
        t.cfg.messages.date_format.format(l.date()),
        l.format("%H:%M")
    )
}

fn manage_path(t: &TenantCtx, token: &str) -> String {
    format!("/t/{}/rezerwacja/{}", t.slug, token)
}

/// Whether the client may still cancel `b` now, and if not because of the cutoff, until when
/// it was possible and whom to phone.
fn cancel_action(app: &App, t: &TenantCtx, b: &BookingRow, token: &str) -> BookingAction {
    if !booking::status_of(b).holds_seat() {
        return BookingAction::None;
    }
    let until = booking::cancellable_until(t, b);
    if app.clock.now() < until {
        return BookingAction::Cancel(format!("{}/anuluj", manage_path(t, token)));
    }
    let phone = t
        .service(b.service_id)
        .and_then(|s| t.office(s.office_id))
        .and_then(|o| o.cfg.phone.clone());
    BookingAction::TooLate(local_when(t, until), phone)
}

/// A POST from another site (a form elsewhere posting to a booking's address) is refused.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let text = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    match text("sec-fetch-site") {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => match (text("origin"), text("host")) {
            (Some(origin), Some(host)) => {
                let bare = origin.split_once("://").map_or(origin, |(_, h)| h);
                bare != host
            }
            _ => false,
        },
    }
}

pub(crate) fn refused_cross_site(t: &TenantCtx) -> Response {
    message(
        t,
        StatusCode::FORBIDDEN,
        "Nie udało się",
        vec!["Tę operację można wykonać tylko ze strony rezerwacji.".into()],
        None,
    )
}

/// `GET /t/{slug}/rezerwacja/{token}`: the booking, and cancelling while it is possible.
pub async fn manage_page(
    State(s): State<HttpState>,
    TokenBooking { t, b, token }: TokenBooking,
) -> Response {
    html(
        StatusCode::OK,
        BookingPage {
            layout: Layout::of(&t, "Twoja rezerwacja"),
            d: Details::of(&t, &b),
            action: cancel_action(&s.app, &t, &b, &token),
            code_url: (booking::status_of(&b) == BookingStatus::Pending
                && t.cfg.confirmation.mode == ConfirmationMode::EmailCode)
                .then(|| format!("{}/kod", manage_path(&t, &token))),
            ics_url: booking::status_of(&b)
                .holds_seat()
                .then(|| format!("{}/wizyta.ics", manage_path(&t, &token))),
        },
    )
}

/// `GET /t/{slug}/rezerwacja/{token}/wizyta.ics`: the visit as the calendar file its e-mails
/// attach (RFC 5545: the start in UTC, the service and the office's address), while the
/// booking holds its seat. Behind the token like the booking page, so never cached.
pub async fn ics_download(
    State(s): State<HttpState>,
    TokenBooking { t, b, .. }: TokenBooking,
) -> Response {
    let ics = booking::status_of(&b)
        .holds_seat()
        .then(|| booking::ics_of(&s.app, &t, &b))
        .flatten();
    let Some(ics) = ics else {
        return message(
            &t,
            StatusCode::NOT_FOUND,
            "Nie udało się",
            vec!["Ta rezerwacja nie jest już aktualna, więc nie ma jej w kalendarzu.".into()],
            Some(Details::of(&t, &b)),
        );
    };
    let disposition = format!("attachment; filename=\"wizyta-{}.ics\"", b.code);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        ics,
    )
        .into_response()
}

/// `GET /t/{slug}/rezerwacja/{token}/anuluj`: asks once more before cancelling (CI-15).
pub async fn cancel_page(
    State(s): State<HttpState>,
    TokenBooking { t, b, token }: TokenBooking,
) -> Response {
    match cancel_action(&s.app, &t, &b, &token) {
        BookingAction::Cancel(post_url) => html(
            StatusCode::OK,
            CancelPage {
                layout: Layout::of(&t, "Anulowanie rezerwacji"),
                d: Details::of(&t, &b),
                post_url,
                back_url: manage_path(&t, &token),
            },
        ),
        // Nothing to cancel any more: the booking page says why.
        _ => manage_page(State(s), TokenBooking { t, b, token }).await,
    }
}

/// `POST /t/{slug}/rezerwacja/{token}/anuluj`: cancels.
pub async fn cancel_submit(
    State(s): State<HttpState>,
    TokenPost { t, token }: TokenPost,
) -> Response {
    match booking::cancel(&s.app, &t, &token).await {
        Ok(b) => html(
            StatusCode::OK,
            MessagePage {
                layout: Layout::of(&t, "Rezerwacja anulowana"),
                paragraphs: vec![
                    "Termin jest wolny dla innych osób. Dziękujemy.".into(),
                    "Potwierdzenie anulowania wysłaliśmy e-mailem.".into(),
                ],
                details: Some(Details::of(&t, &b)),
                link: Some(("Umów nową wizytę".into(), format!("/t/{}/", t.slug))),
            },
        ),
        Err(e) => error_page(&t, e),
    }
}

/// The booking a confirmation link belongs to, in this tenant only.
async fn by_confirm_token(app: &App, t: &TenantCtx, token: &str) -> Result<BookingRow, ApiError> {
    if token.is_empty()
        || token.len() > 200
        || t.cfg.confirmation.mode != ConfirmationMode::EmailLink
    {
        return Err(DomainError::InvalidToken.into());
    }
    records::booking_by_confirm_hash(app, t.id, &tokens::hash(token))
        .await?
        .ok_or_else(|| DomainError::InvalidToken.into())
}

/// `GET /t/{slug}/potwierdz/{token}`: what is being confirmed, and the button only while the
/// booking waits for it (GD-7).
pub async fn confirm_page(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = match by_confirm_token(&s.app, &t, &token).await {
        Ok(b) => b,
        Err(_) => {
            return message(
                &t,
                StatusCode::NOT_FOUND,
                "Nieważny link",
                vec![
                    "Ten link potwierdzający jest nieważny. Sprawdź, czy skopiowano go w całości z wiadomości e-mail.".into(),
                ],
                None,
            )
        }
    };
    let now = s.app.clock.now();
    let open_until = b
        .confirm_expires_at
        .and_then(|e| DateTime::from_timestamp(e, 0))
        .filter(|e| *e > now);
    match (booking::status_of(&b), open_until) {
        (BookingStatus::Pending, Some(until)) => html(
            StatusCode::OK,
            ConfirmPage {
                layout: Layout::of(&t, "Potwierdzenie rezerwacji"),
                d: Details::of(&t, &b),
                until: local_when(&t, until),
                post_url: format!("/t/{}/potwierdz/{}", t.slug, token),
            },
        ),
        (BookingStatus::Confirmed, _) => message(
            &t,
            StatusCode::OK,
            "Rezerwacja jest już potwierdzona",
            vec!["Potwierdzenie z numerem rezerwacji wysłaliśmy e-mailem.".into()],
            Some(Details::of(&t, &b)),
        ),
        (BookingStatus::Pending, None) | (BookingStatus::Expired, _) => message(
            &t,
            StatusCode::CONFLICT,
            "Czas na potwierdzenie minął",
            vec![DomainError::BookingExpired.to_string()],
            Some(Details::of(&t, &b)),
        ),
        _ => message(
            &t,
            StatusCode::CONFLICT,
            "Rezerwacji nie można potwierdzić",
            vec![booking::refusal_for(&b).to_string()],
            Some(Details::of(&t, &b)),
        ),
    }
}

/// `POST /t/{slug}/potwierdz/{token}`: confirms.
pub async fn confirm_submit(
    State(s): State<HttpState>,
    TokenPost { t, token }: TokenPost,
) -> Response {
    match booking::confirm(&s.app, &t, &token, None).await {
        Ok(b) => message(
            &t,
            StatusCode::OK,
            "Rezerwacja potwierdzona",
            vec![
                "Potwierdzenie z numerem rezerwacji i linkiem do anulowania wysłaliśmy e-mailem."
                    .into(),
            ],
            Some(Details::of(&t, &b)),
        ),
        Err(e) => error_page(&t, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        assert!(!cross_site(&headers(&[])), "a plain client");
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
    }
}
