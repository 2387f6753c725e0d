//! The desk clerk's screen at `/t/{slug}/stanowisko` (CI-8, CI-18 … CI-20, DG-3, ZG-14).

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
}
