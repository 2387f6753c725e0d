//! Staff login and logout, the staff's start page, the admission list behind the session cookie (OP-9).
//!
//! The login page runs the admin API's own `auth::login` (argon2id passwords, the lockout after
//! five wrong passwords, eight-hour sessions), so a session made here is the one the APIs know
//! and the other way round; its token goes into the HTTP-only `okienko_staff` cookie
//! (`session::set_cookie`). Every POST passes `site::csrf::same_origin`; the forms are plain
//! HTML and need no script.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use okienko_app::auth::{self, Permission, Role, StaffRef};
use okienko_app::records::Scope;
use okienko_app::TenantCtx;
use okienko_domain::calendar::to_local;
use okienko_domain::DomainError;
use serde::Deserialize;

use super::session::{self, login_path, STAFF_COOKIE};
use crate::login::cookie;
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, csrf, Chrome, ErrorItem, LangQuery};
use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/t/{slug}/personel/logowanie",
            get(login_page).post(login_submit),
        )
        .route("/t/{slug}/personel/wyloguj", post(logout))
        .route("/t/{slug}/personel", get(home))
}

/// The staff's start page of a city.
pub fn home_path(t: &TenantCtx) -> String {
    format!("/t/{}/personel", t.slug)
}

/// How long the browser keeps the session cookie: the session's own length and then some, so
/// that a session that ran out on the server is still sent and the login page can say so
/// (the server, not the cookie, decides whether a session is alive).
const COOKIE_SECONDS: i64 = (auth::SESSION_HOURS + 16) * 3600;

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    pub lang: Option<String>,
    /// Where to go after logging in: a path of this city's pages (`safe_next`).
    pub next: Option<String>,
    /// `1`: the session ran out.
    pub wygasla: Option<String>,
    /// `1`: just logged out.
    pub wylogowano: Option<String>,
}

impl LoginQuery {
    fn lang(&self) -> LangQuery {
        LangQuery {
            lang: self.lang.clone(),
            ..LangQuery::default()
        }
    }
}

/// `next` when it is a path of `t`'s own pages; the staff's start page otherwise. Only
/// `/t/{slug}/…` paths pass: no scheme, no host, no `//` or backslash that a browser could
/// read as another site, no control characters (an open redirect is refused).
pub fn safe_next(t: &TenantCtx, next: Option<&str>) -> String {
    let prefix = format!("/t/{}/", t.slug);
    match next {
        Some(n)
            if n.len() <= 512
                && (n.starts_with(&prefix) || n == prefix.trim_end_matches('/'))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                // Not back to the login page itself: someone logged in would go round.
                && !n.starts_with(&login_path(t)) =>
        {
            n.to_string()
        }
        _ => home_path(t),
    }
}

/// The office screens' stylesheet on top of the citizen pages' (`templates/site/base.html`'s
/// `head` block).
pub fn office_css() -> String {
    crate::assets::url("office.css")
}

/// The city of an office page, or the citizen pages' 404.
#[allow(clippy::result_large_err)]
pub fn tenant(
    s: &HttpState,
    slug: &str,
    lang: Lang,
    path: &str,
) -> Result<std::sync::Arc<TenantCtx>, Response> {
    site::tenant(s, slug, lang, path)
}

/// The answer to a POST that did not come from this site's own pages.
pub fn cross_site(lang: Lang, path: &str, t: &TenantCtx) -> Response {
    let tr = Tr::new(lang);
    site::message(
        StatusCode::FORBIDDEN,
        Chrome::new(lang, path, tr.t("err-generic"), Some(t)),
        vec![tr.t("staff-err-cross-site")],
        None,
    )
}

