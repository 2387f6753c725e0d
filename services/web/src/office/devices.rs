//! Pairing kiosks and displays with a one-time code: the administrator's "Dodaj urządzenie" and the device's `/t/{slug}/urzadzenie`.
//!
//! `GET /t/{slug}/personel/urzadzenia` lists the city's devices with a "Usuń" button each
//! (revocation, as the admin API's `revokeDevice`) and the form that asks for a pairing code
//! (`okienko_app::devices`). The device's browser types the code at `/t/{slug}/urzadzenie`
//! (or opens it with `?kod=…` filled in), gets the device's token in the HTTP-only
//! `okienko_device` cookie and goes on to its screen. Plain forms, no script.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use okienko_app::auth::{DeviceKind, Permission, StaffRef};
use okienko_app::devices::{self, PairingRequest, PAIRING_MINUTES};
use okienko_app::records::{self, DeviceRow, NewAudit, StoreError};
use okienko_app::{ApiError, TenantCtx};
use okienko_domain::calendar::to_local;
use okienko_domain::DomainError;
use serde::Deserialize;

use super::session::{self, DEVICE_COOKIE};
use super::staff::{field, office_css, posted, tenant};
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, Chrome, ErrorItem, LangQuery};
use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/t/{slug}/personel/urzadzenia",
            get(list_page).post(create_code),
        )
        .route("/t/{slug}/personel/urzadzenia/{id}/usun", post(revoke))
        .route("/t/{slug}/urzadzenie", get(pair_page).post(pair_submit))
}

/// How long a paired browser keeps its device cookie: the longest browsers allow (400 days);
/// revocation, not the cookie, ends a device.
const DEVICE_COOKIE_SECONDS: i64 = 400 * 24 * 3600;

fn devices_path(t: &TenantCtx) -> String {
    format!("/t/{}/personel/urzadzenia", t.slug)
}

// ---------------------------------------------------------------------------------------------
// The administrator's list and "Dodaj urządzenie"

struct DeviceLine {
    kind: String,
    name: String,
    office: String,
    desk: String,
    state: String,
    revoke: Option<String>,
}

struct Choice {
    value: String,
    label: String,
    checked: bool,
}

/// The code just made, to hand to the device.
struct Made {
    code: String,
    until: String,
    minutes: i64,
    url: String,
    link: String,
}

#[derive(Default)]
struct AddForm {
    kind: String,
    office: String,
    desk: String,
    name: String,
    errors: Vec<(String, String)>,
}

impl AddForm {
    fn error(&self, id: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
    }
}

#[derive(Template)]
#[template(path = "office/devices/list.html")]
struct ListPage {
    chrome: Chrome,
    office_css: String,
    notice: Option<String>,
    made: Option<Made>,
    devices: Vec<DeviceLine>,
    post: String,
    kinds: Vec<Choice>,
    offices: Vec<Choice>,
    desk: String,
    name: String,
    kind_error: Option<String>,
    office_error: Option<String>,
    desk_error: Option<String>,
    name_error: Option<String>,
    home: String,
}

fn kind_label(tr: &Tr, d: &DeviceRow) -> String {
    match (d.kind.as_str(), d.desk) {
        ("kiosk", _) => tr.t("devices-kind-kiosk"),
        (_, None) => tr.t("devices-kind-hall"),
        (_, Some(n)) => tr.t1("devices-kind-door-n", "desk", &n.to_string()),
    }
}

