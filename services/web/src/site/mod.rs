//! The citizens' pages (W-1 … W-5): each city's site at `/t/{slug}/` (and at its own host name
//! when configured), the booking flow one question per page, the list of cities at `/`.
//!
//! Server-rendered askama templates (`templates/site/`, escaping by default), plain forms with
//! POST then redirect then GET, no JavaScript needed (`assets/site/site.js` only moves focus to
//! an error summary). Every POST passes the cross-site check (`csrf`), every response carries a
//! Content-Security-Policy without inline script or style, and every asset comes from this
//! binary. Public requests count against the same rate limits as the public GraphQL API, and
//! availability comes through the same usage cache (`booking::availability`).

pub mod branding;
pub mod code;
pub mod csrf;
pub mod draft;
pub mod flow;
pub mod i18n;

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::rate_limit;
use crate::state::HttpState;
use i18n::{Lang, Tr};
use okienko_app::TenantCtx;

/// No inline script or style, nothing from elsewhere, forms only to this server.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'";

/// The drafts of bookings in progress (`draft`), one store per process.
pub fn drafts() -> &'static draft::Drafts {
    static D: OnceLock<draft::Drafts> = OnceLock::new();
    D.get_or_init(draft::Drafts::default)
}

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/t/{slug}/", get(flow::start_page))
        .route("/t/{slug}", get(flow::start_page))
        .route("/t/{slug}/wizyta", axum::routing::post(flow::begin))
        .route(
            "/t/{slug}/wizyta/{step}",
            get(flow::step_page).post(flow::step_submit),
        )
        .route(
            "/t/{slug}/deklaracja-dostepnosci",
            get(branding::statement_page),
        )
        .route("/t/{slug}/marka.css", get(branding::brand_css))
        .route(
            "/t/{slug}/rezerwacja/{token}/kod",
            get(code::code_page).post(code::code_submit),
        )
        .route("/static/{slug}/logo.svg", get(branding::logo))
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
    /// The month the day page shows, `YYYY-MM`.
    pub miesiac: Option<String>,
    /// Set by a "Zmień" link: after the answer, back to the check page.
    pub zmiana: Option<String>,
}

/// One error of a page: the field's id (the summary links to it) and the message.
#[derive(Debug, Clone)]
pub struct ErrorItem {
    pub id: String,
    pub text: String,
}

pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct City {
    pub name: String,
    pub logo: String,
    pub home: String,
}

/// What every page shows around its content (`templates/site/base.html`).
pub struct Chrome {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    pub errors: Vec<ErrorItem>,
    pub city: Option<City>,
    pub brand_css: Option<String>,
    pub css: String,
    /// Further stylesheets after `css` (the office screens' `office.css`), before the city's.
    pub styles: Vec<String>,
    pub js: String,
    pub switch: Vec<LangLink>,
    pub a11y: Option<String>,
}

/// The language switch of a page at `path` shown in `lang`.
pub fn lang_links(path: &str, lang: Lang) -> Vec<LangLink> {
    Lang::ALL
        .into_iter()
        .map(|l| LangLink {
            code: l.code(),
            name: l.own_name(),
            href: format!("{path}?lang={}", l.code()),
            current: l == lang,
        })
        .collect()
}

impl Chrome {
    pub fn new(lang: Lang, path: &str, title: String, t: Option<&TenantCtx>) -> Chrome {
        Chrome {
            tr: Tr::new(lang),
            lang: lang.code(),
            title,
            errors: Vec::new(),
            city: t.map(|t| City {
                name: t.cfg.branding.display_name.clone(),
                logo: format!("/static/{}/logo.svg", t.slug),
                home: format!("/t/{}/", t.slug),
            }),
            brand_css: t.map(branding::css_url),
            css: crate::assets::url("site.css"),
            styles: Vec::new(),
            js: crate::assets::url("site.js"),
            switch: lang_links(path, lang),
            a11y: t.map(|t| format!("/t/{}/deklaracja-dostepnosci", t.slug)),
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }
}

/// A rendered page with the pages' headers; `no_store` for pages that show personal data.
pub fn html(
    status: StatusCode,
    page: &impl Template,
    cookies: &[String],
    no_store: bool,
) -> Response {
    match page.render() {
        Ok(body) => html_body(status, body, cookies, no_store),
        Err(e) => {
            tracing::error!(error = %e, "site template");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Wewnętrzny błąd serwera.",
            )
                .into_response()
        }
    }
}

/// A page already rendered (or kept, see the day page), with the pages' headers.
pub fn html_body(status: StatusCode, body: String, cookies: &[String], no_store: bool) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if no_store { "no-store" } else { "no-cache" }),
    );
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

/// 303 See Other to `to` (POST then redirect then GET), with cookies.
pub fn see_other(to: &str, cookies: &[String]) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Template)]
#[template(path = "site/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub paragraphs: Vec<String>,
    /// (text, href)
    pub link: Option<(String, String)>,
}

/// A page with a title and a few sentences.
pub fn message(
    status: StatusCode,
    chrome: Chrome,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
) -> Response {
    html(
        status,
        &MessagePage {
            chrome,
            paragraphs,
            link,
        },
        &[],
        false,
    )
}

