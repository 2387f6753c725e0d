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

pub struct Input {
    pub id: String,
    pub label: String,
    /// `text`, `email`, `tel`, `date`.
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
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

pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

pub struct DayCell {
    pub day: u32,
    pub value: String,
    pub label: String,
    pub free: bool,
}

pub struct Slot {
    pub id: String,
    pub value: String,
    pub time: String,
    pub checked: bool,
}

pub struct Part {
    pub title: String,
    pub slots: Vec<Slot>,
}

#[derive(Template)]
#[template(path = "site/start.html")]
struct StartPage {
    chrome: Chrome,
    post: String,
    /// (group name, services)
    bookable: Vec<(String, Vec<String>)>,
    /// (service, where to go)
    info: Vec<(String, String)>,
    phones: Vec<(String, String)>,
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

#[derive(Template)]
#[template(path = "site/day.html")]
struct DayPage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    month: String,
    weekdays: Vec<String>,
    weeks: Vec<Vec<Option<DayCell>>>,
    free: Vec<DayCell>,
    earlier: Option<String>,
    later: Option<String>,
    none_at_all: bool,
    error: Option<String>,
    change: bool,
}

#[derive(Template)]
#[template(path = "site/hour.html")]
struct HourPage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    day: String,
    parts: Vec<Part>,
    error: Option<String>,
    change: bool,
}

#[derive(Template)]
#[template(path = "site/form.html")]
struct FormPage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    lead: Option<String>,
    /// The resident-card login (GD-5), where the city offers it.
    card: Option<CardPanel>,
    inputs: Vec<Input>,
    checks: Vec<Check>,
    change: bool,
}

/// The resident-card login's panel on the contact page (GD-5): before the login, the link that
/// starts it; after, the data from the card (shown, not typed) and the button that forgets them.
struct CardPanel {
    lead: String,
    /// The login's address, coming back to this page.
    login: Option<String>,
    /// (label, value) from the login's claims.
    rows: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "site/check.html")]
struct CheckPage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    sections: Vec<Section>,
}

#[derive(Template)]
#[template(path = "site/consents.html")]
struct ConsentsPage {
    chrome: Chrome,
    back: Option<String>,
    post: String,
    terms_title: String,
    terms_text: String,
    checks: Vec<Check>,
}

#[derive(Template)]
#[template(path = "site/done.html")]
struct DonePage {
    chrome: Chrome,
    heading: String,
    code: String,
    rows: Vec<Row>,
    next: Vec<String>,
    /// The code field (OP-7): where it posts, the value typed, its error.
    code_form: Option<(String, String, Option<String>)>,
    again: String,
    confirmed: bool,
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
// Start

/// `GET /t/{slug}/`: what can be booked, what to bring, whom to phone, what is not booked (OP-2).
pub async fn start_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let (lang, cookies) = lang_of(&q, &headers);
    let path = format!("/t/{slug}/");
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
    let tr = Tr::new(lang);
    let bookable = groups(&t)
        .into_iter()
        .map(|g| {
            let names = t
                .services
                .iter()
                .filter(|s| s.cfg.bookable && group_key(s) == g.key)
                .map(|s| s.cfg.name.clone())
                .collect();
            (g.name, names)
        })
        .collect();
    let info = t
        .services
        .iter()
        .filter(|s| !s.cfg.bookable)
        .map(|s| (s.cfg.name.clone(), s.cfg.info.clone().unwrap_or_default()))
        .collect();
    let phones = t
        .offices
        .iter()
        .filter_map(|o| {
            o.cfg
                .phone
                .clone()
                .map(|p| (o.cfg.name.clone(), tr.t1("start-phone-text", "phone", &p)))
        })
        .collect();
    html(
        StatusCode::OK,
        &StartPage {
            chrome: Chrome::new(lang, &path, tr.t("start-title"), Some(&t)),
            post: format!("/t/{}/wizyta", t.slug),
            bookable,
            info,
            phones,
        },
        &cookies,
        false,
    )
}

