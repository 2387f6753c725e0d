//! The desk clerk's screen at `/t/{slug}/stanowisko` (W-9): call the next client (CI-18 …
//! CI-20, DG-3, exactly as the desk API's `callNext`), recall (CI-8), start, finish, transfer
//! to another queue, refuse service with a reason (ZG-14); the current ticket with the booked
//! visit's data to compare, and the length of the desk's queues with their longest wait.
//!
//! Every action is a plain form: POST, then 303 back to the page, which says what happened
//! (`?wynik=…&bilet=…`, read back from the ticket itself, so no text travels in the address);
//! a refusal renders the page at once with the use case's Polish message in the error summary.
//! The use cases publish on the display bus, so a call is on the displays as soon as it is made.
//!
//! The desk is chosen once per computer and kept in a cookie of this page's path
//! ([`place`]): a desk's computer stays at its desk while clerks log in and out (the session
//! is the person's, the desk the computer's), and a bookmark of the page needs no parameters.

mod actions;
mod place;
mod view;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use okienko_app::auth::{Permission, StaffRef};
use okienko_app::TenantCtx;
use serde::Deserialize;

use crate::office::session;
use crate::site::i18n::Tr;
use crate::site::{self, Chrome, Visit};
use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/t/{slug}/stanowisko", get(page))
        .route(
            "/t/{slug}/stanowisko/wybor",
            get(place::page).post(place::submit),
        )
        .route("/t/{slug}/stanowisko/{action}", post(actions::submit))
}

/// The page's address in a city.
fn home(t: &TenantCtx) -> String {
    format!("/t/{}/stanowisko", t.slug)
}

/// The page's chrome: the citizen pages' with the office screens' styles and the desk's script.
fn chrome(v: &Visit, path: &str, title: String, t: &TenantCtx) -> Chrome {
    let mut c = Chrome::new(v.lang, path, title, Some(t));
    c.styles.push(crate::assets::url("office.css"));
    c.js = crate::assets::url("desk.js");
    c
}

/// The city and the staff member at this screen, allowed desk work as the desk API requires
/// (`Permission::DeskWork`: clerks and administrators); otherwise the response to give (the
/// city's 404 page, the login page with `next`, or a refusal for other roles).
#[allow(clippy::result_large_err)]
async fn clerk(
    s: &HttpState,
    slug: &str,
    v: &Visit,
    path: &str,
) -> Result<(Arc<TenantCtx>, StaffRef), Response> {
    let t = site::tenant(s, slug, v.lang, path)?;
    let (who, _) = session::staff(&s.app, &t, &v.headers, &home(&t)).await?;
    if !who.role.allows(Permission::DeskWork) {
        let tr = Tr::new(v.lang);
        return Err(site::message(
            StatusCode::FORBIDDEN,
            chrome(v, path, tr.t("desk-title"), &t),
            vec![tr.t("desk-err-forbidden")],
            None,
        ));
    }
    Ok((t, who))
}

/// What the page says after an action (the redirect's query). Text, so that an address
/// edited by hand is ignored rather than refused.
#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    pub wynik: Option<String>,
    pub bilet: Option<String>,
}

/// `GET /t/{slug}/stanowisko`: the desk, or the choice of one when this computer has none.
async fn page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(outcome): Query<Outcome>,
    v: Visit,
) -> Response {
    let path = format!("/t/{slug}/stanowisko");
    let (t, who) = match clerk(&s, &slug, &v, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(place) = place::chosen(&t, &v.headers) else {
        return site::see_other(&place::path(&t), &v.cookies);
    };
    let result = view::outcome(&s.app, &t, &Tr::new(v.lang), &outcome).await;
    view::render(
        &s,
        &t,
        &who,
        &v,
        place,
        view::Shown {
            result,
            ..view::Shown::default()
        },
        StatusCode::OK,
    )
    .await
}

/// A POST from another site (`site::csrf`): refused, nothing done.
fn cross_site(t: &TenantCtx, v: &Visit, path: &str) -> Response {
    let tr = Tr::new(v.lang);
    site::message(
        StatusCode::FORBIDDEN,
        chrome(v, path, tr.t("err-generic"), t),
        vec![tr.t("err-cross-site")],
        None,
    )
}
