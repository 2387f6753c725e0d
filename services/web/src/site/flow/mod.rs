//! The booking flow (W-2): start page → office or department (where several) → service → day →
//! hour → the service's questions (where it has any) → contact details → check answers →
//! terms and consents → submit → what happens next. One question per page; each answer is a
//! POST that stores it in the draft (`draft`) and redirects to the next page's GET (W-3).
//! The booking itself is made by the same use case as the GraphQL `createBooking`
//! (`booking::create`), with the same rate limit.

use std::collections::BTreeMap;

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
mod contact;
mod done;
mod start;

use calendar::*;
use check::*;
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

pub struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub hint: Option<String>,
    pub checked: bool,
}

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

#[derive(Template)]
#[template(path = "site/choice.html")]
struct ChoicePage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    lead: Option<String>,
    name: &'static str,
    choices: Vec<Choice>,
    error: Option<String>,
    change: bool,
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
    let path = format!(
        "/t/{slug}/wizyta/{}",
        step.chars().take(20).collect::<String>()
    );
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if let Err(r) = read_limit(
        &s,
        &t,
        peer,
        &headers,
        Kind::Read,
        t.cfg.rate_limits.reads_per_minute,
    )
    .await
    {
        return r;
    }
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
        Step::Group => {
            chrome.title = tr.t("group-title");
            let choices = groups(&t)
                .into_iter()
                .enumerate()
                .map(|(i, g)| Choice {
                    id: format!("group-{i}"),
                    checked: d.group.as_deref() == Some(g.key.as_str()),
                    value: g.key,
                    label: g.name,
                    hint: None,
                })
                .collect();
            let page = ChoicePage {
                error: take_error(&d, "group-0"),
                chrome,
                back: None,
                post,
                lead: None,
                name: "group",
                choices,
                change,
            };
            html(StatusCode::OK, &page, &cookies, true)
        }
        Step::Service => {
            chrome.title = tr.t("service-title");
            let group = d.group.clone();
            let choices: Vec<Choice> = t
                .services
                .iter()
                .filter(|s| s.cfg.bookable && group.as_ref().is_none_or(|g| &group_key(s) == g))
                .enumerate()
                .map(|(i, s)| Choice {
                    id: format!("service-{i}"),
                    value: s.id.to_string(),
                    label: s.cfg.name.clone(),
                    hint: None,
                    checked: d.service == Some(s.id),
                })
                .collect();
            let page = ChoicePage {
                error: take_error(&d, "service-0"),
                chrome,
                back,
                post,
                lead: Some(tr.t("service-lead")),
                name: "service",
                choices,
                change,
            };
            html(StatusCode::OK, &page, &cookies, true)
        }
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
        Step::Details => {
            chrome.title = tr.t("questions-title");
            let inputs = specs
                .iter()
                .map(|f| {
                    let id = format!("f-{}", f.key);
                    Input {
                        error: take_error(&d, &id),
                        value: d.field(&f.key).to_string(),
                        id,
                        label: f.label.clone(),
                        kind: match f.kind {
                            FieldKind::Email => "email",
                            FieldKind::Phone => "tel",
                            FieldKind::Date => "date",
                            _ => "text",
                        },
                        required: f.required,
                        hint: f.help.clone(),
                        autocomplete: "off",
                    }
                })
                .collect();
            let page = FormPage {
                chrome,
                back,
                post,
                lead: None,
                card: None,
                inputs,
                checks: Vec::new(),
                change,
            };
            html(StatusCode::OK, &page, &cookies, true)
        }
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
        Step::Consents => {
            chrome.title = tr.t("consents-title");
            let mut checks = vec![Check {
                id: "terms".into(),
                label: tr.ta(
                    "terms-accept",
                    &[
                        ("title", &t.cfg.terms.title),
                        ("version", &t.cfg.terms.version),
                    ],
                ),
                hint: None,
                checked: d.terms,
                error: take_error(&d, "terms"),
            }];
            for c in &t.cfg.consents {
                let id = format!("consent-{}", c.key);
                checks.push(Check {
                    error: take_error(&d, &id),
                    label: if c.required {
                        c.title()
                    } else {
                        format!("{} {}", c.title(), tr.t("optional"))
                    },
                    hint: Some(c.text.clone()),
                    checked: d.consents.contains(&c.key),
                    id,
                });
            }
            let page = ConsentsPage {
                chrome,
                back,
                post,
                terms_title: t.cfg.terms.title.clone(),
                terms_text: t.cfg.terms.text.trim().to_string(),
                checks,
            };
            html(StatusCode::OK, &page, &cookies, true)
        }
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
    let path = format!(
        "/t/{slug}/wizyta/{}",
        step.chars().take(20).collect::<String>()
    );
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !csrf::same_origin(&headers) {
        return refused(&t, lang, &path);
    }
    let client = match read_limit(
        &s,
        &t,
        peer,
        &headers,
        Kind::Read,
        t.cfg.rate_limits.reads_per_minute,
    )
    .await
    {
        Ok(c) => c,
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
        Step::Group => {
            match value(&form, "group").filter(|g| groups(&t).iter().any(|x| x.key == *g)) {
                Some(g) => {
                    if d.group.as_deref() != Some(g) {
                        d.group = Some(g.to_string());
                        d.service = None;
                        reset_after_service(&mut d);
                    }
                }
                None => d.errors.push(("group-0".into(), tr.t("err-group"))),
            }
        }
        Step::Service => {
            let chosen = value(&form, "service")
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|id| t.service(id))
                .filter(|x| x.cfg.bookable && d.group.as_ref().is_none_or(|g| &group_key(x) == g));
            match chosen {
                Some(svc) => {
                    if d.service != Some(svc.id) {
                        d.service = Some(svc.id);
                        reset_after_service(&mut d);
                    }
                }
                None => d.errors.push(("service-0".into(), tr.t("err-service"))),
            }
        }
        Step::Day => {
            let day =
                value(&form, "day").and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
            let ok = match (day, service_of(&t, &d)) {
                (Some(day), Some(svc)) => {
                    let free = booking::availability(&s.app, &t, &svc.id.to_string(), day, day)
                        .await
                        .map(|x| x.iter().any(|x| x.slots.iter().any(|s| s.remaining > 0)))
                        .unwrap_or(false);
                    free.then_some(day)
                }
                _ => None,
            };
            match ok {
                Some(day) => {
                    if d.day != Some(day) {
                        d.day = Some(day);
                        d.start = None;
                    }
                }
                None => d.errors.push(("day".into(), tr.t("err-day"))),
            }
        }
        Step::Hour => {
            let start = value(&form, "start").and_then(|v| v.parse::<i64>().ok());
            let ok = match (start, service_of(&t, &d), d.day) {
                (Some(st), Some(svc), Some(day)) => {
                    booking::availability(&s.app, &t, &svc.id.to_string(), day, day)
                        .await
                        .map(|x| {
                            x.iter().any(|x| {
                                x.slots
                                    .iter()
                                    .any(|s| s.start.timestamp() == st && s.remaining > 0)
                            })
                        })
                        .unwrap_or(false)
                        .then_some(st)
                }
                _ => None,
            };
            match ok {
                Some(st) => d.start = Some(st),
                None => d.errors.push(("hour-0".into(), tr.t("err-hour"))),
            }
        }
        Step::Details => {
            d.fields = specs
                .iter()
                .map(|f| {
                    let v = value(&form, &format!("f-{}", f.key))
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>();
                    (f.key.clone(), v)
                })
                .collect();
            for f in &specs {
                let v = d.field(&f.key).trim().to_string();
                let id = format!("f-{}", f.key);
                if v.is_empty() {
                    if f.required {
                        d.errors
                            .push((id, tr.t1("err-required", "label", &f.label)));
                    }
                } else if let Err(e) = validate::field(f.kind, &format!("fields.{}", f.key), &v) {
                    d.errors.push((id, field_message(&e)));
                }
            }
            if d.errors.is_empty() {
                mark_done(&mut d, Step::Details);
            }
        }
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
            let get = |n: &str| {
                value(&form, n)
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect::<String>()
            };
            // What the login's claims fill is not taken from the form (GD-5).
            for (field, name, into) in [
                (ClientField::Name, "f-name", &mut d.name),
                (ClientField::Email, "f-email", &mut d.email),
                (ClientField::Phone, "f-phone", &mut d.phone),
            ] {
                if !from_card(who.as_ref(), field) {
                    *into = get(name);
                }
            }
            d.sms = value(&form, "f-sms").is_some() && t.cfg.confirmation.sms_option;
            check_contact(&t, &mut d, who.as_ref(), tr);
            if d.errors.is_empty() {
                mark_done(&mut d, Step::Contact);
            }
        }
        Step::Check => mark_done(&mut d, Step::Check),
        Step::Consents => {
            d.terms = value(&form, "terms").is_some();
            d.consents = t
                .cfg
                .consents
                .iter()
                .filter(|c| value(&form, &format!("consent-{}", c.key)).is_some())
                .map(|c| c.key.clone())
                .collect();
            if !d.terms {
                d.errors.push(("terms".into(), tr.t("err-terms")));
            }
            for c in t
                .cfg
                .consents
                .iter()
                .filter(|c| c.required && !d.consents.contains(&c.key))
            {
                d.errors.push((
                    format!("consent-{}", c.key),
                    tr.t1("err-consent", "title", &c.title()),
                ));
            }
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
                let _ = client;
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
