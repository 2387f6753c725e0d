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
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Months, NaiveDate, Timelike};
use okienko_domain::calendar::{to_local, BookingWindow};
use okienko_domain::config::{ClientField, ConfirmationMode, FieldKind};
use okienko_domain::{validate, Code, DomainError};

use super::draft::{self, Created, Draft};
use super::i18n::{Lang, Tr};
use super::{
    csrf, drafts, html, lang_of, message, read_limit, see_other, tenant, Chrome, ErrorItem,
    LangQuery,
};
use crate::rate_limit::{Kind, Peer};
use crate::state::HttpState;
use okienko_app::booking::{self, ClientData, CodeChannel, CreateRequest};
use okienko_app::catalog::ServiceCtx;
use okienko_app::oidc::{self, Identity};
use okienko_app::TenantCtx;

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

fn session_gone(t: &TenantCtx, lang: Lang, path: &str) -> Response {
    let tr = Tr::new(lang);
    message(
        StatusCode::OK,
        Chrome::new(lang, path, tr.t("start-title"), Some(t)),
        vec![tr.t("session-gone")],
        Some((tr.t("start-button"), format!("/t/{}/", t.slug))),
    )
}

fn refused(t: &TenantCtx, lang: Lang, path: &str) -> Response {
    let tr = Tr::new(lang);
    message(
        StatusCode::FORBIDDEN,
        Chrome::new(lang, path, tr.t("err-generic"), Some(t)),
        vec![tr.t("err-cross-site")],
        None,
    )
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

// ---------------------------------------------------------------------------------------------
// Pages of the flow

/// `GET /t/{slug}/wizyta/{step}`.
pub async fn step_page(
    State(s): State<HttpState>,
    Path((slug, step)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let (lang, cookies) = lang_of(&q, &headers);
    let path = step_path(&slug, &step);
    let t = match open_city(&s, &slug, lang, &path, peer, &headers, false).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(step) = Step::parse(&step) else {
        return super::not_found(&t, lang, &path);
    };
    let Some((id, mut d)) = drafts().of(&headers, t.id.0).await else {
        return session_gone(&t, lang, &path);
    };
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
    let change = q.zmiana.is_some();
    let tr = Tr::new(lang);
    let who = resident(&s, &t, &headers);
    let mut chrome = Chrome::new(lang, &path, String::new(), Some(&t));
    chrome.errors = summary(&d);
    let back = previous(&t, &d, step, specs.len()).map(|p| url(&t, p));
    let post = url(&t, step);
    // Errors are shown once; what was typed stays in the draft.
    let errors = std::mem::take(&mut d.errors);
    let mut shown = d.clone();
    shown.errors = errors;
    drafts().put(&id, d).await;
    let d = shown;
    let r = match step {
        Step::Group => group_page(&t, &d, tr, chrome, post, change, &cookies),
        Step::Service => service_page(&t, &d, tr, chrome, back, post, change, &cookies),
        Step::Day => {
            day_page(
                &s,
                &t,
                &d,
                tr,
                chrome,
                back,
                post,
                q.miesiac.as_deref(),
                change,
                &cookies,
            )
            .await
        }
        Step::Hour => hour_page(&s, &t, &d, tr, chrome, back, post, change, &cookies).await,
        Step::Details => details_page(&specs, &d, tr, chrome, back, post, change, &cookies),
        Step::Contact => {
            chrome.title = tr.t("contact-title");
            let page = contact_form(&t, &d, who.as_ref(), tr, chrome, back, post, change);
            html(StatusCode::OK, &page, &cookies, true)
        }
        Step::Check => {
            chrome.title = tr.t("check-title");
            let page = CheckPage {
                sections: check_sections(&t, &d, who.as_ref(), &specs, tr),
                chrome,
                back,
                post,
            };
            html(StatusCode::OK, &page, &cookies, true)
        }
        Step::Consents => consents_page(&t, &d, tr, chrome, back, post, &cookies),
        Step::Done => done_page(&s, &t, &d, tr, chrome, &cookies).await,
    };
    r
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
    Query(q): Query<LangQuery>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (lang, _) = lang_of(&q, &headers);
    let path = step_path(&slug, &step);
    let t = match open_city(&s, &slug, lang, &path, peer, &headers, true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(step) = Step::parse(&step) else {
        return super::not_found(&t, lang, &path);
    };
    let Some((id, mut d)) = drafts().of(&headers, t.id.0).await else {
        return session_gone(&t, lang, &path);
    };
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
            if let Err(r) = read_limit(
                &s,
                &t,
                peer,
                &headers,
                Kind::Code,
                t.cfg.rate_limits.code_attempts_per_minute,
            )
            .await
            {
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
