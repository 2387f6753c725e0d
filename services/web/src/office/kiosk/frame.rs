//! What every kiosk screen shares: its full-screen frame (`templates/office/kiosk/base.html`),
//! the paired kiosk behind the request, its language, and its messages.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use okienko_app::auth::DeviceKind;
use okienko_app::catalog::OfficeCtx;
use okienko_app::TenantCtx;
use okienko_domain::calendar::{to_local, WeeklyHours};
use okienko_domain::queue::{office_open, Closed};
use okienko_domain::DomainError;

use crate::office::session::{self, Device};
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, branding, LangLink};
use crate::state::HttpState;

/// Seconds of inactivity before a screen goes back to the start: mid-entry and on a result.
pub const IDLE_ENTRY: u32 = 60;
pub const IDLE_RESULT: u32 = 30;

/// The frame of a kiosk screen.
pub struct Frame {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    pub city: String,
    pub brand_css: String,
    pub css: String,
    pub js: String,
    /// The start screen in this language (the "back to the start" link).
    pub home: String,
    /// Where inactivity leads: the start screen in Polish, for the next person.
    pub reset: String,
    pub switch: Vec<LangLink>,
    /// Seconds of inactivity before `reset`; None on the Polish start screen.
    pub idle: Option<u32>,
    /// What the speech button reads out (kept server-side so it can be rendered as audio too).
    pub speak: String,
    /// The ticket page: kiosk.js prints it.
    pub print: bool,
    /// The screen shows an error.
    pub error: bool,
}

impl Frame {
    /// `path` is the screen's address without its query; the language switch links to it.
    pub fn new(lang: Lang, t: &TenantCtx, path: &str, title: String) -> Frame {
        let reset = start_path(t);
        Frame {
            tr: Tr::new(lang),
            lang: lang.code(),
            title,
            city: t.cfg.branding.display_name.clone(),
            brand_css: branding::css_url(t),
            css: crate::assets::url("kiosk.css"),
            js: crate::assets::url("kiosk.js"),
            home: with_lang(&reset, lang),
            reset,
            switch: site::lang_links(path, lang),
            idle: Some(IDLE_RESULT),
            speak: String::new(),
            print: false,
            error: false,
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }
}

pub fn start_path(t: &TenantCtx) -> String {
    format!("/t/{}/kiosk", t.slug)
}

/// `path` with `?lang=` unless the language is Polish.
pub fn with_lang(path: &str, lang: Lang) -> String {
    match lang {
        Lang::Pl => path.to_string(),
        l => format!("{path}?lang={}", l.code()),
    }
}

/// The language a request names (`?lang=` or the form's `lang`); Polish otherwise.
pub fn lang(code: Option<&str>) -> Lang {
    code.and_then(Lang::parse).unwrap_or(Lang::Pl)
}

/// The tenant, the paired kiosk of it and its office; or the 404 page, or the redirect to
/// the pairing page for a browser that is not a kiosk of this city.
#[allow(clippy::result_large_err)]
pub async fn kiosk(
    s: &HttpState,
    slug: &str,
    lang: Lang,
    headers: &HeaderMap,
) -> Result<(Arc<TenantCtx>, Device), Response> {
    let path = format!("/t/{slug}/kiosk");
    let t = site::tenant(s, slug, lang, &path)?;
    let device = session::device(&s.app, &t, headers, DeviceKind::Kiosk).await?;
    if t.office(device.office).is_none() {
        let tr = Tr::new(lang);
        return Err(site::message(
            StatusCode::NOT_FOUND,
            site::Chrome::new(lang, &path, tr.t("err-generic"), Some(&t)),
            vec![tr.t("kiosk-no-office")],
            None,
        ));
    }
    Ok((t, device))
}

/// The kiosk's office (checked by [`kiosk`]).
pub fn office<'a>(t: &'a TenantCtx, d: &Device) -> Option<&'a OfficeCtx> {
    t.office(d.office)
}

/// Why the office gives no tickets now, in the screen's language (CI-4); None while open.
pub fn office_closed(s: &HttpState, t: &TenantCtx, o: &OfficeCtx, tr: Tr) -> Option<String> {
    let hours = WeeklyHours::from_config(&o.cfg.hours).unwrap_or_default();
    let closed = office_open(&hours, &t.cfg.closures, s.app.clock.now()).err()?;
    Some(match closed {
        Closed::Holiday(name) => tr.t1("kiosk-closed-holiday", "name", name),
        Closed::Closure => tr.t("kiosk-closed-closure"),
        Closed::NoHoursToday => tr.t("kiosk-closed-no-hours"),
        Closed::OpensAt(at) => tr.t1(
            "kiosk-closed-opens",
            "time",
            &at.format("%H:%M").to_string(),
        ),
        Closed::AfterHours => tr.t("kiosk-closed-after-hours"),
    })
}

