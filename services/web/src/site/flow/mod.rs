//! The booking flow (W-2): start page → office or department (where several) → service → day →
//! hour → the service's questions (where it has any) → contact details → check answers →
//! terms and consents → submit → what happens next. One question per page; each answer is a
//! POST that stores it in the draft (`draft`) and redirects to the next page's GET (W-3).
//! The booking itself is made by the same use case as the GraphQL `createBooking`
//! (`booking::create`), with the same rate limit; after Gdynia's resident-card login (GD-5,
//! `crate::login`) by `booking::create_logged_in`, with the login's data.
//!
//! The steps' pages and answers live with their group: `start`, `choice` (office, service),
//! `calendar` (day, hour), `contact` (the service's questions, the contact details), `check`
//! (check answers, consents, submit), `done`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Months, NaiveDate, Timelike};
use okienko_domain::calendar::{to_local, BookingWindow};
use okienko_domain::config::{ClientField, ConfirmationMode, FieldKind};
use okienko_domain::{validate, Code, DomainError};

use super::draft::{self, Created, Draft};
use super::i18n::{Lang, Tr};
use super::{
    code_limit, csrf, drafts, html, html_body, message, read_limit, see_other, tenant, Chrome,
    ErrorItem, Visit,
};
use crate::rate_limit::{Kind, Peer};
use crate::state::HttpState;
use okienko_app::booking::{self, ClientData, CodeChannel, CreateRequest};
use okienko_app::catalog::ServiceCtx;
use okienko_app::oidc::{self, Identity};
use okienko_app::TenantCtx;

/// A question page's template: the page's frame (`chrome`) and its [`Nav`], then the fields
/// given.
macro_rules! question_page {
    ($(#[$m:meta])* $name:ident($path:tt) { $($(#[$fm:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Template)]
        #[template(path = $path)]
        pub(super) struct $name {
            pub(super) chrome: Chrome,
            pub(super) nav: Nav,
            $($(#[$fm])* pub(super) $field: $ty,)*
        }
    };
}

mod calendar;
mod check;
mod choice;
mod contact;
mod done;
mod start;

use calendar::*;
use check::*;
use choice::*;
use contact::*;
use done::*;
pub use start::{begin, start_page};

// ---------------------------------------------------------------------------------------------
// Steps

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Group,
    Service,
    Day,
    Hour,
    Details,
    Contact,
    Check,
    Consents,
    Done,
}

impl Step {
    const FLOW: [Step; 8] = [
        Step::Group,
        Step::Service,
        Step::Day,
        Step::Hour,
        Step::Details,
        Step::Contact,
        Step::Check,
        Step::Consents,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Step::Group => "wydzial",
            Step::Service => "usluga",
            Step::Day => "dzien",
            Step::Hour => "godzina",
            Step::Details => "sprawa",
            Step::Contact => "kontakt",
            Step::Check => "sprawdz",
            Step::Consents => "zgody",
            Step::Done => "gotowe",
        }
    }

    fn parse(s: &str) -> Option<Step> {
        Step::FLOW
            .into_iter()
            .chain([Step::Done])
            .find(|x| x.slug() == s)
    }
}

fn url(t: &TenantCtx, step: Step) -> String {
    format!("/t/{}/wizyta/{}", t.slug, step.slug())
}

/// An office, or an office's department, that has bookable services.
struct Group {
    key: String,
    name: String,
}

fn group_key(s: &ServiceCtx) -> String {
    match &s.cfg.department {
        Some(d) => format!("{}/{d}", s.office_id),
        None => s.office_id.to_string(),
    }
}

fn groups(t: &TenantCtx) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for s in t.services.iter().filter(|s| s.cfg.bookable) {
        let key = group_key(s);
        if out.iter().any(|g| g.key == key) {
            continue;
        }
        let office = t.office(s.office_id);
        let dept = s
            .cfg
            .department
            .as_ref()
            .and_then(|k| office.and_then(|o| o.cfg.departments.iter().find(|d| &d.key == k)));
        let name = match (office, dept) {
            (_, Some(d)) => d.name.clone(),
            (Some(o), None) => o.cfg.name.clone(),
            (None, None) => String::new(),
        };
        out.push(Group { key, name });
    }
    out
}

/// Whether `step` is asked in this flow at all.
fn applies(t: &TenantCtx, d: &Draft, step: Step, field_count: usize) -> bool {
    match step {
        Step::Group => groups(t).len() > 1,
        Step::Details => d.service.is_some() && field_count > 0,
        _ => true,
    }
}

