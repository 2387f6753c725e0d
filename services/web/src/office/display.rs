//! The hall display at `/t/{slug}/tablica` and the door display of a desk, with the spoken call (CI-7).

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
}
