//! Pairing kiosks and displays with a one-time code: the administrator's "Dodaj urządzenie" and the device's `/t/{slug}/urzadzenie`.

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
}