/// Whether `step` has its answer in the draft.
fn answered(d: &Draft, step: Step) -> bool {
    match step {
        Step::Group => d.group.is_some(),
        Step::Service => d.service.is_some(),
        Step::Day => d.day.is_some(),
        Step::Hour => d.start.is_some(),
        Step::Details | Step::Contact | Step::Check => d_done(d, step),
        Step::Consents | Step::Done => d.created.is_some(),
    }
}

fn d_done(d: &Draft, step: Step) -> bool {
    d.done.iter().any(|s| s == step.slug())
}

fn mark_done(d: &mut Draft, step: Step) {
    if !d_done(d, step) {
        d.done.push(step.slug().to_string());
    }
}

/// The first step of the flow without its answer.
fn first_open(t: &TenantCtx, d: &Draft, field_count: usize) -> Step {
    Step::FLOW
        .into_iter()
        .find(|s| applies(t, d, *s, field_count) && !answered(d, *s))
        .unwrap_or(Step::Consents)
}

/// The step after `step` that applies.
fn next_after(t: &TenantCtx, d: &Draft, step: Step, field_count: usize) -> Step {
    Step::FLOW
        .into_iter()
        .find(|s| *s > step && applies(t, d, *s, field_count))
        .unwrap_or(Step::Consents)
}

fn previous(t: &TenantCtx, d: &Draft, step: Step, field_count: usize) -> Option<Step> {
    Step::FLOW
        .into_iter()
        .rev()
        .find(|s| *s < step && applies(t, d, *s, field_count))
}

fn service_of<'a>(t: &'a TenantCtx, d: &Draft) -> Option<&'a ServiceCtx> {
    d.service
        .and_then(|id| t.service(id))
        .filter(|s| s.cfg.bookable)
}

