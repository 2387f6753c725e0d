//! The resident-card login on the city's pages (GD-5), over `okienko_app::oidc`:
//!
//! - `GET /t/{slug}/logowanie?next=…` sends the browser to the city's OpenID provider;
//! - `GET /t/{slug}/logowanie/powrot` is where the provider sends it back: the login is
//!   completed and the browser goes on to `next` (a path on this city's pages, nothing else);
//! - `POST /t/{slug}/wylogowanie` forgets the identity.
//!
//! The seam for the booking pages is [`logged_in`]: the identity this browser logged in with
//! for the city, or None. Its name, e-mail and phone are then shown, not typed, and booked as
//! they are ([`okienko_app::oidc::Identity::client`]). The button's address is
//! [`okienko_app::oidc::login_path`]; whether to show it, [`okienko_app::oidc::offered`].
//!
//! Both cookies are HTTP-only and `SameSite=Lax`: the provider's redirect back is a top-level
//! navigation from another site, which `Strict` would send without the login's cookie. Their
//! values are signed and expire (see `okienko_app::oidc`); `Secure` when the server's public
//! address is https.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use okienko_app::oidc::{self, Callback, Identity, IDENTITY_COOKIE, LOGIN_COOKIE};
use okienko_app::{App, TenantCtx};
use okienko_domain::{Code, DomainError};
use serde::Deserialize;

use crate::pages::{self, Place};
use crate::site::{Chrome, LangQuery};
use crate::state::HttpState;

/// The identity logged in with this browser for this city (GD-5), if any: the booking pages'
/// one call. A cookie that is forged, expired or of another city counts as none.
pub fn logged_in(app: &App, tenant: &TenantCtx, headers: &HeaderMap) -> Option<Identity> {
    oidc::identity(app, tenant, cookie(headers, IDENTITY_COOKIE))
}

/// One cookie's value from the request's `Cookie` headers. Hand-written: reading one named
/// value is a split on `;` and `=`, and the cookie crates add a date library to the build for
/// writing cookies, which the two `Set-Cookie` lines below do not need.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

fn set_cookie(app: &App, name: &str, value: &str, path: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// The `Set-Cookie` value that forgets the identity: the booking pages' "use other data".
pub fn forget_identity(app: &App, t: &TenantCtx) -> String {
    set_cookie(app, IDENTITY_COOKIE, "", &identity_cookie_path(t), 0)
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .unwrap_or_default()
}

fn login_cookie_path(t: &TenantCtx) -> String {
    format!("/t/{}/logowanie", t.slug)
}

fn identity_cookie_path(t: &TenantCtx) -> String {
    format!("/t/{}/", t.slug)
}

/// A 303 to `to` (always a path of ours), with cookies to set; never cached, and the
/// provider's code in the address goes on to no one.
fn see_other(to: &str, cookies: Vec<Option<HeaderValue>>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    for c in cookies.into_iter().flatten() {
        h.append(header::SET_COOKIE, c);
    }
    r
}

/// The refusal as a page: its Polish message, the code for the help desk, and the way back
/// to the city's booking (whose public form works without the login).
fn refusal(p: &Place, e: &DomainError, clear: Option<HeaderValue>) -> Response {
    let status = match e.listed_code() {
        Some(Code::OidcNotOffered) => StatusCode::NOT_FOUND,
        Some(Code::OidcUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Some(Code::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let tr = p.tr();
    let mut r = p.message(
        status,
        "resident-title",
        vec![
            e.to_string(),
            tr.t1("resident-error-code", "code", e.code()),
        ],
        None,
        Some((tr.t("resident-back"), format!("/t/{}/", p.t.slug))),
    );
    if let Some(c) = clear {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// The city of a login page's path, in the visitor's language.
#[allow(clippy::result_large_err)]
fn place(s: &HttpState, slug: &str, headers: &HeaderMap, path: &str) -> Result<Place, Response> {
    let path = format!("/t/{slug}/{path}");
    Place::new(s, slug, &LangQuery::default(), headers, path)
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /t/{slug}/logowanie`: to the provider, with the login's cookie.
pub async fn start(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    q: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    // An unreadable query starts the login all the same, back to the city's start page.
    let next = q.ok().and_then(|Query(q)| q.next);
    let p = match place(&s, &slug, &headers, "logowanie") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = p.t.clone();
    match oidc::start(&s.app, &t, next.as_deref()).await {
        Ok(go) => {
            let c = set_cookie(
                &s.app,
                LOGIN_COOKIE,
                &go.cookie,
                &login_cookie_path(&t),
                oidc::LOGIN_TTL_SECONDS,
            );
            // The provider's address comes from its metadata: a redirect elsewhere than to our
            // own paths is this one only.
            let mut r = see_other(&go.redirect, vec![c]);
            if r.headers().get(header::LOCATION).is_none() {
                r = refusal(&p, &DomainError::OidcUnavailable, None);
            }
            r
        }
        Err(e) => refusal(&p, &e, None),
    }
}

/// `GET /t/{slug}/logowanie/powrot`: completes the login and goes on to its `next`.
pub async fn callback(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    q: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let p = match place(&s, &slug, &headers, "logowanie/powrot") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = p.t.clone();
    // An unreadable query is a return without code or state, refused as such.
    let cb = q.map(|Query(c)| c).unwrap_or_default();
    // The login's cookie has done its work either way.
    let clear = || set_cookie(&s.app, LOGIN_COOKIE, "", &login_cookie_path(&t), 0);
    match oidc::finish(&s.app, &t, cookie(&headers, LOGIN_COOKIE), &cb).await {
        Ok(done) => {
            tracing::info!(tenant = %t.slug, "resident-card login");
            let id = set_cookie(
                &s.app,
                IDENTITY_COOKIE,
                &done.cookie,
                &identity_cookie_path(&t),
                oidc::IDENTITY_TTL_SECONDS,
            );
            // `next` was checked to be a path on this city's pages when the login began, and
            // the cookie that carried it is signed.
            see_other(&oidc::safe_next(&t, Some(&done.next)), vec![clear(), id])
        }
        Err(e) => refusal(&p, &e, clear()),
    }
}

#[derive(Template)]
#[template(path = "site/resident.html")]
struct LoggedInPage {
    chrome: Chrome,
    id: Option<Identity>,
    post_url: String,
    home: String,
}

/// `GET /t/{slug}/wylogowanie`: who is logged in with the resident card, and the button that
/// logs out (a GET only shows).
pub async fn logged_in_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/t/{slug}/wylogowanie");
    let p = match Place::new(&s, &slug, &q, &headers, path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = &p.t;
    p.html(
        StatusCode::OK,
        &LoggedInPage {
            chrome: p.chrome("resident-title"),
            id: logged_in(&s.app, t, &headers),
            post_url: format!("/t/{}/wylogowanie", t.slug),
            home: format!("/t/{}/", t.slug),
        },
    )
}

/// `POST /t/{slug}/wylogowanie`: forgets the identity; back to the city's start page.
pub async fn logout(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let p = match place(&s, &slug, &headers, "wylogowanie") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if pages::cross_site(&headers) {
        return p.refused_cross_site();
    }
    let t = &p.t;
    let clear = set_cookie(&s.app, IDENTITY_COOKIE, "", &identity_cookie_path(t), 0);
    see_other(&format!("/t/{}/", t.slug), vec![clear])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cookie_is_read_from_the_headers() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; okienko_oidc=xyz.abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "okienko_oidc"), Some("xyz.abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "okienko"), None);
        assert_eq!(cookie(&HeaderMap::new(), "a"), None);
    }
}
