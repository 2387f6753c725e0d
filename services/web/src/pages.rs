//! The pages behind e-mailed links (W-6): see a booking and cancel it with one confirming step
//! (CI-15, ZG-11), confirm a preliminary booking (GD-7). A GET only shows; every action is a
//! POST from a button, so mail scanners that open links change nothing, and a cross-site POST
//! is refused. They render with the citizen pages' chrome (`site::Chrome`): the city's name,
//! logo and colours, the language switch, every text from the catalogue (`i18n/*/links.ftl`),
//! the dates in the city's format; never cached, since they show personal data.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use okienko_app::records::{self, BookingRow};
use okienko_domain::booking::BookingStatus;
use okienko_domain::calendar::to_local;
use okienko_domain::config::ConfirmationMode;
use okienko_domain::{Code, DomainError};

use crate::site::i18n::{Lang, Tr};
use crate::site::{self, Chrome, LangQuery};
use crate::state::HttpState;
use okienko_app::booking;
use okienko_app::error::ApiError;
use okienko_app::tokens;
use okienko_app::{App, TenantCtx};

/// An HTML page under the content security policy `csp` (GraphiQL's own).
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

/// The city, the language and the address of a page behind a link: what its chrome needs.
pub(crate) struct Place {
    pub(crate) t: Arc<TenantCtx>,
    pub(crate) lang: Lang,
    pub(crate) path: String,
    /// The cookie that remembers a language just chosen.
    pub(crate) cookies: Vec<String>,
}

impl Place {
    /// The city of `slug` (or the page saying there is none), in the language of the query or
    /// the language cookie.
    #[allow(clippy::result_large_err)]
    pub(crate) fn new(
        s: &HttpState,
        slug: &str,
        q: &LangQuery,
        headers: &HeaderMap,
        path: String,
    ) -> Result<Place, Response> {
        let (lang, cookies) = site::lang_of(q, headers);
        let t = site::tenant(s, slug, lang, &path)?;
        Ok(Place {
            t,
            lang,
            path,
            cookies,
        })
    }

    pub(crate) fn tr(&self) -> Tr {
        Tr::new(self.lang)
    }

    pub(crate) fn chrome(&self, title_id: &str) -> Chrome {
        Chrome::new(self.lang, &self.path, self.tr().t(title_id), Some(&self.t))
    }

    /// A rendered page, never cached.
    pub(crate) fn html(&self, status: StatusCode, page: &impl Template) -> Response {
        site::html(status, page, &self.cookies, true)
    }

    /// A page with a title, a few sentences, maybe the booking and a link.
    pub(crate) fn message(
        &self,
        status: StatusCode,
        title_id: &str,
        paragraphs: Vec<String>,
        details: Option<Details>,
        link: Option<(String, String)>,
    ) -> Response {
        self.html(
            status,
            &MessagePage {
                chrome: self.chrome(title_id),
                paragraphs,
                details,
                link,
            },
        )
    }

    /// The refusal of a form posted from another site.
    pub(crate) fn refused_cross_site(&self) -> Response {
        let text = self.tr().t("link-cross-site");
        self.message(StatusCode::FORBIDDEN, "link-failed", vec![text], None, None)
    }
}

/// The city of the path's `{slug}` (or the page saying there is none), the language, and the
/// path's `{token}`.
async fn place_and_token(parts: &mut Parts, s: &HttpState) -> Result<(Place, String), Response> {
    let Path((slug, token)) = Path::<(String, String)>::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    let q = Query::<LangQuery>::from_request_parts(parts, s)
        .await
        .map(|Query(q)| q)
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    Ok((Place::new(s, &slug, &q, &parts.headers, path)?, token))
}

/// A booking as the pages show it, in the city's date format.
pub(crate) struct Details {
    code: String,
    service: String,
    date: String,
    time: String,
    place: String,
    status: String,
}

impl Details {
    fn of(p: &Place, b: &BookingRow) -> Details {
        let (t, tr) = (&p.t, p.tr());
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
            status: tr.t(match booking::status_of(b) {
                BookingStatus::Pending => "link-status-pending",
                BookingStatus::Confirmed => "link-status-confirmed",
                BookingStatus::Cancelled => "link-status-cancelled",
                BookingStatus::Expired => "link-status-expired",
                BookingStatus::Rejected => "link-status-rejected",
            }),
        }
    }
}

/// What the booking page offers.
enum BookingAction {
    /// Cancelling, through the confirming page at this address.
    Cancel(String),
    /// The cutoff has passed: the sentence saying until when it was possible, and whom to phone.
    TooLate(String),
    None,
}

#[derive(Template)]
#[template(path = "site/link_booking.html")]
struct BookingPage {
    chrome: Chrome,
    d: Details,
    action: BookingAction,
    /// Where the code from the e-mail is entered, while the booking waits for it (OP-7).
    code_url: Option<String>,
    /// The visit as a calendar file, while the booking holds its seat.
    ics_url: Option<String>,
}