async fn field_specs(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
) -> Result<Vec<okienko_domain::config::FieldSpec>, DomainError> {
    match service_of(t, d) {
        Some(svc) => okienko_app::policy_host::form_fields(&s.app.policies, t, svc).await,
        None => Ok(Vec::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// Views

pub struct Check {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub checked: bool,
    pub error: Option<String>,
}

pub struct Row {
    pub key: String,
    pub value: String,
    pub href: String,
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn date_long(tr: &Tr, t: &TenantCtx, d: NaiveDate) -> String {
    format!(
        "{}, {}",
        tr.weekday_long(d.weekday().number_from_monday()),
        t.cfg.messages.date_format.format(d)
    )
}

fn time_of(ts: i64) -> String {
    to_local(DateTime::from_timestamp(ts, 0).unwrap_or_default())
        .format("%H:%M")
        .to_string()
}

/// The message of a refusal without the field's name, for showing at the field.
fn field_message(e: &DomainError) -> String {
    match e {
        DomainError::InvalidField { reason, .. } => {
            let mut c = reason.chars();
            match c.next() {
                Some(f) => {
                    f.to_uppercase().collect::<String>()
                        + c.as_str()
                        + if reason.ends_with('.') { "" } else { "." }
                }
                None => reason.clone(),
            }
        }
        other => other.to_string(),
    }
}

fn take_error(d: &Draft, id: &str) -> Option<String> {
    d.errors
        .iter()
        .find(|(k, _)| k == id)
        .map(|(_, v)| v.clone())
}

fn summary(d: &Draft) -> Vec<ErrorItem> {
    d.errors
        .iter()
        .map(|(id, text)| ErrorItem {
            id: id.clone(),
            text: text.clone(),
        })
        .collect()
}

/// The form's pairs (repeated names kept).
fn pairs(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A page of one sentence (the message `text`) titled with the message `title`; with the
/// link to the city's start page when `to_start`.
fn notice(
    t: &TenantCtx,
    lang: Lang,
    path: &str,
    status: StatusCode,
    title: &str,
    text: &str,
    to_start: bool,
) -> Response {
    let tr = Tr::new(lang);
    message(
        status,
        Chrome::new(lang, path, tr.t(title), Some(t)),
        vec![tr.t(text)],
        to_start.then(|| (tr.t("start-button"), format!("/t/{}/", t.slug))),
    )
}

fn session_gone(t: &TenantCtx, lang: Lang, path: &str) -> Response {
    let (title, text) = ("start-title", "session-gone");
    notice(t, lang, path, StatusCode::OK, title, text, true)
}

fn refused(t: &TenantCtx, lang: Lang, path: &str) -> Response {
    let (title, text) = ("err-generic", "err-cross-site");
    notice(t, lang, path, StatusCode::FORBIDDEN, title, text, false)
}

fn secure(s: &HttpState) -> bool {
    s.app.settings.public_url.starts_with("https://")
}

/// The address of a step's page as asked for (its name cut short), for the page's links.
fn step_path(slug: &str, step: &str) -> String {
    format!(
        "/t/{slug}/wizyta/{}",
        step.chars().take(20).collect::<String>()
    )
}

/// What every page of the flow does first: the city (or the page saying there is none), for
/// a POST the cross-site refusal, then the public read limit (P-7), as on the GraphQL API.
#[allow(clippy::result_large_err)]
async fn open_city(
    s: &HttpState,
    slug: &str,
    lang: Lang,
    path: &str,
    peer: Peer,
    headers: &HeaderMap,
    post: bool,
) -> Result<Arc<TenantCtx>, Response> {
    let t = tenant(s, slug, lang, path)?;
    if post && !csrf::same_origin(headers) {
        return Err(refused(&t, lang, path));
    }
    read_limit(
        s,
        &t,
        peer,
        headers,
        Kind::Read,
        t.cfg.rate_limits.reads_per_minute,
    )
    .await?;
    Ok(t)
}

/// `open_city`, then the step asked for (or the 404 page) and the browser's draft (or the page
/// saying the session is gone): the city, the page's address, the step, the draft's id and the
/// draft.
#[allow(clippy::result_large_err)]
async fn open_step(
    s: &HttpState,
    slug: &str,
    step: &str,
    v: &Visit,
    post: bool,
) -> Result<(Arc<TenantCtx>, String, Step, String, Draft), Response> {
    let path = step_path(slug, step);
    let t = open_city(s, slug, v.lang, &path, v.peer, &v.headers, post).await?;
    let Some(step) = Step::parse(step) else {
        return Err(super::not_found(&t, v.lang, &path));
    };
    let Some((id, d)) = drafts().of(&v.headers, t.id.0).await else {
        return Err(session_gone(&t, v.lang, &path));
    };
    Ok((t, path, step, id, d))
}

// ---------------------------------------------------------------------------------------------
// Pages of the flow

/// Where a question page's "Wstecz" link leads, where its form posts, and whether it was
/// opened from the check page's "Zmień" (`?zmiana=1`, kept through the form).
pub(super) struct Nav {
    pub(super) back: Option<String>,
    pub(super) post: String,
    pub(super) change: bool,
}

/// What a question page is drawn with: the words, the page's frame, its [`Nav`] and the
/// cookies its answer sets.
pub(super) struct Asked<'a> {
    pub(super) tr: Tr,
    pub(super) chrome: Chrome,
    pub(super) nav: Nav,
    pub(super) cookies: &'a [String],
}

impl Asked<'_> {
    /// The answer: the page `draw` makes of the frame, titled with the message `title`, and
    /// the [`Nav`].
    fn show<P: Template>(self, title: &str, draw: impl FnOnce(Chrome, Nav) -> P) -> Response {
        let mut chrome = self.chrome;
        chrome.title = self.tr.t(title);
        html(StatusCode::OK, &draw(chrome, self.nav), self.cookies, true)
    }
}

/// `GET /t/{slug}/wizyta/{step}`.
pub async fn step_page(
    State(s): State<HttpState>,
    Path((slug, step)): Path<(String, String)>,
    v: Visit,
) -> Response {
    let (t, path, step, id, mut d) = match open_step(&s, &slug, &step, &v, false).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (q, lang, cookies, headers) = (v.q, v.lang, v.cookies, v.headers);
    if d.created.is_some() && step != Step::Done {
        return see_other(&url(&t, Step::Done), &cookies);
    }
    let specs = field_specs(&s, &t, &d).await.unwrap_or_default();
    if step == Step::Done {
        if d.created.is_none() {
            return see_other(&url(&t, first_open(&t, &d, specs.len())), &cookies);
        }
    } else {
        let open = first_open(&t, &d, specs.len());
        if step > open || !applies(&t, &d, step, specs.len()) {
            return see_other(&url(&t, open), &cookies);
        }
    }
    let tr = Tr::new(lang);
    let who = resident(&s, &t, &headers);
    let mut chrome = Chrome::new(lang, &path, String::new(), Some(&t));
    chrome.errors = summary(&d);
    let nav = Nav {
        back: previous(&t, &d, step, specs.len()).map(|p| url(&t, p)),
        post: url(&t, step),
        change: q.zmiana.is_some(),
    };
    // Errors are shown once; what was typed stays in the draft.
    let errors = std::mem::take(&mut d.errors);
    let mut shown = d.clone();
    shown.errors = errors;
    drafts().put(&id, d).await;
    let d = shown;
    let a = Asked {
        tr,
        chrome,
        nav,
        cookies: &cookies,
    };
    match step {
        Step::Group => group_page(&t, &d, a),
        Step::Service => service_page(&t, &d, a),
        Step::Day => day_page(&s, &t, &d, q.miesiac.as_deref(), a).await,
        Step::Hour => hour_page(&s, &t, &d, a).await,
        Step::Details => details_page(&specs, &d, a),
        Step::Contact => contact_page(&t, &d, who.as_ref(), a),
        Step::Check => check_page(&t, &d, who.as_ref(), &specs, a),
        Step::Consents => consents_page(&t, &d, a),
        Step::Done => done_page(&s, &t, &d, a.tr, a.chrome, a.cookies).await,
    }
}

fn error_response(t: &TenantCtx, tr: Tr, mut chrome: Chrome, e: &DomainError) -> Response {
    chrome.title = tr.t("err-generic");
    let status = match e.retry_after() {
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::CONFLICT,
    };
    message(
        status,
        chrome,
        vec![e.to_string()],
        Some((tr.t("start-button"), format!("/t/{}/", t.slug))),
    )
}

// ---------------------------------------------------------------------------------------------
// Answers

/// `POST /t/{slug}/wizyta/{step}`: stores the answer, then redirects to the next question, or
/// back to the same page with the errors (W-5).
pub async fn step_submit(
    State(s): State<HttpState>,
    Path((slug, step)): Path<(String, String)>,
    v: Visit,
    body: Bytes,
) -> Response {
    let (t, path, step, id, mut d) = match open_step(&s, &slug, &step, &v, true).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (lang, peer, headers) = (v.lang, v.peer, v.headers);
    let form = pairs(&body);
    let change = value(&form, "zmiana").is_some();
    let tr = Tr::new(lang);
    let who = resident(&s, &t, &headers);
    d.errors.clear();
    if d.created.is_some() && step != Step::Done {
        drafts().put(&id, d).await;
        return see_other(&url(&t, Step::Done), &[]);
    }
    let specs = match field_specs(&s, &t, &d).await {
        Ok(x) => x,
        Err(e) => {
            return error_response(
                &t,
                tr,
                Chrome::new(lang, &path, String::new(), Some(&t)),
                &e,
            )
        }
    };
    let same = |step: Step| {
        let mut u = url(&t, step);
        if change {
            u.push_str("?zmiana=1");
        }
        u
    };
    match step {
        Step::Group => take_group(&t, &mut d, &form, tr),
        Step::Service => take_service(&t, &mut d, &form, tr),
        Step::Day => take_day(&s, &t, &mut d, &form, tr).await,
        Step::Hour => take_hour(&s, &t, &mut d, &form, tr).await,
        Step::Details => take_details(&mut d, &form, &specs, tr),
        Step::Contact => {
            if value(&form, "wyloguj").is_some() {
                // "Use other data": the login is forgotten, the page asks for the data again.
                d.done.retain(|x| x != Step::Contact.slug());
                drafts().put(&id, d).await;
                return see_other(
                    &same(Step::Contact),
                    &[crate::login::forget_identity(&s.app, &t)],
                );
            }
            take_contact(&t, &mut d, &form, who.as_ref(), tr);
        }
        Step::Check => mark_done(&mut d, Step::Check),
        Step::Consents => {
            take_consents(&t, &mut d, &form, tr);
            if d.errors.is_empty() {
                if let Err(r) = read_limit(
                    &s,
                    &t,
                    peer,
                    &headers,
                    Kind::Booking,
                    t.cfg.rate_limits.bookings_per_minute,
                )
                .await
                {
                    drafts().put(&id, d).await;
                    return r;
                }
                return submit(&s, &t, id, d, who.as_ref(), &specs, tr).await;
            }
        }
        Step::Done => {
            // The code field (OP-7).
            let Some(created) = d.created.clone() else {
                return see_other(&url(&t, first_open(&t, &d, specs.len())), &[]);
            };
            d.typed_code = value(&form, "code")
                .unwrap_or("")
                .chars()
                .take(20)
                .collect();
            if let Err(r) = code_limit(&s, &t, peer, &headers).await {
                drafts().put(&id, d).await;
                return r;
            }
            if let Err(e) =
                booking::confirm(&s.app, &t, &created.token, Some(d.typed_code.trim())).await
            {
                d.errors.push(("code".into(), field_message(&e.domain())));
            }
            drafts().put(&id, d).await;
            return see_other(&url(&t, Step::Done), &[]);
        }
    }
    let to = if !d.errors.is_empty() {
        same(step)
    } else if change
        && Step::FLOW
            .iter()
            .filter(|x| **x < Step::Check)
            .all(|x| !applies(&t, &d, *x, specs.len()) || answered(&d, *x))
    {
        url(&t, Step::Check)
    } else {
        url(&t, next_after(&t, &d, step, specs.len()))
    };
    drafts().put(&id, d).await;
    see_other(&to, &[])
}

fn reset_after_service(d: &mut Draft) {
    d.day = None;
    d.start = None;
    d.fields.clear();
    d.done.retain(|s| s == Step::Contact.slug());
}
