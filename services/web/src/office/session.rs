//! Who is at an office screen: a staff member by the session cookie that the login page set,
//! or a paired device by its credential cookie. Both hold the same opaque tokens as the APIs'
//! `Authorization` header (`oks_…` sessions, `okd_…` device tokens, see `okienko_app::auth`),
//! so sessions, lockout, expiry and revocation are the admin API's, unchanged.
//!
//! Both cookies are HTTP-only and `SameSite=Strict` (no other site ever links into these
//! screens with a need for the session), `Secure` when the public address is https.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use okienko_app::auth::{self, Auth, DeviceKind, Principal, StaffRef};
use okienko_app::records::Scope;
use okienko_app::{App, TenantCtx};

use crate::login::cookie;
use crate::site::i18n::{Lang, Tr};
use crate::site::{self, Chrome};

/// The staff member's session token.
pub const STAFF_COOKIE: &str = "okienko_staff";
/// A paired kiosk's or display's device token.
pub const DEVICE_COOKIE: &str = "okienko_device";

/// The staff login page of a city.
pub fn login_path(tenant: &TenantCtx) -> String {
    format!("/t/{}/personel/logowanie", tenant.slug)
}

/// The device pairing page of a city.
pub fn pairing_path(tenant: &TenantCtx) -> String {
    format!("/t/{}/urzadzenie", tenant.slug)
}

/// A `Set-Cookie` value for one of the two cookies; `max_age` 0 forgets it.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if app.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/t/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// Who the cookie's token names. A database that does not answer is not "nobody": the screen
/// says the service is unavailable for a moment (503, `Retry-After`), rather than sending a
/// paired display to the pairing page or a logged-in clerk to the login page.
async fn who(app: &App, tenant: &TenantCtx, token: Option<&str>) -> Result<Auth, Response> {
    auth::authenticate(app, Scope::Tenant(tenant.id), token)
        .await
        .map_err(|e| {
            let d = e.domain();
            tracing::warn!(tenant = %tenant.slug, error = %d, "an office screen's caller could not be read");
            let tr = Tr::new(Lang::Pl);
            let home = format!("/t/{}/", tenant.slug);
            let mut r = site::message(
                StatusCode::SERVICE_UNAVAILABLE,
                Chrome::new(Lang::Pl, &home, tr.t("err-generic"), Some(tenant)),
                vec![d.to_string()],
                None,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            r
        })
}

/// The staff member logged in with this browser for `tenant`, or the redirect to the login
/// page (with `next` to come back to, and the notice that the session ran out when it did).
pub async fn staff(
    app: &App,
    tenant: &TenantCtx,
    headers: &HeaderMap,
    next: &str,
) -> Result<(StaffRef, String), Response> {
    let who = who(app, tenant, cookie(headers, STAFF_COOKIE)).await?;
    if let Some(Principal::Staff {
        tenant: t,
        user,
        role,
    }) = &who.principal
    {
        if *t == tenant.id {
            let hash = who.token_hash.clone().unwrap_or_default();
            return Ok((
                StaffRef {
                    tenant: *t,
                    user: user.clone(),
                    role: *role,
                },
                hash,
            ));
        }
    }
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let mut to = format!("{}?next={next}", login_path(tenant));
    if who.expired {
        to.push_str("&wygasla=1");
    }
    Err(Redirect::to(&to).into_response())
}

/// A paired device of `tenant` and `kind`, or the redirect to the pairing page.
pub struct Device {
    pub id: i64,
    pub office: i64,
    pub kind: DeviceKind,
    /// A door display's desk number; none for a hall display or a kiosk.
    pub desk: Option<i64>,
}

pub async fn device(
    app: &App,
    tenant: &TenantCtx,
    headers: &HeaderMap,
    kind: DeviceKind,
) -> Result<Device, Response> {
    let who = who(app, tenant, cookie(headers, DEVICE_COOKIE)).await?;
    match who.principal {
        Some(Principal::Device {
            tenant: t,
            office,
            kind: k,
            id,
            desk,
        }) if t == tenant.id && k == kind => Ok(Device {
            id,
            office,
            kind,
            desk,
        }),
        _ => Err(Redirect::to(&pairing_path(tenant)).into_response()),
    }
}