#[derive(Template)]
#[template(path = "site/link_cancel.html")]
struct CancelPage {
    chrome: Chrome,
    d: Details,
    post_url: String,
    back_url: String,
}

#[derive(Template)]
#[template(path = "site/link_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    d: Details,
    until: String,
    post_url: String,
}

#[derive(Template)]
#[template(path = "site/link_message.html")]
pub(crate) struct MessagePage {
    chrome: Chrome,
    paragraphs: Vec<String>,
    details: Option<Details>,
    /// (text, href)
    link: Option<(String, String)>,
}

/// The city of the path's `{slug}` and its booking behind the path's `{token}`; refused with
/// the page that says why not.
pub struct TokenBooking {
    p: Place,
    b: BookingRow,
    token: String,
}

impl FromRequestParts<HttpState> for TokenBooking {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &HttpState) -> Result<Self, Response> {
        let (p, token) = place_and_token(parts, s).await?;
        match booking::by_token(&s.app, &p.t, &token).await {
            Ok(b) => Ok(TokenBooking { p, b, token }),
            Err(e) => Err(error_page(&p, e)),
        }
    }
}

/// For a form posted to a booking's address: the city of the path's `{slug}` and the path's
/// `{token}`; refused when there is no such city or the form comes from another site.
pub struct TokenPost {
    p: Place,
    token: String,
}

impl FromRequestParts<HttpState> for TokenPost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &HttpState) -> Result<Self, Response> {
        let (p, token) = place_and_token(parts, s).await?;
        if cross_site(&parts.headers) {
            return Err(p.refused_cross_site());
        }
        Ok(TokenPost { p, token })
    }
}

