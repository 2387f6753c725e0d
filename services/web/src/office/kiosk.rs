//! The ticket kiosk at `/t/{slug}/kiosk` (W-7; CI-3 … CI-6, CI-16, DG-4, DG-8), for a touch
//! screen in kiosk-mode Chromium, paired as a device of one office (`session::device`).
//!
//! - `GET /t/{slug}/kiosk`: the office's queues as big buttons, six a screen (`?strona=2` …),
//!   a closed one greyed with why (CI-4); a check-in queue leads to the keypad.
//! - `POST /t/{slug}/kiosk/bilet`: a walk-in ticket (CI-6), then `GET …/bilet/{id}`, the
//!   ticket printed on the 80 mm printer through the print stylesheet (CI-3).
//! - `GET|POST /t/{slug}/kiosk/rezerwacja`: the booking code keypad (CI-16) or, for a city
//!   whose visits are known by the phone number (`[messages] phone_as_identifier`, DG-8), the
//!   phone keypad. The keys are buttons of a plain form, so it works without JavaScript.
//!
//! Every form carries a one-time nonce (`nonce`): a repeated POST of one form shows the
//! ticket it printed, never a second one. The language is carried in the address and the
//! forms, never in a cookie: the next person at the kiosk starts in Polish again.
//! `assets/office/kiosk.js` adds the inactivity return (with a warning first), printing, the
//! double-tap guard, local typing on the keypads and speech output.
//!
//! Without JavaScript no screen goes back to the start by itself: a `<meta http-equiv=
//! "refresh">` is markup, which the CSP allows, but it can neither warn first nor be extended,
//! as WCAG 2.2.1 asks (axe-core's `meta-refresh` rule, tagged wcag2a, fails it); every screen
//! but the start has the "Powrót do początku" link instead, and kiosk-mode Chromium runs the
//! script.

mod checkin;
mod frame;
mod nonce;
mod start;
mod ticket;

use axum::routing::get;
use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/t/{slug}/kiosk", get(start::page))
        .route("/t/{slug}/kiosk/bilet", axum::routing::post(start::walk_in))
        .route("/t/{slug}/kiosk/bilet/{id}", get(ticket::page))
        .route(
            "/t/{slug}/kiosk/rezerwacja",
            get(checkin::page).post(checkin::submit),
        )
}