fn date_time(t: i64) -> String {
    to_local(okienko_app::auth::ts(t))
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

fn lines(tr: &Tr, t: &TenantCtx, rows: &[DeviceRow]) -> Vec<DeviceLine> {
    rows.iter()
        .rev()
        .map(|d| DeviceLine {
            kind: kind_label(tr, d),
            name: d.name.clone(),
            office: t
                .office(d.office_id)
                .map_or_else(|| d.office_id.to_string(), |o| o.cfg.name.clone()),
            desk: d.desk.map_or_else(|| "–".into(), |n| n.to_string()),
            state: match d.revoked_at {
                Some(r) => tr.t1("devices-state-revoked", "when", &date_time(r)),
                None => tr.t1("devices-state-paired", "when", &date_time(d.created_at)),
            },
            revoke: d
                .revoked_at
                .is_none()
                .then(|| format!("{}/{}/usun", devices_path(t), d.id)),
        })
        .collect()
}

async fn list_response(
    s: &HttpState,
    t: &TenantCtx,
    lang: Lang,
    cookies: &[String],
    notice: Option<String>,
    made: Option<Made>,
    form: AddForm,
) -> Response {
    let tr = Tr::new(lang);
    let path = devices_path(t);
    let rows = match records::list_devices(&s.app, t.id).await {
        Ok(r) => r,
        Err(e) => return failed(lang, &path, t, &e),
    };
    let mut chrome = Chrome::new(lang, &path, tr.t("devices-title"), Some(t));
    chrome.errors = form
        .errors
        .iter()
        .map(|(id, text)| ErrorItem {
            id: id.clone(),
            text: text.clone(),
        })
        .collect();
    let kind = if form.kind.is_empty() {
        "kiosk"
    } else {
        form.kind.as_str()
    };
    let kinds = [
        ("kiosk", "devices-kind-kiosk"),
        ("hall", "devices-kind-hall"),
        ("door", "devices-kind-door"),
    ]
    .into_iter()
    .map(|(v, id)| Choice {
        value: v.into(),
        label: tr.t(id),
        checked: v == kind,
    })
    .collect();
    let offices = t
        .offices
        .iter()
        .map(|o| Choice {
            value: o.id.to_string(),
            label: o.cfg.name.clone(),
            checked: o.id.to_string() == form.office,
        })
        .collect();
    let status = if form.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    site::html(
        status,
        &ListPage {
            chrome,
            office_css: office_css(),
            notice,
            made,
            devices: lines(&tr, t, &rows),
            post: path,
            kinds,
            offices,
            kind_error: form.error("kind"),
            office_error: form.error("office"),
            desk_error: form.error("desk"),
            name_error: form.error("name"),
            desk: form.desk,
            name: form.name,
            home: super::staff::home_path(t),
        },
        cookies,
        true,
    )
}

fn failed(lang: Lang, path: &str, t: &TenantCtx, e: &ApiError) -> Response {
    let d = e.domain();
    let status = match d {
        DomainError::NotFound => StatusCode::NOT_FOUND,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let tr = Tr::new(lang);
    site::message(
        status,
        Chrome::new(lang, path, tr.t("err-generic"), Some(t)),
        vec![d.to_string()],
        Some((tr.t("devices-back"), devices_path(t))),
    )
}

/// The administrator behind the cookie, or the login page, or a page saying this is theirs.
#[allow(clippy::result_large_err)]
async fn administrator(
    s: &HttpState,
    t: &TenantCtx,
    lang: Lang,
    headers: &HeaderMap,
) -> Result<StaffRef, Response> {
    let path = devices_path(t);
    let (who, _) = session::staff(&s.app, t, headers, &path).await?;
    if who.role.allows(Permission::ManageDevices) {
        return Ok(who);
    }
    let tr = Tr::new(lang);
    Err(site::message(
        StatusCode::FORBIDDEN,
        Chrome::new(lang, &path, tr.t("devices-title"), Some(t)),
        vec![tr.t("devices-admins-only")],
        Some((tr.t("devices-home"), super::staff::home_path(t))),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub lang: Option<String>,
    /// `1`: a device was just removed.
    pub usunieto: Option<String>,
}

/// `GET /t/{slug}/personel/urzadzenia`.
pub async fn list_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let lq = LangQuery {
        lang: q.lang.clone(),
        ..LangQuery::default()
    };
    let (lang, cookies) = site::lang_of(&lq, &headers);
    let t = match tenant(&s, &slug, lang, &format!("/t/{slug}/personel/urzadzenia")) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if let Err(r) = administrator(&s, &t, lang, &headers).await {
        return r;
    }
    let notice = (q.usunieto.as_deref() == Some("1")).then(|| Tr::new(lang).t("devices-removed"));
    list_response(&s, &t, lang, &cookies, notice, None, AddForm::default()).await
}

/// The form's fields as a request, or the errors at its fields.
fn request(tr: &Tr, f: &mut AddForm) -> Option<PairingRequest> {
    let kind = match f.kind.as_str() {
        "kiosk" => Some(DeviceKind::Kiosk),
        "hall" | "door" => Some(DeviceKind::Display),
        _ => None,
    };
    if kind.is_none() {
        f.errors.push(("kind".into(), tr.t("devices-err-kind")));
    }
    let office = f.office.parse::<i64>().ok();
    if office.is_none() {
        f.errors.push(("office".into(), tr.t("devices-err-office")));
    }
    let desk = match (f.kind.as_str(), f.desk.trim()) {
        ("door", d) => match d.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                f.errors.push(("desk".into(), tr.t("devices-err-desk")));
                None
            }
        },
        _ => None,
    };
    if f.name.trim().is_empty() {
        f.errors.push(("name".into(), tr.t("devices-err-name")));
    }
    if !f.errors.is_empty() {
        return None;
    }
    Some(PairingRequest {
        kind: kind?,
        office_id: office?,
        desk,
        name: f.name.clone(),
    })
}

/// A form posted on the devices page: the city, the language, the page's address and the
/// administrator who posted it; refused when it comes from another site or not from an
/// administrator of this city.
struct AdminPost {
    t: std::sync::Arc<TenantCtx>,
    lang: Lang,
    cookies: Vec<String>,
    path: String,
    who: StaffRef,
}

impl AdminPost {
    async fn of(
        s: &HttpState,
        slug: &str,
        q: &LangQuery,
        headers: &HeaderMap,
    ) -> Result<AdminPost, Response> {
        let path = format!("/t/{slug}/personel/urzadzenia");
        let (t, lang, cookies) = posted(s, slug, q, headers, &path)?;
        let who = administrator(s, &t, lang, headers).await?;
        Ok(AdminPost {
            t,
            lang,
            cookies,
            path,
            who,
        })
    }
}

/// `POST /t/{slug}/personel/urzadzenia`: "Dodaj urządzenie" gives a pairing code.
pub async fn create_code(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let AdminPost {
        t,
        lang,
        cookies,
        path,
        who,
    } = match AdminPost::of(&s, &slug, &q, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    let mut form = AddForm {
        kind: field(&body, "kind", 10),
        office: field(&body, "office", 20),
        desk: field(&body, "desk", 10),
        name: field(&body, "name", 200),
        errors: Vec::new(),
    };
    let Some(r) = request(&tr, &mut form) else {
        return list_response(&s, &t, lang, &cookies, None, None, form).await;
    };
    match devices::create_pairing_code(&s.app, &t, &who, &r).await {
        Ok(c) => {
            let url = session::pairing_path(&t);
            let made = Made {
                link: format!("{url}?kod={}", c.code),
                url: format!("{}{url}", s.app.settings.public_url.trim_end_matches('/')),
                code: c.code,
                until: to_local(c.expires_at).format("%H:%M").to_string(),
                minutes: PAIRING_MINUTES,
            };
            list_response(&s, &t, lang, &cookies, None, Some(made), AddForm::default()).await
        }
        Err(e) => match e.domain() {
            DomainError::InvalidField { field, reason } => {
                let id = match field.as_str() {
                    "officeId" => "office",
                    "desk" => "desk",
                    _ => "name",
                };
                form.errors.push((id.into(), capitalized(&reason)));
                list_response(&s, &t, lang, &cookies, None, None, form).await
            }
            _ => failed(lang, &path, &t, &e),
        },
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `POST /t/{slug}/personel/urzadzenia/{id}/usun`: revokes the device (its screen goes to the
/// pairing page at its next request).
pub async fn revoke(
    State(s): State<HttpState>,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let AdminPost {
        t,
        lang,
        cookies,
        path,
        who,
    } = match AdminPost::of(&s, &slug, &q, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return failed(lang, &path, &t, &ApiError::Domain(DomainError::NotFound));
    };
    let actor = format!(
        "user:{} {} ({})",
        who.user.id,
        who.user.login,
        who.role.as_str()
    );
    let audit = NewAudit::new(&actor, "device.revoke", &format!("device:{id}"));
    let now = s.app.clock.now().timestamp();
    match records::revoke_device(&s.app, t.id, id, Some(&audit), now).await {
        Ok(_) => site::see_other(&format!("{path}?usunieto=1"), &cookies),
        Err(ApiError::Store(StoreError::NotFound)) => {
            failed(lang, &path, &t, &ApiError::Domain(DomainError::NotFound))
        }
        Err(e) => failed(lang, &path, &t, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// The device's side

#[derive(Template)]
#[template(path = "office/devices/pair.html")]
struct PairPage {
    chrome: Chrome,
    office_css: String,
    post: String,
    typed: String,
    minutes: i64,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PairQuery {
    pub lang: Option<String>,
    /// The code, filled in from a link the administrator's page or `okienko demo` gave.
    pub kod: Option<String>,
}

fn pair_form(
    t: &TenantCtx,
    lang: Lang,
    cookies: &[String],
    typed: String,
    error: Option<String>,
) -> Response {
    let tr = Tr::new(lang);
    let path = session::pairing_path(t);
    let mut chrome = Chrome::new(lang, &path, tr.t("pair-title"), Some(t));
    if let Some(e) = &error {
        chrome.errors.push(ErrorItem {
            id: "code".into(),
            text: e.clone(),
        });
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    site::html(
        status,
        &PairPage {
            chrome,
            office_css: office_css(),
            post: path,
            typed,
            minutes: PAIRING_MINUTES,
            error,
        },
        cookies,
        true,
    )
}

/// `GET /t/{slug}/urzadzenie?kod=…`: the code form (filled in from `kod`; nothing is redeemed
/// on a GET).
pub async fn pair_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<PairQuery>,
    headers: HeaderMap,
) -> Response {
    let lq = LangQuery {
        lang: q.lang.clone(),
        ..LangQuery::default()
    };
    let (lang, cookies) = site::lang_of(&lq, &headers);
    let t = match tenant(&s, &slug, lang, &format!("/t/{slug}/urzadzenie")) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let typed: String = q.kod.unwrap_or_default().chars().take(20).collect();
    pair_form(&t, lang, &cookies, typed, None)
}

/// `POST /t/{slug}/urzadzenie`: redeems the code, keeps the device's token in its cookie and
/// goes on to its screen. Tries count against the city's limit of codes tried per client.
pub async fn pair_submit(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    peer: crate::rate_limit::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/t/{slug}/urzadzenie");
    let (t, lang, cookies) = match posted(&s, &slug, &q, &headers, &path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    if let Err(limited) = site::code_limit(&s, &t, peer, &headers).await {
        return too_many(lang, &path, &t, &limited);
    }
    let typed = field(&body, "code", 20);
    if typed.trim().is_empty() {
        return pair_form(&t, lang, &cookies, typed, Some(tr.t("pair-err-empty")));
    }
    match devices::redeem(&s.app, &t, &typed).await {
        Ok(p) => {
            let mut out = cookies;
            if let Some(c) =
                session::set_cookie(&s.app, DEVICE_COOKIE, &p.token, DEVICE_COOKIE_SECONDS)
                    .and_then(|v| v.to_str().ok().map(str::to_string))
            {
                out.push(c);
            }
            site::see_other(&devices::screen_path(&t, &p.device), &out)
        }
        Err(e) => match e.domain() {
            DomainError::InvalidField { reason, .. } => {
                pair_form(&t, lang, &cookies, typed, Some(capitalized(&reason) + "."))
            }
            d => {
                tracing::warn!(error = %d, "pairing");
                pair_form(&t, lang, &cookies, typed, Some(d.to_string()))
            }
        },
    }
}

/// 429 as a page, with `Retry-After`.
fn too_many(lang: Lang, path: &str, t: &TenantCtx, limited: &Response) -> Response {
    let tr = Tr::new(lang);
    let mut r = site::message(
        StatusCode::TOO_MANY_REQUESTS,
        Chrome::new(lang, path, tr.t("pair-title"), Some(t)),
        vec![tr.t("pair-err-too-many")],
        Some((tr.t("pair-again"), path.to_string())),
    );
    let retry = limited
        .headers()
        .get(header::RETRY_AFTER)
        .cloned()
        .unwrap_or(HeaderValue::from_static("60"));
    r.headers_mut().insert(header::RETRY_AFTER, retry);
    r
}