/// A form posted to an office page at `path`: the city, the language and the cookie that keeps
/// one just chosen; or the 404 page, or the refusal of a form from another site.
#[allow(clippy::result_large_err)]
pub fn posted(
    s: &HttpState,
    slug: &str,
    q: &LangQuery,
    headers: &HeaderMap,
    path: &str,
) -> Result<(std::sync::Arc<TenantCtx>, Lang, Vec<String>), Response> {
    let (lang, cookies) = site::lang_of(q, headers);
    let t = tenant(s, slug, lang, path)?;
    if !csrf::same_origin(headers) {
        return Err(cross_site(lang, path, &t));
    }
    Ok((t, lang, cookies))
}

/// The value of field `name` of a form body, at most `max` characters.
pub fn field(body: &[u8], name: &str, max: usize) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.chars().take(max).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Template)]
#[template(path = "office/staff/login.html")]
struct LoginPage {
    chrome: Chrome,
    office_css: String,
    post: String,
    next: String,
    login: String,
    notice: Option<String>,
    login_error: Option<String>,
    password_error: Option<String>,
}

struct LoginForm {
    login: String,
    next: String,
    notice: Option<String>,
    login_error: Option<String>,
    password_error: Option<String>,
}

fn login_form(t: &TenantCtx, lang: Lang, cookies: &[String], f: LoginForm) -> Response {
    let tr = Tr::new(lang);
    let path = login_path(t);
    let mut chrome = Chrome::new(lang, &path, tr.t("staff-login-title"), Some(t));
    for (id, e) in [("login", &f.login_error), ("password", &f.password_error)] {
        if let Some(text) = e {
            chrome.errors.push(ErrorItem {
                id: id.into(),
                text: text.clone(),
            });
        }
    }
    let status = if chrome.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    site::html(
        status,
        &LoginPage {
            chrome,
            office_css: office_css(),
            post: path,
            next: f.next,
            login: f.login,
            notice: f.notice,
            login_error: f.login_error,
            password_error: f.password_error,
        },
        cookies,
        true,
    )
}

/// `GET /t/{slug}/personel/logowanie?next=…&wygasla=1`: the login form; someone already
/// logged in goes on to `next`.
pub async fn login_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, cookies) = site::lang_of(&q.lang(), &headers);
    let t = match tenant(&s, &slug, lang, &format!("/t/{slug}/personel/logowanie")) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let next = safe_next(&t, q.next.as_deref());
    if session::staff(&s.app, &t, &headers, &next).await.is_ok() {
        return site::see_other(&next, &cookies);
    }
    let tr = Tr::new(lang);
    let notice = if q.wygasla.as_deref() == Some("1") {
        Some(tr.t("staff-expired"))
    } else if q.wylogowano.as_deref() == Some("1") {
        Some(tr.t("staff-logged-out"))
    } else {
        None
    };
    login_form(
        &t,
        lang,
        &cookies,
        LoginForm {
            login: String::new(),
            next,
            notice,
            login_error: None,
            password_error: None,
        },
    )
}

/// The page's words for a refused login.
fn login_error(tr: &Tr, e: &DomainError) -> String {
    match e {
        DomainError::InvalidCredentials => tr.t("staff-err-credentials"),
        DomainError::AccountLocked { until } => tr.t1(
            "staff-err-locked",
            "until",
            &to_local(*until).format("%H:%M, %d.%m.%Y").to_string(),
        ),
        DomainError::AccountSuspended => tr.t("staff-err-suspended"),
        e => e.to_string(),
    }
}