fn error_page(p: &Place, e: ApiError) -> Response {
    let d = e.domain();
    let status = match d.listed_code() {
        Some(Code::InvalidToken | Code::NotFound) => StatusCode::NOT_FOUND,
        Some(Code::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    };
    p.message(status, "link-failed", vec![d.to_string()], None, None)
}

/// A local instant in the city's date format; midnight as the end of the day before
/// ("do końca dnia 30.11.2026" rather than "do 01.12.2026, godz. 00:00").
fn local_when(p: &Place, at: DateTime<Utc>) -> String {
    let (l, format) = (to_local(at), &p.t.cfg.messages.date_format);
    if l.time() == chrono::NaiveTime::MIN {
        if let Some(day) = l.date().pred_opt() {
            return p.tr().t1("link-until-day-end", "day", &format.format(day));
        }
    }
    let time = l.format("%H:%M").to_string();
    p.tr().ta(
        "link-until-at",
        &[("day", &format.format(l.date())), ("time", &time)],
    )
}

fn manage_path(t: &TenantCtx, token: &str) -> String {
    format!("/t/{}/rezerwacja/{}", t.slug, token)
}

/// Whether the client may still cancel `b` now, and if not because of the cutoff, until when
/// it was possible and whom to phone.
fn cancel_action(app: &App, p: &Place, b: &BookingRow, token: &str) -> BookingAction {
    let t = &p.t;
    if !booking::status_of(b).holds_seat() {
        return BookingAction::None;
    }
    let until = booking::cancellable_until(t, b);
    if app.clock.now() < until {
        return BookingAction::Cancel(format!("{}/anuluj", manage_path(t, token)));
    }
    let tr = p.tr();
    let mut text = tr.t1("link-too-late", "until", &local_when(p, until));
    let phone = t
        .service(b.service_id)
        .and_then(|s| t.office(s.office_id))
        .and_then(|o| o.cfg.phone.clone());
    if let Some(phone) = phone {
        text.push(' ');
        text.push_str(&tr.t1("link-too-late-phone", "phone", &phone));
    }
    BookingAction::TooLate(text)
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

/// `GET /t/{slug}/rezerwacja/{token}`: the booking, and cancelling while it is possible.
pub async fn manage_page(
    State(s): State<HttpState>,
    TokenBooking { p, b, token }: TokenBooking,
) -> Response {
    let t = &p.t;
    let status = booking::status_of(&b);
    p.html(
        StatusCode::OK,
        &BookingPage {
            chrome: p.chrome("link-booking-title"),
            d: Details::of(&p, &b),
            action: cancel_action(&s.app, &p, &b, &token),
            code_url: (status == BookingStatus::Pending
                && t.cfg.confirmation.mode == ConfirmationMode::EmailCode)
                .then(|| format!("{}/kod", manage_path(t, &token))),
            ics_url: status
                .holds_seat()
                .then(|| format!("{}/wizyta.ics", manage_path(t, &token))),
        },
    )
}

/// `GET /t/{slug}/rezerwacja/{token}/wizyta.ics`: the visit as the calendar file its e-mails
/// attach (RFC 5545: the start in UTC, the service and the office's address), while the
/// booking holds its seat. Behind the token like the booking page, so never cached.
pub async fn ics_download(
    State(s): State<HttpState>,
    TokenBooking { p, b, .. }: TokenBooking,
) -> Response {
    let ics = booking::status_of(&b)
        .holds_seat()
        .then(|| booking::ics_of(&s.app, &p.t, &b))
        .flatten();
    let Some(ics) = ics else {
        let text = p.tr().t("link-no-calendar");
        let details = Some(Details::of(&p, &b));
        return p.message(
            StatusCode::NOT_FOUND,
            "link-failed",
            vec![text],
            details,
            None,
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
    TokenBooking { p, b, token }: TokenBooking,
) -> Response {
    match cancel_action(&s.app, &p, &b, &token) {
        BookingAction::Cancel(post_url) => p.html(
            StatusCode::OK,
            &CancelPage {
                chrome: p.chrome("link-cancel-title"),
                d: Details::of(&p, &b),
                post_url,
                back_url: manage_path(&p.t, &token),
            },
        ),
        // Nothing to cancel any more: the booking page says why.
        _ => manage_page(State(s), TokenBooking { p, b, token }).await,
    }
}

/// `POST /t/{slug}/rezerwacja/{token}/anuluj`: cancels.
pub async fn cancel_submit(
    State(s): State<HttpState>,
    TokenPost { p, token }: TokenPost,
) -> Response {
    match booking::cancel(&s.app, &p.t, &token).await {
        Ok(b) => {
            let tr = p.tr();
            p.message(
                StatusCode::OK,
                "link-cancelled-title",
                vec![tr.t("link-cancelled-free"), tr.t("link-cancelled-mail")],
                Some(Details::of(&p, &b)),
                Some((tr.t("link-new-booking"), format!("/t/{}/", p.t.slug))),
            )
        }
        Err(e) => error_page(&p, e),
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

/// The city of a confirmation link and its token (the link's token is not a booking's).
pub struct ConfirmLink {
    p: Place,
    token: String,
}

impl FromRequestParts<HttpState> for ConfirmLink {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &HttpState) -> Result<Self, Response> {
        let (p, token) = place_and_token(parts, s).await?;
        Ok(ConfirmLink { p, token })
    }
}

/// `GET /t/{slug}/potwierdz/{token}`: what is being confirmed, and the button only while the
/// booking waits for it (GD-7).
pub async fn confirm_page(
    State(s): State<HttpState>,
    ConfirmLink { p, token }: ConfirmLink,
) -> Response {
    let tr = p.tr();
    let b = match by_confirm_token(&s.app, &p.t, &token).await {
        Ok(b) => b,
        Err(_) => {
            let text = tr.t("link-invalid-text");
            return p.message(
                StatusCode::NOT_FOUND,
                "link-invalid-title",
                vec![text],
                None,
                None,
            );
        }
    };
    let now = s.app.clock.now();
    let open_until = b
        .confirm_expires_at
        .and_then(|e| DateTime::from_timestamp(e, 0))
        .filter(|e| *e > now);
    let d = Some(Details::of(&p, &b));
    match (booking::status_of(&b), open_until) {
        (BookingStatus::Pending, Some(until)) => p.html(
            StatusCode::OK,
            &ConfirmPage {
                chrome: p.chrome("link-confirm-title"),
                d: Details::of(&p, &b),
                until: tr.t1("link-confirm-until", "until", &local_when(&p, until)),
                post_url: format!("/t/{}/potwierdz/{}", p.t.slug, token),
            },
        ),
        (BookingStatus::Confirmed, _) => p.message(
            StatusCode::OK,
            "link-already-confirmed-title",
            vec![tr.t("link-already-confirmed-mail")],
            d,
            None,
        ),
        (BookingStatus::Pending, None) | (BookingStatus::Expired, _) => p.message(
            StatusCode::CONFLICT,
            "link-confirm-late-title",
            vec![DomainError::BookingExpired.to_string()],
            d,
            None,
        ),
        _ => p.message(
            StatusCode::CONFLICT,
            "link-confirm-refused-title",
            vec![booking::refusal_for(&b).to_string()],
            d,
            None,
        ),
    }
}

/// `POST /t/{slug}/potwierdz/{token}`: confirms.
pub async fn confirm_submit(
    State(s): State<HttpState>,
    TokenPost { p, token }: TokenPost,
) -> Response {
    match booking::confirm(&s.app, &p.t, &token, None).await {
        Ok(b) => {
            let text = p.tr().t("link-confirmed-mail");
            let details = Some(Details::of(&p, &b));
            p.message(
                StatusCode::OK,
                "link-confirmed-title",
                vec![text],
                details,
                None,
            )
        }
        Err(e) => error_page(&p, e),
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