/// The language of a request and the cookie to set, if any.
/// What a page of the site is asked with: the query, the language it is shown in (and the
/// cookie that keeps one newly chosen, `lang_of`), the peer and the headers.
pub struct Visit {
    pub q: LangQuery,
    pub lang: Lang,
    pub cookies: Vec<String>,
    pub peer: rate_limit::Peer,
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Query(q) = Query::<LangQuery>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (lang, cookies) = lang_of(&q, &parts.headers);
        Ok(Visit {
            q,
            lang,
            cookies,
            peer: rate_limit::Peer::of(&parts.extensions),
            headers: parts.headers.clone(),
        })
    }
}

pub fn lang_of(q: &LangQuery, headers: &HeaderMap) -> (Lang, Vec<String>) {
    let (lang, set) = i18n::choose(q.lang.as_deref(), headers);
    let cookies = if set {
        vec![i18n::set_cookie(lang).1]
    } else {
        Vec::new()
    };
    (lang, cookies)
}

/// The tenant of a site request, or its 404 page.
#[allow(clippy::result_large_err)]
pub fn tenant(
    s: &HttpState,
    slug: &str,
    lang: Lang,
    path: &str,
) -> Result<Arc<TenantCtx>, Response> {
    s.app.catalog.get(slug).ok_or_else(|| {
        let chrome = Chrome::new(lang, path, Tr::new(lang).t("index-title"), None);
        message(
            StatusCode::NOT_FOUND,
            chrome,
            vec![format!(
                "Nie ma urzędu o identyfikatorze „{}” w tym serwisie.",
                slug.chars().take(64).collect::<String>()
            )],
            Some(("okienko".into(), "/".into())),
        )
    })
}

/// The public read limit of the GraphQL API, per tenant and client address (P-7). Over it, a
/// page in the visitor's language says how long to wait (429 with `Retry-After`), not the
/// API's JSON.
#[allow(clippy::result_large_err)]
pub async fn read_limit(
    s: &HttpState,
    t: &TenantCtx,
    peer: rate_limit::Peer,
    headers: &HeaderMap,
    kind: rate_limit::Kind,
    per_minute: u32,
) -> Result<rate_limit::ClientIp, Response> {
    let client = rate_limit::client_ip(peer, headers, &s.settings.admission.trusted_proxies);
    s.app
        .rate_limits
        .check(kind, t.id.0, &client.0, per_minute)
        .await
        .map_err(|l| too_many(t, headers, l))?;
    Ok(client)
}

/// The page of a request over its rate limit.
fn too_many(t: &TenantCtx, headers: &HeaderMap, l: okienko_app::rate_limit::Limited) -> Response {
    let (lang, _) = i18n::choose(None, headers);
    let tr = Tr::new(lang);
    let secs = l.retry_after_secs().to_string();
    let home = format!("/t/{}/", t.slug);
    let mut r = message(
        StatusCode::TOO_MANY_REQUESTS,
        Chrome::new(lang, &home, tr.t("err-too-many-title"), Some(t)),
        vec![tr.t1("err-too-many", "seconds", &secs)],
        None,
    );
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// [`read_limit`] for the tries of a booking's confirmation code (OP-7).
#[allow(clippy::result_large_err)]
pub async fn code_limit(
    s: &HttpState,
    t: &TenantCtx,
    peer: rate_limit::Peer,
    headers: &HeaderMap,
) -> Result<rate_limit::ClientIp, Response> {
    let per_minute = t.cfg.rate_limits.code_attempts_per_minute;
    read_limit(s, t, peer, headers, rate_limit::Kind::Code, per_minute).await
}

#[derive(Template)]
#[template(path = "site/index.html")]
struct IndexPage {
    chrome: Chrome,
    /// (name, href)
    cities: Vec<(String, String)>,
}

/// `GET /`: the cities with links to their sites, or a city's start page on its own host name.
pub async fn index(State(s): State<HttpState>, v: Visit) -> Response {
    if let Some(slug) = branding::tenant_of_host(&s.app, &v.headers) {
        return flow::start_page(State(s), Path(slug), v).await;
    }
    let Visit { lang, cookies, .. } = v;
    let tr = Tr::new(lang);
    let cities = s
        .app
        .catalog
        .slugs()
        .iter()
        .filter_map(|slug| s.app.catalog.get(slug))
        .map(|t| {
            (
                t.cfg.branding.display_name.clone(),
                format!("/t/{}/", t.slug),
            )
        })
        .collect();
    html(
        StatusCode::OK,
        &IndexPage {
            chrome: Chrome::new(lang, "/", tr.t("index-title"), None),
            cities,
        },
        &cookies,
        false,
    )
}

/// A page of the site that does not exist.
pub fn not_found(t: &TenantCtx, lang: Lang, path: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        Chrome::new(lang, path, Tr::new(lang).t("err-generic"), Some(t)),
        vec!["Nie ma takiej strony.".into()],
        Some((Tr::new(lang).t("start-title"), format!("/t/{}/", t.slug))),
    )
}