/// `POST /t/{slug}/personel/logowanie`: the session in the cookie, then `next`.
pub async fn login_submit(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/t/{slug}/personel/logowanie");
    let (t, lang, cookies) = match posted(&s, &slug, &q.lang(), &headers, &path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    let login = field(&body, "login", 320).trim().to_string();
    let password = field(&body, "password", 300);
    let next = safe_next(&t, Some(&field(&body, "next", 600)));
    let mut form = LoginForm {
        login: login.clone(),
        next: next.clone(),
        notice: None,
        login_error: login.is_empty().then(|| tr.t("staff-err-login-empty")),
        password_error: password
            .is_empty()
            .then(|| tr.t("staff-err-password-empty")),
    };
    if form.login_error.is_some() || form.password_error.is_some() {
        return login_form(&t, lang, &cookies, form);
    }
    match auth::login(&s.app, Scope::Tenant(t.id), &login, &password).await {
        Ok(done) => {
            let mut out = cookies;
            if let Some(c) = session::set_cookie(&s.app, STAFF_COOKIE, &done.token, COOKIE_SECONDS)
                .and_then(|v| v.to_str().ok().map(str::to_string))
            {
                out.push(c);
            }
            site::see_other(&next, &out)
        }
        Err(e) => {
            form.password_error = Some(login_error(&tr, &e.domain()));
            login_form(&t, lang, &cookies, form)
        }
    }
}

/// `POST /t/{slug}/personel/wyloguj`: ends the session on the server and forgets the cookie.
pub async fn logout(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/t/{slug}/personel/wyloguj");
    let (t, _, cookies) = match posted(&s, &slug, &q.lang(), &headers, &path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let scope = Scope::Tenant(t.id);
    let who = auth::authenticate(&s.app, scope, cookie(&headers, STAFF_COOKIE))
        .await
        .unwrap_or_default();
    if let Some(auth::Principal::Staff { .. }) = who.principal {
        if let Err(e) = auth::logout(&s.app, scope, &who).await {
            tracing::warn!(error = %e.domain(), "staff logout");
        }
    }
    let mut out = cookies;
    if let Some(c) = session::set_cookie(&s.app, STAFF_COOKIE, "", 0)
        .and_then(|v| v.to_str().ok().map(str::to_string))
    {
        out.push(c);
    }
    site::see_other(&format!("{}?wylogowano=1", login_path(&t)), &out)
}

// ---------------------------------------------------------------------------------------------
// The start page

#[derive(Template)]
#[template(path = "office/staff/home.html")]
struct HomePage {
    chrome: Chrome,
    office_css: String,
    name: String,
    role: String,
    /// (text, href, description)
    links: Vec<(String, String, String)>,
    logout: String,
}

fn role_name(tr: &Tr, r: Role) -> String {
    tr.t(match r {
        Role::Admin => "staff-role-admin",
        Role::CallCentre => "staff-role-call-centre",
        Role::Clerk => "staff-role-clerk",
    })
}

/// The links of the start page a role may follow.
fn links(tr: &Tr, t: &TenantCtx, who: &StaffRef) -> Vec<(String, String, String)> {
    let slug = &t.slug;
    let mut out = Vec::new();
    if who.role.allows(Permission::DeskWork) {
        out.push((
            tr.t("staff-link-desk"),
            format!("/t/{slug}/stanowisko"),
            tr.t("staff-link-desk-hint"),
        ));
    }
    if who.role.allows(Permission::ReadBookings) {
        out.push((
            tr.t("staff-link-admission"),
            format!("/t/{slug}/staff/przyjecia"),
            tr.t("staff-link-admission-hint"),
        ));
    }
    if who.role.allows(Permission::ManageDevices) {
        out.push((
            tr.t("staff-link-devices"),
            format!("/t/{slug}/personel/urzadzenia"),
            tr.t("staff-link-devices-hint"),
        ));
    }
    out
}

/// `GET /t/{slug}/personel`: who is logged in and where to go.
pub async fn home(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, cookies) = site::lang_of(&q, &headers);
    let path = format!("/t/{slug}/personel");
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (who, _) = match session::staff(&s.app, &t, &headers, &path).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    site::html(
        StatusCode::OK,
        &HomePage {
            chrome: Chrome::new(lang, &path, tr.t("staff-home-title"), Some(&t)),
            office_css: office_css(),
            name: who.user.display_name.clone(),
            role: role_name(&tr, who.role),
            links: links(&tr, &t, &who),
            logout: format!("/t/{slug}/personel/wyloguj"),
        },
        &cookies,
        true,
    )
}