/// How a check-in is made in this city: by the booking code (CI-16) or by the phone number
/// the visit was booked with (DG-4, DG-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Code,
    Phone,
}

impl Entry {
    pub fn of(t: &TenantCtx) -> Entry {
        if t.cfg.messages.phone_as_identifier {
            Entry::Phone
        } else {
            Entry::Code
        }
    }
}

/// What a refusal means for the person at the kiosk, in plain words saying what to do.
pub fn refusal(
    s: &HttpState,
    t: &TenantCtx,
    o: &OfficeCtx,
    tr: Tr,
    e: &DomainError,
    entry: Entry,
) -> String {
    let hm = |at: &chrono::DateTime<chrono::Utc>| to_local(*at).format("%H:%M").to_string();
    match e {
        DomainError::CheckInTooEarly { from, minutes } => {
            let visit = *from + chrono::Duration::minutes(i64::from(*minutes));
            tr.ta(
                "kiosk-err-too-early",
                &[("from", &hm(from)), ("visit", &hm(&visit))],
            )
        }
        DomainError::CheckInTooLate { start } => tr.t1("kiosk-err-too-late", "visit", &hm(start)),
        DomainError::CheckInNotFound => tr.t(match entry {
            Entry::Code => "kiosk-err-code-unknown",
            Entry::Phone => "kiosk-err-phone-unknown",
        }),
        DomainError::InvalidField { .. } => tr.t(match entry {
            Entry::Code => "kiosk-err-code-format",
            Entry::Phone => "kiosk-err-phone-format",
        }),
        DomainError::AlreadyCheckedIn => tr.t("kiosk-err-already"),
        DomainError::AlreadyCancelled => tr.t("kiosk-err-cancelled"),
        DomainError::QueueFull => tr.t("kiosk-err-full"),
        DomainError::QueueClosed(_) => office_closed(s, t, o, tr)
            .map(|why| tr.t1("kiosk-err-closed", "why", &why))
            .unwrap_or_else(|| tr.t("kiosk-err-closed-now")),
        _ => tr.t("kiosk-err-other"),
    }
}

#[derive(askama::Template)]
#[template(path = "office/kiosk/problem.html")]
struct ProblemPage {
    f: Frame,
    text: String,
}

/// A screen saying why no ticket was printed and what to do, with the way back to the start.
pub fn problem(status: StatusCode, mut f: Frame, text: String) -> Response {
    f.error = true;
    f.speak = format!("{} {text}", sentence(&f.title));
    site::html(status, &ProblemPage { f, text }, &[], true)
}

/// A heading read out as a sentence: with a full stop, unless it ends in one already.
pub fn sentence(s: &str) -> String {
    if s.ends_with(['.', '!', '?', ':']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// A kiosk screen's answer: no caching (codes and tickets), the pages' CSP and headers.
pub fn screen(page: &impl askama::Template) -> Response {
    site::html(StatusCode::OK, page, &[], true)
}

/// The form fields of a kiosk POST, each cut to `max` characters.
pub fn fields(body: &[u8], max: usize) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.chars().take(max).collect()))
        .collect()
}

/// A form posted at the kiosk: its fields (each cut to 64 characters), the screen's language,
/// the city and the paired kiosk; or the refusal (not a kiosk of this city, another site).
pub struct KioskPost {
    pub form: std::collections::HashMap<String, String>,
    pub lang: Lang,
    pub t: Arc<TenantCtx>,
    pub device: Device,
}

impl KioskPost {
    #[allow(clippy::result_large_err)]
    pub async fn of(
        s: &HttpState,
        slug: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<KioskPost, Response> {
        let form = fields(body, 64);
        let lang = lang(form.get("lang").map(String::as_str));
        let (t, device) = kiosk(s, slug, lang, headers).await?;
        if !crate::site::csrf::same_origin(headers) {
            return Err(cross_site(lang, &t));
        }
        Ok(KioskPost {
            form,
            lang,
            t,
            device,
        })
    }
}

/// The refusal of a POST from another site (CSRF): the form must come from the kiosk's pages.
pub fn cross_site(lang: Lang, t: &TenantCtx) -> Response {
    let tr = Tr::new(lang);
    let f = Frame::new(lang, t, &start_path(t), tr.t("kiosk-problem-title"));
    problem(StatusCode::FORBIDDEN, f, tr.t("err-cross-site"))
}
