//! The city's look (W-1): its colours as CSS custom properties in a small stylesheet of its
//! own (the CSP allows no inline style), its logo, its host name, and its accessibility
//! statement (W-4).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{html, lang_of, tenant, Chrome, LangQuery};
use crate::state::HttpState;
use okienko_app::{App, TenantCtx};

/// The neutral mark for a city without a logo of its own.
const NEUTRAL_LOGO: &[u8] = include_bytes!("../../assets/site/logo.svg");

fn brand_rules(t: &TenantCtx) -> String {
    let b = &t.cfg.branding;
    format!(
        ":root{{--brand:{};--on-brand:{};}}\n",
        b.primary_color, b.secondary_color
    )
}

/// The city's stylesheet's address; its name changes with the colours, so it is cached long.
pub fn css_url(t: &TenantCtx) -> String {
    let digest = hex::encode(Sha256::digest(brand_rules(t).as_bytes()));
    format!("/t/{}/marka.css?v={}", t.slug, &digest[..12])
}

const LONG_CACHE: &str = "public, max-age=31536000, immutable";

/// `GET /t/{slug}/marka.css`.
pub async fn brand_css(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    let Some(t) = s.app.catalog.get(&slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(LONG_CACHE)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        brand_rules(&t),
    )
        .into_response()
}

/// `GET /static/{slug}/logo.svg`: the logo the API announces; a neutral mark where the city
/// has none of its own in this binary (none of the demo cities does).
pub async fn logo(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    let Some(t) = s.app.catalog.get(&slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let svg = match &t.cfg.branding.logo_svg {
        Some(own) => own.as_bytes().to_vec(),
        None => NEUTRAL_LOGO.to_vec(),
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // Opened on its own, the image may style itself and nothing more.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
        ],
        svg,
    )
        .into_response()
}

/// The city whose configured host name this request is for (W-1).
pub fn tenant_of_host(app: &App, headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let bare = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    app.catalog.slugs().into_iter().find(|slug| {
        app.catalog.get(slug).is_some_and(|t| {
            t.cfg
                .site
                .host
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(bare))
        })
    })
}

#[derive(Template)]
#[template(path = "site/statement.html")]
struct StatementPage {
    chrome: Chrome,
    city: String,
    s: okienko_domain::config::AccessibilityStatement,
}

/// `GET /t/{slug}/deklaracja-dostepnosci`: the city's accessibility statement, from its
/// configuration (`[site.accessibility]`). Statutory text: Polish whatever the language.
pub async fn statement_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, cookies) = lang_of(&q, &headers);
    let path = format!("/t/{slug}/deklaracja-dostepnosci");
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let chrome = Chrome::new(
        lang,
        &path,
        super::i18n::Tr::new(lang).t("a11y-title"),
        Some(&t),
    );
    html(
        StatusCode::OK,
        &StatementPage {
            chrome,
            city: t.cfg.name.clone(),
            s: t.cfg.site.accessibility.clone(),
        },
        &cookies,
        false,
    )
}
