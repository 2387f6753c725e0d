//! The ticket kiosk at `/t/{slug}/kiosk` (CI-3 … CI-6, CI-16, DG-4, DG-8).

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
}