/// `POST /t/{slug}/wizyta`: a new draft, then the first question.
pub async fn begin(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let (lang, _) = lang_of(&q, &headers);
    let path = format!("/t/{slug}/");
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !csrf::same_origin(&headers) {
        return refused(&t, lang, &path);
    }
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
    let (id, mut d) = drafts().start(t.id.0).await;
    let gs = groups(&t);
    if gs.len() == 1 {
        d.group = gs.into_iter().next().map(|g| g.key);
    }
    let first = first_open(&t, &d, 0);
    drafts().put(&id, d).await;
    see_other(&url(&t, first), &[draft::set_cookie(&id, secure(&s))])
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

/// The identity logged in with the city's resident card in this browser (GD-5), where the city
/// offers the login; a forged, expired or other city's cookie is none (`login::logged_in`).
fn resident(s: &HttpState, t: &TenantCtx, headers: &HeaderMap) -> Option<Identity> {
    if !oidc::offered(t) {
        return None;
    }
    crate::login::logged_in(&s.app, t, headers)
}

/// The contact data booked: the login's where it has them, else what was typed.
fn contact_of(d: &Draft, who: Option<&Identity>) -> (String, String, String) {
    match who {
        Some(id) => (
            id.name.clone(),
            id.email.clone().unwrap_or_else(|| d.email.clone()),
            id.phone.clone().unwrap_or_else(|| d.phone.clone()),
        ),
        None => (d.name.clone(), d.email.clone(), d.phone.clone()),
    }
}

/// Which contact fields the login's claims fill (those are shown, not typed).
fn from_card(who: Option<&Identity>, field: ClientField) -> bool {
    match (who, field) {
        (None, _) => false,
        (Some(_), ClientField::Name) => true,
        (Some(id), ClientField::Email) => id.email.is_some(),
        (Some(id), ClientField::Phone) => id.phone.is_some(),
    }
}

#[allow(clippy::too_many_arguments)]
fn contact_form(
    t: &TenantCtx,
    d: &Draft,
    who: Option<&Identity>,
    tr: Tr,
    chrome: Chrome,
    back: Option<String>,
    post: String,
    change: bool,
) -> FormPage {
    let required = &t.cfg.booking.required_client_fields;
    // A city that asks for more than the e-mail address offers the other fields too, as
    // optional; one that asks for the e-mail only (CI-11) asks nothing else.
    let offer_optional = required.len() > 1;
    let mut inputs = Vec::new();
    let mut card_rows = Vec::new();
    let mut add = |field: ClientField,
                   id: &str,
                   kind: &'static str,
                   value: &str,
                   ac: &'static str,
                   hint: Option<String>| {
        let req = required.contains(&field);
        let shown =
            req || offer_optional || (field == ClientField::Phone && t.cfg.confirmation.sms_option);
        if !shown {
            return;
        }
        if from_card(who, field) {
            card_rows.push((tr.t(id), value.to_string()));
            return;
        }
        inputs.push(Input {
            id: id.into(),
            label: tr.t(id),
            kind,
            value: value.into(),
            required: req,
            hint,
            error: take_error(d, id),
            autocomplete: ac,
        });
    };
    let (name, email, phone) = contact_of(d, who);
    add(ClientField::Name, "f-name", "text", &name, "name", None);
    add(
        ClientField::Email,
        "f-email",
        "email",
        &email,
        "email",
        None,
    );
    add(
        ClientField::Phone,
        "f-phone",
        "tel",
        &phone,
        "tel",
        Some(tr.t("f-phone-help")),
    );
    let mut checks = Vec::new();
    if t.cfg.confirmation.mode == ConfirmationMode::EmailCode && t.cfg.confirmation.sms_option {
        checks.push(Check {
            id: "f-sms".into(),
            label: tr.t("f-sms"),
            hint: None,
            checked: d.sms,
            error: None,
        });
    }
    // The resident-card login (GD-5): offered where the city's `[oidc]` provider is configured
    // with its secret (`oidc::offered`); `[resident_card]` is the GraphQL API's resident token
    // and has nothing to do with these pages. The login comes back to this page.
    let card = match who {
        _ if !oidc::offered(t) => None,
        None => {
            let mut back_here = url(t, Step::Contact);
            if change {
                back_here.push_str("?zmiana=1");
            }
            Some(CardPanel {
                lead: tr.t("resident-lead"),
                login: Some(oidc::login_path(t, &back_here)),
                rows: Vec::new(),
            })
        }
        Some(_) => Some(CardPanel {
            lead: tr.t("resident-shown"),
            login: None,
            rows: card_rows,
        }),
    };
    FormPage {
        chrome,
        back,
        post,
        lead: Some(tr.t("contact-lead")),
        card,
        inputs,
        checks,
        change,
    }
}

fn check_sections(
    t: &TenantCtx,
    d: &Draft,
    who: Option<&Identity>,
    specs: &[okienko_domain::config::FieldSpec],
    tr: Tr,
) -> Vec<Section> {
    let change = |step: Step| format!("{}?zmiana=1", url(t, step));
    let mut visit = Vec::new();
    if groups(t).len() > 1 {
        let name = groups(t)
            .into_iter()
            .find(|g| Some(&g.key) == d.group.as_ref())
            .map(|g| g.name)
            .unwrap_or_default();
        visit.push(Row {
            key: tr.t("check-group"),
            value: name,
            href: change(Step::Group),
        });
    }
    if let Some(svc) = service_of(t, d) {
        visit.push(Row {
            key: tr.t("check-service"),
            value: svc.cfg.name.clone(),
            href: change(Step::Service),
        });
    }
    if let Some(day) = d.day {
        visit.push(Row {
            key: tr.t("check-day"),
            value: date_long(&tr, t, day),
            href: change(Step::Day),
        });
    }
    if let Some(start) = d.start {
        visit.push(Row {
            key: tr.t("check-hour"),
            value: time_of(start),
            href: change(Step::Hour),
        });
    }
    let mut sections = vec![Section {
        title: tr.t("check-booking"),
        rows: visit,
    }];
    if !specs.is_empty() {
        sections.push(Section {
            title: tr.t("check-details"),
            rows: specs
                .iter()
                .map(|f| Row {
                    key: f.label.clone(),
                    value: d.field(&f.key).trim().to_string(),
                    href: change(Step::Details),
                })
                .collect(),
        });
    }
    let mut contact = Vec::new();
    let (name, email, phone) = contact_of(d, who);
    for (key, v) in [("f-name", name), ("f-email", email), ("f-phone", phone)] {
        if !v.trim().is_empty() {
            contact.push(Row {
                key: tr.t(key),
                value: v.trim().to_string(),
                href: change(Step::Contact),
            });
        }
    }
    if t.cfg.confirmation.sms_option {
        contact.push(Row {
            key: tr.t("check-sms"),
            value: tr.t(if d.sms { "yes" } else { "no" }),
            href: change(Step::Contact),
        });
    }
    sections.push(Section {
        title: tr.t("check-contact"),
        rows: contact,
    });
    sections
}

/// The months the window spans, as their first days.
fn months(w: &BookingWindow) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = w.first_day.with_day(1).unwrap_or(w.first_day);
    while m <= w.last_day && out.len() < 24 {
        out.push(m);
        m = match m.checked_add_months(Months::new(1)) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// The days of `month` within the window that have a free seat.
async fn free_days(
    s: &HttpState,
    t: &TenantCtx,
    svc: &ServiceCtx,
    w: &BookingWindow,
    month: NaiveDate,
) -> Result<BTreeMap<NaiveDate, usize>, okienko_app::ApiError> {
    let end = month
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(month);
    let from = month.max(w.first_day);
    let to = end.min(w.last_day);
    if to < from {
        return Ok(BTreeMap::new());
    }
    let days = booking::availability(&s.app, t, &svc.id.to_string(), from, to).await?;
    Ok(days
        .into_iter()
        .filter_map(|d| {
            let free = d.slots.iter().filter(|x| x.remaining > 0).count();
            (free > 0).then_some((d.date, free))
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn day_page(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
    tr: Tr,
    mut chrome: Chrome,
    back: Option<String>,
    post: String,
    asked: Option<&str>,
    change: bool,
    cookies: &[String],
) -> Response {
    chrome.title = tr.t("day-title");
    let Some(svc) = service_of(t, d) else {
        return see_other(&url(t, Step::Service), cookies);
    };
    let w = BookingWindow::compute(&t.cfg.booking, &t.calendar(svc), s.app.clock.now());
    let all = months(&w);
    let asked = asked
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .filter(|m| all.contains(m));
    // The month that opens: the one asked for, else the chosen day's, else the first with a
    // free slot (CI-11).
    let mut month = asked.or_else(|| {
        d.day
            .and_then(|x| x.with_day(1))
            .filter(|m| all.contains(m))
    });
    let mut free = BTreeMap::new();
    if let Some(m) = month {
        match free_days(s, t, svc, &w, m).await {
            Ok(f) => free = f,
            Err(e) => return error_response(t, tr, chrome, &e.domain()),
        }
    } else {
        for m in &all {
            match free_days(s, t, svc, &w, *m).await {
                Ok(f) if !f.is_empty() => {
                    free = f;
                    month = Some(*m);
                    break;
                }
                Ok(_) => {}
                Err(e) => return error_response(t, tr, chrome, &e.domain()),
            }
        }
    }
    let none_at_all = month.is_none();
    let month = month
        .or_else(|| all.first().copied())
        .unwrap_or(w.first_day);
    let cell = |date: NaiveDate| DayCell {
        day: date.day(),
        value: date.to_string(),
        label: date_long(&tr, t, date),
        free: free.contains_key(&date),
    };
    let mut weeks: Vec<Vec<Option<DayCell>>> = Vec::new();
    let mut week: Vec<Option<DayCell>> = (1..month.weekday().number_from_monday())
        .map(|_| None)
        .collect();
    let mut day = month;
    while day.month() == month.month() {
        week.push(Some(cell(day)));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        day = match day.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(None);
        }
        weeks.push(week);
    }
    let idx = all.iter().position(|m| *m == month);
    let link = |m: &NaiveDate| {
        format!(
            "{}?miesiac={}{}",
            url(t, Step::Day),
            m.format("%Y-%m"),
            if change { "&zmiana=1" } else { "" }
        )
    };
    let page = DayPage {
        month: format!("{} {}", tr.month(month.month()), month.year()),
        weekdays: (1..=7).map(|i| tr.weekday(i)).collect(),
        free: free.keys().map(|x| cell(*x)).collect(),
        weeks,
        earlier: idx
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| all.get(i))
            .map(link),
        later: idx.and_then(|i| all.get(i + 1)).map(link),
        none_at_all,
        error: d
            .errors
            .iter()
            .find(|(k, _)| k == "day")
            .map(|(_, v)| v.clone()),
        chrome,
        back,
        post,
        change,
    };
    html(StatusCode::OK, &page, cookies, true)
}

#[allow(clippy::too_many_arguments)]
async fn hour_page(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
    tr: Tr,
    mut chrome: Chrome,
    back: Option<String>,
    post: String,
    change: bool,
    cookies: &[String],
) -> Response {
    chrome.title = tr.t("hour-title");
    let (Some(svc), Some(day)) = (service_of(t, d), d.day) else {
        return see_other(&url(t, Step::Day), cookies);
    };
    let days = match booking::availability(&s.app, t, &svc.id.to_string(), day, day).await {
        Ok(x) => x,
        Err(e) => return error_response(t, tr, chrome, &e.domain()),
    };
    let mut morning = Vec::new();
    let mut afternoon = Vec::new();
    for (i, slot) in days
        .iter()
        .flat_map(|x| x.slots.iter())
        .filter(|x| x.remaining > 0)
        .enumerate()
    {
        let local = to_local(slot.start);
        let v = Slot {
            id: format!("hour-{i}"),
            value: slot.start.timestamp().to_string(),
            time: local.format("%H:%M").to_string(),
            checked: d.start == Some(slot.start.timestamp()),
        };
        if local.hour() < 12 {
            morning.push(v)
        } else {
            afternoon.push(v)
        }
    }
    let mut parts = Vec::new();
    if !morning.is_empty() {
        parts.push(Part {
            title: tr.t("hour-morning"),
            slots: morning,
        });
    }
    if !afternoon.is_empty() {
        parts.push(Part {
            title: tr.t("hour-afternoon"),
            slots: afternoon,
        });
    }
    let page = HourPage {
        day: date_long(&tr, t, day),
        parts,
        error: d
            .errors
            .iter()
            .find(|(k, _)| k == "hour-0")
            .map(|(_, v)| v.clone()),
        chrome,
        back,
        post,
        change,
    };
    html(StatusCode::OK, &page, cookies, true)
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

async fn done_page(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
    tr: Tr,
    mut chrome: Chrome,
    cookies: &[String],
) -> Response {
    let Some(created) = &d.created else {
        return session_gone(t, tr.lang, "/");
    };
    let b = match booking::by_token(&s.app, t, &created.token).await {
        Ok(b) => b,
        Err(e) => return error_response(t, tr, chrome, &e.domain()),
    };
    let status = booking::status_of(&b);
    use okienko_domain::booking::BookingStatus as S;
    let minutes = t.cfg.confirmation.ttl_minutes.to_string();
    let (heading, next, code_form) = match (status, t.cfg.confirmation.mode) {
        (S::Confirmed, ConfirmationMode::Immediate) => (
            tr.t("done-title"),
            vec![tr.t("done-immediate"), tr.t("done-bring")],
            None,
        ),
        (S::Confirmed, _) => (
            tr.t("done-title"),
            vec![tr.t("done-confirmed"), tr.t("done-bring")],
            None,
        ),
        (S::Pending, ConfirmationMode::EmailLink) => (
            tr.t("done-pending-title"),
            vec![tr.t1("done-link", "minutes", &minutes)],
            None,
        ),
        (S::Pending, _) => (
            tr.t("done-pending-title"),
            vec![tr.t1("done-code-lead", "minutes", &minutes)],
            Some((
                url(t, Step::Done),
                d.typed_code.clone(),
                d.errors
                    .iter()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.clone()),
            )),
        ),
        _ => (
            tr.t("err-generic"),
            vec![booking::refusal_for(&b).to_string()],
            None,
        ),
    };
    chrome.title = heading.clone();
    let svc = t.service(b.service_id);
    let office = svc.and_then(|x| t.office(x.office_id));
    let local = to_local(DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default());
    let mut rows = vec![
        Row {
            key: tr.t("check-service"),
            value: svc.map(|x| x.cfg.name.clone()).unwrap_or_default(),
            href: String::new(),
        },
        Row {
            key: tr.t("check-day"),
            value: date_long(&tr, t, local.date()),
            href: String::new(),
        },
        Row {
            key: tr.t("check-hour"),
            value: local.format("%H:%M").to_string(),
            href: String::new(),
        },
    ];
    if let Some(o) = office {
        rows.push(Row {
            key: o.cfg.name.clone(),
            value: o.cfg.address.clone(),
            href: String::new(),
        });
    }
    let page = DonePage {
        chrome,
        heading,
        code: b.code.clone(),
        rows,
        next,
        code_form,
        again: format!("/t/{}/wizyta", t.slug),
        confirmed: status == S::Confirmed,
    };
    html(StatusCode::OK, &page, cookies, true)
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

/// A validator of one contact field (`okienko_domain::validate`).
type Validator = fn(&str, &str) -> Result<String, DomainError>;

fn check_contact(t: &TenantCtx, d: &mut Draft, who: Option<&Identity>, tr: Tr) {
    let required = t.cfg.booking.required_client_fields.clone();
    let checks: [(ClientField, &str, String, Validator); 3] = [
        (ClientField::Name, "f-name", d.name.clone(), validate::name),
        (
            ClientField::Email,
            "f-email",
            d.email.clone(),
            validate::email,
        ),
        (
            ClientField::Phone,
            "f-phone",
            d.phone.clone(),
            validate::phone,
        ),
    ];
    for (field, id, v, check) in checks {
        // The login's claims are the provider's, checked when the booking is made.
        if from_card(who, field) {
            continue;
        }
        let v = v.trim();
        if v.is_empty() {
            if required.contains(&field) {
                d.errors
                    .push((id.into(), tr.t1("err-required", "label", &tr.t(id))));
            }
        } else if let Err(e) = check(id, v) {
            d.errors.push((id.into(), field_message(&e)));
        }
    }
    let (_, _, phone) = contact_of(d, who);
    if d.sms && phone.trim().is_empty() && !d.errors.iter().any(|(k, _)| k == "f-phone") {
        d.errors
            .push(("f-phone".into(), DomainError::SmsNeedsPhone.to_string()));
    }
}

/// Which page and field a refusal of `booking::create` belongs to (the policy names fields
/// as `fields.<key>` and `client.<name>`).
fn place_of(e: &DomainError) -> (Step, String) {
    match e.field() {
        Some(f) if f.starts_with("fields.") => (Step::Details, format!("f-{}", &f[7..])),
        Some(f) if f.starts_with("client.") => (Step::Contact, format!("f-{}", &f[7..])),
        _ => match e.listed_code() {
            Some(
                Code::SlotFull
                | Code::SlotInPast
                | Code::TooSoon
                | Code::BeyondHorizon
                | Code::OutsideHours,
            ) => (Step::Hour, "hour-0".into()),
            Some(Code::SmsNeedsPhone) => (Step::Contact, "f-phone".into()),
            _ => (Step::Consents, "terms".into()),
        },
    }
}

async fn submit(
    s: &HttpState,
    t: &TenantCtx,
    id: String,
    mut d: Draft,
    who: Option<&Identity>,
    specs: &[okienko_domain::config::FieldSpec],
    tr: Tr,
) -> Response {
    let (Some(svc), Some(start)) = (
        service_of(t, &d),
        d.start.and_then(|x| DateTime::from_timestamp(x, 0)),
    ) else {
        let open = first_open(t, &d, specs.len());
        drafts().put(&id, d).await;
        return see_other(&url(t, open), &[]);
    };
    let opt = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let req = CreateRequest {
        service_id: svc.id.to_string(),
        start,
        client: ClientData {
            name: opt(&d.name),
            email: opt(&d.email),
            phone: opt(&d.phone),
        },
        fields: d
            .fields
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .cloned()
            .collect(),
        accepted_terms_version: t.cfg.terms.version.clone(),
        consents: d.consents.clone(),
        channel: if d.sms {
            CodeChannel::Sms
        } else {
            CodeChannel::Email
        },
        idempotency_key: Some(d.key.clone()),
        resident_token: None,
    };
    // Logged in with the resident card (GD-5): booked with the login's data.
    let created = match who {
        Some(id) => booking::create_logged_in(&s.app, t, req, id).await,
        None => booking::create(&s.app, t, req).await,
    };
    match created {
        Ok(c) => {
            d.created = Some(Created {
                code: c.booking.code.clone(),
                token: c.token,
            });
            drafts().put(&id, d).await;
            see_other(&url(t, Step::Done), &[])
        }
        Err(e) => {
            let e = e.domain();
            let (step, field) = place_of(&e);
            let text = match (step, e.listed_code()) {
                (Step::Hour, Some(Code::SlotFull)) => tr.t("err-slot"),
                _ => field_message(&e),
            };
            if step == Step::Hour {
                d.start = None;
            }
            d.done.retain(|x| x != step.slug());
            d.errors.push((field, text));
            drafts().put(&id, d).await;
            see_other(&url(t, step), &[])
        }
    }
}
